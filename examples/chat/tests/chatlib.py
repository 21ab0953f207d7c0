"""chatlib — the pieces test_chat.py is built from: chat-server started
and stopped by its PID, a JSON client and a plain-text client over a raw
socket (wstest.Client), exact comparison of JSON messages, and a
single-threaded many-connection client for the load test. Written from
examples/chat/PROTOCOL.md, not from the server's code. Standard library
only (run with /usr/bin/python3)."""

import json
import re
import selectors
import socket
import struct
import time

from wstest import (OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, OPEN_CLIENTS,
                    Client, DataServer, Fail, check, close_payload, eq, frame,
                    status_kib)

# A legal masking key (RFC 6455 §5.3) that costs nothing to apply.
ZERO_KEY = b"\0\0\0\0"


# ----------------------------------------------------------- the server

class ChatServer(DataServer):
    """chat-server on 127.0.0.1 --port 0 with its own --data-dir (kept
    across restart()); stderr to a file per start."""

    name = "chat-server"
    banner = "WebSocket server listening on 127.0.0.1:"

    def clean_restart(self, what="restart"):
        eq(self.stop(), 0, "%s: exit status after SIGTERM" % what)
        return self.restart()

    def status_kib(self, field):
        kib = status_kib(self.pid, field)
        if kib is None:
            raise Fail("no %s in /proc/%d/status" % (field, self.pid))
        return kib


# ------------------------------------------------------ exact messages

class Like:
    """A value in an expected message that matches by a rule."""

    def __init__(self, pred, desc):
        self.pred, self.desc = pred, desc

    def __eq__(self, other):
        return self.pred(other)

    def __repr__(self):
        return self.desc


SEQ = Like(lambda v: type(v) is int and v > 0, "<seq>")
FILE = Like(lambda v: type(v) is int and v >= 0, "<file number>")
TOKEN = Like(lambda v: isinstance(v, str) and re.fullmatch("[0-9a-f]{32}",
                                                           v) is not None,
             "<32 hex>")
TEXT = Like(lambda v: isinstance(v, str) and v != "", "<text>")


def naming(word):
    return Like(lambda v: isinstance(v, str) and word in v,
                "<text naming %r>" % word)


def after(n):
    return Like(lambda v: type(v) is int and v > n, "<seq > %d>" % n)


# PROTOCOL.md: "ts ... to every event it sends" (statuses and errors
# too, chatsrv says). These carry it always; any other message may, and
# then it is checked too.
TS_TYPES = {"msg", "join", "leave", "typing", "welcome", "system", "status",
            "error"}


def check_ts(m, what):
    ts = m.pop("ts", None)
    if ts is None:
        check(m.get("type") not in TS_TYPES, "%s: no ts in %r" % (what, m))
        return
    now = time.time() * 1000
    check(type(ts) is int and abs(ts - now) < 600000,
          "%s: ts %r is not milliseconds since the epoch, now" % (what, ts))


def strip_ts(m, what):
    """The message without its ts (checked), history entries too."""
    check_ts(m, what)
    for k in ("history", "messages"):
        for h in m.get(k, []) if isinstance(m.get(k), list) else []:
            if isinstance(h, dict):
                check("ts" in h, "%s: a %s entry without ts: %r" % (what, k, h))
                check_ts(h, what)
    return m


def error(code, ref=None, message=TEXT):
    e = {"type": "error", "code": code, "message": message}
    if ref is not None:
        e["ref"] = ref
    return e


def lobby(seq, sender, text):
    return {"type": "msg", "seq": seq, "from": sender, "text": text}


def pm(seq, sender, to, text):
    return {"type": "msg", "seq": seq, "from": sender, "to": to, "text": text}


def status(ref, seq, to, st):
    return {"type": "status", "ref": ref, "seq": seq, "to": to, "status": st}


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


# ------------------------------------------------------------ clients

class Bucket:
    """The server's rate limit as PROTOCOL.md gives it (20 messages/s,
    burst 40), mirrored so that tests not about it stay under it."""

    def __init__(self):
        self.tokens, self.t = 40.0, time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(40.0, self.tokens + 20.0 * (now - self.t))
        self.t = now
        if self.tokens < 4:
            time.sleep((4 - self.tokens) / 20.0)
            self.tokens = 4.0
            self.t = time.monotonic()
        self.tokens -= 1


class ChatClient(Client):
    """A raw WebSocket client; messages are text unless said otherwise."""

    def __init__(self, port, timeout=10.0, rcvbuf=None):
        if rcvbuf is None:
            super().__init__(port, timeout=timeout)
        else:  # a small receive window, set before connecting
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect(("127.0.0.1", port))
            self.buf, self.response = bytearray(), b""
            self.handshake()
        OPEN_CLIENTS.append(self)
        self.timeout = timeout
        self.bucket = Bucket()
        self.pace = True

    def send_text(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.pace:
            self.bucket.take()
        self.send_frame(OP_TEXT, data, key=ZERO_KEY)

    def recv_data(self, what):
        """(opcode, payload) of the next data message; a close frame is
        a failure naming its code."""
        m = self.recv_message()
        check(m is not None, "%s: the connection closed (EOF)" % what)
        if m[0] == OP_CLOSE:
            code = struct.unpack("!H", m[1][:2])[0] if len(m[1]) >= 2 else None
            raise Fail("%s: close %r %r instead" % (what, code, m[1][2:80]))
        return m

    def quiet(self, seconds=0.25, what="quiet"):
        """Nothing but pings (answered) arrives within seconds."""
        end = time.monotonic() + seconds
        try:
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    return
                self.sock.settimeout(left)
                f = self.recv_frame()
                if f is None or f[1] != OP_PING:
                    raise Fail("%s: got %r" % (what,
                        f if f is None else (f[1], f[2][:300])))
                self.send_frame(OP_PONG, f[2])
        except socket.timeout:
            return
        finally:
            self.sock.settimeout(self.timeout)

    def close_clean(self, what="close"):
        """Close 1000, wait for the server's close and EOF."""
        self.send_frame(OP_CLOSE, close_payload(1000))
        while True:
            m = self.recv_message()
            check(m is not None, "%s: EOF before the close reply" % what)
            if m[0] == OP_CLOSE:
                break
        self.expect_eof(what)
        self.close()

    def expect_close_eof(self, code, what):
        """A close frame with code (anything before it is skipped when
        skip is true), then EOF; the close is answered."""
        got = self.expect_close(code, what)
        try:
            self.send_frame(OP_CLOSE, close_payload(code))
        except OSError:
            pass
        self.expect_eof(what)
        return got


class JClient(ChatClient):
    """A JSON-mode client. login: hello and welcome (token kept)."""

    def __init__(self, port, name=None, token=None, **kw):
        super().__init__(port, **kw)
        self.name, self.token, self.welcome = name, token, None
        if name is not None:
            self.login(name, token)

    def send_json(self, obj):
        self.send_text(dumps(obj))

    def recv_any(self, what="message"):
        """('json', message without ts) or ('bin', payload)."""
        op, data = self.recv_data(what)
        if op != OP_TEXT:
            return ("bin", data)
        return ("json", self.parse(data, what))

    def parse(self, data, what):
        try:
            m = json.loads(data.decode())
        except (UnicodeDecodeError, ValueError):
            raise Fail("%s: not JSON: %r" % (what, data[:300]))
        check(isinstance(m, dict) and isinstance(m.get("type"), str),
              "%s: not an object with a string type: %r" % (what, data[:300]))
        return strip_ts(m, what)

    def recv(self, what="message"):
        kind, m = self.recv_any(what)
        check(kind == "json",
              "%s: a binary message (%d bytes) instead" % (what, len(m)))
        return m

    def expect(self, want, what="reply"):
        got = self.recv(what)
        if got != want:
            raise Fail("%s:\n  got  %s\n  want %s" % (what, short(got),
                                                      short(want)))
        return got

    def req(self, obj, want, what="reply"):
        self.send_json(obj)
        return self.expect(want, what)

    def login(self, name, token=None, users=None, ref="hi", what=None):
        hello = {"type": "hello", "name": name, "id": ref}
        if token is not None:
            hello["token"] = token
        self.send_json(hello)
        w = self.recv(what or "welcome of %s" % name)
        if w.get("type") != "welcome":
            raise Fail("%s: %s" % (what or "hello %s" % name, short(w)))
        eq(w.get("ref"), ref, "welcome ref")
        if users is not None:
            eq(w.get("users"), users, "welcome users")
        self.name, self.welcome = w.get("name"), w
        self.token = w.get("token", token)
        return w

    def expect_set(self, wants, what):
        """The next len(wants) messages are wants, in any order."""
        got = [self.recv(what) for _ in wants]
        left = list(got)
        for w in wants:
            if w not in left:
                raise Fail("%s: %s missing; got %s" % (what, short(w),
                                                       short(got)))
            left.remove(w)
        return got


class PClient(ChatClient):
    """A plain-text client: the first line is the name."""

    def __init__(self, port, name=None, online=None, **kw):
        super().__init__(port, **kw)
        if name is not None:
            self.line(name)
            got = self.recv_line("welcome line of %s" % name)
            if online is not None:
                eq(got, "* welcome %s; online: %s" % (name, ", ".join(online)),
                   "welcome line")
            else:
                check(got.startswith("* welcome %s; online: " % name),
                      "welcome line of %s: %r" % (name, got))

    def line(self, s):
        self.send_text(s)

    def recv_line(self, what="line"):
        op, data = self.recv_data(what)
        eq(op, OP_TEXT, "%s: opcode" % what)
        return data.decode(errors="replace")

    def expect_line(self, want, what="line"):
        eq(self.recv_line(what), want, what)


def short(m):
    s = repr(m)
    return s if len(s) < 600 else s[:600] + "..."


def room(port, names, plain=()):
    """Log names in one by one (JSON, then plain), each earlier client
    taking the join; returns {name: client}."""
    out, order = {}, []
    for n in list(names) + list(plain):
        if n in plain:
            c = PClient(port, n)
        else:
            c = JClient(port, n)
        for m in order:
            take_join(out[m], n)
        out[n] = c
        order.append(n)
    return out


def take_join(c, name):
    if isinstance(c, PClient):
        c.expect_line("* %s joined the chat" % name, "join of %s" % name)
    else:
        c.expect({"type": "join", "name": name}, "join of %s" % name)


def take_leave(c, name):
    if isinstance(c, PClient):
        c.expect_line("* %s has left the chat" % name, "leave of %s" % name)
    else:
        c.expect({"type": "leave", "name": name}, "leave of %s" % name)


def claim(port, name):
    """Claim name and log out again; returns its token."""
    c = JClient(port, name)
    tok = c.token
    check(tok is not None, "the first login of %s returned no token" % name)
    c.close_clean()
    return tok


# ------------------------------------------------------------ load

class Swarm:
    """Many JSON clients driven by one selectors loop: each frame of the
    server is parsed here (unmasked, RFC 6455 §5.2) and handed to
    on_text(i, payload)."""

    def __init__(self, port, n, prefix="u"):
        self.n, self.port = n, port
        self.socks, self.bufs = [], []
        self.sel = selectors.DefaultSelector()
        self.names = ["%s%03d" % (prefix, i) for i in range(n)]

    def connect_all(self, plain=()):
        """Sequential logins (each one's welcome read), plain-text for the
        indexes in plain; the joins the others get are parsed later, by
        run()."""
        for i in range(self.n):
            if i in plain:
                c = PClient(self.port, self.names[i], timeout=20)
            else:
                c = JClient(self.port, self.names[i], timeout=20)
            OPEN_CLIENTS.remove(c)
            c.sock.setblocking(False)
            self.socks.append(c.sock)
            self.bufs.append(bytearray(c.buf))
            self.sel.register(c.sock, selectors.EVENT_READ, i)

    def send(self, i, obj):
        """A JSON object, or a str as a plain line."""
        data = obj.encode() if isinstance(obj, str) else dumps(obj)
        self.send_raw(i, frame(OP_TEXT, data, key=ZERO_KEY))

    def run(self, on_text, done, timeout):
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for key, _ in self.sel.select(min(left, 1.0)):
                i = key.data
                try:
                    d = key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    continue
                if not d:
                    raise Fail("client %d: the server closed the connection"
                               % i)
                buf = self.bufs[i]
                buf += d
                pos, end = 0, len(buf)
                while end - pos >= 2:
                    b0, n = buf[pos], buf[pos + 1] & 0x7F
                    h = 2
                    if n == 126:
                        if end - pos < 4:
                            break
                        n, h = (buf[pos + 2] << 8) | buf[pos + 3], 4
                    elif n == 127:
                        if end - pos < 10:
                            break
                        n, h = struct.unpack_from("!Q", buf, pos + 2)[0], 10
                    if end - pos < h + n:
                        break
                    op = b0 & 0x0F
                    payload = bytes(buf[pos + h:pos + h + n])
                    pos += h + n
                    if op == OP_TEXT:
                        on_text(i, payload)
                    elif op == OP_PING:
                        self.send_raw(i, frame(OP_PONG, payload, key=ZERO_KEY))
                    elif op != OP_PONG:
                        raise Fail("client %d: opcode %d (%r)" % (i, op,
                                                                  payload[:60]))
                del buf[:pos]
        return True

    def send_raw(self, i, data):
        s = self.socks[i]
        s.setblocking(True)
        s.sendall(data)
        s.setblocking(False)

    def close(self):
        for s in self.socks:
            s.close()
        self.sel.close()
