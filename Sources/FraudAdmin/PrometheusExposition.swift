import FraudCore
import FraudPersistence
import FraudWire
import FraudService
import FraudTransport
#if canImport(Glibc)
import Glibc
#endif

/// Renders `/metrics` in the Prometheus text exposition format (version 0.0.4).
enum PrometheusExposition {
    /// The status code names used as the `code` label (gRPC canonical names).
    static let statusNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    static func render(_ context: AdminContext) -> String {
        var out = ""
        out.reserveCapacity(16 * 1024)
        let metrics = context.metrics

        // RPCs: every method × status that has been seen, plus Score/ScoreStream OK from the start.
        out += "# HELP fraud_rpc_requests_total Finished gRPC calls by method and status.\n"
        out += "# TYPE fraud_rpc_requests_total counter\n"
        var seen: [(RPCMethod, Int, ServerMetrics.Histogram)] = []
        for method in RPCMethod.all {
            for status in 0..<ServerMetrics.statusCount {
                let histogram = metrics.histogram(method: method, status: status)
                let isDefault = status == 0 && (method == .score || method == .scoreStream)
                if histogram.count.value > 0 || isDefault { seen.append((method, status, histogram)) }
            }
        }
        for (method, status, histogram) in seen {
            out += "fraud_rpc_requests_total{method=\"\(method.name)\",code=\"\(statusNames[status])\"} \(histogram.count.value)\n"
        }
        out += "# HELP fraud_rpc_duration_seconds gRPC call latency, first HEADERS byte to final status.\n"
        out += "# TYPE fraud_rpc_duration_seconds histogram\n"
        for (method, status, histogram) in seen {
            let labels = "method=\"\(method.name)\",code=\"\(statusNames[status])\""
            var cumulative: UInt64 = 0
            for (index, bound) in ServerMetrics.latencyBucketBounds.enumerated() {
                cumulative += histogram.buckets[index].value
                out += "fraud_rpc_duration_seconds_bucket{\(labels),le=\"\(seconds(bound))\"} \(cumulative)\n"
            }
            cumulative += histogram.buckets[ServerMetrics.latencyBucketBounds.count].value
            out += "fraud_rpc_duration_seconds_bucket{\(labels),le=\"+Inf\"} \(cumulative)\n"
            out += "fraud_rpc_duration_seconds_sum{\(labels)} \(seconds(histogram.sumNanos.value))\n"
            out += "fraud_rpc_duration_seconds_count{\(labels)} \(cumulative)\n"
        }

        out += "# HELP fraud_decisions_total Fresh decisions (not replays) by outcome.\n"
        out += "# TYPE fraud_decisions_total counter\n"
        for decision in Decision.allCases {
            out += "fraud_decisions_total{decision=\"\(decision.name)\"} \(metrics.decisions[Int(decision.rawValue) - 1].value)\n"
        }
        out += "# HELP fraud_decisions_by_type_total Fresh decisions by transaction type and outcome.\n"
        out += "# TYPE fraud_decisions_by_type_total counter\n"
        for type in TransactionType.allCases {
            for decision in Decision.allCases {
                let value = metrics.decisionsByType[Int(type.rawValue) - 1][Int(decision.rawValue) - 1].value
                out += "fraud_decisions_by_type_total{type=\"\(type.paysimName)\",decision=\"\(decision.name)\"} \(value)\n"
            }
        }
        out += "# HELP fraud_decision_reasons_total Reasons given with fresh decisions, by reason code.\n"
        out += "# TYPE fraud_decision_reasons_total counter\n"
        for (index, code) in ServerMetrics.reasonCodes.enumerated() {
            out += "fraud_decision_reasons_total{code=\"\(code)\"} \(metrics.reasons[index].value)\n"
        }
        out += "# HELP fraud_replays_total Idempotent replays (same transaction_id and payload).\n"
        out += "# TYPE fraud_replays_total counter\n"
        out += "fraud_replays_total \(metrics.replays.value)\n"
        out += "# HELP fraud_refusals_total Score requests refused by the service, by status.\n"
        out += "# TYPE fraud_refusals_total counter\n"
        for (index, counter) in metrics.refusals.enumerated() where counter.value > 0 || index == 3 {
            out += "fraud_refusals_total{code=\"\(statusNames[index])\"} \(counter.value)\n"
        }

        gauge(&out, "fraud_velocity_accounts", "Accounts held in the velocity store.", "\(context.engine.accountCount)")
        gauge(&out, "fraud_idempotency_entries", "Transaction ids held for replays.", "\(context.engine.idempotencyCount)")
        gauge(&out, "fraud_serving", "1 while health is SERVING.", context.service.servingStatus(of: "") == .serving ? "1" : "0")
        out += "# HELP fraud_model_info The scoring model in use.\n# TYPE fraud_model_info gauge\n"
        out += "fraud_model_info{version=\"\(sanitized(context.engine.modelVersion))\"} 1\n"

        if let log = context.decisionLog {
            let stats = log.stats
            gauge(&out, "fraud_journal_backlog", "Decisions journaled but not yet committed to PostgreSQL.", "\(stats.backlog)")
            gauge(&out, "fraud_journal_queued", "Decisions in the writer's in-memory queue.", "\(stats.queuedInMemory)")
            gauge(&out, "fraud_postgres_writer_deferring", "1 while the writer holds back PostgreSQL work for a burst (--writer-priority defer).",
                  stats.isWriterDeferring ? "1" : "0")
            counter(&out, "fraud_journal_appended", "Decisions journaled by this process.", "\(stats.appended)")
            counter(&out, "fraud_postgres_committed", "Rows committed to PostgreSQL by this process.", "\(stats.committed)")
            counter(&out, "fraud_postgres_rejected_rows", "Rows PostgreSQL refused (kept in rejected.log).", "\(stats.rejectedRows)")
            gauge(&out, "fraud_postgres_commit_lag_seconds", "Append-to-commit time of the newest row of the last batch.",
                  "\(stats.commitLagMillis / 1000)")
            gauge(&out, "fraud_postgres_last_batch_size", "Rows in the last committed batch.", "\(stats.lastBatchSize)")
            gauge(&out, "fraud_postgres_configured", "1 when a PostgreSQL URL is configured.", stats.isPostgresConfigured ? "1" : "0")
            gauge(&out, "fraud_postgres_reachable", "1 when the writer's last attempt reached PostgreSQL.",
                  stats.isPostgresReachable ? "1" : "0")
        }
        gauge(&out, "process_resident_memory_bytes", "Resident set size.", "\(residentBytes())")
        return out
    }

    private static func gauge(_ out: inout String, _ name: String, _ help: String, _ value: String) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
    }

    private static func counter(_ out: inout String, _ name: String, _ help: String, _ value: String) {
        out += "# HELP \(name)_total \(help)\n# TYPE \(name)_total counter\n\(name)_total \(value)\n"
    }

    /// Nanoseconds as decimal seconds without floating-point noise (`0.000025`).
    static func seconds(_ nanos: UInt64) -> String {
        let whole = nanos / 1_000_000_000
        var fraction = String(nanos % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }

    static func sanitized(_ label: String) -> String {
        var out = ""
        for character in label {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += " "
            default: out.append(character)
            }
        }
        return out
    }

    /// RSS from `/proc/self/statm` (second field, pages × page size); 0 when unreadable.
    static func residentBytes() -> Int {
        let descriptor = open("/proc/self/statm", O_RDONLY)
        guard descriptor >= 0 else { return 0 }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return 0 }
        let fields = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
