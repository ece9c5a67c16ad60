import FraudTLS
import FraudTransport
public import FraudWire
public import NIOCore
import NIOPosix

/// A gRPC client connection over HTTP/2 through libnghttp2 (``H2ClientSession``) on a swift-nio channel with
/// TCP_NODELAY: cleartext (h2c), or TLS with ALPN h2 when ``GRPCClientConfiguration/tls`` is set. With
/// ``GRPCClientConfiguration/bearerToken`` set, every call carries `authorization: Bearer <token>`.
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
    /// `:scheme`: `https` over TLS, else `http`.
    private let scheme: String
    /// Fields every call carries after the caller's (`authorization`).
    private let connectionFields: [(String, String)]

    private init(
        channel: any Channel,
        handler: GRPCClientHandler,
        target: GRPCTarget,
        authority: String,
        configuration: GRPCClientConfiguration
    ) {
        self.eventLoop = channel.eventLoop
        self.channel = channel
        self.handler = handler
        self.target = target
        self.authority = authority
        self.scheme = configuration.tls == nil ? "http" : "https"
        self.connectionFields = configuration.bearerToken.map { [GRPCCallHeaders.authorization(bearerToken: $0)] } ?? []
    }

    /// Connects to `target` on `eventLoop`.
    /// - Parameters:
    ///   - target: The server.
    ///   - eventLoop: The loop that will own the connection.
    ///   - configuration: Windows, limits, timeouts, TLS and the bearer token.
    /// - Returns: The connection once TCP is up and, over TLS, the handshake done (the HTTP/2 preface is
    ///   already queued), bound to its loop. Fails with ``GRPCClientError``: ``GRPCClientError/Code/connectFailed``
    ///   when TCP cannot connect, ``GRPCClientError/Code/tlsHandshakeFailed`` with OpenSSL's reason when the
    ///   handshake fails (e.g. `certificate verify failed (certificate: unable to get local issuer certificate)`).
    public static func connect(
        to target: GRPCTarget,
        on eventLoop: any EventLoop,
        configuration: GRPCClientConfiguration = GRPCClientConfiguration()
    ) -> EventLoopFuture<NIOLoopBound<GRPCClientConnection>> {
        let windowSize = configuration.windowSize
        let maxMessageBytes = configuration.maxMessageBytes
        let collectsResponses = configuration.collectsResponses
        let authority = configuration.authority ?? target.authority
        let tls = configuration.tls
        let handshakeTimeout = configuration.connectTimeout
        // The TLS handler, kept from the initializer: once the handshake failed the channel may already be
        // closed and its pipeline empty when the connect future completes.
        let tlsHandler = NIOLoopBoundBox.makeEmptyBox(valueType: TLSClientHandler.self, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = tls.makeClientHandler(serverName: target.host, handshakeTimeout: handshakeTimeout)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        tlsHandler.value = handler
                    }
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
            .flatMap { channel in
                guard let handler = tlsHandler.value else { return channel.eventLoop.makeSucceededFuture(channel) }
                tlsHandler.value = nil
                return handler.handshakeFuture.map { _ in channel }.flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw GRPCClientError(code: .tlsHandshakeFailed, message: "cannot connect to \(target): \(error)")
                }
            }
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: GRPCClientHandler.self)
                let connection = GRPCClientConnection(
                    channel: channel,
                    handler: handler,
                    target: target,
                    authority: authority,
                    configuration: configuration
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
        GRPCRequestHead(head: requestHead(path: path, headers: headers))
    }

    /// The header block of a call on this connection: its `:scheme` and `:authority`, the caller's fields, then
    /// the connection's (`authorization`).
    private func requestHead(path: String, headers: [(String, String)]) -> H2RequestHead {
        H2RequestHead(path: path, authority: authority, headers: headers + connectionFields, scheme: scheme)
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
        handler.startUnary(head: requestHead(path: path, headers: headers), message: message, promise: promise)
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
        handler.startStreaming(head: requestHead(path: path, headers: headers), onMessage: onMessage, onClose: onClose)
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
