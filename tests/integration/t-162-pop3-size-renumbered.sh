#!/usr/bin/env bash
# migrate_pop3's extra size connection (migrate-pop3-sizes.c) when the old
# server renumbers the mailbox between imapc's SELECT and that connection's
# EXAMINE (its UID database lost: here Dovecot's uidlist and index are
# removed while faultproxy.py holds the extra connection back). Its UIDs
# then name other messages: its sizes must not be used. Expected: a warning
# with both UIDVALIDITYs, no UIDL at the destination on a message of other
# content (the old server's UIDL list before the pass is the reference),
# and a later pass that gives every message its (new) UIDL in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=pop3-size-renumbered
user=r@example.com
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" 2100 65
lab_source_start
lab_dest_start sdbox
# without message 1, renumbering shifts every UID by one
doveadm -c "$SRC_CONF" expunge -u "$user" mailbox INBOX uid 1
md=$(lab_maildir "$user")
fault_proxy_start imap "$SRC_IMAP_PORT"
fault_set imap "{\"mode\": \"pass\", \"conns\": [2], \"exec\": [\"sh\", \"-c\", \"sleep 1; rm -f $md/dovecot-uidlist $md/dovecot.index $md/dovecot.index.log $md/dovecot.index.cache\"]}"
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_detect = no' \
	'  migrate_pop3_unmatched = continue' '}' "imapc_port = $FAULT_PORT_imap"

lab_pop3_digest src "$user" >"$LAB/src-before.digest"

rc=0; lab_migrate_backup "$user" || rc=$?
echo "1) exit $rc: $(grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-$user.log" | tail -1 | sed 's/.*migrate_pop3: //')"
grep -E 'conn 2 exec' "$LAB/fault-imap.log" | sed 's/^/1) proxy: /'
warning=$(grep -oE "An extra connection's UIDVALIDITY [0-9]+ isn't imapc's [0-9]+: the old server renumbered the mailbox meanwhile - its sizes aren't used" \
	"$LAB/migrate-$user.log" | head -1 || true)
[ -n "$warning" ] || { fail "$LAB_TEST_NAME" "1) no warning about the renumbered mailbox"; lab_log_dump 60; exit 0; }
echo "ok: 1) $warning"
# every UIDL given here belongs to the message of that content before
lab_pop3_digest dst "$user" >"$LAB/dst-1.digest" || true
check=$(lab_uidl_check "$LAB/src-before.digest" "$LAB/dst-1.digest")
echo "1) $check"
wrong=$(awk '{ print $2 }' <<<"$check")
assert_eq 0 "$wrong" "1) no UIDL on a message of other content" || exit 0

# a later pass: the renumbered mailbox, every UIDL (new) in order
fault_set imap '{"mode": "pass"}'
rm -rf "$LAB/dst/home/$user/mail" "$LAB/dst/home/$user/.dovecot-migrate"
rc=0; lab_migrate_backup "$user" || rc=$?
assert_eq 0 "$rc" "2) a later pass" || { lab_log_dump; exit 0; }
assert_eq "2099 2099 yes" "$(lab_uidl_same "$user")" "2) every UIDL in order" || exit 0

pass "$LAB_TEST_NAME"
