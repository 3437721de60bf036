#!/usr/bin/env python3
"""Print a POP3 mailbox's UIDL list, one "msgnum uidl" per line.

    pop3-uidl.py HOST PORT USER [PASS]

PASS may be left out (or given as "-"): it is then read from the
POP3_PASSWORD environment variable, or from the first line of stdin, so
passwords need not appear on a command line.  For a Dovecot master-user
login pass USER as "user*master" and the master password.
Only loopback addresses are accepted: the lab never talks to anything else.
"""

import ipaddress
import os
import poplib
import socket
import sys


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__.strip())
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    password = sys.argv[4] if len(sys.argv) == 5 else "-"
    if password == "-":
        password = os.environ.get("POP3_PASSWORD")
        if password is None:
            password = sys.stdin.readline().rstrip("\r\n")
    try:
        if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            sys.exit("pop3-uidl: refusing non-loopback host %s" % host)
    except (OSError, ValueError) as e:
        sys.exit("pop3-uidl: bad host %s: %s" % (host, e))
    try:
        pop = poplib.POP3(host, port, timeout=60)
        pop.user(user)
        pop.pass_(password)
        _, lines, _ = pop.uidl()
        out = sys.stdout
        for line in lines:
            out.write(line.decode("utf-8", "replace") + "\n")
        pop.quit()
    except (poplib.error_proto, OSError) as e:
        sys.exit("pop3-uidl: %s:%d user %s: %s" % (host, port, user, e))


if __name__ == "__main__":
    main()
