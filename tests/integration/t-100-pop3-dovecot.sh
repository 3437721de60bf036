#!/usr/bin/env bash
# migrate_pop3 between two Dovecots: every UIDL of the old POP3 server is
# served, in order, by the new one, on a corpus with duplicates and odd
# messages; a pass with nothing new matches nothing (dsync asks no
# UIDL); the run after new mail reads only the new messages' headers
# (cache), and their UIDLs are served on sdbox, mdbox and maildir
# destinations (Dovecot 2.3.19 sdbox alone would lose them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

user=alice@example.com

# compare the old and the new server's POP3 UIDL listings (number + UIDL,
# so order counts); prints "matched total"
uidl_compare() {
	lab_pop3_uidls src "$user" >"$LAB/uidl.src"
	lab_pop3_uidls dst "$user" >"$LAB/uidl.dst"
	read -r matched total same < <(lab_uidl_compare "$LAB/uidl.src" "$LAB/uidl.dst")
	if [ "$same" != yes ]; then
		diff "$LAB/uidl.src" "$LAB/uidl.dst" | head -5 >&2 || true
	fi
	echo "$matched $total"
}

# the matcher's summary line of the last run
last_summary() {
	grep 'migrate_pop3: POP3 ' "$LAB/migrate-$user.log" | tail -1
}

run_driver() {
	local driver=$1 name=pop3-dovecot-$1 summary
	LAB_TEST_NAME=$name
	lab_init
	lab_user_add "$user" secret1
	lab_corpus "$user" 400 11
	lab_source_start
	lab_dest_start "$driver"
	# sdbox: the source's UIDLs (Dovecot's %08Xu%08Xv) are recognised as
	# a formula; mdbox and maildir match by size and header instead
	if [ "$driver" != sdbox ]; then
		LAB_MIG_EXTRA_CONF='plugin {
  migrate_pop3_uidl_detect = no
}'
	fi
	lab_migration_conf migrate_pop3

	if ! lab_migrate_backup "$user"; then
		fail "$name" "first migration failed"; lab_log_dump; return 0
	fi
	summary=$(last_summary)
	echo "first run: ${summary#*migrate_pop3: }"
	if [ "$driver" = sdbox ]; then
		assert_eq "formula 400 headers read: POP3 0, IMAP 0" \
			"$(grep -o 'formula [0-9]*' <<<"$summary") $(grep -o 'headers read: .*' <<<"$summary")" \
			"$driver: the UIDL formula is detected, no header read" || return 0
	else
		assert_eq "formula 0" "$(grep -o 'formula [0-9]*' <<<"$summary")" \
			"$driver: with migrate_pop3_uidl_detect=no, sizes and headers match" || return 0
	fi
	assert_eq "400 400" "$(uidl_compare)" "$driver: UIDLs served in order after the first run" || return 0
	assert_ok "verify-uidl exits 0" \
		doveadm -c "$MIG_CONF" migrate verify-uidl -u "$user" -s || return 0

	# a pass with nothing new (an idle account before the switch): dsync
	# asks no UIDL, so nothing is matched, and the cache stays as it was
	local summaries
	summaries=$(grep -c 'migrate_pop3: POP3 [0-9]*, IMAP' "$LAB/migrate-$user.log")
	if ! lab_migrate_backup "$user"; then
		fail "$name" "pass with nothing new failed"; lab_log_dump; return 0
	fi
	assert_eq "$summaries" "$(grep -c 'migrate_pop3: POP3 [0-9]*, IMAP' "$LAB/migrate-$user.log")" \
		"$driver: a pass with nothing to copy matches nothing" || return 0
	assert_eq "400 400" "$(uidl_compare)" "$driver: UIDLs unchanged by the pass with nothing new" || return 0

	# new mail arrives on the old server before the final pass
	lab_corpus "$user" 7 12
	if ! lab_migrate_backup "$user"; then
		fail "$name" "second migration failed"; lab_log_dump; return 0
	fi
	summary=$(last_summary)
	echo "second run: ${summary#*migrate_pop3: }"
	assert_eq "cached 400" "$(grep -o 'cached [0-9]*' <<<"$summary")" \
		"second run takes the 400 known pairs from the cache" || return 0
	local read_pop3 read_imap
	read_pop3=$(sed -n 's/.*headers read: POP3 \([0-9]*\), IMAP.*/\1/p' <<<"$summary")
	read_imap=$(sed -n 's/.*headers read: POP3 [0-9]*, IMAP \([0-9]*\).*/\1/p' <<<"$summary")
	if [ "$read_pop3" -gt 7 ] || [ "$read_imap" -gt 7 ]; then
		fail "$name" "second run read $read_pop3 POP3 / $read_imap IMAP headers, more than the 7 new messages"
		return 0
	fi
	echo "ok: second run read at most the new messages' headers (POP3 $read_pop3, IMAP $read_imap)"
	assert_eq "407 407" "$(uidl_compare)" "$driver: new messages' UIDLs served after the final pass" || return 0
	pass "$name"
}

for driver in sdbox mdbox maildir; do
	( run_driver "$driver" )
done
