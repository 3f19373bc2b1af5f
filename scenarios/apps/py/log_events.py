#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Log events with the logging module's FileHandler, marking each one.

    log_events.py PATH N

Appends N records "event I done" to PATH through logging.FileHandler
(mode "a"; the handler flushes its stream after every record and never
fsyncs it: Lib/logging/__init__.py, StreamHandler.flush).  After each
record it marks "event-I" when run under crashfs.
"""
import logging
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: log_events.py PATH N")
    path, n = sys.argv[1], int(sys.argv[2])
    log = logging.getLogger("app")
    log.setLevel(logging.INFO)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log.addHandler(handler)
    marking = bool(os.environ.get("CRASHFS_MOUNT"))
    for i in range(1, n + 1):
        log.info("event %d done", i)
        if marking:
            subprocess.run(["crashfs", "mark", "event-%d" % i], check=True)
    handler.close()


if __name__ == "__main__":
    main()
