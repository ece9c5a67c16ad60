#!/usr/bin/env bash
# make bench: release build, one fraud-server, fraud-loadgen at fixed rates + closed loop + a capacity sweep,
# h2load vs fraud-loadgen --fixed-request, a timed backfill; prints one Markdown report (stdout).
#
#   scripts/bench.sh [--quick] [--postgres-url URL] [-- extra fraud-server flags...]
#
# Environment (all optional):
#   SWIFT=swift  SCRATCH=.build      build tool and build directory (release binaries in $SCRATCH/release)
#   PORT=0                           server port (0 = a free one)
#   CONNECTIONS=4 STREAMS=32         closed-loop and h2load comparison shape (connections x streams)
#   DURATION=10 WARMUP=2             seconds measured / warmed up per run
#   RATES="1200 5000 10000 20000"    open-loop points (the first one carries the floor checks)
#   SWEEP_STEP=5                     seconds per sweep step
#   H2LOAD_ROUNDS=5 COMPARE_DURATION=5   interleaved h2load / fraud-loadgen rounds (median of the per-round ratios)
#   BACKFILL_ROWS=6362620 SEED=42    generated backfill input (cached in var/bench/); needs `fraud-ctl generate`
#   BACKFILL_STREAMS=2               fraud-backfill --streams (ScoreStreams, one connection each)
#   BACKLOG_CAP=10000000             server --backlog-cap: a full-size backfill outruns PostgreSQL's COPY rate, and
#                                    the default cap (1,000,000 decisions not yet in PostgreSQL) would refuse it
#   OUT=var/bench                    where reports, JSON and logs go
#   SKIP_BUILD=1                     use existing binaries
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build}
PORT=${PORT:-0}
CONNECTIONS=${CONNECTIONS:-4}
STREAMS=${STREAMS:-32}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RATES=${RATES:-"1200 5000 10000 20000"}
SWEEP_STEP=${SWEEP_STEP:-5}
H2LOAD_ROUNDS=${H2LOAD_ROUNDS:-5}
COMPARE_DURATION=${COMPARE_DURATION:-5}
BACKFILL_ROWS=${BACKFILL_ROWS:-6362620}
export BACKFILL_STREAMS=${BACKFILL_STREAMS:-2}
BACKLOG_CAP=${BACKLOG_CAP:-10000000}
SEED=${SEED:-42}
OUT=${OUT:-var/bench}
POSTGRES_URL=""
SERVER_FLAGS=()

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) DURATION=3; WARMUP=1; SWEEP_STEP=2; H2LOAD_ROUNDS=1; COMPARE_DURATION=3; BACKFILL_ROWS=${BACKFILL_ROWS_QUICK:-500000}
                 RATES=${RATES_QUICK:-"1200 5000"}; shift ;;
        --postgres-url) POSTGRES_URL=$2; shift 2 ;;
        --postgres-url=*) POSTGRES_URL=${1#*=}; shift ;;
        --) shift; SERVER_FLAGS=("$@"); break ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (server flags go after --)" >&2; exit 2 ;;
    esac
done

BIN=$SCRATCH/release
mkdir -p "$OUT"
log() { echo "bench: $*" >&2; }

# ---------------------------------------------------------------- build
if [ -z "${SKIP_BUILD:-}" ]; then
    for product in fraud-server fraud-loadgen fraud-backfill; do
        log "building $product (release)"
        "$SWIFT" build -c release --scratch-path "$SCRATCH" --product "$product" >&2
    done
    if [ -d Sources/FraudCtl ]; then
        "$SWIFT" build -c release --scratch-path "$SCRATCH" --product fraud-ctl >&2 || log "fraud-ctl does not build: backfill uses the sample"
    fi
fi
for tool in fraud-server fraud-loadgen fraud-backfill; do
    [ -x "$BIN/$tool" ] || { echo "bench.sh: $BIN/$tool missing" >&2; exit 1; }
done

# ---------------------------------------------------------------- server
if [ -n "$POSTGRES_URL" ]; then
    if "$BIN/fraud-server" --help 2>&1 | grep -q -- '--postgres-url'; then
        SERVER_FLAGS=(--postgres-url "$POSTGRES_URL" "${SERVER_FLAGS[@]}")
    else
        log "fraud-server has no --postgres-url yet: running without PostgreSQL"
    fi
fi
if [[ " ${SERVER_FLAGS[*]:-} " != *" --backlog-cap"* ]] && "$BIN/fraud-server" --help 2>&1 | grep -q -- '--backlog-cap'; then
    SERVER_FLAGS=(--backlog-cap "$BACKLOG_CAP" "${SERVER_FLAGS[@]}")
fi
# Admin endpoint on a free port (its /metrics tells when PostgreSQL has caught up after the backfill).
if [[ " ${SERVER_FLAGS[*]:-} " != *" --admin-port"* ]] && "$BIN/fraud-server" --help 2>&1 | grep -q -- '--admin-port'; then
    SERVER_FLAGS=(--admin-port 0 "${SERVER_FLAGS[@]}")
fi
# A journal of its own, emptied first: the default var/journal would be replayed (warm start) by the next server.
JOURNAL_DIR=""
# The load tools speak h2c without tokens: authentication off (make bench-tls measures TLS + JWT).
if [[ " ${SERVER_FLAGS[*]:-} " != *" --auth"* ]] && "$BIN/fraud-server" --help 2>&1 | grep -q -- '--auth'; then
    SERVER_FLAGS=(--auth off "${SERVER_FLAGS[@]}")
fi
if "$BIN/fraud-server" --help 2>&1 | grep -q -- '--journal-dir' && [[ " ${SERVER_FLAGS[*]:-} " != *" --journal-dir"* ]]; then
    JOURNAL_DIR=$OUT/journal
    rm -rf "$JOURNAL_DIR"
    SERVER_FLAGS=(--journal-dir "$JOURNAL_DIR" "${SERVER_FLAGS[@]}")
fi
SERVER_LOG=$OUT/fraud-server.log
"$BIN/fraud-server" --host 127.0.0.1 --port "$PORT" --log-level warning "${SERVER_FLAGS[@]}" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$JOURNAL_DIR" ]; then rm -rf "$JOURNAL_DIR"; fi
}
trap cleanup EXIT
TARGET=""
for _ in $(seq 1 200); do
    TARGET=$(sed -n 's/^listening on //p' "$SERVER_LOG" | head -1)
    [ -n "$TARGET" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; echo "bench.sh: fraud-server exited" >&2; exit 1; }
    sleep 0.05
done
[ -n "$TARGET" ] || { echo "bench.sh: fraud-server did not print its address" >&2; exit 1; }
log "fraud-server on $TARGET (pid $SERVER_PID${SERVER_FLAGS[*]:+, flags: ${SERVER_FLAGS[*]}})"

RUN_ID=$(date +%H%M%S)$$
loadgen() { "$BIN/fraud-loadgen" --target "$TARGET" --quiet "$@"; }

# ---------------------------------------------------------------- open loop at fixed rates, closed loop
first=1
for rate in $RATES; do
    log "open loop at $rate req/s for ${DURATION}s"
    checks=()
    if [ $first = 1 ]; then checks=(--check-tps 1000 --check-p95-ms 100); fi
    loadgen --rate "$rate" --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
        --run-id "b$RUN_ID-o$rate" --json-out "$OUT/open-$rate.json" "${checks[@]}" >/dev/null \
        || log "open loop at $rate req/s missed its checks (see the table)"
    first=0
done
log "closed loop, $CONNECTIONS x $STREAMS in flight, for ${DURATION}s"
loadgen --rate max --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" --streams "$STREAMS" \
    --run-id "b$RUN_ID-max" --json-out "$OUT/closed.json" >/dev/null

log "capacity sweep (p95 <= 100 ms), ${SWEEP_STEP}s per step"
loadgen --sweep --sweep-start 2000 --sweep-step-duration "$SWEEP_STEP" --warmup 1 --connections "$CONNECTIONS" \
    --sweep-p95-ms 100 --run-id "b$RUN_ID-sw" --json-out "$OUT/sweep.json" --svg-out "$OUT/capacity.svg" >/dev/null

# ---------------------------------------------------------------- h2load vs fraud-loadgen --fixed-request
# scripts/bench-loadgen-h2load.sh against this server: interleaved rounds, req/s and client CPU per call.
H2LOAD_RESULTS=$OUT/h2load-vs-loadgen.txt
: >"$H2LOAD_RESULTS"
rm -f "$OUT/h2load-vs-loadgen.md"
if command -v h2load >/dev/null; then
    log "h2load vs fraud-loadgen --fixed-request, $H2LOAD_ROUNDS interleaved round(s) ($CONNECTIONS x $STREAMS, 1 thread each)"
    ROUNDS=$H2LOAD_ROUNDS DURATION=$COMPARE_DURATION WARMUP=1 CONNECTIONS=$CONNECTIONS STREAMS=$STREAMS BIN=$BIN \
        OUT=$OUT RESULTS=$H2LOAD_RESULTS RUN_ID="b$RUN_ID" scripts/bench-loadgen-h2load.sh --target "$TARGET" \
        >"$OUT/h2load-vs-loadgen.md" || log "the h2load comparison failed (see $OUT/h2load-*.txt)"
else
    log "h2load not found (apt-get install nghttp2-client): skipping the comparison"
fi

# ---------------------------------------------------------------- backfill
BACKFILL_NOTE=""
BACKFILL_INPUT=""
if [ -x "$BIN/fraud-ctl" ] && "$BIN/fraud-ctl" generate --help >/dev/null 2>&1; then
    BACKFILL_INPUT=$OUT/generated-$BACKFILL_ROWS-$SEED.csv
    if [ ! -s "$BACKFILL_INPUT" ]; then
        log "generating $BACKFILL_ROWS rows (seed $SEED)"
        "$BIN/fraud-ctl" generate --rows "$BACKFILL_ROWS" --seed "$SEED" --out "$BACKFILL_INPUT.tmp" >&2
        mv "$BACKFILL_INPUT.tmp" "$BACKFILL_INPUT"
    fi
    BACKFILL_NOTE="fraud-ctl generate --rows $BACKFILL_ROWS --seed $SEED"
else
    BACKFILL_INPUT=$OUT/sample-x20.csv
    python3 - "$BACKFILL_INPUT" <<'EOF'
import sys
rows = open("data/paysim_sample.csv").read().splitlines()
with open(sys.argv[1], "w") as out:  # the sample 20 times; steps shifted so copies replay in order
    out.write(rows[0] + "\n")
    for copy in range(20):
        for row in rows[1:]:
            step, rest = row.split(",", 1)
            out.write(f"{int(step) + copy * 1000},{rest}\n")
EOF
    BACKFILL_NOTE="data/paysim_sample.csv x 20 (fraud-ctl generate not available)"
fi
log "backfill of $BACKFILL_INPUT"
rm -f "$OUT/backfill.checkpoint" "$OUT/backfill.rejects"
/usr/bin/time -f "%e %U %S %M" -o "$OUT/backfill.time" \
    "$BIN/fraud-backfill" "$BACKFILL_INPUT" --target "$TARGET" --id-prefix "bf-$RUN_ID" --streams "$BACKFILL_STREAMS" \
    --checkpoint "$OUT/backfill.checkpoint" --rejects "$OUT/backfill.rejects" --json-out "$OUT/backfill.json" \
    --progress-interval 10 >"$OUT/backfill.txt" 2>"$OUT/backfill.log"

# PostgreSQL catch-up: the backfill is done when every answer arrived (each decision journaled); the writer
# commits the journal to PostgreSQL at its COPY rate and lags behind. Time how long the backlog takes to drain.
: >"$OUT/pg-catchup.txt"
ADMIN=$(sed -n 's/^admin listening on //p' "$SERVER_LOG" | head -1)
if [ -n "$POSTGRES_URL" ] && [ -n "$ADMIN" ]; then
    log "waiting for PostgreSQL to catch up (backlog -> 0, at most ${PG_CATCHUP_LIMIT:-1200} s)"
    start=$(date +%s.%N)
    backlog=""
    while :; do
        backlog=$(curl -s "http://$ADMIN/metrics" | sed -n 's/^fraud_journal_backlog \([0-9]*\).*/\1/p')
        now=$(date +%s.%N)
        waited=$(echo "$now - $start" | bc)
        if [ "$backlog" = "0" ] || [ "$(echo "$waited > ${PG_CATCHUP_LIMIT:-1200}" | bc)" = 1 ]; then break; fi
        sleep 1
    done
    echo "$waited ${backlog:-unknown}" >"$OUT/pg-catchup.txt"
fi

# ---------------------------------------------------------------- report
python3 - "$OUT" "$TARGET" "$RATES" "$CONNECTIONS" "$STREAMS" "$BACKFILL_NOTE" "${SERVER_FLAGS[*]:-}" <<'EOF'
import json, os, platform, statistics, subprocess, sys, datetime
out, target, rates, connections, streams, backfill_note, server_flags = sys.argv[1:8]
rates = rates.split()

def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def swift_version():
    try:
        return subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        return "swift"

def ms(v):
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"

print(f"## fraud-server benchmark, {datetime.date.today()}")
print()
print(f"Machine: {os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}; {swift_version()}.")
print(f"Server and load generator share the machine. Server flags: `{server_flags or '(defaults)'}`.")
print()
print("| run | connections x streams | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | max ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
rows = [(f"open loop {r}/s", load(f"open-{r}.json")) for r in rates] + [("closed loop (max)", load("closed.json"))]
for name, r in rows:
    l = r["latency_ms"]
    offered = f"{r['offered_rate']:.0f}" if r.get("offered_rate") else "max"
    print(f"| {name} | {r['connections']} x {r['streams']} | {offered} | {r['achieved_rate']:.0f} | {ms(l['p50'])} | "
          f"{ms(l['p95'])} | {ms(l['p99'])} | {ms(l['max'])} | {r['errors']} |")
print()

floor = load(f"open-{rates[0]}.json")
closed = load("closed.json")
sweep = load("sweep.json")
capacity = sweep.get("capacity_rate")
tps_ok = floor["achieved_rate"] > 1000 and floor["errors"] == 0
p95_ok = floor["latency_ms"]["p95"] < 100
print("| floor check | target | measured | result |")
print("|---|---|---:|:---:|")
print(f"| throughput (open loop at {rates[0]}/s) | > 1000 TPS | {floor['achieved_rate']:.0f} TPS, {floor['errors']} errors | "
      f"{'PASS' if tps_ok else 'FAIL'} |")
print(f"| p95 latency at that rate | < 100 ms | {ms(floor['latency_ms']['p95'])} ms | {'PASS' if p95_ok else 'FAIL'} |")
print(f"| closed-loop maximum | | {closed['achieved_rate']:.0f} req/s (p95 {ms(closed['latency_ms']['p95'])} ms) | |")
print(f"| capacity (open-loop sweep, p95 <= 100 ms, no errors, >= 90 % answered) | | "
      f"{f'{capacity:.0f} req/s' if capacity else 'none'} | |")
print()
print("Capacity sweep (open loop, each step measured after 1 s of warm-up); chart: `" + os.path.join(out, "capacity.svg") + "`")
print()
print("| offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | errors | p95 <= 100 ms |")
print("|---:|---:|---:|---:|---:|---:|:---:|")
for s in sorted(sweep["steps"], key=lambda s: s["offered_rate"]):
    print(f"| {s['offered_rate']:.0f} | {s['achieved_rate']:.0f} | {ms(s['p50_ms'])} | {ms(s['p95_ms'])} | "
          f"{ms(s['p99_ms'])} | {s['errors']} | {'yes' if s['passed'] else 'no'} |")
print()

path = os.path.join(out, "h2load-vs-loadgen.md")
if os.path.exists(path) and os.path.getsize(path) > 0:
    print(open(path).read().rstrip())
    print()

try:
    b = load("backfill.json")
    wall, user, sys_, rss_kb = open(os.path.join(out, "backfill.time")).read().split()
    t = b["tally"]
    print(f"Backfill: {b['done']:,} of {b['rows']:,} rows ({backfill_note}) through {os.environ.get('BACKFILL_STREAMS', '2')} "
          f"ScoreStream(s) in "
          f"{b['this_run']['seconds']:.1f} s = {b['this_run']['rows_per_s']:,.0f} rows/s "
          f"(client CPU {float(user) + float(sys_):.1f} s, peak RSS {int(rss_kb) // 1024} MB); "
          f"decisions APPROVE {t['approved']:,} / REVIEW {t['reviewed']:,} / DECLINE {t['declined']:,}, "
          f"rejects {t['rejected']:,}, recall {b['recall'] or 0:.3f}, precision {b['precision'] or 0:.3f}.")
    try:
        waited, left = open(os.path.join(out, "pg-catchup.txt")).read().split()
        if left == "0":
            print(f"PostgreSQL caught up (journal backlog 0) {float(waited):.0f} s after the backfill ended.")
        else:
            print(f"PostgreSQL had not caught up {float(waited):.0f} s after the backfill ended (backlog {left}).")
    except (OSError, ValueError):
        pass
    goal = b["rows"] >= 6_000_000
    if goal:
        mode = server_flags.split("--writer-priority", 1)[1].lstrip("=").split()[0] if "--writer-priority" in server_flags else "idle"
        print(f"Goal (6.3 M rows in under a minute; writer priority {mode}): "
              f"{'MET' if b['this_run']['seconds'] < 60 else 'NOT MET'}"
              f"{'' if mode == 'defer' else ' (--writer-priority defer is the mode for bulk loads)'}.")
except (OSError, ValueError, KeyError) as e:
    print(f"Backfill: no result ({e}); see {out}/backfill.log")
EOF
