/*
 * tlsbench.c — wss:// against ws:// on the same event loop: an echo load
 * (C connections, W messages of S bytes in flight on each, for D seconds)
 * or a handshake rate (C connections at a time, each opened, its
 * WebSocket handshake done, closed, and replaced). The client is wsx
 * itself, so both sides of a wss:// run pay for TLS, and a ws:// run with
 * the same program is the baseline.
 *
 *   tlsbench --url ws[s]://127.0.0.1:P/ [-c C] [-w W] [-s S] [-d SEC]
 *            [--warmup SEC] [--handshakes] [--pid SERVER] [--ca FILE]
 *
 * Prints one line of key=value pairs: mode, conns, inflight, size,
 * msgs, msg_s, mb_s (10^6 payload bytes echoed per second), hs_s,
 * server_cpu (% of one core, from /proc/PID/stat), tls (the version and
 * cipher negotiated, or "none"), errors. Exit status 0, 1 on bad usage, 2
 * when any error was counted (an echo that differs, a failed connection).
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct bench {
    const char *url;
    wsx_opts_t opts;
    wsx_handler_t h;
    wsx_loop_t *loop;
    unsigned conns, inflight;
    size_t size;
    double seconds, warmup;
    int handshakes, measuring, done;
    long pid;
    uint8_t *payload;
    uint64_t msgs, opened, errors;
    char tls[128];
} bench_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server's user + system time in seconds (/proc/PID/stat). */
static double cpu_of(long pid)
{
    char path[64], buf[1024];
    unsigned long ut, st;
    FILE *f;

    if (pid <= 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After "(comm) ": state, then fields 4-13, utime and stime. */
    const char *p = strrchr(buf, ')');
    if (!p || sscanf(p + 2,
                     "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%lu %lu",
                     &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void connect_one(bench_t *b)
{
    int err;

    if (!wsx_connect(b->loop, b->url, NULL, &b->opts, &b->h, b, &err)) {
        fprintf(stderr, "tlsbench: %s: %s\n", b->url, wsx_strerror(err));
        exit(1);
    }
}

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    bench_t *b = wsx_conn_ctx(c);

    (void)resp;
    if (!b->tls[0] && !wsx_conn_tls(c, b->tls, sizeof b->tls))
        snprintf(b->tls, sizeof b->tls, "none");
    if (b->handshakes) {
        b->opened += b->measuring;
        wsx_conn_close(c, WS_CLOSE_NORMAL, NULL, 0);
        return;
    }
    for (unsigned i = 0; i < b->inflight; i++)
        wsx_conn_send_binary(c, b->payload, b->size);
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    bench_t *b = wsx_conn_ctx(c);

    if (op != WS_OP_BINARY || len != b->size ||
        memcmp(data, b->payload, len) != 0)
        b->errors++;
    b->msgs += b->measuring;
    if (!b->done)
        wsx_conn_send_binary(c, b->payload, b->size);
    else
        wsx_conn_close(c, WS_CLOSE_NORMAL, NULL, 0);
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    bench_t *b = wsx_conn_ctx(c);

    (void)reason;
    (void)len;
    if (code != WS_CLOSE_NORMAL && !b->done)
        b->errors++;
    if (b->handshakes && !b->done)
        connect_one(b);
}

static void on_error(wsx_conn_t *c, int err, const char *msg)
{
    bench_t *b = wsx_conn_ctx(c);

    (void)err;
    if (b->done) /* the end of the run cuts connections short */
        return;
    fprintf(stderr, "tlsbench: %s\n", msg);
    b->errors++;
}

static void usage(void)
{
    fputs("usage: tlsbench --url ws[s]://HOST:PORT/ [-c CONNS] [-w INFLIGHT]"
          " [-s BYTES] [-d SEC]\n"
          "                [--warmup SEC] [--handshakes] [--pid SERVER]"
          " [--ca FILE]\n",
          stderr);
    exit(1);
}

static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);

    if (*end == 'K')
        v <<= 10;
    else if (*end == 'M')
        v <<= 20;
    return v;
}

static void parse(bench_t *b, int argc, char **argv)
{
    static const struct option lo[] = {{"url", required_argument, NULL, 'u'},
                                       {"warmup", required_argument, NULL, 'W'},
                                       {"handshakes", no_argument, NULL, 'H'},
                                       {"pid", required_argument, NULL, 'p'},
                                       {"ca", required_argument, NULL, 'a'},
                                       {NULL, 0, NULL, 0}};
    const char *ca = NULL;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:w:s:d:", lo, NULL)) != -1) {
        switch (opt) {
        case 'u':
            b->url = optarg;
            break;
        case 'c':
            b->conns = (unsigned)atoi(optarg);
            break;
        case 'w':
            b->inflight = (unsigned)atoi(optarg);
            break;
        case 's':
            b->size = parse_size(optarg);
            break;
        case 'd':
            b->seconds = atof(optarg);
            break;
        case 'W':
            b->warmup = atof(optarg);
            break;
        case 'H':
            b->handshakes = 1;
            break;
        case 'p':
            b->pid = atol(optarg);
            break;
        case 'a':
            ca = optarg;
            break;
        default:
            usage();
        }
    }
    if (!b->url || !b->conns || !b->inflight || b->seconds <= 0)
        usage();
    /* Without --ca: no certificate check (the bench's own test CA). */
    if (wsx_opts_tls_client(&b->opts, "tlsbench", b->url, ca, !ca) != 0)
        exit(1);
}

int main(int argc, char **argv)
{
    static bench_t b = {
        .conns = 1, .inflight = 1, .size = 16, .seconds = 3, .warmup = 0.5};

    parse(&b, argc, argv);
    b.h = (wsx_handler_t){.on_open = on_open,
                          .on_message = on_message,
                          .on_close = on_close,
                          .on_error = on_error};
    b.opts.max_message = b.size + 1;
    if (!(b.payload = malloc(b.size ? b.size : 1)) ||
        wsx_process_setup() != 0 || !(b.loop = wsx_loop_new())) {
        perror("tlsbench");
        return 1;
    }
    for (size_t i = 0; i < b.size; i++)
        b.payload[i] = (uint8_t)(i * 7 + 3);
    for (unsigned i = 0; i < b.conns; i++)
        connect_one(&b);

    double t0 = now_s(), start = t0 + b.warmup, end = start + b.seconds;
    double cpu0 = 0, t;
    while ((t = now_s()) < end && !b.errors) {
        if (!b.measuring && t >= start) {
            b.measuring = 1;
            cpu0 = cpu_of(b.pid);
            start = t;
        }
        wsx_loop_run_once(b.loop, 10);
    }
    double el = now_s() - start, cpu = cpu_of(b.pid) - cpu0;
    b.done = 1;
    wsx_loop_shutdown(b.loop, WS_CLOSE_NORMAL, 1000);
    wsx_loop_run(b.loop);
    wsx_loop_free(b.loop);
    wsx_tls_free(b.opts.tls);
    for (char *p = b.tls; *p; p++) /* keep the line key=value */
        if (*p == ' ')
            *p = '/';
    printf("mode=%s conns=%u inflight=%u size=%zu msgs=%llu msg_s=%.0f "
           "mb_s=%.2f hs_s=%.0f server_cpu=%.0f tls=%s errors=%llu\n",
           b.handshakes ? "handshakes" : "echo", b.conns, b.inflight, b.size,
           (unsigned long long)b.msgs, (double)b.msgs / el,
           (double)b.msgs * (double)b.size / el / 1e6, (double)b.opened / el,
           el > 0 ? 100 * cpu / el : 0, b.tls[0] ? b.tls : "none",
           (unsigned long long)b.errors);
    free(b.payload);
    return b.errors ? 2 : 0;
}
