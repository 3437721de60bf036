#!/usr/bin/env bash
# migrate verify on a Gmail account (the Gmail-like server, X-GM-EXT-1):
# compared as migrate gmail copies it - label folders by name, \Sent into
# this server's \Sent folder ("Sent Messages" here), no view folders, and
# the archive folder holding every All Mail message of no label folder.
#  - after migrate run: exit 0, every folder row ok, the archive's count is
#    the manifest's label-less mail;
#  - a message removed here from a label folder: exit 2, that folder
#    'missing', the message named;
#  - a message removed here from the archive: the archive 'missing' too.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=verify-gmail
U=greta@gmail.example
GPW='g-verify pw'
lab_init
lab_user_add "$U" pw1
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
  }
}'
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 1; }
lab_gmail_generate "$LAB/gmail" --seed 61 --count 120
lab_gmail_start "$GMAIL_ACCOUNT" "$U" "$GPW"
lab_gmail_migration_conf "$U" "$GPW" migrate_gmail

verify() {	# CASE: exit code in $rc, -f tab output in $LAB/CASE.out
	rc=0
	doveadm -c "$MIG_CONF" -f tab migrate verify -u "$U" </dev/null \
		>"$LAB/$1.out" 2>"$LAB/$1.err" || rc=$?
}
# results CASE: "folder=result|..." of the folder rows, sorted
results() {
	awk -F'\t' 'NR > 1 && $NF == "" { print $1 "=" $8 }' "$LAB/$1.out" |
		sort | tr '\n' '|'
}
# col CASE FOLDER RESULT COLUMN: lab_verify_col on CASE's output
col() { lab_verify_col "$LAB/$1.out" "${@:2}"; }
dump() { sed 's/^/    /' "$LAB/$1.out" "$LAB/$1.err"; }
# expunge_first FOLDER: expunge the first message here, print its Message-ID
expunge_first() {
	local line
	line=$(doveadm -c "$DST_CONF" -f tab fetch -u "$U" 'uid hdr.message-id' \
		mailbox "$1" all | awk -F'\t' 'NR > 1 && $2 != ""' | head -1)
	doveadm -c "$DST_CONF" expunge -u "$U" mailbox "$1" uid "${line%%$'\t'*}" ||
		return 1
	tr -d '[:space:]' <<<"${line#*$'\t'}"
}

rc=0
doveadm -c "$MIG_CONF" migrate run -u "$U" </dev/null >"$LAB/run.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "migrate run" || { tail -20 "$LAB/run.out"; exit 1; }

# --- complete
verify complete
assert_eq 0 "$rc" "complete: exit 0" || dump complete
bad=$(awk -F'\t' 'NR > 1 && $NF == "" && $8 != "ok"' "$LAB/complete.out")
assert_eq "" "$bad" "complete: every folder row ok"
rows=$(results complete)
case $rows in
*Gmail*|*"All Mail"*|*Starred*|*Important*|*Trash*|*Spam*)
	fail "$LAB_TEST_NAME" "complete: view or excluded folders compared ($rows)" ;;
*) echo "ok: complete: no view or excluded folder compared" ;;
esac
case $rows in
*"|Sent Messages=ok|"*) echo "ok: complete: \\Sent compared with this server's \\Sent folder" ;;
*) fail "$LAB_TEST_NAME" "complete: no 'Sent Messages' row ($rows)" ;;
esac
archived=$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))["messages"].values()
print(sum(1 for x in m if x["location"]=="all" and not set(x["labels"])-{"\\Starred","\\Important","\\Muted"}))' "$GMAIL_MANIFEST")
assert_eq "$archived" "$(col complete Archive ok old)" \
	"complete: the archive expects All Mail's label-less messages"
inbox=$(python3 -c 'import json,sys
print(json.load(open(sys.argv[1]))["folders"]["INBOX"]["count"])' "$GMAIL_MANIFEST")
assert_eq "$inbox" "$(col complete INBOX ok old)" "complete: INBOX expects Gmail's INBOX"

# --- a label folder loses a message here
label=$(awk -F'\t' 'NR > 1 && $NF == "" && $3 > 0 && $1 != "INBOX" &&
	$1 != "Archive" && $1 != "Sent Messages" && $1 != "Drafts" { print $1; exit }' \
	"$LAB/complete.out")
[ -n "$label" ] || { fail "$LAB_TEST_NAME" "no label folder with mail"; dump complete; exit 1; }
gone=$(expunge_first "$label") || { fail "$LAB_TEST_NAME" "expunge in $label failed"; exit 1; }
verify label
assert_eq 2 "$rc" "label: a message missing in $label: exit 2" || dump label
assert_eq missing "$(awk -F'\t' -v f="$label" 'NR > 1 && $NF == "" && $1 == f { print $8 }' "$LAB/label.out")" \
	"label: $label is 'missing'"
assert_eq "$gone" "$(col label "$label" missing message_id | tail -1)" \
	"label: the message is named by its Message-ID"

# --- the archive loses a message here
gone=$(expunge_first Archive) || { fail "$LAB_TEST_NAME" "expunge in Archive failed"; exit 1; }
verify archive
assert_eq 2 "$rc" "archive: exit 2" || dump archive
assert_eq 1 "$(col archive Archive missing missing | head -1)" "archive: one archived message missing"
assert_eq "$gone" "$(col archive Archive missing message_id | tail -1)" \
	"archive: the message is named by its Message-ID"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
