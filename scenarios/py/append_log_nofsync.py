#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""append-log-nofsync: append records, mark each, never fsync.

Bug: acknowledged records live only in the page cache.

Usage: append_log_nofsync.py [PATH]   (default config.json)
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

N = int(sys.argv[2]) if len(sys.argv) > 2 else 5
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
for i in range(1, N + 1):
    os.write(fd, b"record %d\n" % i)
    mark("record %d" % i)
os.close(fd)
