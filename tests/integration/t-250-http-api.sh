#!/usr/bin/env bash
# doveadm migrate run driven through a backend's own doveadm HTTP API (the
# remote protocol batch scale-out builds on): the backend Dovecot runs the
# command in its doveadm server with its own config (imapc as master user),
# finds doveadm/doveconf although doveadm-server lives elsewhere, copies
# the account and answers with the result row; a wrong API password is
# refused and copies nothing; migrate run --backend over HTTPS verifies
# the backend's certificate.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=http-api
lab_init
lab_user_add r1@example.com pw1
lab_user_add r2@example.com pw2
lab_corpus r1@example.com 30 51
lab_corpus r2@example.com 12 52
lab_source_start
http_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# HTTPS too: a throwaway CA and a certificate for 127.0.0.1
tls=$LAB/tls
lab_tls "$tls"
# (the doveadm server serves the HTTP API on the listener named "http"
# only: that one gets TLS)
LAB_DST_EXTRA_CONF="$(lab_backend_conf "$http_port" "$api_pw" "$LAB/backend-state")
service doveadm {
  inet_listener http {
    ssl = yes
  }
}
ssl = yes
ssl_cert = <$tls/srv.pem
ssl_key = <$tls/srv.key"
lab_dest_start sdbox

api() {	# PASSWORD JSON -> HTTP body on stdout, status in $LAB/http.code
	# (curl reads the credentials from a 0600 file, not from argv)
	(umask 077; printf 'user = "doveadm:%s"\n' "$1" >"$LAB/curl.conf")
	curl -s -K "$LAB/curl.conf" --cacert "$tls/ca.pem" \
		-o "$LAB/http.body" -w '%{http_code}' \
		-H 'Content-Type: application/json' -d "$2" \
		"https://127.0.0.1:$http_port/doveadm/v1" >"$LAB/http.code"
	cat "$LAB/http.body"
}

body=$(api "$api_pw" '[["migrateRun", {"user": "r1@example.com"}, "t1"]]')
assert_eq 200 "$(cat "$LAB/http.code")" "HTTP API: migrateRun answered 200" || { echo "$body"; exit 0; }
status=$(python3 -c 'import json,sys
r=json.loads(sys.argv[1])[0]
print(r[0], r[1][0]["user"], r[1][0]["status"], r[1][0]["messages"], r[2])' "$body" 2>&1)
assert_eq "doveadmResponse r1@example.com finished 30 t1" "$status" "HTTP API: the result row says finished, 30 copied" || { echo "$body"; exit 0; }
assert_eq 30 "$(lab_imap_count dst r1@example.com)" "HTTP API: the backend has the 30 messages" || exit 0
assert_eq finished "$(sed -n 's/^status\t//p' "$LAB/backend-state/r1@example.com.state" 2>/dev/null)" "HTTP API: the backend recorded the run in its state dir" || exit 0

body=$(api "not-$api_pw" '[["migrateRun", {"user": "r2@example.com"}, "t2"]]')
assert_eq 401 "$(cat "$LAB/http.code")" "HTTP API: a wrong API password is refused" || { echo "$body"; exit 0; }
assert_eq 0 "$(lab_imap_count dst r2@example.com)" "HTTP API: ... and nothing is copied" || exit 0
if grep -qF "$api_pw" "$LAB/dst/dovecot.log"; then
	fail "$LAB_TEST_NAME" "the API password is in the backend's log"
	exit 0
fi
echo "ok: the API password is not in the backend's log"

# migrate run --backend over HTTPS: the certificate is verified against
# ssl_client_ca_file, and refused without it
LAB_MIG_EXTRA_CONF="doveadm_password = $api_pw"
lab_migration_conf
rc=0
out=$(doveadm -c "$MIG_CONF" migrate run -u r2@example.com \
	--backend "https://127.0.0.1:$http_port" 2>&1) || rc=$?
assert_eq 69 "$rc" "HTTPS backend with an unknown CA: refused (69)" || { echo "$out"; exit 0; }
echo "ok: $(tail -n 1 <<<"$out")"
assert_eq 0 "$(lab_imap_count dst r2@example.com)" "HTTPS backend with an unknown CA: nothing copied" || exit 0
lab_migration_conf_add "ssl_client_ca_file = $tls/ca.pem"
rc=0
out=$(doveadm -c "$MIG_CONF" migrate run -u r2@example.com \
	--backend "https://127.0.0.1:$http_port" 2>&1) || rc=$?
assert_eq 0 "$rc" "HTTPS backend with ssl_client_ca_file: exit 0" || { echo "$out"; exit 0; }
assert_eq 12 "$(lab_imap_count dst r2@example.com)" "HTTPS backend: the 12 messages copied" || exit 0
pass "$LAB_TEST_NAME"
