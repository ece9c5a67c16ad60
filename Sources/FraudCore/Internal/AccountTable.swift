/// One velocity shard's accounts: a dense slot array plus an index from account name to slot.
///
/// Dense slots (rather than a bare `[String: AccountVelocity]`) make amortised eviction cheap: a cursor
/// walks the array a few slots per event and removes idle accounts by swapping the last slot in.
/// Everything here runs inside the shard's lock, so it is a plain value type.
struct AccountTable: Sendable {
    struct Slot: Sendable {
        var account: String
        var velocity: AccountVelocity
    }

    /// Slots examined by the idle sweep on each event.
    static let sweepBudget = 4

    private(set) var slotByAccount: [String: Int32] = [:]
    private(set) var slots: [Slot] = []
    /// The newest step any event of this shard has carried: "now" for idle eviction.
    private(set) var newestStep: UInt32 = 0
    private var sweepCursor = 0
    let capacity: Int
    let idleEvictionSteps: UInt32

    init(capacity: Int, idleEvictionSteps: UInt32) {
        self.capacity = max(1, capacity)
        self.idleEvictionSteps = idleEvictionSteps
    }

    var count: Int { slots.count }

    /// Heap bytes held: the index (keys, values, occupancy bitmap), the slots and spilled arrays.
    var memoryFootprint: Int {
        let index = slotByAccount.capacity * (MemoryLayout<String>.stride + MemoryLayout<Int32>.stride)
        var total = index + index / 64 + slots.capacity * MemoryLayout<Slot>.stride
        for slot in slots {
            total += slot.velocity.spilledBytes
        }
        return total
    }

    /// Idle accounts are treated as unknown even before the sweep reaches them, so results never depend
    /// on how far the sweep has got.
    @inline(__always)
    func isIdle(_ velocity: AccountVelocity, now: UInt32) -> Bool {
        UInt64(velocity.lastSeenStep) + UInt64(idleEvictionSteps) < UInt64(now)
    }

    /// Returns the account's figures before the event, then records the event.
    mutating func observe(
        account: String,
        counterpartyHash: UInt32,
        amountCents: Int64,
        step: UInt32
    ) -> VelocitySnapshot {
        if step > newestStep {
            newestStep = step
        }
        sweep()
        let newSlot = Int32(truncatingIfNeeded: slots.count)
        // One hash lookup for both the hit and the miss: the default subscript inserts `newSlot` if absent.
        let slot = Self.claim(&slotByAccount[account, default: newSlot])
        if slot == newSlot {
            slots.append(
                Slot(
                    account: account,
                    velocity: AccountVelocity(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash)
                )
            )
            if slots.count > capacity {
                evictLeastRecentlySeen()
            }
            return .unseen
        }
        let index = Int(slot)
        if isIdle(slots[index].velocity, now: newestStep) {
            slots[index].velocity = AccountVelocity(
                step: step,
                amountCents: amountCents,
                counterpartyHash: counterpartyHash
            )
            return .unseen
        }
        let snapshot = slots[index].velocity.snapshot(at: step)
        slots[index].velocity.record(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash)
        return snapshot
    }

    @inline(__always)
    private static func claim(_ slot: inout Int32) -> Int32 { slot }

    /// The account's figures as of `step`, without recording anything.
    func snapshot(account: String, step: UInt32) -> VelocitySnapshot {
        guard let slot = slotByAccount[account] else { return .unseen }
        let velocity = slots[Int(slot)].velocity
        if isIdle(velocity, now: max(newestStep, step)) {
            return .unseen
        }
        return velocity.snapshot(at: step)
    }

    /// Examines a few slots at the cursor and removes idle ones.
    private mutating func sweep() {
        var budget = Self.sweepBudget
        while budget > 0, !slots.isEmpty {
            budget -= 1
            if sweepCursor >= slots.count {
                sweepCursor = 0
            }
            if isIdle(slots[sweepCursor].velocity, now: newestStep) {
                remove(at: sweepCursor)  // the last slot moved in: look at this position again
            } else {
                sweepCursor += 1
            }
        }
    }

    /// Evicts the least recently seen accounts — an eighth of the capacity, at least one — sparing the
    /// last slot (the account just added). Runs once per `capacity / 8` new accounts of a full shard, so its
    /// two passes cost O(1) amortised per event; ties on the cut-off step go in slot order (deterministic).
    private mutating func evictLeastRecentlySeen() {
        let candidates = slots.count - 1
        guard candidates > 0 else { return }
        let quota = min(candidates, max(1, capacity / 8))
        // Histogram of ages (newest step − last seen), the oldest lumped into the last bucket.
        let buckets = 1_024
        var histogram = [Int](repeating: 0, count: buckets)
        func age(_ index: Int) -> Int {
            min(Int(newestStep &- min(newestStep, slots[index].velocity.lastSeenStep)), buckets - 1)
        }
        for index in 0..<candidates {
            histogram[age(index)] += 1
        }
        var cutoff = buckets - 1
        var older = 0  // accounts strictly older than `cutoff`
        while older + histogram[cutoff] < quota {
            older += histogram[cutoff]
            cutoff -= 1
        }
        var atCutoff = quota - older
        // From the end: a swapped-in slot is the new account or one already kept.
        var index = candidates - 1
        while index >= 0 {
            let slotAge = age(index)
            if slotAge > cutoff || (slotAge == cutoff && atCutoff > 0) {
                if slotAge == cutoff {
                    atCutoff -= 1
                }
                remove(at: index)
            }
            index -= 1
        }
    }

    /// Swap-removes slot `index` and fixes the moved slot's index entry.
    private mutating func remove(at index: Int) {
        let removed = slots[index].account
        let last = slots.removeLast()
        if index < slots.count {
            slotByAccount[last.account] = Int32(truncatingIfNeeded: index)
            slots[index] = last
        }
        slotByAccount.removeValue(forKey: removed)
    }
}
