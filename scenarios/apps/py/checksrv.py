# SPDX-License-Identifier: MIT
"""The checker-server loop of the Python checkers of scenarios/apps
(crashfs check-server protocol, docs/check.md): say "ready", then for
each state call check(state_dir, marks) and answer "ok" when it returns
None, else "fail MESSAGE".  An exception is a failure of that state (a
corrupt file may make a library raise anything), never the server's end.

    from checksrv import serve
    serve(lambda state, marks: None if fine(state) else "what is wrong")

marks is the list of marks made before the crash.  check() must close
every file of the state before it returns.  counted_records() is the
check of the key-value stores' records (gdbm, lmdb).
"""
import sys


def read_marks(path):
    """The marks in the marks file at path, one a line."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.rstrip("\n") for line in f]


def last_number(marks, prefix):
    """N of the last mark "PREFIX-N", 0 if there is none."""
    n = 0
    for m in marks:
        if m.startswith(prefix + "-") and m[len(prefix) + 1:].isdigit():
            n = int(m[len(prefix) + 1:])
    return n


def counted_records(data, want, value, what):
    """None if data (a dict of bytes keys) holds "count" = C and exactly
    keys k001..kC, key kI holding value(I), with C >= want; else what is
    wrong, acknowledgements named by what ("stores", "transactions").
    data loses its "count" entry."""
    count = int(data.pop(b"count", b"0"))
    keys = sorted(data)
    if keys != [b"k%03d" % i for i in range(1, count + 1)]:
        return "count is %d but the keys are %s" % (
            count, b" ".join(keys).decode("ascii", "replace"))
    for i in range(1, count + 1):
        if data[b"k%03d" % i] != value(i):
            return "key k%03d holds a wrong value" % i
    if count < want:
        return "%d %s acknowledged, %d present" % (want, what, count)
    return None


def serve(check):
    print("ready", flush=True)
    for line in sys.stdin:
        state, marks = line.rstrip("\n").split("\t")[:2]
        try:
            problem = check(state, read_marks(marks))
        except Exception as e:  # noqa: BLE001 (a corrupt state)
            problem = "%s: %s" % (type(e).__name__, e)
        if problem is None:
            print("ok", flush=True)
        else:
            print("fail " + str(problem).replace("\n", " | "), flush=True)
