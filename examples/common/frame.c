/*
 * frame.c — a whole message encoded once as a server-role frame, in a
 * reference-counted block: the caller holds one reference, every output
 * queue that sends it one more (queue.c), and it is freed when the last
 * one lets go.
 */
#include "wsx_int.h"

#include <stdlib.h>
#include <string.h>

wsx_frame_t *wsx_frame_new(ws_opcode_t op, const void *data, size_t len,
                           int *err)
{
    ws_frame_header_t h = {.fin = 1, .opcode = (uint8_t)op, .payload_len = len};
    uint8_t head[WS_MAX_HEADER_LEN];
    wsx_frame_t *f;
    size_t hlen;
    int dummy;

    if (!err)
        err = &dummy;
    if ((op != WS_OP_TEXT && op != WS_OP_BINARY) || (!data && len) ||
        len > SIZE_MAX - sizeof *f - sizeof head) {
        *err = WS_EINVAL;
        return NULL;
    }
    /* RFC 6455 §8.1: a text message is UTF-8; checked once, for all. */
    if (op == WS_OP_TEXT && ws_utf8_validate(data, len) != 0) {
        *err = WS_EUTF8;
        return NULL;
    }
    hlen = ws_frame_header_encode(head, &h);
    if (!(f = malloc(sizeof *f + hlen + len))) {
        *err = WS_ENOMEM;
        return NULL;
    }
    f->refs = 1;
    f->queued = 0;
    f->len = hlen + len;
    memcpy(f->bytes, head, hlen);
    if (len)
        memcpy(f->bytes + hlen, data, len);
    *err = 0;
    return f;
}

unsigned wsx_frame_refs(const wsx_frame_t *f)
{
    return f->refs;
}

size_t wsx_frame_size(const wsx_frame_t *f)
{
    return f->len;
}

void wsx_frame_release(wsx_frame_t *f)
{
    if (f && --f->refs == 0)
        free(f);
}
