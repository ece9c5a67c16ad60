#!/usr/bin/env bash
# A project-local PostgreSQL (Debian's postgresql-15 binaries) for development and tests.
#
#   scripts/pg.sh start    init on first use, start (already running -> ok), wait until ready, print URL
#   scripts/pg.sh stop     pg_ctl stop -m fast (not running -> ok)
#   scripts/pg.sh status   running or not (exit 0 / 3), where, which port
#   scripts/pg.sh url      the libpq URL only: postgresql://fraud:fraud@127.0.0.1:PORT/fraud
#   scripts/pg.sh env      FRAUD_PG_HOST/PORT/USER/PASSWORD/DB/URL as shell exports
#   scripts/pg.sh psql     psql as role fraud on database fraud (extra arguments passed on)
#
# Data in var/pg/data under the repo (gitignored), or /tmp/fraud-pg-<hash of the repo path>/data when
# the postgres OS user cannot reach the repo. Listens on 127.0.0.1:${FRAUD_PG_PORT:-55432} only; the
# unix socket lives in the data dir (or /tmp when that path is too long for a socket). Log: DATA/postgres.log.
# Role fraud (password fraud, scram-sha-256 over TCP) owns database fraud. As root, initdb and the server
# run as the postgres OS user (runuser); otherwise as the current user.
# Env: FRAUD_PG_PORT (55432), FRAUD_PG_BIN (/usr/lib/postgresql/15/bin).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${FRAUD_PG_PORT:-55432}
DB=fraud
ROLE=fraud
PASSWORD=fraud
URL="postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB"

log() { printf 'pg: %s\n' "$*"; }
die() { printf 'pg: error: %s\n' "$*" >&2; exit 1; }

if ! [[ $PORT =~ ^[0-9]+$ ]] || [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then
    die "bad FRAUD_PG_PORT '$PORT'"
fi

find_bin() {
    local d
    if [ -n "${FRAUD_PG_BIN:-}" ]; then echo "$FRAUD_PG_BIN"; return; fi
    if [ -x /usr/lib/postgresql/15/bin/postgres ]; then echo /usr/lib/postgresql/15/bin; return; fi
    # Another Debian major version as a fallback (highest first).
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -t/ -k5 -rn); do
        if [ -x "$d/postgres" ]; then echo "$d"; return; fi
    done
    echo ""
}

# ---------------------------------------------------------------- who runs the server
if [ "$(id -u)" = 0 ]; then
    RUN_USER=postgres
    id -u postgres >/dev/null 2>&1 || die "no 'postgres' OS user (apt-get install postgresql, or run scripts/setup.sh)"
    command -v runuser >/dev/null || die "runuser not found (package util-linux)"
    # cd /: the postgres user may not be allowed into the caller's working directory.
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    RUN_USER=$(id -un)
    as_pg() { "$@"; }
fi

# ---------------------------------------------------------------- where the data lives
REPO_HOME=$ROOT/var/pg
TMP_HOME=/tmp/fraud-pg-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)

# Can RUN_USER create files in $1 (which we create and, as root, hand over)? Also proves it can traverse
# every parent directory.
usable_home() {
    local home=$1
    mkdir -p "$home" 2>/dev/null || return 1
    if [ "$RUN_USER" = postgres ] && [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$home" 2>/dev/null || return 1
        chmod 700 "$home"
    fi
    as_pg test -w "$home" -a -x "$home" 2>/dev/null
}

choose_home() {
    if [ -f "$REPO_HOME/data/PG_VERSION" ]; then echo "$REPO_HOME"; return; fi
    if [ -f "$TMP_HOME/data/PG_VERSION" ]; then echo "$TMP_HOME"; return; fi
    if usable_home "$REPO_HOME"; then echo "$REPO_HOME"; return; fi
    echo "pg: note: user $RUN_USER cannot write $REPO_HOME (or traverse its parents);" \
        "using $TMP_HOME instead" >&2
    usable_home "$TMP_HOME" || die "user $RUN_USER cannot write $TMP_HOME either"
    echo "$TMP_HOME"
}

# Paths only (no side effects) for status/stop/url: an existing cluster if any, else the repo one.
existing_home() {
    if [ -f "$REPO_HOME/data/PG_VERSION" ]; then echo "$REPO_HOME"
    elif [ -f "$TMP_HOME/data/PG_VERSION" ]; then echo "$TMP_HOME"
    else echo ""; fi
}

socket_dir_for() {  # data dir -> unix socket directory (sun_path holds 107 bytes)
    local data=$1
    if [ $(( ${#data} + ${#PORT} + 12 )) -lt 100 ]; then echo "$data"; else echo /tmp; fi
}

# ---------------------------------------------------------------- process checks
# PID of the postmaster that owns $1 (from postmaster.pid), if that process is alive and is postgres.
# After a reboot the PID in a stale postmaster.pid may belong to some unrelated process: not ours.
live_pid() {
    local data=$1 pid comm
    [ -f "$data/postmaster.pid" ] || return 1
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/comm" ] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    [ "$comm" = postgres ] || [ "$comm" = postmaster ] || return 1
    # A killed postmaster can linger as a zombie until reaped: not running.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    # Its working directory is its data dir (readable for root or the same user).
    local cwd
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    [ -z "$cwd" ] || [ "$cwd" = "$(readlink -f "$data")" ] || return 1
    echo "$pid"
}

# Remove lock files left by a postmaster that no longer runs (crash, kill -9, reboot).
clear_stale_locks() {
    local data=$1 sockdir=$2 lock pid
    if [ -f "$data/postmaster.pid" ] && ! live_pid "$data" >/dev/null; then
        log "removing stale $data/postmaster.pid (PID $(head -n 1 "$data/postmaster.pid") is not a running postgres)"
        rm -f "$data/postmaster.pid"
    fi
    lock=$sockdir/.s.PGSQL.$PORT.lock
    if [ -f "$lock" ]; then
        pid=$(head -n 1 "$lock" 2>/dev/null || true)
        if ! { [[ $pid =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]; }; then
            log "removing stale socket lock $lock"
            rm -f "$lock" "$sockdir/.s.PGSQL.$PORT"
        fi
    fi
}

# ---------------------------------------------------------------- commands
psql_admin() {  # SQL as the superuser over the unix socket (trust)
    as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$PORT" -U postgres -d postgres "$@"
}

ensure_role_and_db() {
    local has
    has=$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")
    if [ "$has" != 1 ]; then
        psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
        log "created role $ROLE"
    fi
    # The owner runs the schema migrations, one of which creates the least-privilege role fraud_writer.
    psql_admin -c "ALTER ROLE $ROLE CREATEROLE" >/dev/null
    has=$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")
    if [ "$has" != 1 ]; then
        psql_admin -c "CREATE DATABASE $DB OWNER $ROLE"
        log "created database $DB owned by $ROLE"
    fi
}

write_conf() {  # data dir: settings this script owns, rewritten on every start (the port may change)
    local data=$1 conf
    conf="# Written by scripts/pg.sh on every start; edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCKDIR'
unix_socket_permissions = 0700
log_line_prefix = '%m [%p] %q%u@%d '"
    printf '%s\n' "$conf" | as_pg tee "$data/fraud.conf" >/dev/null
}

do_init() {
    local home=$1 data=$1/data
    log "initdb $data (as $RUN_USER)"
    as_pg "$BIN/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host=scram-sha-256 >"$home/initdb.log" 2>&1 \
        || { cat "$home/initdb.log" >&2; die "initdb failed (output above, also in $home/initdb.log)"; }
    # Our settings live in fraud.conf, included last so they win.
    printf "\ninclude_if_exists = 'fraud.conf'\n" | as_pg tee -a "$data/postgresql.conf" >/dev/null
    # TCP only from loopback, with a password; the unix socket (mode 0700) keeps trust for admin work.
    printf '%s\n' \
        "# Written by scripts/pg.sh." \
        "local   all all                trust" \
        "host    all all 127.0.0.1/32   scram-sha-256" \
        | as_pg tee "$data/pg_hba.conf" >/dev/null
}

cmd_start() {
    local home data pid
    home=$(choose_home)
    data=$home/data
    SOCKDIR=$(socket_dir_for "$data")
    if [ ! -f "$data/PG_VERSION" ]; then
        [ -e "$data" ] && [ -n "$(ls -A "$data" 2>/dev/null)" ] \
            && die "$data exists but is not a PostgreSQL data dir; remove it"
        do_init "$home"
    fi
    local ver
    ver=$(cat "$data/PG_VERSION")
    [[ $BIN == */$ver/bin ]] || [ -n "${FRAUD_PG_BIN:-}" ] \
        || die "$data was made by PostgreSQL $ver but the binaries are $BIN; remove $home to start over"
    if pid=$(live_pid "$data"); then
        log "already running (PID $pid), data $data"
    else
        clear_stale_locks "$data" "$SOCKDIR"
        write_conf "$data"
        log "starting on 127.0.0.1:$PORT, data $data, log $data/postgres.log"
        if ! as_pg "$BIN/pg_ctl" start -D "$data" -l "$data/postgres.log" -w -t 60 -s; then
            tail -n 20 "$data/postgres.log" >&2 || true
            die "pg_ctl start failed (log above: $data/postgres.log)"
        fi
    fi
    local i
    for ((i = 0; i < 300; i++)); do
        "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
        sleep 0.1
    done
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" \
        || die "not accepting connections on 127.0.0.1:$PORT after 30 s (see $data/postgres.log)"
    ensure_role_and_db
    log "ready"
    echo "$URL"
}

cmd_stop() {
    local home data pid
    home=$(existing_home)
    [ -n "$home" ] || { log "not initialised, nothing to stop"; return 0; }
    data=$home/data
    if pid=$(live_pid "$data"); then
        log "stopping PID $pid (data $data)"
        as_pg "$BIN/pg_ctl" stop -D "$data" -m fast -w -t 60 -s || die "pg_ctl stop failed"
        log "stopped"
    else
        SOCKDIR=$(socket_dir_for "$data")
        clear_stale_locks "$data" "$SOCKDIR"
        log "not running"
    fi
}

cmd_status() {
    local home data pid
    home=$(existing_home)
    if [ -z "$home" ]; then
        log "not initialised (would use $REPO_HOME/data)"
        return 3
    fi
    data=$home/data
    if pid=$(live_pid "$data"); then
        if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
            log "running (PID $pid) on 127.0.0.1:$PORT, accepting connections, data $data"
        else
            log "running (PID $pid), data $data, but 127.0.0.1:$PORT does not accept connections" \
                "(another FRAUD_PG_PORT? starting up?)"
        fi
        return 0
    fi
    log "stopped, data $data"
    return 3
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
    url) echo "$URL"; exit 0 ;;
    env)
        printf 'export FRAUD_PG_HOST=127.0.0.1 FRAUD_PG_PORT=%s FRAUD_PG_USER=%s FRAUD_PG_PASSWORD=%s FRAUD_PG_DB=%s\n' \
            "$PORT" "$ROLE" "$PASSWORD" "$DB"
        printf 'export FRAUD_PG_URL=%s\n' "$URL"
        exit 0 ;;
esac
BIN=$(find_bin)
if [ -z "$BIN" ] || [ ! -x "$BIN/postgres" ]; then
    die "PostgreSQL server binaries not found in /usr/lib/postgresql/15/bin (run scripts/setup.sh)"
fi
SOCKDIR=""
case "$cmd" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    psql) PGPASSWORD=$PASSWORD exec "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U "$ROLE" -d "$DB" "$@" ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
