#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Save a settings dictionary the ways Python programs commonly do.

    save_json.py MODE PATH

MODE:
  dump       open(PATH, "w") and json.dump() into it (the documented
             way to write JSON to a file: json module docs)
  replace    tempfile.NamedTemporaryFile in PATH's directory, json.dump,
             flush, os.fsync, os.replace over PATH (the file is fsynced,
             its directory is not)
  replace-nofsync
             the same without the flush and fsync: the data is written
             when the with-block closes the temp file, just before the
             rename
  replace-dirsync
             replace, then open PATH's directory and os.fsync it

After saving it marks "saved" when run under crashfs (CRASHFS_MOUNT set).
"""
import json
import os
import subprocess
import sys
import tempfile

SETTINGS = {"version": 2, "theme": "dark", "recent": ["a.txt", "b.txt"],
            "window": {"width": 1280, "height": 800}}


def dump(path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(SETTINGS, f, indent=2)


def replace(path, sync=True, dirsync=False):
    d = os.path.dirname(path) or "."
    with tempfile.NamedTemporaryFile("w", dir=d, prefix=".settings-",
                                     delete=False, encoding="utf-8") as f:
        json.dump(SETTINGS, f, indent=2)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(f.name, path)
    if dirsync:
        fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: save_json.py MODE PATH")
    mode, path = sys.argv[1:]
    if mode == "dump":
        dump(path)
    elif mode == "replace":
        replace(path)
    elif mode == "replace-nofsync":
        replace(path, sync=False)
    elif mode == "replace-dirsync":
        replace(path, dirsync=True)
    else:
        sys.exit("save_json.py: unknown mode '%s'" % mode)
    if os.environ.get("CRASHFS_MOUNT"):
        subprocess.run(["crashfs", "mark", "saved"], check=True)


if __name__ == "__main__":
    main()
