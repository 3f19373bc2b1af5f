#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A per-state checker and a checker server give the same verdicts.

Every shipped scenario (the bug zoo and SQLite) is recorded once
(`crashfs check --keep`), then its recorded run is checked twice, with
the same checker in its two forms: `--check` (a process per state) and
`--check-server` (one process per job, handed state after state), both
with --jobs 2.  Each state's verdict (JSON report) must be the same.

- The bug zoo has no external checker: tests/scenarios/digest-check.py
  digests each state it is given (entries, contents, marks, crash point),
  logs the digest, fails about half the states by content and damages
  the state afterwards.  Both forms must log the same digests (the same
  states were presented, whatever the previous one left behind).
- The SQLite scenarios use their shipped checkers: scenarios/sqlite/
  check.sh per state and check-server.py as a server.
- A scenario with a shell check of its own runs it as it is, and as a
  server through tests/scenarios/sh-server.py.

    tests/scenarios/server-equiv.py [CRASHFS] [FILE.ini...]
"""
import collections
import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DIGEST = os.path.join(HERE, "digest-check.py")
SQLITE = os.path.join(ROOT, "scenarios", "sqlite")
SH_SERVER = os.path.join(HERE, "sh-server.py")
PY = shlex.quote(sys.executable)


def sections(path):
    """(name, keys) of each scenario of a file, defaults merged."""
    cp = configparser.ConfigParser(interpolation=None, strict=False)
    with open(path) as f:
        text = f.read()
    cp.read_string("[DEFAULT]\n" + text)
    names = cp.sections() or [os.path.basename(path)[:-4]]
    out = []
    for n in names:
        keys = dict(cp[n]) if cp.has_section(n) else dict(cp.defaults())
        out.append((n, keys))
    return out


def checkers(keys):
    """The two forms of the checker to use: (per-state, server)."""
    check = keys.get("check") or keys.get("check-server")
    if not check:
        return ("%s %s" % (PY, shlex.quote(DIGEST)),
                "%s %s --server" % (PY, shlex.quote(DIGEST)))
    args = shlex.split(check)
    i = [k for k, a in enumerate(args)
         if a.endswith(("check.sh", "check-server.py"))]
    if not i:
        # a shell check of the scenario's own: as it is, and run state
        # after state by a server that speaks the protocol
        return (check, "%s %s %s" % (PY, shlex.quote(SH_SERVER),
                                     shlex.quote(check)))
    i = i[0]
    rest = " ".join(shlex.quote(a) for a in args[i + 1:])
    return ("sh %s %s" % (shlex.quote(os.path.join(SQLITE, "check.sh")),
                          rest),
            "%s %s %s" % (PY, shlex.quote(os.path.join(SQLITE,
                                                       "check-server.py")),
                          rest))


def check(crashfs, run, models, how, cmd, log):
    report = log + ".json"
    env = dict(os.environ, DIGEST_LOG=log)
    argv = [crashfs, "check", "--run", run, how, cmd, "--jobs", "2",
            "--report", "json", "-o", report]
    for m in models:
        argv += ["--model", m]
    r = subprocess.run(argv, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=900)
    if r.returncode not in (0, 1):
        raise RuntimeError("%s exited %d: %s" % (" ".join(argv),
                                                 r.returncode, r.stderr))
    with open(report) as f:
        sc = json.load(f)["scenarios"][0]
    digests = collections.Counter()
    if os.path.exists(log):
        with open(log) as f:
            # the states of the exploration (jobs 0 and 1); the cause
            # search (job 2) rebuilds states in the order failures came
            # in, which depends on timing in both forms
            digests = collections.Counter(
                l.split(" ", 1)[1] for l in f.read().splitlines()
                if not l.startswith("2 "))
    return sc, digests


def main():
    crashfs = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else \
        os.path.join(ROOT, "build", "crashfs")
    files = sys.argv[2:] or sorted(
        os.path.join(ROOT, "scenarios", f)
        for f in os.listdir(os.path.join(ROOT, "scenarios"))
        if f.endswith(".ini"))
    work = tempfile.mkdtemp(prefix="crashfs-equiv.")
    bad = 0
    total = 0
    try:
        for path in files:
            keep = os.path.join(work, os.path.basename(path)[:-4])
            r = subprocess.run([crashfs, "check", "--jobs", "2", "--keep",
                                keep, path], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=900)
            if r.returncode not in (0, 1):
                print("FAIL  %s: recording exited %d\n%s"
                      % (path, r.returncode, r.stdout))
                bad += 1
                continue
            for name, keys in sections(path):
                models = keys.get("models", "posix").split()
                check_key = keys.get("check") or keys.get("check-server")
                per, srv = checkers(keys)
                run = os.path.join(keep, name)
                log = os.path.join(work, name + ".log")
                try:
                    a, da = check(crashfs, run, models, "--check", per,
                                  log + ".per")
                    b, db = check(crashfs, run, models, "--check-server",
                                  srv, log + ".srv")
                except RuntimeError as e:
                    print("FAIL  %s: %s" % (name, e))
                    bad += 1
                    continue
                va = {s["id"]: s["failed"] for s in a["states"]}
                vb = {s["id"]: s["failed"] for s in b["states"]}
                total += len(va)
                problems = []
                if va != vb:
                    diff = sorted(i for i in set(va) | set(vb)
                                  if va.get(i) != vb.get(i))
                    problems.append("verdicts differ on %d of %d states, "
                                    "e.g. %s: per-state %r, server %r"
                                    % (len(diff), len(va), diff[0],
                                       va.get(diff[0]), vb.get(diff[0])))
                if a["failed"] != b["failed"]:
                    problems.append("verdict %r vs %r" % (a["failed"],
                                                          b["failed"]))
                if da != db:
                    problems.append("the checkers saw different states: "
                                    "%d digests only per-state, %d only "
                                    "server" % (sum((da - db).values()),
                                                sum((db - da).values())))
                nfail = sum(1 for v in va.values() if v)
                if not va or (check_key is None and not nfail):
                    problems.append("nothing was checked or nothing failed "
                                    "(%d states)" % len(va))
                if problems:
                    bad += 1
                    print("FAIL  %s: %s" % (name, "; ".join(problems)))
                else:
                    print("ok    %s: %d states, %d failing, same verdicts"
                          % (name, len(va), nfail))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d states compared, %d scenarios differ" % (total, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
