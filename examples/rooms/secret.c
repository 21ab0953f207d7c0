/*
 * secret.c — tokens from the kernel's CSPRNG, and password hashes
 * (HMAC-SHA256 per RFC 2104, PBKDF2 per RFC 8018 §5.2).
 */
#define _GNU_SOURCE
#include "secret.h"

#include "sha256.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define BLOCK 64 /* SHA-256's block size (RFC 2104's B) */

/* The two keyed hashes of RFC 2104 §2, started: inner with K ^ ipad,
 * outer with K ^ opad (a key longer than a block is hashed first). */
static void hmac_start(wsx_sha256_t *inner, wsx_sha256_t *outer,
                       const void *key, size_t key_len)
{
    uint8_t k[BLOCK] = {0}, pad[BLOCK];

    if (key_len > BLOCK) {
        wsx_sha256_t s;
        wsx_sha256_init(&s);
        wsx_sha256_update(&s, key, key_len);
        wsx_sha256_final(&s, k);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    wsx_sha256_init(inner);
    wsx_sha256_update(inner, pad, BLOCK);
    for (size_t i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    wsx_sha256_init(outer);
    wsx_sha256_update(outer, pad, BLOCK);
}

/* The HMAC of msg with the key's started hashes (copied, not used up). */
static void hmac_with(const wsx_sha256_t *inner, const wsx_sha256_t *outer,
                      const void *msg, size_t len, uint8_t out[32])
{
    wsx_sha256_t in = *inner, o = *outer;
    uint8_t mid[WSX_SHA256_LEN];

    wsx_sha256_update(&in, msg, len);
    wsx_sha256_final(&in, mid);
    wsx_sha256_update(&o, mid, sizeof mid);
    wsx_sha256_final(&o, out);
}

void secret_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t msg_len, uint8_t out[32])
{
    wsx_sha256_t inner, outer;

    hmac_start(&inner, &outer, key, key_len);
    hmac_with(&inner, &outer, msg, msg_len, out);
}

void secret_pbkdf2(const void *pw, size_t pw_len, const void *salt,
                   size_t salt_len, unsigned iterations, uint8_t *out,
                   size_t out_len)
{
    wsx_sha256_t inner, outer;
    uint8_t u[WSX_SHA256_LEN], t[WSX_SHA256_LEN];

    /* The key's padded blocks are hashed once, not once per round. */
    hmac_start(&inner, &outer, pw, pw_len);
    for (uint32_t block = 1; out_len; block++) {
        /* U_1 = PRF(P, S || INT(i)); U_j = PRF(P, U_{j-1}); T = xor. */
        uint8_t be[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16),
                         (uint8_t)(block >> 8), (uint8_t)block};
        wsx_sha256_t in = inner, o = outer;
        uint8_t mid[WSX_SHA256_LEN];
        wsx_sha256_update(&in, salt, salt_len);
        wsx_sha256_update(&in, be, sizeof be);
        wsx_sha256_final(&in, mid);
        wsx_sha256_update(&o, mid, sizeof mid);
        wsx_sha256_final(&o, u);
        memcpy(t, u, sizeof t);
        for (unsigned j = 1; j < iterations; j++) {
            hmac_with(&inner, &outer, u, sizeof u, u);
            for (size_t k = 0; k < sizeof t; k++)
                t[k] ^= u[k];
        }
        size_t n = out_len < sizeof t ? out_len : sizeof t;
        memcpy(out, t, n);
        out += n;
        out_len -= n;
    }
}

int secret_random(void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int secret_token(char out[SECRET_TOKEN_LEN + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t r[SECRET_TOKEN_LEN];

    /* 64 symbols: each random byte's low 6 bits pick one, without bias. */
    if (secret_random(r, sizeof r) != 0)
        return -1;
    for (size_t i = 0; i < SECRET_TOKEN_LEN; i++)
        out[i] = alphabet[r[i] & 63];
    out[SECRET_TOKEN_LEN] = '\0';
    return 0;
}

int secret_equal(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;

    for (size_t i = 0; i < len; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}
