#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""link-unlink: write a temp file, link it to its final name, unlink the
temp name, as git does with its object files.

Bug: no fsync of the temp file before the link (nor of the directory
after it).  The link is what exposes the data under the final name, so
the fix is an fsync of the temp file before linking it.

Usage: link_unlink.py [PATH]   (default config.json)
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
tmp = os.path.join(d, "tmp_" + base)
with open(tmp, "w") as f:
    f.write(NEW)
os.link(tmp, path)
os.unlink(tmp)
mark("saved")
