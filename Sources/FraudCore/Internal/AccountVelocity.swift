/// Count and total of one account's transactions in one step.
struct StepBucket: Sendable, Hashable {
    var step: UInt32
    var count: UInt32
    var sumCents: Int64

    @inline(__always)
    mutating func add(_ amountCents: Int64) {
        count = count.saturatingAdd(1)
        sumCents = sumCents.saturatingAdd(amountCents)
    }
}

/// A counterparty (32-bit FNV fold of its name) and the latest step the account dealt with it.
struct CounterpartyMark: Sendable, Hashable {
    var hash: UInt32
    var step: UInt32
}

/// One account's velocity state: per-step buckets for the window, recent counterparties, last seen step.
///
/// Most accounts see one or two transactions in their life, so the first bucket and the first
/// counterparty are stored inline and only busier accounts spill into arrays (an empty array costs a
/// pointer and no allocation). A slot is "stale" when its step has left the window of the newest step
/// seen; stale slots are reused before arrays grow, which bounds them to the window (24 buckets) and
/// ``VelocityStore/maxTrackedCounterparties`` marks.
struct AccountVelocity: Sendable {
    /// Inline bucket; always holds real data (an account is created by an event).
    var bucket: StepBucket
    /// Further buckets, in no particular order.
    var extraBuckets: [StepBucket] = []
    /// Further counterparty marks, in no particular order.
    var extraCounterparties: [CounterpartyMark] = []
    /// Inline counterparty mark.
    var counterparty: CounterpartyMark
    /// The newest step the account was seen at.
    var lastSeenStep: UInt32

    init(step: UInt32, amountCents: Int64, counterpartyHash: UInt32) {
        bucket = StepBucket(step: step, count: 1, sumCents: amountCents)
        counterparty = CounterpartyMark(hash: counterpartyHash, step: step)
        lastSeenStep = step
    }

    /// Heap bytes of the spilled arrays (32-byte array header plus elements), 0 when none.
    var spilledBytes: Int {
        func bytes<Element>(_ array: [Element]) -> Int {
            array.capacity == 0 ? 0 : 32 + array.capacity * MemoryLayout<Element>.stride
        }
        return bytes(extraBuckets) + bytes(extraCounterparties)
    }

    /// First step of the window that ends at `step` (inclusive).
    @inline(__always)
    static func windowStart(endingAt step: UInt32) -> UInt32 {
        step >= VelocityStore.windowSteps - 1 ? step - (VelocityStore.windowSteps - 1) : 0
    }

    /// The figures as of `step`, from what is held; nothing is changed.
    func snapshot(at step: UInt32) -> VelocitySnapshot {
        let start = Self.windowStart(endingAt: step)
        var result = VelocitySnapshot(stepsSinceLastSeen: step >= lastSeenStep ? step - lastSeenStep : 0)
        func include(_ bucket: StepBucket) {
            guard bucket.step >= start, bucket.step <= step else { return }
            result.countLast24Steps = result.countLast24Steps.saturatingAdd(bucket.count)
            result.amountLast24StepsCents = result.amountLast24StepsCents.saturatingAdd(bucket.sumCents)
            if bucket.step == step {
                result.countLastStep = bucket.count
                result.amountLastStepCents = bucket.sumCents
            }
        }
        include(bucket)
        for extra in extraBuckets {
            include(extra)
        }
        var distinct: UInt32 = counterparty.step >= start && counterparty.step <= step ? 1 : 0
        for mark in extraCounterparties where mark.step >= start && mark.step <= step {
            distinct += 1
        }
        result.distinctCounterpartiesLast24Steps = distinct
        return result
    }

    /// Adds one event. Events older than the window of the newest step seen are not counted.
    mutating func record(step: UInt32, amountCents: Int64, counterpartyHash: UInt32) {
        if step > lastSeenStep {
            lastSeenStep = step
        }
        let start = Self.windowStart(endingAt: lastSeenStep)
        guard step >= start else { return }
        recordBucket(step: step, amountCents: amountCents, windowStart: start)
        recordCounterparty(hash: counterpartyHash, step: step, windowStart: start)
    }

    private mutating func recordBucket(step: UInt32, amountCents: Int64, windowStart: UInt32) {
        if bucket.step == step {
            bucket.add(amountCents)
            return
        }
        if let index = extraBuckets.firstIndex(where: { $0.step == step }) {
            extraBuckets[index].add(amountCents)
            return
        }
        let fresh = StepBucket(step: step, count: 1, sumCents: amountCents)
        if bucket.step < windowStart {
            bucket = fresh
        } else if let index = extraBuckets.firstIndex(where: { $0.step < windowStart }) {
            extraBuckets[index] = fresh
        } else {
            extraBuckets.append(fresh)
        }
    }

    private mutating func recordCounterparty(hash: UInt32, step: UInt32, windowStart: UInt32) {
        if counterparty.hash == hash {
            counterparty.step = max(counterparty.step, step)
            return
        }
        if let index = extraCounterparties.firstIndex(where: { $0.hash == hash }) {
            extraCounterparties[index].step = max(extraCounterparties[index].step, step)
            return
        }
        let fresh = CounterpartyMark(hash: hash, step: step)
        if counterparty.step < windowStart {
            counterparty = fresh
            return
        }
        // Reuse the oldest mark when it is stale or the set is full; otherwise grow.
        var oldestIndex = -1
        var oldestStep = counterparty.step
        for index in extraCounterparties.indices where extraCounterparties[index].step < oldestStep {
            oldestIndex = index
            oldestStep = extraCounterparties[index].step
        }
        if oldestStep < windowStart || 1 + extraCounterparties.count >= VelocityStore.maxTrackedCounterparties {
            // A full set only forgets a mark older than this event: a late event must not push out newer ones.
            guard oldestStep < windowStart || oldestStep < step else { return }
            if oldestIndex < 0 {
                counterparty = fresh
            } else {
                extraCounterparties[oldestIndex] = fresh
            }
        } else {
            extraCounterparties.append(fresh)
        }
    }
}
