#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""naive-overwrite: truncate the file in place and write the new content.

Bug: a reader (or kill -9) can see the file empty, and a power loss can
leave it empty or old after the program said it was saved.

Usage: naive_overwrite.py [PATH]   (default config.json)
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
mark("saved")
