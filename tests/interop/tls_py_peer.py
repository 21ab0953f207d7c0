"""Python websockets over TLS (wss://) against our code.

  /usr/bin/python3 tls_py_peer.py --echo-port P --wscat PATH --ca FILE
                                  --cert FILE --key FILE

"client->wsecho (wss)": the websockets client, its ssl context trusting
the test CA, against wsecho --tls-cert. "wscat->server (wss)": wscat
wss:// --ca against a websockets server with the test certificate.
Prints one JSON line per case (see peerlib.Results).
"""

import asyncio
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import (SIZES, UNICODE, Results, args_dict, binary_of, check,  # noqa: E402
                     fatal, size_name, text_of, tmpfile, wscat)

try:
    import websockets
except ImportError as e:
    fatal("cannot import websockets (%s): apt-get install python3-websockets" % e)

CONNECT = dict(max_size=None, ping_interval=None, open_timeout=5, close_timeout=5)


async def client_cases(res, a):
    url = "wss://localhost:%s/py" % a["echo_port"]
    ctx = ssl.create_default_context(cafile=a["ca"])

    async def echo(msg):
        async with websockets.connect(url, ssl=ctx, **CONNECT) as ws:
            await ws.send(msg)
            got = await ws.recv()
            check(got == msg, "echo differs (%d vs %d)" % (len(got), len(msg)))

    for n in SIZES + [16 << 20]:
        if n < 16 << 20:
            await res.run("text %s over TLS" % size_name(n), echo(text_of(n)))
        await res.run("binary %s over TLS" % size_name(n), echo(binary_of(n)), timeout=60)
    await res.run("text with 2-, 3-, 4-byte characters", echo(UNICODE))

    async def fragmented():
        async with websockets.connect(url, ssl=ctx, **CONNECT) as ws:
            parts = [binary_of(1024)] * 64
            await ws.send(parts)
            check(await ws.recv() == b"".join(parts), "fragmented echo differs")

    await res.run("fragmented binary (64 fragments of 1 KiB)", fragmented())

    async def ping_and_close():
        async with websockets.connect(url, ssl=ctx, **CONNECT) as ws:
            pong = await ws.ping(b"tls")
            await asyncio.wait_for(pong, 5)
            await ws.close(4000, "done over tls")
            check(ws.close_code == 4000, "close code %r" % ws.close_code)
            ver = ws.transport.get_extra_info("ssl_object").version()
            res.note("websockets client negotiated %s" % ver)

    await res.run("ping, then close 4000 echoed", ping_and_close())

    async def untrusted():
        try:
            async with websockets.connect(url, ssl=ssl.create_default_context(), **CONNECT):
                pass
        except ssl.SSLCertVerificationError:
            return
        raise AssertionError("connected without trusting the test CA")

    await res.run("refused without the test CA (certificate verify failed)", untrusted())


async def server_cases(res, a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a["cert"], a["key"])
    closes = []

    async def handler(ws, path=None):
        try:
            async for m in ws:
                await ws.send(m)
        finally:
            closes.append(ws.close_code)

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, max_size=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        url = "wss://localhost:%d/" % port

        async def lines():
            st, out, err = await wscat(a["wscat"], url, "--ca", a["ca"],
                                       stdin=b"hello\nh\xc3\xa9llo\n", expect=13)
            check(st == 0, "wscat exit %d: %s" % (st, err))
            check(out == b"hello\nh\xc3\xa9llo\n", "wscat printed %r" % out)

        await res.run("wscat lines echoed", lines())

        async def blob():
            data = binary_of(3 << 20)
            src = tmpfile("tls-py-blob", data)
            # Input ends once the echo is printed (as hex): a websockets
            # server sends nothing more after it has read a close.
            st, out, err = await wscat(a["wscat"], url, "--ca", a["ca"], "--binary", src,
                                       "--fragment", "100000", expect=2 * len(data) + 1)
            check(st == 0 and out == data.hex().encode() + b"\n",
                  "3 MiB --binary: exit %d, %d bytes printed: %s" % (st, len(out), err))

        await res.run("wscat --binary 3 MiB in 100 kB fragments", blob())

        async def close_code():
            await asyncio.sleep(0.2)
            check(closes and all(c == 1000 for c in closes), "close codes %r" % closes)

        await res.run("wscat closes with 1000", close_code())

        async def wrong_ca():
            st, out, err = await wscat(a["wscat"], url, stdin=b"x\n", expect=None)
            check(st == 2 and "certificate verify failed" in err, "exit %d: %s" % (st, err))

        await res.run("wscat without --ca refuses the certificate", wrong_ca())


async def main():
    a = args_dict(sys.argv[1:])
    await client_cases(Results("client->wsecho (wss)"), a)
    await server_cases(Results("wscat->server (wss)"), a)


asyncio.run(main())
