#!/bin/sh
# SPDX-License-Identifier: MIT
# Redis on a live crashfs mount with a power cut (crashfs mount
# --powercut, docs/faults.md): what an acknowledged write is worth under
# each appendfsync policy of Redis's append-only file.
#
#	live.sh always|everysec [SECONDS]	(CRASHFS: the crashfs binary)
#
# 1. redis-server with --appendonly yes --appendfsync POLICY, its data
#    directory on the mount, listening on a Unix socket outside it (no
#    TCP: --port 0);
# 2. a client (resp.py) SETs k1, k2, ... for SECONDS (default 3) and logs
#    each acknowledged key with the time of its acknowledgement;
# 3. while it writes, `crashfs ctl MNT powercut`: everything not durable
#    is gone; then redis-server and the client are killed (SIGKILL);
# 4. redis-server restarts on the same mount, loads its append-only file,
#    and the client counts the acknowledged keys still there.
#
# Redis's persistence documentation: with appendfsync always the AOF is
# fsynced before a write is acknowledged (no acknowledged write is lost);
# with everysec it is fsynced once a second by a background thread, so up
# to about a second of acknowledged writes is lost (two in the worst case:
# Redis delays a write while an fsync has been running for two seconds).
# Exit 0 when the outcome is the documented one: always loses nothing;
# everysec loses the latest acknowledged keys (some: the cut comes while
# the client writes, between two background fsyncs), none acknowledged
# more than 2 s before the cut.
set -eu
policy=${1:?usage: live.sh always|everysec [SECONDS]}
secs=${2:-3}
case $policy in always | everysec) ;; *)
	echo "live.sh: unknown policy '$policy'" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
CRASHFS=${CRASHFS:-crashfs}
PY=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-redis.XXXXXX")
mnt=$work/mnt
sock=$work/redis.sock
srv=
cli=
mounted=

cleanup() {
	[ -n "$cli" ] && kill -9 "$cli" 2>/dev/null || true
	[ -n "$srv" ] && kill -9 "$srv" 2>/dev/null || true
	[ -n "$srv" ] && wait "$srv" 2>/dev/null || true
	[ -n "$mounted" ] && "$CRASHFS" umount "$mnt" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_redis() {
	redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 \
		--dir "$mnt" --appendonly yes --appendfsync "$policy" \
		--save "" --daemonize no --logfile "$work/redis.log" &
	srv=$!
	"$PY" "$here/resp.py" "$sock" ping
}

mkdir "$work/backing" "$mnt"
"$CRASHFS" mount --powercut --trace "$work/trace" --log "$work/daemon.log" \
	"$work/backing" "$mnt"
mounted=1
start_redis

: >"$work/acked"
# the client writes 2 s longer than the cut waits: the cut must come
# while it writes (cut after it stopped, the next background fsync may
# have made everything durable, and everysec would lose nothing)
"$PY" "$here/resp.py" "$sock" write "$((secs + 2))" "$work/acked" &
cli=$!
sleep "$secs"
sleep 0.2 # well after the client started, while it still writes
"$PY" -c 'import time; print("%.6f" % time.time())' >"$work/cut"
"$CRASHFS" ctl "$mnt" powercut
kill -9 "$cli" "$srv" 2>/dev/null || true
wait "$cli" 2>/dev/null || true
wait "$srv" 2>/dev/null || true
cli= srv=
rm -f "$sock"

start_redis
# the keys acknowledged before the cut: what a real power loss would
# have let the client see (the server answered a little longer here)
n=$(awk -v cut="$(cat "$work/cut")" '$2 <= cut { n = $1 } END { print n }' \
	"$work/acked")
[ -n "$n" ] || {
	echo "no write was acknowledged before the cut" >&2
	exit 1
}
set -- $("$PY" "$here/resp.py" "$sock" count "$n")
kept=$1
shift
lost=$#
# the acknowledgement time of the first lost key, against the cut
late=$(awk -v cut="$(cat "$work/cut")" -v first="${1:-0}" \
	'$1 == first { printf "%.3f", cut - $2 }' "$work/acked")
echo "redis appendfsync $policy: $n writes acknowledged before the cut, $kept kept," \
	"$lost lost${1:+ (the first lost one acknowledged ${late} s before the cut)}"
if [ "$lost" -gt 0 ] && [ "$1" -ne $((n - lost + 1)) ]; then
	echo "FAIL: the lost writes are not the latest ones: $*" >&2
	exit 1
fi
case $policy in
always)
	[ "$lost" -eq 0 ] || {
		echo "FAIL: appendfsync always lost acknowledged writes: $*" >&2
		exit 1
	} ;;
everysec)
	[ "$lost" -gt 0 ] || {
		echo "FAIL: appendfsync everysec lost nothing: the power cut" \
			"did not drop the unsynced tail of the AOF" >&2
		exit 1
	}
	awk -v l="$late" 'BEGIN { exit !(l <= 2.0) }' || {
		echo "FAIL: everysec lost a write acknowledged $late s before" \
			"the cut (more than 2 s)" >&2
		exit 1
	} ;;
esac
echo "ok: as Redis documents"
