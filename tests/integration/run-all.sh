#!/bin/bash
# run-all.sh [TEST...]: run the integration scenarios (tests/integration/t-*.sh).
#
# TEST may be a script name with or without .sh, a prefix such as "t-010",
# or a path.  Each script runs on its own under `timeout` (DM_TEST_TIMEOUT
# seconds, default 900); its PASS:/FAIL: lines are collected and printed.
# A script that exits non-zero without printing a FAIL line, times out, or
# prints no result line at all counts as one failure.  The last line is
# always "N passed, N failed"; the exit status is non-zero if anything failed.
#
# Environment: DM_TEST_TIMEOUT, DM_TEST_LOGDIR (keep per-script output
# there; default a new /tmp/dmrun.* directory), DM_TEST_VERBOSE=1 (also show
# each script's full output while it runs).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${DM_TEST_TIMEOUT:-900}
logdir=${DM_TEST_LOGDIR:-$(mktemp -d /tmp/dmrun.XXXXXX)}
mkdir -p "$logdir"
passed=0
failed=0

scripts=()
if [ $# -eq 0 ]; then
	for s in "$here"/t-*.sh; do
		[ -f "$s" ] && scripts+=("$s")
	done
else
	for arg in "$@"; do
		name=$(basename "$arg" .sh)
		found=0
		for s in "$here"/t-*.sh; do
			[ -f "$s" ] || continue
			b=$(basename "$s" .sh)
			if [ "$b" = "$name" ] || [[ $b == "$name"-* ]]; then
				scripts+=("$s")
				found=1
			fi
		done
		if [ "$found" = 0 ]; then
			echo "FAIL: $name: no such test in $here"
			failed=$((failed + 1))
		fi
	done
fi

for s in "${scripts[@]}"; do
	name=$(basename "$s" .sh)
	log="$logdir/$name.log"
	start=$SECONDS
	if [ "${DM_TEST_VERBOSE:-0}" = 1 ]; then
		timeout --kill-after=30 "$timeout_s" bash "$s" </dev/null 2>&1 |
			tee "$log" >&2
		rc=${PIPESTATUS[0]}
	else
		timeout --kill-after=30 "$timeout_s" bash "$s" </dev/null >"$log" 2>&1
		rc=$?
	fi
	secs=$((SECONDS - start))
	echo "== $name (exit $rc, ${secs}s)"
	grep -E '^(PASS|FAIL): ' "$log"
	p=$(grep -cE '^PASS: ' "$log")
	f=$(grep -cE '^FAIL: ' "$log")
	if [ "$f" -eq 0 ] && [ "$rc" -ne 0 ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "FAIL: $name: timed out after ${timeout_s}s"
		else
			echo "FAIL: $name: exited with status $rc without a FAIL line"
		fi
		f=1
	elif [ "$rc" -eq 0 ] && [ "$((p + f))" -eq 0 ]; then
		echo "FAIL: $name: printed no PASS/FAIL line"
		f=1
	fi
	if [ "$f" -gt 0 ]; then
		echo "-- last lines of $log:"
		tail -n 40 "$log" | sed 's/^/   | /'
	fi
	passed=$((passed + p))
	failed=$((failed + f))
done

echo "logs: $logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
