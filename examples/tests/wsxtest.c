/*
 * wsxtest — a server exercising the parts of examples/common that wsecho
 * does not use, for test_examples.py: on_upgrade refusing by path,
 * subprotocol choice, a shared-frame broadcast (wsx_server_broadcast),
 * per-connection data, on_http with a body, a timer, and a raw-mode TCP
 * echo on a second port.
 *
 * Prints "wsxtest listening on ADDR raw ADDR" and runs until SIGTERM.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static wsx_server_t *srv;
static unsigned long ticks;

static void on_tick(wsx_timer_t *t, void *user)
{
    (void)t;
    (void)user;
    ticks++;
}

/* Decided before the 101: "/refused" gets 403, and "/plain" is accepted
 * without the subprotocol the client offered. */
static int on_upgrade(wsx_conn_t *c, const ws_request_t *req, wsx_accept_t *acc)
{
    static unsigned long next_id;
    if (req->path.len == 8 && memcmp(req->path.ptr, "/refused", 8) == 0)
        return 403;
    if (req->path.len == 6 && memcmp(req->path.ptr, "/plain", 6) == 0)
        acc->protocol = NULL;
    unsigned long *id = malloc(sizeof *id);
    if (!id)
        return 500;
    *id = ++next_id;
    wsx_conn_set_data(c, id);
    return 0;
}

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    unsigned long *id = wsx_conn_data(c);
    char hello[64];
    int n = snprintf(hello, sizeof hello, "hello %lu %s", *id,
                     wsx_conn_protocol(c) ? wsx_conn_protocol(c) : "-");
    (void)resp;
    wsx_conn_send_text(c, hello, (size_t)n);
}

/* "all X": X to every open connection, with the sender's id;
 * "count": how many are open; anything else: echoed. */
static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    char out[256];
    int n;

    if (len > 4 && memcmp(data, "all ", 4) == 0) {
        n = snprintf(out, sizeof out, "from %lu: %.*s",
                     *(unsigned long *)wsx_conn_data(c), (int)(len - 4),
                     (char *)data + 4);
        wsx_server_broadcast(srv, WS_OP_TEXT, out, (size_t)n);
    } else if (len == 5 && memcmp(data, "count", 5) == 0) {
        n = snprintf(out, sizeof out, "count %zu", wsx_server_count(srv));
        wsx_conn_send_text(c, out, (size_t)n);
    } else {
        wsx_conn_send(c, op, data, len);
    }
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    (void)code;
    (void)reason;
    (void)len;
    free(wsx_conn_data(c));
}

static int on_http(wsx_conn_t *c, const ws_request_t *req, const char *body,
                   size_t len)
{
    char out[128];
    int n;

    if (req->path.len == 7 && memcmp(req->path.ptr, "/status", 7) == 0) {
        n = snprintf(out, sizeof out, "{\"open\":%zu,\"ticking\":%s}",
                     wsx_server_count(srv), ticks > 0 ? "true" : "false");
        wsx_http_respond(c, 200, "application/json", NULL, out, (size_t)n);
        return 1;
    }
    if (req->path.len == 5 && memcmp(req->path.ptr, "/echo", 5) == 0) {
        wsx_http_respond(c, 201, "application/octet-stream", "X-Echo: yes\r\n",
                         body, len);
        return 1;
    }
    return 0; /* static files, or 404 */
}

static void on_raw(wsx_conn_t *c, uint8_t *data, size_t len)
{
    wsx_conn_write(c, data, len);
}

int main(void)
{
    static const char *const protocols[] = {"superchat", "chat", NULL};
    wsx_opts_t opts = {.protocols = protocols};
    wsx_opts_t raw = {.raw = 1};
    wsx_handler_t h = {.on_upgrade = on_upgrade,
                       .on_open = on_open,
                       .on_message = on_message,
                       .on_close = on_close,
                       .on_http = on_http};
    wsx_handler_t hr = {.on_raw = on_raw};
    wsx_loop_t *loop = wsx_process_setup() == 0 ? wsx_loop_new() : NULL;
    char a[80], b[80];

    if (!loop)
        return 1;
    srv = wsx_server_new(loop, "127.0.0.1", 0, &opts, &h, NULL);
    wsx_server_t *rs = wsx_server_new(loop, "127.0.0.1", 0, &raw, &hr, NULL);
    if (!srv || !rs || !wsx_timer_start(loop, 50, 1, on_tick, NULL))
        return 1;
    printf("wsxtest listening on %s raw %s\n",
           wsx_server_address(srv, a, sizeof a),
           wsx_server_address(rs, b, sizeof b));
    fflush(stdout);
    /* SIGTERM: the default graceful shutdown ends the loop, timer or not. */
    int r = wsx_loop_run(loop);
    wsx_loop_free(loop);
    return r;
}
