#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""overwrite-fsync: truncate in place, write, flush, fsync.

Durable once fsync returns, but not atomic: between the truncate and the
write the file is empty for everyone.

Usage: overwrite_fsync.py [PATH]   (default config.json)
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
    os.fsync(f.fileno())
mark("saved")
