/*
 * conn_fast.c — the small-frame path, ahead of the state machine, and the
 * entry point ws_conn_next_event().
 *
 * The commonest input is a small whole message: between messages, a final
 * text or binary frame of at most 125 bytes, whole in the input. This path
 * is clever only about *how* it handles that case: it recognises it from
 * the first two bytes (b0 is 0x81 or 0x82; b1, with the role's mask bit
 * flipped, is a 7-bit length), then judges the header with the same
 * ws_conn_check_header() as the state machine (inlined, so the facts the
 * recognition established fold most of it away) and fails through the
 * same ws_conn_fail(). The unmask tests for ASCII in the same pass, so
 * only other text meets the validator; the event is filled field by
 * field; in both modes it is one WS_EV_MESSAGE, in place. Every call out
 * is a tail call, so the common case saves no registers. Anything else
 * goes to the state machine untouched: also a frame that ends too close
 * to the end of the input for ws_unmask_small()'s whole words. Measured
 * in bench/PERFORMANCE.md.
 */
#include "conn_int.h"
#include "simd_int.h"

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif

/* The frame at p[0..len) is unmasked and valid, and it is the whole
 * message: one WS_EV_MESSAGE in either mode, handed out in place. */
static inline int small_deliver(ws_conn_impl_t *c, ws_event_t *ev, unsigned op,
                                uint8_t *p, size_t len)
{
    c->in_len -= (size_t)(p + len - c->in);
    c->in = p + len;
    ev->type = WS_EV_MESSAGE;
    ev->opcode = (ws_opcode_t)op;
    ev->data = p;
    ev->len = len;
    ev->flags = 0;
    ev->frame_len = 0;
    ev->frames = 1;
    ev->code = 0;
    ev->rsv = 0;
    ev->error = 0;
    return WS_EV_MESSAGE;
}

/* Text that is not all ASCII: validated whole (the frame is the whole
 * message). Invalid text fails the connection through the one error path,
 * with the events the state machine gives: the error alone. */
static NOINLINE int small_text(ws_conn_impl_t *c, ws_event_t *ev, uint8_t *p,
                               size_t len)
{
    if (ws_utf8_run(WS_UTF8_ACCEPT, p, len) == WS_UTF8_ACCEPT)
        return small_deliver(c, ev, WS_OP_TEXT, p, len);
    return ws_conn_fail(c, WS_EUTF8, ev);
}

static inline int small_message(ws_conn_impl_t *c, ws_event_t *ev)
{
    uint8_t *in = c->in;
    size_t key_len = c->role == WS_ROLE_SERVER ? 4 : 0;
    unsigned b0 = in[0], len = in[1] ^ (key_len ? 0x80u : 0u);
    uint8_t *p = in + 2 + key_len;
    int ascii = 0;

    if (b0 - 0x81u > 1u || len > WS_MAX_CONTROL_PAYLOAD)
        return ws_conn_next_slow(c, ev);
    if (key_len) {
        if (c->in_len < 6 || c->in_len - 6 < ws_unmask_small_room(len))
            return ws_conn_next_slow(c, ev);
    } else if (2 + len > c->in_len) {
        return ws_conn_next_slow(c, ev);
    }
    /* What b0 and b1 were recognised as: FIN, no RSV, opcode 1 or 2 (said
     * so the compiler can see it), the role's masking, a 7-bit length. */
    ws_frame_header_t h = {.fin = 1,
                           .rsv = 0,
                           .opcode = (b0 & 1) ? WS_OP_TEXT : WS_OP_BINARY,
                           .masked = key_len != 0,
                           .payload_len = len};
    int err = ws_conn_check_header(c, &h);
    if (err)
        return ws_conn_fail(c, err, ev);
    if (key_len)
        ascii = ws_unmask_small(p, len, in + 2);
    if (b0 == (0x80u | WS_OP_TEXT) && !ascii)
        return small_text(c, ev, p, len);
    return small_deliver(c, ev, b0 & 0x0Fu, p, len);
}

WS_API int ws_conn_next_event(ws_conn_t *conn, ws_event_t *ev)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c || !ev)
        return 0; /* no connection, no event: never negative */
    if (c->flags & WS_CF_SMALL) {
        if (ws_rx_idle(c)) {
            if (c->in_len >= 2)
                return small_message(c, ev);
        } else if (c->pending == WS_PENDING_MESSAGE_END) {
            return ws_conn_message_end(c, ev);
        }
    }
    return ws_conn_next_slow(c, ev);
}
