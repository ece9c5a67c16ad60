"""The admin HTTP port (issue 6): /health, /metrics (parsed with prometheus_client), the analytics API
against a real PostgreSQL (filters, keyset pagination, 400s, EXPLAIN), /openapi.json, /docs, /dashboard.

Needs FRAUD_PG_URL (or FRAUD_PG_HOST/...; `eval "$(bash scripts/pg.sh env)"`) for everything except the
/health, /metrics and static-page tests. One server for the module, started with
`--postgres-url <url with search_path=its own schema> --admin-port <free port>`; it scores a labelled
sample of SAMPLE transactions first. Expected rows always come from `psql` on the same schema.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

import support
from support import pb, txid
from test_persistence import Postgres, pg_url, psql

SAMPLE = 240
PREFIX = f"adm-{support.RUN}-"


# ---------------------------------------------------------------- server and sample
class Admin:
    def __init__(self, server, port, db):
        self.server = server
        self.base = f"http://127.0.0.1:{port}"
        self.db = db

    def get(self, path, **params):
        """(status, parsed JSON or text, content type) of GET path?params."""
        query = urllib.parse.urlencode(params)
        url = self.base + path + ("?" + query if query else "")
        try:
            with urllib.request.urlopen(url, timeout=15) as r:
                status, body, ctype = r.status, r.read().decode(), r.headers.get("content-type", "")
        except urllib.error.HTTPError as e:
            status, body, ctype = e.code, e.read().decode(), e.headers.get("content-type", "")
        return status, (json.loads(body) if ctype.startswith("application/json") else body), ctype

    def ok(self, path, **params):
        status, body, _ = self.get(path, **params)
        assert status == 200, f"GET {path} {params} -> {status}: {body}"
        return body

    def all_pages(self, path, limit, **params):
        """Every item of a listing, following next_cursor; asserts every page but the last is full."""
        items, cursor, pages = [], None, 0
        while True:
            extra = dict(params, limit=limit)
            if cursor:
                extra["cursor"] = cursor
            page = self.ok(path, **extra)
            pages += 1
            items += page["items"]
            assert page["count"] == len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items, pages
            assert len(page["items"]) == limit, "a page before the last one is short"
            assert pages < 10_000

    def settle(self, timeout=60):
        """Waits until the journal backlog is 0 (every answered decision is in PostgreSQL)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            health = self.ok("/health")
            if health["journal"]["backlog"] == 0:
                return
            time.sleep(0.2)
        raise AssertionError(f"backlog not drained: {health}")

    def truth(self, where="true"):
        """Rows of the schema (as dicts) matching a SQL condition, in the API's order."""
        self.settle()
        out = psql(self.db.url, "SELECT coalesce(json_agg(d ORDER BY d.scored_at DESC, d.transaction_id DESC), '[]') "
                                f"FROM (SELECT * FROM decisions WHERE {where}) d")
        return json.loads(out)


def sample_requests():
    """SAMPLE labelled requests over 12 steps, 20 origin accounts, every type; every fifth one drains its
    origin with a TRANSFER/CASH_OUT (REVIEW/DECLINE material)."""
    types = [pb.TRANSACTION_TYPE_PAYMENT, pb.TRANSACTION_TYPE_CASH_IN, pb.TRANSACTION_TYPE_DEBIT,
             pb.TRANSACTION_TYPE_TRANSFER, pb.TRANSACTION_TYPE_CASH_OUT]
    out = []
    for i in range(SAMPLE):
        origin = f"C77{support.RUN[:6]}{i % 20:02d}"
        step = 1 + (i * 12) // SAMPLE
        if i % 5 == 0:
            amount = 500_000 + i * 1_000
            t = pb.Transaction(transaction_id=f"{PREFIX}{i:04d}", step=step,
                               type=types[3 + (i // 5) % 2], amount_cents=amount, origin_account=origin,
                               origin_balance_before_cents=amount, origin_balance_after_cents=0,
                               destination_account=f"C88{support.RUN[:6]}{i % 7}",
                               destination_balance_before_cents=0, destination_balance_after_cents=0)
            label = pb.LABEL_FRAUD
        else:
            amount = 1_000 + (i * 7919) % 2_000_000
            before = 50_000_000 + i
            t = pb.Transaction(transaction_id=f"{PREFIX}{i:04d}", step=step, type=types[i % 3],
                               amount_cents=amount, origin_account=origin, origin_balance_before_cents=before,
                               origin_balance_after_cents=before - amount,
                               destination_account=f"M{support.RUN[:6]}{i % 11}",
                               destination_balance_before_cents=0, destination_balance_after_cents=0)
            label = pb.LABEL_LEGITIMATE if i % 2 == 0 else pb.LABEL_UNSPECIFIED
        out.append(pb.ScoreRequest(transaction=t, label=label))
    return out


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    url = pg_url()
    if not url:
        pytest.skip("no PostgreSQL: set FRAUD_PG_URL (or FRAUD_PG_HOST/PORT/USER/PASSWORD/DB)")
    db = Postgres(url)
    tmp = tmp_path_factory.mktemp("admin")
    port = support.free_port()
    args = shlex.split(os.environ.get("FRAUD_SERVER_ARGS", ""))
    args += ["--postgres-url", db.url, "--journal-dir", str(tmp / "journal"), "--admin-port", str(port)]
    saved = os.environ.get("FRAUD_SERVER_ARGS")
    os.environ["FRAUD_SERVER_ARGS"] = shlex.join(args)
    server = support.ServerProcess(str(tmp / "fraud-server.log"))
    try:
        server.start(ready_timeout=90)
    except RuntimeError as e:
        db.drop()
        pytest.fail(str(e), pytrace=False)
    finally:
        if saved is None:
            os.environ.pop("FRAUD_SERVER_ARGS", None)
        else:
            os.environ["FRAUD_SERVER_ARGS"] = saved
    handle = Admin(server, port, db)
    try:
        with grpc.insecure_channel(server.target) as ch:
            replies = list(support.stub(ch).ScoreStream(iter(sample_requests()), timeout=60))
        assert len(replies) == SAMPLE
        handle.settle()
        yield handle
    finally:
        code = server.stop()
        db.drop()
        assert code == 0, support.tail(server.log_path)


def metrics(admin):
    status, text, ctype = admin.get("/metrics")
    assert status == 200 and ctype.startswith("text/plain"), (status, ctype)
    return {family.name: family for family in text_string_to_metric_families(text)}


def sample_value(families, family, sample_name, **labels):
    for s in families[family].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0.0


# ---------------------------------------------------------------- health and metrics
def test_health_reports_postgres_backlog_and_model(admin):
    health = admin.ok("/health")
    assert health["status"] == "ok" and health["serving"] is True
    assert health["postgres"] == {"configured": True, "reachable": True}
    assert health["journal"]["backlog"] == 0 and health["journal"]["appended"] >= SAMPLE
    assert health["model_version"]
    assert health["velocity_accounts"] > 0


def test_metrics_parse_and_move_with_calls(admin):
    SCORE = "fraud.v1.FraudScoring/Score"
    before = metrics(admin)
    with grpc.insecure_channel(admin.server.target) as ch:
        scoring = support.stub(ch)
        replies = [scoring.Score(support.small_payment(txid(f"adm-metrics-{i}")), timeout=10) for i in range(5)]
        bad = support.small_payment(txid("adm-metrics-bad"))
        bad.transaction.amount_cents = -5
        support.expect_error(lambda: scoring.Score(bad, timeout=10), grpc.StatusCode.INVALID_ARGUMENT)
        scoring.Score(support.small_payment(txid("adm-metrics-0")), timeout=10)  # a replay
    after = metrics(admin)

    def delta(family, name, **labels):
        return sample_value(after, family, name, **labels) - sample_value(before, family, name, **labels)

    assert delta("fraud_rpc_requests", "fraud_rpc_requests_total", method=SCORE, code="OK") == 6
    assert delta("fraud_rpc_requests", "fraud_rpc_requests_total", method=SCORE, code="INVALID_ARGUMENT") == 1
    assert delta("fraud_rpc_duration_seconds", "fraud_rpc_duration_seconds_count", method=SCORE, code="OK") == 6
    assert delta("fraud_rpc_duration_seconds", "fraud_rpc_duration_seconds_bucket", method=SCORE, code="OK",
                 le="+Inf") == 6
    assert delta("fraud_rpc_duration_seconds", "fraud_rpc_duration_seconds_sum", method=SCORE, code="OK") > 0
    decided = sum(delta("fraud_decisions", "fraud_decisions_total", decision=d) for d in ("APPROVE", "REVIEW", "DECLINE"))
    assert decided == 5
    assert delta("fraud_decisions_by_type", "fraud_decisions_by_type_total", type="PAYMENT",
                 decision=replies[0].decision and pb.Decision.Name(replies[0].decision).removeprefix("DECISION_")) == 5
    assert delta("fraud_replays", "fraud_replays_total") == 1
    assert delta("fraud_refusals", "fraud_refusals_total", code="INVALID_ARGUMENT") == 1
    assert delta("fraud_journal_appended", "fraud_journal_appended_total") == 5
    assert sample_value(after, "fraud_velocity_accounts", "fraud_velocity_accounts") > 0
    assert sample_value(after, "fraud_postgres_reachable", "fraud_postgres_reachable") == 1
    assert sample_value(after, "process_resident_memory_bytes", "process_resident_memory_bytes") > 1_000_000
    # Histogram buckets are cumulative and end at the count.
    buckets = [s for s in after["fraud_rpc_duration_seconds"].samples
               if s.name.endswith("_bucket") and s.labels["method"] == SCORE and s.labels["code"] == "OK"]
    values = [s.value for s in buckets]
    assert values == sorted(values) and buckets[-1].labels["le"] == "+Inf"
    # Fixed label sets only: no account ids anywhere.
    for family in after.values():
        for s in family.samples:
            for v in s.labels.values():
                assert not v.startswith(("C77", "C88", "M")), f"account-like label {s.name}{s.labels}"
    admin.settle()
    assert sample_value(metrics(admin), "fraud_journal_backlog", "fraud_journal_backlog") == 0


# ---------------------------------------------------------------- listings
def ids(items):
    return [i["transaction_id"] for i in items]


def test_transactions_paginate_without_missing_or_repeated_rows(admin):
    truth = admin.truth()
    for limit in (1, 7, 50, 1000):
        if limit == 1 and len(truth) > 300:
            continue
        items, pages = admin.all_pages("/api/v1/analytics/transactions", limit)
        assert len(ids(items)) == len(set(ids(items))), f"limit {limit}: a row repeated"
        assert ids(items) == ids(truth), f"limit {limit}: rows or order differ from PostgreSQL"
        assert pages == max(1, -(-len(truth) // limit))


def test_pagination_is_stable_while_new_rows_arrive(admin):
    first = admin.ok("/api/v1/analytics/transactions", limit=25, account=f"C77{support.RUN[:6]}03")
    with grpc.insecure_channel(admin.server.target) as ch:
        for i in range(3):
            support.stub(ch).Score(support.small_payment(txid(f"adm-late-{i}"), origin=f"C77{support.RUN[:6]}03"),
                                   timeout=10)
    admin.settle()
    rest, _ = admin.all_pages("/api/v1/analytics/transactions", 1000, account=f"C77{support.RUN[:6]}03",
                              cursor=first["next_cursor"]) if first["next_cursor"] else ([], 0)
    seen = ids(first["items"]) + ids(rest)
    truth = [t for t in ids(admin.truth(f"origin_account = 'C77{support.RUN[:6]}03'")) if "adm-late" not in t]
    assert seen == truth, "rows newer than the first page leaked into later pages, or rows were skipped"


FILTERS = [
    ({"account": f"C77{{run}}05"}, "origin_account = 'C77{run}05' OR destination_account = 'C77{run}05'"),
    ({"account": f"C88{{run}}3"}, "destination_account = 'C88{run}3' OR origin_account = 'C88{run}3'"),
    ({"type": "TRANSFER"}, "type = 'TRANSFER'"),
    ({"type": "cash_out,PAYMENT"}, "type IN ('CASH_OUT', 'PAYMENT')"),
    ({"decision": "APPROVE"}, "decision = 'APPROVE'"),
    ({"decision": "REVIEW,DECLINE"}, "decision IN ('REVIEW', 'DECLINE')"),
    ({"step_from": "3", "step_to": "5"}, "step BETWEEN 3 AND 5"),
    ({"step_from": "11"}, "step >= 11"),
    ({"min_score": "0.5"}, "risk_score >= 0.5"),
    ({"min_score": "0.1", "max_score": "0.6"}, "risk_score BETWEEN 0.1 AND 0.6"),
    ({"type": "TRANSFER", "decision": "DECLINE", "step_to": "6"}, "type = 'TRANSFER' AND decision = 'DECLINE' AND step <= 6"),
]


@pytest.mark.parametrize("params,where", FILTERS, ids=[json.dumps(f[0]) for f in FILTERS])
def test_transaction_filters_match_postgres(admin, params, where):
    run = support.RUN[:6]
    params = {k: v.replace("{run}", run) for k, v in params.items()}
    where = where.replace("{run}", run)
    truth = admin.truth(f"transaction_id LIKE '{PREFIX}%' AND ({where})")
    items, _ = admin.all_pages("/api/v1/analytics/transactions", 9, **params)
    items = [i for i in items if i["transaction_id"].startswith(PREFIX)]
    assert ids(items) == ids(truth)
    assert truth or params.get("min_score") or params.get("decision"), "filter matched nothing in the sample"


def test_time_range_filters(admin):
    truth = admin.truth()
    assert len(truth) > 10
    # A window in the middle of the sample, as Unix seconds and as RFC 3339.
    scored = sorted(json.loads(psql(admin.db.url, "SELECT json_agg((extract(epoch FROM scored_at) * 1000000)::bigint) FROM decisions")))
    lo, hi = scored[len(scored) // 4], scored[3 * len(scored) // 4]
    expect = admin.truth(f"scored_at >= to_timestamp({lo} / 1e6::float8) AND scored_at < to_timestamp({hi} / 1e6::float8)")
    items, _ = admin.all_pages("/api/v1/analytics/transactions", 1000, since=f"{lo / 1e6:.6f}", until=f"{hi / 1e6:.6f}")
    assert ids(items) == ids(expect)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hi / 1e6 + 3600))
    items, _ = admin.all_pages("/api/v1/analytics/transactions", 1000, until=iso)
    assert len(items) == len(truth)


def test_fraud_alerts_are_flagged_decisions_with_reasons_newest_first(admin):
    truth = admin.truth("decision IN ('REVIEW', 'DECLINE')")
    assert truth, "the sample produced no REVIEW/DECLINE"
    items, _ = admin.all_pages("/api/v1/analytics/fraud-alerts", 6)
    assert ids(items) == ids(truth)
    assert all(i["decision"] in ("REVIEW", "DECLINE") and i["reasons"] for i in items)
    assert all(r["code"] and "detail" in r for i in items for r in i["reasons"])
    stamps = [i["scored_at"] for i in items]
    assert stamps == sorted(stamps, reverse=True)
    declines, _ = admin.all_pages("/api/v1/analytics/fraud-alerts", 1000, decision="DECLINE", type="TRANSFER")
    assert ids(declines) == ids(admin.truth("decision = 'DECLINE' AND type = 'TRANSFER'"))


# ---------------------------------------------------------------- 400s
BAD = [
    ("/api/v1/analytics/transactions", {"limit": "0"}, "limit"),
    ("/api/v1/analytics/transactions", {"limit": "5000"}, "limit"),
    ("/api/v1/analytics/transactions", {"type": "WIRE"}, "type"),
    ("/api/v1/analytics/transactions", {"decision": "MAYBE"}, "decision"),
    ("/api/v1/analytics/transactions", {"step_from": "-3"}, "step_from"),
    ("/api/v1/analytics/transactions", {"step_from": "9", "step_to": "2"}, "step_from"),
    ("/api/v1/analytics/transactions", {"min_score": "1.5"}, "min_score"),
    ("/api/v1/analytics/transactions", {"max_score": "abc"}, "max_score"),
    ("/api/v1/analytics/transactions", {"since": "yesterday"}, "since"),
    ("/api/v1/analytics/transactions", {"cursor": "not-a-cursor!"}, "cursor"),
    ("/api/v1/analytics/transactions", {"acount": "C1"}, "acount"),
    ("/api/v1/analytics/transactions", {"explain": "maybe"}, "explain"),
    ("/api/v1/analytics/fraud-alerts", {"decision": "APPROVE"}, "decision"),
    ("/api/v1/analytics/fraud-alerts", {"limit": "x"}, "limit"),
    ("/api/v1/analytics/summary", {"window_minutes": "0"}, "window_minutes"),
    ("/api/v1/analytics/summary", {"window": "5"}, "window"),
    ("/api/v1/analytics/accounts/C1", {"limit": "-1"}, "limit"),
    ("/api/v1/analytics/accounts/C1", {"step": "x"}, "step"),
]


@pytest.mark.parametrize("path,params,parameter", BAD, ids=[f"{b[0].rsplit('/', 1)[-1]}-{b[2]}" for b in BAD])
def test_bad_parameters_give_400_naming_the_parameter(admin, path, params, parameter):
    status, body, ctype = admin.get(path, **params)
    assert status == 400 and ctype.startswith("application/json"), (status, body)
    assert body["error"]["parameter"] == parameter, body
    assert body["error"]["message"]


def test_unknown_paths_and_methods(admin):
    status, body, _ = admin.get("/api/v1/nothing")
    assert status == 404 and "error" in body
    req = urllib.request.Request(admin.base + "/health", method="POST", data=b"")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 405


# ---------------------------------------------------------------- summary and accounts
def test_summary_matches_postgres(admin):
    admin.settle()
    started = time.monotonic()
    s = admin.ok("/api/v1/analytics/summary", window_minutes=60)
    elapsed_ms = (time.monotonic() - started) * 1000
    total = int(psql(admin.db.url, "SELECT count(*) FROM decisions WHERE scored_at >= now() - interval '60 minutes'"))
    assert s["total"] == total and total >= SAMPLE
    assert sum(s["by_decision"].values()) == total
    by_type = {t["type"]: t for t in s["by_type"]}
    expect = json.loads(psql(admin.db.url, "SELECT json_object_agg(type, n) FROM (SELECT type, count(*) n FROM decisions GROUP BY type) x"))
    assert {k: v["total"] for k, v in by_type.items()} == expect
    flagged = int(psql(admin.db.url, "SELECT count(*) FROM decisions WHERE decision <> 'APPROVE'"))
    assert sum(t["flagged"] for t in by_type.values()) == flagged
    assert by_type["TRANSFER"]["labelled_fraud"] > 0 and by_type["TRANSFER"]["fraud_rate"] is not None
    q = s["amount_cents"]
    assert q["p50"] <= q["p90"] <= q["p99"] <= q["max"]
    assert sum(d["count"] for d in s["amount_decades"]) == total
    if flagged:
        assert s["top_reasons"] and all(r["count"] > 0 for r in s["top_reasons"])
    assert sum(m["decisions"] for m in s["per_minute"]) == total
    lq = s["live_quality"]
    labelled = int(psql(admin.db.url, "SELECT count(label) FROM decisions"))
    assert lq["labelled"] == labelled
    tp = int(psql(admin.db.url, "SELECT count(*) FROM decisions WHERE label = 'FRAUD' AND decision <> 'APPROVE'"))
    assert lq["true_positives"] == tp
    if tp:
        assert 0 < lq["precision"] <= 1 and 0 < lq["recall"] <= 1
    print(f"summary over {total} rows: {elapsed_ms:.1f} ms")


def sched_policy_and_nice(stat_dir):
    """(policy, nice) of a Linux task from /proc/<pid>[/task/<tid>]: policy 0 = normal, 5 = SCHED_IDLE."""
    policy = None
    with open(os.path.join(stat_dir, "sched")) as f:
        for line in f:
            if line.startswith("policy"):
                policy = int(line.split(":")[1])
    with open(os.path.join(stat_dir, "stat")) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return policy, int(fields[16])  # field 19 of stat: nice


def test_analytics_steps_aside_for_scoring(admin):
    """Analytics thread + its PostgreSQL backend run SCHED_IDLE, the admin loop at nice 10, scoring loops as
    they were (--analytics-priority idle, the default)."""
    admin.ok("/api/v1/analytics/summary", window_minutes=7)
    pids = [int(p) for p in psql(admin.db.url, "SELECT pid FROM pg_stat_activity "
                                 "WHERE application_name = 'fraud-server-analytics'").split()]
    assert pids, "no analytics backend in pg_stat_activity"
    for pid in pids:
        assert sched_policy_and_nice(f"/proc/{pid}")[0] == 5, f"backend {pid} is not SCHED_IDLE"
        # PostgreSQL puts each backend in a session of its own: with autogroup scheduling on, the session's
        # weight is what counts against other processes, so the server lowers it too.
        if os.path.exists(f"/proc/{pid}/autogroup") and os.getsid(pid) == pid:
            with open(f"/proc/{pid}/autogroup") as f:
                assert f.read().split()[-1] == "19", f"backend {pid}'s autogroup is not at nice 19"
    tasks = {}
    root = f"/proc/{admin.server.proc.pid}/task"
    for tid in os.listdir(root):
        with open(os.path.join(root, tid, "comm")) as f:
            name = f.read().strip()
        tasks[tid] = (name, *sched_policy_and_nice(os.path.join(root, tid)))
    idle = [t for t in tasks.values() if t[1] == 5]
    assert len(idle) == 1, tasks  # the analytics query thread, nothing else
    loops = [t for t in tasks.values() if t[0].startswith("NIO-ELT")]
    admin_loops = [t for t in loops if t[2] == 10]
    assert len(admin_loops) == 1 and admin_loops[0][1] == 0, loops
    assert all(t[1] == 0 and t[2] == 0 for t in loops if t not in admin_loops), loops
    # The scoring loops ask for a 100 µs slice (--loop-slice-micros, default 100); the admin loop does not.
    # Per-thread slices of fair threads exist from Linux 6.12 on (older kernels ignore the request).
    major, minor = (int(x) for x in re.match(r"(\d+)\.(\d+)", os.uname().release).groups())
    if (major, minor) < (6, 12):
        return
    slices = {}
    for tid, (name, _, _) in tasks.items():
        if name.startswith("NIO-ELT"):
            with open(os.path.join(root, tid, "sched")) as f:
                slices[tid] = (name, next(int(l.split(":")[1]) for l in f if l.startswith("se.slice")))
    scoring = [v for v in slices.values() if v[0] != admin_loops[0][0]]
    assert scoring and all(v[1] == 100_000 for v in scoring), slices
    assert all(v[1] != 100_000 for v in slices.values() if v[0] == admin_loops[0][0]), slices


def test_account_activity_and_velocity(admin):
    account = f"C77{support.RUN[:6]}05"
    truth = admin.truth(f"origin_account = '{account}' OR destination_account = '{account}'")
    body = admin.ok(f"/api/v1/analytics/accounts/{account}", limit=1000)
    assert body["account"] == account
    got = body["recent"]
    assert sorted(ids(got)) == sorted(ids(truth))
    steps = [i["step"] for i in got]
    assert steps == sorted(steps, reverse=True)
    assert body["last_step"] == max(t["step"] for t in truth)
    v = body["velocity"]
    assert v["known"] is True and v["as_of_step"] == body["last_step"]
    assert v["count_last_24_steps"] >= 1 and v["amount_last_24_steps_cents"] > 0
    limited = admin.ok(f"/api/v1/analytics/accounts/{account}", limit=2)
    assert ids(limited["recent"]) == ids(got)[:2]
    unknown = admin.ok("/api/v1/analytics/accounts/C0000000000", step=5)
    assert unknown["recent"] == [] and unknown["velocity"]["known"] is False


@pytest.mark.parametrize("path,params", [
    ("/api/v1/analytics/transactions", {}),
    ("/api/v1/analytics/transactions", {"account": "C1"}),
    ("/api/v1/analytics/transactions", {"step_from": "3", "step_to": "4"}),
    ("/api/v1/analytics/transactions", {"since": "1700000000", "cursor": "MTcwMDAwMDAwMDAwMDAwMDp0LTE"}),
    ("/api/v1/analytics/fraud-alerts", {}),
    ("/api/v1/analytics/summary", {}),
    ("/api/v1/analytics/accounts/C1", {}),
])
def test_every_query_has_an_index_behind_it(admin, path, params):
    plan = "\n".join(admin.ok(path, explain="true", **params)["plan"])
    assert "Index" in plan and "Seq Scan" not in plan, plan


# ---------------------------------------------------------------- documents and pages
def test_openapi_document_lists_every_endpoint(admin):
    doc = admin.ok("/openapi.json")
    assert doc["openapi"].startswith("3.1")
    for path in ("/health", "/metrics", "/api/v1/analytics/transactions", "/api/v1/analytics/fraud-alerts",
                 "/api/v1/analytics/summary", "/api/v1/analytics/accounts/{id}", "/dashboard"):
        assert path in doc["paths"], path
    params = {p.get("name") or p["$ref"].rsplit("/", 1)[-1]
              for p in doc["paths"]["/api/v1/analytics/transactions"]["get"]["parameters"]}
    assert {"account", "type", "decision", "step_from", "step_to", "since", "until", "min_score", "max_score",
            "limit", "cursor"} <= params
    status, html, ctype = admin.get("/docs")
    assert status == 200 and ctype.startswith("text/html") and "/openapi.json" in html
    status, html, ctype = admin.get("/dashboard")
    assert status == 200 and ctype.startswith("text/html") and "<svg" in html and "/api/v1/live" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", ""), "the dashboard must not load from a CDN"


def test_live_counters(admin):
    live = admin.ok("/api/v1/live")
    assert sum(live["decisions"].values()) >= SAMPLE
    assert set(live["by_type"]) == {"PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "DEBIT"}
    assert len(live["score_latency"]["buckets"]) == len(live["score_latency"]["bounds_s"]) + 1


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_dashboard_in_headless_chromium(admin, tmp_path):
    browser = chromium()
    if not browser:
        pytest.skip("no chromium (apt-get install chromium)")
    # Keep traffic flowing so the rate chart has something to draw.
    with grpc.insecure_channel(admin.server.target) as ch:
        scoring = support.stub(ch)
        for i in range(40):
            scoring.Score(support.small_payment(txid(f"adm-dash-{i}")), timeout=10)
    # --virtual-time-budget lets the page's timers run (several polls) before the DOM is dumped.
    cmd = [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=6000",
           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", admin.base + "/dashboard"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    dom = done.stdout
    assert "data-live-updates" in dom, f"live data never arrived\n{done.stderr[-2000:]}"
    assert 'class="series"' in dom, "the rate/latency charts have no series"
    assert 'class="bar"' in dom, "the bar charts are empty"
    assert dom.count("<tr>") > 2 and ("REVIEW" in dom or "DECLINE" in dom), "the alert list is empty"
    shot = os.path.join(support.ROOT, "docs", "dashboard.png")
    if os.environ.get("FRAUD_DASHBOARD_SCREENSHOT"):
        os.makedirs(os.path.dirname(shot), exist_ok=True)
        subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=6000",
                        f"--user-data-dir={tmp_path / 'profile2'}", "--window-size=1400,1100",
                        f"--screenshot={shot}", admin.base + "/dashboard"], capture_output=True, timeout=120)
