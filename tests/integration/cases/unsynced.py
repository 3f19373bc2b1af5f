# SPDX-License-Identifier: MIT
"""`crashfs ctl MNT unsynced [--json]`: what is not yet durable on a live
mount (docs/control.md), on any mount (with or without --powercut): the
files with unsynced data and their byte ranges, the entry ops no
directory fsync made durable, the attribute changes no fsync of the file
made durable; each leaves the report once the sync that makes it durable
is made.
"""

import json
import os

from lib import CRASHFS, run


def report(m):
    r = m.ctl("unsynced", "--json")
    return json.loads(r.stdout)


def files(rep):
    return {f["path"]: f for f in rep["files"]}


def sync(path, data=False):
    fd = os.open(path, os.O_RDONLY)
    try:
        (os.fdatasync if data else os.fsync)(fd)
    finally:
        os.close(fd)


def scenario(ctx, options):
    b = ctx.path("m.backing")
    os.mkdir(b)
    with open(os.path.join(b, "old"), "wb") as f:
        f.write(b"0123456789")
    os.mkdir(os.path.join(b, "d"))
    m = ctx.mount(options=options)
    mnt = m.mnt
    rep = report(m)
    assert rep["files"] == [] and rep["entries"] == [] and \
        rep["attributes"] == [], rep
    assert rep["powercut"] == ("--powercut" in options), rep
    # data: two ranges of an old file, a new file
    fd = os.open(os.path.join(mnt, "old"), os.O_WRONLY)
    os.pwrite(fd, b"AB", 2)
    os.pwrite(fd, b"C", 7)
    os.pwrite(fd, b"D", 3)  # touches the first range: merged
    os.close(fd)
    with open(os.path.join(mnt, "d", "new"), "wb") as f:
        f.write(b"x" * 5000)
    os.rename(os.path.join(mnt, "d", "new"), os.path.join(mnt, "d", "n2"))
    os.chmod(os.path.join(mnt, "old"), 0o600)
    os.setxattr(os.path.join(mnt, "old"), "user.k", b"v")
    rep = report(m)
    fs = files(rep)
    assert set(fs) == {"old", "d/n2"}, rep
    assert fs["old"]["ranges"] == [{"off": 2, "len": 2},
                                   {"off": 7, "len": 1}], fs["old"]
    assert fs["old"]["bytes"] == 3 and fs["old"]["durable_size"] == 10
    assert fs["d/n2"]["bytes"] == 5000 and fs["d/n2"]["size"] == 5000
    assert fs["d/n2"]["durable_size"] == 0
    assert rep["bytes"] == 5003, rep
    ops = [(e["op"], e.get("path"), e.get("from"), e.get("to"))
           for e in rep["entries"]]
    assert ops == [("create", "d/new", None, None),
                   ("rename", None, "d/new", "d/n2")], ops
    attrs = [(a["op"], a["path"], a.get("name")) for a in rep["attributes"]]
    assert attrs == [("chmod", "old", None), ("xattr", "old", "user.k")], \
        attrs
    # the text form says the same
    txt = m.ctl("unsynced").stdout
    assert "unsynced data: 2 files, 5003 bytes" in txt, txt
    assert "    bytes 2-3 7-7" in txt, txt
    assert "  rename d/new -> d/n2" in txt, txt
    assert "  xattr old user.k" in txt, txt
    # fdatasync makes the data durable, not the attributes
    sync(os.path.join(mnt, "old"), data=True)
    rep = report(m)
    assert set(files(rep)) == {"d/n2"}, rep
    assert len(rep["attributes"]) == 2, rep
    sync(os.path.join(mnt, "old"))
    assert report(m)["attributes"] == []
    # fsync of the file does not make its name durable; of its directory
    # does (and everything journalled before)
    sync(os.path.join(mnt, "d", "n2"))
    rep = report(m)
    assert rep["files"] == [] and len(rep["entries"]) == 2, rep
    sync(os.path.join(mnt, "d"))
    rep = report(m)
    assert rep["entries"] == [], rep
    # an unlink is pending until its directory is synced
    os.unlink(os.path.join(mnt, "d", "n2"))
    rep = report(m)
    assert [(e["op"], e["path"]) for e in rep["entries"]] == [
        ("unlink", "d/n2")], rep
    return m


def test_without_powercut(ctx):
    """The report works on a mount made without --powercut, which keeps
    nothing: an unlinked file's space is freed, no scratch is made."""
    m = scenario(ctx, [])
    assert not os.path.exists(m.trace + ".scratch")
    assert sorted(os.listdir(m.backing)) == ["d", "old"], \
        os.listdir(m.backing)


def test_with_powercut(ctx):
    """The same with --powercut; a file unlinked with unsynced data is
    reported as unlinked."""
    m = scenario(ctx, ["--powercut"])
    with open(os.path.join(m.mnt, "gone"), "wb") as f:
        f.write(b"data")
    os.unlink(os.path.join(m.mnt, "gone"))
    fs = report(m)["files"]
    assert len(fs) == 1 and fs[0].get("unlinked") is True, fs


def test_usage(ctx):
    m = ctx.mount()
    r = run([CRASHFS, "ctl", m.mnt, "unsynced", "--yaml"])
    assert r.returncode == 2 and "--json" in r.stderr, (r.returncode,
                                                         r.stderr)
