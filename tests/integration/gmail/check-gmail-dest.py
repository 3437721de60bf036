#!/usr/bin/env python3
"""Compare a destination mailbox with what a Gmail migration should give.

  check-gmail-dest.py MANIFEST DUMP [--sent NAME] [--drafts NAME]
                      [--archive NAME] [--include-trash] [--label-keywords]

DUMP is `doveadm -f tab fetch -u USER 'mailbox guid flags' all` output.
Expected: every message of All Mail once in each of its label folders
(\\Inbox -> INBOX, \\Sent -> --sent, \\Draft -> --drafts, user labels by
name; \\Starred and \\Important are views, not folders) or, with no such
label, once in the archive folder; Trash/Spam only with --include-trash;
flags as in the manifest. Prints one "name: value" line per figure and
"MISMATCH ..." lines; exits 1 on any mismatch.
"""
import argparse
import collections
import json
import sys

p = argparse.ArgumentParser()
p.add_argument("manifest")
p.add_argument("dump")
p.add_argument("--sent", default="Sent")
p.add_argument("--drafts", default="Drafts")
p.add_argument("--archive", default="Archive")
p.add_argument("--include-trash", action="store_true")
p.add_argument("--label-keywords", action="store_true")
a = p.parse_args()

mf = json.load(open(a.manifest, encoding="utf-8"))




def mutf7_encode(name):
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            import base64
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for c in name:
        if 0x20 <= ord(c) <= 0x7e:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            buf.append(c)
    flush()
    return "".join(out)


def keyword(name):
    return "".join("_" if (ord(c) <= 0x20 or ord(c) >= 0x7f or c in '(){%*"\\]') else c
                   for c in mutf7_encode(name))


expected = collections.Counter()   # (folder, msgid) -> 1
want_flags = {}
by_msgid = {}
special = {}
for f in mf["folders"].values():
    special[f["name"]] = f.get("special_use") or ""
for mid, m in mf["messages"].items():
    gid = m["x_gm_msgid"]
    by_msgid[gid] = m
    want_flags[gid] = set(f for f in m["flags"] if f != "\\Recent")
    folders = set()
    for name in m["folders"]:
        su = special.get(name, "")
        if su in ("\\All", "\\Flagged", "\\Important"):
            continue
        if su == "\\Sent":
            folders.add(a.sent)
        elif su == "\\Drafts":
            folders.add(a.drafts)
        elif su in ("\\Trash", "\\Junk"):
            if a.include_trash:
                folders.add(name.split("/")[-1] if su == "\\Trash" else "Junk")
        else:
            folders.add(name)
    if not folders and m["location"] == "all":
        folders.add(a.archive)
    for f in folders:
        expected[(f, gid)] += 1

got = collections.Counter()
got_flags = {}
with open(a.dump, encoding="utf-8") as fh:
    header = fh.readline().rstrip("\n").split("\t")
    for line in fh:
        line = line.rstrip("\n")
        if not line:
            continue
        row = dict(zip(header, line.split("\t")))
        key = (row["mailbox"], row["guid"])
        got[key] += 1
        got_flags[key] = set(f for f in row.get("flags", "").split() if f != "\\Recent")

bad = 0
for key, n in sorted(expected.items()):
    if got[key] != n:
        bad += 1
        if bad <= 10:
            print("MISMATCH %s %s: expected %d copies, found %d" % (key[0], key[1], n, got[key]))
for key, n in sorted(got.items()):
    if key not in expected:
        bad += 1
        if bad <= 20:
            print("MISMATCH %s %s: unexpected copy (x%d)" % (key[0], key[1], n))
flag_bad = 0
for key in expected:
    if key not in got_flags:
        continue
    m = by_msgid[key[1]]
    want = set(want_flags[key[1]])
    if a.label_keywords:
        for name in m["folders"]:
            if not special.get(name) and name != "INBOX":
                want.add(keyword(name))
        if any(special.get(n) == "\\Important" for n in m["folders"]):
            want.add("$Important")
    if got_flags[key] != want:
        flag_bad += 1
        if flag_bad <= 10:
            print("MISMATCH flags %s %s: expected %s, found %s" % (key[0], key[1], sorted(want), sorted(got_flags[key])))

folders = sorted(set(k[0] for k in got))
print("folders: %s" % " | ".join(folders))
print("expected copies: %d" % sum(expected.values()))
print("found copies: %d" % sum(got.values()))
print("archived: %d" % sum(1 for k in expected if k[0] == a.archive))
print("copy mismatches: %d" % bad)
print("flag mismatches: %d" % flag_bad)
sys.exit(1 if bad or flag_bad else 0)
