# SPDX-License-Identifier: MIT
"""Dropping privileges on write, truncate, O_TRUNC and chown.

The daemon takes this over from the kernel (FUSE_HANDLE_KILLPRIV_V2,
fusefs/kio.h): the set-user-ID bit, the set-group-ID bit of a
group-executable file, and file capabilities must go exactly when a plain
directory drops them, and each change must be in the trace (the replays
must rebuild the backing directory, modes and xattrs included).
"""

import os
import struct

import replay
from lib import (Trace, compare_results, compare_trees, differential,
                 engine_verify, run_as_nobody)

# A version 2 file capability (linux/capability.h, struct vfs_cap_data):
# effective, CAP_NET_BIND_SERVICE (10) permitted.
CAP_V2 = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


def test_root_writer(ctx):
    """Root (CAP_FSETID) keeps the set-id bits on write and truncate; a
    chown drops them even for root; a write drops file capabilities
    whoever makes it."""
    def setup(root):
        old = os.umask(0)
        try:
            for name, mode in (("w", 0o6777), ("t", 0o6755), ("o", 0o4755),
                               ("c", 0o6750), ("cap", 0o755),
                               ("capt", 0o755)):
                with open(os.path.join(root, name), "wb") as f:
                    f.write(b"x" * 100)
                os.chmod(os.path.join(root, name), mode)
        finally:
            os.umask(old)
        os.setxattr(os.path.join(root, "cap"), "security.capability",
                    CAP_V2)
        os.setxattr(os.path.join(root, "capt"), "security.capability",
                    CAP_V2)

    def ops(r):
        fd = os.open(r.p("w"), os.O_WRONLY)
        r.val("write w", os.pwrite(fd, b"data", 10))
        os.close(fd)
        r.call("truncate t", os.truncate, r.p("t"), 5)
        fd = os.open(r.p("o"), os.O_WRONLY | os.O_TRUNC)
        os.close(fd)
        r.call("chown c", os.chown, r.p("c"), 1, 1)
        r.val("cap before", os.getxattr(r.p("cap"), "security.capability"))
        fd = os.open(r.p("cap"), os.O_WRONLY)
        r.val("write cap", os.write(fd, b"y"))
        r.val("write cap again", os.write(fd, b"z"))
        os.close(fd)
        r.call("cap after", os.getxattr, r.p("cap"), "security.capability")
        r.call("truncate capt", os.truncate, r.p("capt"), 1)
        r.call("capt after", os.getxattr, r.p("capt"),
               "security.capability")
        r.val("modes", [oct(os.stat(r.p(n)).st_mode & 0o7777)
                        for n in ("w", "t", "o", "c")])

    differential(ctx, ops, setup=setup)


OTHER_USER_OPS = """
import errno, json, os, sys
root = sys.argv[1]
P = lambda n: os.path.join(root, n)
out = []
def call(label, fn, *a):
    try:
        v = fn(*a)
        out.append([label, v if isinstance(v, int) else "ok"])
    except OSError as e:
        out.append([label, errno.errorcode.get(e.errno, e.errno)])
def write_at(name, off):
    fd = os.open(P(name), os.O_WRONLY)
    try:
        return os.pwrite(fd, b"nobody", off)
    finally:
        os.close(fd)
def write_twice(name):
    # the owner sets the bits again between two writes: each write drops
    # them
    fd = os.open(P(name), os.O_WRONLY)
    try:
        os.write(fd, b"a")
        os.fchmod(fd, 0o6777)
        return os.write(fd, b"b")
    finally:
        os.close(fd)
def open_trunc(name):
    os.close(os.open(P(name), os.O_WRONLY | os.O_TRUNC))
call("write suid+sgid", write_at, "w", 3)
call("write sgid, group may not execute", write_at, "sgid_nox", 3)
call("write plain", write_at, "plain", 3)
call("truncate", os.truncate, P("t"), 2)
call("open O_TRUNC", open_trunc, "o")
call("chgrp own file", os.chown, P("mine"), -1, os.getgid())
call("write, chmod back, write", write_twice, "mine2")
call("write a directory's sgid file", write_at, "dir/f", 0)
out.append(["modes", [oct(os.stat(P(n)).st_mode & 0o7777) for n in
            ("w", "sgid_nox", "plain", "t", "o", "mine", "mine2", "dir",
             "dir/f")]])
print(json.dumps(out))
"""


def test_other_user_writer(ctx):
    """A user without CAP_FSETID (nobody) writing, truncating, opening
    with O_TRUNC and chgrp'ing set-id files on a mount with allow_other:
    the bits go where they go on a plain directory, and the trace says
    so."""
    def setup(root):
        old = os.umask(0)
        try:
            os.chmod(root, 0o755)
            for name, mode, owner in (
                    ("w", 0o6777, 0), ("sgid_nox", 0o2666, 0),
                    ("plain", 0o666, 0), ("t", 0o4777, 0),
                    ("o", 0o6777, 0), ("mine", 0o6755, 65534),
                    ("mine2", 0o6777, 65534)):
                p = os.path.join(root, name)
                with open(p, "wb") as f:
                    f.write(b"0123456789")
                os.chmod(p, mode)
                os.chown(p, owner, owner)
            os.mkdir(os.path.join(root, "dir"), 0o2777)
            p = os.path.join(root, "dir", "f")
            with open(p, "wb") as f:
                f.write(b"abc")
            os.chmod(p, 0o2777)
        finally:
            os.umask(old)

    ref = ctx.dir("ref")
    os.chmod(ctx.tmp, 0o755)
    backing = ctx.path("m.backing")
    os.mkdir(backing)
    initial = ctx.dir("initial")
    for root in (ref, backing, initial):
        setup(root)
    m = ctx.mount(options=["-o", "allow_other"])

    want = run_as_nobody(OTHER_USER_OPS, ref)
    got = run_as_nobody(OTHER_USER_OPS, m.mnt)
    compare_results(got, want)
    # the plain directory really dropped bits: otherwise this case tests
    # nothing
    modes = dict(zip(("w", "t", "o", "mine", "mine2"), [
        os.stat(os.path.join(ref, n)).st_mode & 0o7777
        for n in ("w", "t", "o", "mine", "mine2")]))
    assert modes == {"w": 0o777, "t": 0o777, "o": 0o777, "mine": 0o755,
                     "mine2": 0o777}, (
        "the plain directory kept set-id bits: %r" % modes)
    compare_trees(m.mnt, ref, "the mount")
    m.umount()
    compare_trees(m.backing, ref, "the backing directory (after umount)")
    if not ctx.passthrough_ll:
        replay.compare(replay.replay(Trace(m.trace, data=True), initial),
                       m.backing)
        engine_verify(ctx, m.trace, m.backing, initial)
