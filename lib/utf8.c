/* utf8.c — incremental UTF-8 validation (RFC 3629 §3, §4) for text messages
 * and close reasons (RFC 6455 §5.6, §8.1).
 *
 * Two engines give the same verdict byte for byte:
 *   - a shift-based DFA, one table load and one shift per byte, with an
 *     8-byte ASCII skip; it handles short slices, character fragments at
 *     slice edges and every non-x86 build;
 *   - on x86-64, a vector validator (utf8_simd.c) for long runs, used only
 *     between character boundaries so the DFA state stays exact.
 */
#include "simd_int.h"
#include "wsproto_int.h"

#include <string.h>

/*
 * The DFA. Each state is a bit offset into a 64-bit row: row[byte] holds,
 * in bits [s, s+6), the state that follows state s on that byte, so a step
 * is `s = row[byte] >> s` (the hardware masks the shift count to 6 bits;
 * the C code says `& 63`). Nine states × 6 bits fit one row. REJECT is
 * offset 0 so every transition that fails is simply a zero field, and a
 * row lists only the transitions that succeed.
 *
 * The states follow the well-formed sequences of RFC 3629 §4:
 *   C1, C2, C3  one, two, three continuation bytes (80..BF) still due;
 *   E0          after E0: the next must be A0..BF (no overlong forms);
 *   ED          after ED: the next must be 80..9F (no surrogates);
 *   F0          after F0: the next must be 90..BF (no overlong forms);
 *   F4          after F4: the next must be 80..8F (nothing over U+10FFFF).
 */
enum {
    D_REJ = 0,
    D_ACC = 6,
    D_C1 = 12,
    D_C2 = 18,
    D_C3 = 24,
    D_E0 = 30,
    D_ED = 36,
    D_F0 = 42,
    D_F4 = 48
};

#define T(from, to) ((uint64_t)(to) << (from))
#define ROW_ASCII T(D_ACC, D_ACC)
#define ROW_CONT_ANY (T(D_C1, D_ACC) | T(D_C2, D_C1) | T(D_C3, D_C2))
#define ROW_CONT_8 (ROW_CONT_ANY | T(D_ED, D_C1) | T(D_F4, D_C2))  /* 80..8F */
#define ROW_CONT_9 (ROW_CONT_ANY | T(D_ED, D_C1) | T(D_F0, D_C2))  /* 90..9F */
#define ROW_CONT_AB (ROW_CONT_ANY | T(D_E0, D_C1) | T(D_F0, D_C2)) /* A0..BF   \
                                                                    */
#define ROW_LEAD2 T(D_ACC, D_C1)
#define ROW_LEAD3 T(D_ACC, D_C2)
#define ROW_LEAD4 T(D_ACC, D_C3)

#define X2(r) r, r
#define X4(r) X2(r), X2(r)
#define X8(r) X4(r), X4(r)
#define X16(r) X8(r), X8(r)

static const uint64_t dfa[] = {
    X16(ROW_ASCII),
    X16(ROW_ASCII),
    X16(ROW_ASCII),
    X16(ROW_ASCII), /* 00 */
    X16(ROW_ASCII),
    X16(ROW_ASCII),
    X16(ROW_ASCII),
    X16(ROW_ASCII), /* 40 */
    X16(ROW_CONT_8),
    X16(ROW_CONT_9), /* 80 */
    X16(ROW_CONT_AB),
    X16(ROW_CONT_AB), /* A0 */
    X2(0),
    X2(ROW_LEAD2),
    X4(ROW_LEAD2),
    X8(ROW_LEAD2),  /* C0 */
    X16(ROW_LEAD2), /* D0 */
    T(D_ACC, D_E0),
    X8(ROW_LEAD3),
    X4(ROW_LEAD3), /* E0 */
    T(D_ACC, D_ED),
    X2(ROW_LEAD3), /* ED */
    T(D_ACC, D_F0),
    X2(ROW_LEAD4),
    ROW_LEAD4,
    T(D_ACC, D_F4), /* F0 */
    X8(0),
    X2(0),
    0 /* F5 */
};
_Static_assert(sizeof dfa / sizeof dfa[0] == 256, "one row per byte value");

/* The connection keeps the state in a byte and wsproto_int.h fixes
 * ACCEPT = 0 and REJECT = 1; the other states are their own offsets. */
static inline uint64_t state_in(uint32_t s)
{
    return s == WS_UTF8_ACCEPT ? D_ACC : s == WS_UTF8_REJECT ? D_REJ : s;
}

static inline uint32_t state_out(uint64_t s)
{
    s &= 63;
    return s == D_ACC   ? WS_UTF8_ACCEPT
           : s == D_REJ ? WS_UTF8_REJECT
                        : (uint32_t)s;
}

#define HIGH_BITS 0x8080808080808080ull

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* The DFA over p[0..n) with the ASCII skip: while on a character boundary,
 * whole 8-byte words without a high bit are passed over; any other word
 * goes through the DFA. Stops early once rejected. */
static inline uint64_t dfa_run(uint64_t s, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        if ((s & 63) != D_ACC || (load64(p) & HIGH_BITS) != 0) {
            for (int i = 0; i < 8; i++)
                s = dfa[p[i]] >> (s & 63);
            if ((s & 63) == D_REJ)
                return D_REJ;
        }
        p += 8;
        n -= 8;
    }
    for (size_t i = 0; i < n; i++)
        s = dfa[p[i]] >> (s & 63);
    return s & 63;
}

#if WS_X86_SIMD
/* Runs shorter than this go to the DFA: the vector kernel's setup and the
 * CPU check are not worth it below a few blocks. */
#define SIMD_MIN 64

/* Past any character the previous slice left open (DFA), the run up to the
 * start of the last character of the slice is made of whole characters
 * when valid: the vector kernel checks it. The DFA then takes the last
 * character, which may be incomplete, so the state returned is exact. */
WS_NOINLINE
static uint64_t simd_run(uint64_t s, const uint8_t *p, size_t n)
{
    size_t i = 0, end = n;
    while (i < n && (s & 63) != D_ACC && (s & 63) != D_REJ)
        s = dfa[p[i++]] >> (s & 63);
    if ((s & 63) != D_ACC)
        return dfa_run(s, p + i, n - i);
    /* The last byte that is not a continuation, if in the last three. */
    for (size_t k = 1; k <= 3; k++) {
        if ((p[n - k] & 0xC0) != 0x80) {
            end = n - k;
            break;
        }
    }
    if (end > i) {
        int ok = ws_utf8_check_simd(p + i, end - i);
        if (ok < 0)
            return dfa_run(D_ACC, p + i, n - i);
        if (!ok)
            return D_REJ;
    }
    return dfa_run(D_ACC, p + end, n - end);
}
#endif

uint32_t ws_utf8_run(uint32_t state, const uint8_t *p, size_t n)
{
    uint64_t s = state_in(state);
    if (n == 0 || s == D_REJ)
        return state_out(s);
#if WS_X86_SIMD
    if (n >= SIMD_MIN)
        return state_out(simd_run(s, p, n));
#endif
    return state_out(dfa_run(s, p, n));
}

/* --------------------------------------------------------- public API */

WS_API void ws_utf8_init(ws_utf8_t *v)
{
    v->state = WS_UTF8_ACCEPT;
}

/* The state is private but lives in the caller's memory: anything that is
 * not one of our states counts as failed rather than as a shift count. */
static int state_valid(uint32_t s)
{
    return s <= D_F4 && (s % 6 == 0 || s == WS_UTF8_REJECT) && s != D_ACC;
}

WS_API int ws_utf8_feed(ws_utf8_t *v, const void *data, size_t len)
{
    if (!state_valid(v->state))
        v->state = WS_UTF8_REJECT;
    else
        v->state = ws_utf8_run(v->state, data, len);
    return v->state == WS_UTF8_REJECT ? WS_EUTF8 : 0;
}

WS_API int ws_utf8_finish(const ws_utf8_t *v)
{
    return v->state == WS_UTF8_ACCEPT ? 0 : WS_EUTF8;
}

WS_API int ws_utf8_validate(const void *data, size_t len)
{
    return ws_utf8_run(WS_UTF8_ACCEPT, data, len) == WS_UTF8_ACCEPT ? 0
                                                                    : WS_EUTF8;
}
