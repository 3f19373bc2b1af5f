#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build LazyFS (https://github.com/dsrhaslab/lazyfs) from a source tree
# the user fetched, for the recording suite's reference column
# (docs/bench.md, "LazyFS as a reference").  Nothing of LazyFS is in this
# repository: this script only calls cmake on the given tree.
#
#   bench/build-lazyfs.sh SRC BUILD
#
# SRC: a LazyFS checkout (its lazyfs/ and libs/libpcache/ directories).
# BUILD: where to build (created; say /tmp/lazyfs-build); the binary ends
# up as BUILD/lazyfs/lazyfs.  SRC is not written to.
#
# LazyFS's cache library downloads toml11 and spdlog at configure time
# (CMake FetchContent); offline, Debian's libtoml11-dev and libspdlog-dev
# stand in: FETCHCONTENT_SOURCE_DIR_* points each download at a two-line
# project that imports the Debian package under the target name LazyFS
# links against.
set -eu

if [ $# -ne 2 ]; then
	echo "usage: bench/build-lazyfs.sh SRC BUILD" >&2
	exit 2
fi
if ! src=$(cd "$1" 2>/dev/null && pwd); then
	echo "build-lazyfs: cannot open source tree '$1'" >&2
	exit 2
fi
build=$2
for d in lazyfs libs/libpcache; do
	if [ ! -f "$src/$d/CMakeLists.txt" ]; then
		echo "build-lazyfs: '$src' is not a LazyFS tree: no $d/CMakeLists.txt" >&2
		exit 2
	fi
done
for tool in cmake c++ pkg-config; do
	command -v "$tool" >/dev/null || {
		echo "build-lazyfs: $tool not found (apt-get install cmake g++ pkg-config libtoml11-dev libspdlog-dev)" >&2
		exit 2
	}
done
if ! pkg-config --exists spdlog; then
	echo "build-lazyfs: spdlog not found (apt-get install libspdlog-dev libtoml11-dev)" >&2
	exit 2
fi
mkdir -p "$build/shim/toml" "$build/shim/spdlog"
build=$(cd "$build" && pwd)
cat >"$build/shim/toml/CMakeLists.txt" <<'SHIM'
cmake_minimum_required(VERSION 3.24)
find_package(toml11 REQUIRED GLOBAL)
SHIM
cat >"$build/shim/spdlog/CMakeLists.txt" <<'SHIM'
cmake_minimum_required(VERSION 3.24)
find_package(spdlog REQUIRED GLOBAL)
add_library(spdlog INTERFACE)
target_link_libraries(spdlog INTERFACE spdlog::spdlog)
SHIM

# libpcache, then lazyfs, which finds it at ../libs/libpcache/build: both
# are built out of tree in BUILD, with a copy of the layout they expect.
mkdir -p "$build/tree/libs" "$build/tree/lazyfs"
rm -rf "$build/tree/libs/libpcache/src" "$build/tree/lazyfs/src"
cp -R "$src/libs/libpcache" "$build/tree/libs/"
cp -R "$src/lazyfs/." "$build/tree/lazyfs/"
cmake -S "$build/tree/libs/libpcache" -B "$build/tree/libs/libpcache/build" \
	-DCMAKE_BUILD_TYPE=Release \
	-DFETCHCONTENT_FULLY_DISCONNECTED=ON \
	-DFETCHCONTENT_SOURCE_DIR_TOML="$build/shim/toml" \
	-DFETCHCONTENT_SOURCE_DIR_SPDLOG="$build/shim/spdlog" >/dev/null
cmake --build "$build/tree/libs/libpcache/build" -j2 >/dev/null
# Debian's spdlog is built against the system's fmt: LazyFS's own
# sources, which use spdlog's headers, link both.
cmake -S "$build/tree/lazyfs" -B "$build/tree/lazyfs/build" \
	-DCMAKE_BUILD_TYPE=Release -DLAZYFS_BUILD_TESTS=OFF \
	-DCMAKE_CXX_FLAGS="$(pkg-config --cflags spdlog)" \
	-DCMAKE_CXX_STANDARD_LIBRARIES="$(pkg-config --libs spdlog)" >/dev/null
cmake --build "$build/tree/lazyfs/build" -j2 >/dev/null
mkdir -p "$build/lazyfs"
ln -sf "$build/tree/lazyfs/build/lazyfs" "$build/lazyfs/lazyfs"
echo "$build/lazyfs/lazyfs"
