#!/usr/bin/env bash
# The lifecycle on every other path, message by message (mailstate.py),
# each with the user working here after the switch (deliveries, a new
# folder, moves, flags, a keyword, POP3 RETR + DELE of the first and the
# last messages) and new mail at the old server:
#  - migrate batch on a maildir destination, two accounts: batch, batch
#    --catch-up (mirrors), migrate switch -F, batch --final, batch --final
#    again (nothing more);
#  - the on-login path: the user logs in here first, migrate worker copies
#    the account (switched from the start; its folders subscribed as at
#    the old server), the user works, a late
#    migrate run adds only the old server's new mail;
#  - --folder-prefix: the old folders under Old/ of an account in use, the
#    user works in them, a later run adds only what is new.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-lifecycle.sh"
. "$(dirname "$0")/lib-onlogin.sh"

LAB_TEST_NAME=lifecycle-paths

batch_path() {
	local u tag=batch users=(lb1@example.com lb2@example.com)
	lab_init
	for u in "${users[@]}"; do
		lab_user_add "$u" "pw-$u"
		lab_corpus "$u" 40 "${#u}1"
		lab_corpus "$u" 5 "${#u}2" Work
	done
	lab_source_start
	lab_dest_start maildir
	lab_migration_conf migrate_pop3
	printf 'email\n%s\n%s\n' "${users[@]}" >"$LAB/accounts.csv"
	chmod 600 "$LAB/accounts.csv"

	mig batch -F "$LAB/accounts.csv"
	assert_eq 0 "$rc" "$tag: first pass" || { tail -20 "$LAB/mig.out"; return 1; }
	for u in "${users[@]}"; do
		lab_corpus "$u" 3 77
		doveadm -c "$SRC_CONF" expunge -u "$u" mailbox INBOX uid 2 || return 1
	done
	mig batch -F "$LAB/accounts.csv"
	assert_ok "$tag: without --catch-up finished accounts are skipped" \
		grep -q "skipped (finished)" "$LAB/mig.out" || return 1
	mig batch -F "$LAB/accounts.csv" --catch-up
	assert_eq 0 "$rc" "$tag: catch-up pass" || { tail -20 "$LAB/mig.out"; return 1; }
	for u in "${users[@]}"; do
		assert_eq mirror "$(lab_status_field "$u" phase)" "$tag: $u mirrors" || return 1
		assert_eq "$(lab_imap_count src "$u")" "$(lab_imap_count dst "$u")" \
			"$tag: $u INBOX mirrors the old one (new and deleted mail)" || return 1
		lc_mark "$u" || return 1
	done
	mig switch -F "$LAB/accounts.csv"
	assert_eq 0 "$rc" "$tag: migrate switch -F" || { tail -5 "$LAB/mig.out"; return 1; }
	for u in "${users[@]}"; do
		assert_eq switched "$(lab_status_field "$u" phase)" "$tag: $u switched" || return 1
		lc_activity "$u" || { fail "$LAB_TEST_NAME" "$tag: activity"; return 1; }
		lc_worked "$u" || return 1
		lab_corpus "$u" 2 78
		lab_corpus "$u" 1 79 Work
	done
	mig batch -F "$LAB/accounts.csv" --final
	assert_eq 0 "$rc" "$tag: batch --final" || { tail -20 "$LAB/mig.out"; return 1; }
	for u in "${users[@]}"; do
		lc_expect_additive "$u" "$tag --final" || return 1
	done
	mig batch -F "$LAB/accounts.csv" --final
	assert_eq 0 "$rc" "$tag: batch --final again" || return 1
	for u in "${users[@]}"; do
		assert_eq 0 "$(lab_status_field "$u" copied)" "$tag: $u: the late pass copies nothing" || return 1
		lc_expect_additive "$u" "$tag late pass" || return 1
	done
	lab_cleanup
}

onlogin_path() {
	local u=lo1@example.com pw=onlogin-pw tag=onlogin
	lab_init
	onlogin_user_add "$u" "$pw"
	lab_corpus "$u" 40 601
	lab_corpus "$u" 5 602 Work
	onlogin_start sdbox
	doveadm -c "$SRC_CONF" mailbox subscribe -u "$u" INBOX Work || return 1
	LAB_MIG_STATE_DIR=$ONLOGIN_STATE_DIR lab_migration_conf migrate_pop3
	onlogin_login imap "$u" "$pw" || { fail "$LAB_TEST_NAME" "$tag: login"; return 1; }
	# the user got mail here before the worker ran
	onlogin_deliver "$u" "before the worker" || return 1
	onlogin_worker --once -n 1 --max-load 0
	assert_eq 0 "$?" "$tag: the worker copied the account" || { tail -20 "$LAB/worker.log"; return 1; }
	assert_eq switched "$(lab_status_field "$u" phase)" "$tag: switched from the start" || return 1
	assert_eq 41 "$(lab_imap_count dst "$u")" "$tag: INBOX = 40 old + 1 delivered here" || return 1
	# (copy-new made Work here: subscribed as at the old server)
	assert_ok "$tag: Work subscribed here, as at the old server" \
		grep -qx Work <(doveadm -c "$DST_CONF" mailbox list -s -u "$u") || return 1
	# what the old server had when the worker copied it
	lc_mark "$u" || return 1
	LC_DST_LOGIN_USER=1 lc_activity "$u" || { fail "$LAB_TEST_NAME" "$tag: activity"; return 1; }
	LC_DST_LOGIN_USER=1 lc_worked "$u" || return 1
	lab_corpus "$u" 3 603
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: a late migrate run" || { tail -20 "$LAB/mig.out"; return 1; }
	LC_DST_LOGIN_USER=1 lc_expect_additive "$u" "$tag late pass" || return 1
	lab_cleanup
}

prefix_path() {
	local u=lp1@example.com tag=folder-prefix
	lab_init
	lab_user_add "$u" "pw-$u"
	lab_corpus "$u" 30 701
	lab_corpus "$u" 5 702 Work
	lab_source_start
	lab_dest_start sdbox
	lab_migration_conf migrate_pop3
	# the account has mail of its own here
	printf 'From: a@example.net\r\nSubject: own\r\nMessage-ID: <own@example.net>\r\n\r\nown mail\r\n' |
		doveadm -c "$DST_CONF" save -u "$u" -m INBOX || return 1
	mig run -u "$u" --folder-prefix Old
	assert_eq 0 "$rc" "$tag: first run" || { tail -20 "$LAB/mig.out"; return 1; }
	lc_mark "$u" || return 1
	LC_PREFIX=Old lc_activity "$u" || { fail "$LAB_TEST_NAME" "$tag: activity"; return 1; }
	doveadm -c "$DST_CONF" expunge -u "$u" mailbox Old/INBOX uid 28:30 || return 1
	lc_worked "$u" || return 1
	lab_corpus "$u" 2 703
	lab_corpus "$u" 1 704 Work
	mig run -u "$u" --folder-prefix Old
	assert_eq 0 "$rc" "$tag: second run" || { tail -20 "$LAB/mig.out"; return 1; }
	LC_PREFIX=Old lc_expect_additive "$u" "$tag second run" || return 1
	lab_cleanup
}

batch_path
onlogin_path
prefix_path
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
