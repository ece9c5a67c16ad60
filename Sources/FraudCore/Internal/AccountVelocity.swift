/// Count and total of one account's transactions in one step: 12 bytes (the step, then the count and the
/// sum packed in one 64-bit figure kept as two 32-bit words, so the bucket needs only 4-byte alignment).
///
/// The count saturates at ``maxCount`` (1,048,575 transactions of one account in one step) and the sum at
/// ±``maxSumCents`` (±8,796,093,022,207 cents, about 88 billion units): bounds far above any account's
/// hour, chosen so that an account's slot, with its code, fits one cache line (see ``AccountTable``).
struct StepBucket: Sendable, Hashable {
    var step: UInt32
    /// Low and high halves of the packed figure: the count in the low ``countBits`` bits, the sum as a
    /// two's-complement number in the high 44.
    private var low: UInt32
    private var high: UInt32

    static let countBits: UInt64 = 20
    static let maxCount = UInt32((1 << countBits) - 1)
    static let maxSumCents: Int64 = (1 << (63 - countBits)) - 1

    init(step: UInt32, count: UInt32, sumCents: Int64) {
        self.step = step
        low = 0
        high = 0
        set(count: min(count, Self.maxCount), sumCents: Self.clamped(sumCents))
    }

    @inline(__always)
    private static func clamped(_ sum: Int64) -> Int64 {
        min(max(sum, -maxSumCents - 1), maxSumCents)
    }

    @inline(__always)
    private var packed: UInt64 { UInt64(high) << 32 | UInt64(low) }

    @inline(__always)
    private mutating func set(count: UInt32, sumCents: Int64) {
        let packed = UInt64(bitPattern: sumCents) << Self.countBits | UInt64(count)
        low = UInt32(truncatingIfNeeded: packed)
        high = UInt32(truncatingIfNeeded: packed >> 32)
    }

    /// Transactions counted (at most ``maxCount``).
    var count: UInt32 {
        @inline(__always) get { UInt32(truncatingIfNeeded: packed) & Self.maxCount }
    }

    /// Their total (within ±``maxSumCents``).
    var sumCents: Int64 {
        @inline(__always) get { Int64(bitPattern: packed) >> Self.countBits }
    }

    @inline(__always)
    mutating func add(_ amountCents: Int64) {
        let count = self.count
        set(
            count: count == Self.maxCount ? count : count + 1,
            sumCents: Self.clamped(sumCents.saturatingAdd(amountCents))
        )
    }
}

/// A counterparty (32-bit FNV fold of its name) and the latest step the account dealt with it.
struct CounterpartyMark: Sendable, Hashable {
    var hash: UInt32
    var step: UInt32
}

/// One account's velocity state: per-step buckets for the window, recent counterparties, last seen step.
///
/// Most accounts see one or two transactions in their life, so two buckets and two counterparty marks
/// are stored inline (the whole velocity is 52 bytes: with the account's code, one cache line per account)
/// and only busier accounts spill into lists kept in their shard's
/// ``SpillArena``s (``Spill``; an empty list costs 4 bytes and no allocation). A slot is "stale" when its
/// step has left the window of the newest step seen; stale slots are reused before lists grow, which
/// bounds them to the window (24 buckets) and ``VelocityStore/maxTrackedCounterparties`` marks.
///
/// - Important: The lists belong to the shard's arenas: ``release(_:)`` them before dropping or replacing
///   a velocity, or their blocks are never reused.
struct AccountVelocity: Sendable {
    /// A shard's arenas for the spilled lists of its accounts.
    struct Spill: Sendable {
        var buckets = SpillArena(filler: StepBucket(step: 0, count: 0, sumCents: 0))
        var counterparties = SpillArena(filler: CounterpartyMark(hash: 0, step: 0))

        var memoryFootprint: Int { buckets.memoryFootprint + counterparties.memoryFootprint }
    }

    /// Inline bucket; always holds real data (an account is created by an event).
    var bucket: StepBucket
    /// Second inline bucket, empty (count 0) until the account sees a second step. Logically the first
    /// element of the spilled list: the list is ``bucket``, ``secondBucket``, then ``extraBuckets``, and
    /// ``extraBuckets`` is empty while ``secondBucket`` is. Most accounts see at most two steps in the window,
    /// so they never spill buckets (no arena block to allocate, no cache line of it to miss).
    var secondBucket = StepBucket(step: 0, count: 0, sumCents: 0)
    /// Further buckets, in no particular order (a list in ``Spill/buckets``).
    var extraBuckets: UInt32 = 0
    /// Further counterparty marks, in no particular order (a list in ``Spill/counterparties``).
    var extraCounterparties: UInt32 = 0
    /// Inline counterparty mark.
    var counterparty: CounterpartyMark
    /// Second inline mark, logically the first element of the spilled list (the list is ``counterparty``,
    /// ``secondCounterparty``, then ``extraCounterparties``). Empty when its hash equals ``counterparty``'s:
    /// real marks never share a hash (an event for a known counterparty updates its mark), so no flag is
    /// needed. ``extraCounterparties`` is empty while it is.
    var secondCounterparty: CounterpartyMark
    /// The newest step the account was seen at.
    var lastSeenStep: UInt32

    init(step: UInt32, amountCents: Int64, counterpartyHash: UInt32) {
        bucket = StepBucket(step: step, count: 1, sumCents: amountCents)
        counterparty = CounterpartyMark(hash: counterpartyHash, step: step)
        secondCounterparty = counterparty
        lastSeenStep = step
    }

    /// Whether ``secondCounterparty`` holds a mark.
    @inline(__always)
    var hasSecondCounterparty: Bool { secondCounterparty.hash != counterparty.hash }

    /// Prefetches the first block of each spilled list: the snapshot and the update read both, and
    /// fetching them together overlaps their cache misses.
    @inline(__always)
    func prefetchSpilled(_ spill: Spill) {
        spill.buckets.prefetchHead(extraBuckets)
        spill.counterparties.prefetchHead(extraCounterparties)
    }

    /// Gives the spilled lists' blocks back to the arenas.
    mutating func release(_ spill: inout Spill) {
        secondBucket = StepBucket(step: 0, count: 0, sumCents: 0)
        secondCounterparty = counterparty
        spill.buckets.release(&extraBuckets)
        spill.counterparties.release(&extraCounterparties)
    }

    /// First step of the window that ends at `step` (inclusive).
    @inline(__always)
    static func windowStart(endingAt step: UInt32) -> UInt32 {
        step >= VelocityStore.windowSteps - 1 ? step - (VelocityStore.windowSteps - 1) : 0
    }

    /// The figures as of `step`, from what is held; nothing is changed.
    func snapshot(at step: UInt32, spill: Spill) -> VelocitySnapshot {
        let start = Self.windowStart(endingAt: step)
        var result = VelocitySnapshot(stepsSinceLastSeen: step >= lastSeenStep ? step - lastSeenStep : 0)
        Self.include(bucket, into: &result, windowStart: start, step: step)
        if secondBucket.count != 0 {
            Self.include(secondBucket, into: &result, windowStart: start, step: step)
        }
        var block = extraBuckets
        while block != 0 {
            let (elements, next) = spill.buckets.block(block)
            for position in elements {
                Self.include(spill.buckets.element(at: position), into: &result, windowStart: start, step: step)
            }
            block = next
        }
        var distinct: UInt32 = counterparty.step >= start && counterparty.step <= step ? 1 : 0
        if hasSecondCounterparty, secondCounterparty.step >= start, secondCounterparty.step <= step {
            distinct += 1
        }
        block = extraCounterparties
        while block != 0 {
            let (elements, next) = spill.counterparties.block(block)
            for position in elements {
                let mark = spill.counterparties.element(at: position)
                if mark.step >= start && mark.step <= step {
                    distinct += 1
                }
            }
            block = next
        }
        result.distinctCounterpartiesLast24Steps = distinct
        return result
    }

    @inline(__always)
    private static func include(
        _ bucket: StepBucket,
        into result: inout VelocitySnapshot,
        windowStart start: UInt32,
        step: UInt32
    ) {
        guard bucket.step >= start, bucket.step <= step else { return }
        result.countLast24Steps = result.countLast24Steps.saturatingAdd(bucket.count)
        result.amountLast24StepsCents = result.amountLast24StepsCents.saturatingAdd(bucket.sumCents)
        if bucket.step == step {
            result.countLastStep = bucket.count
            result.amountLastStepCents = bucket.sumCents
        }
    }

    /// Adds one event. Events older than the window of the newest step seen are not counted.
    mutating func record(step: UInt32, amountCents: Int64, counterpartyHash: UInt32, spill: inout Spill) {
        if step > lastSeenStep {
            lastSeenStep = step
        }
        let start = Self.windowStart(endingAt: lastSeenStep)
        guard step >= start else { return }
        recordBucket(step: step, amountCents: amountCents, windowStart: start, arena: &spill.buckets)
        recordCounterparty(hash: counterpartyHash, step: step, windowStart: start, arena: &spill.counterparties)
    }

    @inline(__always)
    private mutating func recordBucket(
        step: UInt32,
        amountCents: Int64,
        windowStart: UInt32,
        arena: inout SpillArena<StepBucket>
    ) {
        if bucket.step == step {
            bucket.add(amountCents)
            return
        }
        let hasSecond = secondBucket.count != 0
        if hasSecond, secondBucket.step == step {
            secondBucket.add(amountCents)
            return
        }
        if let index = arena.firstIndex(extraBuckets, where: { $0.step == step }) {
            arena[extraBuckets, index].add(amountCents)
            return
        }
        // The order of the list (bucket, secondBucket, extraBuckets) decides which stale bucket is reused.
        let fresh = StepBucket(step: step, count: 1, sumCents: amountCents)
        if bucket.step < windowStart {
            bucket = fresh
        } else if !hasSecond || secondBucket.step < windowStart {
            secondBucket = fresh
        } else if let index = arena.firstIndex(extraBuckets, where: { $0.step < windowStart }) {
            arena[extraBuckets, index] = fresh
        } else {
            arena.append(fresh, to: &extraBuckets)
        }
    }

    @inline(__always)
    private mutating func recordCounterparty(
        hash: UInt32,
        step: UInt32,
        windowStart: UInt32,
        arena: inout SpillArena<CounterpartyMark>
    ) {
        if counterparty.hash == hash {
            counterparty.step = max(counterparty.step, step)
            return
        }
        let hasSecond = hasSecondCounterparty
        if hasSecond, secondCounterparty.hash == hash {
            secondCounterparty.step = max(secondCounterparty.step, step)
            return
        }
        if let index = arena.firstIndex(extraCounterparties, where: { $0.hash == hash }) {
            arena[extraCounterparties, index].step = max(arena[extraCounterparties, index].step, step)
            return
        }
        // `hash` is in no mark, so writing a fresh mark keeps the hashes distinct.
        let fresh = CounterpartyMark(hash: hash, step: step)
        if counterparty.step < windowStart {
            counterparty = fresh
            if !hasSecond {
                secondCounterparty = fresh  // still empty
            }
            return
        }
        // Reuse the oldest mark when it is stale or the set is full; otherwise grow. Positions after the
        // inline mark: 0 is `secondCounterparty`, then the spilled list's.
        var oldestIndex = -1
        var oldestStep = counterparty.step
        var extraCount = 0
        if hasSecond {
            if secondCounterparty.step < oldestStep {
                oldestIndex = 0
                oldestStep = secondCounterparty.step
            }
            extraCount = 1
        }
        var block = extraCounterparties
        while block != 0 {
            let (elements, next) = arena.block(block)
            for position in elements {
                let mark = arena.element(at: position)
                if mark.step < oldestStep {
                    oldestIndex = extraCount
                    oldestStep = mark.step
                }
                extraCount += 1
            }
            block = next
        }
        if oldestStep < windowStart || 1 + extraCount >= VelocityStore.maxTrackedCounterparties {
            // A full set only forgets a mark older than this event: a late event must not push out newer ones.
            guard oldestStep < windowStart || oldestStep < step else { return }
            if oldestIndex < 0 {
                counterparty = fresh
                if !hasSecond {
                    secondCounterparty = fresh  // still empty
                }
            } else if oldestIndex == 0 {
                secondCounterparty = fresh
            } else {
                arena[extraCounterparties, oldestIndex - 1] = fresh
            }
        } else if !hasSecond {
            secondCounterparty = fresh
        } else {
            arena.append(fresh, to: &extraCounterparties)
        }
    }
}
