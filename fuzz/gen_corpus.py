#!/usr/bin/env python3
"""Write the seed corpora in fuzz/corpus/<target>/ (committed; run again
with `make fuzz-corpus` after changing an input format).

Each seed starts with the configuration bytes its target's header comment
describes. The frames are RFC 6455 §5.7 examples and the cases of
tests/test_conn.c; the heads are RFC 6455 §1.2/§4 samples and their
variations from tests/test_handshake*.c.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])  # RFC 6455 §5.7


def frame(op, payload=b"", fin=True, mask=None, rsv=0, length=None):
    """A frame built by hand (not by the library)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n <= 0xFFFF:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


def c2s(op, payload=b"", fin=True, **kw):
    """Client to server: masked with the §5.7 key."""
    return frame(op, payload, fin, mask=KEY, **kw)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ----------------------------------------------------------- frame_stream
# [flags][max_frame][max_message][split | direct][local close | alloc fail]
# [rnd mask]
SERVER, CLIENT = 0x00, 0x01
WHOLE, NO_PONG, NO_CLOSE, LENIENT = 0x02, 0x04, 0x08, 0x10
ALLOC_FAIL, RND_FAIL, SPLIT_BYTES = 0x20, 0x40, 0x80


def fs(name, stream, flags=SERVER, max_frame=0, max_msg=0, split=0, aux=0,
       rnd=0):
    cfg = bytes([flags, max_frame, max_msg, split, aux, rnd])
    write("frame_stream", name, cfg + stream)


def frame_stream():
    hello_masked = c2s(1, b"Hello")
    # RFC 6455 §5.7, each in both delivery modes.
    for mode, f in (("stream", 0), ("whole", WHOLE)):
        fs("rfc5.7-unmasked-hello-" + mode, frame(1, b"Hello"), CLIENT | f)
        fs("rfc5.7-masked-hello-" + mode, hello_masked, SERVER | f, split=1)
        fs("rfc5.7-fragmented-" + mode,
           frame(1, b"Hel", fin=False) + frame(0, b"lo"), CLIENT | f, split=2)
        fs("rfc5.7-ping-" + mode, frame(9, b"Hello"), CLIENT | f)
        fs("rfc5.7-masked-pong-" + mode, c2s(0xA, b"Hello"), SERVER | f)
        fs("rfc5.7-binary-256-" + mode, frame(2, bytes(range(256))),
           CLIENT | f, split=3)
        fs("rfc5.7-binary-64k-head-" + mode,
           frame(2, length=65536) + b"\x00" * 64, CLIENT | f)
    # Control frames between fragments; the closing handshake.
    fs("ping-between-fragments",
       c2s(1, b"Hel", fin=False) + c2s(9, b"p") + c2s(0, b"lo"), SERVER)
    fs("ping-between-fragments-whole",
       c2s(1, b"Hel", fin=False) + c2s(9, b"p") + c2s(0, b"lo"),
       SERVER | WHOLE, split=1)
    fs("close-1000-reason", c2s(8, b"\x03\xe8bye"), SERVER)
    fs("close-empty", c2s(8), SERVER)
    fs("close-then-data", c2s(8, b"\x03\xe8") + c2s(1, b"late"), SERVER)
    fs("close-no-auto-reply", c2s(8, b"\x03\xe8"), SERVER | NO_CLOSE)
    fs("local-close-first", c2s(9, b"x") + c2s(8, b"\x03\xe8"), SERVER, aux=1)
    fs("local-close-after-ping", c2s(9, b"x") + c2s(1, b"a"), SERVER, aux=2)
    fs("ping-no-auto-pong", c2s(9, b"x"), SERVER | NO_PONG)
    fs("client-ping-random-fails", frame(9, b"x") + frame(8, b"\x03\xe8"),
       CLIENT | RND_FAIL, rnd=0x01)
    # Every rule of §5 that fails the connection.
    fs("err-rsv", c2s(1, b"a", rsv=4), SERVER)
    fs("err-opcode-3", c2s(3, b"a"), SERVER)
    fs("err-opcode-b", c2s(0xB), SERVER)
    fs("err-unmasked-to-server", frame(1, b"a"), SERVER)
    fs("err-masked-to-client", c2s(1, b"a"), CLIENT)
    fs("err-nonminimal-16", bytes([0x81, 0xFE, 0, 5]) + KEY + b"abcde", SERVER)
    fs("lenient-nonminimal-16", bytes([0x81, 0xFE, 0, 5]) + KEY + b"abcde",
       SERVER | LENIENT)
    fs("err-nonminimal-64",
       bytes([0x82, 0xFF]) + struct.pack(">Q", 200) + KEY, SERVER)
    fs("err-length-top-bit", bytes([0x82, 0xFF]) + b"\x80" + b"\x00" * 7 + KEY,
       SERVER)
    fs("err-control-126", c2s(9, b"x" * 126), SERVER)
    fs("err-fragmented-ping", c2s(9, b"x", fin=False), SERVER)
    fs("err-continuation-first", c2s(0, b"x"), SERVER)
    fs("err-interleaved", c2s(1, b"a", fin=False) + c2s(2, b"b"), SERVER)
    fs("err-close-1-byte", c2s(8, b"\x03"), SERVER)
    fs("err-close-1005", c2s(8, b"\x03\xed"), SERVER)
    fs("err-close-reason-utf8", c2s(8, b"\x03\xe8\xff"), SERVER)
    fs("err-utf8-surrogate", c2s(1, b"ab\xed\xa0\x80cd"), SERVER, split=0)
    fs("err-utf8-across-frames",
       c2s(1, b"\xe2\x82", fin=False) + c2s(0, b"A"), SERVER | WHOLE)
    fs("err-utf8-truncated-fin", c2s(1, b"\xe2\x82"), SERVER)
    fs("utf8-split-char",
       c2s(1, b"\xe2", fin=False) + c2s(0, b"\x82\xac"), SERVER, split=1)
    fs("empty-frames", c2s(1, fin=False) + c2s(0, fin=False) + c2s(0),
       SERVER)
    # Reading large payloads in place ([3] bit 2): a frame long enough
    # for the engine to offer its buffer, binary and multi-byte text, read
    # in small and in large pieces.
    DIRECT = 0x04
    big = bytes((i * 31 + 5) & 0xFF for i in range(9000))
    text = ("é€😀a" * 900).encode()
    fs("direct-binary-small-reads", c2s(2, big) + c2s(1, b"ok"),
       SERVER | WHOLE, split=DIRECT | 2)
    fs("direct-binary-any-reads", c2s(2, big, fin=False) + c2s(9, b"p") +
       c2s(0, big[:5000]), SERVER | WHOLE, split=DIRECT | 3)
    fs("direct-text-client", frame(1, text) + frame(8, b"\x03\xe8"),
       CLIENT | WHOLE, split=DIRECT | 3)
    fs("direct-text-bad-utf8", c2s(1, text[:7000] + b"\xc0" + text[:500]),
       SERVER | WHOLE, split=DIRECT | 2)
    # Limits, small enough that the fuzzer crosses them.
    fs("limit-frame", c2s(2, b"12345"), SERVER, max_frame=4)
    fs("limit-message",
       c2s(2, b"123", fin=False) + c2s(0, b"456"), SERVER | WHOLE, max_msg=5)
    fs("limit-message-stream",
       c2s(2, b"123", fin=False) + c2s(0, b"456"), SERVER, max_msg=5)
    fs("alloc-fails", c2s(2, b"123", fin=False) + c2s(0, b"456"),
       SERVER | WHOLE | ALLOC_FAIL, split=0, aux=0x00)
    fs("split-from-bytes",
       c2s(1, b"split me anywhere", fin=False) + c2s(0, b"!"),
       SERVER | SPLIT_BYTES)


# -------------------------------------------------------------- handshake
# [mode][max_head]: mode bits 0-1 offered protocols, 2-3 which one to pick
REQUEST = (b"GET /chat HTTP/1.1\r\n"
           b"Host: server.example.com\r\n"
           b"Upgrade: websocket\r\n"
           b"Connection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\n"
           b"Sec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Upgrade: websocket\r\n"
            b"Connection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"Sec-WebSocket-Protocol: chat\r\n\r\n")


def hs(name, head, mode=0x05, max_head=0):
    write("handshake", name, bytes([mode, max_head]) + head)


def handshake():
    hs("rfc1.2-request", REQUEST)
    hs("rfc1.2-request-pick-superchat", REQUEST, mode=0x09)
    hs("rfc1.2-request-with-frame", REQUEST + b"\x81\x85" + KEY)
    hs("rfc1.2-response", RESPONSE, mode=0x01)
    hs("rfc1.2-response-offer-two", RESPONSE, mode=0x02)
    hs("rfc1.2-response-no-offer", RESPONSE, mode=0x00)
    hs("request-bare-lf", REQUEST.replace(b"\r\n", b"\n"))
    hs("request-prefix", REQUEST[:40])
    hs("request-small-limit", REQUEST, max_head=100)
    hs("request-limit-exact", REQUEST, max_head=len(REQUEST))
    hs("request-minimal",
       b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
       b"Connection: Upgrade\r\n"
       b"Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
       b"Sec-WebSocket-Version: 13\r\n\r\n")
    hs("request-keepalive-list",
       REQUEST.replace(b"Connection: Upgrade",
                       b"Connection: keep-alive, Upgrade"))
    hs("request-repeated-protocol",
       REQUEST.replace(b"Origin", b"Sec-WebSocket-Protocol: x, ,y\r\nOrigin"))
    hs("request-query", REQUEST.replace(b"/chat", b"/chat?room=1&x"))
    hs("request-plain-http", b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
    hs("request-http10", b"GET / HTTP/1.0\r\n\r\n")
    hs("err-method", REQUEST.replace(b"GET", b"POST"))
    hs("err-httpver", REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0"))
    hs("err-http2", REQUEST.replace(b"HTTP/1.1", b"HTTP/2.0"))
    hs("err-no-host", REQUEST.replace(b"Host: server.example.com\r\n", b""))
    hs("err-two-hosts", REQUEST.replace(b"Host:", b"Host: a\r\nHost:"))
    hs("err-upgrade", REQUEST.replace(b"Upgrade: websocket", b"Upgrade: h2c"))
    hs("err-connection", REQUEST.replace(b"Connection: Upgrade",
                                         b"Connection: close"))
    hs("err-version-8", REQUEST.replace(b"Version: 13", b"Version: 8"))
    hs("err-key-short", REQUEST.replace(b"dGhlIHNhbXBsZSBub25jZQ==", b"abc="))
    hs("err-key-bits", REQUEST.replace(b"ZQ==", b"ZR=="))
    hs("err-bare-cr", REQUEST.replace(b"Origin", b"X: a\rb\r\nOrigin"))
    hs("err-obs-fold", REQUEST.replace(b"Origin", b" folded\r\nOrigin"))
    hs("err-space-before-colon", REQUEST.replace(b"Origin:", b"Origin :"))
    hs("err-leading-empty-line", b"\r\n" + REQUEST)
    hs("response-404", b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
       mode=0x01)
    hs("response-no-reason",
       RESPONSE.replace(b" Switching Protocols", b""), mode=0x01)
    hs("err-response-accept",
       RESPONSE.replace(b"s3pP", b"AAAA"), mode=0x01)
    hs("err-response-extension",
       RESPONSE.replace(b"Sec-WebSocket-Protocol",
                        b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
                        b"Sec-WebSocket-Protocol"), mode=0x01)
    hs("err-response-protocol", RESPONSE.replace(b": chat", b": other"),
       mode=0x01)
    hs("err-response-two-upgrades",
       RESPONSE.replace(b"Upgrade: websocket",
                        b"Upgrade: websocket\r\nUpgrade: websocket"),
       mode=0x01)
    hs("err-response-status-line", b"HTTP/1.1 1O1 x\r\n\r\n", mode=0x01)


# ------------------------------------------------------------------ utf8
# [mode][seed]: mode bits 0-5 ASCII padding, bit 6 repeat x5, bit 7 state
def u8(name, text, mode=0, seed=0):
    write("utf8", name, bytes([mode, seed]) + text)


def utf8():
    u8("ascii", b"Hello, world")
    u8("two-byte", "caf\u00e9 \u00e0 la cr\u00e8me".encode())
    u8("three-byte", "\u20ac\u2603\ufffd\uffff".encode())
    u8("four-byte", "\U0001f600\U00010000\U0010ffff".encode())
    u8("rfc3629-example", b"\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4")
    u8("edges", "\u007f\u0080\u07ff\u0800\ud7ff\ue000".encode())
    u8("overlong-2", b"\xc0\x80")
    u8("overlong-c1", b"\xc1\xbf")
    u8("overlong-3", b"\xe0\x80\x80")
    u8("overlong-4", b"\xf0\x80\x80\x80")
    u8("surrogate", b"\xed\xa0\x80")
    u8("surrogate-high", b"\xed\xbf\xbf")
    u8("over-10ffff", b"\xf4\x90\x80\x80")
    u8("f5", b"\xf5\x80\x80\x80")
    u8("ff", b"a\xff")
    u8("stray-continuation", b"a\x80b")
    u8("truncated-end", b"abc\xe2\x82")
    u8("truncated-middle", b"\xe2\x82abc")
    u8("long-ascii-bad-at-70", b"a" * 70 + b"\xed\xa0\x80" + b"b" * 60)
    u8("long-mixed", ("\u00e9\u20ac\U0001f600x" * 40).encode(), mode=0x40)
    u8("vector-edge-pad", "\U0001f600".encode() * 20, mode=13)
    u8("vector-edge-truncated", b"x" * 61 + b"\xf0\x9f\x98", mode=0)
    u8("state-garbage", b"abc", mode=0x80, seed=0x12)


# ------------------------------------------------------------- roundtrip
# [config][seed] then ops [op][len] payload...
def op(kind, payload=b"", points=False, frag_op=0, fin=False, probe=False):
    b = kind | (8 if points else 0) | (frag_op << 4) | (0x40 if fin else 0)
    b |= 0x80 if probe else 0
    return bytes([b, len(payload)]) + payload


def close_op(code_sel, reason=b""):
    return bytes([5, len(reason)]) + bytes(code_sel) + reason


def rt(name, script, cfg=0, seed=0):
    write("roundtrip", name, bytes([cfg, seed]) + script)


def roundtrip():
    rt("text-binary-close",
       op(0, b"Hello") + op(1, bytes(range(10))) + close_op([1, 0], b"bye"))
    rt("client-sender", op(0, b"Hello") + op(3, b"ping"), cfg=0x01)
    rt("fragmented-text",
       op(2, b"Hel", frag_op=0) + op(3, b"p") + op(2, b"lo", frag_op=2,
                                                  fin=True))
    rt("fragmented-points-split-char",
       op(2, b"\x01\x02\x03\x04\x05\x06\x07", points=True, frag_op=0) +
       op(2, b"\xff\xfe\xfd", points=True, frag_op=2, fin=True),
       cfg=0x01 | 0x02)
    rt("fragmented-binary-same-op",
       op(2, b"ab", frag_op=1) + op(2, b"cd", frag_op=1, fin=True),
       cfg=0x02)
    rt("invalid-text-refused", op(0, b"\xed\xa0\x80") + op(0, b"ok"))
    rt("enobufs-probes",
       op(0, b"Hello", probe=True) + op(3, b"x", probe=True) +
       bytes([0x85, 2, 1, 0]) + b"ok")
    rt("big-16bit", bytes([6, 1]) + bytes([6, 2]), cfg=0x01)
    rt("big-64bit", bytes([6, 250]), cfg=0x00)
    rt("big-64bit-text", bytes([0x0e, 252]), cfg=0x03)
    rt("pings-no-auto-pong", op(3, b"a") + op(3, b"b"), cfg=0x04)
    rt("close-no-auto-close", close_op([1, 0]), cfg=0x08)
    rt("close-empty", close_op([0, 0]) + op(0, b"after"))
    rt("close-invalid-codes",
       close_op([4, 0]) + close_op([5, 0]) + close_op([255, 255]) +
       close_op([1, 0]))
    rt("state-errors",
       op(2, b"a", frag_op=2) + op(2, b"a", frag_op=0) + op(0, b"b") +
       op(2, b"c", frag_op=1) + op(2, b"", frag_op=3) +
       op(2, b"d", frag_op=2, fin=True))
    rt("control-too-long", op(3, b"x" * 126) + op(4, b"y" * 125))
    rt("random-fails", op(0, b"a") * 6, cfg=0x01 | 0x20)
    rt("null-buffers", bytes([7, 1]) + b"a" + bytes([0x17, 0]))
    rt("sender-reassembles-replies",
       op(3, b"1") + op(3, b"2") + close_op([1, 0]), cfg=0x10 | 0x01)


# ------------------------------------------------------------------- api
def api(name, which, args):
    write("api", name, bytes([which]) + args)


def api_seeds():
    api("0-header-rfc-masked", 0, b"\x01\x81\x85" + KEY + b"Hello")
    api("0-header-16bit", 0, b"\x01\x82\x7e\x01\x00")
    api("0-header-64bit", 0, b"\x01\x82\x7f" + struct.pack(">Q", 65536))
    api("0-header-nonminimal", 0, b"\x00\x81\x7e\x00\x05")
    api("0-header-short", 0, b"\x01\x81")
    api("1-mask-rfc", 1, KEY + struct.pack(">Q", 0) + b"\x00\x02Hello")
    api("1-mask-offset", 1, KEY + struct.pack(">Q", 2**64 - 3) + b"\x05\x40" +
        bytes(range(200)))
    api("2-accept-rfc", 2, b"dGhlIHNhbXBsZSBub25jZQ==")
    api("2-accept-long", 2, b"k" * 130)
    api("3-lookup", 3, b"Sec-WebSocket-Protocol\x00" + REQUEST)
    api("3-lookup-garbage", 3, b"X\x00GET\nX: a,,b\nX:\n\nX: c")
    api("4-codes", 4, struct.pack(">IIII", 1000, 1005, 2999, 0xFFFFFFEA))
    api("5-base64-key", 5, b"dGhlIHNhbXBsZSBub25jZQ==")
    api("5-base64-bytes", 5, bytes(range(17)))
    api("6-send-server", 6, b"\x00" + b"\x01\x41\x05\x00Hello" +
        b"\x22\x09\x01\x00p" + b"\x34\x00\x03\x08bye")
    api("6-send-client", 6, b"\x01" + b"\x01\x01\x03\x00abc" +
        b"\x21\x00\x02\x00de" + b"\x06\x40\x01\x00f")
    api("6-send-random-fails", 6, b"\x81\x0f" + b"\x20\x02\x01\x00x")
    api("7-request", 7, b"\x0f" + b"example.com:9001\x00/chat?x=1\x00"
        b"http://example.com\x00chat, superchat\x00X-A: b\r\n\x00")
    api("7-request-bad-host", 7, b"\x00" + b"exa mple\x00")
    api("8-response-extra", 8, b"\x01" + b"X-Powered-By: fuzz\r\n\x00")
    api("8-response-bad-extra", 8, b"\x02" + b"X: a\r\n\r\n\x00superchat\x00")
    api("9-init", 9, b"\x00\x01" + b"\x00" * 24 + c2s(1, b"Hello"))
    api("9-init-bad-flags", 9, b"\x00\x01" + b"\x00\x00\x01\x00" + b"\x00" * 20)
    api("10-key", 10, b"\x00" + bytes(range(16)))
    api("10-key-fails", 10, b"\x01")


def crc32c(data):
    c = 0xFFFFFFFF
    for x in data:
        c ^= x
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 & -(c & 1))
    return c ^ 0xFFFFFFFF


def log_record(seq, body):
    """A messenger log record (examples/messenger/PROTOCOL.md)."""
    head = b"\xff\xa5" + struct.pack("<HI", len(body), seq) + body
    return head + struct.pack("<I", crc32c(head))


def chat_log_seeds():
    """chat.log files (examples/chat/PROTOCOL.md, "Storage"): every record
    type, then the same damaged."""
    def s8(b):
        return bytes([len(b)]) + b
    q = lambda v: struct.pack("<Q", v)
    bodies = [b"S" + q(1),
              b"N" + b"\x61" * 32 + b"Alice",
              b"N" + b"\x62" * 32 + "Бob".encode(),
              b"A" + s8(b"alice") + "бob".encode(),
              b"H" + q(1) + q(1764633600000) + s8(b"Alice") + b"hello",
              b"P" + q(2) + q(1764633600001) + b"\x01" + s8(b"Alice") +
              s8("Бob".encode()) + s8(b"c1") + b"psst",
              b"P" + q(3) + q(1764633600002) + b"\x02" + s8("Бob".encode()) +
              s8(b"Alice") + s8(b"") + b"hi",
              b"M" + q(2) + b"\x02",
              b"M" + q(3) + b"\x03",
              b"T" + q(2) + b"\x02",
              b"X" + s8(b"alice") + "бob".encode(),
              b"H" + q(4) + q(1764633600003) + s8(b"Alice") + b"x" * 4096]
    log = b"WSCHAT1\n" + b"".join(log_record(i, b) for i, b in enumerate(bodies))
    write("chat_log", "whole", log)
    write("chat_log", "empty-log", b"WSCHAT1\n")
    write("chat_log", "torn-tail", log[:-7])
    write("chat_log", "flipped-byte", log[:120] + bytes([log[120] ^ 0x40]) + log[121:])
    write("chat_log", "header-gone", bytes(8) + log[8:])
    write("chat_log", "not-a-log", b"precious user data\n")


def store_log_seeds():
    import zlib
    recs = [log_record(i, bytes([1, i % 7, i % 3]) + b"message %d" % i + b"~" * (i % 40))
            for i in range(40)]
    recs[20] = log_record(20, b"\x02\x01")
    log = b"WSMLOG2\n" + b"".join(recs)
    write("store_log", "whole", log)
    write("store_log", "empty-log", b"WSMLOG2\n")
    write("store_log", "torn-tail", log[:-5])
    write("store_log", "flipped-byte", log[:300] + bytes([log[300] ^ 0x40]) + log[301:])
    write("store_log", "zeroed-page", log[:512] + bytes(512) + log[1024:])
    write("store_log", "header-gone", bytes(8) + log[8:])
    write("store_log", "biggest-record", b"WSMLOG2\n" + log_record(0, b"\x01\x00\xff" + b"z" * 254))

    def v1(body):
        return body + struct.pack("<I", zlib.crc32(body))
    write("store_log", "format1", b"WSMLOG1\n" + v1(b"\x01\x01\x02\x02hi") +
          v1(b"\x01\x03\x02\x02yo") + v1(b"\x02\x02"))
    write("store_log", "not-a-log", b"precious user data\n")


# --------------------------------------------------------------- inflate
# [mode][seed] raw DEFLATE stream: mode bits 0-2 window bits 8 + (mode & 7)
def infl(name, stream, bits=15, seed=0):
    write("inflate", name, bytes([bits - 8, seed]) + stream)


def raw_deflate(data, level=6, wbits=15, strategy=0, flush=True):
    import zlib
    c = zlib.compressobj(level, zlib.DEFLATED, -wbits, 8, strategy)
    out = c.compress(data)
    return out + (c.flush(zlib.Z_SYNC_FLUSH) if flush else c.flush())


def inflate_seeds():
    import zlib
    h = bytes.fromhex
    # RFC 7692 §7.2.3 examples, with the 00 00 ff ff the receiver adds.
    infl("rfc7692-hello", h("f248cdc9c90700") + h("0000ffff"))
    infl("rfc7692-stored", h("000500faff48656c6c6f00") + h("0000ffff"))
    infl("rfc7692-bfinal", h("f348cdc9c9070000") + h("0000ffff"))
    infl("rfc7692-two-blocks", h("f2480500000000ffffcac9c90700"))
    infl("rfc7692-shared", h("f248cdc9c9070000") + h("f200110000"))
    text = b"".join(b"%d the message, the window; {\"id\":%d}\n" % (i, i * 7)
                    for i in range(300))
    infl("text-level1", raw_deflate(text, 1), 15)
    infl("text-level9", raw_deflate(text, 9, 15, 0, False), 15)
    infl("text-window9", raw_deflate(text, 6, 9), 9)
    infl("text-window8-reader", raw_deflate(text, 6, 9), 8)
    infl("huffman-only", raw_deflate(text, 6, 15, zlib.Z_HUFFMAN_ONLY), 15)
    infl("rle", raw_deflate(b"a" * 3000 + b"b" * 300, 6, 15, zlib.Z_RLE), 12)
    infl("fixed", raw_deflate(text[:500], 6, 15, zlib.Z_FIXED), 10)
    infl("bad-btype", b"\x07", 15)
    infl("bad-distance", h("4b04020000"), 15)
    infl("truncated", raw_deflate(text, 6)[:40], 15)


# ------------------------------------------------------------- pmdeflate
# [config][seed] data: config bits 0-2 / 3-5 the two window bits - 8,
# bit 6 no context takeover, bit 7 level 1
def pmdeflate_seeds():
    h = bytes.fromhex
    write("pmdeflate", "hello-15-15",
          b"\x3f\x01Hello, Hello, Hello permessage-deflate")
    write("pmdeflate", "rfc7692-hello-8-8-nct", b"\x40\x02" + h("f248cdc9c90700"))
    write("pmdeflate", "rfc7692-stored-level1",
          b"\xff\x03" + h("000500faff48656c6c6f00"))
    with open(os.path.join(HERE, "..", "README.md"), "rb") as f:
        write("pmdeflate", "readme-13-13", b"\x2d\x04" + f.read(3000))


def main():
    for t in ("frame_stream", "handshake", "utf8", "roundtrip", "api",
              "inflate", "pmdeflate", "store_log"):
        shutil.rmtree(os.path.join(HERE, "corpus", t), ignore_errors=True)
    frame_stream()
    handshake()
    utf8()
    roundtrip()
    api_seeds()
    inflate_seeds()
    pmdeflate_seeds()
    store_log_seeds()
    chat_log_seeds()


if __name__ == "__main__":
    main()
