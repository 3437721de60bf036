#!/usr/bin/env bash
# Runs every test: the unit tests (make check, under valgrind) and the
# integration tests (tests/integration/run-all.sh). Ends with one line
# "N passed, N failed" over both; exits non-zero if anything failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

unit_log=$(mktemp)
trap 'rm -f "$unit_log"' EXIT

echo "=== unit tests (make check, valgrind)"
make check >"$unit_log" 2>&1
unit_rc=$?
grep -E '^(.*\.\.\.\.+ : (ok|FAILED)|[0-9]+ / [0-9]+ tests failed|Failed to run|==[0-9]+==)' "$unit_log" || true
unit_passed=$(grep -cE '\.\.\.\.+ : ok$' "$unit_log")
unit_failed=$(grep -cE '\.\.\.\.+ : FAILED$' "$unit_log")
if [ $unit_rc -ne 0 ] && [ "$unit_failed" -eq 0 ]; then
	# the build or valgrind failed rather than an assertion
	tail -40 "$unit_log"
	unit_failed=1
fi
echo "unit: $unit_passed passed, $unit_failed failed"

echo "=== integration tests"
int_out=$(mktemp)
bash tests/integration/run-all.sh "$@" | tee "$int_out"
int_rc=${PIPESTATUS[0]}
int_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$int_out" | tail -1)
rm -f "$int_out"
int_passed=${int_line%% passed*}
int_failed=${int_line#*passed, }
int_failed=${int_failed%% failed*}
: "${int_passed:=0}" "${int_failed:=0}"
if [ $int_rc -ne 0 ] && [ "$int_failed" -eq 0 ]; then
	int_failed=1
fi

passed=$((unit_passed + int_passed))
failed=$((unit_failed + int_failed))
echo "${DM_RESULT_PREFIX:-}$passed passed, $failed failed"
[ "$failed" -eq 0 ]
