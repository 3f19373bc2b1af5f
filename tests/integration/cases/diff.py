# SPDX-License-Identifier: MIT
"""Differential cases: every operation through a crashfs mount must behave
exactly as on a plain directory on the same file system: same results,
same errno on failure, and afterwards the same tree (contents, sizes,
modes, owners, link counts, xattrs, listings, symlink targets) in the
mount, in the backing directory while mounted and after unmount.

Each case is a function ops(r) run once on the plain directory and once on
the mount; r records what every call returned (see lib.Recorder).
"""

import errno
import os
import random
import stat
import subprocess
import sys

from lib import (compare_results, compare_trees, differential, run,
                 run_as_nobody)


def pattern(n, seed):
    """n pseudo-random bytes, the same for the same (n, seed)."""
    return random.Random(seed).randbytes(n)


def fd_read(fd, n, off):
    return os.pread(fd, n, off)


def test_create_write(ctx):
    def ops(r):
        fd = r.call("create", os.open, r.p("a"),
                    os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
        r.val("write", os.write(fd, pattern(5000, 1)))
        r.val("pwrite past end", os.pwrite(fd, pattern(3000, 2), 10000))
        r.val("pwrite inside", os.pwrite(fd, b"middle", 4990))
        r.val("read back", fd_read(fd, 20000, 0))
        r.val("read at EOF", fd_read(fd, 100, 13000))
        r.val("fstat size", os.fstat(fd).st_size)
        os.close(fd)
        r.call("create again O_EXCL", os.open, r.p("a"),
               os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        fd = os.open(r.p("a"), os.O_WRONLY | os.O_APPEND)
        r.val("append", os.write(fd, b"appended"))
        r.val("pwrite on O_APPEND", os.pwrite(fd, b"XX", 0))
        os.close(fd)
        r.val("after append", open(r.p("a"), "rb").read())
        # a write large enough to span many FUSE requests
        with open(r.p("big"), "wb") as f:
            f.write(pattern(3 << 20, 3))
        r.val("big size", os.stat(r.p("big")).st_size)
        r.val("big read", open(r.p("big"), "rb").read() == pattern(3 << 20, 3))
        # modes with the umask out of the way
        old = os.umask(0)
        try:
            os.close(os.open(r.p("m0755"), os.O_CREAT | os.O_WRONLY, 0o755))
            os.close(os.open(r.p("m0000"), os.O_CREAT | os.O_WRONLY, 0))
            os.close(os.open(r.p("m0777"), os.O_CREAT | os.O_WRONLY, 0o777))
            os.close(os.open(r.p("m4777"), os.O_CREAT | os.O_WRONLY,
                             0o4777))
            os.mkdir(r.p("d0777"), 0o777)
            os.mkfifo(r.p("p0666"), 0o666)
            os.symlink("m0777", r.p("l"))
        finally:
            os.umask(old)
        r.call("open missing", os.open, r.p("missing"), os.O_RDONLY)
        r.call("open dir for writing", os.open, r.p(""), os.O_WRONLY)
        r.call("open through a file", os.open, r.p("a", "x"), os.O_RDONLY)
        r.call("empty create", lambda: os.close(os.open(
            r.p("empty"), os.O_CREAT | os.O_WRONLY, 0o644)))
    differential(ctx, ops)


def test_truncate(ctx):
    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(pattern(10000, 4))
        r.call("shrink by path", os.truncate, r.p("f"), 3000)
        r.val("after shrink", open(r.p("f"), "rb").read())
        r.call("grow by path", os.truncate, r.p("f"), 9000)
        r.val("after grow (zeros)", open(r.p("f"), "rb").read())
        fd = os.open(r.p("f"), os.O_RDWR)
        r.call("shrink by fd", os.ftruncate, fd, 100)
        r.call("grow by fd", os.ftruncate, fd, 1 << 20)
        r.val("fstat", os.fstat(fd).st_size)
        r.val("tail", fd_read(fd, 10, (1 << 20) - 10))
        r.call("negative", os.ftruncate, fd, -1)
        os.close(fd)
        # O_TRUNC at open, with and without data written afterwards
        fd = os.open(r.p("f"), os.O_WRONLY | os.O_TRUNC)
        r.val("size after O_TRUNC", os.fstat(fd).st_size)
        os.write(fd, b"new")
        os.close(fd)
        r.val("content", open(r.p("f"), "rb").read())
        r.call("truncate missing", os.truncate, r.p("nope"), 0)
        os.mkdir(r.p("d"))
        r.call("truncate a dir", os.truncate, r.p("d"), 0)
    differential(ctx, ops)


def test_fallocate(ctx):
    fsop = ctx.tool("fsop")

    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(pattern(64 << 10, 5))
        fd = os.open(r.p("f"), os.O_RDWR)
        r.call("posix_fallocate grow", os.posix_fallocate, fd, 0, 200000)
        r.val("size", os.fstat(fd).st_size)
        os.close(fd)
        r.tool("keep size", [fsop, "fallocate", r.p("f"), "keep", "0",
                             "1048576"])
        r.val("size after keep", os.stat(r.p("f")).st_size)
        r.tool("punch", [fsop, "fallocate", r.p("f"), "punch,keep",
                         "4096", "8192"])
        r.tool("punch without keep", [fsop, "fallocate", r.p("f"),
                                      "punch", "0", "4096"])
        r.tool("zero range", [fsop, "fallocate", r.p("f"), "zero",
                              "20000", "5000"])
        r.tool("zero range past EOF", [fsop, "fallocate", r.p("f"),
                                       "zero", "300000", "10000"])
        r.tool("zero range keep", [fsop, "fallocate", r.p("f"),
                                   "zero,keep", "400000", "10000"])
        r.tool("bad mode", [fsop, "fallocate", r.p("f"), "punch", "0",
                            "-5"])
        r.val("content", open(r.p("f"), "rb").read())
        r.val("size at end", os.stat(r.p("f")).st_size)
    differential(ctx, ops)


def test_fallocate_collapse_insert_refused(ctx):
    """FUSE (fs/fuse/file.c) passes only keep-size, punch-hole and
    zero-range to a daemon and answers EOPNOTSUPP to collapse-range and
    insert-range itself (ext4 supports them): a kernel limit.  What a user
    must see is that refusal, the file unchanged, and nothing recorded."""
    ctx.needs_trace()
    fsop = ctx.tool("fsop")
    m = ctx.mount()
    p = os.path.join(m.mnt, "f")
    data = pattern(256 << 10, 13)
    with open(p, "wb") as f:
        f.write(data)
    for mode in ("collapse", "insert"):
        r = run([fsop, "fallocate", p, mode, "65536", "65536"])
        assert r.stdout.strip() == "err EOPNOTSUPP", (
            "fallocate %s range through the mount: %s (FUSE has always "
            "refused it; has the kernel changed?)" % (mode, r.stdout))
    with open(p, "rb") as f:
        assert f.read() == data, "a refused fallocate changed the file"
    m.umount()
    from lib import Trace
    recs = Trace(m.trace).of_type("fallocate")
    assert not recs, "refused fallocate modes were recorded: %r" % recs


def test_seek_data_hole(ctx):
    def ops(r):
        fd = os.open(r.p("sparse"), os.O_CREAT | os.O_RDWR, 0o644)
        os.pwrite(fd, pattern(4096, 6), 0)
        os.pwrite(fd, pattern(4096, 7), 1 << 20)
        os.ftruncate(fd, 4 << 20)
        for off in (0, 100, 4096, 8192, (1 << 20) - 1, 1 << 20,
                    (1 << 20) + 4096, (4 << 20) - 1):
            r.call("SEEK_DATA %d" % off,
                   lambda o=off: r.val("->", os.lseek(fd, o, os.SEEK_DATA)))
            r.call("SEEK_HOLE %d" % off,
                   lambda o=off: r.val("->", os.lseek(fd, o, os.SEEK_HOLE)))
        r.call("SEEK_DATA past EOF", os.lseek, fd, 5 << 20, os.SEEK_DATA)
        r.call("SEEK_HOLE past EOF", os.lseek, fd, 5 << 20, os.SEEK_HOLE)
        r.val("SEEK_END", os.lseek(fd, 0, os.SEEK_END))
        os.close(fd)
    differential(ctx, ops)


def test_copy_file_range(ctx):
    def ops(r):
        with open(r.p("src"), "wb") as f:
            f.write(pattern(300000, 8))
        with open(r.p("dst"), "wb") as f:
            f.write(pattern(1000, 9))
        s = os.open(r.p("src"), os.O_RDONLY)
        d = os.open(r.p("dst"), os.O_RDWR)
        r.val("copy middle", os.copy_file_range(s, d, 100000, 5000, 500))
        r.val("copy past dst end", os.copy_file_range(s, d, 70000, 0,
                                                      200000))
        r.val("copy from EOF", os.copy_file_range(s, d, 10, 300000, 0))
        r.call("copy to a read-only fd", os.copy_file_range, d, s, 10, 0, 0)
        os.close(s)
        os.close(d)
        r.val("dst", open(r.p("dst"), "rb").read())
        # within one file
        fd = os.open(r.p("src"), os.O_RDWR)
        r.val("copy within", os.copy_file_range(fd, fd, 4096, 0, 200000))
        os.close(fd)
    differential(ctx, ops)


def test_rename(ctx):
    fsop = ctx.tool("fsop")

    def setup(root):
        os.mkdir(os.path.join(root, "d1"))
        os.mkdir(os.path.join(root, "d2"))
        os.mkdir(os.path.join(root, "full"))
        for name, data in (("a", b"A" * 10), ("b", b"B" * 20),
                           ("c", b"C" * 30), ("d1/x", b"X"),
                           ("full/y", b"Y")):
            with open(os.path.join(root, name), "wb") as f:
                f.write(data)

    def ops(r):
        r.call("plain", os.rename, r.p("a"), r.p("a2"))
        r.call("over existing", os.rename, r.p("a2"), r.p("b"))
        r.call("across dirs", os.rename, r.p("b"), r.p("d1", "b"))
        r.call("dir", os.rename, r.p("d1"), r.p("d3"))
        r.call("missing source", os.rename, r.p("nope"), r.p("z"))
        r.call("dir over non-empty dir", os.rename, r.p("d3"), r.p("full"))
        r.call("dir over empty dir", os.rename, r.p("d3"), r.p("d2"))
        r.call("file over dir", os.rename, r.p("c"), r.p("full"))
        r.call("dir over file", os.rename, r.p("full"), r.p("c"))
        r.call("dir into itself", os.rename, r.p("d2"), r.p("d2", "sub"))
        r.call("onto itself", os.rename, r.p("c"), r.p("c"))
        # renameat2 flags
        with open(r.p("n1"), "wb") as f:
            f.write(b"one")
        with open(r.p("n2"), "wb") as f:
            f.write(b"two")
        r.tool("noreplace onto existing",
               [fsop, "rename2", r.p("n1"), r.p("n2"), "noreplace"])
        r.tool("noreplace onto new",
               [fsop, "rename2", r.p("n1"), r.p("n3"), "noreplace"])
        r.tool("exchange", [fsop, "rename2", r.p("n3"), r.p("n2"),
                            "exchange"])
        r.val("n2 after exchange", open(r.p("n2"), "rb").read())
        r.val("n3 after exchange", open(r.p("n3"), "rb").read())
        r.tool("exchange with missing",
               [fsop, "rename2", r.p("n3"), r.p("nothere"), "exchange"])
        r.tool("exchange file and dir",
               [fsop, "rename2", r.p("n3"), r.p("full"), "exchange"])
        r.tool("exchange across dirs",
               [fsop, "rename2", r.p("n2"), r.p("full", "y"), "exchange"])
        # an open fd follows its file through renames
        fd = os.open(r.p("n2"), os.O_RDWR)
        os.rename(r.p("n2"), r.p("d2", "moved"))
        r.val("write after rename", os.write(fd, b"after-rename"))
        os.close(fd)
        r.val("moved", open(r.p("d2", "moved"), "rb").read())
    differential(ctx, ops, setup)


def test_link_unlink(ctx):
    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(b"linked data")
        os.mkdir(r.p("d"))
        r.call("link", os.link, r.p("f"), r.p("g"))
        r.call("link into subdir", os.link, r.p("f"), r.p("d", "h"))
        r.val("nlink", os.stat(r.p("f")).st_nlink)
        r.call("link over existing", os.link, r.p("f"), r.p("g"))
        r.call("link a dir", os.link, r.p("d"), r.p("d2"))
        r.call("link missing", os.link, r.p("nope"), r.p("n"))
        with open(r.p("g"), "ab") as f:
            f.write(b" via g")
        r.val("via f", open(r.p("f"), "rb").read())
        r.call("unlink", os.unlink, r.p("f"))
        r.val("nlink after unlink", os.stat(r.p("g")).st_nlink)
        r.call("unlink missing", os.unlink, r.p("f"))
        r.call("unlink a dir", os.unlink, r.p("d"))
        r.call("unlink through a file", os.unlink, r.p("g", "x"))
        # rename of one link over another of the same file is a no-op
        r.call("rename link over link", os.rename, r.p("g"), r.p("d", "h"))
        r.val("listing", sorted(os.listdir(r.p(""))))
    differential(ctx, ops)


def test_unlinked_open(ctx):
    def ops(r):
        fd = os.open(r.p("tmp"), os.O_CREAT | os.O_RDWR, 0o600)
        os.write(fd, b"before unlink ")
        r.call("unlink while open", os.unlink, r.p("tmp"))
        r.val("exists", os.path.exists(r.p("tmp")))
        r.val("write after unlink", os.write(fd, b"after unlink"))
        r.val("nlink", os.fstat(fd).st_nlink)
        r.val("read", os.pread(fd, 100, 0))
        r.call("fsync", os.fsync, fd)
        r.call("ftruncate", os.ftruncate, fd, 5)
        r.val("size", os.fstat(fd).st_size)
        # a new file of the same name is another file
        with open(r.p("tmp"), "wb") as f:
            f.write(b"new file")
        r.val("old fd still reads the old file", os.pread(fd, 100, 0))
        os.close(fd)
    differential(ctx, ops)


def test_symlink(ctx):
    def ops(r):
        with open(r.p("target"), "wb") as f:
            f.write(b"through the link")
        os.mkdir(r.p("dir"))
        r.call("symlink", os.symlink, "target", r.p("ln"))
        r.call("dangling", os.symlink, "does/not/exist", r.p("dangle"))
        r.call("absolute", os.symlink, "/etc/hostname", r.p("abs"))
        r.call("to dir", os.symlink, "../dir", r.p("dir", "up"))
        r.call("long target", os.symlink, "x" * 1000, r.p("long"))
        r.call("over existing", os.symlink, "target", r.p("target"))
        r.val("readlink", os.readlink(r.p("ln")))
        r.val("read through", open(r.p("ln"), "rb").read())
        r.call("open dangling", os.open, r.p("dangle"), os.O_RDONLY)
        r.call("readlink a file", os.readlink, r.p("target"))
        r.val("lstat size", os.lstat(r.p("long")).st_size)
        with open(r.p("ln"), "ab") as f:
            f.write(b"+")
        r.call("O_NOFOLLOW", os.open, r.p("ln"), os.O_RDONLY | os.O_NOFOLLOW)
        r.call("unlink the link", os.unlink, r.p("ln"))
        r.val("target survives", open(r.p("target"), "rb").read())
    differential(ctx, ops)


def test_mkdir_rmdir(ctx):
    def ops(r):
        old = os.umask(0)
        try:
            r.call("mkdir", os.mkdir, r.p("a"), 0o755)
            r.call("mkdir 0700", os.mkdir, r.p("a", "b"), 0o700)
            r.call("mkdir sticky", os.mkdir, r.p("s"), 0o1777)
        finally:
            os.umask(old)
        r.call("mkdir existing", os.mkdir, r.p("a"))
        r.call("mkdir missing parent", os.mkdir, r.p("x", "y"))
        r.val("nlink of a", os.stat(r.p("a")).st_nlink)
        with open(r.p("a", "b", "f"), "wb") as f:
            f.write(b"f")
        r.call("rmdir non-empty", os.rmdir, r.p("a"))
        r.call("rmdir a file", os.rmdir, r.p("a", "b", "f"))
        r.call("rmdir missing", os.rmdir, r.p("zz"))
        os.unlink(r.p("a", "b", "f"))
        r.call("rmdir", os.rmdir, r.p("a", "b"))
        r.val("nlink of a after", os.stat(r.p("a")).st_nlink)
        r.call("rmdir .", os.rmdir, r.p("a", "."))
        # a directory with many entries (several readdir replies)
        os.mkdir(r.p("many"))
        for i in range(400):
            os.close(os.open(r.p("many", "entry-%03d-%s" % (i, "n" * (i % 60))),
                             os.O_CREAT | os.O_WRONLY, 0o644))
        r.val("listing", sorted(os.listdir(r.p("many"))))
        for i in range(0, 400, 3):
            os.unlink(r.p("many", "entry-%03d-%s" % (i, "n" * (i % 60))))
        r.val("listing after unlinks", sorted(os.listdir(r.p("many"))))
    differential(ctx, ops)


def test_mknod(ctx):
    def ops(r):
        r.call("mkfifo", os.mkfifo, r.p("fifo"), 0o640)
        r.call("mknod fifo", os.mknod, r.p("fifo2"), stat.S_IFIFO | 0o600)
        r.call("mknod regular", os.mknod, r.p("reg"), stat.S_IFREG | 0o644)
        r.call("mknod existing", os.mknod, r.p("fifo"), stat.S_IFIFO | 0o600)
        r.call("mknod char device", os.mknod, r.p("null"),
               stat.S_IFCHR | 0o666, os.makedev(1, 3))
        r.call("mknod block device", os.mknod, r.p("blk"),
               stat.S_IFBLK | 0o600, os.makedev(7, 200))
        r.call("mknod socket", os.mknod, r.p("sock"), stat.S_IFSOCK | 0o600)
        r.val("is fifo", stat.S_ISFIFO(os.stat(r.p("fifo")).st_mode))
        # data passes through the fifo
        rd = os.open(r.p("fifo"), os.O_RDONLY | os.O_NONBLOCK)
        wr = os.open(r.p("fifo"), os.O_WRONLY)
        os.write(wr, b"through the pipe")
        r.val("fifo read", os.read(rd, 100))
        os.close(wr)
        os.close(rd)
    differential(ctx, ops)


def test_attributes(ctx):
    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(b"attrs")
        os.mkdir(r.p("d"))
        os.symlink("f", r.p("l"))
        r.call("chmod", os.chmod, r.p("f"), 0o4751)
        r.call("chmod dir", os.chmod, r.p("d"), 0o1700)
        r.call("chown", os.chown, r.p("f"), 1234, 5678)
        r.call("chown only gid", os.chown, r.p("f"), -1, 99)
        r.call("lchown symlink", os.lchown, r.p("l"), 4321, 8765)
        r.call("chmod missing", os.chmod, r.p("nope"), 0o600)
        r.call("utime", os.utime, r.p("f"),
               ns=(1000000000123456789, 1100000000987654321))
        r.call("utime dir", os.utime, r.p("d"), ns=(5 * 10**17, 6 * 10**17))
        r.call("utime symlink itself", os.utime, r.p("l"),
               ns=(7 * 10**17, 8 * 10**17), follow_symlinks=False)
        for n in ("f", "d"):
            st = os.stat(r.p(n))
            r.val("times of " + n, (st.st_atime_ns, st.st_mtime_ns))
        st = os.lstat(r.p("l"))
        r.val("times of l", (st.st_atime_ns, st.st_mtime_ns))
        fd = os.open(r.p("f"), os.O_RDWR)
        r.call("fchmod", os.fchmod, fd, 0o600)
        r.call("futimes", os.utime, fd, ns=(10**18, 10**18 + 1))
        r.val("fstat", (oct(os.fstat(fd).st_mode), os.fstat(fd).st_mtime_ns))
        os.close(fd)
        # writing advances mtime; utime with no times sets "now"
        before = os.stat(r.p("f")).st_mtime_ns
        with open(r.p("f"), "ab") as f:
            f.write(b"!")
        r.val("write moves mtime", os.stat(r.p("f")).st_mtime_ns > before)
        r.call("access R_OK", lambda: r.val("ok", os.access(r.p("f"),
                                                            os.R_OK)))
    differential(ctx, ops)


def test_xattrs(ctx):
    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(b"x")
        os.mkdir(r.p("d"))
        for n in ("f", "d"):
            r.call("set", os.setxattr, r.p(n), "user.one", b"1")
            r.call("set empty", os.setxattr, r.p(n), "user.empty", b"")
            r.call("set big", os.setxattr, r.p(n), "user.big",
                   pattern(3000, 10))
            r.call("create existing", os.setxattr, r.p(n), "user.one",
                   b"2", os.XATTR_CREATE)
            r.call("replace missing", os.setxattr, r.p(n), "user.two",
                   b"2", os.XATTR_REPLACE)
            r.call("replace", os.setxattr, r.p(n), "user.one", b"uno",
                   os.XATTR_REPLACE)
            r.val("get", os.getxattr(r.p(n), "user.one"))
            r.call("get missing", os.getxattr, r.p(n), "user.nope")
            r.val("list", sorted(os.listxattr(r.p(n))))
            r.call("remove", os.removexattr, r.p(n), "user.empty")
            r.call("remove missing", os.removexattr, r.p(n), "user.empty")
            r.val("list after", sorted(os.listxattr(r.p(n))))
        r.call("bad namespace", os.setxattr, r.p("f"), "bogus.x", b"1")
        r.call("too long value", os.setxattr, r.p("f"), "user.huge",
               b"z" * 70000)
        os.symlink("f", r.p("ln"))
        r.call("lsetxattr user on a symlink", os.setxattr, r.p("ln"),
               "user.l", b"1", follow_symlinks=False)
        r.val("llistxattr of a symlink", sorted(
            os.listxattr(r.p("ln"), follow_symlinks=False)))
        r.call("setxattr through a symlink", os.setxattr, r.p("ln"),
               "user.through", b"2")
        r.call("trusted namespace", os.setxattr, r.p("f"), "trusted.t",
               b"root only")
        r.call("get trusted", lambda: r.val("->", os.getxattr(
            r.p("f"), "trusted.t")))
        r.call("security namespace", os.setxattr, r.p("f"),
               "security.s", b"sec")
        r.call("empty name", os.setxattr, r.p("f"), "user.", b"1")
        r.call("name too long", os.setxattr, r.p("f"), "user." + "n" * 300,
               b"1")
        fd = os.open(r.p("f"), os.O_RDONLY)
        r.call("fsetxattr", os.setxattr, fd, "user.viafd", b"fd")
        r.val("fgetxattr", os.getxattr(fd, "user.viafd"))
        os.close(fd)
    differential(ctx, ops)


def test_statfs(ctx):
    m = ctx.mount()
    got = os.statvfs(m.mnt)
    want = os.statvfs(m.backing)
    assert got.f_bsize > 0 and got.f_blocks > 0, "statfs of the mount: %r" % (
        got,)
    assert got.f_bfree <= got.f_blocks and got.f_bavail <= got.f_bfree, (
        "statfs of the mount is inconsistent: %r" % (got,))
    assert got.f_namemax == want.f_namemax, (
        "f_namemax %d, the backing file system says %d"
        % (got.f_namemax, want.f_namemax))
    # Same file system underneath: the capacity in bytes must agree.
    assert got.f_blocks * got.f_frsize == want.f_blocks * want.f_frsize, (
        "the mount reports %d bytes of capacity, the backing file system %d"
        % (got.f_blocks * got.f_frsize, want.f_blocks * want.f_frsize))
    free_got = got.f_bavail * got.f_frsize
    free_want = want.f_bavail * want.f_frsize
    assert abs(free_got - free_want) < (256 << 20), (
        "the mount reports %d bytes free, the backing file system %d"
        % (free_got, free_want))
    m.umount()


def test_df_and_tools(ctx):
    """Everyday tools on the mount: cp, mv, ls, find, stat, df."""
    m = ctx.mount()
    r = run(["df", m.mnt])
    assert r.returncode == 0, "df on the mount: %s" % r.stderr
    src = ctx.dir("src")
    with open(os.path.join(src, "f"), "wb") as f:
        f.write(pattern(100000, 11))
    os.mkdir(os.path.join(src, "sub"))
    os.symlink("../f", os.path.join(src, "sub", "l"))
    r = run(["cp", "-a", src, os.path.join(m.mnt, "copy")])
    assert r.returncode == 0, "cp -a onto the mount: %s" % r.stderr
    from lib import compare_trees
    compare_trees(os.path.join(m.mnt, "copy"), src, "cp -a onto the mount")
    r = run(["mv", os.path.join(m.mnt, "copy"), os.path.join(m.mnt, "mv")])
    assert r.returncode == 0, "mv on the mount: %s" % r.stderr
    r = run(["find", m.mnt, "-printf", "%P %y\n"])
    assert sorted(r.stdout.split("\n")) == sorted(
        ["", " d", "mv d", "mv/f f", "mv/sub d", "mv/sub/l l"]), (
        "find on the mount lists %r" % r.stdout)
    m.umount()


def test_large_offsets(ctx):
    """Offsets and sizes past 4 GiB (sparse)."""
    def ops(r):
        fd = os.open(r.p("huge"), os.O_CREAT | os.O_RDWR, 0o644)
        r.val("pwrite at 5 GiB", os.pwrite(fd, b"far away", 5 << 30))
        r.val("size", os.fstat(fd).st_size)
        r.val("read back", os.pread(fd, 8, 5 << 30))
        r.val("zeros before", os.pread(fd, 8, (5 << 30) - 8))
        r.call("ftruncate 6 GiB", os.ftruncate, fd, 6 << 30)
        r.call("SEEK_DATA", lambda: r.val("->", os.lseek(fd, 1 << 30,
                                                          os.SEEK_DATA)))
        r.call("copy far", lambda: r.val("->", os.copy_file_range(
            fd, fd, 8, 5 << 30, (6 << 30) - 100)))
        r.call("ftruncate 4 GiB + 1", os.ftruncate, fd, (4 << 30) + 1)
        r.val("size after", os.fstat(fd).st_size)
        os.close(fd)
        # a file that is nothing but a hole, then cut back
        os.truncate(r.p("huge"), 100)
    differential(ctx, ops)


def test_odd_names(ctx):
    names = ["with space", "new\nline", "tab\there", "ünïcödé", "é" * 127,
             "x" * 255, "-dash", ".hidden", "quote\"s", "back\\slash",
             "%s%n", "*?[", os.fsdecode(b"bad-utf8-\xff\xfe"),
             "\x1b[31mred\x1b[0m", "cr\rhere"]

    def ops(r):
        for n in names:
            r.call("create %r" % n, lambda n=n: os.close(os.open(
                r.p(n), os.O_CREAT | os.O_WRONLY, 0o644)))
            r.call("mkdir %r" % n, os.mkdir, r.p(n + ".d"))
        r.call("name of 256 bytes", os.open, r.p("y" * 256),
               os.O_CREAT | os.O_WRONLY, 0o644)
        r.call("rename odd", os.rename, r.p("new\nline"), r.p("tab\there"))
        r.call("symlink to odd", os.symlink, "ünïcödé", r.p("sym\nlink"))
        r.val("listing", sorted(os.listdir(r.p(""))))
        # a deep path
        d = r.p("")
        for i in range(40):
            d = os.path.join(d, "level-%02d-%s" % (i, "d" * 60))
            os.mkdir(d)
        with open(os.path.join(d, "deep"), "wb") as f:
            f.write(b"deep")
        r.val("deep read", open(os.path.join(d, "deep"), "rb").read())
    m = differential(ctx, ops)
    # the strace-like listing stays one line per record, with no raw
    # control characters reaching the terminal
    from lib import CRASHFS, Trace
    n = len(Trace(m.trace).records)
    out = subprocess.run([CRASHFS, "trace", m.trace], stdout=subprocess.PIPE,
                         timeout=60).stdout
    lines = out.split(b"\n")[:-1]
    assert len(lines) == n, ("crashfs trace prints %d lines for %d records"
                             % (len(lines), n))
    bad = [l for l in lines if any(c < 0x20 or c == 0x7f for c in l)]
    assert not bad, "raw control characters in crashfs trace: %r" % bad[:3]


def test_preexisting_tree(ctx):
    """Files that were in the backing directory before the mount (hard
    links, symlinks, xattrs, modes) behave as on the plain directory."""
    def setup(root):
        P = lambda *n: os.path.join(root, *n)  # noqa: E731
        os.makedirs(P("a", "b"))
        with open(P("a", "f"), "wb") as f:
            f.write(pattern(50000, 12))
        os.link(P("a", "f"), P("a", "b", "g"))
        os.link(P("a", "f"), P("h"))
        os.symlink("a/f", P("s"))
        os.setxattr(P("a", "f"), "user.pre", b"existing")
        os.chmod(P("a", "b"), 0o750)
        os.mkfifo(P("fifo"))

    def ops(r):
        r.val("nlink", os.stat(r.p("h")).st_nlink)
        with open(r.p("a", "b", "g"), "r+b") as f:
            f.seek(100)
            f.write(b"through g")
        r.val("seen through h", open(r.p("h"), "rb").read(200))
        r.val("xattr through h", os.getxattr(r.p("h"), "user.pre"))
        r.call("unlink a/f", os.unlink, r.p("a", "f"))
        r.call("rename h over a/b/g", os.rename, r.p("h"),
               r.p("a", "b", "g"))
        r.val("nlink now", os.stat(r.p("a", "b", "g")).st_nlink)
        r.call("rename dir a", os.rename, r.p("a"), r.p("z"))
        r.val("symlink now dangles", os.path.exists(r.p("s")))
        r.call("rmdir z/b non-empty", os.rmdir, r.p("z", "b"))
    differential(ctx, ops, setup)


def test_mmap(ctx):
    """Shared mmap writes reach the file (they come from page writeback,
    not from a write(2))."""
    import mmap

    def ops(r):
        fd = os.open(r.p("mapped"), os.O_CREAT | os.O_RDWR, 0o644)
        os.ftruncate(fd, 3 * 4096)
        with mmap.mmap(fd, 3 * 4096) as mm:
            mm[100:110] = b"0123456789"
            mm[5000:5004] = b"mmap"
            mm.flush()
            mm[9000:9003] = b"end"
        r.call("fsync", os.fsync, fd)
        os.close(fd)
        r.val("content", open(r.p("mapped"), "rb").read())
        # a private mapping must not change the file
        fd = os.open(r.p("mapped"), os.O_RDWR)
        with mmap.mmap(fd, 4096, flags=mmap.MAP_PRIVATE) as mm:
            mm[0:4] = b"priv"
        os.close(fd)
        r.val("after private", open(r.p("mapped"), "rb").read(8))
    differential(ctx, ops)


def test_exec_from_mount(ctx):
    m = ctx.mount()
    import shutil
    shutil.copy2("/bin/echo", os.path.join(m.mnt, "echo"))
    r = run([os.path.join(m.mnt, "echo"), "ran from the mount"])
    assert r.returncode == 0 and r.stdout == "ran from the mount\n", (
        "a program copied onto the mount does not run: %r %r"
        % (r.stdout, r.stderr))
    m.umount()


def test_rename_over_open(ctx):
    """A file replaced by rename stays usable through its open fd, and
    its writes do not reach the file that replaced it."""
    def ops(r):
        with open(r.p("victim"), "wb") as f:
            f.write(b"victim")
        with open(r.p("new"), "wb") as f:
            f.write(b"replacement")
        fd = os.open(r.p("victim"), os.O_RDWR)
        r.call("rename over", os.rename, r.p("new"), r.p("victim"))
        r.val("write to the replaced file", os.pwrite(fd, b"VICTIM!", 0))
        r.val("its nlink", os.fstat(fd).st_nlink)
        r.val("read it", os.pread(fd, 100, 0))
        r.call("fsync it", os.fsync, fd)
        os.close(fd)
        r.val("the name holds the replacement", open(r.p("victim"),
                                                     "rb").read())
        # a directory renamed with a file open inside
        os.mkdir(r.p("d"))
        fd = os.open(r.p("d", "f"), os.O_CREAT | os.O_RDWR, 0o644)
        r.call("rename the dir", os.rename, r.p("d"), r.p("e"))
        os.write(fd, b"written after the dir moved")
        os.close(fd)
        r.val("moved", open(r.p("e", "f"), "rb").read())
    differential(ctx, ops)


def test_utimens_special(ctx):
    def ops(r):
        with open(r.p("f"), "wb") as f:
            f.write(b"t")
        os.utime(r.p("f"), ns=(10**18, 2 * 10**18))
        # only mtime changes when atime is omitted: os.utime cannot say
        # UTIME_OMIT, so touch -m does it
        rr = run(["touch", "-m", "-d", "2001-01-01 00:00:00", r.p("f")])
        r.val("touch -m", rr.returncode)
        st = os.stat(r.p("f"))
        r.val("atime kept", st.st_atime_ns)
        r.val("mtime set", st.st_mtime_ns)
        rr = run(["touch", "-a", "-d", "2002-02-02 00:00:00", r.p("f")])
        st = os.stat(r.p("f"))
        r.val("atime set", st.st_atime_ns)
        r.val("mtime kept", st.st_mtime_ns)
        os.utime(r.p("f"))  # now
        st = os.stat(r.p("f"))
        r.val("now is recent", abs(st.st_mtime - __import__("time").time())
              < 60)
    differential(ctx, ops)


def test_many_open_files(ctx):
    def ops(r):
        fds = []
        for i in range(1000):
            fds.append(os.open(r.p("f%04d" % i), os.O_CREAT | os.O_RDWR,
                               0o644))
        for i, fd in enumerate(fds):
            os.write(fd, b"%d" % i)
        for i, fd in enumerate(fds):
            if i % 2:
                os.unlink(r.p("f%04d" % i))
        ok = all(os.pread(fd, 10, 0) == b"%d" % i for i, fd in enumerate(fds))
        r.val("all readable", ok)
        for fd in fds:
            os.close(fd)
        r.val("listing", len(os.listdir(r.p(""))))
    differential(ctx, ops)


OTHER_USER_OPS = """
import errno, json, os, sys
root = sys.argv[1]
P = lambda *n: os.path.join(root, *n)
out = []
def call(label, fn, *a):
    try:
        v = fn(*a)
        out.append([label, "ok" if not isinstance(v, (bytes, int)) or
                    label.startswith("fd") else repr(v)])
        return v
    except OSError as e:
        out.append([label, errno.errorcode.get(e.errno, e.errno)])
def rd(p):
    with open(p, "rb") as f:
        return f.read()
call("read 0600 root file", rd, P("secret"))
call("read 0644 root file", rd, P("public"))
call("create in root's 0755 dir", os.open, P("mine"), os.O_CREAT | os.O_WRONLY, 0o644)
fd = call("fd create in 0777 dir", os.open, P("open", "mine"), os.O_CREAT | os.O_WRONLY, 0o640)
if fd is not None:
    os.write(fd, b"by nobody")
    os.close(fd)
call("mkdir in 0777 dir", os.mkdir, P("open", "mydir"), 0o750)
call("symlink in 0777 dir", os.symlink, "x", P("open", "mylink"))
call("unlink root's file in sticky dir", os.unlink, P("sticky", "roots"))
call("rename root's file in sticky dir", os.rename, P("sticky", "roots"), P("sticky", "x"))
call("chmod root's file", os.chmod, P("public"), 0o777)
call("chmod own file", os.chmod, P("open", "mine"), 0o600)
call("chown own file to root", os.chown, P("open", "mine"), 0, 0)
call("truncate root's file", os.truncate, P("public"), 0)
call("utime root's file", os.utime, P("public"), (1, 1))
call("setxattr root's file", os.setxattr, P("public"), "user.x", b"1")
call("list 0700 dir", os.listdir, P("private"))
call("setgid dir inherits group", lambda: os.stat(P("open", "mydir")).st_gid)
print(json.dumps(out))
"""


def test_other_user(ctx):
    """A program running as another user (nobody) on a mount with
    allow_other: permission checks give the same errno as on a plain
    directory, and what it creates belongs to it, not to root."""
    def setup(root):
        P = lambda *n: os.path.join(root, *n)  # noqa: E731
        os.chmod(root, 0o755)
        for name, mode in (("secret", 0o600), ("public", 0o644)):
            with open(P(name), "w") as f:
                f.write(name)
            os.chmod(P(name), mode)
        for d, mode in (("open", 0o777), ("sticky", 0o1777),
                        ("private", 0o700)):
            os.mkdir(P(d))
            os.chmod(P(d), mode)
        with open(P("sticky", "roots"), "w") as f:
            f.write("root's")

    ref = ctx.dir("ref")
    os.chmod(ctx.tmp, 0o755)
    backing = ctx.path("m.backing")
    os.mkdir(backing)
    setup(ref)
    setup(backing)
    m = ctx.mount(options=["-o", "allow_other"])

    want = run_as_nobody(OTHER_USER_OPS, ref)
    got = run_as_nobody(OTHER_USER_OPS, m.mnt)
    compare_results(got, want)
    compare_trees(m.mnt, ref, "the mount")
    m.umount()
    compare_trees(m.backing, ref, "the backing directory (after umount)")


def test_o_direct(ctx):
    import mmap

    def ops(r):
        buf = mmap.mmap(-1, 8192)   # page-aligned, as O_DIRECT wants
        buf[:] = pattern(8192, 14)
        fd = r.call("open O_DIRECT", os.open, r.p("direct"),
                    os.O_CREAT | os.O_RDWR | os.O_DIRECT, 0o644)
        if fd is None:
            return
        r.val("aligned write", os.write(fd, buf))
        rb = mmap.mmap(-1, 8192)
        r.val("aligned read", os.preadv(fd, [rb], 0))
        r.val("read back", bytes(rb) == bytes(buf))
        os.close(fd)
        r.val("content", open(r.p("direct"), "rb").read() == bytes(buf))
    differential(ctx, ops)


LOCKER = """
import fcntl, os, sys
path, kind = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDWR)
try:
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    else:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
    print("locked")
except OSError as e:
    print(os.strerror(e.errno))
"""


def test_locks(ctx):
    """POSIX and flock locks between processes (SQLite relies on them)."""
    import fcntl

    def ops(r):
        with open(r.p("db"), "wb") as f:
            f.write(b"x" * 100)
        fd = os.open(r.p("db"), os.O_RDWR)
        for kind in ("lockf", "flock"):
            if kind == "flock":
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
            out = run([sys.executable, "-c", LOCKER, r.p("db"), kind])
            r.val("other process, %s held" % kind, out.stdout.strip())
            if kind == "flock":
                fcntl.flock(fd, fcntl.LOCK_UN)
            else:
                fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
            out = run([sys.executable, "-c", LOCKER, r.p("db"), kind])
            r.val("other process, %s released" % kind, out.stdout.strip())
        os.close(fd)
    differential(ctx, ops)


def test_sqlite(ctx):
    """A real application: SQLite in rollback-journal and WAL mode (WAL
    maps its -shm file shared), through the mount and on a plain
    directory; same query results, integrity_check ok, same files."""
    import sqlite3

    def ops(r):
        for mode in ("DELETE", "WAL"):
            path = r.p("%s.db" % mode.lower())
            db = sqlite3.connect(path)
            r.val("journal_mode", db.execute(
                "PRAGMA journal_mode=%s" % mode).fetchone())
            db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
            for txn in range(20):
                with db:
                    db.executemany("INSERT INTO t (v) VALUES (?)",
                                   [("row %d.%d %s" % (txn, i, "x" * i),)
                                    for i in range(50)])
            with db:
                db.execute("DELETE FROM t WHERE k % 3 = 0")
            r.val("count", db.execute("SELECT count(*), sum(length(v)) "
                                      "FROM t").fetchone())
            r.val("integrity", db.execute(
                "PRAGMA integrity_check").fetchone())
            db.close()
            db = sqlite3.connect(path)
            r.val("reopened", db.execute("SELECT count(*) FROM t")
                  .fetchone())
            db.close()
    differential(ctx, ops)


def test_o_tmpfile_refused(ctx):
    """O_TMPFILE: libfuse 3.14 (Debian 12) has no tmpfile operation, so the
    kernel answers EOPNOTSUPP, as many file systems do (programs fall
    back to a named temporary file).  Nothing may be left behind."""
    ctx.needs_trace()
    m = ctx.mount()
    try:
        fd = os.open(m.mnt, os.O_TMPFILE | os.O_RDWR, 0o600)
        os.close(fd)
        raise AssertionError("O_TMPFILE works on the mount now: make it a "
                             "differential case (linkat, trace records)")
    except OSError as e:
        assert e.errno == errno.EOPNOTSUPP, "O_TMPFILE: %s" % e
    assert os.listdir(m.mnt) == [] and os.listdir(m.backing) == []
    m.umount()
