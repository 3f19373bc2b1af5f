# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/suite-check.sh: wall time of the whole of `crashfs check` (issue
# 4, "Performance").  Sourced by bench/run.sh; see docs/bench.md.
#
#   crashfs check scenarios/atomic-write.ini       BENCH_REPEAT times
#   crashfs check bench-sqlite.ini --jobs 1        once
#   crashfs check bench-sqlite.ini --jobs 2        once
#   crashfs check --run BIG --durable big, posix and ext4, once (~1,000,000
#       states: the true count, peak RSS, states/s), and capped at 1/8,
#       1/4 and 1/2 of the posix states, BENCH_REPEAT rounds interleaved:
#       peak RSS must not grow with the number of states
#   crashfs check --run MARKS --durable log --atomic f0 --states visible
#       --max-states 1 --allow-partial, BENCH_REPEAT times: the cost of
#       computing each checked path's version at every mark (MARKS:
#       bench/gentrace.c, CHK_MARK_OPS ops, a mark and a 128-byte append
#       to log per 13 ops)
#
# bench-sqlite.ini is written into the work directory: the shipped
# scenarios/sqlite-wal-full.ini (journal_mode=wal, synchronous=full, the
# integrity checker scenarios/sqlite/check.sh) with CHK_TX committed
# transactions instead of 3.  Each is timed from the start of the command
# (setup, mount, workload, unmount, exploration, checks) to its report.

chk_params() {
	CHK_TX=100
	CHK_WRITES=10000
	[[ $BENCH_QUICK == 1 ]] && CHK_TX=20 && CHK_WRITES=2000
	CHK_MARK_OPS=100000
	[[ $BENCH_QUICK == 1 ]] && CHK_MARK_OPS=30000
	CHK_TIMEOUT=900
}

# The versions of --durable/--atomic paths at every mark of a long run.
chk_marks() {
	local run=$BENCH_WORK/chk-marks m=$BENCH_WORK/measure rep secs cpu
	bench_row chk.marks "versions at $CHK_MARK_OPS-op run's marks, wall" s -
	bench_row chk.marks.cpu "  CPU (user + system)" s -
	rm -rf "$run"
	if ! "$BENCH_BIN/gentrace" "$run" "$CHK_MARK_OPS" >/dev/null \
		2>"$BENCH_WORK/err.txt"; then
		bench_fail chk.marks crashfs FAILED "gentrace: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		return 0
	fi
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "check: versions at the marks of $CHK_MARK_OPS ops ($rep)"
		if ! bench_measure "$m" timeout -k 10 "$CHK_TIMEOUT" \
			"$CRASHFS" check -q --run "$run" --durable log \
			--atomic f0 --states visible --max-states 1 \
			--allow-partial >/dev/null 2>"$BENCH_WORK/err.txt"; then
			bench_fail chk.marks crashfs FAILED "$(tail -c 300 "$BENCH_WORK/err.txt")"
			continue
		fi
		{ read -r secs _ _; read -r cpu; } <"$m"
		bench_result chk.marks crashfs "$secs"
		bench_result chk.marks.cpu crashfs "$cpu"
	done
}

# Record BIG: $CHK_WRITES unsynced 4 KiB writes to one file, then a mark.
chk_big_record() {
	local run=$1
	"$CRASHFS" check -q --keep "$run" --durable big --states visible \
		--max-states 1 --allow-partial -- sh -c \
		"dd if=/dev/zero of=big bs=4k count=$CHK_WRITES status=none &&
		 crashfs mark saved" >/dev/null 2>"$BENCH_WORK/err.txt"
}

# One check of BIG with options $3...; "SECONDS KIB STATES" to $2.
chk_big_once() {
	local run=$1 out=$2 m=$BENCH_WORK/measure txt=$BENCH_WORK/big.txt
	local secs kib st rc=0
	shift 2
	bench_measure "$m" timeout -k 10 "$CHK_TIMEOUT" "$CRASHFS" check \
		--run "$run" --durable big "$@" >"$txt" \
		2>"$BENCH_WORK/err.txt" || rc=$?
	# 1: --durable fails (nothing is synced), as it must; 0: a capped
	# check stopped before the failing states at the end
	((rc <= 1)) || return 1
	read -r secs kib _ <"$m"
	# "checked 8002 visible, 399689 posix crash states in ..."
	st=$(sed -n 's/.*; checked \(.*\) states in .*/\1/p' "$txt" |
		tr -c '0-9\n' ' ' | awk '{ for (i = 1; i <= NF; i++) s += $i }
			END { print s + 0 }')
	echo "$secs $kib $st" >"$out"
}

chk_big() {
	local run=$BENCH_WORK/big-run v=$BENCH_WORK/big.val rep cap
	local secs kib st posix
	bench_row chk.big "check of ${CHK_WRITES} unsynced writes, posix+ext4: states" states -
	bench_row chk.big.rss "  peak RSS" MiB -
	bench_row chk.big.rate "  states checked per second" states/s -
	for cap in 8 4 2; do
		bench_row "chk.cap$cap.rss" "  capped at 1/$cap of the posix states: peak RSS" MiB -
	done
	bench_log "check: recording $CHK_WRITES unsynced writes"
	if ! chk_big_record "$run"; then
		bench_fail chk.big crashfs FAILED "recording: $(tail -c 300 "$BENCH_WORK/err.txt")"
		return 0
	fi
	bench_log "check: all states of $CHK_WRITES writes, posix and ext4"
	if ! chk_big_once "$run" "$v" --model posix --model ext4; then
		bench_fail chk.big crashfs FAILED "$(tail -c 300 "$BENCH_WORK/err.txt")"
		return 0
	fi
	read -r secs kib st <"$v"
	bench_result chk.big crashfs "$st"
	bench_result chk.big.rss crashfs "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
	bench_result chk.big.rate crashfs "$(awk -v s="$st" -v t="$secs" 'BEGIN { print s / t }')"
	chk_big_once "$run" "$v" --model posix --states crash || return 0
	read -r _ _ posix <"$v"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		for cap in 8 4 2; do
			bench_log "check: capped at 1/$cap of $posix posix states ($rep)"
			chk_big_once "$run" "$v" --model posix --states crash \
				--max-states $((posix / cap)) --allow-partial || continue
			read -r _ kib _ <"$v"
			bench_result "chk.cap$cap.rss" crashfs \
				"$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
		done
	done
}

# Write the SQLite scenario with $1 transactions to $2.
chk_sqlite_ini() {
	local dir=$BENCH_ROOT/scenarios/sqlite
	cat >"$2" <<EOF
# Written by bench/suite-check.sh: scenarios/sqlite-wal-full.ini with $1
# transactions.
description = bench: SQLite WAL, synchronous=FULL, $1 transactions
setup = sh "$dir/setup.sh" test.db wal
run = sh "$dir/workload.sh" test.db wal full $1
check = sh "$dir/check.sh" test.db
models = posix
expect = pass
EOF
}

# One `crashfs check` of the scenario $2 with options after; figures go
# to rows with prefix $1.  Leaves "seconds" in $BENCH_WORK/chk.secs.
chk_once() {
	local row=$1 ini=$2 m=$BENCH_WORK/measure js=$BENCH_WORK/chk.json
	local secs kib rc=0
	shift 2
	rm -f "$js" "$BENCH_WORK/chk.secs"
	bench_measure "$m" timeout -k 10 "$CHK_TIMEOUT" "$CRASHFS" check \
		--report json -o "$js" "$@" "$ini" >/dev/null \
		2>"$BENCH_WORK/err.txt" || rc=$?
	if ((rc != 0)) || [[ ! -s $js ]]; then
		bench_fail "$row" crashfs FAILED \
			"crashfs check $* $(basename "$ini") exited $rc: $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		return 0
	fi
	read -r secs kib _ <"$m"
	bench_result "$row" crashfs "$secs"
	echo "$secs" >"$BENCH_WORK/chk.secs"
	python3 - "$js" >"$BENCH_WORK/val" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
c = s["counts"].values()
print(sum(k["checked"] for k in c), sum(k["generated"] for k in c),
      s["workload_seconds"], s["ops"])
EOF
	read -r checked generated wl ops <"$BENCH_WORK/val"
	bench_log "  $row: $ops ops, workload $wl s, $checked of $generated states checked"
	bench_result "$row.checked" crashfs "$checked"
	bench_result "$row.generated" crashfs "$generated"
	bench_result "$row.workload" crashfs "$wl"
	bench_result "$row.ops" crashfs "$ops"
}

suite_check() {
	local ini=$BENCH_WORK/bench-sqlite.ini rep j1="" j2=""
	chk_params
	chk_sqlite_ini "$CHK_TX" "$ini"
	bench_section "crashfs check, mount to report (issue 4)"
	bench_row chk.aw "atomic-write.ini, wall" s "crashfs<1"
	bench_row chk.aw.ops "atomic-write.ini: ops recorded" ops -
	bench_row chk.aw.generated "atomic-write.ini: states generated" \
		states -
	bench_row chk.aw.checked "atomic-write.ini: states checked" states -
	for j in 2 1; do
		bench_row "chk.sq$j" "sqlite wal x$CHK_TX tx, --jobs $j, wall" s \
			"$([[ $j == 2 ]] && echo "crashfs<60" || echo -)"
		bench_row "chk.sq$j.workload" "  of which the workload" s -
		bench_row "chk.sq$j.ops" "  ops recorded" ops -
		bench_row "chk.sq$j.generated" "  states generated" states -
		bench_row "chk.sq$j.checked" "  states checked" states -
	done
	bench_row chk.scale "sqlite x$CHK_TX: jobs 1 / jobs 2 wall" x -
	chk_big
	chk_marks

	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "check: atomic-write.ini ($rep)"
		chk_once chk.aw "$BENCH_ROOT/scenarios/atomic-write.ini"
	done
	bench_log "check: sqlite x$CHK_TX, --jobs 2"
	chk_once chk.sq2 "$ini" --jobs 2
	[[ -s $BENCH_WORK/chk.secs ]] && j2=$(cat "$BENCH_WORK/chk.secs")
	bench_log "check: sqlite x$CHK_TX, --jobs 1"
	chk_once chk.sq1 "$ini" --jobs 1
	[[ -s $BENCH_WORK/chk.secs ]] && j1=$(cat "$BENCH_WORK/chk.secs")
	if [[ -n $j1 && -n $j2 ]]; then
		bench_result chk.scale crashfs \
			"$(awk -v a="$j1" -v b="$j2" 'BEGIN { print a / b }')"
	fi
	return 0
}
