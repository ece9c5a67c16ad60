import COpenSSL
import NIOCore

/// Server-side TLS for one accepted connection (see ``TLSConnectionHandler`` for how OpenSSL is driven).
///
/// A failed handshake (a cleartext client, a wrong ALPN protocol, an unverifiable client certificate) sends
/// OpenSSL's alert and closes the connection.
///
/// - Important: Lives on the channel's event loop only.
public final class TLSServerHandler: TLSConnectionHandler {
    /// Keeps the listener's context (and its files' configuration) alive as long as the connection.
    private let tlsContext: TLSContext
    /// Called once, when the handshake completed, with the negotiated ALPN protocol (if any).
    public var onHandshake: ((String?) -> Void)?

    init(context: TLSContext) {
        self.tlsContext = context
        super.init(sslContext: context.handle)
    }

    override func configure(_ ssl: OpaquePointer) -> Bool {
        SSL_set_accept_state(ssl)
        return true
    }

    override func handshakeCompleted(context: ChannelHandlerContext, negotiatedProtocol: String?) -> String? {
        onHandshake?(negotiatedProtocol)
        onHandshake = nil
        return nil
    }
}
