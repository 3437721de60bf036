#!/usr/bin/env bash
# doveadm migrate archive after a migration: a 12,000-message folder whose
# messages were received over 2019..2026 keeps the last two years and gets
# the older ones moved into Archive/Big/<year>, exactly, nothing lost;
# a folder under the limit is untouched; running it again moves nothing.
# A year folder is subscribed when its folder is (Big: subscribed at the
# old server, so here too; Small: not), so that a mail client showing
# subscribed folders only still shows the moved mail.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

user=arch@example.com
LAB_TEST_NAME=migrate-archive
lab_init
lab_user_add "$user" pw-arch
lab_corpus "$user" 12000 303 Big
lab_corpus "$user" 300 304 Small
# received dates (maildir mtimes, kept by dsync): message i in year
# 2019 + i % 8, mid-year so no time zone moves it
python3 - "$(lab_maildir "$user" Big)" "$(lab_maildir "$user" Small)" <<'PY'
import calendar, os, sys
for d in sys.argv[1:]:
    names = sorted(os.listdir(os.path.join(d, "cur")) + os.listdir(os.path.join(d, "new")))
    for i, n in enumerate(names):
        p = os.path.join(d, "cur", n)
        if not os.path.exists(p):
            p = os.path.join(d, "new", n)
        t = calendar.timegm((2019 + i % 8, 6, 15, 12, 0, 0))
        os.utime(p, (t, t))
PY
lab_source_start
doveadm -c "$SRC_CONF" mailbox subscribe -u "$user" INBOX Big
lab_dest_start sdbox
lab_migration_conf
lab_migrate_backup "$user" || { fail "$LAB_TEST_NAME" "migration failed"; exit 0; }
assert_eq "Big INBOX" "$(lab_doveadm dst mailbox list -s -u "$user" | sort | xargs)" "subscriptions as at the old server" || exit 0
assert_eq 12000 "$(lab_imap_count dst "$user" Big)" "migrated 12000" || exit 0

this_year=$(date +%Y)
keep_from=$((this_year - 1))
rc=0
lab_doveadm dst migrate archive -u "$user" --min-messages 10000 --keep-years 2 \
	>"$LAB/archive.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "archive succeeds" || { cat "$LAB/archive.out"; exit 0; }

expected_kept=0
for y in $(seq 2019 2026); do
	n=$(( 12000 / 8 ))
	if [ "$y" -ge "$keep_from" ]; then
		expected_kept=$((expected_kept + n))
		continue
	fi
	assert_eq "$n" "$(lab_imap_count dst "$user" "Archive/Big/$y")" "Archive/Big/$y holds the $y messages" || exit 0
done
assert_eq "$expected_kept" "$(lab_imap_count dst "$user" Big)" "Big keeps $keep_from..$this_year" || exit 0
assert_eq 300 "$(lab_imap_count dst "$user" Small)" "a folder under the limit is untouched" || exit 0
expected_subs=$(for ((y = 2019; y < keep_from; y++)); do echo "Archive/Big/$y"; done | xargs)
assert_eq "$expected_subs" "$(lab_doveadm dst mailbox list -s -u "$user" 'Archive/*' | sort | xargs)" \
	"the year folders of the subscribed Big are subscribed" || exit 0
total=$(lab_doveadm dst -f tab mailbox status -u "$user" -t messages '*' | tail -1)
assert_eq 12300 "$total" "nothing lost" || exit 0

rc=0
lab_doveadm dst migrate archive -u "$user" --min-messages 10 --keep-years 2 \
	>"$LAB/archive2.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "second archive run succeeds" || exit 0
# Small is now over the limit (10) and has old mail: it is archived,
# but Big and the Archive tree are not touched again
assert_eq "$expected_kept" "$(lab_imap_count dst "$user" Big)" "second run: Big unchanged" || exit 0
assert_eq 0 "$(grep -c '^Archive/' "$LAB/archive2.out" || true)" "second run: archive folders are never archived" || exit 0
assert_ok "second run: Small archived" grep -q "^Small.*Archive/Small/2019" "$LAB/archive2.out" || exit 0
assert_eq "" "$(lab_doveadm dst mailbox list -s -u "$user" 'Archive/Small/*' | xargs)" \
	"the year folders of the unsubscribed Small are not subscribed" || exit 0
assert_eq 12300 "$(lab_doveadm dst -f tab mailbox status -u "$user" -t messages '*' | tail -1)" "second run: nothing lost" || exit 0
pass "$LAB_TEST_NAME"
