#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checker server for the SQLite scenarios: check.sh's checks, in one
Python process that crashfs starts once per job and hands state after
state (crashfs check --check-server, scenario key check-server; the
protocol is in docs/check.md).

Each state's database must pass PRAGMA integrity_check and hold every row
whose commit was acknowledged (the last "commit-I" line of the marks
file).  With --integrity-only the rows are not checked.

    check-server.py DB [--integrity-only]

The connection is closed before each answer: crashfs rewrites the state
for the next request, and refuses a server that keeps its files open.

The connection takes SQLite's exclusive locking mode before it first
reads the database: it is the only one, so it recovers a hot journal or
the WAL exactly as the first connection of an application after a crash
does (that one rebuilds the WAL index from the WAL too, whatever the
-shm file held), but keeps the WAL index in its own memory instead of
mapping the -shm file.  A mapping made and unmapped per state was the
largest single cost of this server in WAL mode (an unmap flushes the
TLBs of every CPU the process ran on).
"""
import os
import sqlite3
import sys


def wanted(marks):
    """The last acknowledged commit, 0 if none."""
    want = 0
    with open(marks, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("commit-"):
                want = line[len("commit-"):]
    return want


def check(db, marks, rows):
    """None if the database is consistent, else what is wrong."""
    if not os.path.exists(db):
        return "database %s is missing" % os.path.basename(db)
    want = wanted(marks) if rows else 0
    con = sqlite3.connect(db)
    try:
        # Before the first read: no shared-memory wal-index (see above)
        con.execute("PRAGMA locking_mode=EXCLUSIVE")
        res = con.execute("PRAGMA integrity_check").fetchall()
        if [r[0] for r in res] != ["ok"]:
            return "integrity_check: %s" % "\n".join(str(r[0]) for r in res)
        got = con.execute("SELECT count(*) FROM t WHERE id <= %s"
                          % int(want)).fetchone()[0]
    except (sqlite3.Error, ValueError) as e:
        return "integrity_check: %s" % e
    finally:
        con.close()
    if got != int(want):
        return ("committed rows 1..%s acknowledged, %d of them present"
                % (want, got))
    return None


def keep_heap():
    """Ask glibc not to give freed heap back to the kernel after every
    state: each trim unmaps pages, and on a multi-core VM every unmap is
    a TLB shootdown across CPUs (measured: most of the server's system
    time).  Harmless where it does not apply."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 256 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-2, 64 << 20)   # M_TOP_PAD
        libc.mallopt(-3, 256 << 20)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def main():
    keep_heap()
    db = sys.argv[1]
    rows = "--integrity-only" not in sys.argv[2:]
    print("ready", flush=True)
    for line in sys.stdin:
        state, marks = line.rstrip("\n").split("\t")[:2]
        problem = check(os.path.join(state, db), marks, rows)
        if problem is None:
            print("ok", flush=True)
        else:
            print("fail " + problem.replace("\n", " | "), flush=True)


if __name__ == "__main__":
    main()
