#!/bin/sh
# SPDX-License-Identifier: MIT
# Power-cut check of SQLite on a live crashfs mount, as docs/ci.md shows
# it: mount, run the application, cut the power, run it again on the same
# mount, and let it check what survived.
#
#   ci-powercut-sqlite.sh [WORKDIR]     (CRASHFS: the crashfs binary)
#
# Exit 0 when the database is intact and holds every committed row.
set -eu

CRASHFS=${CRASHFS:-crashfs}
WORK=${1:-$(mktemp -d)}
ROWS=${ROWS:-200}
mkdir -p "$WORK/backing" "$WORK/mnt"

cleanup() {
	# unmount whatever happens; the daemon finishes the trace
	"$CRASHFS" umount "$WORK/mnt" 2>/dev/null || true
}
trap cleanup EXIT

"$CRASHFS" mount --powercut --trace "$WORK/run.trace" \
	--log "$WORK/daemon.log" "$WORK/backing" "$WORK/mnt"

# 1. the application: WAL mode, synchronous=FULL, one transaction a row;
#    it prints the number of each row once its COMMIT returned
python3 - "$WORK/mnt/app.db" "$ROWS" > "$WORK/committed" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
for i in range(1, int(sys.argv[2]) + 1):
    db.execute("BEGIN")
    db.execute("INSERT INTO t VALUES (?, ?)", (i, "row %d" % i * 10))
    db.execute("COMMIT")
    print(i, flush=True)
# no clean close: the power goes while the database is open
PY

# 2. the power cut: everything not durable is gone
"$CRASHFS" ctl "$WORK/mnt" powercut

# 3. restart on the same mount and check
python3 - "$WORK/mnt/app.db" "$(tail -n 1 "$WORK/committed")" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ok = db.execute("PRAGMA integrity_check").fetchone()[0]
n = db.execute("SELECT count(*) FROM t").fetchone()[0]
last = int(sys.argv[2])
ids = [r[0] for r in db.execute("SELECT id FROM t ORDER BY id")]
print("integrity_check: %s, rows: %d, committed: %d" % (ok, n, last))
if ok != "ok":
    sys.exit("database corrupt after the power cut")
if ids[:last] != list(range(1, last + 1)):
    sys.exit("a committed row is missing after the power cut")
PY
