public import Foundation

/// Who made a request, as proven by a verified token.
public struct Principal: Sendable, Hashable {
    /// The `sub` claim: a user name or a payment system's client id.
    public var subject: String
    /// The `role` claim.
    public var role: Role
    /// The `kid` of the key that signed the token.
    public var keyID: String
    /// The `exp` claim.
    public var expiresAt: Date

    /// Creates a principal.
    /// - Parameters:
    ///   - subject: The `sub` claim.
    ///   - role: The `role` claim.
    ///   - keyID: The signing key's id.
    ///   - expiresAt: The `exp` claim.
    public init(subject: String, role: Role, keyID: String, expiresAt: Date) {
        self.subject = subject
        self.role = role
        self.keyID = keyID
        self.expiresAt = expiresAt
    }
}
