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

    /// Claims for a token valid from `now` for `lifetime` seconds.
    static func make(
        subject: String,
        role: String,
        now: Date,
        lifetime: TimeInterval,
        issuer: String,
        audience: String
    ) -> TokenClaims {
        // Whole seconds: NumericDate values are usually integers, and other verifiers may insist.
        let issuedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        return TokenClaims(
            sub: SubjectClaim(value: subject),
            role: role,
            iat: IssuedAtClaim(value: issuedAt),
            nbf: NotBeforeClaim(value: issuedAt),
            exp: ExpirationClaim(value: issuedAt.addingTimeInterval(lifetime.rounded(.down))),
            aud: AudienceClaim(value: [audience]),
            iss: IssuerClaim(value: issuer)
        )
    }
}
