# SPDX-License-Identifier: MIT
"""Fault rules on a live mount (docs/faults.md): every action (errno,
powercut, kill, short, torn, delay), every trigger (before/after, path
glob, nth, after-bytes, prob+seed), rules from a plan file at mount, parse
errors that name the field, and each firing in the trace.  The *_rule_*
matrices run a power cut, kill and errno rule before, on and after every
op a rule can name, and check what the program saw, the tree (through the
mount and in the backing directory) and the trace.
"""

import errno
import os
import signal
import subprocess
import sys
import time

from lib import CRASHFS, Trace, engine_verify, ename, read_all, run, timeout


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


# ---- a power cut or a kill by rule, on every op it can fire on ----------
#
# Each op runs in its own directory OP/ that starts durable: OP/f holds
# "durable\n", OP/d/g "g\n", OP/e is an empty directory.  Before the op,
# OP/f gets an unsynced write ("PENDING" over its start, through a handle
# kept open) and OP/d/new an unsynced create, so the cut has something to
# drop.  A rule "WHEN OP path=... nth=1 action=powercut" then fires on the
# op.  Before (or on): the op fails with EIO and is not applied, the cut
# leaves the durable state.  After: the op was applied and answered as it
# happened, then the power went: only what the op itself made durable
# (an fsync) survives.

DURABLE = {"f": b"durable\n", "d/g": b"g\n", "d": None, "e": None}


def cut_setup(root):
    """OP/ made durable through the mount; returns a handle on OP/f with
    unsynced data, and OP/d/new created unsynced."""
    os.mkdir(root)
    os.mkdir(os.path.join(root, "d"))
    os.mkdir(os.path.join(root, "e"))
    for rel, data in (("f", b"durable\n"), ("d/g", b"g\n")):
        fd = os.open(os.path.join(root, rel), os.O_CREAT | os.O_WRONLY)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
    for rel in ("d", "", ".."):
        d = os.open(os.path.join(root, rel), os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(d)
        os.close(d)
    fd = os.open(os.path.join(root, "f"), os.O_RDWR)
    os.pwrite(fd, b"PENDING", 0)
    os.close(os.open(os.path.join(root, "d", "new"),
                     os.O_CREAT | os.O_WRONLY))
    return fd


def syncdir_at(path):
    d = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(d)
    finally:
        os.close(d)


# op: (the rule's path under OP/, the call (root, fd) -> value, what the
# op makes durable when it completes, names an "after" reply hands to the
# kernel that the cut then removed)
CUT_OPS = {
    "write": ("f", lambda r, fd: os.pwrite(fd, b"NEW", 8), {}, ()),
    "fsync": ("f", lambda r, fd: os.fsync(fd), {"f": b"PENDING\n"}, ()),
    "fdatasync": ("f", lambda r, fd: os.fdatasync(fd),
                  {"f": b"PENDING\n"}, ()),
    "fsyncdir": ("d", lambda r, fd: syncdir_at(os.path.join(r, "d")),
                 {"d/new": b""}, ()),
    "rename": ("f", lambda r, fd: os.rename(os.path.join(r, "f"),
                                            os.path.join(r, "d", "h")),
               {}, ("d/h",)),
    "create": ("c", lambda r, fd: os.open(os.path.join(r, "c"),
                                          os.O_CREAT | os.O_WRONLY),
               {}, ("c",)),
    "unlink": ("d/g", lambda r, fd: os.unlink(os.path.join(r, "d", "g")),
               {}, ()),
    "rmdir": ("e", lambda r, fd: os.rmdir(os.path.join(r, "e")), {}, ()),
    "truncate": ("f", lambda r, fd: os.truncate(os.path.join(r, "f"), 2),
                 {}, ()),
    "open": ("d/g", lambda r, fd: os.open(os.path.join(r, "d", "g"),
                                          os.O_RDWR | os.O_TRUNC), {}, ()),
    "mkdir": ("x", lambda r, fd: os.mkdir(os.path.join(r, "x")), {},
              ("x",)),
    "link": ("l", lambda r, fd: os.link(os.path.join(r, "f"),
                                        os.path.join(r, "l")), {}, ("l",)),
    "symlink": ("s", lambda r, fd: os.symlink("f", os.path.join(r, "s")),
                {}, ("s",)),
    "mknod": ("p", lambda r, fd: os.mkfifo(os.path.join(r, "p")), {},
              ("p",)),
}


def tree_of(root):
    """{relpath: bytes (file) or None (directory)} under root."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p) or not os.path.isfile(p):
                out[rel] = None if os.path.isdir(p) else "special"
            else:
                out[rel] = read_all(p)
    return out


def cut_rule_matrix(ctx, when, action="powercut"):
    """Every op with a powercut (or crash) rule at `when`, one after the
    other on one mount (each its own directory, each its own cut); then the
    trace must replay to the backing directory.  A crash is a power cut
    whose op answers EIO after it too (LazyFS's daemon died first)."""
    ctx.needs_trace()
    m = mnt_(ctx, ["--powercut"])
    failures = []
    for op, (rel, call, durable, names) in sorted(CUT_OPS.items()):
        root = os.path.join(m.mnt, op)
        fd = cut_setup(root)
        fault(m, "%s %s path=%s/%s nth=1 action=%s" %
              (when, op, op, rel, action))
        try:
            got = call(root, fd)
            err = 0
        except OSError as e:
            got, err = None, e.errno
        m.ctl("faults", "clear")
        want_err = 0 if when == "after" and action == "powercut" \
            else errno.EIO
        if err != want_err:
            failures.append("%s %s: the op returned %s, not %s"
                            % (when, op, ename(err) if err else got,
                               ename(want_err) if want_err else "success"))
        # the handle opened before the cut is dead either way
        if oserror(lambda: os.pwrite(fd, b"late", 0)) != errno.EIO:
            failures.append("%s %s: a handle opened before the cut still "
                            "writes" % (when, op))
        os.close(fd)
        if op in ("create", "open") and isinstance(got, int):
            if oserror(lambda: os.write(got, b"x")) != errno.EIO:
                failures.append("%s %s: the handle it returned writes "
                                "after the cut" % (when, op))
            os.close(got)
        # what a user sees right away: nothing the cut removed
        for n in names:
            if os.path.lexists(os.path.join(root, n)):
                failures.append("%s %s: %s still shows after the cut"
                                % (when, op, n))
        want = dict(DURABLE)
        if when == "after":
            want.update(durable)
        for where, base in (("mount", root),
                            ("backing", os.path.join(m.backing, op))):
            have = tree_of(base)
            if have != want:
                failures.append("%s %s: the %s holds %r, the durable "
                                "state is %r" % (when, op, where, have,
                                                 want))
    m.umount()
    t = Trace(m.trace)
    if len(t.of_type("powercut")) != len(CUT_OPS):
        failures.append("%d power cuts recorded for %d rules" %
                        (len(t.of_type("powercut")), len(CUT_OPS)))
    # before: the op that fired the cut follows it as an injected EIO (a
    # failed open is not recorded); after: it precedes it as it happened
    recs = t.records
    cuts = [i for i, r in enumerate(recs) if r.get("type") == "powercut"]
    for op, i in zip(sorted(CUT_OPS), cuts):
        if when == "after":
            r = [x for x in recs[:i] if x.get("type") != "fault"][-1]
            ok = r.get("result", 0) >= 0 and "injected" not in str(r)
        elif op == "open":
            r = recs[i + 1] if i + 1 < len(recs) else {}
            ok = r.get("type") != "open"
        else:
            r = recs[i + 1] if i + 1 < len(recs) else {}
            ok = (r.get("result") == -errno.EIO and
                  "injected" in r.get("flag_names", []))
        if not ok:
            failures.append("%s %s: the op's record around the cut: %s"
                            % (when, op, t.dump([r])))
    assert not failures, "\n".join(failures)
    engine_verify(ctx, m.trace, m.backing)


@timeout(180)
def test_powercut_rule_before(ctx):
    cut_rule_matrix(ctx, "before")


@timeout(180)
def test_powercut_rule_on(ctx):
    cut_rule_matrix(ctx, "on")


@timeout(180)
def test_powercut_rule_after(ctx):
    cut_rule_matrix(ctx, "after")


@timeout(180)
def test_crash_rule_before(ctx):
    cut_rule_matrix(ctx, "before", "crash")


@timeout(180)
def test_crash_rule_after(ctx):
    cut_rule_matrix(ctx, "after", "crash")


def plain_setup(root):
    """OP/ as cut_setup() leaves it, on any directory, without syncs."""
    os.mkdir(root)
    for rel in ("d", "e"):
        os.mkdir(os.path.join(root, rel))
    for rel, data in (("f", b"PENDING\n"), ("d/g", b"g\n"), ("d/new", b"")):
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)


KILL_PROG = """
import importlib.util, os, sys
sys.path.insert(0, os.path.dirname(os.path.dirname(sys.argv[1])))
spec = importlib.util.spec_from_file_location("faults", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
root, op = sys.argv[2], sys.argv[3]
fd = os.open(os.path.join(root, "f"), os.O_RDWR)
mod.CUT_OPS[op][1](root, fd)
print("survived")
"""


def run_op(root, op):
    """Run op on root in a child process; its CompletedProcess."""
    return subprocess.run([sys.executable, "-c", KILL_PROG,
                           os.path.abspath(__file__), root, op],
                          capture_output=True, text=True, timeout=30)


def op_rule_matrix(ctx, when, action):
    """Every op with a rule WHEN OP ... action=ACTION (errno:EIO or kill):
    before, the op fails and is not applied; after, it is applied exactly
    as on a plain directory, and then fails (errno) or its caller dies
    (kill) without seeing the result."""
    m = mnt_(ctx)
    plain = ctx.dir("plain")
    failures = []
    for op, (rel, call, durable, names) in sorted(CUT_OPS.items()):
        root = os.path.join(m.mnt, op)
        plain_setup(root)
        want = tree_of(root)
        if when == "after":
            ref = os.path.join(plain, op)
            plain_setup(ref)
            r = run_op(ref, op)
            assert r.returncode == 0, r.stderr
            want = tree_of(ref)
        fault(m, "%s %s path=%s/%s nth=1 action=%s" %
              (when, op, op, rel, action))
        r = run_op(root, op)
        m.ctl("faults", "clear")
        if action == "kill":
            if r.returncode != -signal.SIGKILL or "survived" in r.stdout:
                failures.append("%s %s: the caller was not killed (exit "
                                "%d)" % (when, op, r.returncode))
        elif "OSError: [Errno %d]" % errno.EIO not in r.stderr:
            failures.append("%s %s: the op did not fail with EIO: exit %d "
                            "%s" % (when, op, r.returncode, r.stderr[-200:]))
        have = tree_of(root)
        if have != want:
            failures.append("%s %s: the tree is %r, not %r"
                            % (when, op, have, want))
        # a lookup by name agrees with the listing (no stale entry)
        for n in sorted(set(want) | {rel, "d/h"}):
            if os.path.lexists(os.path.join(root, n)) != (n in want):
                failures.append("%s %s: %s %s by name" % (
                    when, op, n, "is missing" if n in want else "shows"))
    m.umount()
    t = Trace(m.trace)
    fired = t.of_type("fault")
    if len(fired) != len(CUT_OPS):
        failures.append("%d faults recorded for %d rules"
                        % (len(fired), len(CUT_OPS)))
    # before: the op's record says it failed by injection (a failed open
    # is not recorded)
    for f in fired if when != "after" else ():
        if f.get("path", "").startswith("open/"):
            continue
        i = t.records.index(f)
        r = t.records[i + 1] if i + 1 < len(t.records) else {}
        if r.get("result") != -errno.EIO or \
                "injected" not in r.get("flag_names", []):
            failures.append("the op after %s is not an injected EIO: %s"
                            % (t.dump([f]), t.dump([r])))
    assert not failures, "\n".join(failures)


@timeout(180)
def test_kill_rule_before(ctx):
    op_rule_matrix(ctx, "before", "kill")


@timeout(180)
def test_kill_rule_after(ctx):
    op_rule_matrix(ctx, "after", "kill")


@timeout(180)
def test_errno_rule_before(ctx):
    op_rule_matrix(ctx, "before", "errno:EIO")


@timeout(180)
def test_errno_rule_after(ctx):
    op_rule_matrix(ctx, "after", "errno:EIO")


def test_precut_directory_handle(ctx):
    """A directory opened before a cut (by command or by rule) fails with
    EIO like a file: an fsync through it must not tell the program that
    the entries the cut dropped are durable."""
    m = mnt_(ctx, ["--powercut"])
    for how in ("ctl", "rule"):
        d = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
        os.close(os.open(os.path.join(m.mnt, how), os.O_CREAT | os.O_WRONLY))
        if how == "ctl":
            m.ctl("powercut")
        else:
            fault(m, "after create path=%s-cut nth=1 action=powercut" % how)
            os.close(os.open(os.path.join(m.mnt, how + "-cut"),
                             os.O_CREAT | os.O_WRONLY))
            m.ctl("faults", "clear")
        assert oserror(lambda: os.fsync(d)) == errno.EIO, (
            "%s: a directory fsync through a handle opened before the cut "
            "succeeded" % how)
        assert oserror(lambda: os.listdir(d)) == errno.EIO, how
        os.close(d)
        assert os.listdir(m.mnt) == [], os.listdir(m.mnt)
        syncdir_at(m.mnt)   # a new handle works


# ---- plan files that are no files, and a mount command that dies --------

def procs_naming(text):
    """Pids of the processes whose command line holds text."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def test_plan_not_a_regular_file(ctx):
    """A plan that is a device or a fifo is refused at once by the mount
    command (it is read before the daemon forks, whole, at most 1 MiB):
    before, /dev/zero left a daemon reading forever and a fifo one waiting
    for a writer."""
    fifo = ctx.path("plan.fifo")
    os.mkfifo(fifo)
    big = ctx.path("big.ini")
    with open(big, "w") as f:
        f.write("; padding\n" * 110000)
    for plan, want in (("/dev/zero", "not a regular file (it is a "
                        "character device)"),
                       (fifo, "not a regular file (it is a fifo)"),
                       (big, "larger than 1048576 bytes")):
        b, mm = ctx.dir("b%d" % len(plan)), ctx.dir("m%d" % len(plan))
        trace = ctx.path("t%d" % len(plan))
        r = run([CRASHFS, "mount", "--trace", trace, "--faults", plan, b,
                 mm], timeout=15)
        assert r.returncode == 2, (plan, r.returncode, r.stderr)
        assert "fault plan '%s': %s" % (plan, want) in r.stderr, r.stderr
        assert not os.path.ismount(mm)
        assert not os.path.exists(trace), "a trace was left behind"
        assert procs_naming(trace) == [], "a daemon is left"


@timeout(60)
def test_no_daemon_outlives_a_failed_mount(ctx):
    """The mount command killed while its daemon is still starting (here
    stuck opening a log that is a fifo nobody reads) takes the daemon with
    it: no orphan keeps starting a mount nobody waits for."""
    log_fifo = ctx.path("log.fifo")
    os.mkfifo(log_fifo)
    b, mm, trace = ctx.dir("b"), ctx.dir("m"), ctx.path("t")
    p = ctx.spawn([CRASHFS, "mount", "--trace", trace, "--log", log_fifo,
                   b, mm], stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while len(procs_naming(trace)) < 2:
        assert time.monotonic() < deadline, "the daemon never forked"
        time.sleep(0.05)
    time.sleep(0.3)
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while procs_naming(trace):
        assert time.monotonic() < deadline, (
            "the daemon outlived its mount command: %s"
            % procs_naming(trace))
        time.sleep(0.05)
    assert not os.path.ismount(mm)
    assert not os.path.exists(trace)
