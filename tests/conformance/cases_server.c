/*
 * cases_server.c — the event loop under the protocol: many clients at
 * once, a client that stalls or reads slowly (backpressure) must not hold
 * up the others, and one that vanishes must not take the server down.
 * Not in Autobahn; wsecho promises one loop serving every client.
 */
#include "suite.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MANY 100

/* a clients connect, each sends its own message, all are echoed. */
static int c_many(peer_t *t, const tcase_t *k)
{
    peer_t *p = calloc((size_t)k->a, sizeof *p);
    char msg[64];
    int r = 0;
    long opened = 0;
    for (long i = 0; i < k->a && r == 0; i++, opened++) {
        p[i].fd = -1;
        p[i].deadline = t->deadline;
        r = open_ws(&p[i]);
    }
    for (long i = 0; i < opened && r == 0; i++) {
        buf_t out = {0};
        int n = snprintf(msg, sizeof msg, "client %ld", i);
        cframe(&out, 1, 0x1, msg, (size_t)n);
        r = send_buf(&p[i], &out);
        buf_free(&out);
    }
    for (long i = opened - 1; i >= 0 && r == 0; i--) {
        int n = snprintf(msg, sizeof msg, "client %ld", i);
        r = expect_echo(&p[i], k, 1, msg, (size_t)n);
    }
    for (long i = 0; i < opened; i++) {
        if (r && p[i].msg[0] && !t->msg[0])
            fail(t, "client %ld: %s", i, p[i].msg);
        peer_close(&p[i]);
    }
    free(p);
    return r ? -1 : 0;
}

/* One client sends half a frame and stalls; another is served meanwhile. */
static int c_stalled_neighbour(peer_t *t, const tcase_t *k)
{
    peer_t b = {.fd = -1, .deadline = t->deadline};
    buf_t out = {0}, half = {0};
    uint8_t p[1000];
    fill(p, sizeof p, 2);
    cframe(&half, 1, 0x2, p, sizeof p);
    int r = open_ws(t) || send_bytes(t, half.p, 500, 0, 0) || open_ws(&b);
    cframe(&out, 1, 0x1, "neighbour", 9);
    r = r || send_buf(&b, &out) || expect_echo(&b, k, 1, "neighbour", 9);
    if (b.msg[0])
        fail(t, "second client: %s", b.msg);
    /* The stalled client resumes and is echoed in full. */
    r = r || send_bytes(t, half.p + 500, half.len - 500, 0, 0) ||
        expect_echo(t, k, 2, p, sizeof p);
    peer_close(&b);
    buf_free(&out);
    buf_free(&half);
    return r ? -1 : 0;
}

/* Write without reading for up to ms milliseconds (the server's replies
 * pile up: backpressure must stop it reading us, not drop or close). */
static size_t write_blind(peer_t *t, const uint8_t *p, size_t n, int ms)
{
    size_t off = 0;
    int64_t end = now_ms() + ms;
    while (off < n && now_ms() < end) {
        struct pollfd pf = {t->fd, POLLOUT, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t w = send(t->fd, p + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    return off;
}

/* A client that sends a lot and reads nothing for a while, then reads:
 * every echo arrives intact. Another client is served meanwhile. */
static int c_slow_reader(peer_t *t, const tcase_t *k)
{
    size_t n = (size_t)k->a, count = (size_t)k->b;
    uint8_t *p = malloc(n);
    buf_t out = {0}, small = {0};
    peer_t b = {.fd = -1, .deadline = t->deadline};
    fill(p, n, 2);
    for (size_t i = 0; i < count; i++)
        cframe(&out, 1, 0x2, p, n);
    int r = open_ws(t);
    size_t sent = r ? 0 : write_blind(t, out.p, out.len, 700);
    cframe(&small, 1, 0x1, "meanwhile", 9);
    r = r || open_ws(&b) || send_buf(&b, &small) ||
        expect_echo(&b, k, 1, "meanwhile", 9);
    if (b.msg[0])
        fail(t, "second client, while the first reads nothing: %s", b.msg);
    r = r || send_bytes(t, out.p + sent, out.len - sent, 0, 0);
    for (size_t i = 0; i < count && r == 0; i++)
        r = expect_echo(t, k, 2, p, n);
    peer_close(&b);
    free(p);
    buf_free(&out);
    buf_free(&small);
    return r ? -1 : 0;
}

/* Clients that vanish: a reset in mid-frame, a close in mid-handshake.
 * The server must carry on (the runner fails the case if it died) and
 * serve the next client. */
static int c_vanish(peer_t *t, const tcase_t *k)
{
    peer_t v = {.fd = -1, .deadline = t->deadline};
    buf_t out = {0};
    uint8_t p[70000];
    fill(p, sizeof p, 2);
    int r = 0;
    if (k->a == 0) {
        cframe(&out, 1, 0x2, p, sizeof p);
        r = open_ws(&v) || send_bytes(&v, out.p, out.len / 2, 0, 0);
        struct linger lg = {1, 0}; /* close() sends a RST */
        setsockopt(v.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    } else {
        static const char half[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpg";
        r = tcp_open(&v, case_port()) ||
            send_bytes(&v, half, sizeof half - 1, 0, 0);
    }
    peer_close(&v);
    if (r)
        return fail(t, "%s", v.msg);
    usleep(50000);
    out.len = 0;
    cframe(&out, 1, 0x1, "still here", 10);
    r = open_ws(t) || send_buf(t, &out) ||
        expect_echo(t, k, 1, "still here", 10);
    buf_free(&out);
    return r ? -1 : 0;
}

/* ------------------------------------------- options of the event loop */

/* Start a wsecho of the case's own with extra options (NULL-terminated,
 * up to 4). */
static int own_server(peer_t *t, server_t *s, const char *const *extra)
{
    char err[256];
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 4 && extra[i]; i++)
        s->extra[i] = extra[i];
    snprintf(s->log, sizeof s->log, "%s/wsecho-own.log", log_dir());
    if (server_start(s, wsecho_path(), err, sizeof err) != 0)
        return fail(t, "%s", err);
    return 0;
}

/* The server must close TCP within ms, optionally after an HTTP answer
 * (4xx) or a close frame, but never a 101. */
static int expect_dropped(peer_t *t, int ms)
{
    t->deadline = now_ms() + ms;
    int r = need(t, 1);
    if (r < 0)
        return fail(t, "not dropped within %d ms", ms);
    if (r > 0 && rxp(t)[0] == 'H') {
        char head[1024];
        int st = http_response(t, head, sizeof head);
        if (st < 400)
            return fail(t, "answered %d", st);
        take(t, avail(t)); /* a body, if any */
    } else if (r > 0) {
        frame_t f;
        if (recv_frame(t, &f) < 0)
            return -1;
        int op = f.op;
        frame_free(&f);
        if (op != 0x8)
            return fail(t, "sent a frame of opcode %d instead of dropping", op);
    }
    return expect_eof(t);
}

/* --handshake-timeout 1: a silent client (a = 0) or one stuck in mid-
 * request (a = 1) is dropped after about a second. */
static int c_handshake_timeout(peer_t *t, const tcase_t *k)
{
    static const char *const opts[] = {"--handshake-timeout", "1", NULL};
    server_t s;
    if (own_server(t, &s, opts) < 0)
        return -1;
    int r = tcp_open(t, s.port);
    if (r == 0 && k->a)
        r = send_bytes(t, "GET / HTTP/1.1\r\nHost: x\r\n", 25, 0, 0);
    int64_t t0 = now_ms();
    r = r || expect_dropped(t, 3000);
    if (r == 0 && now_ms() - t0 < 500)
        r = fail(t, "dropped after %lld ms, before the timeout",
                 (long long)(now_ms() - t0));
    server_stop(&s, 3000);
    return r ? -1 : 0;
}

/* --max-connections 2: a third client gets 503; once one leaves, a new
 * one is served. */
static int c_max_connections(peer_t *t, const tcase_t *k)
{
    static const char *const opts[] = {"--max-connections", "2", NULL};
    server_t s;
    peer_t a = {.fd = -1, .deadline = t->deadline};
    peer_t b = {.fd = -1, .deadline = t->deadline};
    char head[1024];
    buf_t out = {0};
    (void)k;
    if (own_server(t, &s, opts) < 0)
        return -1;
    int r = ws_open(&a, s.port) || ws_open(&b, s.port);
    if (r)
        fail(t, "first two clients: %s%s", a.msg, b.msg);
    if (r == 0) {
        r = tcp_open(t, s.port);
        static const char req[] =
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: "
            "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        r = r || send_bytes(t, req, sizeof req - 1, 0, 0);
        int st = r ? -1 : http_response(t, head, sizeof head);
        if (r == 0 && st != 503)
            r = st < 0 ? -1 : fail(t, "third client got %d, want 503", st);
    }
    peer_close(t);
    peer_close(&a);
    usleep(100000);
    cframe(&out, 1, 0x1, "room", 4);
    if (r == 0) {
        t->msg[0] = '\0';
        r = ws_open(t, s.port) || send_buf(t, &out) ||
            expect_echo(t, k, 1, "room", 4);
    }
    peer_close(&b);
    peer_close(t);
    buf_free(&out);
    server_stop(&s, 3000);
    return r ? -1 : 0;
}

/* --ping-interval 1: an idle client is pinged; answering keeps it (a =
 * 1), staying silent gets it dropped (a = 0). */
static int c_ping_interval(peer_t *t, const tcase_t *k)
{
    static const char *const opts[] = {"--ping-interval", "1", NULL};
    server_t s;
    frame_t f;
    buf_t out = {0};
    if (own_server(t, &s, opts) < 0)
        return -1;
    int r = ws_open(t, s.port) || recv_frame(t, &f) < 0;
    if (r == 0) {
        if (f.op != 0x9)
            r = fail(t, "idle client got opcode %d, want a ping", f.op);
        else if (k->a)
            cframe(&out, 1, 0xA, f.payload.p, (size_t)f.len);
        frame_free(&f);
    }
    if (r == 0 && k->a) {
        /* Answer, stay idle past another interval, still served. */
        r = send_buf(t, &out);
        usleep(1500000);
        /* Answer whatever pings came meanwhile (looked for briefly). */
        int64_t deadline = t->deadline;
        t->deadline = now_ms() + 200;
        while (r == 0 && need(t, 2) > 0 && (rxp(t)[0] & 0x0F) == 0x9) {
            out.len = 0;
            r = recv_frame(t, &f) < 0;
            if (r == 0) {
                cframe(&out, 1, 0xA, f.payload.p, (size_t)f.len);
                frame_free(&f);
                r = send_buf(t, &out);
            }
        }
        t->deadline = deadline;
        out.len = 0;
        cframe(&out, 1, 0x1, "alive", 5);
        r = r || send_buf(t, &out) || expect_echo(t, k, 1, "alive", 5);
    } else if (r == 0) {
        r = expect_dropped(t, 3000);
    }
    buf_free(&out);
    peer_close(t);
    server_stop(&s, 3000);
    return r ? -1 : 0;
}

/* SIGTERM with a client that never answers the 1001: --close-timeout 1
 * bounds the wait; TCP closes and the server exits 0. */
static int c_sigterm_silent(peer_t *t, const tcase_t *k)
{
    static const char *const opts[] = {"--close-timeout", "1", NULL};
    server_t s;
    frame_t f;
    (void)k;
    if (own_server(t, &s, opts) < 0)
        return -1;
    int r = ws_open(t, s.port);
    if (r == 0) {
        kill(s.pid, SIGTERM);
        r = recv_frame(t, &f) < 0;
        if (r == 0 && f.op != 0x8)
            r = fail(t, "got opcode %d, want close 1001", f.op);
        if (r == 0)
            frame_free(&f);
        r = r || expect_eof(t);
    }
    int st = server_stop(&s, 3000);
    if (r == 0 && st != 0)
        r = fail(t, "wsecho exit status %d after SIGTERM", st);
    return r ? -1 : 0;
}

void register_server(void)
{
    const char *cat = "event-loop";
    add_case(cat, c_many, MANY, 0, 0, NULL, 0,
             "%d clients at once, each echoed", MANY);
    add_case(cat, c_many, 20, 0, 0, NULL, 0, "--stream: 20 clients at once")
        ->srv = SRV_STREAM;
    add_case(cat, c_stalled_neighbour, 0, 0, 0, NULL, 0,
             "a client stalled in mid-frame does not hold up another");
    add_case(cat, c_slow_reader, 2 << 20, 16, 0, NULL, 0,
             "16 x 2 MiB sent, nothing read meanwhile, all echoed")
        ->timeout_ms = 10000;
    add_case(cat, c_slow_reader, 4 << 20, 4, 0, NULL, 0,
             "--stream: 4 x 4 MiB sent, nothing read meanwhile, all echoed")
        ->srv = SRV_STREAM;
    add_case(cat, c_vanish, 0, 0, 0, NULL, 0,
             "a client resets in mid-frame; the next is served");
    add_case(cat, c_vanish, 1, 0, 0, NULL, 0,
             "a client leaves in mid-handshake; the next is served");
    add_case(cat, c_handshake_timeout, 0, 0, 0, NULL, 0,
             "--handshake-timeout 1: a silent client is dropped");
    add_case(cat, c_handshake_timeout, 1, 0, 0, NULL, 0,
             "--handshake-timeout 1: a client stuck mid-request is dropped");
    add_case(cat, c_max_connections, 0, 0, 0, NULL, 0,
             "--max-connections 2: a third gets 503, a later one is served");
    add_case(
        cat, c_ping_interval, 1, 0, 0, NULL, 0,
        "--ping-interval 1: an idle client is pinged, kept when it answers");
    add_case(cat, c_ping_interval, 0, 0, 0, NULL, 0,
             "--ping-interval 1: a client that never answers is dropped")
        ->timeout_ms = 6000;
    add_case(
        cat, c_sigterm_silent, 0, 0, 0, NULL, 0,
        "--close-timeout 1: SIGTERM, client never replies: closed, exit 0");
}
