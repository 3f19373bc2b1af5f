# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/suite-checker.sh: checker servers against per-state checkers
# (issue 11).  Sourced by bench/run.sh; see docs/bench.md.
#
# 1. SQLite with CKR_TX one-row transactions, journal_mode DELETE and WAL,
#    synchronous=FULL, the shipped checker, --jobs 2:
#      crashfs check --keep K sqlite-MODE.ini     the scenario as shipped
#          (check-server = scenarios/sqlite/check-server.py): record,
#          explore, check, explain, mount to report
#      crashfs check --run K/... --check 'sh check.sh test.db'
#      crashfs check --run K/... --check-server 'python3 check-server.py'
#          the first CKR_CAP states per kind of the same recorded run,
#          per-state (the sqlite3 CLI) and server, for their ratio (all
#          of them per state would take many minutes)
# 2. A trivial Python checker (exit 0 / answer ok) over the first
#    CKR_TRIV_CAP states per kind of the WAL run, --jobs 2, BENCH_REPEAT
#    rounds, the three contenders interleaved in each round:
#      --check true                     a process per state, no work
#      --check 'python3 ok.py'          a Python process per state
#      --check-server 'python3 srv.py'  one Python process per job
#    states/s = distinct states checked / wall time of the command.
#
# 3. The same SQLite runs checked again (crashfs check --run K, the
#    server), BENCH_REPEAT rounds, interleaved: the states written in the
#    work directory (--state-dir $BENCH_WORK) against --state-dir
#    /dev/shm (when it is a tmpfs; the runs of 1. use it too).
# 4. git: CKR_GIT_FILES files written, `git add -A`, `git commit`, a mark;
#    checker `git fsck --full` (and, after the mark, HEAD holds every
#    file), --jobs 2, the whole crashfs check, once (it takes long); then
#    the same run with --points sync, BENCH_REPEAT times.  States
#    checked and left out as repeats, causes, the cause search's checker
#    runs and its tries whose verdict was known.
#
# CPU rows are the user + system time of crashfs and every process it
# waited for (its checkers), per state: on a shared machine wall times
# move with the load, CPU time much less.  Python is /usr/bin/python3
# when it exists (a wrapper such as pyenv's shim costs seconds per start,
# which would flatter the servers).

ckr_params() {
	CKR_TX=64
	CKR_CAP=400
	CKR_TRIV_CAP=200
	if [[ $BENCH_QUICK == 1 ]]; then
		CKR_TX=16
		CKR_CAP=150
		CKR_TRIV_CAP=100
	fi
	CKR_GIT_FILES=200
	[[ $BENCH_QUICK == 1 ]] && CKR_GIT_FILES=50
	CKR_TIMEOUT=1800
	CKR_PY=python3
	[[ -x /usr/bin/python3 ]] && CKR_PY=/usr/bin/python3
}

# Write the SQLite scenario for journal mode $1 to $2.
ckr_ini() {
	local dir=$BENCH_ROOT/scenarios/sqlite
	cat >"$2" <<EOF
# Written by bench/suite-checker.sh: scenarios/sqlite-$1-full.ini with
# $CKR_TX transactions.
description = bench: SQLite $1, synchronous=FULL, $CKR_TX transactions
setup = sh "$dir/setup.sh" test.db $1
run = sh "$dir/workload.sh" test.db $1 full $CKR_TX
check-server = $CKR_PY "$dir/check-server.py" test.db
models = posix
EOF
}

# Run `crashfs check` with the arguments after $1 (a row id); its JSON
# report goes to $BENCH_WORK/ckr.json.  Records the wall time in row $1
# and leaves "wall cpu checked dominated" in $BENCH_WORK/ckr.val, or
# records a failure and leaves nothing.
ckr_once() {
	local row=$1 m=$BENCH_WORK/measure js=$BENCH_WORK/ckr.json
	local secs cpu rc=0
	shift
	rm -f "$js" "$BENCH_WORK/ckr.val"
	bench_measure "$m" timeout -k 10 "$CKR_TIMEOUT" "$CRASHFS" check \
		--report json -o "$js" "$@" >/dev/null \
		2>"$BENCH_WORK/err.txt" || rc=$?
	# 1: the check found a violation (sqlite-delete-full does), not an
	# error
	if ((rc > 1)) || [[ ! -s $js ]]; then
		bench_fail "$row" crashfs FAILED \
			"crashfs check $* exited $rc: $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		return 0
	fi
	secs=$(sed -n 1p "$m" | cut -d' ' -f1)
	cpu=$(sed -n 2p "$m")
	python3 - "$js" "$secs" "$cpu" >"$BENCH_WORK/ckr.val" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
print(sys.argv[2], sys.argv[3],
      sum(c["checked"] for c in s["counts"].values()),
      sum(c.get("dominated", 0) for c in s["counts"].values()))
EOF
}

# Rows $1.s (wall), $1.rate (states/s) and $1.cpu (ms of CPU per state)
# from $BENCH_WORK/ckr.val; prints the rate.
ckr_rows() {
	local wall cpu n
	[[ -s $BENCH_WORK/ckr.val ]] || return 0
	read -r wall cpu n _ <"$BENCH_WORK/ckr.val"
	bench_result "$1.s" crashfs "$wall"
	bench_result "$1.rate" crashfs "$(awk -v n="$n" -v w="$wall" \
		'BEGIN { print n / w }')"
	bench_result "$1.cpu" crashfs "$(awk -v n="$n" -v c="$cpu" \
		'BEGIN { print c * 1000 / n }')"
	bench_log "  $1: $n states, $wall s wall, $cpu s CPU"
	awk -v n="$n" -v w="$wall" 'BEGIN { print n / w }'
}

# The git scenario's checker: `git fsck --full`, and once the mark is
# made, HEAD lists every one of the $CKR_GIT_FILES files.
ckr_git_check() {
	printf '%s' "sh -c 'git -C repo fsck --full --no-progress >/dev/null 2>&1 || exit 1; grep -q committed \"\$CRASHFS_MARKS\" || exit 0; test \"\$(git -C repo ls-tree -r HEAD | wc -l)\" -ge $CKR_GIT_FILES'"
}

# Write the git scenario ($CKR_GIT_FILES files) to $1.
ckr_git_ini() {
	local n=$CKR_GIT_FILES
	cat >"$1" <<EOF
# Written by bench/suite-checker.sh: a git commit of $n new files.
description = bench: git add and commit of $n files, git fsck as the checker
setup = git init -q repo && git -C repo config user.email bench@example.org && git -C repo config user.name bench && git -C repo commit -q --allow-empty -m init
run = sh -c 'i=1; while [ \$i -le $n ]; do echo "file \$i" > repo/f\$i.txt; i=\$((i + 1)); done; git -C repo add -A && git -C repo commit -q -m files && crashfs mark committed'
check = $(ckr_git_check)
models = posix
EOF
}

# Rows $1.states, $1.dominated, $1.causes, $1.runs (checker runs of the
# cause search) and $1.known (its tries whose verdict was known: the same
# tree and context checked before) from $BENCH_WORK/ckr.json.
ckr_git_counts() {
	local js=$BENCH_WORK/ckr.json row v
	[[ -s $BENCH_WORK/ckr.val && -s $js ]] || return 0
	python3 - "$js" >"$BENCH_WORK/ckr.git" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
c = s["counts"].values()
print("states", sum(k["checked"] for k in c))
print("dominated", sum(k["dominated"] for k in c))
print("causes", len(s["causes"]))
print("runs", s["cause_runs"])
print("known", s["cause_known"])
EOF
	while read -r row v; do
		bench_result "$1.$row" crashfs "$v"
	done <"$BENCH_WORK/ckr.git"
}

# Rows $1 (wall) and $2 (CPU seconds) from $BENCH_WORK/ckr.val.
ckr_secs() {
	local wall cpu
	[[ -s $BENCH_WORK/ckr.val ]] || return 0
	read -r wall cpu _ <"$BENCH_WORK/ckr.val"
	bench_result "$1" crashfs "$wall"
	bench_result "$2" crashfs "$cpu"
}

ckr_declare() {
	local mode
	bench_section "checker servers (issue 11)"
	for mode in delete wal; do
		bench_row "ckr.$mode.s" \
			"sqlite $mode x$CKR_TX, scenario as shipped (server), wall" s \
			"crashfs<15"
		bench_row "ckr.$mode.cpu" "  CPU (crashfs and its checkers)" s -
		bench_row "ckr.$mode.states" "  states checked" states -
		bench_row "ckr.$mode.dominated" \
			"  states left out (repeat an earlier point)" states -
		bench_row "ckr.$mode.per.rate" \
			"  same run, $CKR_CAP/kind: per-state check.sh" "states/s" -
		bench_row "ckr.$mode.per.cpu" "  per-state: CPU per state" ms -
		bench_row "ckr.$mode.srv.rate" \
			"  same run, $CKR_CAP/kind: server check-server.py" "states/s" -
		bench_row "ckr.$mode.srv.cpu" "  server: CPU per state" ms -
		bench_row "ckr.$mode.ratio" "  server / per-state states/s" x -
	done
	for mode in delete wal; do
		bench_row "ckr.$mode.disk" \
			"sqlite $mode: check --run, states on the work disk, wall" s -
		bench_row "ckr.$mode.disk.cpu" "  CPU" s -
		bench_row "ckr.$mode.shm" \
			"sqlite $mode: check --run --state-dir /dev/shm, wall" s -
		bench_row "ckr.$mode.shm.cpu" "  CPU" s -
	done
	bench_row ckr.git.s "git commit x$CKR_GIT_FILES files, git fsck, wall" s \
		"crashfs<30"
	bench_row ckr.git.cpu "  CPU" s -
	for mode in git git.sync; do
		if [[ $mode == git.sync ]]; then
			bench_row ckr.git.sync.s \
				"  the same run, --points sync, wall" s -
			bench_row ckr.git.sync.cpu "  CPU" s -
		fi
		bench_row "ckr.$mode.states" "  states checked" states -
		bench_row "ckr.$mode.dominated" "  left out as repeats" states -
		bench_row "ckr.$mode.causes" "  causes found" causes -
		bench_row "ckr.$mode.runs" "  cause search: checker runs" runs -
		bench_row "ckr.$mode.known" \
			"  cause search: tries known" runs -
	done
	bench_row ckr.true.rate "trivial, --check true, states/s" "states/s" -
	bench_row ckr.true.cpu "  CPU per state" ms -
	bench_row ckr.per.rate "trivial Python, per state, states/s" "states/s" -
	bench_row ckr.per.cpu "  CPU per state" ms -
	bench_row ckr.srv.rate "trivial Python, server, states/s" "states/s" -
	bench_row ckr.srv.cpu "  CPU per state" ms -
	bench_row ckr.srv_per "trivial Python: server / per state" x "ratio>=10"
	bench_row ckr.srv_true "trivial: Python server / --check true" x -
}

# git: the whole check with the default options once (far slower than
# the target: docs/bench.md), then the same run with --points sync,
# BENCH_REPEAT times.
ckr_git() {
	local rep ini=$BENCH_WORK/git.ini run=$BENCH_WORK/keep-git/git
	ckr_git_ini "$ini"
	bench_log "checker: git commit of $CKR_GIT_FILES files"
	ckr_once ckr.git.s --jobs 2 --keep "$BENCH_WORK/keep-git" "$ini"
	ckr_secs ckr.git.s ckr.git.cpu
	ckr_git_counts ckr.git
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		[[ -d $run ]] || break
		bench_log "checker: git, the same run, --points sync ($rep)"
		ckr_once ckr.git.sync.s --jobs 2 --run "$run" --points sync \
			--check "$(ckr_git_check)"
		ckr_secs ckr.git.sync.s ckr.git.sync.cpu
		ckr_git_counts ckr.git.sync
	done
}

suite_checker() {
	local mode ini keep run rep a b t per srv shm dir=$BENCH_ROOT/scenarios/sqlite
	local ok=$BENCH_WORK/ok.py server=$BENCH_WORK/srv.py
	ckr_params
	# the states on a tmpfs when there is one (docs/check.md, "Where the
	# states are written"): writing them to a disk costs more than
	# checking them
	shm=
	[[ $(findmnt -n -o FSTYPE -T /dev/shm 2>/dev/null) == tmpfs ]] &&
		shm="--state-dir /dev/shm"
	ckr_declare
	bench_log "checker: python for the checkers: $CKR_PY"
	printf 'pass\n' >"$ok"
	cat >"$server" <<'EOF'
import sys
print("ready", flush=True)
for line in sys.stdin:
    print("ok", flush=True)
EOF
	for mode in delete wal; do
		ini=$BENCH_WORK/sqlite-$mode.ini
		keep=$BENCH_WORK/keep-$mode
		ckr_ini "$mode" "$ini"
		bench_log "checker: sqlite $mode x$CKR_TX, as shipped, --jobs 2 $shm"
		# shellcheck disable=SC2086 # $shm: no option or two words
		ckr_once "ckr.$mode.s" --jobs 2 $shm --keep "$keep" "$ini"
		if [[ -s $BENCH_WORK/ckr.val ]]; then
			read -r a t b per <"$BENCH_WORK/ckr.val"
			bench_result "ckr.$mode.s" crashfs "$a"
			bench_result "ckr.$mode.cpu" crashfs "$t"
			bench_result "ckr.$mode.states" crashfs "$b"
			bench_result "ckr.$mode.dominated" crashfs "$per"
		fi
		run=$keep/sqlite-$mode
		[[ -d $run ]] || continue
		bench_log "checker: sqlite $mode, the same run, per state"
		ckr_once "ckr.$mode.per.s" --jobs 2 --run "$run" \
			--max-states "$CKR_CAP" --check "sh $dir/check.sh test.db"
		ckr_rows "ckr.$mode.per" >/dev/null
		a=$(cut -d' ' -f1 "$BENCH_WORK/ckr.val" 2>/dev/null)
		bench_log "checker: sqlite $mode, the same run, server"
		ckr_once "ckr.$mode.srv.s" --jobs 2 --run "$run" \
			--max-states "$CKR_CAP" \
			--check-server "$CKR_PY $dir/check-server.py test.db"
		ckr_rows "ckr.$mode.srv" >/dev/null
		b=$(cut -d' ' -f1 "$BENCH_WORK/ckr.val" 2>/dev/null)
		if [[ -n $a && -n $b ]]; then	# the same states: wall ratio
			bench_result "ckr.$mode.ratio" crashfs \
				"$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"
		fi
	done

	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		for mode in delete wal; do
			run=$BENCH_WORK/keep-$mode/sqlite-$mode
			[[ -d $run ]] || continue
			# on the work directory's disk
			bench_log "checker: sqlite $mode, --run, states on disk ($rep)"
			ckr_once "ckr.$mode.disk" --jobs 2 --run "$run" \
				--state-dir "$BENCH_WORK" \
				--check-server "$CKR_PY $dir/check-server.py test.db"
			ckr_secs "ckr.$mode.disk" "ckr.$mode.disk.cpu"
			[[ $(findmnt -n -o FSTYPE -T /dev/shm 2>/dev/null) == tmpfs ]] ||
				continue
			bench_log "checker: sqlite $mode, --run, --state-dir /dev/shm ($rep)"
			ckr_once "ckr.$mode.shm" --jobs 2 --run "$run" \
				--state-dir /dev/shm --check-server \
				"$CKR_PY $dir/check-server.py test.db"
			ckr_secs "ckr.$mode.shm" "ckr.$mode.shm.cpu"
		done
	done
	ckr_git

	run=$BENCH_WORK/keep-wal/sqlite-wal
	if [[ ! -d $run ]]; then
		bench_fail ckr.srv_per crashfs FAILED "no recorded run to check"
		return 0
	fi
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "checker: trivial checkers, round $rep"
		ckr_once ckr.true.s --jobs 2 --run "$run" \
			--max-states "$CKR_TRIV_CAP" --check true
		t=$(ckr_rows ckr.true | tail -1)
		ckr_once ckr.per.s --jobs 2 --run "$run" \
			--max-states "$CKR_TRIV_CAP" --check "$CKR_PY $ok"
		per=$(ckr_rows ckr.per | tail -1)
		ckr_once ckr.srv.s --jobs 2 --run "$run" \
			--max-states "$CKR_TRIV_CAP" --check-server "$CKR_PY $server"
		srv=$(ckr_rows ckr.srv | tail -1)
		if [[ -n $per && -n $srv ]]; then
			bench_result ckr.srv_per crashfs \
				"$(awk -v a="$srv" -v b="$per" 'BEGIN { print a / b }')"
		fi
		if [[ -n $t && -n $srv ]]; then
			bench_result ckr.srv_true crashfs \
				"$(awk -v a="$srv" -v b="$t" 'BEGIN { print a / b }')"
		fi
	done
	return 0
}
