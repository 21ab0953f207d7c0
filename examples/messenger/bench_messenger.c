/*
 * bench_messenger — round trips per second against a running
 * messenger-server (PROTOCOL.md): PUSH -> POSITIVEACK and GET ->
 * GETRESPONSE, with N clients on one wsx loop, each keeping exactly one
 * request in flight.
 *
 *   bench_messenger --port P [--host 127.0.0.1] [--clients N]
 *                   [--duration SECONDS] [--payload BYTES] [--id-base K]
 *
 * Client i associates as K+i and pushes to K+(i+1)%N (itself when N is 1),
 * so every receiver has exactly one sender. A receiver holds at most 100
 * messages, so the run alternates windows: in a PUSH window every client
 * pushes 100 messages (all acknowledged, none refused), in the GET window
 * that follows every client fetches its 100 (all GETRESPONSE, never
 * BUFFEREMPTY). Only the windows are timed — from the moment the window's
 * first requests are queued to its last reply — until each kind has run
 * for --duration seconds. A first PUSH/GET cycle is an untimed warm-up;
 * before it every client empties its buffer. Every reply is checked
 * (type, IDs, and the sequence number carried in each payload), so a
 * figure is never made of errors.
 *
 * Prints one line: "clients N push/s X get/s Y" (and the counts); exit
 * status 0, or 1 with a message on stderr.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER 5
#define MAX_PAYLOAD 254
#define CAPACITY 100 /* messages per receiver (PROTOCOL.md) */

enum phase { P_CONNECT, P_DRAIN, P_PUSH, P_GET, P_DONE };

typedef struct bench bench_t;

typedef struct client {
    bench_t *b;
    wsx_conn_t *conn;
    int index;
    int id, target, source; /* own ID, whom we push to, who pushes to us */
    int left;               /* requests still to make in this window */
    uint32_t push_seq;      /* next sequence number we push */
    uint32_t get_seq;       /* next sequence number we expect to get */
    int associated;
} client_t;

struct bench {
    wsx_loop_t *loop;
    client_t *clients;
    int n;
    int payload;
    double duration;
    enum phase phase;
    int busy;    /* clients not done with the window */
    int cycles;  /* completed PUSH+GET cycles (0 = warm-up) */
    uint64_t t0; /* window start, ns */
    uint64_t push_ns, get_ns;
    uint64_t pushes, gets;
    uint64_t replies; /* for the watchdog */
    uint64_t replies_seen;
    int stalled_s;
    int failed;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fail(bench_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(bench_t *b, const char *fmt, ...)
{
    va_list ap;
    if (b->failed)
        return;
    b->failed = 1;
    fprintf(stderr, "bench_messenger: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    wsx_loop_stop(b->loop);
}

static void send_packet(client_t *c, int type, int code, int receiver,
                        const uint8_t *payload, int len)
{
    uint8_t p[HEADER + MAX_PAYLOAD] = {(uint8_t)type, (uint8_t)code,
                                       (uint8_t)c->id, (uint8_t)receiver,
                                       (uint8_t)len};
    if (len)
        memcpy(p + HEADER, payload, (size_t)len);
    if (wsx_conn_send_binary(c->conn, p, (size_t)(HEADER + len)) != 0)
        fail(c->b, "client %d: cannot send", c->id);
}

static void send_push(client_t *c)
{
    uint8_t p[MAX_PAYLOAD];
    memset(p, 'a' + c->index % 26, (size_t)c->b->payload);
    memcpy(p, &c->push_seq, sizeof c->push_seq); /* payload >= 4 */
    c->push_seq++;
    send_packet(c, 2, 1, c->target, p, c->b->payload);
}

static void send_get(client_t *c)
{
    send_packet(c, 1, 0, 0, NULL, 0);
}

static void start_window(bench_t *b, enum phase ph)
{
    b->phase = ph;
    b->busy = b->n;
    b->t0 = now_ns();
    for (int i = 0; i < b->n; i++) {
        client_t *c = &b->clients[i];
        c->left = CAPACITY;
        if (ph == P_PUSH)
            send_push(c);
        else
            send_get(c);
    }
}

static void close_all(bench_t *b)
{
    for (int i = 0; i < b->n; i++)
        if (b->clients[i].conn && wsx_conn_is_open(b->clients[i].conn))
            wsx_conn_close(b->clients[i].conn, 1000, NULL, 0);
}

/* Every client finished the window: account for it, start the next. */
static void window_done(bench_t *b)
{
    uint64_t el = now_ns() - b->t0;
    uint64_t ops = (uint64_t)b->n * CAPACITY;
    double limit = b->duration * 1e9;

    switch (b->phase) {
    case P_DRAIN:
        start_window(b, P_PUSH); /* the warm-up cycle */
        return;
    case P_PUSH:
        if (b->cycles > 0) {
            b->push_ns += el;
            b->pushes += ops;
        }
        start_window(b, P_GET);
        return;
    case P_GET:
        if (b->cycles > 0) {
            b->get_ns += el;
            b->gets += ops;
        }
        b->cycles++;
        if (b->push_ns >= limit && b->get_ns >= limit) {
            b->phase = P_DONE;
            close_all(b);
            return;
        }
        start_window(b, P_PUSH);
        return;
    default:
        return;
    }
}

static void client_done(client_t *c)
{
    if (--c->b->busy == 0)
        window_done(c->b);
}

static void on_open(wsx_conn_t *conn, const ws_response_t *resp)
{
    client_t *c = wsx_conn_ctx(conn);
    (void)resp;
    send_packet(c, 0, 0, 0, NULL, 0); /* ASSOCIATE */
}

static void on_message(wsx_conn_t *conn, ws_opcode_t op, uint8_t *p, size_t n)
{
    client_t *c = wsx_conn_ctx(conn);
    bench_t *b = c->b;

    b->replies++;
    if (op != WS_OP_BINARY || n < HEADER || p[4] != n - HEADER) {
        fail(b, "client %d: not a packet (%zu bytes)", c->id, n);
        return;
    }
    if (p[3] != c->id) {
        fail(b, "client %d: reply for %d", c->id, p[3]);
        return;
    }
    int tc = p[0] << 8 | p[1];
    switch (b->phase) {
    case P_CONNECT:
        if (tc != 0x0001) {
            fail(b, "client %d: cannot associate (%02x %02x): ID in use?",
                 c->id, p[0], p[1]);
            return;
        }
        c->associated = 1;
        if (--b->busy == 0) { /* everyone associated: empty the buffers */
            b->phase = P_DRAIN;
            b->busy = b->n;
            for (int i = 0; i < b->n; i++)
                send_get(&b->clients[i]);
        }
        return;
    case P_DRAIN:
        if (tc == 0x0200)
            send_get(c);
        else if (tc == 0x0101)
            client_done(c);
        else
            fail(b, "client %d: GET answered %02x %02x", c->id, p[0], p[1]);
        return;
    case P_PUSH:
        if (tc != 0x0102) {
            fail(b, "client %d: PUSH answered %02x %02x, not POSITIVEACK",
                 c->id, p[0], p[1]);
            return;
        }
        if (--c->left > 0)
            send_push(c);
        else
            client_done(c);
        return;
    case P_GET: {
        uint32_t seq;
        if (tc != 0x0200) {
            fail(b, "client %d: GET answered %02x %02x, not GETRESPONSE", c->id,
                 p[0], p[1]);
            return;
        }
        memcpy(&seq, p + HEADER, sizeof seq);
        if (p[2] != c->source || n != (size_t)(HEADER + b->payload) ||
            seq != c->get_seq) {
            fail(
                b,
                "client %d: got message %u from %d (%zu bytes), want %u from %d",
                c->id, seq, p[2], n - HEADER, c->get_seq, c->source);
            return;
        }
        c->get_seq++;
        if (--c->left > 0)
            send_get(c);
        else
            client_done(c);
        return;
    }
    default:
        return;
    }
}

static void on_error(wsx_conn_t *conn, int err, const char *msg)
{
    client_t *c = wsx_conn_ctx(conn);
    (void)err;
    if (c->b->phase != P_DONE)
        fail(c->b, "client %d: %s", c->id, msg);
}

static void on_close(wsx_conn_t *conn, unsigned code, const char *reason,
                     size_t len)
{
    client_t *c = wsx_conn_ctx(conn);
    bench_t *b = c->b;
    c->conn = NULL;
    if (b->phase != P_DONE) {
        fail(b, "client %d: connection closed (%u %.*s)", c->id, code, (int)len,
             reason);
        return;
    }
    for (int i = 0; i < b->n; i++)
        if (b->clients[i].conn)
            return;
    wsx_loop_stop(b->loop);
}

/* Nothing answered for 10 s: the server is stuck or gone. */
static void watchdog(wsx_timer_t *t, void *user)
{
    bench_t *b = user;
    (void)t;
    if (b->replies != b->replies_seen) {
        b->replies_seen = b->replies;
        b->stalled_s = 0;
    } else if (++b->stalled_s >= 10) {
        fail(b, "no reply for 10 s (phase %d, %d clients busy)", (int)b->phase,
             b->busy);
    }
}

/* An option's whole-number value, at most max, into *out; 0 or -1. */
static int number(const char *s, int max, int *out)
{
    unsigned long long v;
    if (wsx_parse_uint(s, (unsigned long long)max, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_messenger --port P [--host H] [--clients N] [--duration S]\n"
        "                       [--payload BYTES] [--id-base K]\n"
        "PUSH and GET round trips per second against a running messenger-server;\n"
        "clients 1-256 (default 1), duration per figure (default 2 s), payload\n"
        "4-254 bytes (default 32), IDs K..K+N-1 (default 0).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"payload", required_argument, NULL, 's'},
        {"id-base", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    static bench_t b;
    const char *host = "127.0.0.1";
    int port = 0, base = 0, ms = 2000, bad = 0, opt;

    b.n = 1;
    b.payload = 32;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            bad |= number(optarg, 65535, &port);
            break;
        case 'n':
            bad |= number(optarg, 256, &b.n);
            break;
        case 'd':
            bad |= wsx_parse_seconds(optarg, &ms);
            break;
        case 's':
            bad |= number(optarg, MAX_PAYLOAD, &b.payload);
            break;
        case 'i':
            bad |= number(optarg, 255, &base);
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    b.duration = ms / 1000.0;
    if (bad || port == 0 || b.n < 1 || base + b.n > 256 || b.payload < 4 ||
        ms == 0 || optind != argc) {
        usage(stderr);
        return 1;
    }

    b.loop = wsx_process_setup() == 0 ? wsx_loop_new() : NULL;
    b.clients = calloc((size_t)b.n, sizeof *b.clients);
    if (!b.loop || !b.clients) {
        perror("bench_messenger");
        return 1;
    }
    char url[300];
    snprintf(url, sizeof url, "ws://%s:%d/", host, port);
    wsx_handler_t h = {.on_open = on_open,
                       .on_message = on_message,
                       .on_error = on_error,
                       .on_close = on_close};
    wsx_opts_t o = {.max_message = 4096};
    b.phase = P_CONNECT;
    b.busy = b.n;
    for (int i = 0; i < b.n; i++) {
        client_t *c = &b.clients[i];
        int err = 0;
        c->b = &b;
        c->index = i;
        c->id = base + i;
        c->target = base + (i + 1) % b.n;
        c->source = base + (i + b.n - 1) % b.n;
        c->conn = wsx_connect(b.loop, url, NULL, &o, &h, c, &err);
        if (!c->conn) {
            fprintf(stderr, "bench_messenger: %s: %s\n", url,
                    wsx_strerror(err));
            return 1;
        }
    }
    wsx_timer_t *wd = wsx_timer_start(b.loop, 1000, 1, watchdog, &b);
    wsx_loop_run(b.loop);
    if (wd)
        wsx_timer_stop(wd);
    wsx_loop_free(b.loop);
    free(b.clients);
    if (b.failed || b.phase != P_DONE)
        return 1;
    printf("clients %d push/s %.0f get/s %.0f pushes %llu gets %llu\n", b.n,
           (double)b.pushes * 1e9 / (double)b.push_ns,
           (double)b.gets * 1e9 / (double)b.get_ns,
           (unsigned long long)b.pushes, (unsigned long long)b.gets);
    return 0;
}
