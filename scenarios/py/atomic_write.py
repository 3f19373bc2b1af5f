#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""atomic-write: temp file, flush, fsync, rename, fsync the dir.

The atomic write recipe, written for crashfs: the new content goes to
a temp file in the same directory, which is flushed out of Python's buffer
and fsynced, then renamed over the target, and the directory is fsynced so
the rename itself is durable.  It is both atomic and durable.

Usage: atomic_write.py [PATH]   (default config.json)
Part of the crashfs bug zoo: see docs/scenarios.md.  Runs anywhere; the
mark is only made under `crashfs check` (CRASHFS_MOUNT set).
"""
import os
import subprocess
import sys
import tempfile


def save(target, text):
    """Replace TARGET with TEXT so a crash leaves the old or the new file."""
    folder = os.path.dirname(os.path.abspath(target))
    handle, temp = tempfile.mkstemp(
        dir=folder, prefix="." + os.path.basename(target) + ".", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()                 # Python's buffer -> the kernel
            os.fsync(out.fileno())      # the kernel -> the disk
        os.replace(temp, target)        # atomic switch to the new file
        dirfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dirfd)             # make the rename itself durable
        finally:
            os.close(dirfd)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def mark(text):
    """Tell crashfs that TEXT is acknowledged; a no-op outside crashfs."""
    if os.environ.get("CRASHFS_MOUNT"):
        subprocess.run(["crashfs", "mark", text], check=True)


path = sys.argv[1] if len(sys.argv) > 1 else "config.json"
save(path, "new")
mark("saved")
