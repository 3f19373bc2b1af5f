#!/bin/sh
# SPDX-License-Identifier: MIT
# Checker for the SQLite scenarios, run by crashfs check in each crash
# state: the database must pass PRAGMA integrity_check and hold every row
# whose commit was acknowledged (a "commit-I" line in $CRASHFS_MARKS).
# With --integrity-only the rows are not checked (consistency only).
#	check.sh DB [--integrity-only]
# One sqlite3 process per state: checkers run hundreds of times.
db=$1
if [ ! -e "$db" ]; then
	echo "database $db is missing"
	exit 1
fi
want=0
if [ "$2" != --integrity-only ] && [ -n "$CRASHFS_MARKS" ]; then
	while read -r line; do
		case $line in
		commit-*) want=${line#commit-} ;;
		esac
	done <"$CRASHFS_MARKS"
fi
out=$(sqlite3 "$db" "PRAGMA integrity_check; SELECT count(*) FROM t WHERE id <= $want;" 2>&1)
first=${out%%
*}
last=${out##*
}
if [ "$first" != ok ]; then
	echo "integrity_check: $out"
	exit 1
fi
if [ "$last" != "$want" ]; then
	echo "committed rows 1..$want acknowledged, $last of them present"
	exit 1
fi
exit 0
