#!/usr/bin/env bash
# migrate_gmail reads the source once, from All Mail: one
# UID FETCH 1:* (X-GM-MSGID X-GM-LABELS) says which message is in which
# label folder, and every body comes from All Mail. Against the Gmail-like
# server sending labels as atoms (--atom-labels; t-240 has quoted strings):
#  - the first pass selects no folder but All Mail and reads at most 1.02 x
#    the size of All Mail;
#  - every pass before the switch mirrors the labels Gmail has then,
#    compared folder by folder with the server's own state: a message left
#    with only Starred/Important goes to Archive and leaves its folders, one
#    labelled \Sent is copied into the \Sent folder, one loses \Inbox and
#    gets a label with a space, one a non-ASCII label, one a label new at
#    Gmail (a new folder); a new message comes in two folders; only the new
#    message is downloaded;
#  - after the switch (-1) a label removed at Gmail removes nothing here and
#    a label added there is copied;
#  - with imapc_features = gmail-migration too (imapc then reads X-GM-LABELS
#    itself when it selects All Mail) a first pass mirrors as well, without
#    imapc's $GMailHaveLabels keyword.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gmail/lib-gmail.sh"

LAB_TEST_NAME=gmail-labels
lab_init
U=lina@gmail.example
GPW='g-labels pw'
lab_user_add $U pw1
lab_user_add mig@gmail.example pw2
LAB_DST_EXTRA_CONF='namespace inbox {
  mailbox "Sent Messages" {
    special_use = \Sent
  }
}'
lab_dest_start sdbox
lab_gmail_setup || { fail "$LAB_TEST_NAME" "npm setup"; exit 0; }
lab_gmail_generate "$LAB/gmail" --seed 41 --count 480
LAB_GMAIL_SERVER_ARGS=--atom-labels lab_gmail_start "$GMAIL_ACCOUNT" $U "$GPW"
lab_gmail_migration_conf $U "$GPW" migrate_gmail

mgmail() {	# [ARGS] -> rc; output in $LAB/gmail.out/.err
	local rc=0
	doveadm -c "$MIG_CONF" -f tab migrate gmail -u "$U" "$@" >"$LAB/gmail.out" 2>"$LAB/gmail.err" || rc=$?
	return $rc
}
field() {	# NAME: from the tab output of the last run
	python3 -c 'import sys
lines=open(sys.argv[1]).read().splitlines()
h=lines[0].split("\t"); v=lines[1].split("\t")
print(v[h.index(sys.argv[2])])' "$LAB/gmail.out" "$1"
}
# mirrors NAME: the destination's Gmail mail is, folder by folder, what the
# server's state has now (label folders; Archive = All Mail in none)
mirrors() {
	lab_gmail_state || { fail "$LAB_TEST_NAME" "no server state"; return 1; }
	doveadm -c "$DST_CONF" -f tab fetch -u "$U" 'mailbox guid' all >"$LAB/dump.tsv"
	local rc=0
	python3 - "$GMAIL_STATE" "$LAB/dump.tsv" >"$LAB/mirror.out" <<'PY' || rc=$?
import base64, collections, json, sys
state = json.load(open(sys.argv[1], encoding="utf-8"))
def mutf7(name):
    out, i = [], 0
    while i < len(name):
        if name[i] == "&":
            j = name.index("-", i)
            if j == i + 1:
                out.append("&")
            else:
                b = name[i+1:j].replace(",", "/")
                out.append(base64.b64decode(b + "=" * (-len(b) % 4)).decode("utf-16-be"))
            i = j + 1
        else:
            out.append(name[i])
            i += 1
    return "".join(out)
want, labelled, all_mail = collections.defaultdict(set), set(), set()
for path, f in state["folders"].items():
    su = f["special_use"]
    if not f["selectable"] or su in ("\\Flagged", "\\Important", "\\Trash", "\\Junk"):
        continue
    ids = {m["x_gm_msgid"] for m in f["messages"]}
    if su == "\\All":
        all_mail = ids
        continue
    name = ("INBOX" if path.upper() == "INBOX" else "Sent Messages" if su == "\\Sent"
            else "Drafts" if su == "\\Drafts" else mutf7(path))
    want[name] |= ids
    labelled |= ids
want["Archive"] |= all_mail - labelled
have = collections.defaultdict(set)
for line in open(sys.argv[2], encoding="utf-8").read().splitlines()[1:]:
    box, guid = line.split("\t")
    if guid.isdigit():
        have[box].add(guid)
bad = 0
for box in sorted(set(want) | set(have)):
    if want[box] != have[box]:
        bad += 1
        print("MISMATCH %s: missing %s, extra %s" % (box, sorted(want[box] - have[box])[:5],
                                                     sorted(have[box] - want[box])[:5]))
print("folders %d, copies %d" % (len(want), sum(len(v) for v in want.values())))
sys.exit(1 if bad else 0)
PY
	assert_eq 0 "$rc" "$1" || head -10 "$LAB/mirror.out"
}
# gmail PYTHON: run PYTHON with an imaplib connection "c" to the Gmail
# server, logged in, All Mail selected; its stdout is the output
gmail() {
	python3 - "$GMAIL_IMAP_PORT" "$U" "$GPW" "$1" <<'PY'
import imaplib, re, sys
port, user, pw, code = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = imaplib.IMAP4("127.0.0.1", port)
c.login(user, pw)
c.select('"[Gmail]/All Mail"')
def labels():
    """All Mail UID -> (X-GM-MSGID, labels)"""
    typ, d = c.uid("FETCH", "1:*", "(X-GM-MSGID X-GM-LABELS)")
    r = {}
    for line in d:
        line = line.decode() if isinstance(line, bytes) else line[0].decode()
        uid = re.search(r"UID (\d+)", line).group(1)
        r[uid] = (re.search(r"X-GM-MSGID (\d+)", line).group(1),
                  re.search(r"X-GM-LABELS \(([^)]*)\)", line).group(1).split())
    return r
exec(code)
c.logout()
PY
}

# --- first pass: All Mail only, bytes close to the bodies
rc=0; mgmail || rc=$?
assert_eq 0 "$rc" "gmail labels: first pass succeeds" || { cat "$LAB/gmail.err"; exit 0; }
mirrors "gmail labels: first pass mirrors every label folder (labels as atoms)"
selected=$(grep -Eo 'C: [^ ]+ (SELECT|EXAMINE) .*' "$GMAIL_LOG" | sed -E 's/^C: [^ ]+ //' | sort -u | tr '\n' '|')
assert_eq 'EXAMINE "[Gmail]/All Mail"|' "$selected" "gmail labels: no folder but All Mail is selected"
assert_eq 1 "$(grep -c 'C: .*UID FETCH 1:\* (X-GM-MSGID X-GM-LABELS)' "$GMAIL_LOG")" "gmail labels: one X-GM-LABELS read of All Mail"
ratio=$(python3 -c 'import json,sys
s=json.load(open(sys.argv[1])); m=json.load(open(sys.argv[2]))
print("%.4f" % (s["bytes_out"] / m["totals"]["bytes_all_mail"]))' "$GMAIL_STATS" "$GMAIL_MANIFEST")
assert_ok "gmail labels: bytes read / All Mail $ratio <= 1.02" awk -v r="$ratio" 'BEGIN { exit !(r <= 1.02) }'
downloads1=$(lab_gmail_stat messages_downloaded)

# --- label changes at Gmail before the switch, and a new message
read -r starred sent unboxed famil newlab < <(gmail '
import random
r = labels()
rnd = random.Random(5)
def pick(pred):
    cand = sorted((u for u, (m, l) in r.items() if pred(l)), key=int)
    u = rnd.choice(cand)
    del r[u]
    return u
a = pick(lambda l: "Work" in l and len(l) >= 2)
b = pick(lambda l: "\\Sent" not in l and "\\Inbox" in l)
i = pick(lambda l: "\\Inbox" in l)
f = pick(lambda l: True)
n = pick(lambda l: len(l) == 0)
c.uid("STORE", a, "X-GM-LABELS", "(\\Starred \\Important)")
c.uid("STORE", b, "+X-GM-LABELS", "(\\Sent)")
c.uid("STORE", i, "-X-GM-LABELS", "(\\Inbox)")
c.uid("STORE", i, "+X-GM-LABELS", "(\"Receipts 2023\")")
c.uid("STORE", f, "+X-GM-LABELS", "(Fam&AO0-lia)")
c.uid("STORE", n, "+X-GM-LABELS", "(Neu/Ordner)")
msg = b"From: x@example.com\r\nTo: lina@gmail.example\r\nSubject: new at gmail\r\nMessage-ID: <new-241@gmail.example>\r\n\r\nhello\r\n"
c.append("INBOX", None, None, msg)
c.select("\"[Gmail]/All Mail\"")
typ, d = c.uid("SEARCH", None, "HEADER", "Message-ID", "<new-241@gmail.example>")
c.uid("STORE", d[0].split()[-1], "+X-GM-LABELS", "(Work)")
r = labels()
print(" ".join(r[u][0] for u in (a, b, i, f, n)))
')
[ -n "$newlab" ] || { fail "$LAB_TEST_NAME" "relabelling at the server failed"; exit 0; }
rc=0; mgmail || rc=$?
assert_eq 0 "$rc" "gmail labels: pass after label changes succeeds" || cat "$LAB/gmail.err"
assert_eq 1 "$(field downloaded)" "gmail labels: only the new message is downloaded"
assert_eq $((downloads1 + 1)) "$(lab_gmail_stat messages_downloaded)" "gmail labels: the server counted one more download"
mirrors "gmail labels: the pass mirrors the changed labels"
dump=$LAB/dump.tsv
assert_eq "Archive" "$(awk -F'\t' -v g="$starred" '$2 == g { print $1 }' "$dump" | tr '\n' ' ' | sed 's/ $//')" "gmail labels: a message left with Starred/Important only is in Archive alone"
assert_eq 1 "$(grep -c "^Sent Messages	$sent$" "$dump")" "gmail labels: \\Sent label copied into the \\Sent folder"
assert_eq "0 1" "$(grep -c "^INBOX	$unboxed$" "$dump") $(grep -c "^Receipts 2023	$unboxed$" "$dump")" "gmail labels: \\Inbox removed, a label with a space added"
assert_eq 1 "$(grep -c "^Família	$famil$" "$dump")" "gmail labels: a non-ASCII label"
assert_eq 1 "$(grep -c "^Neu/Ordner	$newlab$" "$dump")" "gmail labels: a label new at Gmail makes a new folder"

# --- after the switch: nothing removed here, new labels copied
read -r kept added < <(gmail '
r = labels()
u1 = [u for u in sorted(r, key=int) if r[u][0] == "'"$unboxed"'"][0]
c.uid("STORE", u1, "-X-GM-LABELS", "(\"Receipts 2023\")")
u2 = [u for u in sorted(r, key=int) if r[u][0] == "'"$famil"'"][0]
c.uid("STORE", u2, "+X-GM-LABELS", "(Travel)")
print(r[u1][0], r[u2][0])
')
rc=0; mgmail -1 || rc=$?
assert_eq 0 "$rc" "gmail labels: pass after the switch succeeds" || cat "$LAB/gmail.err"
assert_eq "0 0" "$(field removed) $(field downloaded)" "gmail labels: after the switch nothing is removed or downloaded"
doveadm -c "$DST_CONF" -f tab fetch -u $U 'mailbox guid' all >"$dump"
assert_eq 1 "$(grep -c "^Receipts 2023	$kept$" "$dump")" "gmail labels: after the switch a label removed at Gmail keeps the copy here"
assert_eq 1 "$(grep -c "^Travel	$added$" "$dump")" "gmail labels: after the switch a label added at Gmail is copied"

# --- imapc's gmail-migration feature on as well
U=mig@gmail.example
lab_gmail_start "$GMAIL_ACCOUNT" $U "$GPW"
LAB_MIG_EXTRA_CONF='imapc_features = rfc822.size fetch-headers gmail-migration'
lab_gmail_migration_conf $U "$GPW" migrate_gmail
LAB_MIG_EXTRA_CONF=
rc=0; mgmail || rc=$?
assert_eq 0 "$rc" "gmail labels, gmail-migration: first pass succeeds" || cat "$LAB/gmail.err"
mirrors "gmail labels, gmail-migration: the pass mirrors every label folder"
assert_eq 0 "$(doveadm -c "$DST_CONF" -f tab fetch -u $U flags all | grep -ci 'GMailHaveLabels')" "gmail labels, gmail-migration: no \$GMailHaveLabels keyword here"

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
