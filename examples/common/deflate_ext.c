/*
 * deflate_ext.c — permessage-deflate (RFC 7692) for wsx connections: the
 * negotiation on both ends (the server decides before its 101 is queued,
 * the client checks the server's answer) and the per-connection state of
 * the library's extension, allocated only when negotiated and freed with
 * the connection. wsx_opts_t.deflate switches it on; server.c, client.c
 * and conn.c call in here, nothing else knows about it.
 */
#include "wsx_int.h"

#include <stdlib.h>
#include <string.h>

/* The agreed parameters, then the library's state (16-byte aligned, as
 * ws_pmd_init() requires). */
struct wsx_deflate {
    ws_pmd_params_t agreed;
    size_t size;  /* the library's state */
    size_t total; /* the whole allocation, in loop->deflate_bytes */
};

#define STATE_OFFSET ((sizeof(struct wsx_deflate) + 15u) & ~(size_t)15u)

static void *state_of(struct wsx_deflate *d)
{
    return (unsigned char *)d + STATE_OFFSET;
}

static size_t total_size(const ws_pmd_params_t *agreed)
{
    return (STATE_OFFSET + ws_pmd_state_size(agreed) + 15u) & ~(size_t)15u;
}

/* A state for the agreed parameters on c, or -1 (out of memory). */
static int attach(wsx_conn_t *c, const ws_pmd_params_t *agreed)
{
    size_t total = total_size(agreed);
    struct wsx_deflate *d = aligned_alloc(16, total);

    if (!d)
        return -1;
    d->agreed = *agreed;
    d->size = ws_pmd_state_size(agreed);
    d->total = total;
    if (ws_pmd_init(state_of(d), d->size, agreed, c->ep->o.deflate) != 0) {
        free(d);
        return -1;
    }
    c->deflate = d;
    c->ep->loop->deflate_bytes += total;
    return 0;
}

/* Compression state is a fixed cost per connection (about 129 KiB at 15
 * bits) that no peer behaviour frees, so it is not weighed against the
 * peers like buffers are (limits.c): instead all of it together is kept
 * to half the server's memory budget, and offers past that are declined
 * (the connection is served uncompressed). */
static int over_share(const wsx_conn_t *c, const ws_pmd_params_t *agreed)
{
    const wsx_loop_t *loop = c->ep->loop;
    size_t share = wsx_budget(loop) / 2;

    return loop->deflate_bytes > share ||
           total_size(agreed) > share - loop->deflate_bytes;
}

int wsx_deflate_accept(wsx_conn_t *c, const ws_request_t *req, char *ext,
                       size_t cap)
{
    ws_pmd_params_t agreed;
    int r;

    if (!c->ep->o.deflate)
        return 0;
    r = ws_pmd_negotiate_server(req, c->ep->o.deflate, &agreed, ext, cap);
    if (r < 0) {
        /* A malformed offer list is declined, not refused: the client
         * still gets its WebSocket, uncompressed. */
        wsx_log(c, 1, "permessage-deflate declined: %s", ws_strerror(r));
        return 0;
    }
    if (r == 0)
        return 0;
    if (over_share(c, &agreed)) {
        wsx_log(c, 1,
                "permessage-deflate declined: compression state "
                "would pass half the memory budget (--max-buffered)");
        return 0;
    }
    if (attach(c, &agreed) != 0) {
        wsx_log(c, 1, "permessage-deflate declined: out of memory");
        return 0;
    }
    return 1;
}

ptrdiff_t wsx_deflate_offer(const wsx_opts_t *o, char *out, size_t cap)
{
    return o->deflate ? ws_pmd_offer(o->deflate, out, cap) : 0;
}

int wsx_deflate_check(wsx_conn_t *c, const ws_response_t *resp)
{
    ws_pmd_params_t agreed;
    int r;

    if (!c->ep->o.deflate)
        return 0;
    r = ws_pmd_negotiate_client(resp, c->ep->o.deflate, &agreed);
    if (r <= 0)
        return r;
    return attach(c, &agreed) == 0 ? 0 : WS_ENOMEM;
}

void wsx_deflate_options(const wsx_conn_t *c, ws_options_t *wo)
{
    if (!c->deflate)
        return;
    wo->extension = ws_pmd_extension();
    wo->extension_state = state_of(c->deflate);
}

void wsx_deflate_free(wsx_conn_t *c)
{
    if (c->deflate)
        c->ep->loop->deflate_bytes -= c->deflate->total;
    free(c->deflate);
    c->deflate = NULL;
}

const ws_pmd_params_t *wsx_conn_deflate(const wsx_conn_t *c)
{
    return c->deflate ? &c->deflate->agreed : NULL;
}

size_t wsx_conn_deflate_bytes(const wsx_conn_t *c)
{
    return c->deflate ? c->deflate->size : 0;
}
