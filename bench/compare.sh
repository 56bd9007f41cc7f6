#!/usr/bin/env bash
# compare.sh BEFORE AFTER - the end-to-end benchmark of two corral builds in
# one run, interleaved, so that a shared machine's noise falls on both.
#
# BEFORE and AFTER are build directories (each with corral and gen_corpus;
# e.g. a `git worktree` of the older commit built beside this one). One
# 1M-line seed-42 corpus; then RUNS rounds, each running BEFORE then AFTER
# (and the next round AFTER then BEFORE) on it with --workers 1 --shards 1
# and with --workers 2 --shards 2, wall time around the process. Prints the
# median events/s of each and AFTER's as a ratio of BEFORE's (above 1:
# faster). The incidents of the two must be the same (same count of
# incident versions written), or the comparison is void and it exits 1.
# Environment: LINES (default 1000000), RUNS (default 5), CONFIG (default
# configs/corral.yaml).
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { echo "usage: bench/compare.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR" >&2; exit 2; }
before=$1 after=$2
LINES=${LINES:-1000000}
RUNS=${RUNS:-5}
CONFIG=${CONFIG:-configs/corral.yaml}
tmp=$(mktemp -d /tmp/corral-compare-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$after/gen_corpus" --seed 42 --lines "$LINES" --out "$tmp/corpus.log" --truth "$tmp/truth.jsonl" \
    2>/dev/null || { echo "compare: gen_corpus failed" >&2; exit 1; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
run() { # run BUILD THREADS -> "seconds versions"
    rm -rf "$tmp/store"
    local t0 t1 out
    t0=$(now)
    out=$("$1/corral" run -c "$CONFIG" --input "$tmp/corpus.log" --store "$tmp/store" \
          --workers "$2" --shards "$2" --quiet --stats-json)
    t1=$(now)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}') \
$(printf '%s\n' "$out" | grep -o '"incident_versions_written":[0-9]*' | head -1 | cut -d: -f2)"
}
status=0
for th in 1 2; do
    : >"$tmp/b" && : >"$tmp/a"
    for r in $(seq "$RUNS"); do
        if [ $((r % 2)) -eq 1 ]; then order="before after"; else order="after before"; fi
        for which in $order; do
            dir=$before; [ "$which" = after ] && dir=$after
            run "$dir" "$th" >>"$tmp/${which:0:1}"
        done
    done
    vb=$(cut -d' ' -f2 "$tmp/b" | sort -u) va=$(cut -d' ' -f2 "$tmp/a" | sort -u)
    if [ "$vb" != "$va" ]; then
        echo "compare: the builds wrote different incidents ($vb vs $va versions)" >&2
        status=1
    fi
    sb=$(cut -d' ' -f1 "$tmp/b" | median) sa=$(cut -d' ' -f1 "$tmp/a" | median)
    awk -v n="$LINES" -v b="$sb" -v a="$sa" -v th="$th" -v v="$va" 'BEGIN {
        printf "workers %d shards %d: before %.0f events/s, after %.0f events/s, after/before %.3f (%s incident versions each)\n",
               th, th, n / b, n / a, b / a, v }'
done
exit $status
