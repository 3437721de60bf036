#!/usr/bin/env bash
# Defect 4: on 2.3.19.1 imapc panics on a FETCH whose FLAGS contain a NUL
# byte. A fake IMAP server (fake-imap.py, python3 on the host: the root
# shares the network) serves INBOX with one message whose FETCH FLAGS are
# (\Seen <NUL>foo): imapc cuts the keyword at the NUL, and an empty keyword
# trips an assert (a NUL later in the atom, fo<NUL>o, only truncates it to
# "fo"). Runs `backup -R imapc:` and `fetch` over imapc. FLAGS_LIT
# overrides the flags (a python bytes literal, e.g. 'b"\\Seen fo\x00o"').
. "$(dirname "$0")/lib24.sh"
fport=$(free_port)
python3 "$(dirname "$0")/fake-imap.py" "$fport" ${FLAGS_LIT:+"$FLAGS_LIT"} 2>"$W/fake.log" &
FAKE=$!
trap 'kill $FAKE 2>/dev/null; cleanup' EXIT
for _ in $(seq 50); do ss -ltnH "sport = :$fport" | grep -q . && break; sleep 0.1; done

server_conf dst sdbox "~/sdbox" "imapc_host = 127.0.0.1" \
	"imapc_port = $fport" "imapc_password = x" 
user_add dst u1
server_start dst || exit 1

rc=0; DADM_TIMEOUT=60 dadm dst backup -R -u u1 imapc: >"$W/backup.out" 2>&1 || rc=$?
echo "backup -R exit $rc"; grep -E "Panic|Fatal|Error|Warning" "$W/backup.out" | head -5
echo "destination: $(dadm dst -f flow mailbox status -u u1 messages INBOX)," \
	"flags $(dadm dst -f flow fetch -u u1 flags mailbox INBOX | tr -d '\n' | od -c | head -2 | tr -s ' ' | tr '\n' ' ')"
if [ "$LAB_DOVECOT" = 2.3 ]; then loc=(-o mail_location=imapc:)
else loc=(-o mail_driver=imapc -o mail_path= -o mail_index_path=MEMORY); fi
rc=0; DADM_TIMEOUT=60 dadm dst "${loc[@]}" \
	fetch -u u1 'uid flags' mailbox INBOX >"$W/fetch.out" 2>&1 || rc=$?
echo "fetch over imapc exit $rc: $(grep -E "Panic|Fatal|Error|flags" "$W/fetch.out" | head -3 | od -c | head -3 | tr -s ' ' | tr '\n' ' ')"
echo "fake server saw: $(grep -c "^C:" "$W/fake.log") commands; FETCH commands:"
grep "^C:.*FETCH" "$W/fake.log" | head -5
