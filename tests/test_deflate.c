/* test_deflate.c — the DEFLATE encoder (lib/deflate.c): the exact bytes
 * of the RFC 7692 §7.2.3 examples, identical output for every split of
 * input and output, the stored fallback, the flushes, every level and
 * window size round-tripping through our decoder. */
static const char th_suite_name[] = "deflate";

#include "deflate.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

void suite_deflate(void);

static ws_deflate_t dz;
static uint16_t dmem[40000]; /* ws_deflate_mem_size(15) fits */
static ws_inflate_t iz;
static uint8_t iwin[1u << 15];

/* Compress msg[0..n) with `flush`, input cut at `split`, output in
 * pieces of at most `piece`; appends to out; returns the bytes made. */
static size_t squeeze(const uint8_t *msg, size_t n, size_t split, size_t piece,
                      int flush, uint8_t *out, size_t cap)
{
    size_t at = 0, made = 0;
    for (int part = 0; part < 2; part++) {
        size_t end = part == 0 ? split : n;
        int f = part == 0 ? WS_Z_NO_FLUSH : flush, r;
        do {
            size_t used, m, room = cap - made < piece ? cap - made : piece;
            r = ws_deflate_run(&dz, msg + at, end - at, &used, out + made, room,
                               &m, f);
            at += used;
            made += m;
        } while ((r == WS_Z_NEED_OUTPUT || (f && r != WS_Z_DONE)) &&
                 made < cap);
        if (part == 1)
            CHECK_INT(r, WS_Z_DONE);
        else
            CHECK_INT(r, WS_Z_NEED_INPUT);
    }
    return made;
}

static void start(unsigned bits, int level)
{
    CHECK_INT(ws_deflate_init(&dz, bits, level, dmem), 0);
}

/* RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello", then "Hello" again sharing
 * the window, at every level, window size and split of input and
 * output; without context takeover the second is like the first.
 * The RFC's second message (f2 00 11 00 00, from zlib) is a literal 'H'
 * and a 4-byte match; ours is one 5-byte match at distance 5, a byte
 * shorter: 02 13 00 (both decode to "Hello", see below). */
static void rfc7692_hello(void)
{
    uint8_t want1[16], want2[16], out[64];
    size_t n1 = th_hex("f2 48 cd c9 c9 07 00 00 00 ff ff", want1, 16);
    size_t n2 = th_hex("02 13 00 00 00 00 ff ff", want2, 16);
    const uint8_t *hello = (const uint8_t *)"Hello";
    for (unsigned bits = 8; bits <= 15; bits++)
        for (int level = 1; level <= 9; level++)
            for (size_t split = 0; split <= 5; split++)
                for (size_t piece = 1; piece <= 12; piece += 11) {
                    th_note("bits %u level %d split %zu piece %zu", bits, level,
                            split, piece);
                    start(bits, level);
                    size_t m = squeeze(hello, 5, split, piece, WS_Z_SYNC, out,
                                       sizeof out);
                    CHECK_BYTES(out, m, want1, n1);
                    ws_deflate_reset(&dz, 1);
                    m = squeeze(hello, 5, split, piece, WS_Z_SYNC, out,
                                sizeof out);
                    CHECK_BYTES(out, m, want2, n2);
                    if (bits == 15 && level == 1 && split == 0) {
                        size_t used, made;
                        uint8_t back[8];
                        ws_inflate_init(&iz, 15, iwin);
                        ws_inflate_run(&iz, want1, n1, &used, back, 8, &made);
                        CHECK_INT(ws_inflate_run(&iz, want2, n2, &used, back, 8,
                                                 &made),
                                  WS_Z_NEED_INPUT);
                        CHECK_BYTES(back, made, "Hello", 5);
                    }
                    ws_deflate_reset(&dz, 0);
                    m = squeeze(hello, 5, split, piece, WS_Z_SYNC, out,
                                sizeof out);
                    CHECK_BYTES(out, m, want1, n1);
                }
}

/* An empty message is the empty stored block alone: its header byte
 * and 00 00 ff ff (RFC 7692 then sends the single byte 00). FINISH sets
 * BFINAL on the last block (RFC 7692 §7.2.3.4's first 7 bytes), or sends
 * an empty final fixed block (3 header bits and code 256) if none is
 * pending. */
static void flushes(void)
{
    uint8_t out[64], want[16], *z;
    size_t n;
    start(15, 6);
    CHECK_BYTES(out, squeeze(NULL, 0, 0, 64, WS_Z_SYNC, out, sizeof out),
                "\x00\x00\x00\xff\xff", 5);
    n = th_hex("f3 48 cd c9 c9 07 00", want, sizeof want);
    for (size_t split = 0; split <= 5; split++) {
        th_note("split %zu", split);
        start(15, 6);
        CHECK_BYTES(out,
                    squeeze((const uint8_t *)"Hello", 5, split, 3, WS_Z_FINISH,
                            out, sizeof out),
                    want, n);
    }
    start(15, 6);
    z = out +
        squeeze((const uint8_t *)"Hello", 5, 5, 64, WS_Z_SYNC, out, sizeof out);
    n = (size_t)(z - out);
    CHECK_BYTES(z, squeeze(NULL, 0, 0, 64, WS_Z_FINISH, z, 16), "\x03\x00", 2);
    CHECK_INT(ws_inflate_init(&iz, 15, iwin), 0);
    size_t used, made;
    uint8_t back[8];
    CHECK_INT(ws_inflate_run(&iz, out, n + 2, &used, back, 8, &made),
              WS_Z_DONE);
    CHECK_INT(used, n + 2);
    CHECK_BYTES(back, made, "Hello", 5);
}

/* Text-like data of n bytes from a seed. */
static void make_text(uint8_t *p, size_t n, uint64_t seed)
{
    static const char *const words[] = {
        "permessage", "deflate",  "window", "the", "a",     "of",
        "frame",      "{\"id\":", "\n",     " ",   "Hello", "message"};
    size_t at = 0;
    while (at < n) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        const char *w = words[(seed >> 33) % 12];
        for (size_t i = 0; w[i] && at < n; i++)
            p[at++] = (uint8_t)w[i];
    }
}

/* Decode with our inflater at window `bits` (which refuses distances
 * beyond it) and compare. */
static void check_round_trip(const uint8_t *z, size_t zn, const uint8_t *want,
                             size_t n, unsigned bits, int keep)
{
    static uint8_t back[70000];
    size_t used, made;
    if (!keep)
        CHECK_INT(ws_inflate_init(&iz, bits, iwin), 0);
    int r = ws_inflate_run(&iz, z, zn, &used, back, sizeof back, &made);
    CHECK(r == WS_Z_NEED_INPUT || r == WS_Z_DONE);
    CHECK_INT(used, zn);
    CHECK_BYTES(back, made, want, n);
}

static uint8_t text[60000], zbuf[70000], zbuf2[70000];

/* Same bytes whatever the cuts of input and output; they decode. */
static void splits_give_same_bytes(void)
{
    make_text(text, sizeof text, 1);
    for (int level = 1; level <= 9; level += 4) {
        start(15, level);
        size_t whole = squeeze(text, sizeof text, sizeof text, sizeof zbuf,
                               WS_Z_SYNC, zbuf, sizeof zbuf);
        check_round_trip(zbuf, whole, text, sizeof text, 15, 0);
        static const size_t cuts[][2] = {
            {0, 1}, {1, 7}, {4095, 300}, {30000, 5}, {59999, 64}};
        for (size_t k = 0; k < 5; k++) {
            th_note("level %d split %zu piece %zu", level, cuts[k][0],
                    cuts[k][1]);
            start(15, level);
            size_t m = squeeze(text, sizeof text, cuts[k][0], cuts[k][1],
                               WS_Z_SYNC, zbuf2, sizeof zbuf2);
            CHECK_BYTES(zbuf2, m, zbuf, whole);
        }
    }
}

/* Every level and window size, several messages sharing the window or
 * not: all decode with a decoder limited to that window. */
static void levels_and_windows(void)
{
    make_text(text, sizeof text, 2);
    for (unsigned bits = 8; bits <= 15; bits++) {
        for (int level = 1; level <= 9; level++) {
            for (int keep = 0; keep < 2; keep++) {
                th_note("bits %u level %d keep %d", bits, level, keep);
                start(bits, level);
                CHECK_INT(ws_inflate_init(&iz, bits, iwin), 0);
                for (size_t at = 0; at < sizeof text; at += 20000) {
                    size_t m = squeeze(text + at, 20000, 20000, sizeof zbuf,
                                       WS_Z_SYNC, zbuf, sizeof zbuf);
                    if (!keep)
                        ws_inflate_reset(&iz, 0);
                    check_round_trip(zbuf, m, text + at, 20000, bits, 1);
                    ws_deflate_reset(&dz, keep);
                }
            }
        }
    }
}

/* Incompressible bytes go out as a stored block (BTYPE 00): no more
 * than 5 bytes of header per block beyond the input. */
static void stored_fallback(void)
{
    uint64_t s = 99;
    for (size_t i = 0; i < 3000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        text[i] = (uint8_t)(s >> 56);
    }
    start(15, 6);
    size_t m =
        squeeze(text, 3000, 3000, sizeof zbuf, WS_Z_SYNC, zbuf, sizeof zbuf);
    CHECK_INT(zbuf[0] & 7, 0); /* BFINAL 0, BTYPE 00 */
    CHECK_INT(zbuf[1] | zbuf[2] << 8, 3000);
    CHECK_INT(m, 5 + 3000 + 5);
    check_round_trip(zbuf, m, text, 3000, 15, 0);
}

/* Long runs and repeats compress; the fast level is not far behind. */
static void compresses(void)
{
    memset(text, 'a', 50000);
    start(15, 1);
    size_t m =
        squeeze(text, 50000, 50000, sizeof zbuf, WS_Z_SYNC, zbuf, sizeof zbuf);
    th_note("50000 x 'a': %zu bytes", m);
    CHECK(m < 300);
    check_round_trip(zbuf, m, text, 50000, 15, 0);
    make_text(text, 50000, 3);
    start(15, 6);
    size_t m6 =
        squeeze(text, 50000, 50000, sizeof zbuf, WS_Z_SYNC, zbuf, sizeof zbuf);
    start(15, 1);
    size_t m1 =
        squeeze(text, 50000, 50000, sizeof zbuf, WS_Z_SYNC, zbuf, sizeof zbuf);
    CHECK(m6 < 50000 / 4);
    CHECK(m6 <= m1);
}

static void init_arguments(void)
{
    CHECK_INT(ws_deflate_mem_size(7), 0);
    CHECK_INT(ws_deflate_mem_size(16), 0);
    CHECK(ws_deflate_mem_size(15) <= sizeof dmem);
    CHECK(ws_deflate_mem_size(8) < ws_deflate_mem_size(15));
    CHECK_INT(ws_deflate_init(&dz, 7, 6, dmem), -1);
    CHECK_INT(ws_deflate_init(&dz, 15, 0, dmem), -1);
    CHECK_INT(ws_deflate_init(&dz, 15, 10, dmem), -1);
    CHECK_INT(ws_deflate_init(&dz, 15, 6, NULL), -1);
    CHECK_INT(ws_deflate_init(&dz, 15, 6, (uint8_t *)dmem + 1), -1);
    CHECK_INT(ws_deflate_init(&dz, 8, 1, dmem), 0);
}

void suite_deflate(void)
{
    RUN(rfc7692_hello);
    RUN(flushes);
    RUN(splits_give_same_bytes);
    RUN(levels_and_windows);
    RUN(stored_fallback);
    RUN(compresses);
    RUN(init_arguments);
}
