#!/usr/bin/env bash
# corral's main job on the bundled sample, from a clean clone:
# install what is missing, build, generate the sample (deterministic, seed 42,
# with planted attacks and faults and a ground-truth file), run the engine on
# it, and print the graded incidents.
# Usage: bash bench/demo.sh [LINES]      (default 200000 lines)
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target corral gen_corpus >/dev/null

lines=${1:-200000}
out=build/demo
rm -rf "$out" && mkdir -p "$out"
build/gen_corpus --seed 42 --lines "$lines" --bad --out "$out/sample.log" --truth "$out/truth.jsonl"
echo "== sample: $out/sample.log ($lines lines), ground truth: $out/truth.jsonl"

build/corral run -c configs/corral.yaml --input "$out/sample.log" --store "$out/store"
echo
echo "== incidents (corral query --store $out/store)"
build/corral query --store "$out/store" --format table
