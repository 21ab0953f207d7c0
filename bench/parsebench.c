/*
 * parsebench.c — the receive path, single core, no I/O: libwsproto side by
 * side with wslay's event API and with the copy every server pays, then
 * the unmask and UTF-8 kernels alone.
 *
 *   parsebench [--smoke] [--time S] [--runs N] [--only NAME] [--workload N]
 *
 * Every workload is a buffer of client-to-server frames (masked, a random
 * key per frame, generated once) holding 1 MiB of message payload. A pass
 * parses the whole buffer; a run repeats passes until at least --time
 * seconds (0.5) of parsing have been timed; a figure is the median of
 * --runs (5) runs. --smoke runs each figure once, briefly, and checks only
 * that every contender parsed every message.
 *
 * Two tables. The first, the headline, is what a server sees: the frames
 * arrive through 64 KiB reads, i.e. each read is a memcpy out of the
 * buffer standing for the kernel's socket buffer into the caller's read
 * buffer, inside the timed region; the bound is that copy alone, measured
 * the same way in the same run. The second feeds each pass's buffer in
 * one piece, already in memory (no receive copy counted): our engine
 * unmasks in place, so before every pass of those contenders the pristine
 * frames are copied into the buffer the pass reads, outside the timed
 * region.
 *
 * Prints Markdown tables (see bench/PERFORMANCE.md for what they mean).
 */
#define _POSIX_C_SOURCE 200809L
#include <wsproto.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#ifdef HAVE_WSLAY
#include <wslay/wslay.h>
#endif
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* ------------------------------------------------------------ utilities */

static double opt_time = 0.5;
static int opt_runs = 5;
static int opt_smoke = 0;
static const char *opt_only = NULL;
static int opt_workload = 0; /* 1..NWORK: that workload alone */

static void die(const char *what)
{
    fprintf(stderr, "parsebench: %s\n", what);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory");
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: the same workloads on every run. */
static uint64_t rng = 0x5EED5EED5EEDull;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ------------------------------------------------------------ payloads */

enum { P_BINARY, P_ASCII, P_MIXED };

static void put_utf8(uint8_t **q, uint32_t cp)
{
    uint8_t *p = *q;
    if (cp < 0x800) {
        *p++ = (uint8_t)(0xC0 | cp >> 6);
    } else if (cp < 0x10000) {
        *p++ = (uint8_t)(0xE0 | cp >> 12);
        *p++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    } else {
        *p++ = (uint8_t)(0xF0 | cp >> 18);
        *p++ = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        *p++ = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    }
    *p++ = (uint8_t)(0x80 | (cp & 0x3F));
    *q = p;
}

/* Mixed text: 2-, 3- and 4-byte characters in equal numbers, in random
 * order, sized to exactly n bytes (n >= 2). */
static void fill_mixed(uint8_t *p, size_t n)
{
    uint8_t *end = p + n;
    while (p < end) {
        size_t rem = (size_t)(end - p), len;
        do
            len = 2 + (size_t)(rnd() % 3);
        while (len > rem || rem - len == 1);
        uint32_t cp;
        if (len == 2)
            cp = 0x80 + (uint32_t)(rnd() % (0x800 - 0x80));
        else if (len == 3)
            do
                cp = 0x800 + (uint32_t)(rnd() % (0x10000 - 0x800));
            while (cp >= 0xD800 && cp <= 0xDFFF);
        else
            cp = 0x10000 + (uint32_t)(rnd() % (0x110000 - 0x10000));
        put_utf8(&p, cp);
    }
}

static void fill_payload(uint8_t *p, size_t n, int kind)
{
    if (kind == P_MIXED) {
        fill_mixed(p, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd();
        p[i] = kind == P_ASCII ? (uint8_t)(0x20 + r % 95) : (uint8_t)r;
    }
}

/* ------------------------------------------------------------ workloads */

/* A data frame's payload inside the wire buffer, and where it goes in the
 * reassembled message: what a plain memcpy would move. */
typedef struct seg {
    size_t off, len, msg_off;
} seg_t;

typedef struct workload {
    const char *name;
    uint8_t *wire; /* the frames as generated (masked) */
    uint8_t *work; /* what a pass reads: a fresh copy of wire */
    size_t wire_len;
    seg_t *segs;
    size_t nsegs;
    uint64_t msgs;    /* messages per pass */
    uint64_t payload; /* message payload bytes per pass */
    size_t max_msg;
    int pings; /* pings per pass */
} workload_t;

/* Client-to-server frame: masked with a random key (RFC 6455 §5.3). */
static size_t put_frame(workload_t *w, int fin, int op, const uint8_t *data,
                        size_t n, size_t msg_off)
{
    uint8_t *out = w->wire + w->wire_len, key[4];
    size_t h = 0;
    uint64_t k = rnd();

    out[h++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (n < 126) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (n <= 0xFFFF) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    memcpy(key, &k, 4);
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = (uint8_t)(data[i] ^ key[i & 3]);
    if (op < 8)
        w->segs[w->nsegs++] = (seg_t){w->wire_len + h, n, msg_off};
    w->wire_len += h + n;
    return h + n;
}

#define PASS_PAYLOAD (1u << 20) /* message payload bytes per pass */

/* count messages of msg_len bytes each, sent as frames of frag bytes with a
 * ping after every ping_every frames (0: none) but the last. */
static void make_workload(workload_t *w, const char *name, int kind,
                          size_t msg_len, size_t frag, int ping_every)
{
    size_t count = PASS_PAYLOAD / msg_len;
    size_t frames = count * ((msg_len + frag - 1) / frag);
    uint8_t *msg = xmalloc(msg_len);

    memset(w, 0, sizeof *w);
    w->name = name;
    w->wire = xmalloc(count * msg_len + frames * 24);
    w->segs = xmalloc(frames * sizeof *w->segs);
    w->msgs = count;
    w->payload = (uint64_t)count * msg_len;
    w->max_msg = msg_len;
    for (size_t m = 0; m < count; m++) {
        fill_payload(msg, msg_len, kind);
        int op = kind == P_BINARY ? WS_OP_BINARY : WS_OP_TEXT;
        size_t off = 0, nframe = 0;
        do {
            size_t n = msg_len - off < frag ? msg_len - off : frag;
            int fin = off + n == msg_len;
            put_frame(w, fin, off ? WS_OP_CONTINUATION : op, msg + off, n, off);
            off += n;
            if (ping_every && ++nframe % (size_t)ping_every == 0 && !fin) {
                uint8_t ping[8];
                fill_payload(ping, sizeof ping, P_ASCII);
                put_frame(w, 1, WS_OP_PING, ping, sizeof ping, 0);
                w->pings++;
            }
        } while (off < msg_len);
    }
    w->work = xmalloc(w->wire_len);
    free(msg);
}

enum { NWORK = 8 };
static workload_t works[NWORK];

static void make_workloads(void)
{
    make_workload(&works[0], "16 B text", P_ASCII, 16, 16, 0);
    make_workload(&works[1], "125 B text", P_ASCII, 125, 125, 0);
    make_workload(&works[2], "4 KiB binary", P_BINARY, 4096, 4096, 0);
    make_workload(&works[3], "64 KiB binary", P_BINARY, 65536, 65536, 0);
    make_workload(&works[4], "1 MiB binary", P_BINARY, 1 << 20, 1 << 20, 0);
    make_workload(&works[5], "1 MiB text, ASCII", P_ASCII, 1 << 20, 1 << 20, 0);
    make_workload(&works[6], "1 MiB text, mixed UTF-8", P_MIXED, 1 << 20,
                  1 << 20, 0);
    make_workload(&works[7], "1 MiB in 4 KiB fragments + pings", P_BINARY,
                  1 << 20, 4096, 16);
}

/* --------------------------------------------------------- contenders */

typedef struct counts {
    uint64_t msgs, bytes, pings;
} counts_t;

typedef struct contender {
    const char *name;
    void *(*open)(const workload_t *w);
    void (*pass)(void *ctx, const workload_t *w, counts_t *n);
    void (*close)(void *ctx);
    int reads; /* 1: reads the pristine frames through 64 KiB copies */
} contender_t;

/* What one read(2) of a socket returns at most, here and in servers. */
#define READ_SIZE (64u * 1024u)

/* libwsproto, server role, events taken in the usual pull loop: fed the
 * whole buffer in memory, or reading it through 64 KiB reads into its read
 * buffer (and, `direct`, straight into the reassembly buffer whenever the
 * engine asks: ws_conn_recv_buf; direct 2: that buffer kept). */
typedef struct ours {
    ws_conn_t conn;
    int direct;
    uint8_t *rdbuf; /* the caller's read buffer */
} ours_t;

static void *ours_open(unsigned flags, int reads, int direct)
{
    ours_t *o = xmalloc(sizeof *o);
    ws_options_t opts = {.flags = flags,
                         .rbuf_keep = direct > 1 ? WS_RBUF_KEEP_ALL : 0};
    if (ws_conn_init(&o->conn, WS_ROLE_SERVER, &opts) != 0)
        die("ws_conn_init");
    o->direct = direct;
    o->rdbuf = reads ? xmalloc(READ_SIZE) : NULL;
    if (reads)
        memset(o->rdbuf, 0, READ_SIZE);
    return o;
}

static void *ours_whole_open(const workload_t *w)
{
    (void)w;
    return ours_open(WS_OPT_REASSEMBLE, 0, 0);
}

static void *ours_stream_open(const workload_t *w)
{
    (void)w;
    return ours_open(0, 0, 0);
}

static void *ours_read_open(const workload_t *w)
{
    (void)w;
    return ours_open(WS_OPT_REASSEMBLE, 1, 0);
}

static void *ours_direct_open(const workload_t *w)
{
    (void)w;
    return ours_open(WS_OPT_REASSEMBLE, 1, 1);
}

/* ... with the reassembly buffer kept between messages (rbuf_keep), so
 * the growth to 1 MiB is paid once, not per message. */
static void *ours_kept_open(const workload_t *w)
{
    (void)w;
    return ours_open(WS_OPT_REASSEMBLE, 1, 2);
}

static void *ours_stream_read_open(const workload_t *w)
{
    (void)w;
    return ours_open(0, 1, 0);
}

static void ours_other(ws_conn_t *c, int t, const ws_event_t *ev, counts_t *n)
{
    (void)c;
    switch (t) {
    case WS_EV_DATA:
        n->bytes += ev->len;
        break;
    case WS_EV_MESSAGE_END:
        n->msgs++;
        break;
    case WS_EV_PING:
        n->pings++;
        break;
    case WS_EV_ERROR:
        fprintf(stderr, "parsebench: our engine failed: %s\n",
                ws_strerror(ev->error));
        exit(1);
    default: /* MESSAGE_START, SEND (the automatic pong) */
        break;
    }
}

static void ours_events(ws_conn_t *c, counts_t *n)
{
    ws_event_t ev;
    int t;
    while ((t = ws_conn_next_event(c, &ev)) > 0) {
        if (t == WS_EV_MESSAGE) {
            n->msgs++;
            n->bytes += ev.len;
        } else {
            ours_other(c, t, &ev, n);
        }
    }
}

/* In memory: the pass's buffer fed in one piece. */
static void ours_pass(void *ctx, const workload_t *w, counts_t *n)
{
    ours_t *o = ctx;
    ws_conn_feed(&o->conn, w->work, w->wire_len);
    ours_events(&o->conn, n);
}

/* As a server reads: each read copies up to 64 KiB out of the socket
 * buffer (the pristine frames), into the read buffer or, when the engine
 * asks for payload, into the place it names. */
static void ours_read_pass(void *ctx, const workload_t *w, counts_t *n)
{
    ours_t *o = ctx;
    ws_conn_t *c = &o->conn;
    for (size_t off = 0; off < w->wire_len;) {
        size_t len =
            w->wire_len - off < READ_SIZE ? w->wire_len - off : READ_SIZE;
        void *p;
        size_t room;
        if (o->direct && ws_conn_recv_buf(c, &p, &room) == 1) {
            len = len < room ? len : room;
            memcpy(p, w->wire + off, len);
            ws_conn_recv_ack(c, len);
        } else {
            memcpy(o->rdbuf, w->wire + off, len);
            ws_conn_feed(c, o->rdbuf, len);
        }
        off += len;
        ours_events(c, n);
    }
}

static void ours_close(void *ctx)
{
    ws_conn_destroy(&((ours_t *)ctx)->conn);
    free(((ours_t *)ctx)->rdbuf);
    free(ctx);
}

/* memcpy of every data frame's payload into a message buffer. */
typedef struct copier {
    uint8_t *dst;
} copier_t;

static void *memcpy_open(const workload_t *w)
{
    copier_t *m = xmalloc(sizeof *m);
    m->dst = xmalloc(w->max_msg);
    memset(m->dst, 0, w->max_msg);
    return m;
}

static void memcpy_pass(void *ctx, const workload_t *w, counts_t *n)
{
    copier_t *m = ctx;
    for (size_t i = 0; i < w->nsegs; i++) {
        const seg_t *s = &w->segs[i];
        memcpy(m->dst + s->msg_off, w->work + s->off, s->len);
    }
    n->msgs += w->msgs;
    n->bytes += w->payload;
    n->pings += (uint64_t)w->pings;
}

static void memcpy_close(void *ctx)
{
    free(((copier_t *)ctx)->dst);
    free(ctx);
}

/* The receive copy alone: the same 64 KiB reads into a read buffer, no
 * parsing. The bound of the first table. */
static void *copy_open(const workload_t *w)
{
    copier_t *m = xmalloc(sizeof *m);
    (void)w;
    m->dst = xmalloc(READ_SIZE);
    memset(m->dst, 0, READ_SIZE);
    return m;
}

static volatile uint8_t copy_sink;

static void copy_pass(void *ctx, const workload_t *w, counts_t *n)
{
    copier_t *m = ctx;
    for (size_t off = 0; off < w->wire_len; off += READ_SIZE) {
        size_t len =
            w->wire_len - off < READ_SIZE ? w->wire_len - off : READ_SIZE;
        memcpy(m->dst, w->wire + off, len);
        copy_sink = m->dst[len - 1];
    }
    n->msgs += w->msgs;
    n->bytes += w->payload;
    n->pings += (uint64_t)w->pings;
}

#ifdef HAVE_WSLAY
/* wslay's event API as its documentation shows it: wslay_event_recv()
 * pulls bytes through recv_callback (here: copied from the pass buffer)
 * and calls on_msg_recv_callback with each whole message; the pongs it
 * queues for pings are written out by wslay_event_send() to a send
 * callback that swallows them. */
typedef struct wsl {
    wslay_event_context_ptr ctx;
    const uint8_t *p;
    size_t left;
    counts_t *n;
} wsl_t;

static ssize_t wsl_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                        int flags, void *user)
{
    wsl_t *s = user;
    (void)flags;
    if (s->left == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > s->left)
        len = s->left;
    memcpy(buf, s->p, len);
    s->p += len;
    s->left -= len;
    return (ssize_t)len;
}

static ssize_t wsl_send(wslay_event_context_ptr ctx, const uint8_t *data,
                        size_t len, int flags, void *user)
{
    (void)ctx, (void)data, (void)flags, (void)user;
    return (ssize_t)len;
}

static int wsl_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                       void *user)
{
    (void)ctx, (void)user;
    memset(buf, 0, len);
    return 0;
}

static void wsl_msg(wslay_event_context_ptr ctx,
                    const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    wsl_t *s = user;
    (void)ctx;
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
        s->n->msgs++;
        s->n->bytes += arg->msg_length;
    } else if (arg->opcode == WSLAY_PING) {
        s->n->pings++;
    }
}

static void *wslay_open(const workload_t *w)
{
    static const struct wslay_event_callbacks cb = {
        wsl_recv, wsl_send, wsl_genmask, NULL, NULL, NULL, wsl_msg};
    wsl_t *s = xmalloc(sizeof *s);
    (void)w;
    memset(s, 0, sizeof *s);
    if (wslay_event_context_server_init(&s->ctx, &cb, s) != 0)
        die("wslay_event_context_server_init");
    return s;
}

static void wslay_pass(void *ctx, const workload_t *w, counts_t *n)
{
    wsl_t *s = ctx;
    s->p = w->wire; /* its recv callback copies out of the "socket" */
    s->left = w->wire_len;
    s->n = n;
    if (wslay_event_recv(s->ctx) != 0 || !wslay_event_get_read_enabled(s->ctx))
        die("wslay failed to parse the workload");
    if (wslay_event_want_write(s->ctx) && wslay_event_send(s->ctx) != 0)
        die("wslay_event_send");
}

static void wslay_close(void *ctx)
{
    wslay_event_context_free(((wsl_t *)ctx)->ctx);
    free(ctx);
}

/* Does wslay's event API reject invalid UTF-8 in a text message? Asked of
 * the library linked, rather than assumed. */
static int wslay_checks_utf8(void)
{
    static const struct wslay_event_callbacks cb = {
        wsl_recv, wsl_send, wsl_genmask, NULL, NULL, NULL, wsl_msg};
    uint8_t frame[8] = {0x81, 0x82, 0, 0, 0, 0, 0xC0, 0x80}; /* overlong */
    counts_t n = {0, 0, 0};
    wsl_t s = {.p = frame, .left = sizeof frame, .n = &n};
    if (wslay_event_context_server_init(&s.ctx, &cb, &s) != 0)
        die("wslay_event_context_server_init");
    wslay_event_recv(s.ctx);
    int rejected = n.msgs == 0 && !wslay_event_get_read_enabled(s.ctx);
    wslay_event_context_free(s.ctx);
    return rejected;
}
#endif

enum {
    R_OURS,
    R_DIRECT,
    R_KEPT,
    R_STREAM,
    C_WSLAY,
    R_COPY, /* reads */
    C_OURS,
    C_STREAM,
    C_MEMCPY, /* in memory */
    NCONT
};

static const contender_t contenders[NCONT] = {
    {"read", ours_read_open, ours_read_pass, ours_close, 1},
    {"read-direct", ours_direct_open, ours_read_pass, ours_close, 1},
    {"read-kept", ours_kept_open, ours_read_pass, ours_close, 1},
    {"read-stream", ours_stream_read_open, ours_read_pass, ours_close, 1},
#ifdef HAVE_WSLAY
    {"wslay", wslay_open, wslay_pass, wslay_close, 1},
#else
    {"wslay", NULL, NULL, NULL, 1},
#endif
    {"copy", copy_open, copy_pass, memcpy_close, 1},
    {"ours", ours_whole_open, ours_pass, ours_close, 0},
    {"ours-stream", ours_stream_open, ours_pass, ours_close, 0},
    {"memcpy", memcpy_open, memcpy_pass, memcpy_close, 0},
};

typedef struct figure {
    double msgs, bytes; /* per second; 0 = not measured */
} figure_t;

/* One run: passes until opt_time seconds of parsing were timed. */
static figure_t run_once(const contender_t *k, void *ctx, workload_t *w)
{
    double t = 0;
    counts_t n = {0, 0, 0};
    uint64_t passes = 0;
    do {
        if (!k->reads)
            memcpy(w->work, w->wire, w->wire_len);
        double t0 = now();
        k->pass(ctx, w, &n);
        t += now() - t0;
        passes++;
    } while (t < opt_time);
    if (n.msgs != passes * w->msgs || n.bytes != passes * w->payload ||
        n.pings != passes * (uint64_t)w->pings) {
        fprintf(stderr,
                "parsebench: %s on %s: %llu messages, %llu bytes, "
                "%llu pings; want %llu, %llu, %llu\n",
                k->name, w->name, (unsigned long long)n.msgs,
                (unsigned long long)n.bytes, (unsigned long long)n.pings,
                (unsigned long long)(passes * w->msgs),
                (unsigned long long)(passes * w->payload),
                (unsigned long long)(passes * (uint64_t)w->pings));
        exit(1);
    }
    return (figure_t){(double)n.msgs / t, (double)n.bytes / t};
}

static int selected(const contender_t *k)
{
    return k->open && (!opt_only || strcmp(opt_only, k->name) == 0);
}

/* Every contender on one workload. Their runs take turns (run r of each,
 * then run r + 1), so a slow spell of the machine lands on all of them
 * rather than on one figure. */
static void measure(workload_t *w, figure_t *out)
{
    void *ctx[NCONT];
    double m[NCONT][16], b[NCONT][16];

    for (int j = 0; j < NCONT; j++) {
        const contender_t *k = &contenders[j];
        out[j] = (figure_t){0, 0};
        if (!selected(k))
            continue;
        ctx[j] = k->open(w);
        counts_t warm = {0, 0, 0};
        memcpy(w->work, w->wire, w->wire_len);
        k->pass(ctx[j], w, &warm); /* warm up: allocations, page faults */
    }
    for (int r = 0; r < opt_runs; r++) {
        for (int j = 0; j < NCONT; j++) {
            if (!selected(&contenders[j]))
                continue;
            figure_t f = run_once(&contenders[j], ctx[j], w);
            m[j][r] = f.msgs;
            b[j][r] = f.bytes;
        }
    }
    for (int j = 0; j < NCONT; j++) {
        if (!selected(&contenders[j]))
            continue;
        contenders[j].close(ctx[j]);
        out[j] = (figure_t){median(m[j], opt_runs), median(b[j], opt_runs)};
    }
}

/* ------------------------------------------------------------- kernels */

/* RFC 6455 §5.3 as written: byte i XOR key[i mod 4]. Kept a byte loop
 * (the compilers would otherwise vectorise it). */
#if defined(__clang__)
#define NO_VECTORIZE
#elif defined(__GNUC__)
#define NO_VECTORIZE __attribute__((optimize("no-tree-vectorize")))
#else
#define NO_VECTORIZE
#endif

NO_VECTORIZE
static void mask_bytes(uint8_t *p, size_t n, const uint8_t key[4])
{
#if defined(__clang__)
#pragma clang loop vectorize(disable) interleave(disable)
#endif
    for (size_t i = 0; i < n; i++)
        p[i] ^= key[i & 3];
}

/* A plain byte-at-a-time UTF-8 DFA (RFC 3629 §4): a class per byte, a
 * transition per class. States: 0 accept, 1 reject, then how many
 * continuation bytes are due and with which restriction. */
enum { U_ACC, U_REJ, U_C1, U_C2, U_C3, U_E0, U_ED, U_F0, U_F4, U_NSTATE };
enum {
    K_ASCII,
    K_80,
    K_90,
    K_A0,
    K_C2,
    K_E0,
    K_E1,
    K_ED,
    K_F0,
    K_F1,
    K_F4,
    K_BAD,
    U_NCLASS
};
static uint8_t u_class[256], u_next[U_NSTATE][U_NCLASS];

static void dfa_init(void)
{
    for (int b = 0; b < 256; b++)
        u_class[b] = b < 0x80    ? K_ASCII
                     : b < 0x90  ? K_80
                     : b < 0xA0  ? K_90
                     : b < 0xC0  ? K_A0
                     : b < 0xC2  ? K_BAD
                     : b < 0xE0  ? K_C2
                     : b == 0xE0 ? K_E0
                     : b == 0xED ? K_ED
                     : b < 0xF0  ? K_E1
                     : b == 0xF0 ? K_F0
                     : b < 0xF4  ? K_F1
                     : b == 0xF4 ? K_F4
                                 : K_BAD;
    memset(u_next, U_REJ, sizeof u_next);
    u_next[U_ACC][K_ASCII] = U_ACC;
    u_next[U_ACC][K_C2] = U_C1;
    u_next[U_ACC][K_E0] = U_E0;
    u_next[U_ACC][K_E1] = U_C2;
    u_next[U_ACC][K_ED] = U_ED;
    u_next[U_ACC][K_F0] = U_F0;
    u_next[U_ACC][K_F1] = U_C3;
    u_next[U_ACC][K_F4] = U_F4;
    for (int k = K_80; k <= K_A0; k++) {
        u_next[U_C1][k] = U_ACC;
        u_next[U_C2][k] = U_C1;
        u_next[U_C3][k] = U_C2;
    }
    u_next[U_E0][K_A0] = U_C1;
    u_next[U_ED][K_80] = u_next[U_ED][K_90] = U_C1;
    u_next[U_F0][K_90] = u_next[U_F0][K_A0] = U_C2;
    u_next[U_F4][K_80] = U_C2;
}

static int dfa_validate(const uint8_t *p, size_t n)
{
    unsigned s = U_ACC;
    for (size_t i = 0; i < n; i++) {
        s = u_next[s][u_class[p[i]]];
        if (s == U_REJ)
            return 0;
    }
    return s == U_ACC;
}

enum { K_MASK_OURS, K_MASK_BYTES, K_MEMCPY, K_UTF8_OURS, K_UTF8_DFA };

static volatile int kernel_sink;

/* GB/s of one kernel over p[0..n), median of the runs. */
static double kernel_rate(int which, uint8_t *p, uint8_t *dst, size_t n)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    double rates[16];
    for (int r = 0; r < opt_runs; r++) {
        double t = 0;
        uint64_t bytes = 0;
        int ok = 1;
        do {
            double t0 = now();
            for (int i = 0; i < 16; i++) {
                switch (which) {
                case K_MASK_OURS:
                    ws_mask(p, p, n, key, 0);
                    break;
                case K_MASK_BYTES:
                    mask_bytes(p, n, key);
                    break;
                case K_MEMCPY:
                    memcpy(dst, p, n);
                    break;
                case K_UTF8_OURS:
                    ok &= ws_utf8_validate(p, n) == 0;
                    break;
                default:
                    ok &= dfa_validate(p, n);
                    break;
                }
            }
            t += now() - t0;
            bytes += 16 * (uint64_t)n;
        } while (t < opt_time);
        if (!ok)
            die("a UTF-8 validator rejected valid text");
        kernel_sink += p[0] ^ dst[n - 1];
        rates[r] = (double)bytes / t;
    }
    return median(rates, opt_runs);
}

/* ---------------------------------------------------------------- output */

static const char *si(double v, char *buf, size_t cap)
{
    if (v >= 1e9)
        snprintf(buf, cap, "%.2f G", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, cap, "%.1f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1f k", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
    return buf;
}

static const char *gbs(double v, char *buf, size_t cap)
{
    if (v <= 0)
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%.2f", v / 1e9);
    return buf;
}

static const char *ratio(double a, double b, char *buf, size_t cap)
{
    if (a <= 0 || b <= 0)
        snprintf(buf, cap, "n/a");
    else
        snprintf(buf, cap, "%.2f", a / b);
    return buf;
}

static void print_machine(void)
{
    char model[256] = "unknown CPU", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *colon = strchr(line, ':');
            if (colon && strncmp(line, "model name", 10) == 0) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = 0;
                break;
            }
        }
        fclose(f);
    }
    time_t t = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&t));
    printf("parsebench: libwsproto %s, %s, compiler %s, %s\n", ws_version(),
           model, __VERSION__, date);
    printf("sizeof(ws_conn_t) = %zu bytes; each figure: median of %d runs "
           "of >= %.2f s\n\n",
           sizeof(ws_conn_t), opt_runs, opt_time);
}

static figure_t results[NWORK][NCONT];
static int measured[NWORK];

/* a / b against a bound b: a ratio above 1 cannot be (ours does the
 * bound's work and more), so it is marked as this run's noise. */
static const char *vs_bound(double a, double b, char *buf, size_t cap,
                            int *noise)
{
    ratio(a, b, buf, cap);
    if (a > 0 && b > 0 && a > b) {
        snprintf(buf, cap, "%.2f (noise)", a / b);
        *noise = 1;
    }
    return buf;
}

static void headline_table(void)
{
    char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32], i[32], j[32],
        k[32], l[32], m[32], n[32], o[32];
    int noise = 0;
    printf("Data arriving through 64 KiB reads (the headline: what a "
           "server sees)\n\n");
    printf("| workload | ours msg/s | ours GB/s | read in place GB/s | "
           "read in place, buffer kept GB/s | streaming msg/s | streaming "
           "GB/s | wslay GB/s | receive copy alone GB/s | ours / copy | "
           "read in place / copy | streaming / copy | streaming / "
           "reassembly msg/s | read in place / streaming | kept / streaming "
           "| ours / wslay |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
           "--:|\n");
    for (int w = 0; w < NWORK; w++) {
        figure_t *r = results[w];
        if (!measured[w])
            continue;
        printf(
            "| %d. %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s "
            "| %s | %s | %s | %s | %s |\n",
            w + 1, works[w].name, si(r[R_OURS].msgs, a, sizeof a),
            gbs(r[R_OURS].bytes, b, sizeof b),
            gbs(r[R_DIRECT].bytes, c, sizeof c),
            gbs(r[R_KEPT].bytes, n, sizeof n),
            si(r[R_STREAM].msgs, d, sizeof d),
            gbs(r[R_STREAM].bytes, e, sizeof e),
            gbs(r[C_WSLAY].bytes, f, sizeof f),
            gbs(r[R_COPY].bytes, g, sizeof g),
            vs_bound(r[R_OURS].bytes, r[R_COPY].bytes, h, sizeof h, &noise),
            vs_bound(r[R_DIRECT].bytes, r[R_COPY].bytes, i, sizeof i, &noise),
            vs_bound(r[R_STREAM].bytes, r[R_COPY].bytes, j, sizeof j, &noise),
            ratio(r[R_STREAM].msgs, r[R_OURS].msgs, k, sizeof k),
            ratio(r[R_DIRECT].bytes, r[R_STREAM].bytes, l, sizeof l),
            ratio(r[R_KEPT].bytes, r[R_STREAM].bytes, o, sizeof o),
            ratio(r[R_OURS].msgs, r[C_WSLAY].msgs, m, sizeof m));
    }
    printf("\nEach read copies up to 64 KiB out of a buffer standing for the "
           "kernel's socket buffer, inside the timed region; *receive copy "
           "alone* is those reads and nothing else, in the same run, so "
           "*ours / copy* is the share of the copy's speed the whole "
           "receive path keeps (at most 1). ours: reassembly mode "
           "(WS_EV_MESSAGE), each read fed with ws_conn_feed; a message "
           "larger than a read is unmasked into the reassembly buffer. "
           "read in place: the same, but whenever the engine asks "
           "(ws_conn_recv_buf) the read goes straight into the reassembly "
           "buffer, which is then unmasked in place; the buffer grows by "
           "doubling up to the message and, being larger than "
           "WS_REASSEMBLY_KEEP, is released after each message (the "
           "default). buffer kept: rbuf_keep = WS_RBUF_KEEP_ALL, so it "
           "grows once. streaming: the default "
           "mode, payload handed out in the read buffer (one event for a "
           "one-frame message whole in a read, else start, data, end). "
           "wslay: event API, its recv callback doing the same copies. "
           "All check the same framing rules, validate UTF-8 and answer the "
           "pings of row 8.\n");
    if (noise)
        printf("\nA ratio marked (noise) is above 1 against a bound that "
               "does less work than ours: the machine's speed changed "
               "between the runs being compared; read it as 1.\n");
}

static void memory_table(void)
{
    char a[32], b[32], c[32], d[32], e[32], f[32], g[32];
    printf("\nIn memory, no receive copy (each pass's buffer fed in one "
           "piece; not what a server sees)\n\n");
    printf("| workload | ours msg/s | ours GB/s | streaming msg/s | "
           "streaming GB/s | memcpy GB/s | ours / memcpy | streaming / "
           "reassembly msg/s |\n|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (int w = 0; w < NWORK; w++) {
        figure_t *r = results[w];
        if (!measured[w])
            continue;
        printf("| %d. %s | %s | %s | %s | %s | %s | %s | %s |\n", w + 1,
               works[w].name, si(r[C_OURS].msgs, a, sizeof a),
               gbs(r[C_OURS].bytes, b, sizeof b),
               si(r[C_STREAM].msgs, c, sizeof c),
               gbs(r[C_STREAM].bytes, d, sizeof d),
               gbs(r[C_MEMCPY].bytes, e, sizeof e),
               ratio(r[C_OURS].bytes, r[C_MEMCPY].bytes, f, sizeof f),
               ratio(r[C_STREAM].msgs, r[C_OURS].msgs, g, sizeof g));
    }
    printf("\nThe frames are already in memory and no receive copy is "
           "counted: before every pass they are copied into the buffer the "
           "pass reads, outside the timed region (the engine unmasks in "
           "place). memcpy: each frame's payload copied to its place in a "
           "message buffer. *ours / memcpy* is above 1 on large messages "
           "because an in-place unmask reads and writes the same 1 MiB "
           "while memcpy reads 1 MiB and writes another 1 MiB: it is not a "
           "bound, and this table is not a server's figure (the first "
           "one is).\n");
}

static void bench_workloads(void)
{
    for (int k = 0; k < NWORK; k++) {
        if (opt_workload && opt_workload != k + 1)
            continue;
        fprintf(stderr, "parsebench: %s\n", works[k].name);
        measure(&works[k], results[k]);
        measured[k] = 1;
    }
    headline_table();
    memory_table();
}

/* The goals of the benchmark's issues, as ratios of this run's figures
 * (64 KiB reads): printed, never asserted (timings vary with the
 * machine). */
static void print_targets(void)
{
    figure_t(*r)[NCONT] = results;
    double worst = 0;
    int all = !opt_only && !opt_workload;
    if (!all)
        return;
#define Q(k, what, a, b) (r[k][b].what > 0 ? r[k][a].what / r[k][b].what : 0)
    for (int k = 0; k < NWORK; k++) {
        double q = Q(k, msgs, R_OURS, C_WSLAY);
        worst = k == 0 || q < worst ? q : worst;
    }
    struct {
        const char *what;
        double got, want;
    } t[] = {
        {"16 B text, streaming / reassembly msg/s (was 0.45)",
         Q(0, msgs, R_STREAM, R_OURS), 0.9},
        {"125 B text, streaming / reassembly msg/s",
         Q(1, msgs, R_STREAM, R_OURS), 0.9},
        {"1 MiB binary, reassembly read in place / streaming",
         Q(4, bytes, R_DIRECT, R_STREAM), 0.9},
        {"1 MiB binary, the same, buffer kept / streaming",
         Q(4, bytes, R_KEPT, R_STREAM), 0.9},
        {"16 B text, ours / wslay msg/s", Q(0, msgs, R_OURS, C_WSLAY), 10},
        {"125 B text, ours / wslay msg/s", Q(1, msgs, R_OURS, C_WSLAY), 10},
        {"1 MiB mixed UTF-8 text, ours GB/s", r[6][R_OURS].bytes / 1e9, 5},
        {"every workload, lowest ours / wslay", worst, 1},
    };
    printf("\n| target (64 KiB reads) | wanted | this run | |\n"
           "|---|--:|--:|---|\n");
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (t[i].got <= 0) {
            printf("| %s | >= %g | n/a | |\n", t[i].what, t[i].want);
            continue;
        }
        printf("| %s | >= %g | %.2f | %s |\n", t[i].what, t[i].want, t[i].got,
               t[i].got >= t[i].want ? "met" : "NOT met");
    }
#undef Q
}

static void bench_kernels(void)
{
    char a[32], b[32], c[32];
    size_t big = 1u << 20;
    uint8_t *p = xmalloc(big), *dst = xmalloc(big);

    if (opt_only && strcmp(opt_only, "kernels") != 0)
        return;
    fill_payload(p, big, P_BINARY);
    memset(dst, 0, big);
    printf("\n| unmask, in place | ours GB/s | byte loop GB/s | "
           "memcpy GB/s |\n|---|--:|--:|--:|\n");
    size_t sizes[] = {4096, big};
    for (int s = 0; s < 2; s++) {
        size_t n = sizes[s];
        printf("| %s | %s | %s | %s |\n", n == big ? "1 MiB" : "4 KiB",
               gbs(kernel_rate(K_MASK_OURS, p, dst, n), a, sizeof a),
               gbs(kernel_rate(K_MASK_BYTES, p, dst, n), b, sizeof b),
               gbs(kernel_rate(K_MEMCPY, p, dst, n), c, sizeof c));
        fflush(stdout);
    }
    printf("\n| UTF-8 validation, 1 MiB | ours GB/s | byte DFA GB/s |\n"
           "|---|--:|--:|\n");
    for (int kind = P_ASCII; kind <= P_MIXED; kind++) {
        fill_payload(p, big, kind);
        printf("| %s | %s | %s |\n",
               kind == P_ASCII ? "ASCII" : "mixed 2/3/4-byte",
               gbs(kernel_rate(K_UTF8_OURS, p, dst, big), a, sizeof a),
               gbs(kernel_rate(K_UTF8_DFA, p, dst, big), b, sizeof b));
        fflush(stdout);
    }
    free(p);
    free(dst);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0) {
            opt_smoke = 1;
            opt_time = 0.01;
            opt_runs = 1;
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            opt_time = atof(argv[++i]);
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            opt_runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            opt_only = argv[++i];
        } else if (strcmp(argv[i], "--workload") == 0 && i + 1 < argc) {
            opt_workload = atoi(argv[++i]);
        } else {
            int help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: parsebench [--smoke] [--time S] [--runs N] "
                    "[--only CONTENDER|kernels] [--workload N]\n"
                    "  contenders: read read-direct read-kept read-stream "
                    "wslay copy "
                    "ours ours-stream memcpy; "
                    "workloads 1..%d\n",
                    NWORK);
            return help ? 0 : 2;
        }
    }
    if (opt_runs < 1 || opt_runs > 16 || opt_time <= 0)
        die("--runs must be 1..16 and --time > 0");

#ifdef __GLIBC__
    /* Keep freed memory in the process: with glibc's defaults every 1 MiB
     * message wslay buffers is a fresh mmap or a heap grown and trimmed
     * again, and its figures measure page faults (expensive in a VM). */
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
#endif
    dfa_init();
    make_workloads();
    print_machine();
    if (!opt_only || strcmp(opt_only, "kernels") != 0)
        bench_workloads();
    bench_kernels();
    print_targets();
#ifdef HAVE_WSLAY
    printf("\nwslay %s UTF-8 in text messages (checked at start-up: it "
           "%s an overlong C0 80).\n",
           wslay_checks_utf8() ? "validates" : "does NOT validate",
           wslay_checks_utf8() ? "rejects" : "accepts");
#else
    printf("\nwslay columns: n/a (built without libwslay-dev).\n");
#endif
    if (opt_smoke)
        printf("parsebench: smoke run done, every contender parsed every "
               "message\n");
    return 0;
}
