#!/usr/bin/env bash
# migrate run --folder-prefix ("sync into a folder"): the old account's
# folders, INBOX included, arrive under one folder of an account that
# already has mail here:
#  - every message of every source folder is under Old/ (hash of
#    header+body and flags, mailcmp.py), the account's own INBOX and Sent
#    are untouched;
#  - the account is switched from the first run (its own mail is in use);
#  - a second run copies only the new mail, a third copies nothing
#    (migrate copy-new's marks), also after the user deleted some of the
#    old mail under Old/ (nothing comes back);
#  - the run and its migrate copy-new child are clean under valgrind;
#  - migrate batch --folder-prefix hands it to every account;
#  - an invalid prefix and migrate_gmail are refused (64).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=folder-prefix
lab_init
lab_user_add f1@example.com pw1
lab_corpus f1@example.com 6 81
lab_corpus f1@example.com 3 82 Sent
lab_corpus f1@example.com 2 83 Work/Sub
lab_user_add f2@example.com pw2
lab_corpus f2@example.com 4 84
lab_source_start
# special-use mailboxes as Debian's 15-mailboxes.conf has them
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox Drafts {
    special_use = \Drafts
  }
  mailbox Sent {
    special_use = \Sent
  }
}'
lab_dest_start sdbox
lab_migration_conf

# f1 already works here: 4 messages in INBOX, 1 in Sent
doveadm -c "$DST_CONF" mailbox create -u f1@example.com Sent
for i in 1 2 3 4 5; do
	box=INBOX
	[ "$i" = 5 ] && box=Sent
	printf 'From: new@example.com\r\nTo: f1@example.com\r\nSubject: here %s\r\nMessage-ID: <here-%s@example.com>\r\n\r\ndelivered to the new server\r\n' "$i" "$i" |
		doveadm -c "$DST_CONF" save -u f1@example.com -m "$box" || { fail "$LAB_TEST_NAME" "save failed"; exit 0; }
done

compare() {	# USER -> mailcmp.py line for the source vs Old/ here
	MAILCMP_LOGIN="$1*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" --dst-prefix Old/ </dev/null | head -n 5
}
run() {	# USER ARGS... -> exit code in $rc, output in $LAB/run.out
	rc=0
	doveadm -c "$MIG_CONF" migrate run -u "$@" </dev/null \
		>"$LAB/run.out" 2>&1 || rc=$?
}

run f1@example.com --folder-prefix Old
assert_eq 0 "$rc" "first run: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq "identical folders=3 messages=11" "$(compare f1@example.com)" "first run: every source folder is under Old/ (hashes, flags)" || exit 0
assert_eq 4 "$(lab_imap_count dst f1@example.com INBOX)" "the account's own INBOX is untouched" || exit 0
assert_eq 1 "$(lab_imap_count dst f1@example.com Sent)" "the account's own Sent is untouched" || exit 0
assert_eq 11 "$(lab_status_field f1@example.com copied)" "status: 11 copied" || exit 0
assert_eq switched "$(lab_status_field f1@example.com phase)" "the account is switched from the first run" || exit 0

# the user deletes the old INBOX's mail here (a POP3 client would): it
# stays deleted
doveadm -c "$DST_CONF" expunge -u f1@example.com mailbox Old/INBOX all
deleted=6

lab_corpus f1@example.com 2 85
lab_corpus f1@example.com 1 86 Work/Sub
run f1@example.com --folder-prefix Old --final
assert_eq 0 "$rc" "second run: exit 0" || { cat "$LAB/run.out"; exit 0; }
assert_eq 3 "$(lab_status_field f1@example.com copied)" "second run: only the 3 new messages copied" || exit 0
assert_eq 2 "$(lab_imap_count dst f1@example.com Old/INBOX)" "second run: the $deleted messages deleted here stay deleted, the 2 new ones came" || exit 0
assert_eq 3 "$(lab_imap_count dst f1@example.com Old/Work/Sub)" "second run: Old/Work/Sub got its 1 new message (3)" || exit 0
assert_eq 3 "$(lab_imap_count dst f1@example.com Old/Sent)" "second run: Old/Sent unchanged (3)" || exit 0

run f1@example.com --folder-prefix Old --final
assert_eq 0 "$(lab_status_field f1@example.com copied)" "third run: nothing copied" || { cat "$LAB/run.out"; exit 0; }
assert_eq 4 "$(lab_imap_count dst f1@example.com INBOX)" "the account's own INBOX is still untouched" || exit 0

# once more under valgrind, children included (migrate copy-new): one new
# message, no errors, no leaks
lab_corpus f1@example.com 1 87 Sent
rc=0
valgrind -q --vgdb=no --trace-children=yes --keep-debuginfo=yes \
	--leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$LAB/vg.%p.log" \
	doveadm -c "$MIG_CONF" migrate run -u f1@example.com --folder-prefix Old \
	</dev/null >"$LAB/vg.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "under valgrind: exit 0" || { tail -5 "$LAB/vg.out"; cat "$LAB"/vg.*.log | head -40; exit 0; }
if [ -n "$(find "$LAB" -name 'vg.*.log' -size +0)" ]; then
	fail "$LAB_TEST_NAME" "valgrind reported errors:"; cat "$LAB"/vg.*.log | head -40; exit 0
fi
echo "ok: migrate run --folder-prefix is clean under valgrind, children included"
assert_eq 1 "$(lab_status_field f1@example.com copied)" "under valgrind: the new message copied" || exit 0

# batch hands the prefix on
printf 'email\nf2@example.com\n' >"$LAB/accounts.csv"
chmod 600 "$LAB/accounts.csv"
rc=0
doveadm -c "$MIG_CONF" migrate batch -F "$LAB/accounts.csv" --folder-prefix Old \
	</dev/null >"$LAB/batch.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "batch --folder-prefix: exit 0" || { cat "$LAB/batch.out"; exit 0; }
assert_eq "identical folders=1 messages=4" "$(compare f2@example.com)" "batch --folder-prefix: f2's INBOX is under Old/" || exit 0

run f1@example.com --folder-prefix INBOX
assert_eq 64 "$rc" "--folder-prefix INBOX is refused" || { cat "$LAB/run.out"; exit 0; }
run f1@example.com --folder-prefix 'a%u'
assert_eq 64 "$rc" "a prefix with % is refused" || { cat "$LAB/run.out"; exit 0; }
# a config it can't work with: refused before anything is read or copied
cp "$MIG_CONF" "$LAB/gmail.conf"
printf 'protocol doveadm {\n  mail_plugins = $mail_plugins migrate_gmail\n}\n' | lab__conf24 >>"$LAB/gmail.conf"
rc=0
doveadm -c "$LAB/gmail.conf" migrate run -u f1@example.com \
	--folder-prefix Old </dev/null >"$LAB/run.out" 2>&1 || rc=$?
assert_eq 64 "$rc" "--folder-prefix with migrate_gmail is refused" || { cat "$LAB/run.out"; exit 0; }
assert_ok "... saying why" grep -qF "isn't supported with migrate_gmail" "$LAB/run.out" || { cat "$LAB/run.out"; exit 0; }
pass "$LAB_TEST_NAME"
