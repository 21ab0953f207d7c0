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

void dash_echo_data(dash_ws_t *ws, ws_opcode_t op, const uint8_t *data,
                    size_t len, int fin)
{
    if (ws->p.fragment)
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

void dash_echo_open(dash_ws_t *ws)
{
    uint64_t size = ws->p.generate, off = 0;
    size_t frame = ws->p.fragment && ws->p.fragment < size
                       ? (size_t)ws->p.fragment
                       : (size_t)size;

    if (!ws->p.has_generate)
        return;
    /* Queued at once: the engine keeps the message whole on the wire,
     * and wsx reads nothing more from this peer until the queue drains,
     * so an echo can only follow it. */
    uint8_t *buf = malloc(frame ? frame : 1);
    if (!buf) {
        wsx_conn_close(ws->c, WS_CLOSE_INTERNAL_ERROR, "out of memory", 13);
        return;
    }
    do {
        size_t n = size - off < frame ? (size_t)(size - off) : frame;
        fill(buf, off, n, ws->p.gen_op);
        off += n;
        if (dash_wire_send(ws, ws->p.gen_op, off == size, buf, n) != 0)
            break;
    } while (off < size);
    free(buf);
}

void dash_echo_free(dash_ws_t *ws)
{
    free(ws->fbuf);
    ws->fbuf = NULL;
    ws->flen = ws->fcap = 0;
}
