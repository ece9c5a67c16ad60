import Foundation

/// Throw-away certificates from the `openssl` command in a temporary directory: CAs, and server certificates
/// signed by one of them for the names given.
final class TestPKI {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-tls-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    /// A self-signed P-256 CA: `<name>.pem` and `<name>.key`.
    /// - Returns: The certificate's path.
    @discardableResult
    func makeCA(named name: String) throws -> String {
        try run(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            path("\(name).key"), "-out", path("\(name).pem"), "-days", "1", "-subj", "/CN=\(name)"
        )
        return path("\(name).pem")
    }

    /// A server certificate signed by CA `ca` with the subject alternative names `names`
    /// (e.g. `DNS:localhost,IP:127.0.0.1`).
    /// - Returns: The certificate and key paths.
    func makeServerCertificate(named name: String, signedBy ca: String, names: String) throws -> (cert: String, key: String) {
        try run(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path("\(name).key"),
            "-out", path("\(name).csr"), "-subj", "/CN=\(name)"
        )
        try Data("subjectAltName=\(names)\n".utf8).write(to: URL(fileURLWithPath: path("\(name).ext")))
        try run(
            "x509", "-req", "-in", path("\(name).csr"), "-CA", path("\(ca).pem"), "-CAkey", path("\(ca).key"),
            "-CAcreateserial", "-out", path("\(name).pem"), "-days", "1", "-extfile", path("\(name).ext")
        )
        return (path("\(name).pem"), path("\(name).key"))
    }

    private func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "openssl \(arguments.joined(separator: " ")) failed"])
        }
    }
}
