# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/suite-engine.sh: the crash-state engine's benchmark (issue 3,
# "Performance").  Sourced by bench/run.sh; see docs/bench.md.
#
# bench/gentrace.c writes RUN directories of about 1,000, 10,000 and
# 100,000 operations (atomic replaces of 4 small files and an fsynced
# append log, a mark per round: a program that syncs, so the work pending
# at any crash point stays small).  For each, BENCH_REPEAT times:
#   crashfs states RUN --json             states generated and distinct
#   crashfs check --run RUN --states crash --atomic f0
#                                         in-process, crash states (posix)
#   crashfs check --run RUN --atomic f0   in-process, visible + crash
#   crashfs check --run RUN --states crash --check true --jobs 2
#       --max-states ENG_EXT_CAP          external checker, 2 at once
# Rates are distinct states checked / the check's own time (the "seconds"
# of its JSON report).  Peak RSS is each command's ru_maxrss.
#
# Memory against bytes: two traces of 2,000 ops, the same program, one
# replacing its files with 4 KiB each time, the other with 1 MiB (256x
# the bytes, 150 MiB of trace); the peak RSS of the in-process check of
# each, and their ratio (target: under 1.5x).

ENG_SIZES=(1000 10000 100000)
ENG_BYTES_OPS=2000
ENG_BYTES=(4096 1048576)

eng_params() {
	ENG_EXT_CAP=2000	# states per external run
	[[ $BENCH_QUICK == 1 ]] && ENG_EXT_CAP=500
	# The visible states of a long trace are slow (their time per state
	# grows with the trace): 100,000 ops take ~6 minutes, run on request.
	ENG_ALL_SIZES="1000 10000"
	[[ ${BENCH_ENGINE_FULL:-0} == 1 ]] && ENG_ALL_SIZES="1000 10000 100000"
	ENG_TIMEOUT=900
}

eng_label() {	# 1000 -> 1k
	echo "$(($1 / 1000))k"
}

# Fields of a `crashfs check --report json` file $1: seconds and the sum
# of distinct states checked over every kind.
eng_check_fields() {
	python3 - "$1" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
print(s["seconds"], sum(c["checked"] for c in s["counts"].values()),
      any(c["capped"] for c in s["counts"].values()))
EOF
}

# One `crashfs check --run` of size $1, rows with prefix $2, extra
# arguments after; prints "seconds states" on stdout for the per-state
# ratios, or nothing if it failed.
eng_check() {
	local n=$1 row=$2 m=$BENCH_WORK/measure js=$BENCH_WORK/check.json
	local secs kib rc states capped
	shift 2
	rm -f "$js"
	if ! bench_measure "$m" timeout -k 10 "$ENG_TIMEOUT" \
		"$CRASHFS" check --run "$BENCH_WORK/eng-$n" --report json \
		-o "$js" "$@" >/dev/null 2>"$BENCH_WORK/err.txt"; then
		bench_fail "$row" crashfs FAILED \
			"crashfs check --run $* failed: $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		return 0
	fi
	read -r _ kib rc <"$m"
	read -r secs states capped < <(eng_check_fields "$js")
	bench_log "  $row: $states states in $secs s (capped: $capped)"
	bench_result "$row" crashfs "$(awk -v s="$secs" -v n="$states" \
		'BEGIN { print n / s }')"
	bench_result "$row.rss" crashfs "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
	echo "$secs $states"
}

# Per-state time of size $2 over that of size $1, from the files of
# "seconds states" lines eng_check left, repetition by repetition.
eng_growth() {
	local row=$1 a=$BENCH_WORK/$2 b=$BENCH_WORK/$3
	[[ -s $a && -s $b ]] || {
		bench_fail "$row" crashfs n/a "a run it needs failed"
		return 0
	}
	paste -d' ' "$a" "$b" | while read -r s1 n1 s2 n2; do
		bench_result "$row" crashfs "$(awk -v a="$s1" -v b="$n1" \
			-v c="$s2" -v d="$n2" 'BEGIN { print (c / d) / (a / b) }')"
	done
}

eng_size() {
	local n=$1 l rep m=$BENCH_WORK/measure secs kib js=$BENCH_WORK/states.json
	l=$(eng_label "$n")
	bench_log "engine: $n ops"
	rm -rf "$BENCH_WORK/eng-$n"
	if ! "$BENCH_BIN/gentrace" "$BENCH_WORK/eng-$n" "$n" \
		>"$BENCH_WORK/eng-$n.count" 2>"$BENCH_WORK/err.txt"; then
		bench_fail "eng.dist.$n" crashfs FAILED \
			"gentrace: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		return 0
	fi
	bench_log "  $(cat "$BENCH_WORK/eng-$n.count") records"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		if bench_measure "$m" timeout -k 10 "$ENG_TIMEOUT" \
			"$CRASHFS" states "$BENCH_WORK/eng-$n" --json \
			>"$js" 2>"$BENCH_WORK/err.txt"; then
			read -r secs kib _ <"$m"
			python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); print(j["generated"], j["distinct"])' \
				"$js" >"$BENCH_WORK/val"
			read -r gen dist <"$BENCH_WORK/val"
			bench_result "eng.gen.$n" crashfs "$gen"
			bench_result "eng.dist.$n" crashfs "$dist"
			bench_result "eng.states.$n" crashfs "$secs"
			bench_result "eng.states.$n.rss" crashfs \
				"$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
		else
			bench_fail "eng.dist.$n" crashfs FAILED \
				"crashfs states: $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		fi
		rm -f "$js"
		eng_check "$n" "eng.crash.$n" --states crash --atomic f0 \
			>>"$BENCH_WORK/crash-$n"
		if [[ " $ENG_ALL_SIZES " == *" $n "* ]]; then
			eng_check "$n" "eng.all.$n" --atomic f0 \
				>>"$BENCH_WORK/all-$n"
		fi
		eng_check "$n" "eng.ext.$n" --states crash --check true \
			--jobs 2 --max-states "$ENG_EXT_CAP" >/dev/null
	done
	rm -rf "$BENCH_WORK/eng-$n"
}

# Peak RSS of the in-process check of ENG_BYTES_OPS ops writing $1 bytes
# at a time, BENCH_REPEAT times; the MiB figures go to the file bytes-$1.
eng_bytes() {
	local b=$1 rep m=$BENCH_WORK/measure kib run=$BENCH_WORK/eng-bytes-$1
	bench_log "engine: $ENG_BYTES_OPS ops writing $b bytes at a time"
	rm -rf "$run"
	if ! "$BENCH_BIN/gentrace" --write-bytes "$b" "$run" "$ENG_BYTES_OPS" \
		>/dev/null 2>"$BENCH_WORK/err.txt"; then
		bench_fail "eng.bytes.$b" crashfs FAILED \
			"gentrace: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		return 0
	fi
	bench_log "  trace: $(du -h "$run/trace" | cut -f1)"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		if bench_measure "$m" timeout -k 10 "$ENG_TIMEOUT" \
			"$CRASHFS" check --run "$run" --states crash --atomic f0 \
			>/dev/null 2>"$BENCH_WORK/err.txt"; then
			read -r _ kib _ <"$m"
			kib=$(awk -v k="$kib" 'BEGIN { print k / 1024 }')
			bench_result "eng.bytes.$b" crashfs "$kib"
			echo "$kib" >>"$BENCH_WORK/bytes-$b"
		else
			bench_fail "eng.bytes.$b" crashfs FAILED \
				"crashfs check --run: $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		fi
	done
	rm -rf "$run"
}

# Crash points (issue 11): bench/points.py records each shipped scenario
# once and checks the run with --points every, all, sync and marks.  Rows:
# states built and checked per mode over all the scenarios, states left
# out as repeats by `all`, and the scenarios whose failing outcomes (causes
# and failing states) equal `every`'s (all of them for `all`).  The bug
# zoo only; BENCH_ENGINE_FULL=1 adds the SQLite scenarios (minutes).
eng_points() {
	local js=$BENCH_WORK/points.json files=() f m
	for f in "$BENCH_ROOT"/scenarios/*.ini; do
		[[ ${BENCH_ENGINE_FULL:-0} == 1 || $f != */sqlite-* ]] &&
			files+=("$f")
	done
	if ! python3 "$BENCH_ROOT/bench/points.py" --crashfs "$CRASHFS" \
		--out "$BENCH_WORK/points" --json "$js" "${files[@]}" \
		>"$BENCH_WORK/points.txt" 2>"$BENCH_WORK/err.txt"; then
		bench_fail eng.points.same.all crashfs FAILED \
			"bench/points.py: $(tail -c 300 "$BENCH_WORK/err.txt" "$BENCH_WORK/points.txt" | tr '\n' ' ')"
		return 0
	fi
	bench_log "$(cat "$BENCH_WORK/points.txt")"
	for m in every all sync marks; do
		python3 - "$js" "$m" >"$BENCH_WORK/val" <<'EOF2'
import json, sys
t = json.load(open(sys.argv[1]))[sys.argv[2]]
print(t["generated"], t["checked"], t["dominated"], t["same"], t["scenarios"])
EOF2
		read -r gen chk dom same n <"$BENCH_WORK/val"
		bench_result "eng.points.built.$m" crashfs "$gen"
		bench_result "eng.points.checked.$m" crashfs "$chk"
		[[ $m == all ]] && bench_result eng.points.dominated crashfs "$dom"
		bench_result "eng.points.same.$m" crashfs "$same/$n"
	done
}

suite_engine() {
	local n l big b
	eng_params
	bench_section "Crash-state engine (issue 3): generated traces, posix model"
	for n in "${ENG_SIZES[@]}"; do
		l=$(eng_label "$n")
		bench_row "eng.gen.$n" "$l ops: states generated" states -
		bench_row "eng.dist.$n" "$l ops: states distinct" states -
		bench_row "eng.states.$n" "$l ops: crashfs states --json" s -
		bench_row "eng.states.$n.rss" "$l ops: peak RSS, states" MiB -
		bench_row "eng.crash.$n" "$l ops: in-process, crash states" \
			"st/s" "crashfs>20000"
		bench_row "eng.crash.$n.rss" "$l ops: peak RSS, in-process" \
			MiB -
		if [[ " $ENG_ALL_SIZES " == *" $n "* ]]; then
			bench_row "eng.all.$n" \
				"$l ops: in-process, visible+crash" "st/s" \
				"crashfs>20000"
			bench_row "eng.all.$n.rss" \
				"$l ops: peak RSS, visible+crash" MiB -
		fi
		bench_row "eng.ext.$n" \
			"$l ops: 'true' x2 jobs, <= $ENG_EXT_CAP st" "st/s" \
			"crashfs>500"
		bench_row "eng.ext.$n.rss" "$l ops: peak RSS, external" MiB -
	done
	bench_row eng.growth.crash "time/state 100k / 1k, crash states" x \
		"crashfs<2"
	big=${ENG_ALL_SIZES##* }
	bench_row eng.growth.all \
		"time/state $(eng_label "$big") / 1k, visible+crash" x "crashfs<2"
	for b in "${ENG_BYTES[@]}"; do
		bench_row "eng.bytes.$b" \
			"2k ops, $((b / 1024)) KiB writes: peak RSS" MiB -
	done
	bench_row eng.bytes.ratio "peak RSS, 1 MiB / 4 KiB writes (256x)" x \
		"crashfs<1.5"
	for m in every all sync marks; do
		bench_row "eng.points.built.$m" "scenarios, --points $m: states built" states -
		bench_row "eng.points.checked.$m" "scenarios, --points $m: states checked" states -
		bench_row "eng.points.same.$m" "scenarios, --points $m: outcomes = every's" scenarios -
	done
	bench_row eng.points.dominated "scenarios, --points all: repeats left out" states -
	eng_points
	for n in "${ENG_SIZES[@]}"; do
		eng_size "$n"
	done
	eng_growth eng.growth.crash crash-1000 crash-100000
	eng_growth eng.growth.all all-1000 "all-$big"
	for b in "${ENG_BYTES[@]}"; do
		eng_bytes "$b"
	done
	if [[ -s $BENCH_WORK/bytes-4096 && -s $BENCH_WORK/bytes-1048576 ]]; then
		paste -d' ' "$BENCH_WORK/bytes-4096" "$BENCH_WORK/bytes-1048576" |
			while read -r small large; do
				bench_result eng.bytes.ratio crashfs \
					"$(awk -v a="$small" -v b="$large" 'BEGIN { print b / a }')"
			done
	else
		bench_fail eng.bytes.ratio crashfs n/a "a run it needs failed"
	fi
}
