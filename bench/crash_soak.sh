#!/usr/bin/env bash
# crash_soak.sh - kill -9 at random moments, restart, and hold the result to an
# uninterrupted run: corral's promise that a crash neither loses nor duplicates
# an incident, tried the way a bad day tries it (issue 9, item 2).
#
# Modes (MODE, default all):
#   file    `corral run --input F --resume`, killed KILLS times, resumed each time
#   kafka1  one consumer-group member, killed KILLS times, restarted each time
#   kafka2  two members sharing a group: one is killed and restarted KILLS times
#           while the other keeps consuming (rebalances on every kill and join)
# Each trial: a corpus (gen_corpus, SEED), a reference run of the same input in
# a fresh store (and group), then the disturbed runs, then a final run to the
# end. The stores' incidents are compared by (id, event_count, first_seen,
# last_seen, evidence refs); any difference fails the trial, and the script
# exits 1 if any trial failed. LOAD=N busy loops keep N cores saturated the
# whole time (0 for none), so kills also land on a starved process.
#
# This is not a CI test: it is random by design, and long. Its short,
# deterministic counterparts run in CI (test_resume: killed_after_checkpoints_
# and_resumed; test_kafka: crashed_at_checkpoints_and_restarted, kill9_and_restart).
#
# Usage: bash bench/crash_soak.sh
# Environment: MODE (all|file|kafka1|kafka2), TRIALS (3), KILLS (5), LINES (150000),
#              PARTITIONS (6), LOAD (2), SEED (first trial's seed, 1), BUILD (build)
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${MODE:-all}
TRIALS=${TRIALS:-3}
KILLS=${KILLS:-5}
LINES=${LINES:-150000}
PARTITIONS=${PARTITIONS:-6}
LOAD=${LOAD:-2}
SEED=${SEED:-1}
BUILD=${BUILD:-build}
root=$PWD
case $BUILD in /*) ;; *) BUILD=$root/$BUILD ;; esac
bin=$BUILD/corral
gen=$BUILD/gen_corpus
[ -x "$bin" ] && [ -x "$gen" ] || { echo "crash_soak: build first ($BUILD/corral, $BUILD/gen_corpus)" >&2; exit 2; }

tmp=$(mktemp -d /tmp/corral-soak-XXXXXX)
loads=()
dev=
cleanup() {
    for p in "${loads[@]}"; do kill "$p" 2>/dev/null; done
    [ -n "$dev" ] && kill "$dev" 2>/dev/null
    wait 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
for ((i = 0; i < LOAD; i++)); do (while :; do :; done) & loads+=($!); done

rand_ms() { # a random delay in [lo, hi] milliseconds
    echo $(( $1 + RANDOM % ($2 - $1 + 1) ))
}
sleep_ms() { sleep "$(awk -v m="$1" 'BEGIN{printf "%.3f", m/1000}')"; }

incidents() { # canonical rows of a store's incidents (input names replaced by $2)
    "$bin" query --store "$1" --format ndjson | python3 -c '
import json, sys
rows = []
for line in sys.stdin:
    d = json.loads(line)
    refs = [(r["position"], r["time"]) for r in d["evidence"]["refs"]]
    rows.append(" ".join([d["id"], str(d["event_count"]), d["first_seen"], d["last_seen"],
                          json.dumps(refs)]))
print("\n".join(sorted(rows)))'
}

compare() { # compare reference store $1 with disturbed store $2; prints a verdict line
    local a=$tmp/ref.rows b=$tmp/got.rows
    incidents "$1" > "$a"
    incidents "$2" > "$b"
    local n diffs
    n=$(grep -c . "$a")
    diffs=$(diff "$a" "$b" | grep -c '^[<>]')
    if [ "$diffs" -eq 0 ] && [ "$n" -gt 0 ]; then
        echo "ok ($n incidents)"
        return 0
    fi
    echo "FAIL ($n incidents in the reference, $diffs differing rows)"
    diff "$a" "$b" | head -8 | sed 's/^/    /'
    return 1
}

config() { # $1: path
    printf 'rules: [%s/configs/rules]\ninput: { year: 2026, checkpoint_records: 5000 }\nkafka: { checkpoint_interval: 50ms, stats_interval: 20ms }\n' \
        "$root" > "$1"
}

start_broker() {
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$bin" kafka-dev --listen "127.0.0.1:$port" --partitions "$PARTITIONS" --topic soak \
        > "$tmp/dev.out" 2>&1 &
    dev=$!
    for _ in $(seq 100); do grep -q listening "$tmp/dev.out" && break; sleep 0.1; done
    brokers=127.0.0.1:$port
}

# How long the reference member consumed (from its first progress line with
# records to its last), in ms: the range kills are drawn from.
consume_ms() {
    awk '/kafka: [0-9]+ records in/ {
             for (i = 1; i <= NF; i++) if ($i == "in") t = $(i + 1)
             if ($3 > 0 && first == "") first = t
         }
         END {d = (t - first) * 1000; if (d < 20) d = 20; printf "%d", d}' "$1"
}

stop_broker() { kill "$dev" 2>/dev/null; wait "$dev" 2>/dev/null; dev=; }

member() { # member GROUP STORE LOG [until]: a Kafka run in the background; pid in $!
    local until=${4:-}
    "$bin" run -c "$tmp/c.yaml" --brokers "$brokers" --topic soak --group "$1" --store "$2" \
        -X session.timeout.ms=6000 -X heartbeat.interval.ms=500 ${until:+--until-caught-up} \
        > "$3.out" 2> "$3.err" &
}

# Kill pid $1 after a random delay in [$2, $3] ms; landed += 1 if the kill
# landed (the process was still running).
kill_later() {
    sleep_ms "$(rand_ms "$2" "$3")"
    if kill -9 "$1" 2>/dev/null; then landed=$((landed + 1)); fi
    { wait "$1"; } 2>/dev/null
}

now_ms() { date +%s%3N; }

# Kafka: kill pid $1 a random [0, $3] ms after it reported its first records
# (progress lines in $2 every kafka.stats_interval); a member still joining
# after 30 s is killed then.
kill_consuming() {
    local i
    for ((i = 0; i < 3000; i++)); do
        grep -q 'kafka: [1-9][0-9]* records' "$2" 2>/dev/null && break
        kill -0 "$1" 2>/dev/null || break
        sleep 0.01
    done
    kill_later "$1" 0 "$3"
}

trial_file() {
    local d=$1 t0 dur
    landed=0
    t0=$(now_ms)
    "$bin" run -c "$tmp/c.yaml" --quiet --input "$d/c.log" --store "$d/ref" || return 1
    dur=$(( $(now_ms) - t0 ))
    for ((k = 0; k < KILLS; k++)); do
        "$bin" run -c "$tmp/c.yaml" --quiet --input "$d/c.log" --store "$d/got" --resume \
            2> "$d/k$k.err" &
        kill_later $! 5 $((dur * 2 / (KILLS + 1) + 5)) # kills spread over one run's length
    done
    "$bin" run -c "$tmp/c.yaml" --quiet --input "$d/c.log" --store "$d/got" --resume || return 1
    printf '  file   seed %-3d %d/%d kills landed: ' "$seed" "$landed" "$KILLS"
    compare "$d/ref" "$d/got"
}

trial_kafka1() {
    local d=$1
    landed=0
    member "ref-$seed" "$d/ref" "$d/ref" until; wait $! || return 1
    consume_ms=$(consume_ms "$d/ref.err")
    for ((k = 0; k < KILLS; k++)); do
        member "got-$seed" "$d/got" "$d/k$k" until
        kill_consuming $! "$d/k$k.err" "$consume_ms"
    done
    member "got-$seed" "$d/got" "$d/final" until; wait $! || return 1
    printf '  kafka1 seed %-3d %d/%d kills landed: ' "$seed" "$landed" "$KILLS"
    compare "$d/ref" "$d/got"
}

trial_kafka2() {
    local d=$1
    landed=0
    member "ref-$seed" "$d/ref" "$d/ref" until; wait $! || return 1
    consume_ms=$(consume_ms "$d/ref.err")
    # member A stays up (no --until-caught-up: a member that exits early would
    # hand everything to B); B is killed and restarted. Both stores together
    # hold the group's incidents: the comparison takes each id's newest version.
    member "got-$seed" "$d/a" "$d/a"
    local a=$!
    for ((k = 0; k < KILLS; k++)); do
        member "got-$seed" "$d/b" "$d/b$k"
        kill_consuming $! "$d/b$k.err" "$consume_ms"
    done
    member "got-$seed" "$d/b" "$d/bfinal" until; wait $! || return 1
    sleep 12   # A takes over whatever B left, then its checkpoints go durable
    kill -TERM "$a"; wait "$a"
    "$bin" query --store "$d/a" --format ndjson > "$d/a.json"
    "$bin" query --store "$d/b" --format ndjson > "$d/b.json"
    printf '  kafka2 seed %-3d %d/%d kills landed: ' "$seed" "$landed" "$KILLS"
    local rows=$tmp/got2.rows
    incidents "$d/ref" > "$tmp/ref.rows"
    python3 - "$d/a.json" "$d/b.json" > "$rows" <<'EOF'
import json, sys
best = {}
for path in sys.argv[1:]:
    for line in open(path):
        d = json.loads(line)
        old = best.get(d["id"])
        if old is None or d["event_count"] > old["event_count"]:
            best[d["id"]] = d
rows = []
for d in best.values():
    refs = [(r["position"], r["time"]) for r in d["evidence"]["refs"]]
    rows.append(" ".join([d["id"], str(d["event_count"]), d["first_seen"], d["last_seen"],
                          json.dumps(refs)]))
print("\n".join(sorted(rows)))
EOF
    # evidence refs name the member's input positions, which are the same
    # partitions and offsets in both members: compared as is
    local diffs n
    n=$(grep -c . "$tmp/ref.rows")
    diffs=$(diff "$tmp/ref.rows" "$rows" | grep -c '^[<>]')
    if [ "$diffs" -eq 0 ]; then echo "ok ($n incidents)"; return 0; fi
    echo "FAIL ($n incidents in the reference, $diffs differing rows)"
    diff "$tmp/ref.rows" "$rows" | head -8 | sed 's/^/    /'
    return 1
}

config "$tmp/c.yaml"
fails=0
modes=(file kafka1 kafka2)
[ "$MODE" != all ] && modes=("$MODE")
echo "crash soak: modes ${modes[*]}, $TRIALS trials x $KILLS kills, $LINES lines, load $LOAD"
for mode in "${modes[@]}"; do
    for ((t = 0; t < TRIALS; t++)); do
        seed=$((SEED + t))
        d=$tmp/$mode-$seed
        mkdir -p "$d"
        "$gen" --seed "$seed" --lines "$LINES" --out "$d/c.log" --truth "$d/c.truth" 2>/dev/null
        if [ "$mode" != file ]; then
            start_broker
            "$bin" produce --brokers "$brokers" --topic soak --key host "$d/c.log" 2>/dev/null ||
                { echo "  produce failed"; fails=$((fails + 1)); stop_broker; continue; }
        fi
        "trial_$mode" "$d" || fails=$((fails + 1))
        [ "$mode" != file ] && stop_broker
    done
done
echo "crash soak: $fails failed"
[ "$fails" -eq 0 ]
