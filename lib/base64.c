/* base64.c — RFC 4648 §4 base64 for Sec-WebSocket-Key and -Accept.
 * The decoder is strict on purpose: RFC 6455 §4.2.1 wants a key that
 * decodes to exactly 16 bytes, and accepting several spellings of one key
 * (missing padding, non-zero trailing bits, whitespace) buys nothing. */
#include "wsproto_int.h"

static const char b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t ws_base64_encode(char *out, const void *in, size_t len)
{
    const uint8_t *p = in;
    size_t o = 0;

    for (; len >= 3; p += 3, len -= 3) {
        uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    /* RFC 4648 §4: a final 1 or 2 bytes become 2 or 3 characters plus
     * padding to a multiple of 4. */
    if (len > 0) {
        uint32_t v = (uint32_t)p[0] << 16 | (len > 1 ? (uint32_t)p[1] << 8 : 0);
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = len > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

/* The 6-bit value of an alphabet character, or -1 (padding included). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

ptrdiff_t ws_base64_decode(uint8_t *out, size_t cap, const char *in, size_t len)
{
    size_t pad = 0, need, o = 0;

    /* RFC 4648 §3.2: padding is required, so the length is a multiple of
     * 4; at most two '=' and only at the very end. */
    if (len % 4 != 0)
        return -1;
    if (len == 0)
        return 0;
    if (in[len - 1] == '=')
        pad = in[len - 2] == '=' ? 2 : 1;
    need = len / 4 * 3 - pad;
    if (need > cap)
        return -1;

    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int a = b64_value((unsigned char)in[i]);
        int b = b64_value((unsigned char)in[i + 1]);
        int c = last && pad == 2 ? 0 : b64_value((unsigned char)in[i + 2]);
        int d = last && pad >= 1 ? 0 : b64_value((unsigned char)in[i + 3]);
        uint32_t v;

        if (a < 0 || b < 0 || c < 0 || d < 0)
            return -1;
        v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
            (uint32_t)d;
        /* RFC 4648 §3.5: the bits under the padding must be zero. */
        if (last && pad == 2 && (v & 0xFFFFu) != 0)
            return -1;
        if (last && pad == 1 && (v & 0xFFu) != 0)
            return -1;
        out[o++] = (uint8_t)(v >> 16);
        if (!(last && pad == 2))
            out[o++] = (uint8_t)(v >> 8);
        if (!(last && pad >= 1))
            out[o++] = (uint8_t)v;
    }
    return (ptrdiff_t)o;
}
