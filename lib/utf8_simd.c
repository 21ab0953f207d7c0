/* utf8_simd.c — vector UTF-8 validation for x86-64 (SSSE3/SSE4.1, AVX2),
 * after J. Keiser and D. Lemire, "Validating UTF-8 In Less Than One
 * Instruction Per Byte" (Software: Practice and Experience, 2021).
 *
 * The kernels check a run that starts on a character boundary and must end
 * on one; utf8.c finds such a run inside each slice and gives the edges to
 * its DFA.
 *
 * The method. Every error of RFC 3629 shows in a pair of adjacent bytes,
 * except a missing or extra third/fourth byte. For each byte and the byte
 * before it, three 16-entry tables, indexed by the high nibble of the
 * previous byte, its low nibble and the high nibble of the current byte,
 * give bit sets of the errors each nibble is compatible with; the AND of
 * the three is nonzero exactly when the pair is one of those errors (one
 * pshufb per table, 16 or 32 lookups at a time). Bit 7 of that AND means
 * "two continuation bytes in a row", which is required (not an error) when
 * the byte two or three back is a 3- or 4-byte lead: XOR with that
 * requirement leaves bit 7 set exactly when a continuation is missing or
 * extra. A lead in the last three bytes of the run whose character does not
 * fit is "incomplete" and is an error at the end of the run.
 */
#include "simd_int.h"

#if WS_X86_SIMD
#include <immintrin.h>
#include <string.h>

/* Error bits, for the previous byte (1) and the current byte (2). */
#define TOO_SHORT 0x01      /* 11______ then 0_______ or 11______ */
#define TOO_LONG 0x02       /* 0_______ then 10______ */
#define OVERLONG_3 0x04     /* 11100000 then 100_____ */
#define TOO_LARGE 0x08      /* 11110100 then 1001____ or 101_____; F5..FF too */
#define SURROGATE 0x10      /* 11101101 then 101_____ */
#define OVERLONG_2 0x20     /* 1100000_ then 10______ */
#define TOO_LARGE_1000 0x40 /* 11110101..11111111 then 1000____ */
#define OVERLONG_4 0x40     /* 11110000 then 1000____ (same bit) */
#define TWO_CONTS 0x80      /* 10______ then 10______ */
#define CARRY (TOO_SHORT | TOO_LONG | TWO_CONTS) /* any low nibble */

#define B(x) ((char)(x))

/* Indexed by the previous byte's high nibble. */
#define TABLE_PREV_HIGH                                                        \
    B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), /* 0..7 ASCII */       \
        B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TOO_LONG), B(TWO_CONTS),      \
        B(TWO_CONTS), B(TWO_CONTS), B(TWO_CONTS),              /* 8..B */      \
        B(TOO_SHORT | OVERLONG_2),                             /* C */         \
        B(TOO_SHORT),                                          /* D */         \
        B(TOO_SHORT | OVERLONG_3 | SURROGATE),                 /* E */         \
        B(TOO_SHORT | TOO_LARGE | TOO_LARGE_1000 | OVERLONG_4) /* F */

/* Indexed by the previous byte's low nibble. */
#define TABLE_PREV_LOW                                                         \
    B(CARRY | OVERLONG_3 | OVERLONG_2 | OVERLONG_4), /* C0 E0 F0 */            \
        B(CARRY | OVERLONG_2),                       /* C1 */                  \
        B(CARRY), B(CARRY), B(CARRY | TOO_LARGE),    /* F4 */                  \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),       /* F5..F7 */              \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000), /* F8..FC */                    \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000 | SURROGATE), /* ED, FD */        \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000),                                 \
        B(CARRY | TOO_LARGE | TOO_LARGE_1000)

/* Indexed by the current byte's high nibble. */
#define TABLE_CUR_HIGH                                                         \
    B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), /* 0..7 */         \
        B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT),                \
        B(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE_1000 |    \
          OVERLONG_4),                                                 /* 8 */ \
        B(TOO_LONG | OVERLONG_2 | TWO_CONTS | OVERLONG_3 | TOO_LARGE), /* 9 */ \
        B(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),  /* A */ \
        B(TOO_LONG | OVERLONG_2 | TWO_CONTS | SURROGATE | TOO_LARGE),  /* B */ \
        B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT), B(TOO_SHORT) /* C..F */

/* A lead byte this close to the end of a block needs bytes after it:
 * byte > limit in the last three positions. */
#define LIMITS_TAIL B(0xEF), B(0xDF), B(0xBF)
#define FF4 B(0xFF), B(0xFF), B(0xFF), B(0xFF)

/* ------------------------------------------------------------- AVX2 */

/* Errors of the 32 bytes `in`, given the 32 bytes before them. */
WS_TARGET_AVX2
static inline __m256i avx2_errors(__m256i in, __m256i prev)
{
    const __m256i nib = _mm256_set1_epi8(0x0F);
    /* Per 128-bit lane, the bytes 1, 2 and 3 back (alignr is in-lane). */
    __m256i carry = _mm256_permute2x128_si256(prev, in, 0x21);
    __m256i prev1 = _mm256_alignr_epi8(in, carry, 15);
    __m256i prev2 = _mm256_alignr_epi8(in, carry, 14);
    __m256i prev3 = _mm256_alignr_epi8(in, carry, 13);
    __m256i p_hi = _mm256_and_si256(_mm256_srli_epi16(prev1, 4), nib);
    __m256i p_lo = _mm256_and_si256(prev1, nib);
    __m256i c_hi = _mm256_and_si256(_mm256_srli_epi16(in, 4), nib);
    __m256i e = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(
                _mm256_setr_epi8(TABLE_PREV_HIGH, TABLE_PREV_HIGH), p_hi),
            _mm256_shuffle_epi8(
                _mm256_setr_epi8(TABLE_PREV_LOW, TABLE_PREV_LOW), p_lo)),
        _mm256_shuffle_epi8(_mm256_setr_epi8(TABLE_CUR_HIGH, TABLE_CUR_HIGH),
                            c_hi));
    /* 0x80 where a third or fourth byte of a character is due: subtracting
     * with saturation leaves bit 7 set only for E0..FF two back or F0..FF
     * three back. */
    __m256i third = _mm256_subs_epu8(prev2, _mm256_set1_epi8(B(0xE0 - 0x80)));
    __m256i fourth = _mm256_subs_epu8(prev3, _mm256_set1_epi8(B(0xF0 - 0x80)));
    __m256i due = _mm256_and_si256(_mm256_or_si256(third, fourth),
                                   _mm256_set1_epi8(B(0x80)));
    return _mm256_xor_si256(e, due);
}

/* Check 64 bytes at q. `prev` holds the 32 bytes before; `inc` the
 * previous block's incomplete-lead bits. */
WS_TARGET_AVX2
static inline __m256i avx2_block(const uint8_t *q, __m256i *prev, __m256i *inc)
{
    const __m256i limits = _mm256_setr_epi8(FF4, FF4, FF4, FF4, FF4, FF4, FF4,
                                            B(0xFF), LIMITS_TAIL);
    __m256i a = _mm256_loadu_si256((const __m256i *)q);
    __m256i b = _mm256_loadu_si256((const __m256i *)(q + 32));
    __m256i err;
    if (_mm256_movemask_epi8(_mm256_or_si256(a, b)) == 0) {
        err = *inc; /* ASCII: fine unless a character was left open */
        *inc = _mm256_setzero_si256();
    } else {
        err = _mm256_or_si256(avx2_errors(a, *prev), avx2_errors(b, a));
        *inc = _mm256_subs_epu8(b, limits);
    }
    *prev = b;
    return err;
}

/* The end of the run, after the whole blocks: i < n bytes are left. */
WS_TARGET_AVX2
static __m256i avx2_last(const uint8_t *p, size_t i, size_t n, __m256i prev,
                         __m256i inc)
{
    __m256i err;
    if (n >= 96) {
        /* The last 64 bytes again, overlapping checked ones, with their
         * real predecessors: rechecking a byte pair changes nothing. */
        prev = _mm256_loadu_si256((const __m256i *)(p + n - 96));
        err = avx2_block(p + n - 64, &prev, &inc);
        return _mm256_or_si256(err, inc);
    }
    /* Short run: the rest padded with NULs (ASCII), so a character left
     * open before them is a pair error and `inc` is not needed. */
    uint8_t buf[64] = {0};
    memcpy(buf, p + i, n - i);
    return avx2_block(buf, &prev, &inc);
}

WS_TARGET_AVX2
int ws_utf8_check_avx2(const uint8_t *p, size_t n)
{
    __m256i prev = _mm256_setzero_si256(), inc = prev, err;
    size_t i = 0;
    for (; n - i >= 64; i += 64) {
        err = avx2_block(p + i, &prev, &inc);
        if (!_mm256_testz_si256(err, err))
            return 0;
    }
    /* The run ends here: nothing may be left open. */
    err = i < n ? avx2_last(p, i, n, prev, inc) : inc;
    return _mm256_testz_si256(err, err);
}

/* ------------------------------------------------------------ SSE4.1 */

WS_TARGET_SSE4
static inline __m128i sse4_errors(__m128i in, __m128i prev)
{
    const __m128i nib = _mm_set1_epi8(0x0F);
    __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
    __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
    __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
    __m128i p_hi = _mm_and_si128(_mm_srli_epi16(prev1, 4), nib);
    __m128i p_lo = _mm_and_si128(prev1, nib);
    __m128i c_hi = _mm_and_si128(_mm_srli_epi16(in, 4), nib);
    __m128i e = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(_mm_setr_epi8(TABLE_PREV_HIGH), p_hi),
                      _mm_shuffle_epi8(_mm_setr_epi8(TABLE_PREV_LOW), p_lo)),
        _mm_shuffle_epi8(_mm_setr_epi8(TABLE_CUR_HIGH), c_hi));
    __m128i third = _mm_subs_epu8(prev2, _mm_set1_epi8(B(0xE0 - 0x80)));
    __m128i fourth = _mm_subs_epu8(prev3, _mm_set1_epi8(B(0xF0 - 0x80)));
    __m128i due =
        _mm_and_si128(_mm_or_si128(third, fourth), _mm_set1_epi8(B(0x80)));
    return _mm_xor_si128(e, due);
}

/* Check 64 bytes at q, as avx2_block does with four 16-byte vectors. */
WS_TARGET_SSE4
static inline __m128i sse4_block(const uint8_t *q, __m128i *prev, __m128i *inc)
{
    const __m128i limits = _mm_setr_epi8(FF4, FF4, FF4, B(0xFF), LIMITS_TAIL);
    __m128i a = _mm_loadu_si128((const __m128i *)q);
    __m128i b = _mm_loadu_si128((const __m128i *)(q + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(q + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(q + 48));
    __m128i err;
    if (_mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d))) == 0) {
        err = *inc;
        *inc = _mm_setzero_si128();
    } else {
        err =
            _mm_or_si128(_mm_or_si128(sse4_errors(a, *prev), sse4_errors(b, a)),
                         _mm_or_si128(sse4_errors(c, b), sse4_errors(d, c)));
        *inc = _mm_subs_epu8(d, limits);
    }
    *prev = d;
    return err;
}

WS_TARGET_SSE4
static __m128i sse4_last(const uint8_t *p, size_t i, size_t n, __m128i prev,
                         __m128i inc)
{
    __m128i err;
    if (n >= 80) {
        prev = _mm_loadu_si128((const __m128i *)(p + n - 80));
        err = sse4_block(p + n - 64, &prev, &inc);
        return _mm_or_si128(err, inc);
    }
    uint8_t buf[64] = {0};
    memcpy(buf, p + i, n - i);
    return sse4_block(buf, &prev, &inc);
}

WS_TARGET_SSE4
int ws_utf8_check_sse4(const uint8_t *p, size_t n)
{
    __m128i prev = _mm_setzero_si128(), inc = prev, err;
    size_t i = 0;
    for (; n - i >= 64; i += 64) {
        err = sse4_block(p + i, &prev, &inc);
        if (!_mm_testz_si128(err, err))
            return 0;
    }
    err = i < n ? sse4_last(p, i, n, prev, inc) : inc;
    return _mm_testz_si128(err, err);
}

int ws_utf8_check_simd(const uint8_t *p, size_t n)
{
    if (ws_cpu_has_avx2())
        return ws_utf8_check_avx2(p, n);
    if (ws_cpu_has_sse4())
        return ws_utf8_check_sse4(p, n);
    return -1;
}
#else
typedef int ws_utf8_simd_unused; /* ISO C: no empty translation unit */
#endif
