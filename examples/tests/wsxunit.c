/*
 * wsxunit — unit tests of the event loop (examples/common) on its own:
 * the output queue, timers, backpressure marks, the accept callback,
 * broadcast frames shared by queues, a UDP socket in the loop, a
 * transport that buffers input itself and has no sendfile, one with a
 * handshake of its own, ws:// and wss:// URLs, the memory budget (what
 * it counts, whom it closes), the stall rule on a fake clock, the limits'
 * options, and a loop without process-wide side effects.
 *
 * White-box: it includes wsx_int.h to look at queues, flags and epoll
 * masks. Every socket is on loopback with a port the kernel picked; every
 * wait is bounded. Ends with "N passed, N failed"; exit status 1 if any
 * test failed.
 */
#define _GNU_SOURCE
#include "wsx_int.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------ helpers */

/* Loop rounds until *flag is nonzero, at most ms milliseconds. */
static int run_until(wsx_loop_t *loop, const int *flag, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;

    while (!*flag && now_ms() < end)
        wsx_loop_run_once(loop, 10);
    return *flag;
}

/* A few rounds, for output to go out and input to come in. */
static void run_rounds(wsx_loop_t *loop, int n)
{
    for (int i = 0; i < n; i++)
        wsx_loop_run_once(loop, 5);
}

static int tcp_connect(int port, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    /* Completes from the listen backlog; the loop accepts later. */
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* What a peer received: bytes read while the loop runs. */
typedef struct peer {
    int fd;
    uint8_t buf[512 * 1024];
    size_t len;
    int eof;
} peer_t;

static void peer_read(peer_t *p)
{
    while (p->len < sizeof p->buf) {
        ssize_t n = recv(p->fd, p->buf + p->len, sizeof p->buf - p->len, 0);
        if (n == 0)
            p->eof = 1;
        if (n <= 0)
            return;
        p->len += (size_t)n;
    }
}

/* Run the loop and read until the peer has want bytes (or EOF). */
static size_t peer_wait(wsx_loop_t *loop, peer_t *p, size_t want, int ms)
{
    uint64_t end = now_ms() + (uint64_t)ms;

    while (p->len < want && !p->eof && now_ms() < end) {
        wsx_loop_run_once(loop, 5);
        peer_read(p);
    }
    return p->len;
}

static const char *head_end(const peer_t *p)
{
    const char *e = memmem(p->buf, p->len, "\r\n\r\n", 4);
    return e ? e + 4 : NULL;
}

static void send_upgrade(int fd, const char *path, const char *protocols)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     path, protocols ? "Sec-WebSocket-Protocol: " : "",
                     protocols ? protocols : "", protocols ? "\r\n" : "");
    if (send(fd, req, (size_t)n, 0) != n)
        fail(__LINE__, "cannot send the upgrade request");
}

/* A peer that did the handshake; its buffer then starts after the 101. */
static int peer_open(wsx_loop_t *loop, peer_t *p, int port, int rcvbuf)
{
    const char *e;

    memset(p, 0, sizeof *p);
    p->fd = tcp_connect(port, rcvbuf);
    if (p->fd < 0)
        return -1;
    send_upgrade(p->fd, "/", NULL);
    for (int i = 0; i < 200 && !(e = head_end(p)) && !p->eof; i++) {
        wsx_loop_run_once(loop, 5);
        peer_read(p);
    }
    if (!e || memcmp(p->buf, "HTTP/1.1 101", 12) != 0)
        return -1;
    p->len -= (size_t)(e - (const char *)p->buf);
    memmove(p->buf, e, p->len);
    return 0;
}

/* A client frame (masked, RFC 6455 §5.3) of a whole message. */
static size_t client_frame(uint8_t *out, ws_opcode_t op, const void *data,
                           size_t len)
{
    ws_frame_header_t h = {.fin = 1,
                           .opcode = (uint8_t)op,
                           .masked = 1,
                           .mask_key = {0x37, 0xfa, 0x21, 0x3d},
                           .payload_len = len};
    size_t hl = ws_frame_header_encode(out, &h);

    ws_mask(out + hl, data, len, h.mask_key, 0);
    return hl + len;
}

static wsx_conn_t *first_conn(wsx_server_t *s)
{
    return wsx_server_next(s, NULL);
}

/* -------------------------------------------------------------- queue */

static void test_queue(void)
{
    wsx_chunk_pool_t pool = {0};
    wsx_queue_t q = {0};
    static uint8_t want[300000], got[300000];
    size_t want_len = 0, got_len = 0;
    int sv[2], small = 4096;

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    wsx_conn_t c = {.fd = sv[0], .tr = &wsx_tcp_transport};

    /* Small pieces share a chunk; a big one gets its own. */
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (uint8_t)(i * 7 + (i >> 9));
    for (size_t n = 1; want_len + n <= 20000; n += 97) {
        uint8_t *p = wsx_queue_reserve(&q, &pool, n);
        memcpy(p, want + want_len, n);
        wsx_queue_commit(&q, n);
        want_len += n;
    }
    CHECK(q.head == q.tail || q.head->next == q.tail);
    uint8_t *p = wsx_queue_reserve(&q, &pool, 200000);
    memcpy(p, want + want_len, 200000);
    wsx_queue_commit(&q, 200000);
    want_len += 200000;
    CHECK_EQ(q.tail->cap, 200000);
    /* Memory held: every chunk's capacity, in the queue and the pool. */
    CHECK(q.mem >= 200000 + 20000);
    CHECK_EQ(pool.mem, q.mem);
    /* An uncommitted reserve leaves nothing behind. */
    wsx_chunk_t *tail = q.tail;
    CHECK(wsx_queue_reserve(&q, &pool, 50000) != NULL);
    CHECK(q.tail != tail);
    wsx_queue_unreserve(&q, &pool);
    CHECK(q.tail == tail && tail->next == NULL);
    CHECK_EQ(q.bytes, want_len);

    /* Partial writes: the kernel takes a little at a time. */
    int rounds = 0;
    while ((q.bytes || got_len < want_len) && rounds++ < 100000) {
        ssize_t n = wsx_queue_flush(&q, &pool, &c);
        if (n < 0) {
            fail(__LINE__, "flush: %s", strerror(errno));
            break;
        }
        ssize_t r = read(sv[1], got + got_len, sizeof got - got_len);
        if (r > 0)
            got_len += (size_t)r;
    }
    CHECK(rounds > 2); /* it really went out in pieces */
    CHECK_EQ(q.bytes, 0);
    CHECK(q.head == NULL && q.tail == NULL);
    CHECK_BYTES(got, got_len, want, want_len);
    CHECK(pool.nfree >= 1); /* 16 KiB chunks are kept for reuse */
    CHECK_EQ(q.mem, 0);
    CHECK_EQ(pool.mem, 0); /* kept for reuse is not held */

    /* Trim: what has begun to go out stays, whole; the rest goes. */
    for (int i = 0; i < 3; i++) {
        p = wsx_queue_reserve(&q, &pool, 100000);
        memcpy(p, want + 100000 * (size_t)i, 100000);
        wsx_queue_commit(&q, 100000);
    }
    wsx_queue_trim(&q, &pool);
    CHECK(q.head == NULL && q.bytes == 0 && q.mem == 0); /* none begun */
    for (int i = 0; i < 3; i++) {
        p = wsx_queue_reserve(&q, &pool, 100000);
        memcpy(p, want + 100000 * (size_t)i, 100000);
        wsx_queue_commit(&q, 100000);
    }
    ssize_t first = wsx_queue_flush(&q, &pool, &c);
    CHECK(first > 0 && first < 100000);
    wsx_queue_trim(&q, &pool);
    CHECK(q.head == q.tail && q.head != NULL);
    CHECK_EQ(q.bytes, 100000 - first);
    CHECK_EQ(q.mem, 100000);
    CHECK_EQ(pool.mem, 100000);
    wsx_queue_clear(&q, &pool);
    CHECK_EQ(pool.mem, 0);
    wsx_chunk_pool_clear(&pool);
    CHECK_EQ(pool.nfree, 0);
    close(sv[0]);
    close(sv[1]);
}

/* ------------------------------------------------------------- timers */

typedef struct timer_log {
    int once, repeat, done;
    uint64_t first, last;
} timer_log_t;

static void on_once(wsx_timer_t *t, void *user)
{
    timer_log_t *l = user;
    (void)t;
    l->once++;
}

static void on_repeat(wsx_timer_t *t, void *user)
{
    timer_log_t *l = user;
    if (l->repeat++ == 0)
        l->first = now_ms();
    l->last = now_ms();
    if (l->repeat == 3)
        wsx_timer_stop(t);
}

static void test_timers(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    timer_log_t l = {0};
    uint64_t t0 = now_ms();

    CHECK(loop != NULL);
    if (!loop)
        return;
    CHECK(wsx_timer_start(loop, 30, 0, on_once, &l) != NULL);
    CHECK(wsx_timer_start(loop, 10, 1, on_repeat, &l) != NULL);
    wsx_timer_t *never = wsx_timer_start(loop, 10, 0, on_once, &l);
    wsx_timer_stop(never); /* stopped before it was due: never runs */
    /* Runs until nothing is left: the one-shot ran, the repeating one
     * stopped itself after its third call. */
    CHECK_EQ(wsx_loop_run(loop), 0);
    CHECK_EQ(l.once, 1);
    CHECK_EQ(l.repeat, 3);
    CHECK(l.first >= t0 + 10);
    CHECK(l.last >= l.first + 20);
    CHECK(now_ms() >= t0 + 30);
    CHECK(loop->timers == NULL); /* both freed */
    wsx_loop_free(loop);
}

/* ------------------------------------------------------- backpressure */

typedef struct bp {
    int drains, messages;
    size_t queued_at_drain;
} bp_t;

static uint8_t kib[1024];

static void bp_open(wsx_conn_t *c, const ws_response_t *resp)
{
    int small = 4096;

    CHECK(resp == NULL); /* the server side */
    setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    for (int i = 0; i < 200; i++)
        wsx_conn_send_binary(c, kib, sizeof kib);
}

static void bp_drain(wsx_conn_t *c)
{
    bp_t *b = wsx_conn_ctx(c);
    b->drains++;
    b->queued_at_drain = wsx_conn_queued(c);
}

static void bp_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    bp_t *b = wsx_conn_ctx(c);
    (void)op;
    (void)data;
    (void)len;
    b->messages++;
}

static void test_backpressure(void)
{
    wsx_opts_t o = {.high_water = 64 * 1024, .low_water = 16 * 1024};
    wsx_handler_t h = {
        .on_open = bp_open, .on_drain = bp_drain, .on_message = bp_message};
    static peer_t p;
    static uint8_t want[200 * 1028];
    uint8_t msg[16];
    bp_t b = {0};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, &b);

    for (size_t i = 0; i < sizeof kib; i++)
        kib[i] = (uint8_t)(i ^ 0x5a);
    CHECK(s != NULL);
    if (!s || peer_open(loop, &p, wsx_server_port(s), 4096) != 0) {
        fail(__LINE__, "no WebSocket");
        wsx_loop_free(loop);
        return;
    }
    run_rounds(loop, 5);
    wsx_conn_t *c = first_conn(s);
    /* Over the high mark: not read from, and no drain yet. */
    CHECK(wsx_conn_queued(c) > o.high_water);
    CHECK(c->flags & WSX_F_OVER);
    CHECK(!(c->evmask & EPOLLIN));
    CHECK_EQ(b.drains, 0);
    size_t n = client_frame(msg, WS_OP_TEXT, "hey", 3);
    CHECK(send(p.fd, msg, n, 0) == (ssize_t)n);
    run_rounds(loop, 5);
    CHECK_EQ(b.messages, 0); /* the peer's input waits in TCP */

    /* The peer reads: below the low mark once, on_drain once, reading
     * resumes and the waiting message arrives. */
    for (int i = 0; i < 200; i++) {
        uint8_t *f = want + (size_t)i * 1028;
        f[0] = 0x82, f[1] = 126, f[2] = 4, f[3] = 0;
        memcpy(f + 4, kib, sizeof kib);
    }
    peer_wait(loop, &p, sizeof want, 5000);
    run_rounds(loop, 3);
    CHECK_BYTES(p.buf, p.len, want, sizeof want);
    CHECK_EQ(b.drains, 1);
    CHECK(b.queued_at_drain <= o.low_water);
    CHECK(!(c->flags & WSX_F_OVER));
    CHECK(c->evmask & EPOLLIN);
    CHECK_EQ(b.messages, 1);
    close(p.fd);
    wsx_loop_free(loop);
}

/* ---------------------------------------------------- accept callback */

typedef struct acc_log {
    int upgrades, opens, closes;
    size_t queued_in_upgrade;
    int open_in_upgrade;
} acc_log_t;

static int acc_upgrade(wsx_conn_t *c, const ws_request_t *req,
                       wsx_accept_t *acc)
{
    acc_log_t *l = wsx_conn_ctx(c);

    l->upgrades++;
    l->queued_in_upgrade += wsx_conn_queued(c);
    l->open_in_upgrade += wsx_conn_is_open(c);
    if (req->path.len == 3 && memcmp(req->path.ptr, "/no", 3) == 0)
        return 403;
    if (req->path.len == 4 && memcmp(req->path.ptr, "/why", 4) == 0) {
        acc->reason = "room: full";
        return 409;
    }
    if (req->path.len == 6 && memcmp(req->path.ptr, "/other", 6) == 0)
        acc->protocol = "superchat";
    if (req->path.len == 5 && memcmp(req->path.ptr, "/hdrs", 5) == 0)
        acc->headers = "X-Room: 7\r\n";
    return 0;
}

static void acc_open(wsx_conn_t *c, const ws_response_t *resp)
{
    acc_log_t *l = wsx_conn_ctx(c);

    (void)resp;
    l->opens++;
    wsx_conn_send_text(c, "hi", 2);
}

static void acc_close(wsx_conn_t *c, unsigned code, const char *reason,
                      size_t len)
{
    acc_log_t *l = wsx_conn_ctx(c);
    (void)code;
    (void)reason;
    (void)len;
    l->closes++;
}

/* The answer one upgrade request gets, whole, until the server stops. */
static void ask(wsx_loop_t *loop, int port, const char *path,
                const char *protocols, peer_t *p)
{
    memset(p, 0, sizeof *p);
    p->fd = tcp_connect(port, 0);
    send_upgrade(p->fd, path, protocols);
    for (int i = 0; i < 100 && !head_end(p) && !p->eof; i++) {
        wsx_loop_run_once(loop, 5);
        peer_read(p);
    }
    run_rounds(loop, 2);
    peer_read(p);
}

static int has(const peer_t *p, const char *s)
{
    return memmem(p->buf, p->len, s, strlen(s)) != NULL;
}

static void test_accept(void)
{
    static const char *const protocols[] = {"chat", "superchat", NULL};
    wsx_opts_t o = {.protocols = protocols};
    wsx_handler_t h = {
        .on_upgrade = acc_upgrade, .on_open = acc_open, .on_close = acc_close};
    acc_log_t l = {0};
    static peer_t p;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, &l);
    int port = s ? wsx_server_port(s) : 0;
    const char *e0;

    CHECK(s != NULL);
    if (!s) {
        wsx_loop_free(loop);
        return;
    }
    /* Refused before anything was queued: the 403 alone, no open, no
     * close. */
    ask(loop, port, "/no", "chat", &p);
    CHECK(p.len > 12 && memcmp(p.buf, "HTTP/1.1 403 ", 13) == 0);
    CHECK(!has(&p, "101"));
    CHECK(!has(&p, "\x81\x02hi"));
    peer_wait(loop, &p, sizeof p.buf, 500);
    CHECK(p.eof);
    close(p.fd);
    run_rounds(loop, 2);
    CHECK_EQ(l.upgrades, 1);
    CHECK_EQ(l.opens, 0);
    CHECK_EQ(l.closes, 0);

    /* Refused with a reason: it follows the status in the body. */
    ask(loop, port, "/why", NULL, &p);
    CHECK(p.len > 12 && memcmp(p.buf, "HTTP/1.1 409 ", 13) == 0);
    e0 = head_end(&p);
    CHECK(e0 != NULL);
    if (e0)
        CHECK_BYTES(e0, p.len - (size_t)(e0 - (char *)p.buf),
                    "409 Conflict: room: full\n", 25);
    close(p.fd);
    run_rounds(loop, 2);
    CHECK_EQ(l.upgrades, 2);
    CHECK_EQ(l.opens, 0);

    /* Accepted with the preset choice (our preference first); on_open's
     * message follows the 101. */
    ask(loop, port, "/", "superchat, chat", &p);
    const char *e = head_end(&p);
    CHECK(memcmp(p.buf, "HTTP/1.1 101 ", 13) == 0);
    CHECK(has(&p, "Sec-WebSocket-Protocol: chat\r\n"));
    CHECK(e != NULL);
    if (e)
        CHECK_BYTES(e, p.len - (size_t)(e - (char *)p.buf), "\x81\x02hi", 4);
    close(p.fd);

    /* on_upgrade picks another offered protocol; adds a header. */
    ask(loop, port, "/other", "chat, superchat", &p);
    CHECK(has(&p, "Sec-WebSocket-Protocol: superchat\r\n"));
    close(p.fd);
    ask(loop, port, "/hdrs", NULL, &p);
    CHECK(memcmp(p.buf, "HTTP/1.1 101 ", 13) == 0);
    CHECK(has(&p, "\r\nX-Room: 7\r\n"));
    CHECK(!has(&p, "Sec-WebSocket-Protocol"));
    close(p.fd);
    run_rounds(loop, 5);
    CHECK_EQ(l.upgrades, 5);
    CHECK_EQ(l.opens, 3);
    CHECK_EQ(l.closes, 3);
    CHECK_EQ(l.queued_in_upgrade, 0);
    CHECK_EQ(l.open_in_upgrade, 0);
    wsx_loop_free(loop);
}

/* -------------------------------------------------------- frame trace */

typedef struct tr_log {
    int in, out;
    wsx_conn_t *user_in, *user_out, *opened;
    ws_frame_info_t first_in, first_out;
} tr_log_t;

static tr_log_t tr;

static void tr_trace(const ws_frame_info_t *f, void *user)
{
    if (f->dir == WS_TRACE_IN) {
        if (!tr.in++)
            tr.first_in = *f;
        tr.user_in = user;
    } else {
        if (!tr.out++)
            tr.first_out = *f;
        tr.user_out = user;
    }
}

static void tr_open(wsx_conn_t *c, const ws_response_t *resp)
{
    (void)resp;
    tr.opened = c;
}

static void tr_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    wsx_conn_send(c, op, data, len);
}

/* wsx_opts_t.trace sees every frame both ways, with the connection. */
static void test_trace(void)
{
    wsx_opts_t o = {.trace = tr_trace};
    wsx_handler_t h = {.on_open = tr_open, .on_message = tr_message};
    /* "Hello", masked (RFC 6455 §5.7) */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static peer_t p;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, NULL);

    CHECK(s != NULL);
    if (!s) {
        wsx_loop_free(loop);
        return;
    }
    memset(&tr, 0, sizeof tr);
    ask(loop, wsx_server_port(s), "/", NULL, &p);
    const char *e = head_end(&p);
    CHECK(e != NULL);
    size_t before = p.len;
    CHECK(send(p.fd, hello, sizeof hello, 0) == (ssize_t)sizeof hello);
    peer_wait(loop, &p, before + 7, 1000);
    CHECK_EQ(tr.in, 1);
    CHECK_EQ(tr.out, 1);
    CHECK(tr.opened != NULL && tr.user_in == tr.opened &&
          tr.user_out == tr.opened);
    CHECK_BYTES(tr.first_in.header, tr.first_in.header_len, hello, 6);
    CHECK_EQ(tr.first_in.masked, 1);
    CHECK_EQ(tr.first_in.payload_len, 5);
    CHECK_EQ(tr.first_in.len_form, 7);
    CHECK_BYTES(tr.first_out.header, tr.first_out.header_len, "\x81\x05", 2);
    CHECK_EQ(tr.first_out.masked, 0);
    if (e)
        CHECK_BYTES(p.buf + before, p.len - before, "\x81\x05Hello", 7);
    close(p.fd);
    run_rounds(loop, 3);
    wsx_loop_free(loop);
}

/* ---------------------------------------------------- client response */

typedef struct cl_log {
    int opens, errors;
    char protocol[32];
    char header[32];
} cl_log_t;

static void cl_open(wsx_conn_t *c, const ws_response_t *resp)
{
    cl_log_t *l = wsx_conn_ctx(c);
    ws_str_t v;

    l->opens++;
    CHECK(resp != NULL && resp == wsx_conn_response(c));
    if (!resp)
        return;
    CHECK_EQ(resp->status, 101);
    snprintf(l->protocol, sizeof l->protocol, "%.*s", (int)resp->protocol.len,
             resp->protocol.ptr);
    if (ws_header_find(resp->head, resp->head_len, "X-Room", &v))
        snprintf(l->header, sizeof l->header, "%.*s", (int)v.len, v.ptr);
    wsx_conn_close(c, WS_CLOSE_NORMAL, NULL, 0);
}

static void test_client_response(void)
{
    static const char *const protocols[] = {"chat", "superchat", NULL};
    wsx_opts_t o = {.protocols = protocols};
    wsx_handler_t h = {.on_upgrade = acc_upgrade, .on_close = acc_close};
    wsx_handler_t ch = {.on_open = cl_open};
    wsx_client_req_t req = {.protocols = "superchat, chat"};
    acc_log_t l = {0};
    cl_log_t cl = {0};
    char url[64];
    int err = 0;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, &l);

    CHECK(s != NULL);
    if (!s) {
        wsx_loop_free(loop);
        return;
    }
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/hdrs", wsx_server_port(s));
    wsx_conn_t *c = wsx_connect(loop, url, &req, NULL, &ch, &cl, &err);
    CHECK(c != NULL);
    run_until(loop, &cl.opens, 2000);
    CHECK_EQ(cl.opens, 1);
    CHECK(strcmp(cl.protocol, "chat") == 0);
    CHECK(strcmp(cl.header, "7") == 0);
    CHECK(c && wsx_conn_response(c) == NULL); /* only during on_open */
    run_until(loop, &l.closes, 2000);
    CHECK_EQ(l.closes, 1);
    wsx_loop_free(loop);
}

/* ---------------------------------------------------- permessage-deflate */

/* The client sends every message of dfl_msgs; the server echoes; the
 * client checks each echo and closes after the last. */
typedef struct dfl_log {
    int opens, echoes, closes, bad;
    size_t queued_json, queued_plain; /* bytes queued by the sends */
    const ws_pmd_params_t *srv, *cli; /* agreed, as seen in on_open */
    size_t srv_bytes;
    unsigned srv_send_bits;
} dfl_log_t;

static char dfl_json[100000];
static const struct {
    ws_opcode_t op;
    const char *data;
    size_t len;
    int plain; /* sent with wsx_conn_send_uncompressed */
} dfl_msgs[] = {
    {WS_OP_TEXT, dfl_json, sizeof dfl_json, 0},
    {WS_OP_TEXT, "hi", 2, 0}, /* under the threshold: as it is */
    {WS_OP_TEXT, dfl_json, sizeof dfl_json, 1},
    {WS_OP_BINARY, "", 0, 0},
    {WS_OP_TEXT, dfl_json, 5000, 0},
};
#define DFL_N (sizeof dfl_msgs / sizeof dfl_msgs[0])

static void dfl_echo(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    wsx_conn_send(c, op, data, len);
}

static void dfl_srv_open(wsx_conn_t *c, const ws_response_t *resp)
{
    dfl_log_t *l = wsx_conn_ctx(c);
    const ws_pmd_params_t *p = wsx_conn_deflate(c);

    (void)resp;
    l->srv = p;
    l->srv_bytes = wsx_conn_deflate_bytes(c);
    l->srv_send_bits = p ? p->send_window_bits : 0;
}

static void dfl_srv_close(wsx_conn_t *c, unsigned code, const char *reason,
                          size_t len)
{
    dfl_log_t *l = wsx_conn_ctx(c);

    (void)code, (void)reason, (void)len;
    l->closes++;
}

static void dfl_cli_open(wsx_conn_t *c, const ws_response_t *resp)
{
    dfl_log_t *l = wsx_conn_ctx(c);

    (void)resp;
    l->opens++;
    l->cli = wsx_conn_deflate(c);
    for (size_t i = 0; i < DFL_N; i++) {
        size_t before = wsx_conn_queued(c);
        int r = dfl_msgs[i].plain
                    ? wsx_conn_send_uncompressed(
                          c, dfl_msgs[i].op, dfl_msgs[i].data, dfl_msgs[i].len)
                    : wsx_conn_send(c, dfl_msgs[i].op, dfl_msgs[i].data,
                                    dfl_msgs[i].len);
        if (r != 0)
            l->bad++;
        if (i == 0)
            l->queued_json = wsx_conn_queued(c) - before;
        if (i == 2)
            l->queued_plain = wsx_conn_queued(c) - before;
    }
}

static void dfl_cli_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                            size_t len)
{
    dfl_log_t *l = wsx_conn_ctx(c);
    size_t i = (size_t)l->echoes++;

    if (i >= DFL_N || op != dfl_msgs[i].op || len != dfl_msgs[i].len ||
        (len && memcmp(data, dfl_msgs[i].data, len) != 0))
        l->bad++;
    if (l->echoes == (int)DFL_N)
        wsx_conn_close(c, WS_CLOSE_NORMAL, NULL, 0);
}

/* One round trip of dfl_msgs between a wsx server and client in one
 * loop, each side's deflate config as given (NULL = off). */
static void dfl_run(const ws_pmd_config_t *srv, const ws_pmd_config_t *cli,
                    dfl_log_t *l)
{
    wsx_opts_t so = {.deflate = srv}, co = {.deflate = cli};
    wsx_handler_t sh = {.on_open = dfl_srv_open,
                        .on_message = dfl_echo,
                        .on_close = dfl_srv_close};
    wsx_handler_t ch = {.on_open = dfl_cli_open, .on_message = dfl_cli_message};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &so, &sh, l);
    char url[64];
    int err = 0;

    CHECK(s != NULL);
    if (s) {
        snprintf(url, sizeof url, "ws://127.0.0.1:%d/", wsx_server_port(s));
        CHECK(wsx_connect(loop, url, NULL, &co, &ch, l, &err) != NULL);
        run_until(loop, &l->closes, 5000);
    }
    CHECK_EQ(l->opens, 1);
    CHECK_EQ(l->echoes, DFL_N);
    CHECK_EQ(l->bad, 0);
    CHECK_EQ(l->closes, 1);
    wsx_loop_free(loop); /* the states are freed with the connections */
}

static void test_deflate(void)
{
    ws_pmd_config_t srv, cli;
    dfl_log_t l = {0};

    for (size_t i = 0; i < sizeof dfl_json; i++)
        dfl_json[i] = "{\"id\":7,\"name\":\"wsx\",\"ok\":true}\n"[i % 33];
    ws_pmd_config_init(&srv);
    ws_pmd_config_init(&cli);
    cli.recv_window_bits = 10; /* the server must compress within 1 KiB */
    cli.level = 1;
    dfl_run(&srv, &cli, &l);
    CHECK(l.srv != NULL && l.cli != NULL);
    CHECK_EQ(l.srv_send_bits, 10);
    CHECK(l.srv_bytes > 0 && l.srv_bytes < 132296);
    CHECK(l.queued_json > 0 && l.queued_json < sizeof dfl_json / 20);
    CHECK(l.queued_plain > sizeof dfl_json);

    /* Either side off: no extension, the same messages still pass. */
    memset(&l, 0, sizeof l);
    dfl_run(NULL, &cli, &l);
    CHECK(l.srv == NULL && l.cli == NULL);
    CHECK(l.queued_json > sizeof dfl_json);
    memset(&l, 0, sizeof l);
    dfl_run(&srv, NULL, &l);
    CHECK(l.srv == NULL && l.cli == NULL);
}

/* ---------------------------------------------------------- broadcast */

static int port_of(int fd, int (*name)(int, struct sockaddr *, socklen_t *))
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;

    return name(fd, (struct sockaddr *)&a, &al) == 0 ? ntohs(a.sin_port) : -1;
}

static void test_broadcast(void)
{
    static peer_t p[3];
    static const uint8_t hello[] = "\x81\x05hello";
    wsx_handler_t h = {0};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, NULL);
    wsx_conn_t *conns[3];
    int err = 0, n = 0;

    CHECK(s != NULL);
    for (int i = 0; s && i < 3; i++)
        CHECK(peer_open(loop, &p[i], wsx_server_port(s), 0) == 0);
    run_rounds(loop, 2);
    /* conns[i] is the server's end of p[i]'s connection. */
    for (int i = 0; s && i < 3; i++)
        for (wsx_conn_t *c = first_conn(s); c; c = wsx_server_next(s, c))
            if (port_of(c->fd, getpeername) == port_of(p[i].fd, getsockname))
                conns[n++] = c;
    CHECK_EQ(n, 3);
    if (n != 3) {
        wsx_loop_free(loop);
        return;
    }

    /* Built once, referenced by each queue, counted by each. */
    wsx_frame_t *f = wsx_frame_new(WS_OP_TEXT, "hello", 5, &err);
    CHECK(f != NULL && err == 0);
    CHECK_EQ(wsx_frame_refs(f), 1);
    CHECK_EQ(wsx_frame_size(f), 7);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(wsx_conn_send_frame(conns[i], f), 0);
    CHECK_EQ(wsx_frame_refs(f), 4);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(wsx_conn_queued(conns[i]), 7);
        CHECK(conns[i]->out.head->kind == WSX_CH_FRAME &&
              conns[i]->out.head->frame == f);
    }
    /* Written: every queue let go; every peer got the same bytes. */
    for (int i = 0; i < 3; i++)
        peer_wait(loop, &p[i], 7, 2000);
    CHECK_EQ(wsx_frame_refs(f), 1);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(wsx_conn_queued(conns[i]), 0);
        CHECK_BYTES(p[i].buf, p[i].len, hello, 7);
        p[i].len = 0;
    }

    /* Not inside a fragmented message of ours (RFC 6455 §5.4). */
    CHECK_EQ(wsx_conn_send_fragment(conns[0], WS_OP_TEXT, 0, "ab", 2), 0);
    CHECK_EQ(wsx_conn_send_frame(conns[0], f), WS_ESTATE);
    CHECK_EQ(wsx_conn_send_fragment(conns[0], WS_OP_TEXT, 1, "c", 1), 0);
    CHECK_EQ(wsx_conn_send_frame(conns[0], f), 0);
    /* A connection dropped with the frame queued lets go too. */
    CHECK_EQ(wsx_conn_send_frame(conns[1], f), 0);
    CHECK_EQ(wsx_frame_refs(f), 3);
    wsx_conn_drop(conns[1]);
    run_rounds(loop, 3);
    peer_wait(loop, &p[0], 14, 2000);
    CHECK_BYTES(p[0].buf, p[0].len,
                "\x01\x02"
                "ab"
                "\x80\x01"
                "c"
                "\x81\x05"
                "hello",
                14);
    CHECK_EQ(wsx_frame_refs(f), 1);
    wsx_frame_release(f); /* the last reference: freed (ASan checks) */

    /* No frame for text that is not UTF-8; wsx_broadcast counts. */
    CHECK(wsx_frame_new(WS_OP_TEXT, "\xff", 1, &err) == NULL);
    CHECK_EQ(err, WS_EUTF8);
    CHECK(wsx_frame_new(WS_OP_PING, "", 0, &err) == NULL);
    CHECK_EQ(err, WS_EINVAL);
    conns[1] = conns[2];
    CHECK_EQ(wsx_broadcast(conns, 2, WS_OP_BINARY, "\x00\x01", 2), 2);
    CHECK_EQ(wsx_server_broadcast(s, WS_OP_TEXT, "x", 1), 2);
    p[2].len = 0;
    peer_wait(loop, &p[2], 7, 2000);
    CHECK_BYTES(p[2].buf, p[2].len, "\x82\x02\x00\x01\x81\x01x", 7);
    for (int i = 0; i < 3; i++)
        close(p[i].fd);
    wsx_loop_free(loop);
}

static void on_client_open(wsx_conn_t *c, const ws_response_t *resp)
{
    int *r = wsx_conn_ctx(c);
    wsx_frame_t *f = wsx_frame_new(WS_OP_BINARY, "z", 1, NULL);

    (void)resp;
    /* A client's frames are masked, each its own key: no sharing. */
    *r = wsx_conn_send_frame(c, f);
    wsx_frame_release(f);
    wsx_conn_drop(c);
}

static void test_broadcast_client(void)
{
    wsx_handler_t h = {0}, ch = {.on_open = on_client_open};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, NULL);
    int r = 1, err;
    char url[64];

    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", s ? wsx_server_port(s) : 1);
    CHECK(wsx_connect(loop, url, NULL, NULL, &ch, &r, &err) != NULL);
    for (int i = 0; i < 200 && r == 1; i++)
        wsx_loop_run_once(loop, 5);
    CHECK_EQ(r, WS_EINVAL);
    wsx_loop_free(loop);
}

/* ---------------------------------------------------------- UDP watch */

typedef struct udp_echo {
    wsx_watch_t *w;
    char pending[4][64];
    size_t len[4];
    struct sockaddr_in from[4];
    int n, writable_calls;
} udp_echo_t;

/* Datagrams are taken while readable; their echoes wait for writable,
 * which is watched only while there is something to send. */
static void on_udp(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    udp_echo_t *u = user;

    if ((ready & WSX_READABLE) && u->n < 4) {
        socklen_t al = sizeof u->from[u->n];
        ssize_t r = recvfrom(fd, u->pending[u->n], sizeof u->pending[0], 0,
                             (struct sockaddr *)&u->from[u->n], &al);
        if (r >= 0) {
            u->len[u->n++] = (size_t)r;
            wsx_watch_set(w, WSX_READABLE | WSX_WRITABLE);
        }
    }
    if ((ready & WSX_WRITABLE) && u->n > 0) {
        u->writable_calls++;
        for (int i = 0; i < u->n; i++)
            sendto(fd, u->pending[i], u->len[i], 0,
                   (struct sockaddr *)&u->from[i], sizeof u->from[i]);
        u->n = 0;
        wsx_watch_set(w, WSX_READABLE);
    }
}

static void test_udp_watch(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    static const char *const msgs[] = {"one", "two", "three"};
    udp_echo_t u = {0};
    char got[3][16] = {{0}};
    int ngot = 0;
    wsx_loop_t *loop = wsx_loop_new();
    int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int cfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    CHECK(bind(sfd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(getsockname(sfd, (struct sockaddr *)&a, &al) == 0);
    u.w = wsx_watch_start(loop, sfd, WSX_READABLE, on_udp, &u);
    CHECK(u.w != NULL);
    for (int i = 0; i < 3; i++)
        sendto(cfd, msgs[i], strlen(msgs[i]), 0, (struct sockaddr *)&a,
               sizeof a);
    uint64_t end = now_ms() + 2000;
    while (ngot < 3 && now_ms() < end) {
        wsx_loop_run_once(loop, 5);
        ssize_t r = recv(cfd, got[ngot], sizeof got[0] - 1, 0);
        if (r >= 0)
            ngot++;
    }
    CHECK_EQ(ngot, 3);
    for (int i = 0; i < ngot; i++)
        CHECK_BYTES(got[i], strlen(got[i]), msgs[i], strlen(msgs[i]));
    CHECK(u.writable_calls >= 1);
    CHECK_EQ(u.w->events, WSX_READABLE); /* writable only while needed */
    /* Nothing but the watch keeps the loop: stopped, run returns. */
    wsx_watch_stop(u.w);
    CHECK_EQ(wsx_loop_run(loop), 0);
    close(sfd);
    close(cfd);
    wsx_loop_free(loop);
}

/* -------------------------------------------- a transport that buffers */

/*
 * Like TLS over memory BIOs: it reads everything the socket has into its
 * own buffer and hands it out a few bytes at a time (so the socket is
 * empty while input is still pending), writes at most 1000 bytes per
 * call, and has no sendfile (it must see every byte).
 */
#define DRIBBLE 5

typedef struct dribble {
    uint8_t buf[64 * 1024];
    size_t start, end;
} dribble_t;

static int dr_open(wsx_conn_t *c)
{
    return (c->tr_data = calloc(1, sizeof(dribble_t))) ? 0 : -1;
}

static ssize_t dr_read(wsx_conn_t *c, uint8_t *buf, size_t cap, uint8_t **data)
{
    dribble_t *d = c->tr_data;
    size_t n;

    (void)buf;
    (void)cap;
    if (d->start == d->end) {
        ssize_t r = read(c->fd, d->buf, sizeof d->buf);
        if (r <= 0)
            return r;
        d->start = 0;
        d->end = (size_t)r;
    }
    n = d->end - d->start < DRIBBLE ? d->end - d->start : DRIBBLE;
    *data = d->buf + d->start; /* not the loop's buffer */
    d->start += n;
    return (ssize_t)n;
}

static ssize_t dr_writev(wsx_conn_t *c, struct iovec *iov, int iovcnt)
{
    struct iovec one;

    if (iovcnt == 0)
        return 0;
    one = iov[0];
    if (one.iov_len > 1000)
        one.iov_len = 1000;
    return send(c->fd, one.iov_base, one.iov_len, MSG_NOSIGNAL);
}

static int dr_shutdown(wsx_conn_t *c)
{
    return shutdown(c->fd, SHUT_WR);
}

static void dr_close(wsx_conn_t *c)
{
    free(c->tr_data);
    close(c->fd);
}

static unsigned dr_pending(const wsx_conn_t *c)
{
    const dribble_t *d = c->tr_data;
    return d && d->start < d->end ? WSX_TR_READ : 0;
}

static const wsx_transport_t dribble_transport = {.name = "dribble",
                                                  .open = dr_open,
                                                  .read = dr_read,
                                                  .writev = dr_writev,
                                                  .shutdown = dr_shutdown,
                                                  .close = dr_close,
                                                  .pending = dr_pending};

static void echo_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                         size_t len)
{
    wsx_conn_send(c, op, data, len);
}

static void test_buffering_transport(void)
{
    char dir[] = "/tmp/wsxunit.XXXXXX", path[64];
    static uint8_t file[50000], msg[3000], frame[3100], want[3100];
    static peer_t p;
    wsx_handler_t h = {.on_message = echo_message};
    wsx_opts_t o = {.static_dir = dir};

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/f.bin", dir);
    for (size_t i = 0; i < sizeof file; i++)
        file[i] = (uint8_t)(i * 13 + 1);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(file, 1, sizeof file, fp) == sizeof file);
    if (fp)
        fclose(fp);
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, NULL);
    CHECK(s != NULL);
    if (!s)
        goto out;
    s->ep.tr = &dribble_transport;

    /* One write of a 3000-byte message: the socket is empty after the
     * transport's first read, the rest comes from its buffer. */
    CHECK(peer_open(loop, &p, wsx_server_port(s), 0) == 0);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i % 251);
    size_t n = client_frame(frame, WS_OP_BINARY, msg, sizeof msg);
    CHECK(send(p.fd, frame, n, 0) == (ssize_t)n);
    want[0] = 0x82, want[1] = 126, want[2] = 3000 >> 8, want[3] = 3000 & 255;
    memcpy(want + 4, msg, sizeof msg);
    peer_wait(loop, &p, 3004, 3000);
    CHECK_BYTES(p.buf, p.len, want, 3004);
    close(p.fd);

    /* A static file, without sendfile: read and written through it. */
    memset(&p, 0, sizeof p);
    p.fd = tcp_connect(wsx_server_port(s), 0);
    const char get[] = "GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    CHECK(send(p.fd, get, sizeof get - 1, 0) == (ssize_t)sizeof get - 1);
    peer_wait(loop, &p, sizeof p.buf, 3000);
    const char *e = head_end(&p);
    CHECK(p.eof && e != NULL);
    CHECK(memcmp(p.buf, "HTTP/1.1 200 ", 13) == 0);
    if (e)
        CHECK_BYTES(e, p.len - (size_t)(e - (char *)p.buf), file, sizeof file);
    close(p.fd);
out:
    wsx_loop_free(loop);
    unlink(path);
    rmdir(dir);
}

/* A transport with a handshake of its own (as TLS has): while it lasts,
 * queued output waits without asking for writability (the socket is
 * writable all along: that would spin); once it is over the transport
 * says WSX_TR_WRITE and the queue goes out. */
static unsigned hs_bits;

static ssize_t hs_read(wsx_conn_t *c, uint8_t *buf, size_t cap, uint8_t **data)
{
    *data = buf;
    return read(c->fd, buf, cap);
}

static ssize_t hs_writev(wsx_conn_t *c, struct iovec *iov, int iovcnt)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};

    hs_bits &= ~WSX_TR_WRITE;
    if (hs_bits & WSX_TR_HANDSHAKE) {
        errno = EAGAIN;
        return -1;
    }
    return iovcnt ? sendmsg(c->fd, &m, MSG_NOSIGNAL) : 0;
}

static int hs_shutdown(wsx_conn_t *c)
{
    return shutdown(c->fd, SHUT_WR);
}

static void hs_close(wsx_conn_t *c)
{
    close(c->fd);
}

static unsigned hs_pending(const wsx_conn_t *c)
{
    (void)c;
    return hs_bits;
}

static const wsx_transport_t hs_transport = {.name = "hs",
                                             .read = hs_read,
                                             .writev = hs_writev,
                                             .shutdown = hs_shutdown,
                                             .close = hs_close,
                                             .pending = hs_pending};

static void test_transport_handshake(void)
{
    static peer_t p;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, NULL, NULL);
    wsx_conn_t *c;

    CHECK(s != NULL);
    if (!s)
        goto out;
    s->ep.tr = &hs_transport;
    hs_bits = WSX_TR_HANDSHAKE;
    p.fd = tcp_connect(wsx_server_port(s), 0);
    run_rounds(loop, 3);
    c = loop->conns;
    CHECK(c != NULL);
    if (!c)
        goto out;
    CHECK_EQ(wsx_out_append(c, "abc", 3), 0);
    run_rounds(loop, 3);
    CHECK_EQ(c->out.bytes, 3);
    CHECK((c->evmask & EPOLLOUT) == 0);
    CHECK(c->evmask & EPOLLIN);

    hs_bits = WSX_TR_WRITE; /* the handshake is over: push */
    wsx_conn_update_events(c);
    CHECK(c->evmask & EPOLLOUT);
    peer_wait(loop, &p, 3, 2000);
    CHECK_BYTES(p.buf, p.len, "abc", 3);
    CHECK_EQ(c->out.bytes, 0);
    run_rounds(loop, 2);
    CHECK((c->evmask & EPOLLOUT) == 0);

    /* The peer's EOF ends it. */
    close(p.fd);
    run_rounds(loop, 3);
    CHECK(loop->conns == NULL);
out:
    wsx_loop_free(loop);
}

/* ws:// and wss:// URLs: the scheme's default port (RFC 6455 §3). */
static void test_url(void)
{
    wsx_url_t u;

    CHECK_EQ(wsx_url_parse("wss://example.org/chat?x=1", &u), 0);
    CHECK(u.tls == 1 && u.port == 443 && !strcmp(u.host, "example.org"));
    CHECK(!strcmp(u.path, "/chat?x=1"));
    CHECK_EQ(wsx_url_parse("WSS://[::1]:8443", &u), 0);
    CHECK(u.tls == 1 && u.port == 8443 && !strcmp(u.host, "::1"));
    CHECK(!strcmp(u.path, "/"));
    CHECK_EQ(wsx_url_parse("ws://h", &u), 0);
    CHECK(u.tls == 0 && u.port == 80);
    CHECK_EQ(wsx_url_parse("wss:/h", &u), WSX_EURL);
    CHECK_EQ(wsx_url_parse("https://h/", &u), WSX_EURL);
    CHECK_EQ(wsx_url_parse("wss://h:0/", &u), WSX_EURL);
}

/* ----------------------------------------------------- large messages */

/* Plain TCP, counting the reads that went somewhere other than the
 * loop's read buffer: into the engine's reassembly buffer. */
static size_t in_place_reads, in_place_bytes;

static ssize_t count_read(wsx_conn_t *c, uint8_t *buf, size_t cap,
                          uint8_t **data)
{
    ssize_t n = wsx_tcp_transport.read(c, buf, cap, data);
    if (n > 0 && buf != c->ep->loop->rbuf) {
        in_place_reads++;
        in_place_bytes += (size_t)n;
    }
    return n;
}

static const wsx_transport_t counting_transport = {
    .name = "counting",
    .read = count_read,
    .writev = NULL, /* set from wsx_tcp_transport below */
};

static size_t queued_after_send;

static void echo_and_look(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                          size_t len)
{
    CHECK_EQ(wsx_conn_send(c, op, data, len), 0);
    queued_after_send = wsx_conn_queued(c);
}

/* A 400 000-byte message: after the first read the rest is read straight
 * into the engine's buffer (ws_conn_recv_buf), and its echo goes to the
 * socket at once, header and payload in one writev (ws_conn_send_header),
 * only what the socket did not take queued: the echo is byte for byte
 * the frame the encoder would have written. */
static void test_large_in_place(void)
{
    static uint8_t msg[400000], frame[400016], want[400016];
    static peer_t p;
    static wsx_transport_t ctr;
    wsx_handler_t h = {.on_message = echo_and_look};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, NULL);
    ws_conn_t enc;

    CHECK(s != NULL);
    if (!s) {
        wsx_loop_free(loop);
        return;
    }
    ctr = counting_transport;
    ctr.writev = wsx_tcp_transport.writev;
    ctr.shutdown = wsx_tcp_transport.shutdown;
    ctr.close = wsx_tcp_transport.close;
    ctr.sendfile = wsx_tcp_transport.sendfile;
    s->ep.tr = &ctr;
    in_place_reads = in_place_bytes = 0;
    queued_after_send = (size_t)-1;
    CHECK(peer_open(loop, &p, wsx_server_port(s), 1 << 20) == 0);
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    size_t n = client_frame(frame, WS_OP_BINARY, msg, sizeof msg);
    CHECK(ws_conn_init(&enc, WS_ROLE_SERVER, NULL) == 0);
    ptrdiff_t wn = ws_conn_send_message(&enc, WS_OP_BINARY, msg, sizeof msg,
                                        want, sizeof want);
    CHECK(wn == (ptrdiff_t)sizeof msg + 10);
    for (size_t at = 0; at < n;) { /* in pieces, as a slow peer sends */
        size_t k = n - at < 100000 ? n - at : 100000;
        CHECK(send(p.fd, frame + at, k, 0) == (ssize_t)k);
        at += k;
        run_rounds(loop, 3);
    }
    peer_wait(loop, &p, (size_t)wn, 5000);
    CHECK_BYTES(p.buf, p.len, want, (size_t)wn);
    CHECK(in_place_reads >= 1);
    CHECK(in_place_bytes >= sizeof msg / 2);
    CHECK(queued_after_send < sizeof msg); /* the socket took some at once */
    close(p.fd);
    wsx_loop_free(loop);
}

/* Group commit (wsx_loop_before_flush): a round's output leaves only
 * after the hook, even a message large enough to be written at once
 * (send_now) when no hook is set: an application that acknowledges
 * records makes them durable in the hook, before any answer goes. */
typedef struct flush_look {
    int peer_fd;
    int calls;
    int early; /* bytes had reached the peer when it first ran */
} flush_look_t;

static void look_before_flush(wsx_loop_t *loop, void *user)
{
    flush_look_t *fl = user;
    uint8_t b;
    (void)loop;
    /* The first round with output is the answer's. */
    if (fl->calls++ == 0 &&
        recv(fl->peer_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
        fl->early = 1;
}

static void answer_big(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                       size_t len)
{
    static uint8_t big[100000];
    (void)op;
    (void)data;
    (void)len;
    CHECK_EQ(wsx_conn_send_binary(c, big, sizeof big), 0);
}

static void test_group_commit(void)
{
    static peer_t p;
    uint8_t frame[32];
    wsx_handler_t h = {.on_message = answer_big};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, NULL);
    flush_look_t fl = {0};

    CHECK(s != NULL);
    if (!s || peer_open(loop, &p, wsx_server_port(s), 1 << 20) != 0) {
        fail(__LINE__, "no WebSocket");
        wsx_loop_free(loop);
        return;
    }
    fl.peer_fd = p.fd;
    wsx_loop_before_flush(loop, look_before_flush, &fl);
    size_t n = client_frame(frame, WS_OP_TEXT, "go", 2);
    CHECK(send(p.fd, frame, n, 0) == (ssize_t)n);
    peer_wait(loop, &p, 100000 + 10, 3000); /* a 64-bit length: 10 */
    CHECK_EQ(p.len, 100000 + 10);
    CHECK(fl.calls >= 1);
    CHECK_EQ(fl.early, 0);
    close(p.fd);
    wsx_loop_free(loop);
}

/* -------------------------------------------------------------- alloc */

static void count_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                          size_t len)
{
    size_t *got = wsx_conn_ctx(c);
    (void)op;
    (void)data;
    *got += len;
}

/* Send one masked binary message of len bytes and wait until the server
 * has counted it. */
static void deliver(wsx_loop_t *loop, peer_t *p, size_t len, size_t *got)
{
    static uint8_t payload[200000], frame[200016];
    size_t want = *got + len,
           n = client_frame(frame, WS_OP_BINARY, payload, len);

    CHECK(send(p->fd, frame, n, 0) == (ssize_t)n);
    for (int i = 0; i < 400 && *got < want; i++)
        wsx_loop_run_once(loop, 5);
    CHECK_EQ(*got, want);
    run_rounds(loop, 2);
}

/* The engine keeps reassembly buffers up to WSX_RBUF_KEEP and frees
 * larger ones after the message: into the loop's pool, which hands the
 * block back for the next large message. */
static void test_reassembly_pool(void)
{
    wsx_handler_t h = {.on_message = count_message};
    static peer_t p;
    size_t got = 0;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, &got);

    CHECK(s != NULL);
    if (!s || peer_open(loop, &p, wsx_server_port(s), 0) != 0) {
        fail(__LINE__, "no WebSocket");
        wsx_loop_free(loop);
        return;
    }
    deliver(loop, &p, 1000, &got);
    CHECK_EQ(loop->npool, 0); /* small: the engine kept it */
    deliver(loop, &p, 150000, &got);
    /* large: released into the pool (with the blocks it outgrew) */
    CHECK(loop->npool >= 1);
    CHECK(loop->pool_bytes >= 150000);
    unsigned blocks = loop->npool;
    size_t pooled = loop->pool_bytes;
    deliver(loop, &p, 150000, &got);
    /* the same blocks, taken and given back: nothing new allocated */
    CHECK_EQ(loop->npool, blocks);
    CHECK_EQ(loop->pool_bytes, pooled);
    close(p.fd);
    wsx_loop_free(loop);
}

/* ------------------------------------------------------------- limits */

/* The connection of s that is not `other` (s has two). */
static wsx_conn_t *other_conn(wsx_server_t *s, const wsx_conn_t *other)
{
    wsx_conn_t *c = wsx_server_next(s, NULL);

    return c == other ? wsx_server_next(s, c) : c;
}

/* Bytes reach the server, and rounds run until cond holds (bounded). */
#define RUN_WHILE(loop, cond)                                                  \
    do {                                                                       \
        for (int i_ = 0; i_ < 400 && (cond); i_++)                             \
            wsx_loop_run_once(loop, 5);                                        \
    } while (0)

/* What is counted: reassembly blocks at their capacity, queue chunks, a
 * broadcast frame once for the loop but whole for each queue. */
static void test_budget_accounting(void)
{
    wsx_handler_t h = {.on_message = count_message};
    static peer_t a, b;
    static uint8_t payload[150000], frame[150016];
    size_t got = 0;
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, NULL, &h, &got);

    if (!s || peer_open(loop, &a, wsx_server_port(s), 0) != 0) {
        fail(__LINE__, "no WebSocket");
        wsx_loop_free(loop);
        return;
    }
    wsx_conn_t *ca = first_conn(s);
    CHECK(peer_open(loop, &b, wsx_server_port(s), 4096) == 0);
    wsx_conn_t *cb = other_conn(s, ca);
    CHECK_EQ(wsx_budget(loop), WSX_DEFAULT_MAX_BUFFERED);
    CHECK_EQ(wsx_loop_buffered(loop), 0);

    /* A small frame: the chunk it sits in. */
    CHECK_EQ(wsx_conn_send_text(ca, "abc", 3), 0);
    CHECK(ca->out.mem >= 5);
    CHECK_EQ(wsx_loop_buffered(loop), ca->out.mem);
    wsx_conn_flush_round(ca);
    CHECK_EQ(wsx_loop_buffered(loop), 0);

    /* A shared frame: once for the loop, until the last queue lets go. */
    wsx_frame_t *f = wsx_frame_new(WS_OP_BINARY, payload, 100000, NULL);
    CHECK(f != NULL);
    if (!f)
        goto out;
    CHECK_EQ(wsx_conn_send_frame(ca, f), 0);
    CHECK_EQ(wsx_conn_send_frame(cb, f), 0);
    CHECK_EQ(ca->out.mem, f->len);
    CHECK_EQ(cb->out.mem, f->len);
    CHECK_EQ(wsx_loop_buffered(loop), f->len);
    wsx_frame_release(f);
    wsx_conn_flush_round(ca); /* all of it: a's kernel buffer is roomy */
    CHECK_EQ(ca->out.mem, 0);
    CHECK_EQ(wsx_loop_buffered(loop), f->len); /* b still holds it */
    peer_wait(loop, &b, 100010, 3000);
    peer_wait(loop, &a, 100010, 3000);
    CHECK_EQ(wsx_loop_buffered(loop), 0);

    /* A message under way: its block, charged to its connection. */
    size_t n = client_frame(frame, WS_OP_BINARY, payload, sizeof payload);
    CHECK(send(b.fd, frame, 100000, 0) == 100000);
    RUN_WHILE(loop, cb->rbuf_bytes < 100000 - 14);
    /* The engine doubles its first read's worth up to what came. */
    CHECK(cb->rbuf_bytes >= 100000 - 14 && cb->rbuf_bytes < 2 * 100000);
    CHECK_EQ(ca->rbuf_bytes, 0);
    CHECK_EQ(loop->rbuf_bytes, cb->rbuf_bytes);
    CHECK_EQ(wsx_loop_buffered(loop), cb->rbuf_bytes);
    CHECK(send(b.fd, frame + 100000, n - 100000, 0) == (ssize_t)(n - 100000));
    RUN_WHILE(loop, got < sizeof payload);
    CHECK_EQ(got, sizeof payload);
    CHECK_EQ(cb->rbuf_bytes, 0); /* freed after the message: to the pool */
    CHECK_EQ(wsx_loop_buffered(loop), 0);
    CHECK(loop->pool_bytes > 0);

    /* What a dropped connection holds is not held against the living. */
    CHECK(send(b.fd, frame, 70000, 0) == 70000);
    RUN_WHILE(loop, cb->rbuf_bytes == 0);
    /* Something queued first, so the big message is queued behind it
     * rather than written straight to the socket (send_now). */
    CHECK_EQ(wsx_conn_send_binary(ca, payload, 1), 0);
    CHECK_EQ(wsx_conn_send_binary(ca, payload, 120000), 0);
    wsx_conn_drop(ca);
    loop->max_buffered = 100000;
    CHECK(wsx_loop_buffered(loop) > 100000);
    CHECK_EQ(wsx_budget_enforce(loop, 0), 0);
    CHECK_EQ(wsx_loop_buffered(loop), cb->rbuf_bytes);
    CHECK(wsx_conn_is_open(cb));
out:
    close(a.fd);
    close(b.fd);
    wsx_loop_free(loop);
}

/* Who was closed with which code. */
typedef struct closes {
    wsx_conn_t *c[4];
    unsigned code[4];
} closes_t;

static void note_close(wsx_conn_t *c, unsigned code, const char *reason,
                       size_t len)
{
    closes_t *cl = wsx_conn_ctx(c);
    (void)reason;
    (void)len;
    for (int i = 0; i < 4; i++)
        if (cl->c[i] == c)
            cl->code[i] = code;
}

/* What a peer must read: one close frame, then EOF. */
static void check_close_frame(int line, wsx_loop_t *loop, peer_t *p,
                              unsigned code, const char *reason)
{
    uint8_t want[128];
    size_t rl = strlen(reason);

    want[0] = 0x88;
    want[1] = (uint8_t)(2 + rl);
    want[2] = (uint8_t)(code >> 8);
    want[3] = (uint8_t)code;
    memcpy(want + 4, reason, rl);
    peer_wait(loop, p, sizeof p->buf, 3000);
    if (!p->eof)
        fail(line, "no EOF after the close frame");
    check_bytes(line, p->buf, p->len, want, 4 + rl);
}

/* Over the budget the largest holder goes first, with 1008 for output it
 * does not read and 1009 for a message it is sending; others carry on. */
static void test_budget_offenders(void)
{
    static const char slow[] =
        "not reading: output over the server's memory budget";
    static const char big[] = "message too big for the server's memory budget";
    wsx_opts_t o = {.max_buffered = 700 * 1024};
    wsx_handler_t h = {.on_message = echo_message, .on_close = note_close};
    static peer_t pa, pb, pc, pd;
    peer_t *peers[4] = {&pa, &pb, &pc, &pd};
    static uint8_t payload[600 * 1024], frame[300016];
    closes_t cl = {0};
    wsx_loop_t *loop = wsx_loop_new();
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, &cl);

    CHECK(s != NULL);
    for (int i = 0; s && i < 4; i++) {
        CHECK(peer_open(loop, peers[i], wsx_server_port(s), 4096) == 0);
        cl.c[i] = first_conn(s); /* the newest comes first */
    }
    if (!s || !cl.c[3]) {
        wsx_loop_free(loop);
        return;
    }
    CHECK_EQ(wsx_budget(loop), 700 * 1024);
    /* c: 150000 bytes of a 300000-byte message, a block of ~256 KiB. */
    size_t n = client_frame(frame, WS_OP_BINARY, payload, 300000);
    CHECK(n > 150000 && send(pc.fd, frame, 150000, 0) == 150000);
    RUN_WHILE(loop, cl.c[2]->rbuf_bytes < 250000);
    CHECK(cl.c[2]->rbuf_bytes >= 250000 && cl.c[2]->rbuf_bytes <= 262144);
    /* a and b: 600 and 300 KiB queued, not yet written (each behind a
     * byte already queued, so neither goes straight to the socket). */
    CHECK_EQ(wsx_conn_send_binary(cl.c[0], payload, 1), 0);
    CHECK_EQ(wsx_conn_send_binary(cl.c[1], payload, 1), 0);
    CHECK_EQ(wsx_conn_send_binary(cl.c[0], payload, 600 * 1024), 0);
    CHECK_EQ(wsx_conn_send_binary(cl.c[1], payload, 300 * 1024), 0);
    CHECK(wsx_loop_buffered(loop) > 1100 * 1024);

    wsx_budget_enforce(loop, 0);
    CHECK_EQ(cl.code[0], WS_CLOSE_POLICY); /* the largest, alone */
    CHECK_EQ(cl.code[1], 0);
    CHECK_EQ(cl.code[2], 0);
    CHECK(wsx_loop_buffered(loop) <= 700 * 1024);
    CHECK_EQ(cl.c[0]->rbuf_bytes, 0);

    /* A smaller budget: b (300 KiB of output), then c (its block). */
    loop->max_buffered = 200 * 1024;
    wsx_budget_enforce(loop, 0);
    CHECK_EQ(cl.code[1], WS_CLOSE_POLICY);
    CHECK_EQ(cl.code[2], WS_CLOSE_TOO_BIG);
    CHECK_EQ(cl.code[3], 0);
    CHECK(wsx_loop_buffered(loop) <= 200 * 1024);
    CHECK_EQ(loop->rbuf_bytes, 0);

    /* Each reads only its close frame (nothing of it had gone out). */
    check_close_frame(__LINE__, loop, &pa, WS_CLOSE_POLICY, slow);
    check_close_frame(__LINE__, loop, &pb, WS_CLOSE_POLICY, slow);
    check_close_frame(__LINE__, loop, &pc, WS_CLOSE_TOO_BIG, big);
    /* d was never in the way. */
    static const uint8_t hi[] = {0x81, 2, 'h', 'i'};
    n = client_frame(frame, WS_OP_TEXT, "hi", 2);
    CHECK(send(pd.fd, frame, n, 0) == (ssize_t)n);
    peer_wait(loop, &pd, sizeof hi, 3000);
    CHECK_BYTES(pd.buf, pd.len, hi, sizeof hi);
    CHECK(wsx_conn_is_open(cl.c[3]));
    for (int i = 0; i < 4; i++)
        close(peers[i]->fd);
    wsx_loop_free(loop);
}

/* The limits' options: sizes with units, defaults by end, a loop that
 * has no server has no budget. */
static void test_limit_options(void)
{
    unsigned long long v = 7;
    wsx_opts_t o = {0}, r;
    wsx_loop_t *loop = wsx_loop_new();

    CHECK(wsx_parse_size("8M", SIZE_MAX, &v) == 0 && v == 8u << 20);
    CHECK(wsx_parse_size("3K", SIZE_MAX, &v) == 0 && v == 3072);
    CHECK(wsx_parse_size("1G", SIZE_MAX, &v) == 0 && v == 1u << 30);
    CHECK(wsx_parse_size("4096", SIZE_MAX, &v) == 0 && v == 4096);
    v = 7;
    CHECK_EQ(wsx_parse_size("8MB", SIZE_MAX, &v), -1);
    CHECK_EQ(wsx_parse_size("M", SIZE_MAX, &v), -1);
    CHECK_EQ(wsx_parse_size("", SIZE_MAX, &v), -1);
    CHECK_EQ(wsx_parse_size("-1K", SIZE_MAX, &v), -1);
    CHECK_EQ(wsx_parse_size("2K", 2047, &v), -1);
    CHECK_EQ(wsx_parse_size("17179869184G", ~0ull, &v), -1); /* 2^64 */
    CHECK_EQ(v, 7);
    CHECK_EQ(wsx_opts_set(&o, "max-buffered", "8M"), 0);
    CHECK_EQ(o.max_buffered, 8u << 20);
    CHECK_EQ(wsx_opts_set(&o, "max-buffered", "0"), -1);
    CHECK_EQ(wsx_opts_set(&o, "stall-timeout", "2.5"), 0);
    CHECK_EQ(o.stall_timeout, 2500);
    CHECK_EQ(wsx_opts_set(&o, "stall-timeout", "0"), 0);
    CHECK(o.stall_timeout < 0); /* none */
    CHECK_EQ(wsx_opts_set(&o, "stall-timeout", "soon"), -1);
    CHECK_EQ(wsx_opts_set(&o, "ping-interval", "1"), -1);
    CHECK_EQ(o.max_buffered, 8u << 20);

    wsx_opts_resolve(&r, NULL, WS_ROLE_SERVER);
    CHECK_EQ(r.stall_timeout, 10000);
    CHECK_EQ(r.max_buffered, WSX_DEFAULT_MAX_BUFFERED);
    wsx_opts_resolve(&r, NULL, WS_ROLE_CLIENT);
    CHECK(r.stall_timeout < 0);
    CHECK(wsx_budget(loop) == SIZE_MAX);
    wsx_budget_adopt(loop, 64u << 20);
    wsx_budget_adopt(loop, 128u << 20);
    CHECK_EQ(wsx_budget(loop), 64u << 20); /* the smallest */
    wsx_loop_free(loop);
}

/* The loop's clock, for the progress rule: moved by hand. */
static uint64_t fake_ms;

static uint64_t fake_clock(void)
{
    return fake_ms;
}

static void use_fake_clock(wsx_loop_t *loop)
{
    fake_ms = 1000000;
    loop->clock = fake_clock;
    loop->start = loop->now = fake_ms;
    loop->next_sweep = fake_ms;
}

/* Time passes, then a few rounds (the sweep runs in the first). */
/* Let the loop read what the peers sent at the current time first, so a
 * busy machine cannot make bytes sent "before" arrive "after" the jump. */
static void advance(wsx_loop_t *loop, int ms)
{
    run_rounds(loop, 3);
    fake_ms += (uint64_t)ms;
    run_rounds(loop, 3);
}

static void send_bytes(peer_t *p, const void *data, size_t len)
{
    if (send(p->fd, data, len, 0) != (ssize_t)len)
        fail(__LINE__, "send: %s", strerror(errno));
}

static void ignore_data(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                        size_t len, unsigned flags)
{
    (void)c, (void)op, (void)data, (void)len, (void)flags;
}

/* A stall_timeout of 2 s: a message under way must bring 1 KiB per 2 s
 * (the sweep runs every 250 ms). t: a header byte; g: one-byte fragments,
 * each with 636 bytes of pings; r: one byte, then not read (backpressure) for a
 * while; s: 600 bytes a second; q: a frame begun, streaming mode; i: no
 * message at all. */
static void test_stall_rule(void)
{
    static const char why[] = "message stalled: under 1024 bytes in 2.2 s (1)";
    wsx_opts_t o = {.stall_timeout = 2000};
    wsx_handler_t h = {.on_message = echo_message, .on_close = note_close};
    wsx_handler_t hq = {.on_data = ignore_data, .on_close = note_close};
    static peer_t pt, pg, pr, ps, pq, pi;
    peer_t *peers[4] = {&pt, &pg, &pr, &ps};
    static uint8_t frame[5000], msg[4000], qf[200];
    uint8_t frag[16], ping[6 * 106];
    closes_t cl = {0}, clq = {0};
    wsx_loop_t *loop = wsx_loop_new();

    use_fake_clock(loop);
    wsx_server_t *s = wsx_server_new(loop, "127.0.0.1", 0, &o, &h, &cl);
    wsx_server_t *sq = wsx_server_new(loop, "127.0.0.1", 0, &o, &hq, &clq);
    CHECK(s && sq);
    for (int i = 0; s && sq && i < 4; i++) {
        CHECK(peer_open(loop, peers[i], wsx_server_port(s), 0) == 0);
        cl.c[i] = first_conn(s);
    }
    if (!cl.c[3] || peer_open(loop, &pi, wsx_server_port(s), 0) != 0 ||
        peer_open(loop, &pq, wsx_server_port(sq), 0) != 0) {
        fail(__LINE__, "no WebSockets");
        wsx_loop_free(loop);
        return;
    }
    wsx_conn_t *ci = first_conn(s);
    clq.c[0] = first_conn(sq);

    size_t n = client_frame(frame, WS_OP_BINARY, msg, sizeof msg);
    size_t fl = client_frame(frag, WS_OP_TEXT, "y", 1);
    size_t pl = 0; /* 636 bytes of pings a second: they must not count */
    for (int i = 0; i < 6; i++)
        pl += client_frame(ping + pl, WS_OP_PING, msg, 100);
    client_frame(qf, WS_OP_BINARY, msg, 100);
    frag[0] = 0x01; /* not FIN: a fragmented message begins */
    send_bytes(&pt, frame, 1);
    send_bytes(&pr, frame, 1);
    send_bytes(&pg, frag, fl);
    send_bytes(&pg, ping, pl);
    send_bytes(&ps, frame, 600);
    send_bytes(&pq, qf, 6 + 10);
    run_rounds(loop, 3);
    for (int i = 0; i < 4; i++)
        CHECK(cl.c[i]->flags & WSX_F_PARTIAL);
    CHECK(clq.c[0]->flags & WSX_F_PARTIAL);
    CHECK(!(ci->flags & WSX_F_PARTIAL));

    advance(loop, 1000);
    frag[0] = 0x00; /* continuations */
    send_bytes(&pg, frag, fl);
    send_bytes(&pg, ping, pl);
    send_bytes(&ps, frame + 600, 600);
    cl.c[2]->flags |= WSX_F_OVER; /* as if r's queue were over high water */
    advance(loop, 999);           /* 1.999 s: nobody yet */
    for (int i = 0; i < 4; i++)
        CHECK_EQ(cl.code[i], 0);
    CHECK_EQ(clq.code[0], 0);

    advance(loop, 250); /* 2.249 s */
    CHECK_EQ(cl.code[0], WS_CLOSE_POLICY);
    CHECK_EQ(cl.code[1], WS_CLOSE_POLICY); /* pings do not count */
    CHECK_EQ(cl.code[2], 0);               /* not read: not its fault */
    CHECK_EQ(cl.code[3], 0);               /* 1200 bytes in the window */
    CHECK_EQ(clq.code[0], WS_CLOSE_POLICY);
    check_close_frame(__LINE__, loop, &pt, WS_CLOSE_POLICY, why);
    cl.c[2]->flags &= (uint16_t)~WSX_F_OVER;

    /* s keeps its pace; r has a whole window from when it is read. */
    send_bytes(&ps, frame + 1200, 600);
    advance(loop, 1000); /* 3.249 s */
    CHECK_EQ(cl.code[2], 0);
    send_bytes(&ps, frame + 1800, 600);
    advance(loop, 1000); /* 4.249 s */
    CHECK_EQ(cl.code[2], WS_CLOSE_POLICY);
    CHECK_EQ(cl.code[3], 0);
    send_bytes(&ps, frame + 2400, n - 2400);
    peer_wait(loop, &ps, 4004, 3000);
    CHECK_EQ(ps.len, 4004); /* the whole message, echoed */
    CHECK_EQ(cl.code[3], 0);
    CHECK(!(cl.c[3]->flags & WSX_F_PARTIAL));
    CHECK(wsx_conn_is_open(ci)); /* idle 4.25 s, nothing under way */
    for (int i = 0; i < 4; i++)
        close(peers[i]->fd);
    close(pi.fd);
    close(pq.fd);
    wsx_loop_free(loop);
}

/* ------------------------------------------------------------ process */

/* A loop changes nothing process-wide; wsx_process_setup does, when a
 * program asks. (Last: it changes this process for good.) */
static void test_process_setup(void)
{
    sigset_t before, after;
    struct sigaction pipe_before, pipe_after;
    struct rlimit rl;

    sigprocmask(SIG_BLOCK, NULL, &before);
    sigaction(SIGPIPE, NULL, &pipe_before);
    wsx_loop_t *loop = wsx_loop_new();
    CHECK(loop != NULL);
    sigprocmask(SIG_BLOCK, NULL, &after);
    sigaction(SIGPIPE, NULL, &pipe_after);
    CHECK_EQ(sigismember(&after, SIGINT), sigismember(&before, SIGINT));
    CHECK_EQ(sigismember(&after, SIGTERM), sigismember(&before, SIGTERM));
    CHECK(pipe_after.sa_handler == pipe_before.sa_handler);
    wsx_loop_free(loop);

    CHECK_EQ(wsx_process_setup(), 0);
    sigprocmask(SIG_BLOCK, NULL, &after);
    sigaction(SIGPIPE, NULL, &pipe_after);
    CHECK(sigismember(&after, SIGINT) == 1);
    CHECK(sigismember(&after, SIGTERM) == 1);
    CHECK(pipe_after.sa_handler == SIG_IGN);
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur == rl.rlim_max);
}

/* ---------------------------------------------------------------- main */

static const unit_test_t tests[] = {
    {"queue: chunks, unreserve, partial writes", test_queue},
    {"timers: one-shot, repeating, stop", test_timers},
    {"backpressure: high and low marks, on_drain", test_backpressure},
    {"accept: on_upgrade decides before the 101, says why", test_accept},
    {"trace: every frame both ways, with its connection", test_trace},
    {"client: on_open gets the server's response", test_client_response},
    {"deflate: negotiated, compressed, opt-out, off", test_deflate},
    {"broadcast: one frame, shared, refcounted", test_broadcast},
    {"broadcast: refused on a client connection", test_broadcast_client},
    {"watch: a UDP echo in the loop", test_udp_watch},
    {"transport: buffered input, no sendfile", test_buffering_transport},
    {"transport: output waits for its handshake", test_transport_handshake},
    {"url: ws:// and wss://, default ports", test_url},
    {"large messages: read in place, sent at once", test_large_in_place},
    {"group commit: output waits for before_flush, large too",
     test_group_commit},
    {"alloc: large reassembly buffers go to the pool", test_reassembly_pool},
    {"limits: what the memory budget counts", test_budget_accounting},
    {"limits: the largest holders are closed, 1008/1009",
     test_budget_offenders},
    {"limits: a stalled message is closed with 1008", test_stall_rule},
    {"limits: options, defaults by end, no budget without a server",
     test_limit_options},
    {"process: no side effects until wsx_process_setup", test_process_setup},
};

int main(void)
{
    return unit_run(tests, sizeof tests / sizeof tests[0]);
}
