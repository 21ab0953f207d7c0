/*
 * messenger-server — the binary-protocol messenger (PROTOCOL.md): clients
 * associate with an ID, push messages into each other's buffers and pull
 * their own. Buffers are durable (store.c): nothing acknowledged is lost
 * to a crash. The browser client is served from the same port.
 */
#define _GNU_SOURCE
#include "store.h"
#include "wsx.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER 5
#define MAX_PACKET (HEADER + STORE_MAX_PAYLOAD)
#define NO_ID (-1)
#define MAX_PAGE (256 * 1024) /* client.html is read whole into memory */

enum { T_MANAGEMENT = 0, T_CONTROL = 1, T_DATA = 2 };
enum { M_ASSOCIATE = 0, M_SUCCESS = 1, M_FAILED = 2, M_UNKNOWN = 3 };
enum { C_GET = 0, C_EMPTY = 1, C_ACK = 2, C_FULL = 3 };
enum { D_GETRESPONSE = 0, D_PUSH = 1 };

typedef struct server {
    store_t *store;
    wsx_conn_t *owner[STORE_RECEIVERS]; /* the connection holding each ID */
    char web_dir[PATH_MAX];
    int verbose;
    store_fsync_t fsync_mode;
} server_t;

/* Per connection: the ID it associated with, or NO_ID. */
typedef struct client {
    int id;
} client_t;

static void logf_(const server_t *s, wsx_conn_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void logf_(const server_t *s, wsx_conn_t *c, const char *fmt, ...)
{
    char peer[64], line[512];
    va_list ap;
    if (!s->verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "messenger-server: %s %s\n", wsx_conn_peer(c, peer, sizeof peer), line);
}

/* ---------------------------------------------------------------- replies */

static void reply(wsx_conn_t *c, int type, int code, int sender, int receiver,
                  const uint8_t *payload, size_t len)
{
    uint8_t p[MAX_PACKET] = {(uint8_t)type, (uint8_t)code, (uint8_t)sender,
                             (uint8_t)receiver, (uint8_t)len};
    if (len)
        memcpy(p + HEADER, payload, len);
    wsx_conn_send_binary(c, p, HEADER + len);
}

static void unknown_error(server_t *s, wsx_conn_t *c, const char *why)
{
    client_t *me = wsx_conn_data(c);
    logf_(s, c, "UNKNOWNERROR: %s", why);
    reply(c, T_MANAGEMENT, M_UNKNOWN, 0, me->id == NO_ID ? 0 : me->id, NULL, 0);
}

/* ---------------------------------------------------------------- packets */

static void associate(server_t *s, wsx_conn_t *c, client_t *me, int id)
{
    /* One association per connection; an ID held by a live connection is
     * taken. Both answer ASSOCIATIONFAILED with the ID asked for. */
    if (me->id != NO_ID || s->owner[id]) {
        logf_(s, c, "association as %d refused (%s)", id,
              me->id != NO_ID ? "already associated" : "ID in use");
        reply(c, T_MANAGEMENT, M_FAILED, 0, id, NULL, 0);
        return;
    }
    me->id = id;
    s->owner[id] = c;
    logf_(s, c, "associated as %d", id);
    reply(c, T_MANAGEMENT, M_SUCCESS, 0, id, NULL, 0);
}

static void push(server_t *s, wsx_conn_t *c, client_t *me, int to,
                 const uint8_t *payload, size_t len)
{
    int r = store_push(s->store, (uint8_t)me->id, (uint8_t)to, payload, len);
    if (r < 0) {
        fprintf(stderr, "messenger-server: cannot store a message: %s\n", strerror(-r));
        unknown_error(s, c, "storage failed");
        return;
    }
    logf_(s, c, "push %d -> %d, %zu bytes: %s", me->id, to, len,
          r == 0 ? "stored" : "buffer full");
    reply(c, T_CONTROL, r == 0 ? C_ACK : C_FULL, 0, me->id, NULL, 0);
}

static void get(server_t *s, wsx_conn_t *c, client_t *me)
{
    store_msg_t m;
    int r = store_take(s->store, (uint8_t)me->id, &m);
    if (r < 0) {
        fprintf(stderr, "messenger-server: cannot take a message: %s\n", strerror(-r));
        unknown_error(s, c, "storage failed");
        return;
    }
    if (r == 0) {
        logf_(s, c, "get by %d: buffer empty", me->id);
        reply(c, T_CONTROL, C_EMPTY, 0, me->id, NULL, 0);
        return;
    }
    logf_(s, c, "get by %d: message from %d, %u bytes", me->id, m.sender, m.len);
    reply(c, T_DATA, D_GETRESPONSE, m.sender, me->id, m.data, m.len);
}

/* One packet (PROTOCOL.md "Semantics"); anything out of line gets
 * UNKNOWNERROR and the connection carries on. */
static void on_packet(server_t *s, wsx_conn_t *c, const uint8_t *p, size_t n)
{
    client_t *me = wsx_conn_data(c);
    const char *bad = NULL;

    if (n < HEADER || p[4] != n - HEADER || p[4] > STORE_MAX_PAYLOAD) {
        unknown_error(s, c, "malformed packet");
        return;
    }
    int type = p[0], code = p[1], sender = p[2], receiver = p[3];
    size_t len = p[4];
    int is_get = type == T_CONTROL && code == C_GET && len == 0;
    int is_push = type == T_DATA && code == D_PUSH;

    if (type == T_MANAGEMENT && code == M_ASSOCIATE && len == 0)
        associate(s, c, me, sender);
    else if (!is_get && !is_push)
        bad = "unknown packet";
    else if (me->id == NO_ID)
        bad = "not associated";
    else if (sender != me->id)
        bad = "sender is not the client's ID";
    else if (is_get)
        get(s, c, me);
    else
        push(s, c, me, receiver, p + HEADER, len);
    if (bad)
        unknown_error(s, c, bad);
}

/* ---------------------------------------------------------------- events */

static int on_upgrade(wsx_conn_t *c, const ws_request_t *req,
                      wsx_accept_t *acc)
{
    client_t *me = malloc(sizeof *me);
    (void)req, (void)acc;
    if (!me)
        return 503;
    me->id = NO_ID;
    wsx_conn_set_data(c, me);
    return 0;
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    server_t *s = wsx_conn_ctx(c);
    if (op != WS_OP_BINARY)
        unknown_error(s, c, "text message");
    else
        on_packet(s, c, data, len);
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason, size_t len)
{
    server_t *s = wsx_conn_ctx(c);
    client_t *me = wsx_conn_data(c);
    (void)code, (void)reason, (void)len;
    if (me && me->id != NO_ID && s->owner[me->id] == c) {
        s->owner[me->id] = NULL; /* the ID is free again */
        logf_(s, c, "%d left", me->id);
    }
    free(me);
    wsx_conn_set_data(c, NULL);
}

/* "/" is the browser client; other paths fall through to the web files. */
static int on_http(wsx_conn_t *c, const ws_request_t *req, const char *body,
                   size_t len)
{
    server_t *s = wsx_conn_ctx(c);
    char path[PATH_MAX + 16];
    (void)body, (void)len;
    if (!(req->path.len == 1 && req->path.ptr[0] == '/'))
        return 0;
    snprintf(path, sizeof path, "%s/client.html", s->web_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        static const char msg[] = "the browser client is not installed\n";
        wsx_http_respond(c, 404, "text/plain", NULL, msg, sizeof msg - 1);
        return 1;
    }
    char *page = malloc(MAX_PAGE);
    size_t n = page ? fread(page, 1, MAX_PAGE, f) : 0;
    fclose(f);
    if (!page) {
        static const char oom[] = "out of memory\n";
        wsx_http_respond(c, 500, NULL, NULL, oom, sizeof oom - 1);
        return 1;
    }
    wsx_http_respond(c, 200, "text/html; charset=utf-8",
                     "Cache-Control: no-cache\r\n", page, n);
    free(page);
    return 1;
}

/* Group commit (--fsync batch): the round's records reach the disk before
 * any of the round's acknowledgements is written. */
static void before_flush(wsx_loop_t *loop, void *user)
{
    server_t *s = user;
    int r = store_sync(s->store);
    (void)loop;
    if (r < 0) {
        /* Acks for records that may not be durable must not go out. */
        fprintf(stderr, "messenger-server: fsync failed: %s; exiting\n", strerror(-r));
        _exit(1);
    }
}

/* wsx_serve's setup, for --fsync batch. */
static void batch_commit(wsx_loop_t *loop, void *ctx)
{
    wsx_loop_before_flush(loop, before_flush, ctx);
}

static void store_warning(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "messenger-server: warning: %s\n", msg);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
"usage: messenger-server [options]\n"
"\n"
"The binary-protocol messenger (examples/messenger/PROTOCOL.md). Clients\n"
"associate with an ID 0-255, push messages into each other's buffers (100\n"
"per receiver) and pull their own. The browser client is at http://HOST:PORT/.\n"
"\n"
"  --host HOST        address to listen on (default 127.0.0.1; :: for all IPv6)\n"
"  --port PORT        port (default 12345; 0 = any free port)\n"
"  --data-dir DIR     where the message log lives (default ./messenger-data)\n"
"  --fsync MODE       when the log reaches the disk before a reply:\n"
"                       always  after every record (default)\n"
"                       batch   once per event-loop round (group commit)\n"
"                       never   when the kernel decides (survives kill -9,\n"
"                               not power loss)\n"
"  --web DIR          browser client files (default: the web/ directory next\n"
"                     to this program)\n"
"  --tls-cert FILE    serve https:// and wss:// (TLS 1.2+) instead, with this\n"
"                     PEM certificate (chain); SIGHUP reads it again\n"
"  --tls-key FILE     the certificate's PEM private key\n"
"  --verbose          log every association, push and get to stderr\n"
"  --help             this text\n"
"\n"
"On start it prints 'messenger-server listening on HOST:PORT'. SIGINT or\n"
"SIGTERM closes every client with 1001 and exits 0.\n");
}

static int parse_port(const char *arg)
{
    unsigned long long v;
    return wsx_parse_uint(arg, 65535, &v) == 0 ? (int)v : -1;
}
static void default_web_dir(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "web");
        return;
    }
    exe[n] = '\0';
    snprintf(out, cap, "%s/web", dirname(exe));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"data-dir", required_argument, NULL, 'd'},
        {"fsync", required_argument, NULL, 'f'},
        {"web", required_argument, NULL, 'w'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    static server_t s;
    const char *host = "127.0.0.1", *data_dir = "./messenger-data";
    const char *cert = NULL, *key = NULL;
    int port = 12345, opt;

    default_web_dir(s.web_dir, sizeof s.web_dir);
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p':
            if ((port = parse_port(optarg)) < 0) {
                fprintf(stderr, "messenger-server: bad port '%s'\n", optarg);
                return 1;
            }
            break;
        case 'd': data_dir = optarg; break;
        case 'f':
            if (!strcmp(optarg, "always")) s.fsync_mode = STORE_FSYNC_ALWAYS;
            else if (!strcmp(optarg, "batch")) s.fsync_mode = STORE_FSYNC_BATCH;
            else if (!strcmp(optarg, "never")) s.fsync_mode = STORE_FSYNC_NEVER;
            else {
                fprintf(stderr, "messenger-server: --fsync is always, batch or never\n");
                return 1;
            }
            break;
        case 'w': snprintf(s.web_dir, sizeof s.web_dir, "%s", optarg); break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'v': s.verbose = 1; break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 1;
    }

    wsx_opts_t o = {.max_message = 64 * 1024, .static_dir = s.web_dir,
                    .ping_interval = 30000, .verbose = s.verbose};
    if (wsx_opts_tls_server(&o, "messenger-server", cert, key) != 0)
        return 1;

    const char *why = NULL;
    int r = store_open(&s.store, data_dir, s.fsync_mode, store_warning, NULL, &why);
    if (r < 0) {
        fprintf(stderr, "messenger-server: %s: %s (%s)\n", data_dir, why, strerror(-r));
        wsx_tls_free(o.tls);
        return 1;
    }

    wsx_handler_t h = {.on_upgrade = on_upgrade, .on_message = on_message,
                       .on_close = on_close, .on_http = on_http};
    /* Packets are at most 259 bytes; anything bigger is answered with
     * UNKNOWNERROR like any malformed packet, up to a sane bound. */
    r = wsx_serve("messenger-server", host, port, &o, &h, &s,
                  s.fsync_mode == STORE_FSYNC_BATCH ? batch_commit : NULL);
    store_close(s.store);
    wsx_tls_free(o.tls);
    return r;
}
