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
