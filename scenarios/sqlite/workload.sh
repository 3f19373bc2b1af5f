#!/bin/sh
# SPDX-License-Identifier: MIT
# SQLite workload for the crashfs bug zoo: open DB with the sqlite3 CLI in
# the given journal mode and synchronous setting, insert N rows, one
# transaction each, and after each COMMIT returns mark "commit-I" (under
# crashfs only).  check.sh then verifies every marked row survived.
#
#	workload.sh DB JOURNAL_MODE SYNCHRONOUS N
#
# The database and its table are made by setup.sh before the recording.
set -e
db=$1 mode=$2 sync=$3 n=$4
{
	echo "PRAGMA journal_mode=$mode;"
	echo "PRAGMA synchronous=$sync;"
	i=1
	while [ "$i" -le "$n" ]; do
		echo "INSERT INTO t VALUES($i, printf('row %d %.40c', $i, 'x'));"
		if [ -n "$CRASHFS_MOUNT" ]; then
			echo ".shell crashfs mark commit-$i"
		fi
		i=$((i + 1))
	done
} | sqlite3 -bail "$db" >/dev/null
