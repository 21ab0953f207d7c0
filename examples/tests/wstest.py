"""wstest — helpers for the example tests: start and stop programs, a raw
WebSocket client over a plain socket, and a small scriptable WebSocket
server. Standard library only (run with /usr/bin/python3)."""

import argparse
import base64
import hashlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def eq(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        raise Fail("%s: got %s, want %s" % (what, g[:300], w[:300]))


class Skip(Exception):
    """A test that cannot run here (a missing browser, ...)."""


# --------------------------------------------------------------- runner

class Runner:
    """Runs test functions one by one, each under a SIGALRM deadline, and
    prints one line per case ("ok", "FAIL" with the reason, "SKIP"), the
    notes, and "NAME: N passed, N failed". A test may report sub-cases of
    its own with report(). no_skip: a skipped test counts as failed."""

    def __init__(self, name, no_skip=False):
        self.name, self.no_skip = name, no_skip
        self.notes = []
        self.passed = self.failed = self.skipped = 0

    def report(self, case, ok, why="", seconds=None):
        t = "" if seconds is None else " %5.2f s" % seconds
        if ok is None:
            self.skipped += 1
            print("SKIP  %-44s %s" % (case, why))
        elif ok:
            self.passed += 1
            print("ok    %-44s%s" % (case, t))
        else:
            self.failed += 1
            print("FAIL  %-44s%s\n      %s" % (case, t, why.replace("\n", "\n      ")))
        sys.stdout.flush()

    def run(self, tests, k="", deadline=90, after_each=None):
        """Run the tests whose name contains k; returns the exit status."""
        def on_alarm(signo, frm):
            raise Fail("timed out after %d s" % deadline)

        signal.signal(signal.SIGALRM, on_alarm)
        t_all = time.monotonic()
        for t in tests:
            if k not in t.__name__:
                continue
            t0 = time.monotonic()
            signal.alarm(deadline)
            try:
                t()
                ok, why = True, ""
            except Skip as e:
                ok, why = (False if self.no_skip else None), str(e)
            except Fail as e:
                ok, why = False, str(e)
            except Exception:
                ok, why = False, traceback.format_exc()
            finally:
                signal.alarm(0)
                if after_each:
                    after_each()
            self.report(t.__name__, ok, why, time.monotonic() - t0)
        for n in self.notes:
            print("note: " + n)
        if self.skipped:
            print("note: %d skipped, not counted as passed" % self.skipped)
        print("note: %.1f s in all" % (time.monotonic() - t_all))
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed))
        return 1 if self.failed else 0


# ------------------------------------------------------------ processes

def suite_args(*programs, no_skip=False):
    """A suite's command line: --PROGRAM PATH for each of programs (each
    required, made absolute), -k NAME (run only the cases whose name
    contains NAME) and, when the suite has cases that skip, --no-skip.
    Returns the parsed arguments ("--chat-server" as .chat_server)."""
    ap = argparse.ArgumentParser()
    for name in programs:
        ap.add_argument("--" + name, required=True,
                        help="the %s to test" % name)
    ap.add_argument("-k", default="",
                    help="run the cases whose name contains this")
    if no_skip:
        ap.add_argument("--no-skip", action="store_true",
                        help="a case that cannot run (no browser, no node) "
                        "fails")
    args = ap.parse_args()
    for name in programs:
        dest = name.replace("-", "_")
        setattr(args, dest, os.path.abspath(getattr(args, dest)))
    return args


def read_line(f, timeout):
    """One line from a pipe within timeout seconds ('' at EOF)."""
    deadline = time.monotonic() + timeout
    data = b""
    fd = f.fileno()
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Fail("no line within %.0f s (got %r)" % (timeout, data))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            d = os.read(fd, 1)
            if not d:
                break
            data += d
    return data.decode(errors="replace")


def status_kib(pid, field="VmRSS"):
    """A "kB" field of /proc/PID/status (VmRSS, VmHWM, ...); None if the
    kernel does not report it."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def reap(p):
    """Kill p if it still runs, wait for it and close its pipes: the
    cleanup of a test that drives a program on stdin/stdout."""
    if p.poll() is None:
        p.kill()
        p.wait()
    for f in (p.stdin, p.stdout, p.stderr):
        if f is not None:
            f.close()


def terminate(proc, timeout=5.0, sig=signal.SIGTERM):
    """Signal a child by its PID (SIGTERM) and wait; kill -9 after timeout
    seconds. Returns the exit status, None if it had to be killed."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        return None


# Clients a suite keeps open; close_clients() closes them before a server
# is stopped, so that the server need not wait for them.
OPEN_CLIENTS = []


def close_clients():
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


class DataServer:
    """A server with a --data-dir on 127.0.0.1 --port 0 (chat-server,
    messenger-server): the directory is kept across restart(), stderr goes
    to a file per start, every stop is by PID. A subclass sets name (for
    messages), banner (its first stdout line up to the port) and binary;
    tmp is where data directories are made."""

    name = banner = binary = tmp = None

    def __init__(self, fsync=None, args=(), data_dir=None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="data-", dir=self.tmp)
        self.fsync, self.args = fsync, list(args)
        self.starts, self.proc = 0, None
        self.start()

    def start(self):
        self.starts += 1
        self.err_path = "%s.stderr.%d" % (self.dir, self.starts)
        cmd = [self.binary, "--host", "127.0.0.1", "--port", "0",
               "--data-dir", self.dir]
        if self.fsync:
            cmd += ["--fsync", self.fsync]
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(cmd + self.args,
                                         stdout=subprocess.PIPE,
                                         stderr=err, stdin=subprocess.DEVNULL)
        try:
            line = read_line(self.proc.stdout, 10)
        except Fail:
            self.kill9()
            raise
        if not line.startswith(self.banner) or not line.endswith("\n"):
            self.kill9()
            raise Fail("%s did not say %r: %r; stderr: %s"
                       % (self.name, self.banner + "PORT\\n", line,
                          self.stderr()[-1500:]))
        self.port = int(line.rsplit(":", 1)[1])
        self.pid = self.proc.pid
        return self

    def restart(self):
        check(self.proc is None, "restart of a running server")
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """kill -9, by PID, and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc = None

    def stop(self, timeout=5.0, keep_clients=False):
        """SIGTERM; returns the exit status (None: it had to be killed)."""
        if self.proc is None:
            return 0
        if not keep_clients:
            close_clients()
        status = terminate(self.proc, timeout)
        self.proc.stdout.close()
        self.proc = None
        return status

    def stderr(self):
        """What the server wrote to stderr since it last started."""
        with open(self.err_path, "rb") as f:
            return f.read().decode(errors="replace")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None and self.proc is not None:
            check(self.alive(), "%s died: status %r; stderr:\n%s"
                  % (self.name, self.proc.poll(), self.stderr()[-2000:]))
        status = self.stop()
        if exc[0] is None:
            eq(status, 0, "%s exit status after SIGTERM" % self.name)
        return False


class Server:
    """wsecho started with --port 0; port parsed from its one stdout line."""

    def __init__(self, binary, args=(), logdir="/tmp", host="127.0.0.1",
                 preexec_fn=None):
        self.log_path = os.path.join(logdir, "wsecho-%d.log" % time.monotonic_ns())
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "--host", host, "--port", "0"] + list(args),
            stdout=subprocess.PIPE, stderr=self.log, preexec_fn=preexec_fn)
        line = self.proc.stdout.readline().decode()
        check(line.startswith("wsecho listening on "),
              "wsecho did not say where it listens: %r" % line)
        self.addr = line.split(" on ", 1)[1].strip()
        self.port = int(self.addr.rsplit(":", 1)[1])
        self.pid = self.proc.pid

    def rss_kib(self):
        return status_kib(self.pid) or 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        """Signal it and wait; returns the exit status (None if killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class servers:
    """with servers(wsecho(...)) as s: ... stops it whatever happens."""

    def __init__(self, *srv):
        self.srv = srv

    def __enter__(self):
        return self.srv[0] if len(self.srv) == 1 else self.srv

    def __exit__(self, *exc):
        for s in self.srv:
            status = s.stop()
            if exc[0] is None and status != 0:
                raise Fail("wsecho exited with %r after SIGTERM; its log:\n%s"
                           % (status, s.log_text()[-2000:]))
        return False


def mask(data, key):
    if key == b"\0\0\0\0" or not data:
        return bytes(data)
    n = len(data)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload=b"", fin=True, masked=True, key=None, rsv=0):
    """Encode one frame (RFC 6455 §5.2)."""
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    m = 0x80 if masked else 0
    if n < 126:
        head = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, m | 126, n)
    else:
        head = struct.pack("!BBQ", b0, m | 127, n)
    if not masked:
        return head + payload
    if key is None:
        key = os.urandom(4)
    return head + key + mask(payload, key)


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


# -------------------------------------------------------------- client

class Client:
    """A WebSocket client over a raw socket, frame by frame."""

    def __init__(self, port, path="/", host="127.0.0.1", headers=(),
                 timeout=10.0, handshake=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.response = b""
        if handshake:
            self.handshake(path, headers)

    def handshake(self, path="/", headers=()):
        key = base64.b64encode(os.urandom(16))
        req = (b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\n"
               b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n")
        for h in headers:
            req += h.encode() + b"\r\n"
        self.sock.sendall(req + b"\r\n")
        head = self.read_head()
        self.response = head
        check(head.startswith(b"HTTP/1.1 101 "), "no 101: %r" % head[:200])
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        check(b"Sec-WebSocket-Accept: " + accept in head, "bad accept: %r" % head)

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise Fail("connection closed during the handshake: %r" % bytes(self.buf))
            self.buf += d
        i = self.buf.index(b"\r\n\r\n") + 4
        head = bytes(self.buf[:i])
        del self.buf[:i]
        return head

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, op, payload=b"", fin=True, **kw):
        self.sock.sendall(frame(op, payload, fin, **kw))

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(max(65536, n - len(self.buf)))
            if not d:
                return False
            self.buf += d
        return True

    def recv_frame(self):
        """(fin, opcode, payload), or None at EOF."""
        f = self.recv_frame_rsv()
        return None if f is None else (f[0], f[2], f[3])

    def recv_frame_rsv(self):
        """(fin, rsv bits (RSV1 = 4), opcode, payload), or None at EOF."""
        if not self._need(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if not self._need(4):
                return None
            n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if not self._need(10):
                return None
            n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
        check(not (b1 & 0x80), "server frame is masked")
        if not self._need(pos + n):
            return None
        payload = bytes(self.buf[pos:pos + n])
        del self.buf[:pos + n]
        return (bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0x0F, payload)

    def recv_message(self, pongs=None):
        """(opcode, payload) of the next data message or control frame
        (pings are answered; pongs collected when a list is given)."""
        op, parts = None, []
        while True:
            f = self.recv_frame()
            if f is None:
                return None
            fin, fop, payload = f
            if fop == OP_PING:
                self.send_frame(OP_PONG, payload)
                continue
            if fop == OP_PONG and pongs is not None:
                pongs.append(payload)
                continue
            if fop >= 8:
                return (fop, payload)
            if op is None:
                op = fop
            parts.append(payload)
            if fin:
                return (op, b"".join(parts))

    def echo(self, op, payload, what="echo"):
        self.send_frame(op, payload)
        got = self.recv_message()
        check(got is not None, "%s: connection closed" % what)
        eq(got[0], op, "%s: opcode" % what)
        if got[1] != payload:
            raise Fail("%s: %d bytes back, %d sent, differ" % (what, len(got[1]), len(payload)))

    def expect_close(self, code, what="close"):
        got = self.recv_message()
        check(got is not None, "%s: EOF instead of a close frame" % what)
        eq(got[0], OP_CLOSE, "%s: frame type" % what)
        check(len(got[1]) >= 2, "%s: close without a code" % what)
        eq(struct.unpack("!H", got[1][:2])[0], code, "%s: close code" % what)
        return got[1][2:]

    def expect_eof(self, what="eof", timeout=5.0):
        self.sock.settimeout(timeout)
        try:
            while True:
                f = self.recv_frame()
                if f is None:
                    return
                check(f[1] == OP_PING, "%s: frame %r instead of EOF" % (what, f[:2]))
        except socket.timeout:
            raise Fail("%s: server did not close the TCP connection" % what)
        except ConnectionResetError:
            raise Fail("%s: connection reset instead of closed" % what)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def recv_to_eof(sock):
    """Everything sock receives until the peer closes."""
    data = b""
    while True:
        d = sock.recv(65536)
        if not d:
            return data
        data += d


def exchange(port, request, host="127.0.0.1", timeout=5.0):
    """Connect, send raw bytes, return all that comes back until the
    server closes."""
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(request)
        return recv_to_eof(s)
    finally:
        s.close()


def http(port, request, host="127.0.0.1", timeout=5.0):
    """Send raw bytes, read to EOF; returns (status, headers dict, body)."""
    data = exchange(port, request, host, timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    return status, headers, body


# -------------------------------------------------------- test server

class FakeServer:
    """A one-connection WebSocket server in a thread, for testing clients.
    script(conn) runs with a connected ServerConn after the handshake;
    status != 101 answers the handshake with that status instead."""

    def __init__(self, script=None, status=101, protocol=None):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.lsock.settimeout(10)
        self.port = self.lsock.getsockname()[1]
        self.script, self.status, self.protocol = script, status, protocol
        self.request = b""
        self.frames = []
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            s, _ = self.lsock.accept()
            s.settimeout(10)
            c = Client.__new__(Client)
            c.sock, c.buf = s, bytearray()
            self.request = c.read_head()
            if self.status != 101:
                body = b"nope\n"
                s.sendall(b"HTTP/1.1 %d Not Found\r\nContent-Length: %d\r\n"
                          b"Connection: close\r\n\r\n" % (self.status, len(body)) + body)
                s.close()
                return
            key = [l.split(b":", 1)[1].strip() for l in self.request.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            resp = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n")
            if self.protocol:
                resp += b"Sec-WebSocket-Protocol: " + self.protocol.encode() + b"\r\n"
            s.sendall(resp + b"\r\n")
            c.server = self
            if self.script:
                self.script(c)
            s.close()
        except Exception as e:  # reported by the test
            self.error = e
        finally:
            self.lsock.close()

    def recv_frame_unmasked(self, c):
        """Read a client frame, unmask it, and remember it."""
        if not c._need(2):
            return None
        b0, b1 = c.buf[0], c.buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            c._need(4)
            n, pos = struct.unpack("!H", c.buf[2:4])[0], 4
        elif n == 127:
            c._need(10)
            n, pos = struct.unpack("!Q", c.buf[2:10])[0], 10
        if not (b1 & 0x80):
            raise Fail("client frame not masked")
        c._need(pos + 4 + n)
        key = bytes(c.buf[pos:pos + 4])
        payload = mask(bytes(c.buf[pos + 4:pos + 4 + n]), key)
        del c.buf[:pos + 4 + n]
        f = (bool(b0 & 0x80), b0 & 0x0F, payload)
        self.frames.append(f)
        return f

    def join(self, timeout=10):
        self.thread.join(timeout)
        if self.error:
            raise self.error


def run(cmd, input=b"", timeout=20, env=None):
    """Run a command; returns (exit status, stdout, stderr)."""
    p = subprocess.run(cmd, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")
