#!/usr/bin/env bash
# migrate_pop3 reads the old server's POP3 list on a connection of its own
# while dsync lists the IMAP side (migrate-pop3-prelist.c), instead of
# before dsync copies anything:
#  a) formula source (Dovecot's UIDLs): the list comes from the read-ahead
#     session alone, every UIDL served in order;
#  b) no formula (migrate_pop3_uidl_detect=no): the read-ahead gives the
#     list, the headers of same-size neighbours are read on a second
#     session of the plugin's own (after the read-ahead's QUIT; pop3c
#     would list every message again for them), every IMAP size with one
#     UID FETCH 1:* (RFC822.SIZE) (imapc's rawlog), every UIDL in order;
#  c) two same-size messages without a body nor an end-of-header line:
#     TOP gives no header end, so their header is read from the whole
#     message (RETR) on the same session, still without pop3c;
#  d) the read-ahead runs in a child process, not a thread of doveadm's
#     (a second thread makes every malloc() of the process take a lock):
#     while it connects, doveadm and its child have one thread each;
#  e) that child killed (-9) while it waits for the server's greeting:
#     doveadm says so in a warning and pop3c reads the list, every UIDL
#     served in order.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=pop3-read-ahead
lab_init
for u in a b c d e; do
	lab_user_add "$u@example.com" secret1
	lab_corpus "$u@example.com" 400 61
done
md=$(lab_maildir c@example.com)
for i in 1 2; do
	printf 'From: nobody%s@example.org\nSubject: header only %s\nMessage-ID: <header-only-%s@example.org>\n' \
		"$i" "$i" "$i" >"$md/new/1790000000.ho$i.dmlab"
	chown "$LAB_UID:$LAB_GID" "$md/new/1790000000.ho$i.dmlab"
done
lab_source_start
lab_dest_start sdbox

read_ahead() {
	grep -oE 'POP3 list of [0-9]+ messages read ahead on a connection of its own' \
		"$LAB/migrate-$1.log" | tail -1
}

# a) formula source
lab_migration_conf migrate_pop3
rc=0; lab_migrate_backup a@example.com || rc=$?
summary=$(grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-a@example.com.log" | tail -1)
echo "a) exit $rc: ${summary#*migrate_pop3: }"
grep -o 'POP3 list of .*' "$LAB/migrate-a@example.com.log" | sed 's/^/a) /' || true
assert_eq 0 "$rc" "a) migration" || { lab_log_dump; exit 0; }
assert_eq "POP3 list of 400 messages read ahead on a connection of its own" \
	"$(read_ahead a@example.com)" "a) the POP3 list was read ahead" || exit 0
assert_eq "formula 400" "$(grep -o 'formula [0-9]*' <<<"$summary")" "a) every UIDL from the formula" || exit 0
assert_eq 1 "$(lab_pop3_logins a@example.com)" "a) one POP3 session: the read-ahead's" || exit 0
assert_eq "400 400 yes" "$(lab_uidl_same a@example.com)" "a) UIDLs served in order" || exit 0

# b) no formula: sizes and headers
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_detect = no' '}'
mkdir -m 0777 "$LAB/rawlog-b"
lab_migration_conf_add "imapc_rawlog_dir = $LAB/rawlog-b"
rc=0; lab_migrate_backup b@example.com || rc=$?
summary=$(grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-b@example.com.log" | tail -1)
echo "b) exit $rc: ${summary#*migrate_pop3: }"
assert_eq 0 "$rc" "b) migration" || { lab_log_dump; exit 0; }
assert_eq "POP3 list of 400 messages read ahead on a connection of its own" \
	"$(read_ahead b@example.com)" "b) the POP3 list was read ahead" || exit 0
headers=$(sed -n 's/.*headers read: POP3 \([0-9]*\),.*/\1/p' <<<"$summary")
[ "${headers:-0}" -gt 0 ] || { fail "$LAB_TEST_NAME" "b) no POP3 header was read: the corpus has no same-size neighbours"; exit 0; }
assert_eq "$headers POP3 headers read on a connection of its own, 0 left to pop3c" \
	"$(grep -oE '[0-9]+ POP3 headers read on a connection of its own, [0-9]+ left to pop3c' \
		"$LAB/migrate-b@example.com.log" | tail -1)" "b) the headers without pop3c" || exit 0
assert_eq 2 "$(lab_pop3_logins b@example.com)" "b) the read-ahead's session, then one for $headers headers" || exit 0
size_fetches=$(cat "$LAB"/rawlog-b/*.out | tr -d '\r' | grep -E '^[0-9.]+ [0-9]+ UID FETCH [^ ]+ \(RFC822\.SIZE\)' | sed -E 's/^[0-9.]+ [0-9]+ //' || true)
assert_eq "UID FETCH 1:* (RFC822.SIZE)" "$size_fetches" "b) every IMAP size with one FETCH" || exit 0
assert_eq "400 400 yes" "$(lab_uidl_same b@example.com)" "b) UIDLs served in order" || exit 0

# c) headers without an end: RETR on the plugin's session
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_uidl_detect = no' '}'
rc=0; lab_migrate_backup c@example.com || rc=$?
summary=$(grep -E 'migrate_pop3: POP3 [0-9]+, IMAP' "$LAB/migrate-c@example.com.log" | tail -1)
echo "c) exit $rc: ${summary#*migrate_pop3: }"
assert_eq 0 "$rc" "c) migration" || { lab_log_dump; exit 0; }
assert_eq "402 0 0" "$(sed -n 's/.*IMAP \([0-9]*\) messages;.*unmatched: POP3 \([0-9]*\), IMAP \([0-9]*\);.*/\1 \2 \3/p' <<<"$summary")" \
	"c) every message matched" || exit 0
headers=$(sed -n 's/.*headers read: POP3 \([0-9]*\),.*/\1/p' <<<"$summary")
assert_eq "$headers POP3 headers read on a connection of its own, 0 left to pop3c" \
	"$(grep -oE '[0-9]+ POP3 headers read on a connection of its own, [0-9]+ left to pop3c' \
		"$LAB/migrate-c@example.com.log" | tail -1)" "c) the headers without an end without pop3c" || exit 0
[ "${headers:-0}" -ge 2 ] || { fail "$LAB_TEST_NAME" "c) the header-only messages' headers weren't read"; exit 0; }
assert_eq 2 "$(lab_pop3_logins c@example.com)" "c) the read-ahead's session, then one for TOP and RETR" || exit 0
assert_eq "402 402 yes" "$(lab_uidl_same c@example.com)" "c) UIDLs served in order" || exit 0

# d) a child, not a thread: seen from the proxy in front of the POP3
# server when the read-ahead connects (before the server is connected)
lab_migration_conf migrate_pop3
fault_proxy_start pd "$SRC_POP3_PORT"
# the migration's processes: "PID PPID THREADS" each
cat >"$LAB/procs-d.sh" <<'PROCS'
#!/bin/bash
for pid in $(pgrep -f 'backup -R -u d@example.com imapc:'); do
	awk -v pid="$pid" '/^PPid:/ { p = $2 } /^Threads:/ { t = $2 }
		END { print pid, p, t }' "/proc/$pid/status"
done >"$1"
PROCS
fault_set pd "{\"mode\": \"pass\", \"conns\": [1], \"exec\": [\"bash\", \"$LAB/procs-d.sh\", \"$LAB/procs-d.out\"]}"
conf=$(mig_conf mig-d "pop3c_port = $FAULT_PORT_pd")
rc=0; MIG_CONF=$conf lab_migrate_backup d@example.com || rc=$?
echo "d) exit $rc; the migration's processes (PID PPID threads) as the read-ahead connected:"
sed 's/^/d)   /' "$LAB/procs-d.out" || true
assert_eq 0 "$rc" "d) migration" || { lab_log_dump; exit 0; }
assert_eq "POP3 list of 400 messages read ahead on a connection of its own" \
	"$(read_ahead d@example.com)" "d) the POP3 list was read ahead" || exit 0
assert_eq "2 processes, 1 thread each, one the other's child" \
	"$(awk '{ n++; pid[n] = $1; ppid[n] = $2; if ($3 != 1) more = 1 }
		END { child = n == 2 && (ppid[1] == pid[2] || ppid[2] == pid[1])
		      printf "%d processes, %s, %s\n", n,
			more ? "a thread more" : "1 thread each",
			child ? "one the other\047s child" : "unrelated" }' \
		"$LAB/procs-d.out")" "d) the read-ahead is a child process, doveadm single-threaded" || exit 0
assert_eq "400 400 yes" "$(lab_uidl_same d@example.com)" "d) UIDLs served in order" || exit 0

# e) the read-ahead child killed as it connects
fault_proxy_start pe "$SRC_POP3_PORT"
cat >"$LAB/kill-e.sh" <<'KILL'
#!/bin/bash
# the migration's process whose parent is one too: the read-ahead child
pids=$(pgrep -f 'backup -R -u e@example.com imapc:')
for pid in $pids; do
	ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status")
	if grep -qx "$ppid" <<<"$pids"; then
		kill -9 "$pid" && echo "$pid" >"$1"
	fi
done
KILL
fault_set pe "{\"mode\": \"pass\", \"conns\": [1], \"exec\": [\"bash\", \"$LAB/kill-e.sh\", \"$LAB/killed-e\"]}"
conf=$(mig_conf mig-e "pop3c_port = $FAULT_PORT_pe")
rc=0; MIG_CONF=$conf lab_migrate_backup e@example.com || rc=$?
echo "e) exit $rc; killed: $(cat "$LAB/killed-e" 2>/dev/null || echo none)"
assert_eq 0 "$rc" "e) migration" || { lab_log_dump; exit 0; }
[ -s "$LAB/killed-e" ] || { fail "$LAB_TEST_NAME" "e) no read-ahead child was found to kill"; exit 0; }
assert_eq 1 "$(grep -c 'Reading the POP3 list ahead failed (127.0.0.1): The process reading it ended without a result - reading it with pop3c' \
	"$LAB/migrate-e@example.com.log")" "e) a warning says the read-ahead ended" || exit 0
assert_eq "" "$(read_ahead e@example.com)" "e) no list from the read-ahead" || exit 0
assert_eq "400 400 yes" "$(lab_uidl_same e@example.com)" "e) UIDLs served in order" || exit 0

pass "$LAB_TEST_NAME"
