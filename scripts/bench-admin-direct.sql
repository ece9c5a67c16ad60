-- scripts/bench-admin.sh: the summary as computed before the rollups (every figure straight from decisions,
-- the same query as RollupTests.directSummarySQL), for the before/after comparison. :window = window_minutes.
WITH w AS MATERIALIZED (
    SELECT type, decision, label, amount_cents, reasons, scored_at FROM decisions
    WHERE scored_at >= date_bin('1 minute', now(), timestamptz 'epoch') - interval '1 minute' * :window::int
), q AS (
    SELECT count(*) FILTER (WHERE label = 'FRAUD' AND decision <> 'APPROVE') AS tp,
           count(*) FILTER (WHERE label = 'LEGITIMATE' AND decision <> 'APPROVE') AS fp,
           count(*) FILTER (WHERE label = 'FRAUD' AND decision = 'APPROVE') AS fn,
           count(label) AS labelled
    FROM w
)
SELECT json_build_object(
    'window_minutes', :window::int,
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
            - interval '1 minute' * least(:window::int, 15)
        GROUP BY 1) m),
    'live_quality', (SELECT json_build_object(
        'labelled', labelled, 'true_positives', tp, 'false_positives', fp, 'false_negatives', fn,
        'precision', CASE WHEN tp + fp > 0 THEN round(tp::numeric / (tp + fp), 6) END,
        'recall', CASE WHEN tp + fn > 0 THEN round(tp::numeric / (tp + fn), 6) END) FROM q)
)::text;
