#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The GitHub Actions workflow of docs/ci.md is one that would run.

docs/examples/crash-consistency.yml (docs/ci.md shows it verbatim: the
documents test compares the two) must

- be a valid workflow for action-validator (npm package
  @action-validator/cli, installed into build/npm when npm is there;
  skipped with a message when it cannot be had);
- give crashfs only options its subcommands' --help lists;
- install every Debian package the Makefile's build needs (the -dev
  libraries, fuse3, pkg-config, build-essential);
- name only files of this tree under $RUNNER_TEMP/crashfs/;
- set timeout-minutes on every job, pin the crashfs version, and run
  `crashfs check` with --junit and --shard.

    python3 tests/meta/workflow.py [CRASHFS]
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
WORKFLOW = os.path.join(ROOT, "docs", "examples", "crash-consistency.yml")
CI_MD = os.path.join(ROOT, "docs", "ci.md")
NPM_DIR = os.path.join(ROOT, "build", "npm")
VALIDATOR = os.path.join(NPM_DIR, "node_modules", ".bin", "action-validator")
# a fixed version, so a new release cannot change the verdict unseen.  npm
# is not among the Makefile's DEB_PACKAGES: Debian's npm conflicts with
# the nodejs packages many machines carry (NodeSource's provides npm)
VALIDATOR_PKG = "@action-validator/cli@0.6.0"

# Options the workflow uses that another branch of the project adds; each
# is named here so that nothing passes unseen, and is reported on every
# run until crashfs lists it (then delete the line: the check is strict).
PENDING = {}


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw)


def shell_lines(text):
    """The workflow's shell commands, continuation lines joined."""
    out = []
    for block in re.findall(r"run: \|\n((?:[ ]{10,}.*\n?)+)", text) + \
            re.findall(r"run: (?!\|)(.*)", text):
        out += re.sub(r"\\\n\s*", " ", block).split("\n")
    return [l.strip() for l in out if l.strip()]


def crashfs_calls(lines):
    """(subcommand, [options]) of every crashfs command in lines."""
    calls = []
    for line in lines:
        for m in re.finditer(r"(?:^|[\s;|&])crashfs ([a-z]+)([^|;&]*)",
                             line):
            args = m.group(2).split(" -- ")[0]
            calls.append((m.group(1), re.findall(r"(?<![\w-])--?[a-z][\w-]*",
                                                 args)))
    return calls


def helptext(crashfs, sub):
    return run([crashfs, sub, "--help"], timeout=30).stdout


def validator(problems):
    """action-validator's verdict; None when it cannot be had."""
    if not os.access(VALIDATOR, os.X_OK):
        npm = shutil.which("npm")
        if not npm:
            print("skipped: action-validator: npm is not installed")
            return
        os.makedirs(NPM_DIR, exist_ok=True)
        r = run([npm, "install", "--prefix", NPM_DIR, "--no-audit",
                 "--no-fund", "--cache", os.path.join(NPM_DIR, "cache"),
                 VALIDATOR_PKG], timeout=600)
        if r.returncode or not os.access(VALIDATOR, os.X_OK):
            print("skipped: action-validator: npm install failed: %s"
                  % r.stdout.strip().split("\n")[-1])
            return
    r = run([VALIDATOR, WORKFLOW], timeout=60)
    if r.returncode:
        problems.append("action-validator rejects %s:\n%s"
                        % (os.path.relpath(WORKFLOW, ROOT), r.stdout))
    else:
        print("ok    workflow: action-validator accepts it")


def main():
    crashfs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "build", "crashfs")
    with open(WORKFLOW) as f:
        text = f.read()
    problems = []
    with open(CI_MD) as f:
        if "<!-- file: docs/examples/crash-consistency.yml -->" not in \
                f.read():
            problems.append("docs/ci.md does not show the workflow (no "
                            "<!-- file: docs/examples/crash-consistency."
                            "yml --> block)")
    validator(problems)

    lines = shell_lines(text)
    calls = crashfs_calls(lines)
    helps = {}
    for sub, opts in calls:
        if sub not in helps:
            helps[sub] = helptext(crashfs, sub)
        for opt in opts:
            listed = re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt),
                               helps[sub])
            if listed:
                if (sub, opt) in PENDING:
                    print("note: crashfs %s %s is there now: delete it "
                          "from PENDING in tests/meta/workflow.py"
                          % (sub, opt))
            elif (sub, opt) in PENDING:
                print("note: crashfs %s %s is not checked yet (%s)"
                      % (sub, opt, PENDING[(sub, opt)]))
            else:
                problems.append("the workflow runs 'crashfs %s %s', an "
                                "option 'crashfs %s --help' does not list"
                                % (sub, opt, sub))
    checks = [o for s, o in calls if s == "check"]
    if not checks or not all("--junit" in o and "--shard" in o
                             for o in checks):
        problems.append("the workflow's crashfs check must use --junit "
                        "and --shard")

    with open(os.path.join(ROOT, "Makefile")) as f:
        mk = f.read()
    debs = re.search(r"DEB_PACKAGES :=((?:.*\\\n)*.*)", mk).group(1)
    # the -dev packages, but those only the tests need (cmocka: the unit
    # tests; clang's runtime: make fuzz)
    test_only = ("libcmocka-dev", "libclang-rt-dev")
    need = [p for p in debs.replace("\\\n", " ").split()
            if p.endswith("-dev") and p not in test_only
            or p in ("fuse3", "pkg-config", "build-essential")]
    installs = " ".join(l for l in lines if "apt-get install" in l)
    for job in re.findall(r"^  ([\w-]+):\n((?:    .*\n|\n)*)", text, re.M):
        if "apt-get install" in job[1]:
            job_installs = " ".join(l for l in shell_lines(job[1])
                                    if "apt-get install" in l)
            for p in need:
                if p not in job_installs.split():
                    problems.append("job '%s' does not install %s, which "
                                    "crashfs needs to build" % (job[0], p))
        if "timeout-minutes:" not in job[1]:
            problems.append("job '%s' has no timeout-minutes" % job[0])
    if not installs:
        problems.append("the workflow installs no package")

    for ref in re.findall(r"\$RUNNER_TEMP/crashfs/([\w./-]+)", text):
        if not os.path.exists(os.path.join(ROOT, ref)):
            problems.append("the workflow runs %s, which is not in the "
                            "crashfs tree" % ref)
    m = re.search(r"CRASHFS_VERSION: (\S+)", text)
    if not m or m.group(1) in ("main", "master", "HEAD"):
        problems.append("the workflow does not pin a crashfs version")
    elif "--branch \"$CRASHFS_VERSION\"" not in text:
        problems.append("the workflow does not build CRASHFS_VERSION")

    for p in problems:
        print("FAIL  workflow: " + p)
    if not problems:
        print("ok    workflow: %d crashfs commands, their options, "
              "packages, timeouts, version pin" % len(calls))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
