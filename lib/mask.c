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
#include "wsproto_int.h"
#include "simd_int.h"

#include <string.h>

#if WS_X86_SIMD
#include <immintrin.h>
#endif

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

/* Scalar words, then 4 bytes, then up to 3 single bytes. Every step but
 * the last is a multiple of 4 bytes, so k32 stays in phase. */
static void mask_scalar(uint8_t *d, const uint8_t *s, size_t n, uint32_t k32)
{
    uint64_t kw = (uint64_t)k32 << 32 | k32, w;
    uint32_t v;
    uint8_t kb[4];
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        memcpy(&w, s, 8);
        w ^= kw;
        memcpy(d, &w, 8);
    }
    if (n >= 4) {
        memcpy(&v, s, 4);
        v ^= k32;
        memcpy(d, &v, 4);
        n -= 4, d += 4, s += 4;
    }
    memcpy(kb, &k32, 4);
    for (size_t j = 0; j < n; j++)
        d[j] = (uint8_t)(s[j] ^ kb[j]);
}

#if WS_X86_SIMD
/* SSE2 is part of x86-64: no CPU check. Returns the bytes done. */
static size_t mask_sse2(uint8_t *d, const uint8_t *s, size_t len,
                        uint32_t k32)
{
    const __m128i k = _mm_set1_epi32((int)k32);
    size_t i = 0;
    for (; len - i >= 64; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(s + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(s + i + 32));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + i + 48));
        _mm_storeu_si128((__m128i *)(d + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(d + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(d + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(d + i + 48), _mm_xor_si128(e, k));
    }
    for (; len - i >= 16; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(s + i));
        _mm_storeu_si128((__m128i *)(d + i), _mm_xor_si128(a, k));
    }
    return i;
}

WS_TARGET_AVX2
static size_t mask_avx2(uint8_t *d, const uint8_t *s, size_t len,
                        uint32_t k32)
{
    const __m256i k = _mm256_set1_epi32((int)k32);
    size_t i = 0;
    for (; len - i >= 128; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(s + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(s + i + 64));
        __m256i e = _mm256_loadu_si256((const __m256i *)(s + i + 96));
        _mm256_storeu_si256((__m256i *)(d + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(d + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(d + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(d + i + 96), _mm256_xor_si256(e, k));
    }
    for (; len - i >= 32; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(s + i));
        _mm256_storeu_si256((__m256i *)(d + i), _mm256_xor_si256(a, k));
    }
    return i;
}

/* Below this the AVX2 loop would run at most once: not worth the check. */
#define AVX2_MIN 256
#endif

WS_API void ws_mask(void *dst, const void *src, size_t len,
                    const uint8_t key[4], uint64_t offset)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    uint32_t k32 = rotated_key(key, offset);
    size_t i = 0;

#if WS_X86_SIMD
    if (len >= AVX2_MIN && ws_cpu_has_avx2())
        i = mask_avx2(d, s, len, k32);
    if (len - i >= 16)
        i += mask_sse2(d + i, s + i, len - i, k32);
#endif
    if (i < len)
        mask_scalar(d + i, s + i, len - i, k32);
}
