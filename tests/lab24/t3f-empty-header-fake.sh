#!/usr/bin/env bash
# Defect 3, the mechanism in isolation: a fake IMAP source (fake-imap.py,
# EMPTY_HDR=1) whose header fetches of a message come back empty while its
# BODY[] is complete - the hash of the source's header is the "empty" one,
# the hash of the stored copy is not. Two backup -R passes, without and with
# dsync_features = empty-header-workaround, with fetch-headers on (2.4's
# default; set on 2.3 too) and off.
. "$(dirname "$0")/lib24.sh"
fport=$(free_port)
EMPTY_HDR=1 python3 "$(dirname "$0")/fake-imap.py" "$fport" 'b"\\Seen"' 2>"$W/fake.log" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do ss -ltnH "sport = :$fport" | grep -q . && break; sleep 0.1; done

if [ "$LAB_DOVECOT" = 2.3 ]; then fh_on="rfc822.size fetch-headers" fh_off="rfc822.size"
else fh_on="" fh_off="no-fetch-headers"; fi
run_case() {	# run_case NAME CONFIG-LINE...
	local n=$1 rc; shift
	server_conf "$n" sdbox "~/sdbox" "imapc_host = 127.0.0.1" \
		"imapc_port = $fport" "imapc_password = x" "$@"
	user_add "$n" u1
	server_start "$n" || return 1
	echo "== $n: $*"
	for p in 1 2 3; do
		rc=0; DADM_TIMEOUT=60 dadm "$n" -D backup -R -u u1 imapc: >"$W/$n.$p.out" 2>&1 || rc=$?
		echo "pass $p exit $rc, $(dadm "$n" -f flow mailbox status -u u1 'messages uidvalidity' INBOX)"
		grep -E "UID=1 .*result=|Attempting to delete|Error:|Warning:" "$W/$n.$p.out" |
			sed 's/^.*: //; s/^/   /' | sort | uniq -c
	done
}
run_case plain "imapc_features = $fh_on"
run_case workaround "imapc_features = $fh_on" "dsync_features = empty-header-workaround"
run_case plain_nofh "imapc_features = $fh_off"
