#!/usr/bin/env bash
# sigma.sh - what loading all of SigmaHQ costs (issue 10): compile (cold and warm, through the
# Hyperscan cache) and parse+match throughput on one core, on JSON events and on syslog, each
# against the default pack alone measured in the same run (bench_match, single thread).
#
# JSON: the real Windows (Sysmon/Security, NXLog-flat), CloudTrail and Kubernetes audit records
# of ../shared/data (OTRF, Falco), repeated in memory. Syslog: the seed-42 generated corpus.
# Usage: bash bench/sigma.sh   Environment: BUILD (build), LINES (200000), CPU (1)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LINES=${LINES:-200000}
CPU=${CPU:-1}
data=../shared/data
sig=$data/sigmahq-rules
[ -d "$sig/rules" ] || { echo "sigma.sh: $sig is missing" >&2; exit 2; }
tmp=$(mktemp -d /tmp/corral-sigma-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

cat "$data"/otrf-security-datasets/windows/*.json "$data"/otrf-security-datasets/aws/*.json \
    "$data"/falco-k8s-audit/events/*.json > "$tmp/events.json"
"$BUILD/gen_corpus" --seed 42 --lines "$LINES" --out "$tmp/syslog.log" --truth "$tmp/t.jsonl" 2>/dev/null
all="configs/rules,configs/sigma,$sig/rules,$sig/rules-emerging-threats,$sig/rules-threat-hunting"
run() { # $1 label, $2 rules, $3 corpus
    echo "\$ taskset -c $CPU $BUILD/bench_match $2 $(basename "$3")"
    BENCH_HS_CACHE=$tmp/cache taskset -c "$CPU" "$BUILD/bench_match" "$2" "$3" > "$tmp/$1.out" || exit 1
    cat "$tmp/$1.out"
}
rate() { awk '$1 == "full" {print $2}' "$tmp/$1.out"; }
loaded() { grep -oE 'loaded in [0-9.]+ s' "$tmp/$1.out" | grep -oE '[0-9.]+'; }

echo "JSON events: $(wc -l < "$tmp/events.json") records; syslog: $LINES lines"
run json_base configs/rules,configs/sigma "$tmp/events.json"
BENCH_HS_CACHE=$tmp/cache /usr/bin/time -f "%e %M" -o "$tmp/cold.time" \
    taskset -c "$CPU" "$BUILD/bench_match" "$all" "$tmp/events.json" > "$tmp/json_all.out" || exit 1
echo "\$ taskset -c $CPU $BUILD/bench_match (default pack + configs/sigma + SigmaHQ) events.json  [cold cache]"
cat "$tmp/json_all.out"
run json_warm "$all" "$tmp/events.json"
run sys_base configs/rules,configs/sigma "$tmp/syslog.log"
run sys_all "$all" "$tmp/syslog.log"
echo
echo "compile with everything: cold $(loaded json_all) s (peak RSS $(cut -d' ' -f2 "$tmp/cold.time") KiB for the whole run), warm $(loaded json_warm) s (Hyperscan cache)"
awk -v b="$(rate json_base)" -v a="$(rate json_warm)" 'BEGIN {printf "JSON events:  default pack %.0f records/s, with SigmaHQ %.0f records/s (ratio %.2f)\n", b, a, a / b}'
awk -v b="$(rate sys_base)" -v a="$(rate sys_all)" 'BEGIN {printf "syslog:       default pack %.0f lines/s, with SigmaHQ %.0f lines/s (ratio %.2f)\n", b, a, a / b}'
