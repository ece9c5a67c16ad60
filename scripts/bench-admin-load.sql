-- scripts/bench-admin.sh: :rows decisions in the shape fraud-server stores them, scored_at spread evenly over
-- the last :minutes minutes; PaySim-like amounts (log-uniform, 1 cent to 1.6e7), ~1.3 % REVIEW/DECLINE, labels
-- on two thirds of the rows. One statement: the rollup trigger aggregates the million rows once.
INSERT INTO decisions (transaction_id, step, type, amount_cents, origin_account, origin_balance_before_cents,
    origin_balance_after_cents, destination_account, destination_balance_before_cents,
    destination_balance_after_cents, label, risk_score, decision, reasons, model_version, server_time_us, scored_at)
SELECT 'bench-' || i, 1 + i / 5000,
       (ARRAY['PAYMENT','TRANSFER','CASH_OUT','CASH_IN','DEBIT'])[1 + (i * 7919) % 5],
       amount, 'C' || (1000000 + (i * 104729) % 400000), amount * 2, amount, 'M' || (2000000 + (i * 7) % 300000), 0, amount,
       CASE WHEN i % 3 = 0 THEN NULL WHEN i % 97 = 0 THEN 'FRAUD' ELSE 'LEGITIMATE' END,
       score, CASE WHEN score >= 0.9 THEN 'DECLINE' WHEN score >= 0.6 THEN 'REVIEW' ELSE 'APPROVE' END,
       CASE WHEN score >= 0.6 THEN '[{"code":"ORIGIN_DRAINED","detail":"origin drained","weight":0.7},{"code":"HIGH_AMOUNT","detail":"large","weight":0.2}]'::jsonb
            ELSE '[{"code":"LOW_RISK","detail":"nothing unusual","weight":0.1}]'::jsonb END,
       'lr-paysim-v1', 20 + i % 200,
       now() - interval '1 minute' * :minutes * (i::float8 / :rows)
FROM (SELECT i, (exp(4 + 12 * ((i * 2654435761) % 1000003) / 1000003.0))::bigint AS amount,
             round(((((i * 40503) % 100003) / 100003.0)::float8 ^ 40)::numeric, 6)::real AS score
      FROM generate_series(1::bigint, :rows) i) g;
