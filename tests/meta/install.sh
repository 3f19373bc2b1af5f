#!/bin/sh
# SPDX-License-Identifier: MIT
# 'make install' into a DESTDIR: the layout (binary, man page, docs,
# scenarios with the programs they run, bash completion), the installed
# binary runs installed scenarios from anywhere (with /dev/fuse), the
# completion completes, and 'make uninstall' leaves no file behind.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
cd "$here" || exit 2
dest=$(mktemp -d "${TMPDIR:-/tmp}/cfs-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT INT TERM
fail=0
bad() {
	echo "FAIL  install: $*"
	fail=1
}

make -s install DESTDIR="$dest" prefix=/usr >"$dest.log" 2>&1 ||
	{ bad "make install failed:"; cat "$dest.log"; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
u=$dest/usr
for f in bin/crashfs share/crashfs/scenarios/c/run-c; do
	[ -x "$u/$f" ] || bad "$f is missing or not executable"
done
for f in share/man/man1/crashfs.1 share/doc/crashfs/README.md \
	share/doc/crashfs/LICENSE share/doc/crashfs/docs/check.md \
	share/bash-completion/completions/crashfs \
	share/crashfs/scenarios/py/atomic_write.py \
	share/crashfs/scenarios/sqlite/workload.sh; do
	[ -f "$u/$f" ] || bad "$f is missing"
done
n_src=$(ls scenarios/*.ini | wc -l)
n_inst=$(ls "$u"/share/crashfs/scenarios/*.ini 2>/dev/null | wc -l)
[ "$n_src" = "$n_inst" ] || bad "$n_inst of $n_src scenario files installed"
# every file a scenario names through CRASHFS_SCENARIO_DIR is installed
for ref in $(grep -oh 'CRASHFS_SCENARIO_DIR/[A-Za-z0-9_./-]*' scenarios/*.ini |
	sort -u); do
	[ -f "$u/share/crashfs/scenarios/${ref#CRASHFS_SCENARIO_DIR/}" ] ||
		bad "a scenario runs \$$ref, which is not installed"
done
if [ -n "$(find "$dest" -path "$u" -prune -o -print | grep -v "^$dest\$")" ]; then
	bad "files outside the prefix: $(find "$dest" -path "$u" -prune -o -print)"
fi
"$u/bin/crashfs" --version | grep -q '^crashfs ' ||
	bad "the installed binary does not run"

# bash completion, from the installed file, with the installed binary
if command -v bash >/dev/null; then
	got=$(PATH="$u/bin:$PATH" bash -c '
		. "$1"
		c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _crashfs
		      echo "${COMPREPLY[*]}"; }
		c crashfs ch; c crashfs check --ato; c crashfs ctl /mnt powerc
		c crashfs check --model e; c crashfs ctl /mnt uns
		c crashfs ctl /mnt powercut --te; c crashfs check --points s
		c crashfs check --col; c crashfs mount --fifo-' sh \
		"$u/share/bash-completion/completions/crashfs" 2>&1)
	want=$(printf '%s\n' check --atomic powercut ext4 unsynced --tear \
		sync --color --fifo-completed)
	[ "$got" = "$want" ] ||
		bad "completion gives $(echo $got), want $(echo $want)"
fi

# the installed scenarios run with the installed binary, from elsewhere
fuse_suite=
. tests/scenarios/need-fuse.sh
if [ -z "$fuse_problem" ]; then
	for s in atomic-write c-replace; do
		out=$(cd / && "$u/bin/crashfs" check --jobs 1 \
			"$u/share/crashfs/scenarios/$s.ini" 2>&1) ||
			bad "installed scenario $s: $(printf '%s\n' "$out" | tail -n 5)"
	done
else
	echo "skipped the installed scenarios: $fuse_problem"
fi

make -s uninstall DESTDIR="$dest" prefix=/usr >/dev/null 2>&1 ||
	bad "make uninstall failed"
left=$(find "$dest" ! -type d)
[ -z "$left" ] || bad "make uninstall left: $left"
left=$(find "$dest" -type d -name '*crashfs*')
[ -z "$left" ] || bad "make uninstall left directories: $left"
[ "$fail" = 0 ] && echo "ok    install: layout, installed scenarios, completion, uninstall"
exit $fail
