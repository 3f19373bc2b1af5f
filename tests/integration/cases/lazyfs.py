# SPDX-License-Identifier: MIT
"""The LazyFS control fifo on a crashfs mount (docs/lazyfs.md): driven the
way the harnesses written for LazyFS drive it, byte for byte.

- Jepsen's nemesis (jepsen.lazyfs, lose-unfsynced-writes!) runs, on the
  node, `echo lazyfs::clear-cache > FIFO` through a shell, gives the write
  one second, and waits for nothing more.
- etcd's robustness framework (tests/framework/e2e/lazyfs.go) starts the
  filesystem in the foreground, waits for "waiting for fault commands" in
  its output, writes "lazyfs::clear-cache\\n" with os.WriteFile (open
  O_WRONLY|O_CREAT|O_TRUNC 0666, write, close) and waits for "cache is
  cleared" in the output.
- LazyFS's fifo_path_completed: "finished::clear-cache" in a second fifo.
"""

import errno
import os
import select
import subprocess
import time

from lib import CRASHFS, Trace, engine_verify, run, timeout


def lazy_mount(ctx, extra=()):
    fifo = ctx.path("faults.fifo")
    m = ctx.mount(options=["--powercut", "--fifo", fifo] + list(extra))
    return m, fifo


def durable_and_not(mnt, n):
    """n files "kept-I", written, synced, their names synced; then n files
    "lost-I" written and never synced (names and data)."""
    for i in range(n):
        fd = os.open(os.path.join(mnt, "kept-%d" % i),
                     os.O_CREAT | os.O_WRONLY)
        os.write(fd, b"data %d\n" % i)
        os.fsync(fd)
        os.close(fd)
    d = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)
    for i in range(n):
        with open(os.path.join(mnt, "lost-%d" % i), "w") as f:
            f.write("unsynced %d\n" % i)


def cuts(m):
    for line in m.ctl("status").stdout.splitlines():
        if line.startswith("power cuts: "):
            return int(line.split()[2])
    raise AssertionError("no 'power cuts' in status")


def wait_for(what, pred, secs=10):
    deadline = time.monotonic() + secs
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.02)


def jepsen_fifo(fifo, cmd):
    """What jepsen.lazyfs/fifo! runs on the node: (c/exec :echo cmd :>
    fifo) under a 1000 ms timeout."""
    r = subprocess.run(["sh", "-c", "echo %s > %s" % (cmd, fifo)],
                       timeout=1, capture_output=True)
    assert r.returncode == 0, r.stderr


@timeout(120)
def test_jepsen_nemesis(ctx):
    """lose-unfsynced-writes! five times in a row, each by a new shell that
    opens, writes and closes the fifo: each is a power cut that keeps
    exactly what was synced (Jepsen then restarts the database on it)."""
    m, fifo = lazy_mount(ctx)
    for rnd in range(5):
        durable_and_not(m.mnt, 3)
        before = cuts(m)
        jepsen_fifo(fifo, "lazyfs::clear-cache")
        wait_for("the cut", lambda: cuts(m) == before + 1)
        names = sorted(os.listdir(m.mnt))
        assert names == ["kept-0", "kept-1", "kept-2"], (rnd, names)
        for i in range(3):
            with open(os.path.join(m.mnt, "kept-%d" % i), "rb") as f:
                assert f.read() == b"data %d\n" % i
        for n in names:
            os.unlink(os.path.join(m.mnt, n))
    # and a checkpoint the way checkpoint! sends it: never mistaken for a
    # cut (this crashfs says in its log what it did with it)
    jepsen_fifo(fifo, "lazyfs::cache-checkpoint")
    wait_for("the log", lambda: "cache-checkpoint" in read_log(m))
    assert cuts(m) == 5
    m.umount()
    engine_verify(ctx, m.trace, m.backing)
    assert not os.path.exists(fifo), "the fifo crashfs made was left"


def read_log(m):
    with open(m.trace[:-len(".trace")] + ".log", errors="replace") as f:
        return f.read()


class Output:
    """Lines of a process's stderr, read as they come (etcd's expect)."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b""

    def expect(self, text, secs=20):
        deadline = time.monotonic() + secs
        while text.encode() not in self.buf:
            left = deadline - time.monotonic()
            assert left > 0, "no %r in the output: %r" % (text, self.buf)
            r, _, _ = select.select([self.proc.stderr], [], [], left)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                assert chunk, "the process ended: %r" % self.buf
                self.buf += chunk
        i = self.buf.index(text.encode()) + len(text)
        self.buf = self.buf[i:]


def etcd_write_file(path, data):
    """Go's os.WriteFile(path, data, 0o666)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


@timeout(120)
def test_etcd_robustness(ctx):
    """The daemon in the foreground, its output read like etcd's
    expect.ExpectProcess: start, wait for 'waiting for fault commands',
    ClearCache() twice, stop with a signal."""
    b, mnt = ctx.dir("b"), ctx.dir("mnt")
    fifo, trace = ctx.path("sock.fifo"), ctx.path("t")
    proc = ctx.spawn([CRASHFS, "mount", "-f", "--powercut", "--fifo", fifo,
                      "--trace", trace, b, mnt], stderr=subprocess.PIPE)
    out = Output(proc)
    out.expect("waiting for fault commands")
    assert os.path.ismount(mnt)
    for rnd in range(2):
        durable_and_not(mnt, 2)
        etcd_write_file(fifo, b"lazyfs::clear-cache\n")
        out.expect("cache is cleared")
        # what the harness sees once it has read the line: the cut state
        assert sorted(os.listdir(mnt)) == ["kept-0", "kept-1"], os.listdir(
            mnt)
        for n in os.listdir(mnt):
            os.unlink(os.path.join(mnt, n))
    proc.terminate()
    assert proc.wait(timeout=30) == 0
    assert not os.path.ismount(mnt)
    assert len(Trace(trace).of_type("powercut")) == 2


@timeout(120)
def test_completion_fifo(ctx):
    """fifo_path_completed: 'finished::clear-cache' once the cut is done,
    and only then; kept for a reader that opens the fifo late."""
    done = ctx.path("done.fifo")
    m, fifo = lazy_mount(ctx, ["--fifo-completed", done])
    durable_and_not(m.mnt, 1)
    with open(fifo, "w") as f:
        f.write("lazyfs::clear-cache\n")
    fd = os.open(done, os.O_RDONLY | os.O_NONBLOCK)
    try:
        got = b""
        deadline = time.monotonic() + 10
        while not got.endswith(b"\n"):
            assert time.monotonic() < deadline, got
            select.select([fd], [], [], 1)
            try:
                got += os.read(fd, 100)
            except BlockingIOError:
                pass
        assert got == b"finished::clear-cache\n", got
        assert sorted(os.listdir(m.mnt)) == ["kept-0"]
    finally:
        os.close(fd)
    m.umount()


@timeout(120)
def test_commands_and_garbage(ctx):
    """Every LazyFS command is answered in the log, several commands in one
    write, one command over several writes, and junk (a line too long,
    control characters, an unknown command) change nothing and stop
    nothing; a non-blocking writer never meets a missing reader."""
    m, fifo = lazy_mount(ctx)
    durable_and_not(m.mnt, 1)
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    os.write(fd, b"lazyfs::help\nlazyfs::display-cache-usage\n"
             b"lazyfs::unsynced-data-report\nlazyfs::torn-op::file=/x::"
             b"persist=1::parts=2\nlazyfs::torn-seq::op=write::file=/x::"
             b"persist=1\n" + b"y" * 10000 + b"\nhello\x1b[2J\n"
             b"lazyfs::crash::timing=before::op=read::from_rgx=x\n"
             b"lazyfs::crash::timing=before::op=link::from_rgx=x\n")
    os.write(fd, b"lazyfs::clear")
    time.sleep(0.2)
    os.write(fd, b"-cache\n")
    os.close(fd)
    wait_for("the cut", lambda: cuts(m) == 1)
    log = read_log(m)
    for want in ("help: 'lazyfs::clear-cache'",
                 "display-cache-usage: crashfs keeps no page cache; what a "
                 "power cut would drop: unsynced files: 1",
                 "lazyfs: report: ",
                 "torn-op: not supported by crashfs yet",
                 "torn-seq: not supported by crashfs yet",
                 "a command longer than 4096 bytes: ignored",
                 "command unknown 'hello\\x1b[2J'",
                 "INVALID crash fault: crashfs injects no fault on read",
                 "INVALID crash fault: crashfs matches the new name of a "
                 "link only",
                 "cache is cleared"):
        assert want in log, "%r not in the log:\n%s" % (want, log[-3000:])
    assert "\x1b" not in log
    assert m.ctl("faults").stdout.strip() == "", "a bad crash became a rule"
    assert sorted(os.listdir(m.mnt)) == ["kept-0"]
    m.umount()


@timeout(120)
def test_crash_command(ctx):
    """lazyfs::crash::timing=before::op=write::from_rgx=R as etcd-19's
    reproduction sends it: the first matching write cuts the power and
    fails (the LazyFS daemon died before answering); the rule fires once."""
    m, fifo = lazy_mount(ctx)
    os.makedirs(os.path.join(m.mnt, "member", "wal"))
    d = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)
    syncdir = os.open(os.path.join(m.mnt, "member"), os.O_RDONLY)
    os.fsync(syncdir)
    os.close(syncdir)
    jepsen_fifo(fifo, "lazyfs::crash::timing=before::op=write::"
                "from_rgx=member/wal/[0-9]+-[0-9]+.wal")
    wait_for("the rule", lambda: "regex=" in m.ctl("faults").stdout)
    wal = os.path.join(m.mnt, "member", "wal", "0-1.wal")
    fd = os.open(wal, os.O_CREAT | os.O_WRONLY)
    try:
        os.write(fd, b"record")
        raise AssertionError("the write that crashed succeeded")
    except OSError as e:
        assert e.errno == errno.EIO, e
    os.close(fd)
    assert cuts(m) == 1
    assert os.listdir(os.path.join(m.mnt, "member", "wal")) == []
    # once: the next write goes through
    fd = os.open(wal, os.O_CREAT | os.O_WRONLY)
    assert os.write(fd, b"record") == 6
    os.close(fd)
    m.umount()
    engine_verify(ctx, m.trace, m.backing)


def test_fifo_paths_refused(ctx):
    """The fifo may not be in the recorded tree, may not be a file that is
    not a fifo, needs --powercut; each refusal names the path and leaves
    no mount and nothing made."""
    b, mm = ctx.dir("b"), ctx.dir("m")
    regular = ctx.path("regular")
    open(regular, "w").close()
    for opts, want in (
            (["--powercut", "--fifo", os.path.join(b, "f")],
             "is inside the backing directory"),
            (["--powercut", "--fifo", os.path.join(mm, "f")],
             "is inside the mount point"),
            (["--powercut", "--fifo", regular], "exists and is not a fifo"),
            (["--fifo", ctx.path("f")], "--fifo needs --powercut"),
            (["--powercut", "--fifo", ctx.path("f"), "--fifo-completed",
              ctx.path("f")], "are the same file"),
            (["--powercut", "--fifo-completed", ctx.path("g")],
             "a completion fifo needs a fifo"),
            (["--powercut", "--fifo", ctx.path("t")], "is the trace")):
        r = run([CRASHFS, "mount", "--trace", ctx.path("t")] + opts +
                [b, mm])
        assert r.returncode == 2 and want in r.stderr, (opts, r.stderr)
        assert not os.path.ismount(mm)
        assert sorted(os.listdir(b)) == [] and os.listdir(mm) == []
        assert not os.path.exists(ctx.path("f"))
        assert not os.path.exists(ctx.path("t"))


def test_fifo_in_plan(ctx):
    """fifo = and clear-cache = keep-metadata in a --faults plan: LazyFS's
    own clear-cache, which keeps names and drops unsynced data."""
    plan = ctx.path("plan.ini")
    with open(plan, "w") as f:
        f.write("fifo = lazy.fifo\nclear-cache = keep-metadata\n")
    m = ctx.mount(options=["--powercut", "--faults", plan])
    fifo = ctx.path("lazy.fifo")
    durable_and_not(m.mnt, 1)
    jepsen_fifo(fifo, "lazyfs::clear-cache")
    wait_for("the cut", lambda: cuts(m) == 1)
    # names kept, unsynced data gone
    assert sorted(os.listdir(m.mnt)) == ["kept-0", "lost-0"]
    assert os.path.getsize(os.path.join(m.mnt, "lost-0")) == 0
    assert "unsynced data lost, metadata kept" in read_log(m)
    m.umount()
    engine_verify(ctx, m.trace, m.backing)


@timeout(120)
def test_checkpoint_then_clear(ctx):
    """cache-checkpoint then clear-cache: with the sync point (ctl sync)
    the checkpointed data and names survive the cut; a crashfs without it
    says so and the cut drops them as if no checkpoint had been asked for
    (never a checkpoint reported done that did nothing)."""
    m, fifo = lazy_mount(ctx)
    durable_and_not(m.mnt, 1)
    jepsen_fifo(fifo, "lazyfs::cache-checkpoint")
    wait_for("the checkpoint", lambda: "cache-checkpoint:" in read_log(m))
    jepsen_fifo(fifo, "lazyfs::clear-cache")
    wait_for("the cut", lambda: cuts(m) == 1)
    log = read_log(m)
    if "cache-checkpoint: not available" in log:
        assert "checkpoint is done" not in log
        assert sorted(os.listdir(m.mnt)) == ["kept-0"]
    else:
        assert "checkpoint is done" in log, log[-2000:]
        assert sorted(os.listdir(m.mnt)) == ["kept-0", "lost-0"]
        with open(os.path.join(m.mnt, "lost-0")) as f:
            assert f.read() == "unsynced 0\n"
    m.umount()
    engine_verify(ctx, m.trace, m.backing)
