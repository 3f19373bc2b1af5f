#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A checker for tests, in both forms: per state (crashfs check --check)
and as a checker server (--check-server, with --server).

It digests what it is given (every entry of the state: path, type,
permission bits, size (not a directory's), content or symlink target; the marks file; the
crash point), appends "JOB POINT DIGEST" to the file $DIGEST_LOG (JOB:
$CRASHFS_JOB, which tells the cause search's runs apart), fails when
the digest's first hex digit is below c (about three states in four, chosen
by content; never at point 0, the initial state, which crashfs checks
first and a checker must accept), and then damages the state by the digest's second digit
(appends to every file, removes everything, or leaves it), so that the
next state crashfs writes there must be repaired.

Both forms must see the same states: the logs of a per-state and a
server run over the same recorded run hold the same lines, and the
verdicts are the same.

    digest-check.py            per state: CRASHFS_STATE, _MARKS, _POINT
    digest-check.py --server   reads requests on stdin
"""
import hashlib
import os
import shutil
import stat
import sys


def digest(state, marks, point):
    h = hashlib.sha256()
    for root, dirs, files in os.walk(state):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, state)
            size = 0 if stat.S_ISDIR(st.st_mode) else st.st_size
            h.update(b"%s %o %d\0" % (rel.encode(), st.st_mode, size))
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h.update(f.read())
    with open(marks, "rb") as f:
        h.update(b"marks\0" + f.read())
    h.update(b"point %d" % point)
    return h.hexdigest()


def damage(state, d):
    if d[1] in "0123":
        for root, _, files in os.walk(state):
            for name in files:
                p = os.path.join(root, name)
                if os.path.isfile(p) and not os.path.islink(p):
                    with open(p, "ab") as f:
                        f.write(b"junk")
    elif d[1] in "4567":
        for name in os.listdir(state):
            p = os.path.join(state, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)


def check(state, marks, point):
    """Returns the failure message, or None."""
    d = digest(state, marks, point)
    with open(os.environ["DIGEST_LOG"], "a") as log:
        log.write("%s %d %s\n" % (os.environ["CRASHFS_JOB"], point, d))
    damage(state, d)
    # the initial state (point 0) passes: crashfs first runs a checker
    # there and calls a failure a setup error
    return "digest %s" % d if d[0] in "0123456789ab" and point > 0 else None


def main():
    if "--server" not in sys.argv[1:]:
        msg = check(os.environ["CRASHFS_STATE"], os.environ["CRASHFS_MARKS"],
                    int(os.environ["CRASHFS_POINT"]))
        if msg:
            print(msg)
            sys.exit(1)
        return
    print("ready", flush=True)
    for line in sys.stdin:
        state, marks, point = line.rstrip("\n").split("\t")[:3]
        msg = check(state, marks, int(point))
        print("ok" if msg is None else "fail " + msg, flush=True)


if __name__ == "__main__":
    main()
