#!/usr/bin/env python3
"""mutate_corpus.py SYSLOG JSON OUT.log OUT.json MAX_RECORD [SEED] - a damaged corpus and
what corral must count for it.

Takes syslog lines (bench/gen_corpus output) and JSON events, damages a
share of them the ways real feeds are damaged (bit flips, truncation, NUL
bytes, invalid UTF-8, giant lines, broken JSON, CRLF, blank lines) and
writes OUT.log. OUT.json holds the counts corral's reader and workers must
report, computed here independently by the rules of engine/pipeline/worker.h
(one cause per record, byte-level damage first): records, the line numbers
of records that must be rejected for oversize / NUL / invalid UTF-8 /
broken JSON / blankness, and how many records were left undamaged (each of
which must be accepted). Deterministic for a given SEED.
"""
import json, random, sys

syslog_path, json_path, out_log, out_json, max_record = sys.argv[1:6]
max_record = int(max_record)
rnd = random.Random(int(sys.argv[6]) if len(sys.argv) > 6 else 1)

syslog = [l.rstrip(b"\n") for l in open(syslog_path, "rb")]
events = [json.loads(l) for l in open(json_path, "rb") if l.strip()]

def json_line(i):
    ev = dict(events[i % len(events)])
    ev["eventID"] = "mut-%06d" % i
    return json.dumps(ev, separators=(", ", ": ")).encode()

def flip(line):
    # low seven bits only: stays ASCII, so the damage is structural (it may
    # make a NUL, a CR or a newline, which splits the record)
    b = bytearray(line)
    for _ in range(rnd.randint(1, 4)):
        if b:
            k = rnd.randrange(len(b))
            b[k] ^= 1 << rnd.randrange(7)
    return bytes(b)

INVALID = [b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80",
           b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80"]

out = []            # records as bytes, one per line
damaged = []        # parallel: was this record damaged
for i in range(len(syslog)):
    kind = rnd.random()
    if i % 10 == 9:                     # every tenth record is a JSON event
        line = json_line(i)
        if kind < 0.15:                 # truncated: broken JSON
            line = line[: rnd.randrange(1, len(line) - 1)]
            out.append(line); damaged.append(True)
        elif kind < 0.20:               # invalid UTF-8 inside a string value
            k = line.index(b"mut-")
            out.append(line[:k] + rnd.choice(INVALID) + line[k:]); damaged.append(True)
        else:
            out.append(line); damaged.append(False)
        continue
    line = syslog[i]
    if kind < 0.04:
        line = flip(line)
    elif kind < 0.06:
        line = line[: rnd.randrange(0, len(line) + 1)]
    elif kind < 0.08:
        k = rnd.randrange(len(line) + 1)
        line = line[:k] + b"\0" + line[k:]
    elif kind < 0.10:
        k = rnd.randrange(len(line) + 1)
        line = line[:k] + rnd.choice(INVALID) + line[k:]
    elif kind < 0.105:                  # a giant line: a dumped blob, a runaway logger
        line = line + b" " + bytes(rnd.choice(b"abcdefgh") for _ in range(rnd.randint(2, 6) * max_record))
    elif kind < 0.11:
        line = rnd.choice([b"", b"   ", b"\t \t"])
    elif kind < 0.15:                   # CRLF: not damage
        out.append(line + b"\r"); damaged.append(False)
        continue
    else:
        out.append(line); damaged.append(False)
        continue
    out.append(line); damaged.append(True)

data = b"\n".join(out) + b"\n"
open(out_log, "wb").write(data)

# What the reader sees: records split at newlines (a flip may have made
# new ones), a final CR stripped.
recs = data.split(b"\n")[:-1]
# Map each record back to whether its source line was damaged.
src_damaged = []
for line, d in zip(out, damaged):
    n = line.count(b"\n") + 1
    src_damaged += [d] * n
assert len(src_damaged) == len(recs)

def valid_utf8(b):
    try:
        b.decode("utf-8", "strict")
        return True
    except UnicodeDecodeError:
        return False

def reject_const(s):
    raise ValueError(s)

expect = {"records": len(recs), "oversized": [], "nul_byte": [], "invalid_utf8": [],
          "broken_json": [], "empty": [], "undamaged": 0}
for no, (r, d) in enumerate(zip(recs, src_damaged), start=1):
    if r.endswith(b"\r"):
        r = r[:-1]
    if not d:
        expect["undamaged"] += 1
    if len(r) > max_record:
        expect["oversized"].append(no)
    elif b"\0" in r:
        expect["nul_byte"].append(no)
    elif not valid_utf8(r):
        expect["invalid_utf8"].append(no)
    elif r.strip(b" \t") == b"":
        expect["empty"].append(no)
    elif r.lstrip(b" \t").startswith(b"{"):
        try:
            json.loads(r, parse_constant=reject_const)
        except ValueError:
            expect["broken_json"].append(no)
json.dump(expect, open(out_json, "w"))
