#!/bin/sh
# SPDX-License-Identifier: MIT
# pjdfstest, the POSIX file system conformance suite, on a crashfs mount
# with -o allow_other (its tests switch users), plain and with --powercut.
# The suite is not part of the project: it is read from
# ../shared/third_party/pjdfstest.tar.gz next to the repository (or
# $PJDFSTEST_TARBALL), built once into build/pjdfstest/, and the run is
# skipped with one line when it, autoconf/automake, root or /dev/fuse are
# missing.
#
#	tests/pjdfstest/run.sh             a bounded subset (about 2 minutes)
#	PJDFSTEST_FULL=1 tests/pjdfstest/run.sh   every test directory
#	PJDFSTEST_TESTS='rename chmod/00.t' tests/pjdfstest/run.sh
#
# Exit status 0 when every test passed (or the run was skipped), 1 when
# one failed, with prove's summary and the daemon's log.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
crashfs=${CRASHFS:-$here/build/crashfs}
tarball=${PJDFSTEST_TARBALL:-$here/../shared/third_party/pjdfstest.tar.gz}

skip() {
	echo "SKIP pjdfstest: $*"
	exit 0
}
[ -f "$tarball" ] || skip "'$tarball' not found (set PJDFSTEST_TARBALL)"
for tool in autoreconf automake prove cc make; do
	command -v $tool >/dev/null 2>&1 ||
		skip "$tool is missing (apt-get install autoconf automake perl)"
done
[ "$(id -u)" = 0 ] || skip "needs root (its tests switch users)"
[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not usable"

# Build once per tarball (its checksum names the build).
sum=$(sha256sum "$tarball" | cut -c1-16)
build=$here/build/pjdfstest/$sum
if [ ! -x "$build/pjdfstest/pjdfstest" ]; then
	rm -rf "$here/build/pjdfstest"
	mkdir -p "$build"
	echo "pjdfstest: building it in $build"
	if ! (tar -xzf "$tarball" -C "$build" && cd "$build/pjdfstest" &&
		autoreconf -ifs && ./configure && make pjdfstest) \
		>"$build/build.log" 2>&1; then
		echo "FAIL pjdfstest: the build failed, see $build/build.log"
		exit 1
	fi
fi
tests=$build/pjdfstest/tests

if [ -n "${PJDFSTEST_TESTS:-}" ]; then
	plain=$PJDFSTEST_TESTS
	powercut=$PJDFSTEST_TESTS
elif [ "${PJDFSTEST_FULL:-0}" = 1 ]; then
	plain=$(cd "$tests" && ls -d */ | tr -d /)
	powercut=$plain
else
	# the main test of each operation a program's files go through
	plain="rename/00.t open/00.t unlink/00.t truncate/00.t ftruncate/00.t
		mkdir/00.t rmdir/00.t symlink/00.t mknod/00.t"
	powercut="rename/00.t open/00.t"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/crashfs-pjdfstest.XXXXXX")
chmod 755 "$work" # the users the tests switch to must reach the mount
mnt=
cleanup() {
	if [ -n "$mnt" ] && grep -q " $mnt " /proc/mounts; then
		"$crashfs" umount "$mnt" || fusermount3 -u -z "$mnt"
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

fail=0
# run NAME MOUNT-OPTIONS... -- TESTS
run() {
	name=$1
	shift
	opts=
	while [ "$1" != -- ]; do
		opts="$opts $1"
		shift
	done
	shift
	dir=$work/$name
	mkdir -p "$dir/backing" "$dir/mnt"
	chmod 755 "$dir"
	mnt=$dir/mnt
	# shellcheck disable=SC2086
	if ! "$crashfs" mount --trace "$dir/trace" --log "$dir/daemon.log" \
		-o allow_other $opts "$dir/backing" "$mnt"; then
		echo "FAIL pjdfstest $name: cannot mount"
		fail=1
		return
	fi
	list=
	for t in "$@"; do
		list="$list $tests/$t"
	done
	start=$(date +%s)
	# shellcheck disable=SC2086
	(cd "$mnt" && prove -r $list) >"$dir/prove.log" 2>&1
	rc=$?
	took=$(($(date +%s) - start))
	"$crashfs" umount "$mnt" || fusermount3 -u -z "$mnt"
	mnt=
	summary=$(grep -E '^(Files=|Result:)' "$dir/prove.log" | tr '\n' ' ')
	if [ $rc = 0 ]; then
		echo "ok    pjdfstest $name ($took s): $summary"
	else
		echo "FAIL  pjdfstest $name ($took s): $summary"
		grep -v '^\(ok\|[[:space:]]*$\)' "$dir/prove.log" | tail -40 |
			sed 's/^/      /'
		tail -20 "$dir/daemon.log" | sed 's/^/      daemon: /'
		fail=1
	fi
}

# shellcheck disable=SC2086
run plain -- $plain
# shellcheck disable=SC2086
run powercut --powercut -- $powercut
exit $fail
