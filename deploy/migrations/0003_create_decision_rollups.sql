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
