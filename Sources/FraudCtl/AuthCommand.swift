import ArgumentParser
import Foundation
import FraudAuth

/// `fraud-ctl auth …`: signing keys, users and tokens for the server's `--jwt-keys` and `--users`.
struct AuthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Create signing keys, users and tokens for fraud-server's authentication.",
        subcommands: [
            HashPassword.self, AddUser.self, GenKey.self, Token.self, Verify.self, Forge.self, Bench.self,
        ]
    )

    /// `fraud-ctl auth hash-password`: prints the scrypt PHC string of the password on stdin.
    struct HashPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hash-password",
            abstract:
                "Read a password from stdin (first line) and print its scrypt hash ($scrypt$ln=..,r=8,p=1$salt$hash)."
        )

        @Option(help: "log2 of scrypt's N (10-20); 15 = 32 MiB, ~0.1 s.")
        var logN: Int = PasswordHash.Parameters.default.logN

        func run() throws {
            let password = try readPassword(environment: nil)
            print(try makeHash(password, logN: logN))
        }
    }

    /// `fraud-ctl auth add-user`: adds a user to a users file.
    struct AddUser: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user",
            abstract: "Add a user to a users file (created with mode 0600). Password from stdin or --password-env."
        )

        @Option(help: "The users file (JSON lines).")
        var users: String

        @Option(help: "Login name.")
        var name: String

        @Option(help: "Role: scorer, analyst or admin.")
        var role: String

        @Option(help: "Read the password from this environment variable instead of stdin.")
        var passwordEnv: String?

        @Flag(help: "Replace the user if it exists.")
        var replace = false

        @Option(help: "log2 of scrypt's N (10-20).")
        var logN: Int = PasswordHash.Parameters.default.logN

        func run() throws {
            let role = try parseRole(role)
            let password = try readPassword(environment: passwordEnv)
            let record = UserRecord(name: name, role: role, passwordHash: try makeHash(password, logN: logN))
            try UserDirectory.addUser(record, toFile: users, replacing: replace)
            printError("added \(role.rawValue) '\(name)' to \(users)")
        }
    }

    /// `fraud-ctl auth gen-key`: writes an ES256 key pair into a key directory.
    struct GenKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gen-key",
            abstract: "Generate an ES256 (EC P-256) key: DIR/KID.pem (private, 0600) and DIR/KID.pub.pem."
        )

        @Option(help: "The key directory (fraud-server --jwt-keys).")
        var dir: String

        @Option(help: "Key id: 1-64 characters of [A-Za-z0-9_-]; without keys.json the kid sorting last signs.")
        var kid: String

        @Flag(help: "Also write keys.json so that this key signs new tokens.")
        var makeSigning = false

        @Flag(help: "Overwrite existing files of this kid.")
        var force = false

        func run() throws {
            let paths = try SigningKeyFiles.generate(in: dir, keyID: kid, replacing: force)
            if makeSigning { try SigningKeyFiles.setSigningKey(kid, in: dir) }
            print(paths.privateKey)
            print(paths.publicKey)
        }
    }

    /// `fraud-ctl auth token`: issues a token with the directory's signing key.
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Print a token signed with the key directory's signing key (for operators and tests)."
        )

        @OptionGroup var keys: KeyOptions

        @Option(help: "The subject (sub).")
        var sub: String

        @Option(help: "Role: scorer, analyst or admin.")
        var role: String

        @Option(help: "Lifetime in seconds.")
        var ttl: Int = 3600

        func run() throws {
            let authority = try keys.makeAuthority()
            print(try authority.issue(subject: sub, role: try parseRole(role), lifetime: TimeInterval(ttl)))
        }
    }

    /// `fraud-ctl auth verify`: checks a token as the server would.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify a token (argument or first line of stdin) as the server would; exit 1 if refused."
        )

        @OptionGroup var keys: KeyOptions

        @Argument(help: "The token; read from stdin when omitted.")
        var token: String?

        func run() throws {
            let token = self.token ?? readLine(strippingNewline: true) ?? ""
            switch try keys.makeAuthority().verify(token) {
            case .success(let principal):
                print(
                    "ok sub=\(principal.subject) role=\(principal.role.rawValue) kid=\(principal.keyID) exp=\(Int(principal.expiresAt.timeIntervalSince1970))"
                )
            case .failure(let failure):
                print("refused (\(failure.code)): \(failure.message)")
                throw ExitCode.failure
            }
        }
    }

    /// `fraud-ctl auth forge`: prints one token of the negative corpus (hidden; for end-to-end tests).
    struct Forge: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forge",
            abstract: "Print a deliberately invalid token (negative test corpus).",
            shouldDisplay: false
        )

        @OptionGroup var keys: KeyOptions

        @Option(
            help: ArgumentHelp(
                "Which bad token: \(ForgedToken.allCases.map(\.rawValue).joined(separator: ", ")).",
                valueName: "kind"
            )
        )
        var kind: String

        @Option(help: "The subject (sub).")
        var sub = "forger"

        @Option(help: "Role: scorer, analyst or admin.")
        var role = "admin"

        func run() throws {
            guard let forged = ForgedToken(rawValue: kind) else {
                throw ValidationError(
                    "unknown kind '\(kind)'; one of \(ForgedToken.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            let authority = try keys.makeAuthority()
            print(try authority.forge(forged, subject: sub, role: try parseRole(role)))
        }
    }

    /// `fraud-ctl auth bench`: the cost of verifying (cached and uncached) and issuing tokens (hidden).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench",
            abstract: "Time token verification (cache hit and miss) and issuing on one thread.",
            shouldDisplay: false
        )

        @OptionGroup var keys: KeyOptions

        @Option(help: "Cache-hit verifications to time (misses and issues: a tenth).")
        var iterations = 200_000

        func run() throws {
            let cached = try keys.makeAuthority()
            let uncached = try TokenAuthority(
                keyDirectory: keys.jwtKeys,
                configuration: TokenAuthority.Configuration(
                    issuer: keys.issuer,
                    audience: keys.audience,
                    cacheCapacity: 0
                )
            )
            let header = "Bearer " + (try cached.issue(subject: "bench", role: .scorer))
            let value = Substring(header)
            func time(_ label: String, _ count: Int, _ body: () throws -> Void) rethrows {
                let start = ContinuousClock.now
                for _ in 0..<count { try body() }
                let seconds = secondsSince(start)
                print("\(label): \(String(format: "%.0f", seconds / Double(count) * 1e9)) ns/op (\(count) ops)")
            }
            try time("verify, cache hit (Bearer header)", iterations) {
                _ = try cached.verify(authorization: value).get()
            }
            try time("verify, cache miss (parse + ES256)", max(1, iterations / 10)) {
                _ = try uncached.verify(authorization: value).get()
            }
            try time("issue (ES256 sign)", max(1, iterations / 10)) {
                _ = try cached.issue(subject: "bench", role: .scorer)
            }
        }
    }

    /// Key directory, issuer and audience (must match the server's).
    struct KeyOptions: ParsableArguments {
        @Option(name: .customLong("jwt-keys"), help: "The key directory.")
        var jwtKeys: String

        @Option(help: "The iss claim.")
        var issuer = TokenAuthority.Configuration().issuer

        @Option(help: "The aud claim.")
        var audience = TokenAuthority.Configuration().audience

        func makeAuthority() throws -> TokenAuthority {
            try TokenAuthority(
                keyDirectory: jwtKeys,
                configuration: TokenAuthority.Configuration(issuer: issuer, audience: audience)
            )
        }
    }
}

private func parseRole(_ text: String) throws -> Role {
    guard let role = Role(rawValue: text) else {
        throw ValidationError("unknown role '\(text)'; one of scorer, analyst, admin")
    }
    return role
}

private func makeHash(_ password: String, logN: Int) throws -> String {
    let parameters = PasswordHash.Parameters(logN: logN)
    guard (10...20).contains(logN) else { throw ValidationError("--log-n must be 10...20") }
    return PasswordHash(hashing: password, parameters: parameters).description
}

/// The password from `environment` or the first line of stdin (without the newline); never empty.
private func readPassword(environment: String?) throws -> String {
    let password: String
    if let environment {
        guard let value = ProcessInfo.processInfo.environment[environment] else {
            throw ValidationError("environment variable \(environment) is not set")
        }
        password = value
    } else {
        password = readLine(strippingNewline: true).map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 } ?? ""
    }
    guard !password.isEmpty else { throw ValidationError("empty password") }
    return password
}

private func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
