#!/bin/sh
# SPDX-License-Identifier: MIT
# Run every shipped scenario with `crashfs check` and fail if any verdict
# differs from its expectation (crashfs check exits 1 then, 2 on a setup
# error).  Usage: tests/scenarios/run.sh [CRASHFS] [FILE.ini...]
#
# Scenarios run in parallel, one crashfs check per scenario file, as many
# at once as there are cores; each prints its text report into a log that
# is shown when it does not come out as expected.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
crashfs=${1:-$here/build/crashfs}
[ $# -gt 0 ] && shift
if [ $# -eq 0 ]; then
	set -- "$here"/scenarios/*.ini
fi
fuse_suite="$# scenario files"
. "$here/tests/scenarios/need-fuse.sh"
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-scenarios.XXXXXX")
trap 'rm -rf "$logs"' EXIT INT TERM

start=$(date +%s)
printf '%s\n' "$@" | xargs -P "$jobs" -I{} sh -c '
	f=$1 crashfs=$2 logs=$3
	name=$(basename "$f" .ini)
	"$crashfs" check --jobs 1 "$f" >"$logs/$name.log" 2>&1
	echo $? >"$logs/$name.rc"
' sh {} "$crashfs" "$logs"

fail=0
passed=0
failed=0
for f in "$@"; do
	name=$(basename "$f" .ini)
	rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 2)
	if [ "$rc" = 0 ]; then
		echo "ok    $name"
		passed=$((passed + 1))
	else
		echo "FAIL  $name (crashfs check exited $rc)"
		sed 's/^/      /' "$logs/$name.log"
		fail=1
		failed=$((failed + 1))
	fi
done
echo "$# scenario files in $(( $(date +%s) - start )) s"
echo "$passed passed, $failed failed"
exit $fail
