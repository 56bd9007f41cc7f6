#!/usr/bin/env python3
"""Reorder a syslog file so that no record arrives more than LATENESS seconds
of event time after a newer one: each record is keyed by its own time plus a
random jitter in [0, LATENESS - 1] s and the file is sorted by that key.

Usage: shuffle_within.py LATENESS_SECONDS SEED < in.log > out.log

Times are read from RFC 5424 (2026-03-02T08:00:00Z) or RFC 3164
(Mar  2 08:00:00) headers; a line without one keeps the previous line's time.
The test that uses it (test_event_time.c) checks that corral correlates the
result exactly like the sorted file.
"""
import random
import re
import sys
from datetime import datetime

lateness, seed = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(seed)
r5424 = re.compile(r'^<\d+>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)')
r3164 = re.compile(r'^<\d+>([A-Z][a-z]{2}) +(\d+) (\d\d):(\d\d):(\d\d) ')
months = {m: i + 1 for i, m in enumerate('Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split())}
rows, last = [], 0.0
for i, line in enumerate(sys.stdin.buffer):
    text = line[:64].decode('latin-1')
    m = r5424.match(text)
    if m:
        last = datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S').timestamp()
    else:
        m = r3164.match(text)
        if m:
            last = datetime(2026, months[m.group(1)], int(m.group(2)), int(m.group(3)),
                            int(m.group(4)), int(m.group(5))).timestamp()
    rows.append((last + rnd.randint(0, max(lateness - 1, 0)), rnd.random(), line))
rows.sort(key=lambda r: (r[0], r[1]))
sys.stdout.buffer.writelines(r[2] for r in rows)
