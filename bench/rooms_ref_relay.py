"""rooms_ref_relay.py — the reference relay of `make rooms-bench`: the
short Python asyncio program (stdlib only; the seeds' stack) that does
what rooms-server does for the bench, in the wire formats of
examples/rooms/PROTOCOL.md:

- stage 1 (chat port): a datagram usernamelen (1) | username | message
  is checked (lengths, UTF-8, at most 4096 bytes), its sender remembered
  by address, and relayed unchanged to every other known client;
- TCRP over TCP (tcp port): the 32-byte header (name size, operation,
  state, 29-byte payload size, big-endian), room name, JSON payload;
  1 create (the requester becomes the host; 409 if it exists) and 2 join
  (404 if missing, 401 on a wrong password, 409 for a name already in
  the room), answered with state 1 JSON {"status", "message", ...} and,
  on success, state 2 = a token of 32 hex digits (secrets); then the
  connection closes. Join notices go to the members already bound;
- room datagrams (udp port): RoomNameSize | TokenSize | RoomName | Token
  | Message; relayed only when the token belongs to that room and comes
  from the address that first used it; an empty message is a heartbeat;
  each other bound member gets {"type": "chat", "from", "text"} (JSON,
  built once per datagram).

Clients silent for --idle-timeout seconds are forgotten (a sweep every
second). Passwords are kept as salted SHA-256.

    /usr/bin/python3 rooms_ref_relay.py [--host 127.0.0.1] [--chat-port 0]
        [--udp-port 0] [--tcp-port 0] [--idle-timeout 60]

Prints "rooms-ref-relay listening chat=H:P udp=H:P tcp=H:P" when bound.
"""
import argparse
import asyncio
import hashlib
import json
import os
import secrets
import signal
import time

MAX_DATAGRAM = 4096
MAX_PAYLOAD = 64 * 1024
TCRP_TIMEOUT = 10


class Stage1(asyncio.DatagramProtocol):
    def __init__(self):
        self.clients = {}  # address -> last seen

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        n = data[0] if data else 0
        if n == 0 or len(data) < 1 + n or len(data) > MAX_DATAGRAM:
            return
        try:
            data[1:].decode("utf-8")
            data[1:1 + n].decode("utf-8")
        except UnicodeDecodeError:
            return
        self.clients[addr] = time.monotonic()
        send = self.transport.sendto
        for other in self.clients:
            if other != addr:
                send(data, other)


class Member:
    __slots__ = ("room", "name", "addr", "seen")

    def __init__(self, room, name):
        self.room, self.name, self.addr = room, name, None
        self.seen = time.monotonic()


class Room:
    def __init__(self, name, host, password):
        self.name, self.host = name, host
        self.salt = os.urandom(16)
        self.pw = hashlib.sha256(self.salt + password.encode()).digest() \
            if password else None
        self.members = {}  # token -> Member


class Rooms(asyncio.DatagramProtocol):
    def __init__(self):
        self.rooms = {}   # name -> Room
        self.tokens = {}  # token bytes -> Member

    def connection_made(self, transport):
        self.transport = transport

    def tell(self, room, body, skip=None):
        send = self.transport.sendto
        for m in room.members.values():
            if m is not skip and m.addr is not None:
                send(body, m.addr)

    def datagram_received(self, data, addr):
        if len(data) < 2 or len(data) > MAX_DATAGRAM:
            return
        rn, tn = data[0], data[1]
        if len(data) < 2 + rn + tn:
            return
        member = self.tokens.get(data[2 + rn:2 + rn + tn])
        if member is None or member.room.name.encode() != data[2:2 + rn]:
            return
        if member.addr is None:
            member.addr = addr
        elif member.addr != addr:
            return
        try:
            text = data[2 + rn + tn:].decode("utf-8")
        except UnicodeDecodeError:
            return
        member.seen = time.monotonic()
        if text:
            body = json.dumps({"type": "chat", "from": member.name,
                               "text": text}).encode()
            self.tell(member.room, body, member)

    # TCRP operations 1 and 2: (status, message, token or None)
    def create(self, room, req):
        if room in self.rooms:
            return 409, "room exists", None
        r = Room(room, req["username"], req.get("password"))
        self.rooms[room] = r
        return self.admit(r, req["username"], "room created")

    def join(self, room, req):
        r = self.rooms.get(room)
        if r is None:
            return 404, "no such room", None
        if r.pw is not None and hashlib.sha256(
                r.salt + req.get("password", "").encode()).digest() != r.pw:
            return 401, "wrong password", None
        if any(m.name == req["username"] for m in r.members.values()):
            return 409, "name taken in this room", None
        return self.admit(r, req["username"], "joined")

    def admit(self, r, name, message):
        token = secrets.token_hex(16).encode()
        self.tell(r, json.dumps({"type": "system", "text": f"{name} joined",
                                 "event": "join", "user": name}).encode())
        m = Member(r, name)
        r.members[token] = m
        self.tokens[token] = m
        return 200, message, token

    def sweep(self, idle):
        old = time.monotonic() - idle
        for token, m in list(self.tokens.items()):
            if m.seen < old:
                del self.tokens[token]
                del m.room.members[token]


def header(name, op, state, size):
    return bytes([len(name), op, state]) + size.to_bytes(29, "big")


async def tcrp(rooms, reader, writer):
    async def answer(op, name, status, message, token=None):
        body = json.dumps({"status": status, "message": message}).encode()
        writer.write(header(name, op, 1, len(body)) + name + body)
        if token is not None:
            writer.write(header(name, op, 2, len(token)) + name + token)
        await writer.drain()

    try:
        head = await asyncio.wait_for(reader.readexactly(32), TCRP_TIMEOUT)
        op, size = head[1], int.from_bytes(head[3:32], "big")
        if size > MAX_PAYLOAD or head[2] != 0:
            await answer(op, b"", 400, "bad header")
            return
        name = await asyncio.wait_for(reader.readexactly(head[0]),
                                      TCRP_TIMEOUT)
        body = await asyncio.wait_for(reader.readexactly(size), TCRP_TIMEOUT)
        try:
            req = json.loads(body)
            room = name.decode("utf-8")
            assert isinstance(req.get("username"), str) and room
        except (ValueError, AssertionError, AttributeError):
            await answer(op, name, 400, "bad request")
            return
        if op == 1:
            await answer(op, name, *rooms.create(room, req))
        elif op == 2:
            await answer(op, name, *rooms.join(room, req))
        else:
            await answer(op, name, 400, "unknown operation")
    except (asyncio.IncompleteReadError, asyncio.TimeoutError,
            ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--chat-port", type=int, default=0)
    p.add_argument("--udp-port", type=int, default=0)
    p.add_argument("--tcp-port", type=int, default=0)
    p.add_argument("--idle-timeout", type=float, default=60)
    a = p.parse_args()
    loop = asyncio.get_running_loop()
    stage1_t, _ = await loop.create_datagram_endpoint(
        Stage1, local_addr=(a.host, a.chat_port))
    rooms = Rooms()
    rooms_t, _ = await loop.create_datagram_endpoint(
        lambda: rooms, local_addr=(a.host, a.udp_port))
    server = await asyncio.start_server(
        lambda r, w: tcrp(rooms, r, w), a.host, a.tcp_port, backlog=1024)
    ports = [t.get_extra_info("sockname")[1] for t in (stage1_t, rooms_t)]
    ports.append(server.sockets[0].getsockname()[1])
    print("rooms-ref-relay listening chat=%s:%d udp=%s:%d tcp=%s:%d"
          % (a.host, ports[0], a.host, ports[1], a.host, ports[2]),
          flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    while not stop.done():
        await asyncio.wait([stop], timeout=1)
        rooms.sweep(a.idle_timeout)
        old = time.monotonic() - a.idle_timeout
        stage1 = stage1_t.get_protocol()
        for addr in [k for k, v in stage1.clients.items() if v < old]:
            del stage1.clients[addr]


asyncio.run(main())
