/*
 * cases_control.c — pings and pongs (Autobahn 2.x, RFC 6455 §5.5.2-3)
 * and fragmentation (Autobahn 5.x, RFC 6455 §5.4).
 */
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int expect_pong(peer_t *t, const uint8_t *p, size_t n)
{
    buf_t e = {0};
    sframe(&e, 1, 0xA, p, n);
    int r = expect_buf(t, &e, "pong");
    buf_free(&e);
    return r;
}

/* ----------------------------------------------------------- ping/pong */

/* a = payload length, b = 1 for binary payload (0x00.. / 0x80..), c =
 * write size. The pong MUST carry the ping's payload (§5.5.3). */
static int c_ping(peer_t *t, const tcase_t *k)
{
    uint8_t p[125];
    size_t n = (size_t)k->a;
    buf_t out = {0};
    for (size_t i = 0; i < n; i++)
        p[i] = k->b == 1   ? (uint8_t)i
               : k->b == 2 ? (uint8_t)(0x80 + i)
                           : (uint8_t)('a' + i % 26);
    cframe(&out, 1, 0x9, p, n);
    int r = open_ws(t) || send_chopped(t, &out, (size_t)k->c) ||
            expect_pong(t, p, n);
    buf_free(&out);
    return r ? -1 : 0;
}

/* a pings with distinct payloads, in one write (b = 0) or one write
 * each in 1-byte pieces (b = 1); the pongs come back in order. */
static int c_pings(peer_t *t, const tcase_t *k)
{
    char p[32];
    buf_t out = {0};
    int r = open_ws(t);
    for (long i = 0; i < k->a && r == 0; i++) {
        int n = snprintf(p, sizeof p, "ping %ld", i);
        cframe(&out, 1, 0x9, p, (size_t)n);
        if (k->b) {
            r = send_chopped(t, &out, 1);
            out.len = 0;
        }
    }
    if (r == 0 && !k->b)
        r = send_buf(t, &out);
    for (long i = 0; i < k->a && r == 0; i++) {
        int n = snprintf(p, sizeof p, "ping %ld", i);
        r = expect_pong(t, (uint8_t *)p, (size_t)n);
    }
    buf_free(&out);
    return r;
}

/* Control frames over 125 bytes MUST fail (§5.5). a = announced length,
 * b = opcode, c = length form. */
static int c_control_too_long(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->a;
    uint8_t *p = calloc(1, n);
    buf_t out = {0};
    frame_spec_t s = {
        .fin = 1, .op = (int)k->b, .masked = 1, .len_form = (int)k->c};
    frame_put(&out, &s, p, n);
    int r = open_ws(t) || send_buf(t, &out) || expect_close(t, 1002);
    free(p);
    buf_free(&out);
    return r ? -1 : 0;
}

/* An unsolicited pong (a bytes) is ignored (§5.5.3): the next message is
 * echoed and nothing comes before it. */
static int c_unsolicited_pong(peer_t *t, const tcase_t *k)
{
    uint8_t p[125];
    buf_t out = {0};
    memset(p, 'x', sizeof p);
    cframe(&out, 1, 0xA, p, (size_t)k->a);
    cframe(&out, 1, 0x1, "after", 5);
    int r = open_ws(t) || send_buf(t, &out) || expect_echo(t, k, 1, "after", 5);
    buf_free(&out);
    return r ? -1 : 0;
}

/* ping, text, ping in one write: pong, echo, pong. */
static int c_ping_text_ping(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    cframe(&out, 1, 0x9, "one", 3);
    cframe(&out, 1, 0x1, "middle", 6);
    cframe(&out, 1, 0x9, "two", 3);
    int r = open_ws(t) || send_buf(t, &out) ||
            expect_pong(t, (const uint8_t *)"one", 3) ||
            expect_echo(t, k, 1, "middle", 6) ||
            expect_pong(t, (const uint8_t *)"two", 3);
    buf_free(&out);
    return r ? -1 : 0;
}

/* A ping then a close: pong, then the close reply. */
static int c_ping_close(peer_t *t, const tcase_t *k)
{
    buf_t out = {0}, e = {0};
    uint8_t code[2] = {0x03, 0xE8};
    (void)k;
    cframe(&out, 1, 0x9, "last", 4);
    cclose(&out, 1000, "bye", 3);
    sframe(&e, 1, 0xA, "last", 4);
    sframe(&e, 1, 0x8, code, 2);
    int r = open_ws(t) || send_buf(t, &out) ||
            expect_buf(t, &e, "pong + close reply") || expect_eof(t);
    buf_free(&out);
    buf_free(&e);
    return r ? -1 : 0;
}

/* ------------------------------------------------------- fragmentation */

/* A message of a bytes (opcode b) in fragments of c bytes; echoed whole.
 * c = 0: three fragments with an empty middle one. */
static int c_fragments(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->a, piece = (size_t)k->c;
    uint8_t *p = malloc(n + 1);
    buf_t out = {0};
    fill(p, n, (int)k->b);
    if (piece == 0) {
        cframe(&out, 0, (int)k->b, p, n / 2);
        cframe(&out, 0, 0, NULL, 0);
        cframe(&out, 1, 0, p + n / 2, n - n / 2);
    } else {
        for (size_t off = 0; off < n || off == 0; off += piece) {
            size_t m = n - off < piece ? n - off : piece;
            cframe(&out, off + m >= n, off ? 0 : (int)k->b, p + off, m);
            if (n == 0)
                break;
        }
    }
    int r =
        open_ws(t) || send_buf(t, &out) || expect_echo(t, k, (int)k->b, p, n);
    free(p);
    buf_free(&out);
    return r ? -1 : 0;
}

/* Fragment layouts given as lists of sizes; 0-terminated arrays can't
 * hold empty fragments, so -1 marks an empty one. */
static const int layout_empty_first[] = {-1, 5, 6, 0};
static const int layout_empty_last[] = {5, 6, -1, 0};
static const int layout_all_empty[] = {-1, -1, -1, 0};
static const int layout_odd[] = {1, 2, 3, 4, 1, 0};

/* data = layout, a = opcode, b = pause in ms between fragments, c = write
 * size. */
static int c_layout(peer_t *t, const tcase_t *k)
{
    const int *lay = (const int *)(const void *)k->data;
    uint8_t p[64];
    size_t total = 0, off = 0;
    buf_t out = {0};
    int nfr = 0;
    for (int i = 0; lay[i]; i++, nfr++)
        total += lay[i] > 0 ? (size_t)lay[i] : 0;
    fill(p, total, (int)k->a);
    int r = open_ws(t);
    for (int i = 0; i < nfr && r == 0; i++) {
        size_t m = lay[i] > 0 ? (size_t)lay[i] : 0;
        cframe(&out, i == nfr - 1, i ? 0 : (int)k->a, p + off, m);
        off += m;
        r = send_chopped(t, &out, (size_t)k->c);
        out.len = 0;
        if (k->b)
            usleep((useconds_t)k->b * 1000);
    }
    r = r || expect_echo(t, k, (int)k->a, p, total);
    buf_free(&out);
    return r ? -1 : 0;
}

/* Control frames between fragments (§5.4: MAY be injected). a = what:
 * 0 one ping in the middle, 1 a ping before every fragment, 2 a pong in
 * the middle, 3 a 125-byte ping in the middle, all in 1-byte writes. */
static int c_interleaved(peer_t *t, const tcase_t *k)
{
    uint8_t p[125], big[125];
    buf_t out = {0}, e = {0};
    fill(p, 40, 1);
    memset(big, 0x5A, sizeof big);
    for (int i = 0; i < 4; i++) {
        if (k->a == 1 || (i == 2 && (k->a == 0 || k->a == 3))) {
            size_t n = k->a == 3 ? 125 : 2;
            const uint8_t *pp =
                k->a == 3 ? big : (const uint8_t *)"p0p1p2p3" + 2 * i;
            cframe(&out, 1, 0x9, pp, n);
            sframe(&e, 1, 0xA, pp, n);
        }
        if (i == 2 && k->a == 2)
            cframe(&out, 1, 0xA, "unsolicited", 11);
        cframe(&out, i == 3, i ? 0 : 1, p + 10 * i, 10);
    }
    sframe(&e, 1, 0x1, p, 40);
    int r = open_ws(t) || send_chopped(t, &out, k->a == 3 ? 1 : 0) ||
            expect_buf(t, &e, "pongs, then the echo");
    buf_free(&out);
    buf_free(&e);
    return r ? -1 : 0;
}

/* Sequences that MUST fail with 1002 (§5.4, §5.5). */
enum {
    FR_PING_NOT_FIN, /* control frames MUST NOT be fragmented */
    FR_PING_EMPTY_NOT_FIN,
    FR_PONG_NOT_FIN,
    FR_CLOSE_NOT_FIN,
    FR_CONT_FIN, /* continuation with no message started */
    FR_CONT_NOT_FIN,
    FR_CONT_AFTER_MESSAGE,
    FR_CONT_CHOPPED,
    FR_TEXT_TEXT, /* a new message inside an unfinished one */
    FR_TEXT_BINARY,
    FR_BINARY_TEXT,
    FR_BINARY_BINARY,
    FR_NESTED_AFTER_CONT,
    FR_NESTED_FINAL,
    FR_COUNT
};
static const char *const fr_names[FR_COUNT] = {
    "fragmented ping (ping without FIN + continuation) -> 1002",
    "empty ping without FIN -> 1002",
    "fragmented pong -> 1002",
    "fragmented close -> 1002",
    "continuation (FIN) with no message started -> 1002",
    "continuation (no FIN) with no message started -> 1002",
    "continuation after a complete message -> echo, 1002",
    "continuation with no message, 1-byte writes -> 1002",
    "text (no FIN), then text -> 1002",
    "text (no FIN), then binary -> 1002",
    "binary (no FIN), then text -> 1002",
    "binary (no FIN), then binary -> 1002",
    "text, continuation (no FIN), then text -> 1002",
    "text (no FIN), then a final text -> 1002",
};

static int c_bad_sequence(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    size_t chop = 0;
    int echo = 0;
    switch (k->a) {
    case FR_PING_NOT_FIN:
        cframe(&out, 0, 0x9, "frag", 4);
        cframe(&out, 1, 0x0, "ment", 4);
        break;
    case FR_PING_EMPTY_NOT_FIN:
        cframe(&out, 0, 0x9, NULL, 0);
        break;
    case FR_PONG_NOT_FIN:
        cframe(&out, 0, 0xA, "frag", 4);
        cframe(&out, 1, 0x0, "ment", 4);
        break;
    case FR_CLOSE_NOT_FIN:
        cframe(&out, 0, 0x8, "\x03\xe8", 2);
        cframe(&out, 1, 0x0, "ok", 2);
        break;
    case FR_CONT_CHOPPED:
        chop = 1;
        /* fall through */
    case FR_CONT_FIN:
        cframe(&out, 1, 0x0, "orphan", 6);
        break;
    case FR_CONT_NOT_FIN:
        cframe(&out, 0, 0x0, "orphan", 6);
        break;
    case FR_CONT_AFTER_MESSAGE:
        cframe(&out, 1, 0x1, "whole", 5);
        cframe(&out, 1, 0x0, "orphan", 6);
        echo = 1;
        break;
    case FR_TEXT_TEXT:
    case FR_TEXT_BINARY:
    case FR_BINARY_TEXT:
    case FR_BINARY_BINARY:
        cframe(&out, 0, k->a <= FR_TEXT_BINARY ? 1 : 2, "first", 5);
        cframe(&out, 0, (k->a - FR_TEXT_TEXT) % 2 ? 2 : 1, "second", 6);
        cframe(&out, 1, 0x0, "end", 3);
        break;
    case FR_NESTED_AFTER_CONT:
        cframe(&out, 0, 1, "first", 5);
        cframe(&out, 0, 0, "more", 4);
        cframe(&out, 0, 1, "second", 6);
        break;
    case FR_NESTED_FINAL:
        cframe(&out, 0, 1, "first", 5);
        cframe(&out, 1, 1, "second", 6);
        break;
    }
    int r = open_ws(t) || send_chopped(t, &out, chop) ||
            (echo && expect_echo(t, k, 1, "whole", 5)) || expect_close(t, 1002);
    buf_free(&out);
    return r ? -1 : 0;
}

/* A close in the middle of a fragmented message: the close is answered
 * and the unfinished message is not echoed. */
static int c_close_mid_message(peer_t *t, const tcase_t *k)
{
    buf_t out = {0}, e = {0};
    uint8_t code[2] = {0x03, 0xE8};
    (void)k;
    cframe(&out, 0, 0x1, "unfinished", 10);
    cclose(&out, 1000, NULL, 0);
    sframe(&e, 1, 0x8, code, 2);
    int r = open_ws(t) || send_buf(t, &out) ||
            expect_buf(t, &e, "close reply") || expect_eof(t);
    buf_free(&out);
    buf_free(&e);
    return r ? -1 : 0;
}

/* -------------------------------------------------------- registration */

void register_control(void)
{
    const char *cat = "ping-pong";
    static const long sizes[] = {0, 1, 2, 10, 64, 100, 124, 125};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        add_case(cat, c_ping, sizes[i], 0, 0, NULL, 0, "ping %ld bytes -> pong",
                 sizes[i]);
    add_case(cat, c_ping, 125, 1, 0, NULL, 0,
             "ping 125 binary bytes 00..7c -> pong");
    add_case(cat, c_ping, 125, 2, 0, NULL, 0,
             "ping 125 bytes 80..fc (not UTF-8) -> pong");
    add_case(cat, c_ping, 125, 0, 1, NULL, 0,
             "ping 125 bytes in 1-byte writes -> pong");
    add_case(cat, c_ping, 0, 0, 1, NULL, 0,
             "empty ping in 1-byte writes -> pong");
    add_case(cat, c_pings, 10, 0, 0, NULL, 0, "10 pings in one write");
    add_case(cat, c_pings, 10, 1, 0, NULL, 0, "10 pings, 1-byte writes");
    add_case(cat, c_pings, 200, 0, 0, NULL, 0, "200 pings in one write");
    add_case(cat, c_control_too_long, 126, 0x9, 0, NULL, 0,
             "ping 126 bytes -> 1002");
    add_case(cat, c_control_too_long, 127, 0x9, 0, NULL, 0,
             "ping 127 bytes -> 1002");
    add_case(cat, c_control_too_long, 65535, 0x9, 0, NULL, 0,
             "ping 65535 bytes -> 1002");
    add_case(cat, c_control_too_long, 65536, 0x9, 0, NULL, 0,
             "ping 65536 bytes (64-bit length) -> 1002");
    add_case(cat, c_control_too_long, 126, 0xA, 0, NULL, 0,
             "pong 126 bytes -> 1002");
    add_case(cat, c_control_too_long, 5, 0x9, LEN_16, NULL, 0,
             "ping length 5 in the 16-bit form -> 1002");
    add_case(cat, c_unsolicited_pong, 0, 0, 0, NULL, 0,
             "unsolicited empty pong ignored");
    add_case(cat, c_unsolicited_pong, 125, 0, 0, NULL, 0,
             "unsolicited 125-byte pong ignored");
    add_case(cat, c_ping_text_ping, 0, 0, 0, NULL, 0,
             "ping, text, ping in one write -> pong, echo, pong");
    add_case(cat, c_ping_close, 0, 0, 0, NULL, 0,
             "ping then close -> pong then close reply");
}

void register_fragmentation(void)
{
    const char *cat = "fragmentation";
    add_case(cat, c_fragments, 12, 1, 6, NULL, 0, "text in 2 fragments");
    add_case(cat, c_fragments, 12, 1, 4, NULL, 0, "text in 3 fragments");
    add_case(cat, c_fragments, 12, 2, 6, NULL, 0, "binary in 2 fragments");
    add_case(cat, c_fragments, 12, 2, 4, NULL, 0, "binary in 3 fragments");
    add_case(cat, c_fragments, 50, 1, 1, NULL, 0, "text in 1-byte fragments");
    add_case(cat, c_fragments, 256, 2, 1, NULL, 0,
             "binary in 1-byte fragments");
    add_case(cat, c_fragments, 2000, 1, 1, NULL, 0,
             "text in 2000 1-byte fragments");
    add_case(cat, c_fragments, 20, 1, 0, NULL, 0,
             "text with an empty middle fragment");
    add_case(cat, c_fragments, 20, 2, 0, NULL, 0,
             "binary with an empty middle fragment");
    add_case(cat, c_fragments, 262144, 2, 65536, NULL, 0,
             "binary 256 KiB in 64 KiB fragments");
    add_case(cat, c_fragments, 65536, 1, 1000, NULL, 0,
             "text 64 KiB in 1000-byte fragments");
    add_case(cat, c_layout, 1, 0, 0, layout_empty_first, 0,
             "text with an empty first fragment");
    add_case(cat, c_layout, 1, 0, 0, layout_empty_last, 0,
             "text with an empty last fragment");
    add_case(cat, c_layout, 1, 0, 0, layout_all_empty, 0,
             "text of three empty fragments");
    add_case(cat, c_layout, 2, 0, 0, layout_all_empty, 0,
             "binary of three empty fragments");
    add_case(cat, c_layout, 1, 0, 1, layout_odd, 0,
             "text fragments, each in 1-byte writes");
    add_case(cat, c_layout, 2, 30, 0, layout_odd, 0,
             "binary fragments 30 ms apart");
    add_case(cat, c_interleaved, 0, 0, 0, NULL, 0,
             "ping between fragments -> pong, then echo");
    add_case(cat, c_interleaved, 1, 0, 0, NULL, 0,
             "ping before every fragment -> 4 pongs, then echo");
    add_case(cat, c_interleaved, 2, 0, 0, NULL, 0,
             "unsolicited pong between fragments -> echo");
    add_case(cat, c_interleaved, 3, 0, 0, NULL, 0,
             "125-byte ping between fragments, 1-byte writes");
    for (int i = 0; i < FR_COUNT; i++)
        add_case(cat, c_bad_sequence, i, 0, 0, NULL, 0, "%s", fr_names[i]);
    add_case(cat, c_close_mid_message, 0, 0, 0, NULL, 0,
             "close inside a fragmented message -> close reply only");
}
