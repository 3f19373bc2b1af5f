#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""dirsync-before-rename: temp file, fsync, fsync the directory, rename.

The directory fsync comes too early: it makes the temp file's name
durable, not the rename that follows it.

Usage: dirsync_before_rename.py [PATH]   (default config.json)
Part of the crashfs bug zoo: see docs/scenarios.md.  Runs anywhere; the
mark is only made under `crashfs check` (CRASHFS_MOUNT set).
"""
import os
import subprocess
import sys

NEW = "new"


def mark(text):
    """Tell crashfs that TEXT is acknowledged; a no-op outside crashfs."""
    if os.environ.get("CRASHFS_MOUNT"):
        subprocess.run(["crashfs", "mark", text], check=True)


path = sys.argv[1] if len(sys.argv) > 1 else "config.json"

tmp = path + ".tmp"
with open(tmp, "w") as f:
    f.write(NEW)
    f.flush()
    os.fsync(f.fileno())
d = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
os.fsync(d)
os.close(d)
os.replace(tmp, path)
mark("saved")
