import COpenSSL
public import NIOCore

/// Client-side TLS for one connection (see ``TLSConnectionHandler`` for how OpenSSL is driven).
///
/// The handshake starts when TCP is up. Writes made before it finished (the HTTP/2 client preface) wait and go
/// out with the client's last handshake flight. ``handshakeFuture`` succeeds with the negotiated ALPN protocol,
/// or fails with a ``TLSError`` that names the reason — OpenSSL's (`certificate verify failed` with the
/// verifier's `unable to get local issuer certificate` or `hostname mismatch`, `wrong version number` from a
/// cleartext server, the server's `no application protocol` alert), a server that selected none of the offered
/// ALPN protocols, a connection closed or a handshake not done within the timeout — and the channel closes.
///
/// - Important: Lives on the channel's event loop only.
public final class TLSClientHandler: TLSConnectionHandler {
    /// Keeps the client context alive as long as the connection.
    private let tlsContext: TLSClientContext
    private let serverName: String
    private let handshakeTimeout: TimeAmount?
    /// Made when the handler joins a pipeline; completed once (``isHandshakeSettled``), kept for ``handshakeFuture``.
    private var handshakePromise: EventLoopPromise<String?>?
    private var isHandshakeSettled = false
    private var timeout: Scheduled<Void>?

    init(context: TLSClientContext, serverName: String, handshakeTimeout: TimeAmount?) {
        self.tlsContext = context
        self.serverName = serverName
        self.handshakeTimeout = handshakeTimeout
        super.init(sslContext: context.handle)
    }

    /// Succeeds with the negotiated ALPN protocol once the handshake completed and the server's certificate
    /// verified; fails with a ``TLSError`` otherwise.
    /// - Important: Available once the handler is in a pipeline.
    public var handshakeFuture: EventLoopFuture<String?> {
        guard let handshakePromise else { preconditionFailure("add the TLSClientHandler to a pipeline first") }
        return handshakePromise.futureResult
    }

    override func configure(_ ssl: OpaquePointer) -> Bool {
        SSL_set_connect_state(ssl)
        let verifies = tlsContext.configuration.verifiesServer
        // An IP literal is checked against the certificate's IP addresses and sent without SNI (RFC 6066 §3);
        // a name is checked against its DNS names and sent as SNI.
        if isIPAddress {
            return !verifies || X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1
        }
        if verifies {
            guard SSL_set1_host(ssl, serverName) == 1 else { return false }
        }
        return COpenSSL_setServerName(ssl, serverName) == 1
    }

    /// Whether ``serverName`` is an IPv6 literal (has a colon) or an IPv4 one (digits and dots only: no
    /// top-level domain is numeric).
    private var isIPAddress: Bool {
        serverName.contains(":") || serverName.allSatisfy { $0 == "." || ("0"..."9").contains($0) }
    }

    override func handshakeCompleted(context: ChannelHandlerContext, negotiatedProtocol: String?) -> String? {
        let offered = tlsContext.configuration.applicationProtocols
        if !offered.isEmpty && !offered.contains(negotiatedProtocol ?? "") {
            return "TLS handshake failed: the server selected ALPN protocol \(negotiatedProtocol ?? "none"), "
                + "not \(offered.joined(separator: " or "))"
        }
        settle(.success(negotiatedProtocol))
        return nil
    }

    override func connectionFailed(_ error: TLSError) {
        settle(.failure(error))
    }

    /// Completes the handshake promise, the first time only, and disarms the timeout.
    private func settle(_ result: Result<String?, any Error>) {
        guard !isHandshakeSettled, let handshakePromise else { return }
        isHandshakeSettled = true
        timeout?.cancel()
        timeout = nil
        handshakePromise.completeWith(result)
    }

    public override func handlerAdded(context: ChannelHandlerContext) {
        handshakePromise = context.eventLoop.makePromise(of: String?.self)
        super.handlerAdded(context: context)
        if context.channel.isActive { begin(context) }
    }

    public override func handlerRemoved(context: ChannelHandlerContext) {
        connectionFailed(TLSError(description: "TLS handshake did not finish: the connection is closed"))
        super.handlerRemoved(context: context)
    }

    public override func channelActive(context: ChannelHandlerContext) {
        begin(context)
        context.fireChannelActive()
    }

    public override func channelInactive(context: ChannelHandlerContext) {
        connectionFailed(
            TLSError(description: "TLS handshake failed: the server closed the connection (is it serving TLS?)")
        )
        context.fireChannelInactive()
    }

    /// Sends the ClientHello and arms the timeout.
    private func begin(_ context: ChannelHandlerContext) {
        guard handshakePromise != nil, !isHandshakeSettled, timeout == nil, !isHandshakeDone, !isFailed else { return }
        if let handshakeTimeout {
            timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) { [self] in
                timeout = nil
                let seconds = Double(handshakeTimeout.nanoseconds) / 1e9
                fail(context, TLSError(description: "TLS handshake timed out after \(seconds) s"))
            }
        }
        startHandshake(context)
    }
}
