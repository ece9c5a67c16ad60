/// Latency percentiles of a run, in milliseconds.
public struct LatencyPercentiles: Codable, Sendable, Hashable {
    /// Median.
    public var p50: Double
    /// 90th percentile.
    public var p90: Double
    /// 95th percentile.
    public var p95: Double
    /// 99th percentile.
    public var p99: Double
    /// 99.9th percentile (JSON key `p99_9`).
    public var p999: Double
    /// The slowest successful call.
    public var max: Double
    /// Arithmetic mean.
    public var mean: Double

    /// Creates the percentiles (milliseconds).
    public init(p50: Double, p90: Double, p95: Double, p99: Double, p999: Double, max: Double, mean: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p95 = p95
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }

    /// All zero (no successful call).
    public static let zero = LatencyPercentiles(p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, mean: 0)

    /// The percentiles reported, as (`valueAtPercentile` argument, JSON key).
    public static let reported: [(Double, String)] = [
        (50, "p50"), (90, "p90"), (95, "p95"), (99, "p99"), (99.9, "p99_9"),
    ]

    enum CodingKeys: String, CodingKey {
        case p50, p90, p95, p99
        case p999 = "p99_9"
        case max, mean
    }
}

/// The result of one `fraud-loadgen` run, as printed and as written by `--json-out`.
///
/// JSON keys are snake_case; latencies are milliseconds measured from each request's scheduled send time
/// (open loop) or actual send time (closed loop).
public struct LoadReport: Codable, Sendable, Hashable {
    /// `host:port`.
    public var target: String
    /// `open` (fixed arrival rate) or `closed` (`--rate max`).
    public var mode: String
    /// The offered rate in open loop, requests/s; `nil` in closed loop.
    public var offeredRate: Double?
    /// TCP connections.
    public var connections: Int
    /// Calls in flight per connection (closed loop), or the cap per connection (open loop).
    public var streams: Int
    /// Measured seconds (after the warm-up).
    public var durationSeconds: Double
    /// Seconds of load before measuring.
    public var warmupSeconds: Double
    /// The per-call deadline sent as `grpc-timeout`, in milliseconds.
    public var timeoutMs: Double
    /// Whether every call sent the same prebuilt request (`--fixed-request`).
    public var fixedRequest: Bool
    /// Successful (OK) calls in the measured window.
    public var requests: Int
    /// Calls in the measured window that ended with a non-OK status or got no answer.
    public var errors: Int
    /// `errors` by gRPC status name (`DEADLINE_EXCEEDED`, …; `NO_ANSWER` for calls still open at the end).
    public var errorsByStatus: [String: Int]
    /// Successful calls per second over the measured window.
    public var achievedRate: Double
    /// Length of the measured window, seconds.
    public var elapsedSeconds: Double
    /// Latency of the successful calls.
    public var latencyMs: LatencyPercentiles
    /// The run id in every transaction id of the run (`lg-<run id>-…`).
    public var runID: String?
    /// Targets missed (`--check-tps`, `--check-p95-ms`); empty when all were met, `nil` when none was set.
    public var checkMisses: [String]?

    /// Creates a report (`runID` and `checkMisses` are set afterwards).
    public init(
        target: String,
        mode: String,
        offeredRate: Double?,
        connections: Int,
        streams: Int,
        durationSeconds: Double,
        warmupSeconds: Double,
        timeoutMs: Double,
        fixedRequest: Bool,
        requests: Int,
        errors: Int,
        errorsByStatus: [String: Int],
        achievedRate: Double,
        elapsedSeconds: Double,
        latencyMs: LatencyPercentiles
    ) {
        self.target = target
        self.mode = mode
        self.offeredRate = offeredRate
        self.connections = connections
        self.streams = streams
        self.durationSeconds = durationSeconds
        self.warmupSeconds = warmupSeconds
        self.timeoutMs = timeoutMs
        self.fixedRequest = fixedRequest
        self.requests = requests
        self.errors = errors
        self.errorsByStatus = errorsByStatus
        self.achievedRate = achievedRate
        self.elapsedSeconds = elapsedSeconds
        self.latencyMs = latencyMs
    }

    enum CodingKeys: String, CodingKey {
        case target, mode
        case offeredRate = "offered_rate"
        case connections, streams
        case durationSeconds = "duration_s"
        case warmupSeconds = "warmup_s"
        case timeoutMs = "timeout_ms"
        case fixedRequest = "fixed_request"
        case requests, errors
        case errorsByStatus = "errors_by_status"
        case achievedRate = "achieved_rate"
        case elapsedSeconds = "elapsed_s"
        case latencyMs = "latency_ms"
        case runID = "run_id"
        case checkMisses = "check_misses"
    }

    /// The human-readable report (several lines, no trailing newline).
    public var text: String {
        let l = latencyMs
        var lines = [
            "target \(target)  \(mode) loop"
                + (offeredRate.map { "  offered \(Self.format($0, decimals: 0)) req/s" } ?? "")
                + "  \(connections) connection(s) x \(streams) stream(s)"
                + (fixedRequest ? "  fixed request" : ""),
            "requests \(requests) ok, \(errors) error(s) in \(Self.format(elapsedSeconds, decimals: 2)) s"
                + "  achieved \(Self.format(achievedRate, decimals: 1)) req/s",
            "latency ms  p50 \(Self.ms(l.p50))  p90 \(Self.ms(l.p90))  p95 \(Self.ms(l.p95))"
                + "  p99 \(Self.ms(l.p99))  p99.9 \(Self.ms(l.p999))  max \(Self.ms(l.max))  mean \(Self.ms(l.mean))",
        ]
        if !errorsByStatus.isEmpty {
            let parts = errorsByStatus.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            lines.append("errors by status: " + parts.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    static func ms(_ value: Double) -> String { format(value, decimals: value < 10 ? 3 : 1) }

    /// Fixed-point formatting without Foundation.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let fraction = Int(scaled - Double(whole) * scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard decimals > 0 else { return "\(sign)\(whole)" }
        var digits = String(fraction)
        while digits.count < decimals { digits = "0" + digits }
        return "\(sign)\(whole).\(digits)"
    }
}

/// The result of `fraud-loadgen --sweep`: one open-loop step per rate, and the capacity found.
public struct SweepReport: Codable, Sendable, Hashable {
    /// `host:port`.
    public var target: String
    /// TCP connections per step.
    public var connections: Int
    /// The in-flight cap per connection.
    public var streams: Int
    /// Seconds measured per step (after its warm-up).
    public var stepSeconds: Double
    /// The p95 latency target, milliseconds.
    public var targetP95Ms: Double
    /// The steps, in the order they ran.
    public var steps: [RateSweep.Step]
    /// The highest offered rate that met the target; `nil` when none did.
    public var capacityRate: Double?
    /// The run id in the transaction ids of every step.
    public var runID: String?

    /// Creates a sweep report.
    public init(
        target: String,
        connections: Int,
        streams: Int,
        stepSeconds: Double,
        targetP95Ms: Double,
        steps: [RateSweep.Step],
        capacityRate: Double?,
        runID: String?
    ) {
        self.target = target
        self.connections = connections
        self.streams = streams
        self.stepSeconds = stepSeconds
        self.targetP95Ms = targetP95Ms
        self.steps = steps
        self.capacityRate = capacityRate
        self.runID = runID
    }

    enum CodingKeys: String, CodingKey {
        case target, connections, streams
        case stepSeconds = "step_s"
        case targetP95Ms = "target_p95_ms"
        case steps
        case capacityRate = "capacity_rate"
        case runID = "run_id"
    }

    /// The capacity table in Markdown.
    public var markdownTable: String {
        let target = LoadReport.format(targetP95Ms, decimals: 0)
        var lines = [
            "| offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors | p95 <= \(target) ms |",
            "|---:|---:|---:|---:|---:|---:|---:|:---:|",
        ]
        for step in steps.sorted(by: { $0.offeredRate < $1.offeredRate }) {
            lines.append(
                "| \(LoadReport.format(step.offeredRate, decimals: 0)) "
                    + "| \(LoadReport.format(step.achievedRate, decimals: 0)) "
                    + "| \(LoadReport.ms(step.p50Ms)) | \(LoadReport.ms(step.p95Ms)) | \(LoadReport.ms(step.p99Ms)) "
                    + "| \(LoadReport.ms(step.maxMs)) | \(step.errors) | \(step.passed ? "yes" : "no") |"
            )
        }
        lines.append(
            capacityRate.map { "capacity: \(LoadReport.format($0, decimals: 0)) req/s at p95 <= \(target) ms" }
                ?? "capacity: no step met p95 <= \(target) ms"
        )
        return lines.joined(separator: "\n")
    }
}

/// The pass/fail targets of `--check-tps` and `--check-p95-ms`.
public struct LoadTargets: Sendable, Hashable {
    /// Lowest acceptable achieved rate, requests/s.
    public var minRate: Double?
    /// Highest acceptable p95 latency, milliseconds.
    public var maxP95Ms: Double?

    /// Targets; `nil` skips a check.
    public init(minRate: Double? = nil, maxP95Ms: Double? = nil) {
        self.minRate = minRate
        self.maxP95Ms = maxP95Ms
    }

    /// The targets `report` missed, one phrase each (empty when all are met).
    public func misses(in report: LoadReport) -> [String] {
        var misses: [String] = []
        if let minRate, report.achievedRate < minRate {
            misses.append(
                "throughput \(LoadReport.format(report.achievedRate, decimals: 1)) req/s is below "
                    + "--check-tps \(LoadReport.format(minRate, decimals: 0))"
            )
        }
        if let maxP95Ms, report.latencyMs.p95 > maxP95Ms || report.requests == 0 {
            misses.append(
                "p95 latency \(LoadReport.ms(report.latencyMs.p95)) ms is above --check-p95-ms "
                    + LoadReport.format(maxP95Ms, decimals: maxP95Ms.rounded() == maxP95Ms ? 0 : 3)
                    + (report.requests == 0 ? " (no successful call)" : "")
            )
        }
        return misses
    }

    /// The one line printed when targets are missed, or `nil` when all are met.
    public func failureLine(for report: LoadReport) -> String? {
        let misses = misses(in: report)
        return misses.isEmpty ? nil : "CHECK FAILED: " + misses.joined(separator: "; ")
    }
}
