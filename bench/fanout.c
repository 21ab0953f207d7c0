/*
 * fanout — one message to many WebSocket connections: the chat server's
 * fan-out path, encoded once per connection (the old way), once for all
 * (a shared, reference-counted frame, wsx_server_broadcast's way), and,
 * as the reference, Node ws doing the same in the shape of its broadcast
 * example (bench/fanout_ws.js: wss.clients.forEach(c => c.send(data))).
 *
 * A server on loopback and, in a second process, a client holding N
 * connections that only reads and counts bytes. The server sends M text
 * messages of --size bytes to every connection, in batches of BATCH, each
 * batch once every connection's queue has drained. "delivered" is
 * messages times connections over the time from the first send until the
 * client has read the last byte; "server CPU" is the server process's own
 * time (user + system) per delivered message, which the client's cost
 * does not blur; "RSS" is the server's resident memory with the N
 * connections open, before the sending, and "per connection" what they
 * added to it. Each way is run RUNS times, in turns; the table shows the
 * medians. By default N is 100, 1000 and 10 000 and M gives 200 000
 * deliveries (at least 20 messages); 10 000 connections need the
 * descriptor limit raised to its hard limit (wsx_process_setup does it
 * here, and the client and Node inherit it).
 *
 *   fanout [--conns N] [--messages M] [--size BYTES] [--node-dir DIR]
 *          [--smoke]
 *
 * --node-dir: where bench/fanout_ws.js and node_modules/ws are found
 * (tests/interop after `npm ci` there); without node or ws the Node rows
 * say n/a. Prints one Markdown table. Asserts nothing about time.
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
#define DELIVERIES 200000

enum { MODE_COPY, MODE_SHARED, MODE_NODE, NMODES };

static const char *const mode_name[NMODES] = {"wsx, encoded per connection",
                                              "wsx, one shared frame",
                                              "Node ws (broadcast example)"};

typedef struct result {
    double seconds;   /* first send to the client's last byte */
    double user, sys; /* the server's CPU time meanwhile */
    double rss0, rss; /* server KiB: before the connections, with them */
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

/* VmRSS of a process ("self" or a pid) in KiB, 0 if unknown. */
static double rss_kib(const char *pid)
{
    char path[64], line[256];
    double kib = 0;
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lf", &kib) == 1)
            break;
    fclose(f);
    return kib;
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

    /* Closed with a reset when the client exits: no TIME_WAIT, so runs of
     * 10 000 connections do not use up the loopback's ephemeral ports. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
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
    res->rss0 = rss_kib("self"); /* listening, as Node's is measured */
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
        res->rss = rss_kib("self");
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

/* measure() in a process of its own, so every run's server starts from
 * the same memory (a loop's pools and heap left by the previous run
 * would hide what the connections cost). */
static int measure_fresh(int mode, int conns, int messages, size_t size,
                         char *payload, result_t *res)
{
    int fds[2], status = 1;
    pid_t pid;

    if (pipe(fds) != 0)
        return -1;
    if ((pid = fork()) == 0) {
        close(fds[0]);
        int r = measure(mode, conns, messages, size, payload, res);
        _exit(r == 0 && write(fds[1], res, sizeof *res) == (ssize_t)sizeof *res
                  ? 0
                  : 1);
    }
    close(fds[1]);
    ssize_t n = pid > 0 ? read(fds[0], res, sizeof *res) : -1;
    close(fds[0]);
    if (pid > 0)
        waitpid(pid, &status, 0);
    return n == (ssize_t)sizeof *res && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

/* ------------------------------------------------------------- Node ws */

/* A process's user and system CPU seconds, from /proc/PID/stat. */
static int proc_cpu_s(pid_t pid, double *user, double *sys)
{
    char path[64], buf[1024];
    unsigned long ut, st;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime stime (fields 3..15 of proc(5)) */
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                     "%lu %lu",
                     &ut, &st) != 2)
        return -1;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *user = (double)ut / hz;
    *sys = (double)st / hz;
    return 0;
}

/* The next line from the Node server, with a deadline; 0 or -1. */
static int node_line(FILE *f, char *line, size_t cap)
{
    alarm(CLIENT_LIMIT_S);
    char *got = fgets(line, (int)cap, f);
    alarm(0);
    return got ? 0 : -1;
}

static void on_alarm(int sig)
{
    (void)sig; /* only to interrupt a blocking read */
}

/* The same run against `node DIR/../../bench/fanout_ws.js`, which finds
 * ws in DIR/node_modules. */
static int measure_node(const char *dir, int conns, int messages, size_t size,
                        result_t *res)
{
    int to[2], from[2], rep[2], port = 0, ok = -1, status = 1;
    char line[256], nodepath[4096], pidstr[32];
    pid_t node, client = -1;
    FILE *f;

    if (pipe(to) != 0 || pipe(from) != 0 || pipe(rep) != 0)
        return -1;
    if ((node = fork()) == 0) {
        char a[4][32];
        snprintf(a[0], sizeof a[0], "%d", conns);
        snprintf(a[1], sizeof a[1], "%d", messages);
        snprintf(a[2], sizeof a[2], "%zu", size);
        snprintf(a[3], sizeof a[3], "%d", BATCH);
        snprintf(nodepath, sizeof nodepath, "%s/node_modules", dir);
        setenv("NODE_PATH", nodepath, 1);
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execlp("node", "node", "bench/fanout_ws.js", a[0], a[1], a[2], a[3],
               (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    f = fdopen(from[0], "r");
    snprintf(pidstr, sizeof pidstr, "%d", (int)node);
    if (node > 0 && f && node_line(f, line, sizeof line) == 0 &&
        sscanf(line, "fanout-ws listening on 127.0.0.1:%d", &port) == 1) {
        res->rss0 = rss_kib(pidstr);
        if ((client = fork()) == 0) {
            close(rep[0]);
            run_client(port, conns,
                       (unsigned long long)frame_len(size) *
                           (unsigned long long)messages *
                           (unsigned long long)conns,
                       rep[1]);
        }
    }
    close(rep[1]);
    double u0, s0, u1, s1, t0;
    char ch;
    if (client > 0 && node_line(f, line, sizeof line) == 0 &&
        strcmp(line, "open\n") == 0) {
        res->rss = rss_kib(pidstr);
        if (proc_cpu_s(node, &u0, &s0) == 0 &&
            node_line(f, line, sizeof line) == 0 && strcmp(line, "go\n") == 0) {
            t0 = now_s();
            alarm(CLIENT_LIMIT_S);
            if (read(rep[0], &ch, 1) == 1 && ch == 'D' &&
                proc_cpu_s(node, &u1, &s1) == 0) {
                res->seconds = now_s() - t0;
                res->user = u1 - u0;
                res->sys = s1 - s0;
                ok = 0;
            }
            alarm(0);
        }
    }
    close(to[1]); /* Node exits when its stdin ends */
    close(rep[0]);
    if (f)
        fclose(f);
    if (client > 0)
        waitpid(client, &status, 0);
    if (node > 0) {
        kill(node, SIGTERM);
        waitpid(node, NULL, 0);
    }
    return ok == 0 && client > 0 && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 0
               ? 0
               : -1;
}

/* ------------------------------------------------------------- output */

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], by_value);
    return v[n / 2];
}

/* The median of each field over n runs (n <= RUNS). */
static result_t median(const result_t *r, int n)
{
    double v[6][RUNS];
    result_t m;

    for (int i = 0; i < n; i++) {
        v[0][i] = r[i].seconds, v[1][i] = r[i].user, v[2][i] = r[i].sys;
        v[3][i] = r[i].rss0, v[4][i] = r[i].rss;
    }
    m.seconds = median_of(v[0], n);
    m.user = median_of(v[1], n);
    m.sys = median_of(v[2], n);
    m.rss0 = median_of(v[3], n);
    m.rss = median_of(v[4], n);
    return m;
}

static void row(int conns, int messages, int mode, const result_t *m, int have)
{
    double total = (double)conns * messages;
    printf("| %d × %d | %s | ", conns, messages, mode_name[mode]);
    if (!have) {
        printf("n/a | n/a | n/a | n/a |\n");
        return;
    }
    printf("%.0f | ", total / m->seconds);
    /* A short run can measure no CPU time at all (clock ticks). */
    if (m->user + m->sys > 0)
        printf("%.0f | ", (m->user + m->sys) / total * 1e9);
    else
        printf("n/a | ");
    printf("%.1f MiB | %.0f B |\n", m->rss / 1024,
           (m->rss - m->rss0) * 1024 / conns);
}

static void usage(FILE *to)
{
    fprintf(to, "usage: fanout [--conns N] [--messages M] [--size BYTES] "
                "[--node-dir DIR] [--smoke]\n"
                "  one text message of BYTES (1024) to N loopback connections "
                "(100, 1000 and 10000),\n"
                "  M times (200 000 deliveries, at least 20): encoded per "
                "connection, as one shared\n"
                "  frame, and by Node ws (DIR: tests/interop, where npm ci "
                "installed ws); median of 3 runs each\n"
                "  --smoke: 50 connections, 20 messages, one run\n");
}

typedef struct cfg {
    int conns, messages, runs;
    size_t size;
    const char *node_dir;
} cfg_t;

static int parse(int argc, char **argv, cfg_t *g)
{
    static const struct option longopts[] = {
        {"conns", required_argument, NULL, 'c'},
        {"messages", required_argument, NULL, 'm'},
        {"size", required_argument, NULL, 's'},
        {"node-dir", required_argument, NULL, 'n'},
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
                g->conns = (int)v;
            else if (opt == 'm')
                g->messages = (int)v;
            else
                g->size = (size_t)v;
            break;
        case 'n':
            g->node_dir = optarg;
            break;
        case 'S':
            g->conns = 50;
            g->messages = 20;
            g->runs = 1;
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

/* Is Node ws there to compare with? Its version into ver. */
static int have_node(const char *dir, char *ver, size_t cap)
{
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/node_modules/ws/package.json", dir);
    FILE *f = fopen(path, "r");
    snprintf(ver, cap, "?");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, " \"version\": \"%31[0-9.]\"", ver) == 1)
            break;
    if (f)
        fclose(f);
    return f && system("node --version >/dev/null 2>&1") == 0;
}

/* Every way at one connection count, the runs taking turns. */
static int measure_all(const cfg_t *g, int conns, int messages, char *payload,
                       int node)
{
    result_t all[NMODES][RUNS], m;
    int got[NMODES] = {0};

    for (int i = 0; i < g->runs; i++) {
        for (int mode = MODE_COPY; mode < NMODES; mode++) {
            int r;
            if (mode == MODE_NODE && !node)
                continue;
            r = mode == MODE_NODE
                    ? measure_node(g->node_dir, conns, messages, g->size,
                                   &all[mode][got[mode]])
                    : measure_fresh(mode, conns, messages, g->size, payload,
                                    &all[mode][got[mode]]);
            if (r != 0 && mode != MODE_NODE) {
                fprintf(stderr, "fanout: the %s run failed\n", mode_name[mode]);
                return 1;
            }
            if (r != 0)
                fprintf(stderr, "fanout: a Node ws run failed\n");
            else
                got[mode]++;
        }
    }
    for (int mode = MODE_COPY; mode < NMODES; mode++) {
        if (got[mode])
            m = median(all[mode], got[mode]);
        row(conns, messages, mode, &m, got[mode] > 0);
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    cfg_t g = {.conns = 0,
               .messages = 0,
               .runs = RUNS,
               .size = 1024,
               .node_dir = "tests/interop"};
    static const int counts[] = {100, 1000, 10000};
    int r;

    if ((r = parse(argc, argv, &g)) >= 0)
        return r;
    char *payload = malloc(g.size);
    /* wsx_process_setup raises RLIMIT_NOFILE to its hard limit: 10 000
     * connections need it, here, in the client and in Node. */
    if (!payload || wsx_process_setup() != 0)
        return 1;
    signal(SIGALRM, on_alarm);
    for (size_t i = 0; i < g.size; i++)
        payload[i] = (char)('a' + i % 26);
    char ver[32];
    int node = have_node(g.node_dir, ver, sizeof ver);
    printf("fan-out: text messages of %zu bytes to every loopback "
           "connection, batches of %d (median of %d runs of each way, in "
           "turns)\n\n",
           g.size, BATCH, g.runs);
    printf("| connections × messages | server | delivered msg/s | server CPU "
           "ns per delivered message | server RSS with the connections | "
           "per connection |\n|---|---|--:|--:|--:|--:|\n");
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        int conns = g.conns ? g.conns : counts[k];
        int messages = g.messages ? g.messages : DELIVERIES / conns;
        if (messages < 20)
            messages = 20;
        if (measure_all(&g, conns, messages, payload, node) != 0)
            return 1;
        if (g.conns)
            break;
    }
    printf("\nwsx servers: a fresh process forked from bench/fanout for "
           "every run (its RSS includes the benchmark's own few pages); "
           "Node ws %s: bench/fanout_ws.js, "
           "`wss.clients.forEach(c => c.send(data, {binary: false}))`, "
           "data a Buffer, permessage-deflate off, the same batches and "
           "drain waits. RSS with the connections: before any message; "
           "per connection: what they added to the RSS of the server "
           "listening with none. The client is a separate process in "
           "every case.\n",
           node ? ver : "(not found: npm ci in tests/interop)");
    free(payload);
    return 0;
}
