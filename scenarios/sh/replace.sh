#!/bin/sh
# SPDX-License-Identifier: MIT
# The atomic-write family of the crashfs bug zoo, in shell: six ways to
# replace the content of a file with "new" using printf, sync(1) and mv(1).
#
#	replace.sh MODE [PATH]		(PATH defaults to config.json)
#
# `sync FILE` fsyncs one file and `sync DIR` fsyncs a directory (GNU
# coreutils); mv within one filesystem is a rename(2).  After the
# replacement the script marks "saved" when run under crashfs.
set -e
mode=$1
path=${2:-config.json}
tmp=$path.tmp
dir=$(dirname -- "$path")

case $mode in
naive-overwrite)
	printf new >"$path" ;;
overwrite-fsync)
	printf new >"$path"
	sync -- "$path" ;;
rename-no-fsync)
	printf new >"$tmp"
	mv -- "$tmp" "$path" ;;
rename-no-dirsync)
	printf new >"$tmp"
	sync -- "$tmp"
	mv -- "$tmp" "$path" ;;
atomic-write)
	printf new >"$tmp"
	sync -- "$tmp"
	mv -- "$tmp" "$path"
	sync -- "$dir" ;;
dirsync-before-rename)
	printf new >"$tmp"
	sync -- "$tmp"
	sync -- "$dir"
	mv -- "$tmp" "$path" ;;
*)
	echo "usage: replace.sh MODE [PATH]" >&2
	exit 2 ;;
esac
if [ -n "$CRASHFS_MOUNT" ]; then
	crashfs mark saved
fi
