#!/usr/bin/env python3
"""mailstate.py - what a user's mail looks like over IMAP, and what it must
look like after an additive pass of the migration.

    MAILCMP_LOGIN=user[*master] MAILCMP_PASSWORD=... \\
        mailstate.py snap PORT OUT.json [--exclude PREFIX ...] [--eol]
    mailstate.py expect HERE.json SRC_MARK.json SRC_NOW.json OUT.json [--prefix P]
        [--rename OLD=NEW ...]
    mailstate.py compare EXPECTED.json ACTUAL.json
    mailstate.py pop3new CLIENT.uidl HERE.uidl SRC_MARK.uidl SRC_NOW.uidl

snap: every selectable folder of the account on 127.0.0.1:PORT, as
  {folder: {"<sha256 prefix of BODY[]> <flags>": count}} (mailcmp.py's view).
expect: the mail here (HERE: after the user worked here) plus what is new
  at the old server since the mark (SRC_NOW minus SRC_MARK, per folder, by
  content; with its flags at the old server): what a one-way, additive pass
  must leave. Folders here are --prefix P followed by the old name, or
  NEW for an old folder OLD the user renamed here (--rename OLD=NEW).
compare: prints "identical folders=F messages=M" (exit 0) or "differ ...
  lost= extra= dup= flags=" with up to 20 lines naming what differs.
pop3new: the UIDLs a POP3 client that knew CLIENT would download now (in
  HERE's order) must be exactly the old server's new ones (in its order).
  Prints "same N" (exit 0) or "differ" with both lists.
"""

import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailcmp  # noqa: E402


def load(path):
    with open(path) as f:
        data = json.load(f)
    return {folder: collections.Counter(
        {tuple(k.split(" ", 1)) if " " in k else (k, ""): n
         for k, n in msgs.items()}) for folder, msgs in data.items()}


def save(path, folders):
    with open(path, "w") as f:
        json.dump({folder: {"%s %s" % k: n for k, n in msgs.items()}
                   for folder, msgs in folders.items()}, f, indent=0,
                  sort_keys=True)


def by_hash(msgs):
    counts = collections.Counter()
    flags = {}
    for (h, fl), n in msgs.items():
        counts[h] += n
        flags[h] = fl
    return counts, flags


def cmd_snap(args):
    excludes = []
    rest = []
    i = 0
    while i < len(args):
        if args[i] == "--exclude":
            excludes.append(args[i + 1])
            i += 2
        elif args[i] == "--eol":
            mailcmp.NORMALIZE_EOL = True
            i += 1
        else:
            rest.append(args[i])
            i += 1
    port, out = int(rest[0]), rest[1]
    folders = mailcmp.read_user(port, os.environ["MAILCMP_LOGIN"],
                                os.environ["MAILCMP_PASSWORD"], excludes)
    save(out, folders)
    return 0


def cmd_expect(args):
    prefix = ""
    if "--prefix" in args:
        i = args.index("--prefix")
        prefix = args[i + 1]
        args = args[:i] + args[i + 2:]
    renamed = {}
    while "--rename" in args:
        i = args.index("--rename")
        old, new = args[i + 1].split("=", 1)
        renamed[old] = new
        args = args[:i] + args[i + 2:]
    here, mark, now = load(args[0]), load(args[1]), load(args[2])
    expected = {f: collections.Counter(m) for f, m in here.items()}
    for folder, msgs in now.items():
        now_counts, now_flags = by_hash(msgs)
        mark_msgs = mark.get(folder, collections.Counter())
        mark_counts, _ = by_hash(mark_msgs)
        for h, n in now_counts.items():
            new = n - mark_counts[h]
            if new <= 0:
                continue
            dest = renamed.get(folder, prefix + folder)
            expected.setdefault(dest, collections.Counter())
            # the new copies are the ones whose flags the mark hasn't
            # (duplicates may differ only in their flags)
            left = collections.Counter(
                {k: c for k, c in msgs.items() if k[0] == h})
            left.subtract({k: c for k, c in mark_msgs.items()
                           if k[0] == h})
            for key, c in sorted(left.items()):
                take = min(c, new)
                if take > 0:
                    expected[dest][key] += take
                    new -= take
            if new > 0:
                expected[dest][(h, now_flags[h])] += new
    save(args[3], expected)
    return 0


def cmd_compare(args):
    return mailcmp.report(load(args[0]), load(args[1]))


def uidls(path):
    with open(path) as f:
        return [line.split()[1] for line in f if len(line.split()) == 2]


def cmd_pop3new(args):
    client, here, mark, now = (uidls(p) for p in args)
    known = set(client)
    downloads = [u for u in here if u not in known]
    old = set(mark)
    new_at_source = [u for u in now if u not in old]
    if downloads == new_at_source:
        print("same %d" % len(downloads))
        return 0
    print("differ: a POP3 client would download %s; new at the old server: %s"
          % (downloads, new_at_source))
    return 1


def main():
    cmds = {"snap": cmd_snap, "expect": cmd_expect, "compare": cmd_compare,
            "pop3new": cmd_pop3new}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__.strip())
    return cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
