#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checker server for the tar scenarios (crashfs check-server protocol,
docs/check.md).

    check.py ARCHIVE [OLD_ARCHIVE]

Each regular file of ARCHIVE (in the state: the workload only reads it)
must be in the state with the content it has in the archive once the
mark "extracted" was made.  Before that mark, with OLD_ARCHIVE (an
extraction over an older version of the tree) each file must hold its
old or its new content, whole; without it (an extraction into an empty
directory) anything goes.
"""
import os
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from checksrv import serve  # noqa: E402


def contents(path):
    """{member name: bytes} of the regular files of a tar archive."""
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t if m.isfile()}


def check(state, marks, archive, old_archive):
    new = contents(os.path.join(state, archive))
    old = contents(os.path.join(state, old_archive)) if old_archive else {}
    done = "extracted" in marks
    for name, data in sorted(new.items()):
        try:
            with open(os.path.join(state, name), "rb") as f:
                got = f.read()
        except FileNotFoundError:
            got = None
        if got == data:
            continue
        if done:
            return "%s is %s after the extraction ended" % (
                name, "missing" if got is None else "not what the archive has")
        if old_archive and got != old.get(name):
            return "%s is %s: neither its old nor its new version" % (
                name, "missing" if got is None else "%d bytes" % len(got))
    return None


if __name__ == "__main__":
    args = sys.argv[1:] + [None]
    serve(lambda state, marks: check(state, marks, args[0], args[1]))
