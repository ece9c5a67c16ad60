import Foundation
import JWTKit

/// The claims of our tokens, decoded by jwt-kit. Every claim is optional here so that a missing one gets its own
/// failure message; ``TokenAuthority`` checks them after the signature.
struct TokenClaims: JWTPayload {
    var sub: SubjectClaim?
    var role: String?
    var iat: IssuedAtClaim?
    var nbf: NotBeforeClaim?
    var exp: ExpirationClaim?
    var aud: AudienceClaim?
    var iss: IssuerClaim?

    /// Unused: jwt-kit's asynchronous verification path. ``TokenAuthority`` checks claims synchronously itself.
    func verify(using algorithm: some JWTAlgorithm) async throws {}

    /// A copy with `iat` set to `date` (tests).
    func issued(at date: Date) -> TokenClaims {
        var copy = self
        copy.iat = IssuedAtClaim(value: date)
        return copy
    }

    /// A copy whose `aud` is the array `audiences` (tests: the older, array-valued shape).
    func intended(for audiences: [String]) -> TokenClaims {
        var copy = self
        copy.aud = AudienceClaim(value: audiences)
        return copy
    }

    /// Claims for a token valid from `now` for `lifetime` seconds.
    ///
    /// Issued tokens carry no `nbf`: it would equal `iat`, which is checked against the clock the same way, and
    /// every byte of a token is Huffman-coded on both ends of every call (HPACK never indexes `authorization`).
    /// `notBefore` is for the tests' and the negative corpus's tokens; the verifier checks `nbf` when present.
    static func make(
        subject: String,
        role: String,
        now: Date,
        lifetime: TimeInterval,
        issuer: String,
        audience: String,
        notBefore: Date? = nil
    ) -> TokenClaims {
        // Whole seconds: NumericDate values are usually integers, and other verifiers may insist.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return TokenClaims(
            sub: SubjectClaim(value: subject),
            role: role,
            iat: IssuedAtClaim(value: issuedAt),
            nbf: notBefore.map { NotBeforeClaim(value: Date(timeIntervalSince1970: $0.timeIntervalSince1970.rounded(.down))) },
            exp: ExpirationClaim(value: issuedAt.addingTimeInterval(lifetime.rounded(.down))),
            aud: AudienceClaim(value: [audience]),  // jwt-kit writes a one-element audience as a plain string
            iss: IssuerClaim(value: issuer)
        )
    }
}
