#!/usr/bin/env python3
"""A minimal IMAP server for imapc: one user, INBOX with one message whose
FETCH FLAGS contain a NUL byte (the payload is configurable).
usage: fake-imap.py PORT [FLAGS-BYTES-AS-PYTHON-LITERAL]
With EMPTY_HDR=1 in the environment, BODY[HEADER.FIELDS (...)] is answered
with an empty header (as a server that sees the header end early does) while
BODY[] has the full message.
Logs every line it gets and sends to stderr."""
import os, socket, sys, threading, re
EMPTY_HDR = os.environ.get("EMPTY_HDR") == "1"

PORT = int(sys.argv[1])
FLAGS = eval(sys.argv[2]) if len(sys.argv) > 2 else b"\\Seen \x00foo"
MSG = (b"From: a@example.org\r\nTo: u1@example.com\r\nSubject: nul flags\r\n"
       b"Date: Mon, 2 Jan 2023 10:00:00 +0000\r\nMessage-ID: <nul@lab24>\r\n\r\nbody\r\n")
CAPS = b"IMAP4rev1 LITERAL+ UIDPLUS AUTH=PLAIN SASL-IR"

def log(d, line):
    sys.stderr.write("%s %r\n" % (d, line)); sys.stderr.flush()

def serve(c):
    f = c.makefile("rb")
    def send(b):
        log("S:", b); c.sendall(b + b"\r\n")
    send(b"* OK [CAPABILITY " + CAPS + b"] fake ready")
    selected = False
    while True:
        line = f.readline()
        if not line:
            break
        log("C:", line)
        line = line.rstrip(b"\r\n")
        m = re.match(rb"(\S+) (?:UID )?(\S+)", line)
        if not m:
            continue
        tag, cmd = m.group(1), m.group(2).upper()
        uid = b" UID " in line.upper()[:len(tag) + 6]
        if cmd == b"CAPABILITY":
            send(b"* CAPABILITY " + CAPS)
        elif cmd in (b"LOGIN", b"AUTHENTICATE"):
            send(tag + b" OK [CAPABILITY " + CAPS + b"] logged in")
            continue
        elif cmd == b"NAMESPACE":
            send(b'* NAMESPACE (("" "/")) NIL NIL')
        elif cmd in (b"LIST", b"LSUB"):
            if b'""' in line and line.rstrip().endswith(b'""'):
                send(b'* %s (\\Noselect) "/" ""' % cmd)
            else:
                send(b'* %s (\\HasNoChildren) "/" INBOX' % cmd)
        elif cmd == b"STATUS":
            send(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 1234 UNSEEN 0)")
        elif cmd in (b"SELECT", b"EXAMINE"):
            selected = True
            send(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)")
            send(b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] ok")
            send(b"* 1 EXISTS")
            send(b"* 0 RECENT")
            send(b"* OK [UIDVALIDITY 1234] ok")
            send(b"* OK [UIDNEXT 2] ok")
        elif cmd == b"FETCH":
            items = []
            up = line.upper()
            items.append(b"UID 1")
            if b"FLAGS" in up:
                items.append(b"FLAGS (" + FLAGS + b")")
            if b"RFC822.SIZE" in up:
                items.append(b"RFC822.SIZE %d" % len(MSG))
            if b"INTERNALDATE" in up:
                items.append(b'INTERNALDATE "02-Jan-2023 10:00:00 +0000"')
            if b"BODY.PEEK[HEADER.FIELDS" in up or b"BODY[HEADER.FIELDS" in up:
                hm = re.search(rb"(BODY(?:\.PEEK)?\[HEADER\.FIELDS \(([^)]*)\)\])", line, re.I)
                want = [w.lower() for w in hm.group(2).split()]
                hdr = b"".join(l + b"\r\n" for l in MSG.split(b"\r\n\r\n")[0].split(b"\r\n")
                               if l.split(b":")[0].lower() in want) + b"\r\n"
                if EMPTY_HDR:
                    hdr = b"\r\n"
                items.append(b"BODY[HEADER.FIELDS (" + hm.group(2) + b")] {%d}\r\n" % len(hdr) + hdr)
            elif b"BODY.PEEK[HEADER]" in up or b"BODY[HEADER]" in up:
                hdr = MSG.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                if EMPTY_HDR:
                    hdr = b"\r\n"
                items.append(b"BODY[HEADER] {%d}\r\n" % len(hdr) + hdr)
            if b"BODY.PEEK[]" in up or b"BODY[]" in up or b"RFC822 " in up or up.endswith(b"RFC822)"):
                items.append(b"BODY[] {%d}\r\n" % len(MSG) + MSG)
            send(b"* 1 FETCH (" + b" ".join(items) + b")")
        elif cmd == b"SEARCH":
            send(b"* SEARCH 1")
        elif cmd == b"LOGOUT":
            send(b"* BYE bye")
            send(tag + b" OK done")
            break
        send(tag + b" OK done")
    c.close()

s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", PORT)); s.listen(5)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
