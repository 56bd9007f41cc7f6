#!/usr/bin/env bash
# run.sh [BUILD_DIR] [RUNS] - build the libFuzzer targets and run each one
# for a fixed number of inputs over its seeds: the CI smoke test.
#
#   BUILD_DIR  default build-fuzz (relative to the project root)
#   RUNS       -runs per target, default 2000 (every target in about 1-2 minutes
#              on 2 cores)
# Environment: JOBS (build parallelism, default nproc), SEEDS (seed
# directory, default /tmp/corral-fuzz-seeds), CC/CXX (default clang).
#
# Deterministic (-seed=1). Exits non-zero if any target crashes, leaks,
# times out or fails an invariant; the offending input is kept as
# /tmp/corral-fuzz-artifacts/<target>-crash-* (see docs/fuzzing.md to
# minimise it and turn it into a regression test).
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build-fuzz}
runs=${2:-2000}
case $build in /*) ;; *) build=$root/$build ;; esac
seeds=${SEEDS:-/tmp/corral-fuzz-seeds}
artifacts=${ARTIFACTS:-/tmp/corral-fuzz-artifacts}
jobs=${JOBS:-$(nproc)}
targets=$(cat "$root/tests/fuzz/targets")

cd "$root"
CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCORRAL_FUZZ=ON >"$build.configure.log" 2>&1 || {
  cat "$build.configure.log"
  echo "run.sh: configure failed" >&2
  exit 1
}
cmake --build "$build" --target fuzz_all -j "$jobs" || {
  echo "run.sh: build failed" >&2
  exit 1
}
bash "$root/tests/fuzz/seeds.sh" "$seeds" "$build" || {
  echo "run.sh: seeds failed" >&2
  exit 1
}

mkdir -p "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=""
for t in $targets; do
  case $t in rules | config) max_len=262144 ;; *) max_len=65536 ;; esac
  # a scratch corpus: new inputs must not land in the seed directory
  corpus=$(mktemp -d /tmp/corral-fuzz-run-XXXXXX)
  start=$(date +%s)
  "$build/tests/fuzz/fuzz_$t" -runs="$runs" -seed=1 -max_len=$max_len -timeout=30 \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts/$t-" -print_final_stats=1 \
    "$corpus" "$seeds/$t" >"$artifacts/$t.log" 2>&1
  rc=$?
  end=$(date +%s)
  rm -rf "$corpus"
  stats=$(grep -E '^#[0-9]+.*(DONE|INITED)' "$artifacts/$t.log" | tail -1)
  if [ $rc -ne 0 ]; then
    echo "run.sh: fuzz_$t FAILED (exit $rc, $((end - start))s), log $artifacts/$t.log:" >&2
    grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$artifacts/$t.log" | head -5 >&2
    failed="$failed $t"
  else
    echo "run.sh: fuzz_$t ok ($((end - start))s) $stats"
  fi
done
if [ -n "$failed" ]; then
  echo "run.sh: failing targets:$failed" >&2
  exit 1
fi
echo "run.sh: all targets passed ($runs runs each)"
