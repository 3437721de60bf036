#!/usr/bin/env python3
"""faultproxy.py - a TCP proxy on loopback that injects faults.

Sits between a client (imapc, pop3c) and a real server and forwards both
directions, except that the server->client stream of a connection can be
cut, stalled or corrupted at a chosen byte offset, or the server can be
replaced by garbage or an immediate close.

    faultproxy.py --target-port PORT --control FILE --port-file FILE
                  [--log FILE] [--pid-file FILE]

Listens on 127.0.0.1 (a free port, written to --port-file once listening)
and connects to 127.0.0.1:PORT only.  The control file is JSON, re-read for
every new connection, so a test changes the fault between runs without
restarting the proxy:

    {"mode": "pass"}                          forward everything
    {"mode": "cut", "offset": N}              close both sides after N bytes
                                              server->client
    {"mode": "stall", "offset": N}            stop forwarding server->client
                                              after N bytes, keep the
                                              connection open
    {"mode": "corrupt", "offset": N,          overwrite LENGTH bytes at
     "length": 64}                            offset N with garbage
    {"mode": "garbage"}                       never connect the server; send
                                              garbage on accept and for
                                              every client line
    {"mode": "close"}                         accept and close at once

Optional keys:
    "trigger": "BODY[] {"   offsets count from the end of the COUNT-th
    "count": 1              occurrence of this string in the server->client
                            stream (no fault if it never appears)
    "conns": [2, 3]         only these connection numbers (1-based, counted
                            since the proxy started) get the fault
    "max_faults": 1         stop injecting after this many faults (counted
                            since the control file last changed)
    "rst": true             cut with a TCP RST instead of FIN
    "after": {...}          the control for connections opened after a
                            fault happened (e.g. {"mode": "close"}: the
                            server goes away for good)
    "exec": ["cmd", ...]    run this command (no shell) and wait for it when
                            a connection in "conns" (every one if no
                            "conns") is accepted, before the server is
                            connected or a fault applied: e.g. expunge
                            mail at the server between two sessions of a
                            client (any mode, "pass" too)

Every connection and every fault is logged as one line (for the test to
assert that the fault really happened):
    conn 3 open
    conn 3 fault cut at 12345
    conn 2 exec rc=0
    conn 3 closed s2c=12345 c2s=678
"""

import argparse
import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading

GARBAGE = (b"\x00\xff\xfe HTTP/1.1 400 Bad Request \x01\x02 }{ ) ((( "
           b"* 99999999999999999999 FETCH {18446744073709551615\r\n")


class Proxy:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.conn_count = 0
        self.faults = 0
        self.last_control = None

    def log(self, line):
        with self.lock:
            if self.args.log:
                with open(self.args.log, "a") as f:
                    f.write(line + "\n")

    def control(self):
        try:
            with open(self.args.control) as f:
                text = f.read()
            ctl = json.loads(text)
            with self.lock:
                if text != self.last_control:
                    # a new fault: max_faults and "after" count from here
                    self.last_control = text
                    self.faults = 0
            return ctl
        except (OSError, ValueError) as e:
            self.log("control file unusable (%s), passing through" % e)
            return {"mode": "pass"}

    def want_fault(self, ctl, conn_no):
        if ctl.get("mode", "pass") == "pass":
            return False
        if "conns" in ctl and conn_no not in ctl["conns"]:
            return False
        with self.lock:
            limit = ctl.get("max_faults")
            return limit is None or self.faults < limit

    def count_fault(self):
        with self.lock:
            self.faults += 1

    def serve(self):
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        tmp = self.args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % lsock.getsockname()[1])
        os.rename(tmp, self.args.port_file)
        while True:
            client, _ = lsock.accept()
            with self.lock:
                self.conn_count += 1
                conn_no = self.conn_count
            ctl = self.control()
            with self.lock:
                if self.faults > 0 and "after" in ctl:
                    ctl = ctl["after"]
            threading.Thread(target=self.handle, daemon=True,
                             args=(client, conn_no, ctl)).start()

    def handle(self, client, conn_no, ctl):
        self.log("conn %d open" % conn_no)
        if "exec" in ctl and ("conns" not in ctl or conn_no in ctl["conns"]):
            try:
                rc = subprocess.call(ctl["exec"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
            except OSError as e:
                rc = str(e)
            self.log("conn %d exec rc=%s" % (conn_no, rc))
        fault = self.want_fault(ctl, conn_no)
        mode = ctl.get("mode", "pass") if fault else "pass"
        try:
            if mode == "close":
                self.count_fault()
                self.log("conn %d fault close" % conn_no)
                client.close()
                return
            if mode == "garbage":
                self.count_fault()
                self.log("conn %d fault garbage" % conn_no)
                self.garbage(client)
                return
            server = socket.create_connection(
                ("127.0.0.1", self.args.target_port))
        except OSError as e:
            self.log("conn %d error %s" % (conn_no, e))
            client.close()
            return
        self.forward(client, server, conn_no, ctl, mode)

    def garbage(self, client):
        try:
            client.sendall(GARBAGE)
            while True:
                data = client.recv(65536)
                if not data:
                    break
                client.sendall(GARBAGE)
        except OSError:
            pass
        client.close()

    def forward(self, client, server, conn_no, ctl, mode):
        trigger = ctl.get("trigger", "").encode("latin-1") \
            if mode != "pass" else b""
        need = int(ctl.get("count", 1))
        offset = int(ctl.get("offset", 0))
        # absolute server->client position of the fault, None = not yet
        fault_at = offset if mode != "pass" and not trigger else None
        corrupt_left = int(ctl.get("length", 64)) if mode == "corrupt" else 0
        tail = b""
        seen = 0
        s2c = c2s = 0
        stalled = False
        socks = [client, server]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [])
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        break
                    c2s += len(data)
                    server.sendall(data)
                if server in readable and not stalled:
                    data = server.recv(65536)
                    if not data:
                        break
                    if trigger and fault_at is None:
                        buf = tail + data
                        start = 0
                        while True:
                            i = buf.find(trigger, start)
                            if i < 0:
                                break
                            seen += 1
                            start = i + len(trigger)
                            if seen == need:
                                fault_at = (s2c - len(tail) + start +
                                            offset)
                                break
                        tail = buf[-(len(trigger) - 1):] \
                            if len(trigger) > 1 else b""
                    if fault_at is None or s2c + len(data) <= fault_at or \
                       (mode == "corrupt" and corrupt_left == 0):
                        client.sendall(data)
                        s2c += len(data)
                        continue
                    # the fault lies in (or before) this chunk
                    keep = max(0, fault_at - s2c)
                    if mode == "corrupt":
                        n = min(corrupt_left, len(data) - keep)
                        if corrupt_left == int(ctl.get("length", 64)):
                            self.count_fault()
                            self.log("conn %d fault corrupt at %d" %
                                     (conn_no, s2c + keep))
                        data = data[:keep] + \
                            (GARBAGE * (n // len(GARBAGE) + 1))[:n] + \
                            data[keep + n:]
                        corrupt_left -= n
                        client.sendall(data)
                        s2c += len(data)
                        continue
                    client.sendall(data[:keep])
                    s2c += keep
                    self.count_fault()
                    self.log("conn %d fault %s at %d" % (conn_no, mode, s2c))
                    if mode == "cut":
                        if ctl.get("rst"):
                            client.setsockopt(socket.SOL_SOCKET,
                                              socket.SO_LINGER,
                                              struct.pack("ii", 1, 0))
                        break
                    # stall: the server is not read any more; the client
                    # still may write (and gets nothing back)
                    stalled = True
                    socks = [client]
        except OSError as e:
            self.log("conn %d error %s" % (conn_no, e))
        finally:
            self.log("conn %d closed s2c=%d c2s=%d" % (conn_no, s2c, c2s))
            for s in (client, server):
                try:
                    s.close()
                except OSError:
                    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target-port", type=int, required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--pid-file")
    args = ap.parse_args()
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        Proxy(args).serve()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
