#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every option of every subcommand's --help is in the man page.

Runs `crashfs --help` for the list of commands, then `crashfs CMD --help`
for each, and extracts every option it mentions (--long anywhere, -x as a
word) and, for `ctl`, every verb of its usage lines.  Each must appear in
that command's section of docs/crashfs.1 (".SS crashfs CMD"); -h/--help
is documented once for all.  The ENVIRONMENT section must name every
variable crashfs sets or reads, and the page must render without groff
warnings (when groff is installed).

    python3 tests/meta/manpage.py [CRASHFS]
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "docs", "crashfs.1")
ENV_VARS = ["CRASHFS_MOUNT", "CRASHFS_STATE", "CRASHFS_MARKS",
            "CRASHFS_POINT", "CRASHFS_JOB", "CRASHFS_SCENARIO_DIR", "TMPDIR",
            "NO_COLOR"]
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS",
            "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"]

LONG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHORT = re.compile(r"(?<![\w-])-[a-zA-Z](?![\w-])")


def helptext(crashfs, *args):
    r = subprocess.run([crashfs] + list(args) + ["--help"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if r.returncode != 0 or not r.stdout.strip():
        sys.exit("crashfs %s --help: exit %d, stdout %r"
                 % (" ".join(args), r.returncode, r.stdout[:200]))
    return r.stdout


def commands(crashfs):
    text = helptext(crashfs)
    part = text.split("commands:", 1)
    if len(part) != 2:
        sys.exit("crashfs --help lists no commands")
    return [m.group(1) for m in re.finditer(r"^  ([a-z]+) ", part[1], re.M)]


def options(text):
    found = set(LONG.findall(text)) | set(SHORT.findall(text))
    return sorted(found - {"-h", "--help"})


def plain(roff):
    """The man page's text with roff escapes reduced: \\- is -, fonts go."""
    lines = [l for l in roff.splitlines() if not l.startswith('.\\"')]
    text = "\n".join(lines)
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def sections(text):
    """{'check': text of .SS crashfs check, ..., '.SH NAME': ...}"""
    out = {}
    for m in re.finditer(r"^\.(SH|SS) (.*)$((?:\n(?!\.S[HS] ).*)*)",
                         text, re.M):
        kind, title, body = m.group(1), m.group(2).strip('"'), m.group(3)
        if kind == "SS" and title.startswith("crashfs "):
            out[title.split()[1]] = body
        else:
            out[".SH " + title] = body
    return out


def main():
    crashfs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "build", "crashfs")
    with open(MAN) as f:
        roff = f.read()
    secs = sections(plain(roff))
    problems = []
    for name in SECTIONS:
        if ".SH " + name not in secs:
            problems.append("docs/crashfs.1 has no %s section" % name)
    checked = 0
    for cmd in commands(crashfs):
        text = helptext(crashfs, cmd)
        body = secs.get(cmd)
        if body is None:
            problems.append("docs/crashfs.1 has no section "
                            "'.SS crashfs %s'" % cmd)
            continue
        want = options(text)
        if cmd == "ctl":
            want += sorted(set(re.findall(
                r"crashfs ctl MNT ([a-z]+)", text)))
        for opt in want:
            checked += 1
            if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(opt),
                             body):
                problems.append("'crashfs %s --help' shows %s, which its "
                                "section of docs/crashfs.1 does not "
                                "document" % (cmd, opt))
    env = secs.get(".SH ENVIRONMENT", "")
    helps = "".join(helptext(crashfs, c) for c in commands(crashfs))
    for var in sorted(set(ENV_VARS) | set(re.findall(r"CRASHFS_[A-Z_]+",
                                                     helps))):
        if not re.search(r"^\.B %s$" % var, env, re.M):
            problems.append("docs/crashfs.1: ENVIRONMENT does not "
                            "describe %s" % var)
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        if r.returncode or r.stderr.strip():
            problems.append("groff warns about docs/crashfs.1: %s"
                            % r.stderr.strip())
    for p in problems:
        print("FAIL  manpage: " + p)
    if not problems:
        print("ok    manpage: %d options and verbs of %d commands "
              "documented" % (checked, len(commands(crashfs))))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
