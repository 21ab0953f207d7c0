/*
 * conn.c — one connection, the middle layer: bytes from the transport go
 * to the handshake (through the endpoint's ops) or to the engine, and the
 * engine's events to the application; sends go to the output queue
 * (queue.c) with backpressure accounting; the end of the round flushes;
 * timeouts; the end of a connection.
 *
 * The end: once the WebSocket is CLOSED (or an HTTP answer is queued) the
 * connection drains: what is queued is flushed and the server closes the
 * TCP connection (RFC 6455 §7.1.1: the server closes first). After a
 * clean closing handshake nothing more can come from the peer, so the
 * socket is closed at once. Otherwise (an HTTP answer, a failed
 * connection) the peer may still be sending, and closing with unread
 * input would reset the connection under our last bytes: the server
 * half-closes and reads and discards until the peer's EOF. The client
 * waits for the server's EOF. close_timeout bounds all of it.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A partial request head plus body never needs more than this. */
#define HS_LIMIT (WS_DEFAULT_MAX_HEAD + WSX_MAX_HTTP_BODY)

#define REGISTERED 0x80u

/* Failing for a limit, a half-written frame bigger than this is not worth
 * finishing to say why: the connection is cut instead. */
#define FAIL_KEEP (64u * 1024u)

/* ------------------------------------------------------------ lifetime */

wsx_conn_t *wsx_conn_new(wsx_endpoint_t *ep, int fd, int state)
{
    wsx_loop_t *loop = ep->loop;
    wsx_conn_t *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->kind = WSX_IO_CONN;
    c->state = (uint8_t)state;
    c->fd = fd;
    c->ep = ep;
    c->tr = ep->tr;
    c->t0 = wsx_now32(loop);
    c->next = loop->conns;
    if (c->next)
        c->next->prev = c;
    loop->conns = c;
    loop->nconns++;
    ep->nconns++;
    return c;
}

static void unlink_ready(wsx_conn_t *c)
{
    wsx_conn_t **p = &c->ep->loop->ready;

    while (*p && *p != c)
        p = &(*p)->ready_next;
    if (*p)
        *p = c->ready_next;
    c->flags &= (uint16_t)~WSX_F_READY;
}

void wsx_conn_free(wsx_conn_t *c)
{
    wsx_loop_t *loop = c->ep->loop;
    wsx_endpoint_t *ep = c->ep;

    if (c->fd >= 0)
        c->tr->close(c);
    if (c->flags & WSX_F_READY)
        unlink_ready(c);
    wsx_queue_clear(&c->out, &loop->chunks);
    free(c->hs);
    ws_conn_destroy(&c->ws);
    wsx_deflate_free(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop->nconns--;
    ep->nconns--;
    free(c);
    if (ep->ops->release)
        ep->ops->release(ep);
}

void wsx_conn_mark(wsx_conn_t *c)
{
    wsx_loop_t *loop = c->ep->loop;

    if (c->flags & WSX_F_DIRTY)
        return;
    c->flags |= WSX_F_DIRTY;
    c->work_next = loop->work;
    loop->work = c;
}

/* on_close, once, for a connection that was opened. */
static void notify_close(wsx_conn_t *c, unsigned code, const char *reason,
                         size_t len)
{
    if ((c->flags & (WSX_F_OPENED | WSX_F_NOTIFIED)) != WSX_F_OPENED)
        return;
    c->flags |= WSX_F_NOTIFIED;
    c->ep->nopen--;
    wsx_log(c, 1, "closed %u%s%.*s", code, len ? " " : "", (int)len, reason);
    if (c->ep->h.on_close)
        c->ep->h.on_close(c, code, reason, len);
}

void wsx_conn_kill(wsx_conn_t *c)
{
    static const char why[] = "connection dropped";

    if (c->flags & WSX_F_DEAD)
        return;
    notify_close(c, WS_CLOSE_ABNORMAL, why, sizeof why - 1);
    c->flags |= WSX_F_DEAD;
    wsx_conn_mark(c);
}

void wsx_conn_drop(wsx_conn_t *c)
{
    wsx_conn_kill(c);
}

void wsx_conn_lost(wsx_conn_t *c, int err, const char *msg)
{
    int owed = (c->flags & (WSX_F_OPENED | WSX_F_NOTIFIED)) == WSX_F_OPENED;
    int early = c->ep->ops->reports_early && !(c->flags & WSX_F_OPENED);

    if (c->flags & WSX_F_DEAD)
        return;
    wsx_log(c, owed ? 1 : 2, "%s", msg);
    if ((owed || early) && c->ep->h.on_error)
        c->ep->h.on_error(c, err, msg);
    notify_close(c, WS_CLOSE_ABNORMAL, msg, strlen(msg));
    wsx_conn_kill(c);
}

void wsx_conn_finish(wsx_conn_t *c)
{
    if (c->flags & WSX_F_DEAD)
        return;
    c->state = WSX_ST_DRAIN;
    c->t0 = wsx_now32(c->ep->loop);
    wsx_conn_mark(c);
}

void wsx_conn_release(wsx_conn_t *c)
{
    wsx_queue_clear(&c->out, &c->ep->loop->chunks);
    ws_conn_destroy(&c->ws); /* safe twice: wsx_conn_free does it again */
}

/* The memory is given back before anyone is told, so that a callback
 * dropping the connection cannot leave it counted. The close frame goes
 * after what is half written (chunks hold whole frames); nothing more is
 * read (§7.1.7: not even the peer's close), and close_timeout bounds the
 * wait for a peer that reads nothing. */
void wsx_conn_fail(wsx_conn_t *c, unsigned code, int err, const char *msg)
{
    wsx_chunk_pool_t *p = &c->ep->loop->chunks;
    int open = wsx_conn_is_open(c) && ws_conn_state(&c->ws) == WS_STATE_OPEN;
    size_t len = strlen(msg);

    if (c->flags & WSX_F_DEAD)
        return;
    if (len > WS_MAX_CLOSE_REASON)
        len = WS_MAX_CLOSE_REASON;
    wsx_queue_trim(&c->out, p);
    if (open &&
        (c->out.mem > FAIL_KEEP || wsx_conn_close(c, code, msg, len) != 0))
        open = 0;
    if (open)
        ws_conn_destroy(&c->ws); /* the reassembly buffer */
    else
        wsx_conn_release(c);
    wsx_log(c, 1, "%s (close %u)", msg, code);
    if (wsx_conn_is_open(c) && c->ep->h.on_error)
        c->ep->h.on_error(c, err, msg);
    notify_close(c, code, msg, len);
    if (open)
        wsx_conn_finish(c);
    else
        wsx_conn_kill(c);
}

/* ------------------------------------------------------ readiness */

static unsigned tr_pending(const wsx_conn_t *c)
{
    return c->tr->pending && c->fd >= 0 ? c->tr->pending(c) : 0;
}

static unsigned want_events(const wsx_conn_t *c)
{
    unsigned ev = 0;

    if (c->state == WSX_ST_CONNECTING)
        return EPOLLOUT;
    /* Backpressure: a peer whose queue is over high water is not read
     * from (its own sending then stalls in TCP), except to drain at the
     * end, when input is discarded. */
    if (!(c->flags & WSX_F_OVER) || c->state == WSX_ST_DRAIN)
        ev |= EPOLLIN;
    /* Output waiting for the transport's handshake waits for input. */
    unsigned p = tr_pending(c);
    if ((c->out.head && !(p & WSX_TR_HANDSHAKE)) || (p & WSX_TR_WRITE))
        ev |= EPOLLOUT;
    return ev;
}

/* A transport holding input it already read (TLS records decrypted ahead)
 * is read again next round without waiting for epoll, which would not
 * report the socket readable for bytes no longer in it. */
static void check_ready(wsx_conn_t *c, unsigned ev)
{
    wsx_loop_t *loop = c->ep->loop;

    if ((c->flags & (WSX_F_READY | WSX_F_DEAD)) || !(ev & EPOLLIN) ||
        !(tr_pending(c) & WSX_TR_READ))
        return;
    c->flags |= WSX_F_READY;
    c->ready_next = loop->ready;
    loop->ready = c;
}

void wsx_conn_update_events(wsx_conn_t *c)
{
    unsigned ev = want_events(c);
    struct epoll_event e = {.events = ev, .data.ptr = c};

    if (c->fd < 0)
        return;
    check_ready(c, ev);
    if ((c->evmask & REGISTERED) && (c->evmask & ~REGISTERED) == ev)
        return;
    if (epoll_ctl(c->ep->loop->epfd,
                  (c->evmask & REGISTERED) ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                  c->fd, &e) != 0) {
        wsx_conn_lost(c, WSX_EIO, "epoll_ctl failed");
        return;
    }
    c->evmask = (uint8_t)(ev | REGISTERED);
}

static void lost_io(wsx_conn_t *c, int err)
{
    char msg[128];

    if (c->state == WSX_ST_DRAIN) {
        wsx_conn_kill(c); /* the end it was heading for anyway */
        return;
    }
    const char *why = c->tr->error ? c->tr->error(c) : NULL;

    if (why) { /* the transport knows better than errno (TLS) */
        wsx_conn_lost(c, WSX_ETLS, why);
        return;
    }
    if (err)
        snprintf(msg, sizeof msg, "connection lost: %s", strerror(err));
    else if (c->state == WSX_ST_HANDSHAKE && c->ep->ops->reports_early)
        snprintf(msg, sizeof msg, "handshake failed: connection closed");
    else if (c->state == WSX_ST_WS)
        snprintf(msg, sizeof msg, "connection closed without a close frame");
    else
        snprintf(msg, sizeof msg, "connection closed");
    wsx_conn_lost(c, WSX_EIO, msg);
}

/* ------------------------------------------------------------- output */

void wsx_out_account(wsx_conn_t *c, size_t n)
{
    (void)n; /* the queue counted it; judge the total */
    if (c->out.bytes > c->ep->o.high_water)
        c->flags |= WSX_F_OVER;
    wsx_conn_mark(c);
}

uint8_t *wsx_out_reserve(wsx_conn_t *c, size_t need)
{
    return wsx_queue_reserve(&c->out, &c->ep->loop->chunks, need);
}

void wsx_out_commit(wsx_conn_t *c, size_t n)
{
    wsx_queue_commit(&c->out, n);
    wsx_out_account(c, n);
}

void wsx_out_unreserve(wsx_conn_t *c)
{
    wsx_queue_unreserve(&c->out, &c->ep->loop->chunks);
}

int wsx_out_append(wsx_conn_t *c, const void *data, size_t len)
{
    uint8_t *p = wsx_out_reserve(c, len);

    if (!p)
        return WS_ENOMEM;
    if (len)
        memcpy(p, data, len);
    wsx_out_commit(c, len);
    return 0;
}

int wsx_out_file(wsx_conn_t *c, int fd, off_t off, size_t len)
{
    int r = wsx_queue_file(&c->out, &c->ep->loop->chunks, fd, off, len);

    if (r == 0)
        wsx_out_account(c, len);
    return r;
}

static int flush(wsx_conn_t *c)
{
    ssize_t n = wsx_queue_flush(&c->out, &c->ep->loop->chunks, c);

    /* Writes getting through to a peer we stopped reading prove it alive
     * (see the sweep). */
    if (n > 0 && (c->flags & WSX_F_OVER))
        c->t0 = wsx_now32(c->ep->loop);
    return n < 0 ? -1 : 0;
}

void wsx_conn_flush_round(wsx_conn_t *c)
{
    const wsx_opts_t *o = &c->ep->o;

    if (c->state == WSX_ST_CONNECTING) {
        if (c->fd < 0) /* every address failed at once */
            c->ep->ops->connected(c);
        return;
    }
    if (flush(c) != 0) {
        lost_io(c, errno);
        return;
    }
    if ((c->flags & WSX_F_OVER) && c->out.bytes <= o->low_water) {
        c->flags &= (uint16_t)~WSX_F_OVER;
        if (c->ep->h.on_drain &&
            (wsx_conn_is_open(c) || c->state == WSX_ST_RAW))
            c->ep->h.on_drain(c);
        if (c->flags & WSX_F_DEAD)
            return;
    }
    if (c->state == WSX_ST_DRAIN && !c->out.head && !(c->flags & WSX_F_SHUT) &&
        c->ep->ops->closes_first) {
        if (c->flags & WSX_F_GOT_CLOSE) {
            wsx_conn_kill(c);
            return;
        }
        c->flags |= WSX_F_SHUT;
        c->tr->shutdown(c);
    }
    wsx_conn_update_events(c);
}

void wsx_conn_writable(wsx_conn_t *c)
{
    if (c->state == WSX_ST_CONNECTING)
        c->ep->ops->connected(c);
    else
        wsx_conn_flush_round(c);
}

/* --------------------------------------------------------------- input */

int wsx_conn_open(wsx_conn_t *c, const ws_response_t *resp, uint8_t *rest,
                  size_t rest_len)
{
    wsx_endpoint_t *ep = c->ep;
    ws_options_t wo;

    ws_options_init(&wo);
    wo.max_message = ep->o.max_message;
    wo.allocator = &ep->loop->allocator;
    wo.rbuf_keep = WSX_RBUF_KEEP; /* the pool (alloc.c) takes the rest */
    wo.trace = ep->o.trace;
    wo.trace_user = c;
    if (!ep->h.on_data)
        wo.flags = WS_OPT_REASSEMBLE;
    wsx_deflate_options(c, &wo);
    if (ws_conn_init(&c->ws, ep->ops->role, &wo) != 0)
        return WS_EINVAL;
    c->state = WSX_ST_WS;
    c->flags |= WSX_F_OPENED;
    ep->nopen++;
    c->t0 = wsx_now32(ep->loop);
    if (ep->h.on_open) {
        ep->resp = resp;
        ep->h.on_open(c, resp);
        ep->resp = NULL;
    }
    /* Frames that came with the head. */
    if (!(c->flags & WSX_F_DEAD) && rest_len)
        wsx_conn_dispatch(c, rest, rest_len);
    return 0;
}

void wsx_hs_keep(wsx_conn_t *c, const char *buf, size_t len)
{
    if (buf == c->hs)
        return;
    free(c->hs);
    c->hs = malloc(len);
    c->hs_len = 0;
    if (!c->hs) {
        wsx_conn_kill(c);
        return;
    }
    memcpy(c->hs, buf, len);
    c->hs_len = (uint32_t)len;
}

void wsx_hs_done(wsx_conn_t *c)
{
    free(c->hs);
    c->hs = NULL;
    c->hs_len = 0;
}

/* Head bytes: parsed straight from the read buffer when a head arrives
 * whole (the usual case, no allocation), gathered in c->hs otherwise. */
static void handshake_bytes(wsx_conn_t *c, char *data, size_t n)
{
    char *buf = data;
    size_t len = n;

    if (c->hs) {
        if (n > HS_LIMIT - c->hs_len)
            n = HS_LIMIT - c->hs_len; /* the parser refuses it by then */
        char *p = realloc(c->hs, c->hs_len + n);
        if (!p) {
            wsx_conn_kill(c);
            return;
        }
        memcpy(p + c->hs_len, data, n);
        c->hs = p;
        c->hs_len += (uint32_t)n;
        buf = c->hs;
        len = c->hs_len;
    }
    c->ep->ops->handshake(c, buf, len);
}

static void protocol_error(wsx_conn_t *c, const ws_event_t *ev)
{
    const char *what = ws_strerror(ev->error);
    char msg[192];

    snprintf(msg, sizeof msg, "protocol error: %s (close %u)", what, ev->code);
    wsx_log(c, 1, "%s", msg);
    if (wsx_conn_is_open(c) && c->ep->h.on_error)
        c->ep->h.on_error(c, ev->error, msg);
    notify_close(c, ev->code, what, strlen(what));
}

static void data_slice(wsx_conn_t *c, const ws_event_t *ev)
{
    unsigned fl = ((c->flags & WSX_F_FIRST) ? WSX_FIRST : 0) |
                  ((ev->flags & WS_DATA_FIN) ? WSX_FIN : 0);

    c->flags &= (uint16_t)~WSX_F_FIRST;
    if (c->ep->h.on_data && wsx_conn_is_open(c))
        c->ep->h.on_data(c, ev->opcode, ev->data, ev->len, fl);
}

/* A control frame's size on the wire: RFC 6455 §5.5, payload <= 125
 * bytes, so a 2-byte header, plus the mask key a client adds (§5.3). */
static size_t control_size(const wsx_conn_t *c, size_t payload)
{
    return 2 + (c->ep->ops->role == WS_ROLE_SERVER ? 4 : 0) + payload;
}

/* Hand out every event the engine has after len more bytes reached it;
 * the slices point into the last input (reused by the next read) or the
 * engine's buffers. This is the one place engine events reach the
 * application. What the events say about messages under way goes to the
 * progress rule, and the engine's allocations are charged to c
 * (loop->engine_conn). */
static void dispatch_events(wsx_conn_t *c, size_t len)
{
    const wsx_handler_t *h = &c->ep->h;
    wsx_loop_t *loop = c->ep->loop;
    wsx_conn_t *outer = loop->engine_conn;
    size_t ctl = 0;
    int ended = -1; /* see wsx_progress_fed */
    ws_event_t ev;

    loop->engine_conn = c;
    while (!(c->flags & WSX_F_DEAD) && ws_conn_next_event(&c->ws, &ev) > 0) {
        switch (ev.type) {
        case WS_EV_MESSAGE: /* streaming too: a whole one-frame message */
            ended = 1;
            if (h->on_data && wsx_conn_is_open(c))
                h->on_data(c, ev.opcode, ev.data, ev.len, WSX_FIRST | WSX_FIN);
            else if (h->on_message && wsx_conn_is_open(c))
                h->on_message(c, ev.opcode, ev.data, ev.len);
            break;
        case WS_EV_MESSAGE_START:
            ended = 0;
            c->flags |= WSX_F_FIRST;
            break;
        case WS_EV_DATA:
            ended = (ev.flags & WS_DATA_FIN) != 0;
            data_slice(c, &ev);
            break;
        case WS_EV_MESSAGE_END:
            ended = 1;
            break;
        case WS_EV_PING:
            ctl += control_size(c, ev.len);
            break;
        case WS_EV_PONG:
            ctl += control_size(c, ev.len);
            if (h->on_pong && wsx_conn_is_open(c))
                h->on_pong(c, ev.data, ev.len);
            break;
        case WS_EV_CLOSE:
            c->flags |= WSX_F_GOT_CLOSE;
            notify_close(c, ev.code, (const char *)ev.data, ev.len);
            break;
        case WS_EV_SEND: /* automatic pong or close frame, in order */
            if (wsx_out_append(c, ev.data, ev.len) != 0)
                wsx_conn_lost(c, WS_ENOMEM, "out of memory");
            break;
        case WS_EV_ERROR:
            protocol_error(c, &ev);
            break;
        default:
            break;
        }
    }
    loop->engine_conn = outer;
    wsx_progress_fed(c, len, ctl, ended);
    if (!(c->flags & WSX_F_DEAD) && c->state == WSX_ST_WS &&
        ws_conn_state(&c->ws) == WS_STATE_CLOSED)
        wsx_conn_finish(c);
}

/* Feed bytes to the engine and hand out every event they cause. */
void wsx_conn_dispatch(wsx_conn_t *c, uint8_t *buf, size_t len)
{
    ws_conn_feed(&c->ws, buf, len);
    dispatch_events(c, len);
}

static void got_eof(wsx_conn_t *c, ssize_t n)
{
    if (c->state == WSX_ST_RAW) {
        notify_close(c, WS_CLOSE_NORMAL, "", 0);
        wsx_conn_finish(c);
    } else {
        lost_io(c, n < 0 ? errno : 0);
    }
}

/* Where a byte read from the socket goes: the transport's read puts it in
 * the loop's one buffer (or hands out its own plaintext), and it goes on
 * by the state: to the handshake, to the engine, or to on_raw. */
void wsx_conn_readable(wsx_conn_t *c)
{
    wsx_loop_t *loop = c->ep->loop;
    uint8_t *data, *into = loop->rbuf;
    size_t cap = WSX_READ_BUF;
    wsx_conn_t *outer = loop->engine_conn;
    void *p;
    ssize_t n;

    if (c->state == WSX_ST_CONNECTING || c->fd < 0)
        return;
    /* A large frame being reassembled: the engine offers the free end of
     * its buffer and the read goes straight there, so the payload is
     * copied once, by the kernel, not once more out of the loop's read
     * buffer. The engine grows that buffer only as fast as bytes arrive:
     * a peer announcing a huge frame gets no memory before sending it
     * (and what it does allocate is charged to c). */
    loop->engine_conn = c;
    if (c->state == WSX_ST_WS && ws_conn_recv_buf(&c->ws, &p, &cap) == 1)
        into = p;
    else
        cap = WSX_READ_BUF;
    loop->engine_conn = outer;
    /* The TLS transport decrypts into the buffer it is given (data ==
     * into), so the engine's buffer works for it as for TCP. */
    n = c->tr->read(c, into, cap, &data);
    /* What the transport wrote while reading (TLS handshake) goes out
     * at the end of the round. */
    int e = errno;
    if (tr_pending(c) & WSX_TR_WRITE)
        wsx_conn_mark(c);
    errno = e;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        got_eof(c, n);
        return;
    }
    switch (c->state) {
    case WSX_ST_HANDSHAKE:
        handshake_bytes(c, (char *)data, (size_t)n);
        break;
    case WSX_ST_WS:
        if (ws_conn_state(&c->ws) == WS_STATE_OPEN) {
            c->t0 = wsx_now32(loop); /* the idle timer restarts */
            c->flags &= (uint16_t)~WSX_F_PING_OUT;
        }
        if (into != loop->rbuf && data == into) {
            ws_conn_recv_ack(&c->ws, (size_t)n);
            dispatch_events(c, (size_t)n);
        } else { /* (a transport may hand out bytes it held elsewhere) */
            wsx_conn_dispatch(c, data, (size_t)n);
        }
        break;
    case WSX_ST_RAW:
        if (c->ep->h.on_raw)
            c->ep->h.on_raw(c, data, (size_t)n);
        break;
    default: /* draining: discard */
        break;
    }
    wsx_budget_enforce(loop, 1); /* a hard stop within the round */
    check_ready(c, want_events(c));
}

/* -------------------------------------------------------------- timers */

/* An open WebSocket silent for ping_interval gets a ping. */
static void keepalive(wsx_conn_t *c, uint32_t el)
{
    uint32_t ping = (uint32_t)c->ep->o.ping_interval;

    if (ping == 0)
        return;
    if (c->flags & (WSX_F_OVER | WSX_F_PING_OUT)) {
        /* Silent for a whole interval after the ping (or not reading
         * what we send): the peer is gone. */
        if (el >= 2 * ping)
            wsx_conn_lost(c, WSX_ETIMEOUT,
                          (c->flags & WSX_F_OVER) ? "peer stopped reading"
                                                  : "no answer to ping");
    } else if (el >= ping) {
        if (wsx_conn_ping(c, NULL, 0) == 0)
            c->flags |= WSX_F_PING_OUT;
    }
}

void wsx_conn_sweep(wsx_conn_t *c)
{
    const wsx_opts_t *o = &c->ep->o;
    uint32_t el = wsx_now32(c->ep->loop) - c->t0;

    switch (c->state) {
    case WSX_ST_CONNECTING:
    case WSX_ST_HANDSHAKE:
        if (o->handshake_timeout > 0 && el >= (uint32_t)o->handshake_timeout)
            wsx_conn_lost(c, WSX_ETIMEOUT,
                          c->state == WSX_ST_CONNECTING
                              ? "connect timed out"
                              : "handshake timed out");
        break;
    case WSX_ST_WS:
        if (ws_conn_state(&c->ws) != WS_STATE_OPEN) {
            if (el >= (uint32_t)o->close_timeout)
                wsx_conn_lost(c, WSX_ETIMEOUT, "close handshake timed out");
        } else if (!wsx_progress_check(c)) {
            keepalive(c, el);
        }
        break;
    case WSX_ST_DRAIN:
        if (el >= (uint32_t)o->close_timeout)
            wsx_conn_kill(c);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- sending */

int wsx_conn_is_open(const wsx_conn_t *c)
{
    return c->state == WSX_ST_WS && (c->flags & (WSX_F_OPENED | WSX_F_NOTIFIED |
                                                 WSX_F_DEAD)) == WSX_F_OPENED;
}

/* Commit an encoder's result, or undo the reserve it wrote into. */
static int commit(wsx_conn_t *c, ptrdiff_t n)
{
    if (n < 0) {
        wsx_out_unreserve(c);
        return (int)n;
    }
    wsx_out_commit(c, (size_t)n);
    return 0;
}

/* Below this a payload is copied into the queue: the copy costs less
 * than a system call of its own. */
#define SEND_NOW_MIN (64u * 1024u)

/* A large whole message from a server with nothing queued ahead of it:
 * the engine writes the header alone (ws_conn_send_header: the same
 * checks and state as its encoder) and header and payload go to the
 * transport at once in one writev, straight from the caller's memory.
 * Only what the socket does not take now is copied into the queue, to go
 * with the round's flush. Not with a negotiated extension (deflate):
 * its messages must go through the encoder. */
static int send_now(wsx_conn_t *c, ws_opcode_t op, const void *data, size_t len)
{
    uint8_t head[WS_MAX_HEADER_LEN];
    ptrdiff_t h =
        ws_conn_send_header(&c->ws, op, 0, 1, data, len, head, sizeof head);
    if (h < 0)
        return (int)h;
    struct iovec iov[2] = {{head, (size_t)h}, {(void *)(uintptr_t)data, len}};
    ssize_t n = c->tr->writev(c, iov, 2);
    size_t done = n > 0 ? (size_t)n : 0; /* errors: the flush meets them */
    /* TLS may have taken all of it as plaintext and hold ciphertext the
     * socket did not take: the round's flush sends it. */
    if (tr_pending(c) & WSX_TR_WRITE)
        wsx_conn_mark(c);
    size_t hd = done < (size_t)h ? done : (size_t)h, pd = done - hd;
    if ((hd < (size_t)h && wsx_out_append(c, head + hd, (size_t)h - hd)) ||
        (pd < len && wsx_out_append(c, (const uint8_t *)data + pd, len - pd))) {
        wsx_conn_lost(c, WS_ENOMEM, "out of memory");
        return WS_ENOMEM;
    }
    return 0;
}

/* One frame through the engine's encoder, straight into the output queue:
 * a fragment (fin as given) or, with whole set, a whole message; rsv
 * WS_RSV_AUTO runs it through the negotiated extension (a fragmented
 * message is compressed as a stream, fragment by fragment), 0 sends it as
 * it is. */
static int send_frame(wsx_conn_t *c, ws_opcode_t op, int fin, int whole,
                      unsigned rsv, const void *data, size_t len)
{
    size_t need;
    uint8_t *p;
    int r;

    if (!wsx_conn_is_open(c))
        return WS_ESTATE;
    /* Not with a group commit hook: the round's output must wait for it
     * (wsx_loop_before_flush), large messages too. */
    if (whole && len >= SEND_NOW_MIN && c->ep->ops->role == WS_ROLE_SERVER &&
        (rsv == 0 || !wsx_conn_deflate(c)) && !c->out.head &&
        !(tr_pending(c) & WSX_TR_WRITE) && c->fd >= 0 &&
        !c->ep->loop->before_flush)
        return send_now(c, op, data, len);
    need = ws_conn_frame_size(&c->ws, len);
    if (!(p = wsx_out_reserve(c, need)))
        return WS_ENOMEM;
    r = commit(
        c, whole ? ws_conn_send_message_ex(&c->ws, op, rsv, data, len, p, need)
                 : ws_conn_send_fragment_ex(&c->ws, op, rsv, fin, data, len, p,
                                            need));
    /* Known here too, so a shared frame is not put inside the message. */
    if (r == 0 && !whole)
        c->flags = (uint16_t)(fin ? c->flags & ~WSX_F_FRAGMENT
                                  : c->flags | WSX_F_FRAGMENT);
    return r;
}

int wsx_conn_send_fragment(wsx_conn_t *c, ws_opcode_t op, int fin,
                           const void *data, size_t len)
{
    return send_frame(c, op, fin, 0, WS_RSV_AUTO, data, len);
}

int wsx_conn_send(wsx_conn_t *c, ws_opcode_t op, const void *data, size_t len)
{
    return send_frame(c, op, 1, 1, WS_RSV_AUTO, data, len);
}

int wsx_conn_send_uncompressed(wsx_conn_t *c, ws_opcode_t op, const void *data,
                               size_t len)
{
    return send_frame(c, op, 1, 1, 0, data, len);
}

int wsx_conn_send_text(wsx_conn_t *c, const char *text, size_t len)
{
    return wsx_conn_send(c, WS_OP_TEXT, text, len);
}

int wsx_conn_send_binary(wsx_conn_t *c, const void *data, size_t len)
{
    return wsx_conn_send(c, WS_OP_BINARY, data, len);
}

int wsx_conn_ping(wsx_conn_t *c, const void *data, size_t len)
{
    uint8_t *p;

    if (!wsx_conn_is_open(c))
        return WS_ESTATE;
    if (!(p = wsx_out_reserve(c, WS_CONTROL_BUF_LEN)))
        return WS_ENOMEM;
    return commit(c,
                  ws_conn_send_ping(&c->ws, data, len, p, WS_CONTROL_BUF_LEN));
}

int wsx_conn_close(wsx_conn_t *c, unsigned code, const char *reason, size_t len)
{
    uint8_t *p;
    int r;

    if (!wsx_conn_is_open(c))
        return WS_ESTATE;
    if (!(p = wsx_out_reserve(c, WS_CONTROL_BUF_LEN)))
        return WS_ENOMEM;
    r = commit(c, ws_conn_send_close(&c->ws, code, reason, len, p,
                                     WS_CONTROL_BUF_LEN));
    if (r == 0)
        c->t0 = wsx_now32(c->ep->loop); /* the close timeout starts */
    return r;
}

int wsx_conn_write(wsx_conn_t *c, const void *data, size_t len)
{
    if (c->state != WSX_ST_RAW || (c->flags & WSX_F_DEAD))
        return WS_ESTATE;
    return wsx_out_append(c, data, len);
}

/* ------------------------------------------------------------ accessors */

size_t wsx_conn_queued(const wsx_conn_t *c)
{
    return c->out.bytes;
}

const char *wsx_conn_protocol(const wsx_conn_t *c)
{
    return c->protocol;
}

const ws_response_t *wsx_conn_response(const wsx_conn_t *c)
{
    return c->ep->resp;
}

void wsx_conn_set_data(wsx_conn_t *c, void *data)
{
    c->data = data;
}

void *wsx_conn_data(const wsx_conn_t *c)
{
    return c->data;
}

void *wsx_conn_ctx(const wsx_conn_t *c)
{
    return c->ep->ctx;
}

wsx_server_t *wsx_conn_server(const wsx_conn_t *c)
{
    return c->ep->server;
}

wsx_loop_t *wsx_conn_loop(const wsx_conn_t *c)
{
    return c->ep->loop;
}
