/*
 * broadcast.c — one message to many connections, encoded once.
 *
 * A server's frames are not masked (RFC 6455 §5.1: only a client masks),
 * so the bytes of a message are the same for every peer: the frame is
 * built once (frame.c), and every output queue that sends it holds a
 * reference (a chunk of kind WSX_CH_FRAME) instead of a copy. Each
 * connection's queued bytes still count the whole frame, so backpressure
 * sees what that peer has not yet taken.
 */
#include "wsx_int.h"

/* Whether a whole message may go to c now (RFC 6455 §5.4: not inside a
 * fragmented message of ours; §5.5.1: not after a close frame). */
static int may_send_frame(const wsx_conn_t *c)
{
    return wsx_conn_is_open(c) && !(c->flags & WSX_F_FRAGMENT) &&
           ws_conn_state(&c->ws) == WS_STATE_OPEN;
}

int wsx_conn_send_frame(wsx_conn_t *c, wsx_frame_t *f)
{
    if (c->ep->ops->role != WS_ROLE_SERVER)
        return WS_EINVAL; /* a client's frames are masked, each its own */
    if (!may_send_frame(c))
        return WS_ESTATE;
    if (wsx_queue_frame(&c->out, &c->ep->loop->chunks, f) != 0)
        return WS_ENOMEM;
    wsx_out_account(c, f->len);
    return 0;
}

int wsx_broadcast(wsx_conn_t *const *conns, size_t n, ws_opcode_t op,
                  const void *data, size_t len)
{
    int err, sent = 0;
    wsx_frame_t *f = wsx_frame_new(op, data, len, &err);

    if (!f)
        return err;
    for (size_t i = 0; i < n; i++)
        if (wsx_conn_send_frame(conns[i], f) == 0)
            sent++;
    wsx_frame_release(f);
    return sent;
}

int wsx_server_broadcast(wsx_server_t *s, ws_opcode_t op, const void *data,
                         size_t len)
{
    int err, sent = 0;
    wsx_frame_t *f = wsx_frame_new(op, data, len, &err);

    if (!f)
        return err;
    for (wsx_conn_t *c = wsx_server_next(s, NULL); c; c = wsx_server_next(s, c))
        if (wsx_conn_send_frame(c, f) == 0)
            sent++;
    wsx_frame_release(f);
    return sent;
}
