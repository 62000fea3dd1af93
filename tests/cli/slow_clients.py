#!/usr/bin/env python3
"""slow_clients: holds COUNT connections to an HTTP(S) server from one
source address, each trickling its request head one byte every half
second, for SECONDS; a connection the server closes is opened again at
once (issue 20: the slow-loris that kept /healthz from answering).

usage: slow_clients.py HOST:PORT SOURCE_ADDRESS COUNT SECONDS [CA_FILE]
  CA_FILE: speak TLS, verifying the server against it.

Prints "ready open=N refused=M" once the first COUNT attempts are made
(flushed: the test waits for it), then at the end
"done attempts=A open_max=N cut=C longest_s=L": C connections the server
closed after it had accepted them (a head sent in part), L the longest any
one connection stayed open.
"""
import select
import socket
import ssl
import sys
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow: " + b"a" * 4096


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    source, count, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    ctx = ssl.create_default_context(cafile=sys.argv[5]) if len(sys.argv) > 5 else None
    conns = {}  # socket -> [opened_at, bytes_sent]
    stats = {"attempts": 0, "refused": 0, "cut": 0, "longest": 0.0, "open_max": 0}

    def opened():
        stats["attempts"] += 1
        s = None
        try:
            s = socket.create_connection((host, int(port)), timeout=5,
                                         source_address=(source, 0))
            if ctx is not None:
                s = ctx.wrap_socket(s, server_hostname=host)
            s.sendall(HEAD[:1])
            s.setblocking(False)
            conns[s] = [time.monotonic(), 1]
        except (OSError, ssl.SSLError):
            stats["refused"] += 1
            if s is not None:
                s.close()

    def closed(s, by_server):
        at, sent = conns.pop(s)
        life = time.monotonic() - at
        stats["longest"] = max(stats["longest"], life)
        # Refused at once by a limit, or cut after a while (a deadline).
        if by_server and life >= 0.5:
            stats["cut"] += 1
        elif by_server:
            stats["refused"] += 1
        s.close()

    for _ in range(count):
        opened()
    # A refused connection is closed just after it was accepted: the count
    # is taken once no close has come for half a second (5 s at most).
    quiet_until, give_up = time.monotonic() + 0.5, time.monotonic() + 5
    while conns and time.monotonic() < min(quiet_until, give_up):
        r, _, _ = select.select(list(conns), [], [], 0.1)
        for s in r:
            try:
                data = s.recv(1024)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if data == b"":
                closed(s, True)
                quiet_until = time.monotonic() + 0.5
    print("ready open=%d refused=%d" % (len(conns), stats["refused"]), flush=True)
    end = time.monotonic() + seconds
    next_byte = time.monotonic() + 0.5
    while time.monotonic() < end:
        stats["open_max"] = max(stats["open_max"], len(conns))
        r, _, _ = select.select(list(conns), [], [], 0.1) if conns else ([], [], time.sleep(0.1))
        for s in r:
            try:
                data = s.recv(1024)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                data = b""
            if data == b"":
                closed(s, True)
        if time.monotonic() >= next_byte:
            next_byte += 0.5
            for s, st in list(conns.items()):
                try:
                    s.send(HEAD[st[1]:st[1] + 1])
                    st[1] = min(st[1] + 1, len(HEAD) - 1)
                except ssl.SSLWantWriteError:
                    pass
                except (OSError, ssl.SSLError):
                    closed(s, True)
            for _ in range(count - len(conns)):
                opened()
    for s in list(conns):
        closed(s, False)
    print("done attempts=%d open_max=%d cut=%d longest_s=%.1f" %
          (stats["attempts"], stats["open_max"], stats["cut"], stats["longest"]), flush=True)


if __name__ == "__main__":
    main()
