/// Who may read an admin route.
public enum AdminAccessLevel: Sendable, Equatable {
    /// Anyone: `/health`, the OpenAPI document, `/docs`, the login endpoint, the dashboard's HTML shell.
    case open
    /// `analyst` or `admin`: the analytics API, the live counters the dashboard polls.
    case analyst
    /// `admin` only: `/metrics`.
    case admin
}

/// The answer to "may this request read that route?".
public enum AdminAccessCheck: Sendable, Equatable {
    case allowed(subject: String)
    /// 401: no token, or one that does not verify (the message says which, never echoing the token).
    case unauthenticated(String)
    /// 403: a valid token whose role does not cover the route.
    case forbidden(String)
}

/// What `POST /api/v1/auth/login` answers.
public enum AdminLoginOutcome: Sendable, Equatable {
    case issued(token: String, role: String, expiresInSeconds: Int)
    /// 401 with this message (the same for an unknown user and a wrong password).
    case rejected(String)
    /// 429: too many failures for this user or address.
    case throttled(retryAfterSeconds: Int)
}

/// Authentication and authorization of the admin port, supplied by the server's wiring (JWT, users file,
/// audit trail). Without one (`--auth off`) every route is open.
public protocol AdminAccessControl: Sendable {
    /// Checks a bearer token (from `Authorization: Bearer …` or the `fraud_token` cookie) against a
    /// route's level and records denials in the audit trail.
    func check(token: String?, requires level: AdminAccessLevel, peer: String, resource: String) -> AdminAccessCheck

    /// Verifies a user's password (slowly, off the event loop) and issues a token.
    func login(username: String, password: String, peer: String) async -> AdminLoginOutcome
}
