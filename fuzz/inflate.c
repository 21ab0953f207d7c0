/*
 * inflate.c — fuzz target: our DEFLATE decoder (lib/inflate.c) against
 * zlib's, the reference, on arbitrary streams.
 *
 * Input: [mode] [seed] stream...
 *   mode bits 0-2  window bits 8 + (mode & 7): 8..15;
 *   seed           picks the input and output piece sizes (with a hash of
 *                  the stream).
 *
 * zlib decodes the stream one output byte per call: then its "distance
 * too far back" check is exactly ours (beyond the window or the bytes
 * output so far), whichever way the output is cut. Ours decodes it in
 * random pieces of input and output. Checked: both reach the same end
 * (the final block, corrupt data, or input exhausted) and give the same
 * bytes, up to a cap on the output (so a small input cannot keep the
 * fuzzer busy for long).
 *
 * Then the other direction: the stream bytes, taken as plain data, are
 * compressed by our deflate (lib/deflate.c: level 1-9 from the seed, the
 * same window bits, random input and output pieces, sync flush) and zlib,
 * with that window, must give them back exactly: our output is valid
 * DEFLATE and never reaches farther back than the window.
 */
#include "deflate.h"
#include "fuzz_common.h"

#include <zlib.h>

#define OUT_CAP (64 * 1024)

enum { END_DONE, END_ERROR, END_INPUT, END_CAP };

static const char *end_name(int e)
{
    return e == END_DONE    ? "final block"
           : e == END_ERROR ? "corrupt"
           : e == END_INPUT ? "needs input"
                            : "output cap";
}

static FZ_NOCOV int zlib_decode(const uint8_t *p, size_t n, unsigned bits,
                                uint8_t *out, size_t *made)
{
    z_stream s;
    int end = END_INPUT;
    memset(&s, 0, sizeof s);
    FZ_CHECK(inflateInit2(&s, -(int)bits) == Z_OK, "inflateInit2");
    s.next_in = (Bytef *)(uintptr_t)p;
    s.avail_in = (uInt)n;
    for (;;) {
        if (s.total_out == OUT_CAP) {
            end = END_CAP;
            break;
        }
        s.next_out = out + s.total_out;
        s.avail_out = 1;
        int r = inflate(&s, Z_NO_FLUSH);
        if (r == Z_STREAM_END) {
            end = END_DONE;
            break;
        }
        if (r == Z_DATA_ERROR) {
            end = END_ERROR;
            break;
        }
        FZ_CHECK(r == Z_OK || r == Z_BUF_ERROR, "zlib inflate: %d", r);
        if (s.avail_out == 1 && s.avail_in == 0)
            break; /* no progress, no input: truncated */
    }
    *made = s.total_out;
    inflateEnd(&s);
    return end;
}

static int ours_decode(const uint8_t *p, size_t n, unsigned bits, fz_rng_t *rng,
                       uint8_t *out, size_t *made)
{
    static ws_inflate_t st;
    static uint8_t window[1u << 15];
    size_t at = 0, got = 0;
    int r;
    FZ_CHECK(ws_inflate_init(&st, bits, window) == 0, "init");
    for (;;) {
        size_t in_n = 1 + fz_below(rng, 64), out_n = 1 + fz_below(rng, 600);
        if (fz_below(rng, 4) == 0)
            in_n = n; /* now and then all the rest at once */
        if (in_n > n - at)
            in_n = n - at;
        if (out_n > OUT_CAP - got)
            out_n = OUT_CAP - got;
        size_t used, m;
        r = ws_inflate_run(&st, p + at, in_n, &used, out + got, out_n, &m);
        FZ_CHECK(used <= in_n && m <= out_n, "used %zu of %zu, made %zu of %zu",
                 used, in_n, m, out_n);
        at += used;
        got += m;
        if (r == WS_Z_DONE || r < 0)
            break;
        if (r == WS_Z_NEED_INPUT && at == n)
            break;
        if (got == OUT_CAP)
            break;
    }
    *made = got;
    if (r == WS_Z_DONE)
        return END_DONE;
    if (r < 0)
        return END_ERROR;
    return got == OUT_CAP ? END_CAP : END_INPUT;
}

static void deflate_check(const uint8_t *p, size_t n, unsigned bits,
                          fz_rng_t *rng, uint8_t *z, uint8_t *back)
{
    static ws_deflate_t st;
    static uint16_t mem[50000];
    size_t at = 0, zn = 0, made;
    int level = 1 + (int)fz_below(rng, 9), r;
    FZ_CHECK(ws_deflate_mem_size(bits) <= sizeof mem, "work area");
    FZ_CHECK(ws_deflate_init(&st, bits, level, mem) == 0, "init");
    do {
        size_t in_n = fz_below(rng, 4) ? 1 + fz_below(rng, 300) : n - at;
        size_t out_n = 1 + fz_below(rng, 500), used, m;
        if (in_n > n - at)
            in_n = n - at;
        if (out_n > OUT_CAP - zn)
            out_n = OUT_CAP - zn;
        r = ws_deflate_run(&st, p + at, in_n, &used, z + zn, out_n, &m,
                           at + in_n == n ? WS_Z_SYNC : WS_Z_NO_FLUSH);
        FZ_CHECK(r >= 0 && used <= in_n && m <= out_n, "deflate: %d", r);
        at += used;
        zn += m;
        FZ_CHECK(zn < OUT_CAP, "deflate output over %d bytes", OUT_CAP);
    } while (r != WS_Z_DONE);
    int end = zlib_decode(z, zn, bits, back, &made);
    FZ_CHECK(end == END_INPUT && made == n && memcmp(back, p, n) == 0,
             "level %d window bits %u: zlib says %s, %zu of %zu bytes", level,
             bits, end_name(end), made, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t zout[OUT_CAP], oout[OUT_CAP];
    if (size < 2)
        return 0;
    unsigned bits = 8 + (data[0] & 7u);
    const uint8_t *p = data + 2;
    size_t n = size - 2, zmade, omade;
    uint8_t *copy = fz_dup(p, n); /* reads past n are reported */
    fz_rng_t rng = {fz_fnv(p, n) ^ data[1]};
    int zend = zlib_decode(copy, n, bits, zout, &zmade);
    int oend = ours_decode(copy, n, bits, &rng, oout, &omade);
    if (zend == END_CAP || oend == END_CAP) {
        size_t k = zmade < omade ? zmade : omade;
        FZ_CHECK(memcmp(zout, oout, k) == 0, "outputs differ before the cap");
    } else {
        FZ_CHECK(zend == oend,
                 "window bits %u: zlib says %s, we say %s "
                 "(zlib made %zu, we made %zu)",
                 bits, end_name(zend), end_name(oend), zmade, omade);
        FZ_CHECK(zmade == omade && memcmp(zout, oout, zmade) == 0,
                 "window bits %u, %s: outputs differ (%zu vs %zu bytes)", bits,
                 end_name(zend), zmade, omade);
    }
    if (n <= OUT_CAP / 2)
        deflate_check(copy, n, bits, &rng, zout, oout);
    free(copy);
    return 0;
}
