#!/usr/bin/env bash
# A mirroring pass killed -9 on an mdbox destination before its first
# commit: the messages it appended to the m.* file the first pass left
# open are whole there but have no map record, so nothing is here that a
# mailbox status, IMAP or the next pass's snapshot could see. Dovecot's
# storage rebuild (an append that finds the broken record, a force-resync,
# a purge that finds corruption) puts them back into INBOX whenever it
# runs. migrate run's first look here after a killed pass rebuilds the
# storage first (migrate_guard=rebuild on its mailbox status child), so the
# next pass sees them: the account is taken as switched (changes here
# since the pass before the killed one) and copy-new counts them as here.
# Without that the next pass mirrors, copies those messages again, and a
# rebuild here afterwards (even years later) gives the user them twice.
# Checked after the re-run and again after a force-resync here: INBOX is
# the old server's (mailcmp.py: every message once, its flags), and the
# POP3 UIDLs match in order (verify-uidl).
# Then the same for `migrate copy-new` run by hand on the switched account,
# killed before its first commit, and `migrate copy-new -R` by hand: it
# rebuilds the storage itself (in migrate run's child it leaves that to
# the run).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-lifecycle.sh"

LAB_TEST_NAME=mdbox-killed-commit
U=uncommitted@example.com

# bytes in the user's mdbox m.* files here
storage_bytes() {
	local f sum=0 size
	for f in "$LAB/dst/home/$U/mail/storage"/m.*; do
		[ -f "$f" ] || continue
		size=$(stat -c %s "$f" 2>/dev/null) || continue
		sum=$((sum + size))
	done
	echo "$sum"
}

# identical TAG MESSAGES: INBOX here is the old server's, and so are the
# UIDLs
identical() {
	local out
	out=$(MAILCMP_LOGIN="$U*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" </dev/null | head -1)
	assert_eq "identical folders=1 messages=$2" "$out" "$1: every message once, with its flags" || return 1
	mig verify-uidl -u "$U" -s
	assert_eq 0 "$rc" "$1: POP3 UIDLs identical, in order" || { tail -5 "$LAB/mig.out"; return 1; }
}

# kill_before_commit TAG ARGS...: doveadm migrate ARGS in the background,
# killed -9 once it has written 200 KB of messages into mdbox's files,
# before its first commit (nothing new in INBOX here)
kill_before_commit() {
	local tag=$1 pid i first bytes=0 before n
	shift
	first=$(storage_bytes)
	before=$(lab_imap_count dst "$U")
	setsid doveadm -c "$MIG_CONF" migrate "$@" </dev/null \
		>>"$LAB/mig.out" 2>&1 &
	pid=$!
	for ((i = 0; i < 1000; i++)); do
		bytes=$(( $(storage_bytes) - first ))
		[ "$bytes" -ge 200000 ] && break
		sleep 0.01
	done
	kill -9 -- "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	n=$(lab_imap_count dst "$U")
	assert_eq "$before" "$n" "$tag: the killed pass committed nothing" || return 1
	[ "$bytes" -ge 200000 ] ||
		{ fail "$LAB_TEST_NAME" "$tag: the pass wrote no messages before the kill ($bytes bytes)"; return 1; }
	echo "ok: $tag: killed with $bytes bytes of its messages in mdbox's files, none committed"
}

run_test() {
	lab_init
	lab_user_add "$U" "pw-$U"
	lab_corpus "$U" 50 505
	lab_source_start
	lab_dest_start mdbox
	lab_migration_conf migrate_pop3 migrate_throttle
	mig run -u "$U"
	assert_eq 0 "$rc" "first pass" || { tail -20 "$LAB/mig.out"; return 1; }

	# a catch-up pass (dsync) killed, then migrate run again
	lab_corpus "$U" 250 506
	# one commit at the end of INBOX, and slow enough to kill before it
	lab_migration_conf_add "dsync_commit_msgs_interval = 1000" \
		"plugin {" "  migrate_throttle_msgs = 150" "}"
	kill_before_commit "catch-up pass" run -u "$U" || return 1
	mig run -u "$U"
	assert_eq 0 "$rc" "the pass after the kill" || { tail -20 "$LAB/mig.out"; return 1; }
	identical "after the re-run" 300 || return 1
	doveadm -c "$DST_CONF" force-resync -u "$U" '*' ||
		{ fail "$LAB_TEST_NAME" "force-resync here failed"; return 1; }
	identical "after a rebuild here" 300 || return 1
	assert_ok "the run says it rebuilds the storage" \
		grep -q "after a killed pass: an mdbox storage here is rebuilt first" "$LAB/mig.out" || return 1
	assert_ok "the pass saw the killed pass's messages here" \
		grep -q "the last pass was killed before it recorded what it left here" "$LAB/mig.out" || return 1
	assert_eq switched "$(lab_status_field "$U" phase)" "switched: what is here isn't only the old server's" || return 1

	# the switched account's copy-new run by hand, killed, then
	# copy-new -R by hand (as the docs tell an admin after a kill)
	lab_corpus "$U" 250 507
	kill_before_commit "copy-new by hand" copy-new -u "$U" || return 1
	mig copy-new -R -u "$U"
	assert_eq 0 "$rc" "copy-new -R after the kill" || { tail -20 "$LAB/mig.out"; return 1; }
	doveadm -c "$DST_CONF" force-resync -u "$U" '*' ||
		{ fail "$LAB_TEST_NAME" "force-resync here failed"; return 1; }
	identical "copy-new -R, then a rebuild here" 550 || return 1
	lab_cleanup
}

run_test
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
