#!/usr/bin/env python3
"""mailcmp.py - compare one user's mail on two IMAP servers.

    MAILCMP_LOGIN=user*master MAILCMP_PASSWORD=... \\
        mailcmp.py SRC_PORT DST_PORT [--exclude PREFIX ...] [--dst-prefix P]

Logs in to both servers on 127.0.0.1 (the password comes from the
environment, never argv), lists every selectable folder and reads every
message: SHA-256 of BODY[] (header and body as served), flags and keywords
(\\Recent ignored).  Per folder the two sides must hold the same multiset of
(hash, flags): same count, nothing lost, nothing twice.

Prints one line
    identical folders=F messages=M
or
    differ folders=F messages=M lost=L extra=X dup=D flags=G
followed by up to 20 lines naming what differs.  Exit 0 if identical.
"""

import argparse
import collections
import hashlib
import imaplib
import os
import re
import sys

LIST_RE = re.compile(rb'\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.*)$')
FETCH_RE = re.compile(rb'FLAGS \((?P<flags>[^)]*)\)')


def unquote(name):
    if name.startswith(b'"') and name.endswith(b'"'):
        name = name[1:-1].replace(b'\\"', b'"').replace(b'\\\\', b'\\')
    return name.decode("latin-1")


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --eol: line ends compared as LF. Courier serves a message stored with
# CRLF line ends with CR CR LF; Dovecot stores what it was given as CRLF.
NORMALIZE_EOL = False


def read_user(port, login, password, excludes):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login(login, password)
    typ, lines = imap.list('""', "*")
    if typ != "OK":
        sys.exit("LIST failed on port %d" % port)
    folders = {}
    for line in lines:
        if isinstance(line, tuple):
            # a literal folder name
            m = LIST_RE.match(line[0])
            name = line[1].decode("latin-1")
            flags = m.group("flags") if m else b""
        else:
            m = LIST_RE.match(line)
            if not m:
                continue
            name = unquote(m.group("name"))
            flags = m.group("flags")
        if b"\\Noselect" in flags or b"\\NonExistent" in flags:
            continue
        if any(name.startswith(p) for p in excludes):
            continue
        folders[name] = read_folder(imap, name)
    imap.logout()
    return folders


def read_folder(imap, name):
    typ, data = imap.select(quote(name), readonly=True)
    if typ != "OK":
        sys.exit("SELECT %s failed: %s" % (name, data))
    msgs = collections.Counter()
    if int(data[0]) == 0:
        return msgs
    # in slices: a big folder must not be one huge response in memory
    typ, data = imap.uid("SEARCH", None, "ALL")
    uids = data[0].split()
    for i in range(0, len(uids), 500):
        part = b",".join(uids[i:i + 500]).decode()
        typ, data = imap.uid("FETCH", part, "(FLAGS BODY.PEEK[])")
        if typ != "OK":
            sys.exit("FETCH in %s failed" % name)
        for item in data:
            if not isinstance(item, tuple):
                continue
            m = FETCH_RE.search(item[0])
            flags = m.group("flags").split() if m else []
            flags = sorted(f.decode() for f in flags if f != b"\\Recent")
            body = item[1]
            if NORMALIZE_EOL:
                body = re.sub(rb"\r+\n", b"\n", body)
            digest = hashlib.sha256(body).hexdigest()[:16]
            msgs[(digest, " ".join(flags))] += 1
    return msgs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src_port", type=int)
    ap.add_argument("dst_port", type=int)
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--dst-prefix", default="",
                    help="compare only the destination's folders under "
                    "this prefix (migrate run --folder-prefix), without it")
    ap.add_argument("--eol", action="store_true",
                    help="compare line ends as LF (Courier adds a CR to "
                    "messages stored with CRLF)")
    args = ap.parse_args()
    global NORMALIZE_EOL
    NORMALIZE_EOL = args.eol
    login = os.environ["MAILCMP_LOGIN"]
    password = os.environ["MAILCMP_PASSWORD"]
    src = read_user(args.src_port, login, password, args.exclude)
    dst = read_user(args.dst_port, login, password, args.exclude)
    if args.dst_prefix:
        dst = {name[len(args.dst_prefix):]: mails
               for name, mails in dst.items()
               if name.startswith(args.dst_prefix)}

    return report(src, dst)


def report(src, dst):
    """Print the "identical ..." or "differ ..." lines for compare(src,
    dst); returns the exit code (0 if identical)."""
    lost, extra, dup, flags, notes = compare(src, dst)
    total = sum(sum(c.values()) for c in src.values())
    if lost == extra == dup == flags == 0:
        print("identical folders=%d messages=%d" % (len(src), total))
        return 0
    print("differ folders=%d messages=%d lost=%d extra=%d dup=%d flags=%d" %
          (len(src), total, lost, extra, dup, flags))
    for n in notes[:20]:
        print("  " + n)
    return 1


def compare(src, dst):
    """src, dst: {folder: Counter((hash, flags))}. Returns (lost, extra,
    dup, flags, notes): what dst lacks, has besides, has more often, and
    has with other flags."""
    lost = extra = dup = flags = 0
    notes = []
    for name in sorted(set(src) | set(dst)):
        a = src.get(name)
        b = dst.get(name)
        if a is None or b is None:
            notes.append("folder %r only on %s" %
                         (name, "source" if b is None else "destination"))
            lost += sum((a or {}).values())
            extra += sum((b or {}).values())
            continue
        # the same message with other flags counts as a flag difference
        by_hash_a = collections.Counter()
        by_hash_b = collections.Counter()
        for (h, _), n in a.items():
            by_hash_a[h] += n
        for (h, _), n in b.items():
            by_hash_b[h] += n
        for h in set(by_hash_a) | set(by_hash_b):
            na, nb = by_hash_a[h], by_hash_b[h]
            if na > nb:
                lost += na - nb
                notes.append("%s: message %s lost (%d/%d)" % (name, h, nb, na))
            elif nb > na:
                if na > 0:
                    dup += nb - na
                    notes.append("%s: message %s twice (%d/%d)" %
                                 (name, h, nb, na))
                else:
                    extra += nb
                    notes.append("%s: message %s not on the source" %
                                 (name, h))
        for key in set(a) | set(b):
            if by_hash_a[key[0]] == by_hash_b[key[0]] and a[key] != b[key]:
                flags += abs(a[key] - b[key])
                notes.append("%s: message %s flags '%s' %d/%d" %
                             (name, key[0], key[1], b[key], a[key]))
    return lost, extra, dup, flags, notes


if __name__ == "__main__":
    sys.exit(main())
