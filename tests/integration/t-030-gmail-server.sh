#!/bin/bash
# Smoke test of the Gmail-like IMAP source (tests/integration/gmail/):
# starts gmail-server.js with a generated 480-message account and checks, with
# python3 imaplib over 127.0.0.1, what Dovecot's imapc relies on: X-GM-EXT-1
# and SPECIAL-USE, folder counts equal to the manifest, one X-GM-MSGID across
# label folders, X-GM-LABELS in All Mail, trash/spam outside All Mail, ESEARCH
# for X-GM-RAW "in:^pop", loopback-only listening, Gmail's label model under
# APPEND / STORE X-GM-LABELS / COPY to Trash; then that the server stops and
# its log has no "Error processing command".  One "ok: CHECK" or
# "FAIL: gmail-server: CHECK: ..." line per check (lib.sh's fail for the shell
# checks, the same format from the python3 block), then "PASS: gmail-server"
# only when nothing failed.
set -u

T030_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=/dev/null
. "$T030_DIR/lib.sh"
LAB_TEST_NAME=gmail-server
lab_init || {
	fail "$LAB_TEST_NAME" "start: lab_init failed"
	exit 1
}
# shellcheck source=gmail/lib-gmail.sh
. "$T030_DIR/gmail/lib-gmail.sh"

T030_USER=alice@gmail.example
T030_PASS='s3cret pass'

if ! lab_gmail_setup; then
	fail "$LAB_TEST_NAME" "setup: npm ci failed"
	exit 1
fi
if ! lab_gmail_generate "$LAB/t030-account" --seed 30 --count 480; then
	fail "$LAB_TEST_NAME" "account: gen-gmail-account.py failed"
	exit 1
fi
if ! lab_gmail_start "$GMAIL_ACCOUNT" "$T030_USER" "$T030_PASS"; then
	fail "$LAB_TEST_NAME" "start: server did not become ready"
	exit 1
fi
echo "ok: start (port $GMAIL_IMAP_PORT, pid $GMAIL_PID)"

# prints "ok: CHECK" or "FAIL: <test name>: CHECK: reason" per check and
# exits non-zero if any failed (or if it could not run them at all)
python3 - "$GMAIL_IMAP_PORT" "$GMAIL_MANIFEST" "$T030_USER" "$T030_PASS" "$GMAIL_PID" \
	"$LAB_TEST_NAME" <<'EOF' || fail "$LAB_TEST_NAME" "imaplib checks failed"
import imaplib
import json
import re
import sys

port, manifest_file, user, password, pid, test_name = sys.argv[1:7]
port = int(port)
mf = json.load(open(manifest_file, encoding="utf-8"))
failed = False


def result(name, reason):
    global failed
    if reason:
        failed = True
        print("FAIL: %s: %s: %s" % (test_name, name, reason))
    else:
        print("ok: %s" % name)
    sys.stdout.flush()


def check(name, fn):
    try:
        result(name, fn())
    except Exception as e:  # a protocol error is a failed check, not a crash
        result(name, "%s: %s" % (type(e).__name__, e))


def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def uid_fetch(box, uid, items):
    typ, _ = M.select(q(box), readonly=True)
    if typ != "OK":
        raise RuntimeError("SELECT %s: %s" % (box, typ))
    typ, data = M.uid("FETCH", str(uid), items)
    if typ != "OK" or not data or data[0] is None:
        raise RuntimeError("UID FETCH %s in %s: %s %r" % (uid, box, typ, data))
    return data[0] if isinstance(data[0], bytes) else data[0][0]


M = imaplib.IMAP4("127.0.0.1", port, timeout=20)
M.login(user, password)


def t_capability():
    typ, data = M.capability()
    caps = data[0].decode().upper().split()
    missing = [c for c in ("X-GM-EXT-1", "SPECIAL-USE", "UIDPLUS", "ESEARCH") if c not in caps]
    return "missing %s in %s" % (missing, caps) if missing else None


LIST_RE = re.compile(r'^\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>"(?:[^"\\]|\\.)*"|\S+)$')


def list_folders(*extra):
    typ, data = M._simple_command("LIST", '""', '"*"', *extra)
    data = M._untagged_response(typ, data, "LIST")[1]
    out = {}
    for line in data:
        m = LIST_RE.match(line.decode())
        if not m:
            raise RuntimeError("unparsable LIST line %r" % line)
        name = m.group("name")
        if name.startswith('"'):
            name = re.sub(r'\\(.)', r'\1', name[1:-1])
        out[name] = set(m.group("flags").split())
    return out


def t_special_use():
    got = list_folders()
    bad = []
    for f in mf["folders"].values():
        flags = got.get(f["imap_name"])
        if flags is None:
            bad.append("%s not listed" % f["imap_name"])
            continue
        su = {x for x in flags if x in ("\\All", "\\Flagged", "\\Important", "\\Trash", "\\Junk",
                                        "\\Sent", "\\Drafts", "\\Archive")}
        want = {f["special_use"]} if f["special_use"] else set()
        if su != want:
            bad.append("%s has %s, want %s" % (f["imap_name"], sorted(su), sorted(want)))
        if f["selectable"] == ("\\Noselect" in flags):
            bad.append("%s \\Noselect wrong" % f["imap_name"])
    if len(got) != len(mf["folders"]):
        bad.append("LIST returned %d folders, manifest has %d" % (len(got), len(mf["folders"])))
    ret = list_folders("RETURN", "(SPECIAL-USE)")
    if ret != got:
        bad.append("LIST RETURN (SPECIAL-USE) differs from LIST")
    return "; ".join(bad) or None


def t_counts():
    bad = []
    for f in mf["folders"].values():
        if not f["selectable"]:
            continue
        typ, data = M.status(q(f["imap_name"]), "(MESSAGES UIDNEXT UIDVALIDITY)")
        m = re.search(r"MESSAGES (\d+) UIDNEXT (\d+) UIDVALIDITY (\d+)", data[0].decode())
        got = tuple(int(x) for x in m.groups())
        want = (f["count"], f["uidnext"], f["uidvalidity"])
        if got != want:
            bad.append("%s: (MESSAGES UIDNEXT UIDVALIDITY) %s, want %s" % (f["imap_name"], got, want))
    allmail = [f for f in mf["folders"].values() if f["special_use"] == "\\All"][0]
    if allmail["count"] != mf["totals"]["all_mail"]:
        bad.append("manifest All Mail count %d != totals %d" % (allmail["count"], mf["totals"]["all_mail"]))
    return "; ".join(bad) or None


def folder_uid(mid, name):
    f = mf["folders"][name]
    return f["uids"][f["ids"].index(mid)]


def t_shared_msgid():
    user_folders = {f["name"] for f in mf["folders"].values()
                    if f["selectable"] and not f["special_use"] and f["imap_name"] != "INBOX"}
    for mid, m in sorted(mf["messages"].items()):
        where = [n for n in m["folders"] if n in user_folders]
        if len(where) >= 2:
            break
    else:
        return "no message with two user labels in the manifest"
    allmail = [f["name"] for f in mf["folders"].values() if f["special_use"] == "\\All"][0]
    seen = {}
    for name in where[:2] + [allmail]:
        imap_name = mf["folders"][name]["imap_name"]
        line = uid_fetch(imap_name, folder_uid(mid, name), "(X-GM-MSGID)").decode()
        seen[name] = re.search(r"X-GM-MSGID (\d+)", line).group(1)
    if set(seen.values()) != {m["x_gm_msgid"]}:
        return "%s: X-GM-MSGID per folder %s, want %s" % (mid, seen, m["x_gm_msgid"])
    return None


def t_all_mail_labels():
    allmail = [f for f in mf["folders"].values() if f["special_use"] == "\\All"][0]
    M.select(q(allmail["imap_name"]), readonly=True)
    typ, data = M.uid("FETCH", "1:*", "(FLAGS X-GM-MSGID X-GM-LABELS)")
    if typ != "OK":
        return "UID FETCH 1:* (FLAGS X-GM-MSGID X-GM-LABELS): %s" % typ
    by_msgid = {m["x_gm_msgid"]: (mid, m) for mid, m in mf["messages"].items()}
    bad, n = [], 0
    for line in data:
        line = line.decode()
        msgid = re.search(r"X-GM-MSGID (\d+)", line).group(1)
        labels = re.search(r"X-GM-LABELS \(([^)]*)\)", line).group(1)
        got = set(x.strip('"').replace('\\\\', '\\') for x in re.findall(r'"(?:[^"\\]|\\.)*"|[^ ]+', labels))
        mid, m = by_msgid[msgid]
        if got != set(m["labels"]):
            bad.append("%s labels %s, want %s" % (mid, sorted(got), sorted(m["labels"])))
        if m["location"] != "all":
            bad.append("%s (%s) is in All Mail" % (mid, m["location"]))
        n += 1
    if n != allmail["count"]:
        bad.append("%d FETCH responses, want %d" % (n, allmail["count"]))
    return "; ".join(bad[:5]) or None


def t_trash_spam_outside():
    allmail = [f for f in mf["folders"].values() if f["special_use"] == "\\All"][0]
    M.select(q(allmail["imap_name"]), readonly=True)
    bad = []
    for mid, m in sorted(mf["messages"].items()):
        if m["location"] == "all":
            continue
        typ, data = M.uid("SEARCH", "X-GM-MSGID", m["x_gm_msgid"])
        if typ != "OK" or data[0].strip():
            bad.append("%s (%s) found in All Mail: %r" % (mid, m["location"], data))
    return "; ".join(bad[:5]) or None


def t_esearch_pop():
    M.select("INBOX", readonly=True)
    typ, data = M._simple_command("SEARCH", "RETURN", "(ALL)", "X-GM-RAW", '"in:^pop"')
    if typ != "OK":
        return "SEARCH RETURN (ALL) X-GM-RAW: %s %r" % (typ, data)
    es = M.untagged_responses.pop("ESEARCH", [None])[0]
    if es is None:
        return "no ESEARCH response"
    want = [i + 1 for i, mid in enumerate(mf["folders"]["INBOX"]["ids"]) if mf["messages"][mid]["pop_deleted"]]
    got = []
    m = re.search(r"ALL ([0-9:,]+)", es.decode())
    for part in (m.group(1).split(",") if m else []):
        a, _, b = part.partition(":")
        got.extend(range(int(a), int(b or a) + 1))
    return None if got == want else "ESEARCH %r, want %s" % (es, want)


def t_loopback_only():
    lines = []
    for tbl in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines += open(tbl).read().splitlines()[1:]
        except OSError:
            pass
    bound = []
    for l in lines:
        f = l.split()
        addr, lport = f[1].split(":")
        if int(lport, 16) == port and f[3] == "0A":  # LISTEN
            bound.append(addr)
    if not bound:
        return "no listening socket on port %d" % port
    bad = [a for a in bound if not (len(a) == 8 and a.endswith("7F"))]
    return "listening on non-loopback %s" % bad if bad else None


def t_label_semantics():
    """Gmail's model under change: APPEND, STORE X-GM-LABELS, COPY to Trash."""
    allmail = [f for f in mf["folders"].values() if f["special_use"] == "\\All"][0]["imap_name"]
    trash = [f for f in mf["folders"].values() if f["special_use"] == "\\Trash"][0]["imap_name"]
    work = "Work"

    def count(box):
        typ, data = M.status(q(box), "(MESSAGES)")
        return int(re.search(r"MESSAGES (\d+)", data[0].decode()).group(1))

    before = {b: count(b) for b in ("INBOX", allmail, work, trash)}
    raw = (b"From: t030@example.org\r\nTo: alice@gmail.example\r\nSubject: t-030 append\r\n"
           b"Message-ID: <t030-append@example.org>\r\n\r\nhello\r\n")
    typ, data = M.append("INBOX", "(\\Seen)", None, raw)
    if typ != "OK":
        return "APPEND: %s %r" % (typ, data)
    M.select("INBOX")
    typ, data = M.uid("SEARCH", "X-GM-RAW", '"rfc822msgid:t030-append@example.org"')
    uid = data[0].split()[-1].decode()
    msgid = re.search(r"X-GM-MSGID (\d+)", M.uid("FETCH", uid, "(X-GM-MSGID)")[1][0].decode()).group(1)
    typ, _ = M.uid("STORE", uid, "+X-GM-LABELS", "(%s)" % work)
    if typ != "OK":
        return "STORE +X-GM-LABELS: %s" % typ
    mid = {b: count(b) for b in ("INBOX", allmail, work, trash)}
    want = {"INBOX": before["INBOX"] + 1, allmail: before[allmail] + 1, work: before[work] + 1, trash: before[trash]}
    if mid != want:
        return "after APPEND + STORE +X-GM-LABELS: %s, want %s" % (mid, want)
    for box in (allmail, work):
        M.select(q(box), readonly=True)
        typ, data = M.uid("SEARCH", "X-GM-MSGID", msgid)
        if not data[0].split():
            return "appended X-GM-MSGID %s missing in %s" % (msgid, box)
    M.select("INBOX")
    typ, data = M.uid("COPY", uid, q(trash))
    if typ != "OK":
        return "UID COPY to Trash: %s %r" % (typ, data)
    M.noop()
    after = {b: count(b) for b in ("INBOX", allmail, work, trash)}
    want = dict(before)
    want[trash] += 1
    if after != want:
        return "after COPY to Trash: %s, want %s" % (after, want)
    return None


check("capability X-GM-EXT-1", t_capability)
check("LIST special-use flags", t_special_use)
check("folder counts == manifest", t_counts)
check("X-GM-MSGID shared across label folders", t_shared_msgid)
check("All Mail UID FETCH 1:* (FLAGS X-GM-MSGID X-GM-LABELS)", t_all_mail_labels)
check("trash/spam not in All Mail", t_trash_spam_outside)
check("ESEARCH for X-GM-RAW in:^pop", t_esearch_pop)
check("listens on 127.0.0.1 only", t_loopback_only)
check("label semantics: APPEND, STORE X-GM-LABELS, COPY to Trash", t_label_semantics)
try:
    M.logout()
except Exception:
    pass
sys.exit(1 if failed else 0)
EOF

t030_pid=$GMAIL_PID
lab_gmail_stop
if kill -0 "$t030_pid" 2>/dev/null; then
	fail "$LAB_TEST_NAME" "stop: pid $t030_pid still running"
else
	echo "ok: stop (pid $t030_pid gone)"
fi
if grep -q 'Error processing command' "$GMAIL_LOG"; then
	fail "$LAB_TEST_NAME" "log clean: $(grep -m1 'Error processing command' "$GMAIL_LOG")"
else
	echo "ok: log clean (no 'Error processing command')"
fi

[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
