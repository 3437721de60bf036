#!/usr/bin/env bash
# The user reorganises folders here after the switch, on sdbox and maildir
# destinations, and the old server still gets new mail in each of them:
#  - a folder renamed here (Work -> Clients), and a new folder made with
#    the old name (Work): the old Work's new mail goes to Clients (the
#    folder the mark names by its GUID), the user's own Work is left as
#    it is;
#  - a folder deleted here with its mail (Old): its new mail comes in a
#    folder made again, without the deleted messages; one deleted here
#    that gets no new mail (Lists) isn't made again;
#  - a folder made at the old server after the switch (News, subscribed
#    there; Hidden, not) comes here with its mail;
#  - a folder a pass makes here is subscribed when it is at the old
#    server (Old, News; not Hidden), as dsync's passes did, so that a
#    client showing subscribed folders only shows the new mail; the
#    user's own subscriptions are left as they are;
#  - the final pass leaves exactly what the user left plus the old
#    server's new mail (mailstate.py, by content and flags, per folder;
#    POP3 through a client's eyes); a late pass copies nothing;
#  - an old server that refuses LSUB (IMAP4rev2 drops it; quirkproxy.py):
#    the pass warns (no error line) and still copies a new folder's mail,
#    unsubscribed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-lifecycle.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=lifecycle-folders

dst_count() {	# USER FOLDER: its messages here ("none" if there is no such folder)
	doveadm -c "$DST_CONF" -f tab mailbox status -u "$1" messages "$2" 2>/dev/null |
		awk 'NR == 2 { print $NF; found = 1 } END { if (!found) print "none" }'
}

dst_subscribed() {	# USER: its subscribed folders here, sorted, on a line
	doveadm -c "$DST_CONF" mailbox list -s -u "$1" | sort | xargs
}

timeline() {
	local driver=$1 u=$2 tag=$1

	lab_init
	lab_user_add "$u" "pw-$u"
	lab_corpus "$u" 20 601
	lab_corpus "$u" 6 602 Work
	lab_corpus "$u" 4 603 Old
	lab_corpus "$u" 3 607 Lists
	lab_source_start
	doveadm -c "$SRC_CONF" mailbox subscribe -u "$u" INBOX Work Old Lists || return 1
	lab_dest_start "$driver"
	lab_migration_conf migrate_pop3

	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: first pass" || { tail -20 "$LAB/mig.out"; return 1; }
	lc_mark "$u" || return 1
	mig switch -u "$u"
	assert_eq 0 "$rc" "$tag: migrate switch" || return 1
	assert_eq "INBOX Lists Old Work" "$(dst_subscribed "$u")" "$tag: subscriptions as at the old server" || return 1

	# the user reorganises the folders here
	doveadm -c "$DST_CONF" mailbox rename -s -u "$u" Work Clients || return 1
	doveadm -c "$DST_CONF" mailbox create -u "$u" Work || return 1
	printf 'From: me@example.net\r\nTo: %s\r\nSubject: my own Work folder\r\nDate: Sun, 6 Dec 2026 12:00:00 +0000\r\nMessage-ID: <own-work-%s@example.net>\r\n\r\na new folder with the old name\r\n' \
		"$u" "$u" | doveadm -c "$DST_CONF" save -u "$u" -m Work || return 1
	doveadm -c "$DST_CONF" mailbox delete -s -u "$u" Old Lists || return 1
	assert_eq "Clients INBOX" "$(dst_subscribed "$u")" "$tag: the user's subscriptions here" || return 1
	assert_eq none "$(dst_count "$u" Old)" "$tag: the user deleted Old here" || return 1
	lc_pop3 dst "$u" "$LAB/$u.client.uidl"
	lc_worked "$u" || return 1

	# the old server gets new mail in each folder
	lab_corpus "$u" 2 604 Work
	lab_corpus "$u" 1 605 Old
	lab_corpus "$u" 1 606
	lab_corpus "$u" 2 608 News
	lab_corpus "$u" 1 609 Hidden
	doveadm -c "$SRC_CONF" mailbox subscribe -u "$u" News || return 1

	mig run -u "$u" --final
	assert_eq 0 "$rc" "$tag: final pass" || { tail -20 "$LAB/mig.out"; return 1; }
	assert_eq 7 "$(lab_status_field "$u" copied)" "$tag: the 7 new messages copied" || return 1
	LC_RENAME="Work=Clients" lc_expect_additive "$u" "$tag final pass" || return 1
	assert_eq 8 "$(dst_count "$u" Clients)" "$tag: Clients (the renamed Work): its 6 and the old Work's 2 new" || return 1
	assert_eq 1 "$(dst_count "$u" Work)" "$tag: the user's own Work: only the user's message" || return 1
	assert_eq 1 "$(dst_count "$u" Old)" "$tag: Old made again with only its new message" || return 1
	assert_eq none "$(dst_count "$u" Lists)" "$tag: Lists (deleted here, nothing new there) not made again" || return 1
	assert_eq "Clients INBOX News Old" "$(dst_subscribed "$u")" \
		"$tag: Old and News made here subscribed (as at the old server), Hidden not, the user's own kept" || return 1

	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: late pass" || return 1
	assert_eq 0 "$(lab_status_field "$u" copied)" "$tag: late pass copies nothing" || return 1
	LC_RENAME="Work=Clients" lc_expect_additive "$u" "$tag late pass" || return 1
	assert_eq none "$(dst_count "$u" Lists)" "$tag: late pass: Lists still deleted" || return 1
	assert_eq "Clients INBOX News Old" "$(dst_subscribed "$u")" "$tag: late pass: subscriptions unchanged" || return 1

	# an old server without LSUB: no subscriptions to follow, the mail
	# comes all the same
	[ "$driver" = sdbox ] || { lab_cleanup; return 0; }
	local port conf
	port=$(quirk_proxy nolsub --refuse LSUB)
	conf=$(mig_conf nolsub "imapc_port = $port")
	lab_corpus "$u" 2 610 Later
	doveadm -c "$SRC_CONF" mailbox subscribe -u "$u" Later || return 1
	rc=0
	doveadm -c "$conf" migrate run -u "$u" </dev/null >"$LAB/nolsub.out" 2>&1 || rc=$?
	assert_eq 0 "$rc" "$tag: LSUB refused: the pass succeeds" || { tail -20 "$LAB/nolsub.out"; return 1; }
	assert_ok "$tag: LSUB refused: the proxy refused it" test "$(quirk_hits nolsub refuse)" -gt 0 || return 1
	assert_ok "$tag: LSUB refused: a warning says so" \
		grep -q "Warning: .*reading the old server's subscriptions failed" "$LAB/nolsub.out" || { cat "$LAB/nolsub.out"; return 1; }
	assert_eq 0 "$(grep -c "Error:" "$LAB/nolsub.out")" "$tag: LSUB refused: no error line (imapc's is logged as info)" ||
		{ grep "Error:" "$LAB/nolsub.out"; return 1; }
	assert_eq 2 "$(dst_count "$u" Later)" "$tag: LSUB refused: the new folder's mail copied" || return 1
	assert_eq "Clients INBOX News Old" "$(dst_subscribed "$u")" "$tag: LSUB refused: Later made here unsubscribed" || return 1
	lab_cleanup
}

timeline sdbox fold1@example.com
timeline maildir fold2@example.com
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
