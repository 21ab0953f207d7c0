/*
 * echo.c — /ws: every message comes back fragmented by us, in frames of
 * exactly p.fragment bytes (the last one shorter), so a message of S bytes
 * is ceil(S / N) frames and the page sees real fragmentation even though
 * a browser never fragments what it sends. Streaming: at most one frame's
 * worth is held, whatever the message size. fragment=0 means one frame,
 * and a frame's header carries its length (RFC 6455 §5.2), so that one
 * message is held whole, up to --max-message.
 */
#include "dashboard.h"

#include <stdlib.h>
#include <string.h>

static int grow(dash_ws_t *ws, size_t need)
{
    if (need <= ws->fcap)
        return 0;
    size_t cap = ws->fcap ? ws->fcap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(ws->fbuf, cap);
    if (!p)
        return -1;
    ws->fbuf = p;
    ws->fcap = cap;
    return 0;
}

/* A frame is sent only once it is known not to be the last, or at FIN:
 * so no empty final frame is ever needed. */
static void echo_fragmented(dash_ws_t *ws, ws_opcode_t op, const uint8_t *d,
                            size_t len, int fin)
{
    size_t n = (size_t)ws->p.fragment;

    while (len) {
        if (ws->flen == n) {
            dash_wire_send(ws, op, 0, ws->fbuf, n);
            ws->flen = 0;
        }
        if (ws->flen == 0 && len > n) { /* whole frames straight through */
            dash_wire_send(ws, op, 0, d, n);
            d += n;
            len -= n;
            continue;
        }
        size_t take = n - ws->flen < len ? n - ws->flen : len;
        if (grow(ws, n) != 0) {
            wsx_conn_close(ws->c, WS_CLOSE_INTERNAL_ERROR, "out of memory", 13);
            return;
        }
        memcpy(ws->fbuf + ws->flen, d, take);
        ws->flen += take;
        d += take;
        len -= take;
    }
    if (fin) {
        dash_wire_send(ws, op, 1, ws->fbuf, ws->flen);
        ws->flen = 0;
    }
}

static void echo_whole(dash_ws_t *ws, ws_opcode_t op, const uint8_t *d,
                       size_t len, int fin)
{
    static const char too_big[] = "message too big for a one-frame echo: "
                                  "ask for ?fragment=N";

    if (ws->flen + len > ws->app->max_message) {
        wsx_conn_close(ws->c, WS_CLOSE_TOO_BIG, too_big, sizeof too_big - 1);
        return;
    }
    if (grow(ws, ws->flen + len) != 0) {
        wsx_conn_close(ws->c, WS_CLOSE_INTERNAL_ERROR, "out of memory", 13);
        return;
    }
    if (len)
        memcpy(ws->fbuf + ws->flen, d, len);
    ws->flen += len;
    if (fin) {
        dash_wire_send(ws, op, 1, ws->fbuf, ws->flen);
        ws->flen = 0;
        if (ws->fcap > 1024u * 1024u) { /* do not sit on a big buffer */
            free(ws->fbuf);
            ws->fbuf = NULL;
            ws->fcap = 0;
        }
    }
}

/* Kept as [op][fin][len][bytes] until the generated message is out. */
static void hold(dash_ws_t *ws, ws_opcode_t op, const uint8_t *d, size_t len,
                 int fin)
{
    static const char busy[] = "a message arrived during the generated "
                               "one: more than 1 MiB of them";
    size_t need = ws->held_len + 6 + len;
    uint8_t *p;

    if (need > DASH_HELD_MAX || !(p = realloc(ws->held, need))) {
        wsx_conn_close(ws->c, WS_CLOSE_POLICY, busy, sizeof busy - 1);
        return;
    }
    ws->held = p;
    p += ws->held_len;
    p[0] = (uint8_t)op;
    p[1] = (uint8_t)(fin != 0);
    memcpy(p + 2, &(uint32_t){(uint32_t)len}, 4);
    if (len)
        memcpy(p + 6, d, len);
    ws->held_len = need;
}

void dash_echo_data(dash_ws_t *ws, ws_opcode_t op, const uint8_t *data,
                    size_t len, int fin)
{
    if (ws->generating)
        hold(ws, op, data, len, fin);
    else if (ws->p.fragment)
        echo_fragmented(ws, op, data, len, fin);
    else
        echo_whole(ws, op, data, len, fin);
}

/* The generated message: text is printable ASCII (valid UTF-8 wherever
 * it is cut), binary runs through every byte value; both depend only on
 * the offset, so a client can rebuild and compare them. */
static void fill(uint8_t *p, uint64_t off, size_t n, ws_opcode_t op)
{
    static const char text[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;\n";
    size_t tl = sizeof text - 1;

    for (size_t i = 0; i < n; i++, off++)
        p[i] = op == WS_OP_TEXT ? (uint8_t)text[off % tl]
                                : (uint8_t)(off * 131u + (off >> 8));
}

static void replay_held(dash_ws_t *ws)
{
    uint8_t *held = ws->held;
    size_t len = ws->held_len;

    ws->held = NULL;
    ws->held_len = 0;
    for (size_t at = 0; at + 6 <= len;) {
        uint32_t n;
        memcpy(&n, held + at + 2, 4);
        dash_echo_data(ws, (ws_opcode_t)held[at], held + at + 6, n,
                       held[at + 1]);
        at += 6 + n;
    }
    free(held);
}

/* Frames until the queue is over the high-water mark: wsx then calls
 * on_drain once it has gone down, and the next ones follow. So the
 * message takes a bounded amount of memory whatever its size, and the
 * loop serves everyone else in between. */
static void pump(dash_ws_t *ws)
{
    uint64_t size = ws->p.generate;

    while (ws->generating && wsx_conn_queued(ws->c) <= DASH_HIGH_WATER) {
        size_t n = size - ws->gen_off < ws->gframe
                       ? (size_t)(size - ws->gen_off)
                       : ws->gframe;
        fill(ws->gbuf, ws->gen_off, n, ws->p.gen_op);
        ws->gen_off += n;
        int fin = ws->gen_off == size;
        if (dash_wire_send(ws, ws->p.gen_op, fin, ws->gbuf, n) != 0 || fin) {
            ws->generating = 0;
            free(ws->gbuf);
            ws->gbuf = NULL;
        }
    }
    if (!ws->generating && ws->held)
        replay_held(ws);
}

void dash_echo_open(dash_ws_t *ws)
{
    uint64_t size = ws->p.generate;

    if (!ws->p.has_generate)
        return;
    ws->gframe = ws->p.fragment && ws->p.fragment < size
                     ? (size_t)ws->p.fragment
                     : (size_t)size;
    ws->gbuf = malloc(ws->gframe ? ws->gframe : 1);
    if (!ws->gbuf) {
        wsx_conn_close(ws->c, WS_CLOSE_INTERNAL_ERROR, "out of memory", 13);
        return;
    }
    ws->generating = 1;
    ws->gen_off = 0;
    pump(ws);
}

void dash_echo_drain(dash_ws_t *ws)
{
    pump(ws);
}

void dash_echo_free(dash_ws_t *ws)
{
    free(ws->fbuf);
    free(ws->gbuf);
    free(ws->held);
    ws->fbuf = ws->gbuf = ws->held = NULL;
    ws->flen = ws->fcap = ws->held_len = 0;
    ws->generating = 0;
}
