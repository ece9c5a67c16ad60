/// Why a token, a login or a configuration file was refused.
///
/// ``message`` is short, for people and for logs ("token expired", "unknown key id 'k9'"). It never contains
/// the token, a password or a password hash; attacker-controlled values (a `kid`, an `alg`) appear only when
/// they are short and made of safe characters.
public struct AuthFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, for tests and for mapping to a status (all token failures are
    /// UNAUTHENTICATED / 401; ``Code-swift.struct/invalidCredentials`` and ``Code-swift.struct/throttled`` belong to logins).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Wrapped: String, Sendable, Hashable {
            case missingToken, malformed, unsupportedAlgorithm, unknownKey, badSignature, expired, notYetValid
            case wrongAudience, wrongIssuer, invalidClaims, noSigningKey, invalidCredentials, throttled, configuration
        }

        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// No token at all (no `authorization` header, or not `Bearer …`).
        public static let missingToken = Self(.missingToken)
        /// Not a compact JWS: wrong number of parts, bad base64url or JSON, too long, truncated, garbage.
        public static let malformed = Self(.malformed)
        /// `alg` is `none`, or not the algorithm pinned to the key (e.g. HS256 against an EC key), or `crit` is set.
        public static let unsupportedAlgorithm = Self(.unsupportedAlgorithm)
        /// No `kid`, or a `kid` that is not in the key directory (any more).
        public static let unknownKey = Self(.unknownKey)
        /// The signature does not verify with the key named by `kid`.
        public static let badSignature = Self(.badSignature)
        /// `exp` is in the past (beyond the leeway).
        public static let expired = Self(.expired)
        /// `nbf` (or `iat`) is in the future (beyond the leeway).
        public static let notYetValid = Self(.notYetValid)
        /// `aud` does not name this service.
        public static let wrongAudience = Self(.wrongAudience)
        /// `iss` is not this service's issuer.
        public static let wrongIssuer = Self(.wrongIssuer)
        /// A required claim (`sub`, `role`, `exp`) is missing or has an unknown value.
        public static let invalidClaims = Self(.invalidClaims)
        /// Asked to issue a token, but the key directory holds only public keys.
        public static let noSigningKey = Self(.noSigningKey)
        /// Unknown user or wrong password (deliberately indistinguishable).
        public static let invalidCredentials = Self(.invalidCredentials)
        /// Too many failed logins; the message says when to retry.
        public static let throttled = Self(.throttled)
        /// A key directory, users file or audit log that cannot be read or written, or is invalid.
        public static let configuration = Self(.configuration)

        /// The code's name, e.g. `badSignature`.
        public var description: String { wrapped.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A short human-readable reason; safe to log and to return to the client.
    public var message: String

    /// Creates a failure.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A short reason, without secrets.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension AuthFailure {
    /// `value` if it is short and made only of `[A-Za-z0-9._-]`, else a placeholder: for echoing
    /// attacker-controlled header values into messages and logs.
    static func printable(_ value: String, limit: Int = 64) -> String {
        guard !value.isEmpty, value.utf8.count <= limit,
            value.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
            })
        else { return "…" }
        return value
    }
}
