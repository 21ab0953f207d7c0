/* test_utf8.c — the UTF-8 validator (lib/utf8.c, lib/utf8_simd.c) against
 * RFC 3629 and Markus Kuhn's UTF-8 decoder stress test, at every split
 * point, and against a plain reference decoder written here. */
static const char th_suite_name[] = "utf8";

#include "harness.h"
#include "simd_int.h"
#include "wsproto_int.h"

#include <string.h>

/* -------------------------------------------------- reference decoder */

enum { REF_VALID, REF_PARTIAL, REF_INVALID };

/* Could some completion of the code point bits seen so far, [lo, hi], be
 * a scalar value of at least `min` (no overlong form)? RFC 3629 §3. */
static int ref_reachable(uint32_t lo, uint32_t hi, uint32_t min)
{
    if (hi < min || lo > 0x10FFFF)
        return 0;
    if (lo < min)
        lo = min;
    return lo < 0xD800 || hi > 0xDFFF; /* not all surrogates */
}

/* Decode s[0..n) one character at a time, numerically: REF_VALID when it
 * is complete valid UTF-8, REF_PARTIAL when it is a valid prefix that stops
 * inside a character, REF_INVALID when no continuation can make it valid. */
static int ref_utf8(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t c = s[i], cp, min;
        size_t len, have = 1;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC0 && c < 0xE0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if (c >= 0xE0 && c < 0xF0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if (c >= 0xF0 && c < 0xF8) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return REF_INVALID; /* stray continuation, F8..FF */
        }
        for (; have < len && i + have < n; have++) {
            if ((s[i + have] & 0xC0) != 0x80)
                return REF_INVALID;
            cp = cp << 6 | (s[i + have] & 0x3F);
        }
        unsigned missing = 6 * (unsigned)(len - have);
        uint32_t lo = cp << missing, hi = lo | ((1u << missing) - 1);
        if (!ref_reachable(lo, hi, min))
            return REF_INVALID;
        if (have < len)
            return REF_PARTIAL;
        i += len;
    }
    return REF_VALID;
}

/* What ws_utf8_feed + ws_utf8_finish must say for a reference verdict. */
static int ref_result(int ref)
{
    return ref == REF_VALID ? 0 : WS_EUTF8;
}

/* --------------------------------------------------------- helpers */

/* Feed s in pieces ending at cut[0] <= cut[1] <= ... <= n; every feed must
 * fail exactly when the text so far cannot be valid any more. */
static void check_pieces(const uint8_t *s, size_t n, const size_t *cut,
                         size_t ncut)
{
    ws_utf8_t v;
    size_t at = 0;
    ws_utf8_init(&v);
    for (size_t k = 0; k <= ncut; k++) {
        size_t to = k < ncut ? cut[k] : n;
        int want = ref_utf8(s, to) == REF_INVALID ? WS_EUTF8 : 0;
        th_note("len %zu, piece %zu..%zu", n, at, to);
        if (!CHECK_INT(ws_utf8_feed(&v, s + at, to - at), want))
            return;
        at = to;
    }
    CHECK_INT(ws_utf8_finish(&v), ref_result(ref_utf8(s, n)));
}

/* Every verdict for s: one-shot, each split point, each pair of split
 * points (short texts), and byte by byte. */
static void check_all_splits(const uint8_t *s, size_t n)
{
    size_t cut[2];
    int want = ref_result(ref_utf8(s, n));
    th_note("len %zu, one shot", n);
    CHECK_INT(ws_utf8_validate(s, n), want);
    for (cut[0] = 0; cut[0] <= n; cut[0]++) {
        check_pieces(s, n, cut, 1);
        for (cut[1] = cut[0]; n <= 24 && cut[1] <= n; cut[1]++)
            check_pieces(s, n, cut, 2);
    }
    ws_utf8_t v;
    ws_utf8_init(&v);
    int got = 0;
    for (size_t i = 0; i < n && got == 0; i++)
        got = ws_utf8_feed(&v, s + i, 1);
    if (got == 0)
        got = ws_utf8_finish(&v);
    th_note("len %zu, byte by byte", n);
    CHECK_INT(got, want);
}

/* hex vector -> bytes; returns the length. */
static size_t hex(const char *h, uint8_t *out)
{
    return th_hex(h, out, 64);
}

/* ------------------------------------------------------ the vectors */

/* Valid: Kuhn §1-2.3 (first, last and boundary code points), U+FFFE/FFFF
 * and other noncharacters are valid scalar values (RFC 3629 §3). */
static const char *const valid_vectors[] = {
    "",
    "48 65 6c 6c 6f",                   /* Hello, RFC 6455 §5.7 */
    "ce ba e1 bd b9 cf 83 ce bc ce b5", /* Kuhn §1: kosme */
    "00",
    "7f",
    "c2 80",
    "df bf", /* Kuhn §2.1, §2.2 */
    "e0 a0 80",
    "ef bf bf",
    "f0 90 80 80",
    "f4 8f bf bf",
    "ed 9f bf",
    "ee 80 80",
    "ef bf bd", /* Kuhn §2.3 */
    "ef bf be",
    "ef b7 90",
    "ef b7 af",
    "f0 9f bf bf",
    "f3 bf bf bf",
    "f0 9f 98 80 e2 82 ac c3 a9 41", /* mixed 4/3/2/1 */
};

/* Invalid with the offending byte inside the text (Kuhn §3-5). */
static const char *const invalid_vectors[] = {
    "80",
    "bf",
    "80 bf",
    "80 bf 80",
    "41 80 41", /* §3.1 continuations */
    "c0 20",
    "df 20",
    "e0 20",
    "ef 20",
    "f0 20",
    "f7 20", /* §3.2 */
    "c3 41",
    "e2 82 41",
    "f0 9f 98 41",
    "e2 41 82", /* cut short by ASCII */
    "fe",
    "ff",
    "fe fe ff ff", /* §3.5 */
    "c0 af",
    "e0 80 af",
    "f0 80 80 af", /* §4.1 overlong '/' */
    "f8 80 80 80 af",
    "fc 80 80 80 80 af",
    "c1 bf",
    "e0 9f bf",
    "f0 8f bf bf", /* §4.2 max overlong */
    "c0 80",
    "e0 80 80",
    "f0 80 80 80", /* §4.3 overlong NUL */
    "ed a0 80",
    "ed ad bf",
    "ed ae 80",
    "ed af bf", /* §5.1 surrogates */
    "ed b0 80",
    "ed be 80",
    "ed bf bf",
    "ed a0 80 ed b0 80",
    "ed af bf ed bf bf", /* §5.2 pairs */
    "f4 90 80 80",
    "f7 bf bf bf",
    "f5 80 80 80", /* > U+10FFFF */
    "c2 80 80",
    "e0 a0 80 80",
    "f0 90 80 80 80", /* extra continuation */
    "c2 c2 80",
    "e1 e1 80 80",
    "f1 f1 80 80 80", /* lead after lead */
};

/* Valid up to the end, where a character is cut: feeds succeed and
 * ws_utf8_finish() fails (Kuhn §3.3, §3.4). */
static const char *const truncated_vectors[] = {
    "c2",       "df",    "e0",    "e0 a0",       "ef bf",
    "ed",       "ed 9f", "f0",    "f0 90",       "f0 90 80",
    "f4 8f bf", "f1",    "41 c3", "c3 a9 e2 82", "f3 bf bf",
};

static void test_valid(void)
{
    uint8_t b[64];
    for (size_t i = 0; i < sizeof valid_vectors / sizeof *valid_vectors; i++) {
        size_t n = hex(valid_vectors[i], b);
        th_note("vector %s", valid_vectors[i]);
        CHECK_INT(ref_utf8(b, n), REF_VALID); /* the reference agrees */
        CHECK_INT(ws_utf8_validate(b, n), 0);
        CHECK_INT(ws_utf8_run(WS_UTF8_ACCEPT, b, n), WS_UTF8_ACCEPT);
    }
}

static void test_invalid(void)
{
    uint8_t b[64];
    for (size_t i = 0; i < sizeof invalid_vectors / sizeof *invalid_vectors;
         i++) {
        size_t n = hex(invalid_vectors[i], b);
        th_note("vector %s", invalid_vectors[i]);
        CHECK_INT(ref_utf8(b, n), REF_INVALID);
        CHECK_INT(ws_utf8_validate(b, n), WS_EUTF8);
        CHECK_INT(ws_utf8_run(WS_UTF8_ACCEPT, b, n), WS_UTF8_REJECT);
    }
}

static void test_truncated(void)
{
    uint8_t b[64];
    for (size_t i = 0; i < sizeof truncated_vectors / sizeof *truncated_vectors;
         i++) {
        size_t n = hex(truncated_vectors[i], b);
        ws_utf8_t v = {0};
        th_note("vector %s", truncated_vectors[i]);
        CHECK_INT(ref_utf8(b, n), REF_PARTIAL);
        CHECK_INT(ws_utf8_feed(&v, b, n), 0);
        CHECK_INT(ws_utf8_finish(&v), WS_EUTF8);
        CHECK_INT(ws_utf8_validate(b, n), WS_EUTF8);
        uint32_t st = ws_utf8_run(WS_UTF8_ACCEPT, b, n);
        CHECK(st != WS_UTF8_ACCEPT && st != WS_UTF8_REJECT && st < 256);
    }
}

/* Fail fast: an impossible prefix is rejected by the feed that brings it,
 * before the character could complete, alone or after a long valid run
 * (the vector path), and the failure sticks. */
static void test_fail_fast(void)
{
    static const char *const prefixes[] = {
        "ed a0", "ed bf", "f4 90", "f4 bf",    "e0 80", "e0 9f",
        "f0 80", "f0 8f", "c0",    "c1",       "f5",    "f8",
        "ff",    "80",    "c2 41", "e1 80 c0",
    };
    uint8_t b[512];
    for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
        for (size_t lead = 0; lead < 300; lead += 37) {
            memset(b, 'a', lead);
            for (size_t k = 0; k + 1 < lead; k += 2) /* some "é" too */
                if (k % 6 == 0)
                    b[k] = 0xC3, b[k + 1] = 0xA9;
            size_t n = lead + hex(prefixes[i], b + lead);
            ws_utf8_t v;
            ws_utf8_init(&v);
            th_note("%zu bytes then %s", lead, prefixes[i]);
            CHECK_INT(ws_utf8_feed(&v, b, n), WS_EUTF8);
            CHECK_INT(ws_utf8_run(WS_UTF8_ACCEPT, b, n), WS_UTF8_REJECT);
            CHECK_INT(ws_utf8_feed(&v, "abc", 3), WS_EUTF8);
            CHECK_INT(ws_utf8_finish(&v), WS_EUTF8);
            CHECK_INT(ws_utf8_run(WS_UTF8_REJECT, (const uint8_t *)"a", 1),
                      WS_UTF8_REJECT);
        }
    }
    /* Prefixes that may still complete are not rejected. */
    ws_utf8_t v = {0};
    CHECK_INT(ws_utf8_feed(&v, "\xf4\x8f", 2), 0);
    CHECK_INT(ws_utf8_feed(&v, "\xbf", 1), 0);
    CHECK_INT(ws_utf8_finish(&v), WS_EUTF8);
    CHECK_INT(ws_utf8_feed(&v, "\xbf", 1), 0);
    CHECK_INT(ws_utf8_finish(&v), 0);
}

static void test_every_split(void)
{
    static const char *const *const lists[] = {valid_vectors, invalid_vectors,
                                               truncated_vectors};
    static const size_t counts[] = {
        sizeof valid_vectors / sizeof *valid_vectors,
        sizeof invalid_vectors / sizeof *invalid_vectors,
        sizeof truncated_vectors / sizeof *truncated_vectors};
    uint8_t b[64];
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            size_t n = hex(lists[l][i], b);
            check_all_splits(b, n);
        }
    }
}

/* Every one- and two-byte text, and every four-byte text over the bytes
 * where the rules change, alone and inside longer text at positions that
 * straddle the vector kernels' 16-, 32- and 64-byte blocks. */
static void test_exhaustive(void)
{
    static const uint8_t edge[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                   0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                   0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1,
                                   0xF3, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF};
    const size_t ne = sizeof edge;
    uint8_t b[2];
    for (unsigned x = 0; x < 65536; x++) {
        b[0] = (uint8_t)(x >> 8), b[1] = (uint8_t)x;
        int one = ws_utf8_validate(b, 1), two = ws_utf8_validate(b, 2);
        if (one == ref_result(ref_utf8(b, 1)) &&
            two == ref_result(ref_utf8(b, 2)))
            continue;
        th_note("%02x %02x", b[0], b[1]);
        CHECK_INT(one, ref_result(ref_utf8(b, 1)));
        CHECK_INT(two, ref_result(ref_utf8(b, 2)));
    }
    /* Inside valid text ("aa.." or "éé.."), so the verdict on the whole is
     * the reference's verdict on the part from `at` on. */
    static uint8_t bg[2][96], t[96];
    for (size_t k = 0; k < sizeof bg[0]; k += 2) {
        bg[0][k] = bg[0][k + 1] = 'a';
        bg[1][k] = 0xC3, bg[1][k + 1] = 0xA9;
    }
    for (size_t x = 0; x < ne * ne * ne * ne; x++) {
        uint8_t q[4] = {edge[x % ne], edge[x / ne % ne],
                        edge[x / (ne * ne) % ne], edge[x / (ne * ne * ne)]};
        size_t at = 40 + 2 * (x % 20), n = at + 4 + x % 9;
        memcpy(t, bg[x & 1], at);
        memcpy(t + at, q, 4);
        memset(t + at + 4, 'z', n - at - 4);
        int alone = ws_utf8_validate(q, 4), in_text = ws_utf8_validate(t, n);
        uint32_t s = ws_utf8_run(WS_UTF8_ACCEPT, t, at + 2);
        int prefix = ref_utf8(t + at, 2);
        if (alone == ref_result(ref_utf8(q, 4)) &&
            in_text == ref_result(ref_utf8(t + at, n - at)) &&
            (s == WS_UTF8_REJECT) == (prefix == REF_INVALID) &&
            (s == WS_UTF8_ACCEPT) == (prefix == REF_VALID))
            continue; /* th_note() only on failure: it costs */
        th_note("%02x %02x %02x %02x at %zu of %zu", q[0], q[1], q[2], q[3], at,
                n);
        CHECK_INT(alone, ref_result(ref_utf8(q, 4)));
        CHECK_INT(in_text, ref_result(ref_utf8(t + at, n - at)));
        CHECK_INT(s == WS_UTF8_REJECT, prefix == REF_INVALID);
        CHECK_INT(s == WS_UTF8_ACCEPT, prefix == REF_VALID);
    }
}

/* ------------------------------------------- differential, random texts */

static uint64_t rng_next(uint64_t *s) /* xorshift64*, fixed seed below */
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(rng_next(s) >> 32) % n;
}

/* Encode a scalar value (RFC 3629 §3). */
static size_t put_utf8(uint8_t *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (uint8_t)(0xC0 | c >> 6);
        o[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (uint8_t)(0xE0 | c >> 12);
        o[1] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
        o[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | c >> 18);
    o[1] = (uint8_t)(0x80 | (c >> 12 & 0x3F));
    o[2] = (uint8_t)(0x80 | (c >> 6 & 0x3F));
    o[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* A random scalar value of 1 (often), 2, 3 or 4 bytes. */
static uint32_t random_scalar(uint64_t *r)
{
    switch (rng_below(r, 5)) {
    case 0:
    case 1:
        return 0x20 + rng_below(r, 0x5F);
    case 2:
        return 0x80 + rng_below(r, 0x800 - 0x80);
    case 3: {
        uint32_t c = 0x800 + rng_below(r, 0x10000 - 0x800 - 0x800);
        return c < 0xD800 ? c : c + 0x800; /* skip the surrogates */
    }
    default:
        return 0x10000 + rng_below(r, 0x110000 - 0x10000);
    }
}

/* n bytes of valid text (ASCII pads the end), then maybe one fault. */
static void random_text(uint64_t *r, uint8_t *b, size_t n, unsigned fault)
{
    static const char *const bad[] = {
        "c0 80", "e0 80 80", "ed a0 80", "f4 90 80 80", "f5",
        "ff",    "80",       "c2",       "e2 82",       "f0 9f 98"};
    size_t i = 0;
    while (i < n) {
        uint8_t c[4];
        size_t k = put_utf8(c, random_scalar(r));
        if (k > n - i)
            k = put_utf8(c, 'x');
        memcpy(b + i, c, k);
        i += k;
    }
    if (n == 0 || fault == 0)
        return;
    size_t at = fault == 3 ? n - 1 - rng_below(r, n < 8 ? (uint32_t)n : 8)
                           : rng_below(r, (uint32_t)n);
    if (fault == 1) {
        b[at] = (uint8_t)rng_next(r);
    } else {
        uint8_t e[8];
        size_t k = th_hex(bad[rng_below(r, 10)], e, sizeof e);
        memcpy(b + at, e, k < n - at ? k : n - at);
    }
}

/* Up to four random cut points, sorted. */
static size_t random_cuts(uint64_t *r, size_t n, size_t cut[4])
{
    size_t m = rng_below(r, 5);
    for (size_t i = 0; i < m; i++)
        cut[i] = rng_below(r, (uint32_t)n + 1);
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && cut[j - 1] > cut[j]; j--) {
            size_t t = cut[j];
            cut[j] = cut[j - 1];
            cut[j - 1] = t;
        }
    return m;
}

static void differential_one(uint64_t *r, uint8_t *b, size_t n)
{
    size_t cut[4];
    for (unsigned fault = 0; fault < 4; fault++) {
        random_text(r, b, n, fault);
        int ref = ref_utf8(b, n);
        th_note("len %zu fault %u", n, fault);
        CHECK_INT(ws_utf8_validate(b, n), ref_result(ref));
        check_pieces(b, n, cut, random_cuts(r, n, cut));
#if WS_X86_SIMD
        /* Both vector kernels, whatever the dispatcher would pick. */
        if (ws_cpu_has_avx2())
            CHECK_INT(ws_utf8_check_avx2(b, n), ref == REF_VALID);
        if (ws_cpu_has_sse4())
            CHECK_INT(ws_utf8_check_sse4(b, n), ref == REF_VALID);
#endif
    }
}

static void test_differential(void)
{
    static const size_t sizes[] = {
        31,  32,  33,   63,   64,   65,   66,   67,   95,       96,  97,
        127, 128, 129,  130,  191,  192,  193,  255,  256,      257, 511,
        512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 65536 + 3};
    static uint8_t b[65536 + 3];
    uint64_t r = 0x5eed0f0ddba11ull;
    for (size_t n = 0; n <= 300; n++)
        for (int rep = 0; rep < 4; rep++)
            differential_one(&r, b, n);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (int rep = 0; rep < (sizes[i] < 5000 ? 8 : 2); rep++)
            differential_one(&r, b, sizes[i]);
}

/* A long valid text in random pieces; the state handed between pieces is
 * the exact DFA state, so every piece edge may fall inside a character. */
static void test_long_stream(void)
{
    static uint8_t b[1 << 20];
    uint64_t r = 42;
    random_text(&r, b, sizeof b, 0);
    CHECK_INT(ws_utf8_validate(b, sizeof b), 0);
    ws_utf8_t v;
    ws_utf8_init(&v);
    for (size_t at = 0, len; at < sizeof b; at += len) {
        len = 1 + rng_below(&r, 3000);
        if (len > sizeof b - at)
            len = sizeof b - at;
        th_note("piece at %zu", at);
        if (!CHECK_INT(ws_utf8_feed(&v, b + at, len), 0))
            break;
    }
    CHECK_INT(ws_utf8_finish(&v), 0);
    b[sizeof b - 5] = 0xFF;
    CHECK_INT(ws_utf8_validate(b, sizeof b), WS_EUTF8);
}

/* A state that is none of ours (the struct is caller memory) fails. */
static void test_bad_state(void)
{
    ws_utf8_t v = {7};
    CHECK_INT(ws_utf8_feed(&v, "a", 1), WS_EUTF8);
    v.state = 1000;
    CHECK_INT(ws_utf8_feed(&v, "a", 1), WS_EUTF8);
    CHECK_INT(ws_utf8_validate(NULL, 0), 0);
    ws_utf8_init(&v);
    CHECK_INT(ws_utf8_feed(&v, NULL, 0), 0);
    CHECK_INT(ws_utf8_finish(&v), 0);
}

void suite_utf8(void);
void suite_utf8(void)
{
    RUN(test_valid);
    RUN(test_invalid);
    RUN(test_truncated);
    RUN(test_fail_fast);
    RUN(test_every_split);
    RUN(test_exhaustive);
    RUN(test_differential);
    RUN(test_long_stream);
    RUN(test_bad_state);
}
