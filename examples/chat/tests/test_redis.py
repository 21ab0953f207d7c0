#!/usr/bin/python3
"""test_redis — chat over Redis (issue 15), against a real redis-server
that this test starts itself: on a free loopback port, in a temporary
directory, with nothing saved to disk, stopped by its PID.

Cases: the hiredis adapter's C tests (examples/chat/tests/
test_redis_wsx.c), plain and under valgrind; the harness itself (a port
collision is retried, a restart keeps the port).

Standard library only: run with /usr/bin/python3."""

import argparse
import os
import shutil
import signal
import socket
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
    """A redis-server of our own: loopback only, no persistence, its
    files in a temporary directory that stop() removes."""

    def __init__(self, binary, port=None, tries=5):
        self.binary = binary
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
             "--dir", self.dir, "--save", "", "--appendonly", "no",
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
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

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


def main():
    global ARGS, RUNNER
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis-server", required=True)
    ap.add_argument("--adapter-test", required=True)
    ap.add_argument("-k", default="", help="run the cases whose name has K")
    ARGS = ap.parse_args()
    RUNNER = wstest.Runner("test_redis")
    tests = [test_harness_port_collision, test_harness_restart, test_adapter,
             test_adapter_valgrind]
    return RUNNER.run(tests, k=ARGS.k, deadline=150)


RUNNER = None

if __name__ == "__main__":
    sys.exit(main())
