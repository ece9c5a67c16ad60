#!/usr/bin/env bash
# Throw-away authentication set-up for local development (never for production):
#   var/auth/keys/dev-<UTC time>.pem (+ .pub.pem)   ES256 signing key (kept if one exists; --rotate adds a new one)
#   var/auth/users.jsonl                           dev-admin, dev-analyst, dev-scorer (scrypt hashes, mode 0600)
#   var/auth/<role>.token                          a 24 h token per role, for curl / grpcurl / loadgen
# Passwords: $DEV_ADMIN_PASSWORD, $DEV_ANALYST_PASSWORD, $DEV_SCORER_PASSWORD, else dev-<role>-password.
# Usage: scripts/dev-auth.sh [--rotate]        (AUTH_DIR=var/auth, FRAUD_CTL=.build/debug/fraud-ctl)
set -euo pipefail
cd "$(dirname "$0")/.."

FRAUD_CTL=${FRAUD_CTL:-.build/debug/fraud-ctl}
AUTH_DIR=${AUTH_DIR:-var/auth}
KEYS="$AUTH_DIR/keys"
USERS="$AUTH_DIR/users.jsonl"

if [[ ! -x $FRAUD_CTL ]]; then
    swift build --product fraud-ctl
fi

mkdir -p "$AUTH_DIR"
chmod 700 "$AUTH_DIR"

if [[ ${1:-} == --rotate ]] || ! compgen -G "$KEYS/*.pem" >/dev/null; then
    kid="dev-$(date -u +%Y%m%d-%H%M%S)"
    "$FRAUD_CTL" auth gen-key --dir "$KEYS" --kid "$kid" >/dev/null
    echo "new signing key $kid in $KEYS (the kid that sorts last signs)"
fi

for role in admin analyst scorer; do
    var="DEV_${role^^}_PASSWORD"
    FRAUD_DEV_PASSWORD="${!var:-dev-$role-password}" \
        "$FRAUD_CTL" auth add-user --users "$USERS" --name "dev-$role" --role "$role" \
        --password-env FRAUD_DEV_PASSWORD --replace 2>/dev/null
    (umask 077 && "$FRAUD_CTL" auth token --jwt-keys "$KEYS" --sub "dev-$role" --role "$role" --ttl 86400 \
        >"$AUTH_DIR/$role.token")
done

echo "users dev-admin, dev-analyst, dev-scorer in $USERS; tokens in $AUTH_DIR/{admin,analyst,scorer}.token"
echo "server flags: --jwt-keys $KEYS --users $USERS"
