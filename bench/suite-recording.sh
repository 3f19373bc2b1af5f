# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/suite-recording.sh: the recording filesystem's benchmark (issue 2,
# "Performance").  Sourced by bench/run.sh; see docs/bench.md.
#
# For each workload: a fresh passthrough_ll mount and a fresh crashfs
# mount (with its own trace) over empty backing directories; then
# BENCH_REPEAT rounds, each running the workload once on native,
# passthrough_ll and crashfs in turn (interleaved, so a slow spell of the
# disk hits every target; each round starts with the next target), in a
# fresh directory that is removed and synced afterwards, outside the
# timed part.  Then the crashfs daemon's
# peak RSS is read, it is unmounted, and its trace is measured.
#
# BENCH_REC_WORKLOADS (default "seq rand create replace steps") picks the
# workloads.  CRASHFS_BASE=PATH adds a target, "base": another
# crashfs build (an older commit, say), mounted and measured the same way
# in the same rounds, so a change is judged against interleaved runs.
# LazyFS, when built (LAZYFS in bench/lib.sh), is one more target,
# "lazyfs", measured in the same rounds; without it the suite says so and
# measures the others.

REC_TARGETS=(native pt crashfs)

rec_params() {
	if [[ $BENCH_QUICK == 1 ]]; then
		REC_RAND_SIZE=64M REC_RAND_IO=8M REC_REPLACES=500
		REC_CREATES=1000
	else
		REC_RAND_SIZE=256M REC_RAND_IO=64M REC_REPLACES=10000
		REC_CREATES=10000
	fi
	REC_RAND_RUNTIME=60	# seconds, cap on one random-write run
	REC_TIMEOUT=900		# seconds, cap on any one run
}

# One fio job, JSON report in $2.  Every job ends with fsync (end_fsync),
# which fio counts in the job's runtime.  --thread keeps fio to one
# process, so cleanup can stop it by its pid.
rec_fio() {
	local dir=$1 out=$2
	shift 2
	bench_run timeout -k 10 "$REC_TIMEOUT" fio --name=bench \
		--directory="$dir" --filename=bench.dat --ioengine=psync \
		--end_fsync=1 --thread --output-format=json --output="$out" "$@"
}

# Figure of one fio report, MiB/s or IOPS over the job's runtime, and the
# number of writes it made.
rec_fio_value() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
job = json.load(open(sys.argv[1]))["jobs"][0]
w, secs = job["write"], job["job_runtime"] / 1000.0
if job["error"] or secs <= 0:
    sys.exit(f"fio error {job['error']}")
if sys.argv[2] == "mibps":
    print(f"{w['io_bytes'] / secs / 2**20:.3f} {w['total_ios']}")
else:
    print(f"{w['total_ios'] / secs:.3f} {w['total_ios']}")
EOF
}

# Run workload $1 once in directory $2; write its figure and its number
# of operations to the file $4.
# The tool's report goes in $3.  Both are outside every mount.  Runs in
# the main shell (not in $(...)), so a signal reaches our trap at once.
rec_once() {
	local w=$1 dir=$2 out=$3 val=$4
	case $w in
	seq)
		rec_fio "$dir" "$out" --rw=write --bs=128k --size="$BENCH_SIZE" &&
			rec_fio_value "$out" mibps >"$val"
		;;
	rand)
		rec_fio "$dir" "$out" --rw=randwrite --bs=4k \
			--size="$REC_RAND_SIZE" --io_size="$REC_RAND_IO" \
			--runtime="$REC_RAND_RUNTIME" --fallocate=none \
			--randrepeat=1 &&
			rec_fio_value "$out" iops >"$val"
		;;
	replace | steps | create)
		local n=$REC_REPLACES
		[[ $w == create ]] && n=$REC_CREATES
		bench_run timeout -k 10 "$REC_TIMEOUT" \
			"$BENCH_BIN/metaops" "$w" "$dir" "$n" >"$out" &&
			python3 -c 'import json,sys; j = json.load(sys.stdin); print(j["ops_per_s"], j["ops"])' \
				<"$out" >"$val"
		;;
	esac
}

# CPU time (user + system, all threads, in clock ticks) pid $1 has used.
rec_cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# Run workload $1 on target $2 in directory $3 and record the figure and,
# when $4 is the pid of the FUSE daemon serving $3, the daemon's CPU time
# per operation.  Returns non-zero when the run failed (already recorded).
rec_measure() {
	local w=$1 t=$2 dir=$3 pid=${4:-} out=$BENCH_WORK/out.json rc=0
	local val ops c0="" c1=""
	mkdir -p "$dir"
	bench_log "$w on $t"
	: >"$BENCH_WORK/val"
	[[ -n $pid ]] && c0=$(rec_cpu_ticks "$pid")
	rec_once "$w" "$dir" "$out" "$BENCH_WORK/val" 2>"$BENCH_WORK/err.txt" ||
		rc=$?
	[[ -n $pid ]] && c1=$(rec_cpu_ticks "$pid")
	read -r val ops <"$BENCH_WORK/val" || true
	if ((rc == 0)) && [[ -n $val ]]; then
		bench_result "rec.$w" "$t" "$val"
		if [[ -n $c0 && -n $c1 && ${ops:-0} -gt 0 ]]; then
			bench_result "rec.cpu.$w" "$t" "$(awk -v d=$((c1 - c0)) \
				-v hz="$(getconf CLK_TCK)" -v n="$ops" \
				'BEGIN { print d / hz * 1e6 / n }')"
			# Seq writes are 128 KiB each: 8,192 to the GiB.
			[[ $w == seq ]] &&
				bench_result rec.gib.seq "$t" "$(awk -v d=$((c1 - c0)) \
					-v hz="$(getconf CLK_TCK)" -v n="$ops" \
					'BEGIN { print d / hz / (n / 8192) }')"
		fi
	else
		bench_fail "rec.$w" "$t" FAILED \
			"run failed (status $rc): $(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
		rc=1
	fi
	rm -rf "$dir" 2>/dev/null || true	# fails on a dead mount
	sync
	return "$rc"
}

# crashfs could not be mounted for workload $1: say so ($2, $3) in every
# cell that workload feeds.
rec_cfs_fail() {
	bench_fail "rec.$1" crashfs "$2" "$3"
	bench_fail "rec.ovh.$1" crashfs "$2" "$3"
	[[ $1 == seq ]] && bench_fail rec.rss crashfs "$2" "$3"
	return 0
}

# Workload $1 on every target, BENCH_REPEAT rounds, then the crashfs
# daemon's RSS and trace.
rec_workload() {
	local w=$1 base=$BENCH_WORK/rec-$1 rep t dir pid kib
	local pt_ok=1 cfs_ok=1 trace=$BENCH_WORK/rec-$1.trace base_ok=0
	local base_mounted=0 lz_ok=0
	mkdir -p "$base/native" "$base/pt-backing" "$base/cfs-backing" \
		"$base/base-backing" "$base/lz-backing"
	bench_log "workload $w"

	if [[ " ${REC_TARGETS[*]} " == *" lazyfs "* ]]; then
		if lazyfs_mount "$base/lz-backing" "$base/lz"; then
			lz_ok=1
		else
			bench_fail "rec.$w" lazyfs FAILED "LazyFS did not mount"
		fi
	fi

	if [[ -n ${CRASHFS_BASE:-} ]]; then
		if CRASHFS_USE=$CRASHFS_BASE crashfs_mount \
			"$BENCH_WORK/rec-$w.base.trace" "$base/base-backing" \
			"$base/base"; then
			base_ok=1 base_mounted=1
		else
			bench_fail "rec.$w" base FAILED "$CRASHFS_ERROR"
		fi
	fi

	if ! pt_mount "$base/pt-backing" "$base/pt"; then
		bench_fail "rec.$w" pt FAILED "passthrough_ll did not mount"
		pt_ok=0
	fi
	if [[ -n $REC_CFS_MISSING ]]; then
		rec_cfs_fail "$w" "${REC_CFS_MISSING%%|*}" "${REC_CFS_MISSING#*|}"
		cfs_ok=0
	elif ! crashfs_mount "$trace" "$base/cfs-backing" "$base/cfs"; then
		rec_cfs_fail "$w" "FAILED" "$CRASHFS_ERROR"
		cfs_ok=0
	fi

	local order i
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		# Each round starts with another target: a run pays for what
		# the one before it left behind (ext4 skips the inodes freed in
		# the last seconds when it allocates, dirty pages are written
		# back), so no target always follows the same one.
		order=()
		for ((i = 0; i < ${#REC_TARGETS[@]}; i++)); do
			order+=("${REC_TARGETS[(i + rep - 1) % ${#REC_TARGETS[@]}]}")
		done
		for t in "${order[@]}"; do
			case $t in
			native) dir=$base/native/run$rep pid="" ;;
			pt) ((pt_ok)) || continue
				dir=$base/pt/run$rep pid=${PT_PID[$base/pt]} ;;
			crashfs) ((cfs_ok)) || continue
				dir=$base/cfs/run$rep
				pid=${CFS_PID[$base/cfs]:-} ;;
			base) ((base_ok)) || continue
				dir=$base/base/run$rep
				pid=${CFS_PID[$base/base]:-} ;;
			lazyfs) ((lz_ok)) || continue
				dir=$base/lz/run$rep pid=${LZ_PID[$base/lz]} ;;
			esac
			rec_measure "$w" "$t" "$dir" "$pid" && continue
			# A failed FUSE run: keep measuring only if the mount
			# is still alive.
			[[ $t == pt ]] && ! mountpoint -q "$base/pt" && pt_ok=0
			[[ $t == crashfs ]] && ! mountpoint -q "$base/cfs" &&
				cfs_ok=0
			[[ $t == base ]] && ! mountpoint -q "$base/base" &&
				base_ok=0
			[[ $t == lazyfs ]] && ! mountpoint -q "$base/lz" &&
				lz_ok=0
		done
	done
	if [[ -n ${BENCH_MOUNTS[$base/lz]:-} ]]; then
		kib=$(bench_hwm_kib "${LZ_PID[$base/lz]}")
		[[ $w == seq && -n $kib ]] &&
			bench_result rec.rss lazyfs "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
		lazyfs_umount "$base/lz"
	fi
	if ((base_mounted)); then
		crashfs_umount "$base/base" ||
			bench_log "base crashfs: $CRASHFS_ERROR"
		rm -f "$BENCH_WORK/rec-$w.base.trace"
	fi

	if ((pt_ok)); then
		kib=$(bench_hwm_kib "${PT_PID[$base/pt]}")
		[[ $w == seq && -n $kib ]] &&
			bench_result rec.rss pt "$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
	fi
	mountpoint -q "$base/pt" && pt_umount "$base/pt"
	[[ -n ${BENCH_MOUNTS[$base/cfs]:-} ]] || return 0

	pid=${CFS_PID[$base/cfs]:-}
	if [[ $w == seq ]]; then
		kib=""
		[[ -n $pid ]] && kib=$(bench_hwm_kib "$pid")
		if [[ -n $kib ]]; then
			bench_result rec.rss crashfs \
				"$(awk -v k="$kib" 'BEGIN { print k / 1024 }')"
		elif [[ -n $pid ]]; then
			bench_fail rec.rss crashfs "died" \
				"the crashfs daemon (pid $pid) exited before the end of the workload"
		else
			bench_fail rec.rss crashfs "no pid" \
				"cannot find the crashfs daemon's pid (no 'pid:' in 'crashfs ctl MNT status', no process found)"
		fi
	fi
	if ! crashfs_umount "$base/cfs"; then
		bench_fail "rec.ovh.$w" crashfs FAILED "$CRASHFS_ERROR"
		return 0
	fi
	rec_trace "$w" "$trace"
	rm -f "$trace"
}

# Per-record overhead of the trace of workload $1, at path $2.
rec_trace() {
	local w=$1 trace=$2 js=$BENCH_WORK/trace.json rc=0
	"$BENCH_BIN/trace_stat" "$trace" >"$js" 2>"$BENCH_WORK/err.txt" || rc=$?
	if ((rc != 0)); then
		bench_fail "rec.ovh.$w" crashfs "bad trace" \
			"trace_stat: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		return 0
	fi
	bench_log "  trace of $w: $(cat "$js")"
	bench_result "rec.ovh.$w" crashfs \
		"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["overhead_per_record"])' <"$js")"
	python3 -c 'import json,sys; sys.exit(not json.load(sys.stdin)["complete"])' <"$js" ||
		bench_fail "rec.ovh.$w" crashfs "incomplete" \
			"the trace has no end record after 'crashfs umount'"
}

# Declare a table row (bench_row) if its workload (the ID's last part)
# is one of those run.
rec_row() {
	[[ " $REC_WORKLOADS " == *" ${1##*.} "* ]] && bench_row "$@"
	return 0
}

suite_recording() {
	REC_WORKLOADS=${BENCH_REC_WORKLOADS:-seq rand create replace steps}
	rec_params
	REC_CFS_MISSING=$(crashfs_missing)
	[[ -n ${CRASHFS_BASE:-} ]] && REC_TARGETS+=(base)
	REC_LAZYFS_MISSING=$(lazyfs_missing)
	if [[ -z $REC_LAZYFS_MISSING ]]; then
		REC_TARGETS+=(lazyfs)
	else
		bench_log "LazyFS not measured: $REC_LAZYFS_MISSING"
	fi
	bench_section "Recording (issue 2): native, passthrough_ll and crashfs with a trace"
	rec_row rec.seq "seq write 128 KiB, $BENCH_SIZE+fsync" "MiB/s" \
		"pt>=0.9,lazyfs>=1.0"
	rec_row rec.rand "rand write 4 KiB, $REC_RAND_IO in $REC_RAND_SIZE" \
		"IOPS" "pt>=0.8"
	rec_row rec.create "create+unlink x$REC_CREATES" "ops/s" "pt>=0.8"
	rec_row rec.replace "atomic replace x$REC_REPLACES" "ops/s" "native>1"
	rec_row rec.steps "  same, dir opened each time" "ops/s" "native>1"
	rec_row rec.cpu.seq "daemon CPU per write, seq" "us" -
	[[ " $REC_WORKLOADS " == *" seq "* ]] &&
		bench_row rec.gib.seq "  same, per GiB written" "s" "pt<=1.2"
	rec_row rec.cpu.rand "daemon CPU per write, rand" "us" -
	rec_row rec.cpu.create "daemon CPU per create+unlink" "us" -
	rec_row rec.cpu.replace "daemon CPU per atomic replace" "us" -
	rec_row rec.cpu.steps "  same, dir opened each time" "us" -
	[[ " $REC_WORKLOADS " == *" seq "* ]] &&
		bench_row rec.rss "daemon peak RSS, seq write" "MiB" "crashfs<64"
	rec_row rec.ovh.seq "trace overhead, seq write" "B/rec" "crashfs<64"
	rec_row rec.ovh.rand "trace overhead, rand write" "B/rec" "crashfs<64"
	rec_row rec.ovh.create "trace overhead, create+unlink" "B/rec" \
		"crashfs<64"
	rec_row rec.ovh.replace "trace overhead, atomic replace" "B/rec" \
		"crashfs<64"
	rec_row rec.ovh.steps "  same, dir opened each time" "B/rec" \
		"crashfs<64"
	for w in $REC_WORKLOADS; do
		case $w in
		seq | rand | create | replace | steps) rec_workload "$w" ;;
		*)
			bench_log "BENCH_REC_WORKLOADS: unknown workload '$w'"
			return 1
			;;
		esac
	done
}
