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

/// A TLS set-up failure, with OpenSSL's reason.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ what: String) {
        var text = [CChar](repeating: 0, count: 256)
        COpenSSL_lastError(&text, text.count)
        let reason = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        self.description = reason.isEmpty ? what : "\(what): \(reason)"
    }
}

/// An OpenSSL `SSL_CTX` for a server: TLS 1.2+, no compression or renegotiation, ALPN, optional client
/// verification. One per listener; every connection's ``TLSServerHandler`` is made from it.
///
/// `SSL_CTX` is safe to share between threads once configured (OpenSSL 1.1+ locks its own state).
public final class TLSContext: @unchecked Sendable {
    let context: OpaquePointer
    /// ALPN list in wire format (length-prefixed, NUL-terminated for the C callback); lives as long as `context`.
    private let alpnWire: UnsafeMutablePointer<UInt8>
    /// The BIO method of every connection's ciphertext stream (`COpenSSL_newStreamMethod`).
    let streamMethod: OpaquePointer
    public let configuration: TLSConfiguration

    /// Loads the certificate and key and checks they belong together.
    /// - Throws: ``TLSError`` naming the file and OpenSSL's reason.
    public init(configuration: TLSConfiguration) throws(TLSError) {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError("SSL_CTX_new failed") }
        guard let streamMethod = COpenSSL_newStreamMethod() else {
            SSL_CTX_free(context)
            throw TLSError("cannot make the TLS stream BIO method")
        }
        var wire: [UInt8] = []
        for name in configuration.applicationProtocols {
            let bytes = Array(name.utf8)
            precondition(!bytes.isEmpty && bytes.count < 256, "ALPN protocol names are 1-255 bytes")
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        wire.append(0)
        let alpn = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count)
        alpn.initialize(from: wire, count: wire.count)
        self.context = context
        self.streamMethod = streamMethod
        self.alpnWire = alpn
        self.configuration = configuration

        COpenSSL_hardenOptions(context)
        guard COpenSSL_setMinimumTLS12(context) == 1 else { throw TLSError("cannot require TLS 1.2") }
        // TLS 1.3 suites in Mozilla's recommended order (AES-128-GCM first: 10 AES rounds instead of 14 for
        // every record, on both ends); with server preference on, the server's order decides.
        guard SSL_CTX_set_ciphersuites(context, Self.tls13CipherSuites) == 1 else {
            throw TLSError("cannot set the TLS 1.3 cipher suites")
        }
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
            COpenSSL_setALPN(context, alpn)
        }
    }

    /// The TLS 1.3 cipher suites, preferred first.
    static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    deinit {
        SSL_CTX_free(context)
        BIO_meth_free(streamMethod)
        alpnWire.deallocate()
    }

    /// A handler for one accepted connection; put it first in the channel's pipeline.
    public func makeServerHandler() -> TLSServerHandler {
        TLSServerHandler(context: self)
    }
}
