#!/usr/bin/env bash
# Server instructions per Score call (callgrind), cleartext without auth vs TLS + JWT: deterministic where the
# clock on a shared VM swings by +-20 %.
#
#   bash scripts/callgrind-tls.sh [BIN_DIR]      (default .build/release; needs valgrind, h2load, openssl)
#
# For each client (h2load: never-indexed token literal; fraud-loadgen: token indexed once per connection) and
# each server (plain: --auth off, h2c; secure: TLS + JWT), a release fraud-server runs under callgrind, the
# client keeps 32 calls in flight on one reused connection (taskset CPU 1), the counters are zeroed after WARM
# seconds and dumped WINDOW seconds later; instructions in the window / nghttp2_submit_trailer calls (one per
# answered call) = instructions per call. Under valgrind every read carries all 32 calls, so the figure is
# stable to about +-0.5 % between runs.
#
# Two workarounds, both for measuring only: the binary is copied without DWARF (valgrind 3.19 cannot read
# Swift 6's DWARF 5), and an LD_PRELOAD shim copies the mask given to sigsuspend (libdispatch parks the main
# thread with a mask in read-only memory, which valgrind 3.19 writes to and crashes).
#
# SIDE=client measures the other end: the server runs natively (CPU 0) and the client under callgrind; calls are
# then counted as nghttp2_submit_request (one per call, in h2load and in fraud-loadgen alike).
#
# Environment: WARM=25 WINDOW=25 CLIENTS="h2load loadgen" MODES="plain secure" SIDE=server OUT=var/callgrind-tls
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release}
WARM=${WARM:-25}
WINDOW=${WINDOW:-25}
CLIENTS=${CLIENTS:-h2load loadgen}
MODES=${MODES:-plain secure}
SIDE=${SIDE:-server}
OUT=${OUT:-var/callgrind-tls}
for tool in valgrind callgrind_control h2load openssl gcc strip; do
    command -v "$tool" >/dev/null || { echo "callgrind-tls: $tool not found" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/keys"
OUT=$(cd "$OUT" && pwd)
strip --strip-debug -o "$OUT/fraud-server" "$BIN/fraud-server"
strip --strip-debug -o "$OUT/fraud-loadgen" "$BIN/fraud-loadgen"
cat >"$OUT/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, 8);
}
C
gcc -O2 -shared -fPIC -o "$OUT/sigsuspend.so" "$OUT/sigsuspend.c"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OUT/tls.key" -out "$OUT/tls.pem" \
    -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
"$BIN/fraud-ctl" auth gen-key --dir "$OUT/keys" --kid bench >/dev/null
BENCH_PASSWORD=$(head -c 18 /dev/urandom | base64) \
    "$BIN/fraud-ctl" auth add-user --users "$OUT/users.json" --name bench --role scorer --password-env BENCH_PASSWORD >/dev/null
"$BIN/fraud-ctl" auth token --jwt-keys "$OUT/keys" --sub bench --role scorer --ttl 3600 >"$OUT/token"
"$BIN/fraud-loadgen" --write-request "$OUT/request.bin" --run-id cg >/dev/null

per_call() {  # callgrind dump $1: total Ir / calls of $2 (nghttp2_submit_trailer: one per answered call)
    python3 - "$1" "$2" <<'PY'
import re, sys
names, current, total, calls = {}, None, 0, 0
for line in open(sys.argv[1], errors="replace"):
    if line.startswith(("summary:", "totals:")):
        total = int(line.split()[1])
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3).strip()
        if m.group(1) == "cfn":
            current = names.get(m.group(2))
        continue
    if line.startswith("calls=") and current == sys.argv[2]:
        calls += int(line.split()[0][6:])
print(f"{total / max(calls, 1):.0f} {calls}")
PY
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
printf '| client | server | calls in the window | %s instructions per call |\n|---|---|---|---|\n' "$SIDE"
for client in $CLIENTS; do
    for mode in $MODES; do
        run="$OUT/$client-$mode"
        mkdir -p "$run"
        port=$(free_port)
        if [ "$mode" = plain ]; then
            server_args=(--auth off)
            url="http://127.0.0.1:$port/fraud.v1.FraudScoring/Score"; h2_args=(); lg_args=()
        else
            server_args=(--tls-cert "$OUT/tls.pem" --tls-key "$OUT/tls.key" --jwt-keys "$OUT/keys" --users "$OUT/users.json"
                --audit-log "$run/audit.jsonl")
            url="https://127.0.0.1:$port/fraud.v1.FraudScoring/Score"
            h2_args=(-H "authorization: Bearer $(cat "$OUT/token")"); lg_args=(--tls-ca "$OUT/tls.pem" --token-file "$OUT/token")
        fi
        # The measured side runs under callgrind (`$measured` is its pid), the other natively.
        under_callgrind=(env LD_PRELOAD="$OUT/sigsuspend.so" valgrind --tool=callgrind --callgrind-out-file="$run/cg.out" --dump-instr=no)
        if [ "$SIDE" = server ]; then server_prefix=("${under_callgrind[@]}"); client_prefix=(); else server_prefix=(taskset -c 0); client_prefix=("${under_callgrind[@]}"); fi
        (cd "$run" && exec "${server_prefix[@]}" "$OUT/fraud-server" --host 127.0.0.1 --port "$port" --admin-port=-1 \
            --journal-dir "$run/journal" "${server_args[@]}" >"$run/server.log" 2>&1) &
        server=$!
        for _ in $(seq 1 600); do grep -q '^listening on' "$run/server.log" 2>/dev/null && break; sleep 0.2; done
        grep -q '^listening on' "$run/server.log" || { echo "server did not start: $run/server.log" >&2; exit 1; }
        if [ "$client" = h2load ]; then
            (cd "$run" && exec taskset -c 1 "${client_prefix[@]}" h2load -n 100000000 -c 1 -m 32 -t 1 -H 'content-type: application/grpc' \
                -H 'te: trailers' "${h2_args[@]}" -d "$OUT/request.bin" "$url" >"$run/client.log" 2>&1) &
        else
            (cd "$run" && exec taskset -c 1 "${client_prefix[@]}" "$OUT/fraud-loadgen" --target "127.0.0.1:$port" --quiet --fixed-request \
                --rate max --duration 3600 --warmup 0 --connections 1 --streams 32 --threads 1 --timeout 0 --run-id cg \
                "${lg_args[@]}" >"$run/client.log" 2>&1) &
        fi
        load=$!
        if [ "$SIDE" = server ]; then measured=$server; counted=nghttp2_submit_trailer; else measured=$load; counted=nghttp2_submit_request; fi
        sleep "$WARM"
        callgrind_control -z "$measured" >/dev/null 2>&1
        sleep "$WINDOW"
        callgrind_control -d window "$measured" >/dev/null 2>&1
        kill "$load" 2>/dev/null || true
        wait "$load" 2>/dev/null || true
        kill -TERM "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        read -r ir calls < <(per_call "$run/cg.out.1" "$counted")
        printf '| %s | %s | %s | %s |\n' "$client" "$mode" "$calls" "$ir"
    done
done
