"""Edge cases sent as raw bytes to three servers, side by side: wsecho,
a Python websockets echo server and a Node ws echo server (each with its
library's default options).

  /usr/bin/python3 strictness.py --echo-port P

Each probe's answer from wsecho is checked against what libwsproto
documents (a case). Where a peer answers differently the difference is
printed as a note: these are the places where we are stricter or looser
than the implementations people use. Prints one JSON line per case/note.
"""

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import Results, args_dict, fatal  # noqa: E402

try:
    import websockets
except ImportError as e:
    fatal("cannot import websockets (%s)" % e)

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def frame(op, payload=b"", fin=True, rsv=0, mask=True, len_form=None):
    """A client frame; len_form 16/64 forces a (non-minimal) length form."""
    n = len(payload)
    b = bytearray([(0x80 if fin else 0) | (rsv << 4) | op])
    m = 0x80 if mask else 0
    if len_form is None:
        len_form = 7 if n < 126 else 16 if n < 65536 else 64
    if len_form == 7:
        b.append(m | n)
    elif len_form == 16:
        b += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        b += bytes([m | 127]) + n.to_bytes(8, "big")
    if mask:
        key = b"\x37\xfa\x21\x3d"
        b += key
        payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    return bytes(b) + payload


def close_frame(code, reason=b""):
    return frame(8, code.to_bytes(2, "big") + reason)


def probe(port, data, request=None, wait=1.0):
    """Send the handshake and data; describe what comes back."""
    s = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        req = request or ("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n" % KEY)
        s.sendall(req.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                return "closed before a response"
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        status = head.split(b" ", 2)[1].decode()
        if status != "101" or request:
            return "HTTP " + status
        try:
            s.sendall(data)
        except OSError:
            pass
        deadline = time.monotonic() + wait
        events = []
        while time.monotonic() < deadline:
            while len(buf) >= 2:
                n = buf[1] & 0x7F
                h = 2 + (2 if n == 126 else 8 if n == 127 else 0)
                if len(buf) < h:
                    break
                if n == 126:
                    n = int.from_bytes(buf[2:4], "big")
                elif n == 127:
                    n = int.from_bytes(buf[2:10], "big")
                if len(buf) < h + n:
                    break
                op, payload, buf = buf[0] & 15, buf[h:h + n], buf[h + n:]
                if op == 8:
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    reason = payload[2:].decode("utf-8", "replace")
                    return "close %s%s" % (code if code else "(empty)",
                                           " '%s'" % reason if reason else "")
                # The first data frame is the answer.
                return {1: "text", 2: "binary", 9: "ping", 10: "pong"}.get(
                    op, "op%d" % op) + "(%d)" % n
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                break
            except ConnectionResetError:
                events.append("TCP reset")
                return ", ".join(events)
            if not chunk:
                events.append("TCP closed")
                return ", ".join(events)
            buf += chunk
        events.append("no answer within %.1f s" % wait)
        return ", ".join(events)
    finally:
        s.close()


K = "\u03ba\u1f79\u03c3\u03bc\u03b5".encode()  # kosme

# (name, bytes to send, what libwsproto documents for wsecho)
PROBES = [
    ("length 5 sent in the 16-bit form", frame(1, b"hello", len_form=16), "close 1002"),
    ("length 5 sent in the 64-bit form", frame(1, b"hello", len_form=64), "close 1002"),
    ("RSV1 set, no extension", frame(1, b"hello", rsv=4), "close 1002"),
    ("reserved opcode 3", frame(3, b"x"), "close 1002"),
    ("unmasked client frame", frame(1, b"hello", mask=False), "close 1002"),
    ("ping with 126 bytes", frame(9, b"p" * 126), "close 1002"),
    ("close code 1004", close_frame(1004), "close 1002"),
    ("close code 1005", close_frame(1005), "close 1002"),
    ("close code 1015", close_frame(1015), "close 1002"),
    ("close code 1016", close_frame(1016), "close 1002"),
    ("close code 2999", close_frame(2999), "close 1002"),
    ("close code 3000", close_frame(3000), "close 3000"),
    ("close code 5000", close_frame(5000), "close 1002"),
    ("close with a 1-byte payload", frame(8, b"\x03"), "close 1002"),
    ("close 1000 'bye': is the reason echoed in the reply?", close_frame(1000, b"bye"),
     "close 1000"),
    ("close reason with invalid UTF-8", close_frame(1000, b"\xff"), "close 1007"),
    ("text U+FFFE noncharacter", frame(1, b"\xef\xbf\xbe"), "text(3)"),
    ("unfinished text fragment with invalid UTF-8 (fail fast)",
     frame(1, K + b"\xf4\x90\x80\x80", fin=False), "close 1007"),
    ("truncated UTF-8 at the end of a message", frame(1, K + b"\xe2\x82"),
     "close 1007"),
    ("2 MiB binary message (default limits)", frame(2, b"\x00" * (2 << 20)),
     "binary(2097152)"),
    ("text after close (must be ignored)", close_frame(1000) + frame(1, b"late"),
     "close 1000"),
]

REQUESTS = [
    ("handshake with Sec-WebSocket-Version: 8",
     "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 8\r\n\r\n" % KEY, "HTTP 426"),
    ("handshake without Host",
     "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % KEY, "HTTP 400"),
    ("handshake over HTTP/1.0",
     "GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % KEY, "HTTP 400"),
    ("handshake with a 12-byte key",
     "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: AAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP 400"),
]


def start_websockets():
    """A websockets echo server with default options, on its own thread."""
    ready = threading.Event()
    box = {}

    async def echo(ws, path=None):
        try:
            async for m in ws:
                await ws.send(m)
        except websockets.exceptions.ConnectionClosed:
            pass

    def run():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(websockets.serve(echo, "127.0.0.1", 0,
                                                          ping_interval=None))
        box["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait(5)
    return box["port"]


def main():
    a = args_dict(sys.argv[1:])
    res = Results("raw edge cases: wsecho vs websockets vs ws")
    py_port = start_websockets()
    node = subprocess.Popen(["node", os.path.join(HERE, "ws_echo.js")],
                            stdout=subprocess.PIPE)
    try:
        line = node.stdout.readline().decode()
        node_port = int(line.strip().rsplit(":", 1)[1])
        servers = [("wsecho", int(a["echo_port"])), ("websockets", py_port),
                   ("ws", node_port)]
        rows = [(n, d, None, w) for n, d, w in PROBES] + \
               [(n, b"", r, w) for n, r, w in REQUESTS]
        for name, data, request, want in rows:
            got = {}
            for sname, port in servers:
                try:
                    got[sname] = probe(port, data, request)
                except OSError as e:
                    got[sname] = "error: %s" % e
            def key(r):
                # A failure's reason text is informative; only the probe
                # about reason echoing compares it.
                return r if "echoed" in name else r.split(" '")[0]
            ok = key(got["wsecho"]) == want
            res.report(name, ok, "" if ok else "wsecho: %s (want %s)" % (got["wsecho"], want))
            others = ["%s: %s" % (s, got[s]) for s in ("websockets", "ws")
                      if key(got[s]) != key(got["wsecho"])]
            if others:
                res.note("%s -- wsecho: %s; %s" % (name, got["wsecho"], "; ".join(others)))
    finally:
        node.kill()
        node.wait()


if __name__ == "__main__":
    main()
