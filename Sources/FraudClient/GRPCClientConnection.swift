public import FraudWire
public import NIOCore
import NIOPosix

/// A gRPC client connection over cleartext HTTP/2 (h2c), through libnghttp2 (``H2ClientSession``) on a
/// swift-nio channel with TCP_NODELAY.
///
/// Three ways to call:
/// - ``startCall(path:headers:message:tag:)``: the hot path for load generation; no closure or promise per
///   call, the response goes to ``onTaggedResponse`` with the caller's 64-bit tag (e.g. its send time);
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

    /// Starts a unary call whose result goes to ``onTaggedResponse``.
    /// - Parameters:
    ///   - path: The method, e.g. ``GRPCCallHeaders/scorePath``.
    ///   - headers: From ``GRPCCallHeaders/make(timeout:)`` (build once, reuse).
    ///   - message: One length-prefixed request message.
    ///   - tag: Handed back with the result.
    /// - Returns: `false` when the call could not start (connection closed, no stream ids left).
    @discardableResult
    public func startCall(path: String, headers: [(String, String)], message: [UInt8], tag: UInt64) -> Bool {
        handler.startTagged(path: path, authority: authority, headers: headers, message: message, tag: tag)
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
