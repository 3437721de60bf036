#!/usr/bin/env bash
# Defect 3 against a real Courier-IMAP source (the project's lab Courier,
# tests/integration/lib-courier.sh: Debian packages unpacked, never
# installed, run on the host; the root shares the network). INBOX holds a
# message whose header ends with LF CR CR LF and CRLF-stored messages
# (Courier serves those with CR CR LF). Two backup -R passes (the second with
# nothing new: a change would change Courier's UIDVALIDITY here) to a 2.4
# destination, without and with dsync_features = empty-header-workaround.
. "$(dirname "$0")/lib24.sh"
DRIVER=${DRIVER:-sdbox}
LAB=$W
LAB_LIB_DIR=$(cd "$(dirname "$0")/../integration" && pwd)
export LAB LAB_LIB_DIR
. "$LAB_LIB_DIR/lib-nondovecot.sh"
. "$LAB_LIB_DIR/lib-courier.sh"
trap 'lab_courier_stop >/dev/null 2>&1; cleanup' EXIT

msgs() {	# msgs USER TAG COUNT: CRLF-stored messages into Courier's INBOX
	local i md; md=$(lab_courier_maildir "$1")
	for i in $(seq "$3"); do
		printf 'From: s%s@example.org\r\nTo: %s@example.com\r\nSubject: %s %s\r\nDate: Mon, 2 Jan 2023 10:%02d:00 +0000\r\nMessage-ID: <%s.%s.%s@lab24>\r\n\r\nbody %s\r\n' \
			"$i" "$1" "$2" "$i" "$i" "$1" "$2" "$i" "$i" >"$W/m.eml"
		lab_courier_deliver "$1" "$W/m.eml" || return 1
	done
}
for u in u1 u2; do
	lab_courier_user_add "$u" "$PASS" || exit 1
	printf 'From: crcr@example.org\nTo: %s\nSubject: LF CR CR LF header end\nDate: Mon, 2 Jan 2023 10:00:00 +0000\nMessage-ID: <crcr@example.org>\n\r\r\nbody after an odd header end\n' "$u" >"$W/crcr.eml"
	lab_courier_deliver "$u" "$W/crcr.eml" || exit 1
	msgs "$u" a 3 || exit 1
done
lab_courier_start || exit 1

st() { dadm "dst_$1" -f flow mailbox status -u "$1" "$2" INBOX; }
run_case() {	# run_case USER CONFIG-LINE...
	local u=$1 rc guid1 guid2; shift
	server_conf "dst_$u" "$DRIVER" "~/$DRIVER" "imapc_host = 127.0.0.1" \
		"imapc_port = $COURIER_IMAP_PORT" "imapc_password = $PASS" \
		"imapc_list_prefix = INBOX" "$@"
	user_add "dst_$u" "$u"
	server_start "dst_$u" || return 1
	echo "== $u: ${*:-(nothing added)}"
	rc=0; dadm "dst_$u" -D backup -R -u "$u" imapc: >"$W/$u.1.out" 2>&1 || rc=$?
	guid1=$(st "$u" guid)
	echo "pass 1 exit $rc, $(st "$u" messages)"
	grep -E "Error:|Warning:" "$W/$u.1.out" | sed 's/^.*: //' | sort | uniq -c | head -4
	# (no new mail: Courier as run in the lab keeps no courierimapuiddb, so
	# any change to the maildir changes its UIDVALIDITY)
	rc=0; dadm "dst_$u" -D backup -R -u "$u" imapc: >"$W/$u.2.out" 2>&1 || rc=$?
	guid2=$(st "$u" guid)
	echo "pass 2 exit $rc, $(st "$u" messages) (source has 4), INBOX $( [ "$guid1" = "$guid2" ] && echo kept || echo "recreated ($guid1 -> $guid2)")"
	grep -E "result=|Error:|Warning:|[Dd]elet|UIDVALIDITY" "$W/$u.2.out" | sed 's/^.*: //' | sort | uniq -c | head -8
	rc=0; dadm "dst_$u" backup -R -u "$u" imapc: >"$W/$u.3.out" 2>&1 || rc=$?
	echo "pass 3 exit $rc, $(st "$u" messages)"
}
run_case u1
run_case u2 "dsync_features = empty-header-workaround"
