#!/usr/bin/env bash
# The lifecycle from a non-Dovecot source, Courier-IMAP + Courier-POP3
# (unpacked Debian packages), message by message: first pass, a catch-up
# pass (new and deleted mail at Courier follow), migrate switch, the user
# works here (deliveries, a new folder, moves, flags, a keyword, POP3 RETR
# + DELE of the first and the last messages), new mail at Courier, the
# final pass and a late pass. Courier as run here gives INBOX a new
# UIDVALIDITY whenever its maildir changes, so the final pass can't go by
# UIDs: what was copied before (the seen ledger) must keep the messages
# the user deleted here from coming back. Line ends compare as LF
# (Courier serves CRLF-stored mail with CR CR LF).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/lib-courier.sh"
. "$here/lib-lifecycle.sh"

user=dora
pw=courier-$RANDOM-pw
LAB_TEST_NAME=lifecycle-courier
LC_EOL=1
lab_init
lab_courier_fetch
lab_courier_user_add "$user" "$pw"
deliver() {	# COUNT SEED: generated messages into Courier's INBOX
	lab_courier_deliver_corpus "$user" "$1" "$2"
}
deliver 50 801
lab_courier_start
lab_user_add "$user" "$pw"
lab_dest_start sdbox
lab_courier_migration_conf "$pw" migrate_pop3
LC_SRC_LOGIN=$user LC_SRC_PASSWORD=$pw LC_SRC_PORT=$COURIER_IMAP_PORT \
	LC_SRC_POP3_PORT=$COURIER_POP3_PORT
export LC_SRC_LOGIN LC_SRC_PASSWORD LC_SRC_PORT LC_SRC_POP3_PORT

mig run -u "$user"
assert_eq 0 "$rc" "first pass" || { tail -20 "$LAB/mig.out"; exit 1; }
deliver 4 802
rm -f "$(ls -d "$(lab_courier_maildir "$user")"/cur/* | sort | sed -n 5p)"
mig run -u "$user"
assert_eq 0 "$rc" "catch-up pass" || { tail -20 "$LAB/mig.out"; exit 1; }
assert_eq mirror "$(lab_status_field "$user" phase)" "still mirroring" || exit 1
out=$(MAILCMP_LOGIN=$user MAILCMP_PASSWORD=$pw python3 "$LAB_LIB_DIR/mailcmp.py" \
	"$COURIER_IMAP_PORT" "$DST_IMAP_PORT" --eol --exclude "$LAB_POP3_NS" </dev/null | head -1)
assert_eq "identical folders=1 messages=53" "$out" "the catch-up pass mirrors Courier (new and deleted mail)" || exit 1
lc_mark "$user" || exit 1

mig switch -u "$user"
assert_eq 0 "$rc" "migrate switch" || exit 1
lc_activity "$user" || { fail "$LAB_TEST_NAME" "user activity failed"; exit 1; }
lc_worked "$user" || exit 1
deliver 3 803
mig run -u "$user" --final
assert_eq 0 "$rc" "final pass" || { tail -20 "$LAB/mig.out"; exit 1; }
lc_expect_additive "$user" "final pass" || exit 1
mig run -u "$user"
assert_eq 0 "$rc" "late pass" || exit 1
assert_eq 0 "$(lab_status_field "$user" copied)" "late pass copies nothing" || exit 1
lc_expect_additive "$user" "late pass" || exit 1
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
