public import ArgumentParser
import Foundation
import FraudTLS

/// The flags `fraud-loadgen` and `fraud-backfill` share to reach a secured server: `--tls`, `--tls-ca`,
/// `--tls-insecure` and `--token-file` (or the `FRAUD_TOKEN` environment variable).
public struct ClientSecurityOptions: ParsableArguments {
    /// The environment variable read for the token when `--token-file` is not given.
    public static let tokenVariable = "FRAUD_TOKEN"

    /// `--tls`: TLS with the system's trust store unless ``tlsCA`` is given.
    @Flag(
        help: """
            Connect over TLS (ALPN h2). The server's certificate must verify against the system's trusted CAs \
            (or --tls-ca) and name the --target host (DNS name or IP address).
            """
    )
    public var tls = false

    /// `--tls-ca FILE`: the CA bundle to verify the server with.
    @Option(help: ArgumentHelp("PEM CA bundle the server's certificate must verify against (implies --tls).", valueName: "file"))
    public var tlsCA: String?

    /// `--tls-insecure`: TLS without verification.
    @Flag(help: "TLS without verifying the server's certificate (implies --tls; throw-away test servers only).")
    public var tlsInsecure = false

    /// `--token-file FILE`: where the bearer token is read from.
    @Option(
        help: ArgumentHelp(
            """
            File holding the JWT sent as 'authorization: Bearer' with every call (e.g. from fraud-ctl auth token; \
            surrounding whitespace is ignored). Default: $FRAUD_TOKEN.
            """,
            valueName: "file"
        )
    )
    public var tokenFile: String?

    /// No TLS, no token (ArgumentParser fills the fields).
    public init() {}

    /// Refuses `--tls-insecure` together with `--tls-ca`.
    public func validate() throws {
        if tlsInsecure && tlsCA != nil {
            throw ValidationError("--tls-insecure and --tls-ca contradict each other: pick one")
        }
    }

    /// Whether the connection uses TLS (`--tls`, `--tls-ca` or `--tls-insecure`).
    public var usesTLS: Bool { tls || tlsCA != nil || tlsInsecure }

    /// A line for stderr when the settings are unsafe (`--tls-insecure`), else `nil`.
    public var warning: String? {
        guard tlsInsecure else { return nil }
        return "WARNING: --tls-insecure: the server's certificate is NOT verified; "
            + "anyone on the network path can impersonate it and read the calls and the token"
    }

    /// Sets ``GRPCClientConfiguration/tls`` (loading the CA bundle or the system's trust store) and
    /// ``GRPCClientConfiguration/bearerToken`` (from `--token-file`, else `FRAUD_TOKEN`).
    /// - Parameters:
    ///   - configuration: The configuration to complete.
    ///   - environment: Where `FRAUD_TOKEN` is looked up; `nil` for the process's environment.
    /// - Throws: `ValidationError` when the token file cannot be read or does not hold one token;
    ///   ``TLSError`` when the CA bundle cannot be loaded. Messages never contain the token.
    public func apply(to configuration: inout GRPCClientConfiguration, environment: [String: String]? = nil) throws {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if usesTLS {
            configuration.tls = try TLSClientContext(
                configuration: TLSClientConfiguration(trustedCAPath: tlsCA, verifiesServer: !tlsInsecure)
            )
        }
        configuration.bearerToken = try token(environment: environment)
    }

    /// The token from `--token-file` or, without it, `FRAUD_TOKEN`; `nil` when neither is given.
    /// - Throws: `ValidationError` (without the token) when the file cannot be read, or the text is empty or
    ///   not a single header-safe token.
    public func token(environment: [String: String]) throws -> String? {
        let text: String
        let source: String
        if let tokenFile {
            do {
                text = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw ValidationError("--token-file \(tokenFile): cannot read it (\(error.localizedDescription))")
            }
            source = "--token-file \(tokenFile)"
        } else if let value = environment[Self.tokenVariable], !value.allSatisfy(\.isWhitespace) {
            // An empty FRAUD_TOKEN counts as unset (`FRAUD_TOKEN= fraud-loadgen …` turns it off).
            text = value
            source = Self.tokenVariable
        } else {
            return nil
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ValidationError("\(source) is empty") }
        // An HTTP/2 field value must not carry control characters; a JWT is base64url and dots only.
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ValidationError("\(source) does not hold a single token (spaces, line breaks or non-ASCII inside)")
        }
        return token
    }
}
