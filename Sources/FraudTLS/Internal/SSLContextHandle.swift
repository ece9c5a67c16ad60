import COpenSSL

/// An OpenSSL `SSL_CTX` with what both ends set the same way (TLS 1.2+, no compression or renegotiation, the
/// TLS 1.3 suites), the BIO method of every connection's ciphertext stream, and the ALPN list in wire format;
/// frees all three when the last connection and context using it are gone.
///
/// `SSL_CTX` is safe to share between threads once configured (OpenSSL 1.1+ locks its own state).
final class SSLContextHandle: @unchecked Sendable {
    let context: OpaquePointer
    /// The BIO method of every connection's ciphertext stream (`COpenSSL_newStreamMethod`).
    let streamMethod: OpaquePointer
    /// ALPN protocols in wire format (each name prefixed by its length) followed by a NUL, so the server's
    /// select callback can read it as a C string; ``alpnLength`` excludes the NUL.
    let alpnWire: UnsafeMutablePointer<UInt8>
    /// Bytes of ``alpnWire`` without the trailing NUL (0 when no protocol is configured).
    let alpnLength: Int

    /// Makes the context and applies the shared settings.
    /// - Parameters:
    ///   - method: `TLS_server_method()` or `TLS_client_method()`.
    ///   - applicationProtocols: ALPN protocols in preference order; each 1–255 bytes.
    /// - Throws: ``TLSError`` with OpenSSL's reason.
    init(method: OpaquePointer?, applicationProtocols: [String]) throws(TLSError) {
        guard let context = SSL_CTX_new(method) else { throw TLSError("SSL_CTX_new failed") }
        guard let streamMethod = COpenSSL_newStreamMethod() else {
            SSL_CTX_free(context)
            throw TLSError("cannot make the TLS stream BIO method")
        }
        var wire: [UInt8] = []
        for name in applicationProtocols {
            let bytes = Array(name.utf8)
            precondition(!bytes.isEmpty && bytes.count < 256, "ALPN protocol names are 1-255 bytes")
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        alpnLength = wire.count
        wire.append(0)
        let alpn = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count)
        alpn.initialize(from: wire, count: wire.count)
        self.context = context
        self.streamMethod = streamMethod
        self.alpnWire = alpn

        COpenSSL_hardenOptions(context)
        guard COpenSSL_setMinimumTLS12(context) == 1 else { throw TLSError("cannot require TLS 1.2") }
        // TLS 1.3 suites in Mozilla's recommended order (AES-128-GCM first: 10 AES rounds instead of 14 for
        // every record, on both ends); with server preference on, the server's order decides.
        guard SSL_CTX_set_ciphersuites(context, Self.tls13CipherSuites) == 1 else {
            throw TLSError("cannot set the TLS 1.3 cipher suites")
        }
    }

    /// The TLS 1.3 cipher suites, preferred first.
    static let tls13CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    deinit {
        SSL_CTX_free(context)
        BIO_meth_free(streamMethod)
        alpnWire.deallocate()
    }
}
