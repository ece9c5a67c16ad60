import Foundation
import FraudCore
import Synchronization
import Testing

@Suite("Idempotency")
struct IdempotencyCacheTests {
    static func assessment(_ score: Float) -> Assessment {
        Assessment(riskScore: score, decision: .approve, reasons: [], modelVersion: "test")
    }

    @Test("A pending decision is committed again, never assessed again; an evicted one leaves no mark")
    func pendingDecisions() {
        let cache = IdempotencyCache(capacity: 2, shardCount: 1)
        var assessed = 0
        var commitAttempts: [Float] = []
        func resolve(_ id: String, score: Float, commits: Bool) -> ScoreOutcome? {
            cache.resolveIfCommitted(transactionID: id, fingerprint: 7) {
                assessed += 1
                commitAttempts.append(score)
                return (Self.assessment(score), commits)
            } commit: { assessment in
                commitAttempts.append(assessment.riskScore)
                return commits
            }
        }
        #expect(resolve("a", score: 0.5, commits: false) == nil)
        #expect(cache.isPending("a"))
        #expect(resolve("a", score: 0.9, commits: false) == nil)
        #expect(resolve("a", score: 0.9, commits: true) == .scored(Self.assessment(0.5)))
        #expect(assessed == 1)
        #expect(commitAttempts == [0.5, 0.5, 0.5])
        #expect(!cache.isPending("a"))
        #expect(resolve("a", score: 0.9, commits: true) == .replayed(Self.assessment(0.5)))
        // A pending id pushed out of the ring: its position is reused by a committed id, not pending.
        #expect(resolve("b", score: 0.1, commits: false) == nil)
        #expect(cache.isPending("b"))
        #expect(resolve("c", score: 0.2, commits: true) == .scored(Self.assessment(0.2)))
        #expect(resolve("d", score: 0.3, commits: true) == .scored(Self.assessment(0.3)))
        #expect(!cache.isPending("b") && !cache.isPending("c") && !cache.isPending("d"))
        #expect(resolve("d", score: 0.9, commits: true) == .replayed(Self.assessment(0.3)))
        // "b" was forgotten while pending: it comes back as new.
        #expect(resolve("b", score: 0.4, commits: true) == .scored(Self.assessment(0.4)))
    }

    @Test("A new id is assessed once and remembered; the same payload replays it")
    func replays() {
        let cache = IdempotencyCache(capacity: 10, shardCount: 2)
        var calls = 0
        let first = cache.resolve(transactionID: "a", fingerprint: 1) {
            calls += 1
            return Self.assessment(0.25)
        }
        #expect(first == .scored(Self.assessment(0.25)))
        let second = cache.resolve(transactionID: "a", fingerprint: 1) {
            calls += 1
            return Self.assessment(0.99)
        }
        #expect(second == .replayed(Self.assessment(0.25)))
        #expect(calls == 1)
        #expect(cache.count == 1)
        #expect(cache.record(for: "a") == IdempotencyCache.Record(fingerprint: 1, assessment: Self.assessment(0.25)))
    }

    @Test("The same id with another payload is a conflict and changes nothing")
    func conflicts() {
        let cache = IdempotencyCache(capacity: 10, shardCount: 2)
        _ = cache.resolve(transactionID: "a", fingerprint: 1) { Self.assessment(0.25) }
        var called = false
        let outcome = cache.resolve(transactionID: "a", fingerprint: 2) {
            called = true
            return Self.assessment(0.5)
        }
        #expect(
            outcome
                == .conflict(
                    ValidationError(
                        field: "transaction.transaction_id",
                        rule: "was already used for a different transaction"
                    )
                )
        )
        #expect(!called)
        #expect(cache.record(for: "a")?.fingerprint == 1)
    }

    @Test("Concurrent resolves of one id assess it exactly once")
    func concurrentResolve() {
        let cache = IdempotencyCache(capacity: 100, shardCount: 4)
        let calls = Atomic<Int>(0)
        let outcomes = Mutex<[ScoreOutcome]>([])
        onThreads(20) { _ in
            let outcome = cache.resolve(transactionID: "same", fingerprint: 9) {
                calls.add(1, ordering: .relaxed)
                Thread.sleep(forTimeInterval: 0.01)  // a slow assessment widens any race window
                return Self.assessment(0.3)
            }
            outcomes.withLock { $0.append(outcome) }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
        let all = outcomes.withLock { $0 }
        #expect(all.filter { $0 == .scored(Self.assessment(0.3)) }.count == 1)
        #expect(all.filter { $0 == .replayed(Self.assessment(0.3)) }.count == 19)
    }

    @Test("Capacity evicts the oldest id first")
    func fifo() {
        let cache = IdempotencyCache(capacity: 3, shardCount: 1)
        for id in ["a", "b", "c", "d", "e"] {
            _ = cache.resolve(transactionID: id, fingerprint: 7) { Self.assessment(0.1) }
        }
        #expect(cache.count == 3)
        #expect(cache.record(for: "a") == nil)
        #expect(cache.record(for: "b") == nil)
        #expect(cache.record(for: "c") != nil)
        #expect(cache.record(for: "e") != nil)
        // A forgotten id is scored afresh, and pushes out the next oldest.
        #expect(
            cache.resolve(transactionID: "a", fingerprint: 7) { Self.assessment(0.2) } == .scored(Self.assessment(0.2))
        )
        #expect(cache.record(for: "c") == nil)
        #expect(cache.count == 3)
    }

    @Test(
        "Capacity is split evenly over shards, at least one each",
        arguments: [(10, 4, 8), (2_000_000, 64, 2_000_000), (3, 8, 8)]
    )
    func capacitySplit(_ requested: Int, _ shards: Int, _ effective: Int) {
        let cache = IdempotencyCache(capacity: requested, shardCount: shards)
        #expect(cache.capacity == effective)
        let inserts = min(effective, 1_000) * 4
        for index in 0..<inserts {
            _ = cache.resolve(transactionID: "id-\(index)", fingerprint: 0) { Self.assessment(0) }
            #expect(cache.count <= effective)
        }
    }

    @Test("The fingerprint covers every transaction field")
    func fingerprint() {
        let base = Fixtures.transaction()
        var variants: [Transaction] = []
        func vary(_ change: (inout Transaction) -> Void) {
            var copy = base
            change(&copy)
            variants.append(copy)
        }
        vary { $0.transactionID += "x" }
        vary { $0.step += 1 }
        vary { $0.type = .debit }
        vary { $0.amountCents += 1 }
        vary { $0.originAccount += "x" }
        vary { $0.originBalanceBeforeCents += 1 }
        vary { $0.originBalanceAfterCents += 1 }
        vary { $0.destinationAccount += "x" }
        vary { $0.destinationBalanceBeforeCents += 1 }
        vary { $0.destinationBalanceAfterCents += 1 }
        // Moving a character from one account name to the other must not collide either.
        vary {
            $0.originAccount = "C12"
            $0.destinationAccount = "3M"
        }
        vary {
            $0.originAccount = "C123"
            $0.destinationAccount = "M"
        }
        let fingerprints = Set(variants.map(\.fingerprint) + [base.fingerprint])
        #expect(fingerprints.count == variants.count + 1)
        #expect(base.fingerprint == Fixtures.transaction().fingerprint)
    }
}
