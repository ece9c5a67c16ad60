#!/usr/bin/env bash
# make bench-admin: does the admin port slow scoring down? Release fraud-server on PostgreSQL with a million
# stored decisions; times GET /api/v1/analytics/summary; then runs fraud-loadgen open loop at a fixed rate,
# alternately without and with an open dashboard plus a client looping over the analytics endpoints, and
# prints Score p99 of both and their ratio (Markdown, stdout).
#
#   scripts/bench-admin.sh --postgres-url URL
#
# Environment (all optional):
#   ROWS=1000000 SPAN_MINUTES=60     decisions loaded, scored_at spread over the last SPAN_MINUTES minutes
#   RELOAD=0                         1 = load again even if the schema already holds ROWS decisions
#   SCHEMA=bench_admin               the schema used (created; search_path set in the server's URL)
#   SUMMARY_CALLS=100                summary calls per window measured (each a different window: no cache)
#   SUMMARY_INTERVAL_MS=250          one call every this many ms, like a dashboard (back to back, the query
#                                    thread's rest after the previous call would be measured too)
#   RATE=2000 DURATION=15 WARMUP=2 CONNECTIONS=4   the fraud-loadgen open loop
#   ROUNDS=3                         alternating (without, with) pairs; medians are reported
#   LOOP_PAUSE_MS=0                  pause between the analytics loop's calls (0 = back to back)
#   RENICE_BACKEND=0                 1 = also renice (+10) the PostgreSQL backend serving the analytics
#                                    connection (the server already runs it SCHED_IDLE when it may)
#   SERVER_ARGS=""                   extra fraud-server flags, e.g. --analytics-priority normal
#   CLIENT_SCHED=idle                the dashboard + analytics loop client (Python) runs under `chrt --idle 0`:
#                                    it stands in for analysts' browsers on other machines, so it must not take
#                                    the cores from fraud-loadgen and the server (it shares a session, hence an
#                                    autogroup, with fraud-loadgen); normal = at the loadgen's priority. The
#                                    server's side of the dashboard (admin loop, analytics thread, PostgreSQL
#                                    queries) runs as it would in production either way.
#   DIRECT_CALLS=3                   timed runs of the pre-rollup summary query (0 = skip; ~10 s each)
#   BEFORE=0                         1 = a third run per round emulating the server before the rollups: the
#                                    dashboard + loop, plus the pre-rollup summary query on 2 connections in a
#                                    loop with the old 2 s statement_timeout (what its 2 analytics threads did)
#   SWIFT=swift SCRATCH=.build SKIP_BUILD=1   build tool, build directory, use existing binaries
#   PORT=0 ADMIN_PORT=0 OUT=var/bench-admin
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build}
ROWS=${ROWS:-1000000}
SPAN_MINUTES=${SPAN_MINUTES:-60}
RELOAD=${RELOAD:-0}
SCHEMA=${SCHEMA:-bench_admin}
SUMMARY_CALLS=${SUMMARY_CALLS:-100}
RATE=${RATE:-2000}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-4}
ROUNDS=${ROUNDS:-3}
LOOP_PAUSE_MS=${LOOP_PAUSE_MS:-0}
PORT=${PORT:-0}
ADMIN_PORT=${ADMIN_PORT:-0}
OUT=${OUT:-var/bench-admin}
POSTGRES_URL=""
while [ $# -gt 0 ]; do
    case "$1" in
        --postgres-url) POSTGRES_URL=$2; shift 2 ;;
        --postgres-url=*) POSTGRES_URL=${1#*=}; shift ;;
        -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
        *) echo "bench-admin.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ -n "$POSTGRES_URL" ] || { echo "bench-admin.sh: --postgres-url is required (make bench-admin passes it)" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
BIN=$SCRATCH/release
mkdir -p "$OUT"
log() { echo "bench-admin: $(date +%H:%M:%S) $*" >&2; }
psql_() { psql -X -q -At -v ON_ERROR_STOP=1 "$POSTGRES_URL" "$@"; }

if [ -z "${SKIP_BUILD:-}" ]; then
    for product in fraud-server fraud-loadgen; do
        log "building $product (release)"
        "$SWIFT" build -c release --scratch-path "$SCRATCH" --product "$product" >&2
    done
fi

# ---------------------------------------------------------------- schema and server
psql_ -c "CREATE SCHEMA IF NOT EXISTS $SCHEMA"
separator='?'; [[ "$POSTGRES_URL" == *\?* ]] && separator='&'
SCHEMA_URL="$POSTGRES_URL${separator}options=-csearch_path%3D$SCHEMA"
JOURNAL_DIR=${JOURNAL_DIR:-$OUT/journal}
rm -rf "$JOURNAL_DIR"
SERVER_LOG=$OUT/fraud-server.log
"$BIN/fraud-server" --auth off --host 127.0.0.1 --port "$PORT" --admin-port "$ADMIN_PORT" --log-level notice \
    --journal-dir "$JOURNAL_DIR" --postgres-url "$SCHEMA_URL" ${SERVER_ARGS:-} >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
LOOP_PIDS=()
cleanup() {
    for pid in "${LOOP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$JOURNAL_DIR"
}
trap cleanup EXIT
TARGET=""; ADMIN=""
for _ in $(seq 1 400); do
    TARGET=$(sed -n 's/^listening on //p' "$SERVER_LOG" | head -1)
    ADMIN=$(sed -n 's/^admin listening on //p' "$SERVER_LOG" | head -1)
    [ -n "$TARGET" ] && [ -n "$ADMIN" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; echo "bench-admin.sh: fraud-server exited" >&2; exit 1; }
    sleep 0.05
done
[ -n "$TARGET" ] && [ -n "$ADMIN" ] || { cat "$SERVER_LOG" >&2; echo "bench-admin.sh: no addresses in the log" >&2; exit 1; }
log "fraud-server pid $SERVER_PID: gRPC $TARGET, admin $ADMIN, schema $SCHEMA"
for _ in $(seq 1 600); do
    [ "$(psql_ -c "SELECT count(*) FROM pg_tables WHERE schemaname = '$SCHEMA' AND tablename = 'decisions_rollup'")" = 1 ] && break
    sleep 0.1
done

# ---------------------------------------------------------------- a million decisions
stored=$(psql_ -c "SELECT count(*) FROM $SCHEMA.decisions")
if [ "$RELOAD" = 1 ] || [ "$stored" -lt "$ROWS" ]; then
    log "loading $ROWS decisions over the last $SPAN_MINUTES minutes (one INSERT; the rollup trigger runs once)"
    started=$SECONDS
    psql_ -c "TRUNCATE $SCHEMA.decisions"
    psql_ -v rows="$ROWS" -v minutes="$SPAN_MINUTES" -c "SET search_path = $SCHEMA" -f scripts/bench-admin-load.sql
    psql_ -c "VACUUM ANALYZE $SCHEMA.decisions, $SCHEMA.decisions_rollup, $SCHEMA.decisions_rollup_amounts, $SCHEMA.decisions_rollup_reasons"
    LOAD_SECONDS=$((SECONDS - started))
    log "loaded in ${LOAD_SECONDS}s"
else
    LOAD_SECONDS="earlier run, reused"
    log "reusing the $stored decisions already in $SCHEMA (RELOAD=1 to load afresh)"
fi

# ---------------------------------------------------------------- summary latency
log "summary latency: $SUMMARY_CALLS calls per window, each with a different window_minutes (no cache hits)"
"$PYTHON" - "$ADMIN" "$SUMMARY_CALLS" "$SPAN_MINUTES" "${SUMMARY_INTERVAL_MS:-250}" >"$OUT/summary.json" <<'EOF'
import http.client, json, statistics, sys, time
admin, calls, span, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) / 1000
host, port = admin.split(":")
conn = http.client.HTTPConnection(host, int(port), timeout=30)
def get(path):
    started = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status, body[:200])
    elapsed = (time.perf_counter() - started) * 1000
    time.sleep(max(0, interval - elapsed / 1000))
    return elapsed, json.loads(body)
result = {}
for name, first in (("span", span + 1), ("week", 10080 - calls)):
    times, totals = [], set()
    for k in range(calls):
        ms, body = get(f"/api/v1/analytics/summary?window_minutes={first + k}")
        times.append(ms)
        totals.add(body["total"])
    times.sort()
    cached = sorted(get(f"/api/v1/analytics/summary?window_minutes={first}")[0] for _ in range(min(calls, 20)))
    result[name] = {"windows": [first, first + calls - 1], "decisions": [min(totals), max(totals)], "calls": calls,
                    "p50": times[len(times) // 2], "p95": times[int(len(times) * 0.95) - 1], "max": times[-1],
                    "cached_p50": cached[len(cached) // 2]}
print(json.dumps(result))
EOF

# Before the rollups: the same summary computed over decisions (no statement timeout here; the server's is 2 s).
DIRECT_CALLS=${DIRECT_CALLS:-3}
DIRECT_MS=""
if [ "$DIRECT_CALLS" -gt 0 ]; then
    log "the summary straight from decisions (the pre-rollup query), $DIRECT_CALLS calls"
    DIRECT_MS=$( (echo '\timing on'; for _ in $(seq 1 "$DIRECT_CALLS"); do
                     echo "SET search_path = $SCHEMA;"; echo '\set window 60'; cat scripts/bench-admin-direct.sql; done) |
                 psql_ -o /dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | awk 'NR % 2 == 0' | sort -n | tr '\n' ' ')
fi

# ---------------------------------------------------------------- Score p99 without and with the dashboard
# The dashboard's own polling (live 1 s; health, summary, fraud-alerts 2 s) plus a client that loops over the
# analytics endpoints back to back.
CLIENT_PREFIX=()
[ "${CLIENT_SCHED:-idle}" = idle ] && CLIENT_PREFIX=(chrt --idle 0)
dashboard() {
    "${CLIENT_PREFIX[@]}" "$PYTHON" - "$ADMIN" "$LOOP_PAUSE_MS" <<'EOF'
import http.client, sys, threading, time
admin, pause = sys.argv[1], int(sys.argv[2]) / 1000
host, port = admin.split(":")
def client():
    return http.client.HTTPConnection(host, int(port), timeout=30)
def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    r.read()
def poll(paths, every):
    conn = client()
    while True:
        for p in paths:
            get(conn, p)
        time.sleep(every)
threading.Thread(target=poll, args=(["/api/v1/live"], 1.0), daemon=True).start()
threading.Thread(target=poll, args=(["/health", "/api/v1/analytics/summary?window_minutes=60",
                                     "/api/v1/analytics/fraud-alerts?limit=15"], 2.0), daemon=True).start()
loop = ["/api/v1/analytics/summary?window_minutes=60", "/api/v1/analytics/transactions?limit=100",
        "/api/v1/analytics/fraud-alerts?limit=50", "/api/v1/live",
        "/api/v1/analytics/transactions?limit=100&decision=REVIEW,DECLINE&type=TRANSFER",
        "/api/v1/analytics/summary?window_minutes=1440"]
conn, calls = client(), 0
while True:
    for p in loop:
        get(conn, p)
        calls += 1
        if pause:
            time.sleep(pause)
EOF
}
RUN_ID=$(date +%H%M%S)$$
before_loop() {
    while true; do
        (echo "SET search_path = $SCHEMA;"; echo "SET statement_timeout = 2000;"; echo '\set window 60'
         cat scripts/bench-admin-direct.sql) | psql -X -q -At "$POSTGRES_URL" -o /dev/null 2>/dev/null || true
    done
}
MODES="without with"
[ "${BEFORE:-0}" = 1 ] && MODES="without with before"
for round in $(seq 1 "$ROUNDS"); do
    for mode in $MODES; do
        if [ "$mode" = before ]; then
            dashboard >"$OUT/dashboard-$round-before.log" 2>&1 &
            LOOP_PIDS=($!)
            before_loop & LOOP_PIDS+=($!)
            before_loop & LOOP_PIDS+=($!)
            sleep 1
        fi
        if [ "$mode" = with ]; then
            dashboard >"$OUT/dashboard-$round.log" 2>&1 &
            LOOP_PIDS=($!)
            sleep 1
            if [ "${RENICE_BACKEND:-0}" = 1 ]; then
                for pid in $(psql_ -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'fraud-server-analytics'"); do
                    renice -n 10 -p "$pid" >/dev/null || log "could not renice backend $pid"
                done
            fi
        fi
        log "round $round/$ROUNDS: Score open loop at $RATE req/s for ${DURATION}s, run \"$mode\""
        "$BIN/fraud-loadgen" --target "$TARGET" --quiet --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" \
            --connections "$CONNECTIONS" --run-id "ba$RUN_ID-$round-$mode" --json-out "$OUT/$mode-$round.json" >/dev/null
        for pid in "${LOOP_PIDS[@]}"; do
            pkill -P "$pid" 2>/dev/null || true
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
        LOOP_PIDS=()
    done
done
# The analytics query thread is the server's only SCHED_IDLE thread (--analytics-priority idle, the default).
ANALYTICS_CPU=$(ps -L -o cls=,time= -p "$SERVER_PID" | awk '$1 == "IDL" {print $2}' | head -1)
LOAD_AVERAGE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
"$PYTHON" - "$OUT" "$ROUNDS" "$RATE" "$DURATION" "$CONNECTIONS" "$LOAD_SECONDS" "$ROWS" "${ANALYTICS_CPU:-?}" \
    "$DIRECT_MS" "$LOAD_AVERAGE" <<'EOF'
import json, os, statistics, sys, datetime
out, rounds, rate, duration, connections, load_seconds, rows, analytics_cpu, direct, loadavg = sys.argv[1:11]
rounds = int(rounds)
load = lambda name: json.load(open(os.path.join(out, name)))
s = load("summary.json")
print(f"## admin port benchmark, {datetime.date.today()}")
print()
print(f"{os.cpu_count()} cores; server, fraud-loadgen, PostgreSQL and the dashboard client share them. "
      f"{rows} decisions loaded ({load_seconds} s). Load average at the end: {loadavg}.")
print()
print("| GET /api/v1/analytics/summary | decisions in window | calls | p50 ms | p95 ms | max ms | cached p50 ms |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, label in (("span", "window_minutes %d..%d"), ("week", "window_minutes %d..%d")):
    r = s[name]
    print(f"| {label % tuple(r['windows'])} | {r['decisions'][0]:,}–{r['decisions'][1]:,} | {r['calls']} | "
          f"{r['p50']:.1f} | {r['p95']:.1f} | "
          f"{r['max']:.1f} | {r['cached_p50']:.2f} |")
if direct.split():
    d = [float(x) for x in direct.split()]
    print(f"| before: the same figures straight from decisions (psql, window 60) | {s['span']['decisions'][0]:,} | "
          f"{len(d)} | {statistics.median(d):.0f} | | {max(d):.0f} | |")
print()
print(f"Score, fraud-loadgen open loop at {rate} req/s, {duration} s, {connections} connections; "
      "rounds alternate without / with the dashboard + analytics loop "
      f"(its client {'under SCHED_IDLE, standing in for browsers on other machines' if os.environ.get('CLIENT_SCHED', 'idle') == 'idle' else 'at normal priority'}):")
print()
print("| round | p99 ms without | p99 ms with | ratio | p50 without | p50 with | achieved without | achieved with | errors |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
ratios, without, with_ = [], [], []
for k in range(1, rounds + 1):
    a, b = load(f"without-{k}.json"), load(f"with-{k}.json")
    ratio = b["latency_ms"]["p99"] / a["latency_ms"]["p99"]
    ratios.append(ratio); without.append(a["latency_ms"]["p99"]); with_.append(b["latency_ms"]["p99"])
    print(f"| {k} | {a['latency_ms']['p99']:.2f} | {b['latency_ms']['p99']:.2f} | {ratio:.2f} | "
          f"{a['latency_ms']['p50']:.2f} | {b['latency_ms']['p50']:.2f} | {a['achieved_rate']:.0f} | "
          f"{b['achieved_rate']:.0f} | {a['errors']}+{b['errors']} |")
med = statistics.median(ratios)
print(f"| median | {statistics.median(without):.2f} | {statistics.median(with_):.2f} | **{med:.2f}** | | | | | |")
print()
print(f"Median of the per-round ratios {med:.2f}; ratio of the median p99s "
      f"{statistics.median(with_) / statistics.median(without):.2f}.")
print()
if os.path.exists(os.path.join(out, "before-1.json")):
    b = [load(f"before-{k}.json")["latency_ms"]["p99"] for k in range(1, rounds + 1)]
    r = [x / load(f"without-{k}.json")["latency_ms"]["p99"] for k, x in enumerate(b, 1)]
    print(f"Emulated before (pre-rollup summary query on 2 connections, 2 s timeout, + the same dashboard): "
          f"Score p99 per round {', '.join(f'{x:.2f}' for x in b)} ms; ratio to without "
          f"{', '.join(f'{x:.2f}' for x in r)}; median **{statistics.median(r):.2f}**.")
    print()
print(f"Score p99 with / without the dashboard: {med:.2f} (target <= 1.10: {'met' if med <= 1.10 else 'NOT met'}); "
      f"CPU time of the analytics query thread over the whole run: {analytics_cpu}.")
EOF
