#!/usr/bin/env bash
# campaign.sh [SECONDS] [BUILD_DIR] - a fuzzing campaign: each target in
# turn for SECONDS (default 400: every target of tests/fuzz/targets),
# growing a corpus kept across campaigns in CORPUS (default
# /tmp/corral-fuzz-corpus/<target>) from the seeds. Prints one line per
# target (executions, coverage, features, corpus, crashes) for
# docs/fuzzing.md; crashing inputs land in ARTIFACTS (default
# /tmp/corral-fuzz-artifacts) and the target goes on (-fork mode keeps
# going after a crash; each one becomes a test in test_fuzz_regress.c).
# Run tests/fuzz/run.sh first: it builds the targets and the seeds.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-400}
build=${2:-build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
seeds=${SEEDS:-/tmp/corral-fuzz-seeds}
corpus_root=${CORPUS:-/tmp/corral-fuzz-corpus}
artifacts=${ARTIFACTS:-/tmp/corral-fuzz-artifacts}
targets=${TARGETS:-$(cat "$root/tests/fuzz/targets")}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$artifacts"

for t in $targets; do
  case $t in rules | config) max_len=262144 ;; *) max_len=65536 ;; esac
  corpus=$corpus_root/$t
  mkdir -p "$corpus"
  log=$artifacts/campaign-$t.log
  before=$(ls "$artifacts" | grep -c "^$t-crash-" || true)
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=$max_len -timeout=30 \
    -rss_limit_mb=2048 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$artifacts/$t-" -print_final_stats=1 "$corpus" "$seeds/$t" >"$log" 2>&1
  after=$(ls "$artifacts" | grep -c "^$t-crash-" || true)
  # with -fork the parent's status lines ("#N: cov: ...") carry the total
  # executions of all jobs; the last one is the campaign's
  status=$(grep -aE '^#[0-9]+' "$log" | tail -1)
  execs=$(printf '%s\n' "$status" | grep -oE '^#[0-9]+' | tr -d '#')
  last=$(printf '%s\n' "$status" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+')
  echo "campaign: $t ${secs}s execs=$execs $last crashes=$((after - before))"
done
