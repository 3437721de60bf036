#!/usr/bin/env bash
# The lifecycle of a Gmail account (migrate run with migrate_gmail, against
# the Gmail-like server), message by message (mailstate.py):
#  - before the switch a pass mirrors Gmail: a label removed there removes
#    that copy here;
#  - the MX switch (migrate switch), the user works here: deliveries, a
#    message moved into a new folder, two copies deleted, a flag;
#  - Gmail gets a new message (in INBOX and Work), loses the Work label of
#    a message that is still here, and gives an old message a new label;
#  - the final pass: everything the user left is there as left (the copy
#    whose label went at Gmail too, the deleted ones don't come back, the
#    moved one isn't copied again), plus the new message in its two label
#    folders and the old message in its new label folder; a late pass
#    changes nothing.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"
. "$(dirname "$0")/lib-lifecycle.sh"

LAB_TEST_NAME=lifecycle-gmail
U=gail@gmail.example
GPW='g-lifecycle pw'
lab_init
lab_user_add "$U" pw1
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 1; }
lab_gmail_generate "$LAB/gmail" --seed 31 --count 120
lab_gmail_start "$GMAIL_ACCOUNT" "$U" "$GPW"
lab_gmail_migration_conf "$U" "$GPW" migrate_gmail

# gmail PYTHON: run PYTHON with an imaplib connection "c" to the Gmail
# server, logged in; its stdout is the output
gmail() {
	python3 - "$GMAIL_IMAP_PORT" "$U" "$GPW" "$1" <<'PY'
import hashlib, imaplib, re, sys
port, user, pw, code = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = imaplib.IMAP4("127.0.0.1", port)
c.login(user, pw)
def msgid(uid):
    typ, d = c.uid("FETCH", uid, "(X-GM-MSGID)")
    return re.search(rb"X-GM-MSGID (\d+)", d[0]).group(1).decode()
def uids(folder):
    c.select('"%s"' % folder)
    typ, d = c.uid("SEARCH", None, "ALL")
    return d[0].split()
def entry(msgid_):
    """the mailstate key of a message of All Mail: body hash and flags"""
    c.select('"[Gmail]/All Mail"', readonly=True)
    typ, d = c.uid("SEARCH", None, "X-GM-MSGID", msgid_)
    uid = d[0].split()[0]
    typ, d = c.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
    flags = re.search(rb"FLAGS \(([^)]*)\)", d[0][0]).group(1).split()
    flags = sorted(f.decode() for f in flags
                   if f not in (b"\\Recent",) and
                   f.lower() != b"$gmailhavelabels")
    return "%s %s" % (hashlib.sha256(d[0][1]).hexdigest()[:16],
                      " ".join(flags))
exec(code)
c.logout()
PY
}
dst_guids() {	# FOLDER: the GUIDs of its messages here
	doveadm -c "$DST_CONF" -f tab fetch -u "$U" guid mailbox "$1" all | tail -n +2
}

mig run -u "$U"
assert_eq 0 "$rc" "first pass" || { tail -20 "$LAB/mig.out"; exit 1; }
assert_eq mirror "$(lab_status_field "$U" phase)" "phase mirror" || exit 1

# before the switch Gmail loses a label: the pass mirrors it
removed=$(gmail '
w = uids("Work"); m = msgid(w[0])
c.uid("STORE", w[0], "-X-GM-LABELS", "(Work)")
print(m)')
mig run -u "$U"
assert_eq 0 "$rc" "catch-up pass" || { tail -20 "$LAB/mig.out"; exit 1; }
assert_eq 0 "$(dst_guids Work | grep -cx "$removed")" "a label removed at Gmail before the switch removes the copy" || exit 1

mig switch -u "$U"
assert_eq 0 "$rc" "migrate switch" || exit 1
# the user works here
for i in 1 2; do
	printf 'From: a@example.net\r\nSubject: here %s\r\nMessage-ID: <g-here-%s@example.net>\r\n\r\nhi\r\n' "$i" "$i" |
		doveadm -c "$DST_CONF" save -u "$U" -m INBOX || exit 1
done
doveadm -c "$DST_CONF" mailbox create -u "$U" "Made here" || exit 1
moved=$(dst_guids INBOX | head -1)
doveadm -c "$DST_CONF" move -u "$U" "Made here" mailbox INBOX guid "$moved" || exit 1
doveadm -c "$DST_CONF" expunge -u "$U" mailbox Work uid 1:2 || exit 1
doveadm -c "$DST_CONF" flags add -u "$U" '\Flagged' mailbox INBOX uid 3 || exit 1
lc_snap dst "$U" "$LAB/worked.json" || exit 1

# Gmail after the switch: a new message in INBOX and Work, a Work label
# gone from a message that is here, a new label on an old message
gmail '
import time
msg = b"From: new@example.org\r\nTo: gail@gmail.example\r\nSubject: new at Gmail\r\nMessage-ID: <new-at-gmail@example.org>\r\n\r\narrived after the switch\r\n"
c.append("INBOX", None, None, msg)
i = uids("INBOX"); n = msgid(i[-1])
c.uid("STORE", i[-1], "+X-GM-LABELS", "(Work)")
w = uids("Work")
c.uid("STORE", w[-2], "-X-GM-LABELS", "(Work)")
t = uids("INBOX"); a = msgid(t[0])
c.uid("STORE", t[0], "+X-GM-LABELS", "(Travel)")
print(n, a)' >"$LAB/gmail-changes" || { fail "$LAB_TEST_NAME" "changes at Gmail"; exit 1; }
read -r new_id labelled_id <"$LAB/gmail-changes"
new_entry=$(gmail "print(entry('$new_id'))")
labelled_entry=$(gmail "print(entry('$labelled_id'))")
python3 - "$LAB/worked.json" "$LAB/expected.json" "$new_entry" "$labelled_entry" <<'PY'
import json, sys
worked, out, new, labelled = sys.argv[1:5]
e = json.load(open(worked))
for folder, key in (("INBOX", new), ("Work", new), ("Travel", labelled)):
    e.setdefault(folder, {})
    e[folder][key] = e[folder].get(key, 0) + 1
json.dump(e, open(out, "w"))
PY

mig run -u "$U" --final
assert_eq 0 "$rc" "final pass" || { tail -20 "$LAB/mig.out"; exit 1; }
check() {	# TAG
	lc_snap dst "$U" "$LAB/now.json" || return 1
	python3 "$LAB_LIB_DIR/mailstate.py" compare "$LAB/expected.json" \
		"$LAB/now.json" >"$LAB/compare"
	assert_eq identical "$(head -1 "$LAB/compare" | cut -d' ' -f1)" \
		"$1: here = what the user left + Gmail's new message and label ($(head -1 "$LAB/compare"))" ||
		cat "$LAB/compare"
}
check "final pass"
assert_eq 0 "$(dst_guids INBOX | grep -cx "$moved")" "the message moved out of INBOX here isn't copied back" || exit 1
mig run -u "$U"
assert_eq 0 "$rc" "late pass" || exit 1
check "late pass"
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
exit 0
