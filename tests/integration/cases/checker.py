# SPDX-License-Identifier: MIT
"""crashfs check with an external checker that changes its copy of the
state.  Each slot's state is written incrementally from the previous
one; whatever the checker did to it (append, remove, create, chmod,
rename, write through a hard link or a mapping, empty the tree), the next
state it is given must be exactly the state `crashfs replay --state ID`
rebuilds, and the marks file it is given (CRASHFS_MARKS), which is
updated rather than rewritten for each state, must list exactly the
marks made up to the state, whatever the checker wrote into it.
"""

import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys

from lib import CRASHFS, log, run, timeout

# What the checker sees: every entry (type, mode, links, size, name,
# symlink target) and every file's bytes, as one digest.  The same
# command digests the replayed states.  A directory's size is left out:
# it is the filesystem's (4096 on ext4, 20 bytes an entry on tmpfs), not
# the state's, and the states may be on /dev/shm, the replays in /tmp.
DIGEST = ("{ find . -mindepth 1 \\( -type d -printf '%y %m %n - %P\\n' \\) "
          "-o -printf '%y %m %n %s %P>%l\\n' "
          "| LC_ALL=C sort; find . -mindepth 1 -type f -print0 "
          "| LC_ALL=C sort -z | xargs -0r sha1sum; } | sha1sum | cut -c1-40")

VANDAL = r"""#!/bin/sh
# crashfs checker: log the state's digest and its marks, then damage
# the state in one of 8 ways (in turn), and pass.
d=$(%(digest)s)
mk=$(sha1sum <"$CRASHFS_MARKS" | cut -c1-40)
echo "$CRASHFS_POINT $d $mk" >>"$VANDAL_LOG"
n=$(wc -l <"$VANDAL_LOG")
case $((n %% 8)) in
0)  for f in $(find . -type f); do printf junk >>"$f"; done
    echo bogus-mark >>"$CRASHFS_MARKS" ;;
1)  rm -rf ./* ;;
2)  echo new >new; mkdir -p newdir/sub; echo x >newdir/sub/f; echo y >d/new ;;
3)  chmod 000 d/b 2>/dev/null; chmod 700 d 2>/dev/null
    mv d d2 2>/dev/null; mv d2/a moved 2>/dev/null ;;
4)  ln d/b ln 2>/dev/null && { printf LINK >>ln; rm -f ln; } ;;
5)  [ -f d/a ] && : >d/a; [ -f log ] && { rm -f log; ln -s /etc/passwd log; }
    : >"$CRASHFS_MARKS" ;;
6)  [ -f d/b ] && python3 -c '
import mmap, os
fd = os.open("d/b", os.O_RDWR)
if os.fstat(fd).st_size:
    m = mmap.mmap(fd, 0)
    m[0] = m[0] ^ 0x20
    m.close()
os.close(fd)' ;;
7)  ;;
esac
exit 0
"""


def workload(m):
    """Files in a directory, appends, an atomic replace, a hard link, a
    symlink, fsyncs in between, a mark per round: many distinct crash
    states."""
    mnt = m.mnt
    os.mkdir(os.path.join(mnt, "d"))
    log_fd = os.open(os.path.join(mnt, "log"),
                     os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for i in range(6):
        for name in ("a", "b"):
            p = os.path.join(mnt, "d", name)
            with open(p, "ab") as f:
                f.write(("%s%d " % (name, i)).encode() * (50 + 300 * i))
                if i % 2:
                    os.fsync(f.fileno())
        tmp = os.path.join(mnt, "cfg.tmp")
        with open(tmp, "wb") as f:
            f.write(b"config version %d\n" % i)
            f.flush()
            if i % 3:
                os.fsync(f.fileno())
        os.rename(tmp, os.path.join(mnt, "cfg"))
        os.write(log_fd, b"round %d\n" % i)
        if i % 2 == 0:
            os.fsync(log_fd)
        if i == 2:
            os.link(os.path.join(mnt, "d", "a"), os.path.join(mnt, "hard"))
            os.symlink("d/b", os.path.join(mnt, "sym"))
        if i == 4:
            os.unlink(os.path.join(mnt, "hard"))
        dfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
        os.fsync(dfd)
        os.close(dfd)
        m.mark("round-%d" % i)
    os.close(log_fd)


def digest(path):
    r = subprocess.run(["sh", "-c", DIGEST], cwd=path, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert r.returncode == 0, "digest of %s: %s" % (path, r.stderr)
    return r.stdout.strip()


@timeout(240)
def test_checker_changes_its_state(ctx):
    m = ctx.mount()
    workload(m)
    m.umount()
    r = run([CRASHFS, "trace", "--json", m.trace])
    assert r.returncode == 0, "crashfs trace: %s" % r.stderr
    marks = [(j["seq"], j["name"]) for j in map(json.loads,
                                                 r.stdout.splitlines())
             if j.get("type") == "mark"]
    assert len(marks) == 6, "marks in the trace: %r" % marks
    run_dir = ctx.dir("run")
    shutil.copyfile(m.trace, os.path.join(run_dir, "trace"))
    os.mkdir(os.path.join(run_dir, "initial"))
    script = ctx.path("vandal.sh")
    with open(script, "w") as f:
        f.write(VANDAL % {"digest": DIGEST})
    os.chmod(script, 0o755)
    vlog = ctx.path("vandal.log")
    report = ctx.path("report.json")
    env = dict(os.environ, VANDAL_LOG=vlog)
    # the run named by a relative path: the checker runs in its state,
    # CRASHFS_MARKS must still name the marks file
    r = run([CRASHFS, "check", "--run", os.path.basename(run_dir),
             "--check", script, "--jobs", "2", "--max-states", "150",
             "--allow-partial",
             "--report", "json", "-o", report], timeout=180, env=env,
            cwd=os.path.dirname(run_dir))
    log(r.stdout + r.stderr)
    assert r.returncode == 0, ("crashfs check with the vandal checker "
                               "failed (exit %d): %s"
                               % (r.returncode, r.stderr[-2000:]))
    states = json.load(open(report))["scenarios"][0]["states"]
    with open(vlog) as f:
        seen = collections.Counter(tuple(l.split()) for l in f)
    # one more run: crashfs first checks that the checker passes on the
    # initial state (point 0, no marks), where no crash is to blame
    assert sum(seen.values()) == len(states) + 1 and len(states) > 40, (
        "the checker ran %d times for %d states"
        % (sum(seen.values()), len(states)))
    want = collections.Counter()
    want[("0", digest(os.path.join(run_dir, "initial")),
          hashlib.sha1(b"").hexdigest())] += 1
    for i, s in enumerate(states):
        out = ctx.path("replay%d" % i)
        if s["id"].endswith(".visible"):
            how = ["--point", str(s["point"])]
        else:
            how = ["--state", s["id"]]
        r = run([CRASHFS, "replay", run_dir] + how + ["-o", out])
        assert r.returncode == 0, "crashfs replay %s: %s" % (
            s["id"], r.stderr)
        listed = "".join(t + "\n" for seq, t in marks if seq <= s["upto"])
        want[(str(s["point"]), digest(out),
              hashlib.sha1(listed.encode()).hexdigest())] += 1
        shutil.rmtree(out)
    missing = want - seen
    extra = seen - want
    assert not missing and not extra, (
        "the checker was given states that differ from their replay:\n"
        "replayed, never given: %s\ngiven, never replayed: %s"
        % (sorted(missing.items())[:10], sorted(extra.items())[:10]))


SERVER = r"""import os, sys
job = os.environ["CRASHFS_JOB"]
assert "CRASHFS_STATE" not in os.environ, "CRASHFS_STATE in a server's env"
print("ready", flush=True)
with open(sys.argv[1], "a") as log:
    for line in sys.stdin:
        state, marks, point, sid = line.rstrip("\n").split("\t")[:4]
        try:
            with open(os.path.join(state, "f")) as f:
                got = f.read()
        except FileNotFoundError:
            got = None
        log.write("%s %d %s %s %s\n" % (job, os.getpid(), state, point, sid))
        log.flush()
        print("ok" if got in ("old", "new") else "fail f holds %r" % got,
              flush=True)
"""


@timeout(240)
def test_checker_server_jobs_and_paths(ctx):
    """--check-server with --jobs 2: a server per job (CRASHFS_JOB 0 and
    1) and one for the cause search (CRASHFS_JOB 2), each started once;
    every state handed over at a path of its own; a state the server
    fails fails the run like a per-state checker's exit status 1."""
    script = ctx.path("server.py")
    with open(script, "w") as f:
        f.write(SERVER)
    log = ctx.path("server.log")
    report = ctx.path("report.json")
    work = ctx.dir("work")
    r = run([CRASHFS, "check", "--jobs", "2", "--setup", "printf old > f",
             "--check-server", "%s %s %s" % (sys.executable, script, log),
             "--report", "json", "-o", report, "--",
             "sh", "-c", "printf new > f.tmp; mv f.tmp f; crashfs mark saved"],
            timeout=180, cwd=work)
    log_text = open(log).read() if os.path.exists(log) else ""
    assert r.returncode == 1, "exit %d: %s\n%s" % (r.returncode, r.stderr,
                                                   log_text)
    sc = json.load(open(report))["scenarios"][0]
    lines = [l.split() for l in log_text.splitlines()]
    states = [l for l in lines if not l[4].startswith("cause-")]
    causes = [l for l in lines if l[4].startswith("cause-")]
    assert sorted(l[4] for l in states) == sorted(s["id"] for s in
                                                  sc["states"]), (
        "the servers were asked about other states than the report's")
    assert {l[0] for l in states} <= {"0", "1"} and causes and \
        {l[0] for l in causes} == {"2"}, "jobs: %r" % lines
    for job in {l[0] for l in lines}:
        pids = {l[1] for l in lines if l[0] == job}
        assert len(pids) == 1, "job %s had servers %r" % (job, pids)
    paths = [l[2] for l in lines]
    assert len(set(paths)) == len(paths), "a state path served twice"
    assert any(s["failed"] for s in sc["states"]), "no failing state"
