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
    const char *data_dir;
    int verbose;
    store_fsync_t fsync_mode;
} server_t;

/* Per connection: the ID it associated with (or NO_ID), and the message
 * coming in: its first MAX_PACKET bytes and its whole length. */
typedef struct client {
    int id;
    ws_opcode_t op;
    uint64_t len;
    uint8_t packet[MAX_PACKET];
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
    fprintf(stderr, "messenger-server: %s %s\n",
            wsx_conn_peer(c, peer, sizeof peer), line);
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
        fprintf(stderr, "messenger-server: cannot store a message: %s\n",
                strerror(-r));
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
        fprintf(stderr, "messenger-server: cannot take a message: %s\n",
                strerror(-r));
        unknown_error(s, c, "storage failed");
        return;
    }
    if (r == 0) {
        logf_(s, c, "get by %d: buffer empty", me->id);
        reply(c, T_CONTROL, C_EMPTY, 0, me->id, NULL, 0);
        return;
    }
    logf_(s, c, "get by %d: message from %d, %u bytes", me->id, m.sender,
          m.len);
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

static int on_upgrade(wsx_conn_t *c, const ws_request_t *req, wsx_accept_t *acc)
{
    client_t *me = malloc(sizeof *me);
    (void)req, (void)acc;
    if (!me)
        return 503;
    me->id = NO_ID;
    wsx_conn_set_data(c, me);
    return 0;
}

/* Messages arrive in slices (streaming mode), so that one of any size
 * costs no more memory than a packet: the bytes past MAX_PACKET are only
 * counted, and such a message is malformed like any other (PROTOCOL.md,
 * "Errors"), answered with UNKNOWNERROR on a connection that stays open. */
static void on_data(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len,
                    unsigned flags)
{
    server_t *s = wsx_conn_ctx(c);
    client_t *me = wsx_conn_data(c);

    if (flags & WSX_FIRST) {
        me->op = op;
        me->len = 0;
    }
    if (me->len < MAX_PACKET) {
        size_t room = MAX_PACKET - (size_t)me->len;
        memcpy(me->packet + me->len, data, len < room ? len : room);
    }
    me->len += len;
    if (!(flags & WSX_FIN))
        return;
    if (me->op != WS_OP_BINARY)
        unknown_error(s, c, "text message");
    else if (me->len > MAX_PACKET)
        unknown_error(s, c, "packet longer than 259 bytes");
    else
        on_packet(s, c, me->packet, (size_t)me->len);
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
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

/* Answer with one file of the web directory, read whole. */
static void serve_web_file(wsx_conn_t *c, const server_t *s, const char *name,
                           const char *type)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", s->web_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        static const char msg[] = "the browser client is not installed\n";
        wsx_http_respond(c, 404, "text/plain", NULL, msg, sizeof msg - 1);
        return;
    }
    char *page = malloc(MAX_PAGE);
    size_t n = page ? fread(page, 1, MAX_PAGE, f) : 0;
    fclose(f);
    if (!page) {
        static const char oom[] = "out of memory\n";
        wsx_http_respond(c, 500, NULL, NULL, oom, sizeof oom - 1);
        return;
    }
    wsx_http_respond(c, 200, type, "Cache-Control: no-cache\r\n", page, n);
    free(page);
}

/* "/" is the browser client, and /favicon.ico (asked for by browsers that
 * ignore the page's <link rel="icon">) its icon; other paths fall through
 * to the web files. */
static int on_http(wsx_conn_t *c, const ws_request_t *req, const char *body,
                   size_t len)
{
    static const char ico[] = "/favicon.ico";
    server_t *s = wsx_conn_ctx(c);
    (void)body, (void)len;
    if (req->path.len == 1 && req->path.ptr[0] == '/')
        serve_web_file(c, s, "client.html", "text/html; charset=utf-8");
    else if (req->path.len == sizeof ico - 1 &&
             !memcmp(req->path.ptr, ico, sizeof ico - 1))
        serve_web_file(c, s, "favicon.svg", "image/svg+xml");
    else
        return 0;
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
        fprintf(stderr, "messenger-server: fsync failed: %s; exiting\n",
                strerror(-r));
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
    const server_t *s = ctx;
    fprintf(stderr, "messenger-server: warning: %s/%s: %s\n", s->data_dir,
            STORE_LOG_NAME, msg);
}

/* What the start found in the log, when there was one (a damaged log has
 * been reported by store_warning already). */
static void report_replay(const store_t *store, const char *data_dir)
{
    const log_replay_t *r = store_replay(store);
    if (r->version == 0 || r->nranges)
        return;
    fprintf(stderr,
            "messenger-server: %s/%s: recovered %llu record%s, lost 0%s\n",
            data_dir, STORE_LOG_NAME, (unsigned long long)r->records,
            r->records == 1 ? "" : "s",
            r->version == 1 ? "; rewritten from format 1 to format 2" : "");
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(
        f,
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
        "  --max-buffered N   memory all clients together may hold in message and\n"
        "                     output buffers (suffix K, M or G; default 256M); past\n"
        "                     it the largest holders are closed (1009 / 1008)\n"
        "  --stall-timeout S  a packet that has begun must bring 1 KiB in every S\n"
        "                     seconds or end, or the client is closed with 1008\n"
        "                     (default 10; 0 = never)\n"
        "  --no-deflate       refuse permessage-deflate (RFC 7692; by default it is\n"
        "                     accepted when a client, e.g. a browser, offers it)\n"
        "  --verbose          log every association, push and get to stderr\n"
        "  --help             this text\n"
        "\n"
        "On start it replays the log and says on stderr what it recovered (a\n"
        "damaged log is replayed around the damage and kept as\n"
        "DIR/messenger.log.damaged-<time>), then prints 'messenger-server\n"
        "listening on HOST:PORT'. SIGINT or SIGTERM closes every client with 1001\n"
        "and exits 0. A packet over 259 bytes, of any size, gets UNKNOWNERROR.\n");
}

/* A usage error: one line, then where to find more. Returns 1. */
static int try_help(const char *unexpected)
{
    if (unexpected)
        fprintf(stderr, "messenger-server: unexpected argument '%s'\n",
                unexpected);
    fputs("try 'messenger-server --help'\n", stderr);
    return 1;
}

static int parse_port(const char *arg)
{
    unsigned long long v;
    return wsx_parse_uint(arg, 65535, &v) == 0 ? (int)v : -1;
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
        {"max-buffered", required_argument, NULL, 'L'},
        {"stall-timeout", required_argument, NULL, 'L'},
        {"no-deflate", no_argument, NULL, 'D'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    static server_t s;
    static ws_pmd_config_t deflate;
    int use_deflate = 1;
    const char *host = "127.0.0.1", *data_dir = "./messenger-data";
    const char *cert = NULL, *key = NULL;
    int port = 12345, opt, li = 0;
    wsx_opts_t o = {.ping_interval = 30000};

    wsx_program_dir("web", s.web_dir, sizeof s.web_dir);
    while ((opt = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        switch (opt) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            if ((port = parse_port(optarg)) < 0) {
                fprintf(stderr,
                        "messenger-server: bad port '%s': a number "
                        "from 0 to 65535\n",
                        optarg);
                return try_help(NULL);
            }
            break;
        case 'd':
            data_dir = optarg;
            break;
        case 'f':
            if (!strcmp(optarg, "always"))
                s.fsync_mode = STORE_FSYNC_ALWAYS;
            else if (!strcmp(optarg, "batch"))
                s.fsync_mode = STORE_FSYNC_BATCH;
            else if (!strcmp(optarg, "never"))
                s.fsync_mode = STORE_FSYNC_NEVER;
            else {
                fprintf(stderr,
                        "messenger-server: --fsync is always, batch "
                        "or never, not '%s'\n",
                        optarg);
                return try_help(NULL);
            }
            break;
        case 'w':
            snprintf(s.web_dir, sizeof s.web_dir, "%s", optarg);
            break;
        case 'C':
            cert = optarg;
            break;
        case 'K':
            key = optarg;
            break;
        case 'L': /* the loop's limits, parsed by the loop */
            if (wsx_opts_set(&o, longopts[li].name, optarg) != 0) {
                fprintf(stderr, "messenger-server: bad value for --%s: '%s'\n",
                        longopts[li].name, optarg);
                return 1;
            }
            break;
        case 'D':
            use_deflate = 0;
            break;
        case 'v':
            s.verbose = 1;
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            return try_help(NULL); /* getopt said what */
        }
    }
    if (optind != argc)
        return try_help(argv[optind]);

    if (wsx_http_check_static("messenger-server", "--web", s.web_dir) != 0)
        return 1;
    if (wsx_opts_tls_server(&o, "messenger-server", cert, key) != 0)
        return 1;

    const char *why = NULL;
    s.data_dir = data_dir;
    int r =
        store_open(&s.store, data_dir, s.fsync_mode, store_warning, &s, &why);
    if (r < 0) {
        fprintf(stderr, "messenger-server: %s: %s (%s)\n", data_dir, why,
                strerror(-r));
        wsx_tls_free(o.tls);
        return 1;
    }
    report_replay(s.store, data_dir);

    wsx_handler_t h = {.on_upgrade = on_upgrade,
                       .on_data = on_data,
                       .on_close = on_close,
                       .on_http = on_http};
    /* No bound on a message's size: on_data keeps only a packet's worth. */
    ws_pmd_config_init(&deflate);
    o.static_dir = s.web_dir;
    o.verbose = s.verbose;
    o.deflate = use_deflate ? &deflate : NULL;
    r = wsx_serve("messenger-server", host, port, &o, &h, &s,
                  s.fsync_mode == STORE_FSYNC_BATCH ? batch_commit : NULL);
    store_close(s.store);
    wsx_tls_free(o.tls);
    return r;
}
