#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""create-no-dirsync: create a new file, write it, fsync it.

fsync of a new file does not make its name durable under POSIX: the
directory needs an fsync too (ext4 happens to persist the name).

Usage: create_no_dirsync.py [PATH]   (default config.json)
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

with open(path, "x") as f:
    f.write(NEW)
    f.flush()
    os.fsync(f.fileno())
mark("saved")
