/*
 * send.c — the send side of a connection: messages, fragments and control
 * frames encoded into the caller's buffer. The connection only tracks what
 * the protocol needs: the unfinished outgoing message (RFC 6455 §5.4) with
 * its UTF-8 state, and whether our close frame has gone (§5.5.1).
 */
#include "wsproto_int.h"

#include <string.h>

WS_API size_t ws_conn_frame_size(const ws_conn_t *c, size_t len)
{
    size_t header = 2 + (c->role == WS_ROLE_CLIENT ? 4 : 0);
    if (len >= 126)
        header += len <= 0xFFFF ? 2 : 8;
    return len > SIZE_MAX - header ? SIZE_MAX : header + len;
}

/* One frame into out. The client masks every frame with a fresh key
 * (§5.3: unpredictable, so a fresh one from the random source each time). */
static ptrdiff_t encode(ws_conn_t *c, unsigned op, int fin, const void *data,
                        size_t len, void *out, size_t cap)
{
    size_t need = ws_conn_frame_size(c, len);
    if (need > cap)
        return WS_ENOBUFS;
    if (need > PTRDIFF_MAX)
        return WS_EINVAL;

    ws_frame_header_t h = {.fin = fin ? 1 : 0, .opcode = (uint8_t)op,
                           .payload_len = len};
    if (c->role == WS_ROLE_CLIENT) {
        h.masked = 1;
        if (c->random(h.mask_key, 4, c->random_user) != 0)
            return WS_ERANDOM;
    }
    uint8_t *p = out;
    size_t hlen = ws_frame_header_encode(p, &h);
    if (h.masked)
        ws_mask(p + hlen, data, len, h.mask_key, 0);
    else if (len)
        memcpy(p + hlen, data, len);
    return (ptrdiff_t)(hlen + len);
}

WS_API ptrdiff_t ws_conn_send_fragment(ws_conn_t *c, ws_opcode_t op, int fin,
                                       const void *data, size_t len, void *out,
                                       size_t cap)
{
    if (!c || !out || (!data && len))
        return WS_EINVAL;
    if (op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CONTINUATION)
        return WS_EINVAL;
    /* §5.5.1: no data frames after a close frame, either way */
    if (c->close_bits)
        return WS_ESTATE;

    unsigned msg = c->send_op;
    if (!msg) {
        if (op == WS_OP_CONTINUATION)
            return WS_ESTATE; /* no message to continue */
        msg = op;
    } else if (op != WS_OP_CONTINUATION && op != msg) {
        return WS_ESTATE; /* §5.4: messages are not interleaved */
    }

    uint32_t u = c->utf8_out;
    if (msg == WS_OP_TEXT) {
        u = ws_utf8_run(u, data, len);
        if (u == WS_UTF8_REJECT || (fin && u != WS_UTF8_ACCEPT))
            return WS_EUTF8;
    }
    ptrdiff_t n = encode(c, c->send_op ? WS_OP_CONTINUATION : msg, fin, data,
                         len, out, cap);
    if (n < 0)
        return n;
    c->send_op = (uint8_t)(fin ? 0 : msg);
    c->utf8_out = (uint8_t)(fin ? WS_UTF8_ACCEPT : u);
    return n;
}

WS_API ptrdiff_t ws_conn_send_message(ws_conn_t *c, ws_opcode_t op,
                                      const void *data, size_t len, void *out,
                                      size_t cap)
{
    if (op != WS_OP_TEXT && op != WS_OP_BINARY)
        return WS_EINVAL;
    if (c && c->send_op)
        return WS_ESTATE;
    return ws_conn_send_fragment(c, op, 1, data, len, out, cap);
}

static ptrdiff_t send_control(ws_conn_t *c, ws_opcode_t op, const void *data,
                              size_t len, void *out, size_t cap)
{
    if (!c || !out || (!data && len) || len > WS_MAX_CONTROL_PAYLOAD)
        return WS_EINVAL;
    if (c->close_bits)
        return WS_ESTATE;
    return encode(c, op, 1, data, len, out, cap);
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

WS_API ptrdiff_t ws_conn_send_close(ws_conn_t *c, unsigned code,
                                    const char *reason, size_t reason_len,
                                    void *out, size_t cap)
{
    uint8_t body[WS_MAX_CONTROL_PAYLOAD];

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
    ptrdiff_t n = encode(c, WS_OP_CLOSE, 1, body, len, out, cap);
    if (n >= 0)
        c->close_bits |= WS_CB_SENT;
    return n;
}

ptrdiff_t ws_conn_build_control(ws_conn_t *c, ws_opcode_t op, size_t len,
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
    return (payload + len) - hdr;
}
