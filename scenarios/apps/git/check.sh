#!/bin/sh
# SPDX-License-Identifier: MIT
# Checker for the git scenarios, run by crashfs in each state: `git fsck
# --full` must find nothing wrong (objects, refs, the index and, unless
# --no-reflogs, the reflogs), HEAD must name a commit, and, unless
# --integrity-only, HEAD's history must hold every commit acknowledged
# with a mark "commit-I" (the repository starts with one commit:
# commit-I wants I + 1).
#	check.sh [--integrity-only] [--no-reflogs]
. "$(dirname "$0")/env.sh"
rows=1 fsckopt=
for arg in "$@"; do
	case $arg in
	--integrity-only) rows= ;;
	--no-reflogs) fsckopt=--no-reflogs ;;
	*)
		echo "check.sh: unknown option '$arg'"
		exit 2
		;;
	esac
done
cd repo 2>/dev/null || {
	echo "repo/ is missing"
	exit 1
}
if ! out=$(git fsck --full --no-progress $fsckopt 2>&1); then
	echo "git fsck: $out"
	exit 1
fi
if ! n=$(git rev-list --count HEAD 2>&1); then
	echo "HEAD: $n"
	exit 1
fi
want=1
if [ -n "$rows" ] && [ -n "$CRASHFS_MARKS" ]; then
	while read -r line; do
		case $line in
		commit-*) want=$((1 + ${line#commit-})) ;;
		esac
	done <"$CRASHFS_MARKS"
fi
if [ "$n" -lt "$want" ]; then
	echo "HEAD has $n commits, $want acknowledged"
	exit 1
fi
exit 0
