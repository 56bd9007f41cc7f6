#!/usr/bin/env bash
# run_benchmarks.sh - one command for corral's throughput numbers and their denominators.
#
# Owns: the end-to-end benchmark run (performance.md section 8.1, Appendix A). On 2 noisy
# shared vCPUs absolute rates move between runs, so every engine number is printed next to,
# and as a ratio of, the single-core memchr line split measured in the same run on the same
# corpus. Steps:
#   1. build the Release tree (build-release/, incremental; tests off);
#   2. generate the 1M-line seed-42 corpus into a temp dir (tools/gen_corpus);
#   3. bench_split CORPUS          - the memchr split denominator (best of 10);
#   4. bench_match RULES CORPUS    - raw hs_scan per line for the same compiled rules;
#   5. corral run ... --workers 1 --shards 1, then --workers 2 --shards 2, RUNS times each,
#      wall time from a monotonic-enough clock (date +%s.%N around the process), median;
#   6. a table: events/s, MB/s, and each as a ratio to the split rate.
# Every command is printed before it runs. A step that fails is reported as n/a and the run
# continues; the exit status is non-zero if any step failed.
#
# Usage: bench/run_benchmarks.sh
# Environment: LINES (default 1000000), RUNS (default 3), BUILD_DIR (default build-release),
#              KEEP=1 keeps the temp dir (corpus, truth, stores, logs).
set -uo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-1000000}
RUNS=${RUNS:-3}
BUILD=${BUILD_DIR:-build-release}
RULES=configs/rules
CONFIG=configs/corral.yaml
failed=0

show() { printf '$ %s\n' "$*"; }
now() { date +%s.%N; }
# median of the numbers on stdin (one per line)
median() {
    sort -g | awk '{a[NR] = $1}
        END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR + 1) / 2];
             else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
fmt_rate() { awk -v x="$1" 'BEGIN {if (x == "n/a") print "n/a"; else printf "%.3f M", x/1e6}'; }
fmt_mb() { awk -v x="$1" 'BEGIN {if (x == "n/a") print "n/a"; else printf "%.1f", x}'; }
ratio() {
    awk -v a="$1" -v b="$2" \
        'BEGIN {if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.4f", a/b}'
}

echo "== corral benchmarks: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), $(nproc) CPUs," \
    "LINES=$LINES RUNS=$RUNS"

# 1. build -----------------------------------------------------------------------------------
show cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCORRAL_TESTS=OFF
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCORRAL_TESTS=OFF >/dev/null || {
    echo "cmake configure failed"; exit 1; }
declare -A built
for t in gen_corpus bench_split bench_match corral; do
    show cmake --build "$BUILD" -j 2 --target "$t"
    if cmake --build "$BUILD" -j 2 --target "$t" >"$BUILD/build-$t.log" 2>&1; then
        built[$t]=1
    else
        built[$t]=0; failed=1
        echo "   build of $t failed (see $BUILD/build-$t.log)"
    fi
done
[ "${built[gen_corpus]}" = 1 ] && [ "${built[bench_split]}" = 1 ] || {
    echo "gen_corpus and bench_split are required"; exit 1; }

tmp=$(mktemp -d /tmp/corral-bench-XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "   keeping $tmp"; else trap 'rm -rf "$tmp"' EXIT; fi
corpus=$tmp/corpus.log

# 2. corpus ----------------------------------------------------------------------------------
show "$BUILD/gen_corpus" --seed 42 --lines "$LINES" --out "$corpus" --truth "$tmp/truth.jsonl"
t0=$(now)
"$BUILD/gen_corpus" --seed 42 --lines "$LINES" --out "$corpus" --truth "$tmp/truth.jsonl" || exit 1
t1=$(now)
bytes=$(stat -c %s "$corpus")
awk -v b="$bytes" -v n="$LINES" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
    'BEGIN {printf "   %d lines, %d bytes, mean %.1f B/line, generated in %.2f s\n", n, b, b/n, t}'
cat "$corpus" >/dev/null   # warm the page cache for everyone

# 3. memchr split ----------------------------------------------------------------------------
show "$BUILD/bench_split" "$corpus" --repeat 10
out=$("$BUILD/bench_split" "$corpus" --repeat 10) || { echo "bench_split failed"; exit 1; }
echo "$out" | sed 's/^/   /'
split_lps=$(echo "$out" | sed -n 's/^RESULT .*lines_per_s=\([0-9.]*\).*/\1/p')
split_mbs=$(echo "$out" | sed -n 's/^RESULT .*mb_per_s=\([0-9.]*\).*/\1/p')

# 4. raw hs_scan -----------------------------------------------------------------------------
match_lps=n/a; match_mbs=n/a
if [ "${built[bench_match]}" = 1 ]; then
    show timeout 120 "$BUILD/bench_match" "$RULES" "$corpus"
    if out=$(timeout 120 "$BUILD/bench_match" "$RULES" "$corpus" 2>&1); then
        echo "$out" | sed 's/^/   /'
        # expected: "raw    12345678 lines/s    1234.5 MB/s  (...)"
        line=$(echo "$out" | awk '$1 == "raw" && $3 == "lines/s" {print; exit}')
        if [ -n "$line" ]; then
            match_lps=$(echo "$line" | awk '{print $2}')
            match_mbs=$(echo "$line" | awk '{print $4}')
        else
            echo "   (no 'raw N lines/s N MB/s' line in bench_match output)"; failed=1
        fi
    else
        echo "$out" | sed 's/^/   /'; echo "   bench_match failed"; failed=1
    fi
fi

# 5. corral end to end -----------------------------------------------------------------------
# The shipped config, but with the Hyperscan database cache in one place for all runs, as a
# deployment keeps it (by default it lives in the store, and every run here uses a fresh
# store). It is warmed once by `corral check`, so the timed runs measure the engine, not a
# 0.1 s rule compile that a real deployment pays once.
bench_config=$tmp/corral-bench.yaml
{
    grep -v -E '^rules:|^  - rules$|^rule_cache:' "$CONFIG"
    echo "rules: [$PWD/$RULES]"
    echo "rule_cache: $tmp/hs-cache"
} >"$bench_config"
CONFIG=$bench_config
show "$BUILD/corral" check -c "$CONFIG"
"$BUILD/corral" check -c "$CONFIG" | sed 's/^/   /'
declare -A eng_lps eng_mbs
for ws in "1 1" "2 2"; do
    set -- $ws
    w=$1; s=$2; key="w${w}s${s}"
    eng_lps[$key]=n/a; eng_mbs[$key]=n/a
    [ "${built[corral]}" = 1 ] || continue
    rates=(); mbs=()
    for r in $(seq 1 "$RUNS"); do
        store=$tmp/store-$key-$r
        rm -rf "$store"
        cmd=("$BUILD/corral" run -c "$CONFIG" --input "$corpus" --store "$store"
             --workers "$w" --shards "$s")
        show timeout 300 "${cmd[@]}"
        t0=$(now)
        timeout 300 "${cmd[@]}" >"$tmp/run-$key-$r.out" 2>"$tmp/run-$key-$r.err"
        rc=$?
        t1=$(now)
        sed 's/^/   /' "$tmp/run-$key-$r.err"
        if [ $rc -ne 0 ]; then
            echo "   corral exited with $rc"; failed=1; continue
        fi
        events=$(sed -n 's/.*read \([0-9][0-9]*\) records.*/\1/p' "$tmp/run-$key-$r.err" | head -1)
        if [ -z "$events" ]; then
            echo "   (no 'read N records' counter on stderr; counting the corpus lines)"
            events=$LINES
        fi
        el=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}')
        rate=$(awk -v e="$events" -v t="$el" 'BEGIN {printf "%.0f", e / t}')
        mb=$(awk -v b="$bytes" -v t="$el" 'BEGIN {printf "%.1f", b / t / 1e6}')
        echo "   run $r: $events events in $el s wall = $(fmt_rate "$rate") events/s, $mb MB/s"
        rates+=("$rate"); mbs+=("$mb")
        rm -rf "$store"
    done
    if [ ${#rates[@]} -gt 0 ]; then
        eng_lps[$key]=$(printf '%s\n' "${rates[@]}" | median)
        eng_mbs[$key]=$(printf '%s\n' "${mbs[@]}" | median)
    fi
done

# 6. table -----------------------------------------------------------------------------------
echo
echo "== results (corpus: $LINES lines, $bytes bytes; MB = 10^6 bytes;" \
    "corral: median of $RUNS wall-clock runs)"
printf '%-34s %14s %10s %14s %12s\n' "stage" "events/s" "MB/s" "x split ev/s" "x split MB/s"
row() {
    printf '%-34s %14s %10s %14s %12s\n' "$1" "$(fmt_rate "$2")" "$(fmt_mb "$3")" \
        "$(ratio "$2" "$split_lps")" "$(ratio "$3" "$split_mbs")"
}
row "memchr split (1 core, baseline)" "$split_lps" "$split_mbs"
row "raw hs_scan per line (bench_match)" "$match_lps" "$match_mbs"
row "corral --workers 1 --shards 1" "${eng_lps[w1s1]}" "${eng_mbs[w1s1]}"
row "corral --workers 2 --shards 2" "${eng_lps[w2s2]}" "${eng_mbs[w2s2]}"
[ $failed -eq 0 ] || echo "(some steps failed; see above)"
exit $failed
