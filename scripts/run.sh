#!/usr/bin/env bash
# `make run`: starts the release fraud-server, replays the bundled PaySim sample through it (ScoreStream),
# prints the summary, then keeps the server in the foreground until Ctrl-C (SIGINT drains it, exit 0).
# Authentication is on: scripts/dev-auth.sh makes a throw-away signing key, users dev-admin / dev-analyst /
# dev-scorer and a token per role under var/auth; the replay sends the scorer token. `--auth off` turns it off.
# `--tls` (make run TLS=1) also makes a throw-away self-signed certificate in var/tls and serves both ports over TLS.
# Usage: scripts/run.sh [--port N] [--sample FILE] [--tls] [--auth on|off] [-- extra fraud-server flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=50051
sample=data/paysim_sample.csv
tls=0
auth=on
while [ $# -gt 0 ]; do
    case $1 in
        --port) port=$2; shift 2 ;;
        --sample) sample=$2; shift 2 ;;
        --tls) tls=1; shift ;;
        --auth) auth=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "run: unknown argument $1" >&2; exit 2 ;;
    esac
done
server=.build/release/fraud-server
[ -x "$server" ] || { echo "run: $server is missing: run 'make release'" >&2; exit 1; }

server_flags=()
replay_flags=()
scheme=http
if [ "$auth" = on ]; then
    FRAUD_CTL=.build/release/fraud-ctl bash scripts/dev-auth.sh
    server_flags+=(--jwt-keys var/auth/keys --users var/auth/users.jsonl --audit-log var/auth/audit.jsonl)
    replay_flags+=(--token "$(cat var/auth/scorer.token)")
else
    server_flags+=(--auth off)
fi
if [ "$tls" = 1 ]; then
    mkdir -p var/tls
    if [ ! -s var/tls/server.pem ] || ! openssl x509 -checkend 3600 -noout -in var/tls/server.pem >/dev/null; then
        echo "run: making a throw-away self-signed certificate in var/tls (localhost, 127.0.0.1; 30 days)"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout var/tls/server.key \
            -out var/tls/server.pem -days 30 -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
        chmod 600 var/tls/server.key
    fi
    server_flags+=(--tls-cert var/tls/server.pem --tls-key var/tls/server.key)
    replay_flags+=(--tls-ca var/tls/server.pem)
    scheme=https
fi

"$server" --host 127.0.0.1 --port "$port" "${server_flags[@]}" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
trap 'echo; echo "run: stopping the server (drain)"; kill -TERM $pid 2>/dev/null || true; wait $pid; trap - EXIT; exit 0' INT TERM

for _ in $(seq 1 100); do
    if .venv/bin/python - "$port" <<'PY' 2>/dev/null; then break; fi
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=0.2).close()
PY
    kill -0 $pid 2>/dev/null || { echo "run: the server exited at start-up" >&2; exit 1; }
    sleep 0.1
done

echo "run: replaying $sample through fraud-server at 127.0.0.1:$port"
.venv/bin/python scripts/replay.py --target "127.0.0.1:$port" "${replay_flags[@]}" "$sample"
echo "run: fraud-server is serving on 127.0.0.1:$port (pid $pid); press Ctrl-C to stop"
if [ "$auth" = on ]; then
    echo "run: dashboard $scheme://127.0.0.1:8061/dashboard (sign in as dev-analyst / ${DEV_ANALYST_PASSWORD:-dev-analyst-password}); tokens per role in var/auth/*.token"
else
    echo "run: dashboard $scheme://127.0.0.1:8061/dashboard (authentication off)"
fi
wait $pid
