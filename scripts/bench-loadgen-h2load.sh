#!/usr/bin/env bash
# h2load vs fraud-loadgen --fixed-request against one server: the same prebuilt request and headers, rounds
# interleaved (h2load, loadgen, h2load, ...), each client on one thread. Prints per-round req/s, client CPU µs
# per call (user + system time of the client process over the calls it made, warm-up included) and the median
# of the per-round ratios, as Markdown. `make bench` runs it against its own server.
#
#   scripts/bench-loadgen-h2load.sh [--target host:port]
#
# Without --target it starts a release fraud-server of its own (journal only, --auth off) and stops it after.
# Environment (all optional):
#   ROUNDS=5 DURATION=4 WARMUP=1     rounds, measured seconds and warm-up seconds per client run
#   CONNECTIONS=4 STREAMS=32         connections x concurrent streams, for both clients
#   BIN=.build/release               where fraud-loadgen (and fraud-server) are
#   OUT=var/bench-lg                 per-round outputs; RESULTS=$OUT/h2load-vs-loadgen.txt the raw lines
#   RUN_ID=...                       fraud-loadgen --run-id prefix
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
CONNECTIONS=${CONNECTIONS:-4}
STREAMS=${STREAMS:-32}
BIN=${BIN:-.build/release}
OUT=${OUT:-var/bench-lg}
RESULTS=${RESULTS:-$OUT/h2load-vs-loadgen.txt}
RUN_ID=${RUN_ID:-$(date +%H%M%S)$$}
TARGET=""
while [ $# -gt 0 ]; do
    case "$1" in
        --target) TARGET=$2; shift 2 ;;
        --target=*) TARGET=${1#*=}; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "bench-loadgen-h2load.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
log() { echo "bench-loadgen-h2load: $*" >&2; }
command -v h2load >/dev/null || { log "h2load not found (apt-get install nghttp2-client)"; exit 1; }
[ -x "$BIN/fraud-loadgen" ] || { log "$BIN/fraud-loadgen missing (swift build -c release --product fraud-loadgen)"; exit 1; }
mkdir -p "$OUT"

SERVER_PID=""
if [ -z "$TARGET" ]; then
    [ -x "$BIN/fraud-server" ] || { log "$BIN/fraud-server missing"; exit 1; }
    rm -rf "$OUT/journal"
    "$BIN/fraud-server" --host 127.0.0.1 --port 0 --admin-port 0 --auth off --journal-dir "$OUT/journal" \
        --log-level warning >"$OUT/fraud-server.log" 2>&1 &
    SERVER_PID=$!
    trap 'kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; rm -rf "$OUT/journal"' EXIT
    for _ in $(seq 1 200); do
        TARGET=$(sed -n 's/^listening on //p' "$OUT/fraud-server.log" | head -1)
        [ -n "$TARGET" ] && break
        sleep 0.05
    done
    [ -n "$TARGET" ] || { cat "$OUT/fraud-server.log" >&2; log "fraud-server did not start"; exit 1; }
    log "fraud-server (journal only, --auth off) on $TARGET"
fi

# Runs "$@" and prints the user + system CPU seconds it used (bash's own accounting, no external tool).
cpu_seconds() {
    local TIMEFORMAT="%3U %3S"
    local times
    times=$( { time "$@" >/dev/null 2>&1; } 2>&1 )
    awk '{ printf "%.3f", $1 + $2 }' <<<"$times"
}

"$BIN/fraud-loadgen" --target "$TARGET" --write-request "$OUT/fixed-request.bin" --run-id "$RUN_ID-fx" >/dev/null
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS: h2load, then fraud-loadgen ($CONNECTIONS x $STREAMS, 1 thread each, ${DURATION}s + ${WARMUP}s warm-up)"
    h2cpu=$(cpu_seconds sh -c 'exec h2load "$@" >"$0" 2>&1' "$OUT/h2load-$round.txt" \
        -D "$DURATION" --warm-up-time "$WARMUP" -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
        -H 'content-type: application/grpc' -H 'te: trailers' -H 'grpc-timeout: 1000m' \
        -d "$OUT/fixed-request.bin" "http://$TARGET/fraud.v1.FraudScoring/Score")
    h2out=$(cat "$OUT/h2load-$round.txt")
    h2rate=$(echo "$h2out" | sed -n 's/^finished in .*s, \([0-9.]*\) req\/s.*/\1/p')
    h2fail=$(echo "$h2out" | sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1+\2/p')
    lgcpu=$(cpu_seconds "$BIN/fraud-loadgen" --target "$TARGET" --quiet --fixed-request --rate max \
        --duration "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" --streams "$STREAMS" --threads 1 \
        --timeout 1000 --run-id "$RUN_ID-fx" --json-out "$OUT/fixed-$round.json")
    echo "$round $h2rate $h2fail $OUT/fixed-$round.json $h2cpu $lgcpu" >>"$RESULTS"
done

python3 - "$RESULTS" "$DURATION" "$WARMUP" "$CONNECTIONS" "$STREAMS" <<'EOF'
import json, statistics, sys

path, duration, warmup, connections, streams = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
rounds = []
for line in open(path):
    parts = line.split()
    if len(parts) == 6 and parts[1]:
        report = json.load(open(parts[3]))
        rounds.append((float(parts[1]), parts[2], report, float(parts[4]), float(parts[5])))
if not rounds:
    sys.exit("no complete round")


def us_per_call(cpu, rate):
    # Calls made ~ rate x (measured + warm-up seconds); the CPU time covers the whole process.
    return cpu * 1e6 / (rate * (duration + warmup)) if rate else float("nan")


lg_rates = [r[2]["achieved_rate"] for r in rounds]
ratios = [r[2]["achieved_rate"] / r[0] for r in rounds if r[0]]
h2_us = [us_per_call(r[3], r[0]) for r in rounds]
lg_us = [us_per_call(r[4], r[2]["achieved_rate"]) for r in rounds]
print(f"h2load vs fraud-loadgen --fixed-request: the same prebuilt request and headers, {connections} connections "
      f"x {streams} streams, 1 client thread each, {len(rounds)} interleaved round(s) of {duration:g} s "
      f"after {warmup:g} s of warm-up:")
print()
print("| client | median req/s | req/s per round | client CPU µs/call per round (median) | failures |")
print("|---|---:|---|---|---:|")
print(f"| h2load | {statistics.median(r[0] for r in rounds):.0f} | {', '.join(f'{r[0]:.0f}' for r in rounds)} | "
      f"{', '.join(f'{u:.2f}' for u in h2_us)} ({statistics.median(h2_us):.2f}) | {', '.join(r[1] for r in rounds)} |")
print(f"| fraud-loadgen | {statistics.median(lg_rates):.0f} | {', '.join(f'{x:.0f}' for x in lg_rates)} | "
      f"{', '.join(f'{u:.2f}' for u in lg_us)} ({statistics.median(lg_us):.2f}) | "
      f"{', '.join(str(r[2]['errors']) for r in rounds)} |")
ratio = statistics.median(ratios) if ratios else 0
verdict = "at least 0.90" if ratio >= 0.90 else "BELOW 0.90"
print(f"| ratio fraud-loadgen / h2load (median of rounds) | {ratio:.3f} | {', '.join(f'{x:.2f}' for x in ratios)} | | {verdict} |")
EOF
