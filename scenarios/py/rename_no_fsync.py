#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""rename-no-fsync: write a temp file, close it, rename it over the target.

Bug: the rename may reach the disk before the temp file's data, so a power
loss can leave the target empty; and nothing is durable.

Usage: rename_no_fsync.py [PATH]   (default config.json)
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
os.replace(tmp, path)
mark("saved")
