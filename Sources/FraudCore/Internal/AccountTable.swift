/// One velocity shard's accounts: a dense slot array plus an index from account code to slot.
///
/// Dense slots (rather than a bare `[String: AccountVelocity]`) make amortised eviction cheap: a cursor
/// walks the array a few slots per event and removes idle accounts by swapping the last slot in.
/// Accounts are keyed by a 64-bit code: the compact ``AccountCode`` of PaySim-style names, or for any other
/// name a number handed out here (``AccountCode/internedBit`` set) and kept in `interned` while the account
/// is held. The index is an ``AccountIndex`` (it holds the codes; a slot holds only the code's hash, to find
/// its index entry when the slot moves). Everything here runs inside the shard's lock, so it is a plain value
/// type.
struct AccountTable: Sendable {
    /// One account: exactly 64 bytes, one cache line (``AlignedArray`` storage).
    struct Slot: Sendable {
        var velocity: AccountVelocity
        /// ``AccountTable/indexHash(_:)`` of the account's code.
        var indexHash: UInt32
    }

    /// Slots examined by the idle sweep on every event.
    static let sweepBudget = 1
    /// Further slots the sweep examines for each account added (on the following events, at most
    /// ``sweepMaxCredit`` at a time), so removals keep pace with arrivals: an arrival still pays for four
    /// slot visits, as every event did before, while an event on a known account reads one slot's cache
    /// line instead of four. A table of known, busy accounts (the 10-million-account benchmark) is not
    /// growing, so there is nothing to catch up with.
    static let sweepCreditPerNewAccount = 3
    static let sweepMaxCredit = 8

    private(set) var index = AccountIndex()
    /// One 64-byte slot per account, each on its own cache line.
    private(set) var slots = AlignedArray<Slot>()
    /// Names without a compact code: name → number (the low bits of its code).
    private var internedNumbers: [String: UInt32] = [:]
    /// Number → name, for releasing the name when its account goes; free numbers are reused.
    private var internedNames: [String] = []
    private var freeNumbers: [UInt32] = []
    /// Spilled buckets and counterparty marks of this shard's accounts.
    private(set) var spill = AccountVelocity.Spill()
    /// The newest step any event of this shard has carried: "now" for idle eviction.
    private(set) var newestStep: UInt32 = 0
    private var sweepCursor = 0
    /// Slots owed to the sweep by accounts added (see ``sweepCreditPerNewAccount``).
    private var sweepCredit = 0
    let capacity: Int
    let idleEvictionSteps: UInt32

    init(capacity: Int, idleEvictionSteps: UInt32) {
        self.capacity = max(1, capacity)
        self.idleEvictionSteps = idleEvictionSteps
    }

    var count: Int { slots.count }

    /// Heap bytes held: the index, the slots, spilled arrays and interned names (not their string storage).
    var memoryFootprint: Int {
        let interned = internedNumbers.capacity * (MemoryLayout<String>.stride + 4) * 9 / 8
            + internedNames.capacity * MemoryLayout<String>.stride + freeNumbers.capacity * 4
        return index.memoryFootprint + interned + 32 + slots.capacity * MemoryLayout<Slot>.stride
            + spill.memoryFootprint
    }

    /// Idle accounts are treated as unknown even before the sweep reaches them, so results never depend
    /// on how far the sweep has got.
    @inline(__always)
    func isIdle(_ velocity: AccountVelocity, now: UInt32) -> Bool {
        Self.isIdle(velocity, idleEvictionSteps: idleEvictionSteps, now: now)
    }

    @inline(__always)
    static func isIdle(_ velocity: AccountVelocity, idleEvictionSteps: UInt32, now: UInt32) -> Bool {
        UInt64(velocity.lastSeenStep) + UInt64(idleEvictionSteps) < UInt64(now)
    }

    /// The index's hash of a code (MurmurHash3's finaliser, low half).
    @inline(__always)
    static func indexHash(_ code: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: code.mixed)
    }

    /// The slot of the account with `code`, if held; `indexHash` is ``indexHash(_:)`` of the code.
    @inline(__always)
    private func slot(of code: UInt64, indexHash: UInt32) -> Int? {
        index.find(code: code, hash: indexHash)
    }

    /// Prefetches the slot the index gives for `code` (a compact code, whose ``indexHash(_:)`` is
    /// `indexHash`), without reading it.
    @inline(__always)
    func prefetchSlot(code: UInt64, indexHash: UInt32) {
        guard let slot = slot(of: code, indexHash: indexHash) else { return }
        slots.withUnsafeBufferPointer { slots in
            guard let base = slots.baseAddress else { return }
            Prefetch.write(UnsafeRawPointer(base + slot))
        }
    }

    /// The code of an account held or about to be added, and its ``indexHash(_:)``: its compact code (hashed
    /// in the key already), or its interned number (handed out now when the name is new).
    @inline(__always)
    private mutating func code(for key: AccountKey) -> (code: UInt64, indexHash: UInt32) {
        if key.code != 0 { return (key.code, key.indexHash) }
        let code = internedCode(for: key)
        return (code, Self.indexHash(code))
    }

    /// The interned code of a name without a compact code (handed out now when the name is new).
    private mutating func internedCode(for key: AccountKey) -> UInt64 {
        if let number = internedNumbers[key.account] {
            return AccountCode.internedBit | UInt64(number)
        }
        let number: UInt32
        if let free = freeNumbers.popLast() {
            number = free
            internedNames[Int(number)] = key.account
        } else {
            number = UInt32(internedNames.count)
            internedNames.append(key.account)
        }
        internedNumbers[key.account] = number
        return AccountCode.internedBit | UInt64(number)
    }

    /// Returns the account's figures before the event, then records the event. With `readsSnapshot` false
    /// the event is recorded just the same, but the figures are not read back: the result is then
    /// ``VelocitySnapshot/unseen`` (for a caller that reads no velocity figure).
    mutating func observe(
        _ key: AccountKey,
        counterpartyHash: UInt32,
        amountCents: Int64,
        step: UInt32,
        readsSnapshot: Bool = true
    ) -> VelocitySnapshot {
        if step > newestStep {
            newestStep = step
        }
        sweep()
        let (code, hash) = code(for: key)
        guard let index = slot(of: code, indexHash: hash) else {
            let newSlot = slots.count
            slots.append(
                Slot(
                    velocity: AccountVelocity(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash),
                    indexHash: hash
                )
            )
            self.index.insert(code: code, hash: hash, slot: newSlot)
            sweepCredit += Self.sweepCreditPerNewAccount
            if slots.count > capacity {
                evictLeastRecentlySeen()
            }
            return .unseen
        }
        return Self.observe(
            held: &slots[index],
            spill: &spill,
            now: newestStep,
            idleEvictionSteps: idleEvictionSteps,
            counterpartyHash: counterpartyHash,
            amountCents: amountCents,
            step: step,
            readsSnapshot: readsSnapshot
        )
    }

    /// ``observe(_:counterpartyHash:amountCents:step:readsSnapshot:)`` for an account already held, on its slot in place:
    /// one access to the slot (the array's uniqueness checked once, the 64-byte slot never copied) and the
    /// spill borrowed, not copied (no retain of its arrays).
    @inline(__always)
    private static func observe(
        held slot: inout Slot,
        spill: inout AccountVelocity.Spill,
        now: UInt32,
        idleEvictionSteps: UInt32,
        counterpartyHash: UInt32,
        amountCents: Int64,
        step: UInt32,
        readsSnapshot: Bool
    ) -> VelocitySnapshot {
        slot.velocity.prefetchSpilled(spill)
        if isIdle(slot.velocity, idleEvictionSteps: idleEvictionSteps, now: now) {
            slot.velocity.release(&spill)
            slot.velocity = AccountVelocity(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash)
            return .unseen
        }
        let snapshot = readsSnapshot ? slot.velocity.snapshot(at: step, spill: spill) : .unseen
        slot.velocity.record(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash, spill: &spill)
        return snapshot
    }

    /// The account's figures as of `step`, without recording anything.
    func snapshot(_ key: AccountKey, step: UInt32) -> VelocitySnapshot {
        let code: UInt64
        let hash: UInt32
        if key.code != 0 {
            (code, hash) = (key.code, key.indexHash)
        } else if let number = internedNumbers[key.account] {
            code = AccountCode.internedBit | UInt64(number)
            hash = Self.indexHash(code)
        } else {
            return .unseen
        }
        guard let slot = slot(of: code, indexHash: hash) else { return .unseen }
        let velocity = slots[slot].velocity
        if isIdle(velocity, now: max(newestStep, step)) {
            return .unseen
        }
        return velocity.snapshot(at: step, spill: spill)
    }

    /// Examines a few slots at the cursor and removes idle ones.
    private mutating func sweep() {
        let credit = min(sweepCredit, Self.sweepMaxCredit)
        sweepCredit -= credit
        var budget = Self.sweepBudget + credit
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
        // The shard's next sweep reads the following slots, dozens of events from now: too sparse for the
        // hardware prefetcher, so fetch their lines now, while other work proceeds.
        slots.prefetchForWriting(from: sweepCursor, count: Self.sweepBudget + min(sweepCredit, Self.sweepMaxCredit))
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

    /// Swap-removes slot `position` and fixes the moved slot's index entry.
    private mutating func remove(at position: Int) {
        slots[position].velocity.release(&spill)
        let removed = index.remove(hash: slots[position].indexHash, slot: position)
        let last = slots.removeLast()
        if position < slots.count {
            index.moveEntry(hash: last.indexHash, from: slots.count, to: position)
            slots[position] = last
        }
        if removed & AccountCode.internedBit != 0 {
            let number = UInt32(truncatingIfNeeded: removed)
            internedNumbers.removeValue(forKey: internedNames[Int(number)])
            internedNames[Int(number)] = ""
            freeNumbers.append(number)
        }
    }
}
