# SPDX-License-Identifier: MIT
"""Trace cases: run a program on a crashfs mount, unmount, and check what
`crashfs trace --json` says it did: the right operations, in the order the
program made them, on the right files, with the right offsets, flags,
pids and results.

Programs run as separate processes (python3 -c) so their pid is known and
differs from the test's.
"""

import errno
import os
import subprocess
import sys
import textwrap

from lib import Trace, run

ATOMIC_WRITE = textwrap.dedent('''
    # The pattern of seeds/004 (temp file, flush, fsync, replace, fsync the
    # directory), in our own words; prints the temp file's name.
    import os, sys, tempfile

    def save(target, text):
        folder = os.path.dirname(os.path.abspath(target))
        handle, temp = tempfile.mkstemp(
            dir=folder, prefix="." + os.path.basename(target) + ".",
            suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
            dirfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dirfd)
            finally:
                os.close(dirfd)
        except BaseException:
            if os.path.exists(temp):
                os.unlink(temp)
            raise
        print(os.path.basename(temp))

    save(sys.argv[1], sys.argv[2])
''')


def py(code, *args, **kw):
    """Run Python code as its own process; returns (pid, stdout)."""
    p = subprocess.Popen([sys.executable, "-c", code] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, **kw)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, "workload failed: %s" % err.strip()
    return p.pid, out


def describe(rec):
    keys = ("seq", "type", "pid", "result", "errno", "id", "id2", "path",
            "path2", "entry", "entry2", "off", "len", "data_len", "flags",
            "oflags", "name")
    return " ".join("%s=%s" % (k, rec[k]) for k in keys if k in rec)


def dump(recs, limit=40):
    lines = [describe(r) for r in recs]
    if len(lines) > limit:
        lines = lines[:limit] + ["... %d more" % (len(lines) - limit)]
    return "\n    " + "\n    ".join(lines)


def in_order(recs, steps, context):
    """Find, in recs, a record for each (description, predicate) of steps,
    each after the previous one.  Returns the records found; fails naming
    the first step not found."""
    found = []
    i = 0
    for desc, pred in steps:
        while i < len(recs) and not pred(recs[i]):
            i += 1
        assert i < len(recs), (
            "%s: no %s after %s in the trace:%s"
            % (context, desc, describe(found[-1]) if found else "the start",
               dump(recs)))
        found.append(recs[i])
        i += 1
    return found


def is_(type_, **fields):
    def pred(r):
        return r.get("type") == type_ and all(r.get(k) == v
                                              for k, v in fields.items())
    return pred


def test_atomic_write_seed_004(ctx):
    """seeds/004 atomic_write() of etc/config.json over an existing one."""
    ctx.needs_trace()
    # etc/config.json exists before the mount, as in real life
    os.makedirs(ctx.path("m.backing", "etc"))
    with open(ctx.path("m.backing", "etc", "config.json"), "w") as f:
        f.write('{"version": 1}')
    m = ctx.mount()
    new = '{"version": 2, "name": "atomic"}'
    pid, out = py(ATOMIC_WRITE, os.path.join(m.mnt, "etc", "config.json"),
                  new)
    tmp = "etc/" + out.strip()
    m.umount()
    with open(os.path.join(m.backing, "etc", "config.json")) as f:
        assert f.read() == new, "config.json does not hold the new content"
    t = Trace(m.trace)
    mine = [r for r in t if r.get("pid") == pid]
    create, write, fsync, flush, rename, fsyncdir = in_order(mine, [
        ("create of %s" % tmp, is_("create", path=tmp, result=0)),
        ("write of %d bytes at 0 to %s" % (len(new), tmp),
         is_("write", path=tmp, off=0, data_len=len(new), result=len(new))),
        ("fsync of %s" % tmp, is_("fsync", path=tmp, result=0)),
        # f.flush() is a write(2); the FUSE flush is the close() at the
        # end of the with block, after the fsync
        ("flush (close) of %s" % tmp, is_("flush", path=tmp)),
        ("rename %s -> etc/config.json" % tmp,
         is_("rename", entry=tmp, entry2="etc/config.json", result=0)),
        ("fsyncdir of etc", is_("fsyncdir", path="etc", result=0)),
    ], "seed 004 atomic write (pid %d)" % pid)
    for r in (write, fsync, flush, rename):
        assert r["id"] == create["id"], (
            "%s is recorded against file id %s, the temporary file is %s"
            % (r["type"], r["id"], create["id"]))
    assert rename.get("id2"), ("the rename replaced etc/config.json but "
                               "the record names no replaced file: %s"
                               % describe(rename))
    # Nothing of this program's may hide between them: no second rename,
    # no write to config.json itself.
    others = [r for r in mine if r.get("type") in ("write", "rename")
              and r not in (write, rename)]
    assert not others, "unexpected records:%s" % dump(others)


def test_marks(ctx):
    ctx.needs_trace()
    m = ctx.mount()
    p = os.path.join(m.mnt, "log")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, b"first")
    m.mark("after first")
    os.write(fd, b"second!")
    m.mark("after second")
    m.mark("with spaces and ünïcode")
    os.close(fd)
    m.umount()
    t = Trace(m.trace)
    in_order(list(t), [
        ("write of 5 bytes", is_("write", path="log", data_len=5)),
        ("mark 'after first'", is_("mark", name="after first")),
        ("write of 7 bytes", is_("write", path="log", data_len=7)),
        ("mark 'after second'", is_("mark", name="after second")),
        ("mark 'with spaces and ünïcode'",
         is_("mark", name="with spaces and ünïcode")),
    ], "marks")
    assert len(t.of_type("mark")) == 3, "expected 3 marks:%s" % dump(
        t.of_type("mark"))


UNLINKED = textwrap.dedent('''
    import os, sys
    p = sys.argv[1]
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o600)
    os.write(fd, b"aaaa")
    os.unlink(p)
    os.write(fd, b"bbbbbb")
    assert os.pread(fd, 100, 0) == b"aaaabbbbbb"
    os.fsync(fd)
    os.ftruncate(fd, 2)
    os.close(fd)
''')


def test_unlinked_open(ctx):
    ctx.needs_trace()
    m = ctx.mount()
    # another file takes the name right away: the writes must not go to it
    pid, _ = py(UNLINKED, os.path.join(m.mnt, "scratch"))
    with open(os.path.join(m.mnt, "scratch"), "wb") as f:
        f.write(b"other file")
    m.umount()
    t = Trace(m.trace)
    mine = [r for r in t if r.get("pid") == pid]
    create, w1, unlink, w2, fsync = in_order(mine, [
        ("create of scratch", is_("create", path="scratch", result=0)),
        ("write of 4 bytes at 0", is_("write", off=0, data_len=4, result=4)),
        ("unlink of scratch", is_("unlink", entry="scratch", result=0)),
        ("write of 6 bytes at 4", is_("write", off=4, data_len=6, result=6)),
        ("fsync", is_("fsync", result=0)),
    ], "unlinked open file (pid %d)" % pid)
    fid = create["id"]
    for r in (w1, unlink, w2, fsync):
        assert r.get("id") == fid, (
            "%s after the unlink is recorded against file id %s, the "
            "unlinked file is %s" % (r["type"], r.get("id"), fid))
    trunc = [r for r in mine if r.get("type") == "truncate"]
    assert trunc and trunc[-1].get("id") == fid and trunc[-1].get(
        "len") == 2, "ftruncate of the unlinked file: %s" % dump(trunc)
    later = [r for r in t if r.get("type") == "create"
             and r.get("path") == "scratch" and r.get("pid") != pid]
    assert later and later[0]["id"] != fid, (
        "the new scratch must be a new file id:%s" % dump(later))


APPENDER = textwrap.dedent('''
    import os, sys
    path, tag, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    os.read(int(go), 1)       # start together
    for k in range(n):
        rec = ("%s%04d:" % (tag, k)).encode()
        rec += tag.encode() * (17 + (k * 37) % 200)
        assert os.write(fd, rec) == len(rec)
    os.close(fd)
''')


def append_record(tag, k):
    rec = ("%s%04d:" % (tag, k)).encode()
    return rec + tag.encode() * (17 + (k * 37) % 200)


def test_append_two_processes(ctx):
    """Two processes append to one file at once: every write record's
    offset is where its data really is, the records tile the file without
    overlap, and each process's appends are in the trace, in its order,
    each landing in one piece."""
    ctx.needs_trace()
    m = ctx.mount()
    path = os.path.join(m.mnt, "shared.log")
    open(path, "wb").close()
    n = 300
    r_go, w_go = os.pipe()
    procs = {}
    for tag in ("A", "B"):
        p = ctx.spawn([sys.executable, "-c", APPENDER, path, tag, str(n),
                       str(r_go)], pass_fds=(r_go,))
        procs[p.pid] = (tag, p)
    os.write(w_go, b"xx")
    for pid, (tag, p) in procs.items():
        assert p.wait(timeout=60) == 0, "appender %s failed" % tag
    os.close(r_go)
    os.close(w_go)
    with open(path, "rb") as f:
        data = f.read()
    m.umount()
    t = Trace(m.trace, data=True)
    writes = [r for r in t.of_type("write") if r.get("path") == "shared.log"]
    unflagged = [r for r in writes if not r.get("flags", 0) & 0x0004]
    assert not unflagged, ("writes through O_APPEND descriptors are not "
                           "flagged append:%s" % dump(unflagged[:5]))
    # The final file is the records laid at their offsets, no overlap.
    laid = bytearray(len(data))
    pos = 0
    for r in sorted(writes, key=lambda r: r["off"]):
        assert r["off"] == pos, (
            "the recorded appends leave a %s at offset %d (next record: "
            "%s)" % ("gap" if r["off"] > pos else "overlap", pos,
                     describe(r)))
        laid[pos:pos + len(r["data"])] = r["data"]
        pos += len(r["data"])
    assert pos == len(data), ("the recorded appends end at %d, the file "
                              "at %d" % (pos, len(data)))
    assert bytes(laid) == data, ("the records laid at their offsets do not "
                                 "give the file's content")
    # Each process: its appends, in its order, each in one piece (the
    # kernel may cut one write(2) into several requests, which must then
    # be contiguous in the file and follow each other in the trace).
    for pid, (tag, _) in procs.items():
        mine = [r for r in writes if r.get("pid") == pid]
        k = 0
        for k in range(n):
            want = append_record(tag, k)
            assert mine, ("%s (pid %d): append %d of %d is not in the "
                          "trace" % (tag, pid, k, n))
            got, start = b"", mine[0]["off"]
            while mine and len(got) < len(want):
                r = mine.pop(0)
                assert r["off"] == start + len(got), (
                    "%s's append %d is split into records that are not "
                    "contiguous: %s" % (tag, k, describe(r)))
                got += r["data"]
            assert got == want, (
                "%s's append %d: the trace has %r..., it wrote %r..."
                % (tag, k, got[:20], want[:20]))
        assert not mine, "%s: %d write records more than its appends" % (
            tag, len(mine))


def test_rename_flags(ctx):
    ctx.needs_trace()
    fsop = ctx.tool("fsop")
    m = ctx.mount()
    for n in ("a", "b", "c"):
        with open(os.path.join(m.mnt, n), "w") as f:
            f.write(n * 3)
    P = lambda n: os.path.join(m.mnt, n)  # noqa: E731
    for args, want in ((["a", "b", "exchange"], "ok"),
                       (["c", "d", "noreplace"], "ok"),
                       (["d", "a", "noreplace"], "err EEXIST"),
                       (["d", "a", "0"], "ok")):
        r = run([fsop, "rename2", P(args[0]), P(args[1]), args[2]])
        assert r.stdout.strip() == want, "rename2 %s: %s" % (args,
                                                             r.stdout)
    m.umount()
    t = Trace(m.trace)
    ids = {r["path"]: r["id"] for r in t.of_type("create")}
    RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
    ex, nr, plain = in_order(t.of_type("rename"), [
        ("RENAME_EXCHANGE a <-> b",
         is_("rename", entry="a", entry2="b", oflags=RENAME_EXCHANGE,
             result=0)),
        ("RENAME_NOREPLACE c -> d",
         is_("rename", entry="c", entry2="d", oflags=RENAME_NOREPLACE,
             result=0)),
        ("plain rename d -> a", is_("rename", entry="d", entry2="a",
                                    oflags=0, result=0)),
    ], "rename flags")
    assert (ex.get("id"), ex.get("id2")) == (ids["a"], ids["b"]), (
        "the exchange must name both files (%s, %s): %s"
        % (ids["a"], ids["b"], describe(ex)))
    assert nr.get("id") == ids["c"] and not nr.get("id2"), describe(nr)
    # after the exchange, "a" is the file created as b
    assert (plain.get("id"), plain.get("id2")) == (ids["c"], ids["b"]), (
        "rename d -> a moves file %s over file %s: %s"
        % (ids["c"], ids["b"], describe(plain)))


def test_failed_ops_recorded(ctx):
    """Operations the file system refuses are in the trace with their
    errno (rmdir and rename over a non-empty directory, xattr flags)."""
    ctx.needs_trace()
    m = ctx.mount()
    os.makedirs(os.path.join(m.mnt, "full", "sub"))
    os.mkdir(os.path.join(m.mnt, "empty"))
    try:
        os.rmdir(os.path.join(m.mnt, "full"))
        raise AssertionError("rmdir of a non-empty directory succeeded")
    except OSError as e:
        assert e.errno == errno.ENOTEMPTY, "rmdir: %s" % e
    try:
        os.rename(os.path.join(m.mnt, "empty"), os.path.join(m.mnt, "full"))
        raise AssertionError("rename over a non-empty directory succeeded")
    except OSError as e:
        assert e.errno in (errno.ENOTEMPTY, errno.EEXIST), "rename: %s" % e
        rename_errno = e.errno
    with open(os.path.join(m.mnt, "f"), "w") as f:
        f.write("x")
    os.setxattr(os.path.join(m.mnt, "f"), "user.k", b"1")
    try:
        os.setxattr(os.path.join(m.mnt, "f"), "user.k", b"2",
                    os.XATTR_CREATE)
        raise AssertionError("setxattr XATTR_CREATE over existing worked")
    except OSError as e:
        assert e.errno == errno.EEXIST, "setxattr: %s" % e
    m.umount()
    t = Trace(m.trace)
    in_order(list(t), [
        ("rmdir full failing with ENOTEMPTY",
         is_("rmdir", entry="full", result=-errno.ENOTEMPTY)),
        ("rename empty -> full failing with %s" % errno.errorcode[
            rename_errno],
         is_("rename", entry="empty", entry2="full", result=-rename_errno)),
        ("setxattr user.k failing with EEXIST",
         is_("setxattr", path="f", name="user.k", result=-errno.EEXIST)),
    ], "failed operations")
    # and they changed nothing: "full" is still there, with its content
    assert os.path.isdir(os.path.join(m.backing, "full", "sub"))


def test_o_trunc_is_a_truncate(ctx):
    ctx.needs_trace()
    os.mkdir(ctx.path("m.backing"))
    with open(ctx.path("m.backing", "old"), "wb") as f:
        f.write(b"old content, 23 bytes.")
    m = ctx.mount()
    pid, _ = py(textwrap.dedent('''
        import os, sys
        fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
        os.write(fd, b"new")
        os.close(fd)
        fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(fd, b"made")
        os.close(fd)
        fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.close(fd)
    '''), os.path.join(m.mnt, "old"), os.path.join(m.mnt, "made"))
    m.umount()
    with open(os.path.join(m.backing, "old"), "rb") as f:
        assert f.read() == b"new"
    t = Trace(m.trace)
    mine = [r for r in t if r.get("pid") == pid]
    in_order(mine, [
        ("truncate of old to 0", is_("truncate", path="old", len=0,
                                     result=0)),
        ("write of 3 bytes to old", is_("write", path="old", off=0, data_len=3)),
        ("create of made", is_("create", path="made", result=0)),
        ("write of 4 bytes to made", is_("write", path="made", data_len=4)),
        ("truncate of made to 0 (O_CREAT|O_TRUNC on an existing file)",
         is_("truncate", path="made", len=0, result=0)),
    ], "O_TRUNC (pid %d)" % pid)
    binds = [r for r in t.of_type("bind") if r.get("path") == "old"]
    assert binds, ("the pre-existing file 'old' was never bound to its "
                   "name in the trace:%s" % dump(list(t)))


def test_fsync_recorded(ctx):
    """fsync, fdatasync and directory fsync are recorded and succeed; by
    default they are not passed to the disk (nothing to check there but
    that they are recorded and answered)."""
    ctx.needs_trace()
    m = ctx.mount()
    pid, _ = py(textwrap.dedent('''
        import os, sys
        d = sys.argv[1]
        fd = os.open(os.path.join(d, "f"), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, b"data")
        os.fsync(fd)
        os.fdatasync(fd)
        os.close(fd)
        fd = os.open(os.path.join(d, "s"),
                     os.O_CREAT | os.O_WRONLY | os.O_SYNC, 0o644)
        os.write(fd, b"sync")
        os.close(fd)
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.fdatasync(dfd)
        os.close(dfd)
    '''), m.mnt)
    m.umount()
    t = Trace(m.trace)
    mine = [r for r in t if r.get("pid") == pid]
    fs, fds, sw, ss, dfs, dfds = in_order(mine, [
        ("fsync of f", is_("fsync", path="f", result=0)),
        ("fdatasync of f", is_("fsync", path="f", result=0)),
        ("O_SYNC write of s", is_("write", path="s", data_len=4)),
        ("fsync after the O_SYNC write", is_("fsync", path="s")),
        ("fsyncdir of the root", is_("fsyncdir", path="/", result=0)),
        ("fdatasync of the root", is_("fsyncdir", path="/", result=0)),
    ], "fsync (pid %d)" % pid)
    assert sw.get("flags", 0) & 0x0002, (
        "the write through an O_SYNC descriptor is not flagged sync (the "
        "harness counts it durable when it returns): %s" % describe(sw))
    assert not datasync(fs) and datasync(fds), (
        "fsync/fdatasync of f not told apart: %s / %s"
        % (describe(fs), describe(fds)))
    assert not datasync(dfs) and datasync(dfds), (
        "fsync/fdatasync of the directory not told apart: %s / %s"
        % (describe(dfs), describe(dfds)))


def datasync(rec):
    f = rec.get("flags")
    if isinstance(f, list):
        return "datasync" in f
    if isinstance(f, str):
        return "datasync" in f
    return bool((f or 0) & 1)


def test_thread_pid(ctx):
    """A write made by a second thread is recorded with the process's pid
    (the "calling process" of trace.h), so `crashfs trace --pid P` with a
    program's pid shows all it did."""
    ctx.needs_trace()
    m = ctx.mount()
    pid, out = py(textwrap.dedent('''
        import os, sys, threading
        def work():
            with open(sys.argv[1], "wb") as f:
                f.write(b"from a thread")
            print(threading.get_native_id())
        t = threading.Thread(target=work)
        t.start()
        t.join()
    '''), os.path.join(m.mnt, "threaded"))
    tid = int(out.strip())
    m.umount()
    t = Trace(m.trace)
    w = [r for r in t.of_type("write") if r.get("path") == "threaded"]
    assert w, "the thread's write is not in the trace"
    assert w[0].get("pid") == pid, (
        "the write of thread %d of process %d is recorded with pid %s"
        % (tid, pid, w[0].get("pid")))


PINGPONG = textwrap.dedent('''
    import os, sys
    d, role, rounds, rfd, wfd = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
        int(sys.argv[4]), int(sys.argv[5])
    for k in range(rounds):
        if role == "A":
            with open(os.path.join(d, "f"), "ab") as f:
                f.write(b"a%d;" % k)
            os.write(wfd, b"x")
            os.read(rfd, 1)
        else:
            os.read(rfd, 1)
            os.rename(os.path.join(d, "f"), os.path.join(d, "g%d" % k))
            os.rename(os.path.join(d, "g%d" % k), os.path.join(d, "f"))
            os.write(wfd, b"x")
''')


def test_cross_process_order(ctx):
    """Two processes take turns through a pipe (A writes, then B renames,
    then A writes ...).  Each turn happens after the previous one, so the
    trace, one total order, must list them in exactly that order."""
    ctx.needs_trace()
    m = ctx.mount()
    rounds = 100
    a_r, b_w = os.pipe()
    b_r, a_w = os.pipe()
    pa = ctx.spawn([sys.executable, "-c", PINGPONG, m.mnt, "A",
                    str(rounds), str(a_r), str(a_w)], pass_fds=(a_r, a_w))
    pb = ctx.spawn([sys.executable, "-c", PINGPONG, m.mnt, "B",
                    str(rounds), str(b_r), str(b_w)], pass_fds=(b_r, b_w))
    assert pa.wait(timeout=60) == 0 and pb.wait(timeout=60) == 0
    for fd in (a_r, b_w, b_r, a_w):
        os.close(fd)
    m.umount()
    t = Trace(m.trace)
    seen = [("A", r.get("data_len")) if r["type"] == "write" else
            ("B", r.get("entry2"))
            for r in t.of_type("write", "rename")
            if r.get("pid") in (pa.pid, pb.pid)]
    want = []
    for k in range(rounds):
        want += [("A", len(b"a%d;" % k)), ("B", "g%d" % k), ("B", "f")]
    for i, (s, w) in enumerate(zip(seen, want)):
        assert s == w, ("turn %d: the trace has %r where the processes "
                        "did %r (the trace order contradicts what they "
                        "observed)" % (i, s, w))
    assert len(seen) == len(want), "%d records for %d operations" % (
        len(seen), len(want))


def test_setattr_recorded(ctx):
    ctx.needs_trace()
    m = ctx.mount()
    p = os.path.join(m.mnt, "f")
    with open(p, "w") as f:
        f.write("x")
    os.chmod(p, 0o751)
    os.chown(p, 4321, 8765)
    os.utime(p, ns=(1500000000123456789, 1600000000987654321))
    m.umount()
    t = Trace(m.trace)
    mode, own, times = in_order([r for r in t.of_type("setattr")
                                 if r.get("path") == "f"], [
        ("chmod 0751", lambda r: r["oflags"] & 1 and
         r["mode"] & 0o7777 == 0o751),
        ("chown 4321:8765", lambda r: r["oflags"] & 6 == 6 and
         (r["uid"], r["gid"]) == (4321, 8765)),
        ("utimens", lambda r: r["oflags"] & 0x18 == 0x18 and
         (r["atime"], r["mtime"]) == (
             {"sec": 1500000000, "nsec": 123456789},
             {"sec": 1600000000, "nsec": 987654321})),
    ], "setattr")


def test_paths_follow_renames(ctx):
    """The trace names each file by the path it had at that moment: a
    write after its directory was renamed shows the new path, after an
    unlink the old name marked deleted."""
    ctx.needs_trace()
    m = ctx.mount()
    os.mkdir(os.path.join(m.mnt, "d"))
    fd = os.open(os.path.join(m.mnt, "d", "f"), os.O_CREAT | os.O_WRONLY,
                 0o644)
    os.write(fd, b"1")
    os.rename(os.path.join(m.mnt, "d"), os.path.join(m.mnt, "e"))
    os.write(fd, b"22")
    os.unlink(os.path.join(m.mnt, "e", "f"))
    os.write(fd, b"333")
    os.close(fd)
    m.umount()
    t = Trace(m.trace)
    paths = [(r.get("data_len"), r.get("path")) for r in t.of_type("write")]
    assert paths == [(1, "d/f"), (2, "e/f"), (3, "e/f (deleted)")], (
        "write paths in the trace: %r" % paths)


def test_buffered_write_lands_at_close(ctx):
    """Seeds 000-003: Python's buffered write() reaches the file system
    only when the buffer is flushed, so a mark made before close() comes
    before the write in the trace; after f.flush() it comes after."""
    ctx.needs_trace()
    m = ctx.mount()
    env = dict(os.environ, CRASHFS_MOUNT=m.mnt)
    from lib import CRASHFS
    py(textwrap.dedent('''
        import subprocess, sys
        crashfs, path = sys.argv[1], sys.argv[2]
        f = open(path + "/buffered", "w")
        f.write("saved?")
        subprocess.run([crashfs, "mark", "said saved"], check=True)
        f.close()
        f = open(path + "/flushed", "w")
        f.write("saved!")
        f.flush()
        subprocess.run([crashfs, "mark", "said saved again"], check=True)
        f.close()
    '''), CRASHFS, m.mnt, env=env)
    m.umount()
    t = Trace(m.trace)
    in_order(t.of_type("write", "mark"), [
        ("mark 'said saved'", is_("mark", name="said saved")),
        ("the buffered write, at close", is_("write", path="buffered")),
        ("the flushed write", is_("write", path="flushed")),
        ("mark 'said saved again'", is_("mark", name="said saved again")),
    ], "buffered writes")


def test_flush_per_close(ctx):
    """close(2) of each descriptor is a flush (by the closer); the last
    one is followed by one release."""
    ctx.needs_trace()
    m = ctx.mount()
    pid, _ = py(textwrap.dedent('''
        import os, sys
        fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
        fd2 = os.dup(fd)
        os.write(fd2, b"x")
        os.close(fd2)
        os.close(fd)
    '''), os.path.join(m.mnt, "f"))
    m.umount()
    t = Trace(m.trace)
    recs = [(r["type"], r.get("pid")) for r in t.of_type("flush", "release")
            if r.get("path") == "f"]
    assert [x[0] for x in recs] == ["flush", "flush", "release"], (
        "closing a descriptor and its dup: %r" % recs)
    assert recs[0][1] == pid and recs[1][1] == pid, (
        "flush records must carry the closer's pid %d: %r" % (pid, recs))
