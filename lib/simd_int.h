/*
 * simd_int.h — x86-64 vector kernels and how they are chosen at run time.
 * Private to mask.c, utf8.c and utf8_simd.c.
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

#include <stddef.h>
#include <stdint.h>

/* -DWS_NO_SIMD builds the portable code alone, as on other CPUs. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&       \
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

#endif /* WS_SIMD_INT_H */
