#!/usr/bin/python3
"""test_redis — chat over Redis (issue 15), against a real redis-server
that this test starts itself: on a free loopback port, in a temporary
directory, with nothing saved to disk, stopped by its PID.

Cases: the hiredis adapter's C tests (examples/chat/tests/
test_redis_wsx.c), plain and under valgrind; the harness itself (a port
collision is retried, a restart keeps the port); then chat-server
--redis, several instances as one chat: options and their errors, a
PM across instances (sent, delivered, read), presence and typing,
an offline PM stored through one instance and fetched through another,
history, contacts and claims shared, a login moving to another instance,
300 clients on 3 instances (every broadcast once, in order), Redis
restarted mid-run (local-only notice, resync within 5 s, what was said
meanwhile kept), and kill -9 of an instance (its users offline elsewhere
within the presence expiry, nothing acknowledged lost).

Standard library only: run with /usr/bin/python3."""

import argparse
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests"))
import wstest  # noqa: E402
from wstest import Fail, check, eq  # noqa: E402


# ------------------------------------------------------------ redis-server

def free_port():
    """A loopback port nobody holds right now. Redis cannot be told to
    bind port 0 and say which it got, so the port is found by binding and
    releasing; RedisServer retries when someone takes it in between."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RedisServer:
    """A redis-server of our own: loopback only, its files in a temporary
    directory that stop() removes; persist: an append-only file synced
    at every write, so a restart keeps the data (as a real deployment's
    would)."""

    def __init__(self, binary, port=None, tries=5, persist=False):
        self.binary, self.persist = binary, persist
        self.dir = tempfile.mkdtemp(prefix="chat-redis-")
        self.proc = None
        self.collisions = 0
        for _ in range(tries):
            self.port = port or free_port()
            if self._start():
                return
            if port:
                break
            self.collisions += 1
        self.stop()
        raise Fail("redis-server did not start; its log:\n" + self.log_text())

    def _start(self):
        """Start on self.port; False if the port was taken (or it died)."""
        self.log_path = os.path.join(self.dir, "redis-%d.log" % self.port)
        open(self.log_path, "w").close()
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "",
             "--appendonly", "yes" if self.persist else "no",
             "--appendfsync", "always",
             "--daemonize", "no", "--logfile", self.log_path,
             "--protected-mode", "yes"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if "Ready to accept connections" in self.log_text():
                return True
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait()
        return False

    @property
    def pid(self):
        return self.proc.pid

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def kill(self, sig=signal.SIGTERM, timeout=5.0):
        """Stop the process by its PID (the directory stays)."""
        if self.proc:
            wstest.terminate(self.proc, timeout, sig)

    def restart(self, down_for=0.0):
        """Stop it and start it again on the same port, empty."""
        self.kill()
        time.sleep(down_for)
        check(self._start(), "redis-server did not start again on port %d:"
              "\n%s" % (self.port, self.log_text()[-2000:]))

    def stop(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def call(self, *args):
        """One command over a fresh connection; the reply decoded."""
        with socket.create_connection(("127.0.0.1", self.port), 5) as s:
            s.sendall(resp_encode(args))
            return resp_read(s.makefile("rb"))


def resp_encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def resp_read(f):
    """One RESP2 reply: str for simple strings, int, bytes or None for
    bulk strings, a list for arrays; an error reply raises Fail."""
    line = f.readline()
    check(line.endswith(b"\r\n"), "Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise Fail("Redis: " + rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise Fail("not a RESP reply: %r" % line)


# ------------------------------------------------------------------ cases

ARGS = None


def run_adapter_test(prefix=()):
    with RedisServer(ARGS.redis_server) as r:
        env = dict(os.environ, REDIS_PORT=str(r.port))
        p = subprocess.run(list(prefix) + [ARGS.adapter_test], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=120)
        out = p.stdout.decode(errors="replace")
        last = out.strip().splitlines()[-1] if out.strip() else ""
        check(p.returncode == 0 and last.endswith(" 0 failed"),
              "test_redis_wsx (exit %d):\n%s" % (p.returncode, out[-3000:]))
        return last


def test_adapter():
    """redis_wsx.c: URLs, commands, pub/sub, refusals, timeouts, kills."""
    RUNNER.notes.append("adapter: " + run_adapter_test())


def test_adapter_valgrind():
    vg = shutil.which("valgrind")
    if not vg:
        raise wstest.Skip("no valgrind")
    run_adapter_test([vg, "-q", "--error-exitcode=99", "--leak-check=full",
                      "--errors-for-leak-kinds=definite"])


def test_harness_port_collision():
    """A port taken between the probe and the start is retried."""
    with RedisServer(ARGS.redis_server) as a:
        eq(a.call("PING"), "PONG", "PING")
        try:
            RedisServer(ARGS.redis_server, port=a.port, tries=1)
        except Fail:
            pass
        else:
            raise Fail("a second redis-server started on a taken port")
        with RedisServer(ARGS.redis_server) as b:
            check(b.port != a.port, "two servers on one port")
            eq(b.call("SET", "k", "v"), "OK", "SET")
            eq(a.call("GET", "k"), None, "the other server's key")


def test_harness_restart():
    """restart(): same port, empty, the old process gone."""
    with RedisServer(ARGS.redis_server) as r:
        pid, port = r.pid, r.port
        r.call("SET", "k", "v")
        r.restart()
        eq(r.port, port, "port after restart")
        check(r.pid != pid, "a new process")
        check(not os.path.exists("/proc/%d/status" % pid) or
              "zombie" in open("/proc/%d/status" % pid).read(),
              "the old redis-server still runs")
        eq(r.call("GET", "k"), None, "nothing survives (no persistence)")



# ------------------------------------------------------------ chat-server

class ChatServer:
    """One chat-server instance: --port 0, its own data directory and
    log, stopped by its PID."""

    def __init__(self, binary, redis_port, node, tmp, extra=()):
        self.node = node
        self.dir = os.path.join(tmp, "data-" + node)
        self.log_path = os.path.join(tmp, "chat-%s.log" % node)
        self.err_path = os.path.join(tmp, "chat-%s.err" % node)
        self.err = open(self.err_path, "ab")
        args = [binary, "--host", "127.0.0.1", "--port", "0",
                "--data-dir", self.dir, "--log", self.log_path,
                "--rate-limit", "0"]
        if redis_port:
            args += ["--redis", "redis://127.0.0.1:%d/0" % redis_port,
                     "--node-id", node]
        self.proc = subprocess.Popen(args + list(extra),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.err)
        line = self.proc.stdout.readline().decode()
        check(line.startswith("WebSocket server listening on "),
              "chat-server %s did not start: %r\n%s"
              % (node, line, self.err_text()))
        self.port = int(line.rsplit(":", 1)[1])

    def err_text(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")[-3000:]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        wstest.terminate(self.proc, timeout, sig)
        self.proc.stdout.close()
        self.err.close()
        return self.proc.returncode


def parse_frames(peer):
    """Whole server frames out of peer.buf (the server sends no
    fragments); pings answered."""
    buf = peer.buf
    while len(buf) >= 2:
        n, pos = buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return
            n, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                return
            n, pos = struct.unpack("!Q", buf[2:10])[0], 10
        if len(buf) < pos + n:
            return
        op, payload = buf[0] & 0x0F, bytes(buf[pos:pos + n])
        del buf[:pos + n]
        if op == wstest.OP_PING:
            peer.ws.send_frame(wstest.OP_PONG, payload)
        elif op == wstest.OP_CLOSE:
            peer.closed = struct.unpack("!H", payload[:2])[0] \
                if len(payload) >= 2 else 1005
        elif peer.plain:
            peer.q.append(payload.decode())
        else:
            peer.q.append(json.loads(payload))


class Peer:
    """A chat client over a raw socket: JSON mode (hello) or plain text
    (the first line is the name). Incoming messages queue up in q."""

    def __init__(self, srv, name, plain=False, token=None, expect=True):
        self.srv, self.name, self.plain = srv, name, plain
        self.ws = wstest.Client(srv.port, timeout=20)
        self.sock, self.buf = self.ws.sock, self.ws.buf
        self.q, self.closed, self.token = [], None, token
        if plain:
            self.ws.send_frame(wstest.OP_TEXT, name.encode())
        else:
            hello = {"type": "hello", "name": name}
            if token:
                hello["token"] = token
            self.send(hello)
        if expect:
            self.welcome = self.wait(self.is_welcome, what="welcome")
            if not plain:
                self.token = self.welcome.get("token", token)

    def is_welcome(self, m):
        if self.plain:
            return m.startswith("* welcome ")
        return m.get("type") == "welcome"

    def send(self, obj):
        data = obj if isinstance(obj, str) else json.dumps(obj)
        self.ws.send_frame(wstest.OP_TEXT, data.encode())

    def feed(self):
        try:
            d = self.sock.recv(1 << 16)
        except (BlockingIOError, socket.timeout):
            return
        except ConnectionError:
            d = b""
        if not d:
            self.closed = self.closed or 1006
            return
        self.buf += d
        parse_frames(self)

    def take(self, pred):
        for i, m in enumerate(self.q):
            if pred(m):
                return self.q.pop(i)
        return None

    def wait(self, pred, timeout=10.0, what="message"):
        """The first queued message pred accepts (removed from q)."""
        end = time.monotonic() + timeout
        while True:
            m = self.take(pred)
            if m is not None:
                return m
            left = end - time.monotonic()
            if left <= 0 or (self.closed and not self.buf):
                raise Fail("%s on %s: no %s within %.0f s; queued: %s"
                           % (self.name, self.srv.node, what, timeout,
                              repr(self.q[-8:])[:800]))
            r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if r:
                self.feed()

    def quiet(self, pred, seconds):
        """No message pred accepts arrives within seconds."""
        pump([self], seconds)
        m = self.take(pred)
        check(m is None, "%s on %s: unexpected %r" % (self.name,
                                                    self.srv.node, m))

    def close(self):
        self.ws.close()


def pump(peers, seconds, done=None):
    """Read whatever arrives for all peers for at most seconds, or until
    done() is true."""
    by_fd = {p.sock.fileno(): p for p in peers}
    end = time.monotonic() + seconds
    while time.monotonic() < end and not (done and done()):
        r, _, _ = select.select(list(by_fd), [], [],
                                max(0.0, min(0.2, end - time.monotonic())))
        for fd in r:
            by_fd[fd].feed()


def typ(t, **kw):
    """A predicate: a JSON message of type t with these members."""
    return lambda m: isinstance(m, dict) and m.get("type") == t and all(
        m.get(k) == v for k, v in kw.items())


class Cluster:
    """A redis-server (append-only, so a restart keeps the data) and
    chat-server instances on it, all stopped by their PIDs at the end."""

    def __init__(self, nodes=("a", "b", "c")):
        self.tmp = tempfile.mkdtemp(prefix="chat-redis-test-")
        self.redis = RedisServer(ARGS.redis_server, persist=True)
        self.srv = {}
        try:
            for n in nodes:
                self.add(n)
        except Exception:
            self.stop()
            raise

    def add(self, node, extra=()):
        s = ChatServer(ARGS.chat_server, self.redis.port, node, self.tmp,
                       extra)
        self.srv[node] = s
        return s

    def stop(self):
        bad = []
        for s in self.srv.values():
            if not s.alive() and s.proc.returncode not in (0, -signal.SIGKILL):
                RUNNER.notes.append("chat-server %s died (%r):\n%s" % (
                    s.node, s.proc.returncode, s.err_text()))
            if s.alive() and s.stop() != 0:
                bad.append("%s: exit %r\n%s" % (s.node, s.proc.returncode,
                                                 s.err_text()))
        self.redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return bad

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        bad = self.stop()
        if exc[0] is None and bad:
            raise Fail("chat-server did not exit 0 after SIGTERM:\n" +
                       "\n".join(bad))
        return False


def users_soon(p, want, seconds=2.0):
    """p's users list, asked again until it is want (instances learn of
    each other's users within a presence event or snapshot)."""
    end = time.monotonic() + seconds
    while True:
        p.send({"type": "users", "id": "u"})
        got = p.wait(typ("users", ref="u"))["users"]
        if got == want or time.monotonic() > end:
            return got
        time.sleep(0.1)


def plain_users_soon(p, want, seconds=2.0):
    """users_soon for a plain client: the names of "* online: ..."."""
    end = time.monotonic() + seconds
    while True:
        p.send("/users")
        got = p.wait(lambda m: m.startswith("* online: "))[10:]
        if got == want or time.monotonic() > end:
            return got
        time.sleep(0.1)


def login_soon(srv, name, seconds=2.0, **kw):
    """A plain login of name on srv, tried again while the name is still
    online there (its instance's death not yet seen by srv)."""
    end = time.monotonic() + seconds
    while True:
        p = Peer(srv, name, plain=True, expect=False)
        m = p.wait(lambda m: True, what="an answer to the login")
        if m.startswith("* welcome ") or time.monotonic() > end:
            p.welcome = m
            return p
        p.close()
        time.sleep(0.1)


def need_chat_server():
    if not ARGS.chat_server:
        raise wstest.Skip("no --chat-server given")


# ------------------------------------------------------------ chat cases

def test_broadcast_300():
    """300 clients on 3 instances; 30 senders (10 per instance) send 3
    lobby messages each: every other client gets each one once, in each
    sender's order."""
    need_chat_server()
    with Cluster() as cl:
        nodes = list(cl.srv.values())
        peers = []
        for i in range(300):
            peers.append(Peer(nodes[i % 3], "u%03d" % i, expect=False))
        pump(peers, 30, lambda: all(any(typ("welcome")(m) for m in p.q)
                                    for p in peers))
        for p in peers:
            check(p.take(typ("welcome")), "%s: no welcome" % p.name)
        senders = peers[:30]
        for k in range(3):
            for p in senders:
                p.send({"type": "msg", "id": "b%d" % k,
                        "text": "%s-%d" % (p.name, k)})
        want = 90

        def got(p):
            return sum(1 for m in p.q if typ("msg")(m)) + \
                (3 if p in senders else 0)

        pump(peers, 60, lambda: all(got(p) >= want for p in peers))
        pump(peers, 0.5)  # a duplicate would be here by now
        for p in peers:
            msgs = [m for m in p.q if typ("msg")(m)]
            texts = [m["text"] for m in msgs]
            check(len(set(texts)) == len(texts),
                  "%s: duplicates %r" % (p.name, texts))
            expect = {"%s-%d" % (s.name, k) for s in senders for k in
                      range(3) if s is not p}
            eq(set(texts), expect, "%s: the broadcasts" % p.name)
            for s in senders:
                order = [t for t in texts if t.startswith(s.name + "-")]
                eq(order, sorted(order), "%s: %s's order" % (p.name,
                                                            s.name))
        for p in senders:
            eq(sum(1 for m in p.q if typ("status", status="sent")(m)), 3,
               "%s: sent statuses" % p.name)
        for p in peers:
            p.close()
        RUNNER.notes.append("broadcast: 300 clients on 3 instances, "
                            "90 messages x 299 recipients, each once")


def test_pm_across_instances():
    """alice on a, bob on b: the PM reaches bob once; alice sees sent,
    delivered, and read."""
    need_chat_server()
    with Cluster() as cl:
        a = Peer(cl.srv["a"], "alice")
        b = Peer(cl.srv["b"], "bob")
        a.wait(typ("join", name="bob"), what="bob's join")
        a.send({"type": "msg", "id": "p1", "to": "bob", "text": "hi bob"})
        m = b.wait(typ("msg", **{"from": "alice"}), what="the PM")
        eq((m["to"], m["text"]), ("bob", "hi bob"), "the PM")
        got = []
        while not got or got[-1] != "delivered":
            got.append(a.wait(typ("status", ref="p1"), what="a status")
                       ["status"])
        eq(got, ["sent", "delivered"], "alice's statuses")
        b.send({"type": "read", "seq": m["seq"]})
        a.wait(typ("status", ref="p1", status="read", seq=m["seq"]),
               what="read")
        b.quiet(typ("msg"), 0.5)
        # A status alice misses while away reaches her next login, on
        # any instance, once.
        a.send({"type": "msg", "id": "p2", "to": "bob", "text": "again"})
        m2 = b.wait(typ("msg", text="again"))
        a.wait(typ("status", ref="p2", status="delivered"))
        a.close()
        time.sleep(0.3)
        b.send({"type": "read", "seq": m2["seq"]})
        time.sleep(0.3)
        a = Peer(cl.srv["c"], "alice", token=a.token)
        a.wait(typ("status", ref="p2", status="read"), what="missed read")
        a.quiet(typ("status"), 0.5)
        a.close()
        a = Peer(cl.srv["b"], "alice", token=a.token)
        a.quiet(typ("status"), 0.5)  # told once
        a.close()
        b.close()


def test_presence_and_typing():
    """Presence (join, users, leave) and typing cross instances."""
    need_chat_server()
    with Cluster() as cl:
        c = Peer(cl.srv["c"], "carol")
        d = Peer(cl.srv["a"], "dave")
        c.wait(typ("join", name="dave"), what="dave's join")
        # carol's join may still be on its way to a when dave logs in
        check(d.welcome["users"] in (["carol", "dave"], ["dave"]),
              "users at welcome: %r" % d.welcome["users"])
        for p in (c, d):
            eq(users_soon(p, ["carol", "dave"]), ["carol", "dave"],
               "users on " + p.srv.node)
        d.send({"type": "typing", "state": "active", "to": "carol"})
        t = c.wait(typ("typing", **{"from": "dave"}), what="typing")
        eq((t["state"], t.get("to")), ("active", "carol"), "typing")
        d.send({"type": "typing", "state": "active"})
        c.wait(lambda m: typ("typing", state="active", **{"from": "dave"})(m)
               and "to" not in m, what="lobby typing")
        d.close()
        c.wait(typ("leave", name="dave"), what="dave's leave")
        c.close()


def test_sigterm_instance():
    """SIGTERM of an instance: it exits 0, and its users are offline on
    the others within a snapshot (it removes its presence as it stops),
    not after the expiry."""
    need_chat_server()
    with Cluster(("a", "b")) as cl:
        obs = Peer(cl.srv["a"], "sam")
        t = Peer(cl.srv["b"], "tess")
        obs.wait(typ("join", name="tess"))
        t0 = time.monotonic()
        os.kill(cl.srv["b"].proc.pid, signal.SIGTERM)
        obs.wait(typ("leave", name="tess"), timeout=3, what="tess's leave")
        took = time.monotonic() - t0
        eq(cl.srv["b"].stop(), 0, "exit status")
        RUNNER.notes.append("SIGTERM: users offline elsewhere after %.1f s"
                            % took)
        obs.close()
        t.close()


def test_offline_pm_other_instance():
    """A PM to erin (offline) stored through b, fetched through c; its
    sender sees offline, then delivered."""
    need_chat_server()
    with Cluster() as cl:
        e = Peer(cl.srv["a"], "erin")
        token = e.token
        e.close()
        f = Peer(cl.srv["b"], "frank")
        time.sleep(0.3)
        f.send({"type": "msg", "id": "o1", "to": "erin", "text": "later"})
        f.wait(typ("status", ref="o1", status="offline"), what="offline")
        e = Peer(cl.srv["c"], "erin", token=token)
        m = e.wait(typ("msg", **{"from": "frank"}), what="the stored PM")
        eq(m["text"], "later", "text")
        f.wait(typ("status", ref="o1", status="delivered"), what="delivered")
        e.close()
        e = Peer(cl.srv["a"], "erin", token=token)
        e.quiet(typ("msg"), 0.5)  # once: not again at the next login
        e.close()
        f.close()


def test_shared_state():
    """History, contacts and name claims are the same on every
    instance."""
    need_chat_server()
    with Cluster() as cl:
        g = Peer(cl.srv["a"], "gina")
        h = Peer(cl.srv["b"], "hugo")
        g.wait(typ("join", name="hugo"))
        g.send({"type": "msg", "id": "h1", "text": "for the record"})
        g.wait(typ("status", ref="h1", status="sent"))
        g.send({"type": "contact_add", "name": "hugo", "id": "c"})
        eq(g.wait(typ("contacts", ref="c"))["contacts"],
           [{"name": "hugo", "online": True}], "contacts")
        g.close()
        g = Peer(cl.srv["c"], "gina", token=g.token)
        eq([m["text"] for m in g.welcome["history"]], ["for the record"],
           "history on c")
        eq(g.welcome["contacts"], [{"name": "hugo", "online": True}],
           "contacts on c")
        x = Peer(cl.srv["b"], "GINA", expect=False)
        err = x.wait(typ("error"), what="name_taken")
        eq(err["code"], "name_taken", "a claim made on a, checked on b")
        for p in (g, h, x):
            p.close()


def test_login_moves_instance():
    """A login with the token on another instance replaces the old
    connection (error replaced, close 4001); nobody sees a leave."""
    need_chat_server()
    with Cluster() as cl:
        w = Peer(cl.srv["c"], "watcher")
        i1 = Peer(cl.srv["a"], "ivan")
        w.wait(typ("join", name="ivan"))
        i2 = Peer(cl.srv["b"], "ivan", token=i1.token)
        i1.wait(typ("error", code="replaced"), what="replaced")
        pump([i1], 5, lambda: i1.closed)
        eq(i1.closed, 4001, "close code")
        w.quiet(typ("leave", name="ivan"), 2.5)
        w.send({"type": "users", "id": "u"})
        eq(w.wait(typ("users", ref="u"))["users"], ["ivan", "watcher"],
           "users")
        for p in (w, i1, i2):
            p.close()


def test_kill9_instance():
    """kill -9 of instance d: its users are offline on the others within
    the presence expiry (<= 15 s), can log in elsewhere, and what d had
    acknowledged is kept."""
    need_chat_server()
    with Cluster(("a", "b", "d")) as cl:
        obs = Peer(cl.srv["a"], "observer")
        lisa = Peer(cl.srv["a"], "lisa")
        lisa.close()
        j = Peer(cl.srv["d"], "jack")
        k = Peer(cl.srv["d"], "kate", plain=True)
        obs.wait(typ("join", name="kate"))
        j.send({"type": "msg", "id": "k1", "text": "before the crash"})
        j.wait(typ("status", ref="k1", status="sent"))
        j.send({"type": "msg", "id": "k2", "to": "lisa", "text": "keep it"})
        j.wait(typ("status", ref="k2", status="offline"))
        t0 = time.monotonic()
        cl.srv["d"].stop(signal.SIGKILL)
        left = set()
        while not {"jack", "kate"} <= left:
            m = obs.wait(typ("leave"), timeout=15 - (time.monotonic() - t0),
                         what="leaves of d's users")
            left.add(m["name"])
        took = time.monotonic() - t0
        check(took <= 15, "offline after %.1f s" % took)
        eq(users_soon(obs, ["observer"]), ["observer"], "users")
        j2 = Peer(cl.srv["b"], "jack", token=j.token)
        eq([m["text"] for m in j2.welcome["history"]], ["before the crash"],
           "acknowledged history")
        lisa = Peer(cl.srv["b"], "lisa", token=lisa.token)
        eq(lisa.wait(typ("msg", **{"from": "jack"}))["text"], "keep it",
           "the acknowledged offline PM")
        j2.wait(typ("status", ref="k2", status="delivered"))
        k2 = login_soon(cl.srv["b"], "kate")
        check(k2.welcome.startswith("* welcome "), "kate on b: %r"
              % k2.welcome)
        obs.wait(typ("join", name="kate"))
        RUNNER.notes.append("kill -9: users offline elsewhere after %.1f s"
                            % took)
        for p in (obs, j, k, j2, k2, lisa):
            p.close()


def test_redis_restart():
    """Redis stops: each instance serves its own users with a notice;
    Redis returns: presence resynchronised within 5 s, fan-out again,
    and what was said meanwhile is in the history."""
    need_chat_server()
    with Cluster(("a", "b")) as cl:
        a1 = Peer(cl.srv["a"], "lena", plain=True)
        a2 = Peer(cl.srv["a"], "mike", plain=True)
        b1 = Peer(cl.srv["b"], "nina", plain=True)
        eq(plain_users_soon(b1, "lena, mike, nina"), "lena, mike, nina",
           "online before")
        cl.redis.kill()
        for p in (a1, a2, b1):
            m = p.wait(lambda m: m.startswith("* the chat is running "
                                              "locally only"),
                       what="the local-only notice")
        a1.send("said while Redis was away")
        a2.wait(lambda m: m == "lena: said while Redis was away")
        b1.quiet(lambda m: "while Redis was away" in m, 1.0)
        olga = Peer(cl.srv["b"], "olga", plain=True)  # logins still work
        t0 = time.monotonic()
        cl.redis.restart()
        for p in (a1, a2, b1):
            p.wait(lambda m: m.startswith("* the chat is connected again"),
                   timeout=5, what="the connected-again notice")
        eq(plain_users_soon(b1, "lena, mike, nina, olga", 5 - (
            time.monotonic() - t0)), "lena, mike, nina, olga",
           "presence within 5 s of Redis's return")
        took = time.monotonic() - t0
        a1.send("after the return")
        b1.wait(lambda m: m == "lena: after the return", what="fan-out")
        j = Peer(cl.srv["b"], "pete")
        texts = [m["text"] for m in j.welcome["history"]]
        check("said while Redis was away" in texts and
              texts[-1] == "after the return", "history: %r" % texts)
        RUNNER.notes.append("Redis restart: presence back after %.1f s"
                            % took)
        for p in (a1, a2, b1, olga, j):
            p.close()


def test_redis_down_memory_bounded():
    """While Redis is away, an instance queues what it must write back
    only up to its bound (4 MiB): past it a message is refused with an
    error, and the process's memory stays bounded."""
    need_chat_server()
    with Cluster(("a",)) as cl:
        p = Peer(cl.srv["a"], "quinn", plain=True)
        q = Peer(cl.srv["a"], "rita", plain=True)
        cl.redis.kill()
        p.wait(lambda m: m.startswith("* the chat is running locally only"))
        before = wstest.status_kib(cl.srv["a"].proc.pid)
        text = "x" * 4000
        errors = delivered = 0
        for i in range(1500):  # 6 MB of lobby messages
            p.send("%d %s" % (i, text))
            if i % 100 == 99:
                pump([p, q], 0.05)
        pump([p, q], 10, lambda: len(q.q) + sum(
            1 for m in p.q if m.startswith("* error: ")) >= 1500)
        errors = sum(1 for m in p.q if m.startswith("* error: "))
        delivered = sum(1 for m in q.q if m.startswith("quinn: "))
        grown = wstest.status_kib(cl.srv["a"].proc.pid) - before
        check(errors > 0 and delivered > 900 and errors + delivered == 1500,
              "%d delivered, %d refused" % (delivered, errors))
        check(grown < 24 * 1024, "RSS grew by %d KiB" % grown)
        RUNNER.notes.append("Redis away: %d of 1500 4-KB messages queued "
                            "and delivered locally, %d refused; RSS +%d KiB"
                            % (delivered, errors, grown))
        p.close()
        q.close()


def test_options():
    """--redis and --node-id: bad values and an unreachable Redis are
    clean errors."""
    need_chat_server()
    port = free_port()
    for args, want in (
            (["--redis", "http://x"], "bad value for --redis: 'http://x' "
                                      "(it must start with redis://)"),
            (["--redis", "redis://127.0.0.1:%d/0" % port,
              "--node-id", "a b"], "bad value for --node-id: 'a b'"),
            (["--node-id", "n1"], "--node-id needs --redis"),
            (["--redis", "redis://127.0.0.1:%d/0" % port],
             "cannot reach Redis")):
        p = subprocess.run([ARGS.chat_server, "--port", "0",
                            "--data-dir", "/nonexistent/x"] + args,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=10)
        err = p.stderr.decode()
        check(p.returncode != 0 and want in err,
              "%r: exit %d, %r" % (args, p.returncode, err))


def main():
    global ARGS, RUNNER
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis-server", required=True)
    ap.add_argument("--adapter-test", required=True)
    ap.add_argument("--chat-server", help="chat-server built with hiredis")
    ap.add_argument("-k", default="", help="run the cases whose name has K")
    ARGS = ap.parse_args()
    RUNNER = wstest.Runner("test_redis")
    tests = [test_harness_port_collision, test_harness_restart, test_adapter,
             test_adapter_valgrind, test_options, test_pm_across_instances,
             test_presence_and_typing, test_sigterm_instance,
             test_offline_pm_other_instance,
             test_shared_state, test_login_moves_instance,
             test_broadcast_300, test_redis_restart,
             test_redis_down_memory_bounded, test_kill9_instance]
    return RUNNER.run(tests, k=ARGS.k, deadline=150)


RUNNER = None

if __name__ == "__main__":
    sys.exit(main())
