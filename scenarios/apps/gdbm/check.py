#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Checker server for the GNU dbm scenarios (crashfs check-server
protocol, docs/check.md): each state's database must open and hold keys
k001..kC with their values and "count" = C, for some C; every store
acknowledged with a mark "store-I" must be there (C >= I).  With
--integrity-only the marks are not looked at.

    check.py FILE [--integrity-only]

The database is opened read-only ("ru": no lock) and closed before each
answer.
"""
import dbm.gnu
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from checksrv import counted_records, last_number, serve  # noqa: E402


def value(i):
    return (b"record %04d " % i) * 25


def check(path, want):
    if not os.path.exists(path):
        return "%s is missing" % os.path.basename(path)
    try:
        db = dbm.gnu.open(path, "ru")
    except dbm.gnu.error as e:
        return "cannot open the database: %s" % e
    try:
        data = {}
        key = db.firstkey()
        while key is not None:
            data[key] = db[key]
            key = db.nextkey(key)
    except (dbm.gnu.error, KeyError) as e:
        return "cannot read the database: %s" % e
    finally:
        db.close()
    return counted_records(data, want, value, "stores")


if __name__ == "__main__":
    rows = "--integrity-only" not in sys.argv[2:]
    serve(lambda state, marks: check(
        os.path.join(state, sys.argv[1]),
        last_number(marks, "store") if rows else 0))
