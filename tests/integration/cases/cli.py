# SPDX-License-Identifier: MIT
"""The command line's errors: each says what is missing or wrong, in one
line a user can act on, with exit status 2.  A mistyped command gets a
suggestion, a missing argument is named, a workload that cannot run says
whether it was not found (127) or not executable (126), `ctl` on a path
that is no crashfs mount says what the path is, and a mount over a
non-empty directory is refused unless `-o nonempty` asks for it.
"""

import os
import stat

from lib import CRASHFS, run


def fails(args, must_say, status=2):
    """Run crashfs ARGS: it must exit with status and say must_say (each
    of a list) on stderr, without the whole usage text."""
    r = run([CRASHFS] + args, timeout=60)
    cmd = "crashfs " + " ".join(args)
    assert r.returncode == status, ("%s: exit %d, want %d; stderr: %s"
                                    % (cmd, r.returncode, status,
                                       r.stderr.strip()))
    for want in ([must_say] if isinstance(must_say, str) else must_say):
        assert want in r.stderr, ("%s: the message %r does not say %r"
                                  % (cmd, r.stderr.strip(), want))
    assert "usage:" not in r.stderr, (
        "%s: prints the whole usage instead of naming the problem: %r"
        % (cmd, r.stderr))
    return r.stderr


def test_unknown_command_suggests(ctx):
    fails(["chek"], "did you mean 'check'?")
    fails(["replya"], "did you mean 'replay'?")
    fails(["umont"], "did you mean 'umount'?")
    fails(["stat"], "did you mean 'states'?")
    err = fails(["frobnicate"], "'frobnicate' is not a crashfs command")
    assert "did you mean" not in err, "a far-fetched suggestion: %r" % err
    fails(["ctl", ctx.tmp, "powercutt"], "did you mean 'powercut'?")


def test_replay_names_what_is_missing(ctx):
    run_ = ctx.path("run")
    fails(["replay"], "missing RUN")
    fails(["replay", run_, "--state", "k1.posix.s"],
          "--state needs -o DIR")
    fails(["replay", run_, "--point", "3"], "--point needs -o DIR")
    fails(["replay", run_, "--state", "k1.posix.s", "--point", "3",
           "-o", ctx.path("out")], "--state and --point")
    fails(["replay", run_, "-o", ctx.path("out")],
          ["which state?", "--state ID", "--point K", "--verify DIR"])
    fails(["replay", run_, "--verify", ctx.tmp, "-o", ctx.path("out")],
          "--verify compares with a directory and builds nothing")
    fails(["replay", run_, "extra", "--point", "1", "-o", ctx.path("o")],
          "unexpected argument 'extra'")
    fails(["replay", run_, "--state"], "option '--state' needs an argument")
    fails(["replay", run_, "--frob"], "unknown option '--frob'")
    fails(["states"], "missing RUN")
    fails(["states", run_, "--model"], "option '--model' needs an argument")
    fails(["states", run_, "-x"], "unknown option '-x'")
    assert not os.path.exists(ctx.path("out")), "a failed replay wrote OUT"


def test_workload_not_executable_126(ctx):
    script = ctx.path("noexec.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(script, stat.S_IRUSR | stat.S_IWUSR)
    r = run([CRASHFS, "check", "--atomic", "f", "--", script], timeout=60)
    assert r.returncode == 2, "a workload that cannot run: exit %d" % (
        r.returncode)
    assert "status 126" in r.stdout and "not executable" in r.stdout, (
        "a non-executable workload is reported as %r" % r.stdout.strip())
    assert "Permission denied" in r.stderr, r.stderr
    r = run([CRASHFS, "check", "--atomic", "f", "--",
             ctx.path("not-there")], timeout=60)
    assert r.returncode == 2 and "status 127" in r.stdout, (
        "a missing workload is reported as %r" % r.stdout.strip())


def test_ctl_says_what_the_path_is(ctx):
    fails(["ctl", ctx.path("nonexistent"), "status"],
          "'%s' does not exist" % ctx.path("nonexistent"))
    fails(["ctl", ctx.tmp, "status"],
          "is not a crashfs mount (nothing is mounted there)")
    fails(["ctl", "/proc", "status"], "is not a crashfs mount (it is proc)")
    os.environ["CRASHFS_MOUNT"] = ctx.path("gone")
    fails(["mark", "saved"], "'%s' does not exist" % ctx.path("gone"))


def test_mount_over_nonempty_refused(ctx):
    ctx.needs_trace()
    b, m = ctx.dir("b"), ctx.dir("m")
    with open(os.path.join(m, "hidden"), "w") as f:
        f.write("x")
    fails(["mount", "--trace", ctx.path("t"), b, m],
          ["mount point '%s' is not empty" % m, "-o nonempty"])
    with open("/proc/self/mountinfo") as f:
        assert ctx.tmp not in f.read(), "a refused mount left a mount"
    assert not os.path.exists(ctx.path("t")), "a refused mount wrote a trace"
    # asked for, it mounts (libfuse 3 does not know the option: it must
    # not be passed on) and the files are hidden while mounted
    r = run([CRASHFS, "mount", "-o", "nonempty", "--trace", ctx.path("t"),
             b, m], timeout=30)
    assert r.returncode == 0, "mount -o nonempty: %s" % r.stderr.strip()
    try:
        assert os.listdir(m) == [], "the backing directory is empty"
    finally:
        r = run([CRASHFS, "umount", m], timeout=30)
    assert r.returncode == 0, r.stderr
    assert os.listdir(m) == ["hidden"], "the hidden file came back"
