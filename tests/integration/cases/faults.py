# SPDX-License-Identifier: MIT
"""Fault rules on a live mount (docs/faults.md): every action (errno,
powercut, kill, short, torn, delay), every trigger (before/after, path
glob, nth, after-bytes, prob+seed), rules from a plan file at mount, parse
errors that name the field, and each firing in the trace.
"""

import errno
import os
import signal
import subprocess
import sys
import time

from lib import CRASHFS, Trace, run


def mnt_(ctx, options=()):
    return ctx.mount(options=list(options))


def fault(m, rule):
    r = m.ctl("fault", rule)
    assert "rule" in r.stdout, r.stdout
    return r


def bad_rule(m, rule, field):
    r = m.ctl("fault", rule, check=False)
    assert r.returncode != 0, "rule %r was accepted" % rule
    assert field in r.stderr, ("the error for %r does not name %r: %s"
                               % (rule, field, r.stderr))


def oserror(call):
    try:
        call()
    except OSError as e:
        return e.errno
    return 0


def test_parse_errors(ctx):
    m = mnt_(ctx)
    bad_rule(m, "on bogus action=kill", "op")
    bad_rule(m, "on write action=errno:EWHAT", "errno")
    bad_rule(m, "on write action=explode", "action")
    bad_rule(m, "on write nth=x action=short", "nth")
    bad_rule(m, "on write after-bytes=lots action=short", "after-bytes")
    bad_rule(m, "on write prob=2 action=short", "prob")
    bad_rule(m, "sometimes write action=short", "when")
    bad_rule(m, "on fsync action=short", "write only")
    bad_rule(m, "on write colour=red action=short", "colour")
    bad_rule(m, "on write", "action")
    assert m.ctl("faults").stdout.strip() == "", "a bad rule was kept"


def test_errno_on_write_after_bytes_and_path(ctx):
    m = mnt_(ctx)
    fault(m, "on write path=data/* after-bytes=1k action=errno:ENOSPC")
    os.mkdir(os.path.join(m.mnt, "data"))
    fd = os.open(os.path.join(m.mnt, "data", "f"), os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"x" * 1000) == 1000
    assert oserror(lambda: os.write(fd, b"y" * 100)) == errno.ENOSPC
    os.close(fd)
    # another path is not concerned
    with open(os.path.join(m.mnt, "other"), "wb") as f:
        f.write(b"z" * 5000)
    assert os.path.getsize(os.path.join(m.mnt, "data", "f")) == 1000
    m.umount()
    t = Trace(m.trace)
    faults = t.of_type("fault")
    assert len(faults) == 1, t.dump(faults)
    w = [r for r in t.of_type("write") if r.get("result", 0) < 0]
    assert len(w) == 1 and "injected" in str(w[0]), t.dump(w)


def test_path_follows_renames(ctx):
    """A rule's glob matches the path an open file or a directory has
    now: after a rename of the file, or of a directory above it, and after
    an unlink (the daemon remembers paths until a name changes)."""
    m = mnt_(ctx)
    fault(m, "on write path=d2/final action=errno:EDQUOT")
    fault(m, "on fsync path=top/sub/f action=errno:EIO")
    os.mkdir(os.path.join(m.mnt, "d2"))
    fd = os.open(os.path.join(m.mnt, "tmp"), os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"a" * 10) == 10
    assert os.write(fd, b"b" * 10) == 10
    os.rename(os.path.join(m.mnt, "tmp"), os.path.join(m.mnt, "d2", "final"))
    assert oserror(lambda: os.write(fd, b"c")) == errno.EDQUOT
    os.unlink(os.path.join(m.mnt, "d2", "final"))
    assert os.write(fd, b"d") == 1      # unlinked: no longer d2/final
    os.close(fd)
    os.makedirs(os.path.join(m.mnt, "top0", "sub"))
    fd = os.open(os.path.join(m.mnt, "top0", "sub", "f"),
                 os.O_CREAT | os.O_WRONLY)
    os.fsync(fd)
    os.rename(os.path.join(m.mnt, "top0"), os.path.join(m.mnt, "top"))
    assert oserror(lambda: os.fsync(fd)) == errno.EIO
    os.close(fd)
    # directories' paths are remembered too (creates, unlinks)
    fault(m, "on create path=top/sub/new* action=errno:ENOSPC")
    os.close(os.open(os.path.join(m.mnt, "top", "sub", "x"),
                     os.O_CREAT | os.O_WRONLY))
    os.rename(os.path.join(m.mnt, "top"), os.path.join(m.mnt, "top1"))
    os.close(os.open(os.path.join(m.mnt, "top1", "sub", "new1"),
                     os.O_CREAT | os.O_WRONLY))
    os.rename(os.path.join(m.mnt, "top1"), os.path.join(m.mnt, "top"))
    assert oserror(lambda: os.open(os.path.join(m.mnt, "top", "sub", "new2"),
                                   os.O_CREAT | os.O_WRONLY)) == errno.ENOSPC
    m.umount()
    assert len(Trace(m.trace).of_type("fault")) == 3


def test_fsyncdir_rule_by_path(ctx):
    """A rule on fsyncdir matches the directory synced, by its path now
    (the kernel opens directories without telling the daemon)."""
    m = mnt_(ctx)
    fault(m, "on fsyncdir path=a/b action=errno:EIO")
    os.makedirs(os.path.join(m.mnt, "a0", "b"))

    def syncdir(*names):
        fd = os.open(os.path.join(m.mnt, *names), os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    syncdir("a0", "b")
    syncdir("a0")
    os.rename(os.path.join(m.mnt, "a0"), os.path.join(m.mnt, "a"))
    assert oserror(lambda: syncdir("a", "b")) == errno.EIO
    syncdir("a")
    m.umount()
    t = Trace(m.trace)
    assert len(t.of_type("fault")) == 1, t.dump(t.of_type("fault"))
    syncs = [(r.get("path"), r.get("result", 0)) for r in
             t.of_type("fsyncdir")]
    assert syncs == [("a0/b", 0), ("a0", 0), ("a/b", -errno.EIO),
                     ("a", 0)], syncs


def test_errno_fsync_nth_and_clear(ctx):
    m = mnt_(ctx)
    fault(m, "on fsync path=*.wal nth=2 action=errno:EIO")
    fault(m, "on rename action=errno:EROFS")
    fault(m, "on mkdir action=errno:EDQUOT")
    fd = os.open(os.path.join(m.mnt, "a.wal"), os.O_CREAT | os.O_WRONLY)
    os.write(fd, b"1")
    assert oserror(lambda: os.fsync(fd)) == 0
    assert oserror(lambda: os.fsync(fd)) == errno.EIO
    assert oserror(lambda: os.fsync(fd)) == 0  # the next one succeeds
    os.close(fd)
    assert oserror(lambda: os.rename(os.path.join(m.mnt, "a.wal"),
                                     os.path.join(m.mnt, "b"))) == \
        errno.EROFS
    assert oserror(lambda: os.mkdir(os.path.join(m.mnt, "d"))) == \
        errno.EDQUOT
    lst = m.ctl("faults").stdout
    assert "fired 1" in lst and lst.count("\n") == 3, lst
    m.ctl("faults", "clear")
    assert m.ctl("faults").stdout.strip() == ""
    os.rename(os.path.join(m.mnt, "a.wal"), os.path.join(m.mnt, "b"))
    os.mkdir(os.path.join(m.mnt, "d"))


def test_after_applies_the_op(ctx):
    m = mnt_(ctx)
    fault(m, "after unlink action=errno:EIO")
    p = os.path.join(m.mnt, "f")
    open(p, "w").close()
    assert oserror(lambda: os.unlink(p)) == errno.EIO
    assert not os.path.exists(os.path.join(m.backing, "f")), (
        "an after-fault must not undo the op")


def test_powercut_rule(ctx):
    m = mnt_(ctx, ["--powercut"])
    fault(m, "after fsync path=*.wal nth=3 action=powercut")
    p = os.path.join(m.mnt, "x.wal")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY)
    d = os.open(m.mnt, os.O_RDONLY)
    os.fsync(d)
    for i in range(3):
        os.write(fd, b"rec%d;" % i)
        os.fsync(fd)
    # the third fsync cut the power: its data survived, the handle is dead
    assert oserror(lambda: os.write(fd, b"more")) == errno.EIO
    os.close(fd)
    os.close(d)
    with open(p, "rb") as f:
        assert f.read() == b"rec0;rec1;rec2;"
    m.umount()
    t = Trace(m.trace)
    assert len(t.of_type("powercut")) == 1, t.dump()


def test_kill_rule(ctx):
    m = mnt_(ctx)
    fault(m, "on fsync path=victim action=kill")
    prog = ("import os,sys\n"
            "fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY)\n"
            "os.write(fd, b'x'); os.fsync(fd)\n"
            "print('survived')\n")
    p = subprocess.run([sys.executable, "-c", prog,
                        os.path.join(m.mnt, "victim")],
                       capture_output=True, timeout=30)
    assert p.returncode == -signal.SIGKILL, (p.returncode, p.stdout)
    assert b"survived" not in p.stdout
    # other paths are not concerned
    p = subprocess.run([sys.executable, "-c", prog,
                        os.path.join(m.mnt, "other")],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr


def test_short_and_torn_writes(ctx):
    m = mnt_(ctx)
    fault(m, "on write path=short nth=1 action=short")
    fault(m, "on write path=torn nth=1 action=torn")
    fd = os.open(os.path.join(m.mnt, "short"), os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"a" * 4096) == 2048
    os.close(fd)
    fd = os.open(os.path.join(m.mnt, "torn"), os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"b" * 4096) == 4096  # it says it wrote all
    os.close(fd)
    with open(os.path.join(m.mnt, "torn"), "rb") as f:
        got = f.read()
    assert got == b"b" * 2048, len(got)  # but half its sectors landed
    m.umount()
    t = Trace(m.trace)
    w = [r for r in t.of_type("write") if "injected" in str(r)]
    assert len(w) == 2, t.dump(t.of_type("write"))


def test_delay_and_prob(ctx):
    m = mnt_(ctx)
    fault(m, "on create path=slow action=delay:300")
    t0 = time.monotonic()
    open(os.path.join(m.mnt, "slow"), "w").close()
    assert time.monotonic() - t0 >= 0.3
    # a seeded probability fires the same way each time
    fired = []
    for run_ in range(2):
        m.ctl("faults", "clear")
        fault(m, "on truncate prob=0.5 seed=7 action=errno:EIO")
        fired.append([oserror(lambda: os.truncate(
            os.path.join(m.mnt, "slow"), i)) for i in range(20)])
    assert fired[0] == fired[1], fired
    n = fired[0].count(errno.EIO)
    assert 2 <= n <= 18, fired[0]


def test_plan_file(ctx):
    plan = ctx.path("plan.ini")
    with open(plan, "w") as f:
        f.write("# faults for the test\n"
                "[enospc]\nwhen = on\nop = write\npath = big\n"
                "after-bytes = 100\naction = errno:ENOSPC\n\n"
                "[unlink]\nwhen = before\nop = unlink,rmdir\n"
                "action = errno:EACCES\n")
    m = mnt_(ctx, ["--faults", plan])
    assert m.ctl("faults").stdout.count("\n") == 2
    p = os.path.join(m.mnt, "big")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"x" * 100) == 100
    assert oserror(lambda: os.write(fd, b"x")) == errno.ENOSPC
    os.close(fd)
    assert oserror(lambda: os.unlink(p)) == errno.EACCES
    bad = ctx.path("bad.ini")
    with open(bad, "w") as f:
        f.write("[x]\nop = write\naction = errno:ENOPE\n")
    b, mm = ctx.dir("b2"), ctx.dir("m2")
    r = run([CRASHFS, "mount", "--trace", ctx.path("t2"), "--faults", bad,
             b, mm])
    assert r.returncode == 2, r
    assert "ENOPE" in r.stderr and "[x]" in r.stderr, r.stderr
    assert not os.path.ismount(mm)


def test_fsync_eio_like_linux(ctx):
    """After an injected fsync EIO the data it covered is lost for good:
    the next fsync succeeds, a later power cut still drops that data but
    keeps what was written after the failure (PostgreSQL's fsyncgate)."""
    m = mnt_(ctx, ["--powercut"])
    p = os.path.join(m.mnt, "table")
    fd = os.open(p, os.O_CREAT | os.O_RDWR)
    os.write(fd, b"A" * 3000)
    os.fsync(fd)
    d = os.open(m.mnt, os.O_RDONLY)
    os.fsync(d)
    os.close(d)
    fault(m, "on fsync path=table nth=1 action=errno:EIO")
    os.pwrite(fd, b"B" * 1000, 0)        # covered by the failing fsync
    os.pwrite(fd, b"b" * 1000, 3000)     # an extension, covered too
    assert oserror(lambda: os.fsync(fd)) == errno.EIO
    os.pwrite(fd, b"C" * 500, 1500)      # after the failure
    os.pwrite(fd, b"c" * 10, 4500)       # after it, past the old end
    assert oserror(lambda: os.fsync(fd)) == 0  # the retry succeeds
    # visible: everything, as the page cache still holds it
    assert os.pread(fd, 5000, 0)[:1000] == b"B" * 1000
    os.pwrite(fd, b"D" * 100, 0)         # unsynced: lost anyway
    os.close(fd)
    powercut(m)
    got = open(p, "rb").read()
    want = bytearray(b"A" * 3000 + bytes(1510))
    want[1500:2000] = b"C" * 500
    want[4500:4510] = b"c" * 10
    assert got == bytes(want), [(i, got[i:i + 8]) for i in
                                range(0, max(len(got), len(want)), 500)]
    # and the crash-state engine agrees (docs/crash-model.md rule 7)
    m.umount()
    os.mkdir(m.backing[:-len(".backing")] + ".initial")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from powercut import strict_state
    out = strict_state(ctx, m, ctx.path("strict"))
    assert open(os.path.join(out, "table"), "rb").read() == bytes(want)


def powercut(m):
    m.ctl("powercut")
