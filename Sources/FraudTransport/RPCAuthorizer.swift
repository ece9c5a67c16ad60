public import FraudWire

/// What an ``RPCAuthorizer`` answered for a scoring call.
public enum RPCGrant: Sendable, Equatable {
    /// The caller may score until `untilUnixSeconds` (the token's expiry); the connection reuses this answer
    /// for the same `authorization` value until then (or until the authorizer's generation changes).
    case granted(untilUnixSeconds: Int64)
    /// The call is refused with this status (UNAUTHENTICATED or PERMISSION_DENIED) before any scoring work.
    case denied(Status)
}

/// Decides who may call Score and ScoreStream; health checks stay open. Called on the connection's event
/// loop when a call's request headers are complete: it must not block. A class, so that a connection holds it
/// as one reference (no existential box to copy and destroy around each use).
public protocol RPCAuthorizer: AnyObject, Sendable {
    /// Changes whenever keys are reloaded: grants cached under an older generation are checked again.
    var generation: UInt64 { get }

    /// Checks the `authorization` metadata of one scoring call.
    /// - Parameters:
    ///   - authorization: the header value (`Bearer <token>`), or `nil` when the call has none.
    ///   - peer: the client's address, for the audit trail.
    func authorizeScoring(authorization: String?, peer: String) -> RPCGrant
}
