import COpenSSL
public import NIOCore

/// What a TLS client needs: whom to trust, whether to check at all, and the ALPN protocols to offer.
public struct TLSClientConfiguration: Sendable, Equatable {
    /// PEM file with the CA certificates that may sign the server's certificate; `nil` trusts the system's
    /// default store (`SSL_CTX_set_default_verify_paths`: `/etc/ssl/certs`, `$SSL_CERT_FILE`, …).
    public var trustedCAPath: String?
    /// Whether the server's certificate chain and its name (host name or IP address connected to) are
    /// verified. `false` accepts any certificate: only for a throw-away test server, never in production.
    public var verifiesServer: Bool
    /// ALPN protocols offered, in preference order; the server must select one of them (`["h2"]` for gRPC).
    public var applicationProtocols: [String]

    /// A configuration that verifies the server.
    /// - Parameters:
    ///   - trustedCAPath: PEM CA bundle, or `nil` for the system's trust store.
    ///   - verifiesServer: `false` skips verification (tests only).
    ///   - applicationProtocols: ALPN protocols to offer.
    public init(trustedCAPath: String? = nil, verifiesServer: Bool = true, applicationProtocols: [String] = ["h2"]) {
        self.trustedCAPath = trustedCAPath
        self.verifiesServer = verifiesServer
        self.applicationProtocols = applicationProtocols
    }
}

/// An OpenSSL `SSL_CTX` for a client: TLS 1.2+, no compression or renegotiation, ALPN offered, the server's
/// certificate verified against ``TLSClientConfiguration/trustedCAPath`` or the system's store. Make one per
/// process (loading the trust store is the expensive part) and a ``TLSClientHandler`` per connection.
///
/// `SSL_CTX` is safe to share between threads once configured (OpenSSL 1.1+ locks its own state).
public final class TLSClientContext: Sendable {
    /// The `SSL_CTX`, its stream BIO method and ALPN list; lives as long as the context and its connections.
    let handle: SSLContextHandle
    /// The trust and protocol settings.
    public let configuration: TLSClientConfiguration

    /// Loads the trust store.
    /// - Throws: ``TLSError`` naming the CA file and OpenSSL's reason when it cannot be read.
    public init(configuration: TLSClientConfiguration) throws(TLSError) {
        let handle = try SSLContextHandle(
            method: TLS_client_method(),
            applicationProtocols: configuration.applicationProtocols
        )
        self.handle = handle
        self.configuration = configuration
        let context = handle.context
        if configuration.verifiesServer {
            if let path = configuration.trustedCAPath {
                guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
                    throw TLSError("cannot load CA file \(path)")
                }
            } else {
                guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                    throw TLSError("cannot load the system's trusted CA certificates")
                }
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        }
        // Unlike most OpenSSL calls, 0 is success here.
        if handle.alpnLength > 0 {
            guard SSL_CTX_set_alpn_protos(context, handle.alpnWire, UInt32(handle.alpnLength)) == 0 else {
                throw TLSError("cannot set the ALPN protocols")
            }
        }
    }

    /// A handler for one connection; put it first in the channel's pipeline, before connecting.
    /// - Parameters:
    ///   - serverName: The host name or IP address connected to: the certificate must be issued for it, and a
    ///     host name is sent as SNI.
    ///   - handshakeTimeout: How long the handshake may take once TCP is up; `nil` waits as long as it takes.
    /// - Returns: The handler; its ``TLSClientHandler/handshakeFuture`` says how the handshake ended.
    public func makeClientHandler(serverName: String, handshakeTimeout: TimeAmount? = nil) -> TLSClientHandler {
        TLSClientHandler(context: self, serverName: serverName, handshakeTimeout: handshakeTimeout)
    }
}
