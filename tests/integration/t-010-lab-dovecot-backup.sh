#!/bin/bash
# t-010: a Dovecot-to-Dovecot migration through the admin's migration
# config, with Dovecot's own tools only (no dovecot-migrate plugin):
#   plain        `doveadm backup -R imapc:` copies every message
#   rerun        a second run copies nothing (same count, same UIDNEXT,
#                no message body fetched from the source)
#   builtin-uidl with the built-in pop3_migration plugin the destination's
#                POP3 UIDL list equals the source's, in order
# Environment: T010_COUNT (messages, default 200), T010_SEED (default 10),
# T010_DRIVER (destination sdbox|mdbox|maildir, default sdbox).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

count=${T010_COUNT:-200}
seed=${T010_SEED:-10}
driver=${T010_DRIVER:-sdbox}
plain_user=alice@example.com
uidl_user=bob@example.com
t0=$SECONDS

lab_init
lab_user_add "$plain_user" alice-pw
lab_user_add "$uidl_user" bob-pw
lab_corpus "$plain_user" "$count" "$seed"
lab_corpus "$uidl_user" "$count" "$seed"
lab_source_start
lab_dest_start "$driver"
echo "lab: $LAB src imap=$SRC_IMAP_PORT pop3=$SRC_POP3_PORT," \
	"dst($DST_DRIVER) imap=$DST_IMAP_PORT pop3=$DST_POP3_PORT"

# bodies the source's IMAP server sent in its last session for USER
src_body_count() {
	grep "imap($1)" "$SRC_LOG" | grep 'Disconnected' | tail -n 1 |
		sed -n 's/.*body_count=\([0-9]*\).*/\1/p'
}

uidnext() {
	lab_doveadm dst -f flow mailbox status -u "$1" uidnext INBOX |
		sed -n 's/.*uidnext=\([0-9]*\).*/\1/p'
}

# --- plain backup ---------------------------------------------------------
LAB_TEST_NAME=t-010-plain-backup
lab_migration_conf
src_n=$(lab_imap_count src "$plain_user")
assert_eq "$count" "$src_n" "source INBOX holds the generated corpus"
rc=0
lab_migrate_backup "$plain_user" || rc=$?
assert_eq 0 "$rc" "doveadm backup -R exit code"
dst_n=$(lab_imap_count dst "$plain_user")
assert_eq "$src_n" "$dst_n" "destination INBOX count equals source"
assert_eq "$src_n" "$(src_body_count "$plain_user")" \
	"bodies fetched from the source in the first run"
# the hidden pop3c namespace of the migration config is not synced
assert_eq INBOX "$(lab_doveadm dst mailbox list -u "$plain_user" | tr '\n' ' ' | sed 's/ $//')" \
	"destination mailboxes"
pass "$LAB_TEST_NAME ($dst_n/$src_n messages)"

# --- second run copies nothing ---------------------------------------------
LAB_TEST_NAME=t-010-plain-backup-rerun
next_before=$(uidnext "$plain_user")
rc=0
lab_migrate_backup "$plain_user" || rc=$?
assert_eq 0 "$rc" "second doveadm backup -R exit code"
assert_eq "$dst_n" "$(lab_imap_count dst "$plain_user")" \
	"destination count unchanged"
assert_eq "$next_before" "$(uidnext "$plain_user")" \
	"destination UIDNEXT unchanged"
assert_eq 0 "$(src_body_count "$plain_user")" \
	"bodies fetched from the source in the second run"
pass "$LAB_TEST_NAME"

# --- built-in pop3_migration -------------------------------------------------
LAB_TEST_NAME=t-010-builtin-pop3-uidl
lab_migration_conf pop3_migration
rc=0
lab_migrate_backup "$uidl_user" || rc=$?
log="$LAB/migrate-$uidl_user.log"
# Findings: anything the built-in plugin had to say (e.g. header-only
# messages: "Truncated email with UID %u stored as truncated").
nwarn=$(grep -c 'pop3_migration:' "$log" || true)
if [ "$nwarn" -gt 0 ]; then
	echo "finding: built-in pop3_migration logged $nwarn line(s), e.g.:"
	grep 'pop3_migration:' "$log" | sort | uniq -c | sort -rn | head -n 5 |
		sed 's/^/finding:   /'
fi
if [ "$rc" -ne 0 ]; then
	echo "finding: doveadm backup -R with pop3_migration exited $rc:"
	grep -E 'Error|Panic|Fatal' "$log" | head -n 5 | sed 's/^/finding:   /'
fi
assert_eq 0 "$rc" "doveadm backup -R with pop3_migration exit code"
assert_eq "$count" "$(lab_imap_count dst "$uidl_user")" \
	"destination count with pop3_migration"
lab_pop3_uidls src "$uidl_user" >"$LAB/uidl-src"
lab_pop3_uidls dst "$uidl_user" >"$LAB/uidl-dst"
read -r matched total inorder < <(lab_uidl_compare "$LAB/uidl-src" "$LAB/uidl-dst")
echo "POP3 UIDLs: $matched/$total identical at the same position (equal lists: $inorder)"
if [ "$inorder" != yes ]; then
	echo "finding: first differences (source vs destination):"
	diff "$LAB/uidl-src" "$LAB/uidl-dst" | head -n 10 | sed 's/^/finding:   /'
fi
assert_eq "$count" "$total" "source POP3 UIDL count"
assert_eq "$total" "$matched" "destination UIDLs matching the source in order"
pass "$LAB_TEST_NAME ($matched/$total UIDLs in order)"

# --- server logs stay clean --------------------------------------------------
LAB_TEST_NAME=t-010-logs-clean
errs=$(grep -hE '(Error|Panic|Fatal):' "$SRC_LOG" "$DST_LOG" "$LAB"/migrate-*.log || true)
assert_eq "" "$errs" "no Error/Panic/Fatal lines in server and migration logs"
pass "$LAB_TEST_NAME"
echo "t-010 done in $((SECONDS - t0))s"
