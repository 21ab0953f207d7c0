/*
 * cases_close.c — the closing handshake (Autobahn 7.x; RFC 6455 §5.5.1,
 * §7.4) and message size limits (Autobahn 9.x, at the sizes wsecho
 * promises).
 */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* The reply to a peer's close: the same code, no reason (the library's
 * documented choice), or an empty close for an empty one. */
static int expect_close_reply(peer_t *t, unsigned code)
{
    buf_t e = {0};
    uint8_t p[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    sframe(&e, 1, 0x8, p, code ? 2 : 0);
    int r = expect_buf(t, &e, "close reply");
    buf_free(&e);
    return r || expect_eof(t) ? -1 : 0;
}

enum { REASON_NONE, REASON_SHORT, REASON_123, REASON_UTF8 };

/* a = code, b = reason: the close is answered with the same code. */
static int c_close_code(peer_t *t, const tcase_t *k)
{
    char reason[124];
    size_t n = 0;
    buf_t out = {0};
    switch (k->b) {
    case REASON_SHORT:
        n = 3;
        memcpy(reason, "bye", 3);
        break;
    case REASON_123:
        n = 123;
        memset(reason, 'r', n);
        break;
    case REASON_UTF8: /* kosme + U+10FFFF */
        n = 15;
        memcpy(reason,
               "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
               "\xf4\x8f\xbf\xbf",
               n);
        break;
    }
    cclose(&out, (unsigned)k->a, reason, n);
    int r = open_ws(t) || send_buf(t, &out) ||
            expect_close_reply(t, (unsigned)k->a);
    buf_free(&out);
    return r ? -1 : 0;
}

/* a = code that must not appear on the wire (§7.4.1-2): 1002. */
static int c_close_bad_code(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    uint8_t p[2] = {(uint8_t)(k->a >> 8), (uint8_t)k->a};
    cframe(&out, 1, 0x8, p, 2);
    int r = open_ws(t) || send_buf(t, &out) || expect_close(t, 1002);
    buf_free(&out);
    return r ? -1 : 0;
}

enum {
    CL_EMPTY,         /* empty close -> empty close */
    CL_ONE_BYTE,      /* §5.5.1: a body starts with a 2-byte code */
    CL_TOO_LONG,      /* 126-byte payload: §5.5 */
    CL_BAD_REASON_FF, /* §5.5.1: the reason is UTF-8 */
    CL_BAD_REASON_SURROGATE,
    CL_BAD_REASON_TRUNCATED,
    CL_THEN_TEXT, /* §5.5.1: nothing is processed after a close */
    CL_THEN_PING,
    CL_THEN_LATER_TEXT,
    CL_CHOPPED,
    CL_SERVER_FIRST_FIN, /* §7.1.1: the server closes TCP first */
    CL_COUNT
};
static const char *const cl_names[CL_COUNT] = {
    "empty close -> empty close",
    "close with a 1-byte payload -> 1002",
    "close with a 126-byte payload -> 1002",
    "close reason with byte FF -> 1007",
    "close reason with a surrogate -> 1007",
    "close reason ending inside a character -> 1007",
    "close then text in one write: text ignored",
    "close then ping in one write: ping ignored",
    "text sent after the close reply: nothing comes back",
    "close in 1-byte writes -> close reply",
    "server closes TCP within 1 s of its close reply, unprompted",
};

static int c_close_misc(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    uint8_t p[126];
    int r = open_ws(t);
    memset(p, 'x', sizeof p);
    p[0] = 0x03;
    p[1] = 0xE8;
    switch (k->a) {
    case CL_EMPTY:
        cclose(&out, 0, NULL, 0);
        r = r || send_buf(t, &out) || expect_close_reply(t, 0);
        break;
    case CL_ONE_BYTE:
        cframe(&out, 1, 0x8, p, 1);
        r = r || send_buf(t, &out) || expect_close(t, 1002);
        break;
    case CL_TOO_LONG:
        cframe(&out, 1, 0x8, p, 126);
        r = r || send_buf(t, &out) || expect_close(t, 1002);
        break;
    case CL_BAD_REASON_FF:
    case CL_BAD_REASON_SURROGATE:
    case CL_BAD_REASON_TRUNCATED: {
        static const char *const bad[] = {"ok\xff", "\xed\xa0\x80",
                                          "ab\xe2\x82"};
        const char *s = bad[k->a - CL_BAD_REASON_FF];
        cclose(&out, 1000, s, strlen(s));
        r = r || send_buf(t, &out) || expect_close(t, 1007);
        break;
    }
    case CL_THEN_TEXT:
    case CL_THEN_PING:
        cclose(&out, 1000, NULL, 0);
        cframe(&out, 1, k->a == CL_THEN_TEXT ? 0x1 : 0x9, "late", 4);
        r = r || send_buf(t, &out) || expect_close_reply(t, 1000);
        break;
    case CL_THEN_LATER_TEXT:
        cclose(&out, 1000, NULL, 0);
        r = r || send_buf(t, &out);
        if (r == 0) {
            buf_t e = {0};
            sframe(&e, 1, 0x8, p, 2);
            r = expect_buf(t, &e, "close reply");
            buf_free(&e);
            out.len = 0;
            cframe(&out, 1, 0x1, "late", 4);
            r = r || send_buf(t, &out) || expect_eof(t);
        }
        break;
    case CL_CHOPPED:
        cclose(&out, 1001, "going", 5);
        r = r || send_chopped(t, &out, 1) || expect_close_reply(t, 1001);
        break;
    case CL_SERVER_FIRST_FIN:
        cclose(&out, 1000, NULL, 0);
        t->deadline = now_ms() + 1000;
        r = r || send_buf(t, &out) || expect_close_reply(t, 1000);
        break;
    }
    buf_free(&out);
    return r ? -1 : 0;
}

/* SIGTERM: every client gets close 1001 and the server exits 0. a = 1
 * with a client connected, 0 without. Runs its own wsecho. */
static int c_sigterm(peer_t *t, const tcase_t *k)
{
    server_t s = {.pid = 0};
    char err[256];
    snprintf(s.log, sizeof s.log, "%s/wsecho-sigterm.log", log_dir());
    if (server_start(&s, wsecho_path(), err, sizeof err) != 0)
        return fail(t, "%s", err);
    int r = 0;
    if (k->a) {
        r = ws_open(t, s.port);
        if (r == 0) {
            /* Make sure the server has the connection fully set up. */
            buf_t out = {0};
            cframe(&out, 1, 0x1, "hi", 2);
            r = send_buf(t, &out) || expect_echo(t, k, 1, "hi", 2);
            buf_free(&out);
        }
    }
    if (r == 0)
        kill(s.pid, SIGTERM);
    if (r == 0 && k->a) {
        frame_t f;
        r = recv_frame(t, &f) < 0 ? -1 : 0;
        if (r == 0 && (f.op != 0x8 || f.len < 2 ||
                       (f.payload.p[0] << 8 | f.payload.p[1]) != 1001))
            r = fail(t, "expected close 1001, got op %d len %llu", f.op,
                     (unsigned long long)f.len);
        frame_free(&f);
        if (r == 0) {
            buf_t out = {0};
            cclose(&out, 1001, NULL, 0);
            send_buf(t, &out);
            buf_free(&out);
            r = expect_eof(t);
        }
    }
    /* Our side closes too: the server may linger until it sees our FIN. */
    peer_close(t);
    int pid = s.pid;
    int st = -1;
    for (int waited = 0; waited < 3000; waited += 10) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s.pid = 0;
            break;
        }
        usleep(10000);
    }
    if (s.pid) {
        server_stop(&s, 100);
        return fail(t, "wsecho still running 3 s after SIGTERM");
    }
    close(s.out_fd);
    if (r)
        return -1;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return fail(t, "wsecho exit status %d after SIGTERM (want exit 0)", st);
    return 0;
}

/* ------------------------------------------------------------- limits */

/* a = opcode, b = size, c = fragment size (0 = one frame). */
static int c_big(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->b, piece = k->c ? (size_t)k->c : n;
    uint8_t *p = malloc(n ? n : 1);
    buf_t out = {0};
    if (k->a == 1) {
        static const char unit[] =
            "0123456789\xce\xba\xe2\x82\xac\xf0\x9f\x98\x80";
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)unit[i % (sizeof unit - 1)];
        n -= n % (sizeof unit - 1); /* whole characters */
    } else {
        fill(p, n, 2);
    }
    for (size_t off = 0; off < n || off == 0; off += piece) {
        size_t m = n - off < piece ? n - off : piece;
        cframe(&out, off + m >= n, off ? 0 : (int)k->a, p + off, m);
        if (n == 0)
            break;
    }
    int r =
        open_ws(t) || send_buf(t, &out) || expect_echo(t, k, (int)k->a, p, n);
    free(p);
    buf_free(&out);
    return r ? -1 : 0;
}

/* Over the limit: 1009 as soon as a header announces too much, without
 * the payload (which is never sent). a = announced single-frame length;
 * or with b > 0: b bytes in c-byte non-final fragments, then a
 * continuation header announcing a bytes. */
static int c_too_big(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    int r = open_ws(t);
    if (k->b) {
        size_t n = (size_t)k->b, piece = (size_t)k->c;
        uint8_t *p = malloc(n);
        fill(p, n, 2);
        for (size_t off = 0; off < n; off += piece)
            cframe(&out, 0, off ? 0 : 2, p + off,
                   n - off < piece ? n - off : piece);
        free(p);
        r = r || send_buf(t, &out);
        out.len = 0;
    }
    frame_spec_t s = {
        .fin = 1, .op = k->b ? 0 : 2, .masked = 1, .announce = (uint64_t)k->a};
    frame_put(&out, &s, "12345678", 8);
    r = r || send_buf(t, &out) || expect_close(t, 1009);
    buf_free(&out);
    return r ? -1 : 0;
}

/* -------------------------------------------------------- registration */

void register_close(void)
{
    const char *cat = "close";
    static const long ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                              1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        add_case(cat, c_close_code, ok[i], REASON_NONE, 0, NULL, 0,
                 "close %ld -> close %ld", ok[i], ok[i]);
    add_case(cat, c_close_code, 1000, REASON_SHORT, 0, NULL, 0,
             "close 1000 'bye' -> close 1000");
    add_case(cat, c_close_code, 1000, REASON_123, 0, NULL, 0,
             "close 1000 with a 123-byte reason -> close 1000");
    add_case(cat, c_close_code, 4999, REASON_UTF8, 0, NULL, 0,
             "close 4999 with a multi-byte UTF-8 reason -> close 4999");
    add_case(cat, c_close_code, 3000, REASON_123, 0, NULL, 0,
             "close 3000 with a 123-byte reason -> close 3000");
    static const long bad[] = {0,    999,  1004, 1005, 1006, 1015,
                               1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        add_case(cat, c_close_bad_code, bad[i], 0, 0, NULL, 0,
                 "close %ld -> 1002", bad[i]);
    for (int i = 0; i < CL_COUNT; i++)
        add_case(cat, c_close_misc, i, 0, 0, NULL, 0, "%s", cl_names[i]);
    add_case(cat, c_sigterm, 1, 0, 0, NULL, 0,
             "SIGTERM -> close 1001 to a client, exit 0");
    add_case(cat, c_sigterm, 0, 0, 0, NULL, 0, "SIGTERM, no clients -> exit 0");
}

void register_limits(void)
{
    const char *cat = "limits";
    const long MiB = 1l << 20, KiB = 1024;
    add_case(cat, c_big, 2, MiB, 0, NULL, 0, "binary 1 MiB, one frame");
    add_case(cat, c_big, 1, MiB, 0, NULL, 0,
             "text 1 MiB (multi-byte), one frame");
    add_case(cat, c_big, 2, 16 * MiB, 0, NULL, 0, "binary 16 MiB, one frame");
    add_case(cat, c_big, 1, 16 * MiB, 0, NULL, 0, "text 16 MiB, one frame");
    add_case(cat, c_big, 2, 16 * MiB, 64 * KiB, NULL, 0,
             "binary 16 MiB in 64 KiB fragments");
    add_case(cat, c_big, 1, 16 * MiB, 64 * KiB, NULL, 0,
             "text 16 MiB in 64 KiB fragments");
    add_case(cat, c_big, 2, 16 * MiB - 1, 1000 * KiB, NULL, 0,
             "binary 16 MiB - 1 in 1000 KiB fragments");
    add_case(cat, c_too_big, 16 * MiB + 1, 0, 0, NULL, 0,
             "binary 16 MiB + 1 announced -> 1009 before the payload")
        ->timeout_ms = 2000;
    add_case(cat, c_too_big, 1l << 40, 0, 0, NULL, 0,
             "binary 2^40 bytes announced -> 1009")
        ->timeout_ms = 2000;
    add_case(cat, c_too_big, 0x7FFFFFFFFFFFFFFFl, 0, 0, NULL, 0,
             "binary 2^63-1 bytes announced -> 1009")
        ->timeout_ms = 2000;
    add_case(cat, c_too_big, 1, 16 * MiB, 64 * KiB, NULL, 0,
             "16 MiB in 64 KiB fragments, then 1 more announced -> 1009");
    add_case(cat, c_too_big, 11, 16 * MiB - 10, 16 * MiB - 10, NULL, 0,
             "16 MiB - 10 fragment, then 11 more announced -> 1009");
    add_case(cat, c_big, 2, 1024, 0, NULL, 0,
             "--max-message 1024: 1024 bytes echoed")
        ->srv = SRV_SMALL;
    add_case(cat, c_big, 1, 1024, 100, NULL, 0,
             "--max-message 1024: 1024 bytes in fragments echoed")
        ->srv = SRV_SMALL;
    add_case(cat, c_too_big, 1025, 0, 0, NULL, 0,
             "--max-message 1024: 1025 bytes announced -> 1009")
        ->srv = SRV_SMALL;
    add_case(cat, c_too_big, 25, 1000, 100, NULL, 0,
             "--max-message 1024: 1000 + 25 in fragments -> 1009")
        ->srv = SRV_SMALL;
    add_case(cat, c_big, 2, 32 * MiB, 0, NULL, 0,
             "--stream: binary 32 MiB, one frame, echoed")
        ->srv = SRV_STREAM;
    add_case(cat, c_big, 1, 2 * MiB, 64 * KiB, NULL, 0,
             "--stream: text 2 MiB in 64 KiB fragments, echoed")
        ->srv = SRV_STREAM;
}
