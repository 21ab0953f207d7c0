/*
 * send.c — the send side of a connection: messages, fragments and control
 * frames encoded into the caller's buffer. The connection only tracks what
 * the protocol needs: the unfinished outgoing message (RFC 6455 §5.4) with
 * its UTF-8 state, and whether our close frame has gone (§5.5.1).
 */
#include "conn_int.h"

#include <string.h>

/* The header for a payload of len bytes in the role (RFC 6455 §5.2). */
static size_t header_size(const ws_conn_impl_t *c, size_t len)
{
    size_t header = 2 + (c->role == WS_ROLE_CLIENT ? 4 : 0);
    if (len >= 126)
        header += len <= 0xFFFF ? 2 : 8;
    return header;
}

/* The frame for a payload of len bytes in the role: header plus payload. */
static size_t raw_frame_size(const ws_conn_impl_t *c, size_t len)
{
    size_t header = header_size(c, len);
    return len > SIZE_MAX - header ? SIZE_MAX : header + len;
}

static int transforms(const ws_conn_impl_t *c)
{
    return c->ext && c->ext->encode;
}

WS_API size_t ws_conn_frame_size(const ws_conn_t *conn, size_t len)
{
    const ws_conn_impl_t *c = ws_cimpl(conn);
    if (transforms(c)) {
        size_t bound = c->ext->encode_bound(c->ext_state, len);
        if (bound > len)
            len = bound;
    }
    return raw_frame_size(c, len);
}

/* §5.3: the client masks every frame with a fresh, unpredictable key. */
static int new_key(ws_conn_impl_t *c, ws_frame_header_t *h)
{
    if (c->role != WS_ROLE_CLIENT)
        return 0;
    h->masked = 1;
    return c->random(h->mask_key, 4, c->random_user) != 0 ? WS_ERANDOM : 0;
}

/* The header h in front of its payload, already at out + header length
 * (masked in place unless `masked` says it already is), traced. */
static ptrdiff_t finish(ws_conn_impl_t *c, const ws_frame_header_t *h,
                        uint8_t *out, int masked)
{
    size_t hlen = ws_frame_header_encode(out, h);
    if (h->masked && !masked)
        ws_mask(out + hlen, out + hlen, (size_t)h->payload_len, h->mask_key, 0);
    if (c->trace)
        ws_conn_trace(c, WS_TRACE_OUT, out);
    return (ptrdiff_t)(hlen + h->payload_len);
}

/* One frame of data as given into out, masked on the way (one pass). */
static ptrdiff_t encode(ws_conn_impl_t *c, unsigned op, unsigned rsv, int fin,
                        const void *data, size_t len, void *out, size_t cap)
{
    size_t need = raw_frame_size(c, len);
    if (need > cap)
        return WS_ENOBUFS;
    if (need > PTRDIFF_MAX)
        return WS_EINVAL;

    ws_frame_header_t h = {.fin = fin ? 1 : 0,
                           .rsv = (uint8_t)rsv,
                           .opcode = (uint8_t)op,
                           .payload_len = len};
    if (new_key(c, &h) != 0)
        return WS_ERANDOM;
    uint8_t *p = (uint8_t *)out + (need - len);
    if (h.masked)
        ws_mask(p, data, len, h.mask_key, 0);
    else if (len)
        memcpy(p, data, len);
    return finish(c, &h, out, 1);
}

/* One frame of data through the extension's encode hook. The payload is
 * encoded behind room for the largest header its bound could need, then
 * moved up to its real header. Checked against the bound first, so
 * WS_ENOBUFS leaves the hook's state untouched. */
static ptrdiff_t encode_x(ws_conn_impl_t *c, unsigned op, int first, int fin,
                          const void *data, size_t len, void *out, size_t cap)
{
    size_t bound = c->ext->encode_bound(c->ext_state, len);
    size_t need = raw_frame_size(c, bound);
    if (need > cap)
        return WS_ENOBUFS;
    if (need > PTRDIFF_MAX)
        return WS_EINVAL;

    ws_frame_header_t h = {.fin = fin ? 1 : 0, .opcode = (uint8_t)op};
    if (new_key(c, &h) != 0)
        return WS_ERANDOM;
    uint8_t *payload = (uint8_t *)out + (need - bound);
    ws_ext_io_t io = {data, len, payload, bound, 0, (uint8_t)op, c->ext_rsv};
    io.flags = (first ? WS_EXT_BEGIN : 0) | (fin ? WS_EXT_FIN : 0);
    int r = c->ext->encode(c->ext_state, &io);
    if (r < 0)
        return r == WS_ENOMEM ? WS_ENOMEM : WS_EEXTENSION;
    if (io.in_len || io.out_len > bound || (fin && r != 1) ||
        (io.rsv & ~c->ext_rsv))
        return WS_EEXTENSION;
    h.rsv = first ? io.rsv : 0;
    h.payload_len = bound - io.out_len;
    size_t m = (size_t)h.payload_len;
    size_t hlen = raw_frame_size(c, m) - m;
    memmove((uint8_t *)out + hlen, payload, m);
    return finish(c, &h, out, 0);
}

/* What a fragment's rsv argument means for the message it is part of:
 * 0..7 explicit bits (the first fragment's for the whole message), or
 * WS_RSV_AUTO. Returns 0 or WS_EINVAL. */
static int check_rsv(const ws_conn_impl_t *c, unsigned rsv)
{
    if (rsv == WS_RSV_AUTO)
        return 0;
    if (rsv & ~(unsigned)c->ext_rsv)
        return WS_EINVAL; /* §5.2: only bits an extension negotiated */
    if (!c->send_op)
        return 0;
    /* later fragments: the message's own mode, or 0 */
    if (c->x_bits & WS_XB_SEND)
        return rsv == 0 ? 0 : WS_EINVAL;
    return rsv == 0 || rsv == c->send_rsv ? 0 : WS_EINVAL;
}

static unsigned message_opcode(const ws_conn_impl_t *c, ws_opcode_t op)
{
    if (!c->send_op)
        return op == WS_OP_CONTINUATION ? 0 : (unsigned)op;
    /* §5.4: messages are not interleaved */
    return op == WS_OP_CONTINUATION || (unsigned)op == c->send_op ? c->send_op
                                                                  : 0;
}

/* What one data frame of the outgoing message will be, decided before
 * anything is written: every rule is checked here, for the encoders and
 * the header-only one alike. */
typedef struct send_plan {
    unsigned msg;     /* the message's opcode */
    unsigned wire_op; /* the frame's: msg, or WS_OP_CONTINUATION */
    unsigned bits;    /* RSV bits of the message */
    int first, x, fin;
    uint32_t utf8; /* validator state after this fragment */
} send_plan_t;

static int plan_send(const ws_conn_impl_t *c, ws_opcode_t op, unsigned rsv,
                     int fin, const void *data, size_t len, send_plan_t *p)
{
    if (!data && len)
        return WS_EINVAL;
    if (op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CONTINUATION)
        return WS_EINVAL;
    if (check_rsv(c, rsv) != 0)
        return WS_EINVAL;
    /* §5.5.1: no data frames after a close frame, either way */
    if (c->close_bits)
        return WS_ESTATE;
    p->msg = message_opcode(c, op);
    if (!p->msg)
        return WS_ESTATE; /* no message to continue, or another one */

    p->fin = fin != 0;
    p->first = !c->send_op;
    p->x = p->first ? rsv == WS_RSV_AUTO && transforms(c)
                    : (c->x_bits & WS_XB_SEND) != 0;
    p->bits = p->first ? (rsv == WS_RSV_AUTO ? 0 : rsv) : c->send_rsv;
    p->utf8 = c->utf8_out;
    /* Text is validated before a transform; bytes the caller transformed
     * (explicit bits) are not text any more. */
    if (p->msg == WS_OP_TEXT && (p->x || !p->bits)) {
        p->utf8 = ws_utf8_run(p->utf8, data, len);
        if (p->utf8 == WS_UTF8_REJECT || (fin && p->utf8 != WS_UTF8_ACCEPT))
            return WS_EUTF8;
    }
    p->wire_op = p->first ? p->msg : WS_OP_CONTINUATION;
    return 0;
}

/* The frame of plan p was written: the message goes on, or is done. */
static void commit_send(ws_conn_impl_t *c, const send_plan_t *p)
{
    c->send_op = (uint8_t)(p->fin ? 0 : p->msg);
    c->send_rsv = (uint8_t)(p->fin ? 0 : p->bits);
    c->x_bits = (uint8_t)((c->x_bits & ~WS_XB_SEND) |
                          (!p->fin && p->x ? WS_XB_SEND : 0));
    c->utf8_out = (uint8_t)(p->fin ? WS_UTF8_ACCEPT : p->utf8);
}

WS_API ptrdiff_t ws_conn_send_fragment_ex(ws_conn_t *conn, ws_opcode_t op,
                                          unsigned rsv, int fin,
                                          const void *data, size_t len,
                                          void *out, size_t cap)
{
    ws_conn_impl_t *c = ws_impl(conn);
    send_plan_t p;
    if (!c || !out)
        return WS_EINVAL;
    int err = plan_send(c, op, rsv, fin, data, len, &p);
    if (err)
        return err;
    ptrdiff_t n =
        p.x ? encode_x(c, p.wire_op, p.first, fin, data, len, out, cap)
            : encode(c, p.wire_op, p.first ? p.bits : 0, fin, data, len, out,
                     cap);
    if (n >= 0)
        commit_send(c, &p);
    return n;
}

WS_API ptrdiff_t ws_conn_send_header(ws_conn_t *conn, ws_opcode_t op,
                                     unsigned rsv, int fin, const void *data,
                                     size_t len, void *out, size_t cap)
{
    ws_conn_impl_t *c = ws_impl(conn);
    send_plan_t p;
    if (!c || !out || rsv == WS_RSV_AUTO)
        return WS_EINVAL;
    /* §5.3: a client masks every payload, which is a copy: it uses the
     * encoders, into a buffer of its own. */
    if (c->role != WS_ROLE_SERVER)
        return WS_EINVAL;
    int err = plan_send(c, op, rsv, fin, data, len, &p);
    if (err)
        return err;
    size_t hlen = header_size(c, len);
    if (hlen > cap)
        return WS_ENOBUFS;
    ws_frame_header_t h = {.fin = (uint8_t)p.fin,
                           .rsv = (uint8_t)(p.first ? p.bits : 0),
                           .opcode = (uint8_t)p.wire_op,
                           .payload_len = len};
    hlen = ws_frame_header_encode(out, &h);
    if (c->trace)
        ws_conn_trace(c, WS_TRACE_OUT, out);
    commit_send(c, &p);
    return (ptrdiff_t)hlen;
}

WS_API ptrdiff_t ws_conn_send_fragment(ws_conn_t *c, ws_opcode_t op, int fin,
                                       const void *data, size_t len, void *out,
                                       size_t cap)
{
    return ws_conn_send_fragment_ex(c, op, 0, fin, data, len, out, cap);
}

WS_API ptrdiff_t ws_conn_send_message_ex(ws_conn_t *c, ws_opcode_t op,
                                         unsigned rsv, const void *data,
                                         size_t len, void *out, size_t cap)
{
    if (op != WS_OP_TEXT && op != WS_OP_BINARY)
        return WS_EINVAL;
    if (c && ws_impl(c)->send_op)
        return WS_ESTATE;
    return ws_conn_send_fragment_ex(c, op, rsv, 1, data, len, out, cap);
}

WS_API ptrdiff_t ws_conn_send_message(ws_conn_t *c, ws_opcode_t op,
                                      const void *data, size_t len, void *out,
                                      size_t cap)
{
    return ws_conn_send_message_ex(c, op, WS_RSV_AUTO, data, len, out, cap);
}

static ptrdiff_t send_control(ws_conn_t *conn, ws_opcode_t op, const void *data,
                              size_t len, void *out, size_t cap)
{
    ws_conn_impl_t *c = ws_impl(conn);
    if (!c || !out || (!data && len) || len > WS_MAX_CONTROL_PAYLOAD)
        return WS_EINVAL;
    if (c->close_bits)
        return WS_ESTATE;
    return encode(c, op, 0, 1, data, len, out, cap);
}

WS_API ptrdiff_t ws_conn_send_ping(ws_conn_t *c, const void *data, size_t len,
                                   void *out, size_t cap)
{
    return send_control(c, WS_OP_PING, data, len, out, cap);
}

WS_API ptrdiff_t ws_conn_send_pong(ws_conn_t *c, const void *data, size_t len,
                                   void *out, size_t cap)
{
    return send_control(c, WS_OP_PONG, data, len, out, cap);
}

WS_API ptrdiff_t ws_conn_send_close(ws_conn_t *conn, unsigned code,
                                    const char *reason, size_t reason_len,
                                    void *out, size_t cap)
{
    uint8_t body[WS_MAX_CONTROL_PAYLOAD];
    ws_conn_impl_t *c = ws_impl(conn);

    if (!c || !out || (!reason && reason_len))
        return WS_EINVAL;
    if (code == 0 ? reason_len != 0 : !ws_close_code_is_valid(code))
        return WS_EINVAL;
    if (reason_len > WS_MAX_CLOSE_REASON)
        return WS_EINVAL;
    if (c->close_bits & WS_CB_SENT)
        return WS_ESTATE;
    if (ws_utf8_validate(reason, reason_len) != 0)
        return WS_EUTF8;

    size_t len = 0;
    if (code) {
        ws_store_be16(body, (uint16_t)code);
        if (reason_len)
            memcpy(body + 2, reason, reason_len);
        len = 2 + reason_len;
    }
    ptrdiff_t n = encode(c, WS_OP_CLOSE, 0, 1, body, len, out, cap);
    if (n >= 0)
        c->close_bits |= WS_CB_SENT;
    return n;
}

ptrdiff_t ws_conn_build_control(ws_conn_impl_t *c, ws_opcode_t op, size_t len,
                                uint8_t **frame)
{
    uint8_t *payload = c->ctrl + WS_CTRL_PAYLOAD;
    uint8_t *hdr = payload - 2;

    if (c->role == WS_ROLE_CLIENT) {
        uint8_t key[4];
        if (c->random(key, 4, c->random_user) != 0)
            return WS_ERANDOM;
        hdr = payload - 6;
        memcpy(hdr + 2, key, 4);
        ws_mask(payload, payload, len, key, 0);
    }
    hdr[0] = (uint8_t)(0x80 | op);
    hdr[1] = (uint8_t)((c->role == WS_ROLE_CLIENT ? 0x80 : 0) | len);
    *frame = hdr;
    if (c->trace)
        ws_conn_trace(c, WS_TRACE_OUT, hdr);
    return (payload + len) - hdr;
}
