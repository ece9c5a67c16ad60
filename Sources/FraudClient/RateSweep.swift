/// The stepping logic of `fraud-loadgen --sweep`: raise the offered rate geometrically until a step breaks
/// the latency target (or cannot keep up), then bisect between the last good and the first bad rate.
///
/// Pure state machine: the caller runs each ``nextRate`` for a while, measures it, and hands the result
/// to ``record(_:)``.
public struct RateSweep: Sendable {
    /// One measured step.
    public struct Step: Codable, Sendable, Hashable {
        /// Offered (scheduled) rate, requests/s.
        public var offeredRate: Double
        /// Successful answers per second.
        public var achievedRate: Double
        /// Latency percentiles and maximum of the successful calls, milliseconds.
        public var p50Ms: Double
        public var p95Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        /// Calls that ended with a non-OK status or no answer.
        public var errors: Int
        /// Whether the step met the target (see ``RateSweep/passes(_:targetP95Ms:)``).
        public var passed: Bool

        /// Creates a step (set `passed` with ``RateSweep/passes(_:targetP95Ms:)``).
        public init(
            offeredRate: Double,
            achievedRate: Double,
            p50Ms: Double,
            p95Ms: Double,
            p99Ms: Double,
            maxMs: Double,
            errors: Int,
            passed: Bool
        ) {
            self.offeredRate = offeredRate
            self.achievedRate = achievedRate
            self.p50Ms = p50Ms
            self.p95Ms = p95Ms
            self.p99Ms = p99Ms
            self.maxMs = maxMs
            self.errors = errors
            self.passed = passed
        }

        enum CodingKeys: String, CodingKey {
            case offeredRate = "offered_rate"
            case achievedRate = "achieved_rate"
            case p50Ms = "p50_ms"
            case p95Ms = "p95_ms"
            case p99Ms = "p99_ms"
            case maxMs = "max_ms"
            case errors
            case passed
        }
    }

    /// Whether a step meets the target: p95 within `targetP95Ms`, no errors, and at least 90 % of the offered
    /// rate answered (below that the server is not keeping up, whatever the latency of those it answers).
    public static func passes(_ step: Step, targetP95Ms: Double) -> Bool {
        step.p95Ms <= targetP95Ms && step.errors == 0 && step.achievedRate >= 0.9 * step.offeredRate
    }

    /// Rate of the first step.
    public let startRate: Double
    /// Factor between steps while growing (> 1).
    public let growthFactor: Double
    /// Bisection steps after the first failure.
    public let refinements: Int
    /// No step offers more than this.
    public let maxRate: Double
    /// Steps measured so far, in order.
    public private(set) var steps: [Step] = []
    private var refinementsDone = 0
    private var lowestFailure: Double?

    /// Creates a sweep.
    /// - Parameters:
    ///   - startRate: First offered rate (> 0).
    ///   - growthFactor: Multiplier while every step passes (default doubles).
    ///   - refinements: Bisections between the best passing and the lowest failing rate.
    ///   - maxRate: Ceiling; reaching it while passing ends the sweep.
    public init(startRate: Double, growthFactor: Double = 2, refinements: Int = 3, maxRate: Double = 1_000_000) {
        precondition(startRate > 0 && growthFactor > 1 && maxRate >= startRate, "invalid sweep parameters")
        self.startRate = startRate
        self.growthFactor = growthFactor
        self.refinements = max(0, refinements)
        self.maxRate = maxRate
    }

    /// The best passing rate so far (the measured capacity), if any step passed.
    public var capacity: Double? {
        steps.filter(\.passed).map(\.offeredRate).max()
    }

    /// The rate to measure next, or `nil` when the sweep is over.
    public var nextRate: Double? {
        guard let last = steps.last else { return startRate }
        if let failure = lowestFailure {
            guard refinementsDone < refinements else { return nil }
            let low = capacity ?? 0
            let next = Self.rounded((low + failure) / 2)
            // Stop when the bracket is too narrow to tell apart (within 2 %).
            guard next > low, next < failure, failure - low > 0.02 * failure else { return nil }
            return next
        }
        guard last.offeredRate < maxRate else { return nil }
        return min(maxRate, Self.rounded(last.offeredRate * growthFactor))
    }

    /// Records the measurement of the step at ``nextRate``.
    public mutating func record(_ step: Step) {
        if lowestFailure != nil { refinementsDone += 1 }
        steps.append(step)
        if !step.passed {
            lowestFailure = min(lowestFailure ?? .infinity, step.offeredRate)
        }
    }

    /// Rounds a rate to three significant digits (12345 → 12300), so tables read well.
    static func rounded(_ rate: Double) -> Double {
        guard rate >= 100 else { return max(1, rate.rounded()) }
        var scale = 1.0
        while rate / scale >= 1000 { scale *= 10 }
        return (rate / scale).rounded() * scale
    }
}
