# SPDX-License-Identifier: MIT
"""Concurrency: several processes write (also over each other, in one
shared file), append, rename, create, unlink and fsync on one mount at
once for a bounded time.  No deadlock (a worker still running after its
time is a failure), the files end up as the workers' own logs say, the
trace replayed in its order rebuilds exactly what the backing directory
holds (one ordering point for apply and record), and the trace lists
each process's operations in the order that process made them, none
missing and none extra.
"""

import json
import os
import sys
import textwrap
import time

import replay
from lib import Trace, engine_verify, timeout

# A longer soak: CRASHFS_IT_CONC_WORKERS=8 CRASHFS_IT_CONC_SECONDS=60
# (with --timeout-scale to match).
WORKERS = int(os.environ.get("CRASHFS_IT_CONC_WORKERS", 4))
SECONDS = float(os.environ.get("CRASHFS_IT_CONC_SECONDS", 5))

WORKER = textwrap.dedent('''
    import json, os, random, sys, time
    root, i, seconds, logpath, go = sys.argv[1:6]
    i = int(i)
    rng = random.Random(i * 7919)
    me = "w%d" % i
    P = lambda *n: os.path.join(root, *n)
    log = []
    os.read(int(go), 1)                     # start together
    deadline = time.monotonic() + float(seconds)
    data = os.open(P(me, "data"), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    log.append(["create", me + "/data"])
    app = os.open(P("shared.log"), os.O_WRONLY | os.O_APPEND)
    sdat = os.open(P("shared.dat"), os.O_WRONLY)
    have_cur = False
    expect = bytearray()
    n = 0
    while time.monotonic() < deadline:
        n += 1
        c = rng.random()
        if c < 0.10:
            off, ln = rng.randrange(0, 32768), rng.randrange(1, 4096)
            assert os.pwrite(sdat, bytes([i + 1]) * ln, off) == ln
            log.append(["write", "shared.dat", off, ln])
        elif c < 0.30:
            off, ln = rng.randrange(0, 65536), rng.randrange(1, 4096)
            buf = bytes([n % 251]) * ln
            assert os.pwrite(data, buf, off) == ln
            if len(expect) < off + ln:
                expect.extend(bytes(off + ln - len(expect)))
            expect[off:off + ln] = buf
            log.append(["write", me + "/data", off, ln])
        elif c < 0.50:
            ln = rng.randrange(1, 2000)
            assert os.write(app, (me[1:] * ln)[:ln].encode()) == ln
            log.append(["write", "shared.log", None, ln])
        elif c < 0.60:
            os.fsync(data)
            log.append(["fsync", me + "/data"])
        elif c < 0.80:
            fd = os.open(P(me, "tmp"), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                         0o644)
            log.append(["create", me + "/tmp"])
            os.write(fd, b"v%08d" % n)
            log.append(["write", me + "/tmp", 0, 9])
            os.fsync(fd)
            log.append(["fsync", me + "/tmp"])
            os.close(fd)
            os.rename(P(me, "tmp"), P(me, "cur"))
            log.append(["rename", me + "/tmp", me + "/cur"])
            dfd = os.open(P(me), os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(dfd)
            os.close(dfd)
            log.append(["fsyncdir", me])
            have_cur = True
        elif c < 0.90 and have_cur:
            os.rename(P(me, "cur"), P("shared", me))
            log.append(["rename", me + "/cur", "shared/" + me])
            os.rename(P("shared", me), P(me, "cur"))
            log.append(["rename", "shared/" + me, me + "/cur"])
        else:
            fd = os.open(P(me, "x"), os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                         0o644)
            log.append(["create", me + "/x"])
            os.close(fd)
            os.unlink(P(me, "x"))
            log.append(["unlink", me + "/x"])
    os.close(data)
    os.close(app)
    os.close(sdat)
    with open(logpath, "w") as f:
        json.dump({"pid": os.getpid(), "ops": log,
                   "data": expect.hex()}, f)
''')

TYPES = ("create", "write", "fsync", "fsyncdir", "rename", "unlink")


def project(rec, logged):
    """The trace record in the shape of a worker's log entry."""
    t = rec.get("type")
    if t == "write":
        off = None if logged[2] is None else rec.get("off")
        return ["write", rec.get("path"), off, rec.get("data_len")]
    if t == "rename":
        return ["rename", rec.get("entry"), rec.get("entry2")]
    if t in ("create", "unlink"):
        return [t, rec.get("entry")]
    return [t, rec.get("path")]


def check_order(i, pid, want, got):
    """The trace's records of one worker (got) must be exactly its logged
    operations (want), in order.  The kernel may cut one write(2) into
    several requests (at a page boundary): those must follow each other,
    be contiguous and add up to the logged length."""
    k = 0
    for n, w in enumerate(want):
        assert k < len(got), (
            "worker %d (pid %d): the trace stops after %d of its %d "
            "operations; next: %r" % (i, pid, n, len(want), w))
        g = project(got[k], w)
        if w[0] == "write" and g[:2] == w[:2] and g[2] == w[2] and (
                g[3] < w[3]):
            # a cut write: take the following pieces
            size, end = g[3], got[k]["off"] + g[3]
            while size < w[3] and k + 1 < len(got):
                nxt = got[k + 1]
                if (nxt.get("type") != "write" or nxt.get("path") != w[1]
                        or nxt.get("off") != end):
                    break
                k += 1
                size += nxt["data_len"]
                end += nxt["data_len"]
            g = g[:3] + [size]
        assert g == w, (
            "worker %d (pid %d), operation %d: it did %r, the trace says "
            "%r (seq %s)" % (i, pid, n, w, g, got[k].get("seq")))
        k += 1
    assert k == len(got), (
        "worker %d: %d extra records in the trace after its last "
        "operation, first: %r" % (i, len(got) - k, got[k]))


@timeout(90)
def test_workers(ctx):
    ctx.needs_trace()
    m = ctx.mount()
    os.mkdir(os.path.join(m.mnt, "shared"))
    open(os.path.join(m.mnt, "shared.log"), "wb").close()
    open(os.path.join(m.mnt, "shared.dat"), "wb").close()
    for i in range(WORKERS):
        os.mkdir(os.path.join(m.mnt, "w%d" % i))
    r_go, w_go = os.pipe()
    procs = []
    for i in range(WORKERS):
        logpath = ctx.path("worker%d.json" % i)
        p = ctx.spawn([sys.executable, "-c", WORKER, m.mnt, str(i),
                       str(SECONDS), logpath, str(r_go)], pass_fds=(r_go,))
        procs.append((i, p, logpath))
    start = time.monotonic()
    os.write(w_go, b"x" * WORKERS)
    for i, p, _ in procs:
        left = SECONDS + 30 - (time.monotonic() - start)
        try:
            rc = p.wait(timeout=max(left, 1))
        except Exception:
            raise AssertionError("worker %d still running %ds after a %gs "
                                 "run: deadlock?" % (i, SECONDS + 30,
                                                     SECONDS))
        assert rc == 0, "worker %d failed (exit %d)" % (i, rc)
    os.close(r_go)
    os.close(w_go)
    logs = []
    for i, _, logpath in procs:
        with open(logpath) as f:
            logs.append(json.load(f))
    # what the workers wrote is there
    for i, lg in enumerate(logs):
        with open(os.path.join(m.mnt, "w%d" % i, "data"), "rb") as f:
            assert f.read() == bytes.fromhex(lg["data"]), (
                "w%d/data does not hold what worker %d wrote" % (i, i))
    appended = sum(op[3] for lg in logs for op in lg["ops"]
                   if op[0] == "write" and op[1] == "shared.log")
    assert os.path.getsize(os.path.join(m.mnt, "shared.log")) == appended
    m.umount()
    t = Trace(m.trace, data=True)
    # One ordering point: replaying the records in trace order must give
    # what the concurrent, overlapping writes really left (shared.dat).
    replay.compare(replay.replay(t), m.backing)
    engine_verify(ctx, m.trace, m.backing)
    seqs = [r.get("seq") for r in t]
    assert all(a < b for a, b in zip(seqs, seqs[1:])), (
        "trace sequence numbers are not increasing")
    total = 0
    for i, lg in enumerate(logs):
        want = lg["ops"]
        total += len(want)
        got = [r for r in t if r.get("pid") == lg["pid"]
               and r.get("type") in TYPES]
        check_order(i, lg["pid"], want, got)
    print("%d operations by %d workers checked" % (total, WORKERS))
