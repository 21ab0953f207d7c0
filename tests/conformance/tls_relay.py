#!/usr/bin/python3
"""The conformance suite once more, over TLS.

  /usr/bin/python3 tests/conformance/tls_relay.py --conformance BIN
      --wsecho PATH [--logdir DIR] [--only CATEGORY ...]

The suite (conformance.c, wire.c) speaks raw bytes over plain TCP and has
no TLS of its own, so this file stands in for wsecho, honestly: the suite
is told to start *this script* as its wsecho. Started that way (the
environment says so), it starts the real wsecho with --tls-cert/--tls-key
and the suite's own arguments, and relays every plain connection the suite
opens into a TLS connection to wsecho (Python's ssl module over memory
BIOs, trusting the test CA, host name checked), byte for byte both ways,
half-closes included: the suite's FIN becomes close_notify and FIN, and
wsecho's close_notify and FIN become a FIN to the suite. It prints
"wsecho listening on 127.0.0.1:PORT" with the relay's port, passes SIGTERM
on, and exits with wsecho's status. So every byte the suite checks went
through wsecho's TLS transport and back; what the relay adds is latency.
A wsecho connection that ends without close_notify is counted and logged.

As a driver (no such environment), it makes a test CA and a certificate
with openssl req/x509 in a temporary directory and runs the suite once per
category given (default: framing, utf8, close).
"""

import errno
import os
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

ENV_WSECHO = "TLS_RELAY_WSECHO"


# ------------------------------------------------------------------- relay

class Pair:
    """One suite connection (down, plain) and its TLS connection (up)."""

    def __init__(self, relay, down, port):
        self.relay, self.down = relay, down
        self.up = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = relay.ctx.wrap_bio(self.inc, self.out, server_hostname="localhost")
        self.handshake()
        self.to_up, self.to_down = bytearray(), bytearray()
        self.down_eof = self.up_eof = self.shut_up = self.shut_down = False
        self.notify = False  # wsecho's close_notify seen
        for s in (self.down, self.up):
            s.setblocking(False)
        relay.sel.register(self.down, selectors.EVENT_READ, (self, "down"))
        relay.sel.register(self.up, selectors.EVENT_READ, (self, "up"))

    def handshake(self):
        while True:
            try:
                self.tls.do_handshake()
                self.up.sendall(self.out.read())
                return
            except ssl.SSLWantReadError:
                self.up.sendall(self.out.read())
                d = self.up.recv(65536)
                if not d:
                    raise ConnectionError("wsecho closed during the TLS handshake")
                self.inc.write(d)

    def from_down(self):
        d = self.down.recv(65536)
        if d:
            self.tls.write(d)
        else:
            self.down_eof = True
            try:
                self.tls.unwrap()  # close_notify; wsecho's comes later
            except (ssl.SSLWantReadError, ssl.SSLError):
                pass
        self.to_up += self.out.read()

    def from_up(self):
        d = self.up.recv(65536)
        if d:
            self.inc.write(d)
        else:
            self.inc.write_eof()
        while not self.up_eof:
            try:
                d = self.tls.read(65536)
                if not d:  # the end: with close_notify, shutdown completes
                    self.up_eof = True
                    self.notify = self.notify or self.shutdown_done()
                    self.relay.no_notify += not self.notify
                self.to_down += d
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.up_eof = self.notify = True
            except ssl.SSLError:  # EOF without close_notify, or an alert
                self.up_eof = True
                self.relay.no_notify += 1
        self.to_up += self.out.read()

    def shutdown_done(self):
        try:
            self.tls.unwrap()
            return True
        except ssl.SSLError:
            return False

    def flush(self, sock, buf):
        try:
            while buf:
                del buf[:sock.send(buf)]
        except (BlockingIOError, InterruptedError):
            pass  # the rest when it is writable

    def step(self, which):
        try:
            try:
                if which == "down" and not self.down_eof:
                    self.from_down()
                elif which == "up" and not self.up_eof:
                    self.from_up()
            except (BlockingIOError, InterruptedError):
                pass
            self.flush(self.up, self.to_up)
            self.flush(self.down, self.to_down)
            self.half_closes()
            self.update()
        except OSError as e:  # a reset on one side resets the other
            self.close(reset=e.errno in (errno.ECONNRESET, errno.EPIPE,
                                         errno.ENOTCONN))

    def half_closes(self):
        if self.down_eof and not self.to_up and not self.shut_up:
            self.shut_up = True
            self.up.shutdown(socket.SHUT_WR)
        if self.up_eof and not self.to_down and not self.shut_down:
            self.shut_down = True
            self.down.shutdown(socket.SHUT_WR)
        if self.shut_up and self.shut_down:
            self.close()

    def update(self):
        if self.down.fileno() < 0:
            return
        for s, eof, buf in ((self.down, self.down_eof, self.to_down),
                            (self.up, self.up_eof, self.to_up)):
            ev = (0 if eof else selectors.EVENT_READ) | (selectors.EVENT_WRITE if buf else 0)
            key = self.relay.sel.get_map().get(s.fileno())
            if ev == 0 and key:
                self.relay.sel.unregister(s)
            elif ev and key and key.events != ev:
                self.relay.sel.modify(s, ev, key.data)
            elif ev and not key:
                self.relay.sel.register(s, ev, (self, "down" if s is self.down else "up"))

    def close(self, reset=False):
        for s in (self.down, self.up):
            if s.fileno() < 0:
                continue
            if s.fileno() in self.relay.sel.get_map():
                self.relay.sel.unregister(s)
            if reset:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            s.close()
        self.relay.pairs.discard(self)


def die_with_parent():
    """In wsecho, before exec: SIGTERM when the relay dies (the suite
    SIGKILLs a wsecho that does not exit in time: that is us)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Relay:
    def __init__(self, wsecho, args, cert, key, ca):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.proc = subprocess.Popen([wsecho] + args + ["--tls-cert", cert, "--tls-key", key],
                                     stdout=subprocess.PIPE, preexec_fn=die_with_parent)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("wsecho listening on "):
            sys.exit("tls_relay: wsecho printed %r" % line)
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.ls = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.ls.setblocking(False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.ls, selectors.EVENT_READ, None)
        self.pairs = set()
        self.no_notify = 0

    def accept(self):
        try:
            down, _ = self.ls.accept()
        except BlockingIOError:
            return
        down.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.pairs.add(Pair(self, down, self.port))
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write("tls_relay: cannot reach wsecho over TLS: %s\n" % e)
            down.close()

    def run(self):
        print("wsecho listening on 127.0.0.1:%d" % self.ls.getsockname()[1], flush=True)
        signal.signal(signal.SIGTERM, lambda *a: self.proc.send_signal(signal.SIGTERM))
        drain_until = None
        while True:
            if drain_until is None and self.proc.poll() is not None:
                self.sel.unregister(self.ls)
                drain_until = time.monotonic() + 0.2  # its last bytes
            if drain_until is not None and (not self.pairs or time.monotonic() > drain_until):
                break
            for key, _ in self.sel.select(0.05):
                if key.data is None:
                    self.accept()
                else:
                    pair, which = key.data
                    if pair in self.pairs:
                        pair.step(which)
        if self.no_notify:
            sys.stderr.write("tls_relay: %d wsecho connections ended without close_notify\n"
                             % self.no_notify)
        sys.exit(self.proc.wait())


# ------------------------------------------------------------------ driver

def drive(argv):
    a = {"--logdir": None, "--only": []}
    it = iter(argv)
    for k in it:
        v = next(it, None)
        if k == "--only":
            a[k].append(v)
        else:
            a[k] = v
    if not a.get("--conformance") or not a.get("--wsecho"):
        sys.exit("usage: tls_relay.py --conformance BIN --wsecho PATH [--logdir DIR] "
                 "[--only CATEGORY ...]")
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "examples", "tests"))
    from tlscerts import Certs
    d = tempfile.mkdtemp(prefix="conformance-tls-")
    status = 0
    try:
        c = Certs(d)
        env = dict(os.environ, **{ENV_WSECHO: os.path.abspath(a["--wsecho"]),
                                  "TLS_RELAY_CERT": c.ok[0], "TLS_RELAY_KEY": c.ok[1],
                                  "TLS_RELAY_CA": c.ca})
        for cat in a["--only"] or ["framing", "utf8", "close"]:
            print("== conformance over TLS (wsecho --tls-cert, through tls_relay.py): %s"
                  % cat, flush=True)
            cmd = [a["--conformance"], "--wsecho", os.path.abspath(__file__), "--only", cat]
            if a["--logdir"]:
                cmd += ["--logdir", a["--logdir"]]
            failed = subprocess.call(cmd, env=env) != 0
            status |= failed
            print("== over TLS, %s: %s" % (cat, "FAILED" if failed else "passed"),
                  flush=True)
    finally:
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    return 1 if status else 0


if __name__ == "__main__":
    if os.environ.get(ENV_WSECHO):
        e = os.environ
        Relay(e[ENV_WSECHO], sys.argv[1:], e["TLS_RELAY_CERT"], e["TLS_RELAY_KEY"],
              e["TLS_RELAY_CA"]).run()
    else:
        sys.exit(drive(sys.argv[1:]))
