#!/bin/sh
# SPDX-License-Identifier: MIT
# Without /dev/fuse (as on Debian's build daemons) the suites that mount
# skip with a line saying why and exit 0, instead of failing every case.
# Runs them in a private mount namespace whose /dev lacks fuse; needs
# root and unshare(1), skipped otherwise.
set -u
cd "$(dirname "$0")/../.." || exit 2
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
	echo "nofuse: skipped (needs root and unshare)"
	exit 0
fi
fail=0
for suite in "sh tests/scenarios/bad-input.sh" "sh tests/scenarios/run.sh" \
	"sh tests/scenarios/explain.sh" "python3 tests/scenarios/server-equiv.py" \
	"python3 tests/integration/run.py mount.*" \
	"python3 tests/meta/docs.py README.md"; do
	out=$(unshare -m --propagation private sh -c '
		mount -t tmpfs -o mode=755 nofuse /dev &&
		mknod -m 666 /dev/null c 1 3 && exec '"$suite" 2>&1)
	rc=$?
	if [ "$rc" != 0 ] || ! printf '%s\n' "$out" | grep -q \
		-e '^skipped .*/dev/fuse is not usable' \
		-e 'SKIP .*/dev/fuse is not usable'; then
		echo "FAIL  nofuse: '$suite' without /dev/fuse: exit $rc"
		printf '%s\n' "$out" | tail -n 5 | sed 's/^/      /'
		fail=1
	else
		echo "ok    nofuse: $suite skips: $(printf '%s\n' "$out" |
			grep -m1 -i 'skip')"
	fi
done
exit $fail
