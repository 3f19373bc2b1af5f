#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""chmod-rename: write a temp file, set its mode and times, rename it over
the target, as rsync and `install -C` do.

Bug: no fsync of the temp file before the rename (nor of the directory
after it).  The chmod and utime between the write and the rename change
nothing: the rename is what exposes the data, so the fix is an fsync of
the temp file before renaming it.

Usage: chmod_rename.py [PATH]   (default config.json)
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

d, base = os.path.split(path)
tmp = os.path.join(d, "." + base + ".tmp")
with open(tmp, "w") as f:
    f.write(NEW)
os.chmod(tmp, 0o644)
os.utime(tmp, (1000000000, 1000000000))
os.replace(tmp, path)
mark("saved")
