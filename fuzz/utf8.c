/*
 * utf8.c — fuzz target: the UTF-8 validator (lib/utf8.c, lib/utf8_simd.c)
 * against the reference in fuzz_common.h, which decodes code points.
 *
 * Input: [mode] [seed] text...
 *   mode bits 0-5  ASCII bytes put in front of the text, so every byte of
 *                  it is tried at every offset of a 16/32/64-byte vector;
 *   mode bit 6     the text repeated 5 times (long runs for the kernels);
 *   mode bit 7     the text also run from a corrupt ws_utf8_t state.
 *   seed           picks the split points (with a hash of the text).
 *
 * Checked on every input: ws_utf8_validate; ws_utf8_feed/ws_utf8_finish
 * over a split into pieces (the result after each piece is "still valid"
 * exactly when the reference finds no impossible prefix, and the failure is
 * reported at the piece holding the first impossible byte); ws_utf8_run's
 * state after each piece equals its state for the same prefix in one call;
 * and the vector kernels alone, on the whole text and on sub-runs.
 */
#include "fuzz_common.h"
#include "simd_int.h"
#include "wsproto.h"
#include "wsproto_int.h"

static void check_kernels(const uint8_t *p, size_t n)
{
#if WS_X86_SIMD
    int want = ref_utf8_valid(p, n);
    if (ws_cpu_has_avx2())
        FZ_CHECK(ws_utf8_check_avx2(p, n) == want,
                 "AVX2 kernel on %zu bytes: got %d, reference %d", n,
                 ws_utf8_check_avx2(p, n), want);
    if (ws_cpu_has_sse4())
        FZ_CHECK(ws_utf8_check_sse4(p, n) == want,
                 "SSE4 kernel on %zu bytes: got %d, reference %d", n,
                 ws_utf8_check_sse4(p, n), want);
#else
    (void)p;
    (void)n;
#endif
}

/* Feed p[0..n) in pieces chosen by rng; compare with the reference after
 * every piece, through both the public and the internal interface. */
static void check_split(const uint8_t *p, size_t n, fz_rng_t *rng, size_t bad,
                        int valid, const uint8_t *starts)
{
    unsigned pieces = 0;
    ws_utf8_t v;
    uint32_t st = WS_UTF8_ACCEPT;
    size_t t = 0;
    int mode = (int)fz_below(rng, 4);

    uint8_t *tail = malloc(n ? n : 1);
    FZ_CHECK(tail != NULL, "out of memory");
    ws_utf8_init(&v);
    while (t < n) {
        size_t k;
        switch (mode) {
        case 0:
            k = 1;
            break;
        case 1:
            k = 1 + fz_below(rng, 4);
            break;
        case 2:
            k = 1 + fz_below(rng, 80);
            break;
        default:
            k = fz_below(rng, n - t + 1);
            break; /* may be 0 */
        }
        if (k > n - t)
            k = n - t;
        /* Each piece ends its heap block: no peeking past it. */
        uint8_t *piece = fz_at_tail(tail, n ? n : 1, p + t, k);
        int r = ws_utf8_feed(&v, k ? piece : NULL, k);
        st = ws_utf8_run(st, piece, k);
        t += k;

        int ok_so_far = bad == 0 || bad > t;
        FZ_CHECK((r == 0) == ok_so_far,
                 "ws_utf8_feed after %zu of %zu bytes: got %d, reference "
                 "says the first impossible prefix is %zu bytes",
                 t, n, r, bad);
        FZ_CHECK(r == 0 || r == WS_EUTF8, "ws_utf8_feed returned %d", r);
        FZ_CHECK((st == WS_UTF8_REJECT) == !ok_so_far,
                 "ws_utf8_run state %u after %zu bytes, reference bad=%zu", st,
                 t, bad);
        /* The same prefix in one call (sampled: it costs O(t)). */
        if (++pieces <= 16 || t == n || fz_below(rng, 64) == 0) {
            uint32_t once = ws_utf8_run(WS_UTF8_ACCEPT, p, t);
            FZ_CHECK(once == st,
                     "ws_utf8_run: state %u after pieces, %u in one call, "
                     "at %zu",
                     st, once, t);
        }
        if (ok_so_far)
            FZ_CHECK((st == WS_UTF8_ACCEPT) == starts[t],
                     "ws_utf8_run state %u at %zu, reference boundary %d", st,
                     t, starts[t]);
    }
    free(tail);
    FZ_CHECK((ws_utf8_finish(&v) == 0) == valid,
             "ws_utf8_finish: got %d, reference valid=%d", ws_utf8_finish(&v),
             valid);
    /* ws_utf8_finish does not change the validator. */
    FZ_CHECK((ws_utf8_finish(&v) == 0) == valid, "ws_utf8_finish changed v");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0];
    size_t pad = mode & 63, reps = (mode & 64) ? 5 : 1;
    const uint8_t *text = data + 2;
    size_t tlen = size - 2;
    size_t n = pad + tlen * reps;
    uint8_t *p = malloc(n ? n : 1);
    FZ_CHECK(p != NULL, "out of memory");
    memset(p, 'a', pad);
    for (size_t r = 0; r < reps; r++)
        if (tlen)
            memcpy(p + pad + r * tlen, text, tlen);

    int boundary;
    size_t bad = ref_utf8_scan(p, n, &boundary);
    int valid = bad == 0 && boundary;

    /* One-shot: the public function and the internal run. */
    FZ_CHECK((ws_utf8_validate(p, n) == 0) == valid,
             "ws_utf8_validate(%zu bytes) = %d, reference valid=%d", n,
             ws_utf8_validate(p, n), valid);
    uint32_t st = ws_utf8_run(WS_UTF8_ACCEPT, p, n);
    FZ_CHECK((st == WS_UTF8_ACCEPT) == valid, "ws_utf8_run whole: state %u",
             st);
    FZ_CHECK((st == WS_UTF8_REJECT) == (bad != 0),
             "ws_utf8_run whole: state %u, reference bad=%zu", st, bad);

    /* starts[t]: a character starts at t (or t == n ends the last one),
     * by the reference's decoding; meaningful before the first bad byte. */
    uint8_t *starts = calloc(n + 1, 1);
    FZ_CHECK(starts != NULL, "out of memory");
    size_t i = 0;
    for (; i < n; i += (size_t)ref_utf8_need(p[i])) {
        starts[i] = 1;
        if (ref_utf8_need(p[i]) == 0)
            break;
    }
    if (i == n)
        starts[n] = 1;

    fz_rng_t rng = {fz_fnv(data, size) ^ data[1]};
    check_split(p, n, &rng, bad, valid, starts);
    free(starts);

    /* The kernels on the whole run and on a sub-run at an arbitrary
     * position (unaligned starts, every length). */
    check_kernels(p, n);
    size_t a = fz_below(&rng, n + 1), b = fz_below(&rng, n + 1);
    if (a > b) {
        size_t x = a;
        a = b;
        b = x;
    }
    uint8_t *sub = fz_dup(p + a, b - a);
    check_kernels(sub, b - a);
    FZ_CHECK((ws_utf8_validate(sub, b - a) == 0) == ref_utf8_valid(sub, b - a),
             "ws_utf8_validate on [%zu, %zu)", a, b);
    free(sub);

    /* The state lives in the caller's memory: whatever it holds, feeding
     * must neither crash nor leave a value that is not a state. */
    if (mode & 128) {
        ws_utf8_t v;
        memcpy(&v.state, data, size >= 4 ? 4 : 0);
        if (size < 4)
            v.state = data[1];
        int r = ws_utf8_feed(&v, p, n);
        FZ_CHECK(r == 0 || r == WS_EUTF8, "ws_utf8_feed returned %d", r);
        if (r == 0)
            FZ_CHECK(ws_utf8_feed(&v, NULL, 0) == 0, "empty feed failed");
        else
            FZ_CHECK(ws_utf8_feed(&v, "a", 1) == WS_EUTF8, "not sticky");
    }
    free(p);
    return 0;
}
