/*
 * secret.h — what the server keeps secret: the tokens it hands out and
 * the rooms' passwords, which it keeps only as salted, iterated hashes
 * (PBKDF2-HMAC-SHA256, RFC 8018 §5.2, on examples/common/sha256.c).
 */
#ifndef ROOMS_SECRET_H
#define ROOMS_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_TOKEN_LEN 32 /* characters, 6 random bits each */
#define SECRET_SALT_LEN 16
#define SECRET_HASH_LEN 32
/* Iterations of a password hash. Hashing runs on the event loop, so this
 * is what a create or join with a password costs every other client: a
 * few milliseconds (README.md, "Limits"). */
#define SECRET_ITERATIONS 2048u

/* HMAC-SHA256 (RFC 2104) of msg under key. */
void secret_hmac_sha256(const void *key, size_t key_len, const void *msg,
                        size_t msg_len, uint8_t out[32]);

/* PBKDF2-HMAC-SHA256 (RFC 8018 §5.2): out_len bytes derived from the
 * password and salt in `iterations` rounds. */
void secret_pbkdf2(const void *pw, size_t pw_len, const void *salt,
                   size_t salt_len, unsigned iterations, uint8_t *out,
                   size_t out_len);

/* n bytes from the kernel's CSPRNG (getrandom). 0, or -1 with errno. */
int secret_random(void *buf, size_t n);

/* A fresh token: SECRET_TOKEN_LEN characters from [A-Za-z0-9-_] and a
 * NUL. 0, or -1 with errno. */
int secret_token(char out[SECRET_TOKEN_LEN + 1]);

/* Equal, in a time that does not depend on where they differ. */
int secret_equal(const void *a, const void *b, size_t len);

#endif
