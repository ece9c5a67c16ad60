public import FraudWire
public import NIOCore
import NIOPosix
import FraudTransport

/// A gRPC client connection over cleartext HTTP/2 (h2c), through libnghttp2 (``H2ClientSession``) on a
/// swift-nio channel with TCP_NODELAY.
///
/// Three ways to call:
/// - ``startCall(_:message:tag:)``: the hot path for load generation; no closure or promise per call, the
///   headers encoded once (``makeRequestHead(path:headers:)``), the response goes to ``onTaggedResponse`` with
///   the caller's 64-bit tag (e.g. its send time); ``startCall(path:headers:message:tag:)`` is the same with
///   the headers encoded per call;
/// - ``unary(path:headers:message:)``: one future per call;
/// - ``openStream(path:headers:onMessage:onClose:)``: a streaming call (``GRPCStreamingCall``).
///
/// Requests submitted in one event-loop turn are written together, and responses read in one burst are
/// delivered before the next write, so a caller that starts a call from a response callback batches naturally.
///
/// - Important: Confined to ``eventLoop``: every property and method must be used on it. Share it across
///   threads as the `NIOLoopBound` that ``connect(to:on:configuration:)`` returns.
public final class GRPCClientConnection {
    /// The event loop that owns the connection.
    public let eventLoop: any EventLoop
    /// The server.
    public let target: GRPCTarget
    private let channel: any Channel
    private let handler: GRPCClientHandler
    private let authority: String

    private init(channel: any Channel, handler: GRPCClientHandler, target: GRPCTarget, authority: String) {
        self.eventLoop = channel.eventLoop
        self.channel = channel
        self.handler = handler
        self.target = target
        self.authority = authority
    }

    /// Connects to `target` on `eventLoop`.
    /// - Parameters:
    ///   - target: The server.
    ///   - eventLoop: The loop that will own the connection.
    ///   - configuration: Windows, limits and timeouts.
    /// - Returns: The connection once TCP is up (the HTTP/2 preface is already queued), bound to its loop.
    public static func connect(
        to target: GRPCTarget,
        on eventLoop: any EventLoop,
        configuration: GRPCClientConfiguration = GRPCClientConfiguration()
    ) -> EventLoopFuture<NIOLoopBound<GRPCClientConnection>> {
        let windowSize = configuration.windowSize
        let maxMessageBytes = configuration.maxMessageBytes
        let collectsResponses = configuration.collectsResponses
        let authority = configuration.authority ?? target.authority
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = GRPCClientHandler(
                        windowSize: windowSize,
                        maxMessageBytes: maxMessageBytes,
                        collectsResponses: collectsResponses
                    )
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMapErrorThrowing { error in
                throw GRPCClientError(code: .connectFailed, message: "cannot connect to \(target): \(error)")
            }
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: GRPCClientHandler.self)
                let connection = GRPCClientConnection(
                    channel: channel,
                    handler: handler,
                    target: target,
                    authority: authority
                )
                return NIOLoopBound(connection, eventLoop: channel.eventLoop)
            }
    }

    /// Whether the TCP connection is up.
    public var isActive: Bool { handler.isActive }

    /// Calls started and not yet finished (all kinds).
    public var openCallCount: Int { handler.openCallCount }

    /// How many more streams the server's SETTINGS_MAX_CONCURRENT_STREAMS allows right now.
    public var remainingStreamCapacity: Int { handler.remainingStreamCapacity }

    /// Receives the result of every call started with ``startCall(path:headers:message:tag:)``.
    public var onTaggedResponse: ((_ tag: UInt64, _ result: GRPCCallResult) -> Void)? {
        get { handler.onTaggedResponse }
        set { handler.onTaggedResponse = newValue }
    }

    /// Called once when the connection closes, after every open call has been completed with UNAVAILABLE.
    public var onClose: (() -> Void)? {
        get { handler.onClose }
        set { handler.onClose = newValue }
    }

    /// Encodes a call's request headers once, for ``startCall(_:message:tag:)``.
    /// - Parameters:
    ///   - path: The method, e.g. ``GRPCCallHeaders/scorePath``.
    ///   - headers: From ``GRPCCallHeaders/make(timeout:)``.
    /// - Returns: The header block (`:authority` is this connection's); reuse it for every call.
    public func makeRequestHead(path: String, headers: [(String, String)]) -> GRPCRequestHead {
        GRPCRequestHead(head: H2RequestHead(path: path, authority: authority, headers: headers))
    }

    /// Starts a unary call whose result goes to ``onTaggedResponse``.
    /// - Parameters:
    ///   - head: From ``makeRequestHead(path:headers:)``.
    ///   - message: One length-prefixed request message.
    ///   - tag: Handed back with the result.
    /// - Returns: `false` when the call could not start (connection closed, no stream ids left).
    @discardableResult
    public func startCall(_ head: GRPCRequestHead, message: [UInt8], tag: UInt64) -> Bool {
        handler.startTagged(head: head.head, message: message, tag: tag)
    }

    /// Starts a unary call whose result goes to ``onTaggedResponse``, encoding its headers for this call only.
    /// - Parameters:
    ///   - path: The method, e.g. ``GRPCCallHeaders/scorePath``.
    ///   - headers: From ``GRPCCallHeaders/make(timeout:)``.
    ///   - message: One length-prefixed request message.
    ///   - tag: Handed back with the result.
    /// - Returns: `false` when the call could not start (connection closed, no stream ids left).
    @discardableResult
    public func startCall(path: String, headers: [(String, String)], message: [UInt8], tag: UInt64) -> Bool {
        startCall(makeRequestHead(path: path, headers: headers), message: message, tag: tag)
    }

    /// Makes a unary call.
    /// - Parameters:
    ///   - path: The method, e.g. ``GRPCCallHeaders/scorePath``.
    ///   - headers: From ``GRPCCallHeaders/make(timeout:)``.
    ///   - message: One length-prefixed request message.
    /// - Returns: The result (a non-OK status is a result, not a failure); fails with ``GRPCClientError``
    ///   when the call cannot start.
    public func unary(path: String, headers: [(String, String)], message: [UInt8]) -> EventLoopFuture<GRPCCallResult> {
        let promise = eventLoop.makePromise(of: GRPCCallResult.self)
        handler.startUnary(path: path, authority: authority, headers: headers, message: message, promise: promise)
        return promise.futureResult
    }

    /// Opens a streaming call.
    /// - Parameters:
    ///   - path: The method, e.g. ``GRPCCallHeaders/scoreStreamPath``.
    ///   - headers: From ``GRPCCallHeaders/make(timeout:)``.
    ///   - onMessage: Each response message (without its 5-byte prefix), in order.
    ///   - onClose: The final status, once; also UNAVAILABLE when the connection is lost.
    /// - Returns: The call, or `nil` when the connection is closed.
    public func openStream(
        path: String,
        headers: [(String, String)],
        onMessage: @escaping ([UInt8]) -> Void,
        onClose: @escaping (Status) -> Void
    ) -> GRPCStreamingCall? {
        handler.startStreaming(
            path: path,
            authority: authority,
            headers: headers,
            onMessage: onMessage,
            onClose: onClose
        )
    }

    /// Writes queued requests now instead of at the end of the event-loop turn.
    public func flush() {
        handler.flush()
    }

    /// Closes the TCP connection; open calls end with UNAVAILABLE.
    public func close() {
        handler.close()
    }

    /// Succeeds when the channel has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }
}

@available(*, unavailable)
extension GRPCClientConnection: Sendable {}

/// A call's request header fields encoded once (see ``GRPCClientConnection/makeRequestHead(path:headers:)``).
///
/// - Important: Use it on the connection's event loop, with the connection that made it.
public struct GRPCRequestHead {
    let head: H2RequestHead
}

@available(*, unavailable)
extension GRPCRequestHead: Sendable {}
