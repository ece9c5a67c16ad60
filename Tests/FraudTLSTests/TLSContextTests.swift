import Foundation
import FraudTLS
import Testing

/// Loading certificates and keys; the handshakes themselves are tested with real clients (grpcio, h2load,
/// Python's ssl) in Tests/python/test_tls.py.
@Suite("TLS context")
struct TLSContextTests {
    /// A fresh self-signed P-256 certificate and key from the `openssl` command, in a temporary directory.
    private func makeCertificate(named name: String, in directory: URL) throws -> (cert: String, key: String) {
        let cert = directory.appendingPathComponent("\(name).pem").path
        let key = directory.appendingPathComponent("\(name).key").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=\(name)",
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return (cert, key)
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a matching certificate and key load; a handler can be made")
    func loads() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try makeCertificate(named: "server", in: directory)
        let context = try TLSContext(
            configuration: TLSConfiguration(certificateChainPath: pair.cert, privateKeyPath: pair.key, applicationProtocols: ["h2"])
        )
        #expect(context.configuration.applicationProtocols == ["h2"])
        _ = context.makeServerHandler()
    }

    @Test("a key of another certificate is refused with a message that says so")
    func mismatchedKey() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try makeCertificate(named: "first", in: directory)
        let second = try makeCertificate(named: "second", in: directory)
        let error = #expect(throws: TLSError.self) {
            try TLSContext(
                configuration: TLSConfiguration(certificateChainPath: first.cert, privateKeyPath: second.key, applicationProtocols: ["h2"])
            )
        }
        let text = error?.description ?? ""
        #expect(text.contains("second.key") && (text.contains("mismatch") || text.contains("does not match")))
    }

    @Test("a missing file is named in the error")
    func missingFile() throws {
        let error = #expect(throws: TLSError.self) {
            try TLSContext(
                configuration: TLSConfiguration(
                    certificateChainPath: "/nonexistent/cert.pem",
                    privateKeyPath: "/nonexistent/key.pem",
                    applicationProtocols: ["h2"]
                )
            )
        }
        #expect(error?.description.contains("/nonexistent/cert.pem") == true)
    }

    @Test("a client CA that cannot be read is refused")
    func badClientCA() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pair = try makeCertificate(named: "server", in: directory)
        let error = #expect(throws: TLSError.self) {
            try TLSContext(
                configuration: TLSConfiguration(
                    certificateChainPath: pair.cert,
                    privateKeyPath: pair.key,
                    clientCAPath: directory.appendingPathComponent("none.pem").path,
                    applicationProtocols: ["h2"]
                )
            )
        }
        #expect(error?.description.contains("client CA") == true)
    }
}
