#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash points: states checked and failing outcomes per --points mode.

Records each shipped scenario once (crashfs check --keep), then checks the
same recorded run with --points every, all, sync and marks, and compares
with `every` (every point, every state built):

  - states built (generated), left out as repeats (dominated), checked;
  - failing outcomes: the set of (check, cause text, kinds) of the report
    and the set of failing state ids.  `all` must give exactly the
    outcomes of `every` (it only leaves out states that repeat, in tree
    and marks, one already checked); `sync` and `marks` may find fewer.

Usage: bench/points.py [--crashfs BIN] [--out DIR] [--json FILE]
                       [SCENARIO.ini ...]
(default: every scenarios/*.ini).  Prints a table, and with --json the
totals per mode (generated, dominated, checked, seconds, and how many
scenarios gave the outcomes of `every`); exit status 1 if `all` differs
from `every` anywhere.
"""
import argparse
import glob
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODES = ["every", "all", "sync", "marks"]
REPEATABLE = {"atomic", "durable", "models"}


def parse_ini(path):
    """Sections of a scenario file: {name: {key: [values]}}."""
    base = os.path.splitext(os.path.basename(path))[0]
    common, sections, cur = {}, {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                cur = {k: list(v) for k, v in common.items()}
                sections[line[1:-1]] = cur
                continue
            key, _, val = line.partition("=")
            key, val = key.strip(), val.strip()
            d = cur if cur is not None else common
            if key in REPEATABLE:
                d.setdefault(key, []).extend(val.split())
            else:
                d[key] = [val]
    return sections or {base: common}


def check_args(keys):
    """The command-form options that check what a scenario checks."""
    args = []
    for p in keys.get("atomic", []):
        args += ["--atomic", p]
    for p in keys.get("durable", []):
        args += ["--durable", p]
    if "check" in keys:
        args += ["--check", keys["check"][0]]
    for m in keys.get("models", ["posix"]):
        args += ["--model", m]
    if "states" in keys:
        args += ["--states", keys["states"][0]]
    if "seed" in keys:
        args += ["--seed", keys["seed"][0]]
    return args


def outcomes(report):
    s = report["scenarios"][0]
    causes = {(c["check"], c["cause"], tuple(c["where"]), c["states"])
              for c in s.get("causes", [])}
    failing = {(st["id"], tuple(st["failed"]))
               for st in s.get("states", []) if st["failed"]}
    counts = s["counts"]
    tot = {k: sum(c.get(k, 0) for c in counts.values())
           for k in ("generated", "dominated", "checked")}
    return causes, failing, tot, s["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crashfs", default=os.path.join(ROOT, "build",
                                                      "crashfs"))
    ap.add_argument("--out", default="/tmp/crashfs-bench-points")
    ap.add_argument("--json")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    files = a.files or sorted(glob.glob(os.path.join(ROOT, "scenarios",
                                                     "*.ini")))
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ,
               CRASHFS_SCENARIO_DIR=os.path.join(ROOT, "scenarios"))
    bad = 0
    total = {m: {"generated": 0, "dominated": 0, "checked": 0,
                 "seconds": 0.0, "same": 0, "scenarios": 0} for m in MODES}
    print("%-28s %-6s %9s %9s %9s %7s %s" % (
        "scenario", "points", "generated", "left out", "checked",
        "seconds", "outcomes vs every"))
    for f in files:
        runs = os.path.join(a.out, "runs")
        r = subprocess.run([a.crashfs, "check", "--jobs", "1", "--keep",
                            runs, f], capture_output=True, text=True)
        if r.returncode == 2:
            print("%s: recording failed: %s" % (f, r.stderr.strip()),
                  file=sys.stderr)
            bad = 1
            continue
        for name, keys in parse_ini(f).items():
            run = os.path.join(runs, name)
            ref = None
            for mode in MODES:
                js = os.path.join(a.out, "%s.%s.json" % (name, mode))
                cmd = [a.crashfs, "check", "--jobs", "1", "--run", run,
                       "--points", mode, "--report", "json", "-o", js]
                cmd += check_args(keys)
                r = subprocess.run(cmd, env=env, capture_output=True,
                                   text=True)
                if r.returncode == 2 or not os.path.exists(js):
                    print("%s: %s" % (" ".join(map(shlex.quote, cmd)),
                                      r.stderr.strip()), file=sys.stderr)
                    bad = 1
                    break
                with open(js) as fh:
                    causes, failing, tot, secs = outcomes(json.load(fh))
                if ref is None:
                    ref = (causes, failing)
                    same = "-"
                elif (causes, failing) == ref:
                    same = "identical"
                else:
                    same = "%d/%d causes, %d/%d failing states" % (
                        len(causes & ref[0]), len(ref[0]),
                        len(failing & ref[1]), len(ref[1]))
                    if mode == "all":
                        bad = 1
                t = total[mode]
                for k in ("generated", "dominated", "checked"):
                    t[k] += tot[k]
                t["seconds"] += secs
                t["scenarios"] += 1
                t["same"] += same in ("-", "identical")
                print("%-28s %-6s %9d %9d %9d %7.2f %s" % (
                    name, mode, tot["generated"], tot["dominated"],
                    tot["checked"], secs, same))
                sys.stdout.flush()
    for m in MODES:
        t = total[m]
        print("%-28s %-6s %9d %9d %9d %7.2f %d/%d identical" % (
            "total", m, t["generated"], t["dominated"], t["checked"],
            t["seconds"], t["same"], t["scenarios"]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(total, fh, indent=1)
    return bad


if __name__ == "__main__":
    sys.exit(main())
