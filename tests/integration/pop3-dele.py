#!/usr/bin/env python3
"""Play a POP3 client that downloads and deletes: RETR and DELE the given
message numbers (negative numbers count from the end), then QUIT.

    POP3_PASSWORD=... pop3-dele.py HOST PORT USER N [N ...]

Prints the UIDLs of the deleted messages, one per line. Only loopback
addresses are accepted.
"""

import ipaddress
import os
import poplib
import socket
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.strip())
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        sys.exit("pop3-dele: refusing non-loopback host %s" % host)
    pop = poplib.POP3(host, port, timeout=60)
    pop.user(user)
    pop.pass_(os.environ["POP3_PASSWORD"])
    _, lines, _ = pop.uidl()
    uidl = dict(line.decode().split(" ", 1) for line in lines)
    count = len(uidl)
    for arg in sys.argv[4:]:
        n = int(arg)
        if n < 0:
            n = count + 1 + n
        pop.retr(n)
        pop.dele(n)
        print(uidl[str(n)])
    pop.quit()


if __name__ == "__main__":
    main()
