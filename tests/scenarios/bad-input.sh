#!/bin/sh
# SPDX-License-Identifier: MIT
# crashfs check on bad input: each case must give its exit status and a
# clear message, leave no mount and no run directory behind, and write
# nothing outside its run directory.
#	tests/scenarios/bad-input.sh [CRASHFS]
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
crashfs=${1:-$here/build/crashfs}
work=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-bad.XXXXXX")
export TMPDIR=$work/tmp
mkdir "$TMPDIR"
cd "$work" || exit 2
fail=0

cleanup() {
	for m in $(awk -v w="$work" 'index($2, w) == 1 { print $2 }' /proc/mounts); do
		fusermount3 -u -z "$m"
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# case NAME STATUS PATTERN -- crashfs check ARGS...
case_() {
	name=$1 want=$2 pattern=$3
	shift 4
	out=$(timeout 60 "$crashfs" check "$@" 2>&1)
	got=$?
	leftover=$(awk -v w="$work" 'index($2, w) == 1' /proc/mounts)
	runs=$(ls "$TMPDIR")
	if [ "$got" != "$want" ] || ! printf '%s' "$out" | grep -q -- "$pattern" ||
	   [ -n "$leftover" ] || [ -n "$runs" ]; then
		echo "FAIL  $name: exit $got (want $want)"
		[ -n "$leftover" ] && echo "      mounts left: $leftover"
		[ -n "$runs" ] && echo "      left in TMPDIR: $runs"
		printf '%s\n' "$out" | sed 's/^/      /'
		fail=1
	else
		echo "ok    $name"
	fi
}

printf '[a]\nrun = true\natomc = f\n' >unknown.ini
printf 'run = true\nmodels = posix zfs\natomic = f\n' >model.ini
case_ "missing workload binary" 2 "cannot run '/nonexistent/prog'" -- \
	--atomic f -- /nonexistent/prog
case_ "failing workload" 2 "the workload exited with status 3" -- \
	--atomic f -- sh -c 'exit 3'
case_ "unknown scenario key" 2 "unknown.ini:3: unknown key 'atomc'" -- \
	unknown.ini
case_ "unknown model" 2 "unknown model 'zfs'" -- model.ini
case_ "path outside the state" 2 "outside the state" -- \
	--atomic ../etc/passwd -- true
case_ "nothing to check" 2 "nothing to check" -- -- true
case_ "unknown option" 2 "see 'crashfs check --help'" -- --frobnicate -- true
case_ "workload timeout" 2 "did not finish in 1 s" -- \
	--timeout 1 --atomic f -- sleep 30
case_ "daemon outliving the workload" 0 "verdict: pass" -- --states visible \
	--atomic f -- sh -c 'printf x > f.tmp; mv f.tmp f; (sleep 60 <f &)'
case_ "hanging checker" 1 "the checker did not finish within 1 s" -- \
	--states visible --check-timeout 1 --check 'sleep 30' -- true
case_ "checker server that breaks the protocol" 2 \
	"checker server 'echo ready; read -r l; echo hello' said 'hello' where" \
	-- --check-server 'echo ready; read -r l; echo hello' -- true
case_ "checker server that prints a greeting" 2 "said 'hi' before 'ready'" -- \
	--check-server 'echo hi; echo ready; cat >/dev/null' -- true
case_ "checker server that dies at start" 2 \
	"exited with status 127 before it said 'ready'" -- \
	--check-server '/nonexistent/server' -- true
case_ "checker server that keeps the state open" 2 \
	"still has 'state/f' of state k0.visible open after answering" -- \
	--setup 'echo x > f' --states visible --check-server \
	'echo ready; while read -r st rest; do exec 3<"$st/f"; echo ok; done' \
	-- true
case_ "checker server hanging on a state" 1 \
	"checker server timed out after 1 s on this state" -- \
	--states visible --check-timeout 1 \
	--check-server 'echo ready; read -r l; sleep 30' -- true
case_ "--check and --check-server" 2 "do not mix" -- \
	--check true --check-server true -- true
case_ "failing setup" 2 "setup command 'exit 4' exited with status 4" -- \
	--setup 'exit 4' --atomic f -- true
case_ "--from not a directory" 2 "is not a directory" -- \
	--from /nonexistent --atomic f -- true
if [ -n "$(ls -A "$work" | grep -v -e '^tmp$' -e '\.ini$')" ]; then
	echo "FAIL  files written outside the run directory:"
	ls -A "$work"
	fail=1
fi
exit $fail
