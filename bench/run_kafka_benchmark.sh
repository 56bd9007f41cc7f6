#!/usr/bin/env bash
# run_kafka_benchmark.sh - corral end to end from Kafka, beside the bare consume rate of
# librdkafka on the same broker and topic, measured in the same run (issue 3).
#
#   1. build the Release tree (build-release/);
#   2. generate the seed-42 corpus (LINES lines) and start `corral kafka-dev` (the embedded
#      Kafka-protocol broker, librdkafka's mock cluster) on loopback with PARTITIONS partitions;
#   3. `corral produce` the corpus to topic `bench`, keyed by host;
#   4. RUNS times: `bench_kafka` (a consumer that only polls and discards) in a fresh group;
#   5. RUNS times: `corral run --until-caught-up` in a fresh group and store, timed by its own
#      consume_seconds (first record received -> last checkpoint durable), so that neither side
#      counts the mock's 3 s first group join;
#   6. medians and the ratio engine / bare.
# The mock broker is a functional broker, not a fast one; both sides read from the same one,
# which is what the ratio needs. It keeps ~5 MiB per partition: LINES x 147 B / PARTITIONS
# must stay under that.
#
# Usage: bench/run_kafka_benchmark.sh      Environment: LINES (300000), PARTITIONS (12), RUNS (3)
set -uo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-300000}
PARTITIONS=${PARTITIONS:-12}
RUNS=${RUNS:-3}
BUILD=build-release
show() { printf '$ %s\n' "$*"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCORRAL_TESTS=OFF >/dev/null || exit 1
cmake --build "$BUILD" -j 2 --target corral gen_corpus bench_kafka >/dev/null || exit 1

tmp=$(mktemp -d /tmp/corral-kbench-XXXXXX)
trap 'kill $dev 2>/dev/null; wait $dev 2>/dev/null; rm -rf "$tmp"' EXIT
show "$BUILD/gen_corpus" --seed 42 --lines "$LINES" --out "$tmp/corpus.log" --truth "$tmp/truth.jsonl"
"$BUILD/gen_corpus" --seed 42 --lines "$LINES" --out "$tmp/corpus.log" --truth "$tmp/truth.jsonl" 2>/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
show "$BUILD/corral" kafka-dev --listen "127.0.0.1:$port" --partitions "$PARTITIONS" --topic bench
"$BUILD/corral" kafka-dev --listen "127.0.0.1:$port" --partitions "$PARTITIONS" --topic bench \
    >"$tmp/dev.out" 2>&1 &
dev=$!
for _ in $(seq 1 50); do grep -q listening "$tmp/dev.out" && break; sleep 0.1; done
brokers=127.0.0.1:$port
show "$BUILD/corral" produce --brokers "$brokers" --topic bench --key host "$tmp/corpus.log"
"$BUILD/corral" produce --brokers "$brokers" --topic bench --key host "$tmp/corpus.log" || exit 1

cat >"$tmp/bench.yaml" <<YAML
rules: [$PWD/configs/rules]
rule_cache: $tmp/hs-cache
kafka: { checkpoint_interval: 1s }
YAML
"$BUILD/corral" check -c "$tmp/bench.yaml" >/dev/null

bare=()
for r in $(seq 1 "$RUNS"); do
    show "$BUILD/bench_kafka" --brokers "$brokers" --topic bench --group bare-$r --expect "$LINES"
    line=$("$BUILD/bench_kafka" --brokers "$brokers" --topic bench --group bare-$r \
        --expect "$LINES" 2>/dev/null | grep '^RESULT')
    echo "   $line"
    bare+=("$(echo "$line" | sed -n 's/.*records_per_s=\([0-9.]*\).*/\1/p')")
done
eng=()
for r in $(seq 1 "$RUNS"); do
    cmd=("$BUILD/corral" run -c "$tmp/bench.yaml" --brokers "$brokers" --topic bench
         --group engine-$r --store "$tmp/store-$r" --until-caught-up --quiet --stats-json
         -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
    show "${cmd[@]}"
    k=$("${cmd[@]}" | tail -1)
    rate=$(echo "$k" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kafka_records"]/d["consume_seconds"])')
    echo "   $(echo "$k" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("records", d["kafka_records"], "consume_seconds", d["consume_seconds"], "checkpoints", d["durable_checkpoints"])') -> $rate records/s"
    eng+=("$rate")
done
b=$(printf '%s\n' "${bare[@]}" | median)
e=$(printf '%s\n' "${eng[@]}" | median)
echo
echo "== Kafka end to end: $LINES records, $PARTITIONS partitions, median of $RUNS"
printf '%-44s %14.0f records/s\n' "bare librdkafka consume (bench_kafka)" "$b"
printf '%-44s %14.0f records/s\n' "corral run --until-caught-up (parse..LMDB)" "$e"
awk -v e="$e" -v b="$b" 'BEGIN {printf "%-44s %14.3f\n", "ratio engine / bare", e / b}'
