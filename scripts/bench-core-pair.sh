#!/usr/bin/env bash
# Two builds of fraud-core-bench side by side: both `--profile` runs start together, one on each CPU, and swap
# CPUs every round, so the VM's drift (±25 % between runs here) hits both alike. Prints each round's line of
# both and the new/old ratios (batched and one by one).
#
#   bash scripts/bench-core-pair.sh OLD_BINARY NEW_BINARY [ROUNDS] [-- extra fraud-core-bench flags]
#
# e.g. build the old commit in a clone (`git clone -q . /tmp/old && cd /tmp/old && git checkout <commit> &&
# swift build -c release --product fraud-core-bench`), then
#   bash scripts/bench-core-pair.sh /tmp/old/.build/release/fraud-core-bench .build/release/fraud-core-bench 5
# Each run holds a 10 M-account engine (≈ 1.4 GB): two at once need ≈ 3 GB.
set -euo pipefail
old=$1; new=$2; rounds=${3:-5}
shift $(( $# >= 3 ? 3 : $# ))
[ "${1:-}" = "--" ] && shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rate() { sed -n "s/.*$2 [0-9]* scored, \([0-9]*\) scores\/s.*/\1/p" "$1"; }
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) = 1 ]; then cpu_old=0; cpu_new=1; else cpu_old=1; cpu_new=0; fi
    taskset -c "$cpu_old" "$old" --profile "$@" >"$work/old" 2>&1 &
    taskset -c "$cpu_new" "$new" --profile "$@" >"$work/new" 2>&1 &
    wait
    grep -q '^profile:' "$work/old" && grep -q '^profile:' "$work/new" || { cat "$work/old" "$work/new" >&2; exit 1; }
    echo "round $round $(date +%T) old (CPU $cpu_old): $(grep '^profile:' "$work/old" | cut -c10-)"
    echo "round $round $(date +%T) new (CPU $cpu_new): $(grep '^profile:' "$work/new" | cut -c10-)"
    python3 -c "import sys; o1,o2,n1,n2=map(float,sys.argv[1:]); print(f'round $round new/old: batched x{n2/o2:.3f}, one by one x{n1/o1:.3f}')" \
        "$(rate "$work/old" 'one by one')" "$(rate "$work/old" 'batched')" "$(rate "$work/new" 'one by one')" "$(rate "$work/new" 'batched')"
done
