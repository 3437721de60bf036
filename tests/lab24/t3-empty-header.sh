#!/usr/bin/env bash
# Defect 3: on 2.3.19.1 the second `backup -R imapc:` of a mailbox holding
# a message whose header ends with LF CR CR LF (Courier quirk) fails with
# "Headers hashes don't match" and dsync deletes and recreates the
# destination INBOX, unless dsync_features = empty-header-workaround.
# Run on 2.4 without and with the workaround, and without it but with
# imapc_features = no-fetch-headers (2.3's default: 2.4 turned
# fetch-headers on by default; on 2.3 the third case turns it on). Destination DRIVER, default sdbox.
. "$(dirname "$0")/lib24.sh"
DRIVER=${DRIVER:-sdbox}

crcr_message() {	# crcr_message HOME
	mkdir -p "$1/Maildir/new"
	printf 'From: crcr@example.org\nTo: u@example.com\nSubject: LF CR CR LF header end\nDate: Mon, 2 Jan 2023 10:00:00 +0000\nMessage-ID: <crcr@example.org>\n\r\r\nbody after an odd header end\n' \
		>"$1/Maildir/new/1690000000.crcr.lab24"
	chown -R "$MUID:$MGID" "$1"
}

server_conf src maildir "~/Maildir"
for u in u1 u2 u3; do
	user_add src "$u"
	crcr_message "$W/src/home/$u"
	maildir_msgs "$W/src/home/$u" 5 a
done
server_start src || exit 1

st() { dadm "dst_$1" -f flow mailbox status -u "$1" "$2" INBOX; }

run_case() {	# run_case USER CONFIG-LINE...
	local u=$1 rc guid1 guid2 n; shift
	server_conf "dst_$u" "$DRIVER" "~/$DRIVER" "imapc_host = 127.0.0.1" \
		"imapc_port = $src_IMAP" "imapc_password = $PASS" "$@"
	user_add "dst_$u" "$u"
	server_start "dst_$u" || return 1
	echo "== $u: ${*:-(nothing added)}"
	rc=0; dadm "dst_$u" -D backup -R -u "$u" imapc: >"$W/$u.1.out" 2>&1 || rc=$?
	guid1=$(st "$u" guid)
	echo "pass 1 exit $rc, $(st "$u" messages)"
	maildir_msgs "$W/src/home/$u" 2 b
	rc=0; dadm "dst_$u" -D backup -R -u "$u" imapc: >"$W/$u.2.out" 2>&1 || rc=$?
	guid2=$(st "$u" guid)
	echo "pass 2 exit $rc, $(st "$u" messages) (source has 8), INBOX $( [ "$guid1" = "$guid2" ] && echo kept || echo "recreated ($guid1 -> $guid2)")"
	grep -E "UID=1 .*result=|Error:|Warning:" "$W/$u.2.out" | sed 's/^.*: //' | sort | uniq -c | head -8
	rc=0; dadm "dst_$u" backup -R -u "$u" imapc: >"$W/$u.3.out" 2>&1 || rc=$?
	echo "pass 3 exit $rc, $(st "$u" messages)"
}
run_case u1
run_case u2 "dsync_features = empty-header-workaround"
if [ "$LAB_DOVECOT" = 2.3 ]; then
	run_case u3 "imapc_features = rfc822.size fetch-headers"
else
	run_case u3 "imapc_features = no-fetch-headers"
fi
