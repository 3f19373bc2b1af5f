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
                 "INVALID torn-op fault: file '/x' is not under the "
                 "backing directory",
                 "INVALID torn-seq fault: file '/x' is not under the "
                 "backing directory",
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


# ---- torn-op, torn-seq ---------------------------------------------------

def durable_file(mnt, name, data):
    """name holding data, synced with its name."""
    fd = os.open(os.path.join(mnt, name), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    d = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(d)
    os.close(d)


def send_torn(m, fifo, cmd):
    """cmd through the fifo as a LazyFS harness sends it; returns the
    log's verdict line on it (VALID or INVALID ...)."""
    kind = cmd.split("::")[1]
    before = read_log(m).count("received: ")
    jepsen_fifo(fifo, cmd)
    wait_for("the verdict on " + kind,
             lambda: read_log(m).count("received: ") > before)
    line = [ln for ln in read_log(m).splitlines()
            if "received: " in ln and kind in ln][-1]
    return line


def write_eio(fd, data, off):
    """The write that crashes: applied, then the cut, then EIO (LazyFS
    dies before it answers)."""
    try:
        os.pwrite(fd, data, off)
    except OSError as e:
        assert e.errno == errno.EIO, e
        return
    raise AssertionError("the write the fault was on succeeded")


def read_file(mnt, name):
    with open(os.path.join(mnt, name), "rb") as f:
        return f.read()


@timeout(120)
def test_torn_op(ctx):
    """lazyfs::torn-op::file=F::parts=4::persist=1,3::occurrence=2, F as
    LazyFS names it (under its root, the backing directory): write 1 goes
    through, write 2 is torn in four, parts 1 and 3 persist, the power is
    cut (keeping metadata, as LazyFS does), the write fails; every other
    unsynced byte is lost.  A second torn-op on F is refused while the
    first is armed and taken once it fired; replay rebuilds the tree."""
    m, fifo = lazy_mount(ctx)
    old = b"o" * 8192
    durable_file(m.mnt, "data", old)
    F = os.path.join(m.backing, "data")
    line = send_torn(m, fifo, "lazyfs::torn-op::file=%s::parts=4::"
                     "persist=1,3::occurrence=2" % F)
    assert "VALID torn-op fault" in line and "INVALID" not in line, line
    line = send_torn(m, fifo, "lazyfs::torn-op::file=%s::parts=2::"
                     "persist=1" % F)
    assert "INVALID torn-op fault: only one torn-op fault per file" \
        in line, line
    # an unsynced new file: its name stays (metadata), its data goes
    with open(os.path.join(m.mnt, "other"), "wb") as f:
        f.write(b"unsynced")
    fd = os.open(os.path.join(m.mnt, "data"), os.O_WRONLY)
    assert os.pwrite(fd, b"1" * 512, 8192) == 512      # write 1: lost
    new = bytes(range(256)) * 32                       # write 2: torn
    write_eio(fd, new, 0)
    os.close(fd)
    assert cuts(m) == 1
    want = new[:2048] + old[2048:4096] + new[4096:6144] + old[6144:]
    got = read_file(m.mnt, "data")
    assert got == want, (len(got), [i for i in range(0, len(got), 512)
                                    if got[i:i + 512] != want[i:i + 512]])
    assert sorted(os.listdir(m.mnt)) == ["data", "other"]
    assert read_file(m.mnt, "other") == b""
    assert "fired 1" in m.ctl("faults").stdout
    # LazyFS, restarted, takes a new torn-op on the file
    line = send_torn(m, fifo, "lazyfs::torn-op::file=%s::parts=2" % F)
    assert "VALID torn-op fault" in line and "INVALID" not in line, line
    m.umount()
    engine_verify(ctx, m.trace, m.backing)


@timeout(120)
def test_torn_op_parts_bytes(ctx):
    """parts_bytes: the write must be their sum, or LazyFS injects nothing
    and the occurrence is spent; the mount point's path names the file
    too; a part kept only where its sectors begin in it."""
    m, fifo = lazy_mount(ctx)
    old = b"o" * 4096
    durable_file(m.mnt, "a", old)
    durable_file(m.mnt, "b", old)
    # a: the first write is not 4096 bytes: no fault, ever
    line = send_torn(m, fifo, "lazyfs::torn-op::file=%s::"
                     "parts_bytes=1024,1024,2048::persist=2"
                     % os.path.join(m.backing, "a"))
    assert "VALID" in line and "INVALID" not in line, line
    fd = os.open(os.path.join(m.mnt, "a"), os.O_WRONLY)
    assert os.pwrite(fd, b"x" * 100, 0) == 100
    assert os.pwrite(fd, b"y" * 4096, 0) == 4096
    os.fsync(fd)
    os.close(fd)
    assert cuts(m) == 0
    # b, named by the mount point's path: the first write, 4096 bytes
    line = send_torn(m, fifo, "lazyfs::torn-op::file=%s::"
                     "parts_bytes=1024,1024,2048::persist=2"
                     % os.path.join(m.mnt, "b"))
    assert "VALID" in line and "INVALID" not in line, line
    fd = os.open(os.path.join(m.mnt, "b"), os.O_WRONLY)
    write_eio(fd, b"n" * 4096, 0)
    os.close(fd)
    assert cuts(m) == 1
    assert read_file(m.mnt, "b") == old[:1024] + b"n" * 1024 + old[2048:]
    assert read_file(m.mnt, "a") == b"y" * 4096
    m.umount()
    engine_verify(ctx, m.trace, m.backing)


@timeout(120)
def test_torn_seq(ctx):
    """lazyfs::torn-seq::op=write::file=F::persist=1,3::occurrence=2: a
    lone write between fsyncs is no run; the first run of two is spent;
    of the second, writes 1 and 3 persist and the power is cut after the
    3rd, which fails.  Records of a sector each: LazyFS's state exactly
    (write 2's sector reads as zeros)."""
    m, fifo = lazy_mount(ctx)
    durable_file(m.mnt, "log", b"A" * 512)
    F = os.path.join(m.backing, "log")
    line = send_torn(m, fifo, "lazyfs::torn-seq::op=write::file=%s::"
                     "persist=1,3::occurrence=2" % F)
    assert "VALID torn-seq fault" in line and "INVALID" not in line, line
    fd = os.open(os.path.join(m.mnt, "log"), os.O_WRONLY)
    off = 512
    for rec in (b"s", b"r", b"q"):                     # runs 0, 0, 1
        n = 1 if rec == b"s" else 2
        for _ in range(n):
            assert os.pwrite(fd, rec * 512, off) == 512
            off += 512
        if rec != b"r":
            os.fdatasync(fd) if rec == b"s" else os.fsync(fd)
    assert os.pwrite(fd, b"1" * 512, off) == 512       # run 2
    assert os.pwrite(fd, b"2" * 512, off + 512) == 512
    write_eio(fd, b"3" * 512, off + 1024)
    os.close(fd)
    assert cuts(m) == 1
    durable = b"A" * 512 + b"s" * 512 + b"r" * 1024 + b"q" * 1024
    assert len(durable) == off
    got = read_file(m.mnt, "log")
    assert got == durable + b"1" * 512 + b"\0" * 512 + b"3" * 512, (
        len(got), got[off:][::512])
    m.umount()
    engine_verify(ctx, m.trace, m.backing)


@timeout(120)
def test_torn_seq_same_sector(ctx):
    """Where crashfs refuses LazyFS's state: three 100-byte appends share
    sector 0, writes 1 and 3 asked for; write 3 cannot persist where
    write 2, lost, wrote before it (no disk leaves that), so the file
    keeps write 1 alone, and the cut says so.  persist=1 alone: the crash
    after the second write, the first kept."""
    m, fifo = lazy_mount(ctx)
    durable_file(m.mnt, "log", b"")
    durable_file(m.mnt, "log2", b"")
    line = send_torn(m, fifo, "lazyfs::torn-seq::op=write::file=%s::"
                     "persist=1,3" % os.path.join(m.backing, "log"))
    assert "VALID" in line and "INVALID" not in line, line
    fd = os.open(os.path.join(m.mnt, "log"), os.O_WRONLY | os.O_APPEND)
    assert os.write(fd, b"1" * 100) == 100
    assert os.write(fd, b"2" * 100) == 100
    try:
        os.write(fd, b"3" * 100)
        raise AssertionError("the third write succeeded")
    except OSError as e:
        assert e.errno == errno.EIO, e
    os.close(fd)
    assert cuts(m) == 1
    assert read_file(m.mnt, "log") == b"1" * 100
    assert "units asked for not kept" in read_log(m), read_log(m)[-2000:]
    line = send_torn(m, fifo, "lazyfs::torn-seq::op=write::file=%s::"
                     "persist=1" % os.path.join(m.backing, "log2"))
    assert "VALID" in line and "INVALID" not in line, line
    fd = os.open(os.path.join(m.mnt, "log2"), os.O_WRONLY)
    assert os.pwrite(fd, b"a" * 512, 0) == 512
    write_eio(fd, b"b" * 512, 512)
    os.close(fd)
    assert cuts(m) == 2
    assert read_file(m.mnt, "log2") == b"a" * 512
    m.umount()
    engine_verify(ctx, m.trace, m.backing)
