"""Python websockets (Debian python3-websockets 10.4) against our code.

  /usr/bin/python3 py_peer.py --echo-port P --small-port P --sigterm-port P
                              --sigterm-pid PID --wscat PATH

Direction "client->wsecho": the websockets client against wsecho.
Direction "wscat->server": wscat against a websockets server defined here,
which records every frame it reads, so the test sees what wscat really put
on the wire (fragments, pings, its close code and reason).
Prints one JSON line per case (see peerlib.Results).
"""

import asyncio
import os
import signal
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import (SIZES, UNICODE, Results, args_dict, binary_of, check,  # noqa: E402
                     digest, fatal, size_name, text_of, tmpfile, wscat)

try:
    import websockets
    from websockets.exceptions import ConnectionClosed
    from websockets.extensions.permessage_deflate import (
        ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory)
    from websockets.legacy.server import WebSocketServerProtocol
except ImportError as e:  # the make step installs python3-websockets
    fatal("cannot import websockets (%s): apt-get install python3-websockets" % e)

CONNECT = dict(max_size=None, ping_interval=None, open_timeout=5,
               close_timeout=5)


# ------------------------------------------------------- client -> wsecho

async def client_cases(res, a):
    url = "ws://127.0.0.1:%s/py" % a["echo_port"]

    async def echo(msg):
        async with websockets.connect(url, **CONNECT) as ws:
            await ws.send(msg)
            got = await ws.recv()
            check(type(got) is type(msg), "echo has type %s" % type(got).__name__)
            check(got == msg, "echo differs (%d vs %d)" % (len(got), len(msg)))

    for n in SIZES:
        await res.run("text %s (multi-byte UTF-8)" % size_name(n), echo(text_of(n)))
        await res.run("binary %s" % size_name(n), echo(binary_of(n)))
    await res.run("text with 2-, 3-, 4-byte characters", echo(UNICODE))

    async def fragmented(parts):
        async with websockets.connect(url, **CONNECT) as ws:
            await ws.send(parts)  # an iterable: one message, one frame each
            got = await ws.recv()
            want = parts[0][:0].join(parts)
            check(got == want, "echo of the fragmented message differs")

    await res.run("fragmented text (3 fragments)",
                  fragmented(["κόσμε ", "", "日本語 😀" * 1000]))
    await res.run("fragmented binary (64 fragments of 1 KiB)",
                  fragmented([binary_of(1024)] * 64))

    async def ping():
        async with websockets.connect(url, **CONNECT) as ws:
            waiter = await ws.ping(b"py-ping \x00\xff")
            await asyncio.wait_for(waiter, 5)
            waiter = await ws.ping(b"")  # websockets picks a random payload
            await asyncio.wait_for(waiter, 5)

    await res.run("ping -> pong with the same payload", ping())

    async def many():
        async with websockets.connect(url, **CONNECT) as ws:
            msgs = [text_of(i * 37) if i % 2 else binary_of(i * 37) for i in range(50)]
            for m in msgs:
                await ws.send(m)
            for i, m in enumerate(msgs):
                check(await ws.recv() == m, "message %d out of order or wrong" % i)

    await res.run("50 messages in a row, echoed in order", many())

    async def client_close(code, reason):
        ws = await websockets.connect(url, **CONNECT)
        await ws.send("before close")
        check(await ws.recv() == "before close", "echo before close")
        await ws.close(code, reason)
        # wsecho echoes the code (without the reason: the library's choice).
        check(ws.close_code == code, "server replied close %s, want %d"
              % (ws.close_code, code))
        check(ws.close_reason == "", "reply reason %r" % ws.close_reason)

    await res.run("client close 1000 -> reply 1000", client_close(1000, ""))
    await res.run("client close 4000 'client bye' -> reply 4000",
                  client_close(4000, "client bye"))
    await res.run("client close 3999 with a UTF-8 reason -> reply 3999",
                  client_close(3999, "κόσμε"))

    async def server_close_limit():
        small = "ws://127.0.0.1:%s/py" % a["small_port"]
        async with websockets.connect(small, **CONNECT) as ws:
            await ws.send(binary_of(1024))
            check(await ws.recv() == binary_of(1024), "1024 B echo")
            try:
                await ws.send(binary_of(1025))
                await ws.recv()
                raise AssertionError("1025 B message echoed past --max-message 1024")
            except ConnectionClosed:
                pass
            check(ws.close_code == 1009, "close code %s, want 1009" % ws.close_code)
            check(ws.close_reason, "1009 close without a reason")

    await res.run("server close: message over --max-message -> 1009 + reason",
                  server_close_limit())

    async def server_close_sigterm():
        ws = await websockets.connect("ws://127.0.0.1:%s/py" % a["sigterm_port"],
                                      **CONNECT)
        await ws.send("hi")
        check(await ws.recv() == "hi", "echo before SIGTERM")
        os.kill(int(a["sigterm_pid"]), signal.SIGTERM)
        try:
            await ws.recv()
            raise AssertionError("message after SIGTERM")
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        check(ws.close_code == 1001, "close code %s, want 1001" % ws.close_code)

    await res.run("server close: SIGTERM -> 1001", server_close_sigterm(),
                  timeout=8)

    async def offered_subprotocol():
        async with websockets.connect(url, subprotocols=["chat"], **CONNECT) as ws:
            check(ws.subprotocol in (None, "chat"), "subprotocol %r" % ws.subprotocol)
            await ws.send("proto")
            check(await ws.recv() == "proto", "echo")

    await res.run("subprotocol offered, none required", offered_subprotocol())


# ------------------------------------- permessage-deflate, client -> wsecho

# Sizes of the compressed exchanges: up to 4 MiB.
DEFLATE_SIZES = [0, 125, 64 * 1024, 1024 * 1024, 4 * 1024 * 1024]


def ascii_json(nbytes):
    """JSON-looking ASCII text of exactly nbytes."""
    out, i = [], 0
    size = 0
    while size < nbytes:
        r = '{"id":%d,"name":"user%d","ok":true},' % (i, i % 97)
        out.append(r)
        size += len(r)
        i += 1
    return "".join(out)[:nbytes]


PMD_OFFERS = [
    ("default offer (client_max_window_bits)", dict(), None),
    ("no context takeover, both", dict(server_no_context_takeover=True,
                                       client_no_context_takeover=True),
     "server_no_context_takeover"),
    ("max window bits 9, both", dict(server_max_window_bits=9,
                                     client_max_window_bits=9),
     "server_max_window_bits=9"),
]


async def deflate_client_cases(res, a):
    url = "ws://127.0.0.1:%s/py-deflate" % a["echo_port"]

    async def exchange(kw, want, sizes):
        ext = [ClientPerMessageDeflateFactory(**kw)]
        async with websockets.connect(url, extensions=ext, **CONNECT) as ws:
            hdr = ws.response_headers.get("Sec-WebSocket-Extensions", "")
            check(hdr.startswith("permessage-deflate"),
                  "wsecho answered Sec-WebSocket-Extensions %r" % hdr)
            check(want is None or want in hdr, "%r not in %r" % (want, hdr))
            check(ws.extensions, "websockets did not enable the extension")
            for n in sizes:
                for msg in (ascii_json(n), binary_of(n), text_of(n)):
                    await ws.send(msg)
                    got = await ws.recv()
                    check(got == msg, "echo of %s differs (%d vs %d)"
                          % (size_name(n), len(got), len(msg)))

    for name, kw, want in PMD_OFFERS:
        await res.run("deflate %s: 0 B - 4 MiB JSON, binary, UTF-8" % name,
                      exchange(kw, want, DEFLATE_SIZES), timeout=60)

    async def declined():
        nodefl = "ws://127.0.0.1:%s/py" % a["nodeflate_port"]
        async with websockets.connect(nodefl, **CONNECT) as ws:
            check("Sec-WebSocket-Extensions" not in ws.response_headers,
                  "wsecho --no-deflate accepted an extension")
            await ws.send(ascii_json(5000))
            check(await ws.recv() == ascii_json(5000), "echo")

    await res.run("wsecho --no-deflate: offer declined, echo uncompressed",
                  declined())


# ------------------------------------------------------- wscat -> server

class Recorder(WebSocketServerProtocol):
    """Records every frame read, so fragmentation and pings are visible."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.frames = []

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        self.frames.append((int(frame.opcode), frame.fin, bytes(frame.data)))
        return frame


class Server:
    def __init__(self):
        self.records = {}

    def record(self, ws):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(ws.path).query)
        rid = q.get("id", ["?"])[0]
        fut = self.records.setdefault(rid, asyncio.get_running_loop().create_future())
        return rid, fut

    async def process_request(self, path, headers):
        if path.startswith("/reject"):
            return 403, [("Content-Type", "text/plain")], b"refused\n"
        return None

    async def handler(self, ws, path=None):
        rid, fut = self.record(ws)
        msgs = []
        extra = {}
        try:
            if ws.path.startswith("/ping"):
                waiter = await ws.ping(b"server-ping")
                await asyncio.wait_for(waiter, 5)
                extra["pong"] = True
            elif ws.path.startswith("/fragments"):
                await ws.send(["κόσμε ", "日本語 ", "😀" * 1000])
            if ws.path.startswith("/close"):
                msgs.append(await ws.recv())
                await ws.send("closing")
                await ws.close(4001, "server bye")
            else:
                async for m in ws:
                    msgs.append(m)
                    await ws.send(m)
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        if not fut.done():
            fut.set_result({"msgs": msgs, "frames": ws.frames,
                            "ext": ws.response_headers.get(
                                "Sec-WebSocket-Extensions", ""),
                            "code": ws.close_code, "reason": ws.close_reason,
                            "subprotocol": ws.subprotocol, **extra})

    async def wait(self, rid, timeout=5):
        fut = self.records.setdefault(rid, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(fut, timeout)


def hexline(b):
    return b.hex().encode() + b"\n"


async def wscat_cases(res, a):
    srv = Server()
    server = await websockets.serve(srv.handler, "127.0.0.1", 0,
                                    create_protocol=Recorder,
                                    subprotocols=["chat"], max_size=None,
                                    ping_interval=None,
                                    process_request=srv.process_request)
    port = server.sockets[0].getsockname()[1]
    base = "ws://127.0.0.1:%d" % port
    seq = [0]

    def url(path="/echo"):
        seq[0] += 1
        return "%s%s?id=%d" % (base, path, seq[0]), str(seq[0])

    async def lines(texts, *args, frames_per_msg=None):
        u, rid = url()
        stdin = "".join(t + "\n" for t in texts).encode()
        rc, out, err = await wscat(a["wscat"], u, *args, stdin=stdin,
                                   expect=len(stdin))
        rec = await srv.wait(rid)
        got = rec["msgs"]
        check(got == texts, "server got %d messages %s, sent %d"
              % (len(got), [len(m) for m in got][:5], len(texts)))
        check(out == stdin, "wscat printed %d bytes, want the %d sent back"
              % (len(out), len(stdin)))
        check(rc == 0, "wscat exit %d: %s" % (rc, err.strip()[-200:]))
        check(rec["code"] == 1000, "wscat closed with %s, want 1000" % rec["code"])
        if frames_per_msg:
            data = [f for f in rec["frames"] if f[0] in (0, 1, 2)]
            check(len(data) == frames_per_msg, "server read %d data frames, want %d"
                  % (len(data), frames_per_msg))
        return rec

    for n in SIZES:
        if n:
            await res.run("text line %s (multi-byte UTF-8)" % size_name(n),
                          lines([text_of(n)]))
    await res.run("empty line -> 0 B text", lines(["", "after empty"]))
    await res.run("lines with 2-, 3-, 4-byte characters",
                  lines([UNICODE, "plain", UNICODE * 3]))
    await res.run("--fragment 1000: 64 KiB line in 66 frames",
                  lines([text_of(65536)], "--fragment", "1000",
                        frames_per_msg=66))

    async def binary(n, *args, frames=None):
        data = binary_of(n)
        path = tmpfile("py-wscat-%d.bin" % n, data)
        u, rid = url()
        rc, out, err = await wscat(a["wscat"], u, "--binary", path, *args,
                                   expect=2 * n + 1)
        rec = await srv.wait(rid)
        check(len(rec["msgs"]) == 1 and rec["msgs"][0] == data,
              "server got %s, want %d B (%s)" % ([len(m) for m in rec["msgs"]], n,
                                                 digest(data)))
        check(out == hexline(data), "wscat printed %d bytes, want the hex echo"
              % len(out))
        check(rc == 0, "wscat exit %d: %s" % (rc, err.strip()[-200:]))
        check(rec["code"] == 1000, "wscat closed with %s" % rec["code"])
        if frames:
            nf = len([f for f in rec["frames"] if f[0] in (0, 2)])
            check(nf == frames, "server read %d frames, want %d" % (nf, frames))

    for n in SIZES:
        await res.run("--binary %s" % size_name(n), binary(n))
    await res.run("--binary 1 MiB --fragment 65536 -> 16 frames",
                  binary(1 << 20, "--fragment", "65536", frames=16))

    async def ping():
        u, rid = url()
        rc, out, err = await wscat(a["wscat"], u, "--ping", stdin=b"x\n",
                                   expect=2)
        rec = await srv.wait(rid)
        pings = [f for f in rec["frames"] if f[0] == 9]
        check(pings, "server read no ping")
        check(rc == 0, "wscat exit %d: %s" % (rc, err.strip()[-200:]))

    await res.run("--ping: server reads a ping", ping())

    async def server_ping():
        u, rid = url("/ping")
        rc, out, err = await wscat(a["wscat"], u, stdin=b"after ping\n", expect=11)
        rec = await srv.wait(rid)
        check(rec.get("pong"), "no pong from wscat to the server's ping")
        check(rc == 0 and out == b"after ping\n", "wscat exit %d out %r" % (rc, out))

    await res.run("server pings wscat -> pong", server_ping())

    async def server_fragments():
        u, rid = url("/fragments")
        want = ("κόσμε 日本語 " + "😀" * 1000 + "\n").encode()
        rc, out, err = await wscat(a["wscat"], u, expect=len(want))
        await srv.wait(rid)
        check(out == want, "wscat printed %d bytes, want the %d-byte message whole"
              % (len(out), len(want)))
        check(rc == 0, "wscat exit %d: %s" % (rc, err.strip()[-200:]))

    await res.run("server sends a fragmented text -> wscat prints it whole",
                  server_fragments())

    async def server_close():
        u, rid = url("/close")
        rc, out, err = await wscat(a["wscat"], u, stdin=b"hello\n")  # input stays open
        rec = await srv.wait(rid)
        check(rec["msgs"] == ["hello"], "server got %r" % rec["msgs"])
        check(out.startswith(b"closing\n"), "wscat printed %r" % out[:60])
        # wscat's engine echoes the code; websockets records it.
        check(rec["code"] == 4001, "wscat replied close %s, want 4001" % rec["code"])
        check("4001" in err and "server bye" in err,
              "wscat did not report close 4001 'server bye' (stderr %r)" % err[-200:])

    await res.run("server close 4001 'server bye' -> wscat replies 4001, reports it",
                  server_close())

    async def subprotocol():
        u, rid = url()
        rc, out, err = await wscat(a["wscat"], u, "--subprotocol", "chat",
                                   stdin=b"p\n", expect=2)
        rec = await srv.wait(rid)
        check(rec["subprotocol"] == "chat", "server selected %r" % rec["subprotocol"])
        check(rc == 0 and out == b"p\n", "wscat exit %d out %r: %s" % (rc, out, err[-200:]))

    await res.run("--subprotocol chat negotiated", subprotocol())

    async def rejected():
        u, _ = url("/reject")
        rc, out, err = await wscat(a["wscat"], u, stdin=b"x\n", expect=0)
        check(rc != 0, "wscat exit 0 on a 403")
        check(err.strip(), "wscat gave no message on a 403")

    await res.run("handshake refused with 403 -> wscat fails with a message", rejected())

    async def refused():
        rc, out, err = await wscat(a["wscat"], "ws://127.0.0.1:1/", stdin=b"x\n",
                                   expect=0)
        check(rc != 0 and err.strip(), "exit %d, stderr %r" % (rc, err))

    await res.run("connection refused -> wscat fails with a message", refused())

    async def deflated(texts, binsize):
        u, rid = url()
        data = binary_of(binsize)
        path = tmpfile("py-wscat-deflate.bin", data)
        stdin = "".join(t + "\n" for t in texts).encode()
        want = hexline(data) + stdin
        rc, out, err = await wscat(a["wscat"], u, "--deflate", "-v",
                                   "--binary", path, stdin=stdin,
                                   expect=len(want), timeout=60)
        rec = await srv.wait(rid, timeout=10)
        check(rec["ext"].startswith("permessage-deflate"),
              "server answered Sec-WebSocket-Extensions %r" % rec["ext"])
        check("extensions permessage-deflate" in err,
              "wscat -v did not report the extension: %r" % err[-300:])
        check(rec["msgs"] == [data] + texts, "server got %s"
              % [len(m) for m in rec["msgs"]][:6])
        check(out == want, "wscat printed %d bytes, want %d" % (len(out), len(want)))
        check(rc == 0 and rec["code"] == 1000, "wscat exit %d close %s: %s"
              % (rc, rec["code"], err.strip()[-200:]))

    await res.run("--deflate: lines 0 B - 4 MiB and a 1 MiB --binary, compressed",
                  deflated([ascii_json(n) for n in DEFLATE_SIZES] +
                           [text_of(1 << 20)], 1 << 20), timeout=70)

    server.close()
    await server.wait_closed()

    # The server asks for no context takeover and 9-bit windows both ways.
    srv2 = Server()
    strict = [ServerPerMessageDeflateFactory(server_no_context_takeover=True,
                                             client_no_context_takeover=True,
                                             server_max_window_bits=9,
                                             client_max_window_bits=9)]
    server = await websockets.serve(srv2.handler, "127.0.0.1", 0,
                                    create_protocol=Recorder, max_size=None,
                                    ping_interval=None, extensions=strict)
    port = server.sockets[0].getsockname()[1]

    async def strict_params():
        u = "ws://127.0.0.1:%d/echo?id=s" % port
        texts = [ascii_json(n) for n in DEFLATE_SIZES]
        stdin = "".join(t + "\n" for t in texts).encode()
        rc, out, err = await wscat(a["wscat"], u, "--deflate", "-v",
                                   stdin=stdin, expect=len(stdin), timeout=60)
        rec = await srv2.wait("s", timeout=10)
        check("client_max_window_bits=9" in rec["ext"] and
              "client_no_context_takeover" in rec["ext"],
              "server answered %r" % rec["ext"])
        check(rec["msgs"] == texts and out == stdin,
              "got %s" % [len(m) for m in rec["msgs"]][:6])
        check(rc == 0, "wscat exit %d: %s" % (rc, err.strip()[-200:]))

    await res.run("--deflate against a server that demands no context takeover"
                  " and 9-bit windows", strict_params(), timeout=70)
    server.close()
    await server.wait_closed()


async def main():
    a = args_dict(sys.argv[1:])
    for k in ("echo_port", "small_port", "sigterm_port", "sigterm_pid", "wscat",
              "nodeflate_port"):
        if k not in a:
            fatal("missing --%s" % k.replace("_", "-"))
    await client_cases(Results("websockets client -> wsecho"), a)
    await deflate_client_cases(Results("websockets client -> wsecho"), a)
    await wscat_cases(Results("wscat -> websockets server"), a)


if __name__ == "__main__":
    asyncio.run(main())
