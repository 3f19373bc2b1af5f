# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/lib.sh: shared by bench/run.sh and every suite it runs (sourced,
# not executed).  It owns the work directory, the cleanup of every mount
# and process the benchmark starts (each by its own path or pid, from an
# EXIT trap that also runs on Ctrl-C and SIGTERM), the compiled helpers,
# and the result files that bench/table.py turns into the table.
#
# A suite uses:
#   bench_section TITLE                 start a table
#   bench_row ID LABEL UNIT TARGET      declare a row (see bench/table.py)
#   bench_result ID TARGET VALUE        one repetition's figure
#   bench_fail ID TARGET SHORT WHY      that cell could not be measured
#   bench_bg VAR CMD...                 start CMD in the background, track
#                                       its pid, store the pid in VAR
#   bench_wait PID                      wait for it, untrack, return its status
#   bench_run CMD...                    bench_bg + bench_wait (interruptible)
#   bench_measure OUT CMD...            bench_run, with "SECONDS MAXRSS_KIB
#                                       STATUS" of CMD written to OUT, and
#                                       "CPU_SECONDS" on a second line
#   pt_mount BACKING MNT / pt_umount MNT
#   lazyfs_missing / lazyfs_mount BACKING MNT / lazyfs_umount MNT
#   crashfs_mount TRACE BACKING MNT [OPTION...] / crashfs_umount MNT /
#   crashfs_pid MNT                     (the binary is $CRASHFS, or
#                                       $CRASHFS_USE while mounting)
#   bench_log MSG                       progress on stderr

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_BIN=$BENCH_ROOT/build/bench
CRASHFS=${CRASHFS:-$BENCH_ROOT/build/crashfs}	# another build may be measured
PT_SRC=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
# LazyFS, the reference column of the recording suite, when it is built
# (bench/build-lazyfs.sh prints this path for BUILD=/tmp/lazyfs-build).
LAZYFS=${LAZYFS:-/tmp/lazyfs-build/lazyfs/lazyfs}

BENCH_WORK=""
CRASHFS_ERROR=""	# why the last crashfs_mount failed
declare -a BENCH_PIDS=()	# workload processes, killed first
declare -a BENCH_DAEMONS=()	# FUSE daemons, killed after unmounting
declare -A BENCH_MOUNTS=()	# mount point -> pt|lazyfs|crashfs

# Progress goes to the stderr the script started with, even from a trap
# that fires inside a redirected command.
exec {BENCH_LOG_FD}>&2
bench_log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&"$BENCH_LOG_FD"; }

bench_untrack() {	# ARRAY-NAME PID
	local -n arr=$1
	local i
	for i in "${!arr[@]}"; do
		[[ ${arr[$i]} == "$2" ]] && unset 'arr[i]'
	done
	return 0
}

bench_alive() { kill -0 "$1" 2>/dev/null; }

# Send TERM to one pid, then KILL if it is still there after $2 seconds.
bench_stop_pid() {
	local pid=$1 grace=${2:-5} i
	bench_alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 10; i++)); do
		bench_alive "$pid" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

bench_cleanup() {
	local rc=$? m pid left
	trap - EXIT INT TERM HUP
	set +e
	for pid in "${BENCH_PIDS[@]}"; do
		bench_stop_pid "$pid" 3
	done
	for m in "${!BENCH_MOUNTS[@]}"; do
		mountpoint -q "$m" || continue
		bench_log "cleanup: unmounting $m"
		if [[ ${BENCH_MOUNTS[$m]} == crashfs ]]; then
			timeout 30 "${CFS_BIN[$m]:-$CRASHFS}" umount "$m" >/dev/null 2>&1
		fi
		mountpoint -q "$m" && fusermount3 -u "$m" 2>/dev/null
		mountpoint -q "$m" && fusermount3 -uz "$m"
	done
	for pid in "${BENCH_DAEMONS[@]}"; do
		bench_stop_pid "$pid" 5
	done
	if [[ -n $BENCH_WORK && -d $BENCH_WORK ]]; then
		left=$(findmnt -rn -o TARGET | grep -F "$BENCH_WORK/" || true)
		if [[ -n $left ]]; then
			bench_log "cleanup: still mounted, leaving $BENCH_WORK: $left"
		else
			rm -rf --one-file-system "$BENCH_WORK"
		fi
	fi
	exit "$rc"
}

bench_signal() {
	bench_log "interrupted by SIG$1, cleaning up"
	exit 130
}

# Create the work directory (beside /tmp, so native, the backing
# directories and the traces share one filesystem) and the traps.
bench_init() {
	BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-bench.XXXXXX")
	trap bench_cleanup EXIT
	trap 'bench_signal INT' INT
	trap 'bench_signal TERM' TERM
	trap 'bench_signal HUP' HUP
	BENCH_ROWS=$BENCH_WORK/rows.tsv
	BENCH_RESULTS=$BENCH_WORK/results.tsv
	: >"$BENCH_ROWS"
	: >"$BENCH_RESULTS"
}

bench_section() { printf 'section\t%s\n' "$1" >>"$BENCH_ROWS"; }
bench_row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_ROWS"; }
bench_result() {
	printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"
	bench_log "  $1 $2: $3"
}
bench_fail() {
	printf '%s\t%s\t!%s|%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_RESULTS"
	bench_log "  $1 $2: $3 ($4)"
}

# Background process tracked for cleanup; its pid goes in the variable
# named by $1.  Background jobs of a script ignore SIGINT, so a Ctrl-C
# reaches our trap and the trap stops them by pid.
bench_bg() {
	local -n _pid=$1
	shift
	"$@" &
	_pid=$!
	BENCH_PIDS+=("$_pid")
}

bench_wait() {
	local rc=0
	wait "$1" || rc=$?
	bench_untrack BENCH_PIDS "$1"
	return "$rc"
}

bench_run() {
	local pid
	bench_bg pid "$@"
	bench_wait "$pid"
}

# Compile the helpers into build/bench/.  passthrough_ll is built from the
# copy libfuse3-dev installs; its source is never copied into the tree.
bench_build() {
	local cc=${CC:-cc} flags="-O2 -g -Wall -Wextra -std=gnu11 -pthread"
	mkdir -p "$BENCH_BIN"
	if [[ ! -r $PT_SRC ]]; then
		bench_log "missing $PT_SRC (install libfuse3-dev)"
		return 1
	fi
	# shellcheck disable=SC2046,SC2086
	$cc -O2 -g -Wall $(pkg-config --cflags fuse3) -o "$BENCH_BIN/passthrough_ll" \
		"$PT_SRC" $(pkg-config --libs fuse3) &&
		$cc $flags -o "$BENCH_BIN/metaops" "$BENCH_ROOT/bench/metaops.c" &&
		$cc $flags -o "$BENCH_BIN/measure" "$BENCH_ROOT/bench/measure.c" &&
		$cc $flags -I"$BENCH_ROOT" -D_GNU_SOURCE \
			$(pkg-config --cflags libxxhash) \
			-o "$BENCH_BIN/trace_stat" "$BENCH_ROOT/bench/trace_stat.c" \
			"$BENCH_ROOT/core/trace.c" "$BENCH_ROOT/core/util.c" \
			$(pkg-config --libs libxxhash) &&
		$cc $flags -I"$BENCH_ROOT" -D_GNU_SOURCE \
			$(pkg-config --cflags libxxhash) \
			-o "$BENCH_BIN/gentrace" "$BENCH_ROOT/bench/gentrace.c" \
			"$BENCH_ROOT/core/trace.c" "$BENCH_ROOT/core/util.c" \
			$(pkg-config --libs libxxhash)
}

# Run CMD (tracked, interruptible) under bench/measure.c, which writes
# its wall time, peak RSS (itself and every descendant it waited for) and
# exit status to the file $1.  Returns CMD's status.
bench_measure() {
	local out=$1
	shift
	bench_run "$BENCH_BIN/measure" "$out" "$@"
}

# Wait up to $2 seconds for $1 to become a mount point.
bench_wait_mounted() {
	local i
	for ((i = 0; i < ${2:-10} * 10; i++)); do
		mountpoint -q "$1" && return 0
		sleep 0.1
	done
	return 1
}

# ---- passthrough_ll ------------------------------------------------------

declare -A PT_PID=()	# mount point -> daemon pid

# Mount libfuse's passthrough_ll with its default options (no writeback
# cache, cache=auto: 1 s entry/attr timeouts, multithreaded).  -f only
# keeps it in the foreground so we know its pid; it changes no behaviour.
pt_mount() {
	local backing=$1 mnt=$2 pid
	mkdir -p "$mnt"
	"$BENCH_BIN/passthrough_ll" -f -o source="$backing" "$mnt" \
		>"$BENCH_WORK/pt.log" 2>&1 &
	pid=$!
	PT_PID[$mnt]=$pid
	daemon_mounted pt "$mnt" "$pid" 10 "$BENCH_WORK/pt.log"
}

pt_umount() {
	daemon_umount "$1" "${PT_PID[$1]}"
}

# A reference daemon ($3, a pid, started in the background) that serves
# mount $2 as kind $1: tracked for cleanup, then waited for at most $4
# seconds; its log $5 is shown when it does not mount.
daemon_mounted() {
	local kind=$1 mnt=$2 pid=$3
	BENCH_DAEMONS+=("$pid")
	BENCH_MOUNTS[$mnt]=$kind
	if ! bench_wait_mounted "$mnt" "$4" || ! bench_alive "$pid"; then
		bench_log "$kind did not mount $mnt: $(tail -c 300 "$5")"
		return 1
	fi
}

# Unmount a reference daemon's mount $1 and stop its pid $2.
daemon_umount() {
	local mnt=$1 pid=$2
	fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
	unset 'BENCH_MOUNTS[$mnt]'
	bench_stop_pid "$pid" 10
	wait "$pid" 2>/dev/null || true
	bench_untrack BENCH_DAEMONS "$pid"
}

# ---- LazyFS --------------------------------------------------------------

declare -A LZ_PID=()	# mount point -> LazyFS pid

# Why LazyFS can't be measured, or "" if it can.
lazyfs_missing() {
	[[ -x $LAZYFS ]] && return 0
	echo "no LazyFS build at $LAZYFS (bench/build-lazyfs.sh SRC /tmp/lazyfs-build, or LAZYFS=PATH; docs/bench.md)"
}

# Mount LazyFS as its own mount script does (the subdir module over
# BACKING), with the settings of its shipped default configuration: a
# 1 GB page cache without eviction, its fault FIFO in the work
# directory.  -f keeps it in the foreground so we know its pid.
lazyfs_mount() {
	local backing=$1 mnt=$2 pid cfg=$BENCH_WORK/lazyfs-${#LZ_PID[@]}.toml
	mkdir -p "$mnt"
	cat >"$cfg" <<EOF
[faults]
fifo_path="$cfg.fifo"
[cache]
apply_eviction=false
[cache.simple]
custom_size="1gb"
blocks_per_page=1
[filesystem]
log_all_operations=false
logfile=""
EOF
	"$LAZYFS" "$mnt" --config-path "$cfg" -o modules=subdir \
		-o subdir="$backing" -f >"$BENCH_WORK/lazyfs.log" 2>&1 &
	pid=$!
	LZ_PID[$mnt]=$pid
	daemon_mounted lazyfs "$mnt" "$pid" 20 "$BENCH_WORK/lazyfs.log"
}

lazyfs_umount() {
	daemon_umount "$1" "${LZ_PID[$1]}"
}

# ---- crashfs -------------------------------------------------------------

# Why crashfs can't be measured, or "" if it can: build/crashfs must exist
# and have a mount command.
crashfs_missing() {
	if [[ ! -x $CRASHFS ]]; then
		echo "not built|build/crashfs does not exist"
	elif ! "$CRASHFS" mount --help >/dev/null 2>&1; then
		echo "no daemon|build/crashfs has no working 'mount' command" \
			"(the daemon is not in this tree yet)"
	fi
}

declare -A CFS_PID=()	# mount point -> daemon pid
declare -A CFS_BIN=()	# mount point -> the crashfs binary that mounted it

# The daemon's pid: the "pid:" line of `crashfs ctl MNT status`, else the
# process whose command line ends with the mount point.
crashfs_pid() {
	local mnt=$1 pid
	pid=$("${CFS_BIN[$mnt]:-$CRASHFS}" ctl "$mnt" status 2>/dev/null |
		awk -F': *' '$1 == "pid" { print $2; exit }')
	if [[ -z $pid ]]; then
		pid=$(pgrep -f -- "crashfs mount .*${mnt}\$" | head -n 1)
	fi
	echo "$pid"
}

crashfs_mount() {	# TRACE BACKING MNT [MOUNT-OPTION...]
	local trace=$1 backing=$2 mnt=$3 pid
	shift 3
	mkdir -p "$mnt"
	BENCH_MOUNTS[$mnt]=crashfs
	CFS_BIN[$mnt]=${CRASHFS_USE:-$CRASHFS}
	if ! timeout 30 "${CFS_BIN[$mnt]}" mount "$@" --trace "$trace" "$backing" "$mnt" \
		>"$BENCH_WORK/crashfs.log" 2>&1; then
		CRASHFS_ERROR="mount failed: $(tr '\n' ' ' <"$BENCH_WORK/crashfs.log")"
		return 1
	fi
	pid=$(crashfs_pid "$mnt")
	if [[ -n $pid ]]; then
		BENCH_DAEMONS+=("$pid")
		CFS_PID[$mnt]=$pid
	fi
	if ! mountpoint -q "$mnt"; then
		CRASHFS_ERROR="'crashfs mount' returned but $mnt is not mounted"
		return 1
	fi
}

# Unmount with `crashfs umount` (which waits for the trace); on failure
# CRASHFS_ERROR says what went wrong and the mount and daemon are removed
# by force.
crashfs_umount() {
	local mnt=$1 pid=${CFS_PID[$1]:-} rc=0 i
	CRASHFS_ERROR=""
	timeout 60 "${CFS_BIN[$mnt]:-$CRASHFS}" umount "$mnt" >"$BENCH_WORK/umount.log" 2>&1 ||
		rc=$?
	((rc == 0)) ||
		CRASHFS_ERROR="'crashfs umount' exited $rc: $(tr '\n' ' ' <"$BENCH_WORK/umount.log")"
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt"
		CRASHFS_ERROR+=" $mnt was still mounted after 'crashfs umount'"
	fi
	unset 'BENCH_MOUNTS[$mnt]'
	if [[ -n $pid ]]; then
		for ((i = 0; i < 100; i++)); do
			bench_alive "$pid" || break
			sleep 0.1
		done
		bench_alive "$pid" &&
			CRASHFS_ERROR+=" the daemon (pid $pid) was still running 10 s after 'crashfs umount'"
		bench_stop_pid "$pid" 10
		bench_untrack BENCH_DAEMONS "$pid"
	fi
	[[ -z $CRASHFS_ERROR ]]
}

# Peak resident set of a process in KiB (VmHWM), "" if it is gone.
bench_hwm_kib() {
	awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null
}
