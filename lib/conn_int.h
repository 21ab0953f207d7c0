/*
 * conn_int.h — the connection's real layout and what the receive side's
 * files (conn.c: the state machine; conn_fast.c: the small-frame path;
 * conn_ext.c: extension transforms; send.c) share. Private to lib/.
 */
#ifndef WS_CONN_INT_H
#define WS_CONN_INT_H

#include "wsproto_int.h"

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define WS_MAY_ALIAS __attribute__((may_alias))
#else
#define WS_MAY_ALIAS
#endif

/*
 * What ws_conn_t's WS_CONN_SIZE opaque bytes hold. may_alias: the caller's
 * object has type ws_conn_t, and the library reads it only through this
 * type, which must not let the compiler assume the two never overlap.
 */
typedef struct WS_MAY_ALIAS ws_conn_impl {
    uint8_t *in; /* fed input not yet consumed */
    size_t in_len;
    /* Zero together between messages: read as one word (rx_idle()). */
    uint8_t phase;       /* what the parser expects next */
    uint8_t pending;     /* event owed before parsing resumes */
    uint8_t hdr_len;     /* header bytes gathered in ctrl[] so far */
    uint8_t msg_op;      /* opcode of the unfinished message, or 0 */
    uint8_t role;        /* ws_role_t */
    uint8_t msg_rsv;     /* RSV bits of the message's first frame */
    uint16_t close_code; /* code received, or to send on failure */
    uint32_t flags;      /* WS_OPT_*, and internal bits (WS_CF_*) */
    uint8_t close_bits;  /* sent / received / failed / who first */
    uint8_t frame_bits;  /* FIN, RSV, opcode: byte 0 of the header */
    uint8_t send_op;     /* opcode of the unfinished outgoing message */
    uint8_t utf8_in;     /* validator state for the incoming message */
    uint64_t frame_len;  /* payload length of the frame being read */
    uint64_t frame_left; /* its payload bytes still to come */
    uint64_t msg_len;    /* bytes of the current message so far */
    uint64_t max_frame;
    uint64_t max_message;
    uint8_t *rbuf; /* reassembly / decoded-output buffer */
    size_t rbuf_len;
    size_t rbuf_cap;
    size_t rbuf_keep; /* larger buffers go after each message */
    const ws_allocator_t *allocator;
    ws_random_fn random;
    void *random_user;
    ws_trace_fn trace;
    void *trace_user;
    const ws_extension_t *ext;
    void *ext_state;
    uint32_t msg_frames; /* frames of the current message so far */
    uint32_t x_ready;    /* server: payload bytes at `in` already
                            unmasked for the decoder */
    uint32_t direct;     /* payload bytes the caller put at
                            rbuf + rbuf_len (ws_conn_recv_ack), not
                            yet taken */
    uint8_t utf8_out;    /* validator state for the outgoing message */
    uint8_t x_bits;      /* WS_XB_*: extension state of messages */
    uint8_t send_rsv;    /* RSV bits of the unfinished outgoing one */
    uint8_t ext_rsv;     /* RSV bits the extension claims, or 0 */
    uint8_t mask_key[4]; /* of the frame being read */
    uint8_t ctrl[WS_CONTROL_BUF_LEN]; /* partial headers, control frames */
} ws_conn_impl_t;

static inline ws_conn_impl_t *ws_impl(ws_conn_t *c)
{
    return (ws_conn_impl_t *)(void *)c;
}

static inline const ws_conn_impl_t *ws_cimpl(const ws_conn_t *c)
{
    return (const ws_conn_impl_t *)(const void *)c;
}

/* ws_conn_impl_t.phase: what the receive side expects next. */
enum {
    WS_PHASE_HEADER = 0, /* a frame header (ctrl[0..hdr_len) so far) */
    WS_PHASE_DATA,       /* payload of a text/binary/continuation frame */
    WS_PHASE_CONTROL,    /* payload of a control frame, into ctrl[] */
    WS_PHASE_DONE        /* closed or failed: input is ignored */
};

/* ws_conn_impl_t.pending: an event owed before parsing resumes. */
enum {
    WS_PENDING_NONE = 0,
    WS_PENDING_MESSAGE_END, /* streaming: the final DATA was delivered */
    WS_PENDING_PONG,        /* automatic pong for the ping in ctrl[] */
    WS_PENDING_CLOSE,       /* automatic close frame (reply or failure) */
    WS_PENDING_RELEASE      /* free the big reassembly buffer just handed out */
};

/* ws_conn_impl_t.flags: internal bits above the WS_OPT_* ones. */
#define WS_CF_SMALL 0x80000000u /* small-frame path on (no tracer) */

/* ws_conn_impl_t.x_bits. */
#define WS_XB_RECV 0x01u  /* the incoming message is being decoded */
#define WS_XB_BEGUN 0x02u /* decode() has been called for it */
#define WS_XB_SEND 0x04u  /* the outgoing message is being encoded */

/* ws_conn_impl_t.close_bits. */
#define WS_CB_SENT 0x01u       /* our close frame was produced */
#define WS_CB_RECEIVED 0x02u   /* the peer's close frame arrived */
#define WS_CB_FAILED 0x04u     /* the peer violated the protocol */
#define WS_CB_PEER_FIRST 0x08u /* the peer's close came before ours */

/* ws_conn_impl_t.frame_bits: byte 0 of the frame being read. */
#define WS_FB_FIN 0x80u
#define WS_FB_RSV 0x70u
#define WS_FB_OPCODE 0x0Fu

/* Control payloads sit at ctrl[WS_CTRL_PAYLOAD], leaving room in front for
 * the largest control frame header (2 bytes + 4-byte mask key), so a pong
 * or close reply is built in place around the payload. */
#define WS_CTRL_PAYLOAD 6

#define WS_STEP_AGAIN (-1)

/* ----------------------------------------------------------- send.c */

/* Build a control frame around the payload already at
 * ctrl[WS_CTRL_PAYLOAD .. + len): header in front, masked in the client
 * role. Sets *frame to its start and returns its length, or WS_ERANDOM. */
ptrdiff_t ws_conn_build_control(ws_conn_impl_t *c, ws_opcode_t op, size_t len,
                                uint8_t **frame);

/* Report the header hdr[0..) (complete, as on the wire) to the tracer. */
void ws_conn_trace(const ws_conn_impl_t *c, unsigned dir, const uint8_t *hdr);

/* ----------------------------------------------------------- conn.c */

/* The rules every frame header must pass before its payload is read
 * (RFC 6455 §5.2-§5.5), for the general parser and the small-frame path
 * alike. Returns 0 or the WS_E* violation. */
static inline int ws_conn_check_header(const ws_conn_impl_t *c,
                                       const ws_frame_header_t *h)
{
    unsigned claimed = c->ext_rsv;
    int control = (h->opcode & 0x8) != 0;

    /* §5.2: RSV1-3 MUST be 0 unless an extension was negotiated; ours are
     * per-message, so they belong on a message's first frame only. */
    if ((h->rsv & ~claimed) ||
        (h->rsv && (control || h->opcode == WS_OP_CONTINUATION)))
        return WS_ERSV;
    /* §5.2: opcodes 3-7 and 0xB-0xF are reserved */
    if ((h->opcode & 0x7) > 2)
        return WS_EOPCODE;
    /* §5.1: clients mask every frame, servers none */
    if (h->masked != (c->role == WS_ROLE_SERVER))
        return WS_EMASK;
    if (control) {
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
     * buffered. c->msg_len is 0 at the start of a message. A decoded
     * message is limited by its output instead (conn_ext.c). */
    int decoded = h->opcode == WS_OP_CONTINUATION
                      ? (c->x_bits & WS_XB_RECV) != 0
                      : h->rsv != 0;
    if (h->payload_len > c->max_frame ||
        (!decoded && h->payload_len > c->max_message - c->msg_len))
        return WS_ETOOBIG;
    return 0;
}

/* RFC 6455 §7.1.7 "Fail the WebSocket Connection": the one error path.
 * Reports err as WS_EV_ERROR in *ev, owes the close frame, ignores the
 * rest of the input. Returns WS_EV_ERROR. */
int ws_conn_fail(ws_conn_impl_t *c, int err, ws_event_t *ev);

/* The general state machine: everything the small-frame path leaves. */
int ws_conn_next_slow(ws_conn_impl_t *c, ws_event_t *ev);

/* Reassembly mode: the whole message data[0..len) as WS_EV_MESSAGE; the
 * receive side is then between messages. */
int ws_conn_deliver(ws_conn_impl_t *c, ws_event_t *ev, uint8_t *data,
                    size_t len);

/* Streaming mode: the MESSAGE_END owed after the final DATA slice. */
int ws_conn_message_end(ws_conn_impl_t *c, ws_event_t *ev);

/* ------------------------------------------------------- conn_ext.c */

/* Payload of a data frame in a message the extension decodes: one step
 * (an event, 0 for more input, or WS_STEP_AGAIN). */
int ws_conn_read_decoded(ws_conn_impl_t *c, ws_event_t *ev);

/* Grow the reassembly buffer to hold n more bytes, within `limit` bytes
 * in all. Returns 0 or WS_ENOMEM. */
int ws_conn_reserve(ws_conn_impl_t *c, size_t n, size_t limit);

/* ------------------------------------------------------------ events */

static inline int ws_emit(ws_event_t *ev, ws_event_type_t type)
{
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    return (int)type;
}

/* An event carrying bytes. data is never NULL, even for empty payloads,
 * so callers may pass it to memcpy and friends unconditionally. */
static inline int ws_emit_bytes(ws_conn_impl_t *c, ws_event_t *ev,
                                ws_event_type_t type, uint8_t *data, size_t len)
{
    ws_emit(ev, type);
    ev->data = data ? data : c->ctrl;
    ev->len = len;
    return (int)type;
}

static inline void ws_consume(ws_conn_impl_t *c, size_t n)
{
    c->in += n;
    c->in_len -= n;
}

/* Between messages phase, pending, hdr_len and msg_op are all zero: one
 * load tests them. */
#define WS_RX_WORD offsetof(ws_conn_impl_t, phase)

static inline int ws_rx_idle(const ws_conn_impl_t *c)
{
    uint32_t w;
    memcpy(&w, (const unsigned char *)c + WS_RX_WORD, 4);
    return w == 0;
}

/* The fast paths set the four with one store: the next call's one-word
 * load is then forwarded from it, where after byte stores it would wait
 * for them to reach the cache (a store-forwarding stall, measured at more
 * than half the time of a streamed small message). */
static inline void ws_set_rx(ws_conn_impl_t *c, unsigned phase,
                             unsigned pending, unsigned msg_op)
{
    uint8_t b[4] = {(uint8_t)phase, (uint8_t)pending, 0, (uint8_t)msg_op};
    memcpy((unsigned char *)c + WS_RX_WORD, b, 4);
}

#endif /* WS_CONN_INT_H */
