#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""GNU dbm workload (Python's dbm.gnu, Debian's python3-gdbm): N stores,
each acknowledged with a mark "store-I" once it returned.

    store.py FILE N [sync]

Store I puts key "kIII" = 300 bytes derived from I and rewrites key
"count" = I.  FILE must be a database made by `store.py FILE 0` (the
setup).  With "sync" each store is followed by db.sync()
(gdbm_sync: the GDBM manual's way to make changes reach the disk); without
it, gdbm leaves its changes in its memory-mapped file until it is closed.
"""
import dbm.gnu
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from crashfs_mark import Marker  # noqa: E402


def value(i):
    """The value of key i: 300 bytes a reader can verify."""
    return (b"record %04d " % i) * 25


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["sync"]):
        sys.exit("usage: store.py FILE N [sync]")
    path, n = sys.argv[1], int(sys.argv[2])
    sync = bool(sys.argv[3:])
    marker = Marker()
    db = dbm.gnu.open(path, "c")
    done = int(db.get(b"count", b"0"))
    for i in range(done + 1, done + n + 1):
        db[b"k%03d" % i] = value(i)
        db[b"count"] = b"%d" % i
        if sync:
            db.sync()
        marker.mark("store-%d" % i)
    db.close()
    marker.close()


if __name__ == "__main__":
    main()
