#!/usr/bin/python3
"""test_examples.py — wsecho and wscat (and so examples/common) over
loopback: echo in both modes, a 64 MiB streamed message in bounded memory,
static files (symbolic links refused, the 301's Location, 503 out of
descriptors, repeated Content-Length, a missing --static directory),
handshake rejects, timeouts, the connection limit,
backpressure, the memory budget (40 hogs), the stall rule (tricklers),
pings, graceful shutdown, protocol errors, wscat against
wsecho and against a scripted server, permessage-deflate (negotiated,
declined, --no-deflate, corrupt data, a bomb, wscat --deflate), and memory
per idle connection.

  /usr/bin/python3 examples/tests/test_examples.py --wsecho PATH --wscat PATH [-k NAME]

Every test is bounded in time; every process started is stopped by PID.
Ends with "N passed, N failed"; exit status 1 if any failed.
"""

import os
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wstest import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,  # noqa: E402
                    Client, FakeServer, Fail, Runner, Server, check,
                    close_payload, eq, exchange, frame, http, reap, run, servers,
                    suite_args)

TESTS = []
WSECHO = WSCAT = WSXTEST = None
TMP = None
NOTES = []  # measurements printed at the end


def test(fn):
    TESTS.append(fn)
    return fn


def wsecho(*args, **kw):
    return Server(WSECHO, args, TMP, **kw)


def wscat_cmd(*args):
    return [WSCAT] + list(args)


def payloads():
    big = os.urandom(1 << 20)
    return [
        (OP_TEXT, b"hello"),
        (OP_TEXT, "héllo wörld — 你好 🙂".encode()),
        (OP_TEXT, b""),
        (OP_BINARY, b""),
        (OP_BINARY, os.urandom(125)),
        (OP_BINARY, os.urandom(126)),
        (OP_BINARY, os.urandom(65536)),
        (OP_BINARY, big),
        (OP_TEXT, ("ab€" * 209715).encode()),  # about 1 MiB of text
    ]


# ------------------------------------------------------------------ echo

def echo_all(port):
    c = Client(port, "/echo")
    for op, p in payloads():
        c.echo(op, p, "echo %s %d bytes" % ("text" if op == OP_TEXT else "binary", len(p)))
    # A fragmented message with a ping in the middle comes back whole.
    c.send_frame(OP_TEXT, b"frag", fin=False)
    c.send_frame(OP_PING, b"mid")
    c.send_frame(OP_CONT, "mént".encode(), fin=False)
    c.send_frame(OP_CONT, b"ed", fin=True)
    pongs = []
    got = c.recv_message(pongs)
    eq(got, (OP_TEXT, "fragménted".encode()), "fragmented echo")
    eq(pongs, [b"mid"], "pong between fragments")
    # Peer close: reply, then the server closes TCP (RFC 6455 §7.1.1).
    c.send_frame(OP_CLOSE, close_payload(1000, b"bye"))
    c.expect_close(1000, "close reply")
    c.expect_eof("after close reply")
    c.close()


@test
def echo_whole_messages():
    with servers(wsecho()) as s:
        echo_all(s.port)


@test
def echo_streaming():
    with servers(wsecho("--stream")) as s:
        echo_all(s.port)


@test
def echo_ping_pong():
    with servers(wsecho()) as s:
        c = Client(s.port)
        for n in (0, 1, 125):
            c.send_frame(OP_PING, b"p" * n)
            eq(c.recv_frame(), (True, OP_PONG, b"p" * n), "pong of %d bytes" % n)
        c.close()


@test
def echo_subprotocol():
    """--subprotocol: the first of ours the client offers is chosen; none
    when the client offers none of ours, or nothing."""
    with servers(wsecho("--subprotocol", "chat", "--subprotocol", "echo")) as s:
        for offer, want in (("superchat, echo, chat", b"chat"),
                            ("echo", b"echo"), ("other", None), (None, None)):
            c = Client(s.port, headers=["Sec-WebSocket-Protocol: " + offer]
                       if offer else [])
            got = [l.split(b":", 1)[1].strip() for l in c.response.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-protocol:")]
            eq(got, [want] if want else [], "protocol chosen for %r" % offer)
            c.echo(OP_TEXT, b"hi")
            c.close()


@test
def echo_ipv6():
    if not socket.has_ipv6:
        return
    try:
        socket.create_server(("::1", 0), family=socket.AF_INET6).close()
    except OSError:
        return  # no IPv6 loopback here
    with servers(wsecho(host="::1")) as s:
        check(s.addr.startswith("[::1]:"), "address %r" % s.addr)
        c = Client(s.port, host="::1")
        c.echo(OP_TEXT, b"over IPv6")
        c.close()


@test
def stream_64mib_in_bounded_memory():
    """--stream: one 64 MiB frame passes while wsecho's RSS stays small."""
    with servers(wsecho("--stream")) as s:
        c = Client(s.port, timeout=30)
        total, chunk = 64 << 20, os.urandom(1 << 20)
        peak = [s.rss_kib()]
        base = peak[0]
        done = threading.Event()

        def sender():
            # Masked with a zero key, so the payload is sent as it is.
            c.send(struct.pack("!BBQ", 0x82, 0x80 | 127, total) + b"\0\0\0\0")
            for _ in range(total // len(chunk)):
                c.send(chunk)
                peak[0] = max(peak[0], s.rss_kib())
            done.set()

        t_start = time.monotonic()
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        got, first, op = 0, True, None
        while got < total:
            f = c.recv_frame()
            check(f is not None, "EOF after %d bytes echoed" % got)
            fin, fop, payload = f
            if first:
                op, first = fop, False
            else:
                eq(fop, OP_CONT, "continuation opcode")
            if payload != chunk[got % len(chunk):got % len(chunk) + len(payload)] and \
                    payload != (chunk * 2)[got % len(chunk):got % len(chunk) + len(payload)]:
                raise Fail("echoed bytes differ at offset %d" % got)
            got += len(payload)
            peak[0] = max(peak[0], s.rss_kib())
            check(not fin or got == total, "FIN after %d of %d bytes" % (got, total))
        t.join(30)
        check(done.is_set(), "sender did not finish")
        eq(op, OP_BINARY, "opcode")
        c.echo(OP_TEXT, b"still here")
        c.close()
        NOTES.append("%d MiB streamed message in %.2f s: wsecho RSS %d KiB before, "
                     "peak %d KiB" % (got >> 20, time.monotonic() - t_start, base, peak[0]))
        check(peak[0] < 8 * 1024, "RSS peaked at %d KiB" % peak[0])


# --------------------------------------------------------------- static

def make_files(root, files):
    """files: {path relative to root: bytes}; directories made as needed.
    Returns root."""
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return root


def get_raw(port, path, method="GET", extra=b""):
    """The whole answer, unparsed, to a one-line request."""
    return exchange(port, ("%s %s HTTP/1.1\r\nHost: x\r\n" % (method, path))
                    .encode() + extra + b"\r\n")


@test
def static_files():
    index = b"<!doctype html><title>t</title>hello\n"
    data = os.urandom(200000)
    d = make_files(os.path.join(TMP, "www"), {
        "index.html": index, "data.bin": data, "a b.css": b"body{}",
        "sub/index.html": b"sub"})
    make_files(TMP, {"secret.txt": b"secret"})
    with servers(wsecho("--static", d)) as s:
        def get(path, method="GET"):
            return http(s.port, ("%s %s HTTP/1.1\r\nHost: x\r\n\r\n" % (method, path)).encode())

        st, h, body = get("/")
        eq((st, body), (200, index), "GET /")
        eq(h.get("content-type"), "text/html; charset=utf-8", "Content-Type of /")
        eq(h.get("content-length"), str(len(index)), "Content-Length of /")
        st, h, body = get("/data.bin")
        eq(st, 200, "GET /data.bin")
        check(body == data, "data.bin body differs (%d bytes)" % len(body))
        eq(h.get("content-type"), "application/octet-stream", "Content-Type of .bin")
        st, h, body = get("/a%20b.css?v=1")
        eq((st, body, h.get("content-type")), (200, b"body{}", "text/css; charset=utf-8"),
           "percent-encoded name, query ignored")
        eq(get("/sub/")[::2], (200, b"sub"), "directory index")
        st, h, _ = get("/sub")
        eq((st, h.get("location")), (301, "/sub/"), "directory without slash")
        eq(get("/missing.html")[0], 404, "missing file")
        eq(get("/data.bin/")[0], 404, "a file asked for as a directory")
        for bad in ("/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
                    "/..%2fsecret.txt", "/sub/%2E%2E/%2E%2E/secret.txt"):
            st, _, body = get(bad)
            eq(st, 403, "'..' refused: " + bad)
            check(b"secret" not in body, "leaked via " + bad)
        st, h, body = get("/data.bin", "HEAD")
        eq((st, body, h.get("content-length")), (200, b"", str(len(data))), "HEAD")
        st, h, _ = get("/", "POST")
        eq((st, h.get("allow")), (405, "GET, HEAD"), "POST")
        eq(get("/%zz")[0], 400, "bad escape")
        # Without --static a plain GET is a 404, and WebSocket still works.
    with servers(wsecho()) as s:
        eq(http(s.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[0], 404, "no --static")


def get(port, path):
    """(status, headers, body) of GET path."""
    return http(port, ("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())


@test
def static_symlinks_refused():
    """Every symbolic link under --static is refused with 404, whether it
    leads out (a file link to /etc/passwd, a directory link to /etc, a
    relative link up) or stays inside: files are opened one component at
    a time with O_NOFOLLOW, so no link is ever followed."""
    d = make_files(os.path.join(TMP, "links"), {
        "plain.txt": b"plain", "sub/index.html": b"sub index"})
    make_files(TMP, {"outside.txt": b"outside"})
    links = {"p": "/etc/passwd", "etc": "/etc", "up": "..",
             "out.txt": "../outside.txt", "alias.txt": "plain.txt",
             "subalias": "sub", "abs.txt": os.path.join(d, "plain.txt")}
    for name, target in links.items():
        os.symlink(target, os.path.join(d, name))
    os.symlink("../plain.txt", os.path.join(d, "sub", "back.txt"))
    with servers(wsecho("--static", d)) as s:
        eq(get(s.port, "/plain.txt")[::2], (200, b"plain"), "a plain file")
        for path in ("/p", "/etc/passwd", "/etc/", "/etc", "/etc/hostname",
                     "/up/outside.txt", "/up/links/plain.txt", "/out.txt",
                     "/alias.txt", "/subalias/", "/subalias/index.html",
                     "/subalias", "/abs.txt", "/sub/back.txt"):
            st, _, body = get(s.port, path)
            eq(st, 404, "symlink refused: " + path)
            check(b"root:" not in body and b"outside" not in body
                  and b"plain" not in body, "leaked via " + path)
        eq(get(s.port, "/sub/")[::2], (200, b"sub index"),
           "the real directory")


@test
def static_redirect_location():
    """The 301 for a directory names the normalised path: never '//host',
    escaped again, the query kept; a long encoded path still gets a whole
    head (or a 414)."""
    d = make_files(os.path.join(TMP, "redir"), {
        "sub/index.html": b"", "a b/c/index.html": b""})
    with servers(wsecho("--static", d)) as s:
        for path, want in (("//sub", "/sub/"), ("///sub", "/sub/"),
                           ("/./sub", "/sub/"), ("/sub/.", "/sub/"),
                           ("/.", "/"), ("//a%20b//c", "/a%20b/c/"),
                           ("/sub?x=1&y=%2F", "/sub/?x=1&y=%2F"),
                           ("/" + "%2e%2f" * 300 + "sub", "/sub/")):
            raw = get_raw(s.port, path)
            head, sep, _ = raw.partition(b"\r\n\r\n")
            check(sep, "no blank line after the head for %s: %r"
                  % (path[:40], raw[-80:]))
            lines = head.split(b"\r\n")
            eq(lines[0], b"HTTP/1.1 301 Moved Permanently",
               "status of " + path[:40])
            loc = [l for l in lines if l.lower().startswith(b"location:")]
            eq(loc, [b"Location: " + want.encode()],
               "Location for " + path[:40])
        # Longer than a path may be once decoded: a complete 414.
        raw = get_raw(s.port, "/" + "%2e%2f" * 600 + "sub")
        check(raw.startswith(b"HTTP/1.1 414 ") and b"\r\n\r\n" in raw,
              "very long path: %r" % raw[:60])


@test
def static_out_of_descriptors_503():
    """Out of descriptors when opening an existing file: 503 with
    Retry-After, and files are served again once descriptors are free."""
    d = make_files(os.path.join(TMP, "fds"), {"f.txt": b"file"})

    def low_limit():  # soft and hard: wsx raises the soft one to the hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    req = b"GET /f.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    with servers(wsecho("--static", d, preexec_fn=low_limit)) as s:
        eq(http(s.port, req)[::2], (200, b"file"), "before")
        idle, first = [], None
        try:
            # One more idle WebSocket each round, until a request for the
            # file no longer gets it: the first such answer must be a 503.
            for _ in range(60):
                idle.append(Client(s.port))
                raw = exchange(s.port, req)
                if not raw.startswith(b"HTTP/1.1 200 "):
                    first = raw
                    break
                time.sleep(0.02)  # the probe's descriptor is closed
            check(first is not None, "never ran out of descriptors")
            head = first.partition(b"\r\n\r\n")[0]
            check(head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"),
                  "out of descriptors: %r" % first[:80])
            check(b"\r\nRetry-After: 1" in head, "no Retry-After: %r" % head)
            idle[0].echo(OP_TEXT, b"others still served")
        finally:
            for c in idle:
                c.close()
        time.sleep(0.3)
        eq(http(s.port, req)[::2], (200, b"file"), "after the release")


@test
def content_length_repeated_400():
    """RFC 7230 §3.3.3: more than one Content-Length, or a list value
    (even of equal numbers), is a 400, as are values that are not 1*DIGIT."""
    d = make_files(os.path.join(TMP, "cl"), {"f.txt": b"file"})
    with servers(wsecho("--static", d)) as s:
        base = b"GET /f.txt HTTP/1.1\r\nHost: x\r\n"
        eq(http(s.port, base + b"Content-Length: 5\r\n\r\nhello")[::2],
           (200, b"file"), "one Content-Length")
        cl5 = b"Content-Length: 5\r\n"
        for name, head in (
                ("twice the same", cl5 + cl5),
                ("two values", cl5 + b"Content-Length: 0\r\n"),
                ("apart", cl5 + b"X-A: b\r\ncontent-length: 5\r\n"),
                ("a list", b"Content-Length: 5, 5\r\n"),
                ("a second one empty", cl5 + b"Content-Length:\r\n"),
                ("a sign", b"Content-Length: +5\r\n"),
                ("empty", b"Content-Length:\r\n")):
            st, _, body = http(s.port, base + head + b"\r\nhello")
            eq(st, 400, "Content-Length " + name)
            check(b"file" not in body, "served with Content-Length " + name)


@test
def static_dir_missing():
    """A --static directory that is not there (or not a directory) is named
    on stderr, before listening, and the exit status is 1."""
    f = os.path.join(make_files(TMP, {"plain-file": b"x"}), "plain-file")
    for path, why in ((os.path.join(TMP, "nowhere"),
                       "No such file or directory"),
                      (f, "Not a directory")):
        st, out, err = run([WSECHO, "--port", "0", "--static", path])
        eq(st, 1, "exit status for " + path)
        eq(out, b"", "nothing on stdout")
        eq(err, "wsecho: --static %s: %s\n" % (path, why), "stderr")


# ------------------------------------------------------------ handshake

@test
def handshake_rejects():
    with servers(wsecho()) as s:
        base = ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n")
        key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        st, h, _ = http(s.port, (base + key + "Sec-WebSocket-Version: 12\r\n\r\n").encode())
        eq(st, 426, "wrong version")
        eq(h.get("sec-websocket-version"), "13", "426 names version 13")
        st, _, _ = http(s.port, (base + "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        eq(st, 400, "missing key")
        st, _, _ = http(s.port, ("POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                 "Connection: Upgrade\r\n" + key +
                                 "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        eq(st, 400, "not GET")
        eq(http(s.port, b"\x16\x03\x01garbage\r\n\r\n")[0], 400, "garbage")
        st, _, _ = http(s.port, (base + key + "X-Big: " + "a" * 65536 + "\r\n\r\n").encode())
        eq(st, 431, "64 KiB header")
        # A head split into single bytes still works.
        c = Client(s.port, handshake=False)
        req = (base + key + "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        for i in range(len(req)):
            c.send(req[i:i + 1])
            time.sleep(0.001)
        head = c.read_head()
        check(head.startswith(b"HTTP/1.1 101"), "byte-by-byte handshake: %r" % head[:40])
        c.echo(OP_TEXT, b"ok")
        c.close()


@test
def handshake_timeout():
    with servers(wsecho("--handshake-timeout", "1")) as s:
        c = Client(s.port, handshake=False)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end
        t0 = time.monotonic()
        c.sock.settimeout(5)
        check(c.sock.recv(100) == b"", "expected EOF")
        el = time.monotonic() - t0
        check(0.7 < el < 2.5, "closed after %.2f s, want about 1 s" % el)
        c.close()
        # An open connection is not subject to it.
        c = Client(s.port)
        time.sleep(1.6)
        c.echo(OP_TEXT, b"still open")
        c.close()


@test
def connection_limit():
    with servers(wsecho("--max-connections", "2")) as s:
        a, b = Client(s.port), Client(s.port)
        st, h, body = http(s.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(st, 503, "third connection")
        try:
            Client(s.port)
            raise Fail("third WebSocket accepted")
        except Fail as e:
            check("503" in str(e), "third WebSocket: %s" % e)
        a.echo(OP_TEXT, b"a still works")
        a.send_frame(OP_CLOSE, close_payload(1000))
        a.expect_close(1000)
        a.expect_eof()
        a.close()
        time.sleep(0.2)
        c = Client(s.port)
        c.echo(OP_TEXT, b"room again")
        b.echo(OP_TEXT, b"b too")
        b.close()
        c.close()


# --------------------------------------------------------- backpressure

@test
def backpressure_bounds_memory():
    """A client that sends 1 MiB messages and never reads: wsecho stops
    reading it, its memory stays bounded, others are still served."""
    with servers(wsecho()) as s:
        base = s.rss_kib()
        hog = Client(s.port)
        hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        hog.sock.settimeout(1.5)
        msg = frame(OP_BINARY, os.urandom(1 << 20))
        sent, peak = 0, base
        deadline = time.monotonic() + 20
        try:
            while sent < 400 and time.monotonic() < deadline:
                hog.send(msg)
                sent += 1
                peak = max(peak, s.rss_kib())
        except socket.timeout:
            pass  # TCP stalled: wsecho stopped reading us
        check(sent < 400, "never stalled: %d MiB sent without reading" % sent)
        other = Client(s.port)
        for i in range(20):
            other.echo(OP_BINARY, os.urandom(4096), "other client")
            peak = max(peak, s.rss_kib())
        other.close()
        time.sleep(0.3)
        peak = max(peak, s.rss_kib())
        NOTES.append("backpressure: stalled after %d x 1 MiB; wsecho RSS %d KiB before, "
                     "peak %d KiB" % (sent, base, peak))
        check(peak < 24 * 1024, "RSS grew to %d KiB" % peak)
        hog.close()
        time.sleep(0.3)
        c = Client(s.port)
        c.echo(OP_TEXT, b"after the hog")
        c.close()


# --------------------------------------------------------------- limits

def drain_close_code(c, timeout=3.0):
    """Read what a client never read; the close code at the end, or None
    when the connection ended without a close frame (EOF or reset)."""
    c.sock.settimeout(timeout)
    try:
        while True:
            f = c.recv_frame()
            if f is None:
                return None
            if f[1] == OP_CLOSE:
                return struct.unpack("!H", f[2][:2])[0]
    except (ConnectionResetError, socket.timeout):
        return None


def hog(c, msg, n, stop):
    """Send n messages without reading, until TCP stalls or stop is set."""
    c.sock.settimeout(0.5)
    view, sent = memoryview(msg * n), 0
    while sent < len(view) and not stop.is_set():
        try:
            sent += c.sock.send(view[sent:sent + 65536])
        except socket.timeout:
            continue
        except OSError:
            return


def logged_closes(s, code):
    return s.log_text().count("closed %d " % code)


@test
def budget_closes_largest_holders():
    """--max-buffered 8M, 40 clients that send large messages and never
    read: the largest holders are closed (1008 for echoes piling up, 1009
    for a huge message in progress), RSS stays bounded, a well-behaved
    client echoes throughout."""
    with servers(wsecho("--max-buffered", "8M", "--ping-interval", "0",
                        "--stall-timeout", "0", "-v")) as s:
        base = peak = s.rss_kib()
        good, errors, echoed = Client(s.port), [], [0]
        stop = threading.Event()

        def well_behaved():
            try:
                while not stop.is_set():
                    good.echo(OP_BINARY, os.urandom(4096), "well-behaved client")
                    echoed[0] += 1
                    time.sleep(0.01)
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(repr(e))

        readers, senders = [], []
        for i in range(40):
            c = Client(s.port)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            (readers if i % 2 else senders).append(c)
        echo_msg = frame(OP_BINARY, os.urandom(1 << 20))
        # 4 MiB announced, 3 MiB sent: a message the server must hold.
        big = frame(OP_BINARY, os.urandom(4 << 20))[:3 << 20]
        t_good = threading.Thread(target=well_behaved, daemon=True)
        t_good.start()
        hogs = [threading.Thread(target=hog, args=(c, echo_msg, 8, stop), daemon=True)
                for c in readers]
        hogs += [threading.Thread(target=hog, args=(c, big, 1, stop), daemon=True)
                 for c in senders]
        for t in hogs:
            t.start()
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(t.is_alive() for t in hogs):
            peak = max(peak, s.rss_kib())
            time.sleep(0.05)
        time.sleep(0.5)
        peak = max(peak, s.rss_kib())
        stop.set()
        for t in hogs:
            t.join(2)
        t_good.join(5)
        eq(errors, [], "the well-behaved client")
        check(echoed[0] >= 20, "only %d echoes meanwhile" % echoed[0])
        good.echo(OP_TEXT, b"still here")
        n1008, n1009 = logged_closes(s, 1008), logged_closes(s, 1009)
        seen = [drain_close_code(c, 1.0) for c in senders]
        for c in readers + senders:
            c.close()
        check(n1008 >= 5, "%d echo hogs closed with 1008" % n1008)
        check(n1008 + n1009 >= 30, "only %d hogs closed" % (n1008 + n1009))
        check(n1009 >= 10, "%d big senders closed with 1009" % n1009)
        check(seen.count(1009) >= 10, "close codes the big senders read: %r" % seen)
        NOTES.append("budget 8 MiB, 40 hogs: %d closed with 1008, %d with 1009; "
                     "wsecho RSS %d KiB before, peak %d KiB; %d echoes of the "
                     "well-behaved client meanwhile"
                     % (n1008, n1009, base, peak, echoed[0]))
        check(peak < 40 * 1024, "RSS peaked at %d KiB" % peak)
        good.close()


@test
def stall_timeout_drops_tricklers():
    """--stall-timeout 2 (and --ping-interval 0): clients trickling a
    frame a byte per second, one header byte, or a fragmented message a
    1-byte fragment and a ping per second are closed with 1008 after 2 to
    3 s; a client sending a message slowly but above 1 KiB per 2 s, and
    an idle one, stay."""
    with servers(wsecho("--stall-timeout", "2", "--ping-interval", "0")) as s:
        tricklers = [Client(s.port) for _ in range(10)]
        header, idle, pinger, steady = (Client(s.port) for _ in range(4))
        slow = frame(OP_TEXT, b"x" * 100, key=b"\0\0\0\0")
        body = os.urandom(24 * 1024)
        big = frame(OP_BINARY, body, key=b"\0\0\0\0")
        done = threading.Event()

        def send_slowly():
            try:
                for i in range(5):  # a byte and a fragment per second
                    for c in tricklers:
                        c.send(slow[i:i + 1])
                    pinger.send(frame(OP_CONT if i else OP_TEXT, b"y", fin=False) +
                                frame(OP_PING, b"still here?"))
                    for k in range(4):  # 512 bytes per 0.25 s: 4 KiB per 2 s
                        part = 2048 * i + 512 * k
                        steady.send(big[part:part + 512])
                        time.sleep(0.25)
            except OSError:
                pass  # a closed trickler; the checks below tell
            done.set()

        header.send(slow[:1])
        t0 = time.monotonic()
        threading.Thread(target=send_slowly, daemon=True).start()
        header.sock.settimeout(5)
        header.expect_close(1008, "a header byte, then nothing")
        el = time.monotonic() - t0
        check(1.9 < el < 3.0, "header trickler closed after %.2f s" % el)
        for c in tricklers:
            c.sock.settimeout(3)
            c.expect_close(1008, "a byte per second")
        el = time.monotonic() - t0
        check(el < 3.5, "byte tricklers closed after %.2f s" % el)
        pinger.sock.settimeout(3)
        got = pinger.recv_message([])
        check(got is not None and got[0] == OP_CLOSE, "pinger: %r" % (got,))
        eq(struct.unpack("!H", got[1][:2])[0], 1008, "pinger's close code")
        check(done.wait(10), "the slow senders did not finish")
        steady.send(big[10240:])
        eq(steady.recv_message(), (OP_BINARY, body), "the steady sender's echo")
        idle.echo(OP_TEXT, b"idle for 5 s and still here")
        for c in tricklers + [header, pinger, steady, idle]:
            c.close()


# ------------------------------------------------------------ ping/idle

@test
def idle_ping_and_dead_peer():
    with servers(wsecho("--ping-interval", "1")) as s:
        live, dead = Client(s.port), Client(s.port)
        stop = threading.Event()

        def answer_pings():  # recv_message answers every ping it reads
            live.sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    if live.recv_message() is None:
                        return
                except socket.timeout:
                    pass

        t = threading.Thread(target=answer_pings, daemon=True)
        t.start()
        # The dead one reads but never answers: it sees a ping, then EOF.
        dead.sock.settimeout(6)
        t0 = time.monotonic()
        f = dead.recv_frame()
        check(f is not None and f[1] == OP_PING, "expected a ping, got %r" % (f,))
        el = time.monotonic() - t0
        check(0.7 < el < 2.5, "ping after %.2f s" % el)
        dead.expect_eof("silent peer dropped", timeout=4)
        check(time.monotonic() - t0 < 3.5, "dropped after %.2f s" % (time.monotonic() - t0))
        dead.close()
        # The live one answered its pings and is still there.
        time.sleep(max(0.0, 3.5 - (time.monotonic() - t0)))
        stop.set()
        t.join(2)
        live.sock.settimeout(5)
        live.echo(OP_TEXT, b"alive")
        live.close()


# ------------------------------------------------------- protocol errors

@test
def protocol_errors_close_then_tcp_close():
    with servers(wsecho("--max-message", "1024")) as s:
        cases = [
            ("unmasked frame", frame(OP_TEXT, b"x", masked=False), 1002),
            ("RSV1", frame(OP_TEXT, b"x", rsv=4), 1002),
            ("opcode 3", frame(3, b"x"), 1002),
            ("invalid UTF-8", frame(OP_TEXT, b"\xed\xa0\x80"), 1007),
            ("too big", frame(OP_BINARY, b"x" * 1025), 1009),
            ("close code 999", frame(OP_CLOSE, close_payload(999)), 1002),
        ]
        for name, data, code in cases:
            c = Client(s.port)
            c.send(data)
            c.expect_close(code, name)
            c.expect_eof(name)
            c.close()
        c = Client(s.port)
        c.echo(OP_BINARY, b"x" * 1024, "exactly the limit")
        c.close()


# ------------------------------------------------------------ shutdown

@test
def graceful_shutdown():
    s = wsecho()
    try:
        polite, rude, idle_http = Client(s.port), Client(s.port), Client(s.port, handshake=False)
        idle_http.send(b"GET / HTTP/1.1\r\n")  # half a request
        polite.echo(OP_TEXT, b"before")
        t0 = time.monotonic()
        s.proc.send_signal(signal.SIGTERM)
        polite.expect_close(1001, "polite")
        polite.send_frame(OP_CLOSE, close_payload(1001))
        polite.expect_eof("polite after its reply")
        rude.expect_close(1001, "rude")  # and never answers
        status = s.proc.wait(6)
        el = time.monotonic() - t0
        eq(status, 0, "exit status")
        check(el < 4, "exit took %.2f s" % el)
        for c in (polite, rude, idle_http):
            c.close()
    finally:
        s.stop()


# ----------------------------------------------------- wscat vs wsecho

@test
def wscat_lines_echo():
    with servers(wsecho()) as s:
        lines = ["hello", "", "héllo wörld 🙂", "x" * 100000, "last line without newline"]
        st, out, err = run(wscat_cmd("ws://127.0.0.1:%d/" % s.port),
                           ("\n".join(lines)).encode())
        eq(st, 0, "exit status (stderr %r)" % err)
        eq(out.decode().split("\n"), lines + [""], "lines echoed")
        check("close 1000" in err, "close not reported: %r" % err)
        st, out, err = run(wscat_cmd("--fragment", "3", "ws://localhost:%d/x?y=1" % s.port),
                           b"fragmented line\r\nsecond\n")
        eq((st, out), (0, b"fragmented line\nsecond\n"), "--fragment 3 (%s)" % err)


def run_stdin_from(cmd, path, timeout=20):
    """Run with stdin opened on path (a file, /dev/null)."""
    with open(path, "rb") as f:
        p = subprocess.run(cmd, stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


@test
def wscat_stdin_devnull_and_files():
    """stdin that epoll cannot watch: /dev/null is an empty input (a clean
    close at once), a regular file is sent line by line, to its end."""
    with servers(wsecho()) as s:
        url = "ws://127.0.0.1:%d/" % s.port
        st, out, err = run_stdin_from(wscat_cmd(url), "/dev/null")
        eq((st, out, err), (0, b"", "wscat: close 1000\n"), "stdin /dev/null")
        lines = ["line %d " % i + "y" * (i % 300) for i in range(2000)]
        path = os.path.join(TMP, "lines.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        check(os.path.getsize(path) > 3 * 65536, "a file of several reads")
        st, out, err = run_stdin_from(wscat_cmd(url), path)
        eq((st, err), (0, "wscat: close 1000\n"), "stdin a regular file")
        eq(out.decode().split("\n"), lines + [""], "every line of the file echoed")
        empty = os.path.join(TMP, "empty.txt")
        open(empty, "w").close()
        eq(run_stdin_from(wscat_cmd(url), empty), (0, b"", "wscat: close 1000\n"),
           "stdin an empty file")


@test
def wscat_binary_and_output():
    data = os.urandom(300000)
    path = os.path.join(TMP, "in.bin")
    with open(path, "wb") as f:
        f.write(data)
    with servers(wsecho("--stream")) as s:
        url = "ws://127.0.0.1:%d/" % s.port
        st, out, err = run(wscat_cmd("--binary", path, url))
        eq(st, 0, "exit status (%s)" % err)
        eq(out, data.hex().encode() + b"\n", "hex of the echoed file")
        outp = os.path.join(TMP, "out.bin")
        st, out, err = run(wscat_cmd("--binary", path, "--fragment", "1000",
                                     "--output", outp, url), b"text too\n")
        eq((st, out), (0, b"text too\n"), "text still on stdout (%s)" % err)
        with open(outp, "rb") as f:
            check(f.read() == data, "--output content differs")
        st, out, err = run(wscat_cmd("--ping=hi there", url))
        eq(st, 0, "--ping exit")
        check('pong "hi there"' in err, "pong not reported: %r" % err)
        st, out, err = run(wscat_cmd("--ping", "pay", url))
        check('pong "pay"' in err, "--ping PAYLOAD: %r" % err)


@test
def wscat_exit_codes():
    # Refused: a port nobody listens on.
    sk = socket.socket()
    sk.bind(("127.0.0.1", 0))
    port = sk.getsockname()[1]
    sk.close()
    st, out, err = run(wscat_cmd("ws://127.0.0.1:%d/" % port))
    eq(st, 2, "refused connection")
    check("cannot connect" in err and "refused" in err, "message: %r" % err)
    eq(err.count("\n"), 1, "one line")
    # 404 on the handshake.
    fs = FakeServer(status=404)
    st, out, err = run(wscat_cmd("ws://127.0.0.1:%d/nothing" % fs.port))
    fs.join()
    eq(st, 2, "404 handshake")
    eq(err, "wscat: handshake failed: server answered 404 Not Found\n", "404 message")
    # Usage errors.
    eq(run(wscat_cmd("http://x/"))[0], 1, "not ws://")
    eq(run(wscat_cmd())[0], 1, "no URL")
    eq(run(wscat_cmd("--fragment", "0", "ws://x/"))[0], 1, "bad --fragment")
    st, out, _ = run(wscat_cmd("--help"))
    check(st == 0 and b"Exit status" in out, "--help")
    st, out, _ = run([WSECHO, "--help"])
    check(st == 0 and b"--stream" in out, "wsecho --help")


@test
def wscat_error_messages():
    """Each usage error names the option or part of the URL that is wrong,
    and why; a name that does not resolve says so (and so does wsecho)."""
    for args, want in [
            (["--header", "NoColon"], "bad --header 'NoColon': it must be 'Name: value'"),
            (["--header", "X-A: 1", "--header", "Bad Name: 2"],
             "bad --header 'Bad Name: 2': it must be 'Name: value'"),
            (["--origin", "http://a b"], "bad --origin 'http://a b': printable characters only, "
                                         "no spaces"),
            (["--subprotocol", "chat room"], "bad --subprotocol 'chat room': it must be a token "
                                             "(letters, digits and !#$%&'*+-.^_`|~)")]:
        eq(run(wscat_cmd(*args + ["ws://127.0.0.1:1/"])),
           (1, b"", "wscat: %s (try --help)\n" % want), " ".join(args))
    for url, why in [("ws://127.0.0.1:99999/", "the port must be a number from 1 to 65535"),
                     ("ws://127.0.0.1:abc/", "the port must be a number from 1 to 65535"),
                     ("ws://127.0.0.1:/", "the port must be a number from 1 to 65535"),
                     ("wss://127.0.0.1:0/", "the port must be a number from 1 to 65535"),
                     ("http://127.0.0.1/", "it does not start with ws:// or wss://"),
                     ("ws://[::1/", "an IPv6 address needs its closing ']'"),
                     ("ws:///path", "there is no host"),
                     ("ws://h/#top", "a fragment (#...) is not allowed (RFC 6455 \u00a73)"),
                     ("ws://h/a b", "its path holds characters that cannot be sent (spaces, "
                                    "controls)")]:
        eq(run(wscat_cmd(url)), (1, b"", "wscat: bad URL '%s': %s (try --help)\n" % (url, why)), url)
    eq(run(wscat_cmd("--binary", "/nonexistent", "ws://127.0.0.1:1/")),
       (1, b"", "wscat: cannot read --binary file '/nonexistent': No such file or directory\n"),
       "--binary of a missing file")
    # The resolver's words in brackets vary with the system.
    st, out, err = run(wscat_cmd("ws://example.invalid:1/"))
    eq((st, out), (2, b""), "a name that does not resolve")
    check(err.startswith("wscat: cannot connect to example.invalid:1: the name did not resolve (")
          and err.endswith(")\n") and err.count("\n") == 1, "unresolved name: %r" % err)
    for prog in (WSCAT, WSECHO):
        st, out, err = run([prog, "--bogus"])
        name = os.path.basename(prog)
        eq((st, out, err.splitlines()[1:]), (1, b"", ["try '%s --help'" % name]),
           name + " --bogus: one line, then try --help")
    st, out, err = run([WSECHO, "--host", "example.invalid", "--port", "0"])
    eq(st, 1, "wsecho --host example.invalid")
    check(err.startswith("wsecho: cannot listen on example.invalid port 0: the name did not "
                         "resolve (") and err.endswith(")\n") and err.count("\n") == 1,
          "wsecho --host example.invalid: %r" % err)


def run_open_stdin(cmd, timeout=10):
    """Run with stdin left open (no EOF, so no close of our own)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.wait(timeout)
        out, err = p.stdout.read(), p.stderr.read().decode(errors="replace")
    finally:
        reap(p)
    return p.returncode, out, err


@test
def wscat_against_scripted_server():
    """Frames as wscat sends them: masked, fragmented, subprotocol, headers,
    close 1000 on EOF; a protocol error from the server gives exit 3."""
    def script(c):
        srv = c.server
        while True:
            f = srv.recv_frame_unmasked(c)
            if f is None or f[1] == OP_CLOSE:
                break
        c.sock.sendall(frame(OP_CLOSE, close_payload(1000, b"ok"),
                                                  masked=False))

    fs = FakeServer(script, protocol="chat")
    st, out, err = run(wscat_cmd("--fragment", "4", "--subprotocol", "chat",
                                 "--subprotocol", "superchat", "--origin", "http://o.example",
                                 "--header", "X-Test: 1", "-v",
                                 "ws://127.0.0.1:%d/p" % fs.port), b"abcdefghij\n")
    fs.join()
    eq(st, 0, "exit (%s)" % err)
    check(b"Sec-WebSocket-Protocol: chat, superchat\r\n" in fs.request, "protocols header")
    check(b"Origin: http://o.example\r\n" in fs.request, "origin header")
    check(b"X-Test: 1\r\n" in fs.request, "extra header")
    check(b"Host: 127.0.0.1:%d\r\n" % fs.port in fs.request, "host header")
    eq([(f[0], f[1], f[2]) for f in fs.frames[:3]],
       [(False, OP_TEXT, b"abcd"), (False, OP_CONT, b"efgh"), (True, OP_CONT, b"ij")],
       "fragments")
    eq(fs.frames[-1][1:], (OP_CLOSE, close_payload(1000)), "close 1000 on EOF")
    check("subprotocol chat" in err and 'close 1000 "ok"' in err, "stderr %r" % err)

    def bad(c):
        c.sock.sendall(b"\x91\x01x")  # RSV1 set
        c.server.recv_frame_unmasked(c)

    fs = FakeServer(bad)
    st, out, err = run_open_stdin(wscat_cmd("ws://127.0.0.1:%d/" % fs.port))
    fs.join()
    eq(st, 3, "protocol error exit")
    check("protocol error" in err, "message %r" % err)
    eq(fs.frames[0][1], OP_CLOSE, "wscat sent a close")
    eq(struct.unpack("!H", fs.frames[0][2][:2])[0], 1002, "with 1002")

    def drop(c):
        c.sock.close()

    fs = FakeServer(drop)
    st, out, err = run_open_stdin(wscat_cmd("ws://127.0.0.1:%d/" % fs.port))
    fs.join()
    eq(st, 3, "dropped connection")
    check("without a close frame" in err, "message %r" % err)


@test
def wscat_server_shutdown_and_ctrl_c():
    with servers(wsecho()) as s:
        url = "ws://127.0.0.1:%d/" % s.port
        # wscat with stdin open; SIGTERM the server: wscat sees 1001, exits 0.
        p = subprocess.Popen(wscat_cmd(url), stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE)
        p.stdin.write(b"one\n")
        p.stdin.flush()
        eq(p.stdout.readline(), b"one\n", "echo")
        # Ctrl-C: clean close with 1000, exit 0.
        q = subprocess.Popen(wscat_cmd(url), stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE)
        q.stdin.write(b"two\n")
        q.stdin.flush()
        eq(q.stdout.readline(), b"two\n", "echo")
        q.send_signal(signal.SIGINT)
        eq(q.wait(5), 0, "exit after Ctrl-C")
        check(b"close 1000" in q.stderr.read(), "close after Ctrl-C")
        s.proc.send_signal(signal.SIGTERM)
        eq(p.wait(5), 0, "exit after server shutdown")
        err = p.stderr.read().decode()
        check('close 1001 "server shutting down"' in err, "stderr %r" % err)
        for x in (p, q):
            for f in (x.stdin, x.stdout, x.stderr):
                f.close()
        eq(s.proc.wait(5), 0, "wsecho exit")


# ---------------------------------------------------- the loop's API

@test
def loop_api():
    """wsxtest: on_upgrade refusal and choice of subprotocol, broadcast,
    counts, on_http with a body, a timer, raw mode, and SIGTERM with a
    timer running."""
    p = subprocess.Popen([WSXTEST], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        line = p.stdout.readline().decode().split()
        check(line[:3] == ["wsxtest", "listening", "on"], "banner %r" % line)
        port, raw = int(line[3].rsplit(":", 1)[1]), int(line[5].rsplit(":", 1)[1])
        try:
            Client(port, "/refused")
            raise Fail("/refused accepted")
        except Fail as e:
            check("403" in str(e), "refusal: %s" % e)
        a = Client(port, headers=["Sec-WebSocket-Protocol: chat, superchat"])
        check(b"Sec-WebSocket-Protocol: superchat\r\n" in a.response, "protocol choice")
        eq(a.recv_message(), (OP_TEXT, b"hello 1 superchat"), "greeting a")
        b = Client(port, headers=["Sec-WebSocket-Protocol: chat"])
        eq(b.recv_message(), (OP_TEXT, b"hello 2 chat"), "greeting b")
        c = Client(port)
        eq(c.recv_message(), (OP_TEXT, b"hello 3 -"), "greeting c")
        a.send_frame(OP_TEXT, b"count")
        eq(a.recv_message(), (OP_TEXT, b"count 3"), "count")
        b.send_frame(OP_TEXT, b"all hi there")
        for x in (a, b, c):
            eq(x.recv_message(), (OP_TEXT, b"from 2: hi there"), "broadcast")
        c.send_frame(OP_CLOSE, close_payload(1000))
        c.expect_close(1000)
        c.expect_eof()
        time.sleep(0.1)
        st, h, body = http(port, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
        eq((st, h.get("content-type"), body), (200, "application/json",
                                               b'{"open":2,"ticking":true}'), "/status")
        st, h, body = http(port, b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: 11\r\n\r\nhello" + b" world")
        eq((st, h.get("x-echo"), body), (201, "yes", b"hello world"), "POST body")
        eq(http(port, b"GET /other HTTP/1.1\r\nHost: x\r\n\r\n")[0], 404, "fallthrough")
        st, _, _ = http(port, b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 99999999\r\n\r\n")
        eq(st, 413, "body too large")
        r = socket.create_connection(("127.0.0.1", raw), timeout=5)
        r.sendall(b"raw bytes")
        eq(r.recv(100), b"raw bytes", "raw echo")
        r.close()
        d = Client(port, "/plain", headers=["Sec-WebSocket-Protocol: chat"])
        check(b"Sec-WebSocket-Protocol" not in d.response,
              "on_upgrade declined the subprotocol")
        eq(d.recv_message(), (OP_TEXT, b"hello 4 -"), "greeting d")
        d.send_frame(OP_CLOSE, close_payload(1000))
        d.expect_close(1000)
        d.close()
        a.echo(OP_BINARY, b"\x00\x01", "echo")
        p.send_signal(signal.SIGTERM)
        for x in (a, b):
            x.expect_close(1001, "shutdown")
            x.send_frame(OP_CLOSE, close_payload(1001))
        eq(p.wait(5), 0, "exit status with a timer running")
        a.close()
        b.close()
    finally:
        reap(p)


# ------------------------------------------------------------- memory

@test
def memory_per_idle_connection():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    n = 1000
    with servers(wsecho()) as s:
        warm = [Client(s.port) for _ in range(20)]
        for c in warm:
            c.echo(OP_TEXT, b"warm")
        time.sleep(0.2)
        before = s.rss_kib()
        conns = [Client(s.port) for _ in range(n)]
        conns[-1].echo(OP_TEXT, b"last")
        time.sleep(0.3)
        after = s.rss_kib()
        per = (after - before) * 1024.0 / n
        NOTES.append("idle connections: RSS %d KiB with 20, %d KiB with %d more: %.0f bytes each"
                     % (before, after, n, per))
        check(per <= 1024, "%.0f bytes per idle connection" % per)
        for c in warm + conns:
            c.close()


# ---------------------------------------------------- permessage-deflate

PMD_TAIL = b"\x00\x00\xff\xff"


class Deflater:
    """The client's side of permessage-deflate (RFC 7692), on zlib."""

    def __init__(self, bits=15):
        self.c = zlib.compressobj(6, zlib.DEFLATED, -bits)
        self.d = zlib.decompressobj(-15)

    def compress(self, data):
        z = self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)
        check(z.endswith(PMD_TAIL), "zlib sync flush without the tail")
        return z[:-4]  # §7.2.1: the tail is removed

    def inflate(self, z):
        return self.d.decompress(z + PMD_TAIL)  # §7.2.2: put back


def deflate_client(port, offer="permessage-deflate; client_max_window_bits"):
    c = Client(port, headers=["Sec-WebSocket-Extensions: " + offer])
    return c, c.response.decode("latin-1")


def recv_deflated(c, d):
    """(opcode, payload, compressed) of the next message, inflated."""
    fin, rsv, op, payload = c.recv_frame_rsv()
    parts, comp = [payload], bool(rsv & 4)
    while not fin:
        fin, rsv, _, payload = c.recv_frame_rsv()
        check(rsv == 0, "RSV bits on a continuation frame")
        parts.append(payload)
    data = b"".join(parts)
    return op, d.inflate(data) if comp else data, comp


@test
def deflate_echo():
    """wsecho accepts the offer (never with a bare client_max_window_bits),
    inflates compressed messages and fragments, compresses its echoes of
    128 bytes or more with the context kept, and leaves smaller ones be."""
    js = b'{"id":1,"name":"wsx","ok":true},' * 2000
    with servers(wsecho()) as s:
        c, head = deflate_client(s.port)
        check("Sec-WebSocket-Extensions: permessage-deflate" in head,
              "offer not accepted: %r" % head)
        check("client_max_window_bits\r" not in head and
              "client_max_window_bits;" not in head,
              "bare client_max_window_bits in the response: %r" % head)
        d = Deflater()
        for msg in (js, b"small", js[:5000], "héllo wörld 🙂".encode() * 50):
            c.send_frame(OP_TEXT, d.compress(msg), rsv=4)
            op, got, comp = recv_deflated(c, d)
            eq((op, got), (OP_TEXT, msg), "echo of %d bytes" % len(msg))
            eq(comp, len(msg) >= 128, "echo of %d bytes compressed" % len(msg))
        # Uncompressed in, and fragmented compressed in (RSV1 first only).
        c.send_frame(OP_BINARY, bytes(range(256)) * 4)
        eq(recv_deflated(c, d)[:2], (OP_BINARY, bytes(range(256)) * 4),
           "uncompressed binary")
        z = d.compress(js)
        c.send_frame(OP_TEXT, z[:100], fin=False, rsv=4)
        c.send_frame(OP_CONT, z[100:], fin=True)
        eq(recv_deflated(c, d)[:2], (OP_TEXT, js), "fragmented compressed")
        c.send_frame(OP_CLOSE, close_payload(1000))
        c.expect_close(1000)
        c.close()


@test
def deflate_window():
    """--deflate-window 9: both windows agreed at 9 bits when the offer
    allows it; the echoes inflate (zlib checks distances against the
    stream, and a 9-bit compressor serves the client's side)."""
    js = b'{"id":1,"name":"wsx","ok":true},' * 2000
    with servers(wsecho("--deflate-window", "9")) as s:
        c, head = deflate_client(s.port)
        check("server_max_window_bits=9" in head and
              "client_max_window_bits=9" in head, "agreed: %r" % head)
        d = Deflater(bits=9)
        for msg in (js, js[:3000]):
            c.send_frame(OP_TEXT, d.compress(msg), rsv=4)
            eq(recv_deflated(c, d)[:2], (OP_TEXT, msg), "echo at 9 bits")
        c.close()
    st, out, err = run([WSECHO, "--deflate-window", "16"])
    check(st == 1 and "--deflate-window" in err, "16 refused: %r" % err)


@test
def deflate_declined_and_off():
    """--no-deflate answers without the extension; so does wsecho to an
    offer it cannot honour; RSV1 is then a protocol error (1002)."""
    with servers(wsecho("--no-deflate"), wsecho()) as (off, on):
        for port, offer in ((off.port, "permessage-deflate"),
                            (on.port, "permessage-deflate; server_max_window_bits=16")):
            c, head = deflate_client(port, offer)
            check("Sec-WebSocket-Extensions" not in head,
                  "extension accepted: %r" % head)
            c.send_frame(OP_TEXT, b"\xf2\x48\xcd\xc9\xc9\x07\x00", rsv=4)
            c.expect_close(1002, "RSV1 without the extension")
            c.close()


@test
def deflate_state_within_budget():
    """Compression state (about 129 KiB a connection at 15 bits) is kept to
    half of --max-buffered: with 1M, three offers are accepted and the
    fourth is served uncompressed; once a compressing client has gone, its
    share is free for the next offer."""
    accepted = "Sec-WebSocket-Extensions: permessage-deflate"
    with servers(wsecho("--max-buffered", "1M")) as s:
        conns = []
        for i in range(4):
            c, head = deflate_client(s.port)
            conns.append(c)
            eq(accepted in head, i < 3, "offer %d accepted" % (i + 1))
        # The declined one still echoes, uncompressed.
        conns[3].send_frame(OP_TEXT, b"x" * 500)
        eq(recv_deflated(conns[3], Deflater())[1:], (b"x" * 500, False),
           "uncompressed echo")
        conns[0].send_frame(OP_CLOSE, close_payload(1000))
        conns[0].expect_close(1000)
        conns[0].close()
        deadline = time.time() + 5
        while True:
            c, head = deflate_client(s.port)
            if accepted in head or time.time() > deadline:
                break
            c.close()
            time.sleep(0.05)
        check(accepted in head, "a freed share is not offered again")
        for c2 in conns[1:] + [c]:
            c2.close()


@test
def deflate_corrupt_and_bomb():
    """Corrupt compressed data closes with 1007; a message that inflates
    past --max-message closes with 1009 (the inflated size counts)."""
    with servers(wsecho("--max-message", "4096")) as s:
        c, _ = deflate_client(s.port)
        c.send_frame(OP_TEXT, b"\xff\xff\xff\xff", rsv=4)
        c.expect_close(1007, "corrupt data")
        c.close()
        c, _ = deflate_client(s.port)
        bomb = Deflater().compress(bytes(16 << 20))
        check(len(bomb) < 20000, "bomb is %d bytes" % len(bomb))
        c.send_frame(OP_BINARY, bomb, rsv=4)
        c.expect_close(1009, "16 MiB of zeros past --max-message 4096")
        c.close()


@test
def wscat_deflate():
    """wscat --deflate against wsecho: agreed (said with -v), lines and a
    1 MiB --binary echoed; against --no-deflate it still works."""
    path = os.path.join(TMP, "deflate.bin")
    data = os.urandom(1 << 19) * 2
    with open(path, "wb") as f:
        f.write(data)
    lines = ["x" * 100000, "short", '{"a":[1,2,3]}' * 5000, ""]
    stdin = ("\n".join(lines) + "\n").encode()
    with servers(wsecho(), wsecho("--no-deflate")) as (on, off):
        st, out, err = run(wscat_cmd("--deflate", "-v", "--binary", path,
                                     "ws://127.0.0.1:%d/" % on.port), stdin)
        eq(st, 0, "exit status (stderr %r)" % err[-300:])
        check("extensions permessage-deflate" in err,
              "-v did not say what was agreed: %r" % err[-300:])
        eq(out, data.hex().encode() + b"\n" + stdin, "echoes")
        st, out, err = run(wscat_cmd("--deflate", "--fragment", "1000",
                                     "ws://127.0.0.1:%d/" % on.port), stdin)
        eq((st, out), (0, stdin), "--deflate --fragment 1000 (%s)" % err[-300:])
        st, out, err = run(wscat_cmd("--deflate", "-v",
                                     "ws://127.0.0.1:%d/" % off.port), stdin)
        eq((st, out), (0, stdin), "against --no-deflate (%s)" % err[-300:])
        check("extensions" not in err, "extension reported: %r" % err)


# --------------------------------------------------------------- runner

def main():
    global WSECHO, WSCAT, WSXTEST, TMP
    args = suite_args("wsecho", "wscat", "wsxtest")
    WSECHO, WSCAT, WSXTEST = args.wsecho, args.wscat, args.wsxtest
    TMP = tempfile.mkdtemp(prefix="wsx-test-")
    runner = Runner("examples")
    runner.notes = NOTES
    status = runner.run(TESTS, args.k, deadline=90)
    shutil.rmtree(TMP, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
