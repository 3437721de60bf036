#!/bin/bash
# t-020: the non-Dovecot source servers of the lab come up and serve the same
# store over IMAP and POP3, and Dovecot's imapc can copy from them.
#   Courier-IMAP/-POP3 (unpacked Debian packages, lib-courier.sh)
#   GNU Mailutils imap4d/pop3d on a maildir and on an mbox (lib-mailutils.sh)
# For each: IMAP shows N messages, POP3 lists N unique UIDLs in the server's
# own format, the UIDLs are the same in a second session, and
# `doveadm backup -R imapc:` copies N messages into an sdbox.  How the POP3
# view (TOP n 0, LIST sizes) differs from the IMAP view (BODY.PEEK[HEADER],
# RFC822.SIZE) and what the built-in pop3_migration plugin makes of the
# server is printed as "finding:" lines (information, not pass/fail).
# Reporting (lib.sh): "ok: SERVER-CHECK ..." per passed check, a FAIL line
# (lib.sh's fail) per failed one, then "PASS: nondovecot-sources" only when
# nothing failed.
# Environment: T020_COUNT (messages, default 20), T020_SEED (default 20),
# T020_SERVERS (default "courier mailutils-maildir mailutils-mbox").
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
count=${T020_COUNT:-20}
seed=${T020_SEED:-20}
servers=${T020_SERVERS:-courier mailutils-maildir mailutils-mbox}
t0=$SECONDS
nok=0

# ok WHAT: one passed check (failures: lib.sh's fail, counted in LAB_FAILS)
ok() { echo "ok: $1"; nok=$((nok + 1)); }
finding() { echo "finding: $*"; }

. "$here/lib.sh"
LAB_TEST_NAME=nondovecot-sources
lab_init || { fail "$LAB_TEST_NAME" "lab_init failed"; exit 1; }
. "$here/lib-courier.sh"
. "$here/lib-mailutils.sh"

# Stop our servers first, whatever lib.sh's EXIT trap does afterwards.
t020__prev_exit=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
t020__on_exit() {
	local rc=$?
	lab_courier_stop
	lab_mailutils_stop
	(exit "$rc")
	eval "${t020__prev_exit:-exit $rc}"
}
trap t020__on_exit EXIT

# --------------------------------------------------------------------------
# corpus: gen-corpus.py (LF, CRLF, 8-bit, duplicates, header-only ...) when
# present, else a small inline generator
corpus=$LAB/corpus-md
if [ -f "$here/gen-corpus.py" ]; then
	python3 "$here/gen-corpus.py" --count "$count" --seed "$seed" --out "$corpus" --quiet ||
		{ fail "$LAB_TEST_NAME" "gen-corpus.py failed"; exit 1; }
else
	mkdir -p "$corpus/new" "$corpus/cur" "$corpus/tmp"
	python3 - "$corpus/new" "$count" "$seed" <<'EOF'
import os, random, sys
from email.utils import formatdate
out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
for i in range(n):
    t = 1600000000 + i * 3600
    body = "\n".join(" ".join(rng.choice(["alpha", "beta", "gamma", "mail", "box"])
                              for _ in range(12)) for _ in range(rng.randint(1, 30)))
    msg = ("Received: from mx%d.example.net by mail.example.com; %s\n"
           "From: Sender %d <s%d@example.net>\nTo: alice@example.com\n"
           "Subject: message %d of %d\nDate: %s\nMessage-ID: <%d.%d@example.net>\n"
           "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n%s\n"
           % (i, formatdate(t), i, i, i + 1, n, formatdate(t), seed, i, body))
    open(os.path.join(out, "%d.M%dP1.gen" % (t, i)), "w").write(msg)
EOF
fi
mapfile -t corpus_files < <(cd "$corpus" && find new cur -type f | sort -t/ -k2 -n | sed "s|^|$corpus/|")
if [ "${#corpus_files[@]}" -ne "$count" ]; then
	fail "$LAB_TEST_NAME" "corpus has ${#corpus_files[@]} files, expected $count"
	exit 1
fi

# --------------------------------------------------------------------------
# network probe: IMAP vs POP3 view of one account
cat >"$LAB/nd-probe.py" <<'EOF'
import imaplib, os, poplib, re, sys, time
from collections import Counter

host = "127.0.0.1"
iport, pport, user, pw, expect, uidl_re = (int(sys.argv[1]), int(sys.argv[2]),
    sys.argv[3], os.environ["PROBE_PASSWORD"], int(sys.argv[4]), sys.argv[5])

def check(name, ok, detail):
    print("CHECK %s %s %s" % (name, "OK" if ok else "FAIL", detail))

def fields(raw):
    """header block -> list of (lower name, unfolded value); ignore line ends"""
    text = raw.replace(b"\r", b"").decode("utf-8", "replace")
    out = []
    for line in text.split("\n"):
        if line == "":
            if out:
                break
            continue
        if line[0] in " \t" and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + line.strip())
        elif ":" in line:
            n, v = line.split(":", 1)
            out.append((n.strip().lower(), v.strip()))
        else:
            out.append(("<no-colon>", line))
    return out

def imap_view():
    m = imaplib.IMAP4(host, iport)
    m.login(user, pw)
    typ, d = m.select("INBOX", readonly=True)
    n = int(d[0])
    msgs = []
    if n:
        typ, d = m.fetch("1:*", "(UID RFC822.SIZE BODY.PEEK[HEADER])")
        for x in d:
            if isinstance(x, tuple):
                meta = x[0].decode()
                msgs.append((int(re.search(r"UID (\d+)", meta).group(1)),
                             int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1)), x[1]))
    m.logout()
    return n, msgs

def pop3_view(top=True):
    p = poplib.POP3(host, pport, timeout=60)
    p.user(user)
    p.pass_(pw)
    sizes = [int(l.split()[1]) for l in p.list()[1]]
    uidls = [l.decode().split(None, 1)[1] for l in p.uidl()[1]]
    tops = []
    if top:
        for i in range(1, len(sizes) + 1):
            r = p._longcmd("TOP %d 0" % i)
            tops.append(b"\r\n".join(r[1]) + b"\r\n")
    p.quit()
    return sizes, uidls, tops

def pop3_uidls_no_quit():
    """a session that ends without QUIT, as Dovecot's pop3c does when it deleted nothing"""
    p = poplib.POP3(host, pport, timeout=60)
    p.user(user)
    p.pass_(pw)
    u = [l.decode().split(None, 1)[1] for l in p.uidl()[1]]
    p.sock.close()
    return u

n, imsgs = imap_view()
uidls0 = pop3_uidls_no_quit()
time.sleep(1.1)
check("imap-count", n == expect and len(imsgs) == expect, "%d messages (expected %d)" % (n, expect))
sizes, uidls, tops = pop3_view()
check("pop3-uidl-count", len(uidls) == expect, "%d UIDLs (expected %d)" % (len(uidls), expect))
bad = [u for u in uidls if not re.fullmatch(uidl_re, u)]
check("uidl-format", not bad and uidls != [], "all match %s%s" % (uidl_re, (", not: %r" % bad[:3]) if bad else ""))
check("uidl-unique", len(set(uidls)) == len(uidls), "%d distinct" % len(set(uidls)))
print("INFO uidl-example 1 %s" % (uidls[0] if uidls else "-"))
nchg = sum(1 for a, b in zip(uidls0, uidls) if a != b)
print("INFO uidls-changed-after-a-session-without-QUIT %d/%d%s" % (nchg, len(uidls),
      (" (first %s -> %s)" % next((a, b) for a, b in zip(uidls0, uidls) if a != b)) if nchg else ""))
with open(sys.argv[6], "w") as f:
    f.write("".join("%d %s\n" % (i, u) for i, u in enumerate(uidls, 1)))
print("INFO imap-uids %s" % ",".join(str(u) for u, _, _ in imsgs[:5]))

# header / size differences, paired by position
same = 0
only_pop = Counter(); only_imap = Counter(); changed = Counter(); examples = []
size_diff = []
for i, ((uid, isize, ihdr), psize, phdr) in enumerate(zip(imsgs, sizes, tops), 1):
    if isize != psize:
        size_diff.append("%d:imap=%d,pop3=%d" % (i, isize, psize))
    if ihdr.replace(b"\r", b"").rstrip(b"\n") == phdr.replace(b"\r", b"").rstrip(b"\n") and ihdr == phdr:
        same += 1
        continue
    fi, fp = fields(ihdr), fields(phdr)
    ci, cp = Counter(fi), Counter(fp)
    ni = Counter(k for k, _ in fi); np_ = Counter(k for k, _ in fp)
    for k in set(np_) - set(ni): only_pop[k] += 1
    for k in set(ni) - set(np_): only_imap[k] += 1
    for k in set(ni) & set(np_):
        if sorted(v for kk, v in fi if kk == k) != sorted(v for kk, v in fp if kk == k):
            changed[k] += 1
    if ci == cp:
        changed["<line endings/termination only>"] += 1
    if len(examples) < 3:
        examples.append((i, ihdr[:400], phdr[:400]))
print("INFO headers-identical %d/%d" % (same, len(imsgs)))
if only_pop: print("INFO headers-only-in-pop3 %s" % dict(only_pop))
if only_imap: print("INFO headers-only-in-imap %s" % dict(only_imap))
if changed: print("INFO headers-changed %s" % dict(changed))
for i, a, b in examples:
    print("INFO example msg %d IMAP %r" % (i, a))
    print("INFO example msg %d POP3 %r" % (i, b))
print("INFO size-differences %d/%d %s" % (len(size_diff), len(imsgs), " ".join(size_diff[:5])))

# second session: UIDLs must not change; did POP3 rewrite what IMAP sees?
sizes2, uidls2, _ = pop3_view(top=False)
check("uidl-stable", uidls2 == uidls, "second POP3 session gives the same list" if uidls2 == uidls
      else "first %r second %r" % (uidls[:2], uidls2[:2]))
n2, imsgs2 = imap_view()
chg = [i for i, (a, b) in enumerate(zip(imsgs, imsgs2), 1) if a[2] != b[2]]
print("INFO imap-headers-changed-after-pop3-session %d/%d" % (len(chg), len(imsgs)))
if chg:
    a, b = Counter(k for k, _ in fields(imsgs[chg[0]-1][2])), Counter(k for k, _ in fields(imsgs2[chg[0]-1][2]))
    print("INFO imap-headers-added-after-pop3-session %s" % dict(b - a))
EOF

# probe NAME IMAP_PORT POP3_PORT LOGIN PASSWORD UIDL_REGEX
probe() {
	local name=$1 iport=$2 pport=$3 login=$4 pw=$5 re=$6 out line st
	out=$(PROBE_PASSWORD=$pw timeout 120 python3 "$LAB/nd-probe.py" "$iport" "$pport" "$login" "$count" "$re" \
		"$LAB/uidls-$name" 2>&1)
	st=$?
	while IFS= read -r line; do
		case $line in
		"CHECK "*)
			# shellcheck disable=SC2086
			set -- $line
			if [ "$3" = OK ]; then
				ok "$name-$2 (${line#"CHECK $2 OK "})"
			else
				fail "$LAB_TEST_NAME" "$name-$2: ${line#"CHECK $2 FAIL "}"
			fi
			;;
		"INFO "*) finding "$name: ${line#INFO }" ;;
		*) echo "  $name probe: $line" ;;
		esac
	done <<<"$out"
	[ "$st" -eq 0 ] || fail "$LAB_TEST_NAME" "$name-probe: probe exited $st"
	return "$st"
}

# --------------------------------------------------------------------------
# Dovecot side: doveadm backup -R imapc: into an sdbox, standalone (no running
# Dovecot; base_dir is empty so that pop3c resolves pop3c_host itself instead
# of asking base_dir/dns-client), run as the mail user.

# dst_conf DIR IMAP_PORT POP3_PORT LOGIN PASSWORD LIST_PREFIX: writes DIR/dovecot.conf
dst_conf() {
	local d=$1 iport=$2 pport=$3 login=$4 pw=$5 prefix=$6
	rm -rf "$d"
	mkdir -p "$d/home"
	# 2.3 syntax; lib.sh's lab__conf24 rewrites it on Dovecot 2.4
	{
	lab__version_conf
	cat <<EOF
base_dir =
state_dir = $d/state
log_path = /dev/stderr
ssl = no
mail_uid = $LAB_MAIL_USER
mail_gid = $LAB_MAIL_USER
mail_home = $d/home/%u
mail_location = sdbox:~/mail
namespace inbox {
  separator = /
  inbox = yes
}
imapc_host = 127.0.0.1
imapc_port = $iport
imapc_user = $login
imapc_password = $pw
imapc_features = rfc822.size
imapc_list_prefix = $prefix
imapc_cmd_timeout = 10s
pop3c_host = 127.0.0.1
pop3c_port = $pport
pop3c_user = $login
pop3c_password = $pw
namespace pop3c {
  prefix = POP3-MIGRATION-NS/
  separator = /
  location = pop3c:
  list = no
  hidden = yes
}
dsync_features = empty-header-workaround
plugin {
  pop3_migration_mailbox = POP3-MIGRATION-NS/INBOX
}
EOF
	} | lab__conf24 >"$d/dovecot.conf"
	chmod 0644 "$d/dovecot.conf"
	chown -R "$LAB_MAIL_USER:" "$d"
}

# as_mail DIR CMD...: CMD as the mail user, doveadm's user "migrated" (home under DIR)
# The user is $USER without a userdb lookup (there is no auth service): implicit on
# Dovecot 2.3, while 2.4's mail commands insist on -u/-A/-F or --no-userdb-lookup
# ($nouserdb, given after the command name).
nouserdb=()
[ "$LAB_DOVECOT" = 2.4 ] && nouserdb=(--no-userdb-lookup)
as_mail() {
	local d=$1
	shift
	(cd / && env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin USER=migrated HOME="$d/home/migrated" \
		setpriv --reuid="$LAB_MAIL_USER" --regid="$LAB_MAIL_USER" --clear-groups "$@")
}

inbox_count() {
	as_mail "$1" doveadm -c "$1/dovecot.conf" -f flow mailbox status "${nouserdb[@]}" messages INBOX 2>>"$1/doveadm.err" |
		sed -n 's/.*messages=\([0-9]*\).*/\1/p'
}

# dsync_check NAME IMAP_PORT POP3_PORT LOGIN PASSWORD LIST_PREFIX: plain imapc copy
dsync_check() {
	local name=$1 d=$LAB/dst-$1 rc=0 n
	dst_conf "$d" "$2" "$3" "$4" "$5" "$6"
	as_mail "$d" timeout 300 doveadm -c "$d/dovecot.conf" backup "${nouserdb[@]}" -R imapc: >"$d/backup.log" 2>&1 || rc=$?
	n=$(inbox_count "$d")
	if [ "$rc" -eq 0 ] && [ "${n:-0}" -eq "$count" ]; then
		ok "$name-dsync-imapc ($n/$count messages in the sdbox)"
	else
		fail "$LAB_TEST_NAME" "$name-dsync-imapc: doveadm backup -R imapc: exit $rc, INBOX ${n:-?}/$count: $(grep -E 'Error|Panic|Fatal' "$d/backup.log" | head -n 3 | tr '\n' ' ')"
	fi
}

# pop3mig_finding NAME IMAP_PORT POP3_PORT LOGIN PASSWORD LIST_PREFIX: the built-in
# pop3_migration plugin on an account nobody has read over POP3 yet; then compare
# the UIDLs it stored with what the server's POP3 says afterwards. Findings only.
pop3mig_finding() {
	local name=$1 d=$LAB/dst-$1-pop3mig rc=0 n same total expect=${7:-$count}
	dst_conf "$d" "$2" "$3" "$4" "$5" "$6"
	as_mail "$d" timeout 300 doveadm -c "$d/dovecot.conf" -o mail_plugins=pop3_migration \
		backup "${nouserdb[@]}" -R imapc: >"$d/backup.log" 2>&1 || rc=$?
	n=$(inbox_count "$d")
	as_mail "$d" doveadm -c "$d/dovecot.conf" fetch "${nouserdb[@]}" 'uid pop3.uidl' mailbox INBOX all 2>/dev/null |
		awk '/^uid: /{u=$2} /^pop3.uidl:/{sub(/^pop3.uidl: ?/,""); print u, $0}' | sort -n |
		awk '{print NR, $2}' >"$d/dst-uidls"
	POP3_PASSWORD=$5 python3 -c '
import os, poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]), timeout=60)
p.user(sys.argv[2]); p.pass_(os.environ["POP3_PASSWORD"])
for l in p.uidl()[1]:
    print(l.decode())
p.quit()' "$3" "$4" >"$d/src-uidls" 2>/dev/null
	read -r same total < <(python3 -c '
import sys
a = [l.split(None, 1)[1] for l in open(sys.argv[1]).read().splitlines() if " " in l]
b = [l.split(None, 1)[1] if " " in l else "" for l in open(sys.argv[2]).read().splitlines()]
print(sum(1 for x, y in zip(a, b) if x == y), len(a))' "$d/src-uidls" "$d/dst-uidls")
	finding "$name: built-in pop3_migration on an account never read over POP3: exit $rc, INBOX ${n:-?}/$expect," \
		"${same:-?}/${total:-?} stored UIDLs equal the server's UIDL list read afterwards" \
		"(msg 1: stored '$(sed -n 's/^1 //p' "$d/dst-uidls")', server '$(sed -n 's/^1 //p' "$d/src-uidls")')"
	grep -E 'pop3_migration|Error|Panic' "$d/backup.log" | sed -E 's/^.*(Error|Warning|Panic): //' |
		sort | uniq -c | sort -rn | head -n 4 | sed "s/^/finding: $name:   /"
}

# --------------------------------------------------------------------------
run_courier() {
	local t1 t2 t3 t4
	t1=$(date +%s.%N)
	if ! lab_courier_fetch; then
		fail "$LAB_TEST_NAME" "courier-fetch: apt-get download / dpkg -x failed"
		return
	fi
	t2=$(date +%s.%N)
	lab_courier_user_add alice courier-pw || { fail "$LAB_TEST_NAME" "courier-user: lab_courier_user_add failed"; return; }
	lab_courier_user_add fresh courier-pw2 || { fail "$LAB_TEST_NAME" "courier-user: lab_courier_user_add failed"; return; }
	lab_courier_deliver alice "${corpus_files[@]}" || { fail "$LAB_TEST_NAME" "courier-deliver: copy failed"; return; }
	lab_courier_deliver fresh "${corpus_files[@]}" || { fail "$LAB_TEST_NAME" "courier-deliver: copy failed"; return; }
	mkdir -p "$LAB/quirks"
	local i
	for i in 1 2 3; do
		printf 'From: a@example.com\nTo: quirks@example.com\nSubject: same size %d\nMessage-ID: <q%d@example.com>\n\nbody %d\n' \
			"$i" "$i" "$i" >"$LAB/quirks/$i.eml"
	done
	printf 'From: a@example.com\nTo: quirks@example.com\nSubject: Gr\303\274\303\237e aus K\303\266ln\nMessage-ID: <u8@example.com>\n\nbody\n' >"$LAB/quirks/4.eml"
	printf 'From: a@example.com\r\nTo: quirks@example.com\r\nSubject: stored with CRLF\r\nMessage-ID: <crlf@example.com>\r\n\r\nbody\r\n' >"$LAB/quirks/5.eml"
	printf 'From: a@example.com\nTo: quirks@example.com\nSubject: no newline at the end\nMessage-ID: <nonl@example.com>\n\nbody' >"$LAB/quirks/6.eml"
	lab_courier_user_add quirks courier-pw3 &&
		lab_courier_deliver quirks "$LAB"/quirks/{1,2,3,4,5,6}.eml || { fail "$LAB_TEST_NAME" "courier-deliver: quirks"; return; }
	t3=$(date +%s.%N)
	if ! lab_courier_start; then
		fail "$LAB_TEST_NAME" "courier-start: see $COURIER_LOG"
		return
	fi
	t4=$(date +%s.%N)
	ok "courier-start (imap $COURIER_IMAP_PORT, pop3 $COURIER_POP3_PORT)"
	finding "courier: fetch $(python3 -c "print(round($t2-$t1,2))")s, start $(python3 -c "print(round($t4-$t3,2))")s"
	probe courier "$COURIER_IMAP_PORT" "$COURIER_POP3_PORT" alice courier-pw 'UID[0-9]+-[0-9]+' &&
		dsync_check courier "$COURIER_IMAP_PORT" "$COURIER_POP3_PORT" alice courier-pw INBOX
	pop3mig_finding courier "$COURIER_IMAP_PORT" "$COURIER_POP3_PORT" fresh courier-pw2 INBOX
	# Courier quirks: three same-size messages (the built-in plugin must hash
	# headers), a raw UTF-8 header (Courier's POP3 sends a "Cannot display
	# Unicode content" wrapper instead) and a CRLF file (IMAP header lines end
	# in CR CR LF, TOP n 0 sends the whole message)
	pop3mig_finding courier-quirks "$COURIER_IMAP_PORT" "$COURIER_POP3_PORT" quirks courier-pw3 INBOX 6
	lab_courier_stop
}

run_mailutils() {
	local fmt=$1 user=mu$1 pw=mu-pw name=mailutils-$1 f
	if ! lab_mailutils_fetch; then
		fail "$LAB_TEST_NAME" "$name-fetch: mailutils-imap4d/-pop3d not installable"
		return
	fi
	lab_mailutils_user_add "$user" "$pw" "$fmt" || { fail "$LAB_TEST_NAME" "$name-user: user_add failed"; return; }
	lab_mailutils_user_add "fresh$fmt" "$pw" "$fmt" || { fail "$LAB_TEST_NAME" "$name-user: user_add failed"; return; }
	lab_mailutils_deliver "$user" "${corpus_files[@]}" || { fail "$LAB_TEST_NAME" "$name-deliver: deliver failed"; return; }
	lab_mailutils_deliver "fresh$fmt" "${corpus_files[@]}" || { fail "$LAB_TEST_NAME" "$name-deliver: deliver failed"; return; }
	if ! lab_mailutils_start "$fmt"; then
		fail "$LAB_TEST_NAME" "$name-start: see $MU_LOG"
		return
	fi
	ok "$name-start (imap $MU_IMAP_PORT, pop3 $MU_POP3_PORT)"
	probe "$name" "$MU_IMAP_PORT" "$MU_POP3_PORT" "$(lab_mailutils_login "$user")" "$pw" \
		'[0-9a-f]{32}\.[0-9]+\.[0-9]+' &&
		dsync_check "$name" "$MU_IMAP_PORT" "$MU_POP3_PORT" "$(lab_mailutils_login "$user")" "$pw" ""
	pop3mig_finding "$name" "$MU_IMAP_PORT" "$MU_POP3_PORT" "$(lab_mailutils_login "fresh$fmt")" "$pw" ""
	lab_mailutils_stop
}

for s in $servers; do
	case $s in
	courier) run_courier ;;
	mailutils-maildir) run_mailutils maildir ;;
	mailutils-mbox) run_mailutils mbox ;;
	*) fail "$LAB_TEST_NAME" "unknown server $s" ;;
	esac
done

lab_courier_stop
lab_mailutils_stop
echo "t-020 done in $((SECONDS - t0))s"
echo "$nok ok, $LAB_FAILS failed"
[ "$LAB_FAILS" -eq 0 ] && pass "$LAB_TEST_NAME"
