/*
 * wsproto_int.h — private interfaces shared between the files of lib/.
 * Not installed. Everything here has hidden visibility in the shared
 * library; the unit tests reach it through the static library.
 */
#ifndef WSPROTO_INT_H
#define WSPROTO_INT_H

#include "wsproto.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ sha1.c */

/* SHA-1 (RFC 3174). Used only for Sec-WebSocket-Accept, where collision
 * resistance does not matter (RFC 6455 §10.8). */
typedef struct ws_sha1 {
    uint32_t h[5];
    uint64_t total_len; /* bytes hashed so far */
    uint8_t block[64];
    size_t block_len;
} ws_sha1_t;

#define WS_SHA1_LEN 20

void ws_sha1_init(ws_sha1_t *s);
void ws_sha1_update(ws_sha1_t *s, const void *data, size_t len);
void ws_sha1_final(ws_sha1_t *s, uint8_t digest[WS_SHA1_LEN]);

/* ---------------------------------------------------------- base64.c */

/* Characters needed to encode n bytes (RFC 4648 §4, padded). */
#define WS_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encode len bytes into out (WS_BASE64_ENCODED_LEN(len) chars, no NUL).
 * Returns the number of characters written. */
size_t ws_base64_encode(char *out, const void *in, size_t len);

/* Decode strict, padded base64 (no whitespace, no missing padding,
 * non-zero trailing bits rejected). Returns the decoded length, or -1 when
 * the input is invalid or the result does not fit in cap bytes. */
ptrdiff_t ws_base64_decode(uint8_t *out, size_t cap, const char *in,
                           size_t len);

/* ------------------------------------------------------------ utf8.c */

/* Validator states. ACCEPT: on a character boundary. REJECT: failed, and
 * sticky. Anything else: inside a multi-byte character. All fit a byte. */
#define WS_UTF8_ACCEPT 0u
#define WS_UTF8_REJECT 1u

/* Advance the validator over p[0..n) from `state`; returns the new state.
 * Returns WS_UTF8_REJECT as soon as a byte makes the text invalid. */
uint32_t ws_utf8_run(uint32_t state, const uint8_t *p, size_t n);

/* ------------------------------------------------------------ mask.c */

/* ws_mask(), and nonzero when every byte written is ASCII (< 0x80): the
 * unmask of text tells the validator what it may skip, in the same pass. */
int ws_mask_ascii(void *dst, const void *src, size_t len, const uint8_t key[4],
                  uint64_t offset);

/* ----------------------------------------------------------- close.c */

/* Parse a received close payload (RFC 6455 §5.5.1, §7.4): sets *code
 * (WS_CLOSE_NO_STATUS when empty). Returns 0, WS_ECLOSE_PAYLOAD (1 byte),
 * WS_ECLOSE_CODE, or WS_EUTF8 (reason). */
int ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code);

/* ------------------------------------------------------------ frame.c */

/* Length of the header whose first two bytes are b0 b1 (2..14). */
static inline size_t ws_frame_header_len(uint8_t b1)
{
    static const uint8_t ext[4] = {0, 0, 2, 8}; /* by 126/127 selector */
    size_t len7 = b1 & 0x7Fu;
    size_t sel = len7 < 126 ? 0 : len7 - 124; /* 0, 2 or 3 */
    return 2 + ext[sel] + ((b1 & 0x80u) ? 4 : 0);
}

/* ----------------------------------------------------------- endian */

static inline uint16_t ws_load_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint64_t ws_load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void ws_store_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ws_store_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

#endif /* WSPROTO_INT_H */
