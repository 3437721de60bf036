#!/usr/bin/env bash
# migrate_pop3_mailboxes with several folders: the old POP3 list merges
# INBOX and Archive (as some servers' POP3 views do) and has two messages
# that are in no IMAP folder. Every INBOX and Archive message must carry
# its POP3 UIDL on the new server, the run must not fail on Archive's
# position in the list, and the two POP3-only messages must be reported
# once, at the end, by number and UIDL. Sent is not in the list: untouched.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

user=merge@example.com
LAB_TEST_NAME=pop3-merged-folders
lab_init
lab_user_add "$user" secret1
lab_corpus "$user" 100 71
lab_corpus "$user" 40 72 Archive
lab_corpus "$user" 20 73 Sent
md=$(lab_maildir "$user")
python3 - "$md" "$(dirname "$md")/Maildir-pop3" "$LAB_UID" "$LAB_GID" <<'PY'
import os, shutil, sys
src, dst, uid, gid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(dst, sub), exist_ok=True)
# INBOX first, then Archive: the POP3 view lists both
n = 0
for folder in (src, os.path.join(src, ".Archive")):
    names = sorted(os.listdir(os.path.join(folder, "cur")) + os.listdir(os.path.join(folder, "new")))
    for name in names:
        sub = "cur" if os.path.exists(os.path.join(folder, "cur", name)) else "new"
        n += 1
        shutil.copyfile(os.path.join(folder, sub, name),
                        os.path.join(dst, "cur", "%010d.M%d.merged:2," % (1800000000 + n, n)))
for k in range(2):
    n += 1
    with open(os.path.join(dst, "cur", "%010d.M%d.merged:2," % (1800000000 + n, n)), "w") as f:
        f.write("From: pop3-only@example.net\nSubject: POP3 only %d\n"
                "Message-ID: <pop3-only-%d@example.net>\n\nOnly in the POP3 spool.\n" % (k, k))
for root, dirs, files in os.walk(dst):
    for x in dirs + files + ["."]:
        os.chown(os.path.join(root, x), uid, gid)
PY
LAB_SRC_EXTRA_CONF='protocol pop3 {
  mail_location = maildir:~/Maildir-pop3
}'
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3
lab_migration_conf_add 'plugin {' '  migrate_pop3_mailboxes = INBOX Archive' '}'

log=$LAB/migrate-$user.log
rc=0; lab_migrate_backup "$user" || rc=$?
grep 'migrate_pop3: POP3 ' "$log" | sed 's/.*Mailbox \([^:]*\): migrate_pop3: /  \1: /'
assert_eq 0 "$rc" "migration with INBOX and Archive matched against one POP3 list" || { lab_log_dump; exit 0; }

lab_pop3_uidls src "$user" >"$LAB/uidl.src"
assert_eq 142 "$(wc -l <"$LAB/uidl.src")" "source POP3 lists 142 messages" || exit 0
expected_pop3_only=$(tail -2 "$LAB/uidl.src" | awk '{print $1" "$2}' | sort)
got_pop3_only=$(sed -n 's/.*POP3 message \([0-9]*\) UIDL \([^ ]*\) size .* is in none of the migrated mailboxes.*/\1 \2/p' "$log" | sort)
assert_eq "$expected_pop3_only" "$got_pop3_only" "the two POP3-only messages reported by number and UIDL" || exit 0
grep -q "2 of 142 POP3 messages were found in none of the mailboxes" "$log" ||
	{ fail "$LAB_TEST_NAME" "no end-of-run summary of POP3-only messages"; exit 0; }

dst_uidls() {
	lab_doveadm dst fetch -u "$user" pop3.uidl mailbox "$1" | sed -n 's/^pop3.uidl: //p' | grep . | sort
}
{ dst_uidls INBOX; dst_uidls Archive; } | sort >"$LAB/uidl.dstset"
head -140 "$LAB/uidl.src" | awk '{print $2}' | sort >"$LAB/uidl.srcset"
assert_eq 140 "$(comm -12 "$LAB/uidl.srcset" "$LAB/uidl.dstset" | wc -l)" \
	"every INBOX and Archive message carries its old POP3 UIDL" || exit 0
assert_eq 100 "$(dst_uidls INBOX | wc -l)" "INBOX: 100 UIDLs" || exit 0
assert_eq 0 "$(dst_uidls Sent | wc -l)" "Sent (not listed) gets no UIDLs" || exit 0
pass "$LAB_TEST_NAME"
