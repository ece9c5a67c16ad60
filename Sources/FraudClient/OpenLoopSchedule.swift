/// The send times of an open-loop (fixed arrival rate) run, split over lanes (connections).
///
/// Request slot `g` of the whole run is due at `start + g / rate`; lane `l` of `L` owns the slots
/// `l, l + L, l + 2L, …`, so the lanes interleave evenly. Latency is measured from a request's *scheduled*
/// time, not from when it could actually be sent: a stalled server cannot hide the queue it causes
/// (no coordinated omission, as in wrk2).
public struct OpenLoopSchedule: Sendable, Hashable {
    /// Time of slot 0, in nanoseconds (any monotonic clock; `NIODeadline.uptimeNanoseconds` in practice).
    public let startNanos: UInt64
    /// Arrival rate of the whole run, requests per second (> 0).
    public let ratePerSecond: Double
    /// This lane's index, `0..<laneCount`.
    public let lane: Int
    /// Number of lanes sharing the rate.
    public let laneCount: Int

    /// Creates the schedule of one lane.
    public init(startNanos: UInt64, ratePerSecond: Double, lane: Int = 0, laneCount: Int = 1) {
        precondition(ratePerSecond > 0, "rate must be positive")
        precondition(laneCount > 0 && (0..<laneCount).contains(lane), "lane out of range")
        self.startNanos = startNanos
        self.ratePerSecond = ratePerSecond
        self.lane = lane
        self.laneCount = laneCount
    }

    /// When this lane's `k`-th request (from 0) is due.
    public func sendTime(ofRequest k: Int) -> UInt64 {
        let slot = Double(lane + k * laneCount)
        return startNanos + UInt64((slot * 1e9 / ratePerSecond).rounded(.down))
    }

    /// How many of this lane's requests are due at `now` (those with `sendTime(ofRequest:) <= now`).
    public func requestsDue(at now: UInt64) -> Int {
        guard now >= startNanos else { return 0 }
        let slots = Double(now - startNanos) * ratePerSecond / 1e9
        let lastSlot = Int(slots.rounded(.down))
        var due = lastSlot >= lane ? (lastSlot - lane) / laneCount + 1 : 0
        // Floating point can put the estimate one off near a boundary; settle it on sendTime itself.
        while due > 0 && sendTime(ofRequest: due - 1) > now { due -= 1 }
        while sendTime(ofRequest: due) <= now { due += 1 }
        return due
    }

    /// The index of the first request due at or after `time` (requests before it are "warm-up" when `time`
    /// is the end of the warm-up).
    public func firstRequest(notBefore time: UInt64) -> Int {
        guard time > startNanos else { return 0 }
        return requestsDue(at: time - 1)
    }
}
