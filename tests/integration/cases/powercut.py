# SPDX-License-Identifier: MIT
"""The live power cut: `crashfs ctl MNT powercut` must leave under the
mount exactly the durable state of the `strict` model (docs/faults.md):
what was fsynced survives, everything else is gone, for each kind of
change; open handles fail with EIO afterwards, new opens see the cut tree,
and cuts can follow each other.

The differential case runs random operations with random syncs, cuts the
power, and compares the tree with what `crashfs replay` builds for the
strict state at that point from the same trace and initial image.
"""

import errno
import os
import random
import shutil
import struct
import subprocess
import time

from lib import CRASHFS, compare_trees, log, run

TR_POWERCUT = 24


def mount_with(ctx, setup=None, name="m"):
    """Mount over a backing directory prepared by setup(root); keep a copy
    of it as it was (the initial image) in TMP/NAME.initial."""
    backing = ctx.path(name + ".backing")
    os.mkdir(backing)
    if setup:
        setup(backing)
    initial = ctx.path(name + ".initial")
    r = run(["cp", "-a", backing, initial])
    assert r.returncode == 0, r.stderr
    return ctx.mount(name, options=["--powercut"])


def powercut(m):
    m.ctl("powercut")


def status(m):
    out = {}
    for line in m.ctl("status").stdout.splitlines():
        k, _, v = line.partition(": ")
        out[k] = v
    return out


def write(path, data, sync=None, flags=os.O_CREAT | os.O_WRONLY):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
        if sync == "fsync":
            os.fsync(fd)
        elif sync == "fdatasync":
            os.fdatasync(fd)
    finally:
        os.close(fd)


def syncdir(path, data=False):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        (os.fdatasync if data else os.fsync)(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def listing(path):
    return sorted(os.listdir(path))


def pre(root):
    with open(os.path.join(root, "old"), "wb") as f:
        f.write(b"old content\n")
    os.mkdir(os.path.join(root, "dir"))
    with open(os.path.join(root, "dir", "inner"), "wb") as f:
        f.write(b"inner\n" * 100)


# ---- each kind of loss, and the same after the sync that keeps it --------

def test_unsynced_write(ctx):
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    write(p, b"NEW", flags=os.O_WRONLY)
    write(os.path.join(m.mnt, "dir", "inner"), b"X" * 5000,
          flags=os.O_WRONLY | os.O_APPEND)
    powercut(m)
    assert read(p) == b"old content\n", read(p)
    assert read(os.path.join(m.mnt, "dir", "inner")) == b"inner\n" * 100


def test_synced_write_survives(ctx):
    for sync in ("fsync", "fdatasync"):
        m = mount_with(ctx, pre, name="m" + sync)
        p = os.path.join(m.mnt, "old")
        write(p, b"NEW", sync=sync, flags=os.O_WRONLY)
        write(p, b"N", flags=os.O_WRONLY)  # unsynced again: lost
        powercut(m)
        assert read(p) == b"NEW content\n", (sync, read(p))


def test_size_change(ctx):
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    os.truncate(p, 3)
    write(os.path.join(m.mnt, "dir", "inner"), b"", flags=os.O_WRONLY |
          os.O_TRUNC)
    powercut(m)
    assert read(p) == b"old content\n", read(p)
    assert read(os.path.join(m.mnt, "dir", "inner")) == b"inner\n" * 100
    # a synced truncate stays, an extension past it goes
    fd = os.open(p, os.O_WRONLY)
    os.ftruncate(fd, 3)
    os.fsync(fd)
    os.ftruncate(fd, 100)
    os.close(fd)
    powercut(m)
    assert read(p) == b"old", read(p)


def test_create(ctx):
    m = mount_with(ctx, pre)
    write(os.path.join(m.mnt, "new"), b"data", sync="fsync")
    os.mkdir(os.path.join(m.mnt, "newdir"))
    write(os.path.join(m.mnt, "newdir", "f"), b"x")
    powercut(m)
    # fsync of the file does not persist its name
    assert listing(m.mnt) == ["dir", "old"], listing(m.mnt)
    write(os.path.join(m.mnt, "new"), b"data", sync="fsync")
    syncdir(m.mnt)
    write(os.path.join(m.mnt, "new2"), b"data2", sync="fsync")
    syncdir(m.mnt, data=True)  # fdatasync of a directory counts
    write(os.path.join(m.mnt, "new3"), b"unsynced")
    syncdir(m.mnt)
    powercut(m)
    assert listing(m.mnt) == ["dir", "new", "new2", "new3", "old"]
    assert read(os.path.join(m.mnt, "new")) == b"data"
    assert read(os.path.join(m.mnt, "new2")) == b"data2"
    assert read(os.path.join(m.mnt, "new3")) == b""


def test_rename(ctx):
    m = mount_with(ctx, pre)
    mnt = m.mnt
    write(os.path.join(mnt, "tmp"), b"new content\n", sync="fsync")
    syncdir(mnt)
    os.rename(os.path.join(mnt, "tmp"), os.path.join(mnt, "old"))
    os.rename(os.path.join(mnt, "dir"), os.path.join(mnt, "moved"))
    powercut(m)
    assert listing(mnt) == ["dir", "old", "tmp"], listing(mnt)
    assert read(os.path.join(mnt, "old")) == b"old content\n"
    assert read(os.path.join(mnt, "tmp")) == b"new content\n"
    assert read(os.path.join(mnt, "dir", "inner")) == b"inner\n" * 100
    # with the directory synced, the replace survives
    os.rename(os.path.join(mnt, "tmp"), os.path.join(mnt, "old"))
    syncdir(mnt)
    powercut(m)
    assert listing(mnt) == ["dir", "old"], listing(mnt)
    assert read(os.path.join(mnt, "old")) == b"new content\n"


def test_listing_read_before_cut(ctx):
    """The kernel keeps directory listings (directories are opened without
    a request, so it caches what readdir returned): a power cut that undoes
    entries must make it list them again, not show the lost names."""
    m = mount_with(ctx, pre)
    mnt, d = m.mnt, os.path.join(m.mnt, "dir")
    assert listing(mnt) == ["dir", "old"] and listing(d) == ["inner"]
    write(os.path.join(mnt, "new"), b"x")
    os.rename(os.path.join(d, "inner"), os.path.join(d, "moved"))
    os.unlink(os.path.join(mnt, "old"))
    assert listing(mnt) == ["dir", "new"], listing(mnt)
    assert listing(d) == ["moved"], listing(d)
    powercut(m)
    assert listing(mnt) == ["dir", "old"], listing(mnt)
    assert listing(d) == ["inner"], listing(d)


def test_rename_across_dirs(ctx):
    m = mount_with(ctx, pre)
    mnt = m.mnt
    os.rename(os.path.join(mnt, "old"), os.path.join(mnt, "dir", "x"))
    powercut(m)
    assert listing(mnt) == ["dir", "old"] and listing(
        os.path.join(mnt, "dir")) == ["inner"]
    # either directory's fsync persists the whole rename
    os.rename(os.path.join(mnt, "old"), os.path.join(mnt, "dir", "x"))
    syncdir(os.path.join(mnt, "dir"))
    powercut(m)
    assert listing(mnt) == ["dir"], listing(mnt)
    assert listing(os.path.join(mnt, "dir")) == ["inner", "x"]


def test_unlink(ctx):
    m = mount_with(ctx, pre)
    mnt = m.mnt
    os.unlink(os.path.join(mnt, "old"))
    os.unlink(os.path.join(mnt, "dir", "inner"))
    powercut(m)
    assert read(os.path.join(mnt, "old")) == b"old content\n"
    assert read(os.path.join(mnt, "dir", "inner")) == b"inner\n" * 100
    os.unlink(os.path.join(mnt, "dir", "inner"))
    os.rmdir(os.path.join(mnt, "dir"))
    powercut(m)
    assert read(os.path.join(mnt, "dir", "inner")) == b"inner\n" * 100
    os.unlink(os.path.join(mnt, "old"))
    syncdir(mnt)
    powercut(m)
    assert listing(mnt) == ["dir"], listing(mnt)


def test_unlink_keeps_unsynced_data_out(ctx):
    """An unlinked file comes back with its durable content, not with what
    was written to it unsynced before the unlink."""
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    write(p, b"OOPS", flags=os.O_WRONLY)
    os.unlink(p)
    powercut(m)
    assert read(p) == b"old content\n", read(p)


def test_link_and_mkdir(ctx):
    m = mount_with(ctx, pre)
    mnt = m.mnt
    os.link(os.path.join(mnt, "old"), os.path.join(mnt, "hard"))
    os.mkdir(os.path.join(mnt, "d2"))
    os.symlink("old", os.path.join(mnt, "sym"))
    powercut(m)
    assert listing(mnt) == ["dir", "old"], listing(mnt)
    assert os.stat(os.path.join(mnt, "old")).st_nlink == 1
    os.link(os.path.join(mnt, "old"), os.path.join(mnt, "hard"))
    os.mkdir(os.path.join(mnt, "d2"))
    syncdir(mnt)
    powercut(m)
    assert listing(mnt) == ["d2", "dir", "hard", "old"], listing(mnt)
    assert os.stat(os.path.join(mnt, "old")).st_nlink == 2


def test_open_handles_fail_after_cut(ctx):
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    fd = os.open(p, os.O_RDWR)
    os.write(fd, b"abc")
    powercut(m)
    for what, call in (("write", lambda: os.write(fd, b"x")),
                       ("read", lambda: os.pread(fd, 10, 0)),
                       ("fsync", lambda: os.fsync(fd))):
        try:
            call()
        except OSError as e:
            assert e.errno == errno.EIO, (what, e)
        else:
            raise AssertionError("%s on a handle opened before the power "
                                 "cut succeeded" % what)
    os.close(fd)
    # a new open sees the cut tree and works
    fd = os.open(p, os.O_RDWR)
    assert os.pread(fd, 100, 0) == b"old content\n"
    os.pwrite(fd, b"NEW", 0)
    os.fsync(fd)
    os.close(fd)
    powercut(m)
    assert read(p) == b"NEW content\n"


def test_several_cuts_and_status(ctx):
    m = mount_with(ctx, pre)
    s = status(m)
    assert s["unsynced files"] == "0" and s["pending ops"] == "0", s
    before = read(os.path.join(m.mnt, "old"))
    powercut(m)  # nothing unsynced: nothing changes
    assert listing(m.mnt) == ["dir", "old"]
    assert read(os.path.join(m.mnt, "old")) == before
    for i in range(3):
        write(os.path.join(m.mnt, "old"), b"round %d" % i,
              flags=os.O_WRONLY)
        write(os.path.join(m.mnt, "f%d" % i), b"x" * 1000)
        s = status(m)
        assert s["unsynced files"] == "2", s
        assert s["pending ops"] == "1", s
        assert int(s["unsynced bytes"]) >= 1007, s
        powercut(m)
        s = status(m)
        assert s["unsynced files"] == "0" and s["pending ops"] == "0", s
        assert s["power cuts"] == str(i + 2), s
        assert listing(m.mnt) == ["dir", "old"], listing(m.mnt)
        assert read(os.path.join(m.mnt, "old")) == b"old content\n"
    m.umount()
    assert not os.path.exists(m.trace + ".scratch"), "scratch left behind"
    t = run([CRASHFS, "trace", m.trace]).stdout
    assert t.count("powercut") == 4, t


def test_scratch_hidden_in_backing(ctx):
    """With the trace on another filesystem the scratch directory lives in
    the backing root: the mount never shows it and umount removes it."""
    if os.stat("/dev/shm").st_dev == os.stat(ctx.tmp).st_dev:
        from lib import Skip
        raise Skip("no second filesystem for the trace")
    b, mnt = ctx.dir("hb"), ctx.dir("hm")
    trace = "/dev/shm/crashfs-it-%d.trace" % os.getpid()
    r = run([CRASHFS, "mount", "--powercut", "--trace", trace, b, mnt])
    assert r.returncode == 0, r.stderr
    try:
        assert os.path.isdir(os.path.join(b, ".crashfs-scratch"))
        assert os.listdir(mnt) == []
        assert not os.path.exists(os.path.join(mnt, ".crashfs-scratch"))
        try:
            os.mkdir(os.path.join(mnt, ".crashfs-scratch"))
        except OSError as e:
            assert e.errno == errno.EPERM, e
        else:
            raise AssertionError("made the reserved name")
        write(os.path.join(mnt, "f"), b"x")
        os.unlink(os.path.join(mnt, "f"))
        powercut_r = run([CRASHFS, "ctl", mnt, "powercut"])
        assert powercut_r.returncode == 0, powercut_r.stderr
        assert os.listdir(mnt) == []
    finally:
        r = run([CRASHFS, "umount", mnt])
        os.unlink(trace)
    assert r.returncode == 0, r.stderr
    assert os.listdir(b) == [], os.listdir(b)


def test_needs_powercut_option(ctx):
    m = ctx.mount()
    r = m.ctl("powercut", check=False)
    assert r.returncode == 1 and "--powercut" in r.stderr, r.stderr
    r = m.ctl("fault", "after fsync action=powercut", check=False)
    assert r.returncode == 1 and "--powercut" in r.stderr, r.stderr
    assert os.listdir(ctx.tmp).count("m.trace.scratch") == 0


def test_unlinked_file_nlink(ctx):
    """What the scratch directory holds is invisible: link counts are the
    ones a program expects."""
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    os.link(p, os.path.join(m.mnt, "second"))
    fd = os.open(p, os.O_RDONLY)
    os.unlink(p)
    assert os.stat(os.path.join(m.mnt, "second")).st_nlink == 1
    os.unlink(os.path.join(m.mnt, "second"))
    assert os.fstat(fd).st_nlink == 0
    os.close(fd)
    powercut(m)
    assert os.stat(p).st_nlink == 1, os.stat(p)
    assert listing(m.mnt) == ["dir", "old"]


def test_program_restarted_on_same_mount(ctx):
    """The CI use: a program writes and syncs, the power goes, the program
    runs again on the same mount and finds what it synced."""
    m = mount_with(ctx)
    prog = ("import os, sys\n"
            "p = sys.argv[1]\n"
            "with open(p + '/log', 'ab') as f:\n"
            "    for i in range(int(sys.argv[2])):\n"
            "        f.write(b'rec %d\\n' % i); f.flush()\n"
            "        if i < int(sys.argv[3]): os.fsync(f.fileno())\n"
            "fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.close(fd)\n")
    r = subprocess.run(["python3", "-c", prog, m.mnt, "10", "6"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    powercut(m)
    want = b"".join(b"rec %d\n" % i for i in range(6))
    assert read(os.path.join(m.mnt, "log")) == want
    r = subprocess.run(["python3", "-c", prog, m.mnt, "3", "3"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    powercut(m)
    assert read(os.path.join(m.mnt, "log")) == want + b"rec 0\nrec 1\n" \
        b"rec 2\n"


# ---- differential: live cut vs the strict state the engine builds ---------

def trace_before_powercut(src, dst):
    """Copy the trace src to dst without the first TR_POWERCUT record and
    everything after it (a cut short trace reads back to its last whole
    record)."""
    with open(src, "rb") as f:
        data = f.read()
    pos = struct.unpack_from("<I", data, 12)[0]
    while pos + 8 <= len(data):
        size, typ = struct.unpack_from("<IH", data, pos)
        if typ == TR_POWERCUT or size < 36:
            break
        pos += size
    with open(dst, "wb") as f:
        f.write(data[:pos])


def strict_state(ctx, m, out):
    """Build with crashfs replay the strict state at the last crash point
    before the power cut; returns its directory."""
    run_dir = ctx.path("run")
    os.mkdir(run_dir)
    trace_before_powercut(m.trace, os.path.join(run_dir, "trace"))
    shutil.copytree(m.backing[:-len(".backing")] + ".initial",
                    os.path.join(run_dir, "initial"), symlinks=True)
    r = run([CRASHFS, "states", run_dir, "--model", "strict", "--points"])
    assert r.returncode == 0, r.stderr
    points = [int(w[1:]) if w.startswith("k") else int(w)
              for w in (l.split()[0] for l in r.stdout.splitlines()
                        if l.strip() and l.split()[0].lstrip("k").isdigit())]
    assert points, "no crash points: %s" % r.stdout[:500]
    k = max(points)
    r = run([CRASHFS, "replay", run_dir, "--state", "k%d.strict.s" % k,
             "-o", out])
    assert r.returncode == 0, (r.returncode, r.stderr)
    return out


def random_ops(rng, mnt, n, sizes=True):
    files = ["a", "b", "c", "d/e", "d/f"]
    dirs = [".", "d"]
    done = []

    def p(rel):
        return os.path.join(mnt, rel)
    for _ in range(n):
        op = rng.choice(["write", "write", "write", "append", "trunc",
                         "create", "rename", "unlink", "link", "mkdir",
                         "rmdir", "fsync", "fdatasync", "fsyncdir",
                         "fsyncdir"])
        f, g = rng.choice(files), rng.choice(files)
        if not sizes and op == "trunc":
            op = "write"
        try:
            if op == "write":
                off = rng.randrange(0, 3000)
                fd = os.open(p(f), os.O_CREAT | os.O_WRONLY, 0o644)
                os.pwrite(fd, bytes([rng.randrange(97, 123)]) *
                          rng.randrange(1, 1500), off)
                os.close(fd)
            elif op == "append":
                write(p(f), b"A" * rng.randrange(1, 700),
                      flags=os.O_CREAT | os.O_WRONLY | os.O_APPEND)
            elif op == "trunc":
                os.truncate(p(f), rng.randrange(0, 2500))
            elif op == "create":
                write(p(f), b"", flags=os.O_CREAT | os.O_WRONLY |
                      (os.O_TRUNC if sizes and rng.random() < 0.3 else 0))
            elif op == "rename":
                os.rename(p(f), p(g))
            elif op == "unlink":
                os.unlink(p(f))
            elif op == "link":
                os.link(p(f), p(g))
            elif op == "mkdir":
                os.mkdir(p("d"))
            elif op == "rmdir":
                os.rmdir(p("d"))
            elif op in ("fsync", "fdatasync"):
                fd = os.open(p(f), os.O_RDONLY)
                try:
                    (os.fsync if op == "fsync" else os.fdatasync)(fd)
                finally:
                    os.close(fd)
            elif op == "fsyncdir":
                syncdir(p(rng.choice(dirs)), data=rng.random() < 0.3)
            done.append(op + " " + f + " " + g)
        except OSError as e:
            done.append("%s %s %s: %s" % (op, f, g, errno.errorcode[
                e.errno]))
    return done


def mount_random_tree(ctx, rng):
    """A mount over a directory d and files a and d/e of random content
    and size, drawn from rng (the differentials' starting tree)."""
    def setup(root):
        os.mkdir(os.path.join(root, "d"))
        for name in ("a", "d/e"):
            with open(os.path.join(root, name), "wb") as f:
                f.write(bytes([rng.randrange(65, 91)]) * rng.randrange(
                    0, 4000))
    return mount_with(ctx, setup)


def differential(ctx, seed, nops, eio=False):
    rng = random.Random(seed)
    log("seed %d%s" % (seed, " (with fsync EIO)" if eio else ""))
    m = mount_random_tree(ctx, rng)
    if eio:
        m.ctl("fault", "on fsync,fdatasync prob=0.3 seed=%d "
              "action=errno:EIO" % seed)
    # with failed fsyncs, no size ops: a truncate made before a failed
    # fsync and committed by a directory fsync after the file's next
    # successful fsync is not mirrored (docs/faults.md)
    done = random_ops(rng, m.mnt, nops, sizes=not eio)
    powercut(m)
    m.umount()
    want = strict_state(ctx, m, ctx.path("strict"))
    try:
        compare_trees(m.backing, want, "the tree after the live power cut")
    except AssertionError:
        log("ops (seed %d):\n  %s" % (seed, "\n  ".join(done)))
        raise


def each_seed(ctx, seeds, run_one, nops):
    """run_one(ctx, seed, nops) for each seed, each in its own directory
    TMP/s<seed>."""
    for seed in seeds:
        sub = ctx.path("s%d" % seed)
        os.mkdir(sub)
        ctx.tmp, saved = sub, ctx.tmp
        try:
            run_one(ctx, seed, nops)
        finally:
            ctx.tmp = saved


def test_differential_fixed_seeds(ctx):
    each_seed(ctx, (1, 2, 3, 4, 5), differential, 60)


def test_differential_random_seed(ctx):
    seed = int(time.time() * 1000) ^ os.getpid()
    differential(ctx, seed, 150)


def test_differential_fsync_eio(ctx):
    """The same with injected fsync failures (docs/crash-model.md rule 7):
    what a failed fsync covered stays lost through later fsyncs."""
    seed = int(time.time() * 1000) ^ os.getpid()
    differential(ctx, seed, 150, eio=True)


# ---- SQLite, live (the bug zoo's real application) ------------------------

TOOLS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools")


def test_sqlite_wal_full_ci_script(ctx):
    """docs/ci.md's script: WAL + synchronous=FULL, power cut, reopen:
    integrity ok and every committed row present."""
    script = os.path.join(TOOLS_DIR, "ci-powercut-sqlite.sh")
    env = dict(os.environ, CRASHFS=CRASHFS, ROWS="100")
    r = subprocess.run(["sh", script, ctx.path("ci")], env=env,
                       capture_output=True, text=True, timeout=120)
    log(r.stdout + r.stderr)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "integrity_check: ok, rows: 100, committed: 100" in r.stdout


def test_sqlite_sync_off_loses_rows(ctx):
    """The same check catches a program that does not sync: with
    synchronous=OFF committed rows are gone after the cut."""
    m = mount_with(ctx)
    db = os.path.join(m.mnt, "app.db")
    prog = ("import sqlite3, sys\n"
            "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "db.execute('PRAGMA journal_mode=WAL')\n"
            "db.execute('PRAGMA synchronous=OFF')\n"
            "db.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)')\n"
            "for i in range(1, 51):\n"
            "    db.execute('INSERT INTO t VALUES (?)', (i,))\n")
    r = subprocess.run(["python3", "-c", prog, db], capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    powercut(m)
    check = ("import sqlite3, sys\n"
             "db = sqlite3.connect(sys.argv[1])\n"
             "try:\n"
             "    print(db.execute('SELECT count(*) FROM t').fetchone()[0])\n"
             "except sqlite3.Error as e:\n"
             "    print('gone', e)\n")
    r = subprocess.run(["python3", "-c", check, db], capture_output=True,
                       text=True, timeout=60)
    assert r.stdout.strip() != "50", "every unsynced row survived the cut"


def test_fsx_with_journal(ctx):
    """The journal changes nothing a program sees: the randomised tester
    (tests/tools/fsx.c: writes, truncates, fallocate, renames, links,
    unlinks, fsyncs ...) through a --powercut mount matches a plain
    directory at every step."""
    fsx = ctx.tool("fsx")
    m = mount_with(ctx)
    ref = ctx.dir("ref")
    r = run([fsx, "--seed", os.environ.get("CRASHFS_FSX_SEED", "7"), "--ops", str(min(ctx.fsx_ops, 2000)),
             m.mnt, ref], timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-2000:]
    s = status(m)
    log("after fsx: %s" % s)
    powercut(m)
    m.umount()
    # and the tree the cut left is the engine's strict state (fsx changes
    # xattrs and modes, punches holes and zeroes ranges too)
    want = strict_state(ctx, m, ctx.path("strict"))
    compare_trees(m.backing, want, "the tree after the live power cut")


def test_punch_committed_by_dir_fsync(ctx):
    """A punch-hole and a zero-range fallocate are journalled like size
    ops: a directory fsync that commits the journal past them makes their
    zeros durable, though the file itself was never fsynced since; the
    writes around them stay lost.  The engine's strict state agrees."""
    def setup(root):
        with open(os.path.join(root, "f"), "wb") as f:
            f.write(b"A" * 16384)
    fsop = ctx.tool("fsop")
    m = mount_with(ctx, setup)
    p = os.path.join(m.mnt, "f")
    fd = os.open(p, os.O_RDWR)
    os.pwrite(fd, b"B" * 2000, 100)          # unsynced, lost
    for mode, off, n in (("punch,keep", 0, 4096), ("zero", 8192, 1000)):
        r = run([fsop, "fallocate", p, mode, str(off), str(n)])
        assert r.returncode == 0, r.stdout + r.stderr
    os.pwrite(fd, b"C" * 100, 8500)          # after the zero range: lost
    os.close(fd)
    write(os.path.join(m.mnt, "g"), b"")    # an entry op after them
    dfd = os.open(m.mnt, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(dfd)
    os.close(dfd)
    powercut(m)
    want = b"\0" * 4096 + b"A" * 4096 + b"\0" * 1000 + b"A" * (16384 - 9192)
    got = open(p, "rb").read()
    assert got == want, "bytes differ from %d" % next(
        (i for i in range(min(len(got), len(want))) if got[i] != want[i]),
        min(len(got), len(want)))
    m.umount()
    compare_trees(m.backing, strict_state(ctx, m, ctx.path("strict")),
                  "the tree after the live power cut")


def test_attributes(ctx):
    """chmod, chown and xattrs are undone unless the file was fsynced (not
    fdatasynced) or the journal committed past them."""
    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    os.chmod(p, 0o600)
    os.setxattr(p, "user.new", b"v")
    os.chown(p, 1234, 1234)
    powercut(m)
    st = os.stat(p)
    assert oct(st.st_mode & 0o7777) == oct(0o644), oct(st.st_mode)
    assert (st.st_uid, st.st_gid) == (0, 0) or st.st_uid == os.getuid()
    assert os.listxattr(p) == [], os.listxattr(p)
    os.setxattr(p, "user.kept", b"1")
    fd = os.open(p, os.O_RDONLY)
    os.fdatasync(fd)   # not enough for attributes
    os.close(fd)
    powercut(m)
    assert os.listxattr(p) == []
    os.setxattr(p, "user.kept", b"1")
    os.chmod(p, 0o640)
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.removexattr(p, "user.kept")
    powercut(m)
    assert os.getxattr(p, "user.kept") == b"1"
    assert oct(os.stat(p).st_mode & 0o7777) == oct(0o640)


def test_timestamps(ctx):
    """A file whose unsynced data is dropped gets back the times it had at
    its last durable point; a utimens is undone like any attribute,
    unless an fsync of the file made it durable."""
    def times(p):
        st = os.stat(p)
        return (st.st_atime_ns, st.st_mtime_ns)

    m = mount_with(ctx, pre)
    p = os.path.join(m.mnt, "old")
    t0 = (1_000_000_000 * 10**9, 1_000_000_123 * 10**9)
    os.utime(p, ns=t0)
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    # data written later, unsynced: the data and its mtime go
    time.sleep(0.01)
    write(p, b"NEW", flags=os.O_WRONLY)
    assert times(p)[1] != t0[1]
    powercut(m)
    assert times(p) == t0, (times(p), t0)   # before a read moves atime
    assert open(p, "rb").read() == b"old content\n"
    assert times(p)[1] == t0[1], (times(p), t0)
    # a utimens alone, unsynced: undone
    os.utime(p, ns=t0)
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.utime(p, ns=(5 * 10**18, 5 * 10**18))
    powercut(m)
    assert times(p) == t0, (times(p), t0)
    # data, then a utimens, both unsynced: the older times come back
    write(p, b"MORE", flags=os.O_WRONLY | os.O_APPEND)
    os.utime(p, ns=(6 * 10**18, 6 * 10**18))
    write(p, b"EVEN MORE", flags=os.O_WRONLY | os.O_APPEND)
    powercut(m)
    assert times(p) == t0, (times(p), t0)
    # a utimens made durable by fsync (the data with it) stays
    t1 = (2_000_000_000 * 10**9, 2_000_000_000 * 10**9)
    os.utime(p, ns=t1)
    fd = os.open(p, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    powercut(m)
    assert times(p) == t1, (times(p), t1)


def test_keep_metadata(ctx):
    """powercut --keep metadata: the LazyFS-like state: every name change
    stays, unsynced data and sizes go."""
    m = mount_with(ctx, pre)
    write(os.path.join(m.mnt, "new"), b"unsynced")
    os.rename(os.path.join(m.mnt, "old"), os.path.join(m.mnt, "renamed"))
    write(os.path.join(m.mnt, "renamed"), b"XXX", flags=os.O_WRONLY)
    os.unlink(os.path.join(m.mnt, "dir", "inner"))
    r = run([CRASHFS, "ctl", m.mnt, "powercut", "--keep", "metadata"])
    assert r.returncode == 0, r.stderr
    assert listing(m.mnt) == ["dir", "new", "renamed"], listing(m.mnt)
    assert listing(os.path.join(m.mnt, "dir")) == []
    assert read(os.path.join(m.mnt, "new")) == b""
    assert read(os.path.join(m.mnt, "renamed")) == b"old content\n"
    r = run([CRASHFS, "ctl", m.mnt, "powercut", "--keep", "names"])
    assert r.returncode == 2, r
    m.umount()
    t = run([CRASHFS, "trace", m.trace]).stdout
    assert "keep-metadata" in t, t


def test_scratch_on_bind_mount(ctx):
    """BACKING behind a bind mount: the scratch directory cannot sit beside
    the trace (same filesystem, another mount: no hard links across), so it
    goes hidden into the backing root; the cut still works."""
    src, bind, mnt = ctx.dir("src"), ctx.dir("bind"), ctx.dir("bm")
    with open(os.path.join(src, "keep"), "w") as f:
        f.write("durable")
    r = run(["mount", "--bind", src, bind])
    if r.returncode != 0:
        from lib import Skip
        raise Skip("cannot bind-mount: %s" % r.stderr.strip())
    ctx.extra_mounts.append(bind)
    trace = ctx.path("bt.trace")
    r = run([CRASHFS, "mount", "--powercut", "--trace", trace, bind, mnt])
    assert r.returncode == 0, r.stderr
    try:
        assert not os.path.exists(trace + ".scratch")
        assert os.path.isdir(os.path.join(src, ".crashfs-scratch"))
        os.unlink(os.path.join(mnt, "keep"))
        r = run([CRASHFS, "ctl", mnt, "powercut"])
        assert r.returncode == 0, r.stderr
        assert read(os.path.join(mnt, "keep")) == b"durable"
        assert listing(mnt) == ["keep"], listing(mnt)
    finally:
        r = run([CRASHFS, "umount", mnt])
    assert r.returncode == 0, r.stderr
    assert listing(src) == ["keep"], listing(src)
    run(["umount", bind])


def test_replay_across_cuts(ctx):
    """A trace with live power cuts replays to exactly the tree the daemon
    left: after each TR_POWERCUT record the engine's tree is the strict
    state at the cut (core/model.c), and later ops apply on top."""
    seed = int(time.time() * 1000) ^ os.getpid()
    rng = random.Random(seed)
    log("seed %d" % seed)
    m = mount_with(ctx, pre)
    for rnd in range(3):
        random_ops(rng, m.mnt, 50)
        powercut(m)
    random_ops(rng, m.mnt, 20)
    m.umount()
    run_dir = ctx.path("run")
    os.mkdir(run_dir)
    shutil.copy(m.trace, os.path.join(run_dir, "trace"))
    shutil.copytree(ctx.path("m.initial"), os.path.join(run_dir, "initial"),
                    symlinks=True)
    r = run([CRASHFS, "replay", run_dir, "--verify", m.backing])
    assert r.returncode == 0, (r.stdout + r.stderr)[-1500:]


# ---- shared with cases/partialcut.py (partial cuts) ------------------------

def many_pending(mnt):
    """A synced base, then many pending ops of every kind."""
    os.mkdir(os.path.join(mnt, "d"))
    for i in range(6):
        write(os.path.join(mnt, "f%d" % i), b"durable %d\n" % i * 50,
              sync="fsync")
    syncdir(mnt)
    syncdir(os.path.join(mnt, "d"))
    for i in range(6):
        write(os.path.join(mnt, "f%d" % i), b"pending %d\n" % i * 40,
              flags=os.O_WRONLY)
        write(os.path.join(mnt, "d", "n%d" % i), b"new %d\n" % i * 30)
    os.rename(os.path.join(mnt, "f1"), os.path.join(mnt, "d", "moved"))
    os.unlink(os.path.join(mnt, "f2"))
    os.truncate(os.path.join(mnt, "f3"), 100)
    os.chmod(os.path.join(mnt, "f4"), 0o600)
    write(os.path.join(mnt, "f5"), b"appended\n" * 100,
          flags=os.O_WRONLY | os.O_APPEND)
    os.mkdir(os.path.join(mnt, "e"))
    write(os.path.join(mnt, "e", "x"), b"in e\n")


def snap(root):
    from lib import snapshot
    return repr(snapshot(root))
