"""chat_ref_py.py — the reference broadcast chat server of `make
chat-bench` on Python websockets (Debian python3-websockets; the seeds'
stack), in the plain-text protocol of examples/chat/PROTOCOL.md that
chat-server speaks: the first text message is the username, answered
with "* welcome NAME; online: A, B" while every other logged-in client
gets "* NAME joined the chat"; each further message goes to every other
logged-in client as "NAME: text" (websockets.broadcast: encoded once);
a client that leaves is announced as "* NAME has left the chat". A name
that is online is refused with "* name taken" and a close (1008).

    /usr/bin/python3 chat_ref_py.py [PORT]     (default 0: any free port)

Prints "chat-ref-py listening on 127.0.0.1:PORT". Compression off.
"""
import asyncio
import re
import signal
import sys

import websockets

NAME = re.compile(r"^[\w-]{1,32}$")
users = {}  # lower-cased name -> connection
names = {}  # connection -> name


def broadcast(sender, line):
    websockets.broadcast([c for c in names if c is not sender], line)


async def handler(ws, path=None):
    try:
        first = await ws.recv()
    except websockets.ConnectionClosed:
        return
    if not isinstance(first, str):
        return
    name = first.rstrip("\n")
    if not NAME.match(name):
        await ws.send(f"* bad name: {name}")
        await ws.close(1008)
        return
    if name.lower() in users:
        await ws.send("* name taken")
        await ws.close(1008)
        return
    users[name.lower()] = ws
    names[ws] = name
    online = sorted(names.values(), key=str.lower)
    await ws.send(f"* welcome {name}; online: {', '.join(online)}")
    broadcast(ws, f"* {name} joined the chat")
    try:
        async for text in ws:
            if isinstance(text, str):
                broadcast(ws, f"{name}: {text.rstrip(chr(10))}")
    except websockets.ConnectionClosed:
        pass
    finally:
        del names[ws]
        del users[name.lower()]
        broadcast(ws, f"* {name} has left the chat")


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", port, compression=None,
                                ping_interval=None, max_queue=None,
                                backlog=1024) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"chat-ref-py listening on 127.0.0.1:{port}", flush=True)
        await stop


asyncio.run(main())
