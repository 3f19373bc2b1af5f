# SPDX-License-Identifier: MIT
"""An independent oracle for traces: rebuild a tree from a trace alone and
compare it with what the mount really left in the backing directory.

The design promises that the payloads in a trace let the harness rebuild
the content of any file at any point.  This replayer is written from the
trace format only (it shares no code with core/), so when it disagrees
with the backing directory either a record is missing or wrong (offset,
length, file id, rename flags ...) or the format cannot express what
happened.

A mount over a non-empty backing directory needs a copy of that directory
as it was before the mount (the initial tree): a pre-existing file's
content is not in the trace, only its bind record.  Compared: names,
types, permission bits, contents, sizes, symlink targets, hard links and
user xattrs; not owners or times.
"""

import base64
import os
import stat

CHUNK = 1 << 16
FALLOC_FL_KEEP_SIZE = 0x01
FALLOC_FL_PUNCH_HOLE = 0x02
FALLOC_FL_COLLAPSE_RANGE = 0x08
FALLOC_FL_ZERO_RANGE = 0x10
FALLOC_FL_INSERT_RANGE = 0x20
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
TRA_MODE = 0x01


class Sparse:
    """File data as 64 KiB chunks; missing chunks read as zeros."""

    def __init__(self):
        self.size = 0
        self.chunks = {}

    def write(self, off, data):
        pos = 0
        while pos < len(data):
            i, o = divmod(off + pos, CHUNK)
            n = min(CHUNK - o, len(data) - pos)
            c = self.chunks.setdefault(i, bytearray(CHUNK))
            c[o:o + n] = data[pos:pos + n]
            pos += n
        self.size = max(self.size, off + len(data))

    def read(self, off, n):
        n = max(0, min(n, self.size - off))
        out = bytearray()
        while len(out) < n:
            i, o = divmod(off + len(out), CHUNK)
            k = min(CHUNK - o, n - len(out))
            c = self.chunks.get(i)
            out += c[o:o + k] if c else bytes(k)
        return bytes(out)

    def zero(self, off, n):
        end = off + n
        while off < end:
            i, o = divmod(off, CHUNK)
            k = min(CHUNK - o, end - off)
            if i in self.chunks:
                self.chunks[i][o:o + k] = bytes(k)
            off += k

    def truncate(self, size):
        if size < self.size:
            self.zero(size, self.size - size)
        self.size = size


class Node:
    def __init__(self, kind, mode=None, target=None):
        self.kind = kind            # "file", "dir", "symlink", "fifo" ...
        self.mode = mode            # permission bits, None for symlinks
        self.data = Sparse() if kind == "file" else None
        self.entries = {} if kind == "dir" else None
        self.target = target
        self.xattrs = {}


class ReplayError(AssertionError):
    pass


def kind_of(mode):
    for test, name in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chr"),
                       (stat.S_ISBLK, "blk"), (stat.S_ISSOCK, "sock")):
        if test(mode):
            return name
    return "?"


def name_of(rec, key):
    """A name as bytes: JSON holds UTF-8 names as strings, others in
    base64 under KEY_b64."""
    if key + "_b64" in rec:
        return base64.b64decode(rec[key + "_b64"])
    return rec[key].encode("utf-8")


class Replay:
    """Nodes by file id.  With an initial tree, every entry of it starts
    as a node with a negative id (hard links share one); a bind record
    gives that node its trace id (the kernel looks an entry up, so the
    daemon binds it, before anything can change it)."""

    def __init__(self, initial=None):
        self.nodes = {1: Node("dir")}
        self.alias = {}             # placeholder id -> trace id
        if initial:
            self.load_initial(os.fsencode(initial))

    def load_initial(self, root):
        by_ino = {}

        def load(path, node):
            for name in sorted(os.listdir(path)):
                p = os.path.join(path, name)
                st = os.lstat(p)
                if st.st_ino in by_ino:
                    node.entries[name] = by_ino[st.st_ino]
                    continue
                pid = -(len(by_ino) + 1)
                by_ino[st.st_ino] = pid
                node.entries[name] = pid
                self.nodes[pid] = n = self.load_node(p, st)
                if n.kind == "dir":
                    load(p, n)
        self.nodes[1].mode = stat.S_IMODE(os.lstat(root).st_mode)
        for x in os.listxattr(root):
            self.nodes[1].xattrs[os.fsencode(x)] = os.getxattr(root, x)
        load(root, self.nodes[1])

    @staticmethod
    def load_node(p, st):
        k = "symlink" if stat.S_ISLNK(st.st_mode) else kind_of(st.st_mode)
        n = Node(k, None if k == "symlink" else stat.S_IMODE(st.st_mode),
                 os.readlink(p) if k == "symlink" else None)
        if k == "file":
            with open(p, "rb") as f:
                n.data.write(0, f.read())
        if k != "symlink":
            for x in os.listxattr(p):
                n.xattrs[os.fsencode(x)] = os.getxattr(p, x)
        return n

    def resolve(self, i):
        while i in self.alias:
            i = self.alias[i]
        return i

    def bind(self, rec):
        """A file met for the first time, under (parent, name) of the
        initial tree."""
        if rec["id"] == 1:
            return
        d = self.dir(rec)
        name = name_of(rec, "name")
        pid = self.resolve(d.entries.get(name, 0))
        if pid >= 0:
            raise ReplayError("record %s binds %r, which is not in the "
                              "initial tree (or was bound before)"
                              % (rec["seq"], rec.get("entry")))
        node = self.nodes[pid]
        if rec["id"] in self.nodes:
            # a second name of a file already bound: must be the same file
            if self.nodes[rec["id"]] is not node:
                raise ReplayError("record %s binds %r to file id %s, which "
                                  "is another file in the initial tree"
                                  % (rec["seq"], rec.get("entry"),
                                     rec["id"]))
            return
        if node.kind == "file" and rec.get("len") != node.data.size:
            raise ReplayError("record %s binds %r with size %s, the initial "
                              "tree has %d bytes" % (
                                  rec["seq"], rec.get("entry"),
                                  rec.get("len"), node.data.size))
        self.nodes[rec["id"]] = node
        self.alias[pid] = rec["id"]

    def dir(self, rec, key="parent"):
        d = self.nodes.get(self.resolve(rec[key]))
        if d is None or d.kind != "dir":
            raise ReplayError("record %s names directory id %s, which the "
                              "trace never introduced" % (rec["seq"],
                                                          rec[key]))
        return d

    def node(self, rec, key="id"):
        n = self.nodes.get(self.resolve(rec[key]))
        if n is None:
            raise ReplayError("record %s (%s) is about file id %s, which "
                              "the trace never introduced"
                              % (rec["seq"], rec["type"], rec[key]))
        return n

    def add(self, rec, node):
        self.dir(rec).entries[name_of(rec, "name")] = rec["id"]
        self.nodes[rec["id"]] = node

    def apply(self, rec):
        t = rec["type"]
        if rec.get("result", 0) < 0:
            return
        if t == "bind":
            self.bind(rec)
        elif t == "create" or t == "mknod":
            self.add(rec, Node(kind_of(rec["mode"]),
                               stat.S_IMODE(rec["mode"])))
        elif t == "mkdir":
            self.add(rec, Node("dir", stat.S_IMODE(rec["mode"])))
        elif t == "symlink":
            self.add(rec, Node("symlink", None, name_of(rec, "name2")))
        elif t == "setattr":
            if rec["oflags"] & TRA_MODE:
                self.node(rec).mode = stat.S_IMODE(rec["mode"])
        elif t == "setxattr":
            n = self.node(rec)
            v = base64.b64decode(rec.get("data_b64", ""))
            n.xattrs[name_of(rec, "name")] = v
        elif t == "removexattr":
            self.node(rec).xattrs.pop(name_of(rec, "name"), None)
        elif t == "link":
            self.node(rec)
            self.dir(rec).entries[name_of(rec, "name")] = rec["id"]
        elif t in ("unlink", "rmdir"):
            d = self.dir(rec)
            name = name_of(rec, "name")
            if name not in d.entries:
                raise ReplayError("record %s: %s of '%s', which is not "
                                  "there" % (rec["seq"], t, rec.get("entry")))
            del d.entries[name]
        elif t == "rename":
            self.rename(rec)
        elif t == "write":
            self.node(rec).data.write(rec["off"], rec["data"])
        elif t == "truncate":
            self.node(rec).data.truncate(rec["len"])
        elif t == "fallocate":
            self.fallocate(rec)
        elif t == "copy_file_range":
            n = rec["result"]
            src = self.node(rec, "id2").data.read(rec["off2"], n)
            if len(src) != n:
                raise ReplayError("record %s: copy of %d bytes from %d, "
                                  "past the source's end" % (
                                      rec["seq"], n, rec["off2"]))
            self.node(rec).data.write(rec["off"], src)
        elif t in ("sync", "sync_file_range"):
            pass        # what is durable, not what the tree holds

    def rename(self, rec):
        d1, d2 = self.dir(rec), self.dir(rec, "parent2")
        n1, n2 = name_of(rec, "name"), name_of(rec, "name2")
        if n1 not in d1.entries:
            raise ReplayError("record %s: rename of '%s', which is not "
                              "there" % (rec["seq"], rec.get("entry")))
        a = self.resolve(d1.entries[n1])
        if rec.get("oflags", 0) & RENAME_EXCHANGE:
            if n2 not in d2.entries:
                raise ReplayError("record %s: exchange with '%s', which is "
                                  "not there" % (rec["seq"],
                                                 rec.get("entry2")))
            d1.entries[n1], d2.entries[n2] = d2.entries[n2], a
            return
        if d1 is d2 and n1 == n2:
            return
        if self.resolve(d2.entries.get(n2, 0)) == a:  # links of one file
            return
        del d1.entries[n1]
        d2.entries[n2] = a

    def fallocate(self, rec):
        f = self.node(rec).data
        mode, off, n = rec["oflags"], rec["off"], rec["len"]
        if mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE):
            tail = f.read(off, f.size - off)
            f.truncate(off)
            if mode & FALLOC_FL_COLLAPSE_RANGE:
                f.write(off, tail[n:])
            else:
                f.write(off + n, tail)
            return
        if mode & FALLOC_FL_PUNCH_HOLE:
            f.zero(off, min(n, max(0, f.size - off)))
            return
        if mode & FALLOC_FL_ZERO_RANGE:
            f.zero(off, min(n, max(0, f.size - off)))
        if not mode & FALLOC_FL_KEEP_SIZE and off + n > f.size:
            f.size = off + n

    def tree(self):
        """{relpath (bytes): id} reachable from the root (negative ids:
        files of the initial tree the trace never met)."""
        out = {}
        stack = [(b"", 1)]
        while stack:
            rel, i = stack.pop()
            for name, cid in self.nodes[i].entries.items():
                cid = self.resolve(cid)
                p = rel + b"/" + name if rel else name
                out[p] = cid
                if self.nodes[cid].kind == "dir":
                    stack.append((p, cid))
        return out


def replay(trace, initial=None):
    """Replay trace; initial is a copy of the backing directory as it was
    before the mount (needed when the trace binds pre-existing files)."""
    r = Replay(initial)
    for rec in trace.records:
        r.apply(rec)
    return r


def compare(r, backing):
    """Assert the replayed tree equals the backing directory."""
    want = r.tree()
    diffs = []
    seen_ino = {}
    seen_id = {}
    got = set()
    broot = os.fsencode(backing)
    for dirpath, dirnames, filenames in os.walk(broot):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            got.add(os.path.relpath(p, broot))
    for rel in sorted(got - set(want)):
        diffs.append("%r is in the backing directory, not in the replayed "
                     "trace" % rel)
    for rel in sorted(set(want) - got):
        diffs.append("%r is in the replayed trace, not in the backing "
                     "directory" % rel)
    for rel in sorted(got & set(want)):
        node = r.nodes[want[rel]]
        p = os.path.join(broot, rel)
        st = os.lstat(p)
        k = "symlink" if stat.S_ISLNK(st.st_mode) else kind_of(st.st_mode)
        if k != node.kind:
            diffs.append("%r: a %s in the backing directory, a %s in the "
                         "replay" % (rel, k, node.kind))
            continue
        if k != "dir":
            other = seen_ino.setdefault(st.st_ino, want[rel])
            ino = seen_id.setdefault(want[rel], st.st_ino)
            if other != want[rel] or ino != st.st_ino:
                diffs.append("%r: hard links differ (file id %d in the "
                             "trace)" % (rel, want[rel]))
        if node.mode is not None and stat.S_IMODE(st.st_mode) != node.mode:
            diffs.append("%r: mode %o, the trace says %o"
                         % (rel, stat.S_IMODE(st.st_mode), node.mode))
        if k != "symlink":
            xa = {os.fsencode(x): os.getxattr(p, x)
                  for x in os.listxattr(p) if x.startswith("user.")}
            xb = {x: v for x, v in node.xattrs.items()
                  if x.startswith(b"user.")}
            if xa != xb:
                diffs.append("%r: xattrs %r, the trace says %r"
                             % (rel, xa, xb))
        if k == "symlink" and os.readlink(p) != node.target:
            diffs.append("%r: symlink to %r, the trace says %r"
                         % (rel, os.readlink(p), node.target))
        if k == "file":
            if st.st_size != node.data.size:
                diffs.append("%r: %d bytes, the replayed trace gives %d"
                             % (rel, st.st_size, node.data.size))
                continue
            with open(p, "rb") as f:
                off = 0
                while off < st.st_size:
                    a = f.read(CHUNK)
                    b = node.data.read(off, CHUNK)
                    if a != b:
                        i = next(j for j in range(len(a)) if a[j] != b[j])
                        diffs.append("%r: content differs from the replayed "
                                     "trace at offset %d" % (rel, off + i))
                        break
                    off += len(a)
    if diffs:
        raise ReplayError("the trace does not rebuild the backing "
                          "directory:\n  " + "\n  ".join(diffs[:15]))
