#!/usr/bin/env bash
# The lifecycle of an account with migrate run, message by message, on
# sdbox and mdbox destinations (Dovecot source, POP3 UIDLs kept):
#  - first pass and a catch-up pass mirror the old server: new mail,
#    deletions and flag changes there follow here; POP3 UIDLs identical,
#    in order;
#  - the MX switch (migrate switch; on mdbox the admin forgets it and the
#    pass finds the user's changes itself), the user works here
#    (deliveries, a new folder, moves, flags, a keyword, POP3 RETR + DELE
#    of the first and the last messages), new mail at the old server;
#  - the final pass: everything the user left is there, as left, plus the
#    old server's new mail with its UIDLs, in its POP3 order; nothing
#    lost, twice or brought back; a late pass changes nothing;
#  - a pass killed with kill -9 in the middle, then run again: the same,
#    also after a storage rebuild here (force-resync: mdbox puts back the
#    messages its files hold of the killed pass's open commit);
#  - the migration config has no dsync_features (migrate run sets
#    empty-header-workaround itself) and the source has an LF CR CR LF
#    message;
#  - before the switch, a mailbox dsync deletes as out of step is copied
#    again in the same run: no pass leaves the account without it.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-lifecycle.sh"

LAB_TEST_NAME=lifecycle-run
# the LF CR CR LF message is stored with CRLF here
LC_EOL=1

# a message whose header ends with LF CR CR LF (Courier stores such)
crcr_message() {
	local md
	md=$(lab_maildir "$1")
	printf 'From: crcr@example.org\nTo: %s\nSubject: LF CR CR LF header end\nDate: Mon, 2 Jan 2023 10:00:00 +0000\nMessage-ID: <crcr@example.org>\n\r\r\nbody after an odd header end\n' "$1" \
		>"$md/new/1690000000.crcr.dmlab"
	chown "$LAB_UID:$LAB_GID" "$md/new/1690000000.crcr.dmlab"
}

# timeline DRIVER USER SWITCH: SWITCH is "switch" (migrate switch at the MX
# switch) or "forgotten" (nothing: the pass must find out itself)
timeline() {
	local driver=$1 u=$2 how=$3 out tag="$1"

	lab_init
	lab_user_add "$u" "pw-$u"
	lab_corpus "$u" 60 501
	lab_corpus "$u" 10 502 Work
	crcr_message "$u"
	lab_source_start
	lab_dest_start "$driver"
	lab_migration_conf migrate_pop3 migrate_throttle
	# as an admin's config may be: without dsync_features
	sed -i '/^dsync_features/d' "$MIG_CONF"
	# slow enough for the kill below to land in the middle of a pass
	lab_migration_conf_add "plugin {" "  migrate_throttle_msgs = 500" "}"

	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: first pass" || { tail -20 "$LAB/mig.out"; return 1; }
	assert_eq mirror "$(lab_status_field "$u" phase)" "$tag: phase mirror" || return 1

	# the old server changes: new mail, deletions, a flag
	lab_corpus "$u" 5 503
	doveadm -c "$SRC_CONF" expunge -u "$u" mailbox INBOX uid 10,20,30 || return 1
	doveadm -c "$SRC_CONF" flags add -u "$u" '\Flagged' mailbox INBOX uid 7 || return 1
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: catch-up pass" || { tail -20 "$LAB/mig.out"; return 1; }
	assert_eq mirror "$(lab_status_field "$u" phase)" "$tag: still mirroring" || return 1
	out=$(MAILCMP_LOGIN="$u*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" --eol </dev/null | head -1)
	assert_eq "identical folders=2 messages=73" "$out" "$tag: the catch-up pass mirrors the old server (new, deleted, flagged)" || return 1
	mig verify-uidl -u "$u" -s
	assert_eq 0 "$rc" "$tag: POP3 UIDLs identical, in order" || { tail -5 "$LAB/mig.out"; return 1; }
	lc_mark "$u" || return 1

	# the MX switch, and the user works here
	if [ "$how" = switch ]; then
		mig switch -u "$u"
		assert_eq 0 "$rc" "$tag: migrate switch" || return 1
		assert_eq switched "$(lab_status_field "$u" phase)" "$tag: switched" || return 1
	fi
	lc_activity "$u" || { fail "$LAB_TEST_NAME" "$tag: user activity failed"; return 1; }
	lc_worked "$u" || return 1
	# the old server gets new mail (and changes the user doesn't see)
	lab_corpus "$u" 3 504
	lab_corpus "$u" 1 505 Work
	doveadm -c "$SRC_CONF" expunge -u "$u" mailbox INBOX uid 40 || return 1
	# (on the LF CR CR LF message, UID 1: its content is unique, so the
	# expected state can say which copy has which flags)
	doveadm -c "$SRC_CONF" flags add -u "$u" '\Answered' mailbox INBOX uid 1 || return 1

	if [ "$how" = switch ]; then
		mig run -u "$u" --final
	else
		mig run -u "$u"
	fi
	assert_eq 0 "$rc" "$tag: final pass" || { tail -20 "$LAB/mig.out"; return 1; }
	assert_eq switched "$(lab_status_field "$u" phase)" "$tag: phase switched" || return 1
	if [ "$how" = forgotten ]; then
		grep -q "switched (changes here since the last pass" "$LAB/mig.out" ||
			{ fail "$LAB_TEST_NAME" "$tag: the pass didn't say why it switched"; return 1; }
		echo "ok: $tag: without --final the pass found the user's changes and switched"
	fi
	assert_eq 4 "$(lab_status_field "$u" copied)" "$tag: the 4 new messages copied" || return 1
	lc_expect_additive "$u" "$tag final pass" || return 1

	# a late pass changes nothing
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: late pass" || return 1
	assert_eq 0 "$(lab_status_field "$u" copied)" "$tag: late pass copies nothing" || return 1
	lc_expect_additive "$u" "$tag late pass" || return 1

	# a pass killed in the middle, then run again
	lab_corpus "$u" 400 506
	setsid doveadm -c "$MIG_CONF" migrate run -u "$u" </dev/null \
		>>"$LAB/mig.out" 2>&1 &
	local pid=$! before i n
	before=$(lab_imap_count dst "$u")
	for ((i = 0; i < 400; i++)); do
		n=$(lab_imap_count dst "$u" 2>/dev/null || echo "$before")
		[ "$n" -ge $((before + 100)) ] && break
		sleep 0.02
	done
	kill -9 -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	n=$(lab_imap_count dst "$u")
	echo "ok: $tag: killed the pass with $((n - before)) of 400 new messages copied"
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: the pass after the kill" || { tail -20 "$LAB/mig.out"; return 1; }
	lc_expect_additive "$u" "$tag after kill -9" || return 1
	# whatever the kill left in the files here without an index record
	# (mdbox: whole messages of the open commit, which its storage
	# rebuild puts back into their folder) is no second copy
	doveadm -c "$DST_CONF" force-resync -u "$u" '*' ||
		{ fail "$LAB_TEST_NAME" "$tag: force-resync here failed"; return 1; }
	lc_expect_additive "$u" "$tag after kill -9 and a rebuild here" || return 1
	lab_cleanup
}

# out_of_step USER: a mirroring pass finds INBOX here out of step with the
# old server (a message missing here that the last pass left: what a
# failed pass can leave behind) and dsync deletes INBOX to copy it again
out_of_step() {
	local u=$1 tag=out-of-step
	lab_init
	lab_user_add "$u" "pw-$u"
	lab_corpus "$u" 30 511
	lab_source_start
	lab_dest_start sdbox
	lab_migration_conf migrate_pop3
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: first pass" || return 1
	doveadm -c "$DST_CONF" expunge -u "$u" mailbox INBOX uid 5 || return 1
	# ... as if the migration had left it so
	doveadm -c "$MIG_CONF" -f tab mailbox status -u "$u" \
		"guid uidvalidity uidnext highestmodseq messages vsize" '*' |
		python3 -c '
import sys
rows = [l.rstrip("\n").split("\t") for l in sys.stdin]
col = {n: i for i, n in enumerate(rows[0])}
print("V1")
for r in rows[1:]:
    print("\t".join(r[col[k]] for k in ("guid", "uidvalidity", "uidnext",
        "highestmodseq", "messages", "vsize", "mailbox")))' \
		>"$LAB/state/$u.snapshot" || return 1
	: >"$LAB/mig.out"
	mig run -u "$u"
	assert_eq 0 "$rc" "$tag: the mirroring pass succeeds" || { tail -20 "$LAB/mig.out"; return 1; }
	assert_eq mirror "$(lab_status_field "$u" phase)" "$tag: still mirroring" || return 1
	# 2.4's dsync deletes the mailbox the same way (delete_mailbox in
	# dsync_mailbox_revert_missing()), only its warning is worded
	# "Import mailbox INBOX: Deleting UID=5 GUID= is missing locally"
	local deleted="Deleting mailbox 'INBOX'"
	[ "$LAB_DOVECOT" = 2.4 ] &&
		deleted="Import mailbox INBOX: Deleting UID=5 GUID=.* is missing locally"
	assert_ok "$tag: dsync deleted INBOX as out of step" \
		grep -q "$deleted" "$LAB/mig.out" || return 1
	assert_ok "$tag: the run copied it again at once" \
		grep -q "dsync deleted mailbox INBOX to copy it again" "$LAB/mig.out" || return 1
	assert_eq 30 "$(lab_imap_count dst "$u")" "$tag: INBOX complete at the end of the run" || return 1
	lab_cleanup
}

out_of_step oos@example.com
timeline sdbox life1@example.com switch
timeline mdbox life2@example.com forgotten
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
