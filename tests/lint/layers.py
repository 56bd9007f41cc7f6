#!/usr/bin/env python3
"""layers.py - the rules of the house (docs/architecture.md) as a test.

Every #include "..." of a product file names a header by its path from the
project root, and may only name a folder its own folder is allowed to use:
the layers point one way, from the command line down to base. A library
header (lmdb.h, librdkafka, Hyperscan, PCRE2) belongs to the one layer that
wraps it. Prints each violation as file:line: reason and exits 1 if any.
"""
import os
import re
import sys

BELOW = {
    "base": [],
    "parsers": ["base"],
    "rules": ["base"],
    "engine/store": ["base"],
    "engine/config": ["base"],
    "engine/assets": ["base"],
    "engine/correlate": ["base", "rules", "engine/store"],
    "engine/grade": ["base", "engine/store", "engine/assets"],
    "engine/pipeline": ["base", "parsers", "rules", "engine/store", "engine/config",
                        "engine/assets", "engine/correlate", "engine/grade"],
    "engine/kafka": ["base", "parsers", "rules", "engine/store", "engine/config",
                     "engine/assets", "engine/correlate", "engine/grade", "engine/pipeline"],
    "engine/serve": ["base", "engine/store", "engine/assets", "engine/grade"],
    "cli": ["base", "parsers", "rules", "engine/store", "engine/config", "engine/assets",
            "engine/correlate", "engine/grade", "engine/pipeline", "engine/kafka",
            "engine/serve"],
}
# system headers of a wrapped library -> the folders that may include them
# (cli/cmd_version.c prints every library's version)
OWNED = {
    "lmdb.h": ["engine/store"],
    "librdkafka/": ["engine/kafka", "parsers", "cli/cmd_version.c"],
    "hs/": ["rules", "cli/cmd_version.c"],
    "pcre2.h": ["rules", "cli/cmd_version.c"],
    "microhttpd.h": ["engine/serve", "cli/cmd_version.c"],
    "openssl/": ["engine/serve"],
    "curl/": ["cli"],
}

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(root)
bad = 0
for folder in BELOW:
    for name in sorted(os.listdir(folder)):
        path = f"{folder}/{name}"
        if not os.path.isfile(path) or not re.search(r"\.(c|h|cpp)$", name):
            continue
        for n, line in enumerate(open(path, encoding="utf-8"), 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                inc = m.group(1)
                home = os.path.dirname(inc)
                if not os.path.isfile(inc):
                    print(f"{path}:{n}: include \"{inc}\" is not a path from the project root")
                    bad += 1
                elif home != folder and home not in BELOW[folder]:
                    print(f"{path}:{n}: {folder}/ may not include {inc} "
                          f"(it may use: {', '.join(BELOW[folder]) or 'nothing'})")
                    bad += 1
                continue
            m = re.match(r"\s*#\s*include\s+<([^>]+)>", line)
            if m:
                for lib, owners in OWNED.items():
                    if m.group(1).startswith(lib) and folder not in owners and path not in owners:
                        print(f"{path}:{n}: <{m.group(1)}> belongs to {', '.join(owners)}")
                        bad += 1
# every product folder is a layer of the table
for d in ["base", "parsers", "rules", "cli"] + [f"engine/{x}" for x in os.listdir("engine")]:
    if os.path.isdir(d) and d not in BELOW:
        print(f"{d}/: a folder that is not a layer of tests/lint/layers.py")
        bad += 1
for f in os.listdir("engine"):
    if os.path.isfile(f"engine/{f}"):
        print(f"engine/{f}: engine/ holds only its layers' folders")
        bad += 1
sys.exit(1 if bad else 0)
