#!/usr/bin/env bash
# Messages on one side only: the POP3 view lacks two messages that IMAP has
# and has one that IMAP lacks. Every one of them must be reported precisely
# (POP3 number and UIDL, IMAP UID); with the default
# migrate_pop3_unmatched=fail the migration fails, with =continue it
# completes, every matched message keeps its UIDL, and verify-uidl shows
# exactly the three differences and exits 2.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

count=120
user=alice@example.com
LAB_TEST_NAME=pop3-missing-extra
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" $count 31
md=$(lab_maildir "$user")
python3 "$LAB_LIB_DIR/rewrite-maildir.py" "$md" "$(dirname "$md")/Maildir-pop3" \
	--seed 9 --drop 2 --extra 1 --uid "$LAB_UID" --gid "$LAB_GID"
LAB_SRC_EXTRA_CONF='protocol pop3 {
  mail_location = maildir:~/Maildir-pop3
}'
lab_source_start
lab_dest_start sdbox

# expected: IMAP UIDs are assigned in file-name order; the dropped files
# are the ones missing from the POP3 copy
base_names() {
	ls "$1/cur" "$1/new" | grep -v ':$' | grep . | sed 's/[,:].*//' | sort
}
expected_imap=$(comm -23 <(base_names "$md") <(base_names "$(dirname "$md")/Maildir-pop3") |
	while read -r f; do base_names "$md" | grep -nxF "$f" | cut -d: -f1; done |
	sort -n | tr '\n' ' ')
lab_pop3_uidls src "$user" >"$LAB/uidl.src"
extra_line=$(tail -1 "$LAB/uidl.src")
echo "expected: IMAP-only UIDs $expected_imap; POP3-only message $extra_line"

log=$LAB/migrate-$user.log
lab_migration_conf migrate_pop3
rc=0; lab_migrate_backup "$user" || rc=$?
if [ "$rc" -eq 0 ]; then
	fail "$LAB_TEST_NAME" "migration with unmatched messages succeeded under migrate_pop3_unmatched=fail"
	exit 0
fi
echo "ok: migrate_pop3_unmatched=fail: migration failed (exit $rc)"
grep -q "1 POP3 and 2 IMAP messages couldn't be matched" "$log" ||
	{ fail "$LAB_TEST_NAME" "no summary error line"; lab_log_dump; exit 0; }
got_imap=$(sed -n 's/.*IMAP message UID \([0-9]*\) size .* has no POP3 UIDL.*/\1/p' "$log" | sort -n | uniq | tr '\n' ' ')
assert_eq "$expected_imap" "$got_imap" "IMAP-only messages reported by UID" || exit 0
got_pop3=$(sed -n 's/.*POP3 message \([0-9]*\) UIDL \([^ ]*\) size .* has no IMAP message.*/\1 \2/p' "$log" | sort -u)
assert_eq "$extra_line" "$got_pop3" "POP3-only message reported with number and UIDL" || exit 0
n=$(grep -c "has no POP3 UIDL\|has no IMAP message" "$log")
assert_eq 3 "$n" "each unmatched message reported once" || exit 0

# migrate run: exit 2 (docs/commands.md), from migrate_pop3's own record
# of the three messages in the outcome file
rc=0
doveadm -c "$MIG_CONF" migrate run -u "$user" >"$LAB/run.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "migrate run exits 2 with messages unmatched" || cat "$LAB/run.out"
assert_eq "unmatched pop3 3" \
	"$(awk -F'\t' '$1=="unmatched"{print $1, $2, $3}' "$LAB/state/$user.outcome")" \
	"the outcome records 3 unmatched messages"
assert_eq failed "$(lab_status_field "$user" status)" "the account is recorded failed"

lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_unmatched = continue' '}'
rc=0; lab_migrate_backup "$user" || rc=$?
assert_eq 0 "$rc" "migrate_pop3_unmatched=continue: migration completes" || { lab_log_dump; exit 0; }
assert_eq $count "$(lab_imap_count dst "$user")" "every IMAP message copied" || exit 0

rc=0
doveadm -c "$MIG_CONF" migrate verify-uidl -u "$user" >"$LAB/verify.out" 2>&1 || rc=$?
cat "$LAB/verify.out"
assert_eq 2 "$rc" "verify-uidl exits 2 on a difference" || exit 0
grep -q "identical $((count - 2))/$((count - 1)), missing 1, extra 2, reordered 0" "$LAB/verify.out" ||
	{ fail "$LAB_TEST_NAME" "verify-uidl summary wrong"; exit 0; }
assert_eq "missing extra extra" "$(awk '$1=="missing"||$1=="extra"{print $1}' "$LAB/verify.out" | tr '\n' ' ' | sed 's/ $//')" \
	"verify-uidl lists the three differences" || exit 0
pass "$LAB_TEST_NAME"
