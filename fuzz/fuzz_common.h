/*
 * fuzz_common.h — what the fuzz targets share: a failure macro, a small
 * deterministic PRNG, a growable byte buffer, and a reference UTF-8
 * validator written from RFC 3629 by decoding code points (no tables, no
 * state machine), so it shares no code or structure with lib/utf8.c.
 *
 * Everything here is static: each target is one translation unit.
 */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which, then abort so libFuzzer saves the input. */
#define FZ_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "\n%s:%d: invariant failed: %s\n  ", __FILE__,     \
                    __LINE__, #cond);                                          \
            fprintf(stderr, __VA_ARGS__);                                      \
            fprintf(stderr, "\n");                                             \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* The harness's own helpers need no coverage feedback, and comparison
 * tracing in their loops would cost more than the library under test. */
#if defined(__clang__)
#define FZ_NOCOV __attribute__((no_sanitize("coverage")))
#else
#define FZ_NOCOV
#endif

/* ------------------------------------------------------------- PRNG */

/* splitmix64: the split points and choices a target derives from its
 * input are a pure function of that input, so every crash reproduces. */
typedef struct fz_rng {
    uint64_t s;
} fz_rng_t;

static inline FZ_NOCOV uint64_t fz_next(fz_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform-ish in [0, n); 0 when n == 0. */
static inline FZ_NOCOV size_t fz_below(fz_rng_t *r, size_t n)
{
    return n ? (size_t)(fz_next(r) % n) : 0;
}

/* n pseudo-random bytes, or the alphabet repeated when letters is set. */
static inline FZ_NOCOV void fz_fill(fz_rng_t *r, uint8_t *p, size_t n,
                                    int letters)
{
    for (size_t i = 0; i < n; i++)
        p[i] = letters ? (uint8_t)('a' + i % 26) : (uint8_t)fz_next(r);
}

static inline FZ_NOCOV uint64_t fz_fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ------------------------------------------------- growable buffer */

typedef struct fz_buf {
    uint8_t *p;
    size_t len, cap;
} fz_buf_t;

static inline FZ_NOCOV void fz_buf_put(fz_buf_t *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        uint8_t *p = realloc(b->p, cap);
        FZ_CHECK(p != NULL, "out of memory in the harness");
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = 0; /* printable as a string when it holds text */
}

static inline FZ_NOCOV void fz_buf_printf(fz_buf_t *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        fz_buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static inline FZ_NOCOV void fz_buf_hex(fz_buf_t *b, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char h[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        fz_buf_put(b, h, 2);
    }
}

static inline FZ_NOCOV void fz_buf_free(fz_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* A heap copy of exactly n bytes (at least 1 allocated), so AddressSanitizer
 * catches a read one byte past what the library was given. */
static inline FZ_NOCOV uint8_t *fz_dup(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    FZ_CHECK(d != NULL, "out of memory in the harness");
    if (n)
        memcpy(d, p, n);
    return d;
}

/* A piece of input placed at the very end of the heap block tail[0..cap),
 * so that reading one byte past it is an AddressSanitizer report, without
 * a malloc per piece (k <= cap). */
static inline FZ_NOCOV uint8_t *fz_at_tail(uint8_t *tail, size_t cap,
                                           const void *p, size_t k)
{
    uint8_t *d = tail + cap - k;
    if (k)
        memmove(d, p, k);
    return d;
}

/* ------------------------------------------- reference UTF-8 (RFC 3629) */

/* How many bytes the character led by b has (RFC 3629 §3), from the
 * position of its first zero bit; 0 for a byte that cannot lead one
 * (a continuation byte 10xxxxxx, or 11111xxx). */
static inline FZ_NOCOV int ref_utf8_need(uint8_t b)
{
    if (b < 0x80)
        return 1;
    if ((b & 0xE0) == 0xC0)
        return 2;
    if ((b & 0xF0) == 0xE0)
        return 3;
    if ((b & 0xF8) == 0xF0)
        return 4;
    return 0;
}

/*
 * The character at p, of which only `have` bytes (1 <= have <= need) are
 * known. Returns 1 if it is complete and valid, 0 if it is incomplete but
 * some continuation would make it valid, -1 if no continuation can.
 * Decodes the known bits and asks whether the interval of code points the
 * missing bits could still give meets the valid ones: at least the
 * smallest value of this length (no overlong form), at most U+10FFFF, and
 * not only surrogates (U+D800..U+DFFF).
 */
static inline FZ_NOCOV int ref_utf8_char(const uint8_t *p, int have)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    int need = ref_utf8_need(p[0]);
    if (need == 0)
        return -1;
    if (need == 1)
        return 1;
    uint32_t cp = p[0] & (0x7Fu >> need);
    for (int k = 1; k < have; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return -1;
        cp = cp << 6 | (p[k] & 0x3Fu);
    }
    int missing = need - have;
    uint32_t lo = cp << (6 * missing);
    uint32_t hi = lo | ((1u << (6 * missing)) - 1);
    if (lo < min_cp[need])
        lo = min_cp[need];
    if (hi > 0x10FFFF)
        hi = 0x10FFFF;
    if (lo > hi || (lo >= 0xD800 && hi <= 0xDFFF))
        return -1;
    return missing ? 0 : 1;
}

/*
 * Scan p[0..n) one byte at a time. Returns the length of the shortest
 * prefix that no continuation can make valid (so the offending byte is at
 * index result - 1), or 0 if there is none; *boundary is set to whether
 * p[0..n) ends between characters (meaningful when the result is 0).
 */
static inline FZ_NOCOV size_t ref_utf8_scan(const uint8_t *p, size_t n,
                                            int *boundary)
{
    size_t i = 0;
    *boundary = 1;
    while (i < n) {
        int need = ref_utf8_need(p[i]);
        if (need == 0)
            return i + 1;
        size_t avail = n - i;
        int upto = (size_t)need < avail ? need : (int)avail;
        for (int have = 1; have <= upto; have++)
            if (ref_utf8_char(p + i, have) < 0)
                return i + (size_t)have;
        if ((size_t)need > avail) {
            *boundary = 0;
            return 0;
        }
        i += (size_t)need;
    }
    return 0;
}

/* p[0..n) is complete, valid UTF-8. */
static inline FZ_NOCOV int ref_utf8_valid(const uint8_t *p, size_t n)
{
    int boundary;
    return ref_utf8_scan(p, n, &boundary) == 0 && boundary;
}

/* p[0..n) can still be the start of valid UTF-8. */
static inline FZ_NOCOV int ref_utf8_prefix_ok(const uint8_t *p, size_t n)
{
    int boundary;
    return ref_utf8_scan(p, n, &boundary) == 0;
}

/* Encode code point cp (assumed valid) as UTF-8 into out; returns 1..4. */
static inline FZ_NOCOV size_t ref_utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* A valid code point from a few input bits: mostly the edges (one less
 * or more than each encoding length's limits, around the surrogates). */
static inline FZ_NOCOV uint32_t ref_utf8_pick(uint32_t seed)
{
    static const uint32_t edges[] = {
        0x00,   0x41,   0x7F,   0x80,    0x7FF,   0x800,    0xD7FF,
        0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF, 0xE9,
    };
    uint32_t n = sizeof edges / sizeof edges[0];
    if ((seed & 0xFF) < 3 * n)
        return edges[(seed & 0xFF) % n];
    uint32_t cp = (seed >> 8) % 0x110000;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        cp -= 0x800;
    return cp;
}

#endif /* WS_FUZZ_COMMON_H */
