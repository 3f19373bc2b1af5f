#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test runner for crashfs: mounts for real.

Discovers the cases (functions named test_* in tests/integration/cases/*.py),
runs each in its own child process, in its own temporary directory, with a
timeout, and always cleans up afterwards: the child's process group, any
mount left under the case's directory (fusermount3 -u, then umount -l) and
any process whose command line names that directory (the crashfs daemon,
found and killed by its own pid).

Output: one line per case, "PASS|FAIL|SKIP name (time): reason", and as the
last line exactly "N passed, N failed, N skipped".  Exit status 1 when any
case failed, 2 on a usage error, 0 otherwise.

    python3 tests/integration/run.py                 # everything
    python3 tests/integration/run.py diff.rename     # one case (or a glob)
    python3 tests/integration/run.py -v --fsx-ops 20000 fsx.*
    python3 tests/integration/run.py --list

Plain Python 3 standard library, no pip.
"""

import argparse
import fnmatch
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import lib  # noqa: E402  (tests/integration/lib.py)

CASES_DIR = os.path.join(HERE, "cases")
DEFAULT_TIMEOUT = 60


def discover():
    """Return [(name, module_path, func_name, timeout)] in a stable order."""
    cases = []
    for fname in sorted(os.listdir(CASES_DIR)):
        if not fname.endswith(".py") or fname.startswith("_"):
            continue
        mod = load_module(os.path.join(CASES_DIR, fname))
        for attr in sorted(vars(mod)):
            fn = getattr(mod, attr)
            if not attr.startswith("test_") or not callable(fn):
                continue
            name = "%s.%s" % (fname[:-3], attr[len("test_"):])
            timeout = getattr(fn, "timeout", DEFAULT_TIMEOUT)
            cases.append((name, os.path.join(CASES_DIR, fname), attr,
                          timeout))
    return cases


def load_module(path):
    name = "cases_" + os.path.basename(path)[:-3]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ---- the child: runs one case and writes its verdict -----------------------

def child_main(args):
    """Run one case in this process; the verdict goes to TMP/verdict.json."""
    verdict = {"status": "FAIL", "reason": "case did not finish"}
    ctx = lib.Context(args.tmp, verbose=args.verbose, fsx_ops=args.fsx_ops,
                      passthrough_ll=args.passthrough_ll)
    try:
        mod = load_module(args.child_path)
        getattr(mod, args.child_func)(ctx)
        verdict = {"status": "PASS", "reason": ""}
    except lib.Skip as e:
        verdict = {"status": "SKIP", "reason": str(e)}
    except AssertionError as e:
        traceback.print_exc()
        verdict = {"status": "FAIL", "reason": str(e) or "assertion failed"}
    except BaseException as e:  # noqa: B902 (a case may raise anything)
        traceback.print_exc()
        verdict = {"status": "FAIL",
                   "reason": "%s: %s" % (type(e).__name__, e)}
    finally:
        if verdict["status"] == "FAIL":
            ctx.dump_logs()
        try:
            ctx.cleanup()
        except BaseException as e:  # noqa: B902
            traceback.print_exc()
            if verdict["status"] != "FAIL":
                verdict = {"status": "FAIL",
                           "reason": "cleanup failed: %s" % e}
    with open(os.path.join(args.tmp, "verdict.json"), "w") as f:
        json.dump(verdict, f)
    return 0


# ---- the parent: isolation, timeouts, cleanup ------------------------------

def pids_naming(path):
    """Pids of processes (not us) whose command line mentions path."""
    pids = []
    me = os.getpid()
    for ent in os.listdir("/proc"):
        if not ent.isdigit() or int(ent) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % ent, "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if path.encode() in cmd:
            pids.append(int(ent))
    return pids


def cleanup_case(tmp, child, log):
    """Leave nothing behind: processes, mounts.  Returns list of problems."""
    problems = []
    # The child's own process group (the case and what it started there).
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()
    for mnt in lib.mounts_under(tmp):
        problems.append("mount left at %s" % mnt)
        quiet_run(["fusermount3", "-u", mnt], log)
        if mnt in lib.mounts_under(tmp):
            quiet_run(["umount", "-l", mnt], log)
    # Daemons that left the process group (daemonised) name our directory
    # in their arguments: end them by pid, politely first.
    pids = pids_naming(tmp)
    for pid in pids:
        problems.append("process %d left running" % pid)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while pids and time.monotonic() < deadline:
        pids = [p for p in pids if os.path.exists("/proc/%d" % p)
                and not is_zombie(p)]
        if pids:
            time.sleep(0.05)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for mnt in lib.mounts_under(tmp):
        quiet_run(["umount", "-l", mnt], log)
    return problems


def quiet_run(cmd, log):
    """Run a cleanup command; a hung one is killed (a dead daemon can make
    an unmount wait), never fatal."""
    try:
        subprocess.run(cmd, stdout=log, stderr=log, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as e:
        log.write("cleanup: %s: %s\n" % (" ".join(cmd), e))


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def run_case(case, args, fuse_problem):
    name, path, func, timeout = case
    if callable(timeout):
        timeout = timeout(args)
    timeout = int(timeout * args.timeout_scale)
    if fuse_problem:
        return "SKIP", fuse_problem, 0.0, ""
    tmp = tempfile.mkdtemp(prefix="crashfs-it-%s-" % name.replace(".", "-"))
    logpath = os.path.join(tmp, "log")
    start = time.monotonic()
    cmd = [sys.executable, os.path.abspath(__file__), "--child-path", path,
           "--child-func", func, "--tmp", tmp,
           "--fsx-ops", str(args.fsx_ops)]
    if args.verbose:
        cmd.append("-v")
    if args.passthrough_ll:
        cmd += ["--passthrough-ll", args.passthrough_ll]
    with open(logpath, "w") as log:
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, cwd=tmp)
        timed_out = False
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM from CI): clean up, then stop
            cleanup_case(tmp, child, log)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        problems = cleanup_case(tmp, child, log)
    elapsed = time.monotonic() - start
    with open(logpath, errors="replace") as f:
        output = f.read()
    if timed_out:
        status, reason = "FAIL", "timed out after %ds (hung?)" % timeout
    else:
        try:
            with open(os.path.join(tmp, "verdict.json")) as f:
                v = json.load(f)
            status, reason = v["status"], v["reason"]
        except (OSError, ValueError):
            status, reason = "FAIL", ("case process died (exit %s)"
                                      % child.returncode)
    if problems and status != "FAIL":
        status, reason = "FAIL", "; ".join(problems)
    elif problems:
        reason += " [cleanup: %s]" % "; ".join(problems)
    if args.keep or (status == "FAIL" and args.keep_failed):
        reason += " [kept %s]" % tmp
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return status, reason, elapsed, output


def terminated(signum, frame):
    raise SystemExit("run.py: terminated by signal %d" % signum)


def fuse_usable():
    """None if /dev/fuse can be used, else the reason it can't."""
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return "/dev/fuse is not usable (%s)" % e.strerror
    if not shutil.which("fusermount3") and os.geteuid() != 0:
        return "fusermount3 not found and not root"
    with open("/proc/filesystems") as f:
        if "fuse" not in f.read().split():
            return "the kernel has no fuse filesystem"
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cases", nargs="*", help="case names or globs "
                   "(e.g. diff.rename, 'trace.*'); default: all")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show every case's output, not only failures'")
    p.add_argument("--fsx-ops", type=int, default=2000,
                   help="operations per fsx run (default 2000)")
    p.add_argument("--list", action="store_true", help="list the cases")
    p.add_argument("--keep", action="store_true",
                   help="keep every case's temporary directory")
    p.add_argument("--keep-failed", action="store_true",
                   help="keep the temporary directory of failed cases")
    p.add_argument("--timeout-scale", type=float, default=1.0,
                   help="multiply every case's timeout (slow machines)")
    p.add_argument("--passthrough-ll", metavar="BIN",
                   help="self-test: mount libfuse's passthrough_ll example "
                   "instead of crashfs (cases that read traces skip)")
    p.add_argument("--child-path", help=argparse.SUPPRESS)
    p.add_argument("--child-func", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child_path:
        return child_main(args)

    cases = discover()
    if args.cases:
        sel = [c for c in cases
               if any(c[0] == pat or fnmatch.fnmatchcase(c[0], pat)
                      for pat in args.cases)]
        if not sel:
            print("no case matches %s; see --list" % " ".join(args.cases),
                  file=sys.stderr)
            return 2
        cases = sel
    if args.list:
        for c in cases:
            print(c[0])
        return 0

    # SIGTERM (a CI job cancelled) cleans up like Ctrl-C does
    signal.signal(signal.SIGTERM, terminated)
    fuse_problem = fuse_usable()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for case in cases:
        status, reason, elapsed, output = run_case(case, args, fuse_problem)
        counts[status] += 1
        line = "%s %s (%.1fs)" % (status, case[0], elapsed)
        if reason:
            line += ": " + reason
        print(line, flush=True)
        if output and (args.verbose or status == "FAIL"):
            for l in output.rstrip("\n").split("\n")[-60:]:
                print("    | " + l)
            sys.stdout.flush()
    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
