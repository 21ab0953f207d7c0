"""Shared by the Python drivers: payloads, results, running wscat.

Standard library only: runs under Debian's /usr/bin/python3.
"""

import asyncio
import hashlib
import json
import os
import sys

# Sizes every peer exchanges, both ways.
SIZES = [0, 125, 64 * 1024, 1024 * 1024]

# Multi-byte UTF-8: 2-, 3- and 4-byte characters, a noncharacter and the
# last code point.
UNICODE = "κόσμε — 日本語 😀 \U0010FFFF \uFFFE ü"


def text_of(nbytes):
    """A str whose UTF-8 encoding is exactly nbytes long, mostly multi-byte."""
    unit = "aé€😀"  # 1 + 2 + 3 + 4 = 10 bytes
    s = unit * (nbytes // 10)
    return s + "x" * (nbytes - len(s.encode()))


def binary_of(nbytes):
    return bytes((i * 131 + i // 256) & 0xFF for i in range(nbytes))


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def size_name(n):
    if n >= 1024 * 1024:
        return "%d MiB" % (n // (1024 * 1024))
    if n >= 1024:
        return "%d KiB" % (n // 1024)
    return "%d B" % n


class Results:
    """Prints one JSON line per case: the orchestrator counts them."""

    def __init__(self, direction):
        self.direction = direction

    def report(self, case, ok, msg=""):
        print(json.dumps({"dir": self.direction, "case": case, "ok": bool(ok),
                          "msg": msg}), flush=True)

    def note(self, text):
        """A behaviour worth knowing that is not a failure."""
        print(json.dumps({"dir": self.direction, "note": text}), flush=True)

    async def run(self, case, coro, timeout=20):
        try:
            await asyncio.wait_for(coro, timeout)
            self.report(case, True)
        except AssertionError as e:
            self.report(case, False, str(e) or "assertion failed")
        except asyncio.TimeoutError:
            self.report(case, False, "timeout after %d s" % timeout)
        except Exception as e:  # any other failure is the case's
            self.report(case, False, "%s: %s" % (type(e).__name__, e))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


async def wscat(path, url, *args, stdin=b"", expect=None, timeout=20):
    """Run wscat like a person at a terminal: type stdin, wait until the
    output shows `expect` bytes (the echoes), then end input (EOF) so wscat
    closes. expect=None keeps input open until wscat exits by itself (the
    server closes). Returns (exit code, stdout bytes, stderr text)."""
    proc = await asyncio.create_subprocess_exec(
        path, *args, url, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out = bytearray()

    async def feed():
        proc.stdin.write(stdin)
        try:
            await proc.stdin.drain()
        except ConnectionError:
            pass

    async def talk():
        # Typed while its output is read: a large input must not wait for
        # wscat, which waits for its own output to be read.
        writer = asyncio.ensure_future(feed())
        while expect is not None and len(out) < expect:
            chunk = await proc.stdout.read(1 << 20)
            if not chunk:
                break
            out.extend(chunk)
        if expect is not None:
            proc.stdin.close()
        while True:
            chunk = await proc.stdout.read(1 << 20)
            if not chunk:
                break
            out.extend(chunk)
        await writer
        if expect is None:
            proc.stdin.close()
        err = await proc.stderr.read()
        await proc.wait()
        return err

    try:
        err = await asyncio.wait_for(talk(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError("wscat did not exit within %d s (printed %d bytes)"
                             % (timeout, len(out)))
    return proc.returncode, bytes(out), err.decode("utf-8", "replace")


def args_dict(argv):
    """--name value pairs into a dict."""
    it = iter(argv)
    return {k.lstrip("-").replace("-", "_"): v for k, v in zip(it, it)}


def fatal(msg):
    print("py driver: " + msg, file=sys.stderr)
    sys.exit(2)


def tmpfile(name, data):
    d = os.environ.get("INTEROP_TMP", "/tmp")
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(data)
    return p
