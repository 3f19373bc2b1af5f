# SPDX-License-Identifier: MIT
"""The cause search of crashfs check with an external checker: a tree
already checked in the same context is not checked again (its verdict is
known), and what a report says (the causes, their wording and example
states) does not depend on the order the checkers end in (--jobs)."""

import collections
import json
import os

from lib import CRASHFS, log, run, timeout

# Every file's name and bytes as one digest (what the checker sees).
DIGEST = ("{ find . -mindepth 1 -printf '%y %m %s %P\\n' | LC_ALL=C sort; "
          "find . -mindepth 1 -type f -print0 | LC_ALL=C sort -z "
          "| xargs -0r sha1sum; } | sha1sum | cut -c1-40")

# config must hold "old" or "new"; a state's digest, its marks and the
# verdict go to $CAUSES_LOG.  $CAUSES_SLOW: sleep before failing a state
# whose config is empty ("empty") or zeros ("zeros"), so that it ends
# after the checker of the state explored next.
CHECKER = r"""#!/bin/sh
c=$(cat config 2>/dev/null)
if [ "$c" = old ] || [ "$c" = new ]; then v=pass; else v=fail; fi
if [ -n "$CAUSES_LOG" ]; then
    echo "$(%(digest)s) $(wc -l <"$CRASHFS_MARKS") $v" >>"$CAUSES_LOG"
fi
if [ $v = fail ] && [ -n "$CAUSES_SLOW" ]; then
    if [ -s config ]; then what=zeros; else what=empty; fi
    [ "$what" = "$CAUSES_SLOW" ] && sleep 3
fi
[ $v = pass ]
"""

# A new version written to a temporary file and renamed over config
# without an fsync: its data may be lost (config empty) or only its size
# persisted (zeros), one cause.
WORKLOAD = ["sh", "-c", "printf new > tmp && mv tmp config && "
            "crashfs mark saved"]


def checker(ctx):
    script = ctx.path("causes.sh")
    with open(script, "w") as f:
        f.write(CHECKER % {"digest": DIGEST})
    os.chmod(script, 0o755)
    return script


def check(ctx, name, jobs, env, run_dir=None):
    """crashfs check of WORKLOAD (recorded into run_dir when it does not
    exist yet, else checked again from it), its JSON report."""
    report = ctx.path(name + ".json")
    if run_dir and os.path.isdir(run_dir):
        what = ["--run", run_dir]
    else:
        what = ["--setup", "printf old > config"]
        if run_dir:
            what += ["--keep", run_dir]
    r = run([CRASHFS, "check", "--check", checker(ctx), "--jobs", str(jobs),
             "--report", "json", "-o", report] + what
            + ([] if "--run" in what else ["--"] + WORKLOAD),
            timeout=200, env=dict(os.environ, **env), cwd=ctx.dir(name))
    log(r.stdout + r.stderr)
    assert r.returncode == 1, ("crashfs check of the unsynced rename: "
                               "exit %d, not 1: %s"
                               % (r.returncode, r.stderr[-2000:]))
    return json.load(open(report))["scenarios"][0]


@timeout(300)
def test_cause_search_reuses_verdicts(ctx):
    """Every run of the checker is counted (the first run on the initial
    state, the states checked, the cause search's runs, which come after
    the states: the run's only failures are crash states), the search
    found some of its tries checked before, and none of its runs was on
    a tree that passed before in the same context."""
    clog = ctx.path("causes.log")
    s = check(ctx, "reuse", 2, {"CAUSES_LOG": clog})
    with open(clog) as f:
        runs = [tuple(l.split()) for l in f]
    checked = sum(c["checked"] for c in s["counts"].values()) + 1
    search = runs[checked:]
    passed = {r[:2] for r in runs[:checked] if r[2] == "pass"}
    again = [r for r in search if r[:2] in passed]
    assert not again, "the cause search checked again %r" % again
    assert len(search) == s.get("cause_runs"), (
        "the checker ran %d times: %d states checked (and the initial "
        "state), %r in the cause search"
        % (len(runs), checked - 1, s.get("cause_runs")))
    assert s["cause_known"] > 0, (
        "the cause search knew no verdict: %r" % s["cause_known"])
    assert s["causes"], "no cause found for the lost write: %r" % s


@timeout(600)
def test_examples_do_not_depend_on_jobs(ctx):
    """Two failing states with one cause (the lost write: config empty,
    or only its size persisted); whichever checker ends first, the cause
    is worded and exemplified from the state explored first, as with
    --jobs 1."""
    run_dir = ctx.path("run")
    want = check(ctx, "one", 1, {}, run_dir)
    assert want["causes"], "no cause found for the lost write: %r" % want
    for slow in ("empty", "zeros"):
        got = check(ctx, "two-" + slow, 2, {"CAUSES_SLOW": slow}, run_dir)
        for k in ("cause", "example", "states"):
            a = [c[k] for c in want["causes"]]
            b = [c[k] for c in got["causes"]]
            assert a == b, ("--jobs 2 (a checker slow on %s states) says "
                            "%s %r, --jobs 1 %r" % (slow, k, b, a))
