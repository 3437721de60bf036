#!/usr/bin/env python3
"""Generate a deterministic Gmail-like account for gmail-server.js.

Writes two JSON files:
  account  - what gmail-server.js loads: folder list and one entry per Gmail
             message (one X-GM-MSGID, its labels, flags and RFC 5322 source);
             the server derives folder membership from the labels.
  manifest - what a migration test compares against: every folder with the
             message ids (in UID order), UIDs and UIDVALIDITY the server will
             assign, every message with its flags, labels, folders and size,
             and totals (incl. the copy count a naive `doveadm backup` makes).

Membership rules (the same ones gmail-server.js applies):
  location "all"   -> "[Gmail]/All Mail" plus one folder per label
                      (\\Inbox -> INBOX, \\Starred -> \\Flagged folder,
                      \\Important, \\Sent, \\Draft -> \\Drafts folder,
                      user label -> folder of that name)
  location "trash" -> only the \\Trash folder (labels kept but not shown)
  location "spam"  -> only the \\Junk folder
UIDs: per folder, in account order, uid = previous uid + 1 + uid_skip.

Only python3 stdlib; same --seed and options give byte-identical output.
"""

import argparse
import base64
import json
import math
import random
import sys
import textwrap
from datetime import datetime, timedelta, timezone

ACCOUNT_FORMAT = "dovecot-migrate-gmail-account/1"
MANIFEST_FORMAT = "dovecot-migrate-gmail-manifest/1"

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

# User labels as the user sees them (UTF-8); nested with "/" like Gmail.
USER_LABELS = [
    "Work", "Personal", "Receipts", "Travel", "Projects",
    "Projects/Alpha", "Projects/Beta", "Newsletters",
    "Receipts 2023", "Família",
]

SYSTEM_FOLDERS = [
    # (name below the prefix, special-use, system label or None)
    ("All Mail", "\\All", None),
    ("Drafts", "\\Drafts", "\\Draft"),
    ("Important", "\\Important", "\\Important"),
    ("Sent Mail", "\\Sent", "\\Sent"),
    ("Spam", "\\Junk", None),
    ("Starred", "\\Flagged", "\\Starred"),
    ("Trash", "\\Trash", None),
]

WORDS = (
    "meeting schedule budget review draft invoice project release status "
    "update question answer team coffee lunch travel hotel flight ticket "
    "report quarterly numbers forecast customer support ticket deadline "
    "tomorrow today yesterday weekend holiday family photos garden recipe "
    "dinner birthday party present conference slides agenda minutes notes "
    "contract signature payment receipt order shipping delivery tracking "
    "server backup migration mailbox folder label archive search filter "
    "please thanks regards cheers hello again soon later maybe definitely "
    "the a an and or but with for from into about over under between "
    "we you they it this that these those is are was were be been have has"
).split()
UTF8_WORDS = ["Grüße", "naïve", "café", "Øresund", "façade", "jalapeño",
              "Zürich", "smørrebrød", "über", "señor", "crème brûlée"]
FIRST = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi",
         "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert",
         "Sybil", "Trent", "Victor", "Walter", "Zoë"]
LAST = ["Smith", "Jones", "Miller", "Garcia", "Novak", "Müller", "Larsen",
        "Rossi", "Dubois", "Kowalski", "Tanaka", "Okafor"]
DOMAINS = ["example.org", "example.net", "example.com", "mail.example.org",
           "lists.example.net", "shop.example.com"]


def mutf7_encode(name):
    """RFC 3501 modified UTF-7, as Gmail uses for folder names and labels."""
    out = []
    buf = []

    def flush():
        if buf:
            data = "".join(buf).encode("utf-16-be")
            b64 = base64.b64encode(data).decode("ascii").rstrip("=")
            out.append("&" + b64.replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def imap_date(dt):
    return "%02d-%s-%04d %02d:%02d:%02d +0000" % (
        dt.day, MONTHS[dt.month - 1], dt.year, dt.hour, dt.minute, dt.second)


def rfc5322_date(dt, tz_minutes):
    local = dt + timedelta(minutes=tz_minutes)
    sign = "+" if tz_minutes >= 0 else "-"
    tz = abs(tz_minutes)
    return "%s, %d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        WEEKDAYS[local.weekday()], local.day, MONTHS[local.month - 1],
        local.year, local.hour, local.minute, local.second,
        sign, tz // 60, tz % 60)


def encode_word(text):
    if all(ord(c) < 128 for c in text):
        return text
    return "=?UTF-8?B?%s?=" % base64.b64encode(text.encode()).decode()


def qp_encode(text):
    """Quoted-printable (RFC 2045) of UTF-8 text, CRLF lines <= 76 chars."""
    out_lines = []
    for line in text.split("\r\n"):
        enc = []
        for b in line.encode("utf-8"):
            if (33 <= b <= 126 and b != 61) or b == 32:
                enc.append(chr(b))
            else:
                enc.append("=%02X" % b)
        if enc and enc[-1] == " ":
            enc[-1] = "=20"
        cur = ""
        for piece in enc:
            if len(cur) + len(piece) > 75:
                out_lines.append(cur + "=")
                cur = ""
            cur += piece
        out_lines.append(cur)
    return "\r\n".join(out_lines)


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.user_addr = args.user if "@" in args.user else args.user + "@gmail.example"
        self.user_name = args.user_name

    # -- small helpers -------------------------------------------------
    def person(self):
        r = self.rng
        first, last = r.choice(FIRST), r.choice(LAST)
        addr = "%s.%s@%s" % (first.lower(), last.lower(), r.choice(DOMAINS))
        addr = addr.encode("ascii", "ignore").decode()
        return first + " " + last, addr

    def addr_header(self, name, addr):
        if all(ord(c) < 128 for c in name):
            return '"%s" <%s>' % (name, addr) if " " in name else "%s <%s>" % (name, addr)
        return "%s <%s>" % (encode_word(name), addr)

    def sentence(self, utf8=False):
        r = self.rng
        words = [r.choice(WORDS) for _ in range(r.randint(6, 16))]
        if utf8 and r.random() < 0.5:
            words[r.randrange(len(words))] = r.choice(UTF8_WORDS)
        s = " ".join(words)
        return s[0].upper() + s[1:] + r.choice([".", ".", ".", "?", "!"])

    def paragraph_text(self, nbytes, utf8=False):
        """Plain text of roughly nbytes (UTF-8), CRLF wrapped at 72."""
        paras = []
        size = 0
        while size < nbytes:
            para = " ".join(self.sentence(utf8) for _ in range(self.rng.randint(2, 6)))
            lines = textwrap.wrap(para, 72)
            block = "\r\n".join(lines)
            paras.append(block)
            size += len(block.encode("utf-8")) + 4
        return "\r\n\r\n".join(paras) + "\r\n"

    def msgid_header(self, dt, sent):
        r = self.rng
        token = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
                        for _ in range(22))
        host = "mail.gmail.com" if sent else r.choice(DOMAINS)
        return "<CA%s%d@%s>" % (token, int(dt.timestamp()) % 100000, host)

    # -- message bodies ------------------------------------------------
    def body(self, target, utf8):
        """Return (content-type header lines, body) of about target bytes."""
        r = self.rng
        kind = r.random()
        if kind < 0.55:
            enc = r.choice(["7bit", "quoted-printable", "8bit"]) if utf8 else "7bit"
            text = self.paragraph_text(target, utf8=utf8 and enc != "7bit")
            if enc == "quoted-printable":
                payload = qp_encode(text.rstrip("\r\n")) + "\r\n"
            else:
                payload = text
            charset = "UTF-8" if enc != "7bit" else "us-ascii"
            hdr = ["Content-Type: text/plain; charset=\"%s\"; format=flowed" % charset,
                   "Content-Transfer-Encoding: %s" % enc]
            return hdr, payload
        boundary = "000000000000%012x" % r.getrandbits(48)
        if kind < 0.80:
            half = max(200, target // 3)
            text = self.paragraph_text(half, utf8=False)
            html_paras = "".join("<p>%s</p>\r\n" % p.replace("\r\n", " ")
                                 for p in self.paragraph_text(target - half, False).split("\r\n\r\n"))
            html = "<html><body>\r\n" + html_paras + "</body></html>\r\n"
            body = ("--%s\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n%s\r\n"
                    "--%s\r\nContent-Type: text/html; charset=\"UTF-8\"\r\n\r\n%s\r\n--%s--\r\n"
                    % (boundary, text, boundary, html, boundary))
            return ["Content-Type: multipart/alternative; boundary=\"%s\"" % boundary], body
        text = self.paragraph_text(min(600, target // 4), utf8=False)
        att_bytes = max(64, int((target - len(text) - 400) * 3 / 4))
        blob = r.getrandbits(8 * att_bytes).to_bytes(att_bytes, "big")
        b64 = base64.b64encode(blob).decode()
        b64 = "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76))
        fname, ctype = r.choice([("report.pdf", "application/pdf"), ("photo.jpg", "image/jpeg"),
                                 ("data.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                                 ("scan.png", "image/png")])
        body = ("--%s\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n%s\r\n"
                "--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\n"
                "Content-Transfer-Encoding: base64\r\nX-Attachment-Id: f_%08x\r\n\r\n%s\r\n--%s--\r\n"
                % (boundary, text, boundary, ctype, fname, fname, r.getrandbits(32), b64, boundary))
        return ["Content-Type: multipart/mixed; boundary=\"%s\"" % boundary], body

    def raw_message(self, m, target):
        r = self.rng
        dt = m["_dt"]
        tz = r.choice([-480, -300, 0, 60, 120, 330, 540])
        hdrs = []
        if m["_kind"] in ("received", "trash", "spam"):
            hdrs.append("Delivered-To: %s" % self.user_addr)
            hdrs.append("Received: by 2002:a05:6a10:%x:b0:%x:%x:%x with SMTP id %s;\r\n        %s"
                        % (r.getrandbits(16), r.getrandbits(12), r.getrandbits(12), r.getrandbits(12),
                           "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(10)),
                           rfc5322_date(dt, -480) + " (PST)"))
            hdrs.append("X-Received: by 2002:a17:90a:%x with SMTP id x%d;\r\n        %s"
                        % (r.getrandbits(16), r.getrandbits(24), rfc5322_date(dt, -480) + " (PST)"))
            hdrs.append("Return-Path: <%s>" % m["_from"][1])
            ip = "192.0.2.%d" % r.randint(1, 254)
            host = m["_from"][1].split("@")[1]
            hdrs.append("Received: from %s (%s. [%s])\r\n        by mx.google.com with ESMTPS id %s\r\n"
                        "        for <%s>;\r\n        %s"
                        % (host, host, ip, "".join(r.choice("abcdef0123456789") for _ in range(16)),
                           self.user_addr, rfc5322_date(dt, -480) + " (PST)"))
            hdrs.append("Received-SPF: pass (google.com: domain of %s designates %s as permitted sender)"
                        % (m["_from"][1], ip))
        if m["_kind"] == "sent":
            hdrs.append("Received: by 2002:a05:6a10:%x with HTTP; %s" % (r.getrandbits(16), rfc5322_date(dt, tz)))
        hdrs.append("MIME-Version: 1.0")
        hdrs.append("Date: %s" % rfc5322_date(dt, tz))
        hdrs.append("Message-ID: %s" % m["message_id"])
        if m.get("_in_reply_to"):
            hdrs.append("In-Reply-To: %s" % m["_in_reply_to"])
            hdrs.append("References: %s" % m["_references"])
        hdrs.append("Subject: %s" % encode_word(m["_subject"]))
        hdrs.append("From: %s" % self.addr_header(*m["_from"]))
        hdrs.append("To: %s" % ", ".join(self.addr_header(*p) for p in m["_to"]))
        if m.get("_cc"):
            hdrs.append("Cc: %s" % ", ".join(self.addr_header(*p) for p in m["_cc"]))
        if m["_list"]:
            hdrs.append("List-Id: %s <%s>" % (m["_list"], m["_list"].lower().replace(" ", "-") + ".lists.example.net"))
            hdrs.append("List-Unsubscribe: <mailto:leave@lists.example.net>")
        header_block = "\r\n".join(hdrs)
        # Leave room for the content headers and the body.
        body_target = max(300, target - len(header_block.encode()) - 150)
        ctype, body = self.body(body_target, m["_utf8"])
        raw = header_block + "\r\n" + "\r\n".join(ctype) + "\r\n\r\n" + body
        data = raw.encode("utf-8")
        # Keep sizes inside [min,max] whatever the body generator did.
        if len(data) < self.a.min_size:
            pad = "X-Padding: " + "x" * (self.a.min_size - len(data)) + "\r\n"
            raw = pad + raw
        elif len(data) > self.a.max_size:
            return None
        return raw

    # -- the account ---------------------------------------------------
    def build(self):
        a, r = self.a, self.rng
        n = a.count
        prefix = a.system_prefix
        start = datetime(2019, 1, 1, tzinfo=timezone.utc)
        span = int((datetime(2024, 6, 30, tzinfo=timezone.utc) - start).total_seconds())
        secs = sorted(r.sample(range(span), n))
        labels = [mutf7_encode(lbl) for lbl in USER_LABELS[:a.labels]]

        msgs = []
        for i in range(n):
            dt = start + timedelta(seconds=secs[i])
            x = r.random()
            if x < a.trash:
                kind = "trash"
            elif x < a.trash + a.spam:
                kind = "spam"
            elif x < a.trash + a.spam + a.drafts:
                kind = "draft"
            elif x < a.trash + a.spam + a.drafts + a.sent:
                kind = "sent"
            else:
                kind = "received"
            m = {"id": "m%04d" % (i + 1), "_dt": dt, "_kind": kind}
            me = (self.user_name, self.user_addr)
            if kind in ("sent", "draft"):
                m["_from"] = me
                m["_to"] = [self.person() for _ in range(r.choice([1, 1, 1, 2, 3]))]
            else:
                m["_from"] = self.person()
                m["_to"] = [me]
            m["_cc"] = [self.person() for _ in range(r.choice([0, 0, 0, 1, 2]))]
            m["_list"] = r.choice(["Team Announce", "Users List"]) if kind == "received" and r.random() < 0.1 else None
            m["_utf8"] = r.random() < 0.2
            m["message_id"] = self.msgid_header(dt, kind in ("sent", "draft"))

            # Threads: reply to a recent message (same X-GM-THRID).
            parent = None
            if i > 0 and r.random() < 0.3:
                cands = [p for p in msgs[max(0, i - 30):i] if p["_kind"] != "draft"]
                if cands:
                    parent = r.choice(cands)
            if parent:
                m["_subject"] = "Re: " + parent["_subject"].removeprefix("Re: ")
                m["_in_reply_to"] = parent["message_id"]
                m["_references"] = (parent.get("_references", "") + " " + parent["message_id"]).strip()
                m["x_gm_thrid"] = parent["x_gm_thrid"]
            else:
                words = [r.choice(WORDS) for _ in range(r.randint(2, 7))]
                if m["_utf8"]:
                    words.append(r.choice(UTF8_WORDS))
                m["_subject"] = " ".join(words).capitalize()
            ms = int(dt.timestamp() * 1000) + r.randrange(1000)
            m["x_gm_msgid"] = str((ms << 20) | r.getrandbits(20))
            if not parent:
                m["x_gm_thrid"] = m["x_gm_msgid"]

            # Labels, location and flags.
            lab = []
            loc = {"trash": "trash", "spam": "spam"}.get(kind, "all")
            # --single-label/--multi-label are shares of All Mail; drafts
            # carry no user label, so the others get a little more.
            live = 1.0 - a.trash - a.spam
            scale = live / max(live - a.drafts, 0.01)
            u = r.random()
            p1, p2 = a.single_label * scale, a.multi_label * scale
            nuser = 1 if u < p1 else (r.randint(2, 3) if u < p1 + p2 else 0)
            if kind in ("draft", "spam"):
                nuser = 0
            user = sorted(r.sample(labels, nuser), key=labels.index) if nuser else []
            if kind == "received":
                if r.random() < (a.inbox_labelled if user else a.inbox_unlabelled):
                    lab.append("\\Inbox")
            if kind == "sent":
                lab.append("\\Sent")
            if kind == "draft":
                lab.append("\\Draft")
            flags = []
            if kind != "spam" and r.random() < a.starred:
                lab.append("\\Starred")
                flags.append("\\Flagged")
            if kind in ("received", "sent", "trash") and r.random() < a.important:
                lab.append("\\Important")
            if kind == "trash" and r.random() > 0.3:
                user = []
            lab.extend(user)
            if kind == "draft":
                flags += ["\\Seen", "\\Draft"]
            elif kind == "sent" or r.random() < 0.85:
                flags.append("\\Seen")
            if kind == "received" and r.random() < 0.10:
                flags.append("\\Answered")
            if kind == "received" and r.random() < 0.03:
                flags.append("$Forwarded")
            if kind == "received" and r.random() < 0.02:
                flags.append("$MDNSent")
            if kind == "spam":
                flags.append("$Junk")
            m["labels"] = lab
            m["flags"] = flags
            m["location"] = loc
            m["pop_deleted"] = kind == "received" and r.random() < a.pop_deleted
            m["uid_skip"] = r.choice([1, 2, 5, 17]) if r.random() < a.uid_gaps else 0
            msgs.append(m)

        # Same Message-ID under two X-GM-MSGIDs (e.g. your own mail to a list
        # you are on): realistic and a trap for header-based deduplication.
        dup_groups = []
        cands = [m for m in msgs if m["_kind"] == "received" and not m.get("_in_reply_to")]
        for k in range(min(a.dup_message_ids, len(cands) // 2)):
            src, dst = cands[2 * k], cands[2 * k + 1]
            dst["message_id"] = src["message_id"]
            dst["_subject"] = src["_subject"]
            dup_groups.append([src["id"], dst["id"]])

        # Sizes: log-uniform in [min,max]; regenerate a body that overshoots.
        for m in msgs:
            lo, hi = math.log(a.min_size), math.log(a.max_size)
            raw = None
            while raw is None:
                target = int(math.exp(r.uniform(lo, hi)))
                raw = self.raw_message(m, target)
            m["raw"] = raw
            m["size"] = len(raw.encode("utf-8"))
            m["internaldate"] = imap_date(m["_dt"])
        return msgs, labels, prefix, dup_groups

    def folders(self, labels, prefix):
        def uv(name):
            # Stable per name (FNV-1a), so adding a label changes nothing else.
            h = 0x811c9dc5
            for b in name.encode():
                h = ((h ^ b) * 0x01000193) & 0xffffffff
            return (h % 999983) + 1
        out = [{"name": "INBOX", "label": "\\Inbox", "uidvalidity": uv("INBOX")},
               {"name": mutf7_encode(prefix), "noselect": True}]
        for sub, su, label in SYSTEM_FOLDERS:
            name = mutf7_encode(prefix + "/" + sub)
            f = {"name": name, "special_use": su, "uidvalidity": uv(name)}
            if label:
                f["label"] = label
            out.append(f)
        for lbl in labels:
            out.append({"name": lbl, "label": lbl, "uidvalidity": uv(lbl)})
        return out


def mutf7_decode(name):
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c != "&":
            out.append(c)
            i += 1
            continue
        j = name.index("-", i)
        chunk = name[i + 1:j]
        if not chunk:
            out.append("&")
        else:
            b64 = chunk.replace(",", "/")
            b64 += "=" * (-len(b64) % 4)
            out.append(base64.b64decode(b64).decode("utf-16-be"))
        i = j + 1
    return "".join(out)


def membership(m, folders):
    """Folder names (IMAP form) a message appears in; mirrors gmail-server.js."""
    by_su = {f.get("special_use"): f["name"] for f in folders if f.get("special_use")}
    by_label = {f["label"]: f["name"] for f in folders if f.get("label")}
    if m["location"] == "trash":
        return [by_su["\\Trash"]]
    if m["location"] == "spam":
        return [by_su["\\Junk"]]
    res = [by_su["\\All"]]
    for lbl in m["labels"]:
        if lbl in by_label:
            res.append(by_label[lbl])
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--count", "-n", type=int, default=480)
    p.add_argument("--user", default="alice@gmail.example")
    p.add_argument("--user-name", default="Alice Example")
    p.add_argument("--password", default="secret")
    p.add_argument("--out", "-o", default="account.json", help="account JSON for gmail-server.js")
    p.add_argument("--manifest", "-m", default="manifest.json", help="expected folders/messages for tests")
    p.add_argument("--system-prefix", default="[Gmail]", help='"[Google Mail]" for UK/DE accounts')
    p.add_argument("--labels", type=int, default=len(USER_LABELS), help="number of user labels (max %d)" % len(USER_LABELS))
    p.add_argument("--min-size", type=int, default=1024)
    p.add_argument("--max-size", type=int, default=50 * 1024)
    p.add_argument("--single-label", type=float, default=0.40, help="share of All Mail with exactly one user label")
    p.add_argument("--multi-label", type=float, default=0.15, help="share of All Mail with 2-3 user labels")
    p.add_argument("--inbox-unlabelled", type=float, default=0.55, help="P(\\Inbox) for received mail without user label")
    p.add_argument("--inbox-labelled", type=float, default=0.30, help="P(\\Inbox) for received mail with user labels")
    p.add_argument("--starred", type=float, default=0.08)
    p.add_argument("--important", type=float, default=0.20)
    p.add_argument("--sent", type=float, default=0.10)
    p.add_argument("--drafts", type=float, default=0.02)
    p.add_argument("--trash", type=float, default=0.03)
    p.add_argument("--spam", type=float, default=0.03)
    p.add_argument("--pop-deleted", type=float, default=0.05, help='received mail matching X-GM-RAW "in:^pop"')
    p.add_argument("--uid-gaps", type=float, default=0.05, help="share of messages preceded by burnt UIDs")
    p.add_argument("--dup-message-ids", type=int, default=2, help="pairs of messages sharing one Message-ID header")
    a = p.parse_args()
    if a.labels < 0 or a.labels > len(USER_LABELS):
        p.error("--labels must be 0..%d" % len(USER_LABELS))
    if a.min_size < 700 or a.max_size < a.min_size * 2:
        p.error("need --min-size >= 700 and --max-size >= 2 * --min-size")

    g = Gen(a)
    msgs, labels, prefix, dup_groups = g.build()
    folders = g.folders(labels, prefix)

    account = {
        "format": ACCOUNT_FORMAT,
        "user": g.user_addr,
        "password": a.password,
        "folders": folders,
        "messages": [{k: m[k] for k in ("id", "x_gm_msgid", "x_gm_thrid", "internaldate", "flags",
                                         "labels", "location", "pop_deleted", "uid_skip", "raw")}
                     for m in msgs],
    }

    mf_folders = {}
    for f in folders:
        mf_folders[f["name"]] = {
            "name": mutf7_decode(f["name"]),
            "imap_name": f["name"],
            "special_use": f.get("special_use"),
            "selectable": not f.get("noselect", False),
            "uidvalidity": f.get("uidvalidity"),
            "ids": [], "uids": [], "count": 0, "bytes": 0, "_last": 0,
        }
    mf_msgs = {}
    for m in msgs:
        where = membership(m, folders)
        for fname in where:
            ff = mf_folders[fname]
            ff["_last"] += 1 + m["uid_skip"]
            ff["ids"].append(m["id"])
            ff["uids"].append(ff["_last"])
            ff["count"] += 1
            ff["bytes"] += m["size"]
        mf_msgs[m["id"]] = {
            "x_gm_msgid": m["x_gm_msgid"], "x_gm_thrid": m["x_gm_thrid"],
            "message_id": m["message_id"], "subject": m["_subject"], "size": m["size"],
            "internaldate": m["internaldate"], "flags": m["flags"], "labels": m["labels"],
            "location": m["location"], "pop_deleted": m["pop_deleted"],
            "folders": [mutf7_decode(x) for x in where],
        }
    for ff in mf_folders.values():
        ff["uidnext"] = ff.pop("_last") + 1 if ff["selectable"] else None

    user_labels = set(labels)
    live = [m for m in msgs if m["location"] == "all"]
    nuser = [sum(1 for x in m["labels"] if x in user_labels) for m in msgs]
    totals = {
        "messages": len(msgs),
        "all_mail": len(live),
        "trash": sum(1 for m in msgs if m["location"] == "trash"),
        "spam": sum(1 for m in msgs if m["location"] == "spam"),
        "single_user_label": sum(1 for m, k in zip(msgs, nuser) if k == 1 and m["location"] == "all"),
        "multi_user_label": sum(1 for m, k in zip(msgs, nuser) if k >= 2 and m["location"] == "all"),
        "archived_no_label": sum(1 for m in live if not m["labels"]),
        "inbox_only": sum(1 for m in live if m["labels"] == ["\\Inbox"]),
        "starred": sum(1 for m in live if "\\Starred" in m["labels"]),
        "important": sum(1 for m in live if "\\Important" in m["labels"]),
        "sent": sum(1 for m in live if "\\Sent" in m["labels"]),
        "drafts": sum(1 for m in live if "\\Draft" in m["labels"]),
        "pop_deleted": sum(1 for m in msgs if m["pop_deleted"]),
        "with_labels_in_all_mail": sum(1 for m in live if any(x != "\\Muted" for x in m["labels"])),
        "bytes_all_mail": sum(m["size"] for m in live),
        "bytes_all_messages": sum(m["size"] for m in msgs),
        # What a plain `doveadm backup -R imapc:` downloads and stores: one
        # copy per (selectable folder, message).
        "folder_copies": sum(f["count"] for f in mf_folders.values()),
        "bytes_folder_copies": sum(f["bytes"] for f in mf_folders.values()),
    }
    manifest = {
        "format": MANIFEST_FORMAT,
        "seed": a.seed,
        "user": g.user_addr,
        "password": a.password,
        "membership_rules": "location all: \\All folder + one folder per label; trash: \\Trash only; "
                            "spam: \\Junk only; uid = previous + 1 + uid_skip in account order",
        "folders": {ff["name"]: ff for ff in mf_folders.values()},
        "messages": mf_msgs,
        "same_message_id_groups": dup_groups,
        "totals": totals,
    }

    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(account, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    with open(a.manifest, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s (%d messages) and %s: %s" % (a.out, len(msgs), a.manifest,
          ", ".join("%s=%s" % kv for kv in totals.items())), file=sys.stderr)


if __name__ == "__main__":
    main()
