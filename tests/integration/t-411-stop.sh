#!/usr/bin/env bash
# migrate run told to stop (SIGTERM to its own process, as kill and
# timeout(1) send it; its dsync children share its process group and are
# not signalled by the sender): the run stops its dsync at once, and
#  - exits 75 with "stopped by SIGTERM: nothing is lost, run again to go
#    on", status failed, never finished, no dsync left running;
#  - with dsync workers, every worker's dsync is stopped and no folder is
#    started after it;
#  - the stopped pass still records what it left here, so the next run
#    mirrors on (phase mirror, not switched by the stopped pass's own
#    copies) and completes: every message, flag and UIDL;
#  - after the switch and the user's work here, a stopped final pass and
#    its re-run keep what the user left and add the old server's new mail.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"
. "$(dirname "$0")/lib-lifecycle.sh"

LAB_TEST_NAME=stop
lab_init
fault_accounts 300 20 411 one wk
for f in 1 2 3; do lab_corpus wk@example.com 60 "$((420 + f))" "F$f"; done
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
lab_migration_conf_add "plugin {" "  migrate_run_workers = 2" "}"
# slow passes: every message body 30 ms late (quirkproxy.py), and the
# same straight to the old server
cp "$MIG_CONF" "$LAB/fast.conf"
echo "imapc_port = $(quirk_proxy slow --slow-prefix '' --slow-ms 30)" >>"$MIG_CONF"

dsyncs() {	# USER -> the dsync processes of USER still running
	pgrep -f "backup -R -u $1 |sync -1 -R -u $1 |migrate copy-new.* -u $1" | tr '\n' ' '
}
# stop_pass TAG USER [ARGS...]: a slow migrate run, SIGTERM to it alone
# once the old server has sent it 10 message bodies; asserts how it ended
stop_pass() {
	local tag=$1 user=$2 pid rc=0 before _
	shift 2
	before=$(( $(quirk_hits slow slow 2>/dev/null) + 0 ))
	doveadm -c "$MIG_CONF" migrate run -u "$user" "$@" </dev/null \
		>"$LAB/stop.out" 2>"$LAB/stop.err" &
	pid=$!
	for _ in $(seq 300); do
		[ $(( $(quirk_hits slow slow 2>/dev/null) + 0 )) -ge $((before + 10)) ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	assert_eq 75 "$rc" "$tag: a stopped run exits 75" || { tail -5 "$LAB/stop.err"; return 1; }
	assert_eq "" "$(dsyncs "$user")" "$tag: no dsync of the account left running" || return 1
	assert_eq failed "$(state_field "$user" status)" "$tag: status failed" || return 1
	err=$(state_field "$user" error)
	echo "    $err"
	case $err in
	"stopped by SIGTERM"*": nothing is lost, run again to go on") echo "ok: $tag: the error says it was stopped" ;;
	*) fail "$LAB_TEST_NAME" "$tag: unexpected error: $err"; return 1 ;;
	esac
}
next_pass() {	# TAG USER [ARGS...]: a complete run without the throttle
	local tag=$1 user=$2 rc=0
	shift 2
	mrun "$LAB/fast.conf" "$user" "$@" || rc=$?
	assert_eq 0 "$rc" "$tag: the next run completes" || { tail -5 "$LAB/run.err"; return 1; }
}

# one dsync
u=one@example.com
stop_pass "one dsync" "$u" --workers 1 || exit 0
next_pass "one dsync" "$u" || exit 0
assert_eq mirror "$(state_field "$u" phase)" "one dsync: the stopped pass didn't switch the account" || exit 0
assert_same_mail "one dsync: after the re-run" "$u" || exit 0
assert_uidls "one dsync: after the re-run" "$u" || exit 0

# two workers
u=wk@example.com
stop_pass workers "$u" || exit 0
grep -q "copying 5 folders with 2 dsync workers" "$LAB/state/$u.log" ||
	{ fail "$LAB_TEST_NAME" "workers: the pass didn't use 2 workers"; exit 0; }
started=$(grep -c "worker [12]: copying folder" "$LAB/state/$u.log")
[ "$started" -lt 5 ] || { fail "$LAB_TEST_NAME" "workers: all 5 folders were started ($started)"; exit 0; }
echo "ok: workers: $started of 5 folders started before the stop, none after"
next_pass workers "$u" || exit 0
assert_eq mirror "$(state_field "$u" phase)" "workers: the stopped pass didn't switch the account" || exit 0
assert_same_mail "workers: after the re-run" "$u" || exit 0
assert_uidls "workers: after the re-run" "$u" || exit 0

# after the switch: the user works here, new mail at the old server; the
# final pass is stopped, then run again
u=one@example.com
lc_mark "$u" || exit 1
doveadm -c "$MIG_CONF" migrate switch -u "$u" >/dev/null || exit 1
lc_activity "$u" || { fail "$LAB_TEST_NAME" "user activity failed"; exit 1; }
lc_worked "$u" || exit 1
lab_corpus "$u" 120 430
stop_pass "final pass" "$u" --final || exit 0
next_pass "final pass" "$u" --final || exit 0
lc_expect_additive "$u" "stopped final pass, run again" || exit 0

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
