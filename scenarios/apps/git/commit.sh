#!/bin/sh
# SPDX-License-Identifier: MIT
# The git workload: N commits in repo/ (append a line to file, git add,
# git commit), each acknowledged with a mark "commit-I" once git commit
# returned (under crashfs).
#	commit.sh N
set -e
. "$(dirname "$0")/env.sh"
cd repo
i=1
while [ "$i" -le "$1" ]; do
	echo "line $i" >>file
	git add file
	git commit -q -m "commit $i"
	if [ -n "$CRASHFS_MOUNT" ]; then
		crashfs mark "commit-$i"
	fi
	i=$((i + 1))
done
