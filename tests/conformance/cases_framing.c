/*
 * cases_framing.c — framing (Autobahn 1.x and the frame-level rules of
 * RFC 6455 §5.2), reserved bits (Autobahn 3.x) and reserved opcodes
 * (Autobahn 4.x).
 */
#include "suite.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- framing */

/* a = opcode, b = payload length, c = write size (0 = one write). */
static int c_echo(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->b;
    uint8_t *p = malloc(n + 1);
    buf_t out = {0};
    int r = -1;

    fill(p, n, (int)k->a);
    cframe(&out, 1, (int)k->a, p, n);
    if (open_ws(t) == 0 && send_chopped(t, &out, (size_t)k->c) == 0 &&
        expect_echo(t, k, (int)k->a, p, n) == 0) {
        buf_t bye = {0};
        cclose(&bye, 1000, NULL, 0);
        send_buf(t, &bye);
        buf_free(&bye);
        r = 0;
    }
    free(p);
    buf_free(&out);
    return r;
}

/* Every byte value, in a binary message. */
static int c_all_bytes(peer_t *t, const tcase_t *k)
{
    uint8_t p[256];
    buf_t out = {0};
    for (int i = 0; i < 256; i++)
        p[i] = (uint8_t)i;
    cframe(&out, 1, 0x2, p, sizeof p);
    int r = open_ws(t) || send_buf(t, &out) || expect_echo(t, k, 2, p, 256);
    buf_free(&out);
    return r ? -1 : 0;
}

/* a messages of varied size and type in one write; echoed in order. */
static int c_pipeline(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    uint8_t p[300];
    int r = open_ws(t);
    for (long i = 0; i < k->a; i++) {
        int op = (i & 1) ? 0x2 : 0x1;
        fill(p, (size_t)(i * 37 % 300), op);
        cframe(&out, 1, op, p, (size_t)(i * 37 % 300));
    }
    if (r == 0)
        r = send_buf(t, &out);
    for (long i = 0; i < k->a && r == 0; i++) {
        int op = (i & 1) ? 0x2 : 0x1;
        fill(p, (size_t)(i * 37 % 300), op);
        r = expect_echo(t, k, op, p, (size_t)(i * 37 % 300));
    }
    buf_free(&out);
    return r;
}

/* A frame of a bytes whose header is written in two pieces, split after
 * b bytes, with a pause between so the server sees a partial header. */
static int c_split_header(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->a;
    uint8_t *p = malloc(n);
    buf_t out = {0};
    fill(p, n, 0x2);
    cframe(&out, 1, 0x2, p, n);
    int r = open_ws(t) || send_bytes(t, out.p, (size_t)k->b, 0, 0);
    if (r == 0) {
        usleep(3000);
        r = send_bytes(t, out.p + k->b, out.len - (size_t)k->b, 0, 0) ||
            expect_echo(t, k, 2, p, n);
    }
    free(p);
    buf_free(&out);
    return r ? -1 : 0;
}

/* A masked frame with a chosen key (a = the key as a 32-bit number). */
static int c_mask_key(peer_t *t, const tcase_t *k)
{
    uint8_t p[40];
    buf_t out = {0};
    frame_spec_t s = {.fin = 1, .op = 0x1, .masked = 1, .key_set = 1};
    for (int i = 0; i < 4; i++)
        s.key[i] = (uint8_t)(k->a >> (24 - 8 * i));
    fill(p, sizeof p, 1);
    frame_put(&out, &s, p, sizeof p);
    int r = open_ws(t) || send_buf(t, &out) || expect_echo(t, k, 1, p, 40);
    buf_free(&out);
    return r ? -1 : 0;
}

/* Malformed frames that must fail the connection with 1002. */
enum {
    BAD_UNMASKED, /* RFC 6455 §5.1: a client MUST mask */
    BAD_UNMASKED_EMPTY,
    BAD_UNMASKED_PING,
    BAD_LEN16_SHORT, /* §5.2: the minimal number of bytes MUST be used */
    BAD_LEN64_SHORT,
    BAD_LEN64_MEDIUM,
    BAD_LEN64_TOPBIT, /* §5.2: the most significant bit MUST be 0 */
    BAD_UNMASKED_AFTER_ECHO,
    BAD_COUNT
};

static const char *const bad_names[BAD_COUNT] = {
    "unmasked text frame -> 1002",
    "unmasked empty text frame -> 1002",
    "unmasked ping -> 1002",
    "length 5 in the 16-bit form -> 1002",
    "length 5 in the 64-bit form -> 1002",
    "length 200 in the 64-bit form -> 1002",
    "64-bit length with the top bit set -> 1002",
    "valid echo, then an unmasked frame -> 1002",
};

static int c_bad_frame(peer_t *t, const tcase_t *k)
{
    uint8_t p[200];
    buf_t out = {0};
    frame_spec_t s = {.fin = 1, .op = 0x1, .masked = 1};
    size_t n = 5;
    fill(p, sizeof p, 1);
    switch (k->a) {
    case BAD_UNMASKED:
        s.masked = 0;
        break;
    case BAD_UNMASKED_EMPTY:
        s.masked = 0;
        n = 0;
        break;
    case BAD_UNMASKED_PING:
        s.masked = 0;
        s.op = 0x9;
        break;
    case BAD_LEN16_SHORT:
        s.len_form = LEN_16;
        break;
    case BAD_LEN64_SHORT:
        s.len_form = LEN_64;
        break;
    case BAD_LEN64_MEDIUM:
        s.len_form = LEN_64;
        n = 200;
        break;
    case BAD_LEN64_TOPBIT:
        s.announce = 0x8000000000000005ull;
        s.op = 0x2;
        n = 0;
        break;
    case BAD_UNMASKED_AFTER_ECHO:
        cframe(&out, 1, 0x1, p, 5);
        s.masked = 0;
        break;
    }
    frame_put(&out, &s, p, n);
    int r = open_ws(t) || send_buf(t, &out);
    if (r == 0 && k->a == BAD_UNMASKED_AFTER_ECHO)
        r = expect_echo(t, k, 1, p, 5);
    r = r || expect_close(t, 1002);
    buf_free(&out);
    return r ? -1 : 0;
}

/* ------------------------------------------------------- reserved bits */

/* RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defines them; none
 * is negotiated. a = RSV bits (1..7), b = where they appear. */
enum {
    RSV_TEXT,
    RSV_EMPTY_TEXT,
    RSV_BINARY,
    RSV_PING,
    RSV_CLOSE,
    RSV_CONTINUATION,
    RSV_AFTER_ECHO,
    RSV_CHOPPED,
    RSV_KINDS
};
static const char *const rsv_where[RSV_KINDS] = {"text",
                                                 "empty text",
                                                 "binary",
                                                 "ping",
                                                 "close",
                                                 "continuation",
                                                 "text after a valid echo",
                                                 "text in 1-byte writes"};

static int c_rsv(peer_t *t, const tcase_t *k)
{
    uint8_t p[16] = "Hello, world";
    uint8_t cl[2] = {0x03, 0xE8};
    buf_t out = {0};
    frame_spec_t s = {.fin = 1, .rsv = (int)k->a, .op = 0x1, .masked = 1};
    const uint8_t *pl = p;
    size_t n = 12;
    switch (k->b) {
    case RSV_EMPTY_TEXT:
        n = 0;
        break;
    case RSV_BINARY:
        s.op = 0x2;
        break;
    case RSV_PING:
        s.op = 0x9;
        break;
    case RSV_CLOSE:
        s.op = 0x8;
        pl = cl;
        n = 2;
        break;
    case RSV_CONTINUATION:
        cframe(&out, 0, 0x1, p, 5);
        s.op = 0x0;
        break;
    case RSV_AFTER_ECHO:
        cframe(&out, 1, 0x1, p, 12);
        break;
    }
    frame_put(&out, &s, pl, n);
    int r = open_ws(t) || send_chopped(t, &out, k->b == RSV_CHOPPED ? 1 : 0);
    if (r == 0 && k->b == RSV_AFTER_ECHO)
        r = expect_echo(t, k, 1, p, 12);
    r = r || expect_close(t, 1002);
    buf_free(&out);
    return r ? -1 : 0;
}

/* ---------------------------------------------------- reserved opcodes */

/* RFC 6455 §5.2: opcodes 3-7 and B-F are reserved; receiving one MUST
 * fail the connection. a = opcode, b = variant. */
enum {
    OP_EMPTY,
    OP_PAYLOAD,
    OP_AFTER_ECHO,
    OP_AFTER_PING,
    OP_NOT_FIN,
    OP_IN_MESSAGE,
    OP_VARIANTS
};
static const char *const op_variant[OP_VARIANTS] = {
    "empty",        "with payload", "after a valid echo",
    "after a ping", "without FIN",  "inside a fragmented message"};

static int c_opcode(peer_t *t, const tcase_t *k)
{
    uint8_t p[16] = "reserved";
    buf_t out = {0};
    frame_spec_t s = {.fin = 1, .op = (int)k->a, .masked = 1};
    size_t n = 8;
    switch (k->b) {
    case OP_EMPTY:
        n = 0;
        break;
    case OP_AFTER_ECHO:
        cframe(&out, 1, 0x1, p, 8);
        break;
    case OP_AFTER_PING:
        cframe(&out, 1, 0x9, p, 8);
        break;
    case OP_NOT_FIN:
        s.fin = 0;
        break;
    case OP_IN_MESSAGE:
        cframe(&out, 0, 0x1, p, 4);
        break;
    }
    frame_put(&out, &s, p, n);
    int r = open_ws(t) || send_buf(t, &out);
    if (r == 0 && k->b == OP_AFTER_ECHO)
        r = expect_echo(t, k, 1, p, 8);
    if (r == 0 && k->b == OP_AFTER_PING) {
        buf_t pong = {0};
        sframe(&pong, 1, 0xA, p, 8);
        r = expect_buf(t, &pong, "pong");
        buf_free(&pong);
    }
    r = r || expect_close(t, 1002);
    buf_free(&out);
    return r ? -1 : 0;
}

/* -------------------------------------------------------- registration */

void register_framing(void)
{
    static const long lens[] = {0,   1,    125,   126,   127,
                                128, 1000, 65535, 65536, 100000};
    const char *cat = "framing";
    for (int op = 1; op <= 2; op++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
            for (int chop = 0; chop <= (lens[i] <= 65536); chop++)
                add_case(cat, c_echo, op, lens[i], chop, NULL, 0,
                         "%s %ld bytes%s", op == 1 ? "text" : "binary", lens[i],
                         chop ? ", 1-byte writes" : "");
    add_case(cat, c_echo, 2, 300000, 4096, NULL, 0,
             "binary 300000 bytes, 4 KiB writes");
    static const long stream_lens[] = {0, 1, 125, 126, 65536};
    for (size_t i = 0; i < sizeof stream_lens / sizeof stream_lens[0]; i++)
        for (int chop = 0; chop <= 1; chop++)
            add_case(cat, c_echo, 1 + (int)(i & 1), stream_lens[i], chop, NULL,
                     0, "--stream: %s %ld bytes%s", (i & 1) ? "binary" : "text",
                     stream_lens[i], chop ? ", 1-byte writes" : "")
                ->srv = SRV_STREAM;
    add_case(cat, c_all_bytes, 0, 0, 0, NULL, 0, "binary: all 256 byte values");
    add_case(cat, c_pipeline, 2, 0, 0, NULL, 0, "2 messages in one write");
    add_case(cat, c_pipeline, 100, 0, 0, NULL, 0, "100 messages in one write");
    /* 126 + 16-bit length: header 8 bytes; 65536: 64-bit, header 14. */
    for (long split = 1; split < 8; split++)
        add_case(cat, c_split_header, 200, split, 0, NULL, 0,
                 "16-bit header split after byte %ld", split);
    for (long split = 1; split < 14; split++)
        add_case(cat, c_split_header, 65536, split, 0, NULL, 0,
                 "64-bit header split after byte %ld", split);
    add_case(cat, c_mask_key, 0, 0, 0, NULL, 0, "mask key 00000000");
    add_case(cat, c_mask_key, 0xFFFFFFFFl, 0, 0, NULL, 0, "mask key ffffffff");
    add_case(cat, c_mask_key, 0x80000001l, 0, 0, NULL, 0, "mask key 80000001");
    for (int i = 0; i < BAD_COUNT; i++)
        add_case(cat, c_bad_frame, i, 0, 0, NULL, 0, "%s", bad_names[i]);
}

void register_reserved(void)
{
    for (int rsv = 1; rsv <= 7; rsv++)
        for (int w = 0; w < RSV_KINDS; w++)
            add_case("reserved-bits", c_rsv, rsv, w, 0, NULL, 0,
                     "RSV%s%s%s on %s -> 1002", rsv & 4 ? "1" : "",
                     rsv & 2 ? (rsv & 4 ? "+2" : "2") : "",
                     rsv & 1 ? (rsv & 6 ? "+3" : "3") : "", rsv_where[w]);
    static const int ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (int v = 0; v < OP_VARIANTS; v++)
            add_case("opcodes", c_opcode, ops[i], v, 0, NULL, 0,
                     "opcode %X %s -> 1002", ops[i], op_variant[v]);
}
