#!/usr/bin/env bash
# migrate run with several dsync workers (migrate_run_workers): an account
# of many folders is copied by up to that many dsync children at once, each
# over its own set of folders.
#  - every message, flag and keyword of every folder arrives, with the
#    POP3 UIDLs of INBOX in order, and the folders subscribed at the old
#    server are subscribed here (Lists, Broken: not); the pass really used 3 workers (the
#    run's log names each worker's folders; a parent folder and its child
#    stay with one worker);
#  - a folder whose copy fails here fails the pass with that worker's
#    folder and cause, status "failed", still mirroring;
#  - a folder whose creation here fails "not found" (another process
#    changing the folders meanwhile) is tried again by its worker;
#  - the next pass (a catch-up before the switch) copies what the failed
#    one didn't and mirrors new, deleted and flagged mail of the old
#    server, again with the workers;
#  - after the user worked here, the next pass (switched: copy-new) keeps
#    all of it and copies only what is new at the old server;
#  - with migrate_folder_map renaming a folder, the workers copy it under
#    its new name (the pass' folder list has this server's names);
#  - migrate batch -n counts workers: one account alone gets -n of them,
#    two accounts at -n 2 one each;
#  - --workers caps migrate_run_workers; an invalid value is exit 64.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=run-workers
u=wide@example.com
lab_init
lab_user_add "$u" pw-wide
lab_corpus "$u" 120 281
lab_corpus "$u" 80 282 Work
lab_corpus "$u" 60 283 Lists
lab_corpus "$u" 90 284 Archive
lab_corpus "$u" 40 285 Archive/2024
lab_corpus "$u" 30 286 Sent
lab_corpus "$u" 25 287 Broken
m=mapped@example.com
lab_user_add "$m" pw-mapped
lab_corpus "$m" 20 297
lab_corpus "$m" 30 298 "Old Work"
lab_corpus "$m" 10 299 Other
lab_corpus "$m" 10 300 Third
for b in b1 b2; do
	lab_user_add "$b@example.com" "pw-$b"
	lab_corpus "$b@example.com" 30 293
	lab_corpus "$b@example.com" 30 294 One
	lab_corpus "$b@example.com" 30 295 Two
	lab_corpus "$b@example.com" 30 296 Three
done
maildir_flag_some "$u"
lab_source_start
doveadm -c "$SRC_CONF" mailbox subscribe -u "$u" INBOX Work Archive Archive/2024 Sent
lab_dest_start sdbox
lab_migration_conf migrate_pop3
printf 'Old Work = Projects\n' >"$LAB/map.txt"
lab_migration_conf_add "plugin {" "  migrate_run_workers = 3" \
	"  migrate_folder_map_file = $LAB/map.txt" "}"
total=445
log=$LAB/state/$u.log

workers_used() {	# the worker numbers the last pass' log names
	sed -n 's/.*migrate run: user [^:]*: worker \([0-9]*\): copying folder .*/\1/p' \
		"$log" | sort -u | tr '\n' ' '
}

# first complete pass, with 3 workers
: >"$log"
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
assert_eq 0 "$rc" "first pass" || { tail -20 "$LAB/run.err"; exit 0; }
assert_eq 1 "$(grep -c 'copying 7 folders with 3 dsync workers' "$log")" "the pass used 3 workers for 7 folders" || { cat "$log" | tail; exit 0; }
assert_eq "1 2 3 " "$(workers_used)" "each of the 3 workers copied folders" || exit 0
w_arch=$(sed -n 's/.*worker \([0-9]*\): copying folder Archive$/\1/p' "$log")
w_sub=$(sed -n 's/.*worker \([0-9]*\): copying folder Archive\/2024$/\1/p' "$log")
assert_eq "$w_arch" "$w_sub" "Archive and Archive/2024 with one worker" || exit 0
assert_eq finished "$(state_field "$u" status)" "status finished" || exit 0
assert_eq "$total" "$(state_field "$u" copied)" "status: every message counted once" || exit 0
assert_same_mail "first pass" "$u" || exit 0
assert_uidls "first pass" "$u" || exit 0
assert_eq "Archive Archive/2024 INBOX Sent Work" \
	"$(doveadm -c "$DST_CONF" mailbox list -s -u "$u" | sort | xargs)" \
	"first pass: the old server's subscriptions here" || exit 0

# a folder whose copy fails here: new mail at the old server, but its
# mailbox here can't be written
lab_corpus "$u" 4 291 Broken
lab_corpus "$u" 3 292 Work
bdir=$(find "$LAB/dst/home/$u/mail" -type d -path '*/Broken/dbox-Mails' | head -1)
[ -n "$bdir" ] || { fail "$LAB_TEST_NAME" "no sdbox directory for Broken"; exit 0; }
chmod 0500 "$bdir"
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
chmod 0700 "$bdir"
[ "$rc" != 0 ] || { fail "$LAB_TEST_NAME" "a pass with a failing folder succeeded"; cat "$LAB/run.err"; exit 0; }
assert_eq failed "$(state_field "$u" status)" "failing folder: status failed" || exit 0
err=$(state_field "$u" error)
echo "    $err"
case $err in
*"worker "[123]", folder Broken: "*"Permission denied"*) echo "ok: the error names the worker, the folder and the cause" ;;
*) fail "$LAB_TEST_NAME" "failing folder: unexpected error: $err"; exit 0 ;;
esac
assert_eq 1 "$(grep -c "Error: migrate run: user $u: " "$LAB/run.err")" "one error line for the account" || exit 0
assert_eq mirror "$(state_field "$u" phase)" "a failed pass leaves the account mirroring" || exit 0

# a folder whose creation here fails "not found", as when another process
# (a parallel worker with Dovecot 2.4, the user) changes the folders at
# the same time: the worker runs its dsync again before the pass fails.
# A dangling symlink in its place plays it, on every attempt.
lab_corpus "$u" 5 280 Fresh
ln -s nowhere "$LAB/dst/home/$u/mail/mailboxes/Fresh"
: >"$log"
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
assert_eq 75 "$rc" "a folder that can't be created: the pass fails for now" || { cat "$LAB/run.err"; exit 0; }
assert_eq 2 "$(grep -c "worker [123]: this server's storage failed for now (Not found), running dsync again" "$LAB/run.err")" \
	"the worker tried the folder 3 times" || { cat "$LAB/run.err"; exit 0; }
assert_eq 2 "$(grep -c "worker [123]: this server's storage failed for now (Not found), running dsync again" "$log")" \
	"the account's log has both new attempts" || exit 0
err=$(state_field "$u" error)
echo "    $err"
case $err in
*"worker "[123]", folder Fresh: "*"(notfound)"*) echo "ok: the error names the worker, the folder and the cause" ;;
*) fail "$LAB_TEST_NAME" "folder not created: unexpected error: $err"; exit 0 ;;
esac
assert_eq failed "$(state_field "$u" status)" "folder not created: status failed" || exit 0
rm "$LAB/dst/home/$u/mail/mailboxes/Fresh"

# the old server changes before the switch: a catch-up pass mirrors it
lab_corpus "$u" 7 288 Work
lab_corpus "$u" 5 289 Archive/2024
doveadm -c "$SRC_CONF" expunge -u "$u" mailbox Lists uid 3,4,5 || exit 1
doveadm -c "$SRC_CONF" flags add -u "$u" '\Flagged $Label1' mailbox Sent uid 2 || exit 1
: >"$log"
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
assert_eq 0 "$rc" "catch-up pass" || { tail -20 "$LAB/run.err"; exit 0; }
assert_eq mirror "$(state_field "$u" phase)" "still mirroring" || exit 0
assert_eq "1 2 3 " "$(workers_used)" "the catch-up pass used the 3 workers" || exit 0
assert_same_mail "catch-up pass" "$u" || exit 0
assert_uidls "catch-up pass" "$u" || exit 0

# --workers caps it: one dsync
: >"$log"
rc=0; mrun "$MIG_CONF" "$u" --workers 1 || rc=$?
assert_eq 0 "$rc" "a pass with --workers 1" || { tail -20 "$LAB/run.err"; exit 0; }
assert_eq 0 "$(grep -c 'dsync workers' "$log")" "--workers 1: one dsync" || exit 0

# the user works here: a message saved in Work, a flag in Archive; new mail
# at the old server
printf 'From: me@example.com\nTo: %s\nSubject: written here\nMessage-ID: <here-1@example.com>\n\nmine\n' "$u" |
	doveadm -c "$DST_CONF" save -u "$u" -m Work || exit 1
doveadm -c "$DST_CONF" flags add -u "$u" '\Seen \Answered' mailbox Archive uid 1 || exit 1
lab_corpus "$u" 6 290 Lists
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
assert_eq 0 "$rc" "pass after the user worked here" || { tail -20 "$LAB/run.err"; exit 0; }
assert_eq switched "$(state_field "$u" phase)" "the pass found the account switched" || exit 0
assert_eq 1 "$(doveadm -c "$DST_CONF" search -u "$u" mailbox Work header Message-ID '<here-1@example.com>' | wc -l | tr -d ' ')" \
	"the message saved here is still there, once" || exit 0
assert_eq "$(( $(lab_imap_count src "$u" Lists) ))" "$(lab_imap_count dst "$u" Lists)" "the old server's new mail in Lists copied" || exit 0
flags=$(doveadm -c "$DST_CONF" -f flow fetch -u "$u" flags mailbox Archive uid 1)
case $flags in
*'\Answered'*) echo "ok: the flag set here stays ($flags)" ;;
*) fail "$LAB_TEST_NAME" "flag set here lost: $flags"; exit 0 ;;
esac

# a folder the map renames: copied under its new name by a worker
rc=0; mrun "$MIG_CONF" "$m" || rc=$?
assert_eq 0 "$rc" "mapped folders: first pass" || { tail -20 "$LAB/run.err"; exit 0; }
assert_eq 1 "$(grep -c 'copying 4 folders with 3 dsync workers' "$LAB/state/$m.log")" "mapped folders: 3 workers" || exit 0
assert_eq 1 "$(grep -c 'worker [0-9]: copying folder Projects$' "$LAB/state/$m.log")" "mapped folders: a worker copied Projects" || exit 0
assert_eq "30 20 10" "$(lab_imap_count dst "$m" Projects) $(lab_imap_count dst "$m" INBOX) $(lab_imap_count dst "$m" Third)" \
	"mapped folders: Old Work's mail in Projects, the others under their names" || exit 0
assert_eq "" "$(doveadm -c "$DST_CONF" mailbox list -u "$m" | grep -x 'Old Work')" "mapped folders: no Old Work here" || exit 0
rc=0; mrun "$MIG_CONF" "$m" || rc=$?
assert_eq "0 0 mirror" "$rc $(state_field "$m" copied) $(state_field "$m" phase)" "mapped folders: the next pass copies nothing, still mirroring" || exit 0

# migrate batch: -n is the budget of dsync workers
printf 'email\nb1@example.com\n' >"$LAB/one.csv"
printf 'email\nb2@example.com\nb1@example.com\n' >"$LAB/two.csv"
chmod 600 "$LAB/one.csv" "$LAB/two.csv"
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/one.csv" -n 2 --max-load 0 \
	</dev/null >"$LAB/batch1.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "batch -n 2 of one account" || { tail "$LAB/batch1.out"; exit 0; }
assert_eq 1 "$(grep -c 'copying 4 folders with 2 dsync workers' "$LAB/state/b1@example.com.log")" \
	"batch -n 2: the one account copied with 2 workers" || exit 0
rm -rf "$LAB/dst/home/b1@example.com/mail" "$LAB/state/b1@example.com".*
rc=0; doveadm -c "$MIG_CONF" migrate batch -F "$LAB/two.csv" -n 2 --max-load 0 \
	</dev/null >"$LAB/batch2.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "batch -n 2 of two accounts" || { tail "$LAB/batch2.out"; exit 0; }
assert_eq "0 0" "$(grep -c 'dsync workers' "$LAB/state/b1@example.com.log") $(grep -c 'dsync workers' "$LAB/state/b2@example.com.log")" \
	"batch -n 2 of two accounts: one dsync each" || exit 0
assert_eq "identical folders=4 messages=120" "$(mailcmp b1@example.com 2>&1 | head -1)" "batch: b1 copied" || exit 0
assert_eq "identical folders=4 messages=120" "$(mailcmp b2@example.com 2>&1 | head -1)" "batch: b2 copied" || exit 0

# nonsense is a usage error
rc=0; mrun "$MIG_CONF" "$u" --workers 0 || rc=$?
assert_eq 64 "$rc" "--workers 0 is a usage error" || exit 0
lab_migration_conf_add "plugin {" "  migrate_run_workers = many" "}"
rc=0; mrun "$MIG_CONF" "$u" || rc=$?
if [ "$LAB_DOVECOT" = 2.3 ]; then
	assert_eq 64 "$rc" "migrate_run_workers=many is a usage error" || { cat "$LAB/run.err"; exit 0; }
else
	# 2.4's doveconf refuses it when it reads the config
	[ "$rc" != 0 ] && grep -q migrate_run_workers "$LAB/run.err" ||
		{ fail "$LAB_TEST_NAME" "migrate_run_workers=many taken (exit $rc)"; cat "$LAB/run.err"; exit 0; }
	echo "ok: migrate_run_workers=many refused (exit $rc)"
fi

pass "$LAB_TEST_NAME"
