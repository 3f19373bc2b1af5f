# SPDX-License-Identifier: MIT
"""Sync points: sync(2) and syncfs(2) never reach a FUSE daemon, so a live
mount learns of one only when a harness declares it (`crashfs ctl MNT
sync`), and `crashfs check`, which starts the workload, watches for them
itself (docs/check.md).  A sync point makes everything before it durable;
sync_file_range(2) is recorded but makes nothing durable.
"""

import json
import os

from lib import CRASHFS, Skip, Trace, run


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
