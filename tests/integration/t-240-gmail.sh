#!/usr/bin/env bash
# migrate_gmail against a Gmail-like server (hoodiecrow-imap + X-GM-EXT-1,
# tests/integration/gmail/):
#  - every All Mail message lands once in each of its label folders, label-
#    less mail in Archive, none lost, no view folder (\All, \Flagged,
#    \Important, \Trash, \Junk) on the destination, flags right, \Sent
#    mapped to the destination's \Sent folder;
#  - each body is downloaded once (server-side counter = All Mail count);
#  - a re-run downloads nothing; label/flag changes at the source are
#    applied from local copies; mail delivered to the destination survives;
#  - label keywords, included Trash/Junk and GmailId POP3 UIDLs on request;
#  - dry run writes nothing; a missing plugin or a non-Gmail source fails
#    with a one-line error.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=gmail
lab_init
U=alice@gmail.example
U2=bob@gmail.example
GPW='g-s3cret pw'
lab_user_add $U pw1
lab_user_add $U2 pw2
lab_user_add dry@gmail.example pw3
lab_user_add run@gmail.example pw4
lab_user_add vg@gmail.example pw5
# the destination calls its \Sent folder "Sent Messages"
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
  }
}'
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 0; }
lab_gmail_generate "$LAB/gmail" --seed 24 --count 480
lab_gmail_start "$GMAIL_ACCOUNT" $U "$GPW"
lab_gmail_migration_conf $U "$GPW" migrate_gmail
checker="$LAB_LIB_DIR/gmail/check-gmail-dest.py"

mgmail() {	# USER [ARGS] -> rc; output in $LAB/gmail.out/.err
	local rc=0
	doveadm -c "$MIG_CONF" -f tab migrate gmail -u "$@" >"$LAB/gmail.out" 2>"$LAB/gmail.err" || rc=$?
	return $rc
}
field() {	# NAME: from the tab output of the last run
	python3 -c 'import sys
lines=open(sys.argv[1]).read().splitlines()
h=lines[0].split("\t"); v=lines[1].split("\t")
print(v[h.index(sys.argv[2])])' "$LAB/gmail.out" "$1"
}
dump() {	# USER FILE
	doveadm -c "$DST_CONF" -f tab fetch -u "$1" 'mailbox guid flags' all >"$2"
}
total() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"][sys.argv[2]])' "$GMAIL_MANIFEST" "$1"; }
all_mail=$(total all_mail)

# --- first migration
rc=0; mgmail $U || rc=$?
assert_eq 0 "$rc" "gmail: migration succeeds" || { cat "$LAB/gmail.err"; exit 0; }
dump $U "$LAB/dump1.tsv"
rc=0; python3 "$checker" "$GMAIL_MANIFEST" "$LAB/dump1.tsv" --sent "Sent Messages" >"$LAB/check1.out" || rc=$?
assert_eq 0 "$rc" "gmail: every message once per label folder, archived ones in Archive, flags right" || { head -20 "$LAB/check1.out"; }
assert_eq "$(grep '^expected copies' "$LAB/check1.out" | cut -d' ' -f3)" "$(field copies)" "gmail: summary counts the folder copies"
archived=$(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))["messages"].values()
print(sum(1 for x in m if x["location"]=="all" and not set(x["labels"])-{"\\Starred","\\Important","\\Muted"}))' "$GMAIL_MANIFEST")
assert_eq "$archived" "$(field archived)" "gmail: mail with no label folder (none, or only Starred/Important) goes to Archive"
folders=$(doveadm -c "$DST_CONF" mailbox list -u $U | sort | tr '\n' '|')
case $folders in
*Gmail*|*Starred*|*Important*|*Trash*|*Spam*|*"All Mail"*)
	fail "$LAB_TEST_NAME" "view folders on the destination ($folders)" ;;
*) echo "ok: gmail: no view or excluded folders on the destination" ;;
esac
# Gmail subscribes every folder it shows: so is each one made here (and
# Archive), else a client showing subscribed folders only hides its mail
assert_eq "$(doveadm -c "$DST_CONF" mailbox list -u $U | grep -vx INBOX | sort | tr '\n' '|')" \
	"$(doveadm -c "$DST_CONF" mailbox list -s -u $U | grep -vx INBOX | sort | tr '\n' '|')" \
	"gmail: every folder made here is subscribed, as at Gmail"
assert_eq "$all_mail" "$(field downloaded)" "gmail: each body downloaded once ($all_mail in All Mail)"
downloads1=$(lab_gmail_stat messages_downloaded)
assert_eq "$all_mail" "$downloads1" "gmail: server counted $all_mail whole-message downloads"
# a body's FETCH asks for no RFC822.SIZE: its literal has the size
body_fetches=$(grep -c 'C: .*UID FETCH .*BODY\.PEEK\[\]' "$GMAIL_LOG" || true)
sized=$(grep -c 'C: .*UID FETCH .*RFC822\.SIZE.*BODY\.PEEK\[\]' "$GMAIL_LOG" || true)
assert_eq "yes 0" "$([ "$body_fetches" -gt 0 ] && echo yes || echo no) $sized" \
	"gmail: $body_fetches body FETCHes, none with RFC822.SIZE"
sent=$(doveadm -c "$DST_CONF" -f tab mailbox status -u $U messages "Sent Messages" | tail -1 | cut -f2)
assert_eq "$(total sent)" "$sent" "gmail: \\Sent mail in the destination's \\Sent folder"

# --- a re-run copies nothing
rc=0; mgmail $U || rc=$?
assert_eq "0 0 0 $(field copies)" "$rc $(field downloaded) $(field local) $(field present)" "gmail: re-run downloads and copies nothing"
assert_eq "$downloads1" "$(lab_gmail_stat messages_downloaded)" "gmail: re-run made no download at the server"

# --- changes at the source, new mail on the destination
read -r added removed flagged < <(python3 - "$GMAIL_IMAP_PORT" $U "$GPW" <<'PY'
import imaplib, sys
port, user, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = imaplib.IMAP4("127.0.0.1", port)
c.login(user, pw)
c.select('"Work"')
typ, data = c.uid("SEARCH", None, "ALL")
uids = data[0].split()
# a Work message gets the Travel label; another loses Work; a third is starred
def msgid(uid):
    typ, d = c.uid("FETCH", uid, "(X-GM-MSGID)")
    return d[0].decode().split("X-GM-MSGID ")[1].split()[0].rstrip(")")
a, r, f = uids[0], uids[1], uids[2]
ids = [msgid(a), msgid(r), msgid(f)]
c.uid("STORE", a, "+X-GM-LABELS", "(Travel)")
c.uid("STORE", r, "-X-GM-LABELS", "(Work)")
c.uid("STORE", f, "+FLAGS", "(\\Flagged)")
c.logout()
print(*ids)
PY
)
printf 'From: x@example.com\nSubject: new on the destination\nMessage-ID: <new@dest>\n\nhello\n' |
	doveadm -c "$DST_CONF" save -u $U -m Work
rc=0; mgmail $U || rc=$?
assert_eq 0 "$rc" "gmail: re-run after changes succeeds" || cat "$LAB/gmail.err"
assert_eq "0 1" "$(field downloaded) $(field local)" "gmail: a new label is a local copy, no download"
assert_eq 1 "$(field removed)" "gmail: a removed label removes that copy"
dump $U "$LAB/dump2.tsv"
assert_eq 1 "$(grep -c "^Travel	$added	" "$LAB/dump2.tsv")" "gmail: the labelled message is in Travel"
assert_eq 0 "$(grep -c "^Work	$removed	" "$LAB/dump2.tsv" || true)" "gmail: the unlabelled message left Work"
ncopies=$(grep -c "	$flagged	" "$LAB/dump2.tsv")
assert_eq "$ncopies" "$(grep "	$flagged	" "$LAB/dump2.tsv" | grep -c 'Flagged')" "gmail: the star reached all $ncopies copies"
assert_eq 1 "$(grep -c '^Work	' <(doveadm -c "$DST_CONF" -f tab fetch -u $U 'mailbox hdr.subject' subject 'new on the destination'))" "gmail: mail delivered to the destination is untouched"

# --- label keywords, Trash/Junk included, POP3 UIDLs
lab_gmail_stop
lab_gmail_start "$GMAIL_ACCOUNT" $U2 "$GPW"
LAB_MIG_EXTRA_CONF='plugin {
  migrate_gmail_label_keywords = yes
  migrate_gmail_include = \Trash \Junk
  migrate_gmail_pop3_uidls = yes
  migrate_gmail_archive_folder = Old mail
}'
lab_gmail_migration_conf $U2 "$GPW" migrate_gmail
rc=0; mgmail $U2 || rc=$?
assert_eq 0 "$rc" "gmail options: migration succeeds" || { cat "$LAB/gmail.err"; exit 0; }
dump $U2 "$LAB/dump3.tsv"
rc=0; python3 "$checker" "$GMAIL_MANIFEST" "$LAB/dump3.tsv" --sent "Sent Messages" --archive "Old mail" --include-trash --label-keywords >"$LAB/check3.out" || rc=$?
assert_eq 0 "$rc" "gmail options: labels as keywords, \$Important, Trash and Junk, archive folder name" || head -20 "$LAB/check3.out"
assert_eq "$(total messages)" "$(field downloaded)" "gmail options: Trash/Junk bodies downloaded once too"
doveadm -c "$DST_CONF" -f tab fetch -u $U2 'guid pop3.uidl' mailbox INBOX >"$LAB/uidl.tsv"
bad=$(python3 -c 'import sys
rows=[l.split("\t") for l in open(sys.argv[1]).read().splitlines()[1:] if l]
bad=[r for r in rows if r[1] != "GmailId%x" % int(r[0])]
print(len(bad) if rows else "no INBOX rows")' "$LAB/uidl.tsv")
assert_eq 0 "$bad" "gmail options: INBOX has GmailId<hex msgid> POP3 UIDLs"

# --- dry run, missing plugin, non-Gmail source
lab_gmail_stop
lab_gmail_start "$GMAIL_ACCOUNT" dry@gmail.example "$GPW"
LAB_MIG_EXTRA_CONF=
lab_gmail_migration_conf dry@gmail.example "$GPW" migrate_gmail
rc=0; mgmail dry@gmail.example -n || rc=$?
assert_eq "0 $all_mail" "$rc $(field downloaded)" "gmail dry run: counts what it would download"
assert_eq "" "$(doveadm -c "$DST_CONF" mailbox list -u dry@gmail.example | grep -v '^INBOX$' || true)" "gmail dry run: creates nothing"
assert_eq 0 "$(lab_gmail_stat messages_downloaded)" "gmail dry run: downloads nothing"
lab_gmail_migration_conf dry@gmail.example "$GPW"
rc=0; mgmail dry@gmail.example || rc=$?
assert_eq 64 "$rc" "gmail: without the plugin loaded, exit 64"
assert_ok "gmail: ... and says how to load it" grep -q "migrate_gmail plugin isn't loaded" "$LAB/gmail.err"

# --- migrate run takes the Gmail path when migrate_gmail is loaded
lab_gmail_stop
lab_gmail_start "$GMAIL_ACCOUNT" run@gmail.example "$GPW"
lab_gmail_migration_conf run@gmail.example "$GPW" migrate_gmail
rc=0; doveadm -c "$MIG_CONF" migrate run -u run@gmail.example >"$LAB/run.out" 2>"$LAB/run.err" || rc=$?
assert_eq 0 "$rc" "gmail run: migrate run succeeds" || cat "$LAB/run.err"
assert_eq "$all_mail" "$(lab_gmail_stat messages_downloaded)" "gmail run: each body downloaded once through migrate run"
assert_eq finished "$(doveadm -c "$MIG_CONF" -f tab migrate status -u run@gmail.example 2>/dev/null | awk -F'\t' 'NR==2 {print $2}')" "gmail run: status finished"
LAB_MIG_EXTRA_CONF=

# --- valgrind: a first run (downloads, local copies) and a re-run
lab_gmail_stop
lab_gmail_start "$GMAIL_ACCOUNT" vg@gmail.example "$GPW"
lab_gmail_migration_conf vg@gmail.example "$GPW" migrate_gmail
for pass in first re-run; do
	rc=0
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--keep-debuginfo=yes --vgdb=no \
		doveadm -c "$MIG_CONF" migrate gmail -u vg@gmail.example \
		>"$LAB/vg.out" 2>"$LAB/vg.err" || rc=$?
	assert_eq 0 "$rc" "gmail valgrind: $pass run clean (no errors, no leaks)" || grep -v 'Connected to' "$LAB/vg.err" | head -30
done

lab_source_start
lab_migration_conf migrate_gmail
rc=0; doveadm -c "$MIG_CONF" migrate gmail -u dry@gmail.example >"$LAB/gmail.out" 2>"$LAB/gmail.err" || rc=$?
assert_ok "gmail: a non-Gmail source fails (exit $rc)" test "$rc" -ne 0
assert_ok "gmail: ... with a one-line error naming the user and cause" grep -q 'dry@gmail.example.*no \\All' "$LAB/gmail.err"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
