#!/bin/sh
# SPDX-License-Identifier: MIT
# Make the repository the git scenarios start from: repo/ with one commit,
# and core.fsync set to FSYNC when given (git's default otherwise).
#	setup.sh [FSYNC]
set -e
. "$(dirname "$0")/env.sh"
git init -q repo
cd repo
if [ -n "$1" ]; then
	git config core.fsync "$1"
fi
echo "line 0" >file
git add file
git commit -q -m "commit 0"
