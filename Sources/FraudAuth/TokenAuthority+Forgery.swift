import Crypto
public import Foundation

/// The negative token corpus of issue 7 (acceptance 2): tokens that a correct verifier must refuse, each made
/// the way an attacker (or a broken client) would make it. For tests only — `fraud-ctl auth forge` prints one
/// so that the Python end-to-end tests can send it.
public enum ForgedToken: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Header `alg: none`, valid claims, empty signature.
    case none = "none"
    /// Header `alg: HS256` with our `kid`, MAC'd with the public key's PEM text as the HMAC secret
    /// (the classic algorithm-confusion attack).
    case hs256PublicKey = "hs256-pubkey"
    /// Properly signed, `exp` an hour ago.
    case expired = "expired"
    /// Properly signed, `nbf` (and `iat`) an hour ahead.
    case notYetValid = "nbf-future"
    /// Properly signed, `aud` another service.
    case wrongAudience = "wrong-aud"
    /// Properly signed, `iss` another issuer.
    case wrongIssuer = "wrong-iss"
    /// Signed by a fresh key under a `kid` that is not in the directory.
    case unknownKeyID = "unknown-kid"
    /// A valid token with one signature byte flipped.
    case badSignature = "bad-signature"
    /// A valid token cut in the middle of its claims.
    case truncated = "truncated"
    /// Random base64url text with no structure.
    case garbage = "garbage"

    /// The code the verifier must answer with.
    public var expectedFailure: AuthFailure.Code {
        switch self {
        case .none, .hs256PublicKey: .unsupportedAlgorithm
        case .expired: .expired
        case .notYetValid: .notYetValid
        case .wrongAudience: .wrongAudience
        case .wrongIssuer: .wrongIssuer
        case .unknownKeyID: .unknownKey
        case .badSignature: .badSignature
        case .truncated, .garbage: .malformed
        }
    }

    /// The kind's command-line name, e.g. `hs256-pubkey`.
    public var description: String { rawValue }
}

extension TokenAuthority {
    /// Makes a token of the negative corpus against this authority's signing key, issuer and audience.
    ///
    /// - Important: For tests and the `fraud-ctl auth forge` helper only; the server never calls it.
    /// - Parameters:
    ///   - kind: Which bad token.
    ///   - subject: The `sub` claim.
    ///   - role: The `role` claim.
    ///   - now: The time the token is made for.
    /// - Returns: The token.
    /// - Throws: ``AuthFailure`` `noSigningKey` when only public keys are loaded.
    public func forge(
        _ kind: ForgedToken,
        subject: String = "forger",
        role: Role = .admin,
        now: Date = Date()
    ) throws(AuthFailure) -> String {
        let ring = keyRingSnapshot
        guard let kid = ring.signingKeyID, let key = ring.keys[kid], let privateKey = key.privateKey else {
            throw AuthFailure(.noSigningKey, "no signing key in \(keyDirectory) (public keys only)")
        }
        let issuer = configuration.issuer
        let audience = configuration.audience
        func claims(
            from start: Date,
            lifetime: TimeInterval,
            issuer: String,
            audience: String,
            notBefore: Date? = nil
        ) -> TokenClaims {
            TokenClaims.make(
                subject: subject,
                role: role.rawValue,
                now: start,
                lifetime: lifetime,
                issuer: issuer,
                audience: audience,
                notBefore: notBefore
            )
        }
        func validClaims() -> TokenClaims {
            claims(from: now, lifetime: 3600, issuer: issuer, audience: audience)
        }
        func signed(_ claims: TokenClaims, keyID: String, key: P256.Signing.PrivateKey) throws(AuthFailure) -> String {
            let input = try Self.signingInput(claims: claims, algorithm: "ES256", keyID: keyID)
            return Self.append(signature: Self.sign(input, with: key), to: input)
        }
        func signedWithOurKey(_ claims: TokenClaims) throws(AuthFailure) -> String {
            try signed(claims, keyID: kid, key: privateKey)
        }

        switch kind {
        case .none:
            return try Self.signingInput(claims: validClaims(), algorithm: "none", keyID: kid) + "."
        case .hs256PublicKey:
            let input = try Self.signingInput(claims: validClaims(), algorithm: "HS256", keyID: kid)
            let secret = SymmetricKey(data: Data(key.publicKey.pemRepresentation.utf8))
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: secret)
            return Self.append(signature: Array(mac), to: input)
        case .expired:
            return try signedWithOurKey(
                claims(from: now.addingTimeInterval(-7200), lifetime: 3600, issuer: issuer, audience: audience)
            )
        case .notYetValid:
            let start = now.addingTimeInterval(3600)
            return try signedWithOurKey(
                claims(from: start, lifetime: 3600, issuer: issuer, audience: audience, notBefore: start)
            )
        case .wrongAudience:
            return try signedWithOurKey(claims(from: now, lifetime: 3600, issuer: issuer, audience: "someone-else"))
        case .wrongIssuer:
            return try signedWithOurKey(claims(from: now, lifetime: 3600, issuer: "evil-issuer", audience: audience))
        case .unknownKeyID:
            var unknown = "k9"
            while ring.keys[unknown] != nil { unknown += "9" }
            return try signed(validClaims(), keyID: unknown, key: P256.Signing.PrivateKey())
        case .badSignature:
            let token = try signedWithOurKey(validClaims())
            let signatureStart = token.lastIndex(of: ".").map { token.index(after: $0) } ?? token.endIndex
            var characters = Array(token[signatureStart...])
            // Flip a character in the middle: still 64 bytes of base64url, no longer the signature.
            let middle = characters.count / 2
            characters[middle] = characters[middle] == "A" ? "B" : "A"
            return String(token[..<signatureStart]) + String(characters)
        case .truncated:
            let token = try signedWithOurKey(validClaims())
            let periods = token.indices.filter { token[$0] == "." }
            let cut = token.index(
                periods[0],
                offsetBy: token.distance(from: periods[0], to: periods[1]) / 2
            )
            return String(token[..<cut])
        case .garbage:
            return Base64.urlEncoded((0..<96).map { _ in UInt8.random(in: 0...255) })
        }
    }
}
