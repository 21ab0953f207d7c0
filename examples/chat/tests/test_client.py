#!/usr/bin/python3
"""test_client — chat-client (examples/chat/client*.c) against a real
chat-server on a free loopback port with a temporary data directory.

Two kinds of client: one with piped stdin and stdout (lines in, lines
out) and one on a pseudo-terminal (raw mode, the line editor, the prompt
drawn again under each message, typing sent while keys are pressed).
Cases: bad usage, the name token (kept 0600, shown on the next login,
missing → refused), broadcast, PMs with their ticks, /users, contacts,
/history, a 3 MiB file accepted (saved next to an existing one, never
over it, SHA-256 equal) and one refused, /exit, ^D, SIGTERM, and the
terminal restored each time.

Usage: test_client.py --client build/examples/chat/chat-client
                      --server build/examples/chat/chat-server [-k NAME]
"""

import fcntl
import hashlib
import os
import pty
import queue
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests"))
from wstest import (Fail, Runner, check, eq, run, suite_args,  # noqa: E402
                    terminate)
from tlscerts import Certs  # noqa: E402

RUNNER = Runner("chat-client")
ARGS = None
WAIT = 10.0  # seconds for any one expected line
COLS = 40    # the pseudo-terminal's width


class CaAndServer(Certs):
    """Of tlscerts' certificates only the two this test needs (each is
    an RSA key to make): the CA and a server certificate for 127.0.0.1."""

    def __init__(self, d):
        self.dir = d
        self.ca, self.ca_key = self._ca("ca", "chat-client test CA")
        self.ok = self._leaf("ok", "DNS:localhost,IP:127.0.0.1")


class ChatServer:
    """chat-server on port 0 in its own data directory."""

    def __init__(self, tmp, args=()):
        self.dir = tempfile.mkdtemp(prefix="data-", dir=tmp)
        self.log = open(os.path.join(tmp, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [ARGS.server, "--host", "127.0.0.1", "--port", "0",
             "--data-dir", self.dir] + list(args), stdout=subprocess.PIPE,
            stderr=self.log)
        line = self.proc.stdout.readline().decode()
        m = re.match(r"WebSocket server listening on 127\.0\.0\.1:(\d+)$",
                     line.strip())
        check(m, "chat-server did not say where it listens: %r" % line)
        self.port = int(m.group(1))
        self.url = "ws%s://127.0.0.1:%d/" % ("s" if args else "", self.port)

    def stop(self):
        terminate(self.proc)
        self.proc.stdout.close()
        self.log.close()


class Session:
    """A temporary directory, a server, and the clients started in it;
    everything is stopped at the end, whatever happened."""

    def __init__(self, tls=False):
        self.tmp = tempfile.mkdtemp(prefix="chat-client-")
        self.cfg = os.path.join(self.tmp, "config")
        self.clients = []
        self.server = None
        self.certs = None
        if tls:
            os.mkdir(os.path.join(self.tmp, "certs"))
            self.certs = CaAndServer(os.path.join(self.tmp, "certs"))

    def __enter__(self):
        args = ()
        if self.certs:
            args = ("--tls-cert", self.certs.ok[0], "--tls-key",
                    self.certs.ok[1])
        self.server = ChatServer(self.tmp, args)
        return self

    def __exit__(self, *exc):
        for c in self.clients:
            c.kill()
        if self.server:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return False

    def env(self, cfg=None):
        """XDG_CONFIG_HOME=cfg; cfg "~": none, HOME in the temp dir."""
        e = dict(os.environ)
        e["LC_ALL"] = "C.UTF-8"
        if cfg == "~":
            e.pop("XDG_CONFIG_HOME", None)
            e["HOME"] = os.path.join(self.tmp, "home")
        else:
            e["XDG_CONFIG_HOME"] = cfg or self.cfg
        return e

    def piped(self, name, *args, cfg=None):
        c = Piped(self, name, args, cfg)
        self.clients.append(c)
        return c

    def tty(self, name, *args):
        c = Tty(self, name, args)
        self.clients.append(c)
        return c


class Piped:
    """chat-client with stdin and stdout pipes; stdout read line by line."""

    def __init__(self, s, name, args, cfg):
        self.name = name
        self.proc = subprocess.Popen(
            [ARGS.client, "--url", s.server.url] + list(args) + [name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=s.env(cfg), cwd=s.tmp)
        self.lines = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def expect(self, want, what=None):
        """The next line equal to want (or matching it, a compiled regex),
        skipping others; returns it."""
        end = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.01,
                                                  end - time.monotonic()))
            except queue.Empty:
                line = False
            if line is None or line is False:
                raise Fail("%s: no line %r (%s); it printed:\n%s" % (
                    self.name, getattr(want, "pattern", want),
                    "it exited" if line is None else "timed out",
                    "\n".join(self.seen[-30:])))
            self.seen.append(line)
            if (line == want if isinstance(want, str)
                    else want.search(line)):
                return line

    def wait(self, timeout=WAIT):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        code = self.proc.wait(timeout)
        return code, sanitized(self, self.proc.stderr.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sanitized(client, err):
    """stderr as text; a sanitizer's report (ASan build) is a failure."""
    text = err.decode("utf-8", "replace")
    if "Sanitizer" in text or "runtime error:" in text:
        raise Fail("%s: sanitizer report:\n%s" % (client.name, text[-3000:]))
    return text


class Tty:
    """chat-client on a pseudo-terminal: keys written to the master, the
    screen's bytes read from it."""

    def __init__(self, s, name, args):
        self.name = name
        self.master, self.slave = pty.openpty()
        # 40 columns: long lines scroll sideways.
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ,
                    struct.pack("HHHH", 24, COLS, 0, 0))
        self.saved = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(
            [ARGS.client, "--url", s.server.url] + list(args) + [name],
            stdin=self.slave, stdout=self.slave, stderr=subprocess.PIPE,
            env=s.env(), cwd=s.tmp, start_new_session=True)
        self.buf = b""
        self.at = 0  # what expect() has consumed
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                b = os.read(self.master, 4096)
            except OSError:
                return
            if not b:
                return
            with self.lock:
                self.buf += b

    def keys(self, b):
        os.write(self.master, b)

    def expect(self, want):
        """The bytes want, after what was expected before; returns them
        and what came before them."""
        end = time.monotonic() + WAIT
        while time.monotonic() < end:
            with self.lock:
                i = self.buf.find(want, self.at)
                if i >= 0:
                    before = self.buf[self.at:i]
                    self.at = i + len(want)
                    return before
            time.sleep(0.01)
        raise Fail("%s: the terminal never showed %r; it showed:\n%r" % (
            self.name, want, self.buf[self.at:][-1500:]))

    def wait(self, timeout=WAIT):
        code = self.proc.wait(timeout)
        return code, sanitized(self, self.proc.stderr.read())

    def restored(self):
        return termios.tcgetattr(self.slave) == self.saved

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


def login(c):
    return c.expect(re.compile(r"^\* welcome %s; online: " % c.name))


# ---------------------------------------------------------------- cases

def test_usage():
    code, out, err = run([ARGS.client])
    eq(code, 1, "exit status without a name")
    check("a USERNAME is required" in err and "--help" in err, err)
    code, out, err = run([ARGS.client, "--help"])
    eq(code, 0, "--help")
    for s in (b"/msg USER TEXT", b"/send USER PATH", b"--download-dir",
              b"--ca FILE", b"--insecure", b"wsproto-chat/tokens",
              b"Exit status"):
        check(s in out, "--help says %r" % s)
    code, out, err = run([ARGS.client, "alice", "bob"])
    eq(code, 1, "two names")
    check("unexpected argument 'bob'" in err, err)
    code, out, err = run([ARGS.client, "--url", "http://x/", "alice"])
    eq(code, 1, "an http:// URL")
    check("bad --url 'http://x/'" in err, err)
    code, out, err = run([ARGS.client, "--download-dir", "/nonexistent",
                          "alice"])
    eq(code, 1, "a missing download directory")
    check("--download-dir /nonexistent" in err, err)
    code, out, err = run([ARGS.client, "--bogus", "alice"])
    eq(code, 1, "an unknown option")
    # A port nobody listens on: a connect failure, status 2.
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, out, err = run([ARGS.client, "--url",
                          "ws://127.0.0.1:%d/" % port, "alice"],
                         input=b"hello\n")
    eq(code, 2, "no server")
    check("could not connect" in (out.decode() + err) or
          "cannot connect" in (out.decode() + err), out.decode() + err)


def test_token_kept_and_reused():
    with Session() as s:
        a = s.piped("alice")
        path = os.path.join(s.cfg, "wsproto-chat", "tokens")
        a.expect("* alice is yours now; its token is kept in %s" % path)
        login(a)
        a.send("/exit")
        code, err = a.wait()
        eq(code, 0, "exit status after /exit (stderr %r)" % err)
        st = os.stat(path)
        eq(stat.S_IMODE(st.st_mode), 0o600, "the tokens file's mode")
        eq(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700,
           "its directory's mode")
        with open(path) as f:
            lines = f.read().splitlines()
        eq(len(lines), 1, "one token line: %r" % lines)
        url, name, token = lines[0].split(" ")
        eq((url, name), (s.server.url, "alice"), "the line's server, name")
        check(re.fullmatch(r"[0-9a-f]{32}", token), "token %r" % token)
        # The second login presents it: accepted, nothing claimed anew.
        a2 = s.piped("alice")
        line = login(a2)
        eq(line, "* welcome alice; online: alice", "second login")
        check(not any("is yours now" in x for x in a2.seen),
              "claimed again: %r" % a2.seen)
        a2.send("/exit")
        eq(a2.wait()[0], 0, "second session's exit")
        with open(path) as f:
            eq(f.read().splitlines(), lines, "the tokens file after")
        # Without the token (another config dir): refused, status 2.
        other = os.path.join(s.tmp, "other")
        a3 = s.piped("alice", cfg=other)
        code, err = a3.wait()
        eq(code, 2, "exit status of a refused login")
        check(re.fullmatch(r"chat-client: alice is claimed by someone else, "
                           r"or its token \(kept in %s\) is missing or "
                           r"wrong: pick another name\n"
                           % re.escape(os.path.join(other, "wsproto-chat",
                                                    "tokens")), err), err)
        # Nowhere to keep a new name's token: refused before the claim,
        # so the name is not lost; from a writable place it is claimed.
        code, err = s.piped("zoe", cfg="/proc/no-such-dir").wait()
        eq(code, 2, "exit status with an unwritable config dir")
        check(err.startswith("chat-client: cannot keep a new name's token in"
                             " /proc/no-such-dir/wsproto-chat: "), err)
        z = s.piped("zoe")
        z.expect(re.compile(r"^\* zoe is yours now"))
        z.send("/exit")
        eq(z.wait()[0], 0, "zoe's exit")
        # Without XDG_CONFIG_HOME: ~/.config.
        h = s.piped("henry", cfg="~")
        h.expect("* henry is yours now; its token is kept in %s" % os.path.join(
            s.tmp, "home", ".config", "wsproto-chat", "tokens"))
        h.send("/exit")
        eq(h.wait()[0], 0, "henry's exit")
        # A name the server refuses: its reason, status 2.
        code, err = s.piped("no/slash").wait()
        eq(code, 2, "exit status for a bad name")
        check(err.startswith("chat-client: cannot log in as no/slash: "), err)


def test_broadcast_typing_pm_ticks_on_a_terminal():
    with Session() as s:
        a = s.piped("alice")
        login(a)
        b = s.tty("bob")
        b.expect(b"* welcome bob; online: alice, bob\r\n")
        b.expect(b"> ")
        a.expect("* bob joined the chat")
        # Typing: alice is told once; the keys echo after the prompt.
        b.keys(b"hel")
        b.expect(b"hel")
        a.expect("* bob is typing\u2026")
        # A message while bob types: drawn above, his line drawn again.
        a.send("hi all")
        a.expect("alice: hi all \u2713")
        b.expect(b"\r\x1b[2Kalice: hi all\r\n> hel")
        b.keys(b"lo\r")
        a.expect("bob: hello")
        eq(sum(x == "* bob is typing\u2026" for x in a.seen), 1,
           "typing shown once for five keys: %r" % a.seen)
        b.expect(b"\r\x1b[2K> hello\r\n> ")
        b.expect(b"bob: hello \xe2\x9c\x93\r\n> ")
        # A PM to bob: shown, reported read; alice sees every tick.
        a.send("/msg bob secret \u00e9")
        b.expect("\r\x1b[2Kalice (private): secret \u00e9\r\n> ".encode())
        a.expect("alice \u2192 bob: secret \u00e9 \u2713")
        a.expect("alice \u2192 bob: secret \u00e9 \u2713\u2713")
        a.expect("alice \u2192 bob: secret \u00e9 \u2713\u2713 read")
        # The editor: left, left, insert, home, insert, end, insert,
        # backspace; a two-byte character moved over as one.
        b.keys(b"ab\xc3\xa9\x1b[D\x1b[DX\x1b[HY\x1b[FZ\x7f\r")
        a.expect("bob: YaXb\u00e9")
        # bob's PM to alice, with typing to her.
        b.keys(b"/msg alice ok")
        a.expect("* bob is typing to you\u2026")
        b.keys(b"\r")
        a.expect("bob (private): ok")
        b.expect("bob \u2192 alice: ok \u2713\u2713 read\r\n".encode())
        a.send("/users")
        a.expect("* online: alice, bob")
        # Escape sequences from the network are shown, not obeyed.
        a.send("evil \x1b[2J\x1b]0;title\x07 \u009b")
        b.expect(b"\r\x1b[2Kalice: evil ?[2J?]0;title? ??\r\n> ")
        # A line longer than the row scrolls sideways; Home shows its
        # start with the cursor moved back over the rest.
        line = b"".join(b"%d" % (i % 10) for i in range(50))
        width = COLS - 3
        b.keys(line)
        b.expect(b"\r\x1b[2K> " + line[50 - width:] + b"\r\x1b[2K")
        b.keys(b"\x1b[H")
        b.expect(b"\r\x1b[2K> " + line[:width] + b"\x1b[%dD" % width)
        b.keys(b"\x1b[F\x15")  # End, ^U: the line is empty again
        b.expect(b"\r\x1b[2K> " + line[50 - width:] + b"\r\x1b[2K> ")
        # Wide characters take two columns: 18 of them fill the row.
        wide = "\u65e5".encode()
        b.keys(wide * 20 + b"\x1b[H")
        b.expect(b"\r\x1b[2K> " + wide * 18 + b"\x1b[36D")
        b.keys(b"\x1b[F\x15")
        # A file to the terminal: the progress bar on the row above the
        # prompt, replaced by the result.
        data = os.urandom(600 * 1024)
        with open(os.path.join(s.tmp, "f.bin"), "wb") as f:
            f.write(data)
        a.send("/send bob %s" % os.path.join(s.tmp, "f.bin"))
        b.expect(b"* alice offers f.bin (600.0 KiB): /accept or /refuse\r\n> ")
        os.mkdir(os.path.join(s.tmp, "dl"))
        b.keys(b"/accept\r")
        b.expect(b"* receiving f.bin from alice into ./f.bin.1\r\n> ")
        # (cut to the 40 columns)
        b.expect(b"\r\x1b[2K[####################] 100% f.bin from "
                 b"\r\n> ")
        b.expect(b"\r\x1b[2K\x1b[1A\r\x1b[2K> \r\x1b[2K* saved f.bin from "
                 b"alice as ./f.bin.1 (600.0 KiB, SHA-256 ok)\r\n> ")
        with open(os.path.join(s.tmp, "f.bin.1"), "rb") as f:
            check(f.read() == data, "the file received on the terminal")
        a.expect("* bob received f.bin: SHA-256 ok")
        # ^D on an empty line: a graceful close, the terminal restored.
        b.keys(b"\x04")
        code, err = b.wait()
        eq(code, 0, "bob's exit status after ^D (stderr %r)" % err)
        check(b.restored(), "the terminal's settings are restored")
        a.expect("* bob has left the chat")


def test_end_of_input_with_offers_waiting():
    """^D at a terminal, or the end of piped input, while offers wait
    for an answer: the client leaves (nobody can answer an offer made to
    it any more), it does not wait for ever."""
    with Session() as s:
        src = os.path.join(s.tmp, "n.txt")
        with open(src, "w") as f:
            f.write("hi\n")
        a = s.piped("alice")
        b = s.tty("bob")
        c = s.piped("carol")
        login(a)
        login(c)
        b.expect(b"> ")
        a.send("/send bob %s" % src)
        b.expect(b"* alice offers n.txt (3 B): /accept or /refuse\r\n> ")
        b.keys(b"/send alice %s\r" % src.encode())
        b.expect(b"* offering n.txt (3 B) to alice")
        b.keys(b"\x04")
        eq(b.wait()[0], 0, "^D with offers both ways")
        a.send("/send carol %s" % src)
        c.expect("* alice offers n.txt (3 B): /accept or /refuse")
        eq(c.wait()[0], 0, "end of piped input with an offer made to it")
        a.send("/exit")
        eq(a.wait()[0], 0, "alice's exit")


def test_terminal_restored_on_signals_and_ctrl_c():
    with Session() as s:
        b = s.tty("bob")
        b.expect(b"> ")
        check(not b.restored(), "raw mode is on while it runs")
        b.proc.send_signal(signal.SIGTERM)
        eq(b.wait()[0], 0, "exit status after SIGTERM")
        check(b.restored(), "the terminal restored after SIGTERM")
        c = s.tty("carol")
        c.expect(b"> ")
        c.keys(b"half a line\x03")
        eq(c.wait()[0], 0, "exit status after ^C")
        check(c.restored(), "the terminal restored after ^C")
        # SIGHUP (the terminal went away): restored, then the signal's
        # own death.
        d = s.tty("dave")
        d.expect(b"> ")
        d.proc.send_signal(signal.SIGHUP)
        eq(d.wait()[0], -signal.SIGHUP, "killed by SIGHUP")
        check(d.restored(), "the terminal restored after SIGHUP")


def test_contacts():
    with Session() as s:
        a, b = s.piped("alice"), s.piped("bob")
        login(a)
        login(b)
        a.send("/contacts")
        a.expect("* no contacts yet (/add USER)")
        a.send("/add bob")
        a.expect("* contacts: bob (online)")
        a.send("/add nobody")
        a.expect(re.compile(r"^\* error: .*nobody"))
        a.send("/add")
        a.expect("* usage: /add USER")
        b.send("/exit")
        eq(b.wait()[0], 0, "bob's exit")
        a.expect("* bob has left the chat")
        a.send("/contacts")
        a.expect("* contacts: bob (offline)")
        a.send("/remove bob")
        a.expect("* no contacts yet (/add USER)")
        a.send("/bogus")
        a.expect("* unknown command /bogus; /help lists them")
        a.send("//bogus is a word")
        a.expect("alice: /bogus is a word \u2713")
        a.proc.stdin.write(b"caf\xe9 in Latin-1\n")
        a.proc.stdin.flush()
        a.expect("* error: the line is not UTF-8 text, not sent")
        a.send("x" * 5000)
        a.expect("* error: the message is 5000 bytes; at most 4096 fit")
        a.send("/help")
        a.expect(re.compile(r"^\* /send USER PATH"))


def test_history():
    with Session() as s:
        a = s.piped("alice")
        login(a)
        for i in range(3):
            a.send("line %d" % i)
            a.expect("alice: line %d \u2713" % i)
            if i == 0:  # one message: said in the singular
                b = s.piped("bob")
                b.expect("* the last message:")
                b.expect("alice: line 0")
                b.send("/exit")
                eq(b.wait()[0], 0, "bob's exit")
        c = s.piped("carol")
        c.expect("* the last 3 messages:")
        for i in range(3):
            c.expect("alice: line %d" % i)
        login(c)
        c.send("/history")
        c.expect("* history: 3 messages")
        for i in range(3):
            c.expect("alice: line %d" % i)
        a.send("/exit")
        c.send("/exit")
        eq(a.wait()[0], 0, "alice's exit")
        eq(c.wait()[0], 0, "carol's exit")


def test_file_accepted_and_refused():
    with Session() as s:
        dl = os.path.join(s.tmp, "downloads")
        os.mkdir(dl)
        data = os.urandom(3 * 1024 * 1024 + 12345)
        src = os.path.join(s.tmp, "big.bin")
        with open(src, "wb") as f:
            f.write(data)
        # A file of that name is there already: it must stay as it is.
        with open(os.path.join(dl, "big.bin"), "wb") as f:
            f.write(b"old")
        a = s.piped("alice")
        b = s.piped("bob", "--download-dir", dl)
        login(a)
        login(b)
        a.send("/send bob %s" % src)
        a.expect("* offering big.bin (3.0 MiB) to bob")
        b.expect("* alice offers big.bin (3.0 MiB): /accept or /refuse")
        b.send("/accept")
        saved = os.path.join(dl, "big.bin.1")
        b.expect("* receiving big.bin from alice into %s" % saved)
        a.expect("* bob accepted big.bin; sending")
        # Plain mode: a progress line at each quarter crossed, both sides.
        bar = r"^\[(#*)(\.*)\] +(\d+)%% big\.bin %s \((.*) of 3\.0 MiB\)$"
        for c, what in ((a, "to bob"), (b, "from alice")):
            m = re.match(bar % what, c.expect(re.compile(bar % what)))
            pct = int(m.group(3))
            check(25 <= pct < 100 and len(m.group(1)) == pct // 5 and
                  len(m.group(1) + m.group(2)) == 20,
                  "the first progress line: %r" % m.group(0))
            c.expect("[####################] 100%% big.bin %s (3.0 MiB of "
                     "3.0 MiB)" % what)
        b.expect("* saved big.bin from alice as %s (3.0 MiB, SHA-256 ok)"
                 % saved)
        a.expect("* bob received big.bin: SHA-256 ok")
        with open(saved, "rb") as f:
            eq(hashlib.sha256(f.read()).hexdigest(),
               hashlib.sha256(data).hexdigest(), "SHA-256 of the copy")
        with open(os.path.join(dl, "big.bin"), "rb") as f:
            eq(f.read(), b"old", "the file that was there")
        # A refused offer: nothing saved.
        small = os.path.join(s.tmp, "note.txt")
        with open(small, "w") as f:
            f.write("hello\n")
        other = os.path.join(s.tmp, "other.txt")
        with open(other, "w") as f:
            f.write("hi\n")
        # Two offers waiting: answered latest first.
        a.send("/send bob %s" % small)
        b.expect("* alice offers note.txt (6 B): /accept or /refuse")
        a.send("/send bob %s" % other)
        b.expect("* alice offers other.txt (3 B): /accept or /refuse")
        b.send("/refuse")
        b.expect("* refused other.txt from alice")
        a.expect("* bob refused other.txt")
        b.send("/refuse")
        b.expect("* refused note.txt from alice")
        a.expect("* bob refused note.txt")
        check(not os.path.exists(os.path.join(dl, "note.txt")),
              "a refused file is not saved")
        b.send("/accept")
        b.expect("* error: no file offer waiting for an answer")
        # Offers to a name nobody claimed: each an error, none keeps a
        # place (at most 8 offers go out at once).
        for i in range(10):
            a.send("/send nobody %s" % small)
            a.expect(re.compile(r"^\* error: .*nobody"))
        a.send("/send bob /nonexistent")
        a.expect(re.compile(r"^\* error: cannot send /nonexistent: "))
        a.send("/exit")
        b.send("/exit")
        eq(a.wait()[0], 0, "alice's exit")
        eq(b.wait()[0], 0, "bob's exit")


def test_end_of_input_and_server_gone():
    with Session() as s:
        # Lines piped all at once, then the end of input: each is sent
        # after the login, then a graceful close.
        a = s.piped("alice")
        b = s.piped("bob")
        login(b)
        a.proc.stdin.write(b"one\ntwo\n/msg bob three\n")
        a.proc.stdin.close()
        b.expect("alice: one")
        b.expect("alice: two")
        b.expect("alice (private): three")
        eq(a.wait()[0], 0, "exit status at the end of input")
        b.expect("* alice has left the chat")
        # The server stops: the client says so and exits with 3.
        s.server.stop()
        b.expect(re.compile(r"^\* (server is shutting down|connection "
                            r"closed by the server)"))
        eq(b.wait()[0], 3, "exit status when the server goes away")


def test_offline_pm():
    with Session() as s:
        c = s.piped("carol")
        login(c)
        c.send("/exit")
        eq(c.wait()[0], 0, "carol's exit")
        a = s.piped("alice")
        login(a)
        a.send("/msg carol while you were away")
        a.expect("alice \u2192 carol: while you were away \u2713")
        a.expect("alice \u2192 carol: while you were away (offline: "
                 "delivered at their next login)")
        a.send("/msg nobody hello")
        a.expect(re.compile(r"^\* error: .*nobody"))
        c = s.piped("carol")
        login(c)
        c.expect("alice (private): while you were away")
        a.expect("alice \u2192 carol: while you were away \u2713\u2713")
        a.expect("alice \u2192 carol: while you were away \u2713\u2713 "
                 "read")
        a.send("/exit")
        c.send("/exit")
        eq(a.wait()[0], 0, "alice's exit")
        eq(c.wait()[0], 0, "carol's exit")


def test_wss():
    with Session(tls=True) as s:
        a = s.piped("alice", "--ca", s.certs.ca)
        login(a)
        b = s.piped("bob", "--insecure")
        login(b)
        a.send("over TLS")
        b.expect("alice: over TLS")
        # The system's CAs do not know the test CA: refused, status 2.
        code, err = s.piped("carol").wait()
        eq(code, 2, "exit status when the certificate is not trusted")
        check(re.match(r"chat-client: wss://127\.0\.0\.1:\d+/: .*"
                       r"(certificate|TLS)", err), err)
        a.send("/exit")
        b.send("/exit")
        eq(a.wait()[0], 0, "alice's exit")
        eq(b.wait()[0], 0, "bob's exit")


TESTS = [test_usage, test_token_kept_and_reused,
         test_end_of_input_with_offers_waiting,
         test_broadcast_typing_pm_ticks_on_a_terminal,
         test_terminal_restored_on_signals_and_ctrl_c, test_contacts,
         test_history, test_file_accepted_and_refused,
         test_end_of_input_and_server_gone, test_offline_pm, test_wss]


def main():
    global ARGS
    ARGS = suite_args("client", "server")
    sys.exit(RUNNER.run(TESTS, ARGS.k, deadline=60))


if __name__ == "__main__":
    main()
