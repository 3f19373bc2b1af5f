# SPDX-License-Identifier: MIT
"""The checker-server loop of the Python checkers of scenarios/apps
(crashfs check-server protocol, docs/check.md): say "ready", then for
each state call check(state_dir, marks) and answer "ok" when it returns
None, else "fail MESSAGE".  An exception is a failure of that state (a
corrupt file may make a library raise anything), never the server's end.

    from checksrv import serve
    serve(lambda state, marks: None if fine(state) else "what is wrong")

marks is the list of marks made before the crash.  check() must close
every file of the state before it returns.
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
