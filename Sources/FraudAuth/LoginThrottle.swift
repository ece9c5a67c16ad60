public import Foundation
import Synchronization

/// Slows down password guessing: failures are counted per user name and per source address; after
/// ``Policy-swift.struct/freeFailures`` failures each further one locks that name (or address) out for an
/// exponentially growing time (1 s, 2 s, 4 s, … up to ``Policy-swift.struct/maximumDelay``). Counters are
/// forgotten ``Policy-swift.struct/forgetAfter`` seconds after the last failure.
///
/// Use: ``check(user:address:now:)`` before running the (slow) password check — when throttled, answer
/// 429 with `Retry-After` and audit `login_throttled`; after the check, ``recordFailure(user:address:now:)``
/// (its ``FailureReport`` goes into the `login_failed` audit line) or ``recordSuccess(user:address:now:)``.
///
/// A success resets only the user's counter: an attacker with one valid account must not be able to reset
/// their address's counter between guesses at others. Unknown user names are counted like real ones.
///
/// Memory is bounded: each table keeps at most ``Policy-swift.struct/maximumEntries``; when full, forgotten
/// entries are dropped first, then the tenth with the oldest failures. Thread-safe (one `Mutex`).
public final class LoginThrottle: Sendable {
    /// Thresholds and limits.
    public struct Policy: Sendable {
        /// Failures allowed before any delay.
        public var freeFailures: Int
        /// The first lockout, in seconds; doubles with each further failure.
        public var baseDelay: TimeInterval
        /// The longest lockout, in seconds.
        public var maximumDelay: TimeInterval
        /// Seconds after the last failure when a counter is forgotten.
        public var forgetAfter: TimeInterval
        /// Most tracked names, and most tracked addresses.
        public var maximumEntries: Int

        /// Creates a policy.
        /// - Parameters:
        ///   - freeFailures: Default 5.
        ///   - baseDelay: Default 1 s.
        ///   - maximumDelay: Default 900 s.
        ///   - forgetAfter: Default 900 s.
        ///   - maximumEntries: Default 100,000 per table.
        public init(
            freeFailures: Int = 5,
            baseDelay: TimeInterval = 1,
            maximumDelay: TimeInterval = 900,
            forgetAfter: TimeInterval = 900,
            maximumEntries: Int = 100_000
        ) {
            self.freeFailures = freeFailures
            self.baseDelay = baseDelay
            self.maximumDelay = maximumDelay
            self.forgetAfter = forgetAfter
            self.maximumEntries = maximumEntries
        }
    }

    /// The answer of ``check(user:address:now:)``.
    public enum Decision: Sendable, Hashable {
        /// Go ahead and check the password.
        case allowed
        /// Refuse without checking; retry after this many whole seconds (≥ 1).
        case throttled(retryAfter: Int, reason: String)
    }

    /// What a failure did, for the audit log.
    public struct FailureReport: Sendable, Hashable, CustomStringConvertible {
        /// Recent failures for the name (this one included).
        public var userFailures: Int
        /// Recent failures from the address (this one included).
        public var addressFailures: Int
        /// The lockout this failure started (whole seconds), if any.
        public var lockout: Int?

        /// Creates a report.
        /// - Parameters:
        ///   - userFailures: Recent failures for the name.
        ///   - addressFailures: Recent failures from the address.
        ///   - lockout: The lockout started, in whole seconds.
        public init(userFailures: Int, addressFailures: Int, lockout: Int? = nil) {
            self.userFailures = userFailures
            self.addressFailures = addressFailures
            self.lockout = lockout
        }

        /// E.g. `user failures 6, address failures 9, locked 2 s`.
        public var description: String {
            "user failures \(userFailures), address failures \(addressFailures)"
                + (lockout.map { ", locked \($0) s" } ?? "")
        }
    }

    private struct Entry {
        var failures: Int
        var lastFailure: Date
        var lockedUntil: Date
    }

    private struct Tables {
        var users: [String: Entry] = [:]
        var addresses: [String: Entry] = [:]
    }

    /// The thresholds.
    public let policy: Policy
    private let tables = Mutex(Tables())

    /// Creates a throttle.
    /// - Parameter policy: Thresholds and limits.
    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Whether a login attempt may proceed.
    /// - Parameters:
    ///   - user: The name tried.
    ///   - address: The client's IP address (without the port, so that new connections do not help).
    ///   - now: The current time.
    /// - Returns: `.allowed`, or how long to wait.
    public func check(user: String, address: String, now: Date = Date()) -> Decision {
        let (userLock, addressLock) = tables.withLock { tables in
            (tables.users[user]?.lockedUntil, tables.addresses[address]?.lockedUntil)
        }
        let userWait = userLock.map { $0.timeIntervalSince(now) } ?? 0
        let addressWait = addressLock.map { $0.timeIntervalSince(now) } ?? 0
        guard max(userWait, addressWait) > 0 else { return .allowed }
        let reason =
            userWait >= addressWait
            ? "too many failed logins for this user" : "too many failed logins from this address"
        return .throttled(retryAfter: max(1, Int(max(userWait, addressWait).rounded(.up))), reason: reason)
    }

    /// Counts a failed login.
    /// - Parameters:
    ///   - user: The name tried.
    ///   - address: The client's IP address.
    ///   - now: The current time.
    /// - Returns: Counts and any lockout started, for the audit log.
    @discardableResult
    public func recordFailure(user: String, address: String, now: Date = Date()) -> FailureReport {
        let policy = self.policy
        return tables.withLock { tables in
            let userEntry = Self.fail(&tables.users, key: user, now: now, policy: policy)
            let addressEntry = Self.fail(&tables.addresses, key: address, now: now, policy: policy)
            let lockout = max(userEntry.lockedUntil, addressEntry.lockedUntil).timeIntervalSince(now)
            return FailureReport(
                userFailures: userEntry.failures,
                addressFailures: addressEntry.failures,
                lockout: lockout > 0 ? Int(lockout.rounded(.up)) : nil
            )
        }
    }

    /// Clears the user's counter after a successful login (the address keeps its count).
    /// - Parameters:
    ///   - user: The name that logged in.
    ///   - address: The client's IP address.
    ///   - now: The current time.
    public func recordSuccess(user: String, address: String, now: Date = Date()) {
        tables.withLock { tables in
            tables.users[user] = nil
        }
    }

    /// Number of tracked names and addresses (for metrics and tests).
    public var trackedCount: (users: Int, addresses: Int) {
        tables.withLock { ($0.users.count, $0.addresses.count) }
    }

    private static func fail(_ table: inout [String: Entry], key: String, now: Date, policy: Policy) -> Entry {
        var entry = table[key] ?? Entry(failures: 0, lastFailure: now, lockedUntil: .distantPast)
        if now.timeIntervalSince(entry.lastFailure) > policy.forgetAfter {
            entry = Entry(failures: 0, lastFailure: now, lockedUntil: .distantPast)
        }
        entry.failures += 1
        entry.lastFailure = now
        let excess = entry.failures - policy.freeFailures
        if excess > 0 {
            let delay = min(policy.baseDelay * pow(2, Double(min(excess - 1, 40))), policy.maximumDelay)
            entry.lockedUntil = now.addingTimeInterval(delay)
        }
        if table[key] == nil, table.count >= policy.maximumEntries {
            makeRoom(&table, now: now, policy: policy)
        }
        table[key] = entry
        return entry
    }

    private static func makeRoom(_ table: inout [String: Entry], now: Date, policy: Policy) {
        table = table.filter { now.timeIntervalSince($0.value.lastFailure) <= policy.forgetAfter }
        guard table.count >= policy.maximumEntries else { return }
        let oldest = table.sorted { $0.value.lastFailure < $1.value.lastFailure }.prefix(max(1, table.count / 10))
        for (key, _) in oldest { table[key] = nil }
    }
}
