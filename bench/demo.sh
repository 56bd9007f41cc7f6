#!/usr/bin/env bash
# corral's main job on the bundled sample, from a clean clone: install what is
# missing, build, generate the sample (deterministic, seed 42, with planted
# attacks, faults and near misses, and a ground-truth file), then
# `corral demo`: an embedded Kafka-protocol broker on loopback, the sample
# produced to a topic, the engine consuming it as a consumer group until caught
# up, and the graded incidents printed.
# Usage: bash bench/demo.sh [LINES]      (default 100000 lines)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target corral gen_corpus >/dev/null

lines=${1:-100000}
out=build/demo
rm -rf "$out" && mkdir -p "$out"
build/gen_corpus --seed 42 --lines "$lines" --bad --out "$out/sample.log" --truth "$out/truth.jsonl"
echo "== sample: $out/sample.log ($lines lines), ground truth: $out/truth.jsonl"

# The embedded broker keeps at most ~5 MiB per partition: 6 partitions hold
# about 200k sample lines.
build/corral demo --sample "$out/sample.log" --store "$out/store" --partitions 6
