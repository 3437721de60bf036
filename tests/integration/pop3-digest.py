#!/usr/bin/env python3
"""Print a POP3 mailbox's messages as "msgnum uidl sha1 message-id", one a
line: the SHA-1 of the whole message as RETR gives it (dot-unstuffed,
CRLF line ends), to check which content a UIDL belongs to.

    POP3_PASSWORD=... pop3-digest.py HOST PORT USER

For a Dovecot master-user login pass USER as "user*master" and the master
password.  Nothing is deleted (the session ends with QUIT, no DELE).  Only
loopback addresses are accepted.
"""

import hashlib
import re

from pop3_lab import login


def main():
    pop, lines = login("pop3-digest", __doc__, lambda argc: argc == 4)
    for line in lines:
        n, uidl = line.decode().split(" ", 1)
        _, body, _ = pop.retr(int(n))
        digest = hashlib.sha1(b"".join(x + b"\r\n" for x in body))
        msgid = "-"
        for hdr in body:
            if not hdr:
                break
            m = re.match(rb"(?i)message-id:\s*(\S+)", hdr)
            if m:
                msgid = m.group(1).decode("latin-1")
                break
        print(n, uidl, digest.hexdigest(), msgid)
    pop.quit()


if __name__ == "__main__":
    main()
