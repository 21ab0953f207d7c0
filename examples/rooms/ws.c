/*
 * ws.c — the GUI's side (PROTOCOL.md, "WebSocket /ws"): the page's files
 * on the HTTP port, and on /ws binary messages of one kind byte and the
 * bytes of a TCRP message (1) or a room datagram (2). A socket is a
 * member's address like a UDP one, for every token issued on it.
 */
#define _GNU_SOURCE
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define KIND_TCRP 1
#define KIND_DGRAM 2
/* A page this far behind loses room datagrams, as a UDP member whose
 * socket buffer is full does, instead of making the server hold all it
 * does not read (up to --max-buffered, for one member). */
#define MAX_BEHIND (1024u * 1024u)

static int on_upgrade(wsx_conn_t *c, const ws_request_t *req,
                      wsx_accept_t *acc)
{
    (void)c, (void)acc;
    if (req->path.len != 3 || memcmp(req->path.ptr, "/ws", 3))
        return 404;
    return 0;
}

/* Each answer its own message: kind 1 and one TCRP message. Each is
 * measured from its header, not with tcrp_parse: the answer to a header
 * that is not understood has operation 0 (PROTOCOL.md), which
 * tcrp_parse refuses. */
static void send_answers(wsx_conn_t *c, const ops_out_t *out)
{
    size_t at = 0;

    while (out->len - at >= TCRP_HEADER_LEN) {
        const uint8_t *h = out->buf + at;
        size_t left = out->len - at - TCRP_HEADER_LEN;
        uint64_t size = tcrp_payload_size(h, left);
        if (h[0] > left || size > left - h[0])
            return;
        size_t n = TCRP_HEADER_LEN + h[0] + (size_t)size;
        uint8_t *msg = malloc(n + 1);
        if (!msg)
            return;
        msg[0] = KIND_TCRP;
        memcpy(msg + 1, h, n);
        wsx_conn_send_binary(c, msg, n + 1);
        free(msg);
        at += n;
    }
}

static void on_tcrp(server_t *s, wsx_conn_t *c, const uint8_t *p, size_t len)
{
    rooms_addr_t me = {.kind = ROOMS_ADDR_WS, .ws = c};
    ops_out_t out = {0};
    tcrp_msg_t m;
    long n = tcrp_parse(p, len, s->max_payload, &m);

    if (n == TCRP_AGAIN || (n > 0 && (size_t)n != len)) {
        ops_error(&out, len > 1 && p[1] >= 1 && p[1] <= 6 ? p[1] : 0, NULL, 0,
                  400,
                  n == TCRP_AGAIN ? "the message is shorter than its sizes"
                                  : "the message is longer than its sizes");
    } else if (n < 0) {
        ops_error(&out, len > 1 && p[1] >= 1 && p[1] <= 6 ? p[1] : 0, NULL, 0,
                  400, tcrp_strerror((int)n));
    } else {
        ops_handle(&s->rooms, &m, &me, wsx_loop_now(s->loop), &out);
    }
    send_answers(c, &out);
    ops_out_free(&out);
}

static void on_dgram(server_t *s, wsx_conn_t *c, const uint8_t *p, size_t len)
{
    rooms_addr_t me = {.kind = ROOMS_ADDR_WS, .ws = c};
    room_dgram_t d;
    int r = room_dgram_parse(p, len, &d);
    const char *why = r != 0 ? dgram_strerror(r) : NULL;

    if (!why)
        why = rooms_datagram(&s->rooms, (const char *)d.room, d.room_len,
                             (const char *)d.token, d.token_len,
                             (const char *)d.text, d.text_len, &me,
                             wsx_loop_now(s->loop));
    if (why) {
        char peer[64];
        server_drop_text(s, "ws", wsx_conn_peer(c, peer, sizeof peer), why);
    }
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                       size_t len)
{
    server_t *s = wsx_conn_ctx(c);

    /* Any message is a heartbeat for every member on this socket. */
    rooms_touch_ws(&s->rooms, c, wsx_loop_now(s->loop));
    if (op != WS_OP_BINARY || len == 0) {
        static const char why[] = "binary messages of kind 1 or 2 only";
        wsx_conn_close(c, 1003, why, sizeof why - 1);
        return;
    }
    if (data[0] == KIND_TCRP)
        on_tcrp(s, c, data + 1, len - 1);
    else if (data[0] == KIND_DGRAM)
        on_dgram(s, c, data + 1, len - 1);
    else {
        static const char why[] = "unknown kind: 1 is TCRP, 2 a datagram";
        wsx_conn_close(c, 1003, why, sizeof why - 1);
    }
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    server_t *s = wsx_conn_ctx(c);
    (void)code, (void)reason, (void)len;
    rooms_drop_ws(&s->rooms, c); /* its members leave */
}

void ws_send(server_t *s, void *ws, const void *json, size_t len)
{
    uint8_t *msg = s->ws_msg;

    if (len > ROOM_JSON_MAX || !wsx_conn_is_open(ws))
        return;
    if (wsx_conn_queued(ws) >= MAX_BEHIND) {
        s->ws_behind++;
        server_info(s, "ws: a datagram not sent to a page %zu bytes behind"
                       " (%llu so far)", wsx_conn_queued(ws), s->ws_behind);
        return;
    }
    msg[0] = KIND_DGRAM;
    memcpy(msg + 1, json, len);
    wsx_conn_send_binary(ws, msg, len + 1);
}

int ws_start(server_t *s)
{
    wsx_handler_t h = {.on_upgrade = on_upgrade,
                       .on_message = on_message,
                       .on_close = on_close};
    wsx_opts_t *o = &s->http_opts;

    o->static_dir = s->web_dir;
    o->max_message = 1 + TCRP_HEADER_LEN + TCRP_MAX_NAME + s->max_payload;
    o->ping_interval = 30000;
    s->http = wsx_server_new(s->loop, s->host, s->http_port, o, &h, s);
    if (!s->http)
        return -1;
    s->http_port = wsx_server_port(s->http);
    return 0;
}
