"""The lab's POP3 client login, shared by pop3-dele.py and pop3-digest.py:
HOST PORT USER from argv, the password from $POP3_PASSWORD, loopback
hosts only."""

import ipaddress
import os
import poplib
import socket
import sys


def login(prog, usage, argc_ok):
    """Log in as argv's USER; returns the session and its UIDL lines."""
    if not argc_ok(len(sys.argv)):
        sys.exit(usage.strip())
    host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        sys.exit("%s: refusing non-loopback host %s" % (prog, host))
    pop = poplib.POP3(host, port, timeout=60)
    pop.user(user)
    pop.pass_(os.environ["POP3_PASSWORD"])
    _, lines, _ = pop.uidl()
    return pop, lines
