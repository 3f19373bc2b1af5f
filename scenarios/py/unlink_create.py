#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unlink-create: delete the target, create it again and write it, as
`install` does.

Bug: between the unlink and the write, a reader (or a crash) finds the
target absent or empty: the fix is a temp file renamed over the target,
not an fsync.  Nothing is durable either.

Usage: unlink_create.py [PATH]   (default config.json)
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

os.unlink(path)
with open(path, "x") as f:
    f.write(NEW)
mark("saved")
