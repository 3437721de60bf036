#!/usr/bin/env bash
# Defect 2: on 2.3.19.1 sdbox serves the POP3 UIDLs a later dsync pass saved
# only up to max_uid_with_pop3_uidl of the first batch (300/305). Source:
# Dovecot maildir, IMAP+POP3, N messages; destination sdbox with the built-in
# pop3_migration plugin; backup -R imapc:, 5 new messages at the source,
# backup -R again; count the UIDLs the destination serves.
# DRIVER=mdbox|maildir to compare other formats; N (default 300).
. "$(dirname "$0")/lib24.sh"
N=${N:-300}
DRIVER=${DRIVER:-sdbox}

server_conf src maildir "~/Maildir"
user_add src u1
maildir_msgs "$W/src/home/u1" "$N" a
server_start src || exit 1
UIDL_FMT="dst-%{uid}" UIDL_FMT23="dst-%u" server_conf dst "$DRIVER" "~/$DRIVER" "imapc_port = $src_IMAP"
pop3_migration_conf dst "$src_POP3"
user_add dst u1
server_start dst || exit 1
inroot doveconf -c "$IW/dst.conf" -n >"$W/dst.conf.n" 2>&1 || { cat "$W/dst.conf.n"; exit 1; }

report() {	# report LABEL
	local d_fetch d_pop3 s_pop3 same
	pop3_uidls "$src_POP3" u1 | awk '{print $2}' >"$W/src.uidl"
	pop3_uidls "$dst_POP3" u1 | awk '{print $2}' >"$W/dst.uidl"
	d_fetch=$(dadm dst-view fetch -u u1 pop3.uidl mailbox INBOX | grep -c '^pop3.uidl: .')
	s_pop3=$(wc -l <"$W/src.uidl")
	same=$(grep -cxFf "$W/src.uidl" "$W/dst.uidl")
	echo "$1: source POP3 UIDLs $s_pop3; destination (without the plugin):" \
		"doveadm fetch pop3.uidl non-empty $d_fetch/$s_pop3, POP3 UIDL lines equal to the source's $same/$s_pop3"
	[ "$DRIVER" = sdbox ] && inroot doveadm dump "$IW/dst/home/u1/sdbox/mailboxes/INBOX/dbox-Mails" 2>/dev/null |
		grep max_uid_with_pop3_uidl | sed 's/^ *- /   index header hdr-pop3-uidl: /'
}

rc=0; dadm dst backup -R -u u1 imapc: >"$W/pass1.out" 2>&1 || rc=$?
echo "pass 1 exit $rc"; grep -E "Error|Panic|Warning" "$W/pass1.out" | head -5
report "after pass 1"
maildir_msgs "$W/src/home/u1" 5 b
rc=0; dadm dst backup -R -u u1 imapc: >"$W/pass2.out" 2>&1 || rc=$?
echo "pass 2 exit $rc"; grep -E "Error|Panic|Warning" "$W/pass2.out" | head -5
report "after pass 2"
