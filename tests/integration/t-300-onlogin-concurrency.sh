#!/usr/bin/env bash
# On-login migration, 10 users logging in at once:
#  - 10 logins, 10 queued migrations (one each);
#  - the worker with its default concurrency, min(CPUs + 1, 6), never runs
#    more migrations at once than that (watched from the process list and
#    from the worker's own count), and runs more than one;
#  - every account complete and identical, status says 10 finished.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-onlogin.sh"

LAB_TEST_NAME=onlogin-concurrency
lab_init
for i in $(seq -w 1 10); do
	onlogin_user_add "c$i@example.com" "conc-$i-pw"
	lab_corpus "c$i@example.com" $((150 + 10#$i * 5)) "$((500 + 10#$i))"
done
onlogin_start sdbox
limit=$(( $(nproc) + 1 ))
[ "$limit" -gt 6 ] && limit=6

pids=()
for i in $(seq -w 1 10); do
	onlogin_login imap "c$i@example.com" "conc-$i-pw" &
	pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
assert_eq 0 "$failed" "10 simultaneous logins succeed" || exit 0
assert_eq 10 "$(onlogin_queued | wc -l)" "10 migrations queued" || exit 0

watch_running() {	# the most "migrate run" processes seen at once
	local max=0 n
	while [ ! -f "$LAB/watch.done" ]; do
		n=$(lab_procs_at_once "migrate run -u c[0-9]*@example.com")
		[ "$n" -gt "$max" ] && max=$n
		echo "$max" >"$LAB/max.running"
		sleep 0.05
	done
}
watch_running &
watcher=$!
start=$SECONDS
# --max-load 0: this is about the concurrency, not the shared machine's load
# the worker under valgrind: exit 99 on a memory error or leak
rc=0; ONLOGIN_VALGRIND=1 onlogin_worker --once --max-load 0 || rc=$?
touch "$LAB/watch.done"; wait "$watcher" || true
assert_eq 0 "$rc" "worker --once (under valgrind, no errors or leaks): exit 0" || { grep -v "Connected to" "$LAB/worker.log" | grep "==[0-9]*==" | head -30; exit 0; }
echo "ok: 10 accounts migrated in $((SECONDS - start)) s"
max=$(cat "$LAB/max.running")
if [ "$max" -gt "$limit" ] || [ "$max" -lt 2 ]; then
	fail "$LAB_TEST_NAME" "saw $max migrations at once, limit $limit"
	exit 0
fi
echo "ok: at most $limit migrations at once (saw $max in the process list)"
worker_max=$(sed -n 's/.*queue drained: 10 finished, 0 failed, at most \([0-9]*\) at once.*/\1/p' "$LAB/worker.log")
assert_eq "$max" "$worker_max" "the worker counted the same maximum" || exit 0
assert_eq "" "$(onlogin_queued)" "queue empty" || exit 0

for i in $(seq -w 1 10); do
	u=c$i@example.com
	onlogin_hashes src "$u" >"$LAB/h.src"
	onlogin_hashes dst "$u" >"$LAB/h.dst"
	cmp -s "$LAB/h.src" "$LAB/h.dst" ||
		{ fail "$LAB_TEST_NAME" "$u: messages differ ($(wc -l <"$LAB/h.src") vs $(wc -l <"$LAB/h.dst"))"; exit 0; }
done
echo "ok: every account identical, message by message"
status=$(doveadm -c "$MIG_CONF" migrate status)
grep -q "^10 accounts: 10 finished, 0 failed, 0 running, 0 interrupted, 0 queued" <<<"$status" ||
	{ fail "$LAB_TEST_NAME" "status totals wrong"; echo "$status" | tail -2; exit 0; }
echo "ok: status: 10 finished"
pass "$LAB_TEST_NAME"
