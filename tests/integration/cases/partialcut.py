# SPDX-License-Identifier: MIT
"""Partial power cuts: `crashfs ctl MNT powercut --seed S [--tear T]`, and
the selections LazyFS's torn-seq and torn-op become (`--file F --writes
1,4`, `--file F --write K --parts N --persist 1,3`, and the same as a
rule's cut-* fields), keep part of what is pending (docs/faults.md).

Every state must be one the posix model allows: the sector check here
replays, independently of crashfs's planner, the writes the test made
and accepts a sector only if it holds the durable bytes plus a
program-order prefix of the pending writes to it. And `crashfs replay
--verify` must rebuild the same tree from the trace.
"""

import importlib.util
import os
import random
import re
import shutil
import sys
import time

from lib import CRASHFS, compare_trees, log, run


def _powercut_cases():
    """The helpers of cases/powercut.py (mounts, writes, random ops)."""
    name = "cases_powercut"
    if name not in sys.modules:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "powercut.py")
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


pc = _powercut_cases()
mount_with, write, syncdir, read = pc.mount_with, pc.write, pc.syncdir, pc.read


def cut(m, *args):
    """crashfs ctl MNT powercut ARGS; returns the reply's lines as a dict
    (the "data ..." lines as (count, [ids]))."""
    r = run([CRASHFS, "ctl", m.mnt, "powercut"] + list(args))
    assert r.returncode == 0, (args, r.returncode, r.stderr)
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(": ")
        if k.startswith("data "):
            n, _, ids = v.partition(": ")
            v = (int(n.split()[0]), sorted(ids.split()))
        out[k] = v
    assert out.get("state", "").startswith("posix meta="), r.stdout
    return out


def writes_of(rep):
    """The reply's "writes: W whole, T torn, Z size only, L lost"."""
    m = re.match(r"(\d+) whole, (\d+) torn, (\d+) size only, (\d+) lost",
                 rep["writes"])
    assert m, rep
    return dict(zip(("whole", "torn", "size", "lost"),
                    (int(x) for x in m.groups())))


def engine_verify(ctx, m, name="verify"):
    """`crashfs replay RUN --verify BACKING`: the engine rebuilds, from the
    trace and the initial image, the tree the live cuts left."""
    run_dir = ctx.path(name)
    os.mkdir(run_dir)
    shutil.copy(m.trace, os.path.join(run_dir, "trace"))
    shutil.copytree(m.backing[:-len(".backing")] + ".initial",
                    os.path.join(run_dir, "initial"), symlinks=True)
    r = run([CRASHFS, "replay", run_dir, "--verify", m.backing])
    assert r.returncode == 0, (r.stdout + r.stderr)[-1500:]


class Shadow:
    """What the test wrote to one file: its durable content (at its last
    fsync) and the writes since, in order."""

    def __init__(self, durable=b""):
        self.durable = bytes(durable)
        self.visible = bytearray(durable)
        self.pending = []

    def wrote(self, off, data):
        self.pending.append((off, bytes(data)))
        if off > len(self.visible):
            self.visible.extend(bytes(off - len(self.visible)))
        self.visible[off:off + len(data)] = data

    def synced(self):
        self.durable = bytes(self.visible)
        self.pending = []


def check_sectors(shadow, got, unit, what):
    """Each unit of got holds the durable bytes with a program-order prefix
    of the pending writes to that unit on top (bytes past the end of got
    are not compared; bytes past the durable size read as zeros)."""
    for u in range(0, len(got), unit):
        lo, hi = u, min(u + unit, len(got))
        cand = bytearray(shadow.durable[lo:u + unit])
        cand.extend(bytes(unit - len(cand)))
        options = [bytes(cand[:hi - lo])]
        for off, data in shadow.pending:
            a, b = max(off, u), min(off + len(data), u + unit)
            if a >= b:
                continue
            cand[a - u:b - u] = data[a - off:b - off]
            options.append(bytes(cand[:hi - lo]))
        if got[lo:hi] not in options:
            raise AssertionError(
                "%s: unit at %d (%d bytes) holds %r, which no prefix of "
                "its %d pending writes gives" % (
                    what, u, unit, got[lo:hi][:64], len(options) - 1))


# ---- seeded cuts: sector by sector, a prefix ------------------------------

def sector_run(ctx, seed, tear):
    """Random writes to three synced files, some synced again; a seeded
    cut; each file checked sector by sector, the tree against the
    engine's."""
    rng = random.Random(seed)
    unit = 4096 if tear == "page" else 512

    def setup(root):
        for name in "abc":
            with open(os.path.join(root, name), "wb") as f:
                f.write(bytes([rng.randrange(65, 91)]) *
                        rng.randrange(0, 9000))
    m = mount_with(ctx, setup, name="m%d%s" % (seed, tear))
    files = {n: Shadow(read(os.path.join(m.mnt, n))) for n in "abc"}
    fds = {n: os.open(os.path.join(m.mnt, n), os.O_WRONLY) for n in "abc"}
    try:
        for _ in range(rng.randrange(5, 40)):
            n = rng.choice("abc")
            sh = files[n]
            r = rng.random()
            if r < 0.1:
                os.fsync(fds[n])
                sh.synced()
                continue
            if r < 0.4:
                off = len(sh.visible)
                data = bytes([rng.randrange(97, 123)]) * rng.randrange(
                    1, 900)
            else:
                off = rng.randrange(0, 12000)
                data = bytes([rng.randrange(97, 123)]) * rng.randrange(
                    1, 5000)
            assert os.pwrite(fds[n], data, off) == len(data)
            sh.wrote(off, data)
    finally:
        for fd in fds.values():
            os.close(fd)
    rep = cut(m, "--seed", str(seed), "--tear", tear)
    for n in "abc":
        check_sectors(files[n], read(os.path.join(m.mnt, n)), unit,
                      "seed %d, tear %s, file %s" % (seed, tear, n))
    m.umount()
    engine_verify(ctx, m, "verify%d%s" % (seed, tear))
    return writes_of(rep)


def test_seed_sectors(ctx):
    """powercut --seed S [--tear page] over random overwrites and appends:
    every sector (page) of every file is its durable bytes plus a
    program-order prefix of its pending writes there, and the engine
    rebuilds the same tree; over the seeds, writes persist whole, torn,
    as a bare size and not at all."""
    seen = {"whole": 0, "torn": 0, "size": 0, "lost": 0}
    seeds = list(range(1, 13)) + [int(time.time() * 1000) % 100000 + 100]
    log("seeds %s" % seeds)
    for seed in seeds:
        for k, v in sector_run(ctx, seed, "page" if seed % 3 == 0
                               else "sector").items():
            seen[k] += v
    log("writes over all seeds: %s" % seen)
    assert all(seen.values()), seen


def seeded_differential(ctx, seed, nops):
    rng = random.Random(seed)
    log("seed %d" % seed)
    m = pc.mount_random_tree(ctx, rng)
    done = pc.random_ops(rng, m.mnt, nops)
    # a file made durable by name and content: every state holds it
    write(os.path.join(m.mnt, "kept"), b"durable\n" * 10, sync="fsync")
    syncdir(m.mnt)
    done += pc.random_ops(rng, m.mnt, nops // 2)
    args = ["--seed", str(seed)]
    if rng.random() < 0.3:
        args += ["--tear", "page"]
    if rng.random() < 0.3:
        args += ["--keep", "metadata"]
    rep = cut(m, *args)
    assert read(os.path.join(m.mnt, "kept")) == b"durable\n" * 10
    m.umount()
    try:
        engine_verify(ctx, m)
    except AssertionError:
        log("cut %s: %s\nops (seed %d):\n  %s" % (args, rep, seed,
                                                 "\n  ".join(done)))
        raise


def test_seed_differential(ctx):
    """powercut --seed over random ops of every kind (writes, truncates,
    creates, renames, unlinks, syncs), with --tear page and --keep
    metadata now and then: the engine rebuilds the live tree from the
    trace (its TR_POWERCUT record names the plan)."""
    pc.each_seed(ctx, [11, 12, 13, 14, 15, 16,
                       int(time.time() * 1000) ^ os.getpid()],
                 seeded_differential, 60)


def test_seed_same_state(ctx):
    """Two runs of the same ops cut with the same seed leave the same
    tree and say the same; the record names the plan."""
    trees = []
    for name in ("a", "b"):
        m = mount_with(ctx, name=name)
        pc.many_pending(m.mnt)
        rep = cut(m, "--seed", "42")
        trees.append((pc.snap(m.mnt), rep))
        m.umount()
        t = run([CRASHFS, "trace", m.trace]).stdout
        assert re.search(r"posix meta=\d+ unit=512 seed=42", t), t[-1000:]
    # meta= names the cut's place by trace seq, which the kernel's
    # asynchronous RELEASEs shift from one recording to the next; the
    # rest of the reply (ops kept, data kept per file) must be equal
    reps = [dict(t[1], state=re.sub(r"meta=\d+", "meta=N", t[1]["state"]))
            for t in trees]
    assert reps[0] == reps[1], reps
    assert trees[0][0] == trees[1][0], "same seed, different trees"


def test_seed_states_differ(ctx):
    """Different seeds over many pending ops leave different trees, each
    holding everything that was durable, each file a prefix per sector."""
    seen = {}
    for seed in range(1, 9):
        m = mount_with(ctx, name="s%d" % seed)
        pc.many_pending(m.mnt)
        cut(m, "--seed", str(seed))
        for i in (0, 4, 5):
            # no pending metadata of theirs: the durable content and a
            # prefix of the pending writes, sector by sector
            sh = Shadow(b"durable %d\n" % i * 50)
            sh.wrote(0, b"pending %d\n" % i * 40)
            if i == 5:
                sh.wrote(len(sh.visible), b"appended\n" * 100)
            check_sectors(sh, read(os.path.join(m.mnt, "f%d" % i)), 512,
                          "seed %d, f%d" % (seed, i))
        seen.setdefault(pc.snap(m.mnt), []).append(seed)
        m.umount()
    assert len(seen) >= 2, "8 seeds, one state: %s" % list(seen.values())
    log("%d distinct states from 8 seeds" % len(seen))


def test_seed_with_keep_metadata(ctx):
    """--seed with --keep metadata: every pending metadata op stays (names,
    sizes), the seed draws only the data."""
    m = mount_with(ctx, pc.pre)
    pc.many_pending(m.mnt)
    rep = cut(m, "--seed", "5", "--keep", "metadata")
    kept, total = re.match(r"(\d+) of (\d+)", rep["metadata kept"]).groups()
    assert kept == total and int(total) > 5, rep
    assert os.path.exists(os.path.join(m.mnt, "d", "moved"))
    assert not os.path.exists(os.path.join(m.mnt, "f2"))
    assert len(read(os.path.join(m.mnt, "f3"))) == 100
    m.umount()
    engine_verify(ctx, m)


# ---- LazyFS's torn-seq and torn-op ----------------------------------------

def synced_log(ctx, name="m"):
    m = mount_with(ctx, name=name)
    write(os.path.join(m.mnt, "log"), b"", sync="fsync")
    syncdir(m.mnt)
    return m


def test_torn_seq(ctx):
    """--file log --writes 1,4 (torn-seq): of four appends, the first and
    the fourth persist; records of a sector each leave zeros between,
    records that share a sector cannot leave the fourth without the two
    before it (the reply counts the sector settled)."""
    m = synced_log(ctx)
    recs = [bytes([65 + i]) * 512 for i in range(4)]
    for r in recs:
        write(os.path.join(m.mnt, "log"), r, flags=os.O_WRONLY | os.O_APPEND)
    rep = cut(m, "--keep", "metadata", "--file", "log", "--writes", "1,4")
    assert writes_of(rep) == {"whole": 2, "torn": 0, "size": 0,
                              "lost": 2}, rep
    assert read(os.path.join(m.mnt, "log")) == (
        recs[0] + bytes(1024) + recs[3])
    before = read(os.path.join(m.mnt, "log"))  # the cut's, durable now
    # small records: all four in the sector at 2048
    recs = [bytes([97 + i]) * 100 for i in range(4)]
    for r in recs:
        write(os.path.join(m.mnt, "log"), r, flags=os.O_WRONLY | os.O_APPEND)
    rep = cut(m, "--keep", "metadata", "--file", os.path.join(m.mnt, "log"),
              "--writes", "1,4")
    assert rep["settled"].startswith("1 units"), rep
    got = read(os.path.join(m.mnt, "log"))
    assert got == before + recs[0], got[2000:]
    m.umount()
    engine_verify(ctx, m)


def test_torn_op(ctx):
    """--write last --parts 3 --persist 1,3 (torn-op): a 12 KiB write
    keeps its first and last thirds; --part-bytes sizes the parts; a part
    is kept in the sectors whose first byte is in it."""
    m = synced_log(ctx)
    data = b"".join(bytes([65 + i]) * 4096 for i in range(3))
    write(os.path.join(m.mnt, "log"), data, flags=os.O_WRONLY)
    rep = cut(m, "--keep", "metadata", "--file", "log", "--write", "last",
              "--parts", "3", "--persist", "1,3")
    assert writes_of(rep)["torn"] == 1, rep
    assert read(os.path.join(m.mnt, "log")) == (
        data[:4096] + bytes(4096) + data[8192:])
    write(os.path.join(m.mnt, "log"), data, sync="fsync", flags=os.O_WRONLY)
    write(os.path.join(m.mnt, "log"), b"x" * 3000, flags=os.O_WRONLY)
    write(os.path.join(m.mnt, "log"), b"y" * 12288, flags=os.O_WRONLY)
    # write 2 of the file in parts of 1000, 4000 and 7288 bytes, part 2
    # kept: the sectors from 1024 to 4608 start in it ([1000, 5000)); but
    # write 1, lost, wrote sectors 0 to 2560 before it: 4 are settled
    rep = cut(m, "--file", "log", "--write", "2", "--part-bytes",
              "1000,4000,7288", "--persist", "2")
    assert rep["settled"].startswith("4 units"), rep
    assert read(os.path.join(m.mnt, "log")) == (
        data[:3072] + b"y" * 2048 + data[5120:])
    m.umount()
    engine_verify(ctx, m)


def test_rule_torn_seq(ctx):
    """A rule's cut-* fields: the 4th write to the log cuts the power
    keeping writes 1 and 4 of its unsynced ones (LazyFS torn-seq, which
    crashes right after the last write it persists)."""
    m = synced_log(ctx)
    m.ctl("fault", "after write path=log nth=4 action=powercut "
          "cut-keep=metadata cut-writes=1,4")
    recs = [bytes([65 + i]) * 512 for i in range(4)]
    for r in recs:
        write(os.path.join(m.mnt, "log"), r, flags=os.O_WRONLY | os.O_APPEND)
    assert read(os.path.join(m.mnt, "log")) == (
        recs[0] + bytes(1024) + recs[3])
    m.umount()
    t = run([CRASHFS, "trace", m.trace]).stdout
    assert re.search(r"posix meta=\d+ unit=512 file=\d+ writes=1,4", t), t
    engine_verify(ctx, m)


def test_rule_seed(ctx):
    """action=powercut cut-seed=S cut-tear=page at an fsync: a seeded
    partial cut the engine follows."""
    m = mount_with(ctx, pc.pre)
    m.ctl("fault", "after fsync path=x action=powercut cut-seed=9 "
          "cut-tear=page")
    for i in range(20):
        write(os.path.join(m.mnt, "f%d" % (i % 4)), b"%d" % i * 3000,
              flags=os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    write(os.path.join(m.mnt, "x"), b"x", sync="fsync")
    m.umount()
    t = run([CRASHFS, "trace", m.trace]).stdout
    assert re.search(r"posix meta=\d+ unit=4096 seed=9", t), t[-2000:]
    engine_verify(ctx, m)


def test_usage(ctx):
    """Bad options are refused before anything is cut, naming what is
    wrong; so is a selection the file cannot give."""
    m = synced_log(ctx)
    write(os.path.join(m.mnt, "log"), b"a" * 100, flags=os.O_WRONLY)
    for args, want in (
            (["--writes", "1"], "--writes and --write need --file"),
            (["--seed", "1", "--file", "log", "--writes", "1"],
             "conflict"),
            (["--seed", "1", "--tear", "3"], "--tear: bad value '3'"),
            (["--tear", "page"], "tear applies to a cut with a seed"),
            (["--file", "log", "--parts", "2"], "write=K"),
            (["--file", "log", "--write", "1", "--parts", "2",
              "--persist", "3"], "past the 2"),
            (["--file", "log", "--writes", "0"], "--writes: bad list"),
            (["--file", "/elsewhere/log", "--writes", "1"],
             "is not under"),
            (["--seed", "x1"], "--seed: bad value"),
            (["--keep", "names"], "--keep takes 'metadata'")):
        r = run([CRASHFS, "ctl", m.mnt, "powercut"] + args)
        assert r.returncode == 2 and want in r.stderr, (args, r)
    for args, want in (
            (["--file", "log", "--writes", "2"], "has 1 unsynced write, "
             "not 2"),
            (["--file", "nope", "--writes", "1"], "No such file"),
            (["--file", "../x", "--writes", "1"], "outside the mount")):
        r = run([CRASHFS, "ctl", m.mnt, "powercut"] + args)
        assert r.returncode == 1 and want in r.stderr, (args, r)
    # nothing was cut
    assert read(os.path.join(m.mnt, "log")) == b"a" * 100
    for rule, want in (
            ("after write action=errno:EIO cut-writes=1", "options of "
             "action=powercut"),
            ("after write action=powercut cut-tear=3", "tear: bad value"),
            ("after write action=powercut cut-colour=red",
             "unknown word 'colour=red'")):
        r = m.ctl("fault", rule, check=False)
        assert r.returncode == 1 and want in r.stderr, (rule, r)
    m.umount()


def test_failed_fsync_inode_reused(ctx):
    """A file whose fsync failed keeps all or none of its pending data
    until the next cut (the engine's rule too); a new file that gets its
    inode number after it is deleted is another file, and can be cut in
    part."""
    m = mount_with(ctx)
    write(os.path.join(m.mnt, "a"), b"a" * 100, sync="fsync")
    syncdir(m.mnt)
    ino = os.stat(os.path.join(m.backing, "a")).st_ino
    m.ctl("fault", "on fsync path=a action=errno:EIO")
    fd = os.open(os.path.join(m.mnt, "a"), os.O_RDONLY)
    try:
        try:
            os.fsync(fd)
            raise AssertionError("the fsync did not fail")
        except OSError:
            pass
    finally:
        os.close(fd)
    os.unlink(os.path.join(m.mnt, "a"))
    syncdir(m.mnt)
    write(os.path.join(m.mnt, "b"), b"b" * 512)
    if os.stat(os.path.join(m.backing, "b")).st_ino != ino:
        log("the backing filesystem gave b another inode: not reused")
    write(os.path.join(m.mnt, "b"), b"B" * 512, flags=os.O_WRONLY)
    rep = cut(m, "--keep", "metadata", "--file", "b", "--writes", "1")
    assert read(os.path.join(m.mnt, "b")) == b"b" * 512, rep
    m.umount()
    engine_verify(ctx, m)


def more_ops(rng, mnt, n):
    """Size ops random_ops() does not make: fallocate (plain, keep-size,
    punch-hole, zero-range), and overwrites."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for _ in range(n):
        try:
            fd = os.open(os.path.join(mnt, rng.choice(["a", "b", "c",
                                                       "d/e"])),
                         os.O_WRONLY)
        except OSError:
            continue
        try:
            r = rng.random()
            if r < 0.5:
                # 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE(|KEEP)
                mode = rng.choice([0, 0x01, 0x03, 0x10, 0x11])
                libc.fallocate(fd, mode, ctypes.c_long(rng.randrange(5000)),
                               ctypes.c_long(rng.randrange(1, 3000)))
            else:
                os.pwrite(fd, b"Z" * rng.randrange(1, 2000),
                          rng.randrange(0, 6000))
        finally:
            os.close(fd)


def cuts_differential(ctx, seed, nops):
    rng = random.Random(seed)
    log("seed %d" % seed)
    m = pc.mount_random_tree(ctx, rng)
    eio = rng.random() < 0.3
    if eio:
        m.ctl("fault", "on fsync,fdatasync prob=0.3 seed=%d "
              "action=errno:EIO" % seed)
    done = []
    for k in range(3):
        done += pc.random_ops(rng, m.mnt, nops // 3, sizes=not eio)
        if not eio:
            more_ops(rng, m.mnt, 5)
        args = ["--seed", str(seed * 7 + k)]
        if rng.random() < 0.3:
            args += ["--tear", "page"]
        if rng.random() < 0.3:
            args += ["--keep", "metadata"]
        if k == 2 or rng.random() < 0.5:
            done.append("cut %s: %s" % (args, cut(m, *args)))
    m.umount()
    try:
        engine_verify(ctx, m)
    except AssertionError:
        log("seed %d%s:\n  %s" % (seed, " (fsync EIO)" if eio else "",
                                   "\n  ".join(done)))
        raise


def test_cuts_differential(ctx):
    """Several seeded cuts in a row over random ops, fallocates of every
    mode the engine models, and (now and then) fsyncs failing with EIO:
    the engine rebuilds the live tree."""
    pc.each_seed(ctx, list(range(21, 41)) +
                 [int(time.time() * 1000) ^ os.getpid()],
                 cuts_differential, 60)


test_cuts_differential.timeout = 600
