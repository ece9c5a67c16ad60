import Dispatch
import Foundation
import FraudAdmin
import FraudAuth
import FraudTransport
import FraudWire
import Synchronization

/// The server's authentication and authorization: FraudAuth's token authority, users, login throttle and
/// audit trail behind the transport's ``RPCAuthorizer`` (Score/ScoreStream need `scorer` or `admin`) and the
/// admin port's ``AdminAccessControl`` (analytics and dashboard data need `analyst` or `admin`, `/metrics`
/// needs `admin`). Health, the OpenAPI document, docs and the login endpoint stay open.
final class ServerAccessControl: RPCAuthorizer, AdminAccessControl, Sendable {
    let authority: TokenAuthority
    let users: UserDirectory?
    let throttle: LoginThrottle
    let audit: AuditLog
    let tokenLifetime: TimeInterval
    private let reloads = Atomic<UInt64>(0)

    init(authority: TokenAuthority, users: UserDirectory?, audit: AuditLog, tokenLifetime: TimeInterval) {
        self.authority = authority
        self.users = users
        self.throttle = LoginThrottle()
        self.audit = audit
        self.tokenLifetime = tokenLifetime
    }

    // MARK: RPC

    var generation: UInt64 { reloads.load(ordering: .acquiring) }

    func authorizeScoring(authorization: String?, peer: String) -> RPCGrant {
        let resource = "/fraud.v1.FraudScoring/Score*"
        switch authority.verify(authorization: authorization.map { Substring($0) }) {
        case .success(let principal):
            guard principal.role.permits(.scorer) else {
                audit.record(
                    AuditEvent(
                        .accessDenied, outcome: .denied, subject: principal.subject, role: principal.role, source: peer,
                        resource: resource, detail: "role \(principal.role.rawValue) may not score"
                    )
                )
                return .denied(
                    Status(
                        code: .permissionDenied,
                        message: "role '\(principal.role.rawValue)' may not call Score or ScoreStream (needs scorer or admin)"
                    )
                )
            }
            return .granted(untilUnixSeconds: Int64(principal.expiresAt.timeIntervalSince1970))
        case .failure(let failure):
            audit.record(AuditEvent(.unauthenticated, outcome: .failure, source: peer, resource: resource, detail: failure.message))
            return .denied(Status(code: .unauthenticated, message: failure.message))
        }
    }

    // MARK: Admin port

    func check(token: String?, requires level: AdminAccessLevel, peer: String, resource: String) -> AdminAccessCheck {
        let required: Role
        switch level {
        case .open: return .allowed(subject: "")
        case .analyst: required = .analyst
        case .admin: required = .admin
        }
        guard let token else {
            audit.record(AuditEvent(.unauthenticated, outcome: .failure, source: peer, resource: resource, detail: "missing bearer token"))
            return .unauthenticated("missing bearer token: send Authorization: Bearer <token> (POST /api/v1/auth/login issues one)")
        }
        switch authority.verify(token) {
        case .success(let principal):
            guard principal.role.permits(required) else {
                audit.record(
                    AuditEvent(
                        .accessDenied, outcome: .denied, subject: principal.subject, role: principal.role, source: peer,
                        resource: resource, detail: "needs \(required.rawValue)"
                    )
                )
                return .forbidden("role '\(principal.role.rawValue)' may not read \(resource) (needs \(required.rawValue) or admin)")
            }
            return .allowed(subject: principal.subject)
        case .failure(let failure):
            audit.record(AuditEvent(.unauthenticated, outcome: .failure, source: peer, resource: resource, detail: failure.message))
            return .unauthenticated(failure.message)
        }
    }

    func login(username: String, password: String, peer: String) async -> AdminLoginOutcome {
        let address = Self.host(of: peer)
        let resource = "POST /api/v1/auth/login"
        guard let users else {
            return .rejected("no users file on this server (--users); tokens are issued with fraud-ctl auth token")
        }
        if case .throttled(let retryAfter, let reason) = throttle.check(user: username, address: address) {
            audit.record(
                AuditEvent(.loginThrottled, outcome: .denied, subject: username, source: peer, resource: resource, detail: reason)
            )
            return .throttled(retryAfterSeconds: retryAfter)
        }
        // scrypt takes ~0.1 s and 32 MiB: never on an event loop.
        let result = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: users.authenticate(name: username, password: password)) }
        }
        switch result {
        case .success(let user):
            throttle.recordSuccess(user: username, address: address)
            do {
                let token = try authority.issue(subject: user.name, role: user.role, lifetime: tokenLifetime)
                audit.record(AuditEvent(.login, outcome: .success, subject: user.name, role: user.role, source: peer, resource: resource))
                return .issued(token: token, role: user.role.rawValue, expiresInSeconds: Int(tokenLifetime))
            } catch {
                audit.record(
                    AuditEvent(.login, outcome: .failure, subject: user.name, role: user.role, source: peer, resource: resource, detail: error.message)
                )
                return .rejected(error.message)
            }
        case .failure(let failure):
            let report = throttle.recordFailure(user: username, address: address)
            audit.record(
                AuditEvent(.loginFailed, outcome: .failure, subject: username, source: peer, resource: resource, detail: report.description)
            )
            return .rejected(failure.message)
        }
    }

    // MARK: Reload (SIGHUP)

    /// Re-reads the key directory and the users file. On failure the old ones stay active.
    /// - Returns: A line for the server log.
    func reload() -> String {
        do {
            let summary = try authority.reload()
            let userCount = try users?.reload()
            reloads.wrappingAdd(1, ordering: .releasing)
            let detail = "\(summary)" + (userCount.map { "; \($0) users" } ?? "")
            audit.record(AuditEvent(.keysReloaded, outcome: .success, detail: detail))
            audit.flush()
            return "reloaded keys: \(detail)"
        } catch {
            audit.record(AuditEvent(.keysReloadFailed, outcome: .failure, detail: error.message))
            audit.flush()
            return "reload failed, old keys stay active: \(error.message)"
        }
    }

    /// `1.2.3.4` of `1.2.3.4:5678` (the throttle counts addresses, not connections).
    static func host(of peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }
}
