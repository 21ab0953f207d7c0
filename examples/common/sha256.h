/*
 * sha256.h — SHA-256 (FIPS 180-4), incremental, for the examples that
 * report message digests (the fragmentation dashboard). Pure C, no
 * allocation: the caller owns the context.
 */
#ifndef WSX_SHA256_H
#define WSX_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WSX_SHA256_LEN 32

typedef struct wsx_sha256 {
    uint32_t h[8];
    uint64_t bytes;    /* message length so far */
    uint8_t block[64]; /* the unfinished block */
} wsx_sha256_t;

void wsx_sha256_init(wsx_sha256_t *s);

/* Hash the next len bytes; a message may be fed in pieces split anywhere. */
void wsx_sha256_update(wsx_sha256_t *s, const void *data, size_t len);

/* The digest of everything fed. s must be initialised again before reuse. */
void wsx_sha256_final(wsx_sha256_t *s, uint8_t out[WSX_SHA256_LEN]);

/* The digest as 64 lowercase hex digits and a NUL. */
void wsx_sha256_hex(const uint8_t digest[WSX_SHA256_LEN], char out[65]);

#endif /* WSX_SHA256_H */
