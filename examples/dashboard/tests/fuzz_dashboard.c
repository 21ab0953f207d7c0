/*
 * fuzz_dashboard.c — libFuzzer target for what ws-dashboard takes from the
 * network: the /ws query (params.c), and the SHA-256 it hashes payload
 * with (examples/common/sha256.c).
 *
 * Input: [mode] rest. mode even: rest is a query string, parsed with a
 * reason buffer of (mode >> 1) + 1 bytes; on success every value is within
 * its limit, on failure the reason is a NUL-terminated line that fits.
 * mode odd: rest is hashed whole and split at byte (mode >> 1) % (n + 1);
 * both digests must agree. The bytes live in heap blocks of exactly their
 * size, so a read past them is an AddressSanitizer report.
 */
#include "dashboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_dashboard: %s\n", what);
    abort();
}

static int tag_char_ok(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

static void query(unsigned mode, const uint8_t *p, size_t n)
{
    size_t cap = (mode >> 1) + 1;
    char *q = malloc(n ? n : 1), *why = malloc(cap);
    dash_params_t prm;

    if (!q || !why)
        abort();
    memcpy(q, p, n);
    memset(why, 'X', cap);
    if (dash_params_parse(q, n, &prm, why, cap) == 0) {
        if (prm.fragment > DASH_MAX_FRAGMENT ||
            prm.generate > DASH_MAX_GENERATE)
            fail("a value over its limit was accepted");
        if (prm.gen_op != WS_OP_TEXT && prm.gen_op != WS_OP_BINARY)
            fail("a type that is neither text nor binary");
        if (!prm.has_generate && prm.generate)
            fail("generate set without the parameter");
        const char *end = memchr(prm.tag, '\0', sizeof prm.tag);
        if (!end)
            fail("tag too long");
        size_t tl = (size_t)(end - prm.tag);
        for (size_t i = 0; i < tl; i++)
            if (!tag_char_ok(prm.tag[i]))
                fail("tag with a character outside [A-Za-z0-9_-]");
    } else if (!memchr(why, '\0', cap)) {
        fail("the reason does not fit its buffer");
    }
    free(q);
    free(why);
}

static void digest(const uint8_t *p, size_t n, size_t cut, uint8_t out[32])
{
    wsx_sha256_t s;
    wsx_sha256_init(&s);
    wsx_sha256_update(&s, p, cut);
    wsx_sha256_update(&s, p + cut, n - cut);
    wsx_sha256_final(&s, out);
}

static void hash(unsigned mode, const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1), whole[32], split[32];

    if (!b)
        abort();
    memcpy(b, p, n);
    digest(b, n, n, whole);
    digest(b, n, (mode >> 1) % (n + 1), split);
    if (memcmp(whole, split, 32) != 0)
        fail("the digest depends on where the input is split");
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1)
        hash(data[0], data + 1, size - 1);
    else
        query(data[0], data + 1, size - 1);
    return 0;
}
