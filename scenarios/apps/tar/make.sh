#!/bin/sh
# SPDX-License-Identifier: MIT
# Make version VERSION of a small source tree in proj/ (three files of
# about 1, 6 and 20 KB, and a README), for the tar scenarios.
#	make.sh VERSION
set -e
v=$1
mkdir -p proj/src proj/doc
printf 'project, version %s\n' "$v" >proj/doc/README
for n in 1 2 3; do
	seq -f "v$v file $n line %g" 1 $((n * n * 40)) >proj/src/f$n.txt
done
