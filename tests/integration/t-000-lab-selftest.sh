#!/bin/bash
# t-000: the lab itself.
#   two-labs    two labs one after the other in one shell: each starts a
#               source and a destination, the first leaves no process,
#               listening port or directory behind
#   uid-order   Dovecot assigns UIDs in corpus generation order, also for a
#               second batch added while the server runs
#   fail-midway a script that fails under set -e, and one killed by SIGTERM,
#               still stop their servers and remove their lab
#   conf24      lab__conf24 turns a 2.3 config fragment into 2.4 syntax
#               (LAB_DOVECOT=2.4) and leaves it alone on 2.3 (text only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

# all dovecot processes (master + children) of the lab's masters
lab_pids() {
	local pid
	while read -r _ pid _; do
		echo "$pid"
		pgrep -P "$pid" || true
	done <"$LAB/servers"
}

gone() {
	local p
	for p in "$@"; do
		if lab__pid_alive "$p"; then
			echo "pid $p still alive"
			return 1
		fi
	done
}

ports_free() {
	local p
	for p in "$@"; do
		if lab__port_listening "$p"; then
			echo "port $p still listening"
			return 1
		fi
	done
}

greeting() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1"
	IFS= read -r -t 5 line <&3 || true
	exec 3<&- 3>&-
	echo "${line%$'\r'}"
}

# --- two labs in a row ----------------------------------------------------------
LAB_TEST_NAME=t-000-two-labs
declare -a first_pids first_ports
first_lab=
for round in 1 2; do
	lab_init
	lab_user_add "u$round@example.com" "pw$round"
	lab_corpus "u$round@example.com" 5 "$round"
	lab_source_start
	lab_dest_start sdbox
	case $(greeting "$SRC_IMAP_PORT") in
	"* OK"*) ;;
	*) fail "$LAB_TEST_NAME" "round $round: no IMAP greeting on $SRC_IMAP_PORT"; exit 1 ;;
	esac
	case $(greeting "$DST_POP3_PORT") in
	"+OK"*) ;;
	*) fail "$LAB_TEST_NAME" "round $round: no POP3 greeting on $DST_POP3_PORT"; exit 1 ;;
	esac
	assert_eq 5 "$(lab_imap_count src "u$round@example.com")" "round $round source count"
	assert_eq 5 "$(lab_pop3_uidls src "u$round@example.com" | wc -l)" "round $round source POP3 UIDLs"
	if [ "$round" = 1 ]; then
		first_lab=$LAB
		mapfile -t first_pids < <(lab_pids)
		first_ports=("$SRC_IMAP_PORT" "$SRC_POP3_PORT" "$DST_IMAP_PORT" "$DST_POP3_PORT")
		assert_eq 2 "$(wc -l <"$LAB/servers")" "round 1 recorded two masters"
		lab_cleanup
		assert_ok "round 1 processes gone (${#first_pids[@]} pids)" gone "${first_pids[@]}"
		assert_ok "round 1 ports free (${first_ports[*]})" ports_free "${first_ports[@]}"
		assert_eq "" "$(ls -d "$first_lab" 2>/dev/null || true)" "round 1 lab directory removed"
	else
		if [ "$LAB" = "$first_lab" ]; then
			fail "$LAB_TEST_NAME" "second lab reused $first_lab"
			exit 1
		fi
	fi
done
pass "$LAB_TEST_NAME"

# --- UID order follows generation order --------------------------------------
LAB_TEST_NAME=t-000-uid-order
user=u2@example.com
lab_corpus "$user" 300 21
lab_corpus "$user" 40 22 "Archive/2020"
# force a sync so the second batch below is new mail for a known mailbox
assert_eq 305 "$(lab_imap_count src "$user")" "INBOX after second batch"
lab_corpus "$user" 100 23
assert_eq 405 "$(lab_imap_count src "$user")" "INBOX after third batch"
assert_eq 40 "$(lab_imap_count src "$user" Archive/2020)" "Archive/2020 folder"
# maildir GUID = file name base; the manifest lists files in generation order
order_ok() {
	python3 - "$LAB/corpus/$1/${2//\//.}.jsonl" <(lab_doveadm src -f tab fetch -u "$1" guid mailbox "$2" | tail -n +2) <<'EOF'
import sys
gen = [l.split('"file": "')[1].split('"')[0].split("/", 1)[1].split(":2,")[0]
       for l in open(sys.argv[1])]
got = [l.strip() for l in open(sys.argv[2]) if l.strip()]
if gen != got:
    sys.exit("UID order differs: %d generated, %d fetched, first diff at %s" % (
        len(gen), len(got),
        next((i for i, (a, b) in enumerate(zip(gen, got)) if a != b), "end")))
EOF
}
assert_ok "INBOX UIDs in generation order (3 batches)" order_ok "$user" INBOX
assert_ok "Archive/2020 UIDs in generation order" order_ok "$user" Archive/2020
pass "$LAB_TEST_NAME"

# --- cleanup after failure / signal ---------------------------------------------
LAB_TEST_NAME=t-000-fail-midway
lab_cleanup
trap - EXIT INT TERM
state=$(mktemp -d /tmp/dmt000.XXXXXX)
# shellcheck disable=SC2016
child_script='
set -euo pipefail
. "$1/lib.sh"
LAB_NO_DUMP=1
lab_init
echo "$LAB" >"$2/lab"
lab_source_start
lab_dest_start mdbox
cat "$LAB/servers" >"$2/servers"
pgrep -P "$(head -n 1 "$LAB/servers" | cut -d" " -f2)" >>"$2/kids" || true
echo "$SRC_IMAP_PORT $DST_IMAP_PORT" >"$2/ports"
if [ "$3" = fail ]; then
	false
	echo "not reached"
fi
sleep 60 &
echo $! >"$2/sleeper"
touch "$2/ready"
wait $!
'
check_child_cleanup() {
	local mode=$1 p
	local pids
	pids=$(awk '{print $2}' "$state/servers"; cat "$state/kids" 2>/dev/null || true)
	# shellcheck disable=SC2086
	gone $pids || return 1
	# shellcheck disable=SC2046
	ports_free $(cat "$state/ports") || return 1
	if [ -e "$(cat "$state/lab")" ]; then
		echo "$mode: lab $(cat "$state/lab") not removed"
		return 1
	fi
}
rc=0
bash -c "$child_script" child "$here" "$state" fail >"$state/out" 2>&1 || rc=$?
assert_eq 1 "$rc" "failing child exit status"
assert_eq 0 "$(grep -c 'not reached' "$state/out" || true)" "set -e stopped the child"
assert_ok "servers stopped and lab removed after set -e failure" check_child_cleanup fail
rm -f "$state"/*
bash -c "$child_script" child "$here" "$state" signal >"$state/out" 2>&1 &
child=$!
for ((i = 0; i < 400; i++)); do
	[ -e "$state/ready" ] && break
	sleep 0.05
done
assert_ok "signal child started its servers" test -e "$state/ready"
kill -TERM "$child"
rc=0
wait "$child" || rc=$?
kill "$(cat "$state/sleeper")" 2>/dev/null || true
assert_eq 143 "$rc" "child exit status after SIGTERM"
assert_ok "servers stopped and lab removed after SIGTERM" check_child_cleanup signal
rm -rf "$state"
pass "$LAB_TEST_NAME"

# --- the 2.3 -> 2.4 config translation (text only, any Dovecot) ------------
LAB_TEST_NAME=t-000-conf24
conf24_in='plugin {
  migrate_pop3_uidl_format = %%08Xu%%08Xv
  migrate_state_dir = /s/%u
}
pop3_uidl_format = %08Xu%08Xv
mail_location = maildir:~/Maildir:INDEX=/idx/%u
imapc_features = rfc822.size fetch-headers gmail-migration
pop3c_features = rfc822.size
disable_plaintext_auth = no
namespace pop3c {
  location = pop3c:
}
protocol doveadm {
  mail_plugins = $mail_plugins pop3_migration migrate_pop3
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
  }
}
ssl_cert = </c.pem'
conf24_want='migrate_pop3_uidl_format = %{uid | hex(8)}%{uidvalidity | hex(8)}
migrate_state_dir = /s/%{user}
pop3_uidl_format = %{uid | hex(8)}%{uidvalidity | hex(8)}
mail_driver = maildir
mail_path = ~/Maildir
mail_index_path = /idx/%{user}
imapc_features = gmail-migration
auth_allow_cleartext = yes
namespace pop3c {
  mail_driver = pop3c
  mail_path =
}
protocol doveadm {
  mail_plugins {
    pop3_migration = yes
    migrate_pop3 = yes
  }
}
service imap-login {
  inet_listener imap {
    listen = 127.0.0.1
  }
}
ssl_server_cert_file = /c.pem'
assert_eq "$conf24_want" "$(LAB_DOVECOT=2.4 lab__conf24 <<<"$conf24_in")" \
	"2.4 translation of a 2.3 fragment"
assert_eq "$conf24_in" "$(LAB_DOVECOT=2.3 lab__conf24 <<<"$conf24_in")" \
	"2.3: unchanged"
pass "$LAB_TEST_NAME"
