#!/usr/bin/env bash
# Messages deleted at the old server between migrate_pop3's read-ahead of
# the POP3 list and the session that reads the headers of same-size
# neighbours: the sequence numbers shift in the later session, so "TOP n"
# is another message than the one listed as n (or none at all).  A
# faultproxy.py in front of the source's POP3 port expunges two messages
# with doveadm when the 2nd POP3 connection of the run (the header
# session) is accepted, before it logs in.  No UIDL formula
# (migrate_pop3_uidl_detect=no): sizes and headers pair the messages; four
# messages of one size with distinct headers at the end of the INBOX need
# their headers, and the first of them is one of the two expunged.
#  a) the plugin's own header session (UIDL n + TOP n 0): every header of a
#     message that no longer has its listed UIDL (or "-ERR no such
#     message") is not used;
#  b) that session fails (the proxy closes it right after the expunge):
#     pop3c reads the headers on a session of its own, with the shifted
#     numbers too (fewer messages than listed).
# Each with migrate_pop3_unmatched = fail (a, b) and continue (c, d).  The
# first pass gives no UIDL to a message of another content (every UIDL at
# the destination is compared with the source's message of that UIDL by
# the SHA-1 of its RETR), names each message it couldn't match in the log
# and ends with exit 75 (fail: the unmatched messages; continue: dsync's
# own "Remote didn't send mail" for the two expunged ones, the unmatched
# ones copied with UIDLs of this server's own).  A second pass (fail:
# matches everything, every UIDL served in order; continue: has nothing
# to copy, so matches nothing, and the copies of pass 1 keep their
# UIDLs), the mail identical to the source's, the expunged messages gone;
# a third copies nothing and keeps the UIDLs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=pop3-deleted-meanwhile
lab_init
for u in a b c d; do
	lab_user_add "$u@example.com" secret1
	lab_corpus "$u@example.com" 400 61
	md=$(lab_maildir "$u@example.com")
	# four messages of one size, distinct headers, after the corpus
	for i in 1 2 3 4; do
		printf 'From: race%s@example.org\nTo: %s@example.com\nSubject: race message %s\nMessage-ID: <race-%s@example.org>\nDate: Mon, 7 Dec 2026 05:0%s:00 +0000\n\nbody of race message %s\n' \
			"$i" "$u" "$i" "$i" "$i" "$i" >"$md/new/1800000000.race$i.dmlab"
		chown "$LAB_UID:$LAB_GID" "$md/new/1800000000.race$i.dmlab"
	done
done
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_detect = no' '}'
for s in a b c d; do
	fault_proxy_start "p$s" "$SRC_POP3_PORT"
done

# summary USER: the pass's migrate_pop3 line
summary() {
	grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-$1.log" |
		tail -1 | sed 's/.*migrate_pop3: //'
}

# race SCENARIO pass|close fail|continue
race() {
	local s=$1 u=$1@example.com proxy=p$1 mode=$2 unmatched=$3 uids conf rc n check
	local deleted expunge_json uidl port_var=FAULT_PORT_p$1

	lab_pop3_digest src "$u" >"$LAB/digest-$s.src0"
	# the 100th message and the first of the four of one size
	uids=$({
		lab_doveadm src search -u "$u" mailbox INBOX 100
		lab_doveadm src search -u "$u" mailbox INBOX HEADER Message-ID race-1@example.org
	} | awk '{print $2}' | paste -sd,)
	deleted=$(awk '$1 == 100 || $4 == "<race-1@example.org>" { print $2 }' \
		"$LAB/digest-$s.src0" | paste -sd' ')
	assert_eq 2 "$(wc -w <<<"$deleted")" "$s) two messages to expunge (UIDs $uids): $deleted" || return 1
	expunge_json=$(printf '"%s",' doveadm -c "$SRC_CONF" expunge -u "$u" mailbox INBOX uid "$uids")
	fault_set "$proxy" "{\"mode\": \"$mode\", \"conns\": [2], \"exec\": [${expunge_json%,}]}"
	conf=$(mig_conf "mig-$s" "pop3c_port = ${!port_var}" \
		'plugin {' "  migrate_pop3_unmatched = $unmatched" '}')

	# the first pass: the race
	rc=0; MIG_CONF=$conf lab_migrate_backup "$u" || rc=$?
	echo "$s) pass 1 exit $rc: $(summary "$u")"
	grep -E 'no longer UIDL|couldn.t be matched|headers? .*own|send mail' \
		"$LAB/migrate-$u.log" | sed "s/^/$s)   /" || true
	assert_eq "conn 2 exec rc=0, 402 left" \
		"$(grep 'exec rc=' "$LAB/fault-$proxy.log"), $(lab_imap_count src "$u") left" \
		"$s) the proxy expunged 2 messages at the source when the header session connected" || return 1
	if [ "$mode" = close ]; then
		assert_eq 1 "$(grep -c 'Reading POP3 headers on a connection of its own failed' "$LAB/migrate-$u.log")" \
			"$s) the plugin's header session failed: pop3c reads the headers" || return 1
		n=$(grep -c '^conn [0-9]* open' "$LAB/fault-$proxy.log")
		assert_eq 3 "$n" "$s) POP3 sessions: the read-ahead's, the plugin's (closed), pop3c's" || return 1
	fi
	# every POP3 message left unmatched: its number had another UIDL (or
	# none) in the header session
	n=$(grep -c 'is no longer UIDL' "$LAB/migrate-$u.log" || true)
	[ "$n" -ge 2 ] || { fail "$LAB_TEST_NAME" "$s) $n headers found no longer matching their UIDL: the expunge didn't shift the header session"; return 1; }
	assert_eq "$n" "$(summary "$u" | sed -n 's/.*unmatched: POP3 \([0-9]*\),.*/\1/p')" \
		"$s) pass 1: the POP3 messages left unmatched are those whose header was not used" || return 1
	lab_pop3_digest dst "$u" >"$LAB/digest-$s.dst1"
	check=$(lab_uidl_check "$LAB/digest-$s.src0" "$LAB/digest-$s.dst1")
	assert_eq "wrong 0" "${check% given*}" "$s) pass 1: no UIDL on a message of another content ($check)" ||
		return 1
	assert_eq 75 "$rc" "$s) pass 1 stops with a temporary failure" || return 1
	if [ "$unmatched" = fail ]; then
		# every message left unmatched is named in the log, nothing
		# is copied
		assert_eq "wrong 0 given 0 new 0" "$check" "$s) pass 1 copies nothing" || return 1
		assert_eq 1 "$(grep -c "couldn't be matched (listed above)" "$LAB/migrate-$u.log")" \
			"$s) pass 1: migrate_pop3_unmatched=fail says why" || return 1
	else
		# the unmatched IMAP messages (the two expunged ones aside) are
		# copied and get UIDLs of this server's own, the others their
		# own; dsync's temporary failure: the two expunged ones
		n=$(summary "$u" | sed -n 's/.*unmatched: POP3 [0-9]*, IMAP \([0-9]*\);.*/\1/p')
		assert_eq "wrong 0 given $((402 - n + 2)) new $((n - 2))" "$check" \
			"$s) pass 1: the unmatched IMAP messages copied without an old UIDL" || return 1
		assert_eq 2 "$(grep -c "Remote didn't send mail" "$LAB/migrate-$u.log")" \
			"$s) pass 1: dsync misses the 2 expunged messages" || return 1
	fi
	# the log names every message left unmatched
	n=$(summary "$u" | sed -n 's/.*unmatched: POP3 \([0-9]*\), IMAP \([0-9]*\);.*/\1 \2/p')
	assert_eq "$n" "$(grep -c 'has no IMAP message: ' "$LAB/migrate-$u.log") $(grep -c 'has no POP3 UIDL: ' "$LAB/migrate-$u.log")" \
		"$s) pass 1: each unmatched message named in the log" || return 1

	# the second pass: nothing moves at the source any more
	fault_set "$proxy" '{"mode": "pass"}'
	n=$(grep -c 'migrate_pop3: POP3 [0-9]*, IMAP' "$LAB/migrate-$u.log")
	rc=0; MIG_CONF=$conf lab_migrate_backup "$u" || rc=$?
	echo "$s) pass 2 exit $rc: $(summary "$u")"
	assert_eq 0 "$rc" "$s) pass 2" || { lab_log_dump; return 1; }
	if [ "$unmatched" = fail ]; then
		assert_eq "0 0" "$(summary "$u" | sed -n 's/.*unmatched: POP3 \([0-9]*\), IMAP \([0-9]*\);.*/\1 \2/p')" \
			"$s) pass 2: every message matched" || return 1
	else
		# pass 1 copied every message left: dsync asks no UIDL
		assert_eq "$n" "$(grep -c 'migrate_pop3: POP3 [0-9]*, IMAP' "$LAB/migrate-$u.log")" \
			"$s) pass 2: nothing left to copy, nothing matched" || return 1
	fi
	assert_same_mail "$s) pass 2" "$u" || return 1
	lab_pop3_digest dst "$u" >"$LAB/digest-$s.dst2"
	if [ "$unmatched" = fail ]; then
		assert_eq "402 402 yes" "$(lab_uidl_same "$u")" "$s) pass 2: UIDLs served in order" || return 1
		assert_eq "wrong 0 given 402 new 0" "$(lab_uidl_check "$LAB/digest-$s.src0" "$LAB/digest-$s.dst2")" \
			"$s) pass 2: every UIDL on its own message" || return 1
	else
		# dsync doesn't copy them again: the messages copied in pass 1
		# keep this server's UIDLs (docs/pop3.md, "continue")
		assert_eq "$check" "$(lab_uidl_check "$LAB/digest-$s.src0" "$LAB/digest-$s.dst2")" \
			"$s) pass 2: the UIDLs of pass 1, none on another message" || return 1
	fi
	for uidl in $deleted; do
		if grep -q " $uidl " "$LAB/digest-$s.dst2"; then
			fail "$LAB_TEST_NAME" "$s) the expunged message $uidl is still served"
			return 1
		fi
	done
	echo "ok: $s) the expunged messages are gone"

	# the third pass copies nothing and serves the same UIDLs
	rc=0; MIG_CONF=$conf lab_migrate_backup "$u" || rc=$?
	echo "$s) pass 3 exit $rc: $(summary "$u")"
	assert_eq 0 "$rc" "$s) pass 3" || return 1
	assert_eq 402 "$(lab_imap_count dst "$u")" "$s) pass 3: nothing copied twice" || return 1
	lab_pop3_digest dst "$u" >"$LAB/digest-$s.dst3"
	assert_ok "$s) pass 3: the same UIDLs on the same messages" \
		cmp -s "$LAB/digest-$s.dst2" "$LAB/digest-$s.dst3" || return 1
}

race a pass fail || true
race b close fail || true
race c pass continue || true
race d close continue || true
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
