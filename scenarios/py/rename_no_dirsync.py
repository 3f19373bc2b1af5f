#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""rename-no-dirsync: write a temp file, fsync it, rename it over the target.

Atomic (the target is old or new), but the rename itself is not durable
until the directory is fsynced: a power loss can bring back the old file.

Usage: rename_no_dirsync.py [PATH]   (default config.json)
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
os.replace(tmp, path)
mark("saved")
