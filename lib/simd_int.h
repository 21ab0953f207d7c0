/*
 * simd_int.h — x86-64 vector kernels and how they are chosen at run time,
 * and the inline small-payload unmask that conn.c's fast path uses.
 * Private to lib/.
 *
 * Dispatch keeps no state of ours: each call that is long enough to gain
 * from a wider kernel asks __builtin_cpu_supports(), which reads the CPU
 * model that libgcc (linked into our .so with hidden visibility) fills
 * once. __builtin_cpu_init() comes first because we may be called from a
 * constructor that runs before libgcc's; once initialised it is a call,
 * a load and a compare (under 1 ns measured), paid only by inputs long
 * enough for a vector kernel. A function pointer in a global would be our
 * own mutable state; an ifunc resolver runs while the dynamic loader is
 * still relocating (before sanitizer runtimes are up, and not at all on
 * musl). The kernels are compiled for their ISA with
 * __attribute__((target)), so the library itself builds for baseline
 * x86-64 (SSE2). No AVX-512: valgrind cannot run it, and AVX2 already
 * reaches memory speed here.
 */
#ifndef WS_SIMD_INT_H
#define WS_SIMD_INT_H

#include "wsproto.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* -DWS_NO_SIMD builds the portable code alone, as on other CPUs. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&        \
    !defined(WS_NO_SIMD)
#define WS_X86_SIMD 1
#else
#define WS_X86_SIMD 0
#endif

#if WS_X86_SIMD
#define WS_TARGET_AVX2 __attribute__((target("avx2")))
#define WS_TARGET_SSE4 __attribute__((target("ssse3,sse4.1")))
/* Keeps the long-input path out of the short-input path's frame. */
#define WS_NOINLINE __attribute__((noinline))

static inline int ws_cpu_has_avx2(void)
{
#ifdef __AVX2__
    return 1;
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#endif
}

static inline int ws_cpu_has_sse4(void)
{
#ifdef __SSE4_1__
    return 1;
#else
    __builtin_cpu_init();
    return __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1");
#endif
}

/* utf8_simd.c: 1 if p[0..n) is a sequence of complete, valid UTF-8
 * characters, else 0. Picks the widest kernel the CPU runs; without SSE4.1
 * it returns -1 and the caller uses the DFA. */
int ws_utf8_check_simd(const uint8_t *p, size_t n);

/* The kernels themselves, for the tests: the caller checks the CPU. */
WS_TARGET_AVX2 int ws_utf8_check_avx2(const uint8_t *p, size_t n);
WS_TARGET_SSE4 int ws_utf8_check_sse4(const uint8_t *p, size_t n);
#endif

#if WS_X86_SIMD
#include <emmintrin.h>
#endif

/* 16 bytes of 0xFF then 16 of 0: ws_tail_mask + 16 - r starts with r
 * bytes of 0xFF (0 <= r <= 16). In mask.c. */
extern const uint8_t ws_tail_mask[32];

/* The word ws_unmask_small() works in: 16 bytes with SSE2, else 8. */
#if WS_X86_SIMD
#define WS_SMALL_WORD 16u
#else
#define WS_SMALL_WORD 8u
#endif

/* Bytes ws_unmask_small() reads and writes for a payload of len bytes. */
static inline size_t ws_unmask_small_room(size_t len)
{
    return (len + WS_SMALL_WORD - 1) & ~(size_t)(WS_SMALL_WORD - 1);
}

/*
 * Unmask a small payload p[0..len) in place with key (payload offset 0)
 * and say whether it is all ASCII (nonzero) or not (0). p[0..room) must be
 * readable and writable, room = ws_unmask_small_room(len): the bytes past
 * the payload are the next frames of the same input.
 *
 * The trick: whole words are XORed with the key ANDed with a tail mask, so
 * the bytes past the payload are XORed with 0 and stored back unchanged;
 * the ASCII test ORs the unmasked words under the same mask. The last
 * word always takes the masked step, so a payload of 1 to 16 bytes is one
 * load, AND, XOR, store and movemask, with no loop.
 */
static inline int ws_unmask_small(uint8_t *p, size_t len, const uint8_t key[4])
{
    uint32_t k32;
    size_t i = 0;
    memcpy(&k32, key, 4);
#if WS_X86_SIMD
    const __m128i k = _mm_set1_epi32((int)k32);
    __m128i hi = _mm_setzero_si128(), v;
    for (; len - i > 16; i += 16) { /* the last word, whole or not, below */
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + i)), k);
        _mm_storeu_si128((__m128i *)(p + i), v);
        hi = _mm_or_si128(hi, v);
    }
    if (i < len) {
        __m128i m =
            _mm_loadu_si128((const __m128i *)(ws_tail_mask + 16 - (len - i)));
        v = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(p + i)),
                          _mm_and_si128(k, m));
        _mm_storeu_si128((__m128i *)(p + i), v);
        hi = _mm_or_si128(hi, _mm_and_si128(v, m));
    }
    return _mm_movemask_epi8(hi) == 0;
#else
    const uint64_t k = (uint64_t)k32 << 32 | k32;
    uint64_t hi = 0, v, m;
    for (; len - i > 8; i += 8) {
        memcpy(&v, p + i, 8);
        v ^= k;
        memcpy(p + i, &v, 8);
        hi |= v;
    }
    if (i < len) {
        memcpy(&m, ws_tail_mask + 16 - (len - i), 8);
        memcpy(&v, p + i, 8);
        v ^= k & m;
        memcpy(p + i, &v, 8);
        hi |= v & m;
    }
    return (hi & 0x8080808080808080ull) == 0;
#endif
}

#endif /* WS_SIMD_INT_H */
