#!/bin/sh
# SPDX-License-Identifier: MIT
# Every source file the project tracks carries an SPDX licence line near
# its top, and the licence it names is the one in LICENSE.
set -u
cd "$(dirname "$0")/../.." || exit 2
grep -q '^MIT License' LICENSE || { echo "LICENSE is not the MIT licence"; exit 1; }
bad=0
for f in $(find core fusefs harness cli tests bench scenarios -type f \
	   \( -name '*.[ch]' -o -name '*.py' -o -name '*.sh' \) | sort) \
	 Makefile .ci/run scenarios/c/run-c docs/crashfs.1 completion/crashfs.bash; do
	if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT'; then
		echo "missing SPDX line: $f"
		bad=1
	fi
done
[ "$bad" = 0 ] && echo "spdx: every source file has its licence line"
exit "$bad"
