#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The server form of any per-state shell checker, for server-equiv.py.

    sh-server.py 'CMD'

Speaks the checker server protocol (docs/check.md): prints `ready`, then
for each request line (state directory, marks file, crash point, state
id, tab-separated) runs `sh -c CMD` in the state directory with
CRASHFS_STATE, CRASHFS_MARKS and CRASHFS_POINT set, as a per-state
checker is run, and answers `ok` or `fail` with what CMD printed.  The
child has exited before the answer, so no file of the state stays open.
"""
import os
import subprocess
import sys


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: sh-server.py 'CMD'\n")
        return 2
    cmd = sys.argv[1]
    print("ready", flush=True)
    for line in sys.stdin:
        fields = line.rstrip("\n").split("\t")
        state, marks, point = fields[0], fields[1], fields[2]
        env = dict(os.environ, CRASHFS_STATE=state, CRASHFS_MARKS=marks,
                   CRASHFS_POINT=point)
        r = subprocess.run(["sh", "-c", cmd], cwd=state, env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode == 0:
            print("ok", flush=True)
        else:
            out = r.stdout.decode(errors="replace").replace("\n", " ")
            print(("fail " + out.strip())[:400].rstrip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
