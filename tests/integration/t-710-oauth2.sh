#!/usr/bin/env bash
# OAuth2 logins to the old server (XOAUTH2 / OAUTHBEARER) with tokens that
# live 10 s, against the Gmail lab's server with its own HTTPS token
# endpoint (gmail-server.js --oauth2, the lab CA):
#  - a throttled migrate run of ~40 s crosses several token expiries: the
#    server ends each session whose token expired (BYE AccessTokenExpired),
#    dsync's imapc logs in again with a token refreshed in the child, and
#    every message arrives (the endpoint counts the refreshes, the server
#    the logins and the BYEs);
#  - token values, refresh tokens and the client secret never show in
#    argv (ps during the run), logs, the state dir or status output;
#  - a wrong and a revoked refresh token: exit 77 and one line naming the
#    account, the token endpoint and invalid_grant, nothing marked done;
#    an unreachable endpoint: exit 75; a hung token command is killed
#    (with what it started) after migrate_oauth2_token_command_timeout: 75;
#  - a refresh token per user as a userdb field (none in the config):
#    the run and its child's refresh use it; a revoked one 77, none 64;
#  - migrate check, migrate batch with a refresh_token column and
#    OAUTHBEARER, the same with --backend (the token handed to the
#    backend through its HTTP API), the client credentials grant (one token for every
#    mailbox), a token command, and migrate_gmail's copy across an expiry;
#  - a second pass after the user worked here logs in with a fresh token
#    and copies only what is new at the old server;
#  - migrate_pop3_mailbox with OAuth2: a clear refusal (pop3c has no
#    OAuth2).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=oauth2
lab_init
U=alice@gmail.example
GPW='g-s3cret pw'
for u in $U bob@gmail.example wrong@gmail.example revoked@gmail.example \
	 cc@gmail.example cmd@gmail.example bearer@gmail.example \
	 down@gmail.example gm@gmail.example wk@gmail.example \
	 udb@gmail.example udbbad@gmail.example bk@gmail.example; do
	lab_user_add "$u" pw
done
RT_UDB=1//lab-rt-udb-$RANDOM$RANDOM
RT_REVOKED=1//lab-rt-revoked-$RANDOM$RANDOM
# USER RT: the refresh token as a userdb field of USER here
userdb_token() {
	awk -F: -v u="$1" -v rt="$2" 'BEGIN { OFS = ":" }
		$1 == u { $8 = "userdb_migrate_oauth2_refresh_token=" rt } { print }' \
		"$LAB/dst/passwd" | lab__passwd_install dst passwd
}
userdb_token udb@gmail.example "$RT_UDB"
userdb_token udbbad@gmail.example "$RT_REVOKED"
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 0; }
lab_gmail_generate "$LAB/gmail" --seed 70 --count 60

tls=$LAB/tls
lab_tls "$tls"
token_port=$(lab_free_port)
endpoint="https://127.0.0.1:$token_port/token"
RT_ALICE=1//lab-rt-alice-$RANDOM$RANDOM
RT_BOB=1//lab-rt-bob-$RANDOM$RANDOM
RT_BK=1//lab-rt-bk-$RANDOM$RANDOM
CLIENT_SECRET=lab-client-secret-$RANDOM$RANDOM
issued=$LAB/issued-tokens
: >"$issued"
(umask 077; cat >"$LAB/oauth2.json" <<EOF
{ "port": $token_port, "cert": "$tls/srv.pem", "key": "$tls/srv.key",
  "lifetime": 10, "client_id": "lab-client", "client_secret": "$CLIENT_SECRET",
  "refresh_tokens": { "$RT_ALICE": "$U", "$RT_BOB": "bob@gmail.example",
                      "$RT_REVOKED": "revoked@gmail.example",
                      "$RT_UDB": "udb@gmail.example",
                      "$RT_BK": "bk@gmail.example" },
  "revoked": [ "$RT_REVOKED" ], "client_credentials": true,
  "issued_file": "$issued" }
EOF
)
LAB_GMAIL_OAUTH2=$LAB/oauth2.json lab_gmail_start "$GMAIL_ACCOUNT" $U "$GPW"
# no imapc_sasl_mechanisms: migrate run uses xoauth2 then
LAB_MIG_EXTRA_CONF="ssl_client_ca_file = $tls/ca.pem
plugin {
  migrate_oauth2_token_url = $endpoint
  migrate_oauth2_client_id = lab-client
  migrate_oauth2_client_secret = $CLIENT_SECRET
  migrate_oauth2_refresh_token = $RT_ALICE
  migrate_throttle_msgs = 4
}" lab_gmail_migration_conf %u "not the password" migrate_throttle
# a migration config for one account: MIG_CONF with more settings
conf_with() {	# NAME LINES... -> path
	local f=$LAB/$1.conf
	shift
	{
		lab__version_conf
		echo "!include $MIG_CONF"
		printf '%s\n' "$@"
	} | lab__conf24 >"$f"
	chmod 600 "$f"
	echo "$f"
}
oauth2_stat() { lab_gmail_stat "oauth2.$1"; }
total() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"][sys.argv[2]])' "$GMAIL_MANIFEST" "$1"; }
dst_count() {	# USER [CONF]: messages in all its folders here (or there)
	doveadm -c "${2:-$DST_CONF}" -f tab mailbox status -u "$1" messages '*' 2>/dev/null |
		awk 'NR > 1 { n += $NF } END { print n + 0 }'
}
secrets_file=$LAB/secrets.list
secrets() {	# every secret the run may have seen, one a line
	{
		printf '%s\n' "$RT_ALICE" "$RT_BOB" "$RT_REVOKED" "$RT_UDB" "$RT_BK" "$CLIENT_SECRET"
		cat "$issued"
	} >"$secrets_file"
}
# NAME FILES...: no secret in any of them
no_secrets() {
	local name=$1 hits
	shift
	secrets
	hits=$(grep -rlF -f "$secrets_file" "$@" 2>/dev/null | grep -v "$LAB/state/tmp/" | head -3)
	if [ -n "$hits" ]; then
		fail "$LAB_TEST_NAME" "$name: a token or secret in $hits"
		return 1
	fi
	echo "ok: $name: no token or secret"
}

# ps_while PS_LOG OUT ERR CMD...: CMD (stdout to OUT, stderr to ERR), with
# every process' argv appended to PS_LOG twice a second while it runs;
# its exit code in rc
ps_while() {
	local ps_log=$1 out=$2 err=$3 pid
	shift 3
	: >"$ps_log"
	"$@" >"$out" 2>"$err" &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		ps -eo args >>"$ps_log" 2>/dev/null
		sleep 0.5
	done
	rc=0; wait $pid || rc=$?
}

# --- a throttled first pass that crosses several token expiries
copies=$(total folder_copies)
ps_log=$LAB/ps.log
t0=$(date +%s)
ps_while "$ps_log" "$LAB/run1.out" "$LAB/run1.err" doveadm -c "$MIG_CONF" migrate run -u $U
secs=$(( $(date +%s) - t0 ))
assert_eq 0 "$rc" "run across token expiries succeeds (${secs} s)" || { tail -20 "$LAB/run1.err"; }
assert_eq "$copies" "$(dst_count $U)" "every message of every folder copied"
byes=$(oauth2_stat expired_byes)
logins=$(oauth2_stat logins)
tokens=$(oauth2_stat tokens_issued)
echo "measured: ${secs} s, $tokens tokens issued, $logins XOAUTH2 logins, $byes sessions ended by token expiry"
if [ "$secs" -lt 25 ]; then
	fail "$LAB_TEST_NAME" "the run took ${secs} s: too short to cross token expiries"
fi
if [ "$byes" -ge 2 ] && [ "$logins" -gt "$byes" ]; then
	echo "ok: the server ended $byes expired sessions and imapc logged in again ($logins logins)"
else
	fail "$LAB_TEST_NAME" "expected >= 2 expired sessions and a login after each (byes $byes, logins $logins)"
fi
# the first token comes from migrate run, each of its children refreshes at
# half-life: a run of N s needs at least N/5 tokens
if [ "$tokens" -ge $(( secs / 5 )) ]; then
	echo "ok: tokens refreshed before expiry ($tokens for ${secs} s)"
else
	fail "$LAB_TEST_NAME" "only $tokens tokens issued in ${secs} s of 10 s tokens"
fi
doveadm -c "$MIG_CONF" migrate status -u $U >"$LAB/status.out" 2>&1
doveadm -c "$MIG_CONF" -f json migrate status -u $U >>"$LAB/status.out" 2>&1
no_secrets "argv during the run (ps)" "$ps_log"
no_secrets "run output and log" "$LAB/run1.out" "$LAB/run1.err"
no_secrets "state dir" "$LAB/state"
no_secrets "status output" "$LAB/status.out"
no_secrets "destination log" "$DST_LOG"
if [ -n "$(ls -A "$LAB/state/tmp" 2>/dev/null)" ]; then
	fail "$LAB_TEST_NAME" "the run left configs in state/tmp: $(ls "$LAB/state/tmp")"
fi

# --- wrong and revoked refresh tokens, unreachable endpoint
bad_token() {	# USER RT WHAT
	local conf rc=0 err
	conf=$(conf_with "bad-$1" "plugin {" "  migrate_oauth2_refresh_token = $2" "}")
	doveadm -c "$conf" migrate run -u "$1" >"$LAB/bad.out" 2>"$LAB/bad.err" || rc=$?
	assert_eq 77 "$rc" "$3 refresh token: exit 77"
	err=$(grep -c "Error:" "$LAB/bad.err")
	assert_eq 1 "$err" "$3 refresh token: one error line"
	if grep -Eq "user $1: OAuth2 token endpoint $endpoint refused the login: invalid_grant" "$LAB/bad.err"; then
		echo "ok: $3 refresh token: the line names the account, the endpoint and invalid_grant"
	else
		fail "$LAB_TEST_NAME" "$3 refresh token: unexpected error: $(cat "$LAB/bad.err")"
	fi
	assert_eq 0 "$(dst_count "$1")" "$3 refresh token: nothing copied"
	assert_eq failed "$(doveadm -c "$MIG_CONF" -f tab migrate status -u "$1" | awk -F'\t' 'NR == 2 { print $2 }')" \
		"$3 refresh token: the account is failed, not done"
}
bad_token wrong@gmail.example "1//not-a-known-token" wrong
bad_token revoked@gmail.example "$RT_REVOKED" revoked
conf=$(conf_with down "plugin {" "  migrate_oauth2_token_url = https://127.0.0.1:$(lab_free_port)/token" "}")
rc=0; doveadm -c "$conf" migrate run -u down@gmail.example >/dev/null 2>"$LAB/down.err" || rc=$?
assert_eq 75 "$rc" "unreachable token endpoint: temporary failure (75)" || cat "$LAB/down.err"
conf=$(conf_with untrusted "ssl_client_ca_file = $GMAIL_LAB_SRC/package.json")
rc=0; doveadm -c "$conf" migrate run -u down@gmail.example >/dev/null 2>"$LAB/tls.err" || rc=$?
if [ "$rc" = 75 ] && grep -q "OAuth2 token endpoint $endpoint" "$LAB/tls.err"; then
	echo "ok: token endpoint with an untrusted certificate: 75, named"
else
	fail "$LAB_TEST_NAME" "untrusted endpoint certificate: exit $rc: $(cat "$LAB/tls.err")"
fi

# --- migrate check logs in the same way
conf=$(conf_with check "imapc_sasl_mechanisms = xoauth2")
rc=0; doveadm -c "$conf" migrate check -u $U >"$LAB/check.out" 2>"$LAB/check.err" || rc=$?
assert_eq 0 "$rc" "migrate check with OAuth2 succeeds" || cat "$LAB/check.err"
grep -q "All Mail" "$LAB/check.out" && echo "ok: migrate check lists the old server's folders" ||
	fail "$LAB_TEST_NAME" "migrate check: no folders: $(head -5 "$LAB/check.out")"
conf=$(conf_with check-revoked "imapc_sasl_mechanisms = xoauth2" "plugin {" "  migrate_oauth2_refresh_token = $RT_REVOKED" "}")
rc=0; doveadm -c "$conf" migrate check -u revoked@gmail.example >/dev/null 2>"$LAB/check.err" || rc=$?
assert_eq 77 "$rc" "migrate check with a revoked refresh token: 77"
grep -q "user revoked@gmail.example: OAuth2 token endpoint $endpoint refused the login: invalid_grant" "$LAB/check.err" &&
	echo "ok: migrate check names the account, the endpoint and the cause" ||
	fail "$LAB_TEST_NAME" "migrate check error: $(cat "$LAB/check.err")"
no_secrets "migrate check output" "$LAB/check.out" "$LAB/check.err"

# --- migrate batch: a refresh_token column, with OAUTHBEARER
conf=$(conf_with bearer "imapc_sasl_mechanisms = oauthbearer" "plugin {" "  migrate_throttle_msgs = 0" "}")
printf 'email,refresh_token\nbob@gmail.example,%s\nwrong@gmail.example,1//nope\n' "$RT_BOB" >"$LAB/accounts.csv"
rc=0; doveadm -c "$conf" migrate batch -F "$LAB/accounts.csv" >"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
assert_eq "$copies" "$(dst_count bob@gmail.example)" "batch: bob's refresh token from the CSV, OAUTHBEARER: every message"
if grep -q "AUTHENTICATE OAUTHBEARER" "$GMAIL_LOG"; then
	echo "ok: batch logged in with OAUTHBEARER"
else
	fail "$LAB_TEST_NAME" "no OAUTHBEARER login in the server log"
fi
assert_eq failed "$(doveadm -c "$MIG_CONF" -f tab migrate status -u wrong@gmail.example | awk -F'\t' 'NR == 2 { print $2 }')" \
	"batch: the wrong CSV refresh token fails its account"
no_secrets "batch output" "$LAB/batch.out" "$LAB/batch.err" "$LAB/state"

# --- migrate batch --backend: the CSV's refresh token reaches the backend
# through its doveadm HTTP API (never an argv); the backend's own config
# has the token endpoint and client, no refresh token
api_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
bk_port=$(lab_free_port)
LAB_DST_EXTRA_CONF=$(lab_backend_conf "$bk_port" "$api_pw" "$LAB/state-bk" \
	"ssl_client_ca_file = $tls/ca.pem" "imapc_host = $GMAIL_IMAP_HOST" \
	"imapc_port = $GMAIL_IMAP_PORT" "imapc_ssl = no" "imapc_user = %u" \
	"imapc_password = not the password" \
	"imapc_features = rfc822.size fetch-headers" \
	"dsync_features = empty-header-workaround" "plugin {" \
	"  migrate_oauth2_token_url = $endpoint" \
	"  migrate_oauth2_client_id = lab-client" \
	"  migrate_oauth2_client_secret = $CLIENT_SECRET" "}") \
	lab_backend_start bk || exit 1
for _ in $(seq 100); do lab__port_listening "$bk_port" && break; sleep 0.05; done
conf=$(conf_with backend "doveadm_password = $api_pw" "plugin {" "  migrate_throttle_msgs = 0" "}")
printf 'email,refresh_token\nbk@gmail.example,%s\n' "$RT_BK" >"$LAB/bk.csv"
chmod 600 "$LAB/bk.csv"
ps_while "$LAB/bk-ps.log" "$LAB/bk.out" "$LAB/bk.err" \
	doveadm -c "$conf" migrate batch -F "$LAB/bk.csv" --backend "http://127.0.0.1:$bk_port"
assert_eq 0 "$rc" "batch --backend: the CSV's refresh token reaches the backend" ||
	{ cat "$LAB/bk.out" "$LAB/bk.err"; tail -5 "$LAB/bk/dovecot.log"; }
assert_eq "$copies" "$(dst_count bk@gmail.example "$LAB/bk/dovecot.conf")" "batch --backend: every message on the backend"
assert_eq 0 "$(dst_count bk@gmail.example)" "batch --backend: nothing copied on the batch's server"
no_secrets "batch --backend: output, argv, both state dirs, the backend's log" \
	"$LAB/bk.out" "$LAB/bk.err" "$LAB/bk-ps.log" "$LAB/state" "$LAB/state-bk" "$LAB/bk/dovecot.log"
# never on a command line
rc=0; doveadm -c "$conf" migrate run -u bk@gmail.example --source-refresh-token 1//x \
	>/dev/null 2>"$LAB/bk-cli.err" || rc=$?
assert_eq 64 "$rc" "--source-refresh-token on a command line: usage error"
grep -q "only through the doveadm HTTP API" "$LAB/bk-cli.err" &&
	echo "ok: the refusal says why" ||
	fail "$LAB_TEST_NAME" "--source-refresh-token refusal: $(cat "$LAB/bk-cli.err")"

# --- the client credentials grant: one token for every mailbox
conf=$(conf_with cc "plugin {" "  migrate_oauth2_grant = client_credentials" "  migrate_oauth2_refresh_token =" "  migrate_throttle_msgs = 0" "}")
rc=0; doveadm -c "$conf" migrate run -u cc@gmail.example >/dev/null 2>"$LAB/cc.err" || rc=$?
assert_eq 0 "$rc" "client credentials grant: run succeeds" || cat "$LAB/cc.err"
assert_eq "$copies" "$(dst_count cc@gmail.example)" "client credentials grant: every message"

# --- a refresh token per user from the userdb (none in the config): the
# run's first token and its child's refresh at half-life (a ~12 s run)
conf=$(conf_with udb "plugin {" "  migrate_oauth2_refresh_token =" "  migrate_throttle_msgs = 5" "}")
tokens_before=$(oauth2_stat tokens_issued)
rc=0; doveadm -c "$conf" migrate run -u udb@gmail.example >"$LAB/udb.out" 2>"$LAB/udb.err" || rc=$?
assert_eq 0 "$rc" "refresh token from the userdb: run succeeds" || cat "$LAB/udb.err"
assert_eq "$copies" "$(dst_count udb@gmail.example)" "refresh token from the userdb: every message"
udb_tokens=$(( $(oauth2_stat tokens_issued) - tokens_before ))
if [ "$udb_tokens" -ge 2 ]; then
	echo "ok: refresh token from the userdb: $udb_tokens tokens (the run's, then its child's refresh)"
else
	fail "$LAB_TEST_NAME" "refresh token from the userdb: $udb_tokens tokens issued, expected the run's and a refresh"
fi
rc=0; doveadm -c "$conf" migrate run -u udbbad@gmail.example >/dev/null 2>"$LAB/udbbad.err" || rc=$?
assert_eq 77 "$rc" "revoked refresh token from the userdb: 77"
grep -q "user udbbad@gmail.example: OAuth2 token endpoint $endpoint refused the login: invalid_grant" "$LAB/udbbad.err" &&
	echo "ok: revoked userdb refresh token: the line names the account, the endpoint and the cause" ||
	fail "$LAB_TEST_NAME" "revoked userdb refresh token: $(cat "$LAB/udbbad.err")"
rc=0; doveadm -c "$conf" migrate run -u cmd@gmail.example >/dev/null 2>"$LAB/udbnone.err" || rc=$?
assert_eq 64 "$rc" "no refresh token in the config nor the userdb: 64"
grep -q "no refresh token for this account (migrate_oauth2_refresh_token in the config or a userdb field" "$LAB/udbnone.err" &&
	echo "ok: no refresh token: the line says where one may be" ||
	fail "$LAB_TEST_NAME" "no refresh token: $(cat "$LAB/udbnone.err")"
no_secrets "userdb refresh token runs" "$LAB/udb.out" "$LAB/udb.err" "$LAB/udbbad.err" "$LAB/state"

# --- parallel dsync workers each log in with the run's token
conf=$(conf_with workers "plugin {" "  migrate_oauth2_grant = client_credentials" "  migrate_oauth2_refresh_token =" \
	"  migrate_throttle_msgs = 0" "  migrate_run_workers = 3" "}")
rc=0; doveadm -c "$conf" migrate run -u wk@gmail.example >/dev/null 2>"$LAB/wk.err" || rc=$?
assert_eq 0 "$rc" "3 dsync workers with OAuth2: run succeeds" || tail -5 "$LAB/wk.err"
assert_eq "$copies" "$(dst_count wk@gmail.example)" "3 dsync workers with OAuth2: every message"

# --- a token command given the user (service-account delegation)
cat >"$LAB/token-cmd.sh" <<EOF
#!/bin/sh
# prints an access token for \$1: here from the lab's endpoint
curl -s --cacert "$tls/ca.pem" -d grant_type=client_credentials -d client_id=lab-client \
	-d client_secret=$CLIENT_SECRET "$endpoint" |
	python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["access_token"]); print(a["expires_in"])'
EOF
chmod 700 "$LAB/token-cmd.sh"
conf=$(conf_with cmd "plugin {" "  migrate_oauth2_token_command = $LAB/token-cmd.sh" "  migrate_throttle_msgs = 0" "}")
rc=0; doveadm -c "$conf" migrate run -u cmd@gmail.example >/dev/null 2>"$LAB/cmd.err" || rc=$?
assert_eq 0 "$rc" "token command: run succeeds" || cat "$LAB/cmd.err"
assert_eq "$copies" "$(dst_count cmd@gmail.example)" "token command: every message"

# --- a token command that hangs (and started a child that keeps its
# output open) is killed with what it started after
# migrate_oauth2_token_command_timeout: 75, one line, nothing copied
cat >"$LAB/token-hang.sh" <<EOF
#!/bin/sh
sleep 300 &
echo \$! >"$LAB/token-hang.child"
sleep 300
EOF
chmod 700 "$LAB/token-hang.sh"
conf=$(conf_with hang "plugin {" "  migrate_oauth2_token_command = $LAB/token-hang.sh" \
	"  migrate_oauth2_token_command_timeout = 2s" "}")
t0=$(date +%s)
rc=0; timeout 60 doveadm -c "$conf" migrate run -u down@gmail.example >/dev/null 2>"$LAB/hang.err" || rc=$?
took=$(($(date +%s) - t0))
assert_eq 75 "$rc" "hung token command: temporary failure (75)" || cat "$LAB/hang.err"
if grep -q "token-hang.sh failed: no answer in 2 seconds" "$LAB/hang.err" && [ "$took" -lt 30 ]; then
	echo "ok: hung token command: killed after its timeout (${took}s), named"
else
	fail "$LAB_TEST_NAME" "hung token command: ${took}s: $(cat "$LAB/hang.err")"
fi
# alive: there and not a zombie (init reaps what was killed in its time)
alive() { case $(ps -o stat= -p "$1" 2>/dev/null) in '' | Z*) return 1 ;; esac; }
if alive "$(cat "$LAB/token-hang.child")"; then
	fail "$LAB_TEST_NAME" "hung token command: the child it started still runs: $(ps -o pid,ppid,pgid,stat,cmd -p "$(cat "$LAB/token-hang.child")" | tail -1)"
	kill "$(cat "$LAB/token-hang.child")"
else
	echo "ok: hung token command: what it started was killed too"
fi
assert_eq 0 "$(dst_count down@gmail.example)" "hung token command: nothing copied"

# --- migrate_gmail copies through the same login, across an expiry
byes_before=$(oauth2_stat expired_byes)
conf=$(conf_with gmail "protocol doveadm {" "  mail_plugins = \$mail_plugins migrate_throttle migrate_gmail" "}" \
	"plugin {" "  migrate_oauth2_grant = client_credentials" "  migrate_oauth2_refresh_token =" "}")
rc=0; doveadm -c "$conf" migrate run -u gm@gmail.example >/dev/null 2>"$LAB/gm.err" || rc=$?
assert_eq 0 "$rc" "migrate_gmail with OAuth2: run succeeds" || tail -5 "$LAB/gm.err"
inbox_expected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["folders"]["INBOX"]["count"])' "$GMAIL_MANIFEST")
assert_eq "$inbox_expected" "$(doveadm -c "$DST_CONF" -f tab mailbox status -u gm@gmail.example messages INBOX | awk 'NR == 2 { print $NF }')" \
	"migrate_gmail with OAuth2: every INBOX message"
if [ "$(oauth2_stat expired_byes)" -gt "$byes_before" ]; then
	echo "ok: migrate_gmail: a session ended by token expiry and the copy went on"
else
	fail "$LAB_TEST_NAME" "migrate_gmail: no session crossed a token expiry"
fi

# --- POP3 UIDLs need pop3c, which has no OAuth2
conf=$(conf_with pop3 "plugin {" "  migrate_pop3_mailbox = POP3/INBOX" "}")
rc=0; doveadm -c "$conf" migrate run -u bearer@gmail.example >/dev/null 2>"$LAB/pop3.err" || rc=$?
assert_eq 64 "$rc" "migrate_pop3_mailbox with OAuth2: refused (64)"
grep -q "can't log in with OAuth2" "$LAB/pop3.err" && echo "ok: pop3c's limit is named" ||
	fail "$LAB_TEST_NAME" "pop3 refusal: $(cat "$LAB/pop3.err")"

# --- the lifecycle: the user works here, then a pass copies what is new
inbox() { doveadm -c "$DST_CONF" -f tab mailbox status -u $U messages INBOX | awk 'NR == 2 { print $NF }'; }
before=$(inbox)
printf 'From: here@example.com\nSubject: delivered here\nMessage-ID: <here-1@example.com>\n\nnew server\n' |
	doveadm -c "$DST_CONF" save -u $U -m INBOX
doveadm -c "$DST_CONF" expunge -u $U mailbox INBOX uid 1
python3 - "$GMAIL_IMAP_PORT" $U "$GPW" <<'EOF'
import imaplib, sys
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
for i in (1, 2):
    msg = ("From: old@example.com\r\nSubject: new at the old server %d\r\n"
           "Message-ID: <old-new-%d@example.com>\r\n\r\nbody %d\r\n" % (i, i, i))
    m.append("INBOX", None, None, msg.encode())
m.logout()
EOF
logins_before=$(oauth2_stat logins)
conf=$(conf_with second "plugin {" "  migrate_throttle_msgs = 0" "}")
rc=0; doveadm -c "$conf" migrate run -u $U --final >"$LAB/run2.out" 2>"$LAB/run2.err" || rc=$?
assert_eq 0 "$rc" "second pass after the switch succeeds" || tail -5 "$LAB/run2.err"
assert_eq $(( before + 1 - 1 + 2 )) "$(inbox)" "second pass: the 2 new messages copied, mail delivered here kept, the expunge kept"
if [ "$(oauth2_stat logins)" -gt "$logins_before" ]; then
	echo "ok: second pass logged in again with a fresh token"
else
	fail "$LAB_TEST_NAME" "second pass: no new OAuth2 login"
fi
no_secrets "second pass output and state" "$LAB/run2.out" "$LAB/run2.err" "$LAB/state"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
