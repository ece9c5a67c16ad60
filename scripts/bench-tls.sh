#!/usr/bin/env bash
# make bench-tls: Score throughput over TLS + JWT vs cleartext without auth, in the same run.
#
# Two release fraud-servers side by side (journal only, admin port off):
#   plain  --auth off, h2c
#   secure --tls-cert/--tls-key (throw-away self-signed P-256 certificate), --auth on with a fresh ES256 key,
#          one scorer user; every request carries `authorization: Bearer <token>`
# Two clients, each alternately against both servers, ROUNDS times, which server goes first alternating from
# round to round (the same prebuilt Score request, the same connections x streams, one client thread,
# connections reused for every request):
#   h2load         nghttp2's encoder: `authorization` goes as a never-indexed literal, Huffman-coded per call
#   fraud-loadgen  our client (--fixed-request --rate max --tls --token-file): it indexes the token in HPACK once
#                  per connection and then sends a one-byte reference, as grpc-go and grpc-java do
# The report gives each round and, per client, the median ratio secure/plain. LOADGEN=0 skips fraud-loadgen.
#
# PIN=1 pins both servers to CPU 0 and the client to CPU 1 (taskset), so each side has a core of its own and the
# figure is the server's throughput; by default all share both cores, so the ratio also carries the client's own
# extra cost of TLS (and, for h2load, of Huffman-coding the never-indexed token on every call). The last lines
# give the server's capacity ratio: its CPU per request, cleartext over TLS + JWT (median over all runs); then,
# per client, the same with the client's own CPU added (server + client CPU per request): the throughput ratio
# the two cores would give if CPU were the only limit (time the VM's host takes from the vCPUs is not in it).
#
# Then CONCURRENT_ROUNDS more rounds run both sides at once: servers pinned together to CPU 0 (equal CPU time for
# each), a cleartext and a TLS client of one kind together on CPU 1. The VM's slow and fast spells hit both sides
# alike there, so these ratios scatter far less than the one-after-the-other ones above; they measure the server's
# throughput at equal CPU.
#
# Environment: ROUNDS=11 CONCURRENT_ROUNDS=$ROUNDS DURATION=3 CONNECTIONS=4 STREAMS=32 PIN= LOADGEN=1 SCRATCH=.build
#              OUT=var/bench-tls SKIP_BUILD=1
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
SCRATCH=${SCRATCH:-.build}
ROUNDS=${ROUNDS:-11}
DURATION=${DURATION:-3}
CONNECTIONS=${CONNECTIONS:-4}
STREAMS=${STREAMS:-32}
OUT=${OUT:-var/bench-tls}
LOADGEN=${LOADGEN:-1}
CONCURRENT_ROUNDS=${CONCURRENT_ROUNDS:-$ROUNDS}
BIN=$SCRATCH/release
SERVER_PIN=()
CLIENT_PIN=()
if [ -n "${PIN:-}" ]; then
    SERVER_PIN=(taskset -c 0)
    CLIENT_PIN=(taskset -c 1)
fi
log() { echo "bench-tls: $*" >&2; }
command -v h2load >/dev/null || { log "h2load not found (apt-get install nghttp2-client)"; exit 1; }

if [ -z "${SKIP_BUILD:-}" ]; then
    for product in fraud-server fraud-loadgen fraud-ctl; do
        log "building $product (release)"
        "$SWIFT" build -c release --scratch-path "$SCRATCH" --product "$product" >&2
    done
fi
rm -rf "$OUT"
mkdir -p "$OUT/keys"

log "throw-away certificate, signing key, scorer user and token"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OUT/tls.key" -out "$OUT/tls.pem" \
    -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
"$BIN/fraud-ctl" auth gen-key --dir "$OUT/keys" --kid bench >/dev/null
BENCH_PASSWORD=$(head -c 18 /dev/urandom | base64) \
    "$BIN/fraud-ctl" auth add-user --users "$OUT/users.json" --name bench --role scorer --password-env BENCH_PASSWORD >/dev/null
TOKEN=$("$BIN/fraud-ctl" auth token --jwt-keys "$OUT/keys" --sub bench --role scorer --ttl 3600)
(umask 077 && printf '%s\n' "$TOKEN" >"$OUT/token")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PLAIN_PORT=$(free_port)
SECURE_PORT=$(free_port)
"${SERVER_PIN[@]}" "$BIN/fraud-server" --host 127.0.0.1 --port "$PLAIN_PORT" --admin-port=-1 --journal-dir "$OUT/journal-plain" \
    --auth off >"$OUT/plain.log" 2>&1 &
PLAIN_PID=$!
"${SERVER_PIN[@]}" "$BIN/fraud-server" --host 127.0.0.1 --port "$SECURE_PORT" --admin-port=-1 --journal-dir "$OUT/journal-secure" \
    --tls-cert "$OUT/tls.pem" --tls-key "$OUT/tls.key" --jwt-keys "$OUT/keys" --users "$OUT/users.json" \
    --audit-log "$OUT/audit.jsonl" >"$OUT/secure.log" 2>&1 &
SECURE_PID=$!
trap 'kill -TERM $PLAIN_PID $SECURE_PID 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for log_file in "$OUT/plain.log" "$OUT/secure.log"; do
    for _ in $(seq 1 100); do grep -q '^listening on' "$log_file" && break; sleep 0.1; done
    grep -q '^listening on' "$log_file" || { log "server did not start: $log_file"; cat "$log_file" >&2; exit 1; }
done

"$BIN/fraud-loadgen" --write-request "$OUT/request.bin" --run-id "tls$$" >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
TICK_HZ=$(getconf CLK_TCK)

# The client's CPU (user + system seconds, bash's `time`), for its CPU per request.
TIMEFORMAT='%3U %3S'
client_seconds() { awk '{print $1 + $2}' "$OUT/client-time"; }

run_h2load() {  # pid, url, extra header args...; prints "req/s server-CPU-µs/req client-CPU-µs/req", checks every request succeeded
    local pid=$1 url=$2; shift 2
    local out before after
    before=$(cpu_ticks "$pid")
    { time "${CLIENT_PIN[@]}" h2load -D "$DURATION" --warm-up-time 1 -c "$CONNECTIONS" -m "$STREAMS" -t 1 \
        -H 'content-type: application/grpc' -H 'te: trailers' "$@" -d "$OUT/request.bin" "$url" \
        >"$OUT/h2load-last.txt" 2>&1; } 2>"$OUT/client-time"
    out=$(cat "$OUT/h2load-last.txt")
    echo "$out" >>"$OUT/h2load.txt"
    local failed
    failed=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p')
    [ "$failed" = "0 0" ] || { log "h2load reported failures ($failed): see $OUT/h2load.txt"; exit 1; }
    after=$(cpu_ticks "$pid")
    local rps
    rps=$(echo "$out" | sed -n 's/^finished in .*s, \([0-9.]*\) req\/s.*/\1/p')
    # The CPU covers the warm-up second too, at about the measured rate.
    python3 -c "r = $rps * ($DURATION + 1); print($rps, f'{($after - $before) / $TICK_HZ * 1e6 / r:.1f}', f'{$(client_seconds) * 1e6 / r:.1f}')"
}

run_loadgen() {  # pid, target, extra args...; prints "req/s server-CPU-µs/req client-CPU-µs/req", checks every call succeeded
    local pid=$1 target=$2; shift 2
    local before after json="$OUT/loadgen-last.json"
    before=$(cpu_ticks "$pid")
    { time "${CLIENT_PIN[@]}" "$BIN/fraud-loadgen" --target "$target" --quiet --fixed-request --rate max \
        --duration "$DURATION" --warmup 1 --connections "$CONNECTIONS" --streams "$STREAMS" --threads 1 \
        --timeout 0 --run-id "tls$$" --json-out "$json" "$@" >>"$OUT/loadgen.txt" 2>&1; } 2>"$OUT/client-time" \
        || { log "fraud-loadgen failed: see $OUT/loadgen.txt"; exit 1; }
    after=$(cpu_ticks "$pid")
    python3 - "$json" "$before" "$after" "$TICK_HZ" "$DURATION" "$(client_seconds)" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
before, after, hz, duration = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
client = float(sys.argv[6])
if report["errors"]:
    sys.exit(f"fraud-loadgen: {report['errors']} calls failed")
rate = report["achieved_rate"]
requests = rate * (duration + 1)
print(rate, f"{(after - before) / hz * 1e6 / requests:.1f}", f"{client * 1e6 / requests:.1f}")
PY
}

h2load_plain() { run_h2load "$PLAIN_PID" "http://127.0.0.1:$PLAIN_PORT/fraud.v1.FraudScoring/Score"; }
h2load_secure() {
    run_h2load "$SECURE_PID" "https://127.0.0.1:$SECURE_PORT/fraud.v1.FraudScoring/Score" -H "authorization: Bearer $TOKEN"
}
loadgen_plain() { run_loadgen "$PLAIN_PID" "127.0.0.1:$PLAIN_PORT"; }
loadgen_secure() { run_loadgen "$SECURE_PID" "127.0.0.1:$SECURE_PORT" --tls-ca "$OUT/tls.pem" --token-file "$OUT/token"; }

# A wrong token must fail (so the secure numbers below are authenticated calls, not refusals).
denied=$(h2load -n 10 -c 1 -H 'content-type: application/grpc' -H 'te: trailers' -H 'authorization: Bearer x.y.z' \
    -d "$OUT/request.bin" "https://127.0.0.1:$SECURE_PORT/fraud.v1.FraudScoring/Score" 2>&1 | sed -n 's/.*(\([0-9]*\)) data.*/\1/p')
log "a bad token gets DATA bytes: ${denied:-?} (0 = every call refused before scoring)"

log "token: ${#TOKEN} bytes"
printf '| round | client | cleartext, no auth (req/s) | TLS + JWT (req/s) | ratio | server CPU µs/req, cleartext | server CPU µs/req, TLS + JWT | client CPU µs/req, cleartext | client CPU µs/req, TLS + JWT |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
h2_ratios=()
lg_ratios=()
cpu_ratios=()  # server CPU per request, cleartext / TLS + JWT: the server's capacity ratio
h2_total_ratios=()  # server + client CPU per request, cleartext / TLS + JWT, per client
lg_total_ratios=()
report_round() {  # round, client, plain, secure, plain server µs, secure server µs, plain client µs, secure client µs
    printf '| %s | %s | %.0f | %.0f | %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" \
        "$(python3 -c "print(f'{$4/$3:.3f}')")" "$5" "$6" "$7" "$8"
}
for round in $(seq 1 "$ROUNDS"); do
    log "round $round/$ROUNDS"
    # Odd rounds run cleartext first, even rounds TLS first: a side is never always the second of a pair.
    if [ $((round % 2)) = 1 ]; then
        read -r plain plain_cpu plain_client < <(h2load_plain)
        read -r secure secure_cpu secure_client < <(h2load_secure)
    else
        read -r secure secure_cpu secure_client < <(h2load_secure)
        read -r plain plain_cpu plain_client < <(h2load_plain)
    fi
    h2_ratios+=("$(python3 -c "print(f'{$secure/$plain:.3f}')")")
    cpu_ratios+=("$(python3 -c "print(f'{$plain_cpu/$secure_cpu:.3f}')")")
    h2_total_ratios+=("$(python3 -c "print(f'{($plain_cpu + $plain_client)/($secure_cpu + $secure_client):.3f}')")")
    report_round "$round" h2load "$plain" "$secure" "$plain_cpu" "$secure_cpu" "$plain_client" "$secure_client"
    [ "$LOADGEN" = 1 ] || continue
    if [ $((round % 2)) = 1 ]; then
        read -r secure secure_cpu secure_client < <(loadgen_secure)
        read -r plain plain_cpu plain_client < <(loadgen_plain)
    else
        read -r plain plain_cpu plain_client < <(loadgen_plain)
        read -r secure secure_cpu secure_client < <(loadgen_secure)
    fi
    lg_ratios+=("$(python3 -c "print(f'{$secure/$plain:.3f}')")")
    cpu_ratios+=("$(python3 -c "print(f'{$plain_cpu/$secure_cpu:.3f}')")")
    lg_total_ratios+=("$(python3 -c "print(f'{($plain_cpu + $plain_client)/($secure_cpu + $secure_client):.3f}')")")
    report_round "$round" fraud-loadgen "$plain" "$secure" "$plain_cpu" "$secure_cpu" "$plain_client" "$secure_client"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Concurrent rounds: both servers pinned to CPU 0, where the scheduler gives them equal CPU time, and two clients
# of one kind at once on CPU 1, one per server. Both sides of a ratio run in the same seconds, so whatever slows
# the VM down slows both alike; the ratio is the servers' throughput at equal CPU. Printed per round: the two
# rates, each server's CPU seconds (they should match) and how busy CPU 1 was (the clients must not be the limit).
cpu1_ticks() { awk '$1 == "cpu1" {busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat; }
conc_h2_ratios=()
conc_lg_ratios=()
conc_h2_cpu_ratios=()
conc_lg_cpu_ratios=()
if [ "$CONCURRENT_ROUNDS" -gt 0 ] && [ "$(nproc)" -lt 2 ]; then
    log "concurrent rounds need two CPUs (servers on CPU 0, clients on CPU 1); skipped"
    CONCURRENT_ROUNDS=0
fi
if [ "$CONCURRENT_ROUNDS" -gt 0 ]; then
    taskset -a -p -c 0 "$PLAIN_PID" >/dev/null
    taskset -a -p -c 0 "$SECURE_PID" >/dev/null
    echo
    printf '| concurrent round | client | cleartext, no auth (req/s) | TLS + JWT (req/s) | ratio | server CPU s, cleartext | server CPU s, TLS + JWT | CPU 1 busy (clients) |\n'
    printf '|---|---|---|---|---|---|---|---|\n'
    for round in $(seq 1 "$CONCURRENT_ROUNDS"); do
        log "concurrent round $round/$CONCURRENT_ROUNDS"
        for client in h2load fraud-loadgen; do
            [ "$client" = h2load ] || [ "$LOADGEN" = 1 ] || continue
            plain_before=$(cpu_ticks "$PLAIN_PID")
            secure_before=$(cpu_ticks "$SECURE_PID")
            read -r cpu1_busy_before cpu1_all_before < <(cpu1_ticks)
            if [ "$client" = h2load ]; then
                common=(h2load -D "$DURATION" --warm-up-time 1 -c "$CONNECTIONS" -m "$STREAMS" -t 1
                    -H 'content-type: application/grpc' -H 'te: trailers' -d "$OUT/request.bin")
                taskset -c 1 "${common[@]}" "http://127.0.0.1:$PLAIN_PORT/fraud.v1.FraudScoring/Score" \
                    >"$OUT/conc-plain.txt" 2>&1 &
                plain_client=$!
                taskset -c 1 "${common[@]}" -H "authorization: Bearer $TOKEN" \
                    "https://127.0.0.1:$SECURE_PORT/fraud.v1.FraudScoring/Score" >"$OUT/conc-secure.txt" 2>&1 &
                secure_client=$!
            else
                common=("$BIN/fraud-loadgen" --quiet --fixed-request --rate max --duration "$DURATION" --warmup 1
                    --connections "$CONNECTIONS" --streams "$STREAMS" --threads 1 --timeout 0 --run-id "tls$$")
                taskset -c 1 "${common[@]}" --target "127.0.0.1:$PLAIN_PORT" --json-out "$OUT/conc-plain.json" \
                    >>"$OUT/loadgen.txt" 2>&1 &
                plain_client=$!
                taskset -c 1 "${common[@]}" --target "127.0.0.1:$SECURE_PORT" --tls-ca "$OUT/tls.pem" \
                    --token-file "$OUT/token" --json-out "$OUT/conc-secure.json" >>"$OUT/loadgen.txt" 2>&1 &
                secure_client=$!
            fi
            wait "$plain_client" || { log "$client against the cleartext server failed (see $OUT)"; exit 1; }
            wait "$secure_client" || { log "$client against the TLS server failed (see $OUT)"; exit 1; }
            plain_after=$(cpu_ticks "$PLAIN_PID")
            secure_after=$(cpu_ticks "$SECURE_PID")
            read -r cpu1_busy_after cpu1_all_after < <(cpu1_ticks)
            if [ "$client" = h2load ]; then
                cat "$OUT/conc-plain.txt" "$OUT/conc-secure.txt" >>"$OUT/h2load.txt"
                for file in "$OUT/conc-plain.txt" "$OUT/conc-secure.txt"; do
                    failed=$(sed -n 's/^requests: .* \([0-9]*\) failed, \([0-9]*\) errored.*/\1 \2/p' "$file")
                    [ "$failed" = "0 0" ] || { log "h2load reported failures ($failed): see $file"; exit 1; }
                done
                plain=$(sed -n 's/^finished in .*s, \([0-9.]*\) req\/s.*/\1/p' "$OUT/conc-plain.txt")
                secure=$(sed -n 's/^finished in .*s, \([0-9.]*\) req\/s.*/\1/p' "$OUT/conc-secure.txt")
            else
                read -r plain secure < <(python3 - "$OUT/conc-plain.json" "$OUT/conc-secure.json" <<'PY'
import json, sys
reports = [json.load(open(path)) for path in sys.argv[1:]]
if any(report["errors"] for report in reports):
    sys.exit("fraud-loadgen: calls failed")
print(*(report["achieved_rate"] for report in reports))
PY
)
            fi
            ratio=$(python3 -c "print(f'{$secure/$plain:.3f}')")
            # Per CPU-second of each server: the same as `ratio` when both got equal CPU; higher when the TLS
            # server sat idle waiting for its client (h2load's TLS client can fill CPU 1).
            per_cpu=$(python3 -c "print(f'{($secure / max(1, $secure_after - $secure_before)) / ($plain / max(1, $plain_after - $plain_before)):.3f}')")
            if [ "$client" = h2load ]; then
                conc_h2_ratios+=("$ratio")
                conc_h2_cpu_ratios+=("$per_cpu")
            else
                conc_lg_ratios+=("$ratio")
                conc_lg_cpu_ratios+=("$per_cpu")
            fi
            printf '| %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n' "$round" "$client" "$plain" "$secure" "$ratio" \
                "$(python3 -c "print(f'{($plain_after - $plain_before) / $TICK_HZ:.2f}')")" \
                "$(python3 -c "print(f'{($secure_after - $secure_before) / $TICK_HZ:.2f}')")" \
                "$(python3 -c "print(f'{100 * ($cpu1_busy_after - $cpu1_busy_before) / max(1, $cpu1_all_after - $cpu1_all_before):.0f} %')")"
        done
    done
fi
echo
pinning="servers and client share $(nproc) cores with the OS"
[ -n "${PIN:-}" ] && pinning="servers pinned to CPU 0, the client to CPU 1"
setup="$CONNECTIONS connections x $STREAMS streams, one client thread, ${DURATION}s rounds; $pinning; $(date -u +%F)"
if [ "$ROUNDS" -gt 0 ]; then
    echo "median TLS+JWT / cleartext throughput, h2load: $(median "${h2_ratios[@]}") ($setup)"
    if [ "$LOADGEN" = 1 ]; then
        echo "median TLS+JWT / cleartext throughput, fraud-loadgen: $(median "${lg_ratios[@]}") ($setup)"
    fi
    echo "median server capacity ratio (server CPU per request, cleartext / TLS+JWT, all runs): $(median "${cpu_ratios[@]}")"
    echo "median capacity ratio with the client (server + client CPU per request, cleartext / TLS+JWT), h2load: $(median "${h2_total_ratios[@]}")"
    if [ "$LOADGEN" = 1 ]; then
        echo "median capacity ratio with the client (server + client CPU per request, cleartext / TLS+JWT), fraud-loadgen: $(median "${lg_total_ratios[@]}")"
    fi
fi
if [ "$CONCURRENT_ROUNDS" -gt 0 ]; then
    concurrent="both at once, servers sharing CPU 0, clients on CPU 1, $CONNECTIONS x $STREAMS each, ${DURATION}s rounds"
    echo "median TLS+JWT / cleartext throughput, concurrent, h2load: $(median "${conc_h2_ratios[@]}") ($concurrent)"
    if [ "$LOADGEN" = 1 ]; then
        echo "median TLS+JWT / cleartext throughput, concurrent, fraud-loadgen: $(median "${conc_lg_ratios[@]}") ($concurrent)"
    fi
    echo "median TLS+JWT / cleartext throughput per server CPU-second, concurrent, h2load: $(median "${conc_h2_cpu_ratios[@]}")"
    if [ "$LOADGEN" = 1 ]; then
        echo "median TLS+JWT / cleartext throughput per server CPU-second, concurrent, fraud-loadgen: $(median "${conc_lg_cpu_ratios[@]}")"
    fi
fi
