#!/usr/bin/env python3
"""Make a POP3 view of a maildir that differs from the IMAP view the way
real servers' do: copy every message (same file names, so the same order)
and add or rewrite header lines as a POP3 server or a delivery filter would.

  rewrite-maildir.py SRC_MAILDIR DST_MAILDIR [--seed N] [--drop K] [--extra K]

Per message (deterministic from the seed):
  - always: "Status: RO" and "X-UIDL: <hash>" added on top (mbox-style POP3)
  - 1 in 3: "X-Status: " added, Return-Path rewritten (Yahoo/Exchange style)
  - 1 in 5: an "X-Spam-Flag: NO" / "X-Spam-Score: ..." header pair added, which
    no ignore list knows about, so the header hash differs
--drop K removes K messages from the copy (IMAP has them, POP3 doesn't);
--extra K adds K new messages to the copy only (POP3 has them, IMAP doesn't).
"""
import argparse
import hashlib
import os
import random
import re

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("dst")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--drop", type=int, default=0)
ap.add_argument("--extra", type=int, default=0)
ap.add_argument("--uid", type=int, default=-1)
ap.add_argument("--gid", type=int, default=-1)
args = ap.parse_args()
rnd = random.Random(args.seed)

os.makedirs(args.dst, exist_ok=True)
for sub in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(args.dst, sub), exist_ok=True)

files = []
for sub in ("cur", "new"):
    for name in os.listdir(os.path.join(args.src, sub)):
        files.append((sub, name))
files.sort(key=lambda f: f[1])
drop = set(rnd.sample(range(len(files)), min(args.drop, len(files))))


def rewrite(data, i):
    nl = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    head, sep, body = data.partition(nl + nl)
    lines = head.split(nl)
    digest = hashlib.sha1(data).hexdigest()[:20]
    top = [b"Status: RO", b"X-UIDL: " + digest.encode()]
    if i % 3 == 0:
        top.append(b"X-Status: ")
        lines = [b"Return-Path: <bounce-%d@old-server.example>" % i
                 if l.lower().startswith(b"return-path:") else l
                 for l in lines]
    if i % 5 == 0:
        lines.append(b"X-Spam-Flag: NO")
        lines.append(b"X-Spam-Score: -%d.%d" % (rnd.randint(0, 5), rnd.randint(0, 9)))
    return nl.join(top + lines) + sep + body


for i, (sub, name) in enumerate(files):
    if i in drop:
        continue
    with open(os.path.join(args.src, sub, name), "rb") as f:
        data = f.read()
    # drop the S=/W= sizes from the name: they describe the original file
    # and Dovecot would report them as the (now wrong) POP3 LIST size
    name = re.sub(r",[SW]=[0-9]+", "", name)
    path = os.path.join(args.dst, sub, name)
    with open(path, "wb") as f:
        f.write(rewrite(data, i))
    if args.uid >= 0:
        os.chown(path, args.uid, args.gid)

for k in range(args.extra):
    name = "1999999999.M%06dP1.pop3only:2," % k
    msg = ("From: pop3-only-%d@example.net\r\nTo: user@example.com\r\n"
           "Subject: only on the POP3 side %d\r\n"
           "Message-ID: <pop3-only-%d@example.net>\r\n\r\n"
           "This message was delivered to the POP3 spool only.\r\n" % (k, k, k))
    path = os.path.join(args.dst, "cur", name)
    with open(path, "w") as f:
        f.write(msg)
    if args.uid >= 0:
        os.chown(path, args.uid, args.gid)
if args.uid >= 0:
    for root, dirs, _ in os.walk(args.dst):
        for d in dirs + ["."]:
            os.chown(os.path.join(root, d), args.uid, args.gid)
