#!/usr/bin/env bash
# doveadm migrate batch with a CSV of 22 accounts, per-account passwords:
#  - a bad CSV line stops the batch before anything starts (exit 64), or is
#    skipped with --skip-bad-lines;
#  - 20 good accounts finish, a wrong password and a user unknown to the
#    old server fail with their cause; exit 75; the final table and
#    migrate status say exactly that;
#  - at most -n accounts run at once, and more than one does;
#  - no password in any process's argv, the state dir or the output;
#  - the batch killed midway and run again loses nothing, copies nothing
#    (counts, and per message the hash of header+body and the flags)
#    twice (message counts per account equal the source's);
#  - --only-failed reruns only the failed accounts; --dry-run changes nothing;
#  - an account whose run is still going is left to it (config untouched);
#  - --timeout stops an account that takes too long and records why.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=migrate-batch
lab_init
for i in $(seq -w 1 20); do
	lab_user_add "u$i@example.com" "pw-$i-secret"
	lab_corpus "u$i@example.com" $((20 + 10#$i)) "$((100 + 10#$i))"
done
lab_user_add wrongpw@example.com right-password
lab_corpus wrongpw@example.com 10 201
lab_user_add ghost@example.com ghost-pw
# ghost exists on the new server only
sed -i '/^ghost@example.com:/d' "$LAB/src/passwd"
lab_user_add slow@example.com slow-pw
lab_corpus slow@example.com 4000 202
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3

csv=$LAB/accounts.csv
{
	echo "email,password"
	for i in $(seq -w 1 20); do echo "u$i@example.com,pw-$i-secret"; done
	echo "wrongpw@example.com,not-the-password"
	echo "ghost@example.com,ghost-pw"
} >"$csv"
chmod 600 "$csv"
cp "$csv" "$LAB/bad.csv"
echo 'broken@example.com,"unterminated' >>"$LAB/bad.csv"

all_complete() {	# every u* account has the source's message count
	local i u
	for i in $(seq -w 1 20); do
		u=u$i@example.com
		[ "$(lab_imap_count dst "$u")" = "$(lab_imap_count src "$u")" ] ||
			{ echo "$u"; return 1; }
	done
}
# runs_at_once: the migrate runs going now
runs_at_once() {
	lab_procs_at_once "doveadm -c $LAB/state/tmp/.* migrate run"
}
watch_running() {	# record the most migrate runs seen at once, until batch.done
	local max=0 n
	while [ ! -f "$LAB/batch.done" ]; do
		n=$(runs_at_once)
		[ "$n" -gt "$max" ] && max=$n
		if grep -qsaF -e "pw-01-secret" -e "not-the-password" /proc/[0-9]*/cmdline 2>/dev/null; then
			echo leak >"$LAB/argv.leak"
		fi
		echo "$max" >"$LAB/max.running"
		sleep 0.05
	done
}

batch() {	# ARGS... -> exit code; output in $LAB/batch.out/.err
	local rc=0
	doveadm -c "$MIG_CONF" migrate batch "$@" >"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
	return $rc
}

# a bad line: nothing starts
rc=0; batch -F "$LAB/bad.csv" || rc=$?
assert_eq 64 "$rc" "bad CSV line: exit 64" || exit 0
grep -q "bad.csv line 24: unterminated quote" "$LAB/batch.err" ||
	{ fail "$LAB_TEST_NAME" "bad line not reported by number"; cat "$LAB/batch.err"; exit 0; }
assert_eq 0 "$(ls "$LAB/state" 2>/dev/null | grep -c '\.state$' || true)" "nothing started" || exit 0

# world-readable file: warning
chmod 644 "$LAB/bad.csv"
rc=0; batch -F "$LAB/bad.csv" --dry-run --skip-bad-lines || rc=$?
grep -q "bad.csv is readable by group or others" "$LAB/batch.err" ||
	{ fail "$LAB_TEST_NAME" "no warning for a world-readable accounts file"; exit 0; }
assert_eq 22 "$(grep -c 'would run' "$LAB/batch.out")" "dry run plans 22 accounts, runs none" || exit 0

# the batch, watched: concurrency and argv
rm -f "$LAB/batch.done" "$LAB/argv.leak"
watch_running &
watcher=$!
# --max-load 0: this check is about -n, not about the machine's load
rc=0; batch -F "$csv" -n 4 --max-load 0 --skip-bad-lines || rc=$?
touch "$LAB/batch.done"; wait "$watcher" || true
assert_eq 75 "$rc" "batch with two bad accounts: exit 75" || { cat "$LAB/batch.err"; exit 0; }
assert_eq 20 "$(grep -c ' finished ' "$LAB/batch.out")" "20 accounts finished" || { cat "$LAB/batch.out"; exit 0; }
grep -q "^wrongpw@example.com .*failed .*login refused" "$LAB/batch.out" ||
	{ fail "$LAB_TEST_NAME" "wrong password not reported"; cat "$LAB/batch.out"; exit 0; }
grep -q "^ghost@example.com .*failed .*login refused" "$LAB/batch.out" ||
	{ fail "$LAB_TEST_NAME" "unknown user not reported"; cat "$LAB/batch.out"; exit 0; }
max=$(cat "$LAB/max.running")
if [ "$max" -gt 4 ] || [ "$max" -lt 2 ]; then
	fail "$LAB_TEST_NAME" "saw $max accounts running at once with -n 4"
	exit 0
fi
echo "ok: at most 4 accounts at once (saw $max)"
[ ! -f "$LAB/argv.leak" ] || { fail "$LAB_TEST_NAME" "a password was in a process's argv"; exit 0; }
echo "ok: no password in any argv"
if grep -rqaF -e "pw-01-secret" -e "not-the-password" "$LAB/state" "$LAB/batch.out" "$LAB/batch.err"; then
	fail "$LAB_TEST_NAME" "a password is in the state dir or the output"
	exit 0
fi
echo "ok: no password in the state dir (temporary configs removed) or output"
bad=$(all_complete) || { fail "$LAB_TEST_NAME" "$bad: counts differ"; exit 0; }
echo "ok: 20 accounts complete"
status=$(doveadm -c "$MIG_CONF" migrate status)
grep -q "^22 accounts: 20 finished, 2 failed" <<<"$status" ||
	{ fail "$LAB_TEST_NAME" "status totals wrong"; echo "$status" | tail -2; exit 0; }

# fix the password, rerun only the failed ones
sed -i 's/^wrongpw@example.com,.*/wrongpw@example.com,right-password/' "$csv"
rc=0; batch -F "$csv" --only-failed -n 4 || rc=$?
assert_eq 1 "$(grep -c '^wrongpw@example.com .*finished' "$LAB/batch.out")" "--only-failed reran the fixed account" || exit 0
assert_eq 20 "$(grep -c 'skipped (not failed)' "$LAB/batch.out")" "--only-failed skipped the finished ones" || exit 0

# an account whose run is still going (its lock held) is left to it:
# reported as such, its config file not replaced
grep -e '^email' -e '^u01@' "$csv" >"$LAB/one.csv"
chmod 600 "$LAB/one.csv"
echo "held by another run" >"$LAB/state/tmp/u01@example.com.conf"
# (the sleep itself holds the lock: killing it releases it)
(exec 9>>"$LAB/state/u01@example.com.lock" && flock 9 && exec sleep 60) &
holder=$!
for _ in $(seq 50); do
	flock -n "$LAB/state/u01@example.com.lock" true || break
	sleep 0.1
done
rc=0; batch -F "$LAB/one.csv" --final || rc=$?
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null || true
assert_eq 75 "$rc" "an account with a run going: the batch fails it (75)" || { cat "$LAB/batch.out" "$LAB/batch.err"; exit 0; }
assert_ok "... saying a migration is already running" \
	grep -q '^u01@example.com .*failed.*a migration is already running' "$LAB/batch.out" || { cat "$LAB/batch.out"; exit 0; }
assert_eq "held by another run" "$(cat "$LAB/state/tmp/u01@example.com.conf")" "... and leaves that run's config file alone" || exit 0
rm -f "$LAB/state/tmp/u01@example.com.conf"

# kill a batch midway, run it again: nothing lost, nothing twice
for i in $(seq -w 1 20); do lab_corpus "u$i@example.com" 5 "$((300 + 10#$i))"; done
doveadm -c "$MIG_CONF" migrate batch -F "$csv" -n 2 --final >/dev/null 2>&1 &
bpid=$!
sleep 1.5
kill -9 "$bpid"; wait "$bpid" 2>/dev/null || true
# the killed batch's runs go on (process groups of their own): the rerun
# leaves their accounts to them instead of pulling their config files
# away, and once they have ended, one more run finishes the batch
rc=0; batch -F "$csv" -n 4 --final || rc=$?
if grep -q 'a migration is already running' "$LAB/batch.out"; then
	echo "rerun: $(grep -c 'a migration is already running' "$LAB/batch.out") accounts left to the killed batch's runs"
fi
if grep -q 'Error reading configuration' "$LAB/batch.out"; then
	fail "$LAB_TEST_NAME" "a run of the killed batch lost its config file:"
	grep 'Error reading configuration' "$LAB/batch.out"
	exit 0
fi
for _ in $(seq 600); do
	pgrep -f "doveadm -c $LAB/state/tmp/.* migrate run" >/dev/null || break
	sleep 0.1
done
rc=0; batch -F "$csv" -n 4 --final || rc=$?
bad=$(all_complete) ||
	{ fail "$LAB_TEST_NAME" "$bad: after the killed batch and a rerun, counts differ"; exit 0; }
echo "ok: killed batch + rerun: every account complete, no duplicates"
# and message by message: same header+body hash and flags in every folder
for i in $(seq -w 1 20); do
	u=u$i@example.com
	out=$(MAILCMP_LOGIN="$u*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" </dev/null 2>&1) ||
		{ fail "$LAB_TEST_NAME" "$u after the killed batch: $out"; exit 0; }
done
echo "ok: killed batch + rerun: all 20 accounts identical message by message (hash, flags)"

# load limit: with the limit below any real load, never more than one
rm -f "$LAB/batch.done" "$LAB/argv.leak"
watch_running &
watcher=$!
grep -v '^ghost@' "$csv" >"$LAB/good.csv"
chmod 600 "$LAB/good.csv"
rc=0; batch -F "$LAB/good.csv" -n 4 --final --max-load 0.0001 || rc=$?
touch "$LAB/batch.done"; wait "$watcher" || true
assert_eq 0 "$rc" "final pass over all accounts" || { cat "$LAB/batch.err"; exit 0; }
assert_eq 1 "$(cat "$LAB/max.running")" "over the load limit no second account starts" || exit 0

# on a terminal: a progress line with messages, bytes and rate (and the
# time left, while there is some: t-610)
for i in $(seq -w 1 20); do lab_corpus "u$i@example.com" 2 "$((400 + 10#$i))"; done
script -qec "doveadm -c $MIG_CONF migrate batch -F $LAB/good.csv -n 4 --final --max-load 0" \
	/dev/null </dev/null >"$LAB/tty.out" 2>&1 || true
last=$(tr '\r' '\n' <"$LAB/tty.out" | sed 's/\x1b\[K//g' |
	grep "^migrate batch: 21/21 accounts done" | tail -1 || true)
if ! grep -qE "0 running, 0 failed, 40 messages, [0-9.]+ (B|KiB|MiB), [0-9.]+ (B|KiB|MiB)/s$" <<<"$last"; then
	fail "$LAB_TEST_NAME" "no progress line with messages, bytes and rate: '$last'"
	exit 0
fi
echo "ok: terminal progress: $last"

# timeout
echo -e "email,password\nslow@example.com,slow-pw" >"$LAB/slow.csv"
chmod 600 "$LAB/slow.csv"
rc=0; batch -F "$LAB/slow.csv" --timeout 1 || rc=$?
assert_eq 75 "$rc" "timed-out account: exit 75" || exit 0
grep -q "^slow@example.com .*failed .*timed out after 1 seconds" "$LAB/batch.out" ||
	{ fail "$LAB_TEST_NAME" "timeout not recorded"; cat "$LAB/batch.out" "$LAB/batch.err"; exit 0; }
sleep 6
rc=0; batch -F "$LAB/slow.csv" || rc=$?
assert_eq 0 "$rc" "the timed-out account completes on the next batch" || exit 0
assert_eq 4000 "$(lab_imap_count dst slow@example.com)" "all 4000 messages, none twice" || exit 0
pass "$LAB_TEST_NAME"
