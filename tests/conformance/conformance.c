/*
 * conformance.c — an Autobahn-style conformance suite for wsecho.
 *
 *   conformance --wsecho PATH [--logdir DIR] [--only TEXT] [-v] [--list]
 *
 * Starts wsecho (three shared instances: default, --max-message 1024,
 * --stream; a few cases start their own with other options),
 * runs every case over a fresh TCP connection with raw bytes, prints each
 * failure with the expected and actual bytes, a table per category and
 * "N passed, N failed". Exits 1 on any failure, 2 when it cannot start.
 */
#include "suite.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CASES 2048

static tcase_t cases[MAX_CASES];
static int ncases;
static server_t servers[SRV_COUNT];
static const char *bin;
static int cur_port;

tcase_t *add_case(const char *cat, case_fn fn, long a, long b, long c,
                  const void *data, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (ncases == MAX_CASES) {
        fprintf(stderr, "conformance: too many cases\n");
        exit(2);
    }
    tcase_t *k = &cases[ncases++];
    k->cat = cat;
    k->fn = fn;
    k->a = a;
    k->b = b;
    k->c = c;
    k->data = data;
    k->len = len;
    k->srv = SRV_DEFAULT;
    k->timeout_ms = CASE_TIMEOUT_MS;
    va_start(ap, fmt);
    vsnprintf(k->name, sizeof k->name, fmt, ap);
    va_end(ap);
    return k;
}

int case_port(void)
{
    return cur_port;
}

const char *wsecho_path(void)
{
    return bin;
}

int open_ws(peer_t *t)
{
    return ws_open(t, cur_port);
}

/* Make sure the case's instance runs; (re)start it when needed. */
static int ensure_server(int which, char *err, size_t cap)
{
    server_t *s = &servers[which];
    char why[256];
    if (s->pid > 0 && server_check(s, why, sizeof why) == 0)
        return 0;
    return server_start(s, bin, err, cap);
}

typedef struct tally {
    const char *cat;
    int cases, passed;
    int64_t ms;
} tally_t;

static const char *logdir = "/tmp";

const char *log_dir(void)
{
    return logdir;
}

static void usage(void)
{
    fprintf(stderr, "usage: conformance --wsecho PATH [--logdir DIR] "
                    "[--only TEXT] [-v] [--list]\n");
    exit(2);
}

static void setup_servers(void)
{
    static const char *const extras[SRV_COUNT][4] = {
        [SRV_SMALL] = {"--max-message", "1024"},
        [SRV_STREAM] = {"--stream"},
    };
    static const char *const tags[SRV_COUNT] = {"default", "small", "stream"};
    for (int i = 0; i < SRV_COUNT; i++) {
        memcpy(servers[i].extra, extras[i], sizeof servers[i].extra);
        snprintf(servers[i].log, sizeof servers[i].log, "%s/wsecho-%s.log",
                 logdir, tags[i]);
        unlink(servers[i].log);
    }
    char log[300];
    snprintf(log, sizeof log, "%s/wsecho-sigterm.log", logdir);
    unlink(log);
}

/* Run one case on a fresh peer; 0 passed, -1 failed with t->msg set. */
static int run_case(const tcase_t *k, peer_t *t)
{
    char why[256];
    int r = -1;
    if (ensure_server(k->srv, t->msg, sizeof t->msg) == 0) {
        cur_port = servers[k->srv].port;
        t->deadline = now_ms() + k->timeout_ms;
        r = k->fn(t, k);
        if (r < 0 && t->msg[0] == '\0')
            fail(t, "failed");
    }
    peer_close(t);
    /* A crash during the case is the case's failure, whatever it saw. */
    if (servers[k->srv].pid > 0 &&
        server_check(&servers[k->srv], why, sizeof why) != 0) {
        r = -1;
        snprintf(t->msg, sizeof t->msg, "%s", why);
    }
    return r;
}

static void print_table(const tally_t *tal, int ncat, int64_t ms)
{
    int passed = 0, total = 0;
    printf("\n%-16s %6s %7s %7s %8s\n", "category", "cases", "passed", "failed",
           "time");
    for (int i = 0; i < ncat; i++) {
        printf("%-16s %6d %7d %7d %6.2f s\n", tal[i].cat, tal[i].cases,
               tal[i].passed, tal[i].cases - tal[i].passed,
               (double)tal[i].ms / 1000.0);
        passed += tal[i].passed;
        total += tal[i].cases;
    }
    printf("%-16s %6d %7d %7d %6.2f s\n\n", "total", total, passed,
           total - passed, (double)ms / 1000.0);
    printf("%d passed, %d failed\n", passed, total - passed);
}

int main(int argc, char **argv)
{
    const char *only = NULL;
    int verbose = 0, list = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--wsecho") && i + 1 < argc)
            bin = argv[++i];
        else if (!strcmp(argv[i], "--logdir") && i + 1 < argc)
            logdir = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else if (!strcmp(argv[i], "--list"))
            list = 1;
        else
            usage();
    }
    if (!bin && !list)
        usage();
    signal(SIGPIPE, SIG_IGN);

    register_handshake();
    register_framing();
    register_control();
    register_reserved();
    register_fragmentation();
    register_utf8();
    register_close();
    register_limits();
    register_server();
    register_deflate();

    if (list) {
        for (int i = 0; i < ncases; i++)
            printf("%-14s %s\n", cases[i].cat, cases[i].name);
        return 0;
    }
    setup_servers();

    tally_t tal[32] = {{0}};
    int ncat = 0, failed = 0;
    int64_t t0 = now_ms();
    for (int i = 0; i < ncases; i++) {
        const tcase_t *k = &cases[i];
        if (only && !strstr(k->cat, only) && !strstr(k->name, only))
            continue;
        int ci = 0;
        while (ci < ncat && strcmp(tal[ci].cat, k->cat) != 0)
            ci++;
        if (ci == ncat)
            tal[ncat++].cat = k->cat;

        peer_t t = {.fd = -1};
        int64_t start = now_ms();
        int r = run_case(k, &t);
        int64_t ms = now_ms() - start;
        tal[ci].cases++;
        tal[ci].ms += ms;
        if (r == 0) {
            tal[ci].passed++;
            if (verbose)
                printf("ok    %-14s %s (%lld ms)\n", k->cat, k->name,
                       (long long)ms);
        } else {
            failed++;
            printf("FAIL  %-14s %s: %s\n", k->cat, k->name, t.msg);
        }
        fflush(stdout);
    }
    for (int i = 0; i < SRV_COUNT; i++)
        if (servers[i].pid > 0)
            server_stop(&servers[i], 3000);
    print_table(tal, ncat, now_ms() - t0);
    return failed ? 1 : 0;
}
