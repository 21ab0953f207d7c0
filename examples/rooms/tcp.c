/*
 * tcp.c — TCRP over TCP (PROTOCOL.md, "TCRP"): one transaction per
 * connection. The request is read as it comes, answered at once, the
 * answers written, the connection half-closed and closed once the client
 * has closed its side (or after LINGER_MS), so that unread bytes of the
 * client's never turn into a reset that loses the answers. A transaction
 * not complete within the transaction timeout is answered 400 and closed.
 * Nothing here blocks: every socket is non-blocking and watched.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 1024  /* TCRP transactions at once; then the oldest go */
#define LINGER_MS 2000  /* after the answers, for the client to close */
#define READ_CHUNK 4096 /* what a read asks for beyond what is there */

enum tcrp_phase { PH_READ, PH_WRITE, PH_LINGER };

struct tcrp_conn {
    server_t *s;
    tcrp_conn_t *prev, *next;
    int fd;
    wsx_watch_t *w;
    enum tcrp_phase phase;
    uint64_t since; /* ms: accepted, or answered (PH_LINGER) */
    uint8_t *in;
    size_t in_len, in_cap;
    ops_out_t out;
    size_t out_done;
};

static void conn_free(tcrp_conn_t *c)
{
    server_t *s = c->s;

    if (c->prev)
        c->prev->next = c->next;
    else
        s->tcrp = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->ntcrp--;
    wsx_watch_stop(c->w);
    close(c->fd);
    free(c->in);
    ops_out_free(&c->out);
    free(c);
}

/* Write what is left of the answers; then half-close and linger. */
static void conn_write(tcrp_conn_t *c)
{
    while (c->out_done < c->out.len) {
        ssize_t n = send(c->fd, c->out.buf + c->out_done,
                         c->out.len - c->out_done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wsx_watch_set(c->w, WSX_WRITABLE);
            return;
        }
        if (n <= 0) {
            conn_free(c);
            return;
        }
        c->out_done += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    c->phase = PH_LINGER;
    c->since = wsx_loop_now(c->s->loop);
    wsx_watch_set(c->w, WSX_READABLE);
}

/* The answers are queued: off they go. */
static void conn_answered(tcrp_conn_t *c)
{
    c->phase = PH_WRITE;
    if (c->in) /* it may hold a password */
        explicit_bzero(c->in, c->in_len);
    free(c->in);
    c->in = NULL;
    c->in_len = c->in_cap = 0;
    if (c->out.failed) { /* out of memory: nothing sensible to say */
        conn_free(c);
        return;
    }
    conn_write(c);
}

static void answer_error(tcrp_conn_t *c, int status, const char *why)
{
    unsigned op = c->in_len > 1 ? c->in[1] : 0;
    size_t name_len = c->in_len > 0 ? c->in[0] : 0;

    /* The name is echoed only when it arrived whole and is UTF-8. */
    if (c->in_len < TCRP_HEADER_LEN + name_len ||
        ws_utf8_validate(c->in + TCRP_HEADER_LEN, name_len) != 0)
        name_len = 0;
    if (op < TCRP_CREATE || op > TCRP_LIST)
        op = 0;
    server_info(c->s, "tcp: %d %s", status, why);
    ops_error(&c->out, op, name_len ? c->in + TCRP_HEADER_LEN : NULL, name_len,
              status, why);
    conn_answered(c);
}

/* Try the bytes so far as a message. */
static void conn_parse(tcrp_conn_t *c)
{
    server_t *s = c->s;
    tcrp_msg_t m;
    long n = tcrp_parse(c->in, c->in_len, s->max_payload, &m);

    if (n == TCRP_AGAIN)
        return;
    if (n < 0) {
        answer_error(c, 400, tcrp_strerror((int)n));
        return;
    }
    rooms_addr_t none = {.kind = ROOMS_ADDR_NONE};
    ops_handle(&s->rooms, &m, &none, wsx_loop_now(s->loop), &c->out);
    server_info(s, "tcp: operation %u answered", m.op);
    conn_answered(c);
}

/* Room for the next read: the header, then up to the whole message
 * announced (capped), so a big request is read in few calls. */
static int conn_room(tcrp_conn_t *c)
{
    size_t want = c->in_len + READ_CHUNK;

    if (c->in_cap >= want)
        return 0;
    uint8_t *p = realloc(c->in, want);
    if (!p)
        return -1;
    c->in = p;
    c->in_cap = want;
    return 0;
}

static void conn_read(tcrp_conn_t *c)
{
    if (conn_room(c) != 0) {
        conn_free(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n < 0) {
        conn_free(c);
        return;
    }
    if (n == 0) { /* the client's side closed before the whole message */
        answer_error(c, 400,
                     c->in_len < TCRP_HEADER_LEN
                         ? "the header is truncated"
                         : "the message ended before its announced size");
        return;
    }
    c->in_len += (size_t)n;
    conn_parse(c);
}

/* After the answers: bytes are discarded until the client closes. */
static void conn_drain(tcrp_conn_t *c)
{
    uint8_t sink[4096];
    ssize_t n = recv(c->fd, sink, sizeof sink, 0);

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR))
        conn_free(c);
}

static void on_conn(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    tcrp_conn_t *c = user;
    (void)w, (void)fd;

    if (c->phase == PH_WRITE && (ready & WSX_WRITABLE))
        conn_write(c);
    else if (c->phase == PH_READ)
        conn_read(c);
    else if (c->phase == PH_LINGER)
        conn_drain(c);
}

/* All slots taken: the connection open the longest goes. Refusing the
 * new one instead would let a client that opens MAX_CONNS connections
 * and sends nothing lock everyone out for the transaction timeout; a
 * real transaction is over in a few milliseconds, long before it could
 * become the oldest. The list has the newest first. */
static void drop_oldest(server_t *s)
{
    tcrp_conn_t *c = s->tcrp;

    while (c && c->next)
        c = c->next;
    if (!c)
        return;
    if (!s->tcrp_evicted++)
        server_log(s, "tcp: %d connections open: closing the oldest "
                      "(logged once)", MAX_CONNS);
    conn_free(c);
}

static void on_accept(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    server_t *s = user;
    (void)w, (void)ready;

    for (int i = 0; i < 16; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        if (s->ntcrp >= MAX_CONNS)
            drop_oldest(s);
        tcrp_conn_t *c = calloc(1, sizeof *c);
        if (!c) {
            server_log(s, "tcp: out of memory for a connection");
            close(cfd);
            continue;
        }
        c->s = s;
        c->fd = cfd;
        c->since = wsx_loop_now(s->loop);
        c->w = wsx_watch_start(s->loop, cfd, WSX_READABLE, on_conn, c);
        if (!c->w) {
            close(cfd);
            free(c);
            continue;
        }
        c->next = s->tcrp;
        if (s->tcrp)
            s->tcrp->prev = c;
        s->tcrp = c;
        s->ntcrp++;
    }
}

/* Transactions past their time: answered 400 and closed; lingering
 * connections whose client never closes: closed. */
void tcp_sweep(server_t *s, uint64_t now)
{
    for (tcrp_conn_t *c = s->tcrp, *next; c; c = next) {
        next = c->next;
        if (c->phase == PH_READ && now - c->since >= (uint64_t)s->tx_timeout_ms)
            answer_error(c, 400, "the transaction did not complete in time");
        else if (c->phase == PH_LINGER && now - c->since >= LINGER_MS)
            conn_free(c);
        else if (c->phase == PH_WRITE &&
                 now - c->since >= (uint64_t)s->tx_timeout_ms + LINGER_MS)
            conn_free(c); /* the client does not read its answers */
    }
}

int tcp_start(server_t *s)
{
    s->tcp_fd = server_bind(s->host, &s->tcp_port, SOCK_STREAM);
    if (s->tcp_fd < 0 || listen(s->tcp_fd, 128) != 0)
        return -1;
    s->tcp_w = wsx_watch_start(s->loop, s->tcp_fd, WSX_READABLE, on_accept, s);
    return s->tcp_w ? 0 : -1;
}

void tcp_stop(server_t *s)
{
    while (s->tcrp)
        conn_free(s->tcrp);
    if (s->tcp_w)
        wsx_watch_stop(s->tcp_w);
    s->tcp_w = NULL;
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    s->tcp_fd = -1;
}
