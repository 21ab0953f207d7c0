/*
 * ws-dashboard — the fragmentation dashboard: a page, an echo endpoint
 * that fragments what it sends back, and a live stream of every frame
 * that crossed the wire, on one port.
 *
 *   /          the page (web/), plain HTML/CSS/JS
 *   /ws        echo, in frames of ?fragment=N bytes; ?generate=SIZE&type=
 *              text|binary sends one generated message first
 *   /events    one JSON object per text message: frames, messages,
 *              coalesced frames and stats of every /ws connection
 */
#define _GNU_SOURCE
#include "dashboard.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: ws-dashboard [options]\n"
    "\n"
    "The fragmentation dashboard: open http://HOST:PORT/ in a browser to\n"
    "send messages of 1 KB to 16 MB, have them echoed in frames of the size\n"
    "you choose, and see every frame (FIN, RSV, opcode, mask, length form,\n"
    "header bytes) of every message that crosses the wire, live.\n"
    "\n"
    "Endpoints, all on one port:\n"
    "  /            the page\n"
    "  /ws          echo; ?fragment=N echoes in frames of N bytes (0 or\n"
    "               absent: one frame); ?generate=SIZE&type=text|binary\n"
    "               first sends one generated message of SIZE bytes;\n"
    "               ?tag=NAME names the connection in /events. A bad value\n"
    "               is refused with 400 and the reason\n"
    "  /events      the live stream of frames and messages of every /ws\n"
    "               connection (any client's, e.g. wscat --fragment), as\n"
    "               JSON text messages; see the README\n"
    "\n"
    "  --host HOST             address to listen on (default 127.0.0.1)\n"
    "  --port PORT             port (default 3001; 0 = any free port)\n"
    "  --web DIR               the page's files (default: the web/ directory\n"
    "                          next to the program)\n"
    "  --max-message BYTES     largest message echoed as one frame (no\n"
    "                          ?fragment), held whole to do so; a bigger one\n"
    "                          closes with 1009 (default 67108864).\n"
    "                          Fragmented echoes hold one frame, no limit\n"
    "  --ping-interval SEC     ping every /ws client this often and report\n"
    "                          the round-trip time (default 1; 0 = never)\n"
    "  --max-connections N     connections at once (default 1024)\n"
    "  --tls-cert FILE         serve https:// and wss:// (TLS 1.2 or later)\n"
    "                          instead, with this PEM certificate (chain);\n"
    "                          SIGHUP reads it and the key again\n"
    "  --tls-key FILE          the certificate's PEM private key\n"
    "  --verbose, -v           log connections to stderr (twice: more)\n"
    "  --help, -h              show this help\n"
    "\n"
    "At startup it prints \"ws-dashboard listening on HOST:PORT\" on stdout.\n"
    "SIGINT or SIGTERM closes every client with 1001 and exits with status\n"
    "0. Exit status 1: bad usage, cannot listen, or an unusable\n"
    "--tls-cert/--tls-key.\n";

uint64_t dash_now_us(const dash_app_t *app)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u -
           app->t0_us;
}

/* ------------------------------------------------------------- /ws */

/* Decided before anything is answered: a bad query gets 400 and why. */
static int accept_echo(dash_app_t *app, wsx_conn_t *c, const ws_request_t *req,
                       wsx_accept_t *acc)
{
    dash_params_t p;
    char peer[64];

    if (dash_params_parse(req->query.ptr, req->query.len, &p, app->why,
                          sizeof app->why) != 0) {
        acc->reason = app->why;
        fprintf(stderr, "ws-dashboard: refused %s: %s\n",
                wsx_conn_peer(c, peer, sizeof peer), app->why);
        return 400;
    }
    dash_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws)
        return 503;
    ws->kind = DASH_KIND_WS;
    ws->c = c;
    ws->app = app;
    ws->p = p;
    wsx_conn_set_data(c, ws); /* traced from the first frame on */
    return 0;
}

static void open_echo(dash_app_t *app, dash_ws_t *ws)
{
    ws->id = ++app->next_id;
    ws->next = app->conns;
    if (app->conns)
        app->conns->prev = ws;
    app->conns = ws;
    dash_monitor_open(ws);
    dash_echo_open(ws);
}

static void close_echo(dash_app_t *app, dash_ws_t *ws, unsigned code,
                       const char *reason, size_t len)
{
    if (ws->id) { /* it was opened */
        dash_monitor_close(ws, code, reason, len);
        if (ws->prev)
            ws->prev->next = ws->next;
        else
            app->conns = ws->next;
        if (ws->next)
            ws->next->prev = ws->prev;
    }
    dash_echo_free(ws);
    wsx_conn_set_data(ws->c, NULL);
    free(ws);
}

/* --------------------------------------------------------- handlers */

static int is_path(const ws_request_t *req, const char *path)
{
    return req->path.len == strlen(path) &&
           memcmp(req->path.ptr, path, req->path.len) == 0;
}

static int on_upgrade(wsx_conn_t *c, const ws_request_t *req, wsx_accept_t *acc)
{
    if (is_path(req, "/ws"))
        return accept_echo(wsx_conn_ctx(c), c, req, acc);
    if (is_path(req, "/events"))
        return 0;
    return 404;
}

/* Events are sent at the end of every handler (and of every loop round,
 * for frames the engine handled by itself, such as pongs). A connection
 * opened without data attached is a subscriber (/events). */
static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    dash_app_t *app = wsx_conn_ctx(c);
    dash_ws_t *ws = wsx_conn_data(c);

    (void)resp;
    if (ws)
        open_echo(app, ws);
    else
        dash_monitor_subscribe(app, c);
    dash_monitor_flush(app);
}

static void on_data(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len,
                    unsigned flags)
{
    dash_ws_t *ws = wsx_conn_data(c);

    if (!ws || ws->kind != DASH_KIND_WS)
        return; /* what a subscriber says is not echoed */
    dash_monitor_payload(ws, data, len, (flags & WSX_FIN) != 0);
    dash_echo_data(ws, op, data, len, (flags & WSX_FIN) != 0);
    dash_monitor_flush(ws->app);
}

static void on_drain(wsx_conn_t *c)
{
    dash_ws_t *ws = wsx_conn_data(c);

    if (ws && ws->kind == DASH_KIND_WS) {
        dash_echo_drain(ws);
        dash_monitor_flush(ws->app);
    }
}

static void on_pong(wsx_conn_t *c, const uint8_t *data, size_t len)
{
    dash_ws_t *ws = wsx_conn_data(c);

    if (ws && ws->kind == DASH_KIND_WS) {
        dash_monitor_pong(ws, data, len);
        dash_monitor_flush(ws->app);
    }
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    dash_app_t *app = wsx_conn_ctx(c);
    dash_ws_t *ws = wsx_conn_data(c);

    if (ws && ws->kind == DASH_KIND_WS)
        close_echo(app, ws, code, reason, len);
    else
        dash_monitor_unsubscribe(app, c);
    dash_monitor_flush(app);
}

/* ----------------------------------------------------------- timers */

static void on_second(wsx_timer_t *t, void *user)
{
    (void)t;
    dash_monitor_tick(user);
    dash_monitor_flush(user);
}

/* The payload is the time sent, so a pong needs no lookup. */
static void on_ping_time(wsx_timer_t *t, void *user)
{
    dash_app_t *app = user;
    (void)t;

    for (dash_ws_t *ws = app->conns; ws; ws = ws->next) {
        uint8_t b[8];
        uint64_t now = dash_now_us(app);
        for (int i = 0; i < 8; i++)
            b[i] = (uint8_t)(now >> (56 - 8 * i));
        if (wsx_conn_ping(ws->c, b, sizeof b) == 0)
            ws->ping_sent_us = now;
    }
    dash_monitor_flush(app);
}

static void before_flush(wsx_loop_t *loop, void *user)
{
    (void)loop;
    dash_monitor_flush(user);
}

static void setup(wsx_loop_t *loop, void *ctx)
{
    dash_app_t *app = ctx;

    app->loop = loop;
    wsx_loop_before_flush(loop, before_flush, app);
    if (!wsx_timer_start(loop, 1000, 1, on_second, app) ||
        (app->ping_ms &&
         !wsx_timer_start(loop, app->ping_ms, 1, on_ping_time, app))) {
        fputs("ws-dashboard: out of memory\n", stderr);
        exit(1);
    }
}

/* ------------------------------------------------------------- options */

static void bad(const char *opt, const char *arg)
{
    fprintf(stderr, "ws-dashboard: bad value for %s: '%s' (try --help)\n", opt,
            arg);
    exit(1);
}

typedef struct config {
    const char *host;
    int port;
    char web[PATH_MAX];
    const char *cert, *key;
    wsx_opts_t opts;
} config_t;

static void parse_options(int argc, char **argv, config_t *cf, dash_app_t *app)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"web", required_argument, NULL, 'w'},
        {"max-message", required_argument, NULL, 'm'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"max-connections", required_argument, NULL, 'c'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long long v;
    int opt;

    while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            cf->host = optarg;
            break;
        case 'p':
            if (wsx_parse_uint(optarg, 65535, &v) != 0)
                bad("--port", optarg);
            cf->port = (int)v;
            break;
        case 'w':
            snprintf(cf->web, sizeof cf->web, "%s", optarg);
            break;
        case 'm':
            if (wsx_parse_uint(optarg, SIZE_MAX / 2, &v) != 0 || v == 0)
                bad("--max-message", optarg);
            app->max_message = v;
            break;
        case 'i':
            if (wsx_parse_seconds(optarg, &app->ping_ms) != 0)
                bad("--ping-interval", optarg);
            break;
        case 'c':
            if (wsx_parse_uint(optarg, 1000000, &v) != 0 || v == 0)
                bad("--max-connections", optarg);
            cf->opts.max_connections = (unsigned)v;
            break;
        case 'C':
            cf->cert = optarg;
            break;
        case 'K':
            cf->key = optarg;
            break;
        case 'v':
            cf->opts.verbose++;
            break;
        case 'h':
            fputs(usage, stdout);
            exit(0);
        default:
            fputs("try 'ws-dashboard --help'\n", stderr);
            exit(1);
        }
    }
    if (optind < argc) {
        fprintf(stderr,
                "ws-dashboard: unexpected argument '%s' (try "
                "--help)\n",
                argv[optind]);
        exit(1);
    }
    if (access(cf->web, R_OK | X_OK) != 0) {
        fprintf(stderr,
                "ws-dashboard: cannot read the page's directory "
                "'%s' (give it with --web DIR)\n",
                cf->web);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static dash_app_t app = {.max_message = 64u * 1024u * 1024u,
                             .ping_ms = 1000};
    config_t cf = {.host = "127.0.0.1",
                   .port = 3001,
                   .opts = {.max_connections = 1024,
                            .ping_interval = 30000,
                            .high_water = DASH_HIGH_WATER}};
    wsx_handler_t h = {.on_upgrade = on_upgrade,
                       .on_open = on_open,
                       .on_data = on_data,
                       .on_pong = on_pong,
                       .on_drain = on_drain,
                       .on_close = on_close};

    wsx_program_dir("web", cf.web, sizeof cf.web);
    parse_options(argc, argv, &cf, &app);
    if (wsx_opts_tls_server(&cf.opts, "ws-dashboard", cf.cert, cf.key) != 0)
        return 1;
    cf.opts.static_dir = cf.web;
    dash_wire_install(&cf.opts);
    app.t0_us = dash_now_us(&app);

    int status =
        wsx_serve("ws-dashboard", cf.host, cf.port, &cf.opts, &h, &app, setup);
    dash_monitor_free(&app);
    wsx_tls_free(cf.opts.tls);
    return status;
}
