public import Foundation

/// One line of the audit trail.
public struct AuditEvent: Sendable, Hashable {
    /// What happened. Written as the `event` field.
    public struct Kind: RawRepresentable, Sendable, Hashable {
        /// The `event` field's value.
        public var rawValue: String
        /// Creates a kind (use the constants; others are allowed for events added by the server).
        /// - Parameter rawValue: The `event` field's value.
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A successful login (a token was issued).
        public static let login = Self(rawValue: "login")
        /// A wrong password or unknown user.
        public static let loginFailed = Self(rawValue: "login_failed")
        /// A login refused by ``LoginThrottle`` without checking the password.
        public static let loginThrottled = Self(rawValue: "login_throttled")
        /// A valid token whose role does not permit the request.
        public static let accessDenied = Self(rawValue: "access_denied")
        /// A request without a valid token.
        public static let unauthenticated = Self(rawValue: "unauthenticated")
        /// The key directory was reloaded.
        public static let keysReloaded = Self(rawValue: "keys_reloaded")
        /// A reload of the key directory failed (the old keys stay).
        public static let keysReloadFailed = Self(rawValue: "keys_reload_failed")
        /// The users file was reloaded.
        public static let usersReloaded = Self(rawValue: "users_reloaded")
        /// The server started with `--auth=off`.
        public static let authDisabled = Self(rawValue: "auth_disabled")
    }

    /// The result, written as the `outcome` field.
    public enum Outcome: String, Sendable, Hashable {
        /// It worked.
        case success
        /// It failed (bad credentials, bad token, failed reload).
        case failure
        /// Refused by policy (role, throttling).
        case denied
    }

    /// When.
    public var time: Date
    /// What.
    public var kind: Kind
    /// The result.
    public var outcome: Outcome
    /// Who: the verified `sub`, or the user name tried at login. Never from an unverified token.
    public var subject: String?
    /// The subject's role, when known.
    public var role: Role?
    /// The client's address.
    public var source: String?
    /// What was asked for: an RPC path or `METHOD /path`.
    public var resource: String?
    /// A short reason, e.g. an ``AuthFailure`` message or a ``LoginThrottle/FailureReport``.
    public var detail: String?

    /// Creates an event.
    /// - Parameters:
    ///   - kind: What.
    ///   - outcome: The result.
    ///   - subject: Who.
    ///   - role: The subject's role.
    ///   - source: The client's address.
    ///   - resource: What was asked for.
    ///   - detail: A short reason.
    ///   - time: When; default now.
    public init(
        _ kind: Kind,
        outcome: Outcome,
        subject: String? = nil,
        role: Role? = nil,
        source: String? = nil,
        resource: String? = nil,
        detail: String? = nil,
        time: Date = Date()
    ) {
        self.time = time
        self.kind = kind
        self.outcome = outcome
        self.subject = subject
        self.role = role
        self.source = source
        self.resource = resource
        self.detail = detail
    }
}
