/*
 * conn.c — the receive side of a connection: bytes in, events out.
 *
 * The parser is a small state machine (phase) driven by
 * ws_conn_next_event(). It never copies a data payload it can hand out in
 * place: payload is unmasked inside the caller's buffer and delivered as a
 * slice. Only partial frame headers and control frames (at most 14 and 125
 * bytes) are gathered in the connection's own ctrl[] buffer, and whole
 * messages in reassembly mode when they span frames or input chunks.
 *
 * Step functions return an event type (> 0), 0 when they need more input,
 * or WS_STEP_AGAIN when they advanced the state and parsing should go on.
 *
 * Ahead of the state machine sits a path for the commonest input, a small
 * whole message (conn_fast.c); messages an extension decodes take
 * conn_ext.c.
 */
#include "conn_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define WS_OPT_ALL                                                             \
    (WS_OPT_REASSEMBLE | WS_OPT_NO_AUTO_PONG | WS_OPT_NO_AUTO_CLOSE |          \
     WS_OPT_LENIENT_LENGTH)

_Static_assert(sizeof(ws_conn_impl_t) <= WS_CONN_SIZE,
               "the connection state fits the published WS_CONN_SIZE");
_Static_assert(_Alignof(ws_conn_impl_t) <= _Alignof(ws_conn_t),
               "ws_conn_t is aligned for the state it holds");
_Static_assert(offsetof(ws_conn_impl_t, pending) == WS_RX_WORD + 1 &&
                   offsetof(ws_conn_impl_t, hdr_len) == WS_RX_WORD + 2 &&
                   offsetof(ws_conn_impl_t, msg_op) == WS_RX_WORD + 3,
               "phase, pending, hdr_len and msg_op form one 32-bit word");

/* ----------------------------------------------------------- allocator */

static void *libc_malloc(size_t size, void *user)
{
    (void)user;
    return malloc(size);
}

static void *libc_realloc(void *ptr, size_t size, void *user)
{
    (void)user;
    return realloc(ptr, size);
}

static void libc_free(void *ptr, void *user)
{
    (void)user;
    free(ptr);
}

static const ws_allocator_t libc_allocator = {libc_malloc, libc_realloc,
                                              libc_free, NULL};

static void release_rbuf(ws_conn_impl_t *c)
{
    if (c->rbuf)
        c->allocator->free(c->rbuf, c->allocator->user);
    c->rbuf = NULL;
    c->rbuf_len = 0;
    c->rbuf_cap = 0;
}

/* Make room for n more bytes, never past `limit` bytes in all. Capacity
 * doubles, so it never exceeds twice what the peer actually sent (a peer
 * announcing a huge frame gets memory only as fast as it sends bytes). */
int ws_conn_reserve(ws_conn_impl_t *c, size_t n, size_t limit)
{
    if (n > SIZE_MAX - c->rbuf_len)
        return WS_ENOMEM; /* 32-bit size_t: the message cannot fit */
    size_t need = c->rbuf_len + n;
    if (need <= c->rbuf_cap)
        return 0;
    size_t cap = c->rbuf_cap > SIZE_MAX / 2 ? SIZE_MAX : c->rbuf_cap * 2;
    if (cap < 256)
        cap = 256;
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;

    const ws_allocator_t *a = c->allocator;
    uint8_t *p =
        c->rbuf ? a->realloc(c->rbuf, cap, a->user) : a->malloc(cap, a->user);
    if (!p)
        return WS_ENOMEM;
    c->rbuf = p;
    c->rbuf_cap = cap;
    return 0;
}

/* Room for n more bytes of the current frame, within `limit` bytes in
 * all and never more than the message's known final size once its last
 * frame is being read. */
static int reserve(ws_conn_impl_t *c, size_t n, size_t limit)
{
    if (c->frame_left > SIZE_MAX - c->rbuf_len)
        return WS_ENOMEM;
    if (c->frame_bits & WS_FB_FIN) {
        if (limit > c->rbuf_len + (size_t)c->frame_left)
            limit = c->rbuf_len + (size_t)c->frame_left;
    } else if (c->max_message < limit) {
        limit = (size_t)c->max_message;
    }
    return ws_conn_reserve(c, n, limit);
}

/* -------------------------------------------------------------- options */

WS_API void ws_options_init(ws_options_t *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->size = (uint32_t)sizeof *o;
}

/* The caller's options as this version's struct: the first o->size bytes
 * (all of it when 0), zeros for the rest, which are the defaults. */
static int load_options(const ws_options_t *opts, ws_options_t *o)
{
    size_t size = opts && opts->size ? opts->size : sizeof *o;
    memset(o, 0, sizeof *o);
    if (!opts)
        return 0;
    if (size > sizeof *o || size < sizeof o->size)
        return WS_EINVAL;
    memcpy(o, opts, size);
    for (size_t i = 0; i < sizeof o->reserved / sizeof o->reserved[0]; i++)
        if (o->reserved[i])
            return WS_EINVAL;
    return 0;
}

static int check_options(const ws_options_t *o)
{
    const ws_allocator_t *a = o->allocator;
    const ws_extension_t *x = o->extension;
    if (o->flags & ~WS_OPT_ALL)
        return WS_EINVAL;
    if (a && (!a->malloc || !a->realloc || !a->free))
        return WS_EINVAL;
    if (x && (!x->decode || (x->rsv & ~7u) || !x->rsv ||
              (x->encode && !x->encode_bound)))
        return WS_EINVAL;
    return 0;
}

/* -------------------------------------------------------- setup, input */

static void set_limits(ws_conn_impl_t *c, const ws_options_t *o)
{
    c->max_frame = o->max_frame ? o->max_frame : UINT64_MAX;
    if (o->max_message)
        c->max_message = o->max_message;
    else if (o->flags & WS_OPT_REASSEMBLE)
        c->max_message = WS_DEFAULT_MAX_MESSAGE;
    else
        c->max_message = UINT64_MAX;
    c->rbuf_keep = o->rbuf_keep ? o->rbuf_keep : WS_REASSEMBLY_KEEP;
}

WS_API int ws_conn_init(ws_conn_t *conn, ws_role_t role,
                        const ws_options_t *opts)
{
    ws_options_t o;
    ws_conn_impl_t *c = ws_impl(conn);
    int err = load_options(opts, &o);

    if (err || (err = check_options(&o)) != 0)
        return err;
    if (!c || (role != WS_ROLE_SERVER && role != WS_ROLE_CLIENT))
        return WS_EINVAL;

    memset(conn, 0, sizeof *conn);
    c->role = (uint8_t)role;
    c->flags = o.flags;
    set_limits(c, &o);
    c->random = o.random ? o.random : ws_random_default;
    c->random_user = o.random_user;
    c->allocator = o.allocator ? o.allocator : &libc_allocator;
    c->trace = o.trace;
    c->trace_user = o.trace_user;
    c->ext = o.extension;
    c->ext_state = o.extension_state;
    c->ext_rsv = c->ext ? c->ext->rsv : 0;
    if (c->ext && c->ext->reset)
        c->ext->reset(c->ext_state);
    /* The tracer sees every header, which the small-frame path skips. */
    if (!c->trace)
        c->flags |= WS_CF_SMALL;
    return 0;
}

WS_API void ws_conn_destroy(ws_conn_t *conn)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c || !c->allocator)
        return;
    release_rbuf(c);
    if (c->ext && c->ext->destroy)
        c->ext->destroy(c->ext_state);
    c->ext = NULL;
}

WS_API int ws_conn_feed(ws_conn_t *conn, void *data, size_t len)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c || (!data && len))
        return WS_EINVAL;
    if (c->in_len)
        return WS_ESTATE;
    c->in = data;
    c->in_len = len;
    return 0;
}

/* ------------------------------------------------------------- events */

int ws_conn_fail(ws_conn_impl_t *c, int err, ws_event_t *ev)
{
    uint16_t code = ws_error_close_code(err);
    const char *reason = ws_strerror(err);
    size_t rlen = strlen(reason);
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;

    /* The extension names the code its own failures map to. */
    if (err == WS_EEXTENSION && c->ext &&
        ws_close_code_is_valid(c->ext->fail_code))
        code = c->ext->fail_code;
    c->close_bits |= WS_CB_FAILED;
    c->close_code = code;
    c->phase = WS_PHASE_DONE;
    c->in_len = 0;
    c->x_bits = 0;
    c->direct = 0;
    release_rbuf(c);

    /* The close frame's payload is prepared now, in ctrl[], while the
     * error is known; the frame is built when the event is taken. */
    if (rlen > WS_MAX_CLOSE_REASON)
        rlen = WS_MAX_CLOSE_REASON;
    ws_store_be16(payload, code);
    memcpy(payload + 2, reason, rlen);
    c->frame_len = 2 + rlen;
    c->pending = WS_PENDING_NONE;
    if (!(c->flags & WS_OPT_NO_AUTO_CLOSE) && !(c->close_bits & WS_CB_SENT))
        c->pending = WS_PENDING_CLOSE;

    ws_emit(ev, WS_EV_ERROR);
    ev->error = err;
    ev->code = code;
    return WS_EV_ERROR;
}

static void end_message(ws_conn_impl_t *c)
{
    c->msg_op = 0;
    c->msg_rsv = 0;
    c->msg_len = 0;
    c->msg_frames = 0;
    c->utf8_in = WS_UTF8_ACCEPT;
    c->x_bits &= (uint8_t) ~(WS_XB_RECV | WS_XB_BEGUN);
}

int ws_conn_message_end(ws_conn_impl_t *c, ws_event_t *ev)
{
    ws_emit(ev, WS_EV_MESSAGE_END);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->frames = c->msg_frames;
    end_message(c);
    /* Owed only at a frame's end: phase HEADER, no header begun yet. */
    ws_set_rx(c, WS_PHASE_HEADER, WS_PENDING_NONE, 0);
    return WS_EV_MESSAGE_END;
}

/* An owed event: MESSAGE_END after the final DATA slice, or an automatic
 * pong/close frame built in ctrl[]. 0 if nothing is owed (any more). */
static int take_pending(ws_conn_impl_t *c, ws_event_t *ev)
{
    int what = c->pending;
    uint8_t *frame;
    ptrdiff_t n;

    c->pending = WS_PENDING_NONE;
    switch (what) {
    case WS_PENDING_MESSAGE_END:
        return ws_conn_message_end(c, ev);
    case WS_PENDING_PONG:
        /* The caller may have sent its own close since the ping. */
        if (c->close_bits & WS_CB_SENT)
            return 0;
        n = ws_conn_build_control(c, WS_OP_PONG, (size_t)c->frame_len, &frame);
        if (n < 0)
            return ws_conn_fail(c, (int)n, ev);
        return ws_emit_bytes(c, ev, WS_EV_SEND, frame, (size_t)n);
    case WS_PENDING_CLOSE:
        if (c->close_bits & WS_CB_SENT)
            return 0;
        c->close_bits |= WS_CB_SENT;
        n = ws_conn_build_control(c, WS_OP_CLOSE, (size_t)c->frame_len, &frame);
        if (n < 0)
            return 0; /* no key to mask with: the transport just closes */
        return ws_emit_bytes(c, ev, WS_EV_SEND, frame, (size_t)n);
    case WS_PENDING_RELEASE:
        release_rbuf(c); /* the message in it was valid until this call */
        return 0;
    default:
        return 0;
    }
}

/* -------------------------------------------------------------- header */

static int deliver_in_place(ws_conn_impl_t *c, ws_event_t *ev);

static int start_frame(ws_conn_impl_t *c, const ws_frame_header_t *h,
                       ws_event_t *ev)
{
    int err = ws_conn_check_header(c, h);
    if (err)
        return ws_conn_fail(c, err, ev);

    c->frame_bits =
        (uint8_t)((h->fin ? WS_FB_FIN : 0) | h->rsv << 4 | h->opcode);
    c->frame_len = h->payload_len;
    c->frame_left = h->payload_len;
    memcpy(c->mask_key, h->mask_key, 4);
    if (h->opcode & 0x8) {
        c->phase = WS_PHASE_CONTROL;
        return WS_STEP_AGAIN;
    }
    c->phase = WS_PHASE_DATA;
    c->msg_frames++;
    if (h->opcode == WS_OP_CONTINUATION)
        return WS_STEP_AGAIN;

    c->msg_op = h->opcode;
    c->msg_rsv = h->rsv;
    c->rbuf_len = 0;
    if (h->rsv) /* claimed bits (checked): the extension decodes it */
        c->x_bits |= WS_XB_RECV;
    else if (h->fin && h->payload_len <= c->in_len)
        return deliver_in_place(c, ev);
    if (c->flags & WS_OPT_REASSEMBLE)
        return WS_STEP_AGAIN;
    ws_emit(ev, WS_EV_MESSAGE_START);
    ev->opcode = (ws_opcode_t)h->opcode;
    ev->rsv = h->rsv;
    return WS_EV_MESSAGE_START;
}

/* Headers are decoded straight from the input when they are whole there
 * (the common case); otherwise gathered in ctrl[] across calls. */
static int read_header(ws_conn_impl_t *c, ws_event_t *ev)
{
    int strict = !(c->flags & WS_OPT_LENIENT_LENGTH);
    const uint8_t *raw = c->in;
    ws_frame_header_t h;
    int hlen = WS_EAGAIN;

    if (c->hdr_len == 0) {
        hlen = ws_frame_header_parse(c->in, c->in_len, &h, strict);
        if (hlen > 0)
            ws_consume(c, (size_t)hlen);
    }
    if (hlen == WS_EAGAIN) {
        for (;;) {
            size_t need = c->hdr_len < 2 ? 2 : ws_frame_header_len(c->ctrl[1]);
            if (c->hdr_len == need)
                break;
            if (c->in_len == 0)
                return 0;
            size_t n = need - c->hdr_len;
            if (n > c->in_len)
                n = c->in_len;
            memcpy(c->ctrl + c->hdr_len, c->in, n);
            c->hdr_len = (uint8_t)(c->hdr_len + n);
            ws_consume(c, n);
        }
        raw = c->ctrl;
        hlen = ws_frame_header_parse(c->ctrl, c->hdr_len, &h, strict);
        c->hdr_len = 0;
    }
    if (c->trace)
        ws_conn_trace(c, WS_TRACE_IN, raw);
    if (hlen < 0)
        return ws_conn_fail(c, hlen, ev);
    return start_frame(c, &h, ev);
}

/* ------------------------------------------------------------- payload */

/* Text is unmasked and validated a block at a time, so the validator
 * reads what the unmask just wrote from L1 cache: one trip through memory
 * instead of two. */
#define TEXT_BLOCK (16u * 1024u)

/* Take n payload bytes of the frame being read, at frame offset `offset`,
 * from src into dst (the same pointer: in place): unmasked in the server
 * role, copied in the client role. Text is validated as it goes, failing
 * fast (RFC 6455 §8.1: "MUST Fail the WebSocket Connection" on invalid
 * UTF-8) and, on the message's last slice (fin), required to end on a
 * character boundary. Returns 0 or WS_EUTF8. */
static int take_payload(ws_conn_impl_t *c, uint8_t *dst, const uint8_t *src,
                        size_t n, uint64_t offset, int fin)
{
    int unmask = c->role == WS_ROLE_SERVER;
    if (c->msg_op != WS_OP_TEXT) {
        if (unmask)
            ws_mask(dst, src, n, c->mask_key, offset);
        else if (dst != src)
            memcpy(dst, src, n);
        return 0;
    }
    uint32_t s = c->utf8_in;
    for (size_t i = 0; i < n;) {
        size_t m = n - i < TEXT_BLOCK ? n - i : TEXT_BLOCK;
        int ascii = 0;
        if (unmask)
            ascii = ws_mask_ascii(dst + i, src + i, m, c->mask_key, offset + i);
        else if (dst != src)
            memcpy(dst + i, src + i, m);
        /* ASCII on a character boundary leaves the validator there. */
        if (!ascii || s != WS_UTF8_ACCEPT)
            s = ws_utf8_run(s, dst + i, m);
        if (s == WS_UTF8_REJECT)
            return WS_EUTF8;
        i += m;
    }
    if (fin && s != WS_UTF8_ACCEPT)
        return WS_EUTF8;
    c->utf8_in = (uint8_t)s;
    return 0;
}

static size_t available(const ws_conn_impl_t *c)
{
    return c->in_len < c->frame_left ? c->in_len : (size_t)c->frame_left;
}

static uint64_t frame_offset(const ws_conn_impl_t *c)
{
    return c->frame_len - c->frame_left;
}

/* Streaming mode: hand out what is here of the frame, unmasked in place. */
static int read_data_stream(ws_conn_impl_t *c, ws_event_t *ev)
{
    size_t n = available(c);
    if (n == 0 && c->frame_left)
        return 0;

    uint8_t *p = c->in;
    uint64_t offset = frame_offset(c);
    int frame_end = n == c->frame_left;
    int fin = frame_end && (c->frame_bits & WS_FB_FIN);

    int err = take_payload(c, p, p, n, offset, fin);
    if (err)
        return ws_conn_fail(c, err, ev);
    ws_consume(c, n);
    c->frame_left -= n;
    c->msg_len += n;

    ws_emit_bytes(c, ev, WS_EV_DATA, p, n);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->rsv = (uint8_t)((c->frame_bits & WS_FB_RSV) >> 4);
    ev->frame_len = c->frame_len;
    ev->flags = (offset == 0 ? WS_DATA_FRAME_START : 0) |
                (frame_end ? WS_DATA_FRAME_END : 0) | (fin ? WS_DATA_FIN : 0);
    if (frame_end) {
        c->phase = WS_PHASE_HEADER;
        if (fin)
            c->pending = WS_PENDING_MESSAGE_END;
    }
    return WS_EV_DATA;
}

int ws_conn_deliver(ws_conn_impl_t *c, ws_event_t *ev, uint8_t *data,
                    size_t len)
{
    ws_emit_bytes(c, ev, WS_EV_MESSAGE, data, len);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->rsv = c->msg_rsv;
    ev->frames = c->msg_frames;
    c->phase = WS_PHASE_HEADER;
    end_message(c);
    if (c->rbuf_cap > c->rbuf_keep && (c->flags & WS_OPT_REASSEMBLE))
        c->pending = WS_PENDING_RELEASE;
    return WS_EV_MESSAGE;
}

/* Both modes: a message that is one frame, wholly inside the input, is one
 * WS_EV_MESSAGE handed out in place, without a copy. */
static int deliver_in_place(ws_conn_impl_t *c, ws_event_t *ev)
{
    size_t n = (size_t)c->frame_left;
    uint8_t *p = c->in;
    int err = take_payload(c, p, p, n, 0, 1);
    if (err)
        return ws_conn_fail(c, err, ev);
    ws_consume(c, n);
    c->frame_left = 0;
    return ws_conn_deliver(c, ev, p, n);
}

/* n payload bytes of the frame from src to the end of the reassembly
 * buffer (src is that place when the caller read them there). */
static int append_payload(ws_conn_impl_t *c, const uint8_t *src, size_t n)
{
    uint8_t *dst = c->rbuf + c->rbuf_len;
    int last = (c->frame_bits & WS_FB_FIN) && n == c->frame_left;
    int err = take_payload(c, dst, src, n, frame_offset(c), last);
    if (err)
        return err;
    c->rbuf_len += n;
    c->msg_len += n;
    c->frame_left -= n;
    return 0;
}

/* Reassembly mode. A one-frame message whose header came in an earlier
 * input is still delivered in place when its payload is whole here;
 * anything else is unmasked into the reassembly buffer as it arrives
 * (validated as it arrives, too), or in place there when the caller read
 * it there (ws_conn_recv_buf). */
static int read_data_whole(ws_conn_impl_t *c, ws_event_t *ev)
{
    int fin = c->frame_bits & WS_FB_FIN;
    int err;

    if (c->direct) {
        size_t n = c->direct;
        c->direct = 0;
        if ((err = append_payload(c, c->rbuf + c->rbuf_len, n)) != 0)
            return ws_conn_fail(c, err, ev);
    }
    if (fin && c->msg_len == 0 && c->frame_left <= c->in_len &&
        c->frame_left == c->frame_len)
        return deliver_in_place(c, ev);

    size_t n = available(c);
    if (n) {
        if ((err = reserve(c, n, SIZE_MAX)) != 0 ||
            (err = append_payload(c, c->in, n)) != 0)
            return ws_conn_fail(c, err, ev);
        ws_consume(c, n);
    }
    if (c->frame_left)
        return 0;
    if (!fin) {
        c->phase = WS_PHASE_HEADER;
        return WS_STEP_AGAIN;
    }
    if (c->msg_op == WS_OP_TEXT && c->utf8_in != WS_UTF8_ACCEPT)
        return ws_conn_fail(c, WS_EUTF8, ev); /* empty last frame: truncated */
    return ws_conn_deliver(c, ev, c->rbuf, c->rbuf_len);
}

/* ------------------------------------------------ reading in place */

/* One offer stays within 32 bits (ws_conn_impl_t.direct). */
#define DIRECT_MAX (1u << 30)

/* The caller may read payload straight into the reassembly buffer: a
 * plain data frame is being read in reassembly mode, with no input or
 * event outstanding. */
static int direct_allowed(const ws_conn_impl_t *c)
{
    return (c->flags & WS_OPT_REASSEMBLE) && c->phase == WS_PHASE_DATA &&
           !(c->x_bits & WS_XB_RECV) && c->in_len == 0 &&
           c->pending == WS_PENDING_NONE && c->direct == 0 && c->frame_left;
}

WS_API int ws_conn_recv_buf(ws_conn_t *conn, void **ptr, size_t *len)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c || !ptr || !len)
        return WS_EINVAL;
    *ptr = NULL;
    *len = 0;
    if (!direct_allowed(c) || c->frame_left < WS_RECV_DIRECT_MIN)
        return 0;
    size_t want =
        c->frame_left < DIRECT_MAX ? (size_t)c->frame_left : DIRECT_MAX;
    /* The room there is, or room for as much again as has arrived: the
     * buffer never holds more than twice the bytes the peer really sent,
     * so a huge announced frame gets memory only as fast as it is sent. */
    size_t room = c->rbuf_cap - c->rbuf_len;
    if (room < WS_RECV_DIRECT_MIN) {
        size_t grow = c->rbuf_len < want ? c->rbuf_len : want;
        if (grow < WS_RECV_DIRECT_MIN ||
            reserve(c, grow, c->rbuf_len + grow) != 0)
            return 0; /* the usual path reports WS_ENOMEM at that point */
        room = c->rbuf_cap - c->rbuf_len;
    }
    *ptr = c->rbuf + c->rbuf_len;
    *len = room < want ? room : want;
    return 1;
}

WS_API int ws_conn_recv_ack(ws_conn_t *conn, size_t n)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c)
        return WS_EINVAL;
    if (n == 0)
        return 0;
    if (!direct_allowed(c) || !c->rbuf)
        return WS_ESTATE;
    if (n > c->rbuf_cap - c->rbuf_len || n > c->frame_left || n > DIRECT_MAX)
        return WS_EINVAL;
    c->direct = (uint32_t)n;
    return 0;
}

/* --------------------------------------------------------- control */

static int close_received(ws_conn_impl_t *c, ws_event_t *ev)
{
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;
    size_t len = (size_t)c->frame_len;
    uint16_t code;
    int err = ws_close_parse(payload, len, &code);
    if (err)
        return ws_conn_fail(c, err, ev);

    if (!(c->close_bits & WS_CB_SENT)) {
        c->close_bits |= WS_CB_PEER_FIRST;
        /* §5.5.1: reply with a close frame, typically echoing the code;
         * the code is already in place at the start of ctrl[] payload. */
        if (!(c->flags & WS_OPT_NO_AUTO_CLOSE))
            c->pending = WS_PENDING_CLOSE;
    }
    c->close_bits |= WS_CB_RECEIVED;
    c->close_code = code;
    /* §5.5.1: nothing is sent after a close frame; ignore what follows */
    c->phase = WS_PHASE_DONE;
    c->in_len = 0;
    release_rbuf(c);

    ws_emit_bytes(c, ev, WS_EV_CLOSE, payload + (len ? 2 : 0),
                  len ? len - 2 : 0);
    ev->code = code;
    c->frame_len = code == WS_CLOSE_NO_STATUS ? 0 : 2; /* reply payload */
    return WS_EV_CLOSE;
}

/* Control payloads are gathered in ctrl[] so they are delivered whole,
 * even when they straddle input chunks or interrupt a fragmented message. */
static int read_control(ws_conn_impl_t *c, ws_event_t *ev)
{
    size_t n = available(c);
    uint8_t *dst = c->ctrl + WS_CTRL_PAYLOAD + frame_offset(c);
    if (n) {
        if (c->role == WS_ROLE_SERVER)
            ws_mask(dst, c->in, n, c->mask_key, frame_offset(c));
        else
            memcpy(dst, c->in, n);
        ws_consume(c, n);
    }
    c->frame_left -= n;
    if (c->frame_left)
        return 0;

    c->phase = WS_PHASE_HEADER;
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;
    size_t len = (size_t)c->frame_len;
    switch (c->frame_bits & WS_FB_OPCODE) {
    case WS_OP_PING:
        /* §5.5.2: answer with a pong carrying the same payload, unless a
         * close frame has already passed either way. */
        if (!(c->flags & WS_OPT_NO_AUTO_PONG) && !c->close_bits)
            c->pending = WS_PENDING_PONG;
        return ws_emit_bytes(c, ev, WS_EV_PING, payload, len);
    case WS_OP_PONG:
        return ws_emit_bytes(c, ev, WS_EV_PONG, payload, len);
    default:
        return close_received(c, ev);
    }
}

/* ------------------------------------------------------------ the loop */

int ws_conn_next_slow(ws_conn_impl_t *c, ws_event_t *ev)
{
    if (c->pending) {
        int t = take_pending(c, ev);
        if (t)
            return t;
    }
    for (;;) {
        int r;
        switch (c->phase) {
        case WS_PHASE_HEADER:
            r = read_header(c, ev);
            break;
        case WS_PHASE_DATA:
            if (c->x_bits & WS_XB_RECV)
                r = ws_conn_read_decoded(c, ev);
            else if (c->flags & WS_OPT_REASSEMBLE)
                r = read_data_whole(c, ev);
            else
                r = read_data_stream(c, ev);
            break;
        case WS_PHASE_CONTROL:
            r = read_control(c, ev);
            break;
        default:
            c->in_len = 0;
            return 0;
        }
        if (r != WS_STEP_AGAIN)
            return r;
    }
}

/* -------------------------------------------------------------- state */

WS_API ws_state_t ws_conn_state(const ws_conn_t *conn)
{
    const ws_conn_impl_t *c = ws_cimpl(conn);
    unsigned b = c->close_bits;
    if ((b & WS_CB_SENT) && (b & (WS_CB_RECEIVED | WS_CB_FAILED)))
        return WS_STATE_CLOSED;
    return b ? WS_STATE_CLOSING : WS_STATE_OPEN;
}

WS_API ws_closer_t ws_conn_closer(const ws_conn_t *conn)
{
    const ws_conn_impl_t *c = ws_cimpl(conn);
    if (c->close_bits & WS_CB_PEER_FIRST)
        return WS_CLOSER_PEER;
    return (c->close_bits & WS_CB_SENT) ? WS_CLOSER_LOCAL : WS_CLOSER_NONE;
}
