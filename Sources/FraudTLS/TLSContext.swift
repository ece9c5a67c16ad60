import COpenSSL

/// What a TLS listener needs: certificate chain, key, optional client CA (mutual TLS) and ALPN protocols.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM file with the server certificate first, then its chain.
    public var certificateChainPath: String
    /// PEM file with the private key.
    public var privateKeyPath: String
    /// PEM file with the CA certificates that sign client certificates; when set, every client must present
    /// a certificate that verifies against it (mutual TLS).
    public var clientCAPath: String?
    /// ALPN protocols in preference order (`["h2"]` for gRPC, `["http/1.1"]` for the admin port).
    public var applicationProtocols: [String]

    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil, applicationProtocols: [String]) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
        self.applicationProtocols = applicationProtocols
    }
}

/// A TLS failure (set-up, handshake or record layer), with OpenSSL's reason.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let description: String

    /// `what`, then the first error on this thread's OpenSSL error queue (which it clears), if any.
    init(_ what: String) {
        var text = [CChar](repeating: 0, count: 256)
        COpenSSL_lastError(&text, text.count)
        let reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.description = reason.isEmpty ? what : "\(what): \(reason)"
    }

    /// Exactly `description`, without looking at OpenSSL's error queue.
    init(description: String) {
        self.description = description
    }
}

/// An OpenSSL `SSL_CTX` for a server: TLS 1.2+, no compression or renegotiation, ALPN, optional client
/// verification. One per listener; every connection's ``TLSServerHandler`` is made from it.
///
/// `SSL_CTX` is safe to share between threads once configured (OpenSSL 1.1+ locks its own state).
public final class TLSContext: Sendable {
    /// The `SSL_CTX`, its stream BIO method and ALPN list; lives as long as the context and its connections.
    let handle: SSLContextHandle
    public let configuration: TLSConfiguration

    /// Loads the certificate and key and checks they belong together.
    /// - Throws: ``TLSError`` naming the file and OpenSSL's reason.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        let handle = try SSLContextHandle(
            method: TLS_server_method(),
            applicationProtocols: configuration.applicationProtocols
        )
        self.handle = handle
        self.configuration = configuration
        let context = handle.context
        guard SSL_CTX_use_certificate_chain_file(context, configuration.certificateChainPath) == 1 else {
            throw TLSError("cannot load certificate chain \(configuration.certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError("cannot load private key \(configuration.privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError("private key \(configuration.privateKeyPath) does not match the certificate")
        }
        _ = COpenSSL_setSessionIDContext(context, "fraud-scoring")
        if let clientCA = configuration.clientCAPath {
            guard SSL_CTX_load_verify_locations(context, clientCA, nil) == 1 else {
                throw TLSError("cannot load client CA \(clientCA)")
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
        }
        if !configuration.applicationProtocols.isEmpty {
            COpenSSL_setALPN(context, handle.alpnWire)
        }
    }

    /// A handler for one accepted connection; put it first in the channel's pipeline.
    public func makeServerHandler() -> TLSServerHandler {
        TLSServerHandler(context: self)
    }
}
