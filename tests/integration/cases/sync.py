# SPDX-License-Identifier: MIT
"""Sync points: sync(2) and syncfs(2) never reach a FUSE daemon, so a live
mount learns of one only when a harness declares it (`crashfs ctl MNT
sync`), and `crashfs check`, which starts the workload, watches for them
itself (docs/check.md).  A sync point makes everything before it durable;
sync_file_range(2) is recorded but makes nothing durable.
"""

import os

from lib import CRASHFS, Trace, run


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
