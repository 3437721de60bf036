#!/usr/bin/env bash
# migrate verify: the whole account, folder by folder, the old server against
# this one by Message-ID (the corpus has duplicates and messages without a
# Message-ID: both compared right).
#
#   case             exit  what
#   complete         0     every folder row ok, counts and sizes equal
#   json             0     -f json parses, one object per folder
#   verify-uidl      0     `migrate verify-uidl` still reached by its name
#   extra            0     a message delivered here: extra row, still complete
#   missing          2     a message expunged here: named by Message-ID and
#                          the old server's UID in its folder
#   summary-only     2     -s: the folder rows only
#   one-folder       0     -m Work: that folder's row only
#   duplicate        2     one of two copies of a Message-ID expunged here:
#                          the one named is the one expunged (by UID)
#   absent           2     a folder deleted here
#   wrong-password   77    the old server refused the login
#   unreachable      69    nothing listens on the old server's port
#   unknown-user     67    the user doesn't exist here
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=verify
lab_init
u1=vera@example.com
u2=vic@example.com
lab_user_add $u1 pw-vera
lab_user_add $u2 pw-vic
lab_corpus $u1 40 601
lab_corpus $u1 12 602 Work
lab_corpus $u2 10 603
lab_corpus $u2 6 604 Work
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
# a message the old server has twice (a list's copy and the sender's own)
for i in 1 2; do
	printf 'From: list@example.org\r\nSubject: twice\r\nMessage-ID: <twice@example.org>\r\n\r\ncopy %s\r\n' "$i" |
		doveadm -c "$SRC_CONF" save -u $u1 -m Work || exit 1
done

# verify CASE USER [ARGS...]: exit code in $rc, -f tab output in
# $LAB/CASE.out, stderr in $LAB/CASE.err
verify() {
	local c=$1 u=$2
	shift 2
	rc=0
	doveadm -c "${CONF:-$MIG_CONF}" -f tab migrate verify -u "$u" "$@" \
		</dev/null >"$LAB/$c.out" 2>"$LAB/$c.err" || rc=$?
}
# col CASE FOLDER RESULT COLUMN: lab_verify_col on CASE's output
col() { lab_verify_col "$LAB/$1.out" "${@:2}"; }
# results CASE: "folder=result ..." of the folder rows
results() {
	awk -F'\t' 'NR > 1 && $NF == "" { printf "%s=%s ", $1, $8 }' "$LAB/$1.out" |
		sed 's/ $//'
}
dump() { sed 's/^/    /' "$LAB/$1.out" "$LAB/$1.err"; }
# msgid USER FOLDER UID: the Message-ID of a message here
msgid() {
	doveadm -c "$DST_CONF" -f tab fetch -u "$1" hdr.message-id \
		mailbox "$2" uid "$3" | sed -n 2p | tr -d '[:space:]'
}
# unique_uid USER FOLDER: a message here with a Message-ID of its own
unique_uid() {
	doveadm -c "$DST_CONF" -f tab fetch -u "$1" 'uid hdr.message-id' \
		mailbox "$2" all | awk -F'\t' 'NR > 1 && $2 != "" {
			n[$2]++; uid[$2] = $1 }
		END { for (m in n) if (n[m] == 1) print uid[m] }' | sort -n | sed -n 3p
}

for u in $u1 $u2; do
	rc=0
	doveadm -c "$MIG_CONF" migrate run -u $u </dev/null >"$LAB/run-$u.out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "migrate run $u" || { cat "$LAB/run-$u.out"; exit 1; }
done

# --- complete: every folder ok
verify complete $u1
assert_eq 0 "$rc" "complete: exit 0" || dump complete
assert_eq "INBOX=ok Work=ok" "$(results complete)" "complete: one ok row per folder"
assert_eq 40 "$(col complete INBOX ok old)" "complete: INBOX has the old server's 40 messages"
assert_eq 40 "$(col complete INBOX ok new)" "complete: and 40 here"
assert_eq "$(col complete INBOX ok old_size)" "$(col complete INBOX ok new_size)" \
	"complete: INBOX's size here is the old server's"
assert_eq 14 "$(col complete Work ok new)" "complete: Work has 14 here"
no_id=$(doveadm -c "$SRC_CONF" -f tab fetch -u $u1 hdr.message-id mailbox INBOX all |
	awk -F'\t' 'NR > 1 && $1 == ""' | wc -l)
assert_eq "$no_id" "$(col complete INBOX ok old_no_msgid)" \
	"complete: INBOX's messages without a Message-ID are counted ($no_id)"

# --- json
rc=0
doveadm -c "$MIG_CONF" -f json migrate verify -u $u1 </dev/null >"$LAB/json.out" 2>"$LAB/json.err" || rc=$?
assert_eq 0 "$rc" "json: exit 0"
assert_eq "INBOX:ok Work:ok" "$(python3 -c 'import json, sys
rows = json.load(sys.stdin)
print(" ".join("%s:%s" % (r["folder"], r["result"]) for r in rows))' <"$LAB/json.out")" \
	"json: -f json parses, a row per folder" || dump json

# --- verify-uidl is still its own command
rc=0
doveadm -c "$MIG_CONF" migrate verify-uidl -u $u1 -s </dev/null >"$LAB/uidl.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "verify-uidl: still reached, lists identical" || cat "$LAB/uidl.out"
grep -q "^summary .*identical" "$LAB/uidl.out" ||
	fail "$LAB_TEST_NAME" "verify-uidl: not verify-uidl's output: $(head -3 "$LAB/uidl.out")"

# --- extra: the user works here, mail is delivered here
new_id="<delivered-here-$RANDOM@example.com>"
printf 'From: someone@example.org\r\nTo: %s\r\nSubject: after the switch\r\nMessage-ID: %s\r\n\r\nhello\r\n' \
	$u1 "$new_id" | doveadm -c "$DST_CONF" save -u $u1 -m INBOX ||
	fail "$LAB_TEST_NAME" "extra: can't save a message here"
new_uid=$(doveadm -c "$DST_CONF" -f tab search -u $u1 mailbox INBOX all | tail -1 | cut -f2)
verify extra $u1
assert_eq 0 "$rc" "extra: mail delivered here keeps the account complete (exit 0)" || dump extra
assert_eq "INBOX=extra Work=ok" "$(results extra)" "extra: INBOX is 'extra'"
assert_eq 1 "$(col extra INBOX extra extra | head -1)" "extra: one message here only"
assert_eq "$new_id" "$(col extra INBOX extra message_id | tail -1)" \
	"extra: the delivered message is named"
assert_eq "$new_uid" "$(col extra INBOX extra new | tail -1)" \
	"extra: with its UID here"

# --- missing: a message of the old server expunged here
uid=$(unique_uid $u1 INBOX)
gone_id=$(msgid $u1 INBOX "$uid")
[ -n "$uid" ] && [ -n "$gone_id" ] ||
	{ fail "$LAB_TEST_NAME" "missing: no message with a Message-ID of its own"; exit 1; }
doveadm -c "$DST_CONF" expunge -u $u1 mailbox INBOX uid "$uid" ||
	fail "$LAB_TEST_NAME" "missing: expunge failed"
verify missing $u1
assert_eq 2 "$rc" "missing: exit 2" || dump missing
assert_eq "INBOX=missing Work=ok" "$(results missing)" "missing: INBOX is 'missing'"
assert_eq 1 "$(col missing INBOX missing missing | head -1)" "missing: one message missing"
assert_eq "$gone_id" "$(col missing INBOX missing message_id | tail -1)" \
	"missing: the expunged message is named by its Message-ID"
# backup -R kept the old server's UIDs
assert_eq "$uid" "$(col missing INBOX missing old | tail -1)" \
	"missing: with the old server's UID"
assert_eq 1 "$(grep -c "user $u1: incomplete: 1 messages" "$LAB/missing.err")" \
	"missing: one error line names the account" || cat "$LAB/missing.err"

# --- summary-only
verify summary-only $u1 -s
assert_eq 2 "$rc" "summary-only: exit 2"
assert_eq 2 "$(($(wc -l <"$LAB/summary-only.out") - 1))" "summary-only: the folder rows only" ||
	dump summary-only

# --- one folder
verify one-folder $u1 -m Work
assert_eq 0 "$rc" "one-folder: -m Work exits 0 (INBOX isn't looked at)" || dump one-folder
assert_eq "Work=ok" "$(results one-folder)" "one-folder: Work's row only"

# --- duplicate: the first of the two copies expunged here
uid=$(doveadm -c "$DST_CONF" -f tab search -u $u1 mailbox Work header Message-ID twice@example.org |
	sed -n 2p | cut -f2)
doveadm -c "$DST_CONF" expunge -u $u1 mailbox Work uid "$uid" ||
	fail "$LAB_TEST_NAME" "duplicate: expunge failed"
verify duplicate $u1
assert_eq 2 "$rc" "duplicate: exit 2" || dump duplicate
assert_eq "<twice@example.org>" "$(col duplicate Work missing message_id | tail -1)" \
	"duplicate: Work misses one copy"
assert_eq "$uid" "$(col duplicate Work missing old | tail -1)" \
	"duplicate: the copy named is the one expunged (old UID $uid)"

# --- absent: a folder deleted here
doveadm -c "$DST_CONF" mailbox delete -u $u2 Work ||
	fail "$LAB_TEST_NAME" "absent: can't delete Work here"
verify absent $u2
assert_eq 2 "$rc" "absent: exit 2" || dump absent
assert_eq "INBOX=ok Work=absent" "$(results absent)" "absent: Work is 'absent'"
assert_eq 6 "$(col absent Work absent missing)" "absent: its 6 messages count as missing"

# --- wrong-password
CONF=$LAB/wrong.conf
install -m 0600 "$MIG_CONF" "$CONF"
echo "imapc_password = wrong" >>"$CONF"
verify wrong-password $u2
assert_eq 77 "$rc" "wrong-password: exit 77" || dump wrong-password
assert_eq 1 "$(grep -c "user $u2: IMAP server 127.0.0.1:$SRC_IMAP_PORT: login refused" "$LAB/wrong-password.err")" \
	"wrong-password: one line names the account, the server and the cause" ||
	cat "$LAB/wrong-password.err"

# --- unreachable
CONF=$LAB/down.conf
port=$(lab_free_port)
install -m 0600 "$MIG_CONF" "$CONF"
echo "imapc_port = $port" >>"$CONF"
verify unreachable $u2
assert_eq 69 "$rc" "unreachable: exit 69" || dump unreachable
assert_eq 1 "$(grep -c "user $u2: IMAP server 127.0.0.1:$port: unreachable: .*Connection refused" "$LAB/unreachable.err")" \
	"unreachable: one line names the account, the server and the cause" || cat "$LAB/unreachable.err"
CONF=

# --- unknown-user
verify unknown-user nobody@example.com
assert_eq 67 "$rc" "unknown-user: exit 67" || dump unknown-user

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
