import FraudTLS
import Testing

/// Loading a client's trust store; handshakes against a real server are in FraudClientTests (TLS client)
/// and Tests/python/test_client_tls.py.
@Suite("TLS client context")
struct TLSClientContextTests {
    @Test("the system's trust store loads when no CA file is given; ALPN h2 is the default")
    func systemStore() throws {
        let context = try TLSClientContext(configuration: TLSClientConfiguration())
        #expect(context.configuration.applicationProtocols == ["h2"])
        #expect(context.configuration.verifiesServer)
        _ = context.makeClientHandler(serverName: "localhost")
    }

    @Test("a CA file that cannot be read is named in the error")
    func missingCA() throws {
        let error = #expect(throws: TLSError.self) {
            try TLSClientContext(configuration: TLSClientConfiguration(trustedCAPath: "/nonexistent/ca.pem"))
        }
        #expect(error?.description.contains("cannot load CA file /nonexistent/ca.pem") == true)
    }
}
