#!/usr/bin/env bash
# coverage.sh - what corral catches on labelled real data nobody on the team wrote (issue 10,
# item 9), with the default pack and with SigmaHQ loaded. Rerunnable; prints one table.
#
# Panther's cloud rule tests (../shared/data/panther-cloud-rule-tests/rule_tests.jsonl): 1,210
# events, each labelled "should alert" (619) or "should not" (591) by Panther for one of its
# rules. Each event is scored alone (bench/match_lines: the rules that open an incident on that
# record): a positive is detected if any such rule matches it, a negative fires if any does.
# Per log type. Events whose label needs Panther's mocked enrichment (uses_mocks) are counted
# apart.
#
# Usage: bash bench/coverage.sh   Environment: BUILD (build)
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
data=../shared/data
sig=$data/sigmahq-rules
[ -f "$data/panther-cloud-rule-tests/rule_tests.jsonl" ] || { echo "coverage.sh: $data is missing" >&2; exit 2; }
[ -x "$BUILD/match_lines" ] || { echo "coverage.sh: build first ($BUILD)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/corral-coverage-XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"' EXIT

python3 - "$data/panther-cloud-rule-tests/rule_tests.jsonl" "$tmp" <<'PY'
import json, sys
src, tmp = sys.argv[1], sys.argv[2]
with open(tmp + "/panther.events", "w") as ev, open(tmp + "/panther.labels", "w") as lab:
    for line in open(src):
        t = json.loads(line)
        ev.write(json.dumps(t["log"], separators=(",", ":")) + "\n")
        lab.write(json.dumps({"type": t["log_types"][0] if t["log_types"] else "?",
                              "positive": bool(t["expected_result"]),
                              "mocks": bool(t["uses_mocks"])}) + "\n")
PY
echo "\$ $BUILD/match_lines configs/rules,configs/sigma panther.events"
"$BUILD/match_lines" configs/rules,configs/sigma "$tmp/panther.events" > "$tmp/base.out" || exit 1
all="configs/rules,configs/sigma,$sig/rules,$sig/rules-emerging-threats,$sig/rules-threat-hunting"
echo "\$ $BUILD/match_lines configs/rules,configs/sigma,SigmaHQ(rules, emerging threats, hunting) panther.events"
"$BUILD/match_lines" "$all" "$tmp/panther.events" > "$tmp/sigma.out" || exit 1
# the same with SigmaHQ's low rules alerting too (sigma_min_level: low)
mkdir -p "$tmp/sigma-low"
sed 's/^sigma_min_level: .*/sigma_min_level: low/' configs/sigma/logsources.yaml > "$tmp/sigma-low/logsources.yaml"
low="configs/rules,$tmp/sigma-low,$sig/rules,$sig/rules-emerging-threats,$sig/rules-threat-hunting"
echo "\$ $BUILD/match_lines ... with sigma_min_level: low"
"$BUILD/match_lines" "$low" "$tmp/panther.events" > "$tmp/low.out" || exit 1
python3 - "$tmp" <<'PY'
import json, sys, collections
tmp = sys.argv[1]
labels = [json.loads(l) for l in open(tmp + "/panther.labels")]
def fired(path):
    out = {}
    for line in open(path):
        no, _, ids = line.rstrip("\n").partition("\t")
        out[int(no)] = ids.split() if ids else []
    return out
base, sig, low = fired(tmp + "/base.out"), fired(tmp + "/sigma.out"), fired(tmp + "/low.out")
rows = collections.OrderedDict()
def add(key, lab, b, s, l):
    r = rows.setdefault(key, [0, 0, 0, 0, 0, 0, 0, 0])
    if lab["positive"]:
        r[0] += 1; r[1] += bool(b); r[2] += bool(s); r[3] += bool(l)
    else:
        r[4] += 1; r[5] += bool(b); r[6] += bool(s); r[7] += bool(l)
for i, lab in enumerate(labels, 1):
    b, s, l = base.get(i, []), sig.get(i, []), low.get(i, [])
    key = lab["type"] + (" (mocked)" if lab["mocks"] else "")
    add(key, lab, b, s, l)
    add("all (without mocked)" if not lab["mocks"] else "all mocked", lab, b, s, l)
print()
print("| log type | positives | detected: default pack | + SigmaHQ (medium+) | + SigmaHQ (low+) | negatives | fired: default | + SigmaHQ (medium+) | + SigmaHQ (low+) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
def pct(a, n): return "%d (%.0f%%)" % (a, 100.0 * a / n) if n else "–"
keys = sorted(k for k in rows if not k.startswith("all")) + [k for k in rows if k.startswith("all")]
for k in keys:
    r = rows[k]
    print("| %s | %d | %s | %s | %s | %d | %s | %s | %s |" % (k, r[0], pct(r[1], r[0]), pct(r[2], r[0]), pct(r[3], r[0]),
          r[4], pct(r[5], r[4]), pct(r[6], r[4]), pct(r[7], r[4])))
PY

# ---- Falco's Kubernetes audit tests (../shared/data/falco-k8s-audit): 66 tests over 47 trace
# files, each expecting a detection or none. A test counts as detected if any rule opening an
# incident matches any event of its trace file (the default pack, each event alone). Tests that
# depend on their own allow-lists (uses_test_specific_rules) are counted apart: the same trace
# is expected to fire under one list and not under another.
falco=$data/falco-k8s-audit
python3 - "$falco/events" "$tmp" <<'PY'
import os, sys
src, tmp = sys.argv[1], sys.argv[2]
with open(tmp + "/falco.events", "wb") as ev, open(tmp + "/falco.files", "w") as names:
    for f in sorted(os.listdir(src)):
        for line in open(os.path.join(src, f), "rb").read().splitlines():
            if line.strip():
                ev.write(line + b"\n")
                names.write(f + "\n")
PY
echo
echo "\$ $BUILD/match_lines configs/rules,configs/sigma falco-k8s-audit events"
"$BUILD/match_lines" configs/rules,configs/sigma "$tmp/falco.events" > "$tmp/falco.out" 2>/dev/null || exit 1
python3 - "$tmp" "$falco/expected_detections.csv" <<'PY'
import csv, sys, collections
tmp, labels = sys.argv[1], sys.argv[2]
files = [l.strip() for l in open(tmp + "/falco.files")]
hit = collections.defaultdict(bool)
for line in open(tmp + "/falco.out"):
    no, _, ids = line.rstrip("\n").partition("\t")
    if ids:
        hit[files[int(no) - 1]] = True
rows = collections.OrderedDict()
for t in csv.DictReader(open(labels)):
    key = "with their own allow-lists" if t["uses_test_specific_rules"] == "True" else "stand-alone"
    r = rows.setdefault(key, [0, 0, 0, 0])
    if t["detect"] == "True":
        r[0] += 1; r[1] += hit[t["trace_file"]]
    else:
        r[2] += 1; r[3] += hit[t["trace_file"]]
print()
print("| Falco K8s audit tests | expect a detection | detected | expect none | fired |")
print("|---|---:|---:|---:|---:|")
for k, r in rows.items():
    pct = lambda a, n: "%d (%.0f%%)" % (a, 100.0 * a / n) if n else "–"
    print("| %s | %d | %s | %d | %s |" % (k, r[0], pct(r[1], r[0]), r[2], pct(r[3], r[2])))
PY

# ---- SSH brute force on two real auth logs (correlation: the whole file through `corral run`)
# Truth, computed here from the issue's definitions: loghub Linux, sources (rhost) of >= 5
# sshd(pam_unix) authentication failures within 60 s; elastic auth.log, sources of >= 5
# "Failed password" within 60 s, a "message repeated N times: [ ... ]" line counting N. The
# year of year-less stamps rolls forward when the month goes back (Dec -> Jan).
ssh_truth() { # $1 file, $2 kind (pam | failed)
    python3 - "$1" "$2" <<'PY'
import re, sys, datetime, collections
path, kind = sys.argv[1], sys.argv[2]
mon = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
year, last, times = 2000, 0, collections.defaultdict(list)
pam = re.compile(r"sshd\(pam_unix\)\[\d+\]: authentication failure;.*\brhost=([^\s=]+)")
failed = re.compile(r"sshd\[\d+\]: (?:message repeated (\d+) times: \[ )?Failed password for (?:invalid user )?\S* from (\S+) port")
for line in open(path, errors="replace"):
    m = mon.get(line[:3])
    if not m:
        continue
    if m < last - 6:
        year += 1
    last = m
    t = datetime.datetime.strptime("%d %s" % (year, line[:15]), "%Y %b %d %H:%M:%S").timestamp()
    if kind == "pam":
        g = pam.search(line)
        if g:
            times[g.group(1)].append(t)
    else:
        g = failed.search(line)
        if g:
            times[g.group(2)] += [t] * int(g.group(1) or 1)
for src, ts in sorted(times.items()):
    ts.sort()
    if any(ts[i + 4] - ts[i] <= 60 for i in range(len(ts) - 4)):
        print(src)
PY
}
ssh_corral() { # $1 file, $2 year; prints the sources of brute-force incidents
    printf 'rules: [%s/configs/rules, %s/configs/sigma]\ninput: { year: %s }\n' "$PWD" "$PWD" "$2" > "$tmp/ssh.yaml"
    rm -rf "$tmp/ssh.store"
    "$BUILD/corral" run -c "$tmp/ssh.yaml" --input "$1" --store "$tmp/ssh.store" --quiet > /dev/null 2>&1 || exit 1
    "$BUILD/corral" query --store "$tmp/ssh.store" --format ndjson | python3 -c '
import json, sys
srcs = set()
for line in sys.stdin:
    d = json.loads(line)
    if d["category"] == "S-ATK-BRUTE" and "src_ip" in d["entities"]:
        srcs.add(d["entities"]["src_ip"])
print("\n".join(sorted(srcs)))'
}
echo
echo "| SSH brute force (default pack, \`corral run\` on the whole file) | truth sources | with an incident | missed | other sources with one |"
echo "|---|---:|---:|---:|---:|"
for spec in "loghub-linux-full/Linux.log pam 2005" "elastic-examples-auth/auth.log failed 2017"; do
    set -- $spec
    ssh_truth "$data/$1" "$2" > "$tmp/truth.txt"
    ssh_corral "$data/$1" "$3" > "$tmp/got.txt"
    t=$(grep -c . "$tmp/truth.txt"); hit=$(comm -12 "$tmp/truth.txt" "$tmp/got.txt" | grep -c .)
    extra=$(comm -13 "$tmp/truth.txt" "$tmp/got.txt" | grep -c .)
    echo "| $1 | $t | $hit | $((t - hit)) | $extra |"
done
