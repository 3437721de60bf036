#!/usr/bin/env bash
# Defect 1: on 2.3.19.1 `doveadm backup -R -u U imapc:` panics (exit 134,
# "Panic: ... event_pop_global") when the imapc login fails. Run it on 2.4
# with a wrong password, an unknown user and a refused connection, and a
# good login for reference.
. "$(dirname "$0")/lib24.sh"

server_conf src maildir "~/Maildir"
user_add src u1
maildir_msgs "$W/src/home/u1" 3 a
server_start src || exit 1
server_conf dst sdbox "~/sdbox" "imapc_host = 127.0.0.1"
user_add dst u1
server_start dst || exit 1
closed=$(free_port)

case_run() {	# case_run LABEL IMAPC-PORT IMAPC-USER PASSWORD
	local label=$1 port=$2 iu=$3 pw=$4 rc
	rc=0
	dadm dst -o imapc_port="$port" -o imapc_user="$iu" \
		-o imapc_password="$pw" backup -R -u u1 imapc: \
		>"$W/$label.out" 2>&1 || rc=$?
	echo "== $label: exit $rc"
	grep -E "Panic|Fatal|Error" "$W/$label.out" | head -4
	echo "   destination INBOX now: $(dadm dst mailbox status -u u1 messages INBOX 2>&1)"
}
case_run good       "$src_IMAP" u1 "$PASS"
case_run wrong_pass "$src_IMAP" u1 wrong
case_run no_user    "$src_IMAP" nosuchuser "$PASS"
case_run refused    "$closed"   u1 "$PASS"
echo "== core files / crash lines in the logs:"
grep -h -E "Panic|core dumped|Fatal" "$W"/*.log | head
