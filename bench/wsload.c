/*
 * wsload.c — a load generator for echo servers over loopback: C
 * connections, W messages of S bytes in flight on each, for D seconds;
 * prints messages/s, MB/s and the p50/p99 round-trip latency. Or, with
 * --idle N, opens N connections, holds them, checks that each still
 * echoes, and reports the server's resident memory per connection.
 *
 *   wsload --port P [--raw] [-c C] [-w W] [-s S] [-d D] [--pid SERVER]
 *   wsload --port P --idle N [--hold SEC] --pid SERVER
 *
 * WebSocket mode (default): the client handshake on every connection,
 * then binary messages, one frame each, masked (RFC 6455 §5.3). Raw mode
 * (--raw): the same bytes with no framing, for a plain TCP echo server.
 *
 * The generator must not be what is measured, so nothing is built per
 * message: a message is a small per-message head (frame header and the
 * masked 8-byte sequence number that starts every payload) and a body
 * that is the same for every message (the rest of the payload, masked
 * once at start-up with the one key of the run: payload offset 8 is a
 * multiple of 4, so the key lines up the same way in every message),
 * written with writev from where they are. Echoes are checked for opcode,
 * length and sequence number (each connection's echoes must come back in
 * order); anything else counts as an error. One clock read per read(2)
 * stamps every echo it carried.
 *
 * --json fills the payload after the sequence number with JSON records
 * instead of letters; --deflate offers permessage-deflate (RFC 7692, the
 * library's own extension) and fails when the server does not agree: each
 * connection then has an engine (ws_conn_t) that compresses every message
 * as it is sent and inflates every echo. Both modes count the bytes on
 * the wire, so the two can be compared.
 *
 * Linux only (epoll, /proc). Exit status: 0, 1 on bad usage or when the
 * server cannot be reached, 2 when any error was counted.
 */
#define _GNU_SOURCE
#include "loadstat.h"
#include <wsproto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define RBUF_SIZE (256u * 1024u) /* one read buffer for every connection */
#define HEAD_MAX 24              /* 14-byte frame header + 8-byte seq */
#define MAX_PENDING 256          /* connects + handshakes under way */
#define IOV_BATCH 512
#define CONNECT_TIMEOUT 30.0 /* seconds for all connections to open */
#define VERIFY_TIMEOUT 10.0

/* ------------------------------------------------------------- options */

static struct {
    const char *host, *path;
    int port, raw, spin, kv, cpu, json, deflate;
    unsigned conns, inflight;
    size_t size;
    double duration, warmup, hold;
    unsigned idle;
    long pid;
} opt = {.host = "127.0.0.1",
         .path = "/",
         .port = -1,
         .cpu = -1,
         .conns = 1,
         .inflight = 1,
         .size = 16,
         .duration = 3,
         .warmup = 0.5,
         .hold = 2};

static const char usage[] =
    "usage: wsload --port PORT [options]\n"
    "\n"
    "Load for an echo server on this machine (loopback only), bounded in\n"
    "time. WebSocket by default (client handshake, masked binary messages);\n"
    "--raw for a plain TCP echo server.\n"
    "\n"
    "  --host HOST             server address (default 127.0.0.1; must be a\n"
    "                          loopback address)\n"
    "  --port PORT             server port (required)\n"
    "  --path PATH             request target of the handshake (default /)\n"
    "  --raw                   plain TCP: no handshake, no framing\n"
    "  --json                  the payload is JSON records (after the 8-byte\n"
    "                          sequence number) instead of letters\n"
    "  --deflate               offer permessage-deflate and require it: every\n"
    "                          message is compressed, every echo inflated\n"
    "  -c, --connections C     connections (default 1)\n"
    "  -w, --inflight W        messages in flight on each (default 1)\n"
    "  -s, --size S            message payload bytes, >= 8; K and M suffixes\n"
    "                          are KiB and MiB (default 16)\n"
    "  -d, --duration SEC      measured time (default 3)\n"
    "  --warmup SEC            unmeasured time before it (default 0.5)\n"
    "  --idle N                instead: open N connections, hold them, check\n"
    "                          each still echoes one message; with --pid,\n"
    "                          report the server's memory per connection\n"
    "  --hold SEC              idle mode: how long to hold (default 2)\n"
    "  --pid PID               the server's process: its CPU use (load) or\n"
    "                          resident memory (idle) is reported\n"
    "  --cpu N                 pin this process to CPU N\n"
    "  --spin                  poll without sleeping (epoll_wait timeout 0)\n"
    "  --kv                    one line of key=value pairs, for scripts\n"
    "  -h, --help              show this help\n"
    "\n"
    "Messages start with an 8-byte sequence number; echoes are checked for\n"
    "framing, length and order. MB/s is 10^6 bytes of payload echoed per\n"
    "second; wire_b (with --kv) the bytes read and written per message, each\n"
    "way. Exit status: 0; 1 bad usage or no server; 2 errors counted.\n";

/* ---------------------------------------------------------- connection */

enum { ST_FREE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };
enum { RX_HEADER, RX_DATA, RX_PING };

typedef struct conn {
    int fd;
    uint8_t state, rx, blocked, pong_owed;
    /* Sending: messages [send_next, send_limit) are owed; send_off bytes
     * of send_next are already written. */
    uint64_t send_next, send_limit;
    size_t send_off;
    /* Receiving: the next echo must carry sequence number `recvd`. */
    uint64_t recvd;
    uint8_t hdr[10], hdr_have, hdr_need;
    uint64_t pay_left, pay_pos;
    uint8_t seq[8];
    uint8_t ctl[125], ctl_len; /* a ping's payload, for the pong */
    /* Per message in flight, slot seq % W: its head and when it was sent. */
    uint8_t *heads;
    uint64_t *t_send;
    char *hs; /* handshake: the response so far */
    size_t hs_len;
    char key[WS_KEY_LEN + 1];
    /* --deflate: the engine and its extension state; frames encoded and
     * not yet written are out[out_off, out_len). */
    ws_conn_t *ws;
    void *pmd;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
} conn_t;

static int epfd = -1;
static conn_t *conns;
static unsigned nconns;
static struct sockaddr_storage addr;
static socklen_t addr_len;
static uint8_t rbuf[RBUF_SIZE];
static uint8_t mask_key[4];
static uint8_t frame_hdr[14]; /* the data frame header, mask key included */
static size_t frame_hdr_len, head_len, body_len;
static uint8_t *body; /* payload bytes 8..S, masked once */
static uint8_t pong_hdr[6];
static char host_header[300]; /* "127.0.0.1:PORT" */

/* The run. */
static uint64_t now_ns;
static int sending; /* new messages are issued on each echo */
static int measuring;
static uint64_t errors, msgs, opened;
static uint64_t wire_tx, wire_rx; /* bytes written and read, measured */
static uint8_t *plain;            /* --deflate: one message, unmasked */
static uint8_t *corpus;           /* --deflate: what message bodies are
                                     cut from (CORPUS_LEN + S bytes) */
#define CORPUS_LEN (1u << 20)
static ws_pmd_config_t pmd_cfg;
static char pmd_offer[128];
static ls_hist_t hist; /* round trips */

static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("wsload: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* The first few errors are described; all are counted. */
static void error(conn_t *c, const char *fmt, ...)
{
    va_list ap;
    if (errors++ < 5) {
        fprintf(stderr, "wsload: connection %u: ", (unsigned)(c - conns));
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->state = ST_DEAD;
    free(c->hs);
    c->hs = NULL;
}

/* ------------------------------------------------------------ messages */

/* The head of message `seq`: frame header, then the sequence number
 * (little-endian) masked as payload bytes 0..7. */
static void make_head(conn_t *c, uint64_t seq)
{
    uint8_t *h = c->heads + (seq % opt.inflight) * HEAD_MAX;

    memcpy(h, frame_hdr, frame_hdr_len);
    for (int i = 0; i < 8; i++)
        h[frame_hdr_len + (size_t)i] =
            (uint8_t)(seq >> (8 * i)) ^ (opt.raw ? 0 : mask_key[i & 3]);
    c->t_send[seq % opt.inflight] = now_ns;
}

/* The payload after the sequence number: letters, or with --json records
 * such as a chat or dashboard would send. */
static void fill_body(uint8_t *p, size_t n)
{
    char rec[128];
    size_t i = 0;

    for (unsigned id = 0; opt.json && i < n; id++) {
        int k = snprintf(rec, sizeof rec,
                         "{\"id\":%u,\"user\":\"user%u\",\"score\":%u,"
                         "\"online\":%s,\"room\":\"lobby\"},",
                         id, id * 7919u % 1000u, id * 31u % 977u,
                         id % 3 ? "true" : "false");
        for (int j = 0; j < k && i < n; j++)
            p[i++] = (uint8_t)rec[j];
    }
    for (; i < n; i++)
        p[i] = (uint8_t)('a' + i % 26);
}

static void build_templates(void)
{
    ws_frame_header_t fh = {
        .fin = 1, .opcode = WS_OP_BINARY, .masked = 1, .payload_len = opt.size};
    if (ws_random_default(mask_key, 4, NULL) != 0)
        die("no random numbers");
    memcpy(fh.mask_key, mask_key, 4);
    frame_hdr_len = opt.raw ? 0 : ws_frame_header_encode(frame_hdr, &fh);
    head_len = frame_hdr_len + 8;
    body_len = opt.size - 8;
    body = malloc(body_len ? body_len : 1);
    if (!body)
        die("out of memory");
    fill_body(body, body_len);
    if (opt.deflate) {
        /* Each message's body is another slice of a longer stream of
         * records, so it is not the previous one again: the compressor's
         * window (context takeover) would make that unrealistically
         * cheap. The body is copied per message, the engine encodes
         * (compresses, masks) it per message anyway. */
        ws_pmd_config_init(&pmd_cfg);
        plain = malloc(opt.size);
        corpus = malloc(CORPUS_LEN + body_len);
        if (!plain || !corpus ||
            ws_pmd_offer(&pmd_cfg, pmd_offer, sizeof pmd_offer) < 0)
            die("out of memory");
        fill_body(corpus, CORPUS_LEN + body_len);
    }
    if (!opt.raw)
        ws_mask(body, body, body_len, mask_key, 8);
    /* An empty-keyed pong header; the payload is masked when sent. */
    pong_hdr[0] = 0x8A;
    memcpy(pong_hdr + 2, mask_key, 4);
}

/* One writev, counted while measuring. Returns the bytes written, or -1
 * with the connection marked blocked (EAGAIN: EPOLLOUT resumes it) or
 * failed. */
static ssize_t send_some(conn_t *c, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t w = writev(c->fd, iov, n);
        if (w >= 0) {
            if (measuring)
                wire_tx += (uint64_t)w;
            return w;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            c->blocked = 1;
        else
            error(c, "write: %s", strerror(errno));
        return -1;
    }
}

/* Write what is owed, as much as the kernel takes: one writev of up to
 * IOV_BATCH / 2 messages at a time. */
static void pump_deflate(conn_t *c);

static void pump(conn_t *c)
{
    size_t msg_len = head_len + body_len;

    if (c->state != ST_OPEN || c->blocked)
        return;
    if (c->ws) {
        pump_deflate(c);
        return;
    }
    if (c->pong_owed && c->send_off == 0) {
        uint8_t pong[6 + 125];
        memcpy(pong, pong_hdr, 6);
        pong[1] = (uint8_t)(0x80 | c->ctl_len);
        ws_mask(pong + 6, c->ctl, c->ctl_len, mask_key, 0);
        if (write(c->fd, pong, 6u + c->ctl_len) != 6 + (ssize_t)c->ctl_len) {
            error(c, "could not send a pong");
            return;
        }
        c->pong_owed = 0;
    }
    while (c->send_next < c->send_limit) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        size_t total = 0, off = c->send_off;
        for (uint64_t s = c->send_next; s < c->send_limit && n < IOV_BATCH - 1;
             s++, off = 0) {
            uint8_t *h = c->heads + (s % opt.inflight) * HEAD_MAX;
            if (off < head_len)
                iov[n++] = (struct iovec){h + off, head_len - off};
            size_t boff = off > head_len ? off - head_len : 0;
            if (body_len > boff)
                iov[n++] = (struct iovec){body + boff, body_len - boff};
            total += msg_len - (s == c->send_next ? c->send_off : 0);
        }
        ssize_t w = send_some(c, iov, n);
        if (w < 0)
            return;
        size_t done = c->send_off + (size_t)w;
        c->send_next += done / msg_len;
        c->send_off = done % msg_len;
        if ((size_t)w < total) {
            c->blocked = 1; /* EPOLLOUT (edge-triggered) resumes it */
            return;
        }
    }
}

/* The echo of message `recvd` is complete. */
static void echo_done(conn_t *c)
{
    uint64_t seq = 0;
    for (int i = 7; i >= 0; i--)
        seq = seq << 8 | c->seq[i];
    if (seq != c->recvd) {
        error(c, "echo %llu came back as %llu", (unsigned long long)c->recvd,
              (unsigned long long)seq);
        return;
    }
    if (measuring) {
        ls_hist_add(&hist, now_ns - c->t_send[seq % opt.inflight]);
        msgs++;
    }
    c->recvd++;
    if (sending) {
        make_head(c, c->send_limit);
        c->send_limit++;
    }
}

/* A server frame header is complete: what follows? */
static int frame_start(conn_t *c)
{
    const uint8_t *h = c->hdr;
    uint64_t len = h[1] & 0x7F;

    if (h[1] & 0x80) {
        error(c, "server frame is masked"); /* RFC 6455 §5.1 */
        return -1;
    }
    if (len == 126)
        len = (uint64_t)h[2] << 8 | h[3];
    else if (len == 127)
        for (int i = 2; i < 10; i++)
            len = (i == 2 ? 0 : len << 8) | h[i];
    c->pay_left = len;
    c->pay_pos = 0;
    if (h[0] == 0x82 && len == opt.size) { /* FIN, binary: an echo */
        c->rx = RX_DATA;
        return 0;
    }
    if (h[0] == 0x89 && len <= 125) { /* a ping: owed a pong */
        c->rx = RX_PING;
        c->ctl_len = (uint8_t)len;
        return 0;
    }
    if (h[0] == 0x88)
        error(c, "the server closed the WebSocket");
    else
        error(c, "unexpected frame: first byte %02x, %llu bytes", h[0],
              (unsigned long long)len);
    return -1;
}

/* Bytes from the server: echoes (raw: S-byte pieces; WebSocket: frames). */
static int on_bytes(conn_t *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->rx == RX_HEADER) {
            c->hdr[c->hdr_have++] = *p++;
            n--;
            if (c->hdr_have == 2)
                c->hdr_need = (c->hdr[1] & 0x7F) == 126   ? 4
                              : (c->hdr[1] & 0x7F) == 127 ? 10
                                                          : 2;
            while (n && c->hdr_have < c->hdr_need) {
                c->hdr[c->hdr_have++] = *p++;
                n--;
            }
            if (c->hdr_have < 2 || c->hdr_have < c->hdr_need)
                continue;
            c->hdr_have = 0;
            if (frame_start(c) != 0)
                return -1;
            if (c->pay_left)
                continue;
        }
        size_t k = n < c->pay_left ? n : (size_t)c->pay_left;
        if (c->rx == RX_PING) {
            memcpy(c->ctl + c->pay_pos, p, k);
        } else if (c->pay_pos < 8) {
            size_t m = k < 8 - c->pay_pos ? k : 8 - (size_t)c->pay_pos;
            memcpy(c->seq + c->pay_pos, p, m);
        }
        if (c->rx == RX_DATA && c->pay_pos == 0 && c->recvd >= c->send_limit) {
            error(c, "bytes that were never sent came back");
            return -1;
        }
        p += k;
        n -= k;
        c->pay_pos += k;
        c->pay_left -= k;
        if (c->pay_left)
            continue;
        if (c->rx == RX_PING) {
            c->pong_owed = 1;
        } else {
            echo_done(c);
            if (c->state == ST_DEAD)
                return -1;
        }
        if (opt.raw) {
            c->pay_left = opt.size;
            c->pay_pos = 0;
        } else {
            c->rx = RX_HEADER;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ --deflate */

/* Room for n more bytes at the end of c->out. */
static uint8_t *out_room(conn_t *c, size_t n)
{
    if (c->out_cap - c->out_len < n) {
        size_t cap = c->out_len + n + 64 * 1024;
        uint8_t *p = realloc(c->out, cap);
        if (!p)
            return NULL;
        c->out = p;
        c->out_cap = cap;
    }
    return c->out + c->out_len;
}

/* Every owed message through the engine (compressed, masked) into out. */
static int encode_owed(conn_t *c)
{
    for (; c->send_next < c->send_limit; c->send_next++) {
        size_t need = ws_conn_frame_size(c->ws, opt.size);
        uint8_t *p = out_room(c, need);
        for (int i = 0; i < 8; i++)
            plain[i] = (uint8_t)(c->send_next >> (8 * i));
        memcpy(plain + 8, corpus + c->send_next * 4099u % CORPUS_LEN, body_len);
        ptrdiff_t n = p ? ws_conn_send_message(c->ws, WS_OP_BINARY, plain,
                                               opt.size, p, need)
                        : WS_ENOMEM;
        if (n < 0) {
            error(c, "cannot encode a message: %s", ws_strerror((int)n));
            return -1;
        }
        c->out_len += (size_t)n;
    }
    return 0;
}

static void pump_deflate(conn_t *c)
{
    while (!c->blocked) {
        if (c->out_off == c->out_len) {
            c->out_off = c->out_len = 0;
            if (c->send_next == c->send_limit || encode_owed(c) != 0)
                return;
        }
        struct iovec iov = {c->out + c->out_off, c->out_len - c->out_off};
        ssize_t w = send_some(c, &iov, 1);
        if (w < 0)
            return;
        c->out_off += (size_t)w;
    }
}

/* The 101 agreed to permessage-deflate (required): an engine with the
 * extension for this connection. 0 or -1. */
static int deflate_open(conn_t *c, const ws_response_t *resp)
{
    ws_pmd_params_t agreed;
    ws_options_t o;

    if (ws_pmd_negotiate_client(resp, &pmd_cfg, &agreed) != 1) {
        error(c, "the server did not agree to permessage-deflate");
        return -1;
    }
    size_t size = ws_pmd_state_size(&agreed);
    c->pmd = aligned_alloc(16, (size + 15) & ~(size_t)15);
    c->ws = malloc(sizeof *c->ws);
    if (!c->pmd || !c->ws || ws_pmd_init(c->pmd, size, &agreed, &pmd_cfg)) {
        error(c, "out of memory");
        return -1;
    }
    ws_options_init(&o);
    o.flags = WS_OPT_REASSEMBLE;
    o.max_message = opt.size + 1;
    o.extension = ws_pmd_extension();
    o.extension_state = c->pmd;
    if (ws_conn_init(c->ws, WS_ROLE_CLIENT, &o) != 0) {
        error(c, "cannot set up the engine");
        return -1;
    }
    return 0;
}

/* Bytes from the server, through the engine: echoes (inflated), pongs. */
static int on_bytes_deflate(conn_t *c, uint8_t *p, size_t n)
{
    ws_event_t ev;

    ws_conn_feed(c->ws, p, n);
    while (c->state != ST_DEAD && ws_conn_next_event(c->ws, &ev) > 0) {
        uint8_t *room;
        switch (ev.type) {
        case WS_EV_MESSAGE:
            if (ev.opcode != WS_OP_BINARY || ev.len != opt.size ||
                c->recvd >= c->send_limit) {
                error(c, "unexpected echo: opcode %d, %zu bytes",
                      (int)ev.opcode, ev.len);
                return -1;
            }
            memcpy(c->seq, ev.data, 8);
            echo_done(c);
            break;
        case WS_EV_SEND: /* a pong, queued behind what is owed */
            if (!(room = out_room(c, ev.len))) {
                error(c, "out of memory");
                return -1;
            }
            memcpy(room, ev.data, ev.len);
            c->out_len += ev.len;
            break;
        case WS_EV_CLOSE:
        case WS_EV_ERROR:
            error(c, "the server closed or failed the WebSocket (%u)", ev.code);
            return -1;
        default:
            break;
        }
    }
    return c->state == ST_DEAD ? -1 : 0;
}

/* ---------------------------------------------------------- connecting */

static void conn_open(conn_t *c)
{
    c->state = ST_OPEN;
    c->rx = opt.raw ? RX_DATA : RX_HEADER;
    c->pay_left = opt.raw ? opt.size : 0;
    opened++;
}

static void conn_start(conn_t *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                             .data.ptr = c};
    int one = 1;

    c->fd =
        socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        error(c, "socket: %s", strerror(errno));
        return;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = ST_CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&addr, addr_len) != 0 &&
        errno != EINPROGRESS) {
        error(c, "connect: %s", strerror(errno));
        return;
    }
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0)
        error(c, "epoll_ctl: %s", strerror(errno));
}

/* The TCP connection is up: send the upgrade request. */
static void conn_connected(conn_t *c)
{
    int err = 0;
    socklen_t len = sizeof err;

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err) {
        error(c, "connect: %s", strerror(err ? err : errno));
        return;
    }
    if (opt.raw) {
        conn_open(c);
        return;
    }
    ws_client_request_t r = {.host = host_header,
                             .path = opt.path,
                             .extensions = opt.deflate ? pmd_offer : NULL};
    char out[768];
    if (ws_handshake_generate_key(NULL, NULL, c->key) != 0) {
        error(c, "no random numbers");
        return;
    }
    ptrdiff_t n = ws_handshake_build_request(&r, c->key, out, sizeof out);
    if (n < 0 || write(c->fd, out, (size_t)n) != n) {
        error(c, "could not send the upgrade request");
        return;
    }
    c->state = ST_HANDSHAKE;
}

/* Response bytes: a 101 opens the WebSocket; anything after it is
 * frames. */
static void conn_handshake(conn_t *c, const uint8_t *p, size_t n)
{
    ws_response_t resp;
    char *hs = realloc(c->hs, c->hs_len + n);

    if (!hs) {
        error(c, "out of memory");
        return;
    }
    memcpy(hs + c->hs_len, p, n);
    c->hs = hs;
    c->hs_len += n;
    int r = ws_handshake_parse_response_ext(
        hs, c->hs_len, 0, c->key, NULL, opt.deflate ? pmd_offer : NULL, &resp);
    if (r == WS_EAGAIN)
        return;
    if (r < 0) {
        error(c, "handshake failed: %s (status %d)", ws_strerror(r),
              resp.status);
        return;
    }
    size_t rest = c->hs_len - (size_t)r;
    if (opt.deflate && deflate_open(c, &resp) != 0)
        return;
    conn_open(c);
    if (rest && c->ws)
        on_bytes_deflate(c, (uint8_t *)hs + r, rest);
    else if (rest)
        on_bytes(c, (uint8_t *)hs + r, rest);
    free(c->hs);
    c->hs = NULL;
    c->hs_len = 0;
}

/* ------------------------------------------------------------ the loop */

static void readable(conn_t *c)
{
    for (;;) {
        ssize_t n = read(c->fd, rbuf, sizeof rbuf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            error(c, n ? "read: %s" : "the server closed the connection",
                  strerror(errno));
            return;
        }
        now_ns = ls_clock_ns();
        if (measuring)
            wire_rx += (uint64_t)n;
        if (c->state == ST_HANDSHAKE)
            conn_handshake(c, rbuf, (size_t)n);
        else if ((c->ws ? on_bytes_deflate(c, rbuf, (size_t)n)
                        : on_bytes(c, rbuf, (size_t)n)) != 0)
            return;
        if (c->state == ST_DEAD)
            return;
        /* A short read emptied the socket: with edge-triggered epoll the
         * next bytes bring a new event. */
        if ((size_t)n < sizeof rbuf)
            return;
    }
}

static void on_event(conn_t *c, unsigned events)
{
    if (c->state == ST_CONNECTING) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
            conn_connected(c);
        if (c->state == ST_CONNECTING || c->state == ST_DEAD)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        readable(c);
    if (c->state != ST_OPEN)
        return;
    if (events & EPOLLOUT)
        c->blocked = 0;
    pump(c);
}

/* Run the loop until `until` (seconds on the monotonic clock) or until
 * done() is true. */
static void run(double until, int (*done)(void))
{
    struct epoll_event evs[512];

    for (;;) {
        now_ns = ls_clock_ns();
        if ((double)now_ns * 1e-9 >= until || (done && done()))
            return;
        int timeout = opt.spin ? 0 : 10;
        int n = epoll_wait(epfd, evs, 512, timeout);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        now_ns = ls_clock_ns();
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }
}

static unsigned next_to_start, first_busy;

/* Start connections while fewer than MAX_PENDING are opening; true once
 * every one is open (or dead). */
static int all_open(void)
{
    unsigned busy = 0;
    for (unsigned i = first_busy; i < next_to_start; i++)
        busy +=
            conns[i].state == ST_CONNECTING || conns[i].state == ST_HANDSHAKE;
    while (first_busy < next_to_start &&
           conns[first_busy].state != ST_CONNECTING &&
           conns[first_busy].state != ST_HANDSHAKE)
        first_busy++;
    while (next_to_start < nconns && busy < MAX_PENDING) {
        conn_start(&conns[next_to_start++]);
        busy += conns[next_to_start - 1].state == ST_CONNECTING;
    }
    return next_to_start == nconns && busy == 0;
}

/* Open every connection, MAX_PENDING at a time. Returns how many are
 * open. */
static unsigned open_all(void)
{
    double t0 = (double)ls_clock_ns() * 1e-9;

    run(t0 + CONNECT_TIMEOUT, all_open);
    for (unsigned i = 0; i < nconns; i++)
        if (conns[i].state == ST_CONNECTING || conns[i].state == ST_HANDSHAKE)
            error(&conns[i], "not open after %.0f s", CONNECT_TIMEOUT);
    return (unsigned)opened;
}

static void setup(void)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai;
    char service[16];

    snprintf(service, sizeof service, "%d", opt.port);
    if (getaddrinfo(opt.host, service, &hints, &ai) != 0)
        die("cannot resolve %s", opt.host);
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    int loopback =
        addr.ss_family == AF_INET
            ? (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) ==
                  127
            : IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
    if (!loopback)
        die("%s is not a loopback address: wsload loads this machine only",
            opt.host);
    snprintf(host_header, sizeof host_header,
             addr.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", opt.host,
             opt.port);

    /* 10 000 connections need more descriptors than the usual soft limit. */
    if (ls_raise_nofile(nconns + 16) != 0)
        die("%u connections need %u descriptors: raise the limit (ulimit -n)",
            nconns, nconns + 16);
    if (ls_pin_cpu(opt.cpu) != 0)
        die("cannot run on CPU %d: %s", opt.cpu, strerror(errno));
    epfd = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc(nconns, sizeof *conns);
    if (epfd < 0 || !conns)
        die("cannot start: %s", strerror(errno));
    for (unsigned i = 0; i < nconns; i++) {
        conns[i].fd = -1;
        conns[i].heads = malloc(opt.inflight * HEAD_MAX);
        conns[i].t_send = malloc(opt.inflight * sizeof(uint64_t));
        if (!conns[i].heads || !conns[i].t_send)
            die("out of memory");
    }
    build_templates();
}

/* ------------------------------------------------------------ the runs */

static const char *mode_name(void)
{
    return opt.raw ? "raw" : opt.deflate ? "ws-deflate" : "ws";
}

static void issue(conn_t *c, unsigned count)
{
    for (unsigned k = 0; k < count; k++) {
        make_head(c, c->send_limit);
        c->send_limit++;
    }
    pump(c);
}

static int load_test(void)
{
    if (open_all() < nconns)
        return 2;
    now_ns = ls_clock_ns();
    double t0 = (double)now_ns * 1e-9;
    sending = 1;
    for (unsigned i = 0; i < nconns; i++)
        issue(&conns[i], opt.inflight);
    run(t0 + opt.warmup, NULL);

    measuring = 1;
    double start = (double)ls_clock_ns() * 1e-9, cpu0 = ls_cpu_self();
    double scpu0 = opt.pid > 0 ? ls_cpu_of(opt.pid) : -1;
    run(start + opt.duration, NULL);
    double secs = (double)ls_clock_ns() * 1e-9 - start;
    double cpu1 = ls_cpu_self(), scpu1 = opt.pid > 0 ? ls_cpu_of(opt.pid) : -1;
    measuring = sending = 0;

    double rate = (double)msgs / secs;
    double mbs = rate * (double)opt.size / 1e6;
    double p50 = ls_hist_quantile(&hist, 0.50) / 1e3,
           p99 = ls_hist_quantile(&hist, 0.99) / 1e3;
    double self = 100 * (cpu1 - cpu0) / secs;
    double server =
        scpu0 >= 0 && scpu1 >= 0 ? 100 * (scpu1 - scpu0) / secs : -1;
    if (msgs == 0 && !errors)
        errors++, fprintf(stderr, "wsload: no echo came back\n");
    double wire = msgs ? (double)(wire_tx + wire_rx) / (2.0 * (double)msgs) : 0;
    if (opt.kv) {
        printf("wsload mode=%s conns=%u inflight=%u size=%zu secs=%.3f "
               "msgs=%llu msg_s=%.0f mb_s=%.2f p50_us=%.1f p99_us=%.1f "
               "errors=%llu server_cpu=%.0f self_cpu=%.0f wire_b=%.0f\n",
               mode_name(), nconns, opt.inflight, opt.size, secs,
               (unsigned long long)msgs, rate, mbs, p50, p99,
               (unsigned long long)errors, server, self, wire);
    } else {
        printf("wsload: %s, %u connections x %u in flight x %zu B, %.2f s: "
               "%.0f msg/s, %.2f MB/s, round trip p50 %.1f us, p99 %.1f us, "
               "%llu errors; CPU: server %s%.0f%%, wsload %.0f%%; %.0f bytes "
               "on the wire per message each way\n",
               mode_name(), nconns, opt.inflight, opt.size, secs, rate, mbs,
               p50, p99, (unsigned long long)errors, server < 0 ? "n/a " : "",
               server < 0 ? 0 : server, self, wire);
    }
    return errors ? 2 : 0;
}

static int all_echoed(void)
{
    for (unsigned i = 0; i < nconns; i++)
        if (conns[i].state == ST_OPEN && conns[i].recvd < conns[i].send_limit)
            return 0;
    return 1;
}

static int idle_test(void)
{
    long long rss0 = opt.pid > 0 ? ls_rss_of(opt.pid) : -1, rss1, rss2;
    unsigned held = 0;

    open_all();
    /* Let the server settle (nothing should arrive), then look. */
    run((double)ls_clock_ns() * 1e-9 + (opt.hold < 0.5 ? opt.hold : 0.5), NULL);
    rss1 = opt.pid > 0 ? ls_rss_of(opt.pid) : -1;
    run((double)ls_clock_ns() * 1e-9 + opt.hold, NULL);
    /* Still there? One message each, every echo checked. */
    for (unsigned i = 0; i < nconns; i++)
        if (conns[i].state == ST_OPEN)
            issue(&conns[i], 1);
    run((double)ls_clock_ns() * 1e-9 + VERIFY_TIMEOUT, all_echoed);
    rss2 = opt.pid > 0 ? ls_rss_of(opt.pid) : -1;
    for (unsigned i = 0; i < nconns; i++) {
        if (conns[i].state == ST_OPEN && conns[i].recvd == 1)
            held++;
        else if (conns[i].state == ST_OPEN)
            error(&conns[i], "no echo after the hold");
    }
    double per = rss0 >= 0 && rss1 >= 0 ? (double)(rss1 - rss0) / nconns : -1;
    if (opt.kv) {
        printf("wsload idle mode=%s conns=%u held=%u errors=%llu "
               "rss_before=%lld rss_idle=%lld rss_after=%lld per_conn=%.0f\n",
               mode_name(), nconns, held, (unsigned long long)errors, rss0,
               rss1, rss2, per);
    } else {
        printf("wsload: %s, %u idle connections: %u held for %.1f s and "
               "echoing, %llu errors",
               mode_name(), nconns, held, opt.hold, (unsigned long long)errors);
        if (per >= 0)
            printf("; server VmRSS %.1f MiB before, %.1f MiB idle (%.0f B per "
                   "connection), %.1f MiB after one echo each",
                   (double)rss0 / 1048576, (double)rss1 / 1048576, per,
                   (double)rss2 / 1048576);
        printf("\n");
    }
    return errors || held < nconns ? 2 : 0;
}

/* ------------------------------------------------------------- options */

static unsigned long long number(const char *name, const char *s,
                                 unsigned long long max, int sizes)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (sizes && (*end == 'K' || *end == 'k'))
        v <<= 10, end++;
    else if (sizes && (*end == 'M' || *end == 'm'))
        v <<= 20, end++;
    if (end == s || *end || errno || v > max || s[0] == '-')
        die("bad value for %s: '%s' (try --help)", name, s);
    return v;
}

static double seconds(const char *name, const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0 && v <= 3600))
        die("bad value for %s: '%s' (try --help)", name, s);
    return v;
}

static void parse_options(int argc, char **argv)
{
    static const struct option lo[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"path", required_argument, NULL, 'P'},
        {"raw", no_argument, NULL, 'r'},
        {"json", no_argument, NULL, 'j'},
        {"deflate", no_argument, NULL, 'D'},
        {"connections", required_argument, NULL, 'c'},
        {"inflight", required_argument, NULL, 'w'},
        {"size", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'},
        {"warmup", required_argument, NULL, 'W'},
        {"idle", required_argument, NULL, 'i'},
        {"hold", required_argument, NULL, 'o'},
        {"pid", required_argument, NULL, 'x'},
        {"cpu", required_argument, NULL, 'u'},
        {"spin", no_argument, NULL, 'S'},
        {"kv", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int o;

    while ((o = getopt_long(argc, argv, "c:w:s:d:h", lo, NULL)) != -1) {
        switch (o) {
        case 'H':
            opt.host = optarg;
            break;
        case 'p':
            opt.port = (int)number("--port", optarg, 65535, 0);
            break;
        case 'P':
            opt.path = optarg;
            break;
        case 'r':
            opt.raw = 1;
            break;
        case 'j':
            opt.json = 1;
            break;
        case 'D':
            opt.deflate = 1;
            break;
        case 'c':
            opt.conns = (unsigned)number("-c", optarg, 1000000, 0);
            break;
        case 'w':
            opt.inflight = (unsigned)number("-w", optarg, 65536, 0);
            break;
        case 's':
            opt.size = (size_t)number("-s", optarg, 1u << 30, 1);
            break;
        case 'd':
            opt.duration = seconds("-d", optarg);
            break;
        case 'W':
            opt.warmup = seconds("--warmup", optarg);
            break;
        case 'i':
            opt.idle = (unsigned)number("--idle", optarg, 1000000, 0);
            break;
        case 'o':
            opt.hold = seconds("--hold", optarg);
            break;
        case 'x':
            opt.pid = (long)number("--pid", optarg, 1u << 30, 0);
            break;
        case 'u':
            opt.cpu = (int)number("--cpu", optarg, CPU_SETSIZE - 1, 0);
            break;
        case 'S':
            opt.spin = 1;
            break;
        case 'k':
            opt.kv = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs("try 'wsload --help'\n", stderr);
            exit(1);
        }
    }
    if (optind < argc)
        die("unexpected argument '%s' (try --help)", argv[optind]);
    if (opt.port <= 0)
        die("--port is required (try --help)");
    if (opt.size < 8)
        die("--size must be at least 8 (the sequence number)");
    if (opt.raw && opt.deflate)
        die("--deflate is a WebSocket extension: not with --raw");
    if (opt.conns == 0 || opt.inflight == 0 || opt.duration <= 0)
        die("-c, -w and -d must be positive");
}

int main(int argc, char **argv)
{
    parse_options(argc, argv);
    if (opt.idle)
        opt.conns = opt.idle, opt.inflight = 1;
    nconns = opt.conns;
    setup();
    return opt.idle ? idle_test() : load_test();
}
