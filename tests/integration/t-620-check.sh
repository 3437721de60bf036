#!/usr/bin/env bash
# migrate check, the pre-flight of an account, and migrate batch --check
# for a CSV of accounts (docs/commands.md). For each case: the exit code,
# the one error line naming the account, the server and the cause, the
# folders with their messages and what a migration does with them - and
# that nothing was copied or recorded.
#  - good: INBOX and Work with the old server's counts, "copied", the
#    POP3 row; -x Work: "excluded (-x)";
#  - wrong IMAP password 77, wrong POP3 password 77 (naming the POP3
#    server), unreachable 69, user unknown here 67;
#  - an old server that allows one IMAP login per user at a time
#    (mail_max_userip_connections = 1): a warning that the run's second
#    connection would be refused, exit 0; none asked with
#    migrate_pop3_size_connections = 1;
#  - a Gmail account: label folders copied, \Sent into this server's
#    \Sent folder, All Mail read for archived mail, the views skipped;
#  - batch --check: one row per account, the failures by cause below the
#    table, exit 75 (failures of two kinds), no account state.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=check
lab_init
for u in good bad down; do
	lab_user_add "$u@example.com" "pw-$u"
	lab_corpus "$u@example.com" 12 71
	lab_corpus "$u@example.com" 5 72 Work
done
lab_user_add nodest@example.com pw-nodest
sed -i '/^nodest@example.com:/d' "$LAB/dst/passwd"
lab_source_start
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
  }
}'
lab_dest_start sdbox
lab_migration_conf migrate_pop3
sleep 1.1	# passwd-file looks at its file at most once a second

check() {	# CASE CONF USER [ARGS]: exit in $rc, -f tab output in CASE.out
	local c=$1 conf=$2 u=$3
	shift 3
	rc=0
	doveadm -c "$conf" -f tab migrate check -u "$u" "$@" </dev/null \
		>"$LAB/$c.out" 2>"$LAB/$c.err" || rc=$?
}
# field CASE FOLDER COLUMN
field() {
	awk -F'\t' -v f="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == f { print $col[c] }' "$LAB/$1.out"
}
one_error() {	# CASE REGEXP
	local n
	n=$(grep -cE "Error: migrate check: user [^ ]+: $2" "$LAB/$1.err" || true)
	assert_eq 1 "$n" "$1: one error line: $2" || sed 's/^/    /' "$LAB/$1.err"
}
cp "$MIG_CONF" "$LAB/badpw.conf"
echo "imapc_password = wrong" >>"$LAB/badpw.conf"
cp "$MIG_CONF" "$LAB/badpop3.conf"
echo "pop3c_password = wrong" >>"$LAB/badpop3.conf"
down_port=$(lab_free_port)
cp "$MIG_CONF" "$LAB/down.conf"
echo "imapc_port = $down_port" >>"$LAB/down.conf"

check good "$MIG_CONF" good@example.com
assert_eq 0 "$rc" "good: exit 0" || sed 's/^/    /' "$LAB/good.err"
assert_eq 12 "$(field good INBOX messages)" "good: INBOX 12 messages"
assert_eq 5 "$(field good Work messages)" "good: Work 5 messages"
assert_eq copied "$(field good Work action)" "good: Work copied"
[ "$(field good INBOX bytes)" -gt 0 ] && echo "ok: good: INBOX has a size" ||
	fail "$LAB_TEST_NAME" "good: INBOX size"
assert_eq 12 "$(field good "(POP3) $LAB_POP3_NS""INBOX" messages)" "good: POP3 12 messages"
assert_ok "good: the summary line" grep -q "migrate check: user good@example.com: IMAP server 127.0.0.1:$SRC_IMAP_PORT: logged in; 2 folders to copy, 17 messages" "$LAB/good.err"
check exclude "$MIG_CONF" good@example.com -x Work
assert_eq "excluded (-x)" "$(field exclude Work action)" "-x Work: excluded"

check badpw "$LAB/badpw.conf" bad@example.com
assert_eq 77 "$rc" "wrong password: exit 77"
one_error badpw "IMAP server 127.0.0.1:$SRC_IMAP_PORT: login refused"
check badpop3 "$LAB/badpop3.conf" bad@example.com
assert_eq 77 "$rc" "wrong POP3 password: exit 77"
one_error badpop3 "POP3 server 127.0.0.1:$SRC_POP3_PORT: login refused"
check down "$LAB/down.conf" down@example.com
assert_eq 69 "$rc" "unreachable: exit 69"
one_error down "IMAP server 127.0.0.1:$down_port: unreachable"
check nodest "$MIG_CONF" nodest@example.com
assert_eq 67 "$rc" "unknown user here: exit 67"

for u in good bad down; do
	assert_eq 0 "$(lab_imap_count dst "$u@example.com" 2>/dev/null || echo 0)" \
		"$u: nothing copied"
done

# --- an old server that allows one login per user at a time: the run's
# extra connections (migrate_pop3_size_connections, default 2) would be
# refused, and check says so before (a warning naming the server and
# the cause, still exit 0); with the setting at 1 it doesn't ask
assert_eq 0 "$(grep -c "second login" "$LAB/good.err")" "good: no warning of a second login"
printf 'protocol imap {\n  mail_max_userip_connections = 1\n}\n' | lab__conf24 >>"$SRC_CONF"
doveadm -c "$SRC_CONF" reload || fail "$LAB_TEST_NAME" "reloading the old server"
sleep 0.5
check onelogin "$MIG_CONF" good@example.com
assert_eq 0 "$rc" "one login at a time: exit 0" || sed 's/^/    /' "$LAB/onelogin.err"
assert_ok "one login at a time: the warning names the server and the cause" \
	grep -qE "Warning: migrate check: user good@example.com: IMAP server 127.0.0.1:$SRC_IMAP_PORT: a second login while one is open was refused \(.*[Mm]aximum number of .*connections.*\): .*migrate_pop3_size_connections = 1" "$LAB/onelogin.err" ||
	sed 's/^/    /' "$LAB/onelogin.err"
grep "second login" "$LAB/onelogin.err" | sed 's/^/    /'
assert_eq 0 "$(grep -c "Error:" "$LAB/onelogin.err")" \
	"one login at a time: no error line (imapc's refusal is logged as info)" ||
	sed 's/^/    /' "$LAB/onelogin.err"
assert_eq 12 "$(field onelogin INBOX messages)" "one login at a time: INBOX still listed"
cp "$MIG_CONF" "$LAB/onesize.conf"
printf 'plugin {\n  migrate_pop3_size_connections = 1\n}\n' | lab__conf24 >>"$LAB/onesize.conf"
check onesize "$LAB/onesize.conf" good@example.com
assert_eq 0 "$rc" "migrate_pop3_size_connections = 1: exit 0"
assert_eq 0 "$(grep -c "second login" "$LAB/onesize.err")" "migrate_pop3_size_connections = 1: no second login tried"
sed -i '/mail_max_userip_connections/d' "$SRC_CONF"
doveadm -c "$SRC_CONF" reload || fail "$LAB_TEST_NAME" "reloading the old server"
sleep 0.5

# --- batch --check
csv=$LAB/accounts.csv
printf 'email,password,host,port\ngood@example.com,,,\nbad@example.com,wrong,,\ndown@example.com,,127.0.0.1,%s\n' \
	"$down_port" >"$csv"
chmod 600 "$csv"
# the CSV's passwords: the config's master login is left out for them
rc=0
doveadm -c "$MIG_CONF" migrate batch --check -F "$csv" -n 2 </dev/null \
	>"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
cat "$LAB/batch.out"
assert_eq 75 "$rc" "batch --check: exit 75 (two kinds of failure)"
assert_ok "batch --check: good ok, 17 messages" grep -qE "^good@example.com +ok +17 " "$LAB/batch.out"
assert_ok "batch --check: bad failed, login refused" grep -qE "^bad@example.com +failed .*login refused" "$LAB/batch.out"
assert_ok "batch --check: down failed, unreachable" grep -qE "^down@example.com +127.0.0.1 +failed .*unreachable" "$LAB/batch.out"
assert_ok "batch --check: failures by cause" grep -q "^failed: 1 unreachable (69), 1 login refused (77)" "$LAB/batch.out"
rc=0; doveadm -c "$MIG_CONF" -f json migrate status >"$LAB/status.json" 2>/dev/null || rc=$?
assert_eq "[]" "$(tr -d ' \n' <"$LAB/status.json")" "batch --check recorded no account"
rc=0; doveadm -c "$MIG_CONF" migrate batch --check --final -F "$csv" </dev/null \
	>/dev/null 2>&1 || rc=$?
assert_eq 64 "$rc" "batch --check --final: refused (64)"

# --- a Gmail account
G=gail@gmail.example
GPW='g-check pw'
lab_user_add "$G" pw-gail
sleep 1.1	# passwd-file looks at its file at most once a second
if lab_gmail_setup; then
	lab_gmail_generate "$LAB/gmail" --seed 62 --count 60
	lab_gmail_start "$GMAIL_ACCOUNT" "$G" "$GPW"
	lab_gmail_migration_conf "$G" "$GPW" migrate_gmail
	check gmail "$MIG_CONF" "$G"
	assert_eq 0 "$rc" "gmail: exit 0" || sed 's/^/    /' "$LAB/gmail.err"
	sed 's/^/    /' "$LAB/gmail.out"
	assert_eq copied "$(field gmail INBOX action)" "gmail: INBOX copied"
	assert_eq "copied into Sent Messages" "$(awk -F'\t' '$2 ~ /\\Sent/ {print $6}' "$LAB/gmail.out")" \
		"gmail: \\Sent into this server's \\Sent folder"
	assert_ok "gmail: All Mail read for archived mail" \
		awk -F'\t' '$2 ~ /\\All/ && $6 ~ /^read: its mail in no label goes to Archive/ {f=1} END {exit !f}' "$LAB/gmail.out"
	assert_ok "gmail: the views skipped" \
		awk -F'\t' '$2 ~ /\\Flagged/ && $6 ~ /^skipped: a Gmail view/ {f=1} END {exit !f}' "$LAB/gmail.out"
	assert_ok "gmail: the summary says Gmail" grep -q "logged in (Gmail)" "$LAB/gmail.err"
	assert_eq 0 "$(lab_imap_count dst "$G" 2>/dev/null || echo 0)" "gmail: nothing copied"
else
	fail "$LAB_TEST_NAME" "npm setup of the Gmail-like server"
fi

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
