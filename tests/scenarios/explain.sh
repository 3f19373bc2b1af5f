#!/bin/sh
# SPDX-License-Identifier: MIT
# The explanations crashfs check gives for bug-zoo scenarios whose shapes
# once got a wrong or garbled cause or hint: each report must carry the
# exact lines a user needs, and none of the wrong advice.  Op numbers are
# masked (#N): they depend on the interpreter, not on crashfs.
#	tests/scenarios/explain.sh [CRASHFS]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
crashfs=${1:-$here/build/crashfs}
fuse_suite="the explanation checks"
. "$here/tests/scenarios/need-fuse.sh"
out=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-explain.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
fail=0

names="chmod-rename link-unlink unlink-create append-log append-log-nofsync
sqlite-delete-full"
for n in $names; do
	"$crashfs" check --jobs 1 "$here/scenarios/$n.ini" >"$out/$n.log" 2>&1 &
done
wait
for n in $names; do
	sed -E 's/#[0-9]+/#N/g' "$out/$n.log" >"$out/$n.txt"
done

bad() {
	echo "FAIL  $1: $2"
	sed 's/^/      /' "$out/$1.log"
	fail=1
}

# has NAME LINE: the report of scenario NAME has the line LINE
has() {
	if grep -qxF -- "$2" "$out/$1.txt"; then
		echo "ok    $1: $(echo "$2" | cut -c1-60 | sed 's/^ *//')"
	else
		bad "$1" "no line: $2"
	fi
}

# never NAME TEXT: no line of the report of NAME contains TEXT
never() {
	if grep -qF -- "$2" "$out/$1.txt"; then
		bad "$1" "has: $2"
	else
		echo "ok    $1: never '$2'"
	fi
}

# rsync, install -C: a chmod and a utime between the write and the rename
has chmod-rename "     cause: write #N to .config.json.tmp (3 bytes at 0) was not durable when rename #N .config.json.tmp -> config.json made it visible (in some states it was torn or persisted as zeros instead)"
has chmod-rename "     hint:  fsync .config.json.tmp before renaming it"
has chmod-rename "     hint:  fsync .config.json.tmp before renaming it; and fsync the directory after the rename"
never chmod-rename "setattr"
never chmod-rename "in place"

# git's objects: link to the final name, unlink the temp name
has link-unlink "     cause: write #N to tmp_obj (3 bytes at 0) was not durable when link #N obj made it visible (in some states it was torn or persisted as zeros instead)"
has link-unlink "     hint:  fsync tmp_obj before linking it"
has link-unlink "     hint:  fsync tmp_obj before linking it; and fsync the directory after the link"
never link-unlink "end of the program"

# install: unlink and create the target
has unlink-create "     hint:  the program deletes config.json (unlink #N) and creates it again (create #N): write the new content to a temp file, fsync it and rename it over config.json"
has unlink-create "     hint:  make the change to config.json in one step (a rename of a complete file)"
never unlink-create "in place"

# append-only logs: no temp file for a log
has append-log "     hint:  an append can persist torn or as zeros until fsync returns: make readers of app.log detect a damaged last record and drop it (checksummed records)"
never append-log "temp file"
has append-log-nofsync "     hint:  fsync app.log before acknowledging it (mark 'record 5')"
never append-log-nofsync "temp file"
never append-log-nofsync "(on )"

# SQLite, DELETE + FULL: the unlink of each commit's journal is one cause
has sqlite-delete-full "     cause: unlink #N test.db-journal was not durable at mark 'commit-1' (#N); the same mistake at 3 ops in all (unlink #N to unlink #N), at marks 'commit-1' (#N) to 'commit-3' (#N)"
has sqlite-delete-full "     hint:  fsync the directory after the unlink"
if [ "$(grep -c '^   FAIL ' "$out/sqlite-delete-full.txt")" != 1 ]; then
	bad sqlite-delete-full "more than one cause"
fi

exit $fail
