#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""extract-chmod-dir: unpack files into a new directory the way tar does,
restoring the directory's mode and times last, after its files.

With --sync, every file, the directory and its parent are fsynced before
the directory's mode and times are set (which nothing syncs): the tree's
names and bytes are durable, only the mode and times may be lost, and a
mode is not part of a path's version, so `--durable DIR` holds.  Without
--sync nothing is fsynced (like plain `tar xf`): files and names may be
lost, which `--durable DIR` reports.

Usage: extract_chmod_dir.py [--sync] DIR
Part of the crashfs bug zoo: see docs/scenarios.md.
"""
import os
import sys

FILES = [("README", b"read me\n"), ("data.bin", bytes(range(256)) * 40),
         ("empty", b"")]


def fsync_path(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


args = sys.argv[1:]
sync = "--sync" in args
args = [a for a in args if a != "--sync"]
top = args[0] if args else "out"

os.mkdir(top, 0o755)
os.mkdir(os.path.join(top, "sub"), 0o755)
for name, data in FILES + [("sub/nested", b"nested\n")]:
    p = os.path.join(top, name)
    with open(p, "wb") as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())
    os.chmod(p, 0o644)
    os.utime(p, (1000000000, 1000000000))
os.symlink("README", os.path.join(top, "LINK"))
if sync:
    fsync_path(os.path.join(top, "sub"))
    fsync_path(top)
    fsync_path(".")
# what tar does last: the directories' own mode and times
os.chmod(os.path.join(top, "sub"), 0o700)
os.chmod(top, 0o750)
os.utime(top, (1000000000, 1000000000))
