# SPDX-License-Identifier: MIT
"""What CI tools read from crashfs check: a report on stdout holds the
report and nothing else, names that are not UTF-8 stay valid and exact,
the JUnit of a mixed scenario set has the right counts (junitparser), the
JSON validates against docs/report.schema.json (jsonschema), shards merge,
one run writes the text and both files; and the output streams, shows
progress, honours NO_COLOR and -q, and Ctrl-C exits 130.
"""

import importlib
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from lib import CRASHFS, ROOT, log, run, timeout

SCHEMA = os.path.join(ROOT, "docs", "report.schema.json")


def check(ctx, *args, cwd=None, t=300, env=None):
    e = dict(os.environ, TMPDIR=ctx.tmp)
    e.update(env or {})
    r = subprocess.run([CRASHFS, "check"] + list(args), cwd=cwd or ctx.tmp,
                       env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=t)
    log("exit %d\n%s%s" % (r.returncode, r.stdout.decode(errors="replace"),
                           r.stderr.decode(errors="replace")))
    return r


def need(module):
    """Import a Debian package's module (python3-jsonschema,
    python3-junitparser) even from a Python that is not Debian's."""
    try:
        return importlib.import_module(module)
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")
        return importlib.import_module(module)


def validate(doc):
    jsonschema = need("jsonschema")
    with open(SCHEMA) as f:
        jsonschema.validate(doc, json.load(f))


# what they print (hi-42, setup-42) is not in their command lines, which
# the reports quote
NOISY = ["--setup", "echo setup-$((40+2)); echo setup err >&2",
         "--atomic", "f", "--states", "visible", "--", "sh", "-c",
         "echo hi-$((40+2)); printf x > f.tmp; mv f.tmp f; echo e >&2"]


@timeout(180)
def test_stdout_holds_only_the_report(ctx):
    r = check(ctx, "--report", "json", *NOISY)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout.decode("utf-8"))
    validate(doc)
    for said in (b"hi-42", b"setup-42"):
        assert said in r.stderr, r.stderr
        assert said not in r.stdout
    r = check(ctx, "--report", "junit", *NOISY)
    assert r.returncode == 0
    assert r.stdout.startswith(b"<?xml"), r.stdout[:80]
    ET.fromstring(r.stdout)


@timeout(180)
def test_names_that_are_not_utf8(ctx):
    name = b"f\xff<&"
    args = [b"--atomic", name, b"--json", b"r.json", b"--junit", b"r.xml",
            b"--", b"sh", b"-c", b"printf x > \"$(printf 'f\\377<&')\""]
    r = subprocess.run([CRASHFS.encode(), b"check"] + args, cwd=ctx.tmp,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120, env=dict(os.environ, TMPDIR=ctx.tmp))
    log(r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace"))
    assert r.returncode == 1, r.stderr  # an empty file is visible first
    with open(ctx.path("r.json"), "rb") as f:
        doc = json.loads(f.read().decode("utf-8"))  # strict UTF-8
    validate(doc)
    c = doc["scenarios"][0]["checks"][0]
    assert bytes.fromhex(c["target_hex"]) == name, c
    assert c["target"] == "f\\xff<&"
    causes = doc["scenarios"][0]["causes"]
    assert causes and all(bytes.fromhex(g["target_hex"]) == name
                          for g in causes)
    with open(ctx.path("r.xml"), "rb") as f:
        xml = f.read()
    xml.decode("utf-8")
    root = ET.fromstring(xml)
    names = [tc.get("name") for tc in root.iter("testcase")]
    assert names == ["atomic f\\xff<&"], names


SCENARIOS = """\
[pass]
run = printf new > f.tmp && mv f.tmp f
atomic = f
states = visible
expect = pass

[fail]
run = printf new > f
atomic = f
durable = f
states = visible
expect = pass

[error]
run = echo broke-$((1+1)) >&2; exit 3
atomic = f
expect = pass

[checker]
run = printf new > f
check = test ! -e f || test -s f
states = visible
expect = fail: check
"""


@timeout(300)
def test_junit_and_json_of_a_mixed_set(ctx):
    junitparser = need("junitparser")
    with open(ctx.path("set.ini"), "w") as f:
        f.write(SCENARIOS)
    r = check(ctx, "set.ini", "--junit", "r.xml", "--json", "r.json")
    assert r.returncode == 2, r.stderr  # the error wins
    text = r.stdout.decode()
    for name in ("pass", "fail", "error", "checker"):
        assert "== %s (set.ini)" % name in text
    xml = junitparser.JUnitXml.fromfile(ctx.path("r.xml"))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"pass", "fail", "error", "checker"}, suites
    counts = {n: (s.tests, s.failures, s.errors) for n, s in suites.items()}
    assert counts == {"pass": (1, 0, 0), "fail": (2, 1, 0),
                      "error": (1, 0, 1), "checker": (1, 0, 0)}, counts
    for s in suites.values():
        assert s.timestamp and s.hostname and s.time is not None
    cases = {(c.classname, c.name): c for s in xml for c in s}
    bad = cases[("crashfs.fail", "atomic f")]
    res = bad.result[0]
    assert res.type == "atomic" and "fails in: visible" in res.message
    assert "hint:" in res.text and "crashfs replay" in res.text
    ok = cases[("crashfs.fail", "durable f")]
    assert not ok.result, ok.result
    err = cases[("crashfs.error", "atomic f")].result[0]
    assert err.type == "setup" and "exited with status 3" in err.message
    assert "broke-2" in err.text, err.text  # the workload's last output
    with open(ctx.path("r.json")) as f:
        doc = json.load(f)
    validate(doc)
    st = {s["name"]: s["status"] for s in doc["scenarios"]}
    assert st == {"pass": "ok", "fail": "violation", "error": "error",
                  "checker": "ok"}, st


@timeout(300)
def test_shards_merge(ctx):
    """The N JUnit files of a sharded check name each case after its
    shard: merged, every case is there once."""
    junitparser = need("junitparser")
    run_dir = ctx.path("run")
    r = check(ctx, "--keep", run_dir, "--atomic", "f", "--states", "crash",
              "--", "sh", "-c", "printf new > f")
    assert r.returncode == 1
    merged = junitparser.JUnitXml()
    for k in (1, 2):
        out = ctx.path("s%d.xml" % k)
        r = check(ctx, "--run", run_dir, "--atomic", "f", "--states",
                  "crash", "--shard", "%d/2" % k, "--junit", out)
        assert r.returncode in (0, 1), r.stderr
        for s in junitparser.JUnitXml.fromfile(out):
            merged.add_testsuite(s)
    names = [(c.classname, c.name) for s in merged for c in s]
    assert len(names) == len(set(names)) == 2, names
    assert any(c.result for s in merged for c in s)


@timeout(180)
def test_text_and_files_in_one_run(ctx):
    r = check(ctx, "--json", "r.json", "--junit", "r.xml", "--name",
              "noisy", *NOISY)
    assert r.returncode == 0
    assert b"verdict: pass" in r.stdout
    suite = ET.parse(ctx.path("r.xml")).getroot().find("testsuite")
    assert suite.get("name") == "noisy"
    assert suite.find("testcase").get("classname") == "crashfs.noisy"
    with open(ctx.path("r.json")) as f:
        validate(json.load(f))
    ET.parse(ctx.path("r.xml"))


@timeout(180)
def test_output_streams(ctx):
    """With stdout a pipe, a scenario's result is out before the next
    one has finished: the second waits for a file the test makes only
    once it has read the first one's verdict."""
    gate = ctx.path("gate")
    with open(ctx.path("two.ini"), "w") as f:
        f.write("[one]\nrun = printf x > f.tmp && mv f.tmp f\natomic = f\n"
                "states = visible\n\n[two]\nrun = i=0; while [ ! -e %s ] "
                "&& [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; "
                "printf x > f.tmp && mv f.tmp f\natomic = f\n"
                "states = visible\n" % gate)
    p = subprocess.Popen([CRASHFS, "check", "two.ini"], cwd=ctx.tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TMPDIR=ctx.tmp))
    ctx.procs.append(p)
    seen = []
    deadline = time.monotonic() + 60
    for line in p.stdout:
        seen.append(line.decode())
        if line.strip().startswith(b"verdict:"):
            break
        assert time.monotonic() < deadline
    assert any("== one" in l for l in seen), seen
    # the next scenario's header, before its workload ends
    assert any("== two" in p.stdout.readline().decode() for _ in range(3))
    open(gate, "w").close()
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err.decode()
    assert b"2 scenarios: 2 as expected" in out


@timeout(120)
def test_color_and_quiet(ctx):
    args = ["--atomic", "f", "--", "sh", "-c", "printf x > f"]
    r = check(ctx, "--color=always", *args)
    assert b"\033[" in r.stdout
    r = check(ctx, "--color=always", *args, env={"NO_COLOR": ""})
    assert b"\033[" in r.stdout
    r = check(ctx, *args, env={"NO_COLOR": "1"})
    assert b"\033[" not in r.stdout
    r = check(ctx, "-q", *args)
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 1 and "verdict: fail: atomic" in lines[0], lines
    assert r.returncode == 1


@timeout(120)
def test_interrupt_exits_130(ctx):
    p = subprocess.Popen([CRASHFS, "check", "--atomic", "f", "--", "sh",
                          "-c", "printf x > f; sleep 60"], cwd=ctx.tmp,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TMPDIR=ctx.tmp))
    ctx.procs.append(p)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with open("/proc/self/mountinfo") as f:
            if ctx.tmp in f.read():
                break
        time.sleep(0.1)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    log(out.decode() + err.decode())
    assert p.returncode == 130, "exit %d" % p.returncode
    with open("/proc/self/mountinfo") as f:
        assert ctx.tmp not in f.read(), "a mount was left behind"
    left = [n for n in os.listdir(ctx.tmp) if n.startswith("crashfs")]
    assert not left, "left behind: %s" % left


@timeout(900)
def test_progress_lines_in_logs(ctx):
    """stderr not a terminal (a CI log): a progress line every few
    seconds on a long exploration, whole lines, no carriage return."""
    # A checker that takes 50 ms a state makes the exploration last
    # until --max-time on any machine (on a fast one the states of the
    # workload alone are explored in under the progress interval).
    r = check(ctx, "--durable", "big", "--check", "sleep 0.05",
              "--max-time", "14", "--allow-partial", "--", "sh", "-c",
              "dd if=/dev/zero of=big bs=4k count=3000 status=none && "
              "crashfs mark saved", t=600)
    err = r.stderr.decode()
    assert "\r" not in err
    lines = [l for l in err.splitlines() if "states/s" in l]
    assert lines, err[-2000:]
    assert "crash point" in lines[0] and "%" in lines[0], lines[0]
