/*
 * zdiff.c — the DEFLATE codec against zlib, the reference
 * implementation, on the corpora of corpus.h:
 *   inflate: zlib's raw deflate output (windowBits -9..-15, levels 0-9,
 *            every strategy) decoded by ours, in one call and in random
 *            pieces of input and output, must give back the input;
 *   deflate: our output (levels 1-9, window bits 8..15, one call and
 *            random pieces, sync-flushed messages sharing a window, or
 *            not: then each message alone) decoded by zlib must give back
 *            the input; window bits 8 (which zlib cannot compress with)
 *            round-trips through ours.
 * Prints one line per group and "N passed, N failed"; exits 1 on failure.
 */
#include "corpus.h"
#include "deflate.h"

#include <stdarg.h>

static int passed, failed;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failed++;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "zdiff: out of memory\n");
        exit(1);
    }
    return p;
}

/* zlib raw deflate of p[0..n) into a fresh buffer. */
static uint8_t *zlib_deflate(const uint8_t *p, size_t n, int level, int wbits,
                             int strategy, size_t *out_len)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, level, Z_DEFLATED, -wbits, 8, strategy) != Z_OK) {
        fprintf(stderr, "zdiff: deflateInit2 failed\n");
        exit(1);
    }
    size_t cap = deflateBound(&s, (uLong)n) + 16;
    uint8_t *out = xmalloc(cap);
    s.next_in = (Bytef *)(uintptr_t)p;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    if (deflate(&s, Z_FINISH) != Z_STREAM_END) {
        fprintf(stderr, "zdiff: deflate did not finish\n");
        exit(1);
    }
    *out_len = cap - s.avail_out;
    deflateEnd(&s);
    return out;
}

/* A piece size for a split run: mostly small, sometimes large. */
static size_t piece(uint64_t *rng, size_t left)
{
    uint64_t r = corpus_rng(rng);
    size_t n = (r & 3) == 0   ? 1 + (r >> 8) % 7
               : (r & 3) == 1 ? 1 + (r >> 8) % 300
                              : 1 + (r >> 8) % 20000;
    return n < left ? n : left;
}

/*
 * Our inflate of z[0..zn), expected to give want[0..wn) and use all of
 * z: up to the final block, or (a sync-flushed stream) to its end.
 * rng == NULL: one call with all of it; otherwise random input and output
 * pieces.
 */
static int ours_inflate(const uint8_t *z, size_t zn, const uint8_t *want,
                        size_t wn, unsigned wbits, uint64_t *rng)
{
    static ws_inflate_t st;
    static uint8_t window[1u << 15];
    uint8_t *out = xmalloc(wn + 64);
    size_t in_pos = 0, out_pos = 0;
    int r;

    ws_inflate_init(&st, wbits, window);
    do {
        size_t in_n = rng ? piece(rng, zn - in_pos) : zn - in_pos;
        size_t out_n = rng ? piece(rng, wn + 64 - out_pos) : wn + 64 - out_pos;
        size_t used, made;
        r = ws_inflate_run(&st, z + in_pos, in_n, &used, out + out_pos, out_n,
                           &made);
        in_pos += used;
        out_pos += made;
        if (r == WS_Z_NEED_INPUT && in_pos == zn)
            break;
    } while (r == WS_Z_NEED_INPUT || r == WS_Z_NEED_OUTPUT);
    int ok = (r == WS_Z_DONE || r == WS_Z_NEED_INPUT) && in_pos == zn &&
             out_pos == wn && memcmp(out, want, wn) == 0;
    free(out);
    return ok ? 0 : (r < 0 ? r : -100);
}

static void inflate_group(const corpus_t *c)
{
    static const int strategies[] = {Z_DEFAULT_STRATEGY, Z_FILTERED,
                                     Z_HUFFMAN_ONLY, Z_RLE, Z_FIXED};
    int group_failed = failed, n = 0;
    uint64_t rng = 42;
    for (int wbits = 9; wbits <= 15; wbits++) {
        for (int level = 0; level <= 9; level++) {
            for (int si = 0; si < 5; si++) {
                if (si && (level == 0 || wbits != 15))
                    continue;
                size_t zn;
                uint8_t *z = zlib_deflate(c->p, c->len, level, wbits,
                                          strategies[si], &zn);
                int r1 =
                    ours_inflate(z, zn, c->p, c->len, (unsigned)wbits, NULL);
                int r2 =
                    ours_inflate(z, zn, c->p, c->len, (unsigned)wbits, &rng);
                if (r1 || r2)
                    fail("inflate %s: zlib level %d wbits %d strategy %d: "
                         "whole %d, split %d",
                         c->name, level, wbits, si, r1, r2);
                else
                    passed++;
                n++;
                free(z);
            }
        }
    }
    printf("inflate %-10s %7zu bytes: %d zlib streams, %s\n", c->name, c->len,
           n, failed == group_failed ? "all decoded" : "FAILURES");
}

/* zlib raw inflate of z[0..zn) (a stream of sync-flushed or finished
 * pieces); returns 0 if it gives exactly want[0..wn). */
static int zlib_inflate(const uint8_t *z, size_t zn, const uint8_t *want,
                        size_t wn, int wbits)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -wbits) != Z_OK)
        return -1;
    uint8_t *out = xmalloc(wn + 64);
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)zn;
    s.next_out = out;
    s.avail_out = (uInt)(wn + 64);
    int r = inflate(&s, Z_SYNC_FLUSH);
    int ok = (r == Z_OK || r == Z_STREAM_END || r == Z_BUF_ERROR) &&
             s.avail_in == 0 && s.total_out == wn && memcmp(out, want, wn) == 0;
    inflateEnd(&s);
    free(out);
    return ok ? 0 : -1;
}

/* Our deflate of the messages p[0..n) cut at cuts[0..ncuts) (each one
 * sync-flushed, given in random pieces when rng is set, into random
 * output pieces), appended to *out; ends[m] (when not NULL) is where
 * message m's output ends. keep: context takeover. */
static size_t ours_deflate(const uint8_t *p, size_t n, const size_t *cuts,
                           size_t ncuts, unsigned wbits, int level, int keep,
                           uint64_t *rng, uint8_t *out, size_t cap,
                           size_t *ends)
{
    static ws_deflate_t st;
    static uint16_t mem[40000];
    size_t at = 0, olen = 0;
    if (ws_deflate_mem_size(wbits) > sizeof mem ||
        ws_deflate_init(&st, wbits, level, mem)) {
        fprintf(stderr, "zdiff: ws_deflate_init failed\n");
        exit(1);
    }
    for (size_t m = 0; m <= ncuts; m++) {
        size_t end = m < ncuts ? cuts[m] : n;
        int r;
        do {
            size_t in_n = rng ? piece(rng, end - at) : end - at;
            size_t out_n = rng ? piece(rng, cap - olen) : cap - olen;
            int flush = at + in_n == end ? WS_Z_SYNC : WS_Z_NO_FLUSH;
            size_t used, made;
            r = ws_deflate_run(&st, p + at, in_n, &used, out + olen, out_n,
                               &made, flush);
            at += used;
            olen += made;
            if (olen == cap) {
                fprintf(stderr, "zdiff: output overflow\n");
                exit(1);
            }
        } while (r != WS_Z_DONE);
        if (ends)
            ends[m] = olen;
        ws_deflate_reset(&st, keep);
    }
    return olen;
}

static void deflate_group(const corpus_t *c)
{
    int group_failed = failed, n = 0;
    uint64_t rng = 7;
    size_t cap = c->len + c->len / 8 + 4096, cuts[8];
    uint8_t *z = xmalloc(cap);
    for (size_t i = 0; i < 8; i++)
        cuts[i] = c->len / 9 * (i + 1) + (size_t)corpus_rng(&rng) % 1000;
    for (unsigned wbits = 8; wbits <= 15; wbits++) {
        for (int level = 1; level <= 9; level++) {
            for (int mode = 0; mode < 4; mode++) {
                /* 0: one message, one call; 1: one message in pieces;
                 * 2: nine messages, pieces, the window shared;
                 * 3: nine messages without context takeover, each
                 * decoded by a fresh zlib stream. */
                size_t ends[9];
                size_t zn = ours_deflate(c->p, c->len, cuts, mode >= 2 ? 8 : 0,
                                         wbits, level, mode != 3,
                                         mode ? &rng : NULL, z, cap, ends);
                int r = 0;
                if (mode == 3 && wbits >= 9) {
                    for (size_t m = 0; m < 9 && !r; m++) {
                        size_t zs = m ? ends[m - 1] : 0;
                        size_t ps = m ? cuts[m - 1] : 0;
                        size_t pe = m < 8 ? cuts[m] : c->len;
                        r = zlib_inflate(z + zs, ends[m] - zs, c->p + ps,
                                         pe - ps, (int)wbits);
                    }
                } else {
                    r = wbits >= 9
                            ? zlib_inflate(z, zn, c->p, c->len, (int)wbits)
                            : ours_inflate(z, zn, c->p, c->len, wbits, NULL);
                }
                if (r)
                    fail("deflate %s: level %d wbits %u mode %d: %s "
                         "inflate refused it",
                         c->name, level, wbits, mode,
                         wbits >= 9 ? "zlib" : "our");
                else
                    passed++;
                n++;
            }
        }
    }
    printf("deflate %-10s %7zu bytes: %d streams, %s\n", c->name, c->len, n,
           failed == group_failed ? "all decoded" : "FAILURES");
    free(z);
}

int main(void)
{
    corpus_t cs[6];
    cs[0] = corpus_text(300000, 1);
    cs[1] = corpus_json(200000, 2);
    cs[2] = corpus_binary(200000, 3);
    cs[3] = corpus_random(70000, 4);
    cs[4] = corpus_compressed(70000, 5);
    cs[5] = corpus_source(400000);
    for (int i = 0; i < 6; i++)
        inflate_group(&cs[i]);
    for (int i = 0; i < 6; i++)
        deflate_group(&cs[i]);
    for (int i = 0; i < 6; i++)
        free(cs[i].p);
    printf("zdiff: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
