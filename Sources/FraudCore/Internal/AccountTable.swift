internal import CFraudMemory

/// One velocity shard's accounts: an open-addressing hash table of 64-byte slots, each holding an account's
/// code and its velocity, so that finding an account and reading its figures touch the same cache line.
///
/// Accounts are keyed by a 64-bit code: the compact ``AccountCode`` of PaySim-style names, or for any other
/// name a number handed out here (``AccountCode/internedBit`` set) and kept in `interned` while the account
/// is held. Linear probing from ``indexHash(_:)`` of the code; a slot whose code is 0 is empty (no code is
/// 0). At most 3/4 full; grows by doubling. Removal shifts later slots of the probe run back (no tombstones).
/// An idle sweep walks the slots a few per event and removes idle accounts; a full shard evicts its least
/// recently seen eighth. Everything here runs inside the shard's lock, so it is a plain value type.
struct AccountTable: Sendable {
    /// One account, or an empty slot (code 0): 60 bytes, one cache line with its alignment.
    struct Slot: Sendable {
        /// The account's code (``AccountCode``); 0 when the slot is empty.
        var code: UInt64
        var velocity: AccountVelocity
    }

    /// The slots: a zeroed, cache-line aligned (from 2 MiB up huge-page backed) block of a power-of-two
    /// count. Shared by copies of the table until one of them writes (copy on write).
    final class Storage: @unchecked Sendable {
        let base: UnsafeMutablePointer<Slot>
        let size: Int

        init(size: Int) {
            guard let raw = CFraudMemory_allocateZeroed(size * MemoryLayout<Slot>.stride) else {
                preconditionFailure("AccountTable: out of memory for \(size) slots")
            }
            base = raw.bindMemory(to: Slot.self, capacity: size)
            self.size = size
        }

        deinit {
            CFraudMemory_deallocate(base, size * MemoryLayout<Slot>.stride)
        }

        func copy() -> Storage {
            let copy = Storage(size: size)
            copy.base.update(from: base, count: size)
            return copy
        }
    }

    /// Slot positions examined by the idle sweep on every event.
    static let sweepBudget = 1
    /// Further positions the sweep examines for each account added (on the following events, at most
    /// ``sweepMaxCredit`` at a time), so removals keep pace with arrivals, while an event on a known account
    /// reads one further slot's cache line. A table of known, busy accounts (the 10-million-account
    /// benchmark) is not growing, so there is nothing to catch up with.
    static let sweepCreditPerNewAccount = 4
    static let sweepMaxCredit = 8
    /// log2 of a slot's bytes, for ``PrefetchHint``.
    static let slotShift: UInt = 6

    private var storage = Storage(size: 16)
    private var mask = 15
    /// Accounts held.
    private(set) var count = 0
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
    /// Positions owed to the sweep by accounts added (see ``sweepCreditPerNewAccount``).
    private var sweepCredit = 0
    let capacity: Int
    let idleEvictionSteps: UInt32

    init(capacity: Int, idleEvictionSteps: UInt32) {
        self.capacity = max(1, capacity)
        self.idleEvictionSteps = idleEvictionSteps
    }

    /// Slot positions allocated (a power of two).
    var slotCount: Int { mask + 1 }

    /// Heap bytes held: the slots, spilled arrays and interned names (not their string storage).
    var memoryFootprint: Int {
        let interned = internedNumbers.capacity * (MemoryLayout<String>.stride + 4) * 9 / 8
            + internedNames.capacity * MemoryLayout<String>.stride + freeNumbers.capacity * 4
        return interned + 48 + slotCount * MemoryLayout<Slot>.stride + spill.memoryFootprint
    }

    /// The slots' address and byte mask, published for lock-free prefetch hints (``PrefetchHint``): a
    /// code's home slot is at `base + (indexHash << slotShift) & byteMask`.
    var prefetchHint: (base: UInt, byteMask: UInt) {
        (UInt(bitPattern: storage.base), UInt(mask) << Self.slotShift)
    }

    /// The held accounts' velocities in slot order (tests).
    var velocities: [AccountVelocity] {
        (0...mask).compactMap { storage.base[$0].code == 0 ? nil : storage.base[$0].velocity }
    }

    /// The slots' address (tests).
    var slotsBaseAddress: UInt { UInt(bitPattern: storage.base) }

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

    /// The table's hash of a code (MurmurHash3's finaliser, low half): its home slot is `indexHash & mask`.
    @inline(__always)
    static func indexHash(_ code: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: code.mixed)
    }

    /// The position of the account with `code`, if held; `indexHash` is ``indexHash(_:)`` of the code.
    @inline(__always)
    private func position(of code: UInt64, indexHash: UInt32) -> Int? {
        let slots = storage.base
        var position = Int(indexHash) & mask
        while true {
            let held = slots[position].code
            if held == code { return position }
            if held == 0 { return nil }
            position = (position + 1) & mask
        }
    }

    /// Copies the slots when another table shares them.
    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        }
    }

    /// Puts a new account's slot in the first empty position of its probe run (growing first when the
    /// table would be more than 3/4 full); the caller ensures the code is not held.
    private mutating func insert(_ slot: Slot, indexHash: UInt32) {
        if (count + 1) * 4 > slotCount * 3 {
            grow()
        }
        Self.place(slot, indexHash: indexHash, in: storage.base, mask: mask)
        count += 1
    }

    @inline(__always)
    private static func place(_ slot: Slot, indexHash: UInt32, in slots: UnsafeMutablePointer<Slot>, mask: Int) {
        var position = Int(indexHash) & mask
        while slots[position].code != 0 {
            position = (position + 1) & mask
        }
        slots[position] = slot
    }

    private mutating func grow() {
        let old = storage
        let oldSize = slotCount
        storage = Storage(size: oldSize * 2)
        mask = oldSize * 2 - 1
        for position in 0..<oldSize where old.base[position].code != 0 {
            let slot = old.base[position]
            Self.place(slot, indexHash: Self.indexHash(slot.code), in: storage.base, mask: mask)
        }
        sweepCursor = 0
        withExtendedLifetime(old) {}
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
    @inline(__always)
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
        makeUnique()
        sweep()
        let (code, hash) = code(for: key)
        guard let position = position(of: code, indexHash: hash) else {
            add(code: code, indexHash: hash, counterpartyHash: counterpartyHash, amountCents: amountCents, step: step)
            return .unseen
        }
        return Self.observe(
            held: &storage.base[position].velocity,
            spill: &spill,
            now: newestStep,
            idleEvictionSteps: idleEvictionSteps,
            counterpartyHash: counterpartyHash,
            amountCents: amountCents,
            step: step,
            readsSnapshot: readsSnapshot
        )
    }

    /// ``observe(_:counterpartyHash:amountCents:step:readsSnapshot:)`` for an account not held: adds it (out
    /// of line, so that the common path — a known account — stays small where it is inlined).
    @inline(never)
    private mutating func add(code: UInt64, indexHash: UInt32, counterpartyHash: UInt32, amountCents: Int64, step: UInt32) {
        insert(
            Slot(
                code: code,
                velocity: AccountVelocity(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash)
            ),
            indexHash: indexHash
        )
        sweepCredit += Self.sweepCreditPerNewAccount
        if count > capacity {
            evictLeastRecentlySeen(sparing: code)
        }
    }

    /// ``observe(_:counterpartyHash:amountCents:step:readsSnapshot:)`` for an account already held, on its
    /// velocity in place (never copied) and the spill borrowed, not copied (no retain of its arrays).
    @inline(__always)
    private static func observe(
        held velocity: inout AccountVelocity,
        spill: inout AccountVelocity.Spill,
        now: UInt32,
        idleEvictionSteps: UInt32,
        counterpartyHash: UInt32,
        amountCents: Int64,
        step: UInt32,
        readsSnapshot: Bool
    ) -> VelocitySnapshot {
        velocity.prefetchSpilled(spill)
        if isIdle(velocity, idleEvictionSteps: idleEvictionSteps, now: now) {
            velocity.release(&spill)
            velocity = AccountVelocity(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash)
            return .unseen
        }
        let snapshot = readsSnapshot ? velocity.snapshot(at: step, spill: spill) : .unseen
        velocity.record(step: step, amountCents: amountCents, counterpartyHash: counterpartyHash, spill: &spill)
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
        guard let position = position(of: code, indexHash: hash) else { return .unseen }
        let velocity = storage.base[position].velocity
        if isIdle(velocity, now: max(newestStep, step)) {
            return .unseen
        }
        return velocity.snapshot(at: step, spill: spill)
    }

    /// Examines a few slot positions at the cursor and removes idle accounts.
    @inline(__always)
    private mutating func sweep() {
        if sweepCredit == 0 {
            sweepWithoutCredit()
        } else {
            sweepWithCredit()
        }
    }

    /// ``sweep()`` with positions owed by accounts added.
    @inline(never)
    private mutating func sweepWithCredit() {
        let credit = min(sweepCredit, Self.sweepMaxCredit)
        sweepCredit -= credit
        guard count > 0 else { return }
        var budget = Self.sweepBudget + credit
        let slots = storage.base
        while budget > 0 {
            budget -= 1
            if sweepCursor > mask {
                sweepCursor = 0
            }
            if slots[sweepCursor].code != 0, isIdle(slots[sweepCursor].velocity, now: newestStep) {
                remove(at: sweepCursor)  // a later slot may have moved in: look at this position again
            } else {
                sweepCursor += 1
            }
        }
        // The shard's next sweep reads the following slots, dozens of events from now: too sparse for the
        // hardware prefetcher, so fetch their lines now, while other work proceeds.
        let ahead = min(Self.sweepBudget + min(sweepCredit, Self.sweepMaxCredit), slotCount - sweepCursor)
        if ahead > 0 {
            Prefetch.write(UnsafeRawPointer(slots + sweepCursor), byteCount: ahead * MemoryLayout<Slot>.stride)
        }
    }

    /// ``sweep()`` without credit (a table of known accounts, the steady state): the same positions examined
    /// and the same lines prefetched, written for the constant budget ``sweepBudget`` so that the compiler
    /// folds the loop and the range prefetch away (78 instructions fewer per score, callgrind).
    @inline(__always)
    private mutating func sweepWithoutCredit() {
        guard count > 0 else { return }
        let slots = storage.base
        for _ in 0..<Self.sweepBudget {
            if sweepCursor > mask {
                sweepCursor = 0
            }
            if slots[sweepCursor].code != 0, isIdle(slots[sweepCursor].velocity, now: newestStep) {
                remove(at: sweepCursor)  // a later slot may have moved in: look at this position again
            } else {
                sweepCursor += 1
            }
        }
        let ahead = min(Self.sweepBudget, slotCount - sweepCursor)
        if ahead == 1 {
            Prefetch.write(UnsafeRawPointer(slots + sweepCursor))
        } else if ahead > 0 {
            Prefetch.write(UnsafeRawPointer(slots + sweepCursor), byteCount: ahead * MemoryLayout<Slot>.stride)
        }
    }

    /// Evicts the least recently seen accounts — an eighth of the capacity, at least one — sparing the
    /// account with code `spared` (the one just added). Runs once per `capacity / 8` new accounts of a full
    /// shard, so its passes cost O(1) amortised per event; ties on the cut-off step go in slot order
    /// (deterministic).
    private mutating func evictLeastRecentlySeen(sparing spared: UInt64) {
        let candidates = count - 1
        guard candidates > 0 else { return }
        let quota = min(candidates, max(1, capacity / 8))
        let slots = storage.base
        let newestStep = self.newestStep
        // Histogram of ages (newest step − last seen), the oldest lumped into the last bucket.
        let buckets = 1_024
        var histogram = [Int](repeating: 0, count: buckets)
        func age(_ position: Int) -> Int {
            min(Int(newestStep &- min(newestStep, slots[position].velocity.lastSeenStep)), buckets - 1)
        }
        for position in 0...mask where slots[position].code != 0 && slots[position].code != spared {
            histogram[age(position)] += 1
        }
        var cutoff = buckets - 1
        var older = 0  // accounts strictly older than `cutoff`
        while older + histogram[cutoff] < quota {
            older += histogram[cutoff]
            cutoff -= 1
        }
        var atCutoff = quota - older
        // Chosen first, removed after: a removal moves later slots of its probe run.
        var victims: [UInt64] = []
        victims.reserveCapacity(quota)
        for position in 0...mask where slots[position].code != 0 && slots[position].code != spared {
            let slotAge = age(position)
            if slotAge > cutoff || (slotAge == cutoff && atCutoff > 0) {
                if slotAge == cutoff {
                    atCutoff -= 1
                }
                victims.append(slots[position].code)
            }
        }
        for victim in victims {
            guard let position = position(of: victim, indexHash: Self.indexHash(victim)) else {
                preconditionFailure("AccountTable: eviction victim not held")
            }
            remove(at: position)
        }
    }

    /// Removes the account at `position`: gives its spilled lists back, releases an interned name, and moves
    /// later slots of the probe run back into the hole when their home position allows.
    private mutating func remove(at position: Int) {
        let slots = storage.base
        let removed = slots[position].code
        slots[position].velocity.release(&spill)
        var hole = position
        var next = (hole + 1) & mask
        while slots[next].code != 0 {
            let home = Int(Self.indexHash(slots[next].code)) & mask
            // The slot may fill the hole when its home is not in the (cyclic) range (hole, next].
            if (next &- home) & mask >= (next &- hole) & mask {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole].code = 0
        count -= 1
        if removed & AccountCode.internedBit != 0 {
            let number = UInt32(truncatingIfNeeded: removed)
            internedNumbers.removeValue(forKey: internedNames[Int(number)])
            internedNames[Int(number)] = ""
            freeNumbers.append(number)
        }
    }
}
