#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""LMDB workload (Debian's python3-lmdb): N write transactions, each
acknowledged with a mark "txn-I" once commit() returned.

    txns.py DIR N [metasync=off] [sync=off]

Transaction I puts key "kIII" (I with three digits) = 200 bytes derived
from I, and rewrites key "count" = I, so every commit rewrites a leaf page
and the meta page.  DIR must hold an environment made by `txns.py DIR 0`
(the setup).  The options are python-lmdb's Environment arguments
metasync and sync (LMDB's MDB_NOMETASYNC and MDB_NOSYNC).
"""
import os
import sys

import lmdb

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "py"))
from crashfs_mark import Marker  # noqa: E402


def value(i):
    """The value of key i: 200 bytes a reader can verify."""
    return (b"value %04d " % i) * 20


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: txns.py DIR N [metasync=off] [sync=off]")
    path, n = sys.argv[1], int(sys.argv[2])
    opts = {"metasync": True, "sync": True}
    for arg in sys.argv[3:]:
        key, _, val = arg.partition("=")
        if key not in opts or val not in ("on", "off"):
            sys.exit("txns.py: bad option '%s'" % arg)
        opts[key] = val == "on"
    marker = Marker()
    env = lmdb.open(path, map_size=1 << 20, **opts)
    with env.begin() as txn:
        done = int(txn.get(b"count", b"0"))
    for i in range(done + 1, done + n + 1):
        with env.begin(write=True) as txn:
            txn.put(b"k%03d" % i, value(i))
            txn.put(b"count", b"%d" % i)
        marker.mark("txn-%d" % i)
    env.close()
    marker.close()


if __name__ == "__main__":
    main()
