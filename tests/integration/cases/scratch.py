# SPDX-License-Identifier: MIT
"""The power cut journal's scratch space (docs/faults.md, "Where the
scratch space is"): it holds only what a power cut could still need, so
its size follows the unsynced data, not the bytes ever overwritten; and a
scratch directory left by a killed daemon is removed by `crashfs umount`
and never reused or tripped over by a new mount.
"""

import os
import signal
import time

from lib import CRASHFS, Skip, alive, log, run


def status(m):
    out = {}
    for line in m.ctl("status").stdout.splitlines():
        k, _, v = line.partition(": ")
        out[k] = v
    return out


def du(path):
    """Bytes allocated under path (files with one link: what removing the
    directory would free)."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(root, name))
            if st.st_nlink == 1:
                total += st.st_blocks * 512
    return total


def put(path, data, off=0, sync=False, create=True):
    fd = os.open(path, os.O_WRONLY | (os.O_CREAT if create else 0), 0o644)
    try:
        os.pwrite(fd, data, off)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def syncdir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


MIB = 1 << 20


def test_bounded_by_unsynced(ctx):
    """One small unsynced file must not make the scratch keep every byte
    overwritten and fsynced since (issue 13): 30 x (1 MiB overwrite +
    fsync) leave nothing saved; overwriting 1 MiB three times without a
    sync saves its old bytes once; the cut still restores them."""
    m = ctx.mount(options=["--powercut"])
    scratch = m.trace + ".scratch"
    big = os.path.join(m.mnt, "big")
    put(big, b"D" * MIB, sync=True)
    syncdir(m.mnt)
    put(os.path.join(m.mnt, "tiny"), b"t")  # stays unsynced throughout
    for i in range(30):
        put(big, bytes([65 + i % 26]) * MIB, sync=True, create=False)
    s = status(m)
    log("after 30 x (1 MiB + fsync): %s scratch bytes, du %d" % (
        s["scratch bytes"], du(scratch)))
    assert int(s["scratch bytes"]) == 0, s
    assert du(scratch) <= 64 << 10, du(scratch)
    assert int(s["unsynced bytes"]) == 1, s
    last = bytes([65 + 29 % 26]) * MIB
    for rnd in range(3):
        for off in range(0, MIB, 4096):
            put(big, b"%d" % rnd * 4096, off=off, create=False)
    s = status(m)
    log("after 3 x 1 MiB unsynced: %s scratch bytes, %s unsynced, du %d" % (
        s["scratch bytes"], s["unsynced bytes"], du(scratch)))
    assert int(s["unsynced bytes"]) == MIB + 1, s
    assert int(s["scratch bytes"]) == MIB, s
    assert du(scratch) <= MIB + (64 << 10), du(scratch)
    m.ctl("powercut")
    with open(big, "rb") as f:
        assert f.read() == last, "the cut did not restore the synced data"
    assert not os.path.exists(os.path.join(m.mnt, "tiny"))
    assert du(scratch) <= 64 << 10, du(scratch)


def kill_daemon(m):
    pid = m.daemon_pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), "daemon %d did not die" % pid


def leave_scratch(m):
    """Give the journal saved bytes and kept entries: an overwritten
    synced file, an unlinked synced file (with a second link, whose count
    a stale kept link would raise)."""
    put(os.path.join(m.mnt, "synced"), b"S" * 65536, sync=True)
    put(os.path.join(m.mnt, "gone"), b"G" * 32768, sync=True)
    os.link(os.path.join(m.mnt, "gone"), os.path.join(m.mnt, "other"))
    syncdir(m.mnt)
    put(os.path.join(m.mnt, "synced"), b"N" * 65536, create=False)
    os.unlink(os.path.join(m.mnt, "gone"))
    s = status(m)
    assert int(s["scratch bytes"]) == 65536, s


def test_stale_removed_by_umount(ctx):
    """A --powercut daemon killed by SIGKILL leaves TRACE.scratch; `crashfs
    umount` of its dead mount removes it and says so."""
    m = ctx.mount(options=["--powercut"])
    scratch = m.trace + ".scratch"
    leave_scratch(m)
    assert os.path.isdir(scratch)
    kill_daemon(m)
    assert os.path.isdir(scratch), "no scratch left to test with"
    r = run([CRASHFS, "umount", m.mnt])
    m.mounted = False
    assert r.returncode == 0, r.stderr
    assert "removed the power cut scratch directory '%s'" % scratch in \
        r.stderr, r.stderr
    assert not os.path.exists(scratch), os.listdir(scratch)


def test_stale_removed_by_next_mount(ctx):
    """A stale scratch left by a daemon killed and unmounted without
    crashfs (fusermount3 -u) is removed by the next mount with the same
    trace: no kept link survives to raise a file's link count."""
    m = ctx.mount(options=["--powercut"])
    scratch = m.trace + ".scratch"
    leave_scratch(m)
    kill_daemon(m)
    r = run(["fusermount3", "-u", m.mnt])
    assert r.returncode == 0, r.stderr
    m.mounted = False
    assert os.path.isdir(scratch)
    other = os.path.join(m.backing, "other")
    assert os.stat(other).st_nlink == 2, "the kept link is not there"
    m2 = ctx.mount(options=[])
    assert not os.path.exists(scratch), os.listdir(scratch)
    assert os.stat(os.path.join(m2.mnt, "other")).st_nlink == 1
    m2.umount()


def test_live_scratch_not_reused(ctx):
    """A second --powercut mount with the trace of a running one must not
    take over (and empty) its scratch: it is refused, naming the pid, and
    the first mount's cut still restores what it saved."""
    m = ctx.mount(options=["--powercut"])
    leave_scratch(m)
    b2, mnt2 = ctx.dir("b2"), ctx.dir("m2")
    r = run([CRASHFS, "mount", "--powercut", "--trace", m.trace, b2, mnt2])
    if r.returncode == 0:
        run([CRASHFS, "umount", mnt2])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "in use by a running crashfs daemon (pid %d)" % m.daemon_pid in \
        r.stderr, r.stderr
    m.ctl("powercut")
    with open(os.path.join(m.mnt, "synced"), "rb") as f:
        assert f.read() == b"S" * 65536
    with open(os.path.join(m.mnt, "gone"), "rb") as f:
        assert f.read() == b"G" * 32768


def test_foreign_directory_left_alone(ctx):
    """TRACE.scratch that crashfs did not make (a user's directory) is
    neither emptied nor used: the mount is refused with a message."""
    trace = ctx.path("t.trace")
    os.mkdir(trace + ".scratch")
    with open(os.path.join(trace + ".scratch", "notes.txt"), "w") as f:
        f.write("mine\n")
    b, mnt = ctx.dir("b"), ctx.dir("mnt")
    r = run([CRASHFS, "mount", "--powercut", "--trace", trace, b, mnt])
    if r.returncode == 0:
        run([CRASHFS, "umount", mnt])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "is not a crashfs scratch directory" in r.stderr, r.stderr
    assert os.listdir(trace + ".scratch") == ["notes.txt"]


def test_stale_hidden_scratch_not_shown(ctx):
    """With the trace on another filesystem the scratch is
    BACKING/.crashfs-scratch; a stale one must not show up in a later
    mount (with or without --powercut) of that backing directory."""
    if os.stat("/dev/shm").st_dev == os.stat(ctx.tmp).st_dev:
        raise Skip("no second filesystem for the trace")
    b, mnt = ctx.dir("hb"), ctx.dir("hm")
    trace = "/dev/shm/crashfs-it-%d.trace" % os.getpid()
    try:
        r = run([CRASHFS, "mount", "--powercut", "--trace", trace, b, mnt])
        assert r.returncode == 0, r.stderr
        put(os.path.join(mnt, "f"), b"x" * 4096, sync=True)
        syncdir(mnt)
        os.unlink(os.path.join(mnt, "f"))
        pid = int([l.split()[1] for l in run(
            [CRASHFS, "ctl", mnt, "status"]).stdout.splitlines()
            if l.startswith("pid:")][0])
        os.kill(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)
        run(["fusermount3", "-u", mnt])
        assert os.path.isdir(os.path.join(b, ".crashfs-scratch"))
        r = run([CRASHFS, "mount", "--trace", trace, b, mnt])
        assert r.returncode == 0, r.stderr
        try:
            assert os.listdir(mnt) == [], os.listdir(mnt)
        finally:
            r = run([CRASHFS, "umount", mnt])
        assert r.returncode == 0, r.stderr
        assert os.listdir(b) == [], os.listdir(b)
    finally:
        if os.path.exists(trace):
            os.unlink(trace)


def test_data_files_removed_after_cut(ctx):
    """A cut lets go of the dirty files' saved bytes at once, and their
    data files leave the scratch directory just after it (a thread of
    their own removes them: freeing blocks is slow, the cut is not)."""
    m = ctx.mount(options=["--powercut"])
    scratch = m.trace + ".scratch"
    for i in range(16):
        put(os.path.join(m.mnt, "f%d" % i), b"d" * 65536, sync=True)
    syncdir(m.mnt)
    for i in range(16):
        put(os.path.join(m.mnt, "f%d" % i), b"x" * 65536, create=False)
    datas = [n for n in os.listdir(scratch) if n.startswith("d")]
    assert len(datas) == 16, sorted(os.listdir(scratch))
    m.ctl("powercut")
    assert int(status(m)["scratch bytes"]) == 0
    for _ in range(100):
        left = [n for n in os.listdir(scratch) if n != "owner"]
        if not left:
            break
        time.sleep(0.05)
    assert not left, left
    for i in range(16):
        with open(os.path.join(m.mnt, "f%d" % i), "rb") as f:
            assert f.read() == b"d" * 65536
    # new saves after the cut take new names and stay
    put(os.path.join(m.mnt, "f0"), b"y" * 100, create=False)
    time.sleep(0.2)
    assert [n for n in os.listdir(scratch) if n != "owner"], \
        "the new data file is gone"
    m.umount()
