# SPDX-License-Identifier: MIT
"""The life of a mount, as a user meets it: mount errors with clear
messages, no extra files in the mounted tree, marks from a workload, a
daemon killed mid-run (its trace reads back to the last whole record), a
full disk under the backing directory or under the trace.
"""

import errno
import os
import signal
import subprocess
import time

from lib import CRASHFS, Trace, is_mounted, run


def mount_fails(ctx, args, what, must_name):
    r = run([CRASHFS, "mount"] + args, timeout=30)
    assert r.returncode != 0, "crashfs mount %s succeeded" % what
    assert r.returncode == 2, ("crashfs mount %s: exit %d, want 2 (setup "
                               "error)" % (what, r.returncode))
    msg = r.stderr.strip()
    assert msg and must_name in msg, (
        "crashfs mount %s: the message %r does not name %s"
        % (what, msg, must_name))
    with open("/proc/self/mountinfo") as f:
        assert ctx.tmp not in f.read(), "a failed mount left a mount"
    return msg


def test_mount_errors(ctx):
    ctx.needs_trace()
    b, m = ctx.dir("b"), ctx.dir("m")
    t = ctx.path("t")
    mount_fails(ctx, ["--trace", t, ctx.path("nope"), m],
                "with a missing backing directory", ctx.path("nope"))
    mount_fails(ctx, ["--trace", t, b, ctx.path("nomnt")],
                "on a missing mount point", ctx.path("nomnt"))
    mount_fails(ctx, ["--trace", ctx.path("no", "dir", "t"), b, m],
                "with a trace in a missing directory",
                ctx.path("no", "dir", "t"))
    f = ctx.path("file")
    open(f, "w").close()
    mount_fails(ctx, ["--trace", t, f, m], "with a file as backing", f)
    r = run([CRASHFS, "mount", b, m])
    assert r.returncode == 2, "crashfs mount without --trace: exit %d" % (
        r.returncode)
    # the trace and the mount point must stay outside the recorded tree
    mount_fails(ctx, ["--trace", os.path.join(b, "t"), b, m],
                "with the trace inside the backing directory",
                os.path.join(b, "t"))
    mount_fails(ctx, ["--trace", os.path.join(m, "t"), b, m],
                "with the trace inside the mount point",
                os.path.join(m, "t"))
    mount_fails(ctx, ["--trace", t, b, b],
                "with the backing directory as mount point", b)
    os.mkdir(os.path.join(b, "sub"))
    mount_fails(ctx, ["--trace", t, b, os.path.join(b, "sub")],
                "with the mount point inside the backing directory",
                os.path.join(b, "sub"))
    os.rmdir(os.path.join(b, "sub"))
    # ctl and umount on a directory that is no crashfs mount
    for cmd in (["ctl", m, "mark", "x"], ["ctl", m, "status"],
                ["umount", m]):
        r = run([CRASHFS] + cmd)
        assert r.returncode != 0 and m in r.stderr, (
            "crashfs %s on a plain directory: exit %d, %r"
            % (" ".join(cmd[:1] + cmd[2:]), r.returncode, r.stderr))
    # a second mount on a busy mount point is refused, the first one
    # keeps working
    mnt = ctx.mount()
    r = run([CRASHFS, "mount", "--trace", ctx.path("t2"), b, mnt.mnt])
    assert r.returncode != 0, "a second crashfs mount on %s succeeded" % (
        mnt.mnt)
    with open(os.path.join(mnt.mnt, "still"), "w") as fh:
        fh.write("works")
    mnt.umount()
    with open(os.path.join(mnt.backing, "still")) as fh:
        assert fh.read() == "works"


def test_no_extra_files(ctx):
    """The control channel lives outside the tree: a fresh mount over an
    empty directory is empty, also after marks."""
    ctx.needs_trace()
    m = ctx.mount()
    assert os.listdir(m.mnt) == [], "a fresh mount lists %r" % (
        os.listdir(m.mnt))
    m.mark("x")
    assert os.listdir(m.mnt) == [], "after a mark the mount lists %r" % (
        os.listdir(m.mnt))
    m.umount()
    assert os.listdir(m.backing) == [], (
        "crashfs left %r in the backing directory" % os.listdir(m.backing))


def test_mark_from_workload(ctx):
    """`crashfs mark TEXT` from inside a program, the mount named by
    CRASHFS_MOUNT."""
    ctx.needs_trace()
    m = ctx.mount()
    env = dict(os.environ, CRASHFS_MOUNT=m.mnt)
    with open(os.path.join(m.mnt, "f"), "w") as f:
        f.write("1")
    r = run([CRASHFS, "mark", "committed", "txn", "7"], env=env)
    assert r.returncode == 0, "crashfs mark: %s" % r.stderr
    env.pop("CRASHFS_MOUNT")
    r = run([CRASHFS, "mark", "lost"], env=env)
    assert r.returncode != 0 and r.stderr.strip(), (
        "crashfs mark without CRASHFS_MOUNT must fail with a message")
    m.umount()
    marks = [r.get("name") for r in Trace(m.trace).of_type("mark")]
    assert marks == ["committed txn 7"], "marks in the trace: %r" % marks


def test_killed_daemon(ctx):
    """kill -9 of the daemon: the program gets errors (no hang), umount
    still cleans up, and the trace reads back to its last whole record."""
    ctx.needs_trace()
    m = ctx.mount()
    assert m.daemon_pid, "crashfs ctl status does not give the daemon pid"
    with open(os.path.join(m.mnt, "before"), "wb") as f:
        f.write(b"x" * 10000)
    m.mark("before the kill")
    os.kill(m.daemon_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/%d" % m.daemon_pid):
        assert time.monotonic() < deadline, "the daemon did not die"
        time.sleep(0.02)
    try:
        os.listdir(m.mnt)
        raise AssertionError("the mount still answers with its daemon dead")
    except OSError as e:
        assert e.errno == errno.ENOTCONN, "after the kill: %s" % e
    m.mounted = False
    r = run([CRASHFS, "umount", m.mnt], timeout=30)
    assert not is_mounted(m.mnt), (
        "crashfs umount left the dead mount in place (exit %d): %s"
        % (r.returncode, r.stderr))
    r = run([CRASHFS, "trace", "--json", m.trace])
    assert r.returncode == 0, ("a trace cut by a killed daemon must read "
                               "back (exit %d): %s" % (r.returncode,
                                                       r.stderr))
    t = Trace(m.trace)
    types = [x.get("type") for x in t]
    assert "end" not in types, "a killed daemon's trace has an end record"
    assert [x.get("name") for x in t.of_type("mark")] == [
        "before the kill"], "the mark made before the kill is missing"
    w = [x for x in t.of_type("write") if x.get("path") == "before"]
    assert sum(x["data_len"] for x in w) == 10000, (
        "the writes made before the kill are not all in the trace")


def small_tmpfs(ctx, name, size):
    p = ctx.dir(name)
    r = run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", p])
    if r.returncode != 0:
        from lib import Skip
        raise Skip("cannot mount a tmpfs (%s)" % r.stderr.strip())
    ctx.extra_mounts.append(p)
    return p


def fill(path, chunk=64 << 10, limit=64 << 20):
    """Write to path until it fails; returns (bytes written, errno)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    n = 0
    try:
        while n < limit:
            n += os.write(fd, b"z" * chunk)
    except OSError as e:
        return n, e.errno
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    return n, 0


def full_mount(ctx):
    """A crashfs mount over a 2 MiB tmpfs, filled to ENOSPC through the
    mount by the file big (closed); returns the Mount."""
    small = small_tmpfs(ctx, "small", "2m")
    os.mkdir(os.path.join(small, "b"))
    os.mkdir(ctx.path("m.mnt"))
    r = run([CRASHFS, "mount", "--trace", ctx.path("m.trace"),
             os.path.join(small, "b"), ctx.path("m.mnt")])
    assert r.returncode == 0, "crashfs mount: %s" % r.stderr
    from lib import Mount, daemon_pid
    m = Mount(ctx, os.path.join(small, "b"), ctx.path("m.mnt"),
              ctx.path("m.trace"))
    ctx.mounts.append(m)
    m.daemon_pid = daemon_pid(m.mnt)
    n, err = fill(os.path.join(m.mnt, "big"))
    assert err == errno.ENOSPC, ("filling the backing file system: %s after "
                                 "%d bytes, want ENOSPC" % (
                                     errno.errorcode.get(err, err), n))
    return m


def write_after(m, what):
    """Write a file on the mount; the disk must have room again."""
    try:
        with open(os.path.join(m.mnt, "after"), "w") as f:
            f.write("room again")
    except OSError as e:
        raise AssertionError("writing after %s: %s" % (what, e))


def test_backing_full(ctx):
    """ENOSPC under the backing directory reaches the program; the mount
    and the trace stay usable, and deleting the file that filled the disk
    gives its room back at once, as on a plain directory."""
    ctx.needs_trace()
    m = full_mount(ctx)
    os.unlink(os.path.join(m.mnt, "big"))
    write_after(m, "closing and deleting the file that filled the disk")
    m.umount()
    t = Trace(m.trace)
    failed = [x for x in t.of_type("write") if x.get("result") ==
              -errno.ENOSPC]
    assert failed, "the failed write (ENOSPC) is not in the trace"
    assert t.records[-1].get("type") == "end"


def test_backing_full_late_forget(ctx):
    """The room of a deleted file comes back when the kernel forgets the
    file, which it does asynchronously after the unlink: a write that
    meets ENOSPC meanwhile waits for it (fs.h, inode_space_wait).  The
    kernel is made to forget late by an O_PATH descriptor on the file,
    closed by another thread 0.1 s after the unlink."""
    import threading
    ctx.needs_trace()
    m = full_mount(ctx)
    fd = os.open(os.path.join(m.mnt, "big"), os.O_PATH)
    os.unlink(os.path.join(m.mnt, "big"))
    late = threading.Timer(0.1, os.close, (fd,))
    late.start()
    try:
        write_after(m, "the kernel forgot the deleted file late")
    finally:
        late.join()
    m.umount()


def test_trace_disk_full(ctx):
    """The disk under the trace fills up: operations are refused (the
    program gets an error) rather than applied and left unrecorded, and
    the trace reads back."""
    ctx.needs_trace()
    small = small_tmpfs(ctx, "small", "1m")
    b = ctx.dir("b")
    mnt = ctx.dir("mnt")
    trace = os.path.join(small, "t")
    r = run([CRASHFS, "mount", "--trace", trace, b, mnt])
    assert r.returncode == 0, "crashfs mount: %s" % r.stderr
    from lib import Mount, daemon_pid
    m = Mount(ctx, b, mnt, trace)
    ctx.mounts.append(m)
    m.daemon_pid = daemon_pid(mnt)
    n, err = fill(os.path.join(mnt, "big"), limit=16 << 20)
    assert err in (errno.ENOSPC, errno.EIO), (
        "writing 16 MiB with a 1 MiB trace disk: %s after %d bytes"
        % (errno.errorcode.get(err, err) if err else "no error", n))
    on_disk = os.path.getsize(os.path.join(b, "big"))
    print("trace disk full: %s after %d bytes, %d on disk" % (
        errno.errorcode.get(err), n, on_disk))
    r = run([CRASHFS, "umount", mnt], timeout=30)
    m.mounted = False
    assert not is_mounted(mnt), "crashfs umount: %s" % r.stderr
    r = run([CRASHFS, "trace", "--json", trace])
    assert r.returncode == 0, "the trace does not read back: %s" % r.stderr
    t = Trace(trace)
    recorded = sum(x["data_len"] for x in t.of_type("write")
                   if x.get("result", 0) > 0)
    assert recorded == on_disk, (
        "%d bytes reached the backing file but the trace records %d: "
        "writes were applied and not recorded" % (on_disk, recorded))


def test_umount_busy(ctx):
    """umount while a program holds a file open: refused with a message,
    the mount keeps working; once the file is closed umount succeeds and
    the trace is complete."""
    ctx.needs_trace()
    m = ctx.mount()
    fd = os.open(os.path.join(m.mnt, "held"), os.O_CREAT | os.O_RDWR, 0o644)
    r = run([CRASHFS, "umount", m.mnt], timeout=60)
    assert r.returncode != 0 and r.stderr.strip(), (
        "crashfs umount of a busy mount: exit %d, %r"
        % (r.returncode, r.stderr))
    assert is_mounted(m.mnt), "the busy mount is gone"
    assert os.write(fd, b"still works") == 11
    os.close(fd)
    m.umount()
    t = Trace(m.trace)
    assert t.records[-1].get("type") == "end"
    assert [x.get("data_len") for x in t.of_type("write")] == [11]


def test_relative_paths(ctx):
    """crashfs mount and umount with paths relative to the working
    directory (the daemon runs in the background, elsewhere)."""
    ctx.needs_trace()
    os.mkdir(ctx.path("b"))
    os.mkdir(ctx.path("m m"))
    r = run([CRASHFS, "mount", "--trace", "t", "b", "m m"], cwd=ctx.tmp)
    assert r.returncode == 0, "crashfs mount with relative paths: %s" % (
        r.stderr)
    from lib import Mount, daemon_pid
    m = Mount(ctx, ctx.path("b"), ctx.path("m m"), ctx.path("t"))
    ctx.mounts.append(m)
    m.daemon_pid = daemon_pid(m.mnt)
    with open(ctx.path("m m", "f"), "w") as f:
        f.write("relative")
    r = run([CRASHFS, "ctl", "m m", "mark", "rel"], cwd=ctx.tmp)
    assert r.returncode == 0, "crashfs ctl with a relative path: %s" % (
        r.stderr)
    r = run([CRASHFS, "umount", "m m"], cwd=ctx.tmp)
    m.mounted = False
    assert r.returncode == 0, "crashfs umount with a relative path: %s" % (
        r.stderr)
    assert not is_mounted(ctx.path("m m"))
    with open(ctx.path("b", "f")) as f:
        assert f.read() == "relative"
    t = Trace(ctx.path("t"))
    assert [x.get("name") for x in t.of_type("mark")] == ["rel"]
    assert t.records[-1].get("type") == "end"


def test_real_sync(ctx):
    """--real-sync: fsync, fdatasync and directory fsync still work and
    are recorded the same way."""
    ctx.needs_trace()
    m = ctx.mount(options=["--real-sync"])
    p = os.path.join(m.mnt, "f")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"durable")
    os.fsync(fd)
    os.fdatasync(fd)
    os.close(fd)
    dfd = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)
    m.umount()
    t = Trace(m.trace)
    assert [(x.get("type"), x.get("result")) for x in
            t.of_type("fsync", "fsyncdir")] == [
        ("fsync", 0), ("fsync", 0), ("fsyncdir", 0)], (
        "sync records with --real-sync: %r" % [
            (x.get("type"), x.get("result"))
            for x in t.of_type("fsync", "fsyncdir")])


def test_read_live_trace(ctx):
    """`crashfs trace` on the trace of a live mount shows what happened so
    far (records are handed to the kernel as they are made)."""
    ctx.needs_trace()
    m = ctx.mount()
    with open(os.path.join(m.mnt, "f"), "wb") as f:
        f.write(b"live")
    m.mark("so far")
    t = Trace(m.trace)
    types = [x.get("type") for x in t]
    assert "write" in types and "mark" in types and "end" not in types, (
        "the live trace reads as %r" % types)
    m.umount()
    assert Trace(m.trace).records[-1].get("type") == "end"


def mount_with_fd_limit(ctx, limit):
    """Mount with the daemon's RLIMIT_NOFILE (soft and hard) at limit, as
    in a container with a low hard limit."""
    import resource

    from lib import Mount, daemon_pid
    b, mnt, trace = ctx.dir("b"), ctx.dir("mnt"), ctx.path("t")
    r = subprocess.run(
        [CRASHFS, "mount", "--trace", trace, "--log", ctx.path("log"), b,
         mnt], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        timeout=30, preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_NOFILE, (limit, limit)))
    assert r.returncode == 0, "crashfs mount: %s" % r.stderr
    m = Mount(ctx, b, mnt, trace)
    ctx.mounts.append(m)
    m.daemon_pid = daemon_pid(mnt)
    return m


def create_many(mnt, n):
    """Create n empty files; returns (created, first error or None)."""
    for i in range(n):
        try:
            os.close(os.open(os.path.join(mnt, "f%05d" % i),
                             os.O_CREAT | os.O_WRONLY, 0o644))
        except OSError as e:
            return i, e
    return n, None


def test_fd_limit_trace_consistent(ctx):
    """However the daemon copes with running out of file descriptors, the
    trace must agree with what the program saw and with the backing
    directory, and umount must still finish the trace."""
    ctx.needs_trace()
    m = mount_with_fd_limit(ctx, 1024)
    made, err = create_many(m.mnt, 1500)
    print("created %d files, then %s" % (made, err))
    problems = []
    on_disk = sorted(os.listdir(m.backing))
    mine = ["f%05d" % i for i in range(made)]
    if on_disk != mine:
        problems.append(
            "the program created %d files (then got %s), the backing "
            "directory holds %d: extra %s" % (
                made, err, len(on_disk), sorted(set(on_disk) - set(mine))))
    r = run([CRASHFS, "umount", m.mnt], timeout=60)
    m.mounted = False
    if r.returncode != 0:
        problems.append("crashfs umount after the daemon ran out of "
                        "descriptors: exit %d: %s" % (r.returncode,
                                                      r.stderr.strip()))
    t = Trace(m.trace)
    if t.records[-1].get("type") != "end":
        problems.append("the trace has no end record")
    ok = sorted(x["entry"] for x in t.of_type("create")
                if x.get("result") == 0)
    if ok != mine:
        problems.append("the trace records %d successful creates, the "
                        "program saw %d: %s" % (
                            len(ok), made, sorted(set(ok) ^ set(mine))[:5]))
    assert not problems, "\n  ".join(problems)


def test_fd_limit_many_files(ctx):
    """A program creates more files than the daemon may hold descriptors
    (1024 here, a common hard limit; a source tree has more files): on a
    plain directory that just works."""
    ctx.needs_trace()
    m = mount_with_fd_limit(ctx, 1024)
    made, err = create_many(m.mnt, 1500)
    assert err is None, ("creating file %d of 1500 failed with %s (the "
                         "daemon may hold 1024 descriptors)" % (made, err))
    assert len(os.listdir(m.mnt)) == 1500
    m.umount()
