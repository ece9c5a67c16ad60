import Foundation
import FraudAuth
import Testing

@Suite("LoginThrottle")
struct LoginThrottleTests {
    let now = Date(timeIntervalSince1970: 1_764_000_000)

    @Test("five free failures, then 1 s, 2 s, 4 s … lockouts for the user")
    func exponential() {
        let throttle = LoginThrottle()
        for attempt in 1...5 {
            #expect(throttle.check(user: "alice", address: "10.0.0.\(attempt)", now: now) == .allowed)
            #expect(throttle.recordFailure(user: "alice", address: "10.0.0.\(attempt)", now: now).lockout == nil)
        }
        let sixth = throttle.recordFailure(user: "alice", address: "10.0.0.6", now: now)
        #expect(sixth == LoginThrottle.FailureReport(userFailures: 6, addressFailures: 1, lockout: 1))
        #expect(
            throttle.check(user: "alice", address: "10.0.0.9", now: now)
                == .throttled(retryAfter: 1, reason: "too many failed logins for this user")
        )
        #expect(throttle.check(user: "bob", address: "10.0.0.9", now: now) == .allowed)
        #expect(throttle.check(user: "alice", address: "10.0.0.9", now: now + 1.5) == .allowed)
        #expect(throttle.recordFailure(user: "alice", address: "x", now: now + 2).lockout == 2)
        #expect(throttle.recordFailure(user: "alice", address: "x", now: now + 5).lockout == 4)
        #expect(throttle.recordFailure(user: "alice", address: "x", now: now + 10).lockout == 8)
    }

    @Test("an address guessing many names is throttled too")
    func perAddress() {
        let throttle = LoginThrottle()
        for index in 0..<6 { throttle.recordFailure(user: "user\(index)", address: "192.0.2.7", now: now) }
        guard case .throttled(let retryAfter, let reason) = throttle.check(user: "new", address: "192.0.2.7", now: now)
        else {
            Issue.record("address not throttled")
            return
        }
        #expect(retryAfter == 1)
        #expect(reason == "too many failed logins from this address")
        #expect(throttle.check(user: "new", address: "192.0.2.8", now: now) == .allowed)
    }

    @Test("the lockout is capped and counters are forgotten after the window")
    func capAndForget() {
        let throttle = LoginThrottle(policy: LoginThrottle.Policy(maximumDelay: 60, forgetAfter: 900))
        var report = LoginThrottle.FailureReport(userFailures: 0, addressFailures: 0)
        for _ in 0..<30 { report = throttle.recordFailure(user: "a", address: "x", now: now) }
        #expect(report.lockout == 60)
        #expect(throttle.recordFailure(user: "a", address: "x", now: now + 901).userFailures == 1)
    }

    @Test("success clears the user's counter but not the address's")
    func success() {
        let throttle = LoginThrottle()
        for _ in 0..<6 { throttle.recordFailure(user: "a", address: "x", now: now) }
        throttle.recordSuccess(user: "a", address: "x", now: now)
        let report = throttle.recordFailure(user: "a", address: "x", now: now)
        #expect(report.userFailures == 1)
        #expect(report.addressFailures == 7)
    }

    @Test("memory stays bounded under a spray of names and addresses")
    func bounded() {
        let throttle = LoginThrottle(policy: LoginThrottle.Policy(maximumEntries: 100))
        for index in 0..<1000 { throttle.recordFailure(user: "u\(index)", address: "a\(index)", now: now) }
        #expect(throttle.trackedCount.users <= 100)
        #expect(throttle.trackedCount.addresses <= 100)
    }
}
