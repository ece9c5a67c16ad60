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
        return try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(sql, parameters: parameters).rows
            var items: [String] = []
            items.reserveCapacity(min(rows.count, limit))
            var last: PageCursor?
            for row in rows.prefix(limit) {
                last = PageCursor(scoredAtMicros: Int64(row[0] ?? "0") ?? 0, transactionID: row[1] ?? "")
                items.append(row[2] ?? "null")
            }
            return AnalyticsPage(itemsJSON: items, next: rows.count > limit ? last : nil)
        }
    }

    /// Aggregates over the decisions of the last `windowMinutes` minutes, as one JSON object: totals, by
    /// type (flagged and labelled-fraud rates), by decision, amount quantiles and decades, top reason codes
    /// of flagged decisions, decisions per minute (last 15 minutes), and precision / recall of the live
    /// decisions where the label is known.
    ///
    /// Reads only the rollup tables (migration 0003), never `decisions`, so its cost does not grow with the
    /// rows in the window. The window is whole UTC minutes: the current minute and the `windowMinutes`
    /// before it. Every figure is exact except the amount quantiles, read from geometric buckets (24 per
    /// decade): within 4.9 % of `percentile_disc`. A summary is reused for ``summaryCacheTTL``.
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable or the statement times out.
    public func summary(windowMinutes: Int) async throws(AnalyticsError) -> String {
        if let cached = cachedSummary(windowMinutes: windowMinutes) { return cached }
        let started = ContinuousClock.now
        let json = try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(Self.summarySQL, parameters: ["\(windowMinutes)"]).rows
            return rows.first?.first.flatMap { $0 } ?? "{}"
        }
        cacheSummary(json, windowMinutes: windowMinutes, at: started)
        return json
    }

    // The window [since, now] is read as minute periods up to the first full hour, hour periods up to the
    // first full day, then day periods (p); the upper end is open, as the periods after now are empty.
    static let summarySQL = """
        WITH b AS (
            SELECT date_bin('1 minute', now(), timestamptz 'epoch') - interval '1 minute' * $1::int AS since,
                   date_bin('1 minute', now(), timestamptz 'epoch') - interval '1 minute' * least($1::int, 15) AS recent
        ), h AS (
            SELECT since, recent,
                   date_bin('1 hour', since - interval '1 microsecond', timestamptz 'epoch') + interval '1 hour' AS hour
            FROM b
        ), p AS (
            SELECT 'minute' AS grain, since AS low, hour AS high FROM h
            UNION ALL
            SELECT 'hour', hour, date_bin('1 day', hour - interval '1 microsecond', timestamptz 'epoch') + interval '1 day' FROM h
            UNION ALL
            SELECT 'day', date_bin('1 day', hour - interval '1 microsecond', timestamptz 'epoch') + interval '1 day',
                   timestamptz 'infinity' FROM h
        ), c AS MATERIALIZED (
            SELECT r.type, r.decision, r.label, r.decisions, r.amount_cents_min, r.amount_cents_max
            FROM p JOIN decisions_rollup r ON r.grain = p.grain AND r.period_start >= p.low AND r.period_start < p.high
        ), a AS MATERIALIZED (
            SELECT r.decade, r.bucket, sum(r.decisions)::bigint AS decisions
            FROM p JOIN decisions_rollup_amounts r ON r.grain = p.grain AND r.period_start >= p.low AND r.period_start < p.high
            GROUP BY 1, 2
        ), t AS (
            SELECT coalesce(sum(decisions), 0)::bigint AS total, min(amount_cents_min) AS low, max(amount_cents_max) AS high
            FROM c
        ), cum AS (
            SELECT decade, bucket, sum(decisions) OVER (ORDER BY decade, bucket) AS upto FROM a
        ), q AS (
            SELECT coalesce(sum(decisions) FILTER (WHERE label = 'FRAUD' AND decision <> 'APPROVE'), 0) AS tp,
                   coalesce(sum(decisions) FILTER (WHERE label = 'LEGITIMATE' AND decision <> 'APPROVE'), 0) AS fp,
                   coalesce(sum(decisions) FILTER (WHERE label = 'FRAUD' AND decision = 'APPROVE'), 0) AS fn,
                   coalesce(sum(decisions) FILTER (WHERE label <> ''), 0) AS labelled
            FROM c
        ), quantile AS (
            -- percentile_disc(f): the first value at or past position ceil(f * total), in float8 as PostgreSQL does.
            SELECT f.name, (SELECT least(t.high, greatest(t.low, round(10 ^ (cum.decade + (cum.bucket + 0.5) / 24.0))::bigint))
                            FROM cum WHERE cum.upto >= greatest(1, ceil(f.fraction * t.total))
                            ORDER BY cum.decade, cum.bucket LIMIT 1) AS value
            FROM t, (VALUES ('p50', 0.5::float8), ('p90', 0.9::float8), ('p99', 0.99::float8)) f(name, fraction)
        )
        SELECT json_build_object(
            'window_minutes', $1::int,
            'total', (SELECT total FROM t),
            'by_type', (SELECT coalesce(json_agg(x ORDER BY x.type), '[]') FROM (
                SELECT type, sum(decisions)::bigint AS total,
                       coalesce(sum(decisions) FILTER (WHERE decision <> 'APPROVE'), 0)::bigint AS flagged,
                       round(coalesce(sum(decisions) FILTER (WHERE decision <> 'APPROVE'), 0) / sum(decisions), 6)
                           AS flagged_rate,
                       coalesce(sum(decisions) FILTER (WHERE label <> ''), 0)::bigint AS labelled,
                       coalesce(sum(decisions) FILTER (WHERE label = 'FRAUD'), 0)::bigint AS labelled_fraud,
                       CASE WHEN sum(decisions) FILTER (WHERE label <> '') > 0
                            THEN round(coalesce(sum(decisions) FILTER (WHERE label = 'FRAUD'), 0)
                                       / sum(decisions) FILTER (WHERE label <> ''), 6) END AS fraud_rate
                FROM c GROUP BY type) x),
            'by_decision', (SELECT json_build_object(
                'APPROVE', coalesce(sum(decisions) FILTER (WHERE decision = 'APPROVE'), 0)::bigint,
                'REVIEW', coalesce(sum(decisions) FILTER (WHERE decision = 'REVIEW'), 0)::bigint,
                'DECLINE', coalesce(sum(decisions) FILTER (WHERE decision = 'DECLINE'), 0)::bigint) FROM c),
            'amount_cents', (SELECT json_build_object(
                'p50', (SELECT value FROM quantile WHERE name = 'p50'),
                'p90', (SELECT value FROM quantile WHERE name = 'p90'),
                'p99', (SELECT value FROM quantile WHERE name = 'p99'),
                'max', t.high) FROM t),
            'amount_decades', (SELECT coalesce(json_agg(x ORDER BY x.decade), '[]') FROM (
                SELECT decade, sum(decisions)::bigint AS count FROM a GROUP BY 1) x),
            'top_reasons', (SELECT coalesce(json_agg(x), '[]') FROM (
                SELECT r.code, sum(r.occurrences)::bigint AS count
                FROM p JOIN decisions_rollup_reasons r
                    ON r.grain = p.grain AND r.period_start >= p.low AND r.period_start < p.high
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10) x),
            'per_minute', (SELECT coalesce(json_agg(x ORDER BY x.minute), '[]') FROM (
                SELECT r.period_start AS minute, sum(r.decisions)::bigint AS decisions
                FROM h JOIN decisions_rollup r ON r.grain = 'minute' AND r.period_start >= h.recent GROUP BY 1) x),
            'live_quality', (SELECT json_build_object(
                'labelled', labelled, 'true_positives', tp, 'false_positives', fp, 'false_negatives', fn,
                'precision', CASE WHEN tp + fp > 0 THEN round(tp / (tp + fp), 6) END,
                'recall', CASE WHEN tp + fn > 0 THEN round(tp / (tp + fn), 6) END) FROM q)
        )::text
        """

    /// An account's most recent decisions (as origin or destination), newest step first, as a JSON array,
    /// and the highest step seen (for the velocity figures).
    ///
    /// - Throws: ``AnalyticsError`` when PostgreSQL is unreachable or the statement times out.
    public func accountActivity(account: String, limit: Int) async throws(AnalyticsError) -> (json: String, lastStep: UInt32?) {
        try await perform { connection throws(PostgresError) in
            let rows = try connection.execute(Self.accountSQL, parameters: [account, "\(limit)"]).rows
            let row = rows.first ?? [nil, nil]
            return (row[0] ?? "[]", row[1].flatMap { UInt32($0) })
        }
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
        try await perform { connection throws(PostgresError) in
            let (sql, parameters): (String, [String?])
            switch query {
            case .transactions: (sql, parameters) = Self.listing(filter)
            case .summary: (sql, parameters) = (Self.summarySQL, ["60"])
            case .account: (sql, parameters) = (Self.accountSQL, [filter.account ?? "", "\(filter.limit)"])
            }
            try connection.execute("BEGIN; SET LOCAL enable_seqscan = off")
            defer { _ = try? connection.execute("ROLLBACK") }
            let rows = try connection.execute("EXPLAIN " + sql, parameters: parameters).rows
            return rows.compactMap { $0.first ?? nil }
        }
    }

    /// Whether a query thread can reach PostgreSQL (`SELECT 1`).
    public func ping() async -> Bool {
        (try? await perform { connection throws(PostgresError) in
            try connection.execute("SELECT 1")
            return "ok"
        }) == "ok"
    }
}
