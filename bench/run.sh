#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh: `make bench`.  Runs every benchmark suite in one
# invocation (recording: native, libfuse's passthrough_ll and crashfs;
# engine: crash states per second; check: crashfs check wall times;
# checker: checker servers against per-state checkers; faults: power cut
# times and the cost of fault rules) and prints one table per suite with
# the medians, the ratios and whether each target of the issues is met.  docs/bench.md explains every workload.
#
# Environment:
#   BENCH_QUICK=1     a quick run (smaller sizes, same structure; the
#                     faults suite's large backing is 1 GiB, not 10)
#   BENCH_SIZE=1G     bytes of the sequential write (fio size syntax)
#   BENCH_REPEAT=3    repetitions per cell (the median is reported)
#   BENCH_SUITES="recording engine check checker faults"   suites to run
#                     (bench/suite-NAME.sh)
#   CRASHFS=PATH      the crashfs binary to measure (default build/crashfs)
#
# Exit status: 0 every target met, 1 a target missed, 2 something could
# not be measured (crashfs missing or broken, a run failed).
#
# Every suite is a file bench/suite-NAME.sh, sourced here, defining
# suite_NAME; it declares its table with bench_section/bench_row and
# records figures with bench_result/bench_fail (bench/lib.sh).  A later
# issue adds its benchmark as a new suite file and a name in
# BENCH_SUITES' default below.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

BENCH_QUICK=${BENCH_QUICK:-0}
BENCH_REPEAT=${BENCH_REPEAT:-3}
BENCH_SUITES=${BENCH_SUITES:-recording engine check checker faults}
if [[ $BENCH_QUICK == 1 ]]; then
	BENCH_SIZE=${BENCH_SIZE:-64M}
else
	BENCH_SIZE=${BENCH_SIZE:-1G}
fi

for tool in fio python3 fusermount3 mountpoint findmnt pkg-config; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: '$tool' is missing (make deps installs it)" >&2
		exit 2
	fi
done

BENCH_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_init
bench_log "work directory $BENCH_WORK ($(findmnt -n -o FSTYPE -T "$BENCH_WORK"))"
bench_build

for suite in $BENCH_SUITES; do
	# shellcheck source=/dev/null
	. "bench/suite-$suite.sh"
	"suite_$suite"
done

echo
echo "crashfs benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "  host: $(nproc) cores, kernel $(uname -r)," \
	"work dir on $(findmnt -n -o FSTYPE -T "$BENCH_WORK")"
echo "  crashfs: $CRASHFS, tree $(git describe --always --dirty 2>/dev/null || echo "?")," \
	"$("$CRASHFS" --version 2>/dev/null || echo 'not built')"
if [[ " $BENCH_SUITES " == *" recording "* ]]; then
	echo "  lazyfs: ${REC_LAZYFS_MISSING:-$LAZYFS}"
fi
echo "  BENCH_SIZE=$BENCH_SIZE BENCH_REPEAT=$BENCH_REPEAT" \
	"BENCH_QUICK=$BENCH_QUICK"
echo "  load average (1, 5, 15 min): $BENCH_LOAD0 at the start," \
	"$(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo
echo "all runs (in order):"
awk -F"\t" '$3 !~ /^!/ { v[$1 " " $2] = v[$1 " " $2] " " $3 }
	END { for (k in v) print "  " k ":" v[k] }' "$BENCH_RESULTS" | sort
status=0
python3 bench/table.py "$BENCH_ROWS" "$BENCH_RESULTS" || status=$?
exit "$status"
