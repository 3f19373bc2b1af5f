#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""buffered-no-flush: a buffered write, then "saved".

The mark is made while the data still sits in Python's own buffer: no
write(2) has happened yet, so even kill -9 right after "saved" loses it.
The data reaches the file when the program exits normally.

Usage: buffered_no_flush.py [PATH]   (default config.json)
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
