#!/usr/bin/env python3
"""quirkproxy.py - an IMAP proxy on loopback that plays a provider's quirks.

Sits between imapc and a real IMAP server (the lab's source Dovecot) and
changes what the server says the way some providers do, so the recipes in
docs/providers.md are tried against the quirk, not just described:

    quirkproxy.py --target-port PORT --port-file FILE --log FILE
                  [--size-percent P] [--size-bytes B]
                  [--throttle-every N] [--throttle-answer ANSWER]
                  [--throttle-mailbox NAME] [--throttle-max M]
                  [--slow-prefix PREFIX --slow-ms MS]
                  [--bye-after-fetches N] [--bye-text TEXT] [--bye-max M]
                  [--refuse COMMAND]

  --size-percent/--size-bytes  every RFC822.SIZE the server sends is made
        larger by P percent plus B bytes, while the bodies stay what they
        are (Exchange and some hosted servers report an estimate).
  --throttle-every N  every Nth UID FETCH of a whole message (BODY[],
        BODY.PEEK[] or RFC822) on a connection is not passed on; the proxy answers it itself
        with "TAG ANSWER" (default: Gmail's "NO ... [THROTTLED]";
        Microsoft 365 answers "BAD Request is throttled. Suggested Backoff
        Time: N milliseconds").  --throttle-mailbox: only on connections
        that selected the mailbox NAME; --throttle-max: only the first M
        throttles (default: every one).
  --slow-prefix/--slow-ms  on connections that selected a mailbox whose
        name starts with PREFIX, each literal of a FETCH answer (a body,
        a header) is passed on MS milliseconds late (a slow old server),
        and logged ("conn 2 slow").
  --bye-after-fetches N  after N such fetches on one connection, the proxy
        sends "* BYE TEXT" and closes it at a response boundary (Exchange
        Online's "Server Unavailable" and session ends); --bye-max: only
        the first M sessions so (default: every one).
  --refuse COMMAND  every command COMMAND (e.g. LSUB, which IMAP4rev2
        drops) is answered by the proxy with "TAG BAD Unknown command",
        not passed on.

Listens on 127.0.0.1 (a free port, written to --port-file once listening)
and connects to 127.0.0.1:PORT only.  The server's stream is parsed into
response lines and literals, so whatever the proxy adds or changes lands on
a line boundary, never inside a message.  Every change is logged as one
line ("conn 2 size 1234 -> 1296", "conn 2 throttle A0012",
"conn 3 bye"), for the test to assert that the quirk really happened.
"""

import argparse
import os
import re
import select
import socket
import threading
import time

SIZE_RE = re.compile(rb"RFC822\.SIZE (\d+)")
LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n$")
# the mailbox a client selects
SELECT_RE = re.compile(rb'^\S+ (?:SELECT|EXAMINE) "?([^"\s]*)"?', re.IGNORECASE)
# a FETCH of a whole message (not of header fields: those are what imapc
# reads again of every message on each pass, and throttles count bytes)
BODY_FETCH_RE = re.compile(rb"^(\S+) UID FETCH .*(BODY\.PEEK\[\]|BODY\[\]|RFC822[ )])",
                           re.IGNORECASE)


class Conn:
    def __init__(self, proxy, client, conn_no):
        self.proxy = proxy
        self.args = proxy.args
        self.client = client
        self.no = conn_no
        self.c2s = b""
        self.s2c = b""
        self.literal_left = 0
        # tagged answers the proxy owes the client, sent at the next
        # response boundary
        self.pending = []
        self.fetches = 0
        self.bye = False
        # the mailbox the client selected last
        self.mailbox = None

    def log(self, text):
        self.proxy.log("conn %d %s" % (self.no, text))

    def slow(self):
        prefix = self.args.slow_prefix
        return prefix is not None and self.mailbox is not None and \
            self.mailbox.startswith(prefix)

    def client_lines(self, server):
        while b"\r\n" in self.c2s:
            line, self.c2s = self.c2s.split(b"\r\n", 1)
            m = SELECT_RE.match(line)
            if m:
                self.mailbox = m.group(1).decode("utf-8", "replace")
            words = line.split(b" ", 2)
            if self.args.refuse and len(words) >= 2 and \
                    words[1].upper() == self.args.refuse.upper().encode():
                self.pending.append(b"%s BAD Unknown command\r\n" % words[0])
                self.log("refuse %s" % words[0].decode("latin-1"))
                continue
            m = BODY_FETCH_RE.match(line)
            if m:
                self.fetches += 1
                n = self.args.throttle_every
                box = self.args.throttle_mailbox
                if n > 0 and self.fetches % n == 0 and \
                        (box is None or box == self.mailbox) and \
                        self.proxy.take("throttle", self.args.throttle_max):
                    tag = m.group(1)
                    self.pending.append(b"%s %s\r\n" % (
                        tag, self.args.throttle_answer.encode()))
                    self.log("throttle %s" % tag.decode("latin-1"))
                    continue
                b = self.args.bye_after_fetches
                if b > 0 and self.fetches > b and not self.bye and \
                        self.proxy.take("bye", self.args.bye_max):
                    self.bye = True
                    self.log("bye")
                    continue
            server.sendall(line + b"\r\n")

    def rewrite(self, line):
        pct = self.args.size_percent
        add = self.args.size_bytes
        if pct == 0 and add == 0:
            return line

        def bigger(m):
            old = int(m.group(1))
            new = old + old * pct // 100 + add
            self.log("size %d -> %d" % (old, new))
            return b"RFC822.SIZE %d" % new
        return SIZE_RE.sub(bigger, line)

    def server_data(self):
        """What of the server's stream can go to the client now."""
        out = b""
        while self.s2c:
            if self.literal_left > 0:
                chunk = self.s2c[:self.literal_left]
                self.s2c = self.s2c[len(chunk):]
                self.literal_left -= len(chunk)
                out += chunk
                continue
            i = self.s2c.find(b"\r\n")
            if i < 0:
                break
            line = self.s2c[:i + 2]
            self.s2c = self.s2c[i + 2:]
            m = LITERAL_RE.search(line)
            if m:
                self.literal_left = int(m.group(1))
                if self.slow() and b" FETCH " in line:
                    time.sleep(self.args.slow_ms / 1000.0)
                    self.log("slow")
            out += self.rewrite(line)
        return out

    def at_boundary(self):
        return self.literal_left == 0 and not self.s2c

    def run(self, server):
        socks = [self.client, server]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 0.2)
                if self.client in readable:
                    data = self.client.recv(65536)
                    if not data:
                        break
                    self.c2s += data
                    self.client_lines(server)
                if server in readable:
                    data = server.recv(65536)
                    if not data:
                        break
                    self.s2c += data
                    out = self.server_data()
                    if out:
                        self.client.sendall(out)
                if self.at_boundary():
                    if self.pending:
                        self.client.sendall(b"".join(self.pending))
                        self.pending = []
                    if self.bye:
                        self.client.sendall(b"* BYE %s\r\n" %
                                            self.args.bye_text.encode())
                        break
        except OSError as e:
            self.log("error %s" % e)
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        self.log("closed")


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        # quirks played so far, across connections: "bye", "throttle"
        self.taken = {}

    def take(self, quirk, most):
        """May the quirk be played once more (most: 0 = always)?"""
        with self.lock:
            n = self.taken.get(quirk, 0)
            if most > 0 and n >= most:
                return False
            self.taken[quirk] = n + 1
            return True

    def log(self, line):
        with self.lock:
            with open(self.args.log, "a") as f:
                f.write(line + "\n")

    def serve(self):
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % lsock.getsockname()[1])
        os.rename(tmp, self.args.port_file)
        conn_no = 0
        while True:
            client, _ = lsock.accept()
            conn_no += 1
            threading.Thread(target=self.handle, daemon=True,
                             args=(client, conn_no)).start()

    def handle(self, client, conn_no):
        conn = Conn(self, client, conn_no)
        conn.log("open")
        try:
            server = socket.create_connection(
                ("127.0.0.1", self.args.target_port))
        except OSError as e:
            conn.log("error %s" % e)
            client.close()
            return
        conn.run(server)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target-port", type=int, required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--size-percent", type=int, default=0)
    p.add_argument("--size-bytes", type=int, default=0)
    p.add_argument("--throttle-every", type=int, default=0)
    p.add_argument("--throttle-answer",
                   default="NO Too many simultaneous connections. [THROTTLED]")
    p.add_argument("--throttle-mailbox")
    p.add_argument("--throttle-max", type=int, default=0)
    p.add_argument("--slow-prefix")
    p.add_argument("--slow-ms", type=int, default=0)
    p.add_argument("--bye-after-fetches", type=int, default=0)
    p.add_argument("--bye-text", default="Server Unavailable. 15")
    p.add_argument("--bye-max", type=int, default=0)
    p.add_argument("--refuse")
    Proxy(p.parse_args()).serve()


if __name__ == "__main__":
    main()
