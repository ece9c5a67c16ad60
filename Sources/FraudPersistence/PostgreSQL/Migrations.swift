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
    ]

    /// Applies the missing migrations on `connection`.
    ///
    /// - Returns: The versions applied now.
    /// - Throws: ``PostgresError`` from a failed migration (rolled back) or from the bookkeeping.
    @discardableResult
    static func apply(
        on connection: PGConnection,
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
        for migration in all where !applied.contains(migration.version) {
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
