#!/usr/bin/env bash
# The providers' quirks that docs/providers.md's recipes name, played by
# quirkproxy.py between imapc and the lab's source Dovecot, each run with
# the recipe's settings:
#  - sizes: RFC822.SIZE larger than the bodies (Exchange, some hosted
#    servers report an estimate) and UIDLs no formula gives: every message
#    copied whole, every UIDL matched (by headers, as the sizes disagree);
#  - throttle: every 25th FETCH of a whole message answered "NO ... [THROTTLED]" (Gmail):
#    one `migrate run` waits (migrate_busy_wait) and goes on until every
#    message is copied; with migrate_busy_wait = 0 the run fails at once
#    with exit 75 and one line saying the old server is throttling;
#  - throttle-ms: Microsoft 365's "BAD Request is throttled. Suggested
#    Backoff Time: 2000 milliseconds" for every 60th: the run waits as long as asked
#    (2 s, longer than migrate_busy_wait = 1s) and completes;
#  - bye: the first 4 sessions end with "* BYE Server Unavailable. 15"
#    after 40 body fetches each (Exchange Online): imapc reconnects
#    (Dovecot 2.4's imapc gives up when the reconnected session ends too
#    before a command finished; the run then waits and goes on), nothing
#    is missing.
#  - throttle with two dsync workers: the throttled worker waits, the
#    other one goes on copying meanwhile.
# Then the throttled account's lifecycle goes on behind the same quirk:
# switch, the user works here, new mail at the old server, the final pass:
# what the user left plus the old server's new mail, nothing else.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/lib-faults.sh"
. "$here/lib-lifecycle.sh"

LAB_TEST_NAME=provider-quirks
lab_init
fault_accounts 150 20 700 sizes throttle throttle-ms throttle-fail bye
# for dsync workers: INBOX for one worker, eight smaller folders for the
# other
lab_user_add throttle-wk@example.com pw-wk
lab_corpus throttle-wk@example.com 100 720
for f in 1 2 3 4 5 6 7 8; do lab_corpus throttle-wk@example.com 10 "$((720 + f))" "F$f"; done
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3

# run_ok TAG CONF USER: one migrate run that must end well with every
# message and UIDL of the account here
run_ok() {
	local tag=$1 conf=$2 user=$3 rc=0
	mrun "$conf" "$user" || rc=$?
	assert_eq 0 "$rc" "$tag: migrate run" ||
		{ tail -5 "$LAB/run.err" | sed 's/^/    /'; return 1; }
	assert_same_mail "$tag" "$user" || return 1
	assert_uidls "$tag" "$user"
}

# --- sizes: the recipe's settings are the defaults; a source whose UIDLs
# no formula gives is played with migrate_pop3_uidl_detect = no
user=sizes@example.com
port=$(quirk_proxy sizes --size-percent 3 --size-bytes 7)
c=$(mig_conf sizes "imapc_port = $port" "plugin {" \
	"  migrate_pop3_uidl_detect = no" "}")
run_ok sizes "$c" "$user"
hits=$(quirk_hits sizes size)
[ "$hits" -gt 0 ] || fail "$LAB_TEST_NAME" "sizes: no RFC822.SIZE was changed"
line=$(grep -h "Mailbox INBOX: migrate_pop3: POP3" "$LAB/state/$user.log" | tail -1)
echo "    $line"
assert_ok "sizes: INBOX matched by headers, none unmatched" \
	grep -qE "matched: cached 0, size 0, header [1-9][0-9]*.*unmatched: POP3 0, IMAP 0" <<<"$line"

# --- throttle: one run, waits of 1 s
user=throttle@example.com
port=$(quirk_proxy throttle --throttle-every 25)
c=$(mig_conf throttle "imapc_port = $port" "plugin {" \
	"  migrate_busy_wait = 1s" "}")
THROTTLE_CONF=$c
run_ok throttle "$c" "$user"
hits=$(quirk_hits throttle throttle)
waits=$(grep -c "the old server is throttling (.*\[THROTTLED\].*), running dsync again in [0-9]* s" "$LAB/run.err" || true)
echo "    FETCHes throttled: $hits, waits: $waits"
[ "$hits" -gt 0 ] || fail "$LAB_TEST_NAME" "throttle: no FETCH was throttled"
[ "$waits" -gt 0 ] || fail "$LAB_TEST_NAME" "throttle: the run never waited"

# --- Microsoft 365's throttle: BAD, and how long to wait
user=throttle-ms@example.com
port=$(quirk_proxy throttle-ms --throttle-every 60 --throttle-answer \
	"BAD Request is throttled. Suggested Backoff Time: 2000 milliseconds")
c=$(mig_conf throttle-ms "imapc_port = $port" "plugin {" \
	"  migrate_busy_wait = 1s" "}")
run_ok throttle-ms "$c" "$user"
hits=$(quirk_hits throttle-ms throttle)
waits=$(grep -c "the old server is throttling (.*Suggested Backoff Time: 2000 milliseconds.*), running dsync again in 2 s" "$LAB/run.err" || true)
echo "    FETCHes throttled: $hits, waits of 2 s: $waits"
[ "$hits" -gt 0 ] || fail "$LAB_TEST_NAME" "throttle-ms: no FETCH was throttled"
[ "$waits" -gt 0 ] || fail "$LAB_TEST_NAME" "throttle-ms: the run never waited the 2 s asked for"

# --- throttle without waiting: fails at once, one line, not finished
user=throttle-fail@example.com
port=$(quirk_proxy throttle-fail --throttle-every 25)
c=$(mig_conf throttle-fail "imapc_port = $port" "plugin {" \
	"  migrate_busy_wait = 0" "}")
rc=0
mrun "$c" "$user" || rc=$?
assert_eq 75 "$rc" "throttle-fail: exit code"
lines=$(grep -c "migrate run: user $user: " "$LAB/run.err" || true)
assert_eq 1 "$lines" "throttle-fail: one error line"
assert_ok "throttle-fail: the line says the old server is throttling" \
	grep -qE "^Error: migrate run: user $user: dsync failed \(exit [0-9]+\): IMAP server 127.0.0.1:$port: the old server is throttling" "$LAB/run.err"
grep "migrate run: user $user: " "$LAB/run.err" | sed 's/^/    /'
status=$(state_field "$user" status)
[ "$status" != finished ] || fail "$LAB_TEST_NAME" "throttle-fail: recorded as finished"
# the next run, after the throttle ended, finishes the copy
run_ok "throttle-fail next run" "$MIG_CONF" "$user"

# --- bye: Exchange Online ends sessions; imapc reconnects
user=bye@example.com
port=$(quirk_proxy bye --bye-after-fetches 40 --bye-max 4)
c=$(mig_conf bye "imapc_port = $port" "plugin {" "  migrate_busy_wait = 1s" "}")
run_ok bye "$c" "$user"
hits=$(quirk_hits bye bye)
echo "    sessions ended: $hits"
[ "$hits" -ge 2 ] || fail "$LAB_TEST_NAME" "bye: fewer than 2 sessions were ended ($hits)"

# --- throttle with two dsync workers: the worker of INBOX is throttled
# once (its connection's 5th FETCH) and waits 4 s, while the other one
# goes on copying its folders (each message there sent 150 ms late, so
# some of them start within the wait)
user=throttle-wk@example.com
port=$(quirk_proxy throttle-wk --throttle-every 5 --throttle-mailbox INBOX \
	--throttle-max 1 --slow-prefix F --slow-ms 150)
c=$(mig_conf throttle-wk "imapc_port = $port" "plugin {" \
	"  migrate_busy_wait = 4s" "  migrate_run_workers = 2" "}")
run_ok throttle-wk "$c" "$user"
[ "$(quirk_hits throttle-wk throttle)" -gt 0 ] || fail "$LAB_TEST_NAME" "throttle-wk: no FETCH was throttled"
went_on=$(python3 - "$LAB/state/$user.log" <<'PY'
import re, sys, time
wait = None
for line in open(sys.argv[1]):
    if not re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line):
        continue    # the children's own lines
    t = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
    m = re.search(r": worker (\d+): the old server is throttling .*running dsync again in (\d+) s", line)
    if m and wait is None:
        wait = (m.group(1), t, int(m.group(2)))
        print("wait: " + line.strip())
        continue
    m = re.search(r": worker (\d+): copying folder", line)
    if m and wait and m.group(1) != wait[0] and t < wait[1] + wait[2]:
        print("during it: " + line.strip())
        print("yes")
        break
PY
)
echo "$went_on" | sed 's/^/    /'
case $went_on in
*yes) echo "ok: another worker started a folder while one waited" ;;
*) fail "$LAB_TEST_NAME" "throttle-wk: no other worker went on during the wait" ;;
esac

# --- the throttled account's lifecycle, still behind the throttle
user=throttle@example.com
mig() {	# migrate ARGS... -> exit code in $rc
	rc=0
	doveadm -c "$THROTTLE_CONF" migrate "$@" </dev/null \
		>>"$LAB/mig.out" 2>&1 || rc=$?
}
lc_mark "$user" || exit 1
mig switch -u "$user"
assert_eq 0 "$rc" "migrate switch" || exit 1
lc_activity "$user" || { fail "$LAB_TEST_NAME" "user activity failed"; exit 1; }
lc_worked "$user" || exit 1
lab_corpus "$user" 40 711
lab_corpus "$user" 5 712 Work
mig run -u "$user" --final
assert_eq 0 "$rc" "final pass behind the throttle" || { tail -20 "$LAB/mig.out"; exit 1; }
lc_expect_additive "$user" "final pass behind the throttle" || exit 1

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
