import FraudCore
import FraudPersistence
import FraudService
import FraudTransport
#if canImport(Glibc)
import Glibc
#endif

/// `/api/v1/live`: the in-process counters as JSON, for the dashboard (rates and percentiles are
/// computed by the page from the differences between polls).
enum LiveCounters {
    static func json(_ context: AdminContext) -> String {
        let metrics = context.metrics
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let millis = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        var decisions: [(String, String)] = []
        for decision in Decision.allCases {
            decisions.append((decision.name, "\(metrics.decisions[Int(decision.rawValue) - 1].value)"))
        }
        var byType: [(String, String)] = []
        for type in TransactionType.allCases {
            var row: [(String, String)] = []
            for decision in Decision.allCases {
                row.append((decision.name, "\(metrics.decisionsByType[Int(type.rawValue) - 1][Int(decision.rawValue) - 1].value)"))
            }
            byType.append((type.paysimName, JSONText.object(row)))
        }
        var reasons: [(String, String)] = []
        for (index, code) in ServerMetrics.reasonCodes.enumerated() where metrics.reasons[index].value > 0 {
            reasons.append((code, "\(metrics.reasons[index].value)"))
        }
        // Score and ScoreStream calls that ended OK, non-cumulative buckets.
        var buckets = [UInt64](repeating: 0, count: ServerMetrics.latencyBucketBounds.count + 1)
        for method in [RPCMethod.score, .scoreStream] {
            let histogram = metrics.histogram(method: method, status: 0)
            for index in buckets.indices { buckets[index] += histogram.buckets[index].value }
        }
        let bounds = ServerMetrics.latencyBucketBounds.map { PrometheusExposition.seconds($0) }
        return JSONText.object([
            ("time_ms", "\(millis)"),
            ("decisions", JSONText.object(decisions)),
            ("by_type", JSONText.object(byType)),
            ("reasons", JSONText.object(reasons)),
            (
                "score_latency",
                JSONText.object([
                    "bounds_s": JSONText.array(bounds), "buckets": JSONText.array(buckets.map { "\($0)" }),
                ])
            ),
            ("journal_backlog", "\(context.decisionLog?.backlog ?? 0)"),
            ("velocity_accounts", "\(context.engine.accountCount)"),
            ("model_version", JSONText.string(context.engine.modelVersion)),
        ])
    }
}
