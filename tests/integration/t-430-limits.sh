#!/usr/bin/env bash
# Limits that must migrate, through doveadm migrate run with migrate_pop3:
#  - a 52 MB message (INBOX, with small ones around it);
#  - a folder of LIMITS_BIG messages (default 20000; bench/limits.sh runs
#    100000, too slow for the suite);
#  - folder names with odd characters: UTF-8 (modified UTF-7 on the wire),
#    spaces, '&', double quotes, brackets and braces, and nested folders
#    ('/' is the hierarchy separator; a '.' inside a name can't be tested:
#    the Maildir++ source refuses it).
# Asserted: exit 0, per-folder counts, and mailcmp.py (hash of every
# message, flags, keywords; folder names byte for byte); UIDLs of INBOX
# identical (verify-uidl).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faults.sh"

LAB_TEST_NAME=limits
big=${LIMITS_BIG:-20000}
user=limits@example.com
lab_init
lab_user_add "$user" pw-limits
lab_corpus "$user" 20 431
# a 52 MB message, delivered between the small ones
python3 - "$(lab_maildir "$user")/new" "$LAB_UID" "$LAB_GID" <<'EOF'
import os, sys
d, uid, gid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
path = os.path.join(d, "1700000000.M1P1.big")
line = b"".join(b"%c" % (65 + i % 26) for i in range(76)) + b"\n"
with open(path, "wb") as f:
    f.write(b"From: big@example.com\nTo: limits@example.com\n"
            b"Subject: a 52 MB message\nMessage-ID: <big52@example.com>\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n\n")
    for _ in range(52 * 1024 * 1024 // len(line)):
        f.write(line)
os.chown(path, uid, gid)
EOF
lab_corpus "$user" 5 432
lab_corpus "$user" "$big" 433 Big
lab_source_start
lab_dest_start sdbox
lab_migration_conf migrate_pop3

# odd folder names, created and filled over IMAP on the source (none a
# well-known name: the folder mapping would give "Entwürfe" the name Drafts)
python3 - "$SRC_IMAP_PORT" "$user*$LAB_MASTER_USER" <<'EOF' 3<"$LAB/secrets"
import imaplib, os, sys, time
def mutf7(s):
    out, buf = [], ""
    def flush():
        if buf:
            import base64
            b = base64.b64encode(buf.encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush(); buf = ""
            out.append("&-" if ch == "&" else ch)
        else:
            buf += ch
    flush()
    return "".join(out)
names = ["Ablage für Verträge", "日本語/子フォルダ", "with space", "R&D", 'say "hi"',
         "brackets [x] {y} (z)", "Parent/Child/Grandchild", "Ünïcödé & more"]
imap = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
imap.login(sys.argv[2], os.fdopen(3).read().strip())
for i, n in enumerate(names):
    q = '"' + mutf7(n).replace("\\", "\\\\").replace('"', '\\"') + '"'
    typ, data = imap.create(q)
    if typ != "OK":
        sys.exit("CREATE %s failed: %s" % (n, data))
    for j in range(3):
        msg = ("From: a@example.com\r\nSubject: %s %d\r\nMessage-ID: <odd%d.%d@x>\r\n"
               "\r\nbody %d in %s\r\n" % (mutf7(n), j, i, j, j, mutf7(n))).encode()
        typ, data = imap.append(q, "(\\Seen)" if j else None, None, msg)
        if typ != "OK":
            sys.exit("APPEND %s failed: %s" % (n, data))
print("created %d odd folders" % len(names))
EOF

start=$SECONDS
rc=0
mrun "$MIG_CONF" "$user" || rc=$?
echo "migrate run: exit $rc in $((SECONDS - start)) s"
assert_eq 0 "$rc" "migrate run of every limit" || { tail -5 "$LAB/run.err"; exit 0; }
assert_eq 26 "$(lab_imap_count dst "$user")" "INBOX: 25 small + the 52 MB message" || exit 0
size=$(doveadm -c "$DST_CONF" -f flow fetch -u "$user" 'size.physical' mailbox INBOX header Message-ID big52 |
	sed -n 's/.*size.physical=\([0-9]*\).*/\1/p')
assert_eq yes "$([ "${size:-0}" -gt $((52 * 1024 * 1024)) ] && echo yes || echo no)" \
	"the big message arrived whole ($size bytes)" || exit 0
assert_eq "$big" "$(lab_imap_count dst "$user" Big)" "Big: $big messages" || exit 0
n=$(doveadm -c "$DST_CONF" mailbox list -u "$user" | grep -c -e '^Ablage für Verträge$' -e '日本語/子フォルダ' \
	-e '^with space$' -e '^R&D$' -e '^say "hi"$' -e '^brackets \[x\] {y} (z)$' -e '^Parent/Child/Grandchild$' -e 'Ünïcödé & more' || true)
assert_eq 8 "$n" "the 8 odd folder names, UTF-8 and all" || { doveadm -c "$DST_CONF" mailbox list -u "$user"; exit 0; }
start=$SECONDS
cmp=$(mailcmp "$user" 2>&1 | tail -n 20 || true)
echo "    $cmp ($((SECONDS - start)) s)"
case $cmp in
identical*) echo "ok: destination identical to the source" ;;
*) fail "$LAB_TEST_NAME" "destination differs"; exit 0 ;;
esac
rc=0
doveadm -c "$MIG_CONF" migrate verify-uidl -u "$user" -s >"$LAB/verify.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "verify-uidl: INBOX UIDLs identical" || { cat "$LAB/verify.out"; exit 0; }
pass "$LAB_TEST_NAME"
