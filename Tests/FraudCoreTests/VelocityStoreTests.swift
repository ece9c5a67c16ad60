import Synchronization
import Testing

@testable import FraudCore

@Suite("Velocity")
struct VelocityStoreTests {
    /// One shard makes idle and capacity eviction observable account by account.
    static func singleShard(idle: UInt32 = 48, maxAccounts: Int = 1_000) -> VelocityStore {
        VelocityStore(shardCount: 1, idleEvictionSteps: idle, maxAccounts: maxAccounts)
    }

    @Test("An account slot (code and velocity) is one cache line, and the slots start on one")
    func slotIsOneCacheLine() {
        #expect(MemoryLayout<AccountTable.Slot>.stride == 64)
        #expect(MemoryLayout<StepBucket>.size == 12 && MemoryLayout<AccountVelocity>.size == 52)
        let table = VelocityStoreTests.singleShard()
        for index in 0..<100 {
            _ = table.observe(account: "C\(1_000_000 + index)", counterparty: "M1", amountCents: 1, step: 1)
        }
        let base = table.shards[0].table.withLock { table in
            table.slotsBaseAddress
        }
        #expect(base != 0 && base % 64 == 0)
    }

    @Test("Two steps stay inline; a third spills, and the window still sums all three")
    func secondBucketInline() {
        let table = VelocityStoreTests.singleShard()
        _ = table.observe(account: "C1", counterparty: "M1", amountCents: 100, step: 10)
        _ = table.observe(account: "C1", counterparty: "M1", amountCents: 200, step: 11)
        var (velocity, spill) = table.shards[0].table.withLock { ($0.velocities[0], $0.spill) }
        #expect(velocity.secondBucket.step == 11 && velocity.secondBucket.count == 1)
        #expect(spill.buckets.count(velocity.extraBuckets) == 0)
        _ = table.observe(account: "C1", counterparty: "M1", amountCents: 400, step: 12)
        (velocity, spill) = table.shards[0].table.withLock { ($0.velocities[0], $0.spill) }
        #expect(spill.buckets.count(velocity.extraBuckets) == 1)
        let snapshot = table.snapshot(account: "C1", step: 12)
        #expect(snapshot.countLast24Steps == 3 && snapshot.amountLast24StepsCents == 700)
        // Far later, the stale inline buckets are reused before the list grows.
        _ = table.observe(account: "C1", counterparty: "M1", amountCents: 1, step: 40)
        _ = table.observe(account: "C1", counterparty: "M1", amountCents: 2, step: 41)
        (velocity, spill) = table.shards[0].table.withLock { ($0.velocities[0], $0.spill) }
        #expect(velocity.bucket.step == 40 && velocity.secondBucket.step == 41)
        #expect(table.snapshot(account: "C1", step: 41).amountLast24StepsCents == 3)
    }

    @Test("Two counterparties stay inline; the order of marks decides which stale one is reused")
    func secondCounterpartyInline() {
        let table = VelocityStoreTests.singleShard()
        _ = table.observe(account: "C1", counterparty: "A", amountCents: 1, step: 10)
        var velocity = table.shards[0].table.withLock { $0.velocities[0] }
        #expect(!velocity.hasSecondCounterparty)
        _ = table.observe(account: "C1", counterparty: "B", amountCents: 1, step: 10)
        _ = table.observe(account: "C1", counterparty: "A", amountCents: 1, step: 11)
        velocity = table.shards[0].table.withLock { $0.velocities[0] }
        #expect(velocity.hasSecondCounterparty && velocity.extraCounterparties == 0)
        #expect(table.snapshot(account: "C1", step: 11).distinctCounterpartiesLast24Steps == 2)
        _ = table.observe(account: "C1", counterparty: "C", amountCents: 1, step: 12)
        velocity = table.shards[0].table.withLock { $0.velocities[0] }
        #expect(velocity.extraCounterparties != 0)
        #expect(table.snapshot(account: "C1", step: 12).distinctCounterpartiesLast24Steps == 3)
        // Step 35, window [12, 35]: the inline A (11) is stale and is reused for D; B (10) stays, stale.
        _ = table.observe(account: "C1", counterparty: "D", amountCents: 1, step: 35)
        #expect(table.snapshot(account: "C1", step: 35).distinctCounterpartiesLast24Steps == 2)  // D, C
        #expect(table.snapshot(account: "C1", step: 36).distinctCounterpartiesLast24Steps == 1)  // D
        // B is still held (second inline mark): seeing it again refreshes it instead of taking a new mark.
        _ = table.observe(account: "C1", counterparty: "B", amountCents: 1, step: 36)
        velocity = table.shards[0].table.withLock { $0.velocities[0] }
        #expect(velocity.secondCounterparty.step == 36)
        #expect(table.snapshot(account: "C1", step: 36).distinctCounterpartiesLast24Steps == 2)  // D, B
    }

    @Test("A new account is unseen, then counted from its second transaction")
    func firstAndSecond() {
        let store = VelocityStore()
        let first = store.observe(account: "C1", counterparty: "C2", amountCents: 1_000, step: 5)
        #expect(first == .unseen)
        #expect(first.isUnseen)
        let second = store.observe(account: "C1", counterparty: "C2", amountCents: 2_000, step: 5)
        #expect(
            second
                == VelocitySnapshot(
                    countLastStep: 1,
                    amountLastStepCents: 1_000,
                    countLast24Steps: 1,
                    amountLast24StepsCents: 1_000,
                    distinctCounterpartiesLast24Steps: 1,
                    stepsSinceLastSeen: 0
                )
        )
        #expect(store.snapshot(account: "C1", step: 5).countLastStep == 2)
        #expect(store.snapshot(account: "C1", step: 5).amountLastStepCents == 3_000)
    }

    @Test("The 1-step window is the event's own step, the 24-step window ends at it inclusively")
    func windows() {
        let store = VelocityStore()
        for step: UInt32 in [10, 20, 33, 33] {
            _ = store.observe(account: "C1", counterparty: "M\(step)", amountCents: Int64(step), step: step)
        }
        // At step 33 the window is 10...33: all four events.
        let at33 = store.snapshot(account: "C1", step: 33)
        #expect(at33.countLastStep == 2)
        #expect(at33.amountLastStepCents == 66)
        #expect(at33.countLast24Steps == 4)
        #expect(at33.amountLast24StepsCents == 10 + 20 + 66)
        #expect(at33.distinctCounterpartiesLast24Steps == 3)
        // At step 34 the window is 11...34: step 10 has left, nothing happened in step 34 itself.
        let at34 = store.observe(account: "C1", counterparty: "M1", amountCents: 1, step: 34)
        #expect(at34.countLastStep == 0)
        #expect(at34.countLast24Steps == 3)
        #expect(at34.amountLast24StepsCents == 86)
        #expect(at34.distinctCounterpartiesLast24Steps == 2)
        #expect(at34.stepsSinceLastSeen == 1)
    }

    @Test("Steps since last seen counts event steps")
    func stepsSinceLastSeen() {
        let store = VelocityStore()
        _ = store.observe(account: "C1", counterparty: "C2", amountCents: 1, step: 100)
        #expect(store.observe(account: "C1", counterparty: "C2", amountCents: 1, step: 117).stepsSinceLastSeen == 17)
    }

    @Test("Out-of-order events inside the window are bucketed by their own step")
    func outOfOrder() {
        let store = VelocityStore()
        _ = store.observe(account: "C1", counterparty: "C2", amountCents: 100, step: 30)
        // A late event at step 25: the step-30 event is in its future, so not counted.
        let late = store.observe(account: "C1", counterparty: "C3", amountCents: 50, step: 25)
        #expect(late.countLast24Steps == 0)
        #expect(late.stepsSinceLastSeen == 0)
        let at30 = store.snapshot(account: "C1", step: 30)
        #expect(at30.countLastStep == 1)
        #expect(at30.countLast24Steps == 2)
        #expect(at30.amountLast24StepsCents == 150)
        #expect(at30.distinctCounterpartiesLast24Steps == 2)
        #expect(store.snapshot(account: "C1", step: 25).countLastStep == 1)
    }

    @Test("Events older than the window still get an answer but are not counted")
    func tooOld() {
        let store = VelocityStore()
        _ = store.observe(account: "C1", counterparty: "C2", amountCents: 100, step: 100)
        let old = store.observe(account: "C1", counterparty: "C3", amountCents: 50, step: 70)
        #expect(old.countLast24Steps == 0)
        #expect(old.stepsSinceLastSeen == 0)
        let now = store.snapshot(account: "C1", step: 100)
        #expect(now.countLast24Steps == 1)
        #expect(now.amountLast24StepsCents == 100)
        #expect(now.distinctCounterpartiesLast24Steps == 1)
    }

    @Test("Distinct counterparties: repeats count once, the set saturates, old ones expire")
    func distinctCounterparties() {
        let store = VelocityStore()
        for index in 0..<5 {
            _ = store.observe(account: "MULE", counterparty: "C\(index)", amountCents: 1, step: 10)
            _ = store.observe(account: "MULE", counterparty: "C\(index)", amountCents: 1, step: 11)
        }
        #expect(store.snapshot(account: "MULE", step: 11).distinctCounterpartiesLast24Steps == 5)
        for index in 5..<40 {
            _ = store.observe(account: "MULE", counterparty: "C\(index)", amountCents: 1, step: 12)
        }
        let saturated = store.snapshot(account: "MULE", step: 12)
        #expect(saturated.distinctCounterpartiesLast24Steps == UInt32(VelocityStore.maxTrackedCounterparties))
        #expect(saturated.countLast24Steps == 45)
        // Step 40: window 17...40, every counterparty has left it.
        #expect(store.snapshot(account: "MULE", step: 40).distinctCounterpartiesLast24Steps == 0)
        _ = store.observe(account: "MULE", counterparty: "NEW", amountCents: 1, step: 40)
        #expect(store.snapshot(account: "MULE", step: 40).distinctCounterpartiesLast24Steps == 1)
    }

    @Test("Buckets stay bounded by the window for a busy account")
    func bucketsBounded() {
        let table = VelocityStoreTests.singleShard()
        for step: UInt32 in 0..<500 {
            _ = table.observe(account: "BUSY", counterparty: "C\(step % 50)", amountCents: 1, step: step)
        }
        let (velocity, spill) = table.shards[0].table.withLock { ($0.velocities[0], $0.spill) }
        #expect(velocity.secondBucket.count != 0 && velocity.hasSecondCounterparty)
        #expect(2 + spill.buckets.count(velocity.extraBuckets) <= Int(VelocityStore.windowSteps))
        #expect(
            2 + spill.counterparties.count(velocity.extraCounterparties) <= VelocityStore.maxTrackedCounterparties
        )
        #expect(table.snapshot(account: "BUSY", step: 499).countLast24Steps == 24)
    }

    @Test("An account idle for more than idleEvictionSteps is forgotten, at exactly that many it is kept")
    func idleEviction() {
        let store = VelocityStoreTests.singleShard(idle: 48)
        _ = store.observe(account: "OLD", counterparty: "X", amountCents: 1, step: 1)
        _ = store.observe(account: "NOW", counterparty: "X", amountCents: 1, step: 49)
        #expect(store.snapshot(account: "OLD", step: 49).stepsSinceLastSeen == 48)
        _ = store.observe(account: "NOW", counterparty: "X", amountCents: 1, step: 50)
        #expect(store.snapshot(account: "OLD", step: 50) == .unseen)
        // The sweep removes it within a few events; it then comes back as new.
        for step: UInt32 in 50..<60 {
            _ = store.observe(account: "NOW", counterparty: "X", amountCents: 1, step: step)
        }
        #expect(store.accountCount == 1)
        #expect(store.observe(account: "OLD", counterparty: "X", amountCents: 1, step: 60) == .unseen)
        #expect(store.accountCount == 2)
    }

    @Test("An account back after a longer idle gap than the horizon starts afresh")
    func idleComesBackAsNew() {
        let store = VelocityStoreTests.singleShard(idle: 5)
        _ = store.observe(account: "A", counterparty: "X", amountCents: 1, step: 1)
        let later = store.observe(account: "A", counterparty: "X", amountCents: 1, step: 10)
        #expect(later == .unseen)
        #expect(store.snapshot(account: "A", step: 10).countLastStep == 1)
    }

    @Test("Memory is bounded by maxAccounts; a full shard evicts its least recently seen eighth")
    func capacity() {
        let store = VelocityStoreTests.singleShard(idle: 10_000, maxAccounts: 100)
        // Seen in a shuffled order of steps, so slot order and age differ.
        let steps = (0..<100).map { ($0 * 37) % 100 }
        for step in steps {
            _ = store.observe(account: "A\(step)", counterparty: "X", amountCents: 1, step: UInt32(step))
        }
        #expect(store.accountCount == 100)
        _ = store.observe(account: "NEW", counterparty: "X", amountCents: 1, step: 100)
        #expect(store.accountCount == 101 - 12)
        for step in 0..<12 {
            #expect(store.snapshot(account: "A\(step)", step: 100) == .unseen, "A\(step) should be evicted")
        }
        for step in 12..<100 {
            #expect(store.snapshot(account: "A\(step)", step: 100).stepsSinceLastSeen == UInt32(100 - step))
        }
        #expect(store.snapshot(account: "NEW", step: 100).countLastStep == 1)
        for index in 0..<1_000 {
            _ = store.observe(account: "B\(index)", counterparty: "X", amountCents: 1, step: 101)
            #expect(store.accountCount <= 100)
        }
        #expect(store.snapshot(account: "B999", step: 101).countLastStep == 1)
        #expect(store.maxAccounts == 100)
    }

    @Test("A full shard of same-step accounts still evicts only its quota, sparing the newcomer")
    func capacityTies() {
        let store = VelocityStoreTests.singleShard(idle: 10_000, maxAccounts: 16)
        for index in 0..<16 {
            _ = store.observe(account: "A\(index)", counterparty: "X", amountCents: 1, step: 5)
        }
        _ = store.observe(account: "NEW", counterparty: "X", amountCents: 1, step: 5)
        #expect(store.accountCount == 17 - 2)
        #expect(store.snapshot(account: "NEW", step: 5).countLastStep == 1)
    }

    @Test("accountCount sums the shards")
    func accountCount() {
        let store = VelocityStore(shardCount: 8)
        for index in 0..<1_000 {
            _ = store.observe(account: "C\(index)", counterparty: "M\(index)", amountCents: 1, step: 1)
        }
        #expect(store.accountCount == 1_000)
        let perShard = store.shards.map { $0.table.withLock { $0.count } }
        #expect(perShard.allSatisfy { $0 > 0 })
    }

    @Test("The same sequence gives the same snapshots (replay equals live)")
    func deterministic() {
        func run() -> [VelocitySnapshot] {
            let store = VelocityStore(shardCount: 4, idleEvictionSteps: 10, maxAccounts: 64)
            var state: UInt64 = 7
            return (0..<5_000).map { index in
                state = state &* 6_364_136_223_846_793_005 &+ 1
                let account = "C\((state >> 40) % 200)"
                let step = UInt32(index / 20) + UInt32((state >> 20) % 3)  // some reordering
                return store.observe(
                    account: account,
                    counterparty: "C\((state >> 30) % 50)",
                    amountCents: 7,
                    step: step
                )
            }
        }
        let first = run()
        #expect(first == run())
        #expect(first.contains { $0.countLast24Steps > 1 })
    }

    @Test("Concurrent observes of one account are all counted")
    func concurrentObserves() {
        let store = VelocityStore()
        onThreads(8) { thread in
            for index in 0..<1_000 {
                _ = store.observe(account: "HOT", counterparty: "C\(thread)-\(index)", amountCents: 2, step: 3)
            }
        }
        let snapshot = store.snapshot(account: "HOT", step: 3)
        #expect(snapshot.countLastStep == 8_000)
        #expect(snapshot.amountLastStepCents == 16_000)
        #expect(store.accountCount == 1)
    }

    @Test("Totals saturate instead of overflowing")
    func saturates() {
        let store = VelocityStore()
        for step: UInt32 in 1...24 {
            for _ in 0..<20 {
                _ = store.observe(account: "BIG", counterparty: "X", amountCents: 1_000_000_000_000_000, step: step)
            }
        }
        // Each step's total stops at the bucket's bound; the window adds 24 of them without overflow.
        let snapshot = store.snapshot(account: "BIG", step: 24)
        #expect(snapshot.amountLastStepCents == StepBucket.maxSumCents)
        #expect(snapshot.amountLast24StepsCents == 24 * StepBucket.maxSumCents)
        #expect(snapshot.countLastStep == 20 && snapshot.countLast24Steps == 480)
    }
}
