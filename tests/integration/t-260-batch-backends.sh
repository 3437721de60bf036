#!/usr/bin/env bash
# doveadm migrate batch --backend: the accounts run on two other Dovecot
# backends through their doveadm HTTP API, none on the batch's server:
#  - every good account ends up on exactly one backend with all its mail,
#    and both backends take a share; an account with its own password in
#    the CSV and one with another login on the old server (dest_user)
#    work; a wrong password fails with the backend's reason;
#  - this server's state and final table have each outcome and count;
#  - the password never reaches an argv, a log or a state file, and the
#    backends' per-run config files are removed;
#  - a second batch skips what finished and copies nothing again; a
#    --final batch sends each account to the backend that has its mail;
#  - migrate run --backend is clean under valgrind;
#  - a wrong API password (77) and an unreachable backend (69) are told
#    apart.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=batch-backends
lab_init
for i in 1 2 3 4 5; do
	lab_user_add "b$i@example.com" "pw-b$i"
	lab_corpus "b$i@example.com" $((10 + i)) "$((300 + i))"
done
lab_user_add own@example.com own-secret-pw-4711
lab_corpus own@example.com 9 310
lab_user_add old-name@example.com old-pw
lab_corpus old-name@example.com 7 311
lab_user_add new-name@example.com new-pw
lab_user_add wrong@example.com right-pw
lab_corpus wrong@example.com 5 312
lab_source_start

api_pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
port_a=$(lab_free_port)
port_b=$(lab_free_port)
LAB_DST_EXTRA_CONF=$(lab_backend_conf "$port_a" "$api_pw" "$LAB/state-a")
lab_dest_start sdbox
# the second backend: the same users, homes of its own
LAB_DST_EXTRA_CONF=$(lab_backend_conf "$port_b" "$api_pw" "$LAB/state-b")
lab_backend_start dst2 || exit 1
for p in "$port_a" "$port_b"; do
	for _ in $(seq 100); do lab__port_listening "$p" && break; sleep 0.05; done
done

# this server: only the API password and its own state dir
LAB_MIG_EXTRA_CONF="doveadm_password = $api_pw"
lab_migration_conf

count_on() {	# dst|dst2 USER -> INBOX messages there
	doveadm -c "$LAB/$1/dovecot.conf" -f flow mailbox status -u "$2" \
		messages INBOX 2>/dev/null | sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}

csv=$LAB/accounts.csv
{
	echo "email,password,dest_user"
	for i in 1 2 3 4 5; do echo "b$i@example.com,,"; done
	echo "own@example.com,own-secret-pw-4711,"
	echo "old-name@example.com,,new-name@example.com"
	echo "wrong@example.com,not-the-password,"
} >"$csv"
chmod 600 "$csv"

: >"$LAB/argv.log"
(while [ ! -f "$LAB/batch.done" ]; do
	cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' ' >>"$LAB/argv.log"
	sleep 0.1
done) &
watcher=$!
rc=0
doveadm -c "$MIG_CONF" -f tab migrate batch -F "$csv" -n 1 \
	--backend "http://127.0.0.1:$port_a" \
	--backend "http://127.0.0.1:$port_b/" \
	>"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
touch "$LAB/batch.done"
wait "$watcher"
assert_eq 75 "$rc" "batch: one account fails, exit 75" || { cat "$LAB/batch.out" "$LAB/batch.err"; exit 0; }

result() {	# USER -> result column of the batch table
	awk -F'\t' -v u="$1" '$1 == u { print $3 }' "$LAB/batch.out"
}
for u in b1 b2 b3 b4 b5 own; do
	assert_eq finished "$(result "$u@example.com")" "batch: $u finished" || { cat "$LAB/batch.out" "$LAB/batch.err"; exit 0; }
done
assert_eq finished "$(result new-name@example.com)" "batch: the dest_user account finished" || exit 0
assert_eq failed "$(result wrong@example.com)" "batch: the wrong password failed" || exit 0
err=$(awk -F'\t' '$1 == "wrong@example.com" { print $7 }' "$LAB/batch.out")
case $err in
"backend http://127.0.0.1:"[0-9]*": IMAP server 127.0.0.1:$SRC_IMAP_PORT: "*)
	echo "ok: the failure names the backend and the old server: $err" ;;
*)
	fail "$LAB_TEST_NAME" "unexpected error for wrong@example.com: '$err'"
	exit 0 ;;
esac
assert_eq 77 "$(sed -n 's/^exit_code\t//p' "$LAB/state/wrong@example.com.state")" \
	"state here: the backend's exit code (login refused) is recorded" || exit 0

# where the mail went
a_users=0 b_users=0
expect_count() {	# SRC_USER DST_USER [copied]: complete on exactly one
	# backend (and with "copied", all of it copied by the last run)
	local n a b
	n=$(lab_imap_count src "$1")
	a=$(count_on dst "$2"); b=$(count_on dst2 "$2")
	a=${a:-0} b=${b:-0}
	if [ "$a:$b" != "$n:0" ] && [ "$a:$b" != "0:$n" ]; then
		fail "$LAB_TEST_NAME" "$2: $a on backend A, $b on B, source has $n"
		return 1
	fi
	[ "$a" = "$n" ] && a_users=$((a_users + 1)) || b_users=$((b_users + 1))
	[ -z "${3:-}" ] || [ "$(lab_status_field "$2" copied)" = "$n" ] || {
		fail "$LAB_TEST_NAME" "status here: $2 copied $(lab_status_field "$2" copied), not $n"
		return 1
	}
}
for i in 1 2 3 4 5; do expect_count "b$i@example.com" "b$i@example.com" copied || exit 0; done
expect_count own@example.com own@example.com copied || exit 0
expect_count old-name@example.com new-name@example.com copied || exit 0
echo "ok: every account is complete on exactly one backend, local status has the counts"
if [ "$a_users" -lt 2 ] || [ "$b_users" -lt 2 ]; then
	fail "$LAB_TEST_NAME" "accounts not spread over the backends: A $a_users, B $b_users"
	exit 0
fi
echo "ok: backend A ran $a_users accounts, backend B $b_users"
a=$(count_on dst old-name@example.com) b=$(count_on dst2 old-name@example.com)
assert_eq 0:0 "${a:-0}:${b:-0}" \
	"dest_user: nothing is written under the old login" || exit 0
for u in b1 b2 b3 b4 b5 own new-name wrong; do
	n=$(ls "$LAB/state-a/$u@example.com.state" "$LAB/state-b/$u@example.com.state" 2>/dev/null | wc -l)
	assert_eq 1 "$n" "$u ran on one backend (its state is there)" >/dev/null || exit 0
done
echo "ok: each account ran on one backend"
case $(lab_status_field b1@example.com backend) in
"http://127.0.0.1:$port_a" | "http://127.0.0.1:$port_b/") echo "ok: migrate status shows b1's backend" ;;
*) fail "$LAB_TEST_NAME" "migrate status: backend of b1 is '$(lab_status_field b1@example.com backend)'"; exit 0 ;;
esac

# secrets
for f in "$LAB/argv.log" "$LAB/batch.out" "$LAB/batch.err" "$LAB/dst/dovecot.log" \
	"$LAB/dst2/dovecot.log" "$LAB"/state/*.state "$LAB"/state/*.log \
	"$LAB"/state-a/*.state "$LAB"/state-b/*.state; do
	[ -e "$f" ] || continue
	if grep -qF -e own-secret-pw-4711 -e not-the-password -e "$api_pw" "$f"; then
		fail "$LAB_TEST_NAME" "a password is in $f"
		exit 0
	fi
done
echo "ok: no password in any argv, output, log or state file"
left=$(find "$LAB/state/tmp" "$LAB/state-a/tmp" "$LAB/state-b/tmp" -type f 2>/dev/null | wc -l)
assert_eq 0 "$left" "the per-account config files are removed here and on the backends" || exit 0

# resume: finished accounts are skipped, nothing is copied again
rc=0
doveadm -c "$MIG_CONF" -f tab migrate batch -F "$csv" -n 1 \
	--backend "http://127.0.0.1:$port_a" --backend "http://127.0.0.1:$port_b" \
	>"$LAB/batch2.out" 2>"$LAB/batch2.err" || rc=$?
assert_eq 75 "$rc" "second batch: still one failure" || { cat "$LAB/batch2.out" "$LAB/batch2.err"; exit 0; }
assert_eq 7 "$(grep -c 'skipped (finished)' "$LAB/batch2.out")" "second batch: the 7 finished accounts are skipped" || { cat "$LAB/batch2.out"; exit 0; }
for i in 1 2 3 4 5; do expect_count "b$i@example.com" "b$i@example.com" || exit 0; done

# --final after the MX switch: new mail goes to the backend that has the
# account, whatever the order of --backend; one run under valgrind
for i in 1 2 3 4 5; do lab_corpus "b$i@example.com" 2 "$((400 + i))"; done
rc=0
doveadm -c "$MIG_CONF" -f tab migrate batch -F "$csv" -n 1 --final \
	--backend "http://127.0.0.1:$port_b" --backend "http://127.0.0.1:$port_a" \
	>"$LAB/batch3.out" 2>"$LAB/batch3.err" || rc=$?
assert_eq 75 "$rc" "--final batch: only the wrong password fails" || { cat "$LAB/batch3.out" "$LAB/batch3.err"; exit 0; }
a_users=0 b_users=0
for i in 1 2 3 4 5; do expect_count "b$i@example.com" "b$i@example.com" || exit 0; done
echo "ok: --final: the new mail is on each account's own backend"
assert_eq 2 "$(lab_status_field b1@example.com copied)" "--final: 2 new messages copied for b1" || exit 0
lab_corpus b1@example.com 1 410
backend=$(sed -n 's/^backend\t//p' "$LAB/state/b1@example.com.state")
rc=0
valgrind -q --vgdb=no --leak-check=full --show-leak-kinds=definite,indirect \
	--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	--log-file="$LAB/vg-remote.log" \
	doveadm -c "$MIG_CONF" migrate run -u b1@example.com --final \
	--backend "$backend" >"$LAB/vg-remote.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "migrate run --backend under valgrind: exit 0" || { cat "$LAB/vg-remote.log" "$LAB/vg-remote.out"; exit 0; }
if [ -s "$LAB/vg-remote.log" ]; then
	fail "$LAB_TEST_NAME" "valgrind reported errors:"; head -40 "$LAB/vg-remote.log"; exit 0
fi
echo "ok: migrate run --backend is clean under valgrind"
expect_count b1@example.com b1@example.com || exit 0

# --folder-prefix goes to the backend too
backend=$(sed -n 's/^backend\t//p' "$LAB/state/b3@example.com.state")
rc=0
out=$(doveadm -c "$MIG_CONF" migrate run -u b3@example.com --folder-prefix Old \
	--backend "$backend" 2>&1) || rc=$?
assert_eq 0 "$rc" "--folder-prefix through the HTTP API: exit 0" || { echo "$out"; exit 0; }
case $backend in *":$port_a") dst=dst ;; *) dst=dst2 ;; esac
assert_eq "$(lab_imap_count src b3@example.com)" \
	"$(doveadm -c "$LAB/$dst/dovecot.conf" -f flow mailbox status -u b3@example.com messages Old/INBOX | sed -n 's/.*messages=\([0-9]*\).*/\1/p')" \
	"--folder-prefix through the HTTP API: Old/INBOX complete on b3's backend" || exit 0

# an account whose backend isn't in the batch's list: a warning says that
# its mail may be copied again
for u in b1 b2 b3 b4 b5; do
	[ "$(lab_status_field "$u@example.com" backend)" = "http://127.0.0.1:$port_a" ] && break
done
printf 'email\n%s@example.com\n' "$u" >"$LAB/one.csv"
chmod 600 "$LAB/one.csv"
rc=0
doveadm -c "$MIG_CONF" migrate batch -F "$LAB/one.csv" --final \
	--backend "http://127.0.0.1:$port_b" >"$LAB/batch4.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "a backend not in the list: the batch still runs" || { cat "$LAB/batch4.out"; exit 0; }
assert_ok "... with a warning naming the old backend" \
	grep -qF "ran on backend http://127.0.0.1:$port_a before, which isn't one of this batch's" "$LAB/batch4.out" || { cat "$LAB/batch4.out"; exit 0; }

# a wrong API password, an unreachable backend
sed "s/^doveadm_password = .*/doveadm_password = not-$api_pw/" "$MIG_CONF" >"$LAB/wrong-api.conf"
chmod 600 "$LAB/wrong-api.conf"
rc=0
out=$(doveadm -c "$LAB/wrong-api.conf" migrate run -u b1@example.com --final \
	--backend "http://127.0.0.1:$port_a" 2>&1) || rc=$?
assert_eq 77 "$rc" "wrong API password: exit 77" || { echo "$out"; exit 0; }
case $out in
*"backend http://127.0.0.1:$port_a: the doveadm HTTP API refused doveadm_password"*) echo "ok: $out" | tail -n 1 ;;
*) fail "$LAB_TEST_NAME" "unexpected: $out"; exit 0 ;;
esac
dead=$(lab_free_port)
rc=0
out=$(doveadm -c "$MIG_CONF" migrate run -u b1@example.com --final \
	--backend "http://127.0.0.1:$dead" 2>&1) || rc=$?
assert_eq 69 "$rc" "unreachable backend: exit 69" || { echo "$out"; exit 0; }
assert_eq failed "$(lab_status_field b1@example.com status)" "unreachable backend: recorded as failed, to be resumed" || exit 0
rc=0
out=$(doveadm -c "$MIG_CONF" migrate run -u b1@example.com --source-password x 2>&1) || rc=$?
assert_eq 64 "$rc" "--source-password on a command line is refused" || { echo "$out"; exit 0; }
pass "$LAB_TEST_NAME"
