#!/usr/bin/env bash
# Defect 5: on 2.3.19.1 a source folder named "50% off" is copied by the
# first `backup -R imapc:`, but every later pass exits 2 with "mailbox_rename
# conflict: Can't rename mailbox to itself". Same on 2.4? Destination
# DRIVER, default sdbox.
. "$(dirname "$0")/lib24.sh"
DRIVER=${DRIVER:-sdbox}
FOLDER=${FOLDER:-50% off}

server_conf src maildir "~/Maildir"
user_add src u1
maildir_msgs "$W/src/home/u1" 3 a
dadm_src_folder() { :; }
server_start src || exit 1
dadm src mailbox create -u u1 "$FOLDER" || exit 1
dadm src mailbox create -u u1 "plain" || exit 1
for i in 1 2 3; do
	printf 'From: a@example.org\r\nSubject: pct %s\r\nMessage-ID: <pct%s@lab24>\r\n\r\nbody\r\n' "$i" "$i" |
		dadm src save -u u1 -m "$FOLDER"
done
echo "source folders: $(dadm src mailbox list -u u1 | tr '\n' '|')"

server_conf dst "$DRIVER" "~/$DRIVER" "imapc_host = 127.0.0.1" \
	"imapc_port = $src_IMAP" "imapc_password = $PASS"
user_add dst u1
server_start dst || exit 1

pass() {	# pass N
	local rc=0
	dadm dst -D backup -R -u u1 imapc: >"$W/pass$1.out" 2>&1 || rc=$?
	echo "pass $1 exit $rc; destination: $(dadm dst -f flow mailbox status -u u1 messages '*' | tr '\n' '|')"
	grep -E "Error:|Warning:|rename" "$W/pass$1.out" | grep -v Debug | sed 's/^/   /' | head -5
}
pass 1
printf 'From: a@example.org\r\nSubject: pct new\r\nMessage-ID: <pctnew@lab24>\r\n\r\nbody\r\n' |
	dadm src save -u u1 -m "$FOLDER"
pass 2
pass 3
echo "on disk: $(ls "$W/dst/home/u1/$DRIVER/mailboxes" 2>/dev/null | tr '\n' '|')"
