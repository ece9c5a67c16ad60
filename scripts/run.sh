#!/usr/bin/env bash
# `make run`: starts the release fraud-server, replays the bundled PaySim sample through it (ScoreStream),
# prints the summary, then keeps the server in the foreground until Ctrl-C (SIGINT drains it, exit 0).
# Usage: scripts/run.sh [--port N] [--sample FILE] [-- extra fraud-server flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
port=50051
sample=data/paysim_sample.csv
while [ $# -gt 0 ]; do
    case $1 in
        --port) port=$2; shift 2 ;;
        --sample) sample=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "run: unknown argument $1" >&2; exit 2 ;;
    esac
done
server=.build/release/fraud-server
[ -x "$server" ] || { echo "run: $server is missing: run 'make release'" >&2; exit 1; }

"$server" --host 127.0.0.1 --port "$port" "$@" &
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
.venv/bin/python scripts/replay.py --target "127.0.0.1:$port" "$sample"
echo "run: fraud-server is serving on 127.0.0.1:$port (pid $pid); press Ctrl-C to stop"
wait $pid
