extension AnalyticsStore {
    /// The JSON object of one `decisions` row, as a SQL expression.
    static let rowJSON = """
        json_build_object('transaction_id', transaction_id, 'step', step, 'type', type, \
        'amount_cents', amount_cents, 'origin_account', origin_account, \
        'origin_balance_before_cents', origin_balance_before_cents, \
        'origin_balance_after_cents', origin_balance_after_cents, 'destination_account', destination_account, \
        'destination_balance_before_cents', destination_balance_before_cents, \
        'destination_balance_after_cents', destination_balance_after_cents, 'label', label, \
        'risk_score', risk_score, 'decision', decision, 'reasons', reasons, 'model_version', model_version, \
        'server_time_us', server_time_us, 'scored_at', scored_at)::text
        """

    /// The WHERE clause and parameters of `filter` (keyset included), and the LIMIT parameter's number.
    static func listing(_ filter: AnalyticsFilter) -> (sql: String, parameters: [String?]) {
        var conditions: [String] = []
        var parameters: [String?] = []
        func bind(_ value: String) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let account = filter.account {
            let p = bind(account)
            conditions.append("(origin_account = \(p) OR destination_account = \(p))")
        }
        if !filter.types.isEmpty {
            conditions.append("type = ANY(\(bind("{" + filter.types.joined(separator: ",") + "}"))::text[])")
        }
        if !filter.decisions.isEmpty {
            conditions.append(
                "decision = ANY(\(bind("{" + filter.decisions.joined(separator: ",") + "}"))::text[])"
            )
        }
        if let from = filter.stepFrom { conditions.append("step >= \(bind("\(from)"))::bigint") }
        if let to = filter.stepTo { conditions.append("step <= \(bind("\(to)"))::bigint") }
        let epoch = "'epoch'::timestamptz + interval '1 microsecond' *"
        if let since = filter.sinceMicros { conditions.append("scored_at >= \(epoch) \(bind("\(since)"))::bigint") }
        if let until = filter.untilMicros { conditions.append("scored_at < \(epoch) \(bind("\(until)"))::bigint") }
        if let low = filter.minScore { conditions.append("risk_score >= \(bind("\(low)"))::real") }
        if let high = filter.maxScore { conditions.append("risk_score <= \(bind("\(high)"))::real") }
        if let after = filter.after {
            let at = bind("\(after.scoredAtMicros)")
            let id = bind(after.transactionID)
            // The first conjunct is a plain range the scored_at indexes can use; the second breaks ties.
            conditions.append(
                "scored_at <= \(epoch) \(at)::bigint AND (scored_at < \(epoch) \(at)::bigint OR transaction_id < \(id))"
            )
        }
        let limit = bind("\(filter.limit + 1)")
        let sql = """
            SELECT (extract(epoch FROM scored_at) * 1000000)::bigint, transaction_id, \(rowJSON)
            FROM decisions\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            ORDER BY scored_at DESC, transaction_id DESC LIMIT \(limit)::int
            """
        return (sql, parameters)
    }

    /// Decisions matching `filter`, newest first (`scored_at DESC, transaction_id DESC`), one page.
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable or the statement times out.
    public func transactions(_ filter: AnalyticsFilter) async throws(AnalyticsError) -> AnalyticsPage {
        let (sql, parameters) = Self.listing(filter)
        let limit = filter.limit
        let text = try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(sql, parameters: parameters).rows
            // Rows joined by a separator that cannot occur in JSON text: "\u{1}".
            var lines: [String] = []
            for row in rows.prefix(limit) { lines.append("\(row[0] ?? "0")\u{1}\(row[1] ?? "")\u{1}\(row[2] ?? "null")") }
            if rows.count > limit { lines.append("more") }
            return lines.joined(separator: "\u{2}")
        }
        var items: [String] = []
        var last: PageCursor?
        var hasMore = false
        for line in text.split(separator: "\u{2}", omittingEmptySubsequences: true) {
            if line == "more" {
                hasMore = true
                continue
            }
            let parts = line.split(separator: "\u{1}", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            last = PageCursor(scoredAtMicros: Int64(parts[0]) ?? 0, transactionID: String(parts[1]))
            items.append(String(parts[2]))
        }
        return AnalyticsPage(itemsJSON: items, next: hasMore ? last : nil)
    }

    /// Aggregates over the decisions scored in the last `windowMinutes` minutes, as one JSON object:
    /// totals, by type (flagged and labelled-fraud rates), by decision, amount quantiles and decades,
    /// top reason codes of flagged decisions, decisions per minute (last 15 minutes), and precision /
    /// recall of the live decisions where the label is known.
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable or the statement times out.
    public func summary(windowMinutes: Int) async throws(AnalyticsError) -> String {
        try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(Self.summarySQL, parameters: ["\(windowMinutes)"]).rows
            return rows.first?.first.flatMap { $0 } ?? "{}"
        }
    }

    static let summarySQL = """
        WITH w AS MATERIALIZED (
            SELECT type, decision, label, amount_cents, reasons, scored_at FROM decisions
            WHERE scored_at >= now() - interval '1 minute' * $1::int
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
                SELECT date_trunc('minute', scored_at) AS minute, count(*) AS decisions
                FROM w WHERE scored_at >= now() - interval '15 minutes' GROUP BY 1) m),
            'live_quality', (SELECT json_build_object(
                'labelled', labelled, 'true_positives', tp, 'false_positives', fp, 'false_negatives', fn,
                'precision', CASE WHEN tp + fp > 0 THEN round(tp::numeric / (tp + fp), 6) END,
                'recall', CASE WHEN tp + fn > 0 THEN round(tp::numeric / (tp + fn), 6) END) FROM q)
        )::text
        """

    /// An account's most recent decisions (as origin or destination), newest step first, as a JSON array,
    /// and the highest step seen (for the velocity figures).
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable or the statement times out.
    public func accountActivity(account: String, limit: Int) async throws(AnalyticsError) -> (json: String, lastStep: UInt32?) {
        let text = try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(Self.accountSQL, parameters: [account, "\(limit)"]).rows
            let row = rows.first ?? [nil, nil]
            return "\(row[1] ?? "")\u{1}\(row[0] ?? "[]")"
        }
        let parts = text.split(separator: "\u{1}", maxSplits: 1, omittingEmptySubsequences: false)
        return (String(parts.count > 1 ? parts[1] : "[]"), UInt32(parts[0]))
    }

    // Two index scans (origin, destination) merged; each side limited before the merge.
    static let accountSQL = """
        SELECT coalesce(json_agg(a.j ORDER BY a.step DESC, a.transaction_id DESC), '[]')::text, max(a.step)
        FROM (
            (SELECT step, transaction_id, \(rowJSON)::jsonb AS j FROM decisions
             WHERE origin_account = $1 ORDER BY step DESC LIMIT $2::int)
            UNION
            (SELECT step, transaction_id, \(rowJSON)::jsonb AS j FROM decisions
             WHERE destination_account = $1 ORDER BY step DESC LIMIT $2::int)
            ORDER BY step DESC, transaction_id DESC LIMIT $2::int
        ) a
        """

    /// Which query ``explain(_:filter:)`` plans.
    public enum ExplainedQuery: String, Sendable, CaseIterable {
        /// ``transactions(_:)`` with the given filter.
        case transactions
        /// ``summary(windowMinutes:)`` (60 minutes).
        case summary
        /// ``accountActivity(account:limit:)`` for the filter's account.
        case account
    }

    /// The plan PostgreSQL picks for a query (`EXPLAIN`, text lines), with sequential scans disabled so a
    /// small test table shows the index the query would use on a large one.
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable.
    public func explain(_ query: ExplainedQuery, filter: AnalyticsFilter) async throws(AnalyticsError) -> [String] {
        let text = try await perform { connection throws(PostgresError) in
            let (sql, parameters): (String, [String?])
            switch query {
            case .transactions: (sql, parameters) = Self.listing(filter)
            case .summary: (sql, parameters) = (Self.summarySQL, ["60"])
            case .account: (sql, parameters) = (Self.accountSQL, [filter.account ?? "", "\(filter.limit)"])
            }
            try connection.execute("BEGIN; SET LOCAL enable_seqscan = off")
            defer { _ = try? connection.execute("ROLLBACK") }
            let rows = try connection.execute("EXPLAIN " + sql, parameters: parameters).rows
            return rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        }
        return text.split(separator: "\n").map(String.init)
    }

    /// Whether a query thread can reach PostgreSQL (`SELECT 1`).
    public func ping() async -> Bool {
        (try? await perform { connection throws(PostgresError) in
            try connection.execute("SELECT 1")
            return "ok"
        }) == "ok"
    }
}
