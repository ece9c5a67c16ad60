#!/usr/bin/env bash
# Regenerates Sources/CFraudProto from proto/ with protoc-c (protobuf-c-compiler).
# Usage: scripts/gen-proto.sh [OUTDIR]   (default: Sources/CFraudProto)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Sources/CFraudProto}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
protos=(fraud/v1/fraud.proto grpc/health/v1/health.proto)
protoc-c --c_out="$tmp" -Iproto "${protos[@]}"
for p in "${protos[@]}"; do
    base=${p%.proto}
    mkdir -p "$out/$(dirname "$base")" "$out/include/$(dirname "$base")"
    cp "$tmp/$base.pb-c.c" "$out/$base.pb-c.c"
    cp "$tmp/$base.pb-c.h" "$out/include/$base.pb-c.h"
done
