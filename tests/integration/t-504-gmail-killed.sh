#!/usr/bin/env bash
# A Gmail account's first pass (migrate run with migrate_gmail) killed -9
# while it copies; the copies it made are then left without their flags
# and keywords, as sdbox's index rebuild leaves the saves of a pass killed
# between writing its files and committing its index. The next run finds
# the killed pass (the account is switched: what is here can't be told
# from the user's work) and, because the state says the flags are unsure,
# gives every copy here the flags Gmail has that it lacks (migrate gmail
# -1 --repair-flags): INBOX's \Seen and \Flagged counts here end equal to
# Gmail's, and a later pass changes nothing. Then the same account from
# scratch, its first pass stopped with SIGTERM: exit 75, not switched, the
# next run completes.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=gmail-killed
U=kim@gmail.example
GPW='g-killed pw'
lab_init
lab_user_add "$U" pw1
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 1; }
lab_gmail_generate "$LAB/gmail" --seed 41 --count 120
lab_gmail_start "$GMAIL_ACCOUNT" "$U" "$GPW"
lab_gmail_migration_conf "$U" "$GPW" migrate_throttle migrate_gmail
slow=$LAB/slow.conf
{ cat "$MIG_CONF"; printf 'plugin {\n  migrate_throttle_msgs = 20\n}\n' | lab__conf24; } >"$slow"

# count_gmail FLAG: INBOX messages with FLAG at Gmail
count_gmail() {
	python3 - "$GMAIL_IMAP_PORT" "$U" "$GPW" "$1" <<'PY'
import imaplib, sys
c = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
c.login(sys.argv[2], sys.argv[3])
c.select("INBOX", readonly=True)
typ, d = c.uid("SEARCH", None, sys.argv[4].lstrip("\\").upper())
print(len(d[0].split()))
c.logout()
PY
}
count_here() {	# FLAG: INBOX messages with FLAG here
	doveadm -c "$DST_CONF" search -u "$U" mailbox INBOX "${1#\\}" | wc -l
}
here_total() { doveadm -c "$DST_CONF" search -u "$U" all 2>/dev/null | wc -l; }

setsid doveadm -c "$slow" migrate run -u "$U" </dev/null >"$LAB/kill.out" 2>&1 &
pid=$!
for _ in $(seq 300); do
	[ "$(here_total)" -ge 30 ] && break
	sleep 0.1
done
kill -9 -- "-$pid" 2>/dev/null
wait "$pid" 2>/dev/null
copied=$(here_total)
echo "killed with $copied copies here"
[ "$copied" -gt 0 ] || { fail "$LAB_TEST_NAME" "nothing was copied before the kill"; exit 1; }
seen_before=$(count_here '\Seen')
doveadm -c "$DST_CONF" flags remove -u "$U" '\Seen \Flagged \Answered' all
echo "took the flags of the copies here ($seen_before had \\Seen in INBOX)"
[ "$seen_before" -gt 0 ] || fail "$LAB_TEST_NAME" "no copy in INBOX had \\Seen to take"

rc=0
doveadm -c "$MIG_CONF" migrate run -u "$U" </dev/null >"$LAB/run.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "the run after the kill" || tail -5 "$LAB/run.out"
assert_eq switched "$(lab_status_field "$U" phase)" "the killed first pass switched the account"
grep -q "flags updated [1-9]" "$LAB/state/$U.log" ||
	fail "$LAB_TEST_NAME" "the run after the kill repaired no flags"
for flag in '\Seen' '\Flagged'; do
	assert_eq "$(count_gmail "$flag")" "$(count_here "$flag")" \
		"INBOX messages with $flag here as at Gmail"
done
grep -q "flags_unsure" "$LAB/state/$U.state" &&
	fail "$LAB_TEST_NAME" "flags still unsure after a pass that ended well"

# a later pass: nothing to repair, nothing copied
rc=0
doveadm -c "$MIG_CONF" migrate run -u "$U" </dev/null >"$LAB/run2.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "a later pass"
for flag in '\Seen' '\Flagged'; do
	assert_eq "$(count_gmail "$flag")" "$(count_here "$flag")" \
		"after a later pass: INBOX messages with $flag here as at Gmail"
done

# the account again from scratch, its first pass stopped with SIGTERM to
# migrate run alone (kill, timeout(1)): migrate gmail stops too, the run
# exits 75 saying so, and the next run mirrors on (not switched) and
# completes
rm -rf "$LAB/dst/home/$U/mail" "$LAB/dst/home/$U/.dovecot-migrate" "$LAB/state/$U".*
doveadm -c "$slow" migrate run -u "$U" </dev/null >"$LAB/stop.out" 2>&1 &
pid=$!
for _ in $(seq 300); do
	[ "$(here_total)" -ge 30 ] && break
	sleep 0.1
done
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
assert_eq 75 "$rc" "first pass stopped by SIGTERM" || tail -5 "$LAB/stop.out"
assert_eq "" "$(pgrep -f "migrate gmail .*-u $U" | tr '\n' ' ')" "no migrate gmail left running"
case $(lab_status_field "$U" error) in
"stopped by SIGTERM: nothing is lost, run again to go on") echo "ok: the error says it was stopped" ;;
*) fail "$LAB_TEST_NAME" "stopped pass: error '$(lab_status_field "$U" error)'" ;;
esac
rc=0
doveadm -c "$MIG_CONF" migrate run -u "$U" </dev/null >"$LAB/run3.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "the run after the stopped one" || tail -5 "$LAB/run3.out"
assert_eq mirror "$(lab_status_field "$U" phase)" "the stopped pass didn't switch the account"
for flag in '\Seen' '\Flagged'; do
	assert_eq "$(count_gmail "$flag")" "$(count_here "$flag")" \
		"after the stopped pass and a re-run: INBOX messages with $flag here as at Gmail"
done
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
