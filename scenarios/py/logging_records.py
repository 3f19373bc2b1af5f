#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""logging-records: Python's logging module writing a log, never synced.

Each record is one write() appended to the file, most of them sharing a
sector with the one before.  A crash may lose the last records, and under
a model that lets a size persist without its data (posix) leave a
zero-filled tail, but never a hole in the middle: a sector keeps a
program-order prefix of its writes, and ext4 (data=ordered) never shows
an extension without its data.

Usage: logging_records.py [PATH [N]]   (default app.log, 40 records)
Part of the crashfs bug zoo: see docs/scenarios.md.
"""
import logging
import sys


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "app.log"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    logging.basicConfig(filename=path, level=logging.INFO,
                        format="%(message)s")
    for i in range(n):
        logging.info("record %03d %s", i, "x" * (i * 7 % 50))


if __name__ == "__main__":
    main()
