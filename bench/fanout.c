/*
 * fanout — one message to many WebSocket connections: the chat server's
 * fan-out path, encoded once per connection (the old way) or once for all
 * (a shared, reference-counted frame, wsx_broadcast's way).
 *
 * A wsx server on loopback and, in a second process, a client holding
 * --conns connections that only reads and counts bytes. The server sends
 * --messages text messages of --size bytes to every connection, in
 * batches of BATCH, each batch once every queue has drained. "delivered"
 * is messages times connections over the time until the client has read
 * the last byte; "server CPU" is the server process's own time (user +
 * system) per delivered message, which the client's cost does not blur.
 * Each way is run RUNS times, in turns; the table shows the medians.
 *
 *   fanout [--conns N] [--messages M] [--size BYTES] [--smoke]
 *
 * Prints one table, the two ways side by side. Asserts nothing about time.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 16
#define RUNS 3
#define CLIENT_LIMIT_S 120

enum { MODE_COPY, MODE_SHARED };

typedef struct result {
    double seconds;   /* first send to the client's last byte */
    double user, sys; /* the server's CPU time meanwhile */
} result_t;

typedef struct run {
    wsx_loop_t *loop;
    wsx_server_t *srv;
    int mode, conns, messages;
    size_t size;
    char *payload;
    int sent; /* messages sent to every connection so far */
    int done; /* the client read everything */
    double t_end;
} run_t;

/* A server's frame for a payload of len bytes (RFC 6455 §5.2: 7, 16 or
 * 64-bit length, no mask). */
static size_t frame_len(size_t len)
{
    return len + (len < 126 ? 2 : len <= 0xFFFF ? 4 : 10);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* The server's user and system CPU seconds so far. */
static void cpu_s(double *user, double *sys)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *user = tv_s(ru.ru_utime);
    *sys = tv_s(ru.ru_stime);
}

/* ------------------------------------------------------------ client */

static int client_conn(int port)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char head[512];
    size_t have = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        send(fd, req, sizeof req - 1, 0) != (ssize_t)sizeof req - 1)
        return -1;
    /* Nothing follows the 101 until every connection is open. */
    while (have < sizeof head - 1) {
        ssize_t n = read(fd, head + have, sizeof head - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        head[have] = '\0';
        if (strstr(head, "\r\n\r\n"))
            return strncmp(head, "HTTP/1.1 101", 12) == 0 ? fd : -1;
    }
    return -1;
}

/* Open n connections, then read until `expect` bytes came in all, and say
 * so on report. Exits. */
static void run_client(int port, int n, unsigned long long expect, int report)
{
    static uint8_t buf[64 * 1024];
    struct epoll_event evs[256];
    unsigned long long got = 0;
    int ep = epoll_create1(0);

    alarm(CLIENT_LIMIT_S);
    for (int i = 0; i < n; i++) {
        int fd = client_conn(port);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
        if (fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) {
            fprintf(stderr, "fanout: client: connection %d failed\n", i);
            _exit(1);
        }
    }
    while (got < expect) {
        int k = epoll_wait(ep, evs, 256, 1000);
        for (int i = 0; i < k; i++) {
            ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
            if (r <= 0) {
                fprintf(stderr, "fanout: client: connection lost\n");
                _exit(1);
            }
            got += (unsigned long long)r;
        }
    }
    if (write(report, "D", 1) != 1)
        _exit(1);
    _exit(0);
}

/* ------------------------------------------------------------ server */

static int all_drained(run_t *r)
{
    for (wsx_conn_t *c = wsx_server_next(r->srv, NULL); c;
         c = wsx_server_next(r->srv, c))
        if (wsx_conn_queued(c))
            return 0;
    return 1;
}

/* One message to every connection, the way being measured. */
static void send_one(run_t *r)
{
    if (r->mode == MODE_SHARED) {
        wsx_server_broadcast(r->srv, WS_OP_TEXT, r->payload, r->size);
        return;
    }
    for (wsx_conn_t *c = wsx_server_next(r->srv, NULL); c;
         c = wsx_server_next(r->srv, c))
        wsx_conn_send_text(c, r->payload, r->size);
}

static void on_tick(wsx_timer_t *t, void *user)
{
    run_t *r = user;

    if (r->sent == r->messages) {
        wsx_timer_stop(t);
        return;
    }
    if (!all_drained(r))
        return;
    for (int i = 0; i < BATCH && r->sent < r->messages; i++, r->sent++)
        send_one(r);
}

static void on_report(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    run_t *r = user;
    char ch;

    (void)ready;
    if (read(fd, &ch, 1) == 1 && ch == 'D') {
        r->t_end = now_s();
        r->done = 1;
    }
    wsx_watch_stop(w);
    wsx_loop_stop(r->loop);
}

/* Rounds until every client connection is open; 0 or -1 after 30 s. */
static int wait_open(run_t *r)
{
    double end = now_s() + 30;

    while (wsx_server_count(r->srv) < (size_t)r->conns) {
        if (now_s() > end)
            return -1;
        wsx_loop_run_once(r->loop, 50);
    }
    return 0;
}

static int measure(int mode, int conns, int messages, size_t size,
                   char *payload, result_t *res)
{
    static const wsx_handler_t h;
    wsx_opts_t o = {.max_connections = (unsigned)conns + 16};
    run_t r = {.mode = mode,
               .conns = conns,
               .messages = messages,
               .size = size,
               .payload = payload};
    int pipefd[2], status = 1, ok = -1;
    size_t frame = frame_len(size);
    pid_t pid;

    if (!(r.loop = wsx_loop_new()) || pipe(pipefd) != 0 ||
        !(r.srv = wsx_server_new(r.loop, "127.0.0.1", 0, &o, &h, NULL)))
        return -1;
    if ((pid = fork()) == 0) {
        close(pipefd[0]);
        run_client(wsx_server_port(r.srv), conns,
                   (unsigned long long)frame * (unsigned long long)messages *
                       (unsigned long long)conns,
                   pipefd[1]);
    }
    close(pipefd[1]);
    if (pid > 0 && wait_open(&r) == 0 &&
        wsx_watch_start(r.loop, pipefd[0], WSX_READABLE, on_report, &r) &&
        wsx_timer_start(r.loop, 1, 1, on_tick, &r)) {
        double t0 = now_s(), u0, s0, u1, s1;
        cpu_s(&u0, &s0);
        on_tick(NULL, &r); /* the first batch at once */
        wsx_loop_run(r.loop);
        cpu_s(&u1, &s1);
        res->seconds = r.t_end - t0;
        res->user = u1 - u0;
        res->sys = s1 - s0;
        ok = r.done ? 0 : -1;
    }
    wsx_loop_free(r.loop);
    close(pipefd[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    return ok == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* One line of the table; ratio is "after" over "before" for rates and
 * the other way round for costs, so more than 1 is better either way. */
static void row(const char *what, double before, double after)
{
    int rate = strstr(what, "/s") != NULL;
    double ratio = rate ? after / before : before / after;

    /* A short run can measure no CPU time at all (clock ticks). */
    if (before > 0 && after > 0)
        printf("%-28s %16.0f %16.0f %7.2fx\n", what, before, after, ratio);
    else
        printf("%-28s %16.0f %16.0f %8s\n", what, before, after, "n/a");
}

static void usage(FILE *to)
{
    fprintf(to, "usage: fanout [--conns N] [--messages M] [--size BYTES] "
                "[--smoke]\n"
                "  one text message of BYTES (1024) to N (1000) loopback "
                "connections, M (1000) times,\n"
                "  encoded per connection and as one shared frame; the "
                "median of 3 runs each\n"
                "  --smoke: 50 connections, 20 messages, one run\n");
}

static int parse(int argc, char **argv, int *conns, int *messages, size_t *size,
                 int *runs)
{
    static const struct option longopts[] = {
        {"conns", required_argument, NULL, 'c'},
        {"messages", required_argument, NULL, 'm'},
        {"size", required_argument, NULL, 's'},
        {"smoke", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long long v;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
        case 'm':
        case 's':
            if (wsx_parse_uint(optarg, 100000, &v) != 0 || v == 0) {
                fprintf(stderr, "fanout: --%s needs a number 1..100000\n",
                        opt == 'c'   ? "conns"
                        : opt == 'm' ? "messages"
                                     : "size");
                return 2;
            }
            if (opt == 'c')
                *conns = (int)v;
            else if (opt == 'm')
                *messages = (int)v;
            else
                *size = (size_t)v;
            break;
        case 'S':
            *conns = 50;
            *messages = 20;
            *runs = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    return optind == argc ? -1 : 2;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of each field over n runs (n <= RUNS). */
static result_t median(const result_t *r, int n)
{
    double s[RUNS], u[RUNS], y[RUNS];
    result_t m;

    for (int i = 0; i < n; i++)
        s[i] = r[i].seconds, u[i] = r[i].user, y[i] = r[i].sys;
    qsort(s, (size_t)n, sizeof s[0], by_value);
    qsort(u, (size_t)n, sizeof u[0], by_value);
    qsort(y, (size_t)n, sizeof y[0], by_value);
    m.seconds = s[n / 2];
    m.user = u[n / 2];
    m.sys = y[n / 2];
    return m;
}

int main(int argc, char **argv)
{
    int conns = 1000, messages = 1000, runs = RUNS, r;
    size_t size = 1024;
    result_t all[2][RUNS], res[2];

    if ((r = parse(argc, argv, &conns, &messages, &size, &runs)) >= 0)
        return r;
    char *payload = malloc(size);
    if (!payload || wsx_process_setup() != 0)
        return 1;
    for (size_t i = 0; i < size; i++)
        payload[i] = (char)('a' + i % 26);
    for (int i = 0; i < runs; i++) {
        for (int mode = MODE_COPY; mode <= MODE_SHARED; mode++) {
            if (measure(mode, conns, messages, size, payload, &all[mode][i]) !=
                0) {
                fprintf(stderr, "fanout: the %s run failed\n",
                        mode == MODE_COPY ? "per-connection" : "shared");
                return 1;
            }
        }
    }
    res[0] = median(all[0], runs);
    res[1] = median(all[1], runs);
    double total = (double)conns * messages;
    printf("fan-out: %d text messages of %zu bytes to each of %d loopback "
           "connections (median of %d)\n\n",
           messages, size, conns, runs);
    printf("%-28s %16s %16s %8s\n", "", "encode per conn", "shared frame",
           "gain");
    row("delivered msg/s", total / res[0].seconds, total / res[1].seconds);
    row("server user CPU ns per msg", res[0].user / total * 1e9,
        res[1].user / total * 1e9);
    row("server sys CPU ns per msg", res[0].sys / total * 1e9,
        res[1].sys / total * 1e9);
    row("server CPU ns per message", (res[0].user + res[0].sys) / total * 1e9,
        (res[1].user + res[1].sys) / total * 1e9);
    printf("%-28s %16zu %16zu\n", "bytes encoded per broadcast",
           frame_len(size) * (size_t)conns, frame_len(size));
    free(payload);
    return 0;
}
