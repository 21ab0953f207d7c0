/*
 * wire.c — frames, UTF-8 and deadline-bounded socket I/O for the
 * conformance suite. Independent of libwsproto on purpose (see wire.h).
 */
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------- buffers */

static void buf_reserve(buf_t *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "conformance: out of memory\n");
        exit(2);
    }
    b->p = p;
    b->cap = cap;
}

void buf_put(buf_t *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void buf_putc(buf_t *b, uint8_t c)
{
    buf_put(b, &c, 1);
}

void buf_putstr(buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

void buf_free(buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* -------------------------------------------------------------- frames */

/* Each frame gets a different mask key, so the server's unmasking is
 * exercised at every key rotation rather than with one lucky key. */
static void next_key(uint8_t key[4])
{
    static uint32_t x = 0x9e3779b9u;
    x = x * 1664525u + 1013904223u;
    key[0] = (uint8_t)(x >> 24);
    key[1] = (uint8_t)(x >> 16);
    key[2] = (uint8_t)(x >> 8);
    key[3] = (uint8_t)(x | 1); /* never the all-zero key by accident */
}

void frame_put(buf_t *out, const frame_spec_t *s, const void *payload,
               size_t len)
{
    uint64_t n = s->announce ? s->announce : len;
    uint8_t key[4];
    int form = s->len_form;

    buf_putc(out, (uint8_t)((s->fin ? 0x80 : 0) | ((s->rsv & 7) << 4) |
                            (s->op & 0x0F)));
    uint8_t mbit = s->masked ? 0x80 : 0;
    if (form == LEN_MINIMAL)
        form = n < 126 ? 0 : n <= 0xFFFF ? LEN_16 : LEN_64;
    if (form == 0) {
        buf_putc(out, (uint8_t)(mbit | n));
    } else if (form == LEN_16) {
        buf_putc(out, mbit | 126);
        buf_putc(out, (uint8_t)(n >> 8));
        buf_putc(out, (uint8_t)n);
    } else {
        buf_putc(out, mbit | 127);
        for (int i = 7; i >= 0; i--)
            buf_putc(out, (uint8_t)(n >> (8 * i)));
    }
    if (s->masked) {
        if (s->key_set)
            memcpy(key, s->key, 4);
        else
            next_key(key);
        buf_put(out, key, 4);
    }
    size_t at = out->len;
    buf_put(out, payload, len);
    if (s->masked)
        for (size_t i = 0; i < len; i++)
            out->p[at + i] ^= key[i & 3];
}

void cframe(buf_t *out, int fin, int op, const void *payload, size_t len)
{
    frame_spec_t s = {.fin = fin, .op = op, .masked = 1};
    frame_put(out, &s, payload, len);
}

void sframe(buf_t *out, int fin, int op, const void *payload, size_t len)
{
    frame_spec_t s = {.fin = fin, .op = op};
    frame_put(out, &s, payload, len);
}

void cclose(buf_t *out, unsigned code, const char *reason, size_t rlen)
{
    uint8_t p[256];
    size_t n = 0;
    if (code) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        memcpy(p + 2, reason, rlen);
        n = 2 + rlen;
    }
    cframe(out, 1, 0x8, p, n);
}

void frame_free(frame_t *f)
{
    buf_free(&f->payload);
}

/* --------------------------------------------------------------- UTF-8 */

/* RFC 3629 §4, the table of well-formed sequences, written out. */
int utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        size_t k;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            if (c == 0xF4)
                hi = 0x8F; /* over U+10FFFF */
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0; /* truncated */
        if (p[i + 1] < lo || p[i + 1] > hi)
            return 0;
        for (size_t j = 2; j <= k; j++)
            if (p[i + j] < 0x80 || p[i + j] > 0xBF)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* ------------------------------------------------------------ sessions */

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fail(peer_t *t, const char *fmt, ...)
{
    if (t->msg[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->msg, sizeof t->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void hexdump(char *out, size_t cap, const uint8_t *p, size_t n, size_t max)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && i < max && o + 4 < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%02x ", p[i]);
    if (n > max && o + 4 < cap)
        snprintf(out + o, cap - o, "...");
    else if (o)
        out[o - 1] = '\0';
}

int tcp_open(peer_t *t, int port)
{
    struct sockaddr_in a = {0};
    int one = 1;

    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0)
        return fail(t, "socket: %s", strerror(errno));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(t->fd, (struct sockaddr *)&a, sizeof a) != 0)
        return fail(t, "connect to port %d: %s", port, strerror(errno));
    setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

void peer_close(peer_t *t)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    buf_free(&t->rx);
    t->rx_off = 0;
}

static int remaining(const peer_t *t)
{
    int64_t left = t->deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

/* Read what is there into rx. 1 read something, 0 nothing, -1 EOF. */
static int pull(peer_t *t)
{
    if (t->eof)
        return -1;
    if (t->rx_off > 0 && t->rx_off == t->rx.len) {
        t->rx.len = t->rx_off = 0;
    } else if (t->rx_off > (1u << 20) && t->rx_off * 2 > t->rx.len) {
        memmove(t->rx.p, t->rx.p + t->rx_off, t->rx.len - t->rx_off);
        t->rx.len -= t->rx_off;
        t->rx_off = 0;
    }
    buf_reserve(&t->rx, 65536);
    ssize_t r = recv(t->fd, t->rx.p + t->rx.len, t->rx.cap - t->rx.len, 0);
    if (r > 0) {
        t->rx.len += (size_t)r;
        return 1;
    }
    if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        t->eof = 1;
        t->reset = r < 0;
        return -1;
    }
    return 0;
}

int send_bytes(peer_t *t, const void *data, size_t n, size_t chop, int pause_us)
{
    const uint8_t *p = data;
    size_t off = 0;

    while (off < n) {
        size_t piece = chop ? chop : n - off;
        if (piece > n - off)
            piece = n - off;
        size_t done = 0;
        while (done < piece) {
            struct pollfd pf = {t->fd, POLLIN | POLLOUT, 0};
            if (poll(&pf, 1, remaining(t)) == 0)
                return fail(t, "timeout sending (%zu of %zu bytes sent)",
                            off + done, n);
            if (pf.revents & (POLLIN | POLLHUP | POLLERR))
                pull(t);
            if (t->eof)
                return 0; /* the server closed: the case reads why */
            if (!(pf.revents & POLLOUT))
                continue;
            ssize_t w = send(t->fd, p + off + done, piece - done, MSG_NOSIGNAL);
            if (w > 0)
                done += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                return 0; /* EPIPE / ECONNRESET: likewise */
        }
        off += piece;
        if (pause_us && off < n)
            usleep((useconds_t)pause_us);
    }
    return 0;
}

int send_buf(peer_t *t, const buf_t *b)
{
    return send_bytes(t, b->p, b->len, 0, 0);
}

size_t avail(const peer_t *t)
{
    return t->rx.len - t->rx_off;
}

const uint8_t *rxp(const peer_t *t)
{
    return t->rx.p + t->rx_off;
}

void take(peer_t *t, size_t n)
{
    t->rx_off += n;
}

int need(peer_t *t, size_t n)
{
    while (avail(t) < n) {
        if (t->eof)
            return 0;
        struct pollfd pf = {t->fd, POLLIN, 0};
        int left = remaining(t);
        if (left == 0 || poll(&pf, 1, left) == 0)
            return -1;
        pull(t);
    }
    return 1;
}

static const char *op_name(int op)
{
    static const char *names[16] = {
        "continuation", "text", "binary", "op3", "op4", "op5", "op6", "op7",
        "close",        "ping", "pong",   "opB", "opC", "opD", "opE", "opF"};
    return names[op & 15];
}

int recv_frame(peer_t *t, frame_t *f)
{
    memset(f, 0, sizeof *f);
    int r = need(t, 2);
    if (r <= 0)
        return fail(t, r == 0 ? "server closed TCP, expected a frame"
                              : "timeout waiting for a frame");
    const uint8_t *h = rxp(t);
    size_t hlen = 2;
    uint64_t len = h[1] & 0x7F;
    if (len == 126)
        hlen += 2;
    else if (len == 127)
        hlen += 8;
    if (h[1] & 0x80)
        hlen += 4;
    if ((r = need(t, hlen)) <= 0)
        return fail(t, "frame header cut short (%s)",
                    r == 0 ? "EOF" : "timeout");
    h = rxp(t);
    f->fin = h[0] >> 7;
    f->rsv = (h[0] >> 4) & 7;
    f->op = h[0] & 15;
    f->masked = h[1] >> 7;
    if (len == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126)
            return fail(t, "server used a non-minimal 16-bit length (%u)",
                        (unsigned)len);
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        if (len <= 0xFFFF || len >> 63)
            return fail(t, "server used a bad 64-bit length (%llu)",
                        (unsigned long long)len);
    }
    if (len > (64u << 20))
        return fail(t, "server announced a %llu-byte frame",
                    (unsigned long long)len);
    f->len = len;
    if ((r = need(t, hlen + (size_t)len)) <= 0)
        return fail(t, "%s frame of %llu bytes cut short (%zu arrived, %s)",
                    op_name(f->op), (unsigned long long)len, avail(t) - hlen,
                    r == 0 ? "EOF" : "timeout");
    h = rxp(t);
    buf_put(&f->payload, h + hlen, (size_t)len);
    if (f->masked)
        for (size_t i = 0; i < len; i++)
            f->payload.p[i] ^= h[hlen - 4 + (i & 3)];
    take(t, hlen + (size_t)len);
    return 1;
}

int expect_bytes(peer_t *t, const void *exp, size_t n, const char *what)
{
    char a[200], b[200];
    const uint8_t *e = exp;
    int r = need(t, n);
    size_t got = avail(t) < n ? avail(t) : n;
    const uint8_t *g = rxp(t);
    size_t i = 0;

    while (i < got && g[i] == e[i])
        i++;
    if (i < got || r <= 0) {
        size_t from = i > 8 ? i - 8 : 0;
        hexdump(a, sizeof a, e + from, n - from, 24);
        hexdump(b, sizeof b, g + from, got - from, 24);
        if (i == got)
            return fail(t, "%s: %s after %zu of %zu bytes; expected [+%zu] %s",
                        what, r == 0 ? "server closed TCP" : "timeout", got, n,
                        from, a);
        return fail(t, "%s: byte %zu differs: expected [+%zu] %s | got %s",
                    what, i, from, a, b);
    }
    take(t, n);
    return 0;
}

int expect_buf(peer_t *t, const buf_t *exp, const char *what)
{
    return expect_bytes(t, exp->p, exp->len, what);
}

int expect_eof(peer_t *t)
{
    char hex[200];
    int r = need(t, avail(t) + 1);
    if (r == 0)
        return 0;
    if (r < 0)
        return fail(t, "server did not close TCP");
    hexdump(hex, sizeof hex, rxp(t), avail(t), 24);
    return fail(t, "unexpected bytes where TCP should close: %s", hex);
}

int expect_close(peer_t *t, unsigned code)
{
    frame_t f;
    char hex[200];
    if (recv_frame(t, &f) < 0)
        return fail(t, "expected close %u", code);
    const uint8_t *p = f.payload.p;
    unsigned got = f.len >= 2 ? (unsigned)(p[0] << 8 | p[1]) : 0;
    hexdump(hex, sizeof hex, p, (size_t)f.len, 16);
    int bad = 0;
    if (f.op != 0x8)
        bad = fail(t, "expected close %u, got a %s frame [%s]", code,
                   op_name(f.op), hex);
    else if (!f.fin || f.rsv || f.masked)
        bad = fail(t, "close frame with fin=%d rsv=%d masked=%d", f.fin, f.rsv,
                   f.masked);
    else if (code == 0 && f.len != 0)
        bad = fail(t, "expected an empty close, got [%s]", hex);
    else if (code != 0 && (f.len < 2 || got != code))
        bad = fail(t, "expected close %u, got close [%s]", code, hex);
    else if (f.len > 125 ||
             (f.len > 2 && !utf8_valid(p + 2, (size_t)f.len - 2)))
        bad = fail(t, "close reason invalid (%llu bytes) [%s]",
                   (unsigned long long)f.len, hex);
    frame_free(&f);
    if (bad)
        return -1;
    return expect_eof(t);
}

/* ---------------------------------------------------------------- HTTP */

/* RFC 6455 §1.3: the sample nonce and the accept value it must produce. */
static const char sample_key[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char sample_accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

int header_value(const char *head, const char *name, char *val, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strchr(head, '\n');
    while (p) {
        p++;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;
            while (*v == ' ' || *v == '\t')
                v++;
            e = v;
            while (*e && *e != '\r' && *e != '\n')
                e++;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            size_t n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
            memcpy(val, v, n);
            val[n] = '\0';
            return 1;
        }
        p = strchr(p, '\n');
    }
    return 0;
}

int http_response(peer_t *t, char *head, size_t cap)
{
    for (;;) {
        const uint8_t *p = rxp(t);
        size_t n = avail(t);
        for (size_t i = 0; i + 3 < n; i++) {
            if (memcmp(p + i, "\r\n\r\n", 4) != 0)
                continue;
            size_t hl = i + 4;
            size_t c = hl < cap - 1 ? hl : cap - 1;
            memcpy(head, p, c);
            head[c] = '\0';
            take(t, hl);
            int status;
            if (sscanf(head, "HTTP/1.1 %3d ", &status) != 1)
                return fail(t, "not an HTTP/1.1 status line: %.60s", head);
            return status;
        }
        if (n > 65536)
            return fail(t, "response head over 64 KiB");
        int r = need(t, n + 1);
        if (r <= 0)
            return fail(t,
                        "%s before a complete HTTP response (%zu bytes: "
                        "%.60s)",
                        r == 0 ? "server closed TCP" : "timeout", n,
                        n ? (const char *)p : "");
    }
}

int ws_open_with(peer_t *t, int port, const char *headers, char *head,
                 size_t cap)
{
    char req[1024], v[256];
    if (tcp_open(t, port) < 0)
        return -1;
    snprintf(req, sizeof req,
             "GET /conformance HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
             port, sample_key, headers ? headers : "");
    if (send_bytes(t, req, strlen(req), 0, 0) < 0)
        return -1;
    int status = http_response(t, head, cap);
    if (status < 0)
        return -1;
    if (status != 101)
        return fail(t, "handshake: status %d, expected 101", status);
    if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) ||
        strcmp(v, sample_accept) != 0)
        return fail(t, "handshake: Sec-WebSocket-Accept '%s', expected %s", v,
                    sample_accept);
    if (!header_value(head, "Upgrade", v, sizeof v) ||
        strcasecmp(v, "websocket") != 0)
        return fail(t, "handshake: Upgrade '%s'", v);
    if (!header_value(head, "Connection", v, sizeof v) ||
        !strcasestr(v, "upgrade"))
        return fail(t, "handshake: Connection '%s'", v);
    return 0;
}

int ws_open(peer_t *t, int port)
{
    char head[4096];
    return ws_open_with(t, port, NULL, head, sizeof head);
}
