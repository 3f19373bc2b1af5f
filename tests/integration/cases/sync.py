# SPDX-License-Identifier: MIT
"""Sync points: sync(2) and syncfs(2) never reach a FUSE daemon, so a live
mount learns of one only when a harness declares it (`crashfs ctl MNT
sync`), and `crashfs check`, which starts the workload, watches for them
itself (docs/check.md).  A sync point makes everything before it durable;
sync_file_range(2) is recorded but makes nothing durable.
"""

import json
import os
import socket
import sys
import time

from lib import CRASHFS, Skip, Trace, run, timeout


def write(path, data, flags=os.O_CREAT | os.O_WRONLY | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_run(trace, *args):
    """crashfs check --run TRACE ARGS: (exit status, output)."""
    r = run([CRASHFS, "check", "--run", trace] + list(args), timeout=120)
    return r.returncode, r.stdout + r.stderr


# ---- declared on a live mount ----------------------------------------------

def test_ctl_sync_in_trace(ctx):
    """`ctl MNT sync` puts a sync point in the trace after the write that
    returned before it; the write is then durable for `crashfs check`."""
    traces = {}
    for declare in (True, False):
        name = "declared" if declare else "undeclared"
        m = ctx.mount(name)
        write(os.path.join(m.mnt, "f"), b"new\n")
        if declare:
            m.ctl("sync")
        m.mark("saved")
        m.umount()
        traces[name] = m.trace
    t = Trace(traces["declared"])
    syncs = t.of_type("sync")
    assert len(syncs) == 1, t.dump()
    s = syncs[0]
    assert s["oflags_names"] == "ctl" and s["pid"] == 0, s
    write_seq = t.of_type("write")[0]["seq"]
    mark_seq = t.of_type("mark")[0]["seq"]
    assert write_seq < s["seq"] < mark_seq, t.dump()
    assert not Trace(traces["undeclared"]).of_type("sync")

    st, out = check_run(traces["declared"], "--durable", "f")
    assert st == 0, "declared sync: expected a pass:\n" + out
    st, out = check_run(traces["undeclared"], "--durable", "f")
    assert st == 1, "no sync: expected a durability failure:\n" + out


def test_ctl_sync_empties_unsynced(ctx):
    """After `ctl sync` nothing is left to report as not durable, on a
    plain mount (whose journal only tracks, holding no fd) as on a
    --powercut one."""
    for opts in ([], ["--powercut"]):
        m = ctx.mount("p" if opts else "plain", options=opts)
        write(os.path.join(m.mnt, "f"), b"data\n")
        os.mkdir(os.path.join(m.mnt, "d"))
        os.chmod(os.path.join(m.mnt, "f"), 0o600)
        before = json.loads(m.ctl("unsynced", "--json").stdout)
        assert before["files"] and before["entries"], (opts, before)
        m.ctl("sync")
        after = json.loads(m.ctl("unsynced", "--json").stdout)
        assert not after["files"] and not after["entries"] and \
            not after.get("attributes"), (opts, after)
        m.umount()


def test_ctl_sync_usage(ctx):
    m = ctx.mount()
    r = m.ctl("sync", "now", check=False)
    assert r.returncode == 2 and "sync takes no argument" in r.stderr, (
        r.returncode, r.stderr)
    m.umount()


def pre(root):
    with open(os.path.join(root, "old"), "wb") as f:
        f.write(b"old content\n")
    os.mkdir(os.path.join(root, "dir"))
    with open(os.path.join(root, "dir", "inner"), "wb") as f:
        f.write(b"inner\n" * 100)


def test_ctl_sync_then_powercut(ctx):
    """On a --powercut mount, a cut after `ctl sync` drops nothing made
    before it (data, sizes, names, modes), and everything made after."""
    backing = ctx.path("m.backing")
    os.mkdir(backing)
    pre(backing)
    m = ctx.mount("m", options=["--powercut"])
    mnt = m.mnt
    write(os.path.join(mnt, "old"), b"NEW", flags=os.O_WRONLY)
    write(os.path.join(mnt, "new"), b"created\n")
    os.truncate(os.path.join(mnt, "dir", "inner"), 6)
    os.mkdir(os.path.join(mnt, "sub"))
    write(os.path.join(mnt, "sub", "deep"), b"deep\n")
    os.rename(os.path.join(mnt, "new"), os.path.join(mnt, "renamed"))
    os.chmod(os.path.join(mnt, "old"), 0o600)
    m.ctl("sync")
    # after the sync point: all of it is lost at the cut
    write(os.path.join(mnt, "old"), b"LOST", flags=os.O_WRONLY)
    write(os.path.join(mnt, "after"), b"after\n")
    os.unlink(os.path.join(mnt, "sub", "deep"))
    os.chmod(os.path.join(mnt, "renamed"), 0o700)
    m.ctl("powercut")
    assert read(os.path.join(mnt, "old")) == b"NEW content\n"
    assert os.stat(os.path.join(mnt, "old")).st_mode & 0o777 == 0o600
    assert read(os.path.join(mnt, "renamed")) == b"created\n"
    assert os.stat(os.path.join(mnt, "renamed")).st_mode & 0o777 == 0o644
    assert read(os.path.join(mnt, "dir", "inner")) == b"inner\n"
    assert read(os.path.join(mnt, "sub", "deep")) == b"deep\n"
    assert sorted(os.listdir(mnt)) == ["dir", "old", "renamed", "sub"], (
        os.listdir(mnt))
    m.umount()


# ---- seen by crashfs check ------------------------------------------------

SYNCER_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "tools", "syncer.c")


def static_syncer(ctx):
    """tests/tools/syncer.c linked -static (libc6-dev has libc.a)."""
    out = ctx.path("syncer-static")
    r = run(["cc", "-static", "-O1", "-o", out, SYNCER_SRC], timeout=120)
    assert r.returncode == 0, "cc -static failed: %s" % r.stderr[-500:]
    r = run(["file", out], timeout=10) if os.path.exists("/usr/bin/file") \
        else None
    if r is not None:
        assert "statically linked" in r.stdout, r.stdout
    return out


def check(ctx, cmd, *opts, keep="run"):
    """crashfs check --keep TMP/KEEP OPTS -- CMD (cwd: the case's dir):
    (exit status, output, the run's trace)."""
    run_dir = ctx.path(keep)
    r = run([CRASHFS, "check", "--keep", run_dir] + list(opts) + ["--"] +
            cmd, timeout=300, cwd=ctx.path())
    return r.returncode, r.stdout + r.stderr, os.path.join(run_dir, "trace")


def test_check_sh_sync(ctx):
    """The issue's example: `echo new > f && sync && crashfs mark saved`
    passes --durable f; without the watch it fails, and says why."""
    cmd = ["sh", "-c", "echo new > f && sync && crashfs mark saved"]
    st, out, trace = check(ctx, cmd, "--durable", "f")
    assert st == 0, "sync before the mark: expected a pass:\n" + out
    assert "not seen" not in out, out
    t = Trace(trace)
    syncs = t.of_type("sync")
    assert len(syncs) == 1 and syncs[0]["oflags_names"] == "sync(2)", (
        t.dump())
    assert syncs[0]["pid"] > 0
    assert t.of_type("write")[0]["seq"] < syncs[0]["seq"] < \
        t.of_type("mark")[0]["seq"], t.dump()

    st, out, _ = check(ctx, cmd, "--durable", "f", "--no-sync-watch",
                       keep="unwatched")
    assert st == 1, "unwatched: expected a failure:\n" + out
    assert ("sync(2) and syncfs(2) calls are not seen in this run "
            "(--no-sync-watch was given)") in out, out


def test_check_static_binary(ctx):
    """A static binary's sync(2) and syncfs(2) of the mount are seen too
    (the filter is in the kernel, not in libc)."""
    prog = static_syncer(ctx)
    for step, kind in ((["sync"], "sync(2)"), (["syncfs", "."], "syncfs(2)")):
        cmd = ["sh", "-c", '"$0" write f new "$@" && crashfs mark saved',
               prog] + step
        st, out, trace = check(ctx, cmd, "--durable", "f", keep=kind[:-3])
        assert st == 0, "%s in a static binary: expected a pass:\n%s" % (
            kind, out)
        syncs = Trace(trace).of_type("sync")
        assert [s["oflags_names"] for s in syncs] == [kind], syncs


def test_check_syncfs_elsewhere(ctx):
    """syncfs(2) of another filesystem is not a sync point of the mount:
    not recorded, and the write is still not durable; the same program
    syncing a file of the mount is."""
    other = ctx.path("elsewhere")
    with open(other, "w") as f:
        f.write("x")
    for target, durable in ((other, False), ("f", True)):
        cmd = [ctx.tool("syncer"), "write", "f", "new", "syncfs", target]
        cmd = ["sh", "-c", '"$@" && crashfs mark saved', "sh"] + cmd
        st, out, trace = check(ctx, cmd, "--durable", "f",
                               keep="run-mount" if durable else "run-other")
        syncs = Trace(trace).of_type("sync")
        if durable:
            assert st == 0, "syncfs of the mount: expected a pass:\n" + out
            assert [s["oflags_names"] for s in syncs] == ["syncfs(2)"]
        else:
            assert st == 1, "syncfs elsewhere: expected a failure:\n" + out
            assert not syncs, syncs


def test_check_sync_file_range(ctx):
    """sync_file_range(2) is recorded with its file, range and flags, and
    is not a durability point: a crash state still loses the data."""
    cmd = [ctx.tool("syncer"), "write", "f", "new data", "range", "f", "0",
           "8", "7"]
    cmd = ["sh", "-c", '"$@" && crashfs mark saved', "sh"] + cmd
    st, out, trace = check(ctx, cmd, "--durable", "f")
    assert st == 1, "sync_file_range: expected a failure:\n" + out
    assert "FAIL durable f" in out, out
    t = Trace(trace)
    assert not t.of_type("sync"), t.dump()
    r = t.of_type("sync_file_range")
    assert len(r) == 1, t.dump()
    r = r[0]
    assert (r["path"], r["off"], r["len"], r["oflags"]) == ("f", 0, 8, 7), r
    assert r["oflags_names"] == ("SYNC_FILE_RANGE_WAIT_BEFORE|"
                                 "SYNC_FILE_RANGE_WRITE|"
                                 "SYNC_FILE_RANGE_WAIT_AFTER"), r


def test_check_mmap_then_sync(ctx):
    """Pages written through a shared mapping reach the daemon only when
    the kernel writes them back; a sync(2) does, and its record must come
    after those writes."""
    prog = ctx.tool("syncer")
    cmd = ["sh", "-c", '"$0" write f old-data && "$0" mmapwrite f NEW-DATA '
           'sync && crashfs mark saved', prog]
    st, out, trace = check(ctx, cmd, "--durable", "f")
    assert st == 0, "mmap then sync: expected a pass:\n" + out
    t = Trace(trace)
    writes = [w for w in t.of_type("write") if w["seq"]]
    sync = t.of_type("sync")[0]
    assert writes[-1]["seq"] < sync["seq"], t.dump()


def test_check_i386_binary(ctx):
    """A 32-bit x86 program on x86-64: its calls have other numbers and
    sync_file_range's 64-bit offsets come in two halves.  Needs a compiler
    that builds -m32 (gcc-multilib): skipped without one."""
    if os.uname().machine != "x86_64":
        raise Skip("not an x86-64 machine")
    prog = ctx.path("syncer32")
    r = run(["cc", "-m32", "-static", "-O1", "-o", prog, SYNCER_SRC],
            timeout=120)
    if r.returncode != 0:
        raise Skip("cc -m32 -static does not work here (gcc-multilib)")
    try:
        r = run([prog], timeout=30)
    except OSError as e:
        raise Skip("this kernel does not run 32-bit x86 programs: %s" % e)
    if r.returncode != 0:
        raise Skip("this kernel does not run 32-bit x86 programs")
    cmd = ["sh", "-c", '"$0" write f new range f 4294967299 8589934597 2 '
           'sync && crashfs mark saved', prog]
    st, out, trace = check(ctx, cmd, "--durable", "f")
    assert st == 0, "i386 sync: expected a pass:\n" + out
    t = Trace(trace)
    r = t.of_type("sync_file_range")
    assert len(r) == 1 and (r[0]["off"], r[0]["len"], r[0]["oflags"]) == (
        4294967299, 8589934597, 2), t.dump()
    assert [s["oflags_names"] for s in t.of_type("sync")] == ["sync(2)"]


# ---- the control connections the watch keeps open --------------------------

def ctl_address(m):
    """The abstract address of m's control socket, found through the
    daemon's listening socket in /proc/net/unix."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % m.daemon_pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    with open("/proc/net/unix") as f:
        for line in f.read().splitlines()[1:]:
            cols = line.split()
            # Num RefCount Protocol Flags Type St Inode Path; 01: listening
            if len(cols) == 8 and cols[6] in inodes and \
                    cols[7].startswith("@crashfs-") and cols[5] == "01":
                return "\0" + cols[7][1:]
    raise AssertionError("no listening control socket of pid %d"
                         % m.daemon_pid)


def ctl_conn(addr):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(addr)
    s.settimeout(20)
    return s


def ask(s, line):
    """One request on s; its final line."""
    s.sendall(line.encode() + b"\n")
    buf = b""
    while True:
        chunk = s.recv(4096)
        assert chunk, "the daemon closed the connection after %r" % line
        buf += chunk
        last = buf.split(b"\n")[-2] if buf.endswith(b"\n") else None
        if last is not None and (last == b"ok" or last.startswith(b"error")):
            return last.decode()


def closed(s, secs):
    """Did the daemon close s within secs (EOF)?"""
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


@timeout(120)
def test_ctl_connections_served_together(ctx):
    """The daemon serves several control connections: a client that
    connected and sends nothing holds nobody up (it is closed after 5 s),
    one that made a request may stay idle and ask again later, and past
    32 kept connections the one idle longest is closed."""
    m = ctx.mount()
    addr = ctl_address(m)
    silent = ctl_conn(addr)
    kept = ctl_conn(addr)
    t0 = time.monotonic()
    assert ask(kept, "mark one") == "ok"
    m.ctl("mark", "two")
    assert time.monotonic() - t0 < 3, (
        "a silent connection held the server up for %.1f s"
        % (time.monotonic() - t0))
    assert closed(silent, 15), "the silent connection was not closed"
    time.sleep(1)  # kept has now been idle past the 5 s request timeout
    assert ask(kept, "mark three") == "ok"
    more = [ctl_conn(addr) for _ in range(32)]
    for i, s in enumerate(more):
        assert ask(s, "status") == "ok", i
    assert closed(kept, 10), "the connection idle longest was kept"
    assert not closed(more[-1], 0.5)
    assert ask(more[-1], "mark four") == "ok"
    for s in more + [silent, kept]:
        s.close()
    m.umount()
    marks = [x["name"] for x in Trace(m.trace).of_type("mark")]
    assert marks == ["one", "two", "three", "four"], marks


SRF_LOOP = """
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
srf = libc.sync_file_range
srf.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
n = int(sys.argv[1])
fd = os.open("f", os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(n):
    os.pwrite(fd, b"x" * 512, 512 * i)
    assert srf(fd, 512 * i, 512, 2) == 0, ctypes.get_errno()
    if i % 50 == 49:
        subprocess.run(["crashfs", "mark", "m%d" % i], check=True)
os.close(fd)
"""


@timeout(300)
def test_check_sync_file_range_loop(ctx):
    """Many sync_file_range calls over the watch's one connection, with
    `crashfs mark` (connections of their own) between them: each call is
    recorded once, after its write and before the next, in program order
    with the marks."""
    n = 200
    st, out, trace = check(ctx, [sys.executable, "-c", SRF_LOOP, str(n)],
                           "--check", "true", "--points", "marks")
    assert st == 0, out
    t = Trace(trace)
    seq = [(r["type"], r.get("off"), r.get("name")) for r in t.records
           if r["type"] in ("write", "sync_file_range", "mark")
           and (r["type"] != "write" or r.get("path") == "f")]
    want = []
    for i in range(n):
        want += [("write", 512 * i, None), ("sync_file_range", 512 * i, None)]
        if i % 50 == 49:
            want.append(("mark", None, "m%d" % i))
    got = [(k, off if k != "mark" else None, name if k == "mark" else None)
           for k, off, name in seq]
    assert got == want, (len(got), [g for g in got if g not in want][:5])
