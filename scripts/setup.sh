#!/usr/bin/env bash
# Installs what building, running and testing need on a Debian 12 machine; safe to run again.
#   1. Debian packages (only the missing ones; apt-get update only if something is missing).
#   2. A project-local Python venv .venv/ with scripts/requirements-test.txt (skipped when its
#      stamp file matches the requirements' hash).
# Usage: scripts/setup.sh            Env: PYTHON (interpreter for the venv, default python3),
#                                         FRAUD_SETUP_SKIP_APT=1 / FRAUD_SETUP_SKIP_VENV=1
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

APT_PKGS=(libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libpq-dev libssl-dev postgresql
    postgresql-contrib nghttp2-client pkg-config openssl)
# `make test` also needs a headless browser for the dashboard test.
if [ "${FRAUD_SETUP_TEST:-0}" = 1 ]; then APT_PKGS+=(chromium); fi
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv
REQS=$ROOT/scripts/requirements-test.txt
STAMP=$VENV/.requirements.sha256

# ---------------------------------------------------------------- Debian packages
# Debian's own python3 needs python3-venv for `python3 -m venv`; another python3 on PATH (pyenv,
# a source build in /usr/local) ships venv + ensurepip itself. A missing python3 means Debian's.
py_path=$(command -v "$PYTHON" 2>/dev/null || true)
if [ -z "$py_path" ]; then
    log "python: $PYTHON not found, will install Debian's python3"
    APT_PKGS+=(python3 python3-venv)
    PYTHON=/usr/bin/python3
else
    # sys.base_prefix is /usr for Debian's interpreter (also behind a venv or a shim).
    py_prefix=$("$PYTHON" -c 'import sys; print(sys.base_prefix)' 2>/dev/null || echo unknown)
    if [ "$py_prefix" = /usr ]; then
        APT_PKGS+=(python3-venv)
        log "python: $py_path is Debian's (needs python3-venv)"
    else
        log "python: $py_path from $py_prefix (not Debian's, python3-venv not needed)"
    fi
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

if [ "${FRAUD_SETUP_SKIP_APT:-0}" = 1 ]; then
    log "apt: skipped (FRAUD_SETUP_SKIP_APT=1)"
else
    command -v dpkg-query >/dev/null || die "dpkg-query not found: this script expects Debian 12"
    missing=()
    for p in "${APT_PKGS[@]}"; do installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -eq 0 ]; then
        log "apt: all ${#APT_PKGS[@]} packages already installed"
    else
        if [ "$(id -u)" = 0 ]; then
            sudo=()
        elif command -v sudo >/dev/null; then
            sudo=(sudo)
        else
            die "missing packages (${missing[*]}) and not root and no sudo: install them as root"
        fi
        log "apt: missing ${missing[*]}"
        log "apt: apt-get update"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
            || die "apt-get update failed"
        log "apt: apt-get install ${missing[*]}"
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" \
            >/dev/null || die "apt-get install ${missing[*]} failed"
        # The postgresql package starts a cluster service of its own; scripts/pg.sh runs a private
        # one on another port, so the system one is left as Debian set it up.
    fi
fi

# ---------------------------------------------------------------- Python venv
if [ "${FRAUD_SETUP_SKIP_VENV:-0}" = 1 ]; then
    log "venv: skipped (FRAUD_SETUP_SKIP_VENV=1)"
    exit 0
fi
[ -f "$REQS" ] || die "$REQS not found"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    log "venv: $VENV exists ($("$VENV/bin/python" -V 2>&1))"
else
    [ -e "$VENV" ] && { log "venv: $VENV is broken, recreating"; rm -rf "$VENV"; }
    log "venv: creating $VENV with $PYTHON ($("$PYTHON" -V 2>&1))"
    "$PYTHON" -m venv "$VENV" \
        || die "'$PYTHON -m venv' failed (Debian's python3 needs the python3-venv package)"
fi

want=$( (cat "$REQS"; "$VENV/bin/python" -V 2>&1) | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log "pip: requirements unchanged (stamp $STAMP), nothing to install"
else
    log "pip: installing scripts/requirements-test.txt into .venv"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQS" \
        || die "pip install -r $REQS failed"
    "$VENV/bin/python" -c 'import grpc, grpc_tools, grpc_health, pytest, prometheus_client, h2' \
        || die "packages installed but do not import"
    echo "$want" > "$STAMP"
    log "pip: done ($("$VENV/bin/python" -c 'import grpc; print("grpcio", grpc.__version__)'))"
fi
log "ok"
