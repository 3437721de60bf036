#!/usr/bin/env python3
"""Deterministic, realistic RFC 5322 corpus generator for the integration lab.

    gen-corpus.py --count N --seed S --out MAILDIR [--uid U --gid G]
                  [--manifest FILE] [--quiet]

Writes N messages into the Maildir MAILDIR (creating tmp/ new/ cur/), each
written to tmp/ first and renamed into new/ or cur/, so a running Dovecot
never sees a partial file.  The same seed always gives the same messages
(byte for byte) in the same order.

File names start with a timestamp that increases by one second per message,
continuing after the newest file already in the Maildir, so Dovecot's maildir
sync (which sorts new files by that timestamp) assigns UIDs in generation
order, also when the generator is run again later to add more mail.  File
names carry correct ,S= (physical) and ,W= (virtual, CRLF) sizes.

The mix (all drawn from the seed):
  * sizes 1 KB - 200 KB, mostly small, a few large
  * text/plain, multipart/alternative (text + HTML), multipart/mixed with
    base64 attachments, quoted-printable 8-bit bodies
  * exact duplicates (same bytes, same Message-ID), often adjacent
  * duplicates with identical headers but a different body (some with the
    same size, some not)
  * no Message-ID, no Date
  * LF (most), CRLF and mixed LF/CRLF line endings
  * long folded headers: Received chains, Subject, To/Cc, References
  * raw 8-bit UTF-8 subjects and encoded-word (B and Q) subjects
  * odd ones: empty body, header-only message without the blank line

--manifest writes one JSON object per message (index, file, size, vsize,
message_id, tags) for tests that need to know what was generated.
"""

import argparse
import base64
import binascii
import json
import os
import random
import sys
import time

WORDS = (
    "the of and to in is for on that with as this by be are from at or an it "
    "not have was will can all has more but which their about if one other "
    "new some there when what your were also time up than been only its into "
    "over after any these two may first would should could made such where "
    "report meeting budget quarter invoice project release server mailbox "
    "migration customer order shipment schedule review draft attached please "
    "thanks regards update status weekly monthly account payment delivery "
    "network storage backup archive folder message support ticket request "
    "issue change approval contract offer price discount holiday office "
    "team manager agenda minutes summary proposal deadline tomorrow today "
    "friday monday morning afternoon evening conference call video room "
    "plan figures numbers spreadsheet document presentation slides version "
    "final revised comments feedback question answer problem solution test "
    "production staging database cluster upgrade maintenance window outage "
    "notice reminder confirm cancel reschedule travel hotel flight booking "
    "receipt statement balance transfer reference number code password login"
).split()

UTF8_WORDS = (
    "café naïve façade jalapeño über straße smörgåsbord crème brûlée "
    "résumé Zürich Ångström Ελληνικά русский 日本語 中文 한국어 déjà vu "
    "Müller Łódź Þórsmörk piñata coöperate"
).split()

FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory "
         "Niaj Olivia Peggy Rupert Sybil Trent Victor Walter Zoe Jürgen "
         "Åsa François Zoë").split()
LAST = ("Smith Jones Brown Miller Davis Garcia Wilson Moore Taylor Anderson "
        "Thomas Jackson White Harris Martin Thompson Müller Öberg Lefèvre "
        "Kowalski").split()
DOMAINS = ("example.com example.net example.org mail.example.com "
           "corp.example.net lists.example.org customer.example").split()
MAILERS = ("Mozilla Thunderbird 102.8.0", "Microsoft Outlook 16.0",
           "Apple Mail (2.3654.120.0.1.13)", "Roundcube Webmail/1.6.1",
           "Evolution 3.46.4", "mutt/2.2.9", "K-9 Mail for Android")
TZS = ("+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900", "-0300")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
          "Oct", "Nov", "Dec")
ATTACH_TYPES = (("application/pdf", "pdf"), ("image/jpeg", "jpg"),
                ("image/png", "png"), ("application/zip", "zip"),
                ("application/vnd.openxmlformats-officedocument."
                 "spreadsheetml.sheet", "xlsx"),
                ("application/octet-stream", "bin"))

# first filename timestamp used for an empty Maildir (2023-11-14)
FNAME_TIME_BASE = 1700000000
# Date: header clock for seed 0 (2020-01-01 00:00:00 UTC)
DATE_BASE = 1577836800


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seed = seed
        self.clock = DATE_BASE + (seed % 1000) * 86400 * 7
        self._build_pool()

    # -- text ------------------------------------------------------------
    def _build_pool(self):
        """One shared block of wrapped prose; bodies are slices of it."""
        rng = random.Random(self.seed * 7 + 1)
        lines = []
        total = 0
        line = []
        width = 0
        while total < 600000:
            w = rng.choice(WORDS)
            if width + len(w) + 1 > rng.randint(60, 74):
                s = " ".join(line)
                if rng.random() < 0.15:
                    s += "."
                lines.append(s)
                total += len(s) + 1
                if rng.random() < 0.12:
                    lines.append("")
                line, width = [], 0
            line.append(w)
            width += len(w) + 1
        self.pool_lines = lines

    def text(self, nbytes, utf8=False):
        rng = self.rng
        n = len(self.pool_lines)
        start = rng.randrange(n)
        out = []
        size = 0
        i = start
        while size < nbytes:
            s = self.pool_lines[i % n]
            if utf8 and s and rng.random() < 0.2:
                s = s + " " + rng.choice(UTF8_WORDS)
            out.append(s)
            size += len(s.encode("utf-8")) + 1
            i += 1
        return "\n".join(out) + "\n"

    def words(self, lo, hi, utf8=False):
        rng = self.rng
        ws = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
        if utf8:
            for _ in range(rng.randint(1, 3)):
                ws.insert(rng.randrange(len(ws) + 1), rng.choice(UTF8_WORDS))
        s = " ".join(ws)
        return s[:1].upper() + s[1:]

    # -- header pieces ---------------------------------------------------
    def person(self):
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = (first + "." + last).lower()
        local = local.encode("ascii", "ignore").decode() or "user"
        addr = "%s@%s" % (local, rng.choice(DOMAINS))
        name = "%s %s" % (first, last)
        r = rng.random()
        if r < 0.15:
            return addr
        if any(ord(c) > 127 for c in name):
            if r < 0.6:
                return "%s <%s>" % (self.encoded_word(name, "B"), addr)
            return '"%s" <%s>' % (name, addr)  # raw 8-bit display name
        return '"%s" <%s>' % (name, addr) if r < 0.5 else \
            "%s <%s>" % (name, addr)

    def date(self, when):
        tz = self.rng.choice(TZS)
        sign = 1 if tz[0] == "+" else -1
        off = sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
        t = time.gmtime(when + off)
        return "%s, %02d %s %04d %02d:%02d:%02d %s" % (
            DAYS[t.tm_wday], t.tm_mday, MONTHS[t.tm_mon - 1], t.tm_year,
            t.tm_hour, t.tm_min, t.tm_sec, tz)

    def msgid(self, idx):
        rng = self.rng
        return "<%08x.%x.%d@%s>" % (rng.getrandbits(32), self.seed, idx,
                                    rng.choice(DOMAINS))

    @staticmethod
    def encoded_word(s, enc):
        if enc == "B":
            return "=?UTF-8?B?%s?=" % base64.b64encode(
                s.encode("utf-8")).decode()
        try:
            b, charset = s.encode("iso-8859-1"), "ISO-8859-1"
        except UnicodeEncodeError:
            b, charset = s.encode("utf-8"), "UTF-8"
        q = binascii.b2a_qp(b, header=True).decode()
        q = q.replace("?", "=3F").replace("\t", "=09")
        return "=?%s?Q?%s?=" % (charset, q)

    @staticmethod
    def fold(name, value, width=76):
        """Fold a header at spaces so no line exceeds ~width."""
        out = []
        line = name + ":"
        for tok in value.split(" "):
            if len(line) + 1 + len(tok) > width and line.strip() and \
                    line != name + ":":
                out.append(line)
                line = "\t" + tok if len(out) % 2 else " " + tok
            else:
                line += " " + tok
        out.append(line)
        return "\n".join(out)

    def received(self, when, to_addr, hops):
        rng = self.rng
        res = []
        for h in range(hops):
            t = when - (hops - h) * rng.randint(1, 30)
            host = "mx%d.%s" % (rng.randint(1, 40), rng.choice(DOMAINS))
            ip = "192.0.2.%d" % rng.randint(1, 254)
            qid = "%010X" % rng.getrandbits(40)
            res.append(
                "Received: from %s (%s [%s])\n\tby mail%d.example.org "
                "(Postfix) with ESMTPS id %s\n\tfor <%s>; %s" % (
                    host, host, ip, rng.randint(1, 9), qid, to_addr,
                    self.date(t)))
        return res

    def subject(self, long_subject):
        rng = self.rng
        r = rng.random()
        if long_subject:
            s = self.words(25, 60)
            return self.fold("Subject", s)
        if r < 0.07:
            return "Subject: " + self.words(3, 8, utf8=True)  # raw 8-bit
        if r < 0.12:
            return self.fold("Subject", self.encoded_word(
                self.words(2, 6, utf8=True), "B"))
        if r < 0.16:
            return self.fold("Subject", self.encoded_word(
                self.words(2, 6, utf8=True), "Q"))
        if r < 0.19:
            # several encoded words in one folded header
            parts = [self.encoded_word(self.words(1, 3, utf8=True), "B")
                     for _ in range(rng.randint(2, 5))]
            return self.fold("Subject", " ".join(parts))
        prefix = rng.choice(("", "", "", "Re: ", "Fwd: ", "RE: ", "AW: "))
        return "Subject: " + prefix + self.words(2, 9)

    # -- bodies ----------------------------------------------------------
    def body_plain(self, nbytes, utf8):
        if utf8:
            raw = self.text(nbytes, utf8=True).encode("utf-8")
            if self.rng.random() < 0.5:
                qp = binascii.b2a_qp(raw).decode("ascii")
                return ("Content-Type: text/plain; charset=UTF-8\n"
                        "Content-Transfer-Encoding: quoted-printable",
                        qp)
            return ("Content-Type: text/plain; charset=UTF-8\n"
                    "Content-Transfer-Encoding: 8bit",
                    raw.decode("utf-8"))
        return ("Content-Type: text/plain; charset=us-ascii; format=flowed\n"
                "Content-Transfer-Encoding: 7bit",
                self.text(nbytes))

    def boundary(self):
        return "------------%024x" % self.rng.getrandbits(96)

    def body_alternative(self, nbytes):
        txt = self.text(max(200, nbytes // 3))
        paras = txt.split("\n\n")
        html = ("<html>\n<head><meta http-equiv=\"Content-Type\" "
                "content=\"text/html; charset=UTF-8\"></head>\n<body>\n" +
                "\n".join("<p>%s</p>" % p.replace("\n", "<br>\n")
                          for p in paras) +
                "\n</body>\n</html>\n")
        b = self.boundary()
        body = ("This is a multi-part message in MIME format.\n"
                "--%s\nContent-Type: text/plain; charset=UTF-8\n"
                "Content-Transfer-Encoding: 7bit\n\n%s\n"
                "--%s\nContent-Type: text/html; charset=UTF-8\n"
                "Content-Transfer-Encoding: 7bit\n\n%s\n--%s--\n" %
                (b, txt, b, html, b))
        return ('Content-Type: multipart/alternative;\n boundary="%s"' % b,
                body)

    def body_mixed(self, nbytes):
        rng = self.rng
        b = self.boundary()
        ctype, inner = (self.body_alternative(min(nbytes, 4000))
                        if rng.random() < 0.4 else
                        self.body_plain(rng.randint(300, 3000), False))
        parts = ["This is a multi-part message in MIME format.\n",
                 "--%s\n%s\n\n%s\n" % (b, ctype, inner)]
        remaining = max(1024, nbytes - len(inner))
        natt = 1 if remaining < 40000 or rng.random() < 0.6 else \
            rng.randint(2, 3)
        for a in range(natt):
            mime, ext = rng.choice(ATTACH_TYPES)
            raw = rng.randbytes(max(256, (remaining // natt) * 57 // 78))
            data = base64.encodebytes(raw).decode("ascii")
            fname = "%s-%d.%s" % (rng.choice(WORDS), rng.randint(1, 999), ext)
            parts.append(
                "--%s\nContent-Type: %s;\n name=\"%s\"\n"
                "Content-Disposition: attachment;\n filename=\"%s\"\n"
                "Content-Transfer-Encoding: base64\n\n%s\n" %
                (b, mime, fname, fname, data))
        parts.append("--%s--\n" % b)
        return ('Content-Type: multipart/mixed;\n boundary="%s"' % b,
                "".join(parts))

    # -- a whole message --------------------------------------------------
    def target_size(self):
        r = self.rng.random()
        if r < 0.72:
            return self.rng.randint(1024, 6 * 1024)
        if r < 0.90:
            return self.rng.randint(6 * 1024, 30 * 1024)
        if r < 0.98:
            return self.rng.randint(30 * 1024, 120 * 1024)
        return self.rng.randint(120 * 1024, 192 * 1024)

    def headers(self, idx, tags):
        rng = self.rng
        self.clock += rng.randint(30, 4 * 3600)
        when = self.clock
        sender = self.person()
        to = self.person()
        to_addr = to[to.find("<") + 1:-1] if "<" in to else to
        hdr = []
        hdr.append("Return-Path: <%s>" % (
            sender[sender.find("<") + 1:-1] if "<" in sender else sender))
        hdr.append("Delivered-To: %s" % to_addr)
        if rng.random() < 0.03:
            hops = rng.randint(15, 30)
            tags.append("long-received-chain")
        else:
            hops = rng.randint(1, 4)
        hdr.extend(self.received(when, to_addr, hops))
        if rng.random() < 0.03:
            tags.append("no-date")
        else:
            hdr.append("Date: " + self.date(when))
        hdr.append("From: " + sender)
        if rng.random() < 0.04:
            rcpts = ", ".join(self.person() for _ in
                              range(rng.randint(20, 60)))
            hdr.append(self.fold("To", rcpts))
            tags.append("long-to")
        else:
            hdr.append("To: " + to)
        if rng.random() < 0.2:
            hdr.append(self.fold("Cc", ", ".join(
                self.person() for _ in range(rng.randint(1, 6)))))
        long_subject = rng.random() < 0.03
        if long_subject:
            tags.append("long-subject")
        subj = self.subject(long_subject)
        if "=?" in subj:
            tags.append("encoded-subject")
        elif any(ord(c) > 127 for c in subj):
            tags.append("8bit-subject")
        hdr.append(subj)
        if rng.random() < 0.03:
            tags.append("no-message-id")
        else:
            hdr.append("Message-ID: " + self.msgid(idx))
        if rng.random() < 0.25:
            refs = [self.msgid(idx) for _ in range(rng.randint(1, 12))]
            hdr.append("In-Reply-To: " + refs[-1])
            hdr.append(self.fold("References", " ".join(refs)))
        if rng.random() < 0.6:
            hdr.append("User-Agent: " + rng.choice(MAILERS))
        if rng.random() < 0.1:
            hdr.append("X-Spam-Status: No, score=-%d.%d required=5.0 "
                       "tests=BAYES_00,DKIM_SIGNED,DKIM_VALID\n\t"
                       "autolearn=ham autolearn_force=no version=3.4.6" %
                       (rng.randint(0, 9), rng.randint(0, 9)))
        return hdr

    def body(self, size, tags):
        rng = self.rng
        r = rng.random()
        if size > 30 * 1024 or r < 0.12:
            tags.append("attachment")
            return self.body_mixed(size)
        if r < 0.40:
            tags.append("alternative")
            return self.body_alternative(size)
        utf8 = rng.random() < 0.15
        if utf8:
            tags.append("8bit-body")
        return self.body_plain(size, utf8)

    def message(self, idx):
        """Returns (text, tags) with LF line endings."""
        tags = []
        hdr = self.headers(idx, tags)
        r = self.rng.random()
        if r < 0.005:
            tags.append("header-only")
            return "\n".join(hdr) + "\n", tags
        if r < 0.010:
            tags.append("empty-body")
            return "\n".join(hdr) + "\n\n", tags
        size = self.target_size()
        ctype, body = self.body(size, tags)
        hdr.append("MIME-Version: 1.0")
        hdr.append(ctype)
        return "\n".join(hdr) + "\n\n" + body, tags

    def line_endings(self, data, tags):
        r = self.rng.random()
        if r < 0.70:
            return data
        if r < 0.95:
            tags.append("crlf")
            return data.replace(b"\n", b"\r\n")
        tags.append("mixed-eol")
        lines = data.split(b"\n")
        mode = self.rng.randrange(3)
        if mode == 0:
            # CRLF header, LF body
            end = lines.index(b"") if b"" in lines else len(lines)
            head = b"\r\n".join(lines[:end])
            rest = b"\n".join(lines[end:])
            return head + b"\r\n" + rest if end < len(lines) else head
        rnd = random.Random(self.rng.getrandbits(32))
        out = bytearray()
        for i, ln in enumerate(lines):
            out += ln
            if i < len(lines) - 1:
                out += b"\r\n" if rnd.random() < 0.5 else b"\n"
        return bytes(out)

    def mutate_same_size(self, data):
        """Change some body bytes without changing the size or headers."""
        sep = data.find(b"\n\n")
        if sep < 0:
            sep = data.find(b"\r\n\r\n")
        if sep < 0 or len(data) - sep < 8:
            return None
        b = bytearray(data)
        start = sep + 4
        for _ in range(8):
            p = self.rng.randrange(start, len(b))
            if 0x61 <= b[p] <= 0x7a:
                b[p] = 0x61 + (b[p] - 0x61 + 1) % 26
        return bytes(b) if bytes(b) != data else None


def existing_max_time(maildir):
    mx = 0
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(maildir, sub))
        except FileNotFoundError:
            continue
        for n in names:
            i = 0
            while i < len(n) and n[i].isdigit():
                i += 1
            if i:
                mx = max(mx, int(n[:i]))
    return mx


def ensure_dirs(maildir, uid, gid):
    made = []
    path = os.path.abspath(maildir)
    # create missing parents owned like the Maildir itself
    todo = []
    p = path
    while not os.path.isdir(p):
        todo.append(p)
        p = os.path.dirname(p)
    for d in reversed(todo):
        os.mkdir(d, 0o700)
        made.append(d)
    for sub in ("tmp", "new", "cur"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            os.mkdir(d, 0o700)
            made.append(d)
    base = os.path.basename(path)
    if base.startswith(".") and base not in (".", ".."):
        # a Maildir++ folder needs the marker file
        mf = os.path.join(path, "maildirfolder")
        if not os.path.exists(mf):
            open(mf, "w").close()
            made.append(mf)
    if uid is not None:
        for d in made:
            os.chown(d, uid, gid if gid is not None else -1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="Maildir directory")
    ap.add_argument("--uid", type=int)
    ap.add_argument("--gid", type=int)
    ap.add_argument("--manifest", help="write JSON lines here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()

    t0 = time.time()
    maildir = os.path.abspath(args.out)
    ensure_dirs(maildir, args.uid, args.gid)
    gen = Gen(args.seed)
    rng = gen.rng
    fname_time = max(FNAME_TIME_BASE, existing_max_time(maildir) + 1)
    recent = []          # (bytes, tags) of the last messages, for duplicates
    manifest = open(args.manifest, "a") if args.manifest else None
    tmpdir = os.path.join(maildir, "tmp")
    total = 0
    for idx in range(args.count):
        r = rng.random()
        data = None
        if recent and r < 0.02:
            # exact duplicate: same bytes, same Message-ID
            src = recent[-1] if rng.random() < 0.5 else rng.choice(recent)
            data, tags = src[0], [t for t in src[1] if t != "dup-header"]
            tags = tags + ["dup-exact"]
        elif recent and r < 0.03:
            # identical headers, different body
            src = recent[-1] if rng.random() < 0.5 else rng.choice(recent)
            if rng.random() < 0.5:
                data = gen.mutate_same_size(src[0])
                tags = ["dup-header", "same-size"]
            if data is None:
                sep = src[0].find(b"\n\n")
                crlf = src[0].find(b"\r\n\r\n")
                if crlf >= 0 and (sep < 0 or crlf < sep):
                    head, eol = src[0][:crlf + 4], b"\r\n"
                elif sep >= 0:
                    head, eol = src[0][:sep + 2], b"\n"
                else:
                    head, eol = src[0] + b"\n", b"\n"
                body = gen.text(rng.randint(200, 4000)).encode()
                if eol == b"\r\n":
                    body = body.replace(b"\n", b"\r\n")
                data, tags = head + body, ["dup-header"]
        if data is None:
            text, tags = gen.message(idx)
            data = gen.line_endings(text.encode("utf-8"), tags)
            recent.append((data, tags))
            if len(recent) > 50:
                recent.pop(0)
        size = len(data)
        vsize = size + data.count(b"\n") - data.count(b"\r\n")
        base = "%d.M%dP%dQ%d.dmlab" % (fname_time + idx, idx % 1000000,
                                        args.seed, idx)
        base += ",S=%d,W=%d" % (size, vsize)
        fr = rng.random()
        if fr < 0.12:
            sub, name = "new", base
        else:
            flags = "S" if fr < 0.80 else ("" if fr < 0.88 else
                                           ("RS" if fr < 0.95 else "FS"))
            sub, name = "cur", base + ":2," + flags
        tmp = os.path.join(tmpdir, base)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            if args.uid is not None:
                os.fchown(fd, args.uid,
                          args.gid if args.gid is not None else -1)
        finally:
            os.close(fd)
        final = os.path.join(maildir, sub, name)
        if os.path.exists(final):
            os.unlink(tmp)
            sys.exit("gen-corpus: %s already exists" % final)
        os.rename(tmp, final)
        total += size
        if manifest:
            mid = None
            head_end = data.find(b"\n\n")
            for line in data[:head_end if head_end >= 0 else None] \
                    .split(b"\n"):
                if line.lower().startswith(b"message-id:"):
                    mid = line[11:].strip().decode("ascii", "replace")
                    break
            manifest.write(json.dumps({
                "index": idx, "file": sub + "/" + name, "size": size,
                "vsize": vsize, "message_id": mid, "tags": tags}) + "\n")
    if manifest:
        manifest.close()
    if not args.quiet:
        sys.stderr.write("gen-corpus: %d messages, %d bytes, seed %d, "
                         "%.2fs -> %s\n" % (args.count, total, args.seed,
                                            time.time() - t0, maildir))


if __name__ == "__main__":
    main()
