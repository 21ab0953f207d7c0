/* sha1.c — SHA-1 (RFC 3174), only for Sec-WebSocket-Accept (RFC 6455
 * §4.2.2). The handshake needs no collision resistance (RFC 6455 §10.8), so
 * a small, portable implementation is all we want: no tables, no SIMD. */
#include "wsproto_int.h"

#include <string.h>

static uint32_t rol32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           (uint32_t)p[3];
}

/* RFC 3174 §6.2 (method 2): a 16-word circular schedule instead of W[80]. */
static void sha1_block(uint32_t h[5], const uint8_t *block)
{
    uint32_t w[16];
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 0; t < 80; t++) {
        uint32_t f, k, tmp;
        if (t >= 16) {
            uint32_t x = w[(t + 13) & 15] ^ w[(t + 8) & 15] ^ w[(t + 2) & 15] ^
                         w[t & 15];
            w[t & 15] = rol32(x, 1);
        }
        /* RFC 3174 §5: f(t) and K(t) for the four rounds. */
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        tmp = rol32(a, 5) + f + e + w[t & 15] + k;
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = tmp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ws_sha1_init(ws_sha1_t *s)
{
    /* RFC 3174 §6.1: initial H0..H4. */
    s->h[0] = 0x67452301u;
    s->h[1] = 0xEFCDAB89u;
    s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u;
    s->h[4] = 0xC3D2E1F0u;
    s->total_len = 0;
    s->block_len = 0;
}

void ws_sha1_update(ws_sha1_t *s, const void *data, size_t len)
{
    const uint8_t *p = data;

    if (len == 0)
        return;
    s->total_len += len;
    if (s->block_len > 0) {
        size_t n = sizeof s->block - s->block_len;
        if (n > len)
            n = len;
        memcpy(s->block + s->block_len, p, n);
        s->block_len += n;
        p += n;
        len -= n;
        if (s->block_len < sizeof s->block)
            return;
        sha1_block(s->h, s->block);
        s->block_len = 0;
    }
    /* Whole blocks straight from the caller's bytes, no copy. */
    for (; len >= 64; p += 64, len -= 64)
        sha1_block(s->h, p);
    if (len > 0) {
        memcpy(s->block, p, len);
        s->block_len = len;
    }
}

void ws_sha1_final(ws_sha1_t *s, uint8_t digest[WS_SHA1_LEN])
{
    /* RFC 3174 §4: append 0x80, zeros up to 56 mod 64, then the message
     * length in bits as a 64-bit big-endian integer. */
    uint64_t bits = s->total_len * 8;

    s->block[s->block_len++] = 0x80;
    if (s->block_len > 56) {
        memset(s->block + s->block_len, 0, 64 - s->block_len);
        sha1_block(s->h, s->block);
        s->block_len = 0;
    }
    memset(s->block + s->block_len, 0, 56 - s->block_len);
    ws_store_be64(s->block + 56, bits);
    sha1_block(s->h, s->block);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
    /* The state is spent; leave it as a fresh one rather than half-used. */
    ws_sha1_init(s);
}
