#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""flush-no-fsync: write, flush() to the kernel, then "saved".

Survives kill -9 (the kernel has the data) but not power loss: flush()
is not fsync().

Usage: flush_no_fsync.py [PATH]   (default config.json)
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

with open(path, "w") as f:
    f.write(NEW)
    f.flush()
    mark("saved")
