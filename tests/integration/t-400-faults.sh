#!/usr/bin/env bash
# doveadm migrate run against a source that fails: bad settings, refused
# logins, TLS that doesn't verify, and a fault proxy (faultproxy.py) between
# imapc/pop3c and the real source Dovecot that cuts, stalls, corrupts or
# replaces the server's answers.  One account per scenario; for each:
#  - the exit code is the documented one (docs/commands.md);
#  - stderr has exactly one "migrate run: user U: ..." line naming the
#    server and the cause;
#  - the account is not recorded as finished;
#  - the fault removed, the next run (two when dsync must start a mailbox
#    again) finishes, and the destination is identical to the source
#    (mailcmp.py: every folder, message hash, flags, keywords) with the
#    POP3 UIDLs in place (verify-uidl).
# Prints "scenarios tried N, passed N, data lost 0".  FAULTS_ONLY="name ..."
# runs only those scenarios.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=faults
SCENARIOS=(wrong-password wrong-pop3-password unknown-source-user
	unknown-dest-user userdb-down dest-perm refused silent-server tls-handshake tls-untrusted
	tls-untrusted-starttls drop-mid-fetch drop-once garbage garbage-pop3
	close-pop3 corrupt-fetch corrupt-fetch-noplugin stall-mid-fetch
	missing-setting contradictory-setting)

lab_init
fault_accounts 120 15 400 "${SCENARIOS[@]}"
# unknown-source-user exists only on this server, unknown-dest-user only on
# the old one (each is added where it is missing to "fix" the fault)
sed -i '/^unknown-source-user@example.com:/d' "$LAB/src/passwd"
sed -i '/^unknown-dest-user@example.com:/d' "$LAB/dst/passwd"

# a throwaway CA and a certificate for 127.0.0.1/localhost
tls=$LAB/tls
lab_tls "$tls"
imaps_port=$(lab_free_port)
LAB_SRC_EXTRA_CONF="ssl = yes
ssl_cert = <$tls/srv.pem
ssl_key = <$tls/srv.key
service imap-login {
  inet_listener imaps {
    address = 127.0.0.1
    port = $imaps_port
  }
}"
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
fault_proxy_start imap "$SRC_IMAP_PORT"
fault_proxy_start pop3 "$SRC_POP3_PORT"

proxied=(imapc_port="$FAULT_PORT_imap" pop3c_port="$FAULT_PORT_pop3")
proxied=("${proxied[@]/=/ = }")
PROXY_CONF=$(mig_conf proxy "${proxied[@]}")
sed '/^protocol doveadm {/,/^}/d' "$PROXY_CONF" >"$LAB/proxy-noplugin.conf"
trusted=("ssl_client_ca_file = $tls/ca.pem")

tried=0
passed=0
results=()

# scenario NAME CODE CAUSE BAD_CONF [FAULT]: one row of the table.
#   CODE   expected exit of the faulty run (0: the fault must be survived)
#   CAUSE  extended regexp for what follows "migrate run: user U: "
#   FAULT  "imap JSON" or "pop3 JSON" for the proxy, or "" (none)
# OUTCOME: extended regexp a line of migrate_state_dir/USER.outcome must
# match after the faulty run (the plugins' record of it, docs/commands.md).
# Knobs for the repaired run: FIX_CONF (default: the bad config with the
# fault removed = MIG_CONF, or PROXY_CONF when a fault was set), FIX_CMD
# (run before it), FIX_RUNS (runs allowed, default 1), VERIFY_UIDL=0.
scenario() {
	local name=$1 code=$2 cause=$3 bad=$4 fault=${5:-}
	local user="$name@example.com" rc=0 lines status hits i ok=1
	local fix=${FIX_CONF:-} runs=${FIX_RUNS:-1} start=$SECONDS
	case " ${FAULTS_ONLY:-$name} " in
	*" $name "*) ;;
	*) return 0 ;;
	esac
	tried=$((tried + 1))
	echo "--- $name"
	if [ -n "$fault" ]; then
		fault_set "${fault%% *}" "${fault#* }"
		[ -n "$fix" ] || fix=$PROXY_CONF
	fi
	[ -n "$fix" ] || fix=$MIG_CONF
	mrun "$bad" "$user" || rc=$?
	if [ -n "$fault" ]; then
		hits=$(fault_hits "${fault%% *}")
		fault_set imap '{"mode": "pass"}'
		fault_set pop3 '{"mode": "pass"}'
		[ "$hits" -gt 0 ] || { fail "$LAB_TEST_NAME" "$name: the fault never happened"; ok=0; }
	fi
	assert_eq "$code" "$rc" "$name: exit code" || { sed 's/^/    /' "$LAB/run.err" | tail -5; ok=0; }
	if [ "$code" != 0 ]; then
		lines=$(grep -c "migrate run: user $user: " "$LAB/run.err" || true)
		assert_eq 1 "$lines" "$name: one error line" || ok=0
		grep -qE "^Error: migrate run: user $user: ($cause)" "$LAB/run.err" || {
			fail "$LAB_TEST_NAME" "$name: error line doesn't match '$cause':"
			grep "migrate run: user" "$LAB/run.err" | sed 's/^/    /'
			ok=0
		}
		grep "migrate run: user $user: " "$LAB/run.err" | sed 's/^/    /'
		status=$(state_field "$user" status)
		[ "$status" != finished ] ||
			{ fail "$LAB_TEST_NAME" "$name: recorded as finished"; ok=0; }
		echo "ok: $name: recorded as '$status'"
		# what the plugins recorded inside the failed child
		if [ -n "${OUTCOME:-}" ] &&
			! grep -qE "$OUTCOME" "$LAB/state/$user.outcome"; then
			fail "$LAB_TEST_NAME" "$name: no record '$OUTCOME' in $user.outcome:"
			sed 's/^/    /' "$LAB/state/$user.outcome"
			ok=0
		fi
		[ -z "${FIX_CMD:-}" ] || $FIX_CMD
		for ((i = 1; i <= runs; i++)); do
			rc=0
			mrun "$fix" "$user" || rc=$?
			[ "$rc" != 0 ] || break
			echo "    re-run $i: exit $rc: $(grep -m1 "migrate run: user" "$LAB/run.err")"
		done
		assert_eq 0 "$rc" "$name: re-run without the fault" ||
			{ sed 's/^/    /' "$LAB/run.err" | tail -5; ok=0; }
	fi
	assert_eq finished "$(state_field "$user" status)" "$name: recorded as finished" || ok=0
	assert_same_mail "$name" "$user" || ok=0
	if [ "${VERIFY_UIDL:-1}" = 1 ]; then
		assert_uidls "$name" "$user" || ok=0
	fi
	[ "$ok" = 0 ] || passed=$((passed + 1))
	results+=("$(printf '%-24s exit %-3s %s %3ss' "$name" "$code" \
		"$([ "$ok" = 1 ] && echo PASS || echo FAIL)" "$((SECONDS - start))")")
}

imap="IMAP server 127.0.0.1:$SRC_IMAP_PORT"
pimap="IMAP server 127.0.0.1:$FAULT_PORT_imap"
ppop3="POP3 server 127.0.0.1:$FAULT_PORT_pop3"
body='"trigger": "BODY[] {", "count": 60, "offset": 200'

t=$'\t'
OUTCOME="^login${t}imap${t}refused$t" \
	scenario wrong-password 77 "$imap: login refused \(wrong password" \
	"$(mig_conf bad-pw "imapc_password = not-the-password")"
OUTCOME="^login${t}pop3${t}refused$t" \
	scenario wrong-pop3-password 77 "POP3 server 127.0.0.1:$SRC_POP3_PORT: login refused" \
	"$(mig_conf bad-pop3-pw "pop3c_password = not-the-password")"
readd_source_user() {
	lab_user_add unknown-source-user@example.com pw-unknown-source-user
}
FIX_CMD=readd_source_user scenario unknown-source-user 77 \
	"$imap: login refused \(unknown user" "$MIG_CONF"
readd_dest_user() {
	lab_user_add unknown-dest-user@example.com pw-unknown-dest-user
	# passwd-file looks at its file at most once a second
	sleep 1.1
}
FIX_CMD=readd_dest_user scenario unknown-dest-user 67 \
	"this server: unknown user" "$MIG_CONF"
# this server's userdb can't be asked: its fault, not the old server's
OUTCOME="^log${t}here${t}auth-client$t" \
	scenario userdb-down 75 "this server: the user lookup failed \(this server's auth\): .*auth-userdb" \
	"$(mig_conf userdb-down "auth_socket_path = $LAB/no-such-auth-userdb")"
# the user's home here may not be written by the mail processes: this
# server's fault, whichever storage's event logged it
perm_home=$LAB/dst/home/dest-perm@example.com
mkdir -p "$perm_home"
chown root:root "$perm_home"
chmod 0755 "$perm_home"
fix_perm_home() { chown "$LAB_UID:$LAB_GID" "$perm_home"; }
FIX_CMD=fix_perm_home \
	scenario dest-perm 75 "copying failed \(exit 75\): this server: the user's files here may not be written \(permission denied\): .*missing \+w perm" \
	"$MIG_CONF"
down_port=$(lab_free_port)
OUTCOME="^login${t}imap${t}disconnected$t" \
	scenario refused 69 "IMAP server 127.0.0.1:$down_port: connection refused" \
	"$(mig_conf refused "imapc_port = $down_port")"
# accepts the connection and never says a word: imapc's connect timeout
# (30 s, not configurable in 2.3) applies; no retry to keep it at 30 s
scenario silent-server 69 "$pimap: connection timed out" \
	"$(mig_conf silent "${proxied[@]}" "imapc_connection_retry_count = 0")" \
	'imap {"mode": "stall", "offset": 0}'
scenario tls-handshake 69 "$imap: TLS failure" \
	"$(mig_conf tls-plain "imapc_ssl = imaps")"
# (POP3 stays plain in the repaired runs: Dovecot 2.3.19's pop3c over TLS
# hung now and then in LIST until its 300 s command timeout)
FIX_CONF=$(mig_conf tls-trusted "imapc_ssl = imaps" "imapc_port = $imaps_port" \
	"${trusted[@]}") \
	scenario tls-untrusted 69 \
	"IMAP server 127.0.0.1:$imaps_port: TLS failure: .*(certificate|ssl_client_ca)" \
	"$(mig_conf tls-untrusted "imapc_ssl = imaps" "imapc_port = $imaps_port")"
FIX_CONF=$(mig_conf starttls-trusted "imapc_ssl = starttls" "${trusted[@]}") \
	scenario tls-untrusted-starttls 69 "$imap: TLS failure: .*(certificate|SSL)" \
	"$(mig_conf starttls-untrusted "imapc_ssl = starttls")"
# the source goes away in the middle of the bodies and stays away
scenario drop-mid-fetch 75 "dsync failed \(exit 75\): $pimap: server disconnected" \
	"$PROXY_CONF" "imap {\"mode\": \"cut\", $body, \"after\": {\"mode\": \"close\"}}"
# one dropped connection: imapc reconnects and the run finishes
scenario drop-once 0 "" "$PROXY_CONF" "imap {\"mode\": \"cut\", $body, \"max_faults\": 1}"
scenario garbage 76 "$pimap: protocol error" "$PROXY_CONF" 'imap {"mode": "garbage"}'
scenario garbage-pop3 76 "$ppop3: protocol error" "$PROXY_CONF" 'pop3 {"mode": "garbage"}'
scenario close-pop3 75 "$ppop3: server disconnected" "$PROXY_CONF" 'pop3 {"mode": "close"}'
# a FETCH response overwritten: imapc drops the messages it couldn't parse
corrupt='"mode": "corrupt", "trigger": ")\r\n* ", "count": 60, "length": 40'
scenario corrupt-fetch 76 "dsync failed \(exit [0-9]+\): $pimap: protocol error" \
	"$PROXY_CONF" "imap {$corrupt}"
# without migrate_pop3 dsync itself exits 0 with messages missing; the run
# must still fail.  The next dsync finds a UID gap, resets INBOX and exits
# 75; the one after copies it again.
FIX_CONF=$LAB/proxy-noplugin.conf FIX_RUNS=2 VERIFY_UIDL=0 \
	scenario corrupt-fetch-noplugin 76 "dsync failed \(exit 0\): $pimap: protocol error" \
	"$LAB/proxy-noplugin.conf" "imap {$corrupt}"
scenario stall-mid-fetch 75 "dsync failed \(exit 75\): $pimap: (the server stopped answering|server disconnected)" \
	"$(mig_conf stall "${proxied[@]}" "imapc_cmd_timeout = 3s")" \
	"imap {\"mode\": \"stall\", $body, \"after\": {\"mode\": \"close\"}}"
scenario missing-setting 64 "IMAP server \(no host set\)[^ ]*: missing setting: .*imapc_host" \
	"$(mig_conf no-host "imapc_host =")"
scenario contradictory-setting 64 "migrate_pop3_mailbox=NOPE/INBOX names no mailbox" \
	"$(mig_conf no-pop3-ns "plugin {" "  migrate_pop3_mailbox = NOPE/INBOX" "}")"

echo
printf '%s\n' "${results[@]}"
echo "scenarios tried $tried, passed $passed, data lost $FAULT_LOST"
assert_eq "$tried" "$passed" "every scenario as expected" || exit 0
assert_eq 0 "$FAULT_LOST" "no message lost" || exit 0
# nothing secret in any state file or the status output
if grep -rqF -e "$(lab_master_password)" -e not-the-password "$LAB/state" ||
	doveadm -c "$MIG_CONF" migrate status 2>&1 |
	grep -qF -e "$(lab_master_password)" -e not-the-password; then
	fail "$LAB_TEST_NAME" "a password shows in the state or status"
	exit 0
fi
pass "$LAB_TEST_NAME"
