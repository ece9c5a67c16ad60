import Foundation
import FraudCore
import Logging
import Testing

@testable import FraudPersistence

/// The summary's rollups (migration 0003) against the aggregates computed directly over `decisions`.
/// In the serialized PostgreSQL suite: the restart test stops the server.
extension PostgresTests {
    /// The summary as it was computed before the rollups: every figure straight from `decisions`, over the
    /// same whole-minute window (the current minute and the `$1` before it).
    static let directSummarySQL = """
        WITH w AS MATERIALIZED (
            SELECT type, decision, label, amount_cents, reasons, scored_at FROM decisions
            WHERE scored_at >= date_bin('1 minute', now(), timestamptz 'epoch') - interval '1 minute' * $1::int
        ), q AS (
            SELECT count(*) FILTER (WHERE label = 'FRAUD' AND decision <> 'APPROVE') AS tp,
                   count(*) FILTER (WHERE label = 'LEGITIMATE' AND decision <> 'APPROVE') AS fp,
                   count(*) FILTER (WHERE label = 'FRAUD' AND decision = 'APPROVE') AS fn,
                   count(label) AS labelled
            FROM w
        )
        SELECT json_build_object(
            'window_minutes', $1::int,
            'total', (SELECT count(*) FROM w),
            'by_type', (SELECT coalesce(json_agg(t ORDER BY t.type), '[]') FROM (
                SELECT type, count(*) AS total,
                       count(*) FILTER (WHERE decision <> 'APPROVE') AS flagged,
                       round(count(*) FILTER (WHERE decision <> 'APPROVE')::numeric / count(*), 6) AS flagged_rate,
                       count(label) AS labelled,
                       count(*) FILTER (WHERE label = 'FRAUD') AS labelled_fraud,
                       CASE WHEN count(label) > 0 THEN round(count(*) FILTER (WHERE label = 'FRAUD')::numeric
                            / count(label), 6) END AS fraud_rate
                FROM w GROUP BY type) t),
            'by_decision', (SELECT json_build_object(
                'APPROVE', count(*) FILTER (WHERE decision = 'APPROVE'),
                'REVIEW', count(*) FILTER (WHERE decision = 'REVIEW'),
                'DECLINE', count(*) FILTER (WHERE decision = 'DECLINE')) FROM w),
            'amount_cents', (SELECT json_build_object(
                'p50', percentile_disc(0.5) WITHIN GROUP (ORDER BY amount_cents),
                'p90', percentile_disc(0.9) WITHIN GROUP (ORDER BY amount_cents),
                'p99', percentile_disc(0.99) WITHIN GROUP (ORDER BY amount_cents),
                'max', max(amount_cents)) FROM w),
            'amount_decades', (SELECT coalesce(json_agg(h ORDER BY h.decade), '[]') FROM (
                SELECT floor(log(greatest(amount_cents, 1)))::int AS decade, count(*) AS count
                FROM w GROUP BY 1) h),
            'top_reasons', (SELECT coalesce(json_agg(r), '[]') FROM (
                SELECT e->>'code' AS code, count(*) AS count
                FROM w CROSS JOIN LATERAL jsonb_array_elements(w.reasons) e
                WHERE w.decision <> 'APPROVE' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) r),
            'per_minute', (SELECT coalesce(json_agg(m ORDER BY m.minute), '[]') FROM (
                SELECT date_bin('1 minute', scored_at, timestamptz 'epoch') AS minute, count(*) AS decisions
                FROM w WHERE scored_at >= date_bin('1 minute', now(), timestamptz 'epoch')
                    - interval '1 minute' * least($1::int, 15)
                GROUP BY 1) m),
            'live_quality', (SELECT json_build_object(
                'labelled', labelled, 'true_positives', tp, 'false_positives', fp, 'false_negatives', fn,
                'precision', CASE WHEN tp + fp > 0 THEN round(tp::numeric / (tp + fp), 6) END,
                'recall', CASE WHEN tp + fn > 0 THEN round(tp::numeric / (tp + fn), 6) END) FROM q)
        )::text
        """

    /// `count` records of `series` scored over the last `spanMinutes` minutes before `now` (a few of them
    /// 20 s in the future), with amounts over 13 decades including exact powers of ten.
    private static func spread(_ series: String, count: Int, spanMinutes: Int, now: Int64) -> [DecisionRecord] {
        (0..<count).map { index in
            var record = Records.make(index, series: series)
            let span = Int64(spanMinutes) * 60_000_000
            record.scoredAtMicros = index % 97 == 0 ? now + 20_000_000 : now - Int64(index * 7_919) % span
            let decade = index % 13
            record.transaction.amountCents =
                switch index % 5 {
                case 0: Int64(pow(10, Double(decade)))
                case 1: Int64(pow(10, Double(decade))) - 1
                default: max(1, Int64(Double(index * 7_907 % 1_000_003) * pow(10, Double(decade)) / 1e6))
                }
            return record
        }
    }

    private static func json(_ text: String?) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data((text ?? "").utf8))
        return try #require(object as? [String: Any])
    }

    /// Compares the rollup summary with the direct one for each window, in one transaction (same `now()`).
    private static func expectSummariesAgree(_ connection: PGConnection, windows: [Int]) throws {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        defer { _ = try? connection.execute("COMMIT") }
        for window in windows {
            let parameters = ["\(window)"]
            var rollup = try json(try connection.execute(AnalyticsStore.summarySQL, parameters: parameters).rows[0][0])
            var direct = try json(try connection.execute(directSummarySQL, parameters: parameters).rows[0][0])
            let approximate = try #require(rollup.removeValue(forKey: "amount_cents") as? [String: Any])
            let exact = try #require(direct.removeValue(forKey: "amount_cents") as? [String: Any])
            // Everything but the quantiles is exact.
            #expect(NSDictionary(dictionary: rollup).isEqual(to: direct), "window \(window): \(rollup) != \(direct)")
            #expect(approximate["max"] as? Int == exact["max"] as? Int, "window \(window)")
            for name in ["p50", "p90", "p99"] {
                guard let value = exact[name] as? Int else {
                    #expect(approximate[name] is NSNull, "window \(window) \(name)")
                    continue
                }
                let estimate = try #require(approximate[name] as? Int, "window \(window) \(name)")
                // Bucket middle: within 10^(1/48) - 1 = 4.9 %, plus the rounding to whole cents.
                #expect(
                    abs(Double(estimate - value)) <= Double(value) * 0.0491 + 0.5,
                    "window \(window) \(name): \(estimate) vs exact \(value)"
                )
            }
        }
    }

    private static let windows = [1, 2, 14, 15, 16, 59, 60, 61, 119, 600, 1_439, 1_440, 2_881, 10_080]

    @Test("The summary read from the rollups equals the aggregates over decisions (migration backfill + trigger)")
    func rollupSummaryMatchesDirectAggregates() async throws {
        try await withSchema { url, _ in
            let connection = try TestPostgres.connect(url)
            let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
            // Rows stored before the rollups exist: the migration backfills them.
            try Migrations.apply(on: connection, through: 2)
            let inserter = BatchInserter(method: .copy)
            try inserter.prepare(on: connection)
            let old = Self.spread("before", count: 3_000, spanMinutes: 3 * 1_440, now: now)
            #expect(try inserter.insert(old, on: connection) == old.count)
            try Migrations.apply(on: connection)
            try Self.expectSummariesAgree(connection, windows: Self.windows)

            // Later rows through every insert method; replays must not be counted twice.
            let recent = Self.spread("after", count: 2_000, spanMinutes: 90, now: now)
            let thirds = stride(from: 0, to: recent.count, by: 700).map {
                Array(recent[$0..<min($0 + 700, recent.count)])
            }
            for (method, batch) in zip(PersistenceConfiguration.InsertMethod.allCases, thirds) {
                let other = BatchInserter(method: method)
                try other.prepare(on: connection)
                // The batch plus rows already stored: the COPY falls back to the staged insert.
                #expect(try other.insert(batch + old.prefix(50), on: connection) == batch.count)
                #expect(try other.insert(batch, on: connection) == 0)
            }
            try Self.expectSummariesAgree(connection, windows: Self.windows)

            // A rolled-back batch leaves the rollups alone.
            try connection.execute("BEGIN")
            _ = try inserter.insert(Self.spread("rolled-back", count: 100, spanMinutes: 5, now: now), on: connection)
            try connection.execute("ROLLBACK")
            try Self.expectSummariesAgree(connection, windows: [5, 60])

            // After a manual DELETE the rebuild function restores them; TRUNCATE empties them.
            try connection.execute("DELETE FROM decisions WHERE amount_cents % 3 = 0")
            try connection.execute("SELECT decisions_rollup_rebuild()")
            try Self.expectSummariesAgree(connection, windows: [15, 60, 10_080])

            // The store answers from the rollups (and caches): all rows are well inside a week.
            let store = AnalyticsStore(url: url, logger: Logger(label: "test"))
            defer { store.shutdown() }
            let total = try connection.execute("SELECT count(*) FROM decisions").rows[0][0]
            let summary = try Self.json(try await store.summary(windowMinutes: 10_080))
            #expect("\(summary["total"] ?? "")" == total)
            #expect(try await store.summary(windowMinutes: 10_080) == (try await store.summary(windowMinutes: 10_080)))
            let plan = try await store.explain(.summary, filter: AnalyticsFilter()).joined(separator: "\n")
            #expect(plan.contains("decisions_rollup") && !plan.contains("on decisions "), "\(plan)")

            try connection.execute("TRUNCATE decisions")
            let left = try connection.execute(
                "SELECT (SELECT count(*) FROM decisions_rollup) + (SELECT count(*) FROM decisions_rollup_amounts) "
                    + "+ (SELECT count(*) FROM decisions_rollup_reasons)"
            ).rows[0][0]
            #expect(left == "0")
        }
    }
}
