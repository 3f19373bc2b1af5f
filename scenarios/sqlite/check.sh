#!/bin/sh
# Checker for the SQLite scenarios, run by crashfs check in each crash
# state: the database must pass PRAGMA integrity_check and hold every row
# whose commit was acknowledged (a "commit-I" line in $CRASHFS_MARKS).
# With --integrity-only the rows are not checked (consistency only).
#	check.sh DB [--integrity-only]
db=$1
if [ ! -e "$db" ]; then
	echo "database $db is missing"
	exit 1
fi
out=$(sqlite3 "$db" 'PRAGMA integrity_check;' 2>&1)
if [ "$out" != ok ]; then
	echo "integrity_check: $out"
	exit 1
fi
[ "$2" = --integrity-only ] && exit 0
[ -n "$CRASHFS_MARKS" ] || exit 0
want=$(sed -n 's/^commit-\([0-9][0-9]*\)$/\1/p' "$CRASHFS_MARKS" | tail -n 1)
[ -n "$want" ] || exit 0
have=$(sqlite3 "$db" "SELECT count(*) FROM t WHERE id <= $want;" 2>&1)
if [ "$have" != "$want" ]; then
	echo "committed rows 1..$want acknowledged, $have of them present"
	exit 1
fi
exit 0
