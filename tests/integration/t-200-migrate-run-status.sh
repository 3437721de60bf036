#!/usr/bin/env bash
# doveadm migrate run / status / verify-uidl, as an admin uses them with a
# separate migration config:
#  - run copies an account and records it; verify-uidl then exits 0;
#  - a second run after new mail copies only the new messages;
#  - wrong password and unreachable host fail fast with a one-line error
#    naming user, server and cause, distinct exit codes, state "failed";
#  - a plain migration (no UIDL plugin) makes verify-uidl exit 2 with a
#    summary and a diff;
#  - a second run for the same user while one is going is refused (73);
#    a killed run shows as "interrupted";
#  - status -f json parses and its counts are right; no password is in
#    the state files or in status output.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=migrate-run-status
lab_init
lab_user_add good@example.com pw-good
lab_user_add plain@example.com pw-plain
lab_user_add big@example.com pw-big
lab_corpus good@example.com 60 91
lab_corpus plain@example.com 20 92
lab_corpus big@example.com 3000 93
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
master_pw=$(lab_master_password)

mrun() {	# CONF USER [ARGS...] -> exit code; output in $LAB/run.out
	local conf=$1 rc=0
	shift
	doveadm -c "$conf" migrate run -u "$@" >"$LAB/run.out" 2>"$LAB/run.err" || rc=$?
	return $rc
}
status_json() {
	doveadm -c "$MIG_CONF" -f json migrate status "$@"
}
jfield() {	# USER FIELD < json
	python3 -c 'import json,sys
rows=json.load(sys.stdin)
print([r for r in rows if r["user"]==sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

# good account
rc=0; mrun "$MIG_CONF" good@example.com || rc=$?
assert_eq 0 "$rc" "run: migration succeeds" || { cat "$LAB/run.err"; exit 0; }
status_json >"$LAB/status.json"
assert_eq finished "$(jfield good@example.com status <"$LAB/status.json")" "status: finished" || exit 0
assert_eq 60 "$(jfield good@example.com copied <"$LAB/status.json")" "status: 60 copied" || exit 0
rc=0; doveadm -c "$MIG_CONF" migrate verify-uidl -u good@example.com -s >"$LAB/verify.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "verify-uidl after run exits 0" || { cat "$LAB/verify.out"; exit 0; }

# new mail, second run: only the new messages
lab_corpus good@example.com 4 94
rc=0; mrun "$MIG_CONF" good@example.com --final || rc=$?
assert_eq 0 "$rc" "second run succeeds" || exit 0
status_json >"$LAB/status.json"
assert_eq 4 "$(jfield good@example.com copied <"$LAB/status.json")" "second run copied only the 4 new messages" || exit 0
assert_eq 64 "$(jfield good@example.com messages <"$LAB/status.json")" "destination holds 64" || exit 0
assert_eq switched "$(jfield good@example.com phase <"$LAB/status.json")" "--final switched the account" || exit 0

# wrong password: fails fast, exit 77
cp "$MIG_CONF" "$LAB/badpw.conf"
echo "imapc_password = definitely-wrong" >>"$LAB/badpw.conf"
rc=0; mrun "$LAB/badpw.conf" plain@example.com || rc=$?
assert_eq 77 "$rc" "wrong password: exit 77" || exit 0
err=$(grep -c "migrate run: user plain@example.com: IMAP server 127.0.0.1:$SRC_IMAP_PORT: login refused" "$LAB/run.err" || true)
assert_eq 1 "$err" "wrong password: one line naming user, server and cause" || { cat "$LAB/run.err"; exit 0; }
assert_eq 0 "$(lab_imap_count dst plain@example.com 2>/dev/null || echo 0)" "nothing copied" || exit 0

# unreachable host: exit 69
cp "$MIG_CONF" "$LAB/down.conf"
echo "imapc_port = $(lab_free_port)" >>"$LAB/down.conf"
rc=0; mrun "$LAB/down.conf" plain@example.com || rc=$?
assert_eq 69 "$rc" "unreachable host: exit 69" || { cat "$LAB/run.err"; exit 0; }
grep -q "migrate run: user plain@example.com: IMAP server 127.0.0.1:[0-9]*: connection refused" "$LAB/run.err" ||
	{ fail "$LAB_TEST_NAME" "unreachable host: no clear error"; cat "$LAB/run.err"; exit 0; }
status_json >"$LAB/status.json"
assert_eq failed "$(jfield plain@example.com status <"$LAB/status.json")" "status: failed" || exit 0
grep -q "connection refused" <<<"$(jfield plain@example.com error <"$LAB/status.json")" ||
	{ fail "$LAB_TEST_NAME" "status doesn't show the cause"; exit 0; }

# a migration without the UIDL plugin: verify-uidl exits 2 with a diff
lab_migration_conf
lab_migrate_backup plain@example.com
lab_migration_conf migrate_pop3
rc=0; doveadm -c "$MIG_CONF" migrate verify-uidl -u plain@example.com >"$LAB/verify.out" 2>&1 || rc=$?
assert_eq 2 "$rc" "verify-uidl on a migration without UIDLs exits 2" || exit 0
grep -q "identical 0/20, missing 20, extra 20" "$LAB/verify.out" ||
	{ fail "$LAB_TEST_NAME" "verify-uidl summary"; cat "$LAB/verify.out"; exit 0; }
assert_eq 40 "$(grep -cE '^(missing|extra) ' "$LAB/verify.out")" "verify-uidl lists every difference" || exit 0

# concurrent runs refused, a killed run is "interrupted"
doveadm -c "$MIG_CONF" migrate run -u big@example.com >/dev/null 2>&1 &
bigpid=$!
for _ in $(seq 100); do
	st=$(status_json -u big@example.com | jfield big@example.com status 2>/dev/null || true)
	[ "$st" = running ] && break
	sleep 0.1
done
assert_eq running "$st" "status shows the run while it goes" || exit 0
rc=0; mrun "$MIG_CONF" big@example.com || rc=$?
assert_eq 73 "$rc" "a second run for the same user is refused" || exit 0
grep -q "a migration is already running (pid $bigpid" "$LAB/run.err" ||
	{ fail "$LAB_TEST_NAME" "refusal doesn't name the running pid"; cat "$LAB/run.err"; exit 0; }
kill -9 "$bigpid"; wait "$bigpid" 2>/dev/null || true
assert_eq interrupted "$(status_json -u big@example.com | jfield big@example.com status)" \
	"a killed run shows as interrupted" || exit 0
rc=0; mrun "$MIG_CONF" big@example.com || rc=$?
assert_eq 0 "$rc" "the interrupted account completes on the next run" || exit 0
assert_eq 3000 "$(lab_imap_count dst big@example.com)" "every message there, none twice" || exit 0

# no password anywhere
if grep -rqF -e "$master_pw" -e definitely-wrong "$LAB/state" ||
   doveadm -c "$MIG_CONF" migrate status 2>&1 | grep -qF -e "$master_pw" -e definitely-wrong; then
	fail "$LAB_TEST_NAME" "a password shows in the state or status output"
	exit 0
fi
echo "ok: no password in state files or status output"
pass "$LAB_TEST_NAME"
