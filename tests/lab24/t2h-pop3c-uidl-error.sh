#!/usr/bin/env bash
# Seen by accident while writing t2: when the source POP3 server answers
# UIDL with -ERR (here: a source pop3_uidl_format that doesn't expand),
# `doveadm backup -R imapc:` with pop3_migration spins at 100% CPU in
# epoll_wait and never ends (SIGTERM doesn't stop it either). The run is
# killed after DADM_TIMEOUT (default 30) s: exit 124/137 = it hung.
. "$(dirname "$0")/lib24.sh"
if [ "$LAB_DOVECOT" = 2.3 ]; then UIDL_FMT23='%{nosuchvar}' UIDL_FMT=x
else UIDL_FMT='%{uidvalidity | hex%{uid | hex(8)}}'; fi
server_conf src maildir "~/Maildir"
unset UIDL_FMT UIDL_FMT23
user_add src u1
maildir_msgs "$W/src/home/u1" 3 a
server_start src || exit 1
server_conf dst sdbox "~/sdbox" "imapc_port = $src_IMAP"
pop3_migration_conf dst "$src_POP3"
user_add dst u1
server_start dst || exit 1
start=$(date +%s)
rc=0; DADM_TIMEOUT=${DADM_TIMEOUT:-30} dadm dst backup -R -u u1 imapc: >"$W/pass.out" 2>&1 || rc=$?
echo "backup -R exit $rc after $(( $(date +%s) - start )) s"
grep -E "Error|Panic" "$W/pass.out" | head -3
echo "source log:"; grep -E "Error" "$W/src.log" | head -2
