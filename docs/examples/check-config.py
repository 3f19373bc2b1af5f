#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A checker server (crashfs check --check-server, docs/check.md):
config.json holds "old" or "new", and "new" once the mark "saved" was
made.  Started once per job; reads one request per state on stdin and
answers "ok" or "fail MESSAGE" on stdout."""
import os
import sys

print("ready", flush=True)
for line in sys.stdin:
    state, marks, point, state_id = line.rstrip("\n").split("\t")[:4]
    try:
        with open(os.path.join(state, "config.json")) as f:
            got = f.read()
    except FileNotFoundError:
        got = None
    with open(marks) as f:
        saved = "saved" in f.read().splitlines()
    legal = ["new"] if saved else ["old", "new"]
    if got in legal:
        print("ok", flush=True)
    else:
        print("fail config.json holds %r at crash point %s, expected one "
              "of %s" % (got, point, legal), flush=True)
