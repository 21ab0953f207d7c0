/*
 * conn_ext.c — the receive side of a message an extension transforms
 * (RFC 6455 §9): its payload goes through the extension's decode hook in
 * pieces as it arrives, and the hook's output is what the caller sees.
 *
 * The output, not the wire payload, is validated as UTF-8 and counted
 * against max_message: the hook is never offered more room than the limit
 * still allows. At the limit it gets a one-byte probe that is never
 * delivered: a byte there means the message is over the limit (1009), so
 * a decompression bomb stops having delivered at most max_message bytes.
 */
#include "conn_int.h"

#include <string.h>

/* Input handed to the hook in one call (keeps x_ready in 32 bits). */
#define X_INPUT (1u << 20)

/* Output room for one call: the streaming chunk, or the reassembly buffer
 * grown by up to a chunk. Sets *room; returns the place or NULL when the
 * allocator failed. */
static uint8_t *output_room(ws_conn_impl_t *c, uint64_t left, size_t *room)
{
    size_t want = left < WS_EXT_CHUNK ? (size_t)left : WS_EXT_CHUNK;
    size_t limit =
        c->max_message < SIZE_MAX ? (size_t)c->max_message : SIZE_MAX;
    if (!(c->flags & WS_OPT_REASSEMBLE)) {
        c->rbuf_len = 0; /* the last slice was delivered: reuse */
        want = WS_EXT_CHUNK;
        limit = WS_EXT_CHUNK;
    }
    if (want && ws_conn_reserve(c, want, limit) != 0)
        return NULL;
    *room = c->rbuf_cap - c->rbuf_len;
    if (*room > left)
        *room = (size_t)left;
    return c->rbuf + c->rbuf_len;
}

/* Unmask (server role) the n input bytes the hook is about to see, those
 * not unmasked by an earlier call that did not take them all. */
static void unmask_ahead(ws_conn_impl_t *c, size_t n)
{
    if (c->role != WS_ROLE_SERVER || n <= c->x_ready)
        return;
    uint64_t offset = c->frame_len - c->frame_left + c->x_ready;
    ws_mask(c->in + c->x_ready, c->in + c->x_ready, n - c->x_ready, c->mask_key,
            offset);
    c->x_ready = (uint32_t)n;
}

/* The output of a step, validated when the message is text. */
static int check_output(ws_conn_impl_t *c, const uint8_t *p, size_t n, int done)
{
    if (c->msg_op != WS_OP_TEXT)
        return 0;
    uint32_t s = ws_utf8_run(c->utf8_in, p, n);
    if (s == WS_UTF8_REJECT || (done && s != WS_UTF8_ACCEPT))
        return WS_EUTF8;
    c->utf8_in = (uint8_t)s;
    return 0;
}

static int slice(ws_conn_impl_t *c, ws_event_t *ev, size_t n, int done)
{
    ws_emit_bytes(c, ev, WS_EV_DATA, c->rbuf, n);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->rsv = c->msg_rsv;
    ev->frame_len = c->frame_len;
    ev->flags = done ? WS_DATA_FIN : 0;
    if (done) {
        c->phase = WS_PHASE_HEADER;
        c->pending = WS_PENDING_MESSAGE_END;
    }
    return WS_EV_DATA;
}

/* One call of the hook over what is here of the frame; *made: output. */
static int decode_step(ws_conn_impl_t *c, size_t n, int last, uint8_t *out,
                       size_t room, ws_event_t *ev, size_t *made, int *full)
{
    ws_ext_io_t io = {c->in, n, out, room, 0, c->msg_op, c->msg_rsv};
    io.flags =
        (c->x_bits & WS_XB_BEGUN ? 0 : WS_EXT_BEGIN) | (last ? WS_EXT_FIN : 0);
    c->x_bits |= WS_XB_BEGUN;
    int r = c->ext->decode(c->ext_state, &io);
    if (r < 0)
        return ws_conn_fail(c, r == WS_ENOMEM ? WS_ENOMEM : WS_EEXTENSION, ev);
    /* The contract: take all input or fill all room; done only at FIN. */
    if ((r == 0 && io.out_len && (io.in_len || last)) ||
        (r > 0 && (!last || io.in_len)) || io.in_len > n || io.out_len > room)
        return ws_conn_fail(c, WS_EEXTENSION, ev);
    size_t used = n - io.in_len;
    ws_consume(c, used);
    c->frame_left -= used;
    c->x_ready -= (uint32_t)(used < c->x_ready ? used : c->x_ready);
    *made = room - io.out_len;
    *full = io.out_len == 0;
    return r > 0 ? 1 : 0;
}

int ws_conn_read_decoded(ws_conn_impl_t *c, ws_event_t *ev)
{
    size_t n = c->in_len < c->frame_left ? c->in_len : (size_t)c->frame_left;
    if (n == 0 && c->frame_left)
        return 0;
    if (n > X_INPUT)
        n = X_INPUT;
    int last = (c->frame_bits & WS_FB_FIN) && n == c->frame_left;
    uint64_t left = c->max_message - c->msg_len;
    size_t room = 0, made = 0;
    int full = 0;
    uint8_t probe, *out = output_room(c, left, &room);
    if (!out)
        return ws_conn_fail(c, WS_ENOMEM, ev);
    if (room == 0) {
        out = &probe;
        room = 1;
    }
    unmask_ahead(c, n);

    int r = decode_step(c, n, last, out, room, ev, &made, &full);
    if (r == WS_EV_ERROR)
        return r;
    if (out == &probe && made)
        return ws_conn_fail(c, WS_ETOOBIG, ev);
    if (out == &probe)
        full = 0;
    if (check_output(c, out, made, r) != 0)
        return ws_conn_fail(c, WS_EUTF8, ev);
    c->msg_len += made;
    /* The frame's input is all taken and nothing more is waiting in the
     * hook (its room was not filled): on to the message's next frame. */
    if (!r && c->frame_left == 0 && !full)
        c->phase = WS_PHASE_HEADER;
    if (c->flags & WS_OPT_REASSEMBLE) {
        c->rbuf_len += made;
        if (r)
            return ws_conn_deliver(c, ev, c->rbuf, c->rbuf_len);
    } else if (r || made) {
        return slice(c, ev, made, r);
    }
    if (c->phase == WS_PHASE_DATA && c->in_len == 0 && c->frame_left)
        return 0;
    return WS_STEP_AGAIN;
}
