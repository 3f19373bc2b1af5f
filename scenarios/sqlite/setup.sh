#!/bin/sh
# SPDX-License-Identifier: MIT
# Make the database the SQLite workload starts from: one table, in the
# given journal mode (WAL is a persistent property of the file).
#	setup.sh DB JOURNAL_MODE
set -e
sqlite3 "$1" "PRAGMA journal_mode=$2; CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);" >/dev/null
