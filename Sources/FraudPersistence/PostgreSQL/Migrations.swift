import Logging

/// One versioned schema change. The SQL is also in `deploy/migrations/<fileName>` (a test checks that they
/// are identical), for DBAs who apply migrations by hand.
struct Migration: Sendable {
    /// Applied in ascending order; recorded in `schema_migrations.version`.
    var version: Int
    var name: String
    /// The file under `deploy/migrations/`.
    var fileName: String
    /// A failure with SQLSTATE 42501 (insufficient privilege) is logged and the migration left for the next
    /// start instead of stopping the others (the `fraud_writer` role needs CREATEROLE).
    var isSkippableWithoutPrivilege: Bool
    var sql: String
}

/// Applies the schema at start-up under a database-wide advisory lock, so that several servers starting
/// together apply each migration exactly once.
enum Migrations {
    /// `pg_advisory_lock` key shared by every fraud-server ("FRAUDDB" in ASCII).
    static let advisoryLockKey: Int64 = 0x46_52_41_55_44_44_42

    /// Every migration, ascending by version.
    static let all: [Migration] = [
        Migration(
            version: 1,
            name: "create_decisions",
            fileName: "0001_create_decisions.sql",
            isSkippableWithoutPrivilege: false,
            sql: #"""
                -- 0001: the decisions table and the indexes of the analytics queries.
                --
                -- One row per transaction_id, written only by fraud-server's decision writer with
                -- INSERT ... ON CONFLICT (transaction_id) DO NOTHING, so replaying the journal never duplicates a row.
                --
                -- step and server_time_us are bigint: the wire types are uint32, which do not fit in integer.
                -- Money is integer cents (bigint), never floating point. risk_score and reasons[].weight are the
                -- engine's float32 values; real holds them exactly.
                --
                -- Partitioning: not now. Retention by time would be the reason to partition (drop a month as one
                -- DETACH/DROP PARTITION instead of a long DELETE), but a primary key on a partitioned table must include
                -- the partition key, so transaction_id alone could no longer be the idempotency key: a replayed record
                -- with a different scored_at would land in another partition as a second row. Keeping exactly-once on
                -- transaction_id is worth more than cheap retention at the current volume (tens of GB a year at the
                -- benchmark rate). When retention is needed: partition by range on scored_at and move idempotency to a
                -- small unpartitioned decisions_ids(transaction_id primary key) table written in the same statement.
                CREATE TABLE decisions (
                    transaction_id                   text     NOT NULL PRIMARY KEY,
                    step                             bigint   NOT NULL CHECK (step >= 0),
                    type                             text     NOT NULL
                        CHECK (type IN ('PAYMENT', 'TRANSFER', 'CASH_OUT', 'CASH_IN', 'DEBIT')),
                    amount_cents                     bigint   NOT NULL,
                    origin_account                   text     NOT NULL,
                    origin_balance_before_cents      bigint   NOT NULL,
                    origin_balance_after_cents       bigint   NOT NULL,
                    destination_account              text     NOT NULL,
                    destination_balance_before_cents bigint   NOT NULL,
                    destination_balance_after_cents  bigint   NOT NULL,
                    -- NULL when unknown (live traffic); set only by backfills of labelled history.
                    label                            text     NULL CHECK (label IN ('LEGITIMATE', 'FRAUD')),
                    risk_score                       real     NOT NULL,
                    decision                         text     NOT NULL CHECK (decision IN ('APPROVE', 'REVIEW', 'DECLINE')),
                    -- [{"code": "ORIGIN_DRAINED", "detail": "...", "weight": 0.7}, ...], most important first.
                    reasons                          jsonb    NOT NULL,
                    model_version                    text     NOT NULL,
                    server_time_us                   bigint   NOT NULL CHECK (server_time_us >= 0),
                    scored_at                        timestamptz NOT NULL
                );

                -- An account's history in event time (velocity, investigations), as origin and as destination.
                CREATE INDEX decisions_origin_step_idx ON decisions (origin_account, step);
                CREATE INDEX decisions_destination_step_idx ON decisions (destination_account, step);
                -- Review queues and dashboards: declines/reviews over wall-clock time.
                CREATE INDEX decisions_decision_scored_at_idx ON decisions (decision, scored_at);
                -- Time ranges and retention.
                CREATE INDEX decisions_scored_at_idx ON decisions (scored_at);
                -- Warm start: the last N steps of event time.
                CREATE INDEX decisions_step_idx ON decisions (step);
                """#
        ),
        Migration(
            version: 2,
            name: "create_fraud_writer_role",
            fileName: "0002_create_fraud_writer_role.sql",
            isSkippableWithoutPrivilege: true,
            sql: #"""
                -- 0002: fraud_writer, the least-privilege role for fraud-server: read and insert decisions, nothing else
                -- (no UPDATE, DELETE, TRUNCATE, DDL), plus reading schema_migrations so a server connecting as a member
                -- of it can check that the schema is current.
                --
                -- NOLOGIN: grant it to the server's login role (GRANT fraud_writer TO fraud_server_login) and run
                -- migrations as the owner. Creating a role needs CREATEROLE (roles are cluster-wide); when the
                -- migrating user lacks it, this migration fails with insufficient_privilege, fraud-server logs a line,
                -- does not record it, and tries again at the next start.
                DO $$
                BEGIN
                    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fraud_writer') THEN
                        IF NOT (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                            RAISE EXCEPTION 'role % cannot create role fraud_writer (needs CREATEROLE)', current_user
                                USING ERRCODE = 'insufficient_privilege';
                        END IF;
                        CREATE ROLE fraud_writer NOLOGIN;
                    END IF;
                END
                $$;
                REVOKE ALL ON decisions FROM fraud_writer;
                GRANT SELECT, INSERT ON decisions TO fraud_writer;
                GRANT SELECT ON schema_migrations TO fraud_writer;
                DO $$
                BEGIN
                    EXECUTE format('GRANT USAGE ON SCHEMA %I TO fraud_writer', current_schema());
                END
                $$;
                """#
        ),
        Migration(
            version: 3,
            name: "create_decision_rollups",
            fileName: "0003_create_decision_rollups.sql",
            isSkippableWithoutPrivilege: false,
            sql: #"""
                -- 0003: rollups of decisions for GET /api/v1/analytics/summary, so the summary reads a few thousand small
                -- rows instead of every decision in its window (0.3-0.5 s on 100 k rows before, seconds on a million).
                --
                -- Three tables, each at three grains (minute, hour and day periods, aligned to UTC by date_bin from the
                -- epoch). A window that starts at minute S and runs to now reads minute periods from S to the next full
                -- hour, hour periods to the next full day, then day periods: at most 59 + 23 + one per day.
                --   decisions_rollup          period x type x decision x label: count, min and max amount
                --   decisions_rollup_amounts  period x amount bucket: count (the amount distribution; buckets below)
                --   decisions_rollup_reasons  period x reason code: occurrences in REVIEW and DECLINE decisions
                --
                -- Maintained by PostgreSQL in the writer's transaction: a statement-level AFTER INSERT trigger with a
                -- transition table adds the rows each COPY or INSERT statement actually stored (rows skipped by ON CONFLICT
                -- DO NOTHING are not in it), so every write path (the writer's COPY, its staged fallback, a manual psql
                -- \copy) keeps the rollups exact and a rolled-back batch leaves them untouched. The trigger functions are
                -- SECURITY DEFINER: the writer's role keeps SELECT + INSERT on decisions and never writes a rollup itself.
                --
                -- fraud-server never updates or deletes decisions. After a manual DELETE run
                -- SELECT decisions_rollup_rebuild(); a TRUNCATE of decisions empties the rollups by itself.
                --
                -- Amount buckets: 24 per decade, geometric (each 10^(1/24) = 1.10 times the previous), numbered by the
                -- decade floor(log10(amount)) (the same expression the summary always used, so the decade histogram is
                -- exact) and the bucket 0..23 inside it. A quantile read from the buckets (the bucket's geometric middle,
                -- clamped to the window's min and max) is within 4.9 % of the exact percentile_disc.

                -- floor(log10(amount)); decade 0 for amounts below 10 cents (and below 1).
                CREATE FUNCTION decisions_amount_decade(amount bigint) RETURNS integer
                    LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    RETURN floor(log(greatest(amount, 1)))::integer;

                -- The geometric bucket 0..23 of amount inside its decade.
                CREATE FUNCTION decisions_amount_bucket(amount bigint) RETURNS integer
                    LANGUAGE sql IMMUTABLE PARALLEL SAFE
                    RETURN least(23, greatest(0, floor(24 * (log(greatest(amount, 1)) - decisions_amount_decade(amount)))))::integer;

                CREATE TABLE decisions_rollup (
                    grain            text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
                    period_start     timestamptz NOT NULL,
                    type             text        NOT NULL,
                    decision         text        NOT NULL,
                    -- '' when unknown (decisions.label IS NULL).
                    label            text        NOT NULL,
                    decisions        bigint      NOT NULL,
                    amount_cents_min bigint      NOT NULL,
                    amount_cents_max bigint      NOT NULL,
                    PRIMARY KEY (grain, period_start, type, decision, label)
                );

                CREATE TABLE decisions_rollup_amounts (
                    grain        text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
                    period_start timestamptz NOT NULL,
                    decade       integer     NOT NULL,
                    bucket       integer     NOT NULL,
                    decisions    bigint      NOT NULL,
                    PRIMARY KEY (grain, period_start, decade, bucket)
                );

                CREATE TABLE decisions_rollup_reasons (
                    grain        text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
                    period_start timestamptz NOT NULL,
                    code         text        NOT NULL,
                    -- Occurrences of the code in the reasons of REVIEW and DECLINE decisions.
                    occurrences  bigint      NOT NULL,
                    PRIMARY KEY (grain, period_start, code)
                );

                -- Adds the decisions of one statement (transition table new_decisions) to the rollups: aggregated per
                -- minute first, then the minutes per hour and day. Keys are upserted in primary-key order, so concurrent
                -- writers lock rollup rows in the same order.
                CREATE FUNCTION decisions_rollup_add() RETURNS trigger
                    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
                AS $$
                BEGIN
                    WITH m AS (
                        SELECT date_bin('1 minute', scored_at, timestamptz 'epoch') AS minute, type, decision,
                               coalesce(label, '') AS label, count(*) AS n, min(amount_cents) AS low, max(amount_cents) AS high
                        FROM new_decisions GROUP BY 1, 2, 3, 4
                    )
                    INSERT INTO decisions_rollup AS r
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.type, m.decision, m.label,
                           sum(m.n), min(m.low), max(m.high)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
                    ON CONFLICT (grain, period_start, type, decision, label) DO UPDATE
                    SET decisions = r.decisions + excluded.decisions,
                        amount_cents_min = least(r.amount_cents_min, excluded.amount_cents_min),
                        amount_cents_max = greatest(r.amount_cents_max, excluded.amount_cents_max);

                    WITH m AS (
                        SELECT date_bin('1 minute', scored_at, timestamptz 'epoch') AS minute,
                               decisions_amount_decade(amount_cents) AS decade, decisions_amount_bucket(amount_cents) AS bucket,
                               count(*) AS n
                        FROM new_decisions GROUP BY 1, 2, 3
                    )
                    INSERT INTO decisions_rollup_amounts AS r
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.decade, m.bucket, sum(m.n)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
                    ON CONFLICT (grain, period_start, decade, bucket) DO UPDATE
                    SET decisions = r.decisions + excluded.decisions;

                    WITH m AS (
                        SELECT date_bin('1 minute', d.scored_at, timestamptz 'epoch') AS minute, e->>'code' AS code, count(*) AS n
                        FROM new_decisions d CROSS JOIN LATERAL jsonb_array_elements(d.reasons) e
                        WHERE d.decision <> 'APPROVE' AND e->>'code' IS NOT NULL GROUP BY 1, 2
                    )
                    INSERT INTO decisions_rollup_reasons AS r
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.code, sum(m.n)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                    ON CONFLICT (grain, period_start, code) DO UPDATE
                    SET occurrences = r.occurrences + excluded.occurrences;
                    RETURN NULL;
                END
                $$;

                CREATE TRIGGER decisions_rollup_add AFTER INSERT ON decisions
                    REFERENCING NEW TABLE AS new_decisions
                    FOR EACH STATEMENT EXECUTE FUNCTION decisions_rollup_add();

                CREATE FUNCTION decisions_rollup_clear() RETURNS trigger
                    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
                AS $$
                BEGIN
                    TRUNCATE decisions_rollup, decisions_rollup_amounts, decisions_rollup_reasons;
                    RETURN NULL;
                END
                $$;

                CREATE TRIGGER decisions_rollup_clear AFTER TRUNCATE ON decisions
                    FOR EACH STATEMENT EXECUTE FUNCTION decisions_rollup_clear();

                -- Recomputes the rollups from every stored decision (the backfill below; after a manual DELETE). The same
                -- aggregation as decisions_rollup_add, over decisions instead of the transition table.
                CREATE FUNCTION decisions_rollup_rebuild() RETURNS void
                    LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT
                AS $$
                BEGIN
                    -- Writers wait, so no batch is missed or counted twice.
                    LOCK TABLE decisions IN SHARE MODE;
                    TRUNCATE decisions_rollup, decisions_rollup_amounts, decisions_rollup_reasons;
                    WITH m AS (
                        SELECT date_bin('1 minute', scored_at, timestamptz 'epoch') AS minute, type, decision,
                               coalesce(label, '') AS label, count(*) AS n, min(amount_cents) AS low, max(amount_cents) AS high
                        FROM decisions GROUP BY 1, 2, 3, 4
                    )
                    INSERT INTO decisions_rollup
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.type, m.decision, m.label,
                           sum(m.n), min(m.low), max(m.high)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3, 4, 5;

                    WITH m AS (
                        SELECT date_bin('1 minute', scored_at, timestamptz 'epoch') AS minute,
                               decisions_amount_decade(amount_cents) AS decade, decisions_amount_bucket(amount_cents) AS bucket,
                               count(*) AS n
                        FROM decisions GROUP BY 1, 2, 3
                    )
                    INSERT INTO decisions_rollup_amounts
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.decade, m.bucket, sum(m.n)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3, 4;

                    WITH m AS (
                        SELECT date_bin('1 minute', d.scored_at, timestamptz 'epoch') AS minute, e->>'code' AS code, count(*) AS n
                        FROM decisions d CROSS JOIN LATERAL jsonb_array_elements(d.reasons) e
                        WHERE d.decision <> 'APPROVE' AND e->>'code' IS NOT NULL GROUP BY 1, 2
                    )
                    INSERT INTO decisions_rollup_reasons
                    SELECT g.grain, date_bin(g.width, m.minute, timestamptz 'epoch'), m.code, sum(m.n)
                    FROM m CROSS JOIN (VALUES ('minute', interval '1 minute'), ('hour', interval '1 hour'),
                                              ('day', interval '1 day')) g(grain, width)
                    GROUP BY 1, 2, 3;
                END
                $$;

                -- Backfill from the rows stored before this migration.
                SELECT decisions_rollup_rebuild();

                -- A server logging in as a member of fraud_writer reads the rollups on its analytics connections.
                DO $$
                BEGIN
                    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'fraud_writer') THEN
                        GRANT SELECT ON decisions_rollup, decisions_rollup_amounts, decisions_rollup_reasons TO fraud_writer;
                    END IF;
                END
                $$;
                """#
        ),
    ]

    /// Applies the missing migrations on `connection`.
    ///
    /// - Parameters:
    ///   - connection: An open connection; the migrations run in transactions of their own on it.
    ///   - lastVersion: Stop after this version (tests: data written under an older schema).
    ///   - logger: One line per applied or skipped migration.
    /// - Returns: The versions applied now.
    /// - Throws: ``PostgresError`` from a failed migration (rolled back) or from the bookkeeping.
    @discardableResult
    static func apply(
        on connection: PGConnection,
        through lastVersion: Int = .max,
        logger: Logger = Logger(label: "fraud.persistence")
    ) throws(PostgresError) -> [Int] {
        try connection.execute("SELECT pg_advisory_lock(\(advisoryLockKey))")
        defer { _ = try? connection.execute("SELECT pg_advisory_unlock(\(advisoryLockKey))") }
        // Checked before CREATE so that a role without CREATE on the schema can start once it exists.
        let existing = try connection.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if existing.rows.first?.first != "t" {
            try connection.execute(
                """
                CREATE TABLE schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
        }
        let versions = try connection.execute("SELECT version FROM schema_migrations").rows
        let applied = Set(versions.compactMap { row in row.first.flatMap { $0 }.flatMap { Int($0) } })
        var done: [Int] = []
        for migration in all where !applied.contains(migration.version) && migration.version <= lastVersion {
            do {
                try connection.execute("BEGIN")
                try connection.execute(migration.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    parameters: [String(migration.version), migration.name]
                )
                try connection.execute("COMMIT")
                done.append(migration.version)
                logger.info(
                    "applied schema migration",
                    metadata: [LogKey.version: "\(migration.version) \(migration.name)"]
                )
            } catch {
                _ = try? connection.execute("ROLLBACK")
                if migration.isSkippableWithoutPrivilege && error.sqlState == "42501" {
                    logger.warning(
                        "schema migration skipped for lack of privilege; will be tried again at the next start",
                        metadata: [LogKey.version: "\(migration.version) \(migration.name)", LogKey.error: "\(error)"]
                    )
                    continue
                }
                throw error
            }
        }
        return done
    }
}
