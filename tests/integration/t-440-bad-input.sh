#!/usr/bin/env bash
# Bad input and odd accounts, one table row each: the exit code, the one
# error (or warning) line that names the account and the cause, this
# server's messages before and after (never fewer), and the run after the
# cause is gone (complete, identical to the old server: mailcmp.py).
# Network faults (refused, silent, TLS, garbage, cut connections) are the
# table of t-400-faults; kills are t-410 and t-500.
#
#   case                   exit  line
#   empty-inbox            0     (Work copied: an emptied INBOX, migrate_pop3)
#   full-disk              75    this server: no space left ... nothing here was deleted
#   full-disk-again        75    (the same, nothing deleted: INBOX kept)
#   percent-folder         0     every folder here has the old server's messages
#   stale-save-file        0     (a message file a killed pass left here: one more pass)
#   odd-folder-names       0     (spaces, quotes, UTF-8, "&", a backslash)
#   misspelled-setting     0     unknown setting ... (did you mean ...?)
#   plugin-not-loaded      0     ... the migrate_throttle plugin isn't loaded
#   wildcard-user          64    -u takes one user, not a pattern
#   csv-bom                0     (a CSV saved with a UTF-8 byte order mark)
#   csv-wildcard           64    line 2: email contains a wildcard
#   stale-tmp-config       0     removed ... left by a run that was killed
#   wrong-password         77    login refused
#   unreachable            69    connection refused
#   own-source-port        69    IMAP server 127.0.0.1:<the user's own port> (userdb field)
#   concurrent-run         73    a migration is already running
#   crash                  70    this server: doveadm was killed or crashed
#   state-dir-missing      64    migrate_state_dir ... doesn't exist (status)
#   bad-numbers            64    invalid -n 'abc' / invalid --timeout '1x' 
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=bad-input
lab_init
mnt=
lab_on_exit unmount_home
unmount_home() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	mnt=
	return 0
}

users=(empty full pct odd conf plugin bom pw down own lock crash stale)
for u in "${users[@]}"; do
	lab_user_add "$u@example.com" "pw-$u"
done
lab_corpus empty@example.com 5 901 Work
lab_corpus full@example.com 200 902
lab_corpus pct@example.com 5 903
lab_corpus pct@example.com 3 904 "50% off"
lab_corpus pct@example.com 2 905 "a%b/c%d"
lab_corpus odd@example.com 4 906
lab_corpus crash@example.com 300 911
lab_corpus stale@example.com 20 912
for u in conf plugin bom pw down own lock; do
	lab_corpus "$u@example.com" 20 910
done
lab_source_start
# folders made through the old server itself (it keeps their names in its
# own encoding)
for f in "with space" 'quote"d' "Ärger" "A&B" "back\\slash" "日本"; do
	doveadm -c "$SRC_CONF" mailbox create -u odd@example.com "$f" || exit 1
	for i in 1 2; do
		printf 'From: a@example.org\r\nSubject: in %s %s\r\nMessage-ID: <%s-%s@odd>\r\n\r\nbody\r\n' \
			"$f" "$i" "$i" "$RANDOM" |
			doveadm -c "$SRC_CONF" save -u odd@example.com -m "$f" || exit 1
	done
done
lab_dest_start sdbox
lab_migration_conf migrate_pop3
# commits often, so that a full disk stops a pass with mail committed
lab_migration_conf_add "dsync_commit_msgs_interval = 10"

count() { lab_imap_count dst "$1" "${2:-INBOX}" 2>/dev/null || echo 0; }
# readable USER: INBOX messages here whose text can be read
readable() {
	lab_doveadm dst -f pager fetch -u "$1" 'uid text' mailbox INBOX all \
		2>/dev/null | grep -c '^uid: ' || true
}
# run CASE USER ARGS...: migrate run; exit code in $rc, stderr in $LAB/CASE.err
run() {
	local c=$1 u=$2
	shift 2
	rc=0
	doveadm -c "${CONF:-$MIG_CONF}" migrate run -u "$u" "$@" </dev/null \
		>"$LAB/$c.out" 2>"$LAB/$c.err" || rc=$?
}
# the one line of the account and its cause
expect_line() {	# CASE FRAGMENT
	assert_eq 1 "$(grep -cF -- "$2" "$LAB/$1.err")" "$1: one line saying '$2'" ||
		{ cat "$LAB/$1.err"; return 1; }
}
identical() {	# CASE USER
	local out
	out=$(MAILCMP_LOGIN="$2*$LAB_MASTER_USER" MAILCMP_PASSWORD=$(lab_master_password) \
		python3 "$LAB_LIB_DIR/mailcmp.py" "$SRC_IMAP_PORT" "$DST_IMAP_PORT" \
		--exclude "$LAB_POP3_NS" </dev/null | head -1)
	assert_eq identical "${out%% *}" "$1: $2 identical to the old server ($out)"
}

# --- empty-inbox: a POP3 user's emptied INBOX, mail in Work
run empty-inbox empty@example.com
assert_eq 0 "$rc" "empty-inbox: exit 0" || cat "$LAB/empty-inbox.err"
assert_eq 5 "$(count empty@example.com Work)" "empty-inbox: Work copied"
identical empty-inbox empty@example.com

# --- full-disk: this server's disk fills up during the first pass
mnt=$LAB/dst/home/full@example.com
mount -t tmpfs -o "size=2m,uid=$LAB_UID,gid=$LAB_GID,mode=0700" tmpfs "$mnt" ||
	{ fail "$LAB_TEST_NAME" "full-disk: can't mount a small tmpfs"; mnt=; }
if [ -n "$mnt" ]; then
	run full-disk full@example.com
	assert_eq 75 "$rc" "full-disk: exit 75"
	expect_line full-disk "user full@example.com: copying failed"
	expect_line full-disk "this server: no space left (disk full): nothing here was deleted"
	# the plugins' record of it: a save that failed here (Dovecot 2.3
	# reports ENOSPC as an internal error with errno's text)
	assert_ok "full-disk: the outcome has this server's storage error" \
		grep -qE "^storage$(printf '\t')here$(printf '\t')(noquota|temp)$(printf '\t').*No space left" \
		"$LAB/state/full@example.com.outcome" ||
		sed 's/^/    /' "$LAB/state/full@example.com.outcome"
	before=$(count full@example.com)
	assert_eq failed "$(lab_status_field full@example.com status)" "full-disk: recorded failed"
	assert_eq "$before" "$(lab_status_field full@example.com messages)" "full-disk: the messages here are recorded ($before)"
	# what can be read here: the first pass's last saves may be in the
	# index only (their files lost to the full disk); Dovecot 2.4's
	# dsync drops those from the index on the next pass, 2.3's keeps them
	readable_before=$(readable full@example.com)
	run full-disk-again full@example.com
	assert_eq 75 "$rc" "full-disk-again: exit 75"
	expect_line full-disk-again "this server: no space left"
	if [ "$LAB_DOVECOT" = 2.3 ]; then
		assert_ok "full-disk-again: INBOX not deleted, every readable message kept ($before before, $readable_before readable, $(count full@example.com) after)" \
			test "$(count full@example.com)" -ge "$readable_before" -a "$readable_before" -gt 0
	else
		# 2.4's dsync finds the first pass's lost saves and rebuilds
		# sdbox's index, which on the still full disk also drops the
		# last messages saved (docs/dovecot-2.4-defects.md): copies of
		# the old server's mail, copied again below once there is room;
		# the mailbox itself stays
		assert_ok "full-disk-again: INBOX not deleted ($before before, $readable_before readable, $(count full@example.com) after)" \
			test "$(count full@example.com)" -gt 0
	fi
	mount -o "remount,size=64m" "$mnt"
	run full-disk-fixed full@example.com
	assert_eq 0 "$rc" "full-disk: with room again, exit 0" || cat "$LAB/full-disk-fixed.err"
	assert_eq 200 "$(count full@example.com)" "full-disk: all 200 messages"
	identical full-disk full@example.com
	unmount_home
fi

# --- percent-folder: "%" in folder names (dsync renames them onto
# themselves on every later pass in Dovecot 2.3)
run percent-folder pct@example.com
assert_eq 0 "$rc" "percent-folder: first pass"
lab_corpus pct@example.com 2 908 "50% off"
run percent-folder pct@example.com
assert_eq 0 "$rc" "percent-folder: second pass exit 0" || cat "$LAB/percent-folder.err"
if [ "$LAB_DOVECOT" = 2.3 ]; then
	# 2.3's dsync renames them onto themselves: the run tells; 2.4 doesn't
	expect_line percent-folder "every folder here has the old server's messages"
fi
assert_eq 5 "$(count pct@example.com "50% off")" "percent-folder: the new mail of '50% off' copied"
identical percent-folder pct@example.com

# --- stale-save-file: a killed pass left a message file here that the
# index doesn't know (kill -9 between writing u.N and committing it):
# the next save of that UID finds it, sdbox rebuilds its index and fails
# the pass; the run goes on with another pass instead of failing
run stale-save-file stale@example.com
assert_eq 0 "$rc" "stale-save-file: first pass" || cat "$LAB/stale-save-file.err"
lab_corpus stale@example.com 5 913
next=$(lab_doveadm dst -f flow mailbox status -u stale@example.com uidnext INBOX |
	sed 's/.*uidnext=//')
box=$LAB/dst/home/stale@example.com/mail/mailboxes/INBOX/dbox-Mails
cp -p "$box/u.1" "$box/u.$next"
run stale-save-file stale@example.com
assert_eq 0 "$rc" "stale-save-file: the pass after it succeeds (u.$next was there)" ||
	cat "$LAB/stale-save-file.err"
assert_ok "stale-save-file: the run said it went on" \
	grep -q "storage failed for now.*running dsync again" "$LAB/stale-save-file.err"
identical stale-save-file stale@example.com

# --- odd-folder-names
run odd-folder-names odd@example.com
assert_eq 0 "$rc" "odd-folder-names: first pass" || cat "$LAB/odd-folder-names.err"
run odd-folder-names odd@example.com
assert_eq 0 "$rc" "odd-folder-names: second pass" || cat "$LAB/odd-folder-names.err"
identical odd-folder-names odd@example.com

# --- misspelled-setting, plugin-not-loaded: said, and the run goes on
cp "$MIG_CONF" "$LAB/typo.conf"
printf 'plugin {\n  migrate_pop3_unmatchd = continue\n}\n' | lab__conf24 >>"$LAB/typo.conf"
CONF=$LAB/typo.conf run misspelled-setting conf@example.com
if [ "$LAB_DOVECOT" = 2.3 ]; then
	assert_eq 0 "$rc" "misspelled-setting: exit 0"
	expect_line misspelled-setting "unknown setting migrate_pop3_unmatchd: it does nothing (did you mean migrate_pop3_unmatched?)"
else
	# 2.4 knows the migrate_* settings: its config parser refuses the
	# typo before anything runs (Dovecot's exit code for a fatal error)
	assert_eq 89 "$rc" "misspelled-setting: refused by Dovecot (89)"
	assert_ok "misspelled-setting: Dovecot names it" \
		grep -q "migrate_pop3_unmatchd: Unknown setting" "$LAB/misspelled-setting.err"
fi
cp "$MIG_CONF" "$LAB/throttle.conf"
printf 'plugin {\n  migrate_throttle_bytes = 1M\n}\n' | lab__conf24 >>"$LAB/throttle.conf"
CONF=$LAB/throttle.conf run plugin-not-loaded plugin@example.com
assert_eq 0 "$rc" "plugin-not-loaded: exit 0"
expect_line plugin-not-loaded "migrate_throttle_bytes is set, but the migrate_throttle plugin isn't loaded"

# --- wildcard-user: refused before anything, no state for "nob*"
run wildcard-user 'nob*'
assert_eq 64 "$rc" "wildcard-user: exit 64"
expect_line wildcard-user "-u takes one user, not a pattern: 'nob*'"
assert_eq 0 "$(find "$LAB/state" -name 'nob*' | wc -l)" "wildcard-user: no state recorded"

# --- CSVs
printf '\xef\xbb\xbfemail\r\nbom@example.com\r\n' >"$LAB/bom.csv"
printf 'email\nnob*\n' >"$LAB/wild.csv"
chmod 600 "$LAB/bom.csv" "$LAB/wild.csv"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/bom.csv" </dev/null \
	>"$LAB/csv-bom.out" 2>"$LAB/csv-bom.err" || rc=$?
assert_eq 0 "$rc" "csv-bom: a CSV with a byte order mark runs" || cat "$LAB/csv-bom.err"
assert_eq 20 "$(count bom@example.com)" "csv-bom: its account copied"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/wild.csv" </dev/null \
	>"$LAB/csv-wildcard.out" 2>"$LAB/csv-wildcard.err" || rc=$?
assert_eq 64 "$rc" "csv-wildcard: exit 64"
expect_line csv-wildcard "line 2: email contains a wildcard"

# --- stale-tmp-config: a killed batch left an account's config (with its
# password); the next batch removes it
mkdir -p "$LAB/state/tmp"
printf 'imapc_password = the-secret\n' >"$LAB/state/tmp/gone@example.com.conf"
touch -d '-2 min' "$LAB/state/tmp/gone@example.com.conf"
printf 'email\nbom@example.com\n' >"$LAB/one.csv"
chmod 600 "$LAB/one.csv"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/one.csv" --catch-up </dev/null \
	>"$LAB/stale-tmp-config.out" 2>"$LAB/stale-tmp-config.err" || rc=$?
assert_eq 0 "$rc" "stale-tmp-config: the batch runs"
expect_line stale-tmp-config "removed $LAB/state/tmp/gone@example.com.conf, left by a run that was killed"
assert_eq 0 "$(find "$LAB/state/tmp" -type f | wc -l)" "stale-tmp-config: no config with a password left"

# --- wrong-password, unreachable: nothing copied, one line, then it works
cp "$MIG_CONF" "$LAB/badpw.conf"
echo "imapc_password = wrong-password" >>"$LAB/badpw.conf"
CONF=$LAB/badpw.conf run wrong-password pw@example.com
assert_eq 77 "$rc" "wrong-password: exit 77"
expect_line wrong-password "user pw@example.com: IMAP server 127.0.0.1:$SRC_IMAP_PORT: login refused"
assert_eq 0 "$(count pw@example.com)" "wrong-password: nothing copied"
run wrong-password-fixed pw@example.com
assert_eq 0 "$rc" "wrong-password: fixed, exit 0"
identical wrong-password pw@example.com
cp "$MIG_CONF" "$LAB/down.conf"
echo "imapc_port = $(lab_free_port)" >>"$LAB/down.conf"
CONF=$LAB/down.conf run unreachable down@example.com
assert_eq 69 "$rc" "unreachable: exit 69"
expect_line unreachable "user down@example.com: IMAP server 127.0.0.1:"
grep -q "connection refused" "$LAB/unreachable.err" ||
	fail "$LAB_TEST_NAME" "unreachable: the line doesn't say connection refused"
run unreachable-fixed down@example.com
assert_eq 0 "$rc" "unreachable: fixed, exit 0"
identical unreachable down@example.com

# --- own-source-port: the user's userdb gives them a source of their own
# (imapc_port=...): the line names the server the copy really talked to,
# not the config's
own_port=$(lab_free_port)
sed -i "s|^\(own@example.com:.*\)::\$|\1::userdb_imapc_port=$own_port|" "$LAB/dst/passwd"
sleep 1.1	# passwd-file looks at its file at most once a second
run own-source-port own@example.com
assert_eq 69 "$rc" "own-source-port: exit 69"
expect_line own-source-port "user own@example.com: IMAP server 127.0.0.1:$own_port: connection refused"
sed -i "s|::userdb_imapc_port=$own_port\$|::|" "$LAB/dst/passwd"
sleep 1.1
run own-source-port-fixed own@example.com
assert_eq 0 "$rc" "own-source-port: fixed, exit 0"
identical own-source-port own@example.com

# --- concurrent-run: a second run for an account that runs is refused
exec 9>"$LAB/state/lock@example.com.lock"
flock 9
run concurrent-run lock@example.com
assert_eq 73 "$rc" "concurrent-run: exit 73"
expect_line concurrent-run "user lock@example.com: a migration is already running"
exec 9>&-
run concurrent-run-fixed lock@example.com
assert_eq 0 "$rc" "concurrent-run: once the other run is gone, exit 0"
identical concurrent-run lock@example.com

# --- crash: the copying doveadm dies (here: SIGSEGV from outside); a crash
# here is never blamed on the old server
cp "$MIG_CONF" "$LAB/slow.conf"
sed -i 's/^  mail_plugins = \$mail_plugins migrate_pop3$/  mail_plugins = $mail_plugins migrate_pop3 migrate_throttle/' "$LAB/slow.conf"
printf 'plugin {\n  migrate_throttle_msgs = 100\n}\n' | lab__conf24 >>"$LAB/slow.conf"
doveadm -c "$LAB/slow.conf" migrate run -u crash@example.com </dev/null \
	>"$LAB/crash.out" 2>"$LAB/crash.err" &
runner=$!
victim=
for _ in $(seq 200); do
	victim=$(pgrep -f "backup -R -u crash@example.com" | head -1 || true)
	[ -n "$victim" ] && [ "$(count crash@example.com)" -gt 0 ] && break
	sleep 0.05
done
[ -n "$victim" ] && kill -SEGV "$victim"
rc=0; wait "$runner" || rc=$?
assert_eq 70 "$rc" "crash: exit 70"
assert_eq failed "$(lab_status_field crash@example.com status)" "crash: recorded failed"
expect_line crash "user crash@example.com: copying failed (exit 139): this server: doveadm was killed or crashed"
assert_eq 0 "$(grep -c "IMAP server" "$LAB/crash.err")" "crash: not blamed on the old server"
run crash-fixed crash@example.com
assert_eq 0 "$rc" "crash: the next run, exit 0"
identical crash crash@example.com

# --- state-dir-missing: status with a state dir that isn't there (a typo)
cp "$MIG_CONF" "$LAB/nostate.conf"
printf 'plugin {\n  migrate_state_dir = %s/no-such-dir\n}\n' "$LAB" | lab__conf24 >>"$LAB/nostate.conf"
rc=0; doveadm -c "$LAB/nostate.conf" migrate status </dev/null \
	>"$LAB/state-dir-missing.out" 2>"$LAB/state-dir-missing.err" || rc=$?
assert_eq 64 "$rc" "state-dir-missing: status exits 64"
expect_line state-dir-missing "migrate_state_dir $LAB/no-such-dir doesn't exist"

# --- bad-numbers: options parsed strictly, nothing started
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/one.csv" -n abc </dev/null \
	>"$LAB/bad-numbers.out" 2>"$LAB/bad-numbers.err" || rc=$?
assert_eq 64 "$rc" "bad-numbers: -n abc exits 64"
expect_line bad-numbers "invalid -n 'abc'"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/one.csv" --timeout 1x </dev/null \
	>"$LAB/bad-numbers.out" 2>"$LAB/bad-numbers.err" || rc=$?
assert_eq 64 "$rc" "bad-numbers: --timeout 1x exits 64"
expect_line bad-numbers "invalid --timeout '1x'"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
