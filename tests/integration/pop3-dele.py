#!/usr/bin/env python3
"""Play a POP3 client that downloads and deletes: RETR and DELE the given
message numbers (negative numbers count from the end), then QUIT.

    POP3_PASSWORD=... pop3-dele.py HOST PORT USER N [N ...]

Prints the UIDLs of the deleted messages, one per line. Only loopback
addresses are accepted.
"""

import sys

from pop3_lab import login


def main():
    pop, lines = login("pop3-dele", __doc__, lambda argc: argc >= 5)
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
