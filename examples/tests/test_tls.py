#!/usr/bin/python3
"""test_tls.py — wss:// and https:// (examples/common/tls.c) over loopback:
wsecho --tls-cert/--tls-key against Python's ssl module speaking raw
WebSocket frames, and wscat wss:// against wsecho and against a Python
TLS server; every size from 0 B to 16 MiB, fragmented, pipelined bursts
(plaintext left inside OpenSSL must be read without a new epoll event),
https:// static files on the same port, ALPN, close_notify, SIGHUP
reload, and the failures: missing or mismatched key/cert, wrong host,
untrusted CA, expired certificate, TLS 1.0/1.1, a plain client on the
TLS port and a TLS client on a plain port, garbage instead of a
ClientHello, a client that stops mid-handshake; then wsecho under ASan
and under valgrind across TLS connect/close cycles; the messenger and
ws-dashboard over TLS.

  /usr/bin/python3 examples/tests/test_tls.py --wsecho PATH --wscat PATH
                   [--wsecho-asan PATH] [-k NAME]

Certificates are made at test time (tlscerts.py, openssl req/x509) in a
temporary directory. Ends with "tls: N passed, N failed".
"""

import argparse
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tlscerts import Certs  # noqa: E402
from wstest import (GUID, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,  # noqa: E402
                    OP_TEXT, Client, Fail, Runner, Server, Skip, check,
                    close_payload, eq, frame, run, servers)

TESTS = []
WSECHO = WSCAT = WSECHO_ASAN = MESSENGER = DASHBOARD = None
TMP = CERTS = None
NOTES = []


def test(fn):
    TESTS.append(fn)
    return fn


def wsecho(*args, cert=None, binary=None, **kw):
    cert = cert or CERTS.ok
    return Server(binary or WSECHO, ("--tls-cert", cert[0], "--tls-key", cert[1]) + args,
                  TMP, **kw)


class TLSClient(Client):
    """wstest.Client with its socket inside TLS (Python's ssl module)."""

    def __init__(self, port, path="/", host="127.0.0.1", name="localhost",
                 ctx=None, headers=(), timeout=20.0, handshake=True):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = (ctx or CERTS.client_context()).wrap_socket(
            raw, server_hostname=name)
        self.buf = bytearray()
        self.response = b""
        if handshake:
            self.handshake(path, headers)


def https_get(port, path="/", method="GET"):
    """(status, headers, body) of one request over TLS, read to EOF."""
    s = TLSClient(port, handshake=False)
    s.send(("%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
            % (method, path)).encode())
    data = b""
    while True:
        d = s.sock.recv(65536)
        if not d:
            break
        data += d
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    hdrs = dict((k.strip().lower().decode(), v.strip().decode())
                for k, _, v in (l.partition(b":") for l in lines[1:]))
    return int(lines[0].split()[1]), hdrs, body


def wscat(*args, input=b"", timeout=30):
    return run([WSCAT] + list(args), input, timeout=timeout)


def log_lines(s, text):
    return [l for l in s.log_text().splitlines() if text in l]


def wait_log(s, text, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if log_lines(s, text):
            return log_lines(s, text)
        time.sleep(0.05)
    raise Fail("wsecho never logged %r; its log:\n%s" % (text, s.log_text()[-1500:]))


def still_serving(s, what):
    c = TLSClient(s.port)
    c.echo(OP_TEXT, b"still serving", "another client after " + what)
    c.close()


# ------------------------------------------------------------ echo over TLS

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, 100000, 1 << 20, 16 << 20]


def echo_in_lockstep(c, payload, piece, what):
    """Send payload in fragments of `piece` bytes, reading each echo before
    the next: a --stream server echoes as it reads and stops reading while
    its echo is not read (backpressure), so a client that sends 16 MiB
    before reading would stall it, and itself."""
    got, fin = bytearray(), False
    for i in range(0, len(payload), piece):
        part = payload[i:i + piece]
        c.send_frame(OP_CONT if i else OP_BINARY, part, fin=i + piece >= len(payload))
        want = i + len(part)
        while len(got) < want or (want == len(payload) and not fin):
            f = c.recv_frame()
            check(f is not None, "%s: EOF after %d bytes" % (what, len(got)))
            got += f[2]
            fin = f[0]
    if bytes(got) != payload:
        raise Fail("%s: %d bytes back, %d sent, differ" % (what, len(got), len(payload)))


@test
def sizes_0_to_16mib_whole_and_streaming():
    with servers(wsecho()) as s:
        c = TLSClient(s.port)
        for n in SIZES:
            c.echo(OP_BINARY, os.urandom(n), "echo of %d bytes" % n)
        c.echo(OP_TEXT, ("ab€" * 100000).encode(), "text")
        c.close()
    with servers(wsecho("--stream")) as s:
        c = TLSClient(s.port)
        for n in SIZES:
            if n <= 65537:
                c.echo(OP_BINARY, os.urandom(n), "--stream echo of %d bytes" % n)
            else:
                echo_in_lockstep(c, os.urandom(n), 65536,
                                 "--stream echo of %d bytes in 64 KiB fragments" % n)
        c.close()


@test
def fragmented_with_ping_between():
    with servers(wsecho()) as s:
        c = TLSClient(s.port)
        c.send_frame(OP_TEXT, b"frag", fin=False)
        c.send_frame(OP_PING, b"mid")
        c.send_frame(OP_CONT, "mént".encode(), fin=False)
        big = os.urandom(300000)
        c.send_frame(OP_CONT, b"ed", fin=False)
        c.send_frame(OP_CONT, b"", fin=True)
        pongs = []
        eq(c.recv_message(pongs), (OP_TEXT, "fragménted".encode()), "fragmented echo")
        eq(pongs, [b"mid"], "pong between fragments")
        for i in range(0, len(big), 7000):  # 43 fragments
            c.send_frame(OP_CONT if i else OP_BINARY, big[i:i + 7000],
                         fin=i + 7000 >= len(big))
        eq(c.recv_message(), (OP_BINARY, big), "300 kB in 7000-byte fragments")
        c.close()


@test
def burst_then_silence_no_pending_trap():
    """Thousands of frames in one go, then nothing: every echo must come
    back although, once OpenSSL holds decrypted records the loop's buffer
    had no room for, the socket will never be readable again."""
    with servers(wsecho()) as s:
        c = TLSClient(s.port)
        msgs = [os.urandom(i % 200 + 1) for i in range(5000)] + [os.urandom(200000)]
        c.send(b"".join(frame(OP_BINARY, m) for m in msgs))
        c.sock.settimeout(10)
        for i, m in enumerate(msgs):
            got = c.recv_message()
            check(got is not None, "EOF after %d of %d echoes" % (i, len(msgs)))
            if got != (OP_BINARY, m):
                raise Fail("echo %d differs" % i)
        c.close()


@test
def close_handshake_ends_with_close_notify():
    """The server's close reply, then TLS close_notify before the TCP FIN:
    Python's ssl reports b'' only after a close_notify (a bare FIN is
    SSLEOFError)."""
    with servers(wsecho()) as s:
        c = TLSClient(s.port)
        c.echo(OP_TEXT, b"hi")
        c.send_frame(OP_CLOSE, close_payload(1000, b"bye"))
        c.expect_close(1000, "close reply")
        try:
            c.expect_eof("after the close reply")
        except ssl.SSLEOFError as e:
            raise Fail("TCP closed without close_notify: %s" % e)
        c.close()
        # The server's own close (SIGTERM: 1001) is followed by one too.
        c = TLSClient(s.port)
        s.proc.send_signal(signal.SIGTERM)
        c.expect_close(1001, "shutdown close")
        c.send_frame(OP_CLOSE, close_payload(1001))
        try:
            c.expect_eof("after 1001")
        except ssl.SSLEOFError as e:
            raise Fail("TCP closed without close_notify: %s" % e)
        eq(s.proc.wait(5), 0, "exit status after SIGTERM")


@test
def alpn_tls_versions_and_cipher():
    with servers(wsecho()) as s:
        c = TLSClient(s.port)
        eq(c.sock.selected_alpn_protocol(), "http/1.1", "ALPN")
        check(c.sock.version() in ("TLSv1.2", "TLSv1.3"), "version %s" % c.sock.version())
        NOTES.append("wsecho <-> Python ssl: %s %s" % (c.sock.version(), c.sock.cipher()[0]))
        c.echo(OP_TEXT, b"alpn")
        c.close()
        # No ALPN offered at all is fine.
        c = TLSClient(s.port, ctx=CERTS.client_context(alpn=()))
        c.echo(OP_TEXT, b"no alpn")
        c.close()
        # TLS 1.2 exactly still works.
        ctx = CERTS.client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        c = TLSClient(s.port, ctx=ctx)
        eq(c.sock.version(), "TLSv1.2", "TLS 1.2 negotiated")
        c.echo(OP_TEXT, b"tls 1.2")
        c.close()
        # RFC 7301 §3.2: only protocols we do not speak -> fatal alert.
        try:
            TLSClient(s.port, ctx=CERTS.client_context(alpn=("h2",)), handshake=False)
            raise Fail("ALPN h2 only was accepted")
        except ssl.SSLError as e:
            check("NO APPLICATION PROTOCOL" in str(e).upper(), "ALPN h2: %s" % e)
        still_serving(s, "an ALPN failure")


@test
def https_static_and_wss_on_one_port():
    web = os.path.join(TMP, "web")
    os.makedirs(web, exist_ok=True)
    page = b"<!doctype html><title>tls</title>" + b"x" * 200000
    with open(os.path.join(web, "index.html"), "wb") as f:
        f.write(page)
    with servers(wsecho("--static", web)) as s:
        st, hdrs, body = https_get(s.port, "/")
        eq(st, 200, "GET / status")
        eq(body, page, "GET / body over TLS (200 kB, no sendfile)")
        st, hdrs, body = https_get(s.port, "/", "HEAD")
        eq((st, body, hdrs.get("content-length")), (200, b"", str(len(page))), "HEAD /")
        eq(https_get(s.port, "/missing")[0], 404, "GET /missing")
        c = TLSClient(s.port, "/ws")
        c.echo(OP_TEXT, b"same port")
        c.close()


@test
def sighup_reloads_certificate_keeps_connections():
    cert = os.path.join(TMP, "live.pem")
    key = os.path.join(TMP, "live.key")
    shutil.copy(CERTS.ok[0], cert)
    shutil.copy(CERTS.ok[1], key)
    with servers(wsecho(cert=(cert, key))) as s:
        before = TLSClient(s.port)
        first = before.sock.getpeercert(binary_form=True)
        before.echo(OP_TEXT, b"before reload")
        shutil.copy(CERTS.ok2[0], cert)
        shutil.copy(CERTS.ok2[1], key)
        s.proc.send_signal(signal.SIGHUP)
        wait_log(s, "SIGHUP: reloaded")
        after = TLSClient(s.port)
        check(after.sock.getpeercert(binary_form=True) != first, "new connection: old certificate")
        with open(CERTS.ok2[0]) as f:
            want = ssl.PEM_cert_to_DER_cert(f.read())
        eq(after.sock.getpeercert(binary_form=True), want, "new certificate served")
        before.echo(OP_TEXT, b"open across the reload", "old connection")
        after.echo(OP_TEXT, b"new")
        # A broken pair is refused; the certificate in use stays.
        shutil.copy(CERTS.ok[1], key)  # key of ok, certificate of ok2
        s.proc.send_signal(signal.SIGHUP)
        lines = wait_log(s, "the old certificate stays")
        check("does not match" in lines[-1], "reload failure says why: %r" % lines[-1])
        c = TLSClient(s.port)
        eq(c.sock.getpeercert(binary_form=True), want, "still the last good certificate")
        c.echo(OP_TEXT, b"after failed reload")
        for x in (before, after, c):
            x.close()


# ------------------------------------------------ wscat against servers

@test
def wscat_wss_to_wsecho():
    with servers(wsecho()) as s:
        url = "wss://localhost:%d/" % s.port
        lines = ["hello", "", "héllo 🙂", "y" * 100000]
        st, out, err = wscat("--ca", CERTS.ca, "-v", url, input="\n".join(lines).encode())
        eq(st, 0, "exit status (stderr %r)" % err)
        eq(out.decode().split("\n"), lines + [""], "lines echoed")
        check("TLSv1.3" in err, "-v names the TLS version: %r" % err)
        NOTES.append("wscat <-> wsecho: %s" % err.split("connected, ")[1].split("\n")[0])
        blob = os.urandom(5 << 20)
        src, dst = os.path.join(TMP, "blob"), os.path.join(TMP, "blob.out")
        with open(src, "wb") as f:
            f.write(blob)
        st, out, err = wscat("--ca", CERTS.ca, "--binary", src, "--output", dst,
                             "--fragment", "65536", "wss://127.0.0.1:%d/" % s.port)
        eq(st, 0, "--binary exit (stderr %r)" % err)
        with open(dst, "rb") as f:
            eq(f.read() == blob, True, "5 MiB in 64 KiB fragments echoed to --output")
        st, out, err = wscat("--insecure", "wss://localhost:%d/" % s.port, input=b"insecure\n")
        eq((st, out), (0, b"insecure\n"), "--insecure against the test CA (stderr %r)" % err)


class TLSFakeServer:
    """A one-connection Python TLS server (ssl module) that answers the
    WebSocket handshake and echoes text frames until a close."""

    def __init__(self, cert=None):
        self.ls = socket.create_server(("127.0.0.1", 0))
        self.ls.settimeout(10)
        self.port = self.ls.getsockname()[1]
        self.ctx = CERTS.server_context(cert)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.sni = self.alpn = self.error = None
        self.ctx.sni_callback = self._sni
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _sni(self, sock, name, ctx):
        self.sni = name

    def _run(self):
        import base64
        import hashlib
        try:
            raw, _ = self.ls.accept()
            raw.settimeout(10)
            s = self.ctx.wrap_socket(raw, server_side=True)
            self.alpn = s.selected_alpn_protocol()
            c = Client.__new__(Client)
            c.sock, c.buf = s, bytearray()
            head = c.read_head()
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
                   if l.lower().startswith(b"sec-websocket-key:")][0]
            acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
            s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            from wstest import FakeServer
            while True:
                f = FakeServer.recv_frame_unmasked(self, c)
                if f is None or f[1] == OP_CLOSE:
                    s.sendall(frame(OP_CLOSE, close_payload(1000), masked=False))
                    s.unwrap()
                    break
                s.sendall(frame(f[1], f[2], masked=False))
            s.close()
        except (ssl.SSLError, OSError) as e:
            self.error = e
        finally:
            self.ls.close()

    frames = []

    def join(self):
        self.t.join(10)


@test
def wscat_wss_to_python_tls_server_sni_alpn():
    srv = TLSFakeServer()
    st, out, err = wscat("--ca", CERTS.ca, "wss://localhost:%d/" % srv.port,
                         input=b"to python\n")
    srv.join()
    eq((st, out), (0, b"to python\n"), "echo from a Python TLS server (stderr %r)" % err)
    eq(srv.sni, "localhost", "SNI sent")
    eq(srv.alpn, "http/1.1", "ALPN offered")
    # An address is not a host name: no SNI (RFC 6066 §3), IP SAN checked.
    srv = TLSFakeServer()
    st, out, err = wscat("--ca", CERTS.ca, "wss://127.0.0.1:%d/" % srv.port, input=b"ip\n")
    srv.join()
    eq((st, out, srv.sni), (0, b"ip\n", None), "by address (stderr %r)" % err)


@test
def wscat_refuses_bad_certificates():
    cases = [
        ("wrong host", CERTS.wrong_host, ("--ca", CERTS.ca), "hostname mismatch"),
        ("expired", CERTS.expired, ("--ca", CERTS.ca), "certificate has expired"),
        ("untrusted CA (--ca)", CERTS.untrusted, ("--ca", CERTS.ca),
         "unable to get local issuer certificate"),
        ("test CA, system store", CERTS.ok, (), "unable to get local issuer certificate"),
    ]
    for what, cert, extra, reason in cases:
        with servers(wsecho(cert=cert)) as s:
            t0 = time.monotonic()
            st, out, err = wscat(*extra, "wss://localhost:%d/" % s.port, input=b"x\n")
            eq(st, 2, "%s: exit status (stderr %r)" % (what, err))
            check(reason in err, "%s: stderr %r does not say %r" % (what, err, reason))
            check(time.monotonic() - t0 < 5, "%s: took too long" % what)
            still_serving(s, what) if cert == CERTS.ok else None
    # --insecure connects whatever the certificate.
    with servers(wsecho(cert=CERTS.expired)) as s:
        st, out, _ = wscat("--insecure", "wss://localhost:%d/" % s.port, input=b"x\n")
        eq((st, out), (0, b"x\n"), "--insecure with an expired certificate")


# ---------------------------------------------------------------- failures

@test
def server_refuses_bad_key_or_cert_naming_the_file():
    missing = os.path.join(TMP, "nope.pem")
    cases = [
        (("--tls-cert", missing, "--tls-key", CERTS.ok[1]), missing),
        (("--tls-cert", CERTS.ok[0], "--tls-key", missing), missing),
        (("--tls-cert", CERTS.ok[0], "--tls-key", CERTS.ok2[1]), "does not match"),
        (("--tls-cert", CERTS.ok[1], "--tls-key", CERTS.ok[1]), CERTS.ok[1]),
        (("--tls-cert", CERTS.ok[0]), "--tls-key"),
    ]
    for args, want in cases:
        st, out, err = run([WSECHO, "--port", "0"] + list(args), timeout=10)
        eq(st, 1, "exit status for %r" % (args,))
        check(want in err, "stderr %r does not name %r" % (err, want))
        check(b"listening" not in out, "it listened anyway: %r" % out)


@test
def plain_client_on_tls_port():
    with servers(wsecho("--handshake-timeout", "2")) as s:
        t0 = time.monotonic()
        st, out, err = wscat("ws://127.0.0.1:%d/" % s.port, input=b"x\n")
        eq(st, 2, "wscat ws:// exit status (stderr %r)" % err)
        check("400" in err, "wscat is told: %r" % err)
        c = Client(s.port, handshake=False)
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = c.read_head()
        check(head.startswith(b"HTTP/1.1 400"), "plain GET answered %r" % head[:40])
        check(b"speaks TLS" in c.buf or b"speaks TLS" in c.sock.recv(200), "says why")
        c.close()
        check(time.monotonic() - t0 < 2, "plain clients took %.1f s" % (time.monotonic() - t0))
        eq(len(wait_log(s, "TLS handshake failed: http request")), 2, "one log line each")
        still_serving(s, "plain clients")


@test
def tls_client_on_plain_port():
    srv = Server(WSECHO, (), TMP)
    try:
        t0 = time.monotonic()
        st, out, err = wscat("--ca", CERTS.ca, "wss://localhost:%d/" % srv.port, input=b"x\n")
        eq(st, 2, "exit status (stderr %r)" % err)
        check("TLS handshake failed" in err and "not a TLS port?" in err, "stderr %r" % err)
        try:
            TLSClient(srv.port, handshake=False)
            raise Fail("a TLS handshake succeeded on a plain port")
        except (ssl.SSLError, OSError):
            pass
        check(time.monotonic() - t0 < 3, "took %.1f s" % (time.monotonic() - t0))
        eq(len(wait_log(srv, "TLS handshake on a plain port")), 2, "one log line each")
        c = Client(srv.port)
        c.echo(OP_TEXT, b"plain still served")
        c.close()
    finally:
        eq(srv.stop(), 0, "plain wsecho exit status")


@test
def wscat_tls_handshake_timeout():
    """A server that accepts and never answers the ClientHello: wscat's
    --connect-timeout covers the TLS handshake."""
    ls = socket.create_server(("127.0.0.1", 0))
    try:
        t0 = time.monotonic()
        st, out, err = wscat("--connect-timeout", "1", "--ca", CERTS.ca,
                             "wss://localhost:%d/" % ls.getsockname()[1], input=b"x\n")
        el = time.monotonic() - t0
        eq(st, 2, "exit status (stderr %r)" % err)
        check("timed out" in err, "stderr %r" % err)
        check(0.7 < el < 3, "gave up after %.2f s, want about 1" % el)
    finally:
        ls.close()


def raw_client_hello(version):
    """A minimal ClientHello (RFC 5246 §7.4.1.2) offering only `version`
    (0x0301 TLS 1.0, 0x0302 TLS 1.1) and TLS_RSA_WITH_AES_128_CBC_SHA."""
    body = (version.to_bytes(2, "big") + os.urandom(32) + b"\x00"
            + b"\x00\x02\x00\x2f" + b"\x01\x00")
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


@test
def old_tls_versions_refused():
    with servers(wsecho()) as s:
        how = []
        for flag, ver in (("-tls1", 0x0301), ("-tls1_1", 0x0302)):
            p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.port,
                                flag, "-cipher", "DEFAULT:@SECLEVEL=0"],
                               input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=10)
            out = p.stdout.decode(errors="replace")
            if "alert protocol version" in out:
                how.append("openssl s_client " + flag)
            else:  # this openssl cannot even offer it
                check("no protocols available" in out or "unsupported" in out,
                      "s_client %s neither refused nor unable: %r" % (flag, out[-400:]))
            # And always a raw ClientHello offering only that version.
            c = Client(s.port, handshake=False)
            c.send(raw_client_hello(ver))
            c.sock.settimeout(5)
            got = c.sock.recv(7)
            # An alert record: type 21, level fatal (2), protocol_version (70).
            eq((got[:1], got[5:7]), (b"\x15", b"\x02\x46"), "alert for %s" % flag)
            c.close()
            how.append("a raw ClientHello %#06x" % ver)
        NOTES.append("TLS 1.0/1.1 refused, tested with: " + ", ".join(how))
        check(len(wait_log(s, "unsupported protocol")) >= len(how), "one log line each")
        still_serving(s, "old TLS versions")


@test
def renegotiation_refused():
    with servers(wsecho()) as s:
        p = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.port,
                              "-tls1_2", "-CAfile", CERTS.ca],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        time.sleep(1.0)
        p.stdin.write(b"R\n")
        p.stdin.flush()
        time.sleep(1.0)
        p.stdin.close()
        try:
            out = p.stdout.read().decode(errors="replace")
            p.wait(5)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check("RENEGOTIATING" in out, "s_client did not try: %r" % out[-500:])
        check("no renegotiation" in out, "renegotiation not refused: %r" % out[-800:])
        still_serving(s, "a renegotiation attempt")


@test
def garbage_and_stalled_handshakes():
    with servers(wsecho("--handshake-timeout", "1")) as s:
        c = Client(s.port, handshake=False)
        c.send(os.urandom(3000))
        c.sock.settimeout(3)
        try:
            while c.sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        c.close()
        wait_log(s, "TLS handshake failed")
        # Half a ClientHello, then nothing: dropped at the timeout while
        # others are served.
        hello = raw_client_hello(0x0303)
        stall = Client(s.port, handshake=False)
        stall.send(hello[:20])
        t0 = time.monotonic()
        still_serving(s, "garbage")
        stall.sock.settimeout(5)
        try:
            eq(stall.sock.recv(100), b"", "stalled handshake: EOF")
        except ConnectionResetError:
            pass
        el = time.monotonic() - t0
        check(0.5 < el < 2.5, "stalled handshake dropped after %.2f s, want about 1" % el)
        stall.close()
        # A TLS handshake done, then no HTTP request: the same timeout.
        idle = TLSClient(s.port, handshake=False)
        t0 = time.monotonic()
        try:
            eq(idle.sock.recv(100), b"", "no request after TLS: EOF")
        except ssl.SSLError:
            pass
        el = time.monotonic() - t0
        check(0.5 < el < 2.5, "TLS without a request dropped after %.2f s" % el)
        still_serving(s, "stalled handshakes")


@test
def memory_per_idle_tls_connection():
    """What an idle TLS connection costs the server, after each has echoed
    a 200 kB message (its BIO buffers must not stay at their high water)."""
    n = 200
    with servers(wsecho()) as s:
        warm = [TLSClient(s.port) for _ in range(10)]
        for c in warm:
            c.echo(OP_BINARY, os.urandom(200000))
        time.sleep(0.2)
        before = s.rss_kib()
        conns = [TLSClient(s.port) for _ in range(n)]
        for c in conns:
            c.echo(OP_BINARY, os.urandom(200000))
        time.sleep(0.3)
        per = (s.rss_kib() - before) * 1024.0 / n
        NOTES.append("idle TLS connection after a 200 kB echo: %.0f bytes of server RSS each"
                     % per)
        check(per <= 24 * 1024, "%.0f bytes per idle TLS connection" % per)
        for c in warm + conns:
            c.close()


# ---------------------------------------------------------------- messenger

@test
def messenger_over_tls():
    if not MESSENGER:
        raise Skip("no --messenger-server/--messenger-client given")
    server, client = MESSENGER
    data = os.path.join(TMP, "messenger-data")
    p = subprocess.Popen([server, "--port", "0", "--data-dir", data, "--tls-cert",
                          CERTS.ok[0], "--tls-key", CERTS.ok[1]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline().decode()
        check(line.startswith("messenger-server listening on "), "server said %r" % line)
        port = int(line.strip().rsplit(":", 1)[1])
        url = "wss://localhost:%d/" % port
        st, out, err = run([client, "--url", url, "--ca", CERTS.ca, "--id", "1"],
                           b"send 2 over tls\nquit\n")
        eq((st, out.decode()), (0, "associated as 1\nsent\n"), "client 1 (stderr %r)" % err)
        st, out, err = run([client, "--url", url, "--ca", CERTS.ca, "--id", "2"],
                           b"get\nquit\n")
        eq((st, out.decode()), (0, "associated as 2\nfrom 1: over tls\n"),
           "client 2 (stderr %r)" % err)
        st, out, err = run([client, "--url", url, "--id", "3"], b"quit\n")
        check(st == 2 and "certificate verify failed" in err,
              "without --ca: exit %d, %r" % (st, err))
        status, _, body = https_get(port, "/")
        eq(status, 200, "the browser client over https://")
        check(body.lstrip().startswith(b"<"), "an HTML page: %r" % body[:60])
    finally:
        p.send_signal(signal.SIGTERM)
        eq(p.wait(10), 0, "messenger-server exit status")
        p.stdout.close()
        p.stderr.close()


@test
def dashboard_over_tls():
    if not DASHBOARD:
        raise Skip("no --dashboard given")
    p = subprocess.Popen([DASHBOARD, "--port", "0", "--ping-interval", "0",
                          "--tls-cert", CERTS.ok[0], "--tls-key", CERTS.ok[1]],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = p.stdout.readline().decode()
        check(line.startswith("ws-dashboard listening on "), "dashboard said %r" % line)
        port = int(line.strip().rsplit(":", 1)[1])
        status, _, body = https_get(port, "/")
        eq(status, 200, "the page over https://")
        check(body.lstrip().startswith(b"<"), "an HTML page: %r" % body[:60])
        status, _, body = https_get(port, "/app.js")
        check(status == 200 and b"'wss'" in body, "app.js picks wss:// on https://")
        c = TLSClient(port, "/ws?fragment=100")
        c.send_frame(OP_TEXT, b"d" * 250)
        got = [c.recv_frame() for _ in range(3)]
        eq([(f[0], f[1], len(f[2])) for f in got],
           [(0, OP_TEXT, 100), (0, OP_CONT, 100), (1, OP_CONT, 50)],
           "250 bytes echoed over wss:// in frames of 100 (fin, opcode, length)")
        c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        eq(p.wait(10), 0, "ws-dashboard exit status")
        p.stdout.close()
        p.stderr.close()


# --------------------------------------------------------------- sanitizers

def cycles(s, n):
    """n connect/echo/close cycles, mixed with failures that leave SSL
    objects behind mid-handshake if anything leaks."""
    for i in range(n):
        c = TLSClient(s.port)
        c.echo(OP_BINARY, os.urandom(i * 997 % 70000))
        if i % 3 == 0:
            c.send_frame(OP_CLOSE, close_payload(1000))
            c.expect_close(1000)
        c.close()  # or just gone
        g = Client(s.port, handshake=False)
        g.send(b"GET / HTTP/1.1\r\n\r\n" if i % 2 else raw_client_hello(0x0303)[:30])
        g.close()
    st, out, err = wscat("--ca", CERTS.ca, "wss://localhost:%d/" % s.port, input=b"x\n")
    eq(st, 0, "wscat during the cycles (stderr %r)" % err)


@test
def asan_connect_close_cycles():
    if not WSECHO_ASAN:
        raise Skip("no --wsecho-asan given")
    srv = Server(WSECHO_ASAN, ("--tls-cert", CERTS.ok[0], "--tls-key", CERTS.ok[1],
                               "--handshake-timeout", "1"), TMP)
    try:
        cycles(srv, 40)
        time.sleep(1.5)  # the stalled ones time out
    finally:
        st = srv.stop(timeout=20)
    log = srv.log_text()
    check("ERROR: AddressSanitizer" not in log and "LeakSanitizer" not in log,
          "ASan report:\n" + log[-3000:])
    eq(st, 0, "ASan wsecho exit status")


@test
def valgrind_connect_close_cycles():
    if not shutil.which("valgrind"):
        raise Skip("valgrind not installed")
    log = os.path.join(TMP, "valgrind.log")
    wrapper = os.path.join(TMP, "wsecho-valgrind")
    with open(wrapper, "w") as f:  # Server puts --host/--port first
        f.write('#!/bin/sh\nexec valgrind -q --error-exitcode=23 --leak-check=full '
                '--errors-for-leak-kinds=definite,indirect --log-file=%s %s "$@"\n'
                % (log, WSECHO))
    os.chmod(wrapper, 0o755)
    srv = Server(wrapper, ("--tls-cert", CERTS.ok[0], "--tls-key", CERTS.ok[1],
                           "--handshake-timeout", "1"), TMP)
    try:
        cycles(srv, 12)
        time.sleep(1.5)
    finally:
        st = srv.stop(timeout=60)
    with open(log) as f:
        report = f.read()
    eq(st, 0, "valgrind wsecho exit status; report:\n" + report[-3000:])
    check("definitely lost" not in report, report[-3000:])


# ------------------------------------------------------------------ runner

def main():
    global WSECHO, WSCAT, WSECHO_ASAN, MESSENGER, DASHBOARD, TMP, CERTS
    ap = argparse.ArgumentParser()
    ap.add_argument("--wsecho", required=True)
    ap.add_argument("--wscat", required=True)
    ap.add_argument("--wsecho-asan", help="wsecho built with -fsanitize=address")
    ap.add_argument("--messenger-server")
    ap.add_argument("--messenger-client")
    ap.add_argument("--dashboard")
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    WSECHO, WSCAT = os.path.abspath(a.wsecho), os.path.abspath(a.wscat)
    WSECHO_ASAN = a.wsecho_asan and os.path.abspath(a.wsecho_asan)
    if a.messenger_server and a.messenger_client:
        MESSENGER = (os.path.abspath(a.messenger_server), os.path.abspath(a.messenger_client))
    DASHBOARD = a.dashboard and os.path.abspath(a.dashboard)
    TMP = tempfile.mkdtemp(prefix="wsx-tls-")
    try:
        st, out, err = run([WSECHO, "--tls-cert", "/dev/null", "--tls-key", "/dev/null"])
        if "without TLS" in err:
            print("tls: wsecho was built without TLS (install libssl-dev, rebuild)")
            return 1
        CERTS = Certs(TMP)
        runner = Runner("tls", no_skip=True)
        runner.notes = NOTES
        return runner.run(TESTS, a.k, deadline=120)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
