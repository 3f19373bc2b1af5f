#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A Redis client for the live power-cut test (live.sh), speaking RESP
over the server's Unix socket (no network, no client library).

    resp.py SOCKET write SECONDS LOG   SET k1, k2, ... for SECONDS, and
                                       after each "+OK" append "I TIME"
                                       (time.time()) to LOG, flushed
    resp.py SOCKET count N             print how many of k1..kN exist
                                       and the missing ones
    resp.py SOCKET ping                exit 0 once the server answers
"""
import socket
import sys
import time


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.reply()

    def reply(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("the server closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"-":
            raise RuntimeError(rest.decode(errors="replace"))
        if kind in (b"+", b":"):
            return rest
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)


def write(conn, seconds, log):
    end = time.time() + seconds
    i = 0
    with open(log, "a") as out:
        while time.time() < end:
            i += 1
            if conn.call("SET", "k%d" % i, "value %d" % i) != b"OK":
                sys.exit("SET k%d was not acknowledged" % i)
            out.write("%d %.6f\n" % (i, time.time()))
            out.flush()


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == "ping":
        for _ in range(200):
            try:
                if Conn(path).call("PING") == b"PONG":
                    return
            except (OSError, ConnectionError, RuntimeError):
                pass
            time.sleep(0.05)
        sys.exit("redis-server does not answer on %s" % path)
    conn = Conn(path)
    if cmd == "write":
        try:
            write(conn, float(sys.argv[3]), sys.argv[4])
        except (OSError, ConnectionError, RuntimeError):
            # the power went (or the server died) mid-request, or the
            # server refused the write once its disk failed (MISCONF):
            # that write was not acknowledged
            pass
    elif cmd == "count":
        n = int(sys.argv[3])
        missing = [i for i in range(1, n + 1)
                   if conn.call("EXISTS", "k%d" % i) != b"1"]
        print(n - len(missing), " ".join(map(str, missing)))
    else:
        sys.exit("resp.py: unknown command '%s'" % cmd)


if __name__ == "__main__":
    main()
