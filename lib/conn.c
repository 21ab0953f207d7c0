/*
 * conn.c — the receive side of a connection: bytes in, events out.
 *
 * The parser is a small state machine (ws_conn_t.phase) driven by
 * ws_conn_next_event(). It never copies a data payload it can hand out in
 * place: payload is unmasked inside the caller's buffer and delivered as a
 * slice. Only partial frame headers and control frames (at most 14 and 125
 * bytes) are gathered in the connection's own ctrl[] buffer, and whole
 * messages in reassembly mode when they span frames or input chunks.
 *
 * Step functions return an event type (> 0), 0 when they need more input,
 * or STEP_AGAIN when they advanced the state and parsing should go on.
 *
 * Ahead of the state machine sits a path for the commonest input, a small
 * whole message (small_message, at the end of the file): same checks and
 * same events, in about 90 instructions (bench/PERFORMANCE.md).
 */
#include "wsproto_int.h"
#include "simd_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define STEP_AGAIN (-1)
#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE
#endif
#define WS_OPT_ALL                                                             \
    (WS_OPT_REASSEMBLE | WS_OPT_NO_AUTO_PONG | WS_OPT_NO_AUTO_CLOSE |          \
     WS_OPT_LENIENT_LENGTH)

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

static void release_rbuf(ws_conn_t *c)
{
    if (c->rbuf)
        c->allocator->free(c->rbuf, c->allocator->user);
    c->rbuf = NULL;
    c->rbuf_len = 0;
    c->rbuf_cap = 0;
}

/* Make room for n more bytes of the current frame. Capacity doubles, so
 * it never exceeds twice what the peer actually sent (a peer announcing a
 * huge frame gets memory only as fast as it sends bytes), and never the
 * message's known final size once its last frame is being read. */
static int reserve(ws_conn_t *c, size_t n)
{
    size_t need = c->rbuf_len + n;
    if (need <= c->rbuf_cap)
        return 0;
    if (c->frame_left > SIZE_MAX - c->rbuf_len)
        return WS_ENOMEM; /* 32-bit size_t: the message cannot fit */

    size_t limit = SIZE_MAX;
    if (c->frame_bits & WS_FB_FIN)
        limit = c->rbuf_len + (size_t)c->frame_left;
    else if (c->max_message < SIZE_MAX)
        limit = (size_t)c->max_message;
    size_t cap = c->rbuf_cap > SIZE_MAX / 2 ? SIZE_MAX : c->rbuf_cap * 2;
    if (cap < 256)
        cap = 256;
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;

    const ws_allocator_t *a = c->allocator;
    uint8_t *p = c->rbuf ? a->realloc(c->rbuf, cap, a->user)
                         : a->malloc(cap, a->user);
    if (!p)
        return WS_ENOMEM;
    c->rbuf = p;
    c->rbuf_cap = cap;
    return 0;
}

/* -------------------------------------------------------- setup, input */

WS_API int ws_conn_init(ws_conn_t *c, ws_role_t role, const ws_options_t *opts)
{
    static const ws_options_t defaults = {0};
    if (!opts)
        opts = &defaults;
    if (!c || (role != WS_ROLE_SERVER && role != WS_ROLE_CLIENT))
        return WS_EINVAL;
    if (opts->flags & ~WS_OPT_ALL)
        return WS_EINVAL;
    const ws_allocator_t *a = opts->allocator;
    if (a && (!a->malloc || !a->realloc || !a->free))
        return WS_EINVAL;

    memset(c, 0, sizeof *c);
    c->role = (uint8_t)role;
    c->flags = (uint8_t)opts->flags;
    c->max_frame = opts->max_frame ? opts->max_frame : UINT64_MAX;
    if (opts->max_message)
        c->max_message = opts->max_message;
    else if (opts->flags & WS_OPT_REASSEMBLE)
        c->max_message = WS_DEFAULT_MAX_MESSAGE;
    else
        c->max_message = UINT64_MAX;
    c->random = opts->random ? opts->random : ws_random_default;
    c->random_user = opts->random_user;
    c->allocator = a ? a : &libc_allocator;
    if (c->max_frame >= WS_MAX_CONTROL_PAYLOAD &&
        c->max_message >= WS_MAX_CONTROL_PAYLOAD)
        c->flags |= WS_CF_SMALL;
    return 0;
}

WS_API void ws_conn_destroy(ws_conn_t *c)
{
    if (c && c->allocator)
        release_rbuf(c);
}

WS_API int ws_conn_feed(ws_conn_t *c, void *data, size_t len)
{
    if (!c || (!data && len))
        return WS_EINVAL;
    if (c->in_len)
        return WS_ESTATE;
    c->in = data;
    c->in_len = len;
    return 0;
}

static void consume(ws_conn_t *c, size_t n)
{
    c->in += n;
    c->in_len -= n;
}

/* ------------------------------------------------------------- events */

static int emit(ws_event_t *ev, ws_event_type_t type)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    return (int)type;
}

/* An event carrying bytes. data is never NULL, even for empty payloads,
 * so callers may pass it to memcpy and friends unconditionally. */
static int emit_bytes(ws_conn_t *c, ws_event_t *ev, ws_event_type_t type,
                      uint8_t *data, size_t len)
{
    emit(ev, type);
    ev->data = data ? data : c->ctrl;
    ev->len = len;
    return (int)type;
}

/* RFC 6455 §7.1.7 "Fail the WebSocket Connection": report the error, owe
 * the peer a close frame with the matching code (unless already sent or
 * the caller sends its own), and ignore everything that follows. */
static int fail(ws_conn_t *c, int err, ws_event_t *ev)
{
    uint16_t code = ws_error_close_code(err);
    const char *reason = ws_strerror(err);
    size_t rlen = strlen(reason);
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;

    c->close_bits |= WS_CB_FAILED;
    c->close_code = code;
    c->phase = WS_PHASE_DONE;
    c->in_len = 0;
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

    emit(ev, WS_EV_ERROR);
    ev->error = err;
    ev->code = code;
    return WS_EV_ERROR;
}

/* Between messages these four bytes are all zero (phase HEADER, nothing
 * pending, no partial header, no unfinished message): one load tests them. */
#define RX_WORD offsetof(ws_conn_t, phase)
_Static_assert(offsetof(ws_conn_t, pending) == RX_WORD + 1 &&
                   offsetof(ws_conn_t, hdr_len) == RX_WORD + 2 &&
                   offsetof(ws_conn_t, msg_op) == RX_WORD + 3,
               "phase, pending, hdr_len and msg_op form one 32-bit word");

static inline int between_messages(const ws_conn_t *c)
{
    uint32_t w;
    memcpy(&w, (const unsigned char *)c + RX_WORD, 4);
    return w == 0;
}

/* The fast paths set the four with one store: the next call's one-word
 * load is then forwarded from it, where after byte stores it would wait
 * for them to reach the cache (a store-forwarding stall, measured at more
 * than half the time of a streamed small message). */
static inline void set_rx(ws_conn_t *c, unsigned phase, unsigned pending,
                          unsigned msg_op)
{
    uint8_t b[4] = {(uint8_t)phase, (uint8_t)pending, 0, (uint8_t)msg_op};
    memcpy((unsigned char *)c + RX_WORD, b, 4);
}

static void end_message(ws_conn_t *c)
{
    c->msg_op = 0;
    c->msg_len = 0;
    c->msg_frames = 0;
    c->utf8_in = WS_UTF8_ACCEPT;
}

/* Streaming mode: the MESSAGE_END owed after the final DATA slice. */
static inline int message_end(ws_conn_t *c, ws_event_t *ev)
{
    emit(ev, WS_EV_MESSAGE_END);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->frames = c->msg_frames;
    end_message(c);
    /* Owed only at a frame's end: phase HEADER, no header begun yet. */
    set_rx(c, WS_PHASE_HEADER, WS_PENDING_NONE, 0);
    return WS_EV_MESSAGE_END;
}

/* Streaming mode, after the small-frame path's MESSAGE_START: the frame's
 * one DATA slice, unmasked and validated already, then MESSAGE_END. */
static inline int small_data(ws_conn_t *c, ws_event_t *ev)
{
    size_t n = (size_t)c->frame_left;
    uint8_t *p = c->in;
    consume(c, n);
    c->frame_left = 0;
    c->msg_len = n;
    set_rx(c, WS_PHASE_HEADER, WS_PENDING_MESSAGE_END, c->msg_op);
    emit_bytes(c, ev, WS_EV_DATA, p, n);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->frame_len = n;
    ev->flags = WS_DATA_FRAME_START | WS_DATA_FRAME_END | WS_DATA_FIN;
    return WS_EV_DATA;
}

/* An owed event: MESSAGE_END after the final DATA slice, or an automatic
 * pong/close frame built in ctrl[]. 0 if nothing is owed (any more). */
static int take_pending(ws_conn_t *c, ws_event_t *ev)
{
    int what = c->pending;
    uint8_t *frame;
    ptrdiff_t n;

    c->pending = WS_PENDING_NONE;
    switch (what) {
    case WS_PENDING_MESSAGE_END:
        return message_end(c, ev);
    case WS_PENDING_PONG:
        /* The caller may have sent its own close since the ping. */
        if (c->close_bits & WS_CB_SENT)
            return 0;
        n = ws_conn_build_control(c, WS_OP_PONG, (size_t)c->frame_len, &frame);
        if (n < 0)
            return fail(c, (int)n, ev);
        return emit_bytes(c, ev, WS_EV_SEND, frame, (size_t)n);
    case WS_PENDING_CLOSE:
        if (c->close_bits & WS_CB_SENT)
            return 0;
        c->close_bits |= WS_CB_SENT;
        n = ws_conn_build_control(c, WS_OP_CLOSE, (size_t)c->frame_len, &frame);
        if (n < 0)
            return 0; /* no key to mask with: the transport just closes */
        return emit_bytes(c, ev, WS_EV_SEND, frame, (size_t)n);
    case WS_PENDING_DATA:
        return small_data(c, ev);
    case WS_PENDING_RELEASE:
        release_rbuf(c); /* the message in it was valid until this call */
        return 0;
    default:
        return 0;
    }
}

/* -------------------------------------------------------------- header */

/* The rules a frame header must pass before its payload is read. */
static int check_header(const ws_conn_t *c, const ws_frame_header_t *h)
{
    /* §5.2: RSV1-3 MUST be 0 unless an extension was negotiated */
    if (h->rsv)
        return WS_ERSV;
    /* §5.2: opcodes 3-7 and B-F are reserved (bits 0,1,2,8,9,10 valid) */
    if (!((0x0707u >> h->opcode) & 1))
        return WS_EOPCODE;
    /* §5.1: clients mask every frame, servers mask none */
    if (h->masked != (c->role == WS_ROLE_SERVER))
        return WS_EMASK;
    if (h->opcode & 0x8) {
        /* §5.5: control frames carry at most 125 bytes, unfragmented */
        if (h->payload_len > WS_MAX_CONTROL_PAYLOAD)
            return WS_ECONTROL_LENGTH;
        return h->fin ? 0 : WS_ECONTROL_FRAGMENT;
    }
    /* §5.4: the fragments of a message are not interleaved with others */
    if (h->opcode == WS_OP_CONTINUATION && !c->msg_op)
        return WS_ECONTINUATION;
    if (h->opcode != WS_OP_CONTINUATION && c->msg_op)
        return WS_EINTERLEAVED;
    /* Limits are checked on the announced length, before any payload is
     * buffered. c->msg_len is 0 at the start of a message. */
    if (h->payload_len > c->max_frame ||
        h->payload_len > c->max_message - c->msg_len)
        return WS_ETOOBIG;
    return 0;
}

static int start_frame(ws_conn_t *c, const ws_frame_header_t *h,
                       ws_event_t *ev)
{
    int err = check_header(c, h);
    if (err)
        return fail(c, err, ev);

    c->frame_bits = (uint8_t)((h->fin ? WS_FB_FIN : 0) | h->opcode);
    c->frame_len = h->payload_len;
    c->frame_left = h->payload_len;
    memcpy(c->mask_key, h->mask_key, 4);
    if (h->opcode & 0x8) {
        c->phase = WS_PHASE_CONTROL;
        return STEP_AGAIN;
    }
    c->phase = WS_PHASE_DATA;
    c->msg_frames++;
    if (h->opcode == WS_OP_CONTINUATION)
        return STEP_AGAIN;

    c->msg_op = h->opcode;
    c->rbuf_len = 0;
    if (c->flags & WS_OPT_REASSEMBLE)
        return STEP_AGAIN;
    emit(ev, WS_EV_MESSAGE_START);
    ev->opcode = (ws_opcode_t)h->opcode;
    return WS_EV_MESSAGE_START;
}

/* Headers are decoded straight from the input when they are whole there
 * (the common case); otherwise gathered in ctrl[] across calls. */
static int read_header(ws_conn_t *c, ws_event_t *ev)
{
    int strict = !(c->flags & WS_OPT_LENIENT_LENGTH);
    ws_frame_header_t h;
    int hlen = WS_EAGAIN;

    if (c->hdr_len == 0) {
        hlen = ws_frame_header_parse(c->in, c->in_len, &h, strict);
        if (hlen > 0)
            consume(c, (size_t)hlen);
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
            consume(c, n);
        }
        hlen = ws_frame_header_parse(c->ctrl, c->hdr_len, &h, strict);
        c->hdr_len = 0;
    }
    if (hlen < 0)
        return fail(c, hlen, ev);
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
static int take_payload(ws_conn_t *c, uint8_t *dst, const uint8_t *src,
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

static size_t available(const ws_conn_t *c)
{
    return c->in_len < c->frame_left ? c->in_len : (size_t)c->frame_left;
}

static uint64_t frame_offset(const ws_conn_t *c)
{
    return c->frame_len - c->frame_left;
}

/* Streaming mode: hand out what is here of the frame, unmasked in place. */
static int read_data_stream(ws_conn_t *c, ws_event_t *ev)
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
        return fail(c, err, ev);
    consume(c, n);
    c->frame_left -= n;
    c->msg_len += n;

    emit_bytes(c, ev, WS_EV_DATA, p, n);
    ev->opcode = (ws_opcode_t)c->msg_op;
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

static int deliver_message(ws_conn_t *c, ws_event_t *ev, uint8_t *data,
                           size_t len)
{
    emit_bytes(c, ev, WS_EV_MESSAGE, data, len);
    ev->opcode = (ws_opcode_t)c->msg_op;
    ev->frames = c->msg_frames;
    c->phase = WS_PHASE_HEADER;
    end_message(c);
    if (c->rbuf_cap > WS_REASSEMBLY_KEEP)
        c->pending = WS_PENDING_RELEASE;
    return WS_EV_MESSAGE;
}

/* Reassembly mode. A message that is one frame, wholly inside the input,
 * is delivered in place without a copy; anything else is unmasked into
 * the reassembly buffer as it arrives (validated as it arrives, too). */
static int read_data_whole(ws_conn_t *c, ws_event_t *ev)
{
    int fin = c->frame_bits & WS_FB_FIN;
    int err;

    if (fin && c->msg_len == 0 && c->frame_left <= c->in_len &&
        c->frame_left == c->frame_len) {
        size_t n = (size_t)c->frame_left;
        uint8_t *p = c->in;
        if ((err = take_payload(c, p, p, n, 0, 1)) != 0)
            return fail(c, err, ev);
        consume(c, n);
        c->frame_left = 0;
        return deliver_message(c, ev, p, n);
    }

    size_t n = available(c);
    if (n) {
        if ((err = reserve(c, n)) != 0)
            return fail(c, err, ev);
        uint8_t *dst = c->rbuf + c->rbuf_len;
        int last = fin && n == c->frame_left;
        if ((err = take_payload(c, dst, c->in, n, frame_offset(c), last)) != 0)
            return fail(c, err, ev);
        c->rbuf_len += n;
        c->msg_len += n;
        c->frame_left -= n;
        consume(c, n);
    }
    if (c->frame_left)
        return 0;
    if (!fin) {
        c->phase = WS_PHASE_HEADER;
        return STEP_AGAIN;
    }
    if (c->msg_op == WS_OP_TEXT && c->utf8_in != WS_UTF8_ACCEPT)
        return fail(c, WS_EUTF8, ev); /* final frame empty, text truncated */
    return deliver_message(c, ev, c->rbuf, c->rbuf_len);
}

/* --------------------------------------------------------- control */

static int close_received(ws_conn_t *c, ws_event_t *ev)
{
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;
    size_t len = (size_t)c->frame_len;
    uint16_t code;
    int err = ws_close_parse(payload, len, &code);
    if (err)
        return fail(c, err, ev);

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

    emit_bytes(c, ev, WS_EV_CLOSE, payload + (len ? 2 : 0), len ? len - 2 : 0);
    ev->code = code;
    c->frame_len = code == WS_CLOSE_NO_STATUS ? 0 : 2; /* reply payload */
    return WS_EV_CLOSE;
}

/* Control payloads are gathered in ctrl[] so they are delivered whole,
 * even when they straddle input chunks or interrupt a fragmented message. */
static int read_control(ws_conn_t *c, ws_event_t *ev)
{
    size_t n = available(c);
    uint8_t *dst = c->ctrl + WS_CTRL_PAYLOAD + frame_offset(c);
    if (n) {
        if (c->role == WS_ROLE_SERVER)
            ws_mask(dst, c->in, n, c->mask_key, frame_offset(c));
        else
            memcpy(dst, c->in, n);
        consume(c, n);
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
        return emit_bytes(c, ev, WS_EV_PING, payload, len);
    case WS_OP_PONG:
        return emit_bytes(c, ev, WS_EV_PONG, payload, len);
    default:
        return close_received(c, ev);
    }
}

/* ------------------------------------------------------------ the loop */

/* The state machine, for everything the small-frame path leaves. */
static NOINLINE int next_event(ws_conn_t *c, ws_event_t *ev)
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
            r = (c->flags & WS_OPT_REASSEMBLE) ? read_data_whole(c, ev)
                                               : read_data_stream(c, ev);
            break;
        case WS_PHASE_CONTROL:
            r = read_control(c, ev);
            break;
        default:
            c->in_len = 0;
            return 0;
        }
        if (r != STEP_AGAIN)
            return r;
    }
}

/* The small-frame path's result: the frame at p[0..len) is unmasked and
 * valid. Reassembly mode: it is the whole message. Streaming mode: its
 * MESSAGE_START now, its DATA and MESSAGE_END owed (WS_PENDING_DATA), the
 * state as start_frame() leaves it. */
static inline int small_deliver(ws_conn_t *c, ws_event_t *ev, unsigned op,
                                uint8_t *p, size_t len)
{
    ev->opcode = (ws_opcode_t)op;
    ev->flags = 0;
    ev->frame_len = 0;
    ev->code = 0;
    ev->error = 0;
    if (!(c->flags & WS_OPT_REASSEMBLE)) {
        c->in_len -= (size_t)(p - c->in);
        c->in = p;
        c->frame_bits = (uint8_t)(WS_FB_FIN | op);
        c->frame_len = len;
        c->frame_left = len;
        c->msg_frames = 1;
        set_rx(c, WS_PHASE_DATA, WS_PENDING_DATA, op);
        ev->type = WS_EV_MESSAGE_START;
        ev->data = NULL;
        ev->len = 0;
        ev->frames = 0;
        return WS_EV_MESSAGE_START;
    }
    c->in_len -= (size_t)(p + len - c->in);
    c->in = p + len;
    ev->type = WS_EV_MESSAGE;
    ev->data = p;
    ev->len = len;
    ev->frames = 1;
    return WS_EV_MESSAGE;
}

/* The small-frame path's text that is not all ASCII: validated whole
 * (the frame is the whole message), then delivered. Invalid text gets its
 * mask back and goes to the state machine, which fails the connection
 * exactly as it would have (streaming mode reports MESSAGE_START first). */
static NOINLINE int small_text(ws_conn_t *c, ws_event_t *ev, uint8_t *p,
                               size_t len)
{
    if (ws_utf8_run(WS_UTF8_ACCEPT, p, len) != WS_UTF8_ACCEPT) {
        if (c->role == WS_ROLE_SERVER)
            ws_mask(p, p, len, p - 4, 0);
        return next_event(c, ev);
    }
    return small_deliver(c, ev, WS_OP_TEXT, p, len);
}

/*
 * The common case, ahead of the state machine: between messages, a final
 * text or binary frame of at most 125 bytes whole in the input. The checks
 * of check_header() come down to three compares: FIN set, RSV clear and
 * opcode 1 or 2 is b0 == 0x81 or 0x82; the right masking for the role and
 * a 7-bit length is b1 ^ mask bit <= 125; the limits were found >= 125
 * once, in ws_conn_init (WS_CF_SMALL). The unmask tests for ASCII in the
 * same pass, so only other text meets the validator; the event is filled
 * field by field. Every call out is a tail call, so the common case saves
 * no registers. Anything else goes to the state machine untouched: also a
 * frame that ends too close to the end of the input for
 * ws_unmask_small()'s whole words.
 */
static inline int small_message(ws_conn_t *c, ws_event_t *ev)
{
    uint8_t *in = c->in;
    size_t key_len = c->role == WS_ROLE_SERVER ? 4 : 0;
    unsigned b0 = in[0], len = in[1] ^ (key_len ? 0x80u : 0u);
    uint8_t *p = in + 2 + key_len;
    int ascii = 0;

    if (b0 - 0x81u > 1u || len > WS_MAX_CONTROL_PAYLOAD)
        return next_event(c, ev);
    if (key_len) {
        if (c->in_len < 6 || c->in_len - 6 < ws_unmask_small_room(len))
            return next_event(c, ev);
        ascii = ws_unmask_small(p, len, in + 2);
    } else if (2 + len > c->in_len) {
        return next_event(c, ev);
    }
    if (b0 == (0x80u | WS_OP_TEXT) && !ascii)
        return small_text(c, ev, p, len);
    return small_deliver(c, ev, b0 & 0x0Fu, p, len);
}

WS_API int ws_conn_next_event(ws_conn_t *c, ws_event_t *ev)
{
    if (!c || !ev)
        return WS_EINVAL;
    if (c->flags & WS_CF_SMALL) {
        if (between_messages(c)) {
            if (c->in_len >= 2)
                return small_message(c, ev);
        } else if (c->pending == WS_PENDING_DATA) {
            return small_data(c, ev);
        } else if (c->pending == WS_PENDING_MESSAGE_END) {
            return message_end(c, ev);
        }
    }
    return next_event(c, ev);
}

/* -------------------------------------------------------------- state */

WS_API ws_state_t ws_conn_state(const ws_conn_t *c)
{
    unsigned b = c->close_bits;
    if ((b & WS_CB_SENT) && (b & (WS_CB_RECEIVED | WS_CB_FAILED)))
        return WS_STATE_CLOSED;
    return b ? WS_STATE_CLOSING : WS_STATE_OPEN;
}

WS_API ws_closer_t ws_conn_closer(const ws_conn_t *c)
{
    if (c->close_bits & WS_CB_PEER_FIRST)
        return WS_CLOSER_PEER;
    return (c->close_bits & WS_CB_SENT) ? WS_CLOSER_LOCAL : WS_CLOSER_NONE;
}
