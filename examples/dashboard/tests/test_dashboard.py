#!/usr/bin/python3
"""test_dashboard — ws-dashboard over loopback, without and with a browser.

Server side (raw WebSocket from this file, examples/tests/wstest.py): the
/events stream for frames sent both ways (every field, the length forms
of 125/126/65535/65536-byte frames, masks, fragment counts, offsets,
heads), coalescing above 200 frames a second, stats and RTT, generated
messages, wscat --fragment traffic, close codes; bad /ws queries get 400
with a reason and the server keeps serving. Then the page in headless
Chromium (browser.js, playwright-core from tests/interop/node_modules),
which saves its screenshots under --workdir/screenshots.

    /usr/bin/python3 test_dashboard.py --server ws-dashboard --wscat wscat \\
        --workdir DIR [--no-skip] [-k NAME]
"""

import argparse
import contextlib
import hashlib
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests"))
import wstest  # noqa: E402
from wstest import Fail, Skip, check, eq, OP_TEXT, OP_BINARY, OP_CONT  # noqa: E402
from wstest import OP_CLOSE, OP_PING  # noqa: E402

ARGS = None
SRV = None
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


class Dashboard:
    """ws-dashboard on a free port; the port from its one stdout line."""

    def __init__(self, args=()):
        self.log = open(os.path.join(ARGS.workdir, "ws-dashboard.log"), "ab")
        self.proc = subprocess.Popen(
            [ARGS.server, "--port", "0"] + list(args),
            stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        check(line.startswith("ws-dashboard listening on 127.0.0.1:"),
              "ws-dashboard did not say where it listens: %r" % line)
        self.port = int(line.rsplit(":", 1)[1])

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        status = wstest.terminate(self.proc)
        self.proc.stdout.close()
        self.log.close()
        if status is None:
            raise Fail("ws-dashboard ignored SIGTERM")
        return status


class Events:
    """A /events subscriber: every event, parsed, in arrival order."""

    def __init__(self, port):
        self.c = wstest.Client(port, "/events")
        self.all = []
        hello = self.next(5)
        eq(hello["ev"], "hello", "first event")
        self.hello = hello

    def next(self, timeout):
        self.c.sock.settimeout(timeout)
        m = self.c.recv_message()
        check(m is not None, "/events closed")
        eq(m[0], OP_TEXT, "/events message type")
        ev = json.loads(m[1].decode())
        self.all.append(ev)
        return ev

    def until(self, pred, timeout=10, what="event"):
        """Read until pred(event) holds; returns that event."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("no %s within %d s (last events: %s)" % (
                    what, timeout, json.dumps(self.all[-3:])[:600]))
            try:
                ev = self.next(left)
            except socket.timeout:
                continue
            if pred(ev):
                return ev

    def of(self, conn, ev, dir=None):
        return [e for e in self.all if e.get("conn") == conn and
                e["ev"] == ev and (dir is None or e["dir"] == dir)]

    def close(self):
        self.c.close()


def ws_open(path, events):
    """A /ws client and its conn id, from the open event it causes."""
    tag = "t%d" % time.monotonic_ns()
    sep = "&" if "?" in path else "?"
    c = wstest.Client(SRV.port, path + sep + "tag=" + tag)
    ev = events.until(lambda e: e["ev"] == "open" and e["conn"]["tag"] == tag,
                      what="open event for " + tag)
    return c, ev["conn"]["conn"]


@contextlib.contextmanager
def session(path):
    """A subscriber, and a /ws client with its conn id; both closed after."""
    ev = Events(SRV.port)
    try:
        c, conn = ws_open(path, ev)
        try:
            yield ev, c, conn
        finally:
            c.close()
    finally:
        ev.close()


def recv_frames(c, until_fin=True):
    """Data frames of one echoed message, as the client got them; pings
    are answered, pongs skipped."""
    frames = []
    while True:
        f = c.recv_frame()
        check(f is not None, "EOF while reading an echo")
        fin, op, payload = f
        if op == OP_PING:
            c.send_frame(wstest.OP_PONG, payload)
            continue
        if op >= 8:
            continue
        frames.append(f)
        if fin or not until_fin:
            return frames


def message_event(events, conn, dir, n=1):
    """The n-th message event of conn in direction dir."""
    if len(events.of(conn, "message", dir)) < n:
            events.until(lambda e: e["ev"] == "message" and e["conn"] == conn
                     and e["dir"] == dir and
                     len(events.of(conn, "message", dir)) >= n,
                     what="message %s #%d of conn %d" % (dir, n, conn))
    return events.of(conn, "message", dir)[n - 1]


def data_frames(events, conn, dir):
    return [e for e in events.of(conn, "frame", dir) if e["opcode"] < 8]


def expanded_sizes(m):
    s = m["sizes"]
    if isinstance(s, list):
        return s
    out = []
    for size, count in s["runs"]:
        out += [size] * count
    return out


def head_hex(b):
    return b[:16].hex()


# ------------------------------------------------------------- the tests

def page_and_files_served():
    st, hd, body = wstest.http(SRV.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    eq(st, 200, "GET / status")
    check(hd.get("content-type", "").startswith("text/html"), "GET / type")
    check(b"ws-dashboard" in body or b"Fragmentation" in body,
          "GET / is the dashboard page")
    for f, t in (("app.js", "text/javascript"), ("style.css", "text/css")):
        st, hd, _ = wstest.http(SRV.port, b"GET /" + f.encode() +
                                b" HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(st, 200, "GET /" + f)
        check(hd.get("content-type", "").startswith(t), f + " type")


def hello_describes_limits():
    ev = Events(SRV.port)
    try:
        lim = ev.hello["limits"]
        eq(lim["frame_rate"], 200, "frame rate limit")
        eq(lim["fragment"], 16 * 1024 * 1024, "fragment limit")
        check(isinstance(ev.hello["conns"], list), "hello lists connections")
    finally:
        ev.close()


def length_forms_both_ways():
    """One-frame echoes of 125/126/65535/65536 bytes: 7-, 16-, 16- and
    64-bit lengths, the exact header bytes, masks, SHA-256."""
    with session("/ws") as (ev, c, conn):
        want = {125: 7, 126: 16, 65535: 16, 65536: 64}
        for n, (size, form) in enumerate(sorted(want.items()), 1):
            payload = bytes((i * 7) & 0xFF for i in range(size))
            key = os.urandom(4)
            wire = wstest.frame(OP_BINARY, payload, key=key)
            c.send(wire)
            got = recv_frames(c)
            eq(len(got), 1, "%d: frames back" % size)
            eq(got[0][2], payload, "%d: echo" % size)
            m_in = message_event(ev, conn, "in", n)
            m_out = message_event(ev, conn, "out", n)
            f_in = data_frames(ev, conn, "in")[-1]
            f_out = data_frames(ev, conn, "out")[-1]
            hlen = len(wire) - size
            eq(f_in["header"], wire[:hlen].hex(), "%d: in header" % size)
            eq(f_in["len_form"], form, "%d: in length form" % size)
            eq(f_out["len_form"], form, "%d: out length form" % size)
            eq(f_in["len"], size, "%d: in len" % size)
            eq((f_in["masked"], f_in["mask_key"]), (True, key.hex()),
               "%d: client frame masked" % size)
            eq((f_out["masked"], f_out["mask_key"]), (False, None),
               "%d: server frame not masked" % size)
            eq((f_in["fin"], f_in["opcode"], f_in["opname"], f_in["rsv"]),
               (True, 2, "binary", 0), "%d: in flags" % size)
            eq(f_in["head"], head_hex(payload), "%d: in head" % size)
            eq(f_out["head"], head_hex(payload), "%d: out head" % size)
            digest = hashlib.sha256(payload).hexdigest()
            for m in (m_in, m_out):
                eq((m["size"], m["frames"], m["sizes"], m["sha256"]),
                   (size, 1, [size], digest), "%d: %s message" % (size, m["dir"]))


def fragment_counts_and_flags():
    """?fragment=N: ceil(size/N) frames of N (the last shorter), FIN only
    on the last, opcode 0 on continuations, offsets, the same frames in
    /events as on the wire."""
    cases = [(1000, 100), (1001, 100), (1, 100), (100, 100), (0, 10),
             (65536, 1000), (70000, 65536), (300, 125)]
    ev = Events(SRV.port)
    try:
        for size, n in cases:
            c, conn = ws_open("/ws?fragment=%d" % n, ev)
            payload = os.urandom(size)
            c.send_frame(OP_BINARY, payload)
            got = recv_frames(c)
            want = max(1, math.ceil(size / n))
            what = "%d bytes in frames of %d" % (size, n)
            eq(len(got), want, what + ": frames received")
            eq(b"".join(f[2] for f in got), payload, what + ": echo")
            eq([f[0] for f in got], [False] * (want - 1) + [True], what + ": FIN")
            eq([f[1] for f in got], [OP_BINARY] + [OP_CONT] * (want - 1),
               what + ": opcodes")
            m = message_event(ev, conn, "out")
            eq(m["frames"], want, what + ": message frames")
            eq(expanded_sizes(m), [len(f[2]) for f in got], what + ": sizes")
            eq(m["sha256"], hashlib.sha256(payload).hexdigest(), what + ": sha")
            fr = data_frames(ev, conn, "out")
            eq(len(fr), want, what + ": frame events")
            eq([f["fin"] for f in fr], [False] * (want - 1) + [True],
               what + ": FIN in events")
            eq([f["opcode"] for f in fr], [2] + [0] * (want - 1),
               what + ": opcodes in events")
            eq([f["offset"] for f in fr], [i * n for i in range(want)],
               what + ": offsets")
            check(all(not f["masked"] for f in fr), what + ": unmasked")
            c.close()
    finally:
        ev.close()


def client_fragments_and_control_frames():
    """A message the client fragments, with a ping between fragments:
    opcodes 1,0,0, FIN on the last, each masked; the ping has no offset
    and is not part of the message; mixed UTF-8 split inside characters."""
    with session("/ws?fragment=3") as (ev, c, conn):
        text = "héllo wörld €".encode()
        parts = [text[:2], text[2:9], text[9:]]  # cuts inside é and €
        c.send_frame(OP_TEXT, parts[0], fin=False)
        c.send_frame(OP_PING, b"between")
        c.send_frame(OP_CONT, parts[1], fin=False)
        c.send_frame(OP_CONT, parts[2], fin=True)
        got = recv_frames(c)
        eq(b"".join(f[2] for f in got), text, "echo of fragmented text")
        eq(len(got), math.ceil(len(text) / 3), "echo frames")
        m = message_event(ev, conn, "in")
        eq((m["frames"], m["sizes"], m["size"], m["utf8_ok"], m["opname"]),
           (3, [len(p) for p in parts], len(text), True, "text"), "in message")
        eq(m["sha256"], hashlib.sha256(text).hexdigest(), "in sha")
        fr = [e for e in ev.of(conn, "frame", "in")]
        eq([(f["opcode"], f["fin"]) for f in fr],
           [(1, False), (9, True), (0, False), (0, True)], "in frames")
        eq([f["offset"] for f in fr], [0, None, 2, 9], "in offsets")
        eq(fr[1]["len"], 7, "ping length")
        check(all(f["masked"] and len(f["mask_key"]) == 8 for f in fr),
              "client frames masked")
        eq(fr[2]["head"], parts[1].hex(), "head of a fragment")
        ping_out = [e for e in ev.of(conn, "frame", "out") if e["opcode"] == 10]
        check(ping_out, "the engine's pong shows up as an out frame")


def generated_messages():
    """?generate=SIZE&type=...: one message first, in frames of N, made of
    the documented pattern; then echo as usual."""
    ev = Events(SRV.port)
    try:
        for typ, op in (("binary", OP_BINARY), ("text", OP_TEXT)):
            c, conn = ws_open("/ws?generate=1000&type=%s&fragment=300" % typ, ev)
            got = recv_frames(c)
            eq([len(f[2]) for f in got], [300, 300, 300, 100], typ + ": frames")
            eq(got[0][1], op, typ + ": opcode")
            data = b"".join(f[2] for f in got)
            if typ == "text":
                alphabet = (b"0123456789abcdefghijklmnopqrstuvwxyz"
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\n")
                want = bytes(alphabet[i % len(alphabet)] for i in range(1000))
            else:
                want = bytes((i * 131 + (i >> 8)) & 0xFF for i in range(1000))
            eq(data, want, typ + ": generated bytes")
            m = message_event(ev, conn, "out")
            eq(m["sha256"], hashlib.sha256(want).hexdigest(), typ + ": sha")
            c.echo(OP_TEXT, b"and then an echo")
            c.close()
        c, conn = ws_open("/ws?generate=0", ev)
        got = recv_frames(c)
        eq([(f[0], f[1], f[2]) for f in got], [(True, OP_TEXT, b"")],
           "generate=0: one empty text frame")
        c.close()
    finally:
        ev.close()


def generated_message_is_paced():
    """32 MiB in 64-byte frames (524,288 frames) to a client that does
    not read yet: the server sends as the queue drains, so it holds about
    1 MiB for it, not 32, and serves others meanwhile; a message the
    client sends during it is echoed after it (RFC 6455 §5.4)."""
    size, n = 32 << 20, 64
    slow = wstest.Client(SRV.port, "/ws?generate=%d&fragment=%d" % (size, n),
                         timeout=60)
    slow.send_frame(OP_TEXT, b"sent during the generated message")
    time.sleep(0.5)
    t = time.monotonic()
    other = wstest.Client(SRV.port, "/ws?fragment=3")
    other.send_frame(OP_TEXT, b"served meanwhile")
    eq(b"".join(f[2] for f in recv_frames(other)), b"served meanwhile",
       "another client's echo")
    check(time.monotonic() - t < 2, "another client waited %.1f s"
          % (time.monotonic() - t))
    other.close()
    rss = wstest.status_kib(SRV.proc.pid)
    RUNNER.notes.append("server RSS while 32 MiB are generated for a client "
                        "not reading: %d KiB" % rss)
    check(rss < 16 * 1024, "server RSS %d KiB while 32 MiB are generated" % rss)
    frames, got = 0, hashlib.sha256()
    while True:
        f = slow.recv_frame()
        check(f is not None, "EOF during the generated message")
        if f[1] >= 8:
            continue
        frames += 1
        got.update(f[2])
        if f[0]:
            break
    eq(frames, size // n, "generated frames")
    alphabet = (b"0123456789abcdefghijklmnopqrstuvwxyz"
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\n")
    cycle = alphabet * (size // len(alphabet) + 1)
    eq(got.hexdigest(), hashlib.sha256(cycle[:size]).hexdigest(),
       "generated bytes")
    echo = recv_frames(slow)
    eq(b"".join(f[2] for f in echo), b"sent during the generated message",
       "the message held meanwhile, echoed after")
    slow.close()


def coalescing_above_200_frames_a_second():
    """A 1 MiB message echoed in 125-byte frames is 8,389 frames out: at
    most 200 frame events per connection and second, the rest in
    coalesced events whose counts and bytes make up the difference."""
    with session("/ws?fragment=125") as (ev, c, conn):
        size = 1 << 20
        payload = os.urandom(size)
        t0 = time.monotonic()
        c.send_frame(OP_BINARY, payload)
        got = recv_frames(c)
        want = math.ceil(size / 125)
        eq(len(got), want, "frames received")
        eq(b"".join(f[2] for f in got), payload, "echo")
        m = message_event(ev, conn, "out")
        eq(m["frames"], want, "message frames")
        eq(m["sizes"]["runs"], [[125, want - 1], [size % 125, 1]], "size runs")
        eq(m["sha256"], hashlib.sha256(payload).hexdigest(), "sha")
        # the coalesced remainder is reported by the next tick at the latest,
        # before the stats; the stats count every frame (pings too)
        st = ev.until(lambda e: e["ev"] == "stats", timeout=3, what="stats")
        pc = [p for p in st["per_conn"] if p["conn"] == conn][0]
        secs = time.monotonic() - t0 + 1
        listed = ev.of(conn, "frame", "out")
        co = ev.of(conn, "coalesced", "out")
        check(co, "coalesced events were sent")
        folded = sum(e["count"] for e in co)
        eq(len(listed) + folded, pc["frames_out"], "listed + coalesced frames")
        eq(sum(f["len"] for f in listed) + sum(e["bytes"] for e in co),
           pc["bytes_out"], "listed + coalesced bytes")
        check(pc["frames_out"] >= want, "frames out counted")
        every = ev.of(conn, "frame")
        check(len(every) <= 200 * math.ceil(secs) + 200,
              "%d frame events in %.1f s" % (len(every), secs))
        for e in co:
            check(1 <= len(e["samples"]) <= 3, "samples")
            eq((e["samples"][0]["conn"], e["samples"][0]["dir"]),
               (conn, "out"), "a sample frame")


def stats_every_second_with_rtt():
    with session("/ws") as (ev, c, conn):
        c.echo(OP_TEXT, b"count me")
        # answer the server's pings until the RTT is known
        c.sock.settimeout(0.2)
        deadline = time.monotonic() + 5
        st = None
        while time.monotonic() < deadline:
            try:
                f = c.recv_frame()
                if f and f[1] == OP_PING:
                    c.send_frame(wstest.OP_PONG, f[2])
            except socket.timeout:
                pass
            try:
                e = ev.next(0.05)
            except socket.timeout:
                continue
            if e["ev"] == "stats":
                pc = [p for p in e["per_conn"] if p["conn"] == conn]
                if pc and pc[0]["rtt_us"] is not None:
                    st = e
                    break
        check(st is not None, "no stats with an RTT for our connection")
        pc = [p for p in st["per_conn"] if p["conn"] == conn][0]
        check(0 < pc["rtt_us"] < 2000000, "rtt %r" % pc["rtt_us"])
        check(st["messages_in"] >= 1 and st["messages_out"] >= 1, "counts")
        check(st["bytes_in"] >= 8 and st["frames_in"] >= 1, "totals")
        eq(len(st["hist_in"]), 28, "histogram buckets")
        check(st["hist_in"][4] >= 1, "an 8-byte frame in bucket 4")
        stats = [e for e in ev.all if e["ev"] == "stats"]
        if len(stats) >= 2:
            gap = (stats[-1]["t_us"] - stats[-2]["t_us"]) / 1e6
            check(0.5 < gap < 2.0, "stats every second: %.2f s" % gap)


def close_code_and_reason():
    with session("/ws") as (ev, c, conn):
        c.send_frame(OP_CLOSE, wstest.close_payload(4000, "bye \"now\"".encode()))
        c.expect_close(4000)
        e = ev.until(lambda e: e["ev"] == "close" and e["conn"] == conn,
                     what="close event")
        eq((e["code"], e["reason"]), (4000, 'bye "now"'), "close event")
        fr = [f for f in ev.of(conn, "frame", "in") if f["opcode"] == 8]
        eq(len(fr), 1, "close frame in")


def wscat_fragmented_message():
    ev = Events(SRV.port)
    try:
        line = "a message from wscat, 45 bytes long.........."
        eq(len(line), 45, "line length")
        p = subprocess.run(
            [ARGS.wscat, "--fragment", "10",
             "ws://127.0.0.1:%d/ws?tag=wscat" % SRV.port],
            input=(line + "\n").encode(), capture_output=True, timeout=20)
        eq(p.returncode, 0, "wscat exit (stderr %r)" % p.stderr[-300:])
        eq(p.stdout.decode().strip(), line, "wscat got its echo")
        o = ev.until(lambda e: e["ev"] == "open" and e["conn"]["tag"] == "wscat",
                     what="wscat's open")
        conn = o["conn"]["conn"]
        m = message_event(ev, conn, "in")
        eq((m["frames"], m["sizes"]), (5, [10, 10, 10, 10, 5]), "wscat message")
        fr = data_frames(ev, conn, "in")
        eq([f["opcode"] for f in fr], [1, 0, 0, 0, 0], "wscat opcodes")
        eq([f["fin"] for f in fr], [False] * 4 + [True], "wscat FIN")
        check(all(f["masked"] for f in fr), "wscat masks")
    finally:
        ev.close()


BAD = [
    ("fragment=-1", "fragment: must not be negative"),
    ("fragment=abc", "fragment: 'abc' is not a number of bytes"),
    ("fragment=1.5", "fragment: '1.5' is not a number of bytes"),
    ("fragment=", "fragment: '' is not a number of bytes"),
    ("fragment=99999999999999999999999",
     "fragment: '99999999999999999999999' is not a number of bytes"),
    ("fragment=16777217", "fragment: 16777217 bytes is over the limit"),
    ("generate=1000000000", "generate: 1000000000 bytes is over the limit"),
    ("generate=-5", "generate: must not be negative"),
    ("generate=10&type=json", "type: must be 'text' or 'binary'"),
    ("frag=10", "unknown parameter 'frag'"),
    ("tag=%3Cb%3E", "tag: only letters, digits"),
]


def bad_requests_get_400_with_a_reason():
    for query, reason in BAD:
        key = b"dGhlIHNhbXBsZSBub25jZQ=="
        st, hd, body = wstest.http(
            SRV.port, b"GET /ws?" + query.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        eq(st, 400, query + ": status")
        check(reason in body.decode(errors="replace"),
              "%s: body %r lacks %r" % (query, body[:200], reason))
        check(SRV.alive(), "server died after " + query)
    st, _, _ = wstest.http(SRV.port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    eq(st, 404, "unknown file")
    c = wstest.Client(SRV.port, "/elsewhere", handshake=False)
    c.sock.sendall(b"GET /elsewhere HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   b"Connection: Upgrade\r\nSec-WebSocket-Key: "
                   b"dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = c.read_head()
    check(head.startswith(b"HTTP/1.1 404"), "upgrade elsewhere: %r" % head[:40])
    c.close()
    ok = wstest.Client(SRV.port, "/ws?fragment=4")
    ok.send_frame(OP_TEXT, b"still serving")
    eq(b"".join(f[2] for f in recv_frames(ok)), b"still serving", "after")
    ok.close()


def one_frame_echo_limit_closes_1009():
    """fragment=0 holds the message whole; beyond --max-message: 1009."""
    srv = Dashboard(["--max-message", "1000"])
    try:
        c = wstest.Client(srv.port, "/ws")
        c.send_frame(OP_BINARY, b"x" * 1001)
        reason = c.expect_close(1009)
        check(b"fragment" in reason, "the reason says what to do: %r" % reason)
        c.close()
        c = wstest.Client(srv.port, "/ws?fragment=100")
        c.send_frame(OP_BINARY, b"y" * 5000)
        eq(len(recv_frames(c)), 50, "fragmented echo has no such limit")
        c.close()
    finally:
        eq(srv.stop(), 0, "exit status after SIGTERM")


def options_and_help():
    p = subprocess.run([ARGS.server, "--help"], capture_output=True, timeout=5)
    eq(p.returncode, 0, "--help status")
    for word in (b"--port", b"--web", b"/events", b"fragment"):
        check(word in p.stdout, "--help mentions %r" % word)
    for bad in (["--port", "x"], ["--max-message", "0"], ["--web", "/nonexistent"],
                ["stray"]):
        p = subprocess.run([ARGS.server] + bad, capture_output=True, timeout=5)
        eq(p.returncode, 1, "%r status" % bad)
        check(b"ws-dashboard:" in p.stderr, "%r says why: %r" % (bad, p.stderr))


# ------------------------------------------------------------ browser

def browser():
    node = shutil.which("node")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    modules = os.path.join(ROOT, "tests", "interop", "node_modules")
    if not node or not os.path.exists(chromium):
        raise Skip("no node or no %s" % chromium)
    if not os.path.isdir(os.path.join(modules, "playwright-core")):
        raise Skip("playwright-core is not installed in tests/interop")
    shots = os.path.join(ARGS.workdir, "screenshots")
    os.makedirs(shots, exist_ok=True)
    env = dict(os.environ, NODE_PATH=modules)
    p = subprocess.Popen([node, os.path.join(HERE, "browser.js"),
                          "--port", str(SRV.port), "--wscat", ARGS.wscat,
                          "--screenshots", shots],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise Fail("browser.js did not finish in 240 s; stderr: %s" % err.decode()[-1000:])
    cases = 0
    for line in out.decode().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            RUNNER.notes.append("browser.js: " + line)
            continue
        if "note" in r:
            RUNNER.notes.append("browser: " + r["note"])
        else:
            cases += 1
            RUNNER.report("browser: " + r["case"], r["ok"], r.get("msg", ""))
    check(p.returncode == 0 or cases, "browser.js exit %d, stderr: %s" % (
        p.returncode, err.decode()[-2000:]))
    check(cases > 0, "browser.js reported nothing")


TESTS = [page_and_files_served, hello_describes_limits, length_forms_both_ways,
         fragment_counts_and_flags, client_fragments_and_control_frames,
         generated_messages, generated_message_is_paced,
         coalescing_above_200_frames_a_second,
         stats_every_second_with_rtt, close_code_and_reason,
         wscat_fragmented_message, bad_requests_get_400_with_a_reason,
         one_frame_echo_limit_closes_1009, options_and_help, browser]


def main():
    global ARGS, SRV, RUNNER
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--wscat", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--no-skip", action="store_true",
                    help="a test that cannot run (no browser, no node) fails")
    ap.add_argument("-k", default="", help="run the tests whose name has this")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.workdir, exist_ok=True)
    RUNNER = wstest.Runner("dashboard", no_skip=ARGS.no_skip)
    SRV = Dashboard()

    def still_up():
        if not SRV.alive():
            raise SystemExit("ws-dashboard died; see %s/ws-dashboard.log" % ARGS.workdir)

    status = RUNNER.run(TESTS, ARGS.k, deadline=250, after_each=still_up)
    if SRV.stop() != 0:
        print("FAIL  ws-dashboard exit status after SIGTERM")
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
