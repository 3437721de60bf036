#!/usr/bin/env bash
# On-login migration, the worker killed mid-run:
#  - SIGTERM (systemctl stop): the worker stops its migrations and exits;
#    their accounts stay queued;
#  - kill -9 of the worker and of every migration it runs (a crash, or
#    systemd's SIGKILL of the unit's cgroup): status shows those accounts
#    queued again, and a new worker resumes them without copying again
#    what was already there;
#  - kill -9 of the worker alone: its migrations run on; the next worker
#    waits for them (their lock) instead of running the accounts twice;
#  - in the end every account has exactly the old server's messages:
#    same count, same per-message hashes, nothing lost, nothing twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-onlogin.sh"

LAB_TEST_NAME=onlogin-kill
lab_init
users=()
for i in 1 2 3 4 5 6; do
	u=k$i@example.com
	users+=("$u")
	onlogin_user_add "$u" "kill-$i-pw"
	lab_corpus "$u" 1200 "$((700 + i))"
	lab_corpus "$u" 30 "$((710 + i))" Sent
done
onlogin_start sdbox
for i in 1 2 3 4 5 6; do
	onlogin_login imap "k$i@example.com" "kill-$i-pw" || { fail "$LAB_TEST_NAME" "login k$i"; exit 0; }
done
assert_eq 6 "$(onlogin_queued | wc -l)" "6 migrations queued" || exit 0

start_worker() {
	doveadm -c "$MIG_CONF" migrate worker -n 3 --max-load 0 </dev/null \
		>>"$LAB/worker.log" 2>&1 &
	worker=$!
}
# wait until some account has more than N messages here
wait_progress() {
	local n=$1 u c i
	for ((i = 0; i < 600; i++)); do
		for u in "${users[@]}"; do
			c=$(lab_imap_count dst "$u" 2>/dev/null || echo 0)
			if [ "$c" -gt "$n" ] && [ "$c" -lt 1200 ]; then
				echo "$u $c"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}
run_pids() {
	pgrep -f "migrate run -u k[0-9]@example.com" || true
}

# 0. SIGTERM: the worker stops its migrations and exits, entries stay
start_worker
wait_progress 100 >/dev/null || { fail "$LAB_TEST_NAME" "no migration made progress"; exit 0; }
t0=$SECONDS
kill -TERM "$worker"
rc=0; wait "$worker" || rc=$?
assert_eq 0 "$rc" "SIGTERM: the worker exits 0 (after $((SECONDS - t0)) s)" || exit 0
sleep 0.5
assert_eq "" "$(run_pids)" "SIGTERM: no migration left running" || exit 0
assert_eq 6 "$(onlogin_queued | wc -l)" "SIGTERM: every unfinished account still queued" || exit 0

# 1. the worker and its migrations all killed
start_worker
progress=$(wait_progress 200) || { fail "$LAB_TEST_NAME" "no migration made progress"; exit 0; }
kill -9 "$worker"
wait "$worker" 2>/dev/null || true
# As systemd kills a unit's whole cgroup: every run, also one the worker
# forked just before it died and that only now shows its command line.
killed=0 quiet=0
while [ "$quiet" -lt 5 ]; do
	runs=$(run_pids)
	if [ -z "$runs" ]; then
		quiet=$((quiet + 1))
	else
		quiet=0
		for p in $runs; do
			kill -9 -- "-$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true
			killed=$((killed + 1))
		done
	fi
	sleep 0.1
done
partial_user=${progress% *}
partial=$(lab_imap_count dst "$partial_user")
echo "ok: killed the worker and $killed migrations; $partial_user had $partial messages here"
# each account is still queued, or its run finished before the kill
for u in "${users[@]}"; do
	st=$(lab_status_field "$u" status)
	if [ "$st" != queued ] && [ "$st" != finished ]; then
		fail "$LAB_TEST_NAME" "$u: neither queued nor finished after the kill: $st"
		exit 0
	fi
done
echo "ok: every unfinished account still queued ($(onlogin_queued | wc -l) queued, the rest finished)"
assert_eq queued "$(lab_status_field "$partial_user" status)" "status: the killed account shows queued" || exit 0

# 2. the worker alone killed: its migrations go on without it
start_worker
wait_progress 100 >/dev/null || { fail "$LAB_TEST_NAME" "no progress after the restart"; exit 0; }
orphans=$(run_pids)
kill -9 "$worker"
wait "$worker" 2>/dev/null || true
echo "ok: killed the worker alone; $(wc -w <<<"$orphans") migrations left running"

# 3. a new worker drains the queue
rc=0; onlogin_worker --once -n 3 --max-load 0 || rc=$?
assert_eq 0 "$rc" "the new worker drained the queue: exit 0" || { tail -20 "$LAB/worker.log"; exit 0; }
assert_eq "" "$(onlogin_queued)" "queue empty" || exit 0
assert_eq "" "$(run_pids)" "no migration left running" || exit 0
# A run the killed worker had just forked may take its account's lock only
# after the new worker looked: then the new worker's run is refused by the
# lock (exit 73, "already running") and the account stays queued. That
# refusal is the lock doing its job. (The orphaned run keeps writing into
# the same log meanwhile, so its lines can't tell the two runs apart: the
# messages below, each there once, show that no two runs copied at once.)
refused=$(cat "$LAB/worker.log" "$ONLOGIN_STATE_DIR"/*.log 2>/dev/null | grep -c "already running" || true)
echo "ok: $refused starts refused by the account lock"

for u in "${users[@]}"; do
	onlogin_hashes src "$u" >"$LAB/h.src"
	onlogin_hashes dst "$u" >"$LAB/h.dst"
	if ! cmp -s "$LAB/h.src" "$LAB/h.dst"; then
		fail "$LAB_TEST_NAME" "$u: $(comm -23 "$LAB/h.src" "$LAB/h.dst" | wc -l) lost, $(comm -13 "$LAB/h.src" "$LAB/h.dst" | wc -l) extra"
		exit 0
	fi
	assert_eq finished "$(lab_status_field "$u" status)" "$u finished" || exit 0
done
echo "ok: all 6 accounts: 1230 messages each, identical, nothing lost or twice"
copied=$(lab_status_field "$partial_user" copied)
if [ "$copied" -gt $((1230 - partial)) ]; then
	fail "$LAB_TEST_NAME" "$partial_user: the resumed run copied $copied, more than the $((1230 - partial)) missing"
	exit 0
fi
echo "ok: $partial_user: the last run copied $copied (<= $((1230 - partial)) missing after the kill)"
pass "$LAB_TEST_NAME"
