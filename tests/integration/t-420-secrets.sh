#!/usr/bin/env bash
# Passwords of the old server stay secret:
#  - while migrate run and migrate batch go, no process has a password in
#    its argv (/proc/PID/cmdline, readable by all) or in an environment
#    anyone but root can read (/proc/PID/environ; Dovecot 2.3's doveadm
#    gets its parsed config through the environment of its doveconf
#    re-exec, which is mode 0400 root);
#  - no password in the output, the error of a refused login, the state
#    files, the per-account logs, migrate status, or the servers' logs;
#  - a migration config holding a password that group or others can read
#    gives a warning naming it, also when the password sits in an included
#    file or in a "imapc_password = <file" file; chmod 600 silences it;
#    the same for the batch CSV;
#  - precedence: a CSV password beats the config's (batch), and
#    "imapc_password = <file" reads the password from that file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=secrets
lab_init
lab_user_add big@example.com 'Big-Secret-pw-1'
lab_corpus big@example.com 2500 421
lab_user_add csv1@example.com 'Csv-Secret-pw-1'
lab_corpus csv1@example.com 1200 422
lab_user_add csv2@example.com 'Csv-Secret-pw-2'
lab_corpus csv2@example.com 1200 423
lab_user_add small@example.com 'Small-Secret-pw-1'
lab_corpus small@example.com 10 424
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
master_pw=$(lab_master_password)
secrets=("$master_pw" Big-Secret-pw-1 Csv-Secret-pw-1 Csv-Secret-pw-2 Wrong-Secret-pw-9)

# the process scanner: until $LAB/scan.stop exists, reads every process's
# argv and environment and records any password seen in $LAB/scan.leak;
# it reads the passwords from a 0600 file, so its own argv/environ are clean
(umask 077 && printf '%s\n' "${secrets[@]}" >"$LAB/scan.secrets")
rm -f "$LAB/scan.stop" "$LAB/scan.leak" "$LAB/scan.rounds"
python3 - "$LAB" <<'EOF' &
import glob, os, sys, time
lab = sys.argv[1]
secrets = [s.encode() for s in open(lab + "/scan.secrets").read().split("\n") if s]
rounds = 0
while not os.path.exists(lab + "/scan.stop"):
    for d in glob.glob("/proc/[0-9]*"):
        for what in ("cmdline", "environ"):
            try:
                data = open(d + "/" + what, "rb").read()
            except OSError:
                continue
            if any(s in data for s in secrets):
                try:
                    cmd = open(d + "/cmdline", "rb").read().replace(b"\0", b" ")
                    st = os.stat(d + "/" + what)
                except OSError:
                    continue
                # Dovecot's doveconf re-exec hands doveadm its settings in
                # the environment; readable by root alone that is no leak
                root_only = what == "environ" and st.st_uid == 0 and \
                    (st.st_mode & 0o077) == 0
                name = "/scan.rootenv" if root_only else "/scan.leak"
                with open(lab + name, "a") as f:
                    f.write("%s/%s: %s\n" % (d, what, cmd.decode(errors="replace")))
    rounds += 1
    time.sleep(0.005)
open(lab + "/scan.rounds", "w").write("%d\n" % rounds)
EOF
scanner=$!

rc=0
doveadm -c "$MIG_CONF" migrate run -u big@example.com >"$LAB/run.out" 2>"$LAB/run.err" || rc=$?
assert_eq 0 "$rc" "migrate run of 2500 messages" || { tail "$LAB/run.err"; exit 0; }

csv=$LAB/accounts.csv
printf 'email,password\ncsv1@example.com,Csv-Secret-pw-1\ncsv2@example.com,Csv-Secret-pw-2\n' >"$csv"
chmod 600 "$csv"
# the config's (master) password is wrong: the CSV's passwords win
cp "$MIG_CONF" "$LAB/wrongmaster.conf"
echo "imapc_password = Wrong-Secret-pw-9" >>"$LAB/wrongmaster.conf"
echo "pop3c_password = Wrong-Secret-pw-9" >>"$LAB/wrongmaster.conf"
rc=0
doveadm -c "$LAB/wrongmaster.conf" migrate batch -F "$csv" -n 2 >"$LAB/batch.out" 2>"$LAB/batch.err" || rc=$?
assert_eq 0 "$rc" "batch: the CSV passwords beat the config's wrong one" || { cat "$LAB/batch.err"; exit 0; }
assert_eq 1200 "$(lab_imap_count dst csv2@example.com)" "batch copied csv2" || exit 0

# a refused login: the error names the cause, not the password
rc=0
doveadm -c "$LAB/wrongmaster.conf" migrate run -u small@example.com >>"$LAB/run.out" 2>"$LAB/wrong.err" || rc=$?
assert_eq 77 "$rc" "wrong password refused" || exit 0
touch "$LAB/scan.stop"
wait "$scanner" || true
rounds=$(cat "$LAB/scan.rounds")
assert_eq yes "$([ "$rounds" -gt 50 ] && echo yes || echo no)" \
	"process scanner looked $rounds times" || exit 0
if [ -s "$LAB/scan.leak" ]; then
	fail "$LAB_TEST_NAME" "a password in a process's argv or environment:"
	sort -u "$LAB/scan.leak" | head -5
	exit 0
fi
echo "ok: no password in any argv, nor in an environment others can read," \
	"during run and batch ($(sort -u "$LAB/scan.rootenv" 2>/dev/null | wc -l)" \
	"root-only environments of doveadm held one)"

doveadm -c "$MIG_CONF" migrate status >"$LAB/status.out" 2>&1
doveadm -c "$MIG_CONF" -f json migrate status >>"$LAB/status.out" 2>&1
leaks=0
for pw in "${secrets[@]}"; do
	for f in "$LAB/run.out" "$LAB/run.err" "$LAB/wrong.err" "$LAB/batch.out" \
		"$LAB/batch.err" "$LAB/status.out" "$SRC_LOG" "$DST_LOG" "$LAB"/state/*; do
		[ -f "$f" ] || continue
		if grep -qaF -- "$pw" "$f"; then
			fail "$LAB_TEST_NAME" "a password in ${f#"$LAB"/}"
			leaks=$((leaks + 1))
		fi
	done
done
assert_eq 0 "$leaks" "no password in output, errors, state, per-account logs, status or server logs" || exit 0
ls "$LAB/state/tmp" 2>/dev/null | grep -q . &&
	{ fail "$LAB_TEST_NAME" "batch left a password file behind"; exit 0; }
echo "ok: batch removed its per-account password files"

# permission warnings
warned() {	# CONF -> prints the warning lines of a quick run
	doveadm -c "$1" migrate run -u small@example.com 2>&1 >/dev/null |
		grep "readable by group or others" || true
}
assert_eq "" "$(warned "$MIG_CONF")" "0600 config: no warning" || exit 0
chmod 644 "$MIG_CONF"
w=$(warned "$MIG_CONF")
chmod 600 "$MIG_CONF"
assert_eq "Warning: migrate: $MIG_CONF holds passwords and is readable by group or others: chmod 600 it" \
	"$w" "0644 config: one warning naming it" || exit 0
# the password in an included file, and in a "<file"
grep -v '_password = ' "$MIG_CONF" >"$LAB/main.conf"
chmod 600 "$LAB/main.conf"
printf 'imapc_password = %s\n' "$master_pw" >"$LAB/secret-imap.conf"
chmod 644 "$LAB/secret-imap.conf"
printf '%s' "$master_pw" >"$LAB/pop3-password"
chmod 640 "$LAB/pop3-password"
printf '!include %s\npop3c_password = <%s\n' secret-imap.conf "$LAB/pop3-password" >>"$LAB/main.conf"
w=$(warned "$LAB/main.conf")
grep -qF "$LAB/secret-imap.conf holds passwords and is readable" <<<"$w" &&
	grep -qF "$LAB/pop3-password holds a password and is readable" <<<"$w" ||
	{ fail "$LAB_TEST_NAME" "included and <file secrets not warned about: $w"; exit 0; }
echo "ok: included file and <file warned about"
chmod 600 "$LAB/secret-imap.conf" "$LAB/pop3-password"
assert_eq "" "$(warned "$LAB/main.conf")" "all 0600: no warning" || exit 0
rc=0
doveadm -c "$LAB/main.conf" migrate run -u small@example.com >/dev/null 2>"$LAB/run.err" || rc=$?
assert_eq 0 "$rc" "passwords from an included file and a <file work" || { cat "$LAB/run.err"; exit 0; }
# the CSV (batch's own check)
chmod 644 "$csv"
doveadm -c "$MIG_CONF" migrate batch -F "$csv" >/dev/null 2>"$LAB/batch.err" || true
grep -q "accounts.csv is readable by group or others" "$LAB/batch.err" ||
	{ fail "$LAB_TEST_NAME" "no warning for a readable CSV"; cat "$LAB/batch.err"; exit 0; }
echo "ok: readable CSV warned about"
pass "$LAB_TEST_NAME"
