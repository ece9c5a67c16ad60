import Testing

@testable import FraudCore

@Suite("AccountTable")
struct AccountTableTests {
    @Test("Names without a compact code are interned, released on eviction and their numbers reused")
    func internedNames() {
        let store = VelocityStore(shardCount: 1, idleEvictionSteps: 5, maxAccounts: 1_000)
        _ = store.observe(account: "alice", counterparty: "bob", amountCents: 100, step: 1)
        _ = store.observe(account: "alice", counterparty: "bob", amountCents: 100, step: 1)
        _ = store.observe(account: "C42", counterparty: "alice", amountCents: 7, step: 1)
        #expect(store.snapshot(account: "alice", step: 1).countLastStep == 2)
        #expect(store.snapshot(account: "C42", step: 1).countLastStep == 1)
        #expect(store.snapshot(account: "bob", step: 1) == .unseen)
        // Far later: the sweep removes alice and C42, freeing alice's number ...
        for step: UInt32 in 20..<30 {
            _ = store.observe(account: "C1", counterparty: "C2", amountCents: 1, step: step)
        }
        #expect(store.accountCount == 1)
        // ... which the next new name gets; alice is not aliased to it.
        #expect(store.observe(account: "carol", counterparty: "C1", amountCents: 5, step: 30) == .unseen)
        #expect(store.snapshot(account: "alice", step: 30) == .unseen)
        #expect(store.snapshot(account: "carol", step: 30).countLastStep == 1)
        #expect(store.observe(account: "alice", counterparty: "C1", amountCents: 5, step: 30) == .unseen)
        #expect(store.snapshot(account: "alice", step: 30).amountLastStepCents == 5)
        #expect(store.snapshot(account: "carol", step: 30).amountLastStepCents == 5)
        #expect(store.accountCount == 3)
    }

    /// `count` PaySim-style names whose codes share their home slot in every table of up to 256 slots
    /// (the low 8 bits of ``AccountTable/indexHash(_:)``): long probe runs for lookups, growth and removal.
    static func collidingNames(_ count: Int) -> [String] {
        var names: [String] = []
        var number = 1_000_000_000
        while names.count < count {
            let name = "C\(number)"
            if AccountTable.indexHash(AccountCode.pack(name)) & 0xFF == 0x5A {
                names.append(name)
            }
            number += 1
        }
        return names
    }

    @Test("Colliding, random and interned names under growth and idle removal agree with a reference")
    func probeRunsAgreeWithReference() {
        let idle: UInt32 = 3
        let store = VelocityStore(shardCount: 1, idleEvictionSteps: idle, maxAccounts: 1_000_000)
        let names = Self.collidingNames(150) + (0..<60).map { "C\(7_000 + $0 * 7_919)" } + (0..<60).map { "user-\($0)" }
        // Reference: each account's events since it last (re)started, as steps; the shard's newest step.
        var events: [String: [UInt32]] = [:]
        var newest: UInt32 = 0
        var random: UInt64 = 2_026
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        var step: UInt32 = 1
        for round in 0..<6_000 {
            if round % 40 == 0 {
                step += UInt32(next(3))
            }
            // Accounts come and go: a random subset of names is active in each stretch of steps.
            let name = names[(next(names.count / 3) + Int(step / 4) * 37) % names.count]
            newest = max(newest, step)
            var held = events[name] ?? []
            if let last = held.last, UInt64(last) + UInt64(idle) < UInt64(newest) {
                held = []
            }
            let snapshot = store.observe(account: name, counterparty: "M1", amountCents: 1, step: step)
            if held.isEmpty {
                #expect(snapshot.isUnseen, "\(name) at \(step) should be new")
            } else {
                let window = held.filter { $0 + VelocityStore.windowSteps > step }
                #expect(snapshot.countLast24Steps == UInt32(window.count), "\(name) at \(step)")
                #expect(snapshot.countLastStep == UInt32(held.filter { $0 == step }.count), "\(name) at \(step)")
                #expect(snapshot.stepsSinceLastSeen == step - held.last!, "\(name) at \(step)")
            }
            held.append(step)
            events[name] = held
        }
        // Every name: held with its figures, or idle and unseen; the count matches what the sweep left.
        for name in names {
            let snapshot = store.snapshot(account: name, step: newest)
            guard let last = events[name]?.last, UInt64(last) + UInt64(idle) >= UInt64(newest) else {
                #expect(snapshot.isUnseen, "\(name) should be idle")
                continue
            }
            #expect(snapshot.stepsSinceLastSeen == newest - last, "\(name)")
        }
        let live = events.values.filter { UInt64($0.last!) + UInt64(idle) >= UInt64(newest) }.count
        #expect(store.accountCount >= live && store.accountCount <= names.count)
    }

    @Test("The figures of a step bucket saturate at its packed bounds")
    func stepBucketBounds() {
        var bucket = StepBucket(step: 7, count: StepBucket.maxCount - 1, sumCents: StepBucket.maxSumCents - 5)
        #expect(bucket.step == 7 && bucket.count == StepBucket.maxCount - 1)
        #expect(bucket.sumCents == StepBucket.maxSumCents - 5)
        bucket.add(3)
        #expect(bucket.count == StepBucket.maxCount && bucket.sumCents == StepBucket.maxSumCents - 2)
        bucket.add(1_000_000_000_000_000)
        #expect(bucket.count == StepBucket.maxCount && bucket.sumCents == StepBucket.maxSumCents)
        let negative = StepBucket(step: 1, count: 1, sumCents: -42)
        #expect(negative.count == 1 && negative.sumCents == -42)
        let clamped = StepBucket(step: 1, count: .max, sumCents: .min)
        #expect(clamped.count == StepBucket.maxCount && clamped.sumCents == -StepBucket.maxSumCents - 1)
        #expect(StepBucket.maxCount == 1_048_575 && StepBucket.maxSumCents == 8_796_093_022_207)
    }

    @Test("The idle sweep keeps pace with arrivals: a stream of new accounts holds about the live set")
    func sweepKeepsPaceWithArrivals() {
        // Idle after 5 steps; 200 new accounts a step (each event adds its origin; the destination is one
        // busy merchant), no capacity eviction. Live at any time: the last 6 steps' arrivals, 1,200 accounts.
        let store = VelocityStore(shardCount: 1, idleEvictionSteps: 5, maxAccounts: 1_000_000)
        var peak = 0
        for step: UInt32 in 1...300 {
            for index in 0..<200 {
                _ = store.observe(account: "C\(step)\(index + 1_000)", counterparty: "M1", amountCents: 1, step: step)
            }
            peak = max(peak, store.accountCount)
        }
        // Arrivals pay for extra sweep visits, so idle accounts go about as fast as new ones come: the table
        // holds the live set plus what the sweep has not reached yet (without that credit, one visit per event
        // lets idle accounts pile up to several times the live set).
        #expect(peak < 2 * 1_201, "peak \(peak)")
    }

    @Test("Capacity eviction keeps the index consistent for compact and interned names alike")
    func evictionKeepsIndex() {
        let store = VelocityStore(shardCount: 1, idleEvictionSteps: 10_000, maxAccounts: 64)
        let colliding = Self.collidingNames(100)
        var live: [String: UInt32] = [:]
        for index in 0..<2_000 {
            let name = index % 3 == 0 ? "user-\(index)" : index % 3 == 1 ? colliding[index % colliding.count] : "C\(index)"
            let step = UInt32(index / 10)
            _ = store.observe(account: name, counterparty: "M1", amountCents: 1, step: step)
            live[name] = step
            #expect(store.accountCount <= 64)
        }
        // Every account the store still holds answers with its own figures; evicted ones are unseen.
        var held = 0
        for (name, step) in live {
            let snapshot = store.snapshot(account: name, step: 200)
            if !snapshot.isUnseen {
                held += 1
                #expect(snapshot.stepsSinceLastSeen == 200 - step)
            }
        }
        #expect(held == store.accountCount)
    }
}

@Suite("IdempotencyTable")
struct IdempotencyTableTests {
    static func record(_ fingerprint: UInt64) -> IdempotencyCache.Record {
        .init(
            fingerprint: fingerprint,
            assessment: Assessment(riskScore: 0, decision: .approve, reasons: [], modelVersion: "t")
        )
    }

    @Test("Ids with one hash are told apart by the string; FIFO eviction across the ring's wrap")
    func collisionsAndEviction() {
        var table = IdempotencyTable(capacity: 5)
        for index in 0..<23 {
            table.insert("id-\(index)", hash: 99, Self.record(UInt64(index)))
            #expect(table.count == min(index + 1, 5))
            for earlier in 0...index {
                let record = table.record(for: "id-\(earlier)", hash: 99)
                #expect(record == (earlier > index - 5 ? Self.record(UInt64(earlier)) : nil))
            }
        }
        #expect(table.record(for: "id-22", hash: 98) == nil)
    }

    @Test("The public entry points hash the id themselves")
    func publicHash() {
        var table = IdempotencyTable(capacity: 100)
        for index in 0..<300 {
            table.insert("tx-\(index)", Self.record(UInt64(index)))
        }
        #expect(table.count == 100)
        #expect(table.record(for: "tx-199") == nil)
        #expect(table.record(for: "tx-200") == Self.record(200))
        #expect(table.record(for: "tx-299", hash: IdentifierHash.hash("tx-299")) == Self.record(299))
    }
}
