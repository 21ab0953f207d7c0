/*
 * chatload — a load generator for broadcast chat servers in the
 * plain-text protocol of examples/chat/PROTOCOL.md (and of the two
 * reference servers bench/chat_ref_node.js and bench/chat_ref_py.py):
 * N clients in this one process, each logs in with its name as its
 * first text message; then every message one client sends reaches
 * every other client as "name: text".
 *
 *   chatload --port P[,P...] [--host H] [--clients N] [--inflight D]
 *            [--size BYTES] [--time SEC] [--warmup SEC] [--pid SERVER]
 *            [--cpu K] [--kv]
 *
 * The clients are wsx connections (examples/common), so frames are parsed
 * and masked by libwsproto. Several ports: servers that serve one chat
 * together (chat-server --redis), client i on the (i mod n)-th. After every
 * client is welcomed ("* welcome ...") chatload waits for the N(N-1)/2 join
 * notices ("* NAME joined the chat": each pair of clients yields one, to
 * the one that was there first), which also checks that the server tells
 * joins alike. Then the clients send in turn, keeping D deliveries in
 * flight (a message sent to N clients is N-1 deliveries), for a warm-up and
 * then --time seconds; each message carries its sender's sequence number
 * and its send time (CLOCK_MONOTONIC) in its text, so every delivery gives
 * a latency and is checked: from the right sender, not to the sender
 * itself, each sender's messages in order, none twice. Then the sending
 * stops and every delivery still owed must arrive within 20 s: "lost"
 * counts those that did not.
 *
 * Prints delivered messages/s and p50/p99 latency over the measured
 * seconds (and, with --pid, the server's CPU use). Exit status 0; 1 on
 * bad usage or when the server cannot be used; 2 when any delivery was
 * lost, duplicated, out of order or malformed.
 */
#define _GNU_SOURCE
#include "loadstat.h"
#include "wsx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PENDING 64     /* logins under way at once */
#define SETTLE_LIMIT_S 60  /* to log in and hear every join */
#define DRAIN_LIMIT_S 20   /* for the deliveries still owed at the end */
#define NAME_FMT "b%u"
#define MAX_PORTS 16       /* servers sharing one chat (e.g. over Redis) */

enum phase { CONNECTING, SETTLING, LOADING, DRAINING, DONE };

typedef struct client {
    wsx_conn_t *c;
    unsigned idx;
    int welcomed;
    uint32_t seq; /* its next message's sequence number */
} client_t;

typedef struct opts {
    const char *host;
    int ports[MAX_PORTS]; /* client i talks to ports[i % nports] */
    unsigned nports;
    unsigned clients, inflight, size;
    double time, warmup;
    long pid;
    int cpu, kv;
} opts_t;

typedef struct load {
    opts_t o;
    wsx_loop_t *loop;
    client_t *cl;
    uint32_t *expect; /* expect[r * N + s]: r's next seq from s */
    char *text;       /* one message's text, rewritten per message */
    enum phase phase;
    unsigned opened, welcomed, failed;
    uint64_t joins, sent, delivered, errors;
    uint64_t measured; /* deliveries inside the measured seconds */
    uint64_t t_measure, t_end;
    ls_hist_t hist;
} load_t;

static void fail(load_t *L, const char *fmt, unsigned who, const char *what)
{
    if (L->errors++ < 5) {
        fprintf(stderr, "chatload: client %u: ", who);
        fprintf(stderr, fmt, what);
        fputc('\n', stderr);
    }
}

static void top_up(load_t *L);

/* ------------------------------------------------------------ events */

static int starts(const uint8_t *d, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && memcmp(d, s, n) == 0;
}

static int ends(const uint8_t *d, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && memcmp(d + len - n, s, n) == 0;
}

/* A "* ..." line. */
static void on_notice(load_t *L, client_t *k, const uint8_t *d, size_t len)
{
    if (!k->welcomed) {
        if (!starts(d, len, "* welcome ")) {
            fail(L, "login refused: %.60s", k->idx, (const char *)d);
            L->failed++;
            return;
        }
        k->welcomed = 1;
        L->welcomed++;
    } else if (ends(d, len, " joined the chat")) {
        L->joins++;
    }
    /* Other notices (leaves of clients of an earlier run cannot happen:
     * every run has a fresh server) are not counted. */
}

/* "bS: SEQ T_NS xxx..." from sender S. */
static void on_chat(load_t *L, client_t *k, const char *d, size_t len)
{
    unsigned s;
    uint32_t seq;
    unsigned long long t;
    int used = 0;
    char line[64];
    size_t n = len < sizeof line - 1 ? len : sizeof line - 1;

    memcpy(line, d, n);
    line[n] = '\0';
    if (sscanf(line, NAME_FMT ": %u %llu%n", &s, &seq, &t, &used) != 3 ||
        s >= L->o.clients || s == k->idx) {
        fail(L, "not a broadcast of another client: %.60s", k->idx, line);
        return;
    }
    uint32_t *want = &L->expect[(size_t)k->idx * L->o.clients + s];
    if (seq != *want) {
        fail(L, "%s", k->idx,
             seq < *want ? "a message came twice or out of order"
                         : "a message was skipped");
        if (seq < *want)
            return;
    }
    *want = seq + 1;
    L->delivered++;
    if (L->phase == LOADING || L->phase == DRAINING) {
        uint64_t now = ls_clock_ns();
        if (now >= L->t_measure && now < L->t_end) {
            L->measured++;
            ls_hist_add(&L->hist, now - t);
        }
    }
    top_up(L);
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                       size_t len)
{
    load_t *L = wsx_conn_ctx(c);
    client_t *k = wsx_conn_data(c);

    if (op != WS_OP_TEXT)
        fail(L, "%s", k->idx, "a binary message");
    else if (starts(data, len, "* "))
        on_notice(L, k, data, len);
    else
        on_chat(L, k, (const char *)data, len);
}

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    client_t *k = wsx_conn_data(c);
    char name[16];
    int n = snprintf(name, sizeof name, NAME_FMT, k->idx);

    (void)resp;
    wsx_conn_send_text(c, name, (size_t)n);
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    load_t *L = wsx_conn_ctx(c);
    client_t *k = wsx_conn_data(c);
    char why[96];

    snprintf(why, sizeof why, "%u %.*s", code, (int)(len < 80 ? len : 80),
             reason ? reason : "");
    if (L->phase != DONE)
        fail(L, "closed by the server: %s", k->idx, why);
    k->c = NULL;
    L->failed++;
}

static void on_error(wsx_conn_t *c, int err, const char *msg)
{
    load_t *L = wsx_conn_ctx(c);
    client_t *k = wsx_conn_data(c);

    (void)err;
    if (!wsx_conn_is_open(c) && k->c) { /* no on_close follows */
        k->c = NULL;
        L->failed++;
    }
    fail(L, "%s", k->idx, msg);
}

static const wsx_handler_t handler = {.on_open = on_open,
                                      .on_message = on_message,
                                      .on_close = on_close,
                                      .on_error = on_error};

/* ----------------------------------------------------------- sending */

/* One message from client k: "SEQ T_NS " and letters up to --size. */
static void send_one(load_t *L, client_t *k)
{
    int n = snprintf(L->text, L->o.size + 1, "%u %llu ", (unsigned)k->seq,
                     (unsigned long long)ls_clock_ns());
    size_t len = (size_t)n < L->o.size ? L->o.size : (size_t)n;

    memset(L->text + n, 'x', len - (size_t)n);
    if (wsx_conn_send_text(k->c, L->text, len) != 0) {
        fail(L, "%s", k->idx, "could not send");
        return;
    }
    k->seq++;
    L->sent++;
}

/* Clients take turns sending while fewer than D deliveries are owed:
 * at the start and after each delivery (sends made in a callback go out
 * at the end of the loop round, with the round's other output). */
static void top_up(load_t *L)
{
    uint64_t per = L->o.clients - 1;

    if (L->phase != LOADING)
        return;
    while ((L->sent + 1) * per - L->delivered <= L->o.inflight) {
        client_t *k = &L->cl[L->sent % L->o.clients];
        uint64_t before = L->sent;
        if (!k->c)
            return;
        send_one(L, k);
        if (L->sent == before)
            return;
    }
}

/* ------------------------------------------------------------ phases */

static int connect_next(load_t *L)
{
    client_t *k = &L->cl[L->opened];
    int err = 0;
    wsx_opts_t o = {.handshake_timeout = 30000};
    char url[300];

    snprintf(url, sizeof url, "ws://%s:%d/", L->o.host,
             L->o.ports[L->opened % L->o.nports]);
    k->idx = L->opened++;
    k->c = wsx_connect(L->loop, url, NULL, &o, &handler, L, &err);
    if (!k->c) {
        fprintf(stderr, "chatload: cannot connect to %s: %s\n", url,
                wsx_strerror(err));
        return -1;
    }
    wsx_conn_set_data(k->c, k);
    return 0;
}

/* Log every client in, MAX_PENDING at a time, and hear every join. */
static int settle(load_t *L)
{
    uint64_t pairs = (uint64_t)L->o.clients * (L->o.clients - 1) / 2;
    uint64_t end = ls_clock_ns() + SETTLE_LIMIT_S * 1000000000ull;

    while (L->welcomed < L->o.clients || L->joins < pairs) {
        while (L->opened < L->o.clients &&
               L->opened - L->welcomed - L->failed < MAX_PENDING)
            if (connect_next(L) != 0)
                return -1;
        if (L->failed) {
            fprintf(stderr, "chatload: %u of %u clients could not log in\n",
                    L->failed, L->o.clients);
            return -1;
        }
        if (ls_clock_ns() > end) {
            fprintf(stderr,
                    "chatload: after %d s, %u of %u clients welcomed and "
                    "%llu of %llu join notices heard\n",
                    SETTLE_LIMIT_S, L->welcomed, L->o.clients,
                    (unsigned long long)L->joins, (unsigned long long)pairs);
            return -1;
        }
        wsx_loop_run_once(L->loop, 10);
    }
    return 0;
}

static void run_until(load_t *L, uint64_t t_ns, int drained)
{
    uint64_t per = L->o.clients - 1;
    while (ls_clock_ns() < t_ns && !L->failed) {
        if (drained && L->delivered >= L->sent * per)
            return;
        wsx_loop_run_once(L->loop, 5);
    }
}

static int report(load_t *L, double secs, double self, double server)
{
    uint64_t owed = L->sent * (L->o.clients - 1);
    uint64_t lost = owed > L->delivered ? owed - L->delivered : 0;
    double rate = (double)L->measured / secs;
    double p50 = ls_hist_quantile(&L->hist, 0.50) / 1e3;
    double p99 = ls_hist_quantile(&L->hist, 0.99) / 1e3;

    if (L->measured == 0 && !L->errors)
        L->errors++, fprintf(stderr, "chatload: nothing was delivered\n");
    if (lost)
        fprintf(stderr, "chatload: %llu of %llu deliveries lost\n",
                (unsigned long long)lost, (unsigned long long)owed);
    if (L->o.kv)
        printf("chatload clients=%u inflight=%u size=%u secs=%.3f sent=%llu "
               "delivered=%llu msg_s=%.0f p50_us=%.1f p99_us=%.1f lost=%llu "
               "errors=%llu server_cpu=%.0f self_cpu=%.0f\n",
               L->o.clients, L->o.inflight, L->o.size, secs,
               (unsigned long long)L->sent, (unsigned long long)L->delivered,
               rate, p50, p99, (unsigned long long)lost,
               (unsigned long long)L->errors, server, self);
    else
        printf("chatload: %u clients, %u deliveries in flight, %u B: "
               "%.0f delivered msg/s, latency p50 %.1f us, p99 %.1f us; "
               "%llu sent, %llu delivered, %llu lost, %llu errors; CPU: "
               "server %.0f%%, chatload %.0f%%\n",
               L->o.clients, L->o.inflight, L->o.size, rate, p50, p99,
               (unsigned long long)L->sent, (unsigned long long)L->delivered,
               (unsigned long long)lost, (unsigned long long)L->errors,
               server, self);
    return lost || L->errors ? 2 : 0;
}

static int run(load_t *L)
{
    if (settle(L) != 0)
        return 1;
    L->phase = LOADING;
    uint64_t t0 = ls_clock_ns();
    L->t_measure = t0 + (uint64_t)(L->o.warmup * 1e9);
    L->t_end = L->t_measure + (uint64_t)(L->o.time * 1e9);
    top_up(L);
    run_until(L, L->t_measure, 0);
    double cpu0 = ls_cpu_self(), s0 = L->o.pid ? ls_cpu_of(L->o.pid) : -1;
    run_until(L, L->t_end, 0);
    double secs = (double)(ls_clock_ns() - L->t_measure) / 1e9;
    double cpu1 = ls_cpu_self(), s1 = L->o.pid ? ls_cpu_of(L->o.pid) : -1;
    L->phase = DRAINING;
    run_until(L, ls_clock_ns() + DRAIN_LIMIT_S * 1000000000ull, 1);
    L->phase = DONE;
    return report(L, secs, 100 * (cpu1 - cpu0) / secs,
                  s0 >= 0 && s1 >= 0 ? 100 * (s1 - s0) / secs : -1);
}

/* ------------------------------------------------------------ options */

static void usage(FILE *to)
{
    fprintf(to,
            "usage: chatload --port P1,P2,... [--host 127.0.0.1] "
            "[--clients 100] [--inflight 2000]\n"
            "                [--size 64] [--time 3] [--warmup 0.5] "
            "[--pid SERVER] [--cpu K] [--kv]\n"
            "  N clients of a plain-text broadcast chat server (the first "
            "message is the name;\n"
            "  each message reaches every other client as \"name: "
            "text\"), taking turns to send\n"
            "  while fewer than D deliveries are owed; prints delivered "
            "msg/s and the p50/p99\n"
            "  latency, and checks that no delivery is lost, duplicated or "
            "out of order.\n"
            "  --port: one server, or several serving one chat (client i "
            "talks to the\n"
            "  (i mod n)-th); --pid: a server's process, for its CPU use; "
            "--cpu: run on\n"
            "  that CPU only;"
            "\n"
            "  --kv: one line of key=value pairs, for scripts.\n");
}

static int number(const char *what, const char *s, unsigned long long max,
                  unsigned long long min, unsigned long long *out)
{
    if (wsx_parse_uint(s, max, out) != 0 || *out < min) {
        fprintf(stderr, "chatload: %s needs a number %llu..%llu\n", what, min,
                max);
        return -1;
    }
    return 0;
}

/* --port P1,P2,...: one server or several serving one chat. */
static int ports(char *list, opts_t *o)
{
    char *save = NULL;
    unsigned long long v;

    o->nports = 0;
    for (char *p = strtok_r(list, ",", &save); p;
         p = strtok_r(NULL, ",", &save)) {
        if (o->nports == MAX_PORTS) {
            fprintf(stderr, "chatload: at most %d ports\n", MAX_PORTS);
            return -1;
        }
        if (number("--port", p, 65535, 1, &v) != 0)
            return -1;
        o->ports[o->nports++] = (int)v;
    }
    return o->nports ? 0 : -1;
}

static int parse(int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {
        {"host", 1, NULL, 'H'},   {"port", 1, NULL, 'p'},
        {"clients", 1, NULL, 'c'}, {"inflight", 1, NULL, 'w'},
        {"size", 1, NULL, 's'},   {"time", 1, NULL, 't'},
        {"warmup", 1, NULL, 'W'}, {"pid", 1, NULL, 'P'},
        {"cpu", 1, NULL, 'C'},    {"kv", 0, NULL, 'k'},
        {"help", 0, NULL, 'h'},   {NULL, 0, NULL, 0}};
    unsigned long long v;
    int opt, ms, bad = 0;

    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (opt) {
        case 'H': o->host = optarg; break;
        case 'p': bad |= ports(optarg, o); break;
        case 'c': bad |= number("--clients", optarg, 10000, 2, &v);
                  o->clients = (unsigned)v; break;
        case 'w': bad |= number("--inflight", optarg, 1000000, 1, &v);
                  o->inflight = (unsigned)v; break;
        case 's': bad |= number("--size", optarg, 4000, 24, &v);
                  o->size = (unsigned)v; break;
        case 'P': bad |= number("--pid", optarg, 1u << 30, 1, &v);
                  o->pid = (long)v; break;
        case 'C': bad |= number("--cpu", optarg, 1023, 0, &v);
                  o->cpu = (int)v; break;
        case 't':
        case 'W':
            if (wsx_parse_seconds(optarg, &ms) != 0 ||
                (opt == 't' && ms == 0)) {
                fprintf(stderr, "chatload: --%s needs seconds\n",
                        opt == 't' ? "time" : "warmup");
                return 1;
            }
            *(opt == 't' ? &o->time : &o->warmup) = ms / 1e3;
            break;
        case 'k': o->kv = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 1;
        }
    }
    if (bad || optind != argc || !o->nports) {
        if (!o->nports && !bad)
            fprintf(stderr, "chatload: --port is required\n");
        usage(stderr);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static load_t L = {.o = {.host = "127.0.0.1",
                             .clients = 100,
                             .inflight = 2000,
                             .size = 64,
                             .time = 3,
                             .warmup = 0.5,
                             .cpu = -1}};

    if (parse(argc, argv, &L.o) != 0)
        return 1;
    if (wsx_process_setup() != 0 || ls_raise_nofile(L.o.clients + 64) != 0) {
        fprintf(stderr, "chatload: %u clients need %u descriptors: raise "
                        "the limit (ulimit -n)\n",
                L.o.clients, L.o.clients + 64);
        return 1;
    }
    if (ls_pin_cpu(L.o.cpu) != 0) {
        perror("chatload: --cpu");
        return 1;
    }
    size_t n = L.o.clients;
    L.cl = calloc(n, sizeof *L.cl);
    L.expect = calloc(n * n, sizeof *L.expect);
    L.text = malloc(L.o.size + 1);
    L.loop = wsx_loop_new();
    if (!L.cl || !L.expect || !L.text || !L.loop) {
        fprintf(stderr, "chatload: out of memory\n");
        return 1;
    }
    int r = run(&L);
    fflush(stdout);
    _exit(r); /* the connections end with the process */
}
