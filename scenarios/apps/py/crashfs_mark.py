# SPDX-License-Identifier: MIT
"""Marks for the Python workloads of scenarios/apps, without side effects
on the files the workload has open.

`crashfs mark TEXT` run through subprocess would fork the workload: the
child closes the workload's inherited descriptors before it runs crashfs,
and on a FUSE mount every close of a file makes the kernel write back
that file's dirty pages (shared mappings included).  A database that
writes through mmap (gdbm) would then reach the disk at each mark, which
it does not do outside crashfs.  Marker starts one shell that runs
`crashfs mark` for it before the workload opens anything; the shell never
holds the workload's files.

    marker = Marker()       # first, before opening the database
    ...
    marker.mark("txn-1")    # returns once the mark is in the trace
    marker.close()

Outside crashfs (CRASHFS_MOUNT unset) it does nothing.
"""
import os
import subprocess

_LOOP = 'while read -r m; do crashfs mark "$m" || exit 1; echo ok; done'


class Marker:
    """A shell that makes marks on request."""

    def __init__(self):
        self.proc = None
        if os.environ.get("CRASHFS_MOUNT"):
            self.proc = subprocess.Popen(["sh", "-c", _LOOP],
                                         stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE,
                                         text=True)

    def mark(self, text):
        """Make mark TEXT; raises if crashfs refused it."""
        if not self.proc:
            return
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline() != "ok\n":
            raise RuntimeError("crashfs mark %s failed" % text)

    def close(self):
        if self.proc:
            self.proc.stdin.close()
            self.proc.wait()
            self.proc = None
