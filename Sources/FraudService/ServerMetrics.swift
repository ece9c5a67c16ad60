import FraudCore
public import FraudTransport
public import FraudWire
import Synchronization

/// The server's own counters for `/metrics` and the dashboard: RPCs by method × status with latency
/// histograms, decisions by outcome, type and reason code. Every series exists from start-up (fixed label
/// sets, no account ids); recording is a few relaxed atomic adds — no locks, no allocation.
public final class ServerMetrics: RPCObserver, Sendable {
    /// Upper bounds of the latency buckets, in nanoseconds (the `+Inf` bucket is implicit).
    public static let latencyBucketBounds: [UInt64] = [
        10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000,
        25_000_000, 50_000_000, 100_000_000, 250_000_000, 1_000_000_000,
    ]

    /// Reason codes with a series of their own (the rule model's and the trained model's); anything else
    /// is counted as `OTHER`.
    public static let reasonCodes: [String] = [
        "RISKY_TYPE", "ORIGIN_DRAINED", "ORIGIN_BALANCE_MISMATCH", "DESTINATION_BALANCE_UNCHANGED",
        "DESTINATION_BALANCE_MISMATCH", "HIGH_AMOUNT", "ORIGIN_VELOCITY_1H", "ORIGIN_VELOCITY_24H",
        "DESTINATION_FAN_IN", "NEW_ORIGIN_LARGE_AMOUNT", "NIGHT_HOUR", "TRANSACTION_TYPE", "ORIGIN_BALANCE",
        "DESTINATION_MERCHANT", "DESTINATION_BALANCE", "AMOUNT", "HOUR_OF_DAY", "NEW_ORIGIN", "ORIGIN_HISTORY",
        "DESTINATION_ACTIVITY", "NEW_DESTINATION", "DESTINATION_HISTORY", "OTHER",
    ]

    /// gRPC status codes 0…16.
    public static let statusCount = 17

    /// Latency histogram of one method × status (non-cumulative buckets; cumulated when rendered).
    public final class Histogram: Sendable {
        /// One counter per bound in ``ServerMetrics/latencyBucketBounds`` plus `+Inf`.
        public let buckets: [Counter]
        /// Sum of durations, nanoseconds.
        public let sumNanos = Counter()
        /// Observations.
        public let count = Counter()

        init() {
            buckets = (0...ServerMetrics.latencyBucketBounds.count).map { _ in Counter() }
        }

        @inline(__always)
        func record(_ nanos: UInt64) {
            var index = 0
            let bounds = ServerMetrics.latencyBucketBounds
            while index < bounds.count, nanos > bounds[index] { index += 1 }
            buckets[index].add(1)
            sumNanos.add(nanos)
            count.add(1)
        }
    }

    /// A monotonically increasing counter (relaxed atomic).
    public final class Counter: Sendable {
        private let storage = Atomic<UInt64>(0)

        /// Creates a counter at 0.
        public init() {}

        /// Adds `amount`.
        @inline(__always)
        public func add(_ amount: UInt64) { storage.add(amount, ordering: .relaxed) }

        /// The current value.
        public var value: UInt64 { storage.load(ordering: .relaxed) }
    }

    /// `[method.index * statusCount + status]`.
    public let rpcLatency: [Histogram]
    /// By ``Decision`` raw value − 1 (APPROVE, REVIEW, DECLINE).
    public let decisions: [Counter]
    /// `[type.rawValue − 1][decision.rawValue − 1]`.
    public let decisionsByType: [[Counter]]
    /// By position in ``reasonCodes``.
    public let reasons: [Counter]
    /// Replayed (idempotent) answers.
    public let replays = Counter()
    /// Calls refused by the service (validation, conflict, overload), by status code.
    public let refusals: [Counter]
    private let reasonIndex: [String: Int]

    /// Creates every series at zero.
    public init() {
        rpcLatency = (0..<(RPCMethod.all.count * Self.statusCount)).map { _ in Histogram() }
        decisions = Decision.allCases.map { _ in Counter() }
        decisionsByType = TransactionType.allCases.map { _ in Decision.allCases.map { _ in Counter() } }
        reasons = Self.reasonCodes.map { _ in Counter() }
        refusals = (0..<Self.statusCount).map { _ in Counter() }
        var index: [String: Int] = [:]
        for (position, code) in Self.reasonCodes.enumerated() { index[code] = position }
        reasonIndex = index
    }

    /// The latency histogram of `method` × `status`.
    public func histogram(method: RPCMethod, status: Int) -> Histogram {
        rpcLatency[method.index * Self.statusCount + status]
    }

    public func callCompleted(method: RPCMethod, status: Status.Code, durationNanos: UInt64) {
        let code = min(max(status.rawValue, 0), Self.statusCount - 1)
        rpcLatency[method.index * Self.statusCount + code].record(durationNanos)
    }

    /// Counts one fresh decision (not a replay).
    @inline(__always)
    func recordDecision(_ assessment: Assessment, type: TransactionType) {
        let decision = Int(assessment.decision.rawValue) - 1
        decisions[decision].add(1)
        decisionsByType[Int(type.rawValue) - 1][decision].add(1)
        for reason in assessment.reasons {
            reasons[reasonIndex[reason.code] ?? (Self.reasonCodes.count - 1)].add(1)
        }
    }

    /// Counts a refused call.
    @inline(__always)
    func recordRefusal(_ code: Status.Code) {
        refusals[min(max(code.rawValue, 0), Self.statusCount - 1)].add(1)
    }
}
