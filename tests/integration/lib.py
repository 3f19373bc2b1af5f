# SPDX-License-Identifier: MIT
"""Helpers shared by the integration cases: mounting crashfs, comparing
trees, running the C helpers in build/tools, reading traces.

A case is a function test_NAME(ctx) in tests/integration/cases/*.py.  It
runs in its own process and temporary directory (ctx.tmp); whatever it
mounts through ctx.mount() is unmounted by ctx.cleanup() even when it
fails, and the runner double-checks.  Assertions say what a user would
notice ("read back 3 bytes where the plain directory gives 5").
"""

import base64
import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CRASHFS = os.path.join(ROOT, "build", "crashfs")
TOOLS = os.path.join(ROOT, "build", "tools")


class Skip(Exception):
    """Raised by a case that cannot run here (not a failure)."""


def timeout(seconds):
    """Decorator: the runner's time limit for this case."""
    def deco(fn):
        fn.timeout = seconds
        return fn
    return deco


def log(*args):
    print(*args, flush=True)


def ename(e):
    """'ENOENT' for an errno number."""
    return errno.errorcode.get(e, str(e))


# ---- mounting ---------------------------------------------------------------

class Mount:
    """A live crashfs (or, in self-test mode, passthrough_ll) mount."""

    def __init__(self, ctx, backing, mnt, trace, proc=None):
        self.ctx = ctx
        self.backing = backing
        self.mnt = mnt
        self.trace = trace
        self.proc = proc        # passthrough_ll only: our own child
        self.mounted = True

    def ctl(self, *args, check=True):
        r = run([CRASHFS, "ctl", self.mnt] + list(args), timeout=20)
        if check:
            assert r.returncode == 0, ("crashfs ctl %s failed (exit %d): %s"
                                       % (" ".join(args), r.returncode,
                                          r.stderr.strip()))
        return r

    def mark(self, text):
        self.ctl("mark", text)

    def umount(self):
        """Unmount the way a user does; the trace must then be complete."""
        if not self.mounted:
            return
        self.mounted = False
        if self.proc:
            r = run(["fusermount3", "-u", self.mnt], timeout=20)
            assert r.returncode == 0, "fusermount3 -u: %s" % r.stderr
            self.proc.wait(timeout=20)
            return
        r = run([CRASHFS, "umount", self.mnt], timeout=30)
        assert r.returncode == 0, ("crashfs umount %s failed (exit %d): %s"
                                   % (self.mnt, r.returncode,
                                      r.stderr.strip()))
        assert not os.path.ismount(self.mnt), (
            "crashfs umount returned 0 but %s is still mounted" % self.mnt)

    def force_cleanup(self):
        """Unmount whatever state the mount is in (a dead daemon leaves a
        mount that stat() cannot see, so ask /proc/self/mountinfo), then
        end the daemon by its pid if it is still there."""
        if is_mounted(self.mnt):
            try:
                run(["fusermount3", "-u", self.mnt], timeout=20)
            except AssertionError:
                pass
            if is_mounted(self.mnt):
                run(["umount", "-l", self.mnt], timeout=20)
        pid = getattr(self, "daemon_pid", None)
        if pid and os.path.exists("/proc/%d" % pid):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and alive(pid):
                time.sleep(0.05)
            if alive(pid):
                log("daemon %d still running after unmount: killed" % pid)
                os.kill(pid, 9)
        if self.proc:
            self.proc.kill()
            self.proc.wait()


class Context:
    """What a case gets: a private temporary directory and the means to
    mount crashfs in it."""

    def __init__(self, tmp, verbose=False, fsx_ops=2000, passthrough_ll=None):
        self.tmp = tmp
        self.verbose = verbose
        self.fsx_ops = fsx_ops
        self.passthrough_ll = passthrough_ll
        self.mounts = []
        self.procs = []
        self.extra_mounts = []  # other file systems a case mounted

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def dir(self, name):
        p = self.path(name)
        os.mkdir(p)
        return p

    def mount(self, name="m", options=()):
        """Mount crashfs over a fresh backing directory TMP/NAME.backing at
        TMP/NAME.mnt, tracing into TMP/NAME.trace."""
        backing = self.path(name + ".backing")
        mnt = self.path(name + ".mnt")
        trace = self.path(name + ".trace")
        for d in (backing, mnt):
            if not os.path.isdir(d):
                os.mkdir(d)
        if self.passthrough_ll:
            opts = [o for i, o in enumerate(options)
                    if i > 0 and options[i - 1] == "-o"]
            return self._mount_passthrough(backing, mnt, trace, opts)
        if not os.access(CRASHFS, os.X_OK):
            raise AssertionError("%s is missing: run make" % CRASHFS)
        cmd = [CRASHFS, "mount", "--trace", trace, "--log",
               self.path(name + ".log")] + list(options) + [backing, mnt]
        r = run(cmd, timeout=30)
        assert r.returncode == 0, ("crashfs mount failed (exit %d): %s"
                                   % (r.returncode, r.stderr.strip()
                                      or r.stdout.strip()))
        assert os.path.ismount(mnt), (
            "crashfs mount returned 0 but %s is not a mount point" % mnt)
        m = Mount(self, backing, mnt, trace)
        self.mounts.append(m)
        m.daemon_pid = daemon_pid(mnt)
        return m

    def _mount_passthrough(self, backing, mnt, trace, opts=()):
        proc = subprocess.Popen([self.passthrough_ll, "-f", "-o",
                                 ",".join(["source=%s,xattr" % backing]
                                          + list(opts)), mnt],
                                stdout=sys.stdout, stderr=sys.stderr)
        self.procs.append(proc)
        deadline = time.monotonic() + 20
        while not os.path.ismount(mnt):
            assert proc.poll() is None, "passthrough_ll exited"
            assert time.monotonic() < deadline, "passthrough_ll: no mount"
            time.sleep(0.01)
        m = Mount(self, backing, mnt, trace, proc)
        self.mounts.append(m)
        return m

    def needs_trace(self):
        if self.passthrough_ll:
            raise Skip("passthrough_ll self-test: no trace")

    def tool(self, name):
        p = os.path.join(TOOLS, name)
        assert os.access(p, os.X_OK), "%s is missing: run make" % p
        return p

    def spawn(self, cmd, **kw):
        """Start a helper process; it is killed by cleanup() if still
        running."""
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def dump_logs(self):
        """Print the tail of every daemon log (after a failure)."""
        for m in self.mounts:
            p = m.trace[:-len(".trace")] + ".log"
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    lines = f.read().splitlines()[-20:]
                if lines:
                    log("daemon log %s (last lines):" % p)
                    for l in lines:
                        log("  " + l)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None and not any(m.proc is p for m in self.mounts):
                p.kill()
                p.wait()
        for m in reversed(self.mounts):
            m.force_cleanup()
        for p in reversed(self.extra_mounts):
            if is_mounted(p):
                run(["umount", p], timeout=20)


def daemon_pid(mnt):
    """The daemon's pid as `crashfs ctl MNT status` reports it, or None."""
    try:
        r = run([CRASHFS, "ctl", mnt, "status"], timeout=10)
    except AssertionError:
        return None
    for line in r.stdout.splitlines():
        if line.startswith("pid:"):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def run(cmd, timeout=60, **kw):
    """subprocess.run with text output captured and a time limit."""
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise AssertionError("%s did not finish within %ds"
                             % (" ".join(cmd), timeout))


# ---- comparing trees --------------------------------------------------------

KINDS = [(stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"),
         (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
         (stat.S_ISCHR, "chr"), (stat.S_ISBLK, "blk"),
         (stat.S_ISSOCK, "sock")]


def kind(mode):
    for test, name in KINDS:
        if test(mode):
            return name
    return "?"


def xattrs(path):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        return "listxattr: " + ename(e.errno)
    out = {}
    for n in sorted(names):
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False)
        except OSError as e:
            out[n] = "getxattr: " + ename(e.errno)
    return out


def read_all(path):
    with open(path, "rb") as f:
        return f.read()


def snapshot(root, contents=True):
    """What a user sees under root: {relpath: {attribute: value}} plus the
    hard-link groups (sets of names sharing an inode)."""
    entries = {}
    inodes = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        path = os.path.join(root, rel) if rel else root
        st = os.lstat(path)
        k = kind(st.st_mode)
        e = {"kind": k, "mode": oct(stat.S_IMODE(st.st_mode)),
             "uid": st.st_uid, "gid": st.st_gid, "nlink": st.st_nlink,
             "xattrs": xattrs(path)}
        if k != "dir":
            e["size"] = st.st_size
            inodes.setdefault(st.st_ino, []).append(rel)
        if k == "file" and contents:
            e["data"] = read_all(path)
        elif k == "symlink":
            e["target"] = os.readlink(path)
        elif k in ("chr", "blk"):
            e["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
        elif k == "dir":
            names = sorted(os.listdir(path))
            e["listing"] = names
            # readdir's d_type must agree with lstat
            with os.scandir(path) as it:
                for de in it:
                    if de.is_symlink():
                        t = "symlink"
                    elif de.is_dir(follow_symlinks=False):
                        t = "dir"
                    elif de.is_file(follow_symlinks=False):
                        t = "file"
                    else:
                        t = "other"
                    e.setdefault("dtypes", {})[de.name] = t
            stack.extend(os.path.join(rel, n) for n in names)
        entries[rel or "."] = e
    groups = sorted(sorted(g) for g in inodes.values() if len(g) > 1)
    return entries, groups


def describe_data_diff(a, b):
    if len(a) != len(b):
        return "%d bytes vs %d bytes" % (len(a), len(b))
    for i in range(len(a)):
        if a[i] != b[i]:
            return ("same size %d, first difference at offset %d: %r vs %r"
                    % (len(a), i, a[i:i + 16], b[i:i + 16]))
    return "?"


def compare_trees(got_root, want_root, what="mount"):
    """Assert the tree at got_root looks exactly like want_root."""
    got, got_links = snapshot(got_root)
    want, want_links = snapshot(want_root)
    diffs = []
    for rel in sorted(set(got) | set(want)):
        if rel not in got:
            diffs.append("%s: missing in %s" % (rel, what))
            continue
        if rel not in want:
            diffs.append("%s: extra in %s" % (rel, what))
            continue
        g, w = got[rel], want[rel]
        for key in sorted(set(g) | set(w)):
            if g.get(key) == w.get(key):
                continue
            if key == "data":
                diffs.append("%s: content differs: %s" % (
                    rel, describe_data_diff(g.get(key, b""),
                                            w.get(key, b""))))
            else:
                diffs.append("%s: %s is %r in %s, %r in the plain directory"
                             % (rel, key, g.get(key), what, w.get(key)))
    if got_links != want_links:
        diffs.append("hard links differ: %r in %s, %r in the plain "
                     "directory" % (got_links, what, want_links))
    assert not diffs, ("%s differs from the plain directory:\n  " % what
                       + "\n  ".join(diffs[:15]))


# ---- recording the results of operations -----------------------------------

class Recorder:
    """Collects what each operation returned (or which errno it failed
    with), so the same sequence on two trees can be compared."""

    def __init__(self, root):
        self.root = root
        self.results = []

    def p(self, *parts):
        return os.path.join(self.root, *parts)

    def call(self, label, fn, *args, **kw):
        """Run fn; record "ok" or the errno name; return its value (None
        on failure)."""
        try:
            v = fn(*args, **kw)
            self.results.append((label, "ok"))
            return v
        except OSError as e:
            self.results.append((label, ename(e.errno)))
            return None

    def val(self, label, value):
        """Record an observed value (bytes read, a size ...)."""
        self.results.append((label, value))
        return value

    def tool(self, label, argv):
        """Run a build/tools helper that prints 'ok ...' or 'err ENAME'."""
        r = run(argv, timeout=30)
        assert r.returncode in (0, 1), ("%s: exit %d: %s" % (
            " ".join(argv), r.returncode, r.stderr.strip()))
        out = r.stdout.strip()
        self.results.append((label, out))
        return out


def differential(ctx, ops, setup=None, name="m"):
    """Run ops(Recorder) on a plain directory and through a crashfs mount;
    every result, the mounted tree and (after unmount) the backing
    directory must equal the plain directory.  setup(root) prepares both
    trees beforehand (the backing before mounting).  Returns the Mount."""
    ref = ctx.dir("ref")
    m_backing = ctx.path(name + ".backing")
    os.mkdir(m_backing)
    initial = None
    if setup:
        setup(ref)
        setup(m_backing)
        initial = ctx.dir("initial")  # for the replay of the trace
        setup(initial)
    want = Recorder(ref)
    ops(want)
    m = ctx.mount(name)
    got = Recorder(m.mnt)
    try:
        ops(got)
    except Exception:
        # Name the first step where the mount already behaved differently
        # (the exception is usually its consequence).
        compare_results(got.results, want.results[:len(got.results)])
        raise
    compare_results(got.results, want.results)
    compare_trees(m.mnt, ref, "the mount")
    compare_trees(m.backing, ref, "the backing directory (mounted)")
    m.umount()
    compare_trees(m.backing, ref, "the backing directory (after umount)")
    if not ctx.passthrough_ll:
        t = Trace(m.trace, data=True)
        assert t.records[-1].get("type") == "end", (
            "after crashfs umount the trace does not end with an end "
            "record: %r" % t.records[-1])
        # the trace (and the tree before the mount) must rebuild what the
        # mount left behind
        import replay
        replay.compare(replay.replay(t, initial), m.backing)
        engine_verify(ctx, m.trace, m.backing, initial)
    return m


def engine_verify(ctx, trace, backing, initial=None):
    """The crash-state engine's self-check: `crashfs replay --verify`
    rebuilds the whole trace onto the tree as it was before the mount and
    must find exactly the backing directory the daemon left (bytes, modes,
    links, xattrs).  The run directory it reads is laid out as
    docs/run-format.md says: RUN/trace and RUN/initial/."""
    n = 1
    while os.path.exists(ctx.path("engine-run%d" % n)):
        n += 1
    run_dir = ctx.dir("engine-run%d" % n)
    shutil.copyfile(trace, os.path.join(run_dir, "trace"))
    if initial is not None:
        # cp -a keeps what the initial tree holds: fifos, links, xattrs
        r = run(["cp", "-a", initial, os.path.join(run_dir, "initial")])
        assert r.returncode == 0, "cp -a %s: %s" % (initial, r.stderr)
    else:
        os.mkdir(os.path.join(run_dir, "initial"))
    r = run([CRASHFS, "replay", run_dir, "--verify", backing], timeout=120)
    assert r.returncode == 0, (
        "crashfs replay --verify: the engine's replay of the trace differs "
        "from the backing directory (exit %d):\n%s%s"
        % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))


def run_as_nobody(script, root):
    """Run the Python source script with argument root as user and group
    65534 (nobody); it prints JSON, which is returned decoded."""
    # the system's python: nobody may not reach a per-user install
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
        else sys.executable
    r = subprocess.run([py, "-c", script, root], user=65534, group=65534,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=60)
    assert r.returncode == 0, "as nobody: %s" % r.stderr
    return json.loads(r.stdout)


def short(v, n=120):
    """repr(v), cut to n characters; bytes also say their length."""
    r = repr(v)
    if len(r) > n:
        r = r[:n] + "..."
        if isinstance(v, (bytes, bytearray)):
            r += " (%d bytes)" % len(v)
    return r


def compare_results(got, want):
    bad = []
    for i, (g, w) in enumerate(zip(got, want)):
        if g == w:
            continue
        msg = "step %d (%s): the mount gives %s, the plain directory %s" % (
            i, w[0], short(g[1]), short(w[1]))
        if isinstance(g[1], bytes) and isinstance(w[1], bytes):
            msg += " [%s]" % describe_data_diff(g[1], w[1])
        bad.append(msg)
    assert not bad, "\n  ".join(bad[:10]) + (
        "\n  ... %d more" % (len(bad) - 10) if len(bad) > 10 else "")
    assert len(got) == len(want), "different number of steps"


# ---- traces -----------------------------------------------------------------

class Trace:
    """A trace as printed by `crashfs trace --json`: one dict per record."""

    def __init__(self, path, data=False):
        cmd = [CRASHFS, "trace", "--json"] + (["--data"] if data else []) + [
            path]
        r = run(cmd, timeout=60)
        assert r.returncode == 0, (
            "crashfs trace --json %s failed (exit %d): %s"
            % (path, r.returncode, r.stderr.strip()[:300]))
        self.records = []
        for n, line in enumerate(r.stdout.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                raise AssertionError("crashfs trace --json line %d is not "
                                     "JSON (%s): %r" % (n, e, line[:200]))
            if "data_b64" in rec:
                rec["data"] = base64.b64decode(rec["data_b64"])
            self.records.append(rec)
        assert self.records, "crashfs trace --json printed no records"

    def of_type(self, *types):
        return [r for r in self.records if r.get("type") in types]

    def __iter__(self):
        return iter(self.records)

    def dump(self, recs=None):
        return "\n".join(json.dumps(r, sort_keys=True)[:300]
                         for r in (self.records if recs is None else recs))


def mounts_under(path):
    """Mount points at or below path, deepest first."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mnt = line.split()[4].replace("\\040", " ")
            if mnt == path or mnt.startswith(path + "/"):
                found.append(mnt)
    return sorted(found, key=len, reverse=True)
