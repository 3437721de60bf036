#!/usr/bin/env bash
# The modules as an admin meets them: both mail plugins load by name in the
# migration config's doveadm mail_plugins (a doveadm command works with
# them), doveadm shows the "migrate" command group, and migrate_pop3 loaded
# by mistake into the production POP3 service disables itself with an error
# instead of changing what POP3 clients see.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

user=mod@example.com
LAB_TEST_NAME=modules
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" 5 81
lab_source_start
LAB_DST_EXTRA_CONF='protocol pop3 {
  mail_plugins = $mail_plugins migrate_pop3
}'
lab_dest_start sdbox
lab_migration_conf migrate_pop3 migrate_gmail

out=$(doveadm -c "$MIG_CONF" -D mailbox list -u "$user" 2>&1) ||
	{ fail "$LAB_TEST_NAME" "mailbox list with both plugins failed: $(tail -3 <<<"$out")"; exit 0; }
for m in lib05_migrate_pop3_plugin lib20_migrate_gmail_plugin; do
	grep -q "Module loaded: .*/$m.so" <<<"$out" ||
		{ fail "$LAB_TEST_NAME" "$m not loaded"; exit 0; }
done
echo "ok: migrate_pop3 and migrate_gmail load, mailbox list works"

rc=0; usage=$(doveadm migrate 2>&1) || rc=$?
grep -q "verify-uidl" <<<"$usage" ||
	{ fail "$LAB_TEST_NAME" "doveadm migrate doesn't list its commands: $usage"; exit 0; }
help=$(doveadm help 2>&1) || true
grep -qE "^ *migrate +([a-z-]+\|)*verify-uidl" <<<"$help" ||
	{ fail "$LAB_TEST_NAME" "doveadm help doesn't show migrate"; exit 0; }
echo "ok: doveadm shows the migrate command group"

# a POP3 login to the destination with the plugin wrongly loaded there
lab_migrate_backup "$user"
lab_pop3_uidls dst "$user" >"$LAB/uidl.dst"
assert_eq 5 "$(wc -l <"$LAB/uidl.dst")" "POP3 still works with the plugin loaded by mistake" || exit 0
grep -q "migrate_pop3: Loaded in service pop3 - this plugin belongs only in the migration config" "$DST_LOG" ||
	{ fail "$LAB_TEST_NAME" "no error about migrate_pop3 loaded in the POP3 service"; lab_log_dump; exit 0; }
echo "ok: migrate_pop3 in the production POP3 service disables itself with an error"
pass "$LAB_TEST_NAME"
