#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checker server for the LMDB scenarios (crashfs check-server protocol,
docs/check.md): each state's environment must open, read back whole, and
hold keys k001..kC with their values and "count" = C, for some C; every
transaction acknowledged with a mark "txn-I" must be there (C >= I).
With --integrity-only the marks are not looked at.

    check.py DIR [--integrity-only]

The environment is opened read-only without the lock file and closed
before each answer.  A state whose pages are corrupt may make LMDB raise
an error (a failure) or crash this process (crashfs then fails the state
and starts a new server).
"""
import os
import sys

import lmdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from checksrv import counted_records, last_number, serve  # noqa: E402


def value(i):
    return (b"value %04d " % i) * 20


def check(path, want):
    if not os.path.exists(os.path.join(path, "data.mdb")):
        return "%s/data.mdb is missing" % os.path.basename(path)
    env = lmdb.open(path, readonly=True, lock=False, create=False)
    try:
        with env.begin(buffers=False) as txn:
            items = list(txn.cursor())
    except lmdb.Error as e:
        return "lmdb: %s" % e
    finally:
        env.close()
    return counted_records(dict(items), want, value, "transactions")


if __name__ == "__main__":
    rows = "--integrity-only" not in sys.argv[2:]
    serve(lambda state, marks: check(
        os.path.join(state, sys.argv[1]),
        last_number(marks, "txn") if rows else 0))
