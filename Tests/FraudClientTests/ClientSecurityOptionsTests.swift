import ArgumentParser
import Foundation
import FraudClient
import FraudTLS
import Testing

/// `--tls`, `--tls-ca`, `--tls-insecure`, `--token-file` and `FRAUD_TOKEN`, shared by fraud-loadgen and
/// fraud-backfill.
@Suite("Client security options")
struct ClientSecurityOptionsTests {
    private func tokenFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fraud-token-\(UUID().uuidString)").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test("the token file is read and trimmed, and wins over FRAUD_TOKEN")
    func tokenFromFile() throws {
        let path = try tokenFile("  header.claims.signature\n\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let options = try ClientSecurityOptions.parse(["--token-file", path])
        #expect(try options.token(environment: ["FRAUD_TOKEN": "from-env"]) == "header.claims.signature")
    }

    @Test("without --token-file FRAUD_TOKEN is used; an empty one counts as unset")
    func tokenFromEnvironment() throws {
        let options = try ClientSecurityOptions.parse([])
        #expect(try options.token(environment: ["FRAUD_TOKEN": "a.b.c\n"]) == "a.b.c")
        #expect(try options.token(environment: ["FRAUD_TOKEN": ""]) == nil)
        #expect(try options.token(environment: [:]) == nil)
    }

    @Test("a file with two words, or an empty one, is refused without echoing its content")
    func badTokens() throws {
        for text in ["secret-one secret-two", "secret\r\nx", "  \n"] {
            let path = try tokenFile(text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let options = try ClientSecurityOptions.parse(["--token-file", path])
            let error = #expect(throws: ValidationError.self) { try options.token(environment: [:]) }
            #expect(error?.message.contains(path) == true)
            #expect(error?.message.contains("secret") == false)
        }
        let missing = try ClientSecurityOptions.parse(["--token-file", "/nonexistent/token"])
        #expect(throws: ValidationError.self) { try missing.token(environment: [:]) }
    }

    @Test("--tls-ca and --tls-insecure imply --tls; together they are refused; a missing CA file is named")
    func tlsFlags() throws {
        #expect(try ClientSecurityOptions.parse([]).usesTLS == false)
        #expect(try ClientSecurityOptions.parse(["--tls"]).usesTLS)
        #expect(try ClientSecurityOptions.parse(["--tls-ca", "ca.pem"]).usesTLS)
        let insecure = try ClientSecurityOptions.parse(["--tls-insecure"])
        #expect(insecure.usesTLS && insecure.warning?.contains("NOT verified") == true)
        #expect(throws: (any Error).self) { try ClientSecurityOptions.parse(["--tls-insecure", "--tls-ca", "ca.pem"]) }

        var configuration = GRPCClientConfiguration()
        let options = try ClientSecurityOptions.parse(["--tls-ca", "/nonexistent/ca.pem"])
        let error = #expect(throws: (any Error).self) { try options.apply(to: &configuration, environment: [:]) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("/nonexistent/ca.pem"))
        try ClientSecurityOptions.parse(["--tls"]).apply(to: &configuration, environment: [:])
        #expect(configuration.tls?.configuration.trustedCAPath == nil && configuration.tls?.configuration.verifiesServer == true)
        #expect(configuration.bearerToken == nil)
    }
}
