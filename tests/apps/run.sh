#!/bin/sh
# SPDX-License-Identifier: MIT
# The corpus of real programs (scenarios/apps, docs/apps.md): run its
# scenario files with `crashfs check` and fail if a verdict differs from
# its expectation; a scenario whose program is not installed is reported
# as skipped, with the reason, and does not fail the run.
#
#	tests/apps/run.sh [--all] [CRASHFS]
#
# Without --all: the quick files (about a minute on 2 cores), for `make
# test`.  With --all (`make test-apps`): every file, then Redis on a live
# mount with a power cut (scenarios/apps/redis/live.sh), for both
# appendfsync policies.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
all=
if [ "${1:-}" = --all ]; then
	all=1
	shift
fi
crashfs=${1:-$here/build/crashfs}
apps=$here/scenarios/apps
quick="coreutils mv rsync python logging vim tar lmdb gdbm"
slow="git sqlite tar-fsync"
files=
for f in $quick ${all:+$slow}; do
	files="$files $apps/$f.ini"
done
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
logs=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-apps.XXXXXX")
trap 'rm -rf "$logs"' EXIT INT TERM

start=$(date +%s)
# one crashfs check per file, as many at once as there are cores; -q
# prints one line per scenario ("NAME: verdict: ..." or "NAME: skip: ...")
printf '%s\n' $files | xargs -P "$jobs" -I{} sh -c '
	f=$1 crashfs=$2 logs=$3
	name=$(basename "$f" .ini)
	"$crashfs" check -q --jobs 1 "$f" >"$logs/$name.out" 2>"$logs/$name.err"
	echo $? >"$logs/$name.rc"
' sh {} "$crashfs" "$logs"

fail=0 passed=0 failed=0 skipped=0
for f in $files; do
	name=$(basename "$f" .ini)
	rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 2)
	while IFS= read -r line; do
		case $line in
		*": skip: "*)
			echo "skip  $line"
			skipped=$((skipped + 1)) ;;
		*"-> OK")
			echo "ok    ${line%%:*}"
			passed=$((passed + 1)) ;;
		*": verdict: "* | *": ERROR: "*)
			echo "FAIL  $line"
			failed=$((failed + 1)) ;;
		esac
	done <"$logs/$name.out"
	if [ "$rc" != 0 ]; then
		echo "FAIL  $name.ini: crashfs check exited $rc"
		sed 's/^/      /' "$logs/$name.err" | tail -n 20
		fail=1
	fi
done

# Redis on a live mount: skipped without redis-server
if [ -n "$all" ]; then
	for policy in always everysec; do
		if ! command -v redis-server >/dev/null 2>&1; then
			echo "skip  redis-$policy: skip: redis-server is not" \
				"installed (not found on PATH)"
			skipped=$((skipped + 1))
			continue
		fi
		if CRASHFS=$crashfs sh "$apps/redis/live.sh" "$policy" \
			>"$logs/redis.out" 2>&1; then
			echo "ok    redis-$policy: $(head -n 1 "$logs/redis.out")"
			passed=$((passed + 1))
		else
			echo "FAIL  redis-$policy"
			sed 's/^/      /' "$logs/redis.out"
			failed=$((failed + 1))
			fail=1
		fi
	done
fi
echo "$passed as expected, $failed not, $skipped skipped in" \
	"$(($(date +%s) - start)) s"
exit $fail
