# SPDX-License-Identifier: MIT
"""The randomised differential tester (tests/tools/fsx.c) through a crashfs
mount against a plain directory.  --fsx-ops N sets the operation count.

A failure prints fsx's own report: the seed, the op number, the op and the
command that replays it (see docs/testing.md).
"""

import os
import time

import replay
from lib import compare_trees, engine_verify, log, run, timeout, Trace


def fsx_timeout(args):
    # about 300 ops a second through the mount, with a wide margin
    return 60 + args.fsx_ops // 20


def run_fsx(ctx, seed):
    fsx = ctx.tool("fsx")
    m = ctx.mount()
    ref = ctx.dir("ref")
    cmd = [fsx, "--seed", str(seed), "--ops", str(ctx.fsx_ops)]
    if ctx.passthrough_ll:
        cmd.append("--basic")
    r = run(cmd + [m.mnt, ref], timeout=fsx_timeout(ctx) - 20)
    log(r.stdout + r.stderr)
    if r.returncode != 0:
        lines = [l for l in r.stdout.splitlines() if l.startswith("fsx:")]
        detail = [l for l in r.stdout.splitlines()
                  if not l.startswith("fsx:")]
        raise AssertionError("\n".join(lines[1:2] + detail[:5] + lines[2:])
                             or "fsx exited %d: %s" % (r.returncode,
                                                       r.stderr.strip()))
    compare_trees(m.backing, ref, "the backing directory (mounted)")
    m.umount()
    compare_trees(m.backing, ref, "the backing directory (after umount)")
    if not ctx.passthrough_ll:
        # the trace alone must rebuild what fsx left behind
        t = Trace(m.trace, data=True)
        replay.compare(replay.replay(t), m.backing)
        engine_verify(ctx, m.trace, m.backing)


@timeout(fsx_timeout)
def test_fixed_seed(ctx):
    run_fsx(ctx, 1)


@timeout(fsx_timeout)
def test_random_seed(ctx):
    seed = int(time.time() * 1000) ^ os.getpid()
    log("fsx seed %d" % seed)
    run_fsx(ctx, seed)
