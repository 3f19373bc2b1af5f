#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checker server for log_events.py (crashfs check-server protocol):

    check_log.py PATH

In each state, every complete line of PATH must be "INFO event I done"
for I = 1, 2, ... in order, and after the last one only a torn record may
follow (a prefix of the next one: a log reader drops it); zeros or other
bytes are corruption.  Every event acknowledged with a mark "event-I"
must be there.
"""
import os
import sys

from checksrv import last_number, serve


def check(state, marks, path):
    want = last_number(marks, "event")
    try:
        with open(os.path.join(state, path), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    lines = data.split(b"\n")
    tail = lines.pop()
    for i, line in enumerate(lines, 1):
        if line != b"INFO event %d done" % i:
            return "line %d is %r, not event %d" % (i, line[:40], i)
    if not (b"INFO event %d done" % (len(lines) + 1)).startswith(tail):
        return "the log ends in %r, not in a torn record" % tail[:40]
    if len(lines) < want:
        return "%d events acknowledged, %d logged" % (want, len(lines))
    return None


if __name__ == "__main__":
    serve(lambda state, marks: check(state, marks, sys.argv[1]))
