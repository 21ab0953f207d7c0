/* test_inflate.c — the DEFLATE decoder (lib/inflate.c): the RFC 7692
 * §7.2.3 examples at every split point of input and output, every way a
 * stream can be corrupt (RFC 1951), window limits 2^8..2^15. */
static const char th_suite_name[] = "inflate";

#include "deflate.h"
#include "harness.h"

#include <string.h>

void suite_inflate(void);

static ws_inflate_t st;
static uint8_t window[1u << 15];

/*
 * Decode in[0..n) fed as in[0..split) then the rest, into output pieces
 * of at most `piece` bytes; returns the last result and the bytes made.
 * A new stream unless keep (then the window of the previous one stays).
 */
static int feed(const uint8_t *in, size_t n, size_t split, size_t piece,
                uint8_t *out, size_t cap, size_t *made_total, int keep)
{
    size_t at = 0, made = 0;
    int r = WS_Z_NEED_INPUT;
    ws_inflate_reset(&st, keep);
    for (int part = 0; part < 2; part++) {
        size_t end = part == 0 ? split : n;
        do {
            size_t used, m, room = cap - made < piece ? cap - made : piece;
            r = ws_inflate_run(&st, in + at, end - at, &used, out + made, room,
                               &m);
            at += used;
            made += m;
        } while (r == WS_Z_NEED_OUTPUT && made < cap);
        if (r != WS_Z_NEED_INPUT)
            break;
    }
    *made_total = made;
    return r;
}

/* Every split of the input, output in pieces of 1, 2, 3 and 64 bytes:
 * always `want`, ending with result `want_r`. */
static void check_all_splits(const char *hex, const char *want, int want_r,
                             int keep)
{
    static const size_t pieces[] = {1, 2, 3, 64};
    uint8_t in[256], out[256];
    size_t n = th_hex(hex, in, sizeof in), made;
    for (size_t split = 0; split <= n; split++) {
        for (size_t k = 0; k < 4; k++) {
            th_note("%s: split %zu, output pieces of %zu", hex, split,
                    pieces[k]);
            int r = feed(in, n, split, pieces[k], out, sizeof out, &made, keep);
            CHECK_INT(r, want_r);
            CHECK_BYTES(out, made, want, strlen(want));
        }
    }
}

static void init_window(unsigned bits)
{
    CHECK_INT(ws_inflate_init(&st, bits, window), 0);
}

/* The examples end with the 00 00 ff ff that the receiver appends to
 * every message (RFC 7692 §7.2.2). */

/* RFC 7692 §7.2.3.1: "Hello" in one fixed-Huffman block. */
static void rfc7692_hello(void)
{
    init_window(15);
    check_all_splits("f2 48 cd c9 c9 07 00 00 00 ff ff", "Hello",
                     WS_Z_NEED_INPUT, 0);
}

/* RFC 7692 §7.2.3.2: the second "Hello" is a match into the first. */
static void rfc7692_shared_window(void)
{
    uint8_t in[32], out[32];
    size_t n, made;
    init_window(15);
    n = th_hex("f2 48 cd c9 c9 07 00 00 00 ff ff", in, sizeof in);
    CHECK_INT(feed(in, n, n, 64, out, sizeof out, &made, 0), WS_Z_NEED_INPUT);
    /* The window is kept: every split of the second message decodes. */
    check_all_splits("f2 00 11 00 00 00 00 ff ff", "Hello", WS_Z_NEED_INPUT, 1);
    /* Without the window (no context takeover) the match after the 'H'
     * reaches back too far. */
    n = th_hex("f2 00 11 00 00 00 00 ff ff", in, sizeof in);
    CHECK_INT(feed(in, n, n, 64, out, sizeof out, &made, 0), WS_Z_EDISTANCE);
    CHECK_BYTES(out, made, "H", 1);
}

/* RFC 7692 §7.2.3.3: a stored block. */
static void rfc7692_stored(void)
{
    init_window(15);
    check_all_splits("00 05 00 fa ff 48 65 6c 6c 6f 00 00 00 ff ff", "Hello",
                     WS_Z_NEED_INPUT, 0);
}

/* RFC 7692 §7.2.3.4: BFINAL set; the decoder stops after that block and
 * leaves the rest (the 00 byte and the appended tail) unread. */
static void rfc7692_bfinal(void)
{
    uint8_t in[32], out[32];
    size_t used, made;
    init_window(15);
    check_all_splits("f3 48 cd c9 c9 07 00 00 00 00 ff ff", "Hello", WS_Z_DONE,
                     0);
    size_t n = th_hex("f3 48 cd c9 c9 07 00 00 00 00 ff ff", in, sizeof in);
    ws_inflate_reset(&st, 0);
    CHECK_INT(ws_inflate_run(&st, in, n, &used, out, sizeof out, &made),
              WS_Z_DONE);
    CHECK_INT(used, 7);
    CHECK_BYTES(out, made, "Hello", 5);
    /* Done is done: more input is not read. */
    CHECK_INT(ws_inflate_run(&st, in, n, &used, out, sizeof out, &made),
              WS_Z_DONE);
    CHECK_INT(used, 0);
    CHECK_INT(made, 0);
}

/* RFC 7692 §7.2.3.5: two blocks in one message, a sync flush between. */
static void rfc7692_two_blocks(void)
{
    init_window(15);
    check_all_splits("f2 48 05 00 00 00 ff ff ca c9 c9 07 00 00 00 ff ff",
                     "Hello", WS_Z_NEED_INPUT, 0);
}

/* ------------------------------------------------- building streams */

struct bits {
    uint8_t b[33 * 1024];
    size_t n;    /* whole bytes */
    unsigned nb; /* bits in the partial byte */
};

static void put(struct bits *w, uint32_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (w->nb == 0)
            w->b[w->n] = 0;
        w->b[w->n] |= (uint8_t)(((v >> i) & 1u) << w->nb);
        if (++w->nb == 8) {
            w->nb = 0;
            w->n++;
        }
    }
}

/* A final dynamic block's header up to its counts (RFC 1951 §3.2.7):
 * HLIT, HDIST, HCLEN as given. */
static void put_counts(struct bits *w, unsigned hlit, unsigned hdist,
                       unsigned hclen)
{
    put(w, 1, 1);
    put(w, 2, 2);
    put(w, hlit, 5);
    put(w, hdist, 5);
    put(w, hclen, 4);
}

/* A Huffman code, MSB first (RFC 1951 §3.1.1). */
static void put_code(struct bits *w, uint32_t code, unsigned len)
{
    for (unsigned i = len; i-- > 0;)
        put(w, (code >> i) & 1u, 1);
}

static size_t bits_len(const struct bits *w)
{
    return w->n + (w->nb ? 1 : 0);
}

/* Canonical codes of lens[0..n) (RFC 1951 §3.2.2), written out here
 * independently of the library. */
static void canonical(const uint8_t *lens, unsigned n, uint32_t *codes)
{
    unsigned count[16] = {0};
    uint32_t next[16] = {0};
    for (unsigned s = 0; s < n; s++)
        count[lens[s]]++;
    count[0] = 0;
    for (unsigned l = 1; l < 16; l++)
        next[l] = (next[l - 1] + count[l - 1]) << 1;
    for (unsigned s = 0; s < n; s++)
        codes[s] = lens[s] ? next[lens[s]]++ : 0;
}

/* A final dynamic block header giving exactly these code lengths, each written
 * as one code-length symbol (no runs), with a complete code-length code:
 * symbols 0-12 get 4 bits, 13-18 get 5. */
static void put_dynamic(struct bits *w, const uint8_t *ll, unsigned nlen,
                        const uint8_t *dl, unsigned ndist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    uint8_t cl[19];
    uint32_t codes[19];
    for (unsigned s = 0; s < 19; s++)
        cl[s] = s < 13 ? 4 : 5;
    canonical(cl, 19, codes);
    put_counts(w, nlen - 257, ndist - 1, 19 - 4);
    for (unsigned i = 0; i < 19; i++)
        put(w, cl[order[i]], 3);
    for (unsigned i = 0; i < nlen + ndist; i++) {
        unsigned v = i < nlen ? ll[i] : dl[i - nlen];
        put_code(w, codes[v], cl[v]);
    }
}

/* The fixed code (RFC 1951 §3.2.6). */
static void put_fixed_lit(struct bits *w, unsigned s)
{
    if (s < 144)
        put_code(w, 0x30 + s, 8);
    else if (s < 256)
        put_code(w, 0x190 + s - 144, 9);
    else if (s < 280)
        put_code(w, s - 256, 7);
    else
        put_code(w, 0xC0 + s - 280, 8);
}

/* A length-3 match (code 257) at distance d with the fixed code. */
static void put_fixed_match3(struct bits *w, unsigned d)
{
    unsigned c = 0;
    while (c + 1 < 30 && ws_z_dist_base[c + 1] <= d)
        c++;
    put_fixed_lit(w, 257);
    put_code(w, c, 5);
    put(w, d - ws_z_dist_base[c], ws_z_dist_extra[c]);
}

/* Decode the stream at every split point; it must fail with `want`. */
static void expect_error(const struct bits *w, int want, const char *what)
{
    uint8_t out[1024];
    size_t n = bits_len(w), made;
    for (size_t split = 0; split <= n; split++) {
        th_note("%s, split at %zu of %zu", what, split, n);
        CHECK_INT(feed(w->b, n, split, 7, out, sizeof out, &made, 0), want);
    }
}

/* ------------------------------------------------- corrupt streams */

static void bad_block_type(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put(&w, 1, 1);
    put(&w, 3, 2); /* RFC 1951 §3.2.3: 11 is reserved (error) */
    expect_error(&w, WS_Z_EBLOCK_TYPE, "BTYPE 11");
}

static void stored_len_mismatch(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put(&w, 0, 8);
    put(&w, 5, 16);
    put(&w, 0xFFFB, 16); /* ~5 is 0xFFFA */
    expect_error(&w, WS_Z_ESTORED_LEN, "NLEN not ~LEN");
}

static void too_many_symbols(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put(&w, 1, 1);
    put(&w, 2, 2);
    put(&w, 30, 5); /* 287 literal/length codes: at most 286 */
    put(&w, 0, 5);
    put(&w, 0, 4);
    expect_error(&w, WS_Z_ECOUNTS, "HLIT 30");
    struct bits d = {{0}, 0, 0};
    put(&d, 1, 1);
    put(&d, 2, 2);
    put(&d, 0, 5);
    put(&d, 30, 5); /* 31 distance codes: at most 30 */
    put(&d, 0, 4);
    expect_error(&d, WS_Z_ECOUNTS, "HDIST 30");
}

/* Code-length code lengths: all 19 of length 1 (over-subscribed), or a
 * single one (incomplete: only literal/length and distance codes may be
 * a lone 1-bit code). */
static void bad_code_length_code(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put_counts(&w, 0, 0, 15);
    for (int i = 0; i < 19; i++)
        put(&w, 1, 3);
    expect_error(&w, WS_Z_ECODE, "code-length code over-subscribed");
    struct bits v = {{0}, 0, 0};
    put_counts(&v, 0, 0, 0);
    put(&v, 0, 3);
    put(&v, 0, 3);
    put(&v, 0, 3);
    put(&v, 1, 3); /* symbol 0 alone, 1 bit */
    expect_error(&v, WS_Z_ECODE, "code-length code incomplete");
}

static void bad_litlen_lengths(void)
{
    uint8_t ll[257] = {0}, dl[1] = {1};
    struct bits w = {{0}, 0, 0};
    init_window(15);
    ll[0] = ll[1] = ll[2] = ll[256] = 1; /* four 1-bit codes */
    put_dynamic(&w, ll, 257, dl, 1);
    expect_error(&w, WS_Z_ECODE, "literal/length over-subscribed");
    struct bits v = {{0}, 0, 0};
    memset(ll, 0, sizeof ll);
    ll[65] = ll[256] = 2; /* two 2-bit codes: half the code space */
    put_dynamic(&v, ll, 257, dl, 1);
    expect_error(&v, WS_Z_ECODE, "literal/length incomplete");
    struct bits e = {{0}, 0, 0};
    memset(ll, 0, sizeof ll);
    ll[65] = ll[66] = 1; /* complete, but no end-of-block code */
    put_dynamic(&e, ll, 257, dl, 1);
    expect_error(&e, WS_Z_ENO_EOB, "no end-of-block");
}

static void bad_distance_lengths(void)
{
    uint8_t ll[257] = {0}, dl[3] = {2, 2, 0};
    struct bits w = {{0}, 0, 0};
    init_window(15);
    ll[65] = ll[256] = 1;
    put_dynamic(&w, ll, 257, dl, 3);
    expect_error(&w, WS_Z_ECODE, "distance code incomplete");
    struct bits v = {{0}, 0, 0};
    uint8_t over[3] = {1, 1, 1};
    put_dynamic(&v, ll, 257, over, 3);
    expect_error(&v, WS_Z_ECODE, "distance code over-subscribed");
}

/* A lone 1-bit distance code, and no distance code at all, are valid
 * (RFC 1951 §3.2.7) as long as no other distance is used. */
static void lone_distance_code(void)
{
    uint8_t ll[258] = {0}, dl[1] = {1}, out[8];
    uint32_t codes[258];
    init_window(15);
    ll[65] = ll[256] = ll[257] = 2; /* 'A', end, length 3 */
    ll[66] = 2;
    canonical(ll, 258, codes);
    for (int none = 0; none < 2; none++) {
        struct bits w = {{0}, 0, 0};
        dl[0] = none ? 0 : 1;
        put_dynamic(&w, ll, 258, dl, 1);
        put_code(&w, codes[65], 2);
        put_code(&w, codes[66], 2);
        if (!none) {
            put_code(&w, codes[257], 2);
            put_code(&w, 0, 1); /* distance code 0: distance 1 */
        }
        put_code(&w, codes[256], 2);
        size_t made;
        th_note("%s", none ? "no distance code" : "one 1-bit distance code");
        CHECK_INT(feed(w.b, bits_len(&w), 0, 64, out, sizeof out, &made, 0),
                  WS_Z_DONE);
        CHECK_BYTES(out, made, none ? "AB" : "ABBBB", none ? 2u : 5u);
    }
}

static void repeat_without_previous(void)
{
    struct bits w = {{0}, 0, 0};
    uint8_t cl[19];
    uint32_t codes[19];
    init_window(15);
    for (unsigned s = 0; s < 19; s++)
        cl[s] = s < 13 ? 4 : 5;
    canonical(cl, 19, codes);
    put_counts(&w, 0, 0, 15);
    static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                      11, 4,  12, 3, 13, 2, 14, 1, 15};
    for (int i = 0; i < 19; i++)
        put(&w, cl[order[i]], 3);
    put_code(&w, codes[16], cl[16]); /* repeat, with nothing before */
    put(&w, 0, 2);
    expect_error(&w, WS_Z_EREPEAT, "repeat first");
    struct bits v = w;
    v.n = 0;
    v.nb = 0;
    memset(v.b, 0, sizeof v.b);
    put_counts(&v, 0, 0, 15);
    for (int i = 0; i < 19; i++)
        put(&v, cl[order[i]], 3);
    put_code(&v, codes[18], cl[18]); /* 138 zeros */
    put(&v, 127, 7);
    put_code(&v, codes[18], cl[18]); /* 138 more: past 257 + 1 */
    put(&v, 127, 7);
    expect_error(&v, WS_Z_EREPEAT, "run past the end");
}

static void invalid_symbols(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put(&w, 1, 1);
    put(&w, 1, 2);
    put_fixed_lit(&w, 'a');
    put_fixed_lit(&w, 286); /* RFC 1951 §3.2.6: will not occur */
    expect_error(&w, WS_Z_ESYMBOL, "length code 286");
    struct bits v = {{0}, 0, 0};
    put(&v, 1, 1);
    put(&v, 1, 2);
    put_fixed_lit(&v, 'a');
    put_fixed_lit(&v, 287);
    expect_error(&v, WS_Z_ESYMBOL, "length code 287");
    for (unsigned c = 30; c < 32; c++) {
        struct bits d = {{0}, 0, 0};
        put(&d, 1, 1);
        put(&d, 1, 2);
        put_fixed_lit(&d, 'a');
        put_fixed_lit(&d, 257);
        put_code(&d, c, 5); /* distance codes 30, 31 */
        expect_error(&d, WS_Z_ESYMBOL, "distance code 30/31");
    }
}

/* A stored block of n bytes of 'x', then (fixed code) a length-3 match at
 * distance d and the end of the stream. */
static void build_far_match(struct bits *w, unsigned n, unsigned d)
{
    w->n = 0;
    w->nb = 0;
    put(w, 0, 8);
    put(w, n, 16);
    put(w, ~n & 0xFFFFu, 16);
    memset(w->b + w->n, 'x', n);
    w->n += n;
    put(w, 1, 1);
    put(w, 1, 2);
    put_fixed_match3(w, d);
    put_fixed_lit(w, 256);
}

static struct bits far;
static uint8_t far_out[(1u << 15) + 16];

/* Distances up to the window are fine; one more is refused, however the
 * input and output are cut. */
static void distance_window_limits(void)
{
    for (unsigned bits = 8; bits <= 15; bits++) {
        unsigned w = 1u << bits;
        size_t made;
        init_window(bits);
        build_far_match(&far, w < 1000 ? 1000 : w, w);
        th_note("window bits %u, distance %u", bits, w);
        /* Output pieces of 100: the match reaches into the window. */
        CHECK_INT(feed(far.b, bits_len(&far), bits_len(&far) / 2, 100, far_out,
                       sizeof far_out, &made, 0),
                  WS_Z_DONE);
        CHECK_INT(made, (w < 1000 ? 1000 : w) + 3);
        if (bits == 15)
            continue; /* 32768 is the largest distance DEFLATE has */
        build_far_match(&far, w < 1000 ? 1000 : w, w + 1);
        th_note("window bits %u, distance %u", bits, w + 1);
        CHECK_INT(feed(far.b, bits_len(&far), 0, sizeof far_out, far_out,
                       sizeof far_out, &made, 0),
                  WS_Z_EDISTANCE);
        CHECK_INT(feed(far.b, bits_len(&far), 300, 64, far_out, sizeof far_out,
                       &made, 0),
                  WS_Z_EDISTANCE);
    }
}

/* Distance beyond what was output so far (the window is not full). */
static void distance_before_start(void)
{
    struct bits w = {{0}, 0, 0};
    init_window(15);
    put(&w, 1, 1);
    put(&w, 1, 2);
    put_fixed_lit(&w, 'a');
    put_fixed_match3(&w, 2);
    expect_error(&w, WS_Z_EDISTANCE, "distance 2 after one byte");
}

/* A failed stream stays failed until reset; then decodes anew. */
static void error_is_sticky(void)
{
    uint8_t in[16], out[16];
    size_t used, made;
    init_window(15);
    in[0] = 0x07; /* BFINAL, BTYPE 11 */
    CHECK_INT(ws_inflate_run(&st, in, 1, &used, out, sizeof out, &made),
              WS_Z_EBLOCK_TYPE);
    size_t n = th_hex("f2 48 cd c9 c9 07 00 00 00 ff ff", in, sizeof in);
    CHECK_INT(ws_inflate_run(&st, in, n, &used, out, sizeof out, &made),
              WS_Z_EBLOCK_TYPE);
    CHECK_INT(made, 0);
    ws_inflate_reset(&st, 0);
    CHECK_INT(ws_inflate_run(&st, in, n, &used, out, sizeof out, &made),
              WS_Z_NEED_INPUT);
    CHECK_BYTES(out, made, "Hello", 5);
}

static void init_arguments(void)
{
    CHECK_INT(ws_inflate_init(&st, 7, window), -1);
    CHECK_INT(ws_inflate_init(&st, 16, window), -1);
    CHECK_INT(ws_inflate_init(&st, 15, NULL), -1);
    CHECK_INT(ws_inflate_init(&st, 8, window), 0);
    /* The memory the header states: state + window, <= 40 KiB at 15. */
    CHECK(sizeof(ws_inflate_t) + (1u << 15) <= 40 * 1024);
}

void suite_inflate(void)
{
    RUN(rfc7692_hello);
    RUN(rfc7692_shared_window);
    RUN(rfc7692_stored);
    RUN(rfc7692_bfinal);
    RUN(rfc7692_two_blocks);
    RUN(bad_block_type);
    RUN(stored_len_mismatch);
    RUN(too_many_symbols);
    RUN(bad_code_length_code);
    RUN(bad_litlen_lengths);
    RUN(bad_distance_lengths);
    RUN(lone_distance_code);
    RUN(repeat_without_previous);
    RUN(invalid_symbols);
    RUN(distance_window_limits);
    RUN(distance_before_start);
    RUN(error_is_sticky);
    RUN(init_arguments);
}
