#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The commands in README.md and docs/*.md run as written.

Each document is read top to bottom, as a reader would follow it in one
terminal: its ```sh and ```console blocks run in order in one bash
session whose working directory is a fresh copy of the repository (with
build/ linked to the real one), so a document may `cd` or `export` and
the blocks after see it.  README.md starts with the plain environment
(it says itself how to put build/ on PATH); every docs/*.md page starts
with build/ on PATH, as after the README's quick start.

- ```sh: the block runs as one piece of script (functions, loops and
  here-documents work); every command in it must exit 0 (a bash ERR
  trap reports the first that does not, with its status).
- ```console: lines "$ CMD" (with "\\" continuation lines) are run; the
  lines after each, up to the next "$ ", are its sample output (stdout
  and stderr together), compared with what it printed, after masking
  times ("0.23 s"), hashes ("@327e332f"), crash state ids
  ("k7.posix.m7n") and op numbers ("write #4"), with all whitespace runs counting as one space (so
  long lines may be wrapped), and "..." standing for anything.  A sample
  with no output lines is not compared; the exit status is not checked
  (show "$ echo $?" where it matters).
- A block may be left out only with an HTML comment on the line before
  it that says why: <!-- norun: needs a live application -->.
- <!-- file: PATH --> before a block says the block is the file PATH of
  the repository, verbatim (a script or workflow the document shows):
  the two must be equal, and the block is not run.
- Untyped blocks (```) that hold commands ("$ ", crashfs, make,
  python3 ...) are errors: mark them sh, console, or text for a synopsis.

    python3 tests/meta/docs.py [-v] [FILE.md...]    (default: all)

Without a usable /dev/fuse the documents cannot run: skipped, saying so.
"""

import argparse
import glob
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import lib  # noqa: E402  (mounts_under)

TIMEOUT = 300          # per command
MARK = "__crashfs_docs_status__"
ERRMARK = "__crashfs_docs_error__"
COMMANDISH = re.compile(r"^(\$ |crashfs\b|build/|make\b|python3 |sh |"
                        r"tests/|\./|sudo )")


class Block:
    def __init__(self, path, line, lang, lines, norun, file):
        self.path = path        # the document
        self.line = line        # line number of the opening fence
        self.lang = lang        # "sh", "console", "" ...
        self.lines = lines      # the block's lines
        self.norun = norun      # the reason given, or None
        self.file = file        # the file it copies, or None

    def where(self):
        return "%s:%d" % (os.path.relpath(self.path, ROOT), self.line)


def blocks(path):
    """Every fenced block of a markdown file, with its norun reason."""
    with open(path) as f:
        lines = f.read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```\s*([\w+-]*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        norun = file = None
        before = lines[k] if k >= 0 else ""
        nm = re.match(r"^<!--\s*norun:(.*?)-->\s*$", before)
        if nm:
            norun = nm.group(1).strip()
        fm = re.match(r"^<!--\s*file:\s*(\S+)\s*-->\s*$", before)
        if fm:
            file = fm.group(1)
        out.append(Block(path, i + 1, m.group(1), lines[i + 1:j], norun,
                         file))
        i = j + 1
    return out


def logical(lines):
    """Join "\\" continuation lines: [(command, [raw lines])]."""
    out, cur = [], []
    for line in lines:
        cur.append(line)
        if not line.endswith("\\"):
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def console_steps(block):
    """[(command, expected output lines)] of a console block."""
    steps = []
    i = 0
    lines = block.lines
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError("%s: console block line %r is neither "
                             "'$ CMD' nor the output of one"
                             % (block.where(), lines[i]))
        cmd = [lines[i][2:]]
        while cmd[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd.append(lines[i])
        i += 1
        out = []
        while i < len(lines) and not lines[i].startswith("$ "):
            out.append(lines[i])
            i += 1
        steps.append(("\n".join(cmd), out))
    return steps


# ---- comparing sample output ------------------------------------------

STATE_ID = re.compile(r"\bk\d+\.(?:visible|posix|ext4|strict|prefix)"
                      r"(?:\.[\w+-]+)?(?:@[0-9a-f]{8,16})?")
TIME = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|us)\b")
HASH = re.compile(r"@[0-9a-f]{8,16}\b|\b[0-9a-f]{16}\b")
# op numbers ("write #4", "(#9)") depend on the program's interpreter and
# on when the harness's own records land, not on crashfs: masked as
# tests/scenarios/explain.sh masks them
OPNUM = re.compile(r"#\d+\b")


def mask(text):
    text = STATE_ID.sub("<state>", text)
    text = HASH.sub("<hash>", text)
    text = TIME.sub("<time>", text)
    text = OPNUM.sub("#N", text)
    return " ".join(text.split())


def matches(expected_lines, actual):
    """Does actual (text) match the sample?  "..." is a wildcard."""
    want = mask("\n".join(expected_lines))
    got = mask(actual)
    parts = [re.escape(p.strip()) for p in want.split("...")]
    pattern = r"\s*.*?\s*".join(parts)
    return re.fullmatch(r"\s*" + pattern + r"\s*", got, re.S) is not None


# ---- the shell session ------------------------------------------------

class Session:
    """One bash reading commands from a pipe; each command runs with
    stdin from /dev/null, stdout and stderr together."""

    def __init__(self, cwd, env):
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd,
            env=env, start_new_session=True)
        self.buf = b""
        # every failing command of a sh block says so (functions too)
        self.run("set -E; trap 'case $BASH_COMMAND in __rs=*) ;; *) "
                 "printf \"\\n%s %%d %%s\\n\" $? \"$BASH_COMMAND\";; "
                 "esac' ERR" % ERRMARK)

    def run(self, cmd, timeout=TIMEOUT):
        """Run cmd; returns (status, output).  status None: timed out."""
        # $? is the previous command's status, as in a terminal: restored
        # by an assignment the ERR trap knows to leave alone
        script = ("__rs=$(exit ${__s:-0})\n{ %s\n} </dev/null 2>&1\n"
                  "__s=$?; printf '\\n%s %%d\\n' $__s\n" % (cmd, MARK))
        self.proc.stdin.write(script.encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        pat = re.compile(rb"\n" + MARK.encode() + rb" (\d+)\n")
        while True:
            m = pat.search(self.buf)
            if m:
                out = self.buf[:m.start()].decode(errors="replace")
                self.buf = self.buf[m.end():]
                return int(m.group(1)), out
            left = deadline - time.monotonic()
            if left <= 0:
                return None, self.buf.decode(errors="replace")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return None, self.buf.decode(errors="replace") + \
                        "\n(the shell exited)"
                self.buf += chunk

    def close(self):
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait()


def copy_repo(dest):
    """The repository's files into dest, build/ as a link to the real
    one (nothing is rebuilt, nothing written into the source tree)."""
    def ignore(d, names):
        if os.path.abspath(d) == ROOT:
            return [n for n in names if n in (".git", "build")]
        return [n for n in names if n == "__pycache__"]
    shutil.copytree(ROOT, dest, symlinks=True, ignore=ignore)
    os.symlink(os.path.join(ROOT, "build"), os.path.join(dest, "build"))


def pids_in(work):
    """Processes (daemons, a case runner's children in sessions of their
    own) whose command line names work or whose cwd is inside it."""
    pids = []
    for ent in os.listdir("/proc"):
        if not ent.isdigit() or int(ent) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % ent, "rb") as f:
                cmd = f.read()
            cwd = os.readlink("/proc/%s/cwd" % ent)
        except OSError:
            continue
        if work.encode() in cmd or cwd == work or \
                cwd.startswith(work + "/"):
            pids.append(int(ent))
    return pids


def check_doc(path, verbose):
    """Run one document; returns a list of problems."""
    problems = []
    docblocks = blocks(path)
    runnable = []
    for b in docblocks:
        if b.file is not None:
            problems += check_copy(b)
            continue
        if b.norun is not None:
            if not b.norun:
                problems.append("%s: norun without a reason" % b.where())
            continue
        if b.lang in ("sh", "console"):
            runnable.append(b)
        elif b.lang == "" and any(COMMANDISH.match(l) for l in b.lines
                                  if l.strip()):
            problems.append("%s: an untyped block of commands: mark it "
                            "```sh (it runs), ```console ($ CMD and its "
                            "output), ```text (a synopsis), or put "
                            "<!-- norun: why --> before it" % b.where())
    if not runnable:
        return problems
    work = tempfile.mkdtemp(prefix="crashfs-docs-")
    repo = os.path.join(work, "repo")
    tmp = os.path.join(work, "tmp")
    os.mkdir(tmp)
    copy_repo(repo)
    env = dict(os.environ, TMPDIR=tmp, HOME=work, LC_ALL="C.UTF-8",
               COLUMNS="80")
    env.pop("CRASHFS_MOUNT", None)
    if os.path.basename(path) != "README.md":
        env["PATH"] = os.path.join(repo, "build") + ":" + env["PATH"]
    sh = Session(repo, env)
    try:
        for b in runnable:
            problems += run_block(sh, b, verbose)
            if problems and problems[-1].endswith("(session lost)"):
                break
    finally:
        sh.close()
        for pid in pids_in(work):
            problems.append("%s: a process was left running: %d"
                            % (os.path.relpath(path, ROOT), pid))
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        for m in lib.mounts_under(work):
            problems.append("%s: a mount was left at %s"
                            % (os.path.relpath(path, ROOT), m))
            subprocess.run(["fusermount3", "-u", "-z", m])
        shutil.rmtree(work, ignore_errors=True)
    return problems


def check_copy(b):
    """A block that shows a file of the repository: equal to it."""
    path = os.path.join(ROOT, b.file)
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return ["%s: the block copies '%s', which cannot be read: %s"
                % (b.where(), b.file, e.strerror)]
    if text.rstrip("\n").split("\n") != b.lines:
        return ["%s: the block differs from '%s', which it copies "
                "(copy the file into the document again)"
                % (b.where(), b.file)]
    return []


def run_sh(sh, b, verbose):
    """A sh block, as one piece of script in the session."""
    t0 = time.monotonic()
    status, out = sh.run("\n".join(b.lines))
    if verbose:
        print("  %s sh block [exit %s, %.1f s]" % (
            b.where(), status, time.monotonic() - t0))
    if status is None:
        return ["%s: the block did not finish in %d s (session lost)"
                % (b.where(), TIMEOUT)]
    errs = re.findall(ERRMARK + r" (\d+) (.*)", out)
    if errs:
        shown = re.sub(r"\n?" + ERRMARK + r" .*", "", out)
        return ["%s: '%s' exited with status %s:\n%s"
                % (b.where(), errs[0][1], errs[0][0], indent(shown))]
    return []


def run_block(sh, b, verbose):
    problems = []
    if b.lang == "sh":
        return run_sh(sh, b, verbose)
    try:
        steps = console_steps(b)
    except ValueError as e:
        return [str(e)]
    for cmd, want in steps:
        t0 = time.monotonic()
        status, out = sh.run(cmd)
        if verbose:
            print("  %s $ %s  [exit %s, %.1f s]" % (
                b.where(), cmd.split("\n")[0], status,
                time.monotonic() - t0))
        if status is None:
            problems.append("%s: '%s' did not finish in %d s (session "
                            "lost)" % (b.where(), cmd, TIMEOUT))
            return problems
        out = re.sub(r"\n?" + ERRMARK + r" .*", "", out)
        if want and not matches(want, out):
            problems.append("%s: the output of '%s' differs from the "
                            "sample.\n    shown:\n%s\n    printed:\n%s"
                            % (b.where(), cmd, indent("\n".join(want)),
                               indent(out)))
    return problems


def indent(text):
    return "\n".join("      | " + l for l in text.rstrip("\n").split("\n"))


def fuse_problem():
    try:
        os.close(os.open("/dev/fuse", os.O_RDWR))
    except OSError as e:
        return "/dev/fuse is not usable (%s)" % e.strerror
    if not shutil.which("fusermount3") and os.geteuid() != 0:
        return "fusermount3 not found and not root"
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("files", nargs="*")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args()
    files = args.files or ([os.path.join(ROOT, "README.md")] +
                           sorted(glob.glob(os.path.join(ROOT, "docs",
                                                         "*.md"))))
    why = fuse_problem()
    if why:
        print("skipped the documents' commands: %s (they mount crashfs)"
              % why)
        return 0
    if not os.access(os.path.join(ROOT, "build", "crashfs"), os.X_OK):
        print("docs: build/crashfs is missing: run make")
        return 2
    failed = 0
    for f in files:
        t0 = time.monotonic()
        problems = check_doc(os.path.abspath(f), args.verbose)
        name = os.path.relpath(os.path.abspath(f), ROOT)
        if problems:
            failed += 1
            print("FAIL  docs: %s (%.0f s)" % (name, time.monotonic() - t0))
            for pr in problems:
                print("    " + pr)
        else:
            print("ok    docs: %s (%.0f s)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
