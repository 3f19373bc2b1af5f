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

mkdir elsewhere
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
	--states visible --check-timeout 1 \
	--check 'test -e f || exit 0; sleep 30' -- sh -c 'echo x > f'
case_ "checker hanging on the initial state" 2 \
	"fails on the initial state.*did not finish in 1 s" -- \
	--states visible --check-timeout 1 --check 'sleep 30' -- \
	sh -c 'echo x > f'
case_ "workload writing elsewhere" 2 "changed nothing under the mount" -- \
	--atomic out.txt -- sh -c "echo hi > $work/elsewhere/out.txt"
case_ "no command nor scenario" 2 "nothing to run: give '-- CMD ARGS...'" -- \
	--atomic x
case_ "option after a scenario file" 2 "max-states wants a positive number" -- \
	model.ini --max-states 0
case_ "command-form option after a scenario file" 2 \
	"belong to the '-- CMD' form" -- model.ini --model ext4
case_ "option value missing before --" 2 \
	"option '--durable' needs a value, before the '--'" -- --durable -- true
case_ "--expect message" 2 "crashfs check: --expect: unknown check 'foo'" -- \
	--expect 'fail: foo' --atomic f -- true
case_ "--run of a missing run" 2 "cannot open run 'nowhere'" -- \
	--run nowhere --atomic f
case_ "checker server that breaks the protocol" 2 \
	"checker server 'echo ready; read -r l; echo hello' said 'hello' where" \
	-- --check-server 'echo ready; read -r l; echo hello' -- \
	sh -c 'echo x > f'
case_ "checker server that prints a greeting" 2 "said 'hi' before 'ready'" -- \
	--check-server 'echo hi; echo ready; cat >/dev/null' -- \
	sh -c 'echo x > f'
case_ "checker server that dies at start" 2 \
	"exited with status 127 before it said 'ready'" -- \
	--check-server '/nonexistent/server' -- sh -c 'echo x > f'
case_ "checker server that keeps the state open" 2 \
	"still has 'state/f' of state [a-z0-9.-]* open after answering" -- \
	--setup 'echo x > f' --states visible --check-server \
	'echo ready; while read -r st rest; do exec 3<"$st/f"; echo ok; done' \
	-- sh -c 'echo y > g'
case_ "checker server hanging on a state" 1 \
	"checker server timed out after 1 s on this state" -- \
	--states visible --check-timeout 1 --check-server \
	'echo ready; while read -r st rest; do test -e "$st/f" && sleep 30; echo ok; done' \
	-- sh -c 'echo x > f'
case_ "--check and --check-server" 2 "do not mix" -- \
	--check true --check-server true -- true
case_ "failing setup" 2 "setup command 'exit 4' exited with status 4" -- \
	--setup 'exit 4' --atomic f -- true
case_ "--from not a directory" 2 "is not a directory" -- \
	--from /nonexistent --atomic f -- true
# a run directory that is not ours: refused, and not "kept" either
mkdir -p full/initial
out=$(timeout 60 "$crashfs" check --keep full --atomic f -- \
	sh -c 'echo x > f' 2>&1)
if [ $? = 2 ] && printf '%s' "$out" | grep -q "is not empty" &&
   ! printf '%s' "$out" | grep -q "run kept in"; then
	echo "ok    --keep on a directory that is not empty"
else
	echo "FAIL  --keep on a directory that is not empty"
	printf '%s\n' "$out" | sed 's/^/      /'
	fail=1
fi
printf '[a\033]0;title\007]\nrun = true\natomic = f\n' >control.ini
case_ "control characters in a name" 2 "bad section name 'a\\\\x1b" -- \
	control.ini
# Scenario files that never end, or are not files: each refused or cut
# off with a message, at once, instead of being read forever.
head -c 1100000 /dev/zero | tr '\0' '#' | fold -w 100 >huge.ini
{ echo 'run = true'; echo 'atomc = f'; head -c 200000 /dev/urandom; } \
	>errors.ini
case_ "a device as scenario" 2 "'/dev/urandom' is not a regular file or a pipe" \
	-- /dev/urandom
case_ "a directory as scenario" 2 "'.' is not a regular file or a pipe" -- .
case_ "scenario over 1 MiB" 2 "is longer than 1048576 bytes" -- huge.ini
case_ "stops at the first error" 2 "errors.ini:2: unknown key 'atomc'" -- \
	errors.ini
# a pipe that never ends: read up to the limit, then refused
out=$(timeout 60 sh -c "yes '# comment' | '$crashfs' check /dev/stdin" 2>&1)
if [ $? = 2 ] && printf '%s' "$out" | grep -q "longer than 1048576"; then
	echo "ok    endless pipe as scenario"
else
	echo "FAIL  endless pipe as scenario: $out"
	fail=1
fi
# a fifo nobody writes: crashfs waits for a writer, and SIGTERM ends it
mkfifo fifo.ini
start=$(date +%s)
out=$(timeout --preserve-status -s TERM 2 "$crashfs" check fifo.ini 2>&1)
got=$? took=$(($(date +%s) - start))
if [ "$got" = 143 ] && [ "$took" -lt 10 ] &&
	printf '%s' "$out" | grep -q interrupted; then
	echo "ok    SIGTERM while waiting for a fifo"
else
	echo "FAIL  SIGTERM while waiting for a fifo: exit $got after $took s: $out"
	fail=1
fi
# SIGTERM while the workload and while an external checker run
for what in workload checker; do
	if [ $what = workload ]; then
		set -- --atomic f -- sleep 60
	else
		set -- --states visible --check 'sleep 60' -- \
			sh -c 'echo x > f'
	fi
	start=$(date +%s)
	out=$(timeout --preserve-status -s TERM 3 "$crashfs" check "$@" 2>&1)
	got=$? took=$(($(date +%s) - start))
	leftover=$(awk -v w="$work" 'index($2, w) == 1' /proc/mounts)
	# 128 + 15: killed by SIGTERM, after cleaning up
	if [ "$got" = 143 ] && [ "$took" -lt 15 ] && [ -z "$leftover" ] &&
		printf '%s' "$out" | grep -q interrupted &&
		[ -z "$(ls "$TMPDIR")" ]; then
		echo "ok    SIGTERM while the $what runs"
	else
		echo "FAIL  SIGTERM while the $what runs: exit $got after $took s"
		printf '%s\n' "$out" | sed 's/^/      /'
		fail=1
	fi
done
if [ -n "$(ls -A "$work" | grep -v -e '^tmp$' -e '^elsewhere$' -e '^full$' -e '\.ini$')" ]; then
	echo "FAIL  files written outside the run directory:"
	ls -A "$work"
	fail=1
fi
exit $fail
