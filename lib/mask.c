/* mask.c — payload masking, RFC 6455 §5.3: byte i of a frame payload is
 * XORed with key[i mod 4]. One function serves both directions (masking is
 * its own inverse), in place or fused with the copy out of the frame.
 *
 * Key rotation: a piece that starts at payload offset `offset` needs
 * key[(offset + j) mod 4] at its byte j, so the key is rotated once by
 * offset mod 4. Every word below is a whole number of 4-byte groups, so the
 * rotated key, repeated, lines up with every 8-, 16- or 32-byte word, and
 * the bytes after the last word continue with rotated key[j mod 4].
 * Loads and stores are unaligned (memcpy for the scalar words,
 * loadu/storeu for vectors): payloads sit anywhere in the caller's buffer.
 */
#include "simd_int.h"
#include "wsproto_int.h"

#include <string.h>

#if WS_X86_SIMD
#include <immintrin.h>
#endif

const uint8_t ws_tail_mask[32] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                  0xFF, 0xFF, 0xFF, 0xFF};

/* The key rotated for the payload offset, as it sits in memory: byte j
 * of the result is key[(offset + j) mod 4]. */
static inline uint32_t rotated_key(const uint8_t key[4], uint64_t offset)
{
    uint32_t k;
    unsigned r = (unsigned)(offset & 3) * 8;
    memcpy(&k, key, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (k >> r) | (k << ((32 - r) & 31));
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (k << r) | (k >> ((32 - r) & 31));
#else
    uint8_t b[4];
    for (unsigned j = 0; j < 4; j++)
        b[j] = key[(offset + j) & 3];
    memcpy(&k, b, 4);
    return k;
#endif
}

/*
 * Each kernel below can also tell whether what it wrote was all ASCII (for
 * text, so the validator can skip it): with `track` set it ORs its output
 * words together and reports the high bits. The kernels are written once,
 * always inlined, and instantiated with track 0 for ws_mask() (the OR is
 * compiled out) and 1 for ws_mask_ascii(). Each returns the bytes it did;
 * *high becomes nonzero when a byte >= 0x80 was written.
 */
#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define HIGH_BITS 0x8080808080808080ull

/* Scalar words, then 4 bytes, then up to 3 single bytes. Every step but
 * the last is a multiple of 4 bytes, so k32 stays in phase. */
static ALWAYS_INLINE void mask_scalar(uint8_t *d, const uint8_t *s, size_t n,
                                      uint32_t k32, int track, unsigned *high)
{
    uint64_t kw = (uint64_t)k32 << 32 | k32, w, hi = 0;
    uint32_t v;
    uint8_t kb[4];
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        memcpy(&w, s, 8);
        w ^= kw;
        memcpy(d, &w, 8);
        if (track)
            hi |= w;
    }
    if (n >= 4) {
        memcpy(&v, s, 4);
        v ^= k32;
        memcpy(d, &v, 4);
        if (track)
            hi |= v;
        n -= 4, d += 4, s += 4;
    }
    memcpy(kb, &k32, 4);
    for (size_t j = 0; j < n; j++) {
        d[j] = (uint8_t)(s[j] ^ kb[j]);
        if (track)
            hi |= d[j];
    }
    if (track && (hi & HIGH_BITS))
        *high = 1;
}

#if WS_X86_SIMD
/* One unaligned 16- or 32-byte word of s + i, XORed with the key. */
#define XOR128(i) _mm_xor_si128(_mm_loadu_si128((const __m128i *)(s + (i))), k)
#define XOR256(i)                                                              \
    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(s + (i))), k)

/* SSE2 is part of x86-64: no CPU check. */
static ALWAYS_INLINE size_t mask_sse2(uint8_t *d, const uint8_t *s, size_t len,
                                      uint32_t k32, int track, unsigned *high)
{
    const __m128i k = _mm_set1_epi32((int)k32);
    __m128i hi = _mm_setzero_si128();
    size_t i = 0;
    for (; len - i >= 64; i += 64) {
        __m128i a = XOR128(i), b = XOR128(i + 16);
        __m128i c = XOR128(i + 32), e = XOR128(i + 48);
        _mm_storeu_si128((__m128i *)(d + i), a);
        _mm_storeu_si128((__m128i *)(d + i + 16), b);
        _mm_storeu_si128((__m128i *)(d + i + 32), c);
        _mm_storeu_si128((__m128i *)(d + i + 48), e);
        if (track)
            hi = _mm_or_si128(
                hi, _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, e)));
    }
    for (; len - i >= 16; i += 16) {
        __m128i a = XOR128(i);
        _mm_storeu_si128((__m128i *)(d + i), a);
        if (track)
            hi = _mm_or_si128(hi, a);
    }
    if (track && _mm_movemask_epi8(hi))
        *high = 1;
    return i;
}

WS_TARGET_AVX2
static ALWAYS_INLINE size_t mask_avx2_loop(uint8_t *d, const uint8_t *s,
                                           size_t len, uint32_t k32, int track,
                                           unsigned *high)
{
    const __m256i k = _mm256_set1_epi32((int)k32);
    __m256i hi = _mm256_setzero_si256();
    size_t i = 0;
    for (; len - i >= 128; i += 128) {
        __m256i a = XOR256(i), b = XOR256(i + 32);
        __m256i c = XOR256(i + 64), e = XOR256(i + 96);
        _mm256_storeu_si256((__m256i *)(d + i), a);
        _mm256_storeu_si256((__m256i *)(d + i + 32), b);
        _mm256_storeu_si256((__m256i *)(d + i + 64), c);
        _mm256_storeu_si256((__m256i *)(d + i + 96), e);
        if (track)
            hi = _mm256_or_si256(hi, _mm256_or_si256(_mm256_or_si256(a, b),
                                                     _mm256_or_si256(c, e)));
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = XOR256(i);
        _mm256_storeu_si256((__m256i *)(d + i), a);
        if (track)
            hi = _mm256_or_si256(hi, a);
    }
    if (track && _mm256_movemask_epi8(hi))
        *high = 1;
    return i;
}

WS_TARGET_AVX2
static size_t mask_avx2(uint8_t *d, const uint8_t *s, size_t len, uint32_t k32)
{
    return mask_avx2_loop(d, s, len, k32, 0, NULL);
}

WS_TARGET_AVX2
static size_t mask_ascii_avx2(uint8_t *d, const uint8_t *s, size_t len,
                              uint32_t k32, unsigned *high)
{
    return mask_avx2_loop(d, s, len, k32, 1, high);
}

/* Below this the AVX2 loop would run at most once: not worth the check. */
#define AVX2_MIN 256
#endif

static ALWAYS_INLINE unsigned mask_any(void *dst, const void *src, size_t len,
                                       const uint8_t key[4], uint64_t offset,
                                       int track)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    uint32_t k32 = rotated_key(key, offset);
    unsigned high = 0;
    size_t i = 0;

#if WS_X86_SIMD
    if (len >= AVX2_MIN && ws_cpu_has_avx2())
        i = track ? mask_ascii_avx2(d, s, len, k32, &high)
                  : mask_avx2(d, s, len, k32);
    if (len - i >= 16)
        i += mask_sse2(d + i, s + i, len - i, k32, track, &high);
#endif
    if (i < len)
        mask_scalar(d + i, s + i, len - i, k32, track, &high);
    return high;
}

WS_API void ws_mask(void *dst, const void *src, size_t len,
                    const uint8_t key[4], uint64_t offset)
{
    mask_any(dst, src, len, key, offset, 0);
}

int ws_mask_ascii(void *dst, const void *src, size_t len, const uint8_t key[4],
                  uint64_t offset)
{
    return !mask_any(dst, src, len, key, offset, 1);
}
