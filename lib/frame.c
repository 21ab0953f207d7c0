/* frame.c — frame header decoding and encoding, RFC 6455 §5.2. Stateless:
 * the connection (conn.c) decides whether a decoded header is acceptable. */
#include "wsproto_int.h"

#include <string.h>

WS_API int ws_frame_header_parse(const void *buf, size_t len,
                                 ws_frame_header_t *h, int strict_length)
{
    const uint8_t *p = buf;
    if (!h || (!p && len))
        return WS_EINVAL;
    if (len < 2)
        return WS_EAGAIN;

    size_t hlen = ws_frame_header_len(p[1]);
    if (len < hlen)
        return WS_EAGAIN;

    h->fin = p[0] >> 7;
    h->rsv = (p[0] >> 4) & 7;
    h->opcode = p[0] & 0x0F;
    h->masked = p[1] >> 7;

    const uint8_t *ext = p + 2;
    uint64_t plen = p[1] & 0x7F;
    if (plen == 126) {
        plen = ws_load_be16(ext);
        ext += 2;
        /* RFC 6455 §5.2: "the minimal number of bytes MUST be used" */
        if (strict_length && plen < 126)
            return WS_ELENGTH;
    } else if (plen == 127) {
        plen = ws_load_be64(ext);
        ext += 8;
        /* RFC 6455 §5.2: the most significant bit MUST be 0 */
        if (plen >> 63)
            return WS_ELENGTH;
        if (strict_length && plen <= 0xFFFF)
            return WS_ELENGTH;
    }
    h->payload_len = plen;
    if (h->masked)
        memcpy(h->mask_key, ext, 4);
    else
        memset(h->mask_key, 0, 4);
    return (int)hlen;
}

WS_API size_t ws_frame_header_encode(void *out, const ws_frame_header_t *h)
{
    uint8_t *p = out;
    uint8_t mask_bit = h->masked ? 0x80 : 0;
    size_t n = 2;

    p[0] =
        (uint8_t)((h->fin ? 0x80 : 0) | (h->rsv & 7) << 4 | (h->opcode & 0x0F));
    if (h->payload_len < 126) {
        p[1] = (uint8_t)(mask_bit | h->payload_len);
    } else if (h->payload_len <= 0xFFFF) {
        p[1] = mask_bit | 126;
        ws_store_be16(p + 2, (uint16_t)h->payload_len);
        n = 4;
    } else {
        p[1] = mask_bit | 127;
        ws_store_be64(p + 2, h->payload_len);
        n = 10;
    }
    if (h->masked) {
        memcpy(p + n, h->mask_key, 4);
        n += 4;
    }
    return n;
}
