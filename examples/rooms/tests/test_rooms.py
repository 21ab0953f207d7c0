#!/usr/bin/python3
"""test_rooms.py — rooms-server and rooms-client end to end, over loopback
(examples/rooms/PROTOCOL.md): stage 1 relay and its drops; TCRP create,
join, list, leave, kick, close with every status; room datagrams and token
spoofing; hosts leaving and timing out; idle timeouts; malformed TCRP
(short, oversize, garbage, slowloris) never blocking anyone else; the
GUI's WebSocket /ws in a room with UDP members; SIGINT; the CLI client on
scripted stdin.

  /usr/bin/python3 examples/rooms/tests/test_rooms.py \\
      --server build/examples/rooms/rooms-server \\
      --client build/examples/rooms/rooms-client [-k NAME]

Standard library only. Every server binds port 0 on all four ports; every
process started is stopped by its PID; every wait is bounded. One line per
case; ends with "N passed, N failed"; exit status 1 if any failed.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "examples", "tests"))
from wstest import (OP_BINARY, OP_CLOSE, OP_TEXT,  # noqa: E402
                    Client, Fail, Runner, Server, Skip, check, eq, run,
                    exchange, recv_to_eof, status_kib, suite_args)

SERVER = CLIENT = None
QUIET = 0.3  # seconds to wait for a datagram that must NOT arrive


# ------------------------------------------------------------ the server

class Rooms(Server):
    """rooms-server on four free ports, read from its start line (stop()
    and log_text() are wstest's)."""

    def __init__(self, *args, web=None):
        self.tmp = tempfile.mkdtemp(prefix="rooms-test-")
        self.web = web or self.tmp
        self.log_path = os.path.join(self.tmp, "server.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [SERVER, "--chat-port", "0", "--udp-port", "0", "--tcp-port", "0",
             "--http-port", "0", "--web", self.web] + list(args),
            stdout=subprocess.PIPE, stderr=self.log)
        self.pid = self.proc.pid
        line = self.proc.stdout.readline().decode()
        m = re.match(r"rooms-server listening chat=127\.0\.0\.1:(\d+) "
                     r"udp=127\.0\.0\.1:(\d+) tcp=127\.0\.0\.1:(\d+) "
                     r"http=127\.0\.0\.1:(\d+)\n$", line)
        check(m, "no start line: %r" % line)
        self.chat, self.udp, self.tcp, self.http = map(int, m.groups())

    def log_text(self):
        self.log.flush()
        return Server.log_text(self)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        status = Server.stop(self, sig, timeout)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return status

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        status = self.stop()
        if exc[0] is None and status != 0:
            raise Fail("rooms-server exited with %r; its log:\n%s"
                       % (status, self.log_text()[-2000:]))
        return False


# --------------------------------------------------------------- packets

def tcrp(op, room=b"", payload=b"", state=0):
    if isinstance(payload, dict):
        payload = json.dumps(payload).encode()
    if isinstance(room, str):
        room = room.encode()
    return (bytes([len(room), op, state]) + len(payload).to_bytes(29, "big")
            + room + payload)


def parse_tcrp(data):
    """[(op, state, room, payload)] of a stream of TCRP messages."""
    out = []
    while data:
        check(len(data) >= 32, "a truncated answer: %r" % data)
        n, size = data[0], int.from_bytes(data[3:32], "big")
        check(len(data) >= 32 + n + size, "an answer shorter than its sizes")
        body = data[32 + n:32 + n + size]
        out.append((data[1], data[2], data[32:32 + n], body))
        data = data[32 + n + size:]
    return out


def transact(srv, msg, timeout=3.0):
    """One TCP transaction: the answers, read until the server closes."""
    return parse_tcrp(exchange(srv.tcp, msg, timeout=timeout))


def status_of(answers):
    check(answers and answers[0][1] == 1, "no state 1 answer: %r" % answers)
    return json.loads(answers[0][3])


def enter(srv, op, room, user, password=None, want=200):
    """Create or join; returns (answer JSON, token)."""
    req = {"username": user}
    if password is not None:
        req["password"] = password
    a = transact(srv, tcrp(op, room, req))
    j = status_of(a)
    eq(j["status"], want, "status of %s %s as %s: %r" % (op, room, user, j))
    if want != 200:
        eq(len(a), 1, "answers of a refusal")
        return j, None
    eq(len(a), 2, "answers of a success")
    eq((a[1][0], a[1][1], a[1][2]), (op, 2, room.encode()), "state 2 header")
    token = a[1][3]
    check(len(token) <= 255 and all(0x21 <= b <= 0x7e for b in token),
          "token not printable: %r" % token)
    return j, token


def room_op(srv, op, room, token, user=None, want=200):
    req = {"token": token.decode()}
    if user is not None:
        req["username"] = user
    a = transact(srv, tcrp(op, room, req))
    eq(len(a), 1, "answers of op %d" % op)
    j = status_of(a)
    eq(j["status"], want, "status of op %d: %r" % (op, j))
    return j


class Udp:
    """One UDP socket: one address for the whole test."""

    def __init__(self, port):
        self.port = port
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))

    def send(self, data):
        self.s.sendto(data, ("127.0.0.1", self.port))

    def recv(self, timeout=2.0):
        self.s.settimeout(timeout)
        try:
            return self.s.recvfrom(65536)[0]
        except socket.timeout:
            raise Fail("no datagram within %.1f s" % timeout)

    def silent(self, what, timeout=QUIET):
        self.s.settimeout(timeout)
        try:
            d = self.s.recvfrom(65536)[0]
        except socket.timeout:
            return
        raise Fail("%s: got %r" % (what, d))

    def json(self, timeout=2.0):
        return json.loads(self.recv(timeout))

    def close(self):
        self.s.close()


def chat_dgram(name, text):
    return bytes([len(name)]) + name + text


def room_dgram(room, token, text=b""):
    return bytes([len(room), len(token)]) + room + token + text


class Member(Udp):
    """A room member over UDP: its token, bound by a first heartbeat."""

    def __init__(self, srv, op, room, user, password=None):
        Udp.__init__(self, srv.udp)
        self.room, self.user = room.encode(), user
        self.answer, self.token = enter(srv, op, room, user, password)
        self.say(b"")
        time.sleep(0.02)  # bound before what the test does next

    def say(self, text):
        self.send(room_dgram(self.room, self.token, text))


def three_members(srv):
    """alice hosts "lobby", bob and carol join; the join notices read."""
    alice = Member(srv, 1, "lobby", "alice")
    bob = Member(srv, 2, "lobby", "bob")
    carol = Member(srv, 2, "lobby", "carol")
    alice.json(), alice.json(), bob.json()
    return alice, bob, carol


def wait_for(cond, what, timeout=3.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise Fail("never happened: " + what)


# ---------------------------------------------------------------- stage 1

def test_stage1_relay():
    with Rooms() as srv:
        a, b, c = Udp(srv.chat), Udp(srv.chat), Udp(srv.chat)
        for u, n in ((a, b"a"), (b, b"b"), (c, b"c")):
            u.send(chat_dgram(n, b""))  # a heartbeat: known, not relayed
        time.sleep(0.1)
        msg = chat_dgram("zoë".encode(), "héllo ☃".encode())
        a.send(msg)
        eq(b.recv(), msg, "relayed unchanged to b")
        eq(c.recv(), msg, "relayed unchanged to c")
        a.silent("the sender gets no echo")
        b.silent("heartbeats are not relayed")
        bad = [bytes([3]) + b"bob" + b"ab\x80c",       # invalid UTF-8
               bytes([2]) + b"\xff\xfe" + b"x",         # invalid UTF-8 name
               bytes([0]) + b"hello",                  # zero name length
               bytes([9]) + b"alice",                  # overlong name length
               b"",                                    # empty
               bytes([1]) + b"a" + b"x" * 4095]        # 4097 bytes
        for d in bad:
            a.send(d)
        ok = bytes([1]) + b"a" + b"x" * 4094           # exactly 4096
        a.send(ok)
        eq(b.recv(), ok, "a datagram of 4096 bytes is relayed")
        b.silent("nothing invalid relayed")
        c.recv()
        c.silent("nothing invalid relayed")
        wait_for(lambda: srv.log_text().count("chat: dropped a datagram") == 6,
                 "six drops logged")
        check("(6 dropped" in srv.log_text(), srv.log_text())
        for u in (a, b, c):
            u.close()


def test_stage1_idle_timeout():
    with Rooms("--idle-timeout", "0.4") as srv:
        a, b = Udp(srv.chat), Udp(srv.chat)
        a.send(chat_dgram(b"a", b""))
        b.send(chat_dgram(b"b", b""))
        time.sleep(0.8)  # b is forgotten; a too, but a's next send is back
        a.send(chat_dgram(b"a", b"anyone?"))
        b.silent("a forgotten client gets nothing")
        b.send(chat_dgram(b"b", b"back"))
        eq(a.recv(), chat_dgram(b"b", b"back"), "a is known again")
        a.close()
        b.close()


# ------------------------------------------------------------------ TCRP

def test_create_join_statuses():
    with Rooms() as srv:
        j, tok = enter(srv, 1, "lobby", "alice")
        eq(j, {"status": 200, "message": "room created", "host": "alice",
               "members": ["alice"], "password": False, "idle_timeout": 60},
           "create answer")
        enter(srv, 1, "lobby", "carol", want=409)
        j, _ = enter(srv, 2, "nowhere", "bob", want=404)
        eq(j["message"], "no such room", "404 message")
        j, _ = enter(srv, 2, "lobby", "bob")
        eq(j["members"], ["alice", "bob"], "members after a join")
        enter(srv, 2, "lobby", "bob", want=409)  # the name is taken
        enter(srv, 1, "vault", "vera", password="s3cret")
        enter(srv, 2, "vault", "bob", want=401)
        enter(srv, 2, "vault", "bob", password="wrong", want=401)
        enter(srv, 2, "vault", "bob", password="s3cret")
        for bad in (b"not json", b"[1]", b'{"username": 5}', b"{}",
                    b'{"username": ""}'):
            j = status_of(transact(srv, tcrp(2, "lobby", bad)))
            eq(j["status"], 400, "400 for %r" % bad)
        j = status_of(transact(srv, tcrp(6)))
        eq(j["rooms"], [{"name": "lobby", "members": 2, "password": False},
                        {"name": "vault", "members": 2, "password": True}],
           "list")
        a = transact(srv, tcrp(6))
        eq(a[0][:3], (6, 1, b""), "list answer header")
        room_op(srv, 5, "lobby", b"x" * 32, want=403)    # not a token
        room_op(srv, 5, "nowhere", tok, want=404)
        room_op(srv, 5, "vault", tok, want=403)         # another room's
        j = status_of(transact(srv, tcrp(5, "lobby", {})))
        eq(j["status"], 400, "close without a token")
        _, bob = enter(srv, 2, "lobby", "bobby")
        room_op(srv, 5, "lobby", bob, want=403)         # not the host
        room_op(srv, 4, "lobby", bob, "alice", want=403)
        room_op(srv, 4, "lobby", tok, "nobody", want=404)
        room_op(srv, 4, "lobby", tok, "alice", want=400)  # itself
        room_op(srv, 5, "lobby", tok)
        enter(srv, 2, "lobby", "dave", want=404)


def test_max_members():
    """--max-members bounds what a flood of creates and joins can make
    the server hold: past it, 503; a member leaving makes room."""
    with Rooms("--max-members", "3") as srv:
        _, host = enter(srv, 1, "a", "alice")
        enter(srv, 2, "a", "bob")
        _, carol = enter(srv, 1, "c", "carol")
        j, _ = enter(srv, 2, "a", "dave", want=503)
        check("--max-members" in j["message"], j)
        enter(srv, 1, "d", "dave", want=503)
        room_op(srv, 3, "c", carol)
        enter(srv, 2, "a", "dave")


def test_room_relay_and_spoofing():
    with Rooms() as srv:
        alice = Member(srv, 1, "lobby", "alice")
        bob = Member(srv, 2, "lobby", "bob")
        eq(alice.json(), {"type": "system", "text": "bob joined",
                          "event": "join", "user": "bob"}, "join notice")
        carol = Member(srv, 2, "lobby", "carol")
        alice.json(), bob.json()
        olga = Member(srv, 1, "other", "olga")
        bob.say("héllo ☃".encode())
        want = {"type": "chat", "from": "bob", "text": "héllo ☃"}
        eq(alice.json(), want, "chat to alice")
        eq(carol.json(), want, "chat to carol")
        bob.silent("no echo")
        olga.silent("another room hears nothing")
        # Spoofing: bob's token from another address, olga's token in
        # lobby, a made-up token, a bad datagram.
        eve = Udp(srv.udp)
        eve.send(room_dgram(b"lobby", bob.token, b"I am bob"))
        eve.send(room_dgram(b"lobby", olga.token, b"I am olga"))
        olga.send(room_dgram(b"lobby", olga.token, b"wrong room"))
        eve.send(room_dgram(b"lobby", b"A" * 32, b"guess"))
        eve.send(room_dgram(b"lobby", bob.token, b"\xc3\x28"))
        eve.send(bytes([5, 32]) + b"lobby" + bob.token[:10])
        for m in (alice, bob, carol, olga):
            m.silent("nothing spoofed relayed")
        # A revoked token: carol leaves, then tries again.
        room_op(srv, 3, "lobby", carol.token)
        for m in (alice, bob):
            eq(m.json()["text"], "carol left", "leave notice")
        carol.say(b"still here")
        for m in (alice, bob):
            m.silent("a revoked token is not relayed")
        log = srv.log_text()
        for why in ("used from another address", "belongs to another room",
                    "unknown or revoked token", "not valid UTF-8",
                    "announce more bytes"):
            check(why in log, "drop not logged: %s\n%s" % (why, log))
        for m in (alice, bob, carol, olga, eve):
            m.close()


def test_host_leave_closes_room():
    with Rooms() as srv:
        alice, bob, carol = three_members(srv)
        j = room_op(srv, 3, "lobby", alice.token)
        eq(j["message"], "left; the room is closed", "host leave answer")
        for m in (bob, carol):
            eq(m.json(), {"type": "system", "event": "close",
                          "text": "room closed: the host left"},
               "close notice")
        bob.say(b"hello?")
        carol.silent("tokens revoked")
        enter(srv, 2, "lobby", "dave", want=404)
        eq(status_of(transact(srv, tcrp(6)))["rooms"], [], "no rooms left")
        for m in (alice, bob, carol):
            m.close()


def test_kick_and_close():
    with Rooms() as srv:
        alice, bob, carol = three_members(srv)
        room_op(srv, 4, "lobby", alice.token, "bob")
        kick = {"type": "system", "text": "bob was kicked by the host",
                "event": "kick", "user": "bob"}
        for m in (alice, bob, carol):
            eq(m.json(), kick, "kick notice")
        bob.say(b"let me in")
        carol.silent("the kicked token is revoked")
        room_op(srv, 5, "lobby", alice.token)
        for m in (alice, carol):
            eq(m.json()["text"], "room closed: closed by the host", "close")
        for m in (alice, bob, carol):
            m.close()


def test_idle_timeouts():
    with Rooms("--idle-timeout", "0.6") as srv:
        alice, bob, carol = three_members(srv)
        # alice and bob heartbeat, carol is silent.
        end = time.monotonic() + 1.2
        got = []
        while time.monotonic() < end:
            alice.say(b"")
            bob.say(b"")
            alice.s.settimeout(0.15)
            try:
                got.append(json.loads(alice.s.recvfrom(65536)[0]))
            except socket.timeout:
                pass
        eq(got, [{"type": "system", "text": "carol timed out",
                  "event": "timeout", "user": "carol"}], "timeout notice")
        eq(bob.json(), got[0], "bob told too")
        eq(carol.json(), got[0], "carol told she is out")
        # Now the host falls silent: the room closes.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            bob.say(b"")
            bob.s.settimeout(0.15)
            try:
                j = json.loads(bob.s.recvfrom(65536)[0])
                break
            except socket.timeout:
                pass
        else:
            raise Fail("the room did not close")
        eq(j, {"type": "system", "text": "room closed: the host timed out",
               "event": "close"}, "host timeout")
        enter(srv, 2, "lobby", "dave", want=404)
        for m in (alice, bob, carol):
            m.close()


def test_malformed_tcrp():
    with Rooms("--transaction-timeout", "0.5", "--max-payload", "1K") as srv:
        def refused(chunks, shut=True, what=""):
            s = socket.create_connection(("127.0.0.1", srv.tcp), timeout=3)
            for c in chunks:
                s.sendall(c)
            if shut:
                s.shutdown(socket.SHUT_WR)
            a = parse_tcrp(recv_to_eof(s))
            s.close()
            eq(len(a), 1, "one answer: " + what)
            j = json.loads(a[0][3])
            eq(j["status"], 400, what)
            return j
        full = tcrp(1, "lobby", {"username": "alice"})
        # Sizes announced larger than the data, then the client closes.
        refused([full[:-3]], what="payload short")
        refused([full[:34]], what="room name short")
        refused([full[:20]], what="truncated header")
        # Over the cap: answered at once, the connection still open.
        j = refused([tcrp(1, "lobby", b"x" * 1025)[:40]], shut=False,
                    what="payload over --max-payload")
        check("size limit" in j["message"], j)
        huge = bytes([5, 1, 0]) + (0xff << 224).to_bytes(29, "big") + b"lobby"
        refused([huge], shut=False, what="29-byte size beyond 64 bits")
        refused([tcrp(9, "lobby", b"{}")], shut=False, what="operation 9")
        refused([tcrp(1, "lobby", b"{}", state=1)], shut=False, what="state 1")
        refused([bytes([2, 1, 0]) + bytes(29) + b"\xc3\x28"], shut=False,
                what="room name not UTF-8")
        refused([os.urandom(3) + b"\x07" + os.urandom(60)], shut=False,
                what="garbage")
        # The cap itself is fine.
        payload = json.dumps({"username": "alice", "pad": "x" * 1000})
        payload = payload[:1023 - 1] + "}" if len(payload) > 1024 else payload
        j = status_of(transact(srv, tcrp(1, "big", payload.encode()[:1024])))
        check(j["status"] in (200, 400), j)
        # Slowloris: a byte at a time, past the transaction timeout; the
        # rest of the world is served meanwhile. And one that says nothing.
        mute = socket.create_connection(("127.0.0.1", srv.tcp), timeout=3)
        slow = socket.create_connection(("127.0.0.1", srv.tcp), timeout=3)
        t0 = time.monotonic()
        slow.sendall(full[:5])
        enter(srv, 1, "busy", "bob")
        for i in range(5, 12):
            try:
                slow.sendall(full[i:i + 1])
            except OSError:
                break
            time.sleep(0.1)
        a = parse_tcrp(recv_to_eof(slow))
        took = time.monotonic() - t0
        slow.close()
        eq(json.loads(a[0][3])["status"], 400, "slowloris answered 400")
        a = parse_tcrp(recv_to_eof(mute))
        mute.close()
        eq(a[0][:3], (0, 1, b""), "a silent client's answer: op 0, no name")
        eq(json.loads(a[0][3])["status"], 400, "a silent client answered 400")
        check(0.4 < took < 2.0, "slowloris closed after %.2f s" % took)
        check(srv.proc.poll() is None, "server alive")


def test_idle_connections_lock_nobody_out():
    """1100 TCP connections that say nothing (more than the 1024 slots)
    must not keep a real transaction out: the oldest ones make room."""
    with Rooms() as srv:
        idle = []
        try:
            for _ in range(1100):
                idle.append(socket.create_connection(("127.0.0.1", srv.tcp),
                                                     timeout=3))
            enter(srv, 1, "open", "alice")
            eq(srv.log_text().count("closing the oldest"), 1, "logged once")
        finally:
            for s in idle:
                s.close()


# ------------------------------------------------------------- WebSocket

def ws_tcrp(c, msg):
    """One TCRP request over /ws: the answers (kind 1 messages)."""
    c.send_frame(OP_BINARY, b"\x01" + msg)
    out = []
    while True:
        op, data = c.recv_message()
        eq(op, OP_BINARY, "binary answers")
        eq(data[0], 1, "kind 1")
        a = parse_tcrp(data[1:])
        eq(len(a), 1, "one TCRP message per WebSocket message")
        out.append(a[0])
        j = json.loads(a[0][3]) if a[0][1] == 1 else None
        if a[0][1] == 2 or (j and (j["status"] != 200 or a[0][0] > 2)):
            return out


def ws_json(c):
    op, data = c.recv_message()
    eq((op, data[:1]), (OP_BINARY, b"\x02"), "a kind 2 message")
    return json.loads(data[1:])


def test_websocket_member():
    web = tempfile.mkdtemp(prefix="rooms-web-")
    with open(os.path.join(web, "index.html"), "w") as f:
        f.write("<!doctype html><title>rooms</title>\n")
    try:
        websocket_member(web)
    finally:
        shutil.rmtree(web, ignore_errors=True)


def websocket_member(web):
    with Rooms(web=web) as srv:
        page = exchange(srv.http, b"GET / HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n", timeout=3)
        check(page.startswith(b"HTTP/1.1 200") and b"<title>rooms" in page,
              "the page: %r" % page[:200])
        alice = Member(srv, 1, "lobby", "alice")
        ws = Client(srv.http, "/ws", timeout=3)
        a = ws_tcrp(ws, tcrp(6))
        eq(json.loads(a[0][3])["rooms"][0]["name"], "lobby", "list over /ws")
        a = ws_tcrp(ws, tcrp(2, "lobby", {"username": "webby"}))
        eq([(x[0], x[1]) for x in a], [(2, 1), (2, 2)], "join answers")
        eq(json.loads(a[0][3])["members"], ["alice", "webby"], "members")
        token = a[1][3]
        eq(alice.json()["text"], "webby joined", "alice told")
        alice.say(b"hi web")
        eq(ws_json(ws), {"type": "chat", "from": "alice", "text": "hi web"},
           "UDP to WebSocket")
        ws.send_frame(OP_BINARY,
                      b"\x02" + room_dgram(b"lobby", token, b"hi udp"))
        eq(alice.json(), {"type": "chat", "from": "webby", "text": "hi udp"},
           "WebSocket to UDP")
        # The WebSocket's token from a UDP address is spoofing.
        eve = Udp(srv.udp)
        eve.send(room_dgram(b"lobby", token, b"I am webby"))
        alice.silent("a WebSocket's token from UDP")
        # Malformed TCRP over /ws: 400, and the socket stays open.
        a = ws_tcrp(ws, tcrp(2, "lobby", {"username": "x"})[:-2])
        eq(json.loads(a[0][3])["status"], 400, "short over /ws")
        a = ws_tcrp(ws, tcrp(6) + b"extra")
        eq(json.loads(a[0][3])["status"], 400, "long over /ws")
        # A header not understood: answered with operation 0, as over TCP.
        for bad, what in ((tcrp(9, "lobby", b"{}"), "operation 9"),
                          (b"\xff" * 32, "a header of 0xff")):
            a = ws_tcrp(ws, bad)
            eq((a[0][0], json.loads(a[0][3])["status"]), (0, 400),
               what + " over /ws")
        a = ws_tcrp(ws, tcrp(6))
        eq(json.loads(a[0][3])["status"], 200, "still open")
        # The socket closes: its member leaves.
        ws.close()
        eq(alice.json()["text"], "webby left", "webby left")
        bad = Client(srv.http, "/ws", timeout=3)
        bad.send_frame(OP_TEXT, b"hello")
        op, data = bad.recv_message()
        eq((op, int.from_bytes(data[:2], "big")), (OP_CLOSE, 1003),
           "text refused")
        alice.close()
        eve.close()


def test_page_that_never_reads():
    """A /ws member that reads nothing while the room talks: the server
    keeps at most about a MiB for it (it loses datagrams, as a full UDP
    socket would), and the others are still served."""
    with Rooms() as srv:
        alice = Member(srv, 1, "busy", "alice")
        raw = socket.create_connection(("127.0.0.1", srv.http), timeout=3)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        ws = Client(srv.http, "/ws", timeout=3, handshake=False)
        ws.sock.close()
        ws.sock = raw
        ws.handshake("/ws")
        ws_tcrp(ws, tcrp(2, "busy", {"username": "sleepy"}))
        eq(alice.json()["text"], "sleepy joined", "alice told")
        before = status_kib(srv.pid)
        text = b"x" * 4000
        for i in range(12000):
            alice.say(text)
            if i % 500 == 499:
                time.sleep(0.005)  # the server reads them all (no UDP loss)
        bob = Member(srv, 2, "busy", "bob")
        alice.say(b"still here")
        eq(bob.json(), {"type": "chat", "from": "alice", "text": "still here"},
           "bob served")
        grown = status_kib(srv.pid) - before
        check(grown < 16 * 1024, "the server grew by %d KiB for a page that "
              "reads nothing" % grown)
        raw.close()
        alice.close()
        bob.close()


class TLSClient(Client):
    """wstest.Client inside TLS, trusting the test CA."""

    def __init__(self, port, ctx, path="/ws", handshake=True):
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = bytearray()
        self.response = b""
        if handshake:
            self.handshake(path)


def test_tls_gui_port():
    """--tls-cert/--tls-key: the page over https://, /ws over wss://."""
    from tlscerts import Certs
    d = tempfile.mkdtemp(prefix="rooms-tls-")
    try:
        try:
            certs = Certs(d)
        except (OSError, RuntimeError) as e:
            raise Skip("no openssl to make certificates: %s" % e)
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!doctype html><title>rooms</title>\n")
        ctx = certs.client_context()
        with Rooms("--tls-cert", certs.ok[0], "--tls-key", certs.ok[1],
                   web=d) as srv:
            c = TLSClient(srv.http, ctx, handshake=False)
            c.send(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head = c.read_head()
            check(head.startswith(b"HTTP/1.1 200"), head)
            c.sock.close()
            alice = Member(srv, 1, "lobby", "alice")
            ws = TLSClient(srv.http, ctx)
            a = ws_tcrp(ws, tcrp(2, "lobby", {"username": "webby"}))
            eq([(x[0], x[1]) for x in a], [(2, 1), (2, 2)], "join over wss")
            alice.json()
            alice.say(b"hi tls")
            eq(ws_json(ws), {"type": "chat", "from": "alice",
                             "text": "hi tls"}, "UDP to wss://")
            ws.sock.close()
            alice.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_sigint_closes_rooms():
    srv = Rooms()
    try:
        alice = Member(srv, 1, "lobby", "alice")
        bob = Member(srv, 2, "lobby", "bob")
        olga = Member(srv, 1, "other", "olga")
        alice.json()
        ws = Client(srv.http, "/ws", timeout=3)
        ws_tcrp(ws, tcrp(2, "other", {"username": "webby"}))
        olga.json()
        srv.proc.send_signal(signal.SIGINT)
        bye = {"type": "system", "event": "close",
               "text": "room closed: the server is shutting down"}
        for m in (alice, bob, olga):
            eq(m.json(), bye, "shutdown notice to " + m.user)
        eq(ws_json(ws), bye, "shutdown notice over /ws")
        op, data = ws.recv_message()
        eq((op, int.from_bytes(data[:2], "big")), (OP_CLOSE, 1001), "1001")
        srv.proc.wait(5)
        eq(srv.proc.returncode, 0, "exit status after SIGINT")
    finally:
        srv.stop()


def test_server_usage():
    code, out, err = run([SERVER, "--help"])
    eq(code, 0, "--help")
    check(b"--idle-timeout" in out and b"listening chat=" in out, out)
    for args in (["--chat-port", "70000"], ["--idle-timeout", "x"],
                 ["--max-payload", "1Q"], ["--max-payload", "0"],
                 ["--max-buffered", "0"],
                 ["--stall-timeout", "-1"], ["extra"], ["--bogus"]):
        code, out, err = run([SERVER] + args)
        eq(code, 1, "status for %r" % args)
        check("try 'rooms-server --help'" in err, err)
    code, out, err = run([SERVER, "--web", "/nonexistent/web"])
    eq(code, 1, "a missing --web")
    code, out, err = run([SERVER, "--host", "999.1.1.1"])
    eq(code, 1, "a --host that is no address")
    check(err.startswith("rooms-server: --host 999.1.1.1: ") and
          "e.g. 127.0.0.1" in err, err)
    with Rooms() as srv:
        code, out, err = run([SERVER, "--chat-port", "0", "--udp-port", "0",
                              "--tcp-port", str(srv.tcp), "--http-port", "0",
                              "--web", srv.web])
        eq(code, 1, "a port in use")
        check("cannot listen on the TCP port" in err, err)


# ------------------------------------------------------------ the client

class Cli:
    """rooms-client with a pipe for stdin, its stdout read line by line."""

    def __init__(self, srv, *args):
        self.args = " ".join(args)
        self.buf = b""
        self.p = subprocess.Popen(
            [CLIENT] + list(args) + ["--chat-port", str(srv.chat),
                                     "--udp-port", str(srv.udp),
                                     "--tcp-port", str(srv.tcp)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)

    def line(self, timeout=3.0):
        """The next line of stdout (read unbuffered: select() sees only
        what no buffer of Python's holds yet)."""
        import select
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            r, _, _ = select.select([self.p.stdout], [], [], max(left, 0))
            if not r:
                raise Fail("no line from rooms-client %s within %.1f s "
                           "(so far %r)" % (self.args, timeout, self.buf))
            d = os.read(self.p.stdout.fileno(), 65536)
            if not d:
                raise Fail("rooms-client %s ended (so far %r)"
                           % (self.args, self.buf))
            self.buf += d
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i], self.buf[i + 1:]
        return line.decode()

    def type(self, text):
        self.p.stdin.write(text.encode() + b"\n")
        self.p.stdin.flush()

    def end(self, timeout=5.0):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise Fail("rooms-client did not exit")
        self.p.stdout.close()
        err = self.p.stderr.read().decode()
        self.p.stderr.close()
        return self.p.returncode, err


def test_client_chat():
    with Rooms() as srv:
        a, b = Cli(srv, "chat", "ann"), Cli(srv, "chat", "ben")
        time.sleep(0.3)  # both have sent their first heartbeat
        a.type("hello ben")
        eq(b.line(), "ann: hello ben", "stage 1 over the CLI")
        raw = Udp(srv.chat)
        raw.send(chat_dgram(b"raw", b"hi"))
        eq(a.line(), "raw: hi", "from a raw client")
        eq(b.line(), "raw: hi", "from a raw client")
        # Controls from the network are shown as '?', never sent to the
        # terminal (ESC, BEL, the C1 CSI).
        raw.send(chat_dgram(b"e\x1bv", b"\x1b[2J\x07hi\xc2\x9b1m"))
        eq(a.line(), "e?v: ?[2J?hi?1m", "controls shown as '?'")
        eq(b.line(), "e?v: ?[2J?hi?1m", "controls shown as '?'")
        b.type("x" * 5000)
        eq(a.end(), (0, ""), "ann exits 0 at the end of input")
        code, err = b.end()
        eq(code, 0, "ben's status")
        check("message too long" in err, err)
        raw.close()


def test_client_rooms():
    with Rooms() as srv:
        alice = Cli(srv, "create", "lobby", "alice", "--password", "pw")
        eq(alice.line(), "* created room 'lobby' as alice (host: alice, "
           "1 member)", "create")
        code, out, err = run([CLIENT, "join", "lobby", "bob", "--tcp-port",
                              str(srv.tcp), "--udp-port", str(srv.udp)],
                             timeout=5)
        eq(code, 1, "join without the password")
        check("401 the room needs a password" in err, err)
        bob = Cli(srv, "join", "lobby", "bob", "--password", "pw")
        eq(bob.line(), "* joined room 'lobby' as bob (host: alice, 2 members)",
           "join")
        eq(alice.line(), "* bob joined", "alice told")
        carol = Cli(srv, "join", "lobby", "carol", "--password", "pw")
        carol.line(), alice.line(), bob.line()
        time.sleep(0.2)
        bob.type("hi all")
        eq(alice.line(), "bob: hi all", "chat to alice")
        eq(carol.line(), "bob: hi all", "chat to carol")
        bob.type("/kick carol")
        eq(bob.line(), "* kick: 403 only the host can kick", "kick refused")
        alice.type("/kick carol")
        eq(alice.line(), "* kick: 200 kicked", "kick answer")
        eq(carol.line(), "* carol was kicked by the host", "carol told")
        eq(carol.end(), (0, ""), "carol exits 0 after a kick")
        eq(alice.line(), "* carol was kicked by the host", "alice told")
        eq(bob.line(), "* carol was kicked by the host", "bob told")
        # A mistyped command is refused, not sent; '//' sends one '/'.
        bob.type("/frob")
        bob.type("//slash")
        eq(alice.line(), "bob: /slash", "only the '//' line reached alice")
        bob.type("crlf\r")  # a line of a CRLF file: the CR is not text
        eq(alice.line(), "bob: crlf", "CRLF line")
        bob.type("/leave")
        eq(bob.line(), "* leave: 200 left", "leave")
        code, err = bob.end()
        eq(code, 0, "bob exits 0 after /leave")
        check("unknown command '/frob'" in err, err)
        eq(alice.line(), "* bob left", "alice told")
        alice.type("/close")
        eq(alice.line(), "* close: 200 room closed", "close")
        eq(alice.end(), (0, ""), "alice exits 0 after /close")
        enter(srv, 2, "lobby", "dave", want=404)
        # The host's room closes: a member's client says so and exits 0.
        host = Cli(srv, "create", "r2", "host")
        host.line()
        guest = Cli(srv, "join", "r2", "guest")
        guest.line(), host.line()
        time.sleep(0.1)  # guest's first heartbeat has arrived
        eq(host.end(), (0, ""), "the end of input leaves")
        eq(guest.line(), "* room closed: the host left", "guest told")
        eq(guest.end(), (0, ""), "guest exits 0")
        # ^C leaves at once: the room hears it now, not at the timeout.
        host = Cli(srv, "create", "r3", "host")
        host.line()
        guest = Cli(srv, "join", "r3", "guest")
        guest.line(), host.line()
        guest.p.send_signal(signal.SIGINT)
        eq(guest.line(), "* leave: 200 left", "^C is /leave")
        eq(host.line(), "* guest left", "the host told at once")
        eq(guest.end(), (0, ""), "guest exits 0 after ^C")
        eq(host.end(), (0, ""), "host exits 0")


def test_client_timed_out():
    """A client stopped past the idle timeout hears its own timeout when
    it runs again: it says so and ends, instead of talking on with a
    revoked token."""
    with Rooms("--idle-timeout", "0.5") as srv:
        host = Cli(srv, "create", "t", "host")
        host.line()
        guest = Cli(srv, "join", "t", "guest")
        guest.line(), host.line()
        guest.p.send_signal(signal.SIGSTOP)
        eq(host.line(), "* guest timed out", "the host told")
        guest.p.send_signal(signal.SIGCONT)
        eq(guest.line(), "* guest timed out", "the guest told")
        eq(guest.end(), (0, ""), "the guest's client ends")
        eq(host.end(), (0, ""), "host exits 0")


def test_client_usage():
    code, out, err = run([CLIENT, "--help"])
    eq(code, 0, "--help")
    check(b"/kick NAME" in out, out)
    for args in ([], ["talk"], ["chat"], ["join", "r"], ["chat", "a", "b"],
                 ["chat", "x", "--password", "p"], ["chat", "x", "--udp-port",
                                                    "0"]):
        code, out, err = run([CLIENT] + args)
        eq(code, 2, "status for %r" % args)
        check("try 'rooms-client --help'" in err, err)
    with Rooms() as srv:
        code, out, err = run([CLIENT, "join", "nowhere", "x", "--tcp-port",
                              str(srv.tcp)])
        eq(code, 1, "join of a missing room")
        check("join 'nowhere' failed: 404 no such room" in err, err)
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    code, out, err = run([CLIENT, "create", "r", "x", "--tcp-port", str(free)])
    eq(code, 1, "no server")
    check("cannot connect" in err, err)
    # Stage 1 over UDP: the port's refusal (ICMP) is said, and the end.
    class Nobody:
        chat = udp = tcp = free
    c = Cli(Nobody, "chat", "x")
    try:
        c.p.wait(3)
    except subprocess.TimeoutExpired:
        pass
    code, err = c.end()
    eq(code, 1, "chat with no server")
    check("no server on 127.0.0.1 port %d" % free in err, err)


TESTS = [test_stage1_relay, test_stage1_idle_timeout,
         test_create_join_statuses, test_max_members,
         test_room_relay_and_spoofing,
         test_host_leave_closes_room, test_kick_and_close, test_idle_timeouts,
         test_malformed_tcrp, test_idle_connections_lock_nobody_out,
         test_websocket_member, test_page_that_never_reads,
         test_tls_gui_port,
         test_sigint_closes_rooms, test_server_usage, test_client_chat,
         test_client_rooms, test_client_timed_out, test_client_usage]


def main():
    global SERVER, CLIENT
    args = suite_args("server", "client")
    SERVER, CLIENT = args.server, args.client
    sys.exit(Runner("test_rooms").run(TESTS, args.k, deadline=30))


if __name__ == "__main__":
    main()
