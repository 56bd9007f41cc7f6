#!/usr/bin/env bash
# seeds.sh OUTDIR [BUILD_DIR] - build one seed directory per fuzz target.
#
# Seeds come from the repository (tests/golden inputs and expected
# incidents, string literals of the unit tests, configs/, rule packs) and,
# when present, from ../shared/data (relative to the project root: sampled
# syslog, access logs, JSON / cloud events, Sigma rules). Nothing is copied
# into the repository: everything goes to OUTDIR (e.g. /tmp/corral-fuzz-seeds).
# The binary seeds (checkpoint deltas, stored incidents, Kafka header sets)
# are written by BUILD_DIR/tests/fuzz/fuzz_seedgen (default build-fuzz).
# Samples are bounded (a few hundred records per source) and deterministic.
set -euo pipefail

out=${1:?usage: seeds.sh OUTDIR [BUILD_DIR]}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$root/build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
shared=$(dirname "$root")/shared/data

rm -rf "$out"
mkdir -p "$out"
for t in $(cat "$root/tests/fuzz/targets"); do
  mkdir -p "$out/$t"
done

if [ -d "$shared" ]; then
  echo "seeds.sh: using $shared"
  use_shared=1
else
  echo "seeds.sh: $shared not found: in-repo seeds only"
  use_shared=0
fi

"$build/tests/fuzz/fuzz_seedgen" "$out"

ROOT=$root SHARED=$shared USE_SHARED=$use_shared OUT=$out python3 - <<'PY'
import glob, hashlib, json, os, random, re

root, shared, out = os.environ["ROOT"], os.environ["SHARED"], os.environ["OUT"]
use_shared = os.environ["USE_SHARED"] == "1"
rnd = random.Random(1)
PER_SOURCE = 300          # records sampled from each file
MAX_SEED = 65536          # bytes

counts = {}

def seed(target, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if not data or len(data) > MAX_SEED * 4:
        return
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)
    counts[target] = counts.get(target, 0) + 1

def lines(path, n=PER_SOURCE):
    try:
        with open(path, "rb") as f:
            ls = [l.rstrip(b"\r\n") for l in f if l.strip()]
    except OSError:
        return []
    if len(ls) > n:
        ls = ls[: n // 3] + rnd.sample(ls[n // 3 :], n - n // 3)
    return ls

def c_literals(path):
    """Adjacent C string literals of each statement, unescaped (enough for
    the tests' record literals)."""
    text = open(path, encoding="utf-8", errors="surrogateescape").read()
    out_l = []
    for m in re.finditer(r'((?:"(?:[^"\\\n]|\\.)*"\s*)+)', text):
        parts = re.findall(r'"((?:[^"\\\n]|\\.)*)"', m.group(1))
        s = "".join(parts)
        try:
            b = s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode("latin-1", "replace")
        except Exception:
            continue
        out_l.append(b)
    return out_l

def kind(rec):
    r = rec.lstrip()
    if r.startswith(b"{"):
        return "json"
    if re.match(rb"<\d{1,3}>1 ", r):
        return "5424"
    return "3164"

ACCESS = re.compile(rb'^\S+ \S+ \S+ \[[^\]]+\] "')

def route(rec):
    k = kind(rec)
    if k == "json":
        seed("json_event", rec)
    elif k == "5424":
        seed("syslog_5424", rec)
    else:
        seed("syslog_3164", rec)
    if ACCESS.search(rec) or b'HTTP/' in rec:
        m = re.search(rb'(\S+ \S+ \S+ \[[^\]]+\] ".*)$', rec)
        seed("access_log", m.group(1) if m else rec)

# --- in the repository ---------------------------------------------------
for p in sorted(glob.glob(os.path.join(root, "tests/golden/*/input.log"))):
    for l in lines(p, 1000):
        route(l)
for p in sorted(glob.glob(os.path.join(root, "tests/golden/*/expected.jsonl"))):
    for l in lines(p, 200):
        seed("incident", l)
for t in ["test_syslog_3164", "test_syslog_5424", "test_json_event", "test_access_log",
          "test_golden", "test_matcher", "test_timeparse", "test_kv", "test_sigma_auditd",
          "test_event_xml"]:
    p = os.path.join(root, "tests/unit", t + ".c")
    if not os.path.exists(p):
        continue
    for lit in c_literals(p):
        if len(lit) < 8:
            continue
        if lit.startswith(b"<") or lit.startswith(b"{") or ACCESS.search(lit) or t == "test_syslog_3164" \
                or lit.startswith(b"type="):
            route(lit)
for p in sorted(glob.glob(os.path.join(root, "tests/unit/test_*.c"))):
    for lit in c_literals(p):
        if lit.startswith(b"rules:") or lit.startswith(b"correlations:"):
            seed("rules", lit)
        elif re.match(rb"^(engine|input|store|correlation|kafka|rules):", lit):
            seed("config", lit)
for p in sorted(glob.glob(os.path.join(root, "configs/rules/*.yaml")) +
                glob.glob(os.path.join(root, "tests/golden/*/rules.yaml"))):
    seed("rules", open(p, "rb").read())
for p in sorted(glob.glob(os.path.join(root, "configs/tests/**/*.yaml"), recursive=True))[:50]:
    seed("rules", open(p, "rb").read())
for p in sorted([os.path.join(root, "configs/corral.yaml")] +
                glob.glob(os.path.join(root, "tests/golden/*/config.yaml"))):
    seed("config", open(p, "rb").read())
seed("inventory", open(os.path.join(root, "configs/assets.yaml"), "rb").read())
seed("grading", open(os.path.join(root, "configs/grading.yaml"), "rb").read())
seed("serve", open(os.path.join(root, "configs/tokens.example.yaml"), "rb").read())
for p in sorted(glob.glob(os.path.join(root, "tests/unit/test_serve_parts.c")) +
                glob.glob(os.path.join(root, "tests/integration/test_api.c"))):
    for lit in c_literals(p):
        if lit.startswith(b"tokens:"):
            seed("serve", lit)
        elif lit.startswith(b"/api/v1/incidents?") or lit.startswith(b"/api/v1/export?"):
            seed("serve", lit.split(b"?", 1)[1])
for q in [b"category=S-ATK&status=detected&status=acknowledged", b"tenant=t-gov&reg_level=IV",
          b"entity=src_ip=203.0.113.5&host=web-01&q=brute", b"sort=priority&page_size=7",
          b"from=2026-03-01&to=2026-03-03&overdue=true", b"system=gov-portal&rule=ssh.bruteforce"]:
    seed("serve", q)
for p in sorted(glob.glob(os.path.join(root, "tests/unit/test_grade.c")) +
                glob.glob(os.path.join(root, "tests/unit/test_ocsf.c"))):
    for lit in c_literals(p):
        if re.match(rb"^(loss|matrix|targets|tier|regrade|triggers):", lit) or lit.startswith(b"{"):
            seed("grading", lit)
for p in sorted(glob.glob(os.path.join(root, "tests/unit/test_assets.c"))):
    for lit in c_literals(p):
        if re.match(rb"^(tenants|systems|assets|hosts):", lit):
            seed("inventory", lit)

# --- ../shared/data ---------------------------------------------------------
if use_shared:
    for rel in ["loghub-linux-full/Linux.log", "elastic-examples-auth/auth.log"]:
        for l in lines(os.path.join(shared, rel)):
            route(l)
            # the same message as RFC 5424, as a modern relay would send it
            m = re.match(rb"^(\w{3} +\d+ [\d:]+) (\S+) ([^:\[ ]+)(?:\[(\d+)\])?: ?(.*)$", l)
            if m and rnd.random() < 0.5:
                seed("syslog_5424", b"<38>1 2026-03-02T08:00:00.123+01:00 %s %s %s - - %s" %
                     (m.group(2), m.group(3), m.group(4) or b"-", m.group(5)))
    for p in sorted(glob.glob(os.path.join(shared, "loghub-2k/*/*_2k.log")))[:8]:
        for l in lines(p, 60):
            route(l)
    for p in sorted(glob.glob(os.path.join(shared, "rsyslog-parser-tests/parse1/*"))):
        if p.endswith(".md"):
            continue
        for l in lines(p, 100):
            if l.startswith(b"<") or kind(l) != "3164" or not l.startswith(b"#"):
                route(l)
    for p in sorted(glob.glob(os.path.join(shared, "rsyslog-parser-tests/fuzz-corpus/*/*"))):
        data = open(p, "rb").read().rstrip(b"\n")
        route(data)
    for l in lines(os.path.join(shared, "elastic-examples-apache-access/apache_access.log")):
        seed("access_log", l)
        if rnd.random() < 0.2:
            seed("syslog_3164", b"<190>Mar  2 12:00:00 web-01 apache: " + l)
    # JSON events
    for p in sorted(glob.glob(os.path.join(shared, "falco-k8s-audit/events/*.json"))):
        for l in lines(p, 5):
            seed("json_event", l)
    for l in lines(os.path.join(shared, "panther-cloud-rule-tests/rule_tests.jsonl")):
        try:
            seed("json_event", json.dumps(json.loads(l)["log"]))
        except Exception:
            pass
    for p in sorted(glob.glob(os.path.join(shared, "panther-attack-scenarios/*.jsonl")))[:20]:
        for l in lines(p, 15):
            try:
                seed("json_event", json.dumps(json.loads(l)["event"]))
            except Exception:
                pass
    for p in sorted(glob.glob(os.path.join(shared, "otrf-security-datasets/aws/*.json"))):
        for l in lines(p, 100):
            seed("json_event", l)
    ces = []
    for l in lines(os.path.join(shared, "cloudevents-samples/spec_examples.jsonl"), 1000):
        try:
            r = json.loads(l)
        except Exception:
            continue
        if "event" in r and isinstance(r["event"], dict):
            seed("json_event", json.dumps(r["event"]))
            ces.append(r["event"])
    for p in sorted(glob.glob(os.path.join(shared, "cloudevents-samples/google-cloudevents-data/*.json"))):
        data = open(p, "rb").read()
        seed("json_event", json.dumps({"specversion": "1.0", "id": "1", "type": "google.cloud.x",
                                       "source": "//x", "time": "2026-03-02T08:00:00Z",
                                       "data": json.loads(data)}))
        ces.append({"specversion": "1.0", "id": "g", "source": "//g", "type": "google.x",
                    "datacontenttype": "application/json", "data": json.loads(data)})
    # binary-mode Kafka records from the same envelopes (fuzz_cloudevents.c layout)
    for ev in ces:
        hdrs, value = [], b""
        for k, v in ev.items():
            if k in ("data", "data_base64"):
                value = json.dumps(v).encode() if k == "data" and not isinstance(v, str) else str(v).encode()
            elif k == "datacontenttype":
                hdrs.append((b"content-type", str(v).encode()))
            else:
                hdrs.append((b"ce_" + k.encode(), (v if isinstance(v, str) else json.dumps(v)).encode()))
        b = bytearray([len(hdrs) & 0xff])
        for n, v in hdrs:
            b += bytes([len(n) & 0xff]) + n[:255] + len(v[:65534]).to_bytes(2, "big") + v[:65534]
        b += (300).to_bytes(2, "big") + value
        seed("cloudevents", bytes(b))
    # Sigma rules: not corral's language, but real-world YAML for the loader
    sig = sorted(glob.glob(os.path.join(shared, "sigmahq-rules/rules/**/*.yml"), recursive=True))
    for p in rnd.sample(sig, min(150, len(sig))):
        seed("rules", open(p, "rb").read())

for t in sorted(os.listdir(out)):
    n = len(os.listdir(os.path.join(out, t)))
    print("seeds.sh: %-12s %5d seeds" % (t, n))
PY
