# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/suite-faults.sh: the live faults' benchmark (issue 5,
# "Performance").  Sourced by bench/run.sh; see docs/bench.md.
#
# Power cut: for each size, a fresh `crashfs mount --powercut` over an
# empty backing directory, that many bytes written to a new file and not
# synced, then the wall time of `crashfs ctl MNT powercut` (and the
# journal's scratch bytes from `ctl status` before it).  Then the same
# with a large backing directory made beforehand (really allocated: many
# small files and a few large ones, checked with du) of which 1 MiB is
# overwritten unsynced: the cut must not depend on the backing's size.
#
# Scratch space (issue 13): three workloads on a `--powercut` mount while
# `ctl status` is sampled every 0.2 s: the journal's scratch bytes must
# stay within 2 x the unsynced bytes + 64 KiB at every sample.  overwrite:
# 200 x (1 MiB overwrite + fsync) of one file while a 1-byte file stays
# unsynced; fio: random 4 KiB writes over 4 files with an fsync every 16
# writes (120 s; 10 s quick); fsx: tests/tools/fsx.c with --fsync-each.
#
# Fault rules: the recording workloads (bench/suite-recording.sh's
# rec_once) on two identical crashfs mounts; in each round one of them
# holds ten rules on other paths (they never fire, but every write,
# create and unlink pays the matching), moved at run time so that each
# mount holds them and runs first equally often, over a multiple of 4
# rounds; the figure is the geometric mean of the per-round ratios.

# shellcheck source=bench/suite-recording.sh
. bench/suite-recording.sh

fault_params() {
	if [[ $BENCH_QUICK == 1 ]]; then
		FAULT_SIZES="1M 16M 64M" FAULT_BIG_GIB=1 FAULT_PART_SIZES="1M 16M"
		FAULT_FIO_S=10 FAULT_FSX_OPS=3000
	else
		FAULT_SIZES="1M 100M 1G" FAULT_BIG_GIB=10
		FAULT_PART_SIZES="1M 16M 100M"
		FAULT_FIO_S=120 FAULT_FSX_OPS=20000
	fi
	# A multiple of 4 rounds: each arrangement of the rules workload
	# (which mount holds the rules, which runs first) equally often.
	FAULT_REPEAT=$((BENCH_REPEAT < 8 ? 8 : (BENCH_REPEAT + 3) / 4 * 4))
}

# "1M" -> 1048576
fault_bytes() { numfmt --from=iec "$1"; }

# Wall time in ms of `crashfs ctl $1 powercut`, recorded as row $2; the
# scratch bytes before it go to row $3.
fault_time_cut() {
	local mnt=$1 row=$2 srow=$3 t0 t1 scratch
	scratch=$("$CRASHFS" ctl "$mnt" status |
		awk -F': *' '$1 == "scratch bytes" { print $2 }')
	sync	# the written data's writeback is not the cut's cost
	t0=$(date +%s%N)
	if ! "$CRASHFS" ctl "$mnt" powercut >"$BENCH_WORK/err.txt" 2>&1; then
		bench_fail "$row" crashfs FAILED "$(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		return 1
	fi
	t1=$(date +%s%N)
	bench_result "$row" crashfs "$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1e6 }')"
	[[ -n $scratch ]] && bench_result "$srow" crashfs \
		"$(awk -v b="$scratch" 'BEGIN { print b / 1048576 }')"
	return 0
}

# Cut with $1 of new unsynced data.
fault_cut_size() {
	local size=$1 base=$BENCH_WORK/cut-$1 rep mib
	mib=$(($(fault_bytes "$size") / 1048576))
	mkdir -p "$base/backing"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "power cut with $size unsynced (round $rep)"
		if ! crashfs_mount "$base/trace" "$base/backing" "$base/mnt" \
			--powercut; then
			bench_fail "fault.cut.$size" crashfs FAILED "$CRASHFS_ERROR"
			return 0
		fi
		if ! dd if=/dev/zero of="$base/mnt/unsynced" bs=1M \
			count="$mib" status=none 2>"$BENCH_WORK/err.txt"; then
			bench_fail "fault.cut.$size" crashfs FAILED \
				"dd: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		else
			fault_time_cut "$base/mnt" "fault.cut.$size" \
				"fault.scratch.$size" || true
			[[ -e $base/mnt/unsynced ]] &&
				bench_fail "fault.cut.$size" crashfs WRONG \
					"the unsynced file survived the cut"
		fi
		crashfs_umount "$base/mnt" ||
			bench_fail "fault.cut.$size" crashfs FAILED "$CRASHFS_ERROR"
		rm -f "$base/trace"
	done
	rm -rf "$base"
}

# The large backing directory: FAULT_BIG_GIB GiB, a tenth in 1 MiB files
# (100 per directory), the rest in 1 GiB files; allocated, not sparse.
fault_make_big() {
	local dir=$1 gib=$FAULT_BIG_GIB small rest chunk i d kib
	small=$((gib * 1024 / 10))		# 1 MiB files, MiB
	rest=$((gib * 1024 - small))		# large files, MiB
	chunk=$((gib >= 10 ? 1024 : 256))	# size of a large file, MiB
	bench_log "making a ${gib} GiB backing directory: $small files of 1 MiB, $((rest / chunk)) of $chunk MiB"
	mkdir -p "$dir"
	for ((i = 0; i < small; i++)); do
		d=$dir/d$((i / 100))
		[[ -d $d ]] || mkdir "$d"
		fallocate -l 1M "$d/f$i"
	done
	for ((i = 0; i * chunk < rest; i++)); do
		fallocate -l "$(((rest - i * chunk < chunk ? rest - i * chunk : chunk)))M" "$dir/big$i"
	done
	# one file of real bytes, synced: the one the workload overwrites
	dd if=/dev/urandom of="$dir/data" bs=1M count=8 status=none
	sync
	kib=$(du -sk "$dir" | cut -f1)
	bench_log "  du: $((kib / 1024)) MiB allocated"
	FAULT_BIG_KIB=$kib
}

fault_cut_big() {
	local base=$BENCH_WORK/cut-big rep
	if ! fault_make_big "$base/backing" 2>"$BENCH_WORK/err.txt"; then
		bench_fail fault.cut.big crashfs FAILED \
			"cannot make the backing directory: $(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		rm -rf "$base"
		return 0
	fi
	bench_result fault.big.size crashfs "$(awk -v k="$FAULT_BIG_KIB" 'BEGIN { print k / 1048576 }')"
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "power cut, ${FAULT_BIG_GIB} GiB backing, 1 MiB unsynced (round $rep)"
		if ! crashfs_mount "$base/trace" "$base/backing" "$base/mnt" \
			--powercut; then
			bench_fail fault.cut.big crashfs FAILED "$CRASHFS_ERROR"
			break
		fi
		# 1 MiB of overwrites, 64 KiB each, spread over a synced file
		python3 - "$base/mnt/data" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
for i in range(16):
    os.pwrite(fd, b"x" * 65536, i * 512 * 1024)
os.close(fd)
PY
		fault_time_cut "$base/mnt" fault.cut.big fault.scratch.big || true
		crashfs_umount "$base/mnt" ||
			bench_fail fault.cut.big crashfs FAILED "$CRASHFS_ERROR"
		rm -f "$base/trace"
	done
	rm -rf "$base"
	sync
}

# Partial cuts (issue 12): the time the daemon logs for the cut itself
# ("power cut (...) in X ms"), round by round.  $1 = select: one synced
# file of $2 overwritten in 4 KiB writes, unsynced, then `--file data
# --writes 2` (its content as when it became dirty is put back, then one
# write replayed from the trace: the costliest plan, all the saved bytes
# written back); seed: 64 synced files of $2/64 each overwritten the same
# way, then `--seed ROUND` (each file kept whole, dropped or replayed in
# part as the seed draws).  The backing holds only these files: the big
# backing's cut above shows the size of the rest does not count.
fault_cut_partial() {
	local kind=$1 size=$2 row="fault.cut$1.$2" base=$BENCH_WORK/cutp-$1 rep
	local bytes args ms
	bytes=$(fault_bytes "$size")
	for ((rep = 1; rep <= BENCH_REPEAT; rep++)); do
		bench_log "partial power cut ($kind), $size unsynced (round $rep)"
		rm -rf "$base"
		mkdir -p "$base/backing"
		python3 - "$base/backing" "$kind" "$bytes" <<'PY'
import os, sys
root, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = 1 if kind == "select" else 64
for i in range(files):
    with open(os.path.join(root, "data" if files == 1 else "d%d" % i),
              "wb") as f:
        f.write(os.urandom(n // files))
PY
		sync
		if ! crashfs_mount "$base/trace" "$base/backing" "$base/mnt" \
			--powercut --log "$base/log"; then
			bench_fail "$row" crashfs FAILED "$CRASHFS_ERROR"
			return 0
		fi
		python3 - "$base/mnt" <<'PY'
import os, sys
for name in os.listdir(sys.argv[1]):
    fd = os.open(os.path.join(sys.argv[1], name), os.O_WRONLY)
    size = os.fstat(fd).st_size
    for off in range(0, size, 4096):
        os.pwrite(fd, b"x" * min(4096, size - off), off)
    os.close(fd)
PY
		sync
		if [[ $kind == select ]]; then
			args=(--file data --writes 2)
		else
			args=(--seed "$rep")
		fi
		if ! "$CRASHFS" ctl "$base/mnt" powercut "${args[@]}" \
			>"$BENCH_WORK/err.txt" 2>&1; then
			bench_fail "$row" crashfs FAILED "$(tr '\n' ' ' <"$BENCH_WORK/err.txt")"
		else
			ms=$(sed -n 's/.*power cut (posix.*) in \([0-9.]*\) ms$/\1/p' \
				"$base/log" | tail -1)
			if [[ -n $ms ]]; then
				bench_result "$row" crashfs "$ms"
			else
				bench_fail "$row" crashfs FAILED "no cut time in the log"
			fi
		fi
		crashfs_umount "$base/mnt" ||
			bench_fail "$row" crashfs FAILED "$CRASHFS_ERROR"
	done
	rm -rf "$base"
}

# Ten rules, one per line for `crashfs ctl MNT fault`, on the ops the
# recording workloads make but on paths they never touch (elsewhere*/).
fault_rules() {
	local when=(before after on before on on before after on after)
	local ops=(write create,unlink fsync write,fsync rename write create
		open,write unlink truncate,write)
	local act=(short errno:ENOSPC kill delay:10 errno:EIO torn errno:EDQUOT
		errno:EROFS errno:EIO errno:ENOSPC)
	local i
	for ((i = 0; i < 10; i++)); do
		echo "${when[i]} ${ops[i]} path=elsewhere$i/* action=${act[i]}"
	done
}

# Give the rules to mount $1 and none to mount $2.
fault_rules_to() {
	local line
	"$CRASHFS" ctl "$2" faults clear >/dev/null
	"$CRASHFS" ctl "$1" faults clear >/dev/null
	while read -r line; do
		"$CRASHFS" ctl "$1" fault "$line" >/dev/null
	done < <(fault_rules)
}

# Workload $1 on two identical crashfs mounts, FAULT_REPEAT rounds; in
# each round one of them holds the ten rules (moved at run time with
# `ctl fault` and `ctl faults clear`), and the mount that holds them and
# the mount that runs first take turns, so neither a mount's own
# backing directory (ext4 puts them in different block groups) nor the
# run before it weighs on one side.
fault_rules_workload() {
	local w=$1 base=$BENCH_WORK/rules-$1 rep m t dir val ops pid c0 c1
	local holder other first
	local -A fig=() cpu=([none]=0 [rules]=0) nops=([none]=0 [rules]=0)
	local ratios=""
	mkdir -p "$base/ba" "$base/bb"
	if ! crashfs_mount "$base/ta" "$base/ba" "$base/a"; then
		bench_fail "fault.rules.$w" crashfs FAILED "$CRASHFS_ERROR"
		return 0
	fi
	if ! crashfs_mount "$base/tb" "$base/bb" "$base/b"; then
		bench_fail "fault.rules.$w" crashfs FAILED "$CRASHFS_ERROR"
		crashfs_umount "$base/a" || true
		return 0
	fi
	for ((rep = 1; rep <= FAULT_REPEAT; rep++)); do
		holder=a other=b
		((rep % 2)) || holder=b other=a
		first=$holder
		(((rep - 1) / 2 % 2)) && first=$other
		fault_rules_to "$base/$holder" "$base/$other"
		for m in $first $([[ $first == a ]] && echo b || echo a); do
			t=none
			[[ $m == "$holder" ]] && t=rules
			dir=$base/$m/run$rep
			mkdir -p "$dir"
			bench_log "$w on crashfs, $t on mount $m (round $rep)"
			: >"$BENCH_WORK/val"
			pid=${CFS_PID[$base/$m]:-}
			c0=$([[ -n $pid ]] && rec_cpu_ticks "$pid")
			if ! rec_once "$w" "$dir" "$BENCH_WORK/out.json" \
				"$BENCH_WORK/val" 2>"$BENCH_WORK/err.txt"; then
				bench_fail "fault.rules.$w" crashfs FAILED \
					"$(tail -c 300 "$BENCH_WORK/err.txt" | tr '\n' ' ')"
				fig[$t]=""
			else
				read -r val ops <"$BENCH_WORK/val" || true
				fig[$t]=$val
				bench_result "fault.abs.$w.$t" crashfs "$val"
				c1=$([[ -n $pid ]] && rec_cpu_ticks "$pid")
				if [[ -n $c0 && -n $c1 && ${ops:-0} -gt 0 ]]; then
					cpu[$t]=$((cpu[$t] + c1 - c0))
					nops[$t]=$((nops[$t] + ops))
				fi
			fi
			rm -rf "$dir"
			sync
		done
		[[ -n ${fig[none]} && -n ${fig[rules]} ]] &&
			ratios+=" $(awk -v a="${fig[rules]}" -v b="${fig[none]}" 'BEGIN { print a / b }')"
	done
	# The geometric mean of the rounds' ratios: the four arrangements
	# (which mount holds the rules, which runs first) come equally
	# often, so what is not the rules' doing cancels out.
	bench_log "$w: rules / none per round:$ratios"
	[[ -n $ratios ]] && bench_result "fault.rules.$w" crashfs \
		"$(echo "$ratios" | awk '{ for (i = 1; i <= NF; i++) s += log($i); print exp(s / NF) }')"
	for t in none rules; do
		((nops[$t] > 0)) && bench_result "fault.cpu.$w.$t" crashfs \
			"$(awk -v d="${cpu[$t]}" -v hz="$(getconf CLK_TCK)" \
				-v n="${nops[$t]}" 'BEGIN { print d / hz * 1e6 / n }')"
	done
	bench_log "rules at the end ($holder): $("$CRASHFS" ctl "$base/$holder" faults | tr '\n' ' ')"
	crashfs_umount "$base/a" || true
	crashfs_umount "$base/b" || true
	rm -rf "$base"
}

# Sample `ctl status` of mount $1 until pid $2 ends; print the peak
# scratch bytes, the unsynced bytes then, and the worst excess of scratch
# over 2 x unsynced (bytes, 0 if none), and the last sample's two.
fault_sample() {
	local mnt=$1 pid=$2 sc un peak=0 peak_un=0 worst=0 last_sc=0 last_un=0
	while bench_alive "$pid"; do
		read -r sc un < <("$CRASHFS" ctl "$mnt" status 2>/dev/null |
			awk -F': *' '$1 == "scratch bytes" { s = $2 }
				$1 == "unsynced bytes" { u = $2 }
				END { print s + 0, u + 0 }')
		if ((sc > peak)); then
			peak=$sc peak_un=$un
		fi
		((sc - 2 * un > worst)) && worst=$((sc - 2 * un))
		last_sc=$sc last_un=$un
		sleep 0.2
	done
	echo "$peak $peak_un $worst $last_sc $last_un"
}

# The workload $1 in directory $2 (on the mount; $3 a plain directory).
fault_scratch_run() {
	local w=$1 dir=$2 ref=$3
	case $w in
	overwrite)
		python3 - "$dir" <<'PY'
import os, sys
d = sys.argv[1]
fd = os.open(os.path.join(d, "big"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"D" * (1 << 20)); os.fsync(fd)
t = os.open(os.path.join(d, "tiny"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(t, b"t")  # stays unsynced
for i in range(200):
    os.pwrite(fd, bytes([65 + i % 26]) * (1 << 20), 0)
    os.fsync(fd)
PY
		;;
	fio)
		fio --name=scratch --directory="$dir" --rw=randwrite --bs=4k \
			--size=16M --nrfiles=4 --fsync=16 --ioengine=psync \
			--time_based --runtime="$FAULT_FIO_S" >/dev/null
		;;
	fsx)
		build/tools/fsx --seed 1 --ops "$FAULT_FSX_OPS" --fsync-each \
			"$dir" "$ref" >/dev/null
		;;
	esac
}

fault_scratch() {
	local w=$1 base=$BENCH_WORK/scratch-$1 pid res peak pun worst lsc lun
	mkdir -p "$base/backing" "$base/ref"
	bench_log "scratch space: $w on a --powercut mount"
	if ! crashfs_mount "$base/trace" "$base/backing" "$base/mnt" \
		--powercut; then
		bench_fail "fault.scratch.$w" crashfs FAILED "$CRASHFS_ERROR"
		return 0
	fi
	bench_bg pid fault_scratch_run "$w" "$base/mnt" "$base/ref"
	res=$(fault_sample "$base/mnt" "$pid")
	if ! bench_wait "$pid"; then
		bench_fail "fault.scratch.$w" crashfs FAILED "the $w workload failed"
	else
		read -r peak pun worst lsc lun <<<"$res"
		bench_result "fault.scratch.$w" crashfs \
			"$(awk -v b="$worst" 'BEGIN { print b / 1024 }')"
		bench_result "fault.scratch.$w.peak" crashfs \
			"$(awk -v b="$peak" 'BEGIN { print b / 1024 }')"
		bench_result "fault.scratch.$w.peakun" crashfs \
			"$(awk -v b="$pun" 'BEGIN { print b / 1024 }')"
		bench_result "fault.scratch.$w.end" crashfs \
			"$(awk -v b="$lsc" 'BEGIN { print b / 1024 }')"
		bench_result "fault.scratch.$w.endun" crashfs \
			"$(awk -v u="$lun" 'BEGIN { print u / 1024 }')"
		bench_result "fault.scratch.$w.du" crashfs \
			"$(du -sk "$base/trace.scratch" | cut -f1)"
	fi
	crashfs_umount "$base/mnt" ||
		bench_fail "fault.scratch.$w" crashfs FAILED "$CRASHFS_ERROR"
	rm -rf "$base"
}

suite_faults() {
	local s w
	rec_params
	fault_params
	bench_section "Live faults (issue 5): power cut time, fault rules' cost"
	for s in $FAULT_SIZES; do
		bench_row "fault.cut.$s" "power cut, $s unsynced (new file)" ms -
		bench_row "fault.scratch.$s" "  journal scratch before it" MiB -
	done
	bench_row fault.big.size "backing directory, allocated (du)" GiB -
	bench_row fault.cut.big \
		"power cut, ${FAULT_BIG_GIB} GiB backing, 1 MiB unsynced$([[ $BENCH_QUICK == 1 ]] && echo ' (quick: not 10 GiB)')" \
		ms "crashfs<100"
	bench_row fault.scratch.big "  journal scratch before it" MiB -
	for s in $FAULT_PART_SIZES; do
		bench_row "fault.cutselect.$s" \
			"partial cut --writes 2, $s overwritten (daemon's time)" \
			ms "$([[ $s == 1M ]] && echo 'crashfs<10' || echo -)"
		bench_row "fault.cutseed.$s" \
			"partial cut --seed, 64 files, $s overwritten (daemon's time)" \
			ms "$([[ $s == 1M ]] && echo 'crashfs<10' || echo -)"
	done
	for w in overwrite fio fsx; do
		bench_row "fault.scratch.$w" \
			"$w: scratch over 2 x unsynced, worst sample" KiB \
			"crashfs<64"
		bench_row "fault.scratch.$w.peak" "  peak scratch" KiB -
		bench_row "fault.scratch.$w.peakun" "  unsynced then" KiB -
		bench_row "fault.scratch.$w.end" "  scratch at the end" KiB -
		bench_row "fault.scratch.$w.endun" "  unsynced at the end" KiB -
		bench_row "fault.scratch.$w.du" "  scratch directory (du) at the end" KiB -
	done
	for w in seq rand create; do
		bench_row "fault.rules.$w" \
			"$w: 10 rules / none, $FAULT_REPEAT rounds" x \
			"ratio>=0.95"
		bench_row "fault.abs.$w.none" "  $w, no rule" "$(rec_unit "$w")" -
		bench_row "fault.abs.$w.rules" "  $w, 10 rules" "$(rec_unit "$w")" -
		bench_row "fault.cpu.$w.none" "  daemon CPU per op, no rule" us -
		bench_row "fault.cpu.$w.rules" "  daemon CPU per op, 10 rules" us -
	done
	# The rules first: the cuts' gigabytes, written and deleted, keep
	# the disk busy for a while after them.
	for w in seq rand create; do
		fault_rules_workload "$w"
	done
	for w in overwrite fio fsx; do
		fault_scratch "$w"
	done
	for s in $FAULT_SIZES; do
		fault_cut_size "$s"
	done
	for s in $FAULT_PART_SIZES; do
		fault_cut_partial select "$s"
		fault_cut_partial seed "$s"
	done
	fault_cut_big
}

rec_unit() {
	case $1 in
	seq) echo MiB/s ;;
	rand) echo IOPS ;;
	*) echo ops/s ;;
	esac
}
