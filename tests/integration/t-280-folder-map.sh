#!/usr/bin/env bash
# Folder-name mapping (docs/admin-guide.md "Folder mapping"): the old
# server's folders get this server's names on every path of a migration.
#  - ex: Exchange-style and localized names, no SPECIAL-USE at the old
#    server ("Sent Items", "Sent Items/2019", "Gelöschte Elemente",
#    "Junk Email", "Brouillons", an unknown "Projects"): migrate check shows
#    old -> new and why (also -f json); migrate run puts every message
#    into the mapped folder (hashes of each message), no old-named folder
#    here; a second mirror pass changes nothing; after the switch the
#    user saves into Sent here and new mail arrives in the old
#    "Sent Items": the final pass (migrate copy-new) adds exactly that;
#  - su: SPECIAL-USE at the old server under other names ("Sendt" \Sent,
#    "Kurv" \Trash) lands in this server's \Sent and \Trash folders;
#  - clash: both "Sent" and "Sent Items": refused before anything is
#    copied (exit 64, one line naming the account and both folders), check
#    says the same; a map file line resolves it;
#  - a bad map file line: 64 naming file:line; migrate_folder_map = no
#    copies the names as they are.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

LAB_TEST_NAME=folder-map
lab_init
for u in ex su clash plain; do
	lab_user_add "$u@example.com" "pw-$u"
	lab_corpus "$u@example.com" 4 "$((${#u} + 190))"
done
LAB_SRC_EXTRA_CONF='namespace inbox {
  mailbox Sendt {
    special_use = \Sent
  }
  mailbox Kurv {
    special_use = \Trash
  }
}'
lab_source_start
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox Sent {
    special_use = \Sent
  }
  mailbox Trash {
    special_use = \Trash
  }
  mailbox Junk {
    special_use = \Junk
  }
  mailbox Drafts {
    special_use = \Drafts
  }
}'
lab_dest_start sdbox
lab_migration_conf
sleep 1.1	# passwd-file looks at its file at most once a second

# src_folder USER FOLDER COUNT SEED: COUNT new messages in a folder of the
# old server, made there by Dovecot (so UTF-8 names are stored as it does)
n_stage=0
src_folder() {
	n_stage=$((n_stage + 1))
	lab_corpus "$1" "$3" "$4" "Stage$n_stage"
	doveadm -c "$SRC_CONF" mailbox create -u "$1" "$2" 2>/dev/null
	doveadm -c "$SRC_CONF" move -u "$1" "$2" mailbox "Stage$n_stage" all &&
		doveadm -c "$SRC_CONF" mailbox delete -u "$1" "Stage$n_stage"
}
# msgs CONF USER FOLDER: sorted hashes of the folder's messages
msgs() {
	doveadm -c "$1" -f json fetch -u "$2" text mailbox "$3" 2>/dev/null |
		python3 -c 'import sys, json, hashlib
rows = json.load(sys.stdin)
print(" ".join(sorted(hashlib.sha1(r["text"].replace("\r\n", "\n").encode()).hexdigest()[:12]
                      for r in rows)))'
}
# same USER OLD NEW: the old folder's messages are exactly the new one's
same() {
	local a b
	a=$(msgs "$SRC_CONF" "$1" "$2")
	b=$(msgs "$DST_CONF" "$1" "$3")
	if [ -n "$a" ] && [ "$a" == "$b" ]; then
		echo "ok: $1: '$2' is '$3' here ($(wc -w <<<"$a") messages, hashes)"
	else
		fail "$LAB_TEST_NAME" "$1: '$2' -> '$3': old [$a] here [$b]"
	fi
}
folders_here() {
	doveadm -c "$DST_CONF" mailbox list -u "$1" | sort | tr '\n' '|'
}
run() {	# USER [ARGS]: exit code in $rc, output in $LAB/run.out
	local u=$1
	shift
	rc=0
	doveadm -c "${CONF:-$MIG_CONF}" migrate run -u "$u" "$@" </dev/null \
		>"$LAB/run.out" 2>&1 || rc=$?
}
check() {	# CASE USER [ARGS]: exit in $rc, -f tab output in CASE.out
	local c=$1 u=$2
	shift 2
	rc=0
	doveadm -c "${CONF:-$MIG_CONF}" -f tab migrate check -u "$u" "$@" \
		</dev/null >"$LAB/$c.out" 2>"$LAB/$c.err" || rc=$?
}
field() {	# CASE FOLDER COLUMN
	awk -F'\t' -v f="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == f { print $col[c] }' "$LAB/$1.out"
}

U=ex@example.com
src_folder $U "Sent Items" 3 201
src_folder $U "Sent Items/2019" 2 202
src_folder $U "Gelöschte Elemente" 2 203
src_folder $U "Junk Email" 2 204
src_folder $U "Brouillons" 1 205
src_folder $U "Projects" 2 206

# --- check: the mapping before anything is copied
check ex $U
assert_eq 0 "$rc" "ex: check exit 0" || sed 's/^/    /' "$LAB/ex.err"
sed 's/^/    /' "$LAB/ex.out"
assert_eq "copied into Sent" "$(field ex "Sent Items" action)" "ex: check: Sent Items -> Sent"
assert_eq 'well-known name: \Sent' "$(field ex "Sent Items" mapping)" "ex: check: why (the table)"
assert_eq "copied into Sent/2019" "$(field ex "Sent Items/2019" action)" "ex: check: Sent Items/2019 -> Sent/2019"
assert_eq "parent: Sent Items" "$(field ex "Sent Items/2019" mapping)" "ex: check: why (its parent)"
assert_eq "copied into Trash" "$(field ex "Gelöschte Elemente" action)" "ex: check: Gelöschte Elemente -> Trash"
assert_eq "copied into Junk" "$(field ex "Junk Email" action)" "ex: check: Junk Email -> Junk"
assert_eq "copied into Drafts" "$(field ex "Brouillons" action)" "ex: check: Brouillons -> Drafts"
assert_eq "copied" "$(field ex "Projects" action)" "ex: check: Projects kept"
assert_eq "" "$(field ex "Projects" mapping)" "ex: check: Projects: no mapping"
rc=0
doveadm -c "$MIG_CONF" -f json migrate check -u $U </dev/null >"$LAB/ex.json" 2>/dev/null || rc=$?
assert_eq 'Sent Items -> Sent (well-known name: \Sent)' "$(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1])):
    if r["folder"] == "Sent Items":
        print("%s -> %s (%s)" % (r["folder"], r["action"].split(" into ")[1], r["mapping"]))' "$LAB/ex.json")" \
	"ex: check -f json has the mapping"
assert_eq "INBOX|" "$(folders_here $U)" "ex: check copied nothing"

# --- the first (mirror) pass
run $U
assert_eq 0 "$rc" "ex: first run exit 0" || cat "$LAB/run.out"
same $U INBOX INBOX
same $U "Sent Items" Sent
same $U "Sent Items/2019" Sent/2019
same $U "Gelöschte Elemente" Trash
same $U "Junk Email" Junk
same $U Brouillons Drafts
same $U Projects Projects
assert_eq "Drafts|INBOX|Junk|Projects|Sent|Sent/2019|Trash|" "$(folders_here $U)" \
	"ex: only the mapped folders here, none under its old name"
# a catch-up pass: nothing changes, nothing twice
src_folder $U "Sent Items" 1 207
run $U
assert_eq 0 "$rc" "ex: catch-up pass exit 0" || cat "$LAB/run.out"
same $U "Sent Items" Sent
assert_eq "Drafts|INBOX|Junk|Projects|Sent|Sent/2019|Trash|" "$(folders_here $U)" \
	"ex: catch-up pass: the same folders"

# --- the user works here, new mail at the old server, the final pass
printf 'From: ex@example.com\r\nTo: x@example.com\r\nSubject: sent here\r\nMessage-ID: <sent-here@example.com>\r\n\r\nsent from the new server\r\n' |
	doveadm -c "$DST_CONF" save -u $U -m Sent
src_folder $U "Sent Items" 2 208
run $U --final
assert_eq 0 "$rc" "ex: final pass exit 0" || cat "$LAB/run.out"
assert_eq 2 "$(lab_status_field $U copied)" "ex: final pass copied the 2 new messages" || cat "$LAB/run.out"
assert_eq 7 "$(lab_imap_count dst $U Sent)" "ex: Sent here: 4 from the mirror passes + 1 sent here + 2 new, nothing twice"
assert_eq 1 "$(doveadm -c "$DST_CONF" search -u $U mailbox Sent header message-id sent-here | wc -l)" \
	"ex: the message sent here is still there"
assert_eq "Drafts|INBOX|Junk|Projects|Sent|Sent/2019|Trash|" "$(folders_here $U)" \
	"ex: final pass: no folder under an old name"
run $U --final
assert_eq 0 "$(lab_status_field $U copied)" "ex: a late pass copies nothing" || cat "$LAB/run.out"

# --- SPECIAL-USE at the old server under other names
U=su@example.com
src_folder $U Sendt 3 211
src_folder $U Kurv 2 212
check su $U
assert_eq 'special-use: \Sent' "$(field su Sendt mapping)" "su: check: Sendt by SPECIAL-USE" || sed 's/^/    /' "$LAB/su.out" "$LAB/su.err"
run $U
assert_eq 0 "$rc" "su: run exit 0" || cat "$LAB/run.out"
same $U Sendt Sent
same $U Kurv Trash
assert_eq "INBOX|Sent|Trash|" "$(folders_here $U)" "su: no folder under its old name"

# --- two old folders onto one name: refused before copying
U=clash@example.com
src_folder $U Sent 2 221
src_folder $U "Sent Items" 2 222
run $U
assert_eq 64 "$rc" "clash: run exit 64" || cat "$LAB/run.out"
n=$(grep -c "user $U: .*old folders 'Sent' and 'Sent Items' would both become 'Sent' here: keep one apart with a line in migrate_folder_map_file (e.g. 'Sent Items = Sent Items')" "$LAB/run.out")
assert_eq 1 "$n" "clash: one line naming the account, both folders and the way out" || cat "$LAB/run.out"
assert_eq "INBOX|" "$(folders_here $U)" "clash: nothing copied"
assert_eq 0 "$(lab_imap_count dst $U INBOX || echo 0)" "clash: not even INBOX"
check clash $U
assert_eq 64 "$rc" "clash: check exit 64"
assert_eq 1 "$(grep -c "'Sent' and 'Sent Items' would both become 'Sent'" "$LAB/clash.err")" "clash: check names the conflict" || cat "$LAB/clash.err"
# the admin's map file keeps them apart
printf '# Outlook and Thunderbird both wrote mail\n"Sent Items" = Sent/Outlook\n' >"$LAB/map.txt"
cp "$MIG_CONF" "$LAB/map.conf"
printf 'plugin {\n  migrate_folder_map_file = %s\n}\n' "$LAB/map.txt" | lab__conf24 >>"$LAB/map.conf"
CONF=$LAB/map.conf run $U
assert_eq 0 "$rc" "clash: with the map file: exit 0" || cat "$LAB/run.out"
same $U Sent Sent
same $U "Sent Items" Sent/Outlook
# a bad line: the file and line named, nothing copied
U=plain@example.com
src_folder $U "Sent Items" 2 231
printf 'Archive/* = Old/*\nSent Items\n' >"$LAB/map.txt"
CONF=$LAB/map.conf run $U
assert_eq 64 "$rc" "bad map file: exit 64" || cat "$LAB/run.out"
assert_eq 1 "$(grep -c "user $U: .*$LAB/map.txt:2: expected 'old name = new name'" "$LAB/run.out")" \
	"bad map file: one line naming file:line" || cat "$LAB/run.out"
assert_eq "INBOX|" "$(folders_here $U)" "bad map file: nothing copied"
# mapping off: the names as they are
cp "$MIG_CONF" "$LAB/off.conf"
printf 'plugin {\n  migrate_folder_map = no\n}\n' | lab__conf24 >>"$LAB/off.conf"
CONF=$LAB/off.conf run $U
assert_eq 0 "$rc" "migrate_folder_map = no: exit 0" || cat "$LAB/run.out"
same $U "Sent Items" "Sent Items"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
