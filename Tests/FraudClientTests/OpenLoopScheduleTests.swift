import Testing

@testable import FraudClient

@Suite("Open-loop schedule")
struct OpenLoopScheduleTests {
    @Test("one lane: request k is due at start + k / rate")
    func singleLane() {
        let schedule = OpenLoopSchedule(startNanos: 1_000, ratePerSecond: 1000)
        #expect(schedule.sendTime(ofRequest: 0) == 1_000)
        #expect(schedule.sendTime(ofRequest: 1) == 1_001_000)
        #expect(schedule.sendTime(ofRequest: 1000) == 1_000_001_000)
        #expect(schedule.requestsDue(at: 999) == 0)
        #expect(schedule.requestsDue(at: 1_000) == 1)
        #expect(schedule.requestsDue(at: 1_000_999) == 1)
        #expect(schedule.requestsDue(at: 1_001_000) == 2)
    }

    @Test("lanes interleave into the whole run's schedule without gaps or duplicates")
    func lanesInterleave() {
        let lanes = (0..<3).map { OpenLoopSchedule(startNanos: 0, ratePerSecond: 300, lane: $0, laneCount: 3) }
        let times = lanes.flatMap { lane in (0..<100).map { lane.sendTime(ofRequest: $0) } }.sorted()
        let whole = OpenLoopSchedule(startNanos: 0, ratePerSecond: 300)
        #expect(times == (0..<300).map { whole.sendTime(ofRequest: $0) })
        // After one second each lane owes a third of the requests.
        #expect(lanes.map { $0.requestsDue(at: 999_999_999) } == [100, 100, 100])
    }

    @Test("requestsDue agrees with sendTime at every instant", arguments: [1.0, 7.3, 999.9, 12_345.0, 250_000.0])
    func dueMatchesSendTime(rate: Double) {
        let schedule = OpenLoopSchedule(startNanos: 5_000_000_000, ratePerSecond: rate, lane: 1, laneCount: 4)
        var generator = SplitMix(seed: UInt64(rate * 1000))
        for _ in 0..<2000 {
            let now = 5_000_000_000 + generator.next() % 3_000_000_000
            let due = schedule.requestsDue(at: now)
            if due > 0 { #expect(schedule.sendTime(ofRequest: due - 1) <= now) }
            #expect(schedule.sendTime(ofRequest: due) > now)
        }
    }

    @Test("the warm-up boundary: the first measured request is the first due at or after it")
    func firstRequestAfterWarmup() {
        let schedule = OpenLoopSchedule(startNanos: 0, ratePerSecond: 10)
        #expect(schedule.firstRequest(notBefore: 0) == 0)
        #expect(schedule.firstRequest(notBefore: 1) == 1)
        #expect(schedule.firstRequest(notBefore: 100_000_000) == 1)
        #expect(schedule.firstRequest(notBefore: 1_000_000_000) == 10)
        #expect(schedule.firstRequest(notBefore: 1_000_000_001) == 11)
    }

    @Test("a stalled sender owes every request scheduled during the stall")
    func stallBacklog() {
        // 200 req/s; nothing sent between 1 s and 2 s: at 2 s, 200 requests are overdue and each one's
        // latency is counted from its own slot, 0...1 s in the past.
        let schedule = OpenLoopSchedule(startNanos: 0, ratePerSecond: 200)
        let sentBeforeStall = schedule.requestsDue(at: 999_999_999)
        let dueAfterStall = schedule.requestsDue(at: 2_000_000_000)
        #expect(dueAfterStall - sentBeforeStall == 201)
        let oldest = 2_000_000_000 - schedule.sendTime(ofRequest: sentBeforeStall)
        #expect(oldest == 1_000_000_000)
    }
}

/// A tiny deterministic generator for property-style checks.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
