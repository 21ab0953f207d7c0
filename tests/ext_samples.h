/*
 * ext_samples.h — two real, small extensions that prove the extension
 * interface (ws_extension_t), shared by tests/test_conn_ext.c and
 * fuzz/ext_stream.c:
 *   nibble  RSV1, reversible: every byte travels as two, 0x40 | high
 *           nibble then 0x40 | low nibble; a byte outside 0x40-0x4F, or a
 *           message that ends between the two, is a decode failure (1007);
 *   bomb    RSV2, receive only: every input byte becomes 1000 copies of
 *           itself, to drive max_message the way a decompression bomb does.
 */
#ifndef WS_EXT_SAMPLES_H
#define WS_EXT_SAMPLES_H

#include "wsproto.h"

#include <string.h>

/* ---------------------------------------------------------- nibble */

typedef struct nibble {
    int have; /* a high nibble is waiting for its low one */
    uint8_t hi;
    unsigned resets, destroys, begins, encodes;
    int fail;     /* decode returns this (e.g. WS_ENOMEM) */
    int enc_fail; /* encode returns this */
} nibble_t;

static inline int nibble_decode(void *state, ws_ext_io_t *io)
{
    nibble_t *s = state;
    if (io->flags & WS_EXT_BEGIN) {
        s->have = 0;
        s->begins++;
    }
    if (s->fail)
        return s->fail;
    while (io->in_len && io->out_len) {
        uint8_t b = *io->in++;
        io->in_len--;
        if ((b & 0xF0) != 0x40)
            return -1;
        if (!s->have) {
            s->hi = (uint8_t)(b & 0x0F);
            s->have = 1;
            continue;
        }
        *io->out++ = (uint8_t)(s->hi << 4 | (b & 0x0F));
        io->out_len--;
        s->have = 0;
    }
    /* A lone high nibble still fits when the room ran out first. */
    if (io->in_len && !s->have && (*io->in & 0xF0) == 0x40) {
        s->hi = (uint8_t)(*io->in++ & 0x0F);
        io->in_len--;
        s->have = 1;
    }
    if (!(io->flags & WS_EXT_FIN) || io->in_len)
        return 0;
    return s->have ? -1 : 1;
}

static inline int nibble_encode(void *state, ws_ext_io_t *io)
{
    nibble_t *s = state;
    s->encodes++;
    if (s->enc_fail)
        return s->enc_fail;
    while (io->in_len && io->out_len >= 2) {
        uint8_t b = *io->in++;
        io->in_len--;
        *io->out++ = (uint8_t)(0x40 | b >> 4);
        *io->out++ = (uint8_t)(0x40 | (b & 0x0F));
        io->out_len -= 2;
    }
    return (io->flags & WS_EXT_FIN) && !io->in_len;
}

/* Four bytes of slack, so the bound's header can be longer than the
 * frame's real one (len 62: bound 128 needs 126-form, output 124 not). */
static inline size_t nibble_bound(const void *state, size_t len)
{
    (void)state;
    return 2 * len + 4;
}

static inline void nibble_reset(void *state)
{
    nibble_t *s = state;
    s->have = 0;
    s->resets++;
}

static inline void nibble_destroy(void *state)
{
    ((nibble_t *)state)->destroys++;
}

static const ws_extension_t nibble_ext = {
    .name = "x-nibble",
    .rsv = WS_RSV1,
    .fail_code = WS_CLOSE_INVALID_DATA,
    .decode = nibble_decode,
    .encode = nibble_encode,
    .encode_bound = nibble_bound,
    .reset = nibble_reset,
    .destroy = nibble_destroy,
};

/* ------------------------------------------------------------ bomb */

typedef struct bomb {
    size_t left;
    uint8_t byte;
    size_t produced; /* all output, delivered or not */
} bomb_t;

#define BOMB_FACTOR 1000u

static inline int bomb_decode(void *state, ws_ext_io_t *io)
{
    bomb_t *s = state;
    if (io->flags & WS_EXT_BEGIN)
        s->left = 0;
    while (io->out_len) {
        if (s->left == 0) {
            if (!io->in_len)
                break;
            s->byte = *io->in++;
            io->in_len--;
            s->left = BOMB_FACTOR;
        }
        size_t n = s->left < io->out_len ? s->left : io->out_len;
        memset(io->out, s->byte, n);
        io->out += n;
        io->out_len -= n;
        s->left -= n;
        s->produced += n;
    }
    return (io->flags & WS_EXT_FIN) && !io->in_len && !s->left;
}

static const ws_extension_t bomb_ext = {
    .name = "x-bomb",
    .rsv = WS_RSV2,
    .fail_code = WS_CLOSE_INVALID_DATA,
    .decode = bomb_decode,
};

#endif
