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
import ipaddress
import os
import poplib
import re
import socket
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        sys.exit("pop3-digest: refusing non-loopback host %s" % host)
    pop = poplib.POP3(host, port, timeout=60)
    pop.user(user)
    pop.pass_(os.environ["POP3_PASSWORD"])
    _, lines, _ = pop.uidl()
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
