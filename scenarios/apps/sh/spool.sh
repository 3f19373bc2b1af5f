#!/bin/sh
# SPDX-License-Identifier: MIT
# A spool's hand-over with coreutils: write a message in incoming/, fsync
# it (sync FILE), move it into outbox/ with mv (a rename(2) within one
# filesystem), with "dirsync" fsync outbox/ (sync DIR), then mark
# "queued" under crashfs.
#	spool.sh [dirsync]
set -e
printf 'message 1\n' >incoming/msg
sync incoming/msg
mv incoming/msg outbox/msg
if [ "$1" = dirsync ]; then
	sync outbox
fi
if [ -n "$CRASHFS_MOUNT" ]; then
	crashfs mark queued
fi
