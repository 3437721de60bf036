#!/usr/bin/env bash
# migrate_pop3_uidl_format: UIDLs computed from IMAP UID/UIDVALIDITY.
#  a) the source's own formula (%08Xu%08Xv), checked against a sample of the
#     real POP3 list first: every UIDL served, in order;
#  b) a wrong formula: refused with a clear error, nothing half-migrated
#     with wrong UIDLs;
#  c) formula only (no migrate_pop3_mailbox): no POP3 connection at all,
#     every UIDL still right.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=pop3-formula
lab_init
for u in a b c; do
	lab_user_add "$u@example.com" secret1
	lab_corpus "$u@example.com" 150 51
done
lab_source_start
lab_dest_start sdbox


# a) verified formula
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_format = %%08Xu%%08Xv' '}'
rc=0; lab_migrate_backup a@example.com || rc=$?
summary=$(grep 'migrate_pop3: POP3 ' "$LAB/migrate-a@example.com.log" | tail -1)
echo "a) exit $rc: ${summary#*migrate_pop3: }"
assert_eq 0 "$rc" "a) migration with the verified formula" || { lab_log_dump; exit 0; }
assert_eq "formula 150" "$(grep -o 'formula [0-9]*' <<<"$summary")" "a) every UIDL from the formula" || exit 0
assert_eq "150 150 yes" "$(lab_uidl_same a@example.com)" "a) UIDLs served in order" || exit 0

# b) wrong formula: refused
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_format = %%v.%%u' '}'
rc=0; lab_migrate_backup b@example.com || rc=$?
# the setting as the plugin sees it: 2.4 writes the variables %{...}
wrong='%v.%u'
[ "$LAB_DOVECOT" = 2.4 ] && wrong='%{uidvalidity}.%{uid}'
err=$(grep -m1 -F "migrate_pop3_uidl_format=$wrong doesn't give the old server's UIDLs" \
	"$LAB/migrate-b@example.com.log" | cut -c1-200 || true)
echo "b) exit $rc: ${err#*migrate_pop3: }"
if [ "$rc" -eq 0 ] || [ -z "$err" ]; then
	fail "$LAB_TEST_NAME" "b) a wrong formula wasn't refused (exit $rc)"
	exit 0
fi
echo "ok: b) wrong formula refused (exit $rc)"
assert_eq 0 "$(lab_pop3_uidls dst b@example.com | grep -c '\.' || true)" \
	"b) no message got a formula UIDL" || exit 0

# c) formula only: no POP3 connection (a's run shows the count works)
if [ "$(lab_pop3_logins a@example.com)" -eq 0 ]; then
	fail "$LAB_TEST_NAME" "a) the verification made no POP3 login: log check broken"
	exit 0
fi
before=$(lab_pop3_logins c@example.com)
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_mailbox =' \
	'  migrate_pop3_uidl_format = %%08Xu%%08Xv' '}'
rc=0; lab_migrate_backup c@example.com || rc=$?
assert_eq 0 "$rc" "c) formula-only migration" || { lab_log_dump; exit 0; }
assert_eq "$before" "$(lab_pop3_logins c@example.com)" "c) no POP3 login to the source" || exit 0
assert_eq "150 150 yes" "$(lab_uidl_same c@example.com)" "c) UIDLs served in order" || exit 0
pass "$LAB_TEST_NAME"
