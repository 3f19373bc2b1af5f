#!/bin/sh
# SPDX-License-Identifier: MIT
# Checker for the vim scenarios, run by crashfs in each state: what Vim
# promises when it writes a file with 'writebackup' ('backupcopy' "auto",
# which here renames: the original becomes FILE~, FILE is written anew,
# FILE~ is deleted once the write succeeded) is that the text survives: FILE holds its old or its
# new version, or else FILE~ (the backup) still holds the old one.  After
# the mark "saved", FILE must hold the new version.
#	check.sh FILE OLD NEW
f=$1 old=$2 new=$3
got=$(cat -- "$f" 2>/dev/null) || got="(absent)"
if [ -n "$CRASHFS_MARKS" ] && grep -qx saved "$CRASHFS_MARKS"; then
	[ "$got" = "$new" ] && exit 0
	echo "$f holds '$got' after it was saved"
	exit 1
fi
case $got in
"$old" | "$new") exit 0 ;;
esac
if [ "$(cat -- "$f~" 2>/dev/null)" = "$old" ]; then
	exit 0
fi
echo "$f holds '$got' and no backup $f~ holds the old text"
exit 1
