# SPDX-License-Identifier: MIT
# Sourced by the scenario suites: every scenario mounts crashfs, so
# without a usable /dev/fuse (Debian's build daemons run tests without
# it) the suite is skipped with one line saying why and exit status 0,
# as tests/integration/run.py does.  $fuse_suite: what the suite runs;
# with it empty, only $fuse_problem is set (empty: FUSE is usable).
fuse_problem=
if ! [ -c /dev/fuse ] || ! (exec 3<>/dev/fuse) 2>/dev/null; then
	fuse_problem="/dev/fuse is not usable"
elif [ "$(id -u)" != 0 ] && ! command -v fusermount3 >/dev/null; then
	fuse_problem="fusermount3 not found and not root"
elif ! grep -qw fuse /proc/filesystems; then
	fuse_problem="the kernel has no fuse filesystem"
fi
if [ -n "$fuse_problem" ] && [ -n "${fuse_suite:-}" ]; then
	echo "skipped $fuse_suite: $fuse_problem (each mounts crashfs)"
	exit 0
fi
