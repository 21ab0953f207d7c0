/* test_mask.c — ws_mask (lib/mask.c): RFC 6455 §5.3 masking, against a
 * byte-at-a-time loop, at every key offset, length, alignment and split. */
static const char th_suite_name[] = "mask";

#include "harness.h"
#include "simd_int.h"
#include "wsproto_int.h"

#include <string.h>

/* RFC 6455 §5.3, literally: octet i XOR key[i mod 4]. */
static void ref_mask(uint8_t *out, const uint8_t *in, size_t len,
                     const uint8_t key[4], uint64_t offset)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(in[i] ^ key[(offset + i) % 4]);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        b[i] = (uint8_t)(seed >> 16);
    }
}

static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d. */
static void test_rfc_hello(void)
{
    uint8_t want[5], out[5], back[5];
    th_hex("7f 9f 4d 51 58", want, sizeof want);
    ws_mask(out, "Hello", 5, key, 0);
    CHECK_BYTES(out, 5, want, 5);
    ws_mask(back, out, 5, key, 0);
    CHECK_BYTES(back, 5, "Hello", 5);
    memcpy(back, want, 5);
    ws_mask(back, back, 5, key, 0); /* in place */
    CHECK_BYTES(back, 5, "Hello", 5);
    /* "llo" is payload bytes 2..4. */
    ws_mask(out, "llo", 3, key, 2);
    CHECK_BYTES(out, 3, want + 2, 3);
}

/* Check ws_mask(len, offset) against the reference, copying from src+sa
 * into dst+da and in place at dst+da, with guard bytes around dst. */
static void check_one(size_t len, uint64_t offset, size_t sa, size_t da)
{
    static uint8_t src[70000], dst[70000 + 64], want[70000 + 64];
    fill(src, len + sa, (uint32_t)(len * 31 + offset));
    ref_mask(want + da, src + sa, len, key, offset);
    memset(dst, 0xA5, len + da + 32);
    ws_mask(dst + da, src + sa, len, key, offset);
    th_note("len %zu offset %llu src+%zu dst+%zu copy", len,
            (unsigned long long)offset, sa, da);
    CHECK_BYTES(dst + da, len, want + da, len);
    CHECK_INT(dst[da + len], 0xA5);
    CHECK(da == 0 || dst[da - 1] == 0xA5);
    memcpy(dst + da, src + sa, len);
    ws_mask(dst + da, dst + da, len, key, offset);
    th_note("len %zu offset %llu dst+%zu in place", len,
            (unsigned long long)offset, da);
    CHECK_BYTES(dst + da, len, want + da, len);
    CHECK_INT(dst[da + len], 0xA5);
}

static void test_vs_reference(void)
{
    static const size_t long_lens[] = {127, 128, 129,  255,      256,
                                       257, 300, 1000, 4096 + 5, 65536 + 7};
    for (uint64_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 100; len++)
            check_one(len, off, off % 3, len % 5);
        for (size_t i = 0; i < sizeof long_lens / sizeof *long_lens; i++)
            check_one(long_lens[i], off, off % 3, i % 5);
    }
    /* A large offset only counts mod 4. */
    check_one(77, 0xFFFFFFFFFFFFFFFFull, 0, 0);
    check_one(300, (1ull << 40) + 6, 1, 2);
}

/* Every source and destination misalignment within a 32-byte vector. */
static void test_misaligned(void)
{
    for (size_t sa = 0; sa < 32; sa++)
        for (size_t da = 0; da < 32; da += 3)
            for (size_t len = 250; len < 262; len += 5)
                check_one(len, sa + da, sa, da);
}

/* Masking in two or three pieces, each with its payload offset, equals
 * masking the whole payload at once. */
static void test_pieces(void)
{
    enum { N = 300 };
    uint8_t src[N], whole[N], got[N];
    fill(src, N, 7);
    ws_mask(whole, src, N, key, 0);
    for (size_t cut = 0; cut <= N; cut++) {
        memcpy(got, src, N);
        ws_mask(got, got, cut, key, 0);
        ws_mask(got + cut, got + cut, N - cut, key, cut);
        th_note("cut at %zu", cut);
        CHECK_BYTES(got, N, whole, N);
    }
    for (size_t a = 0; a <= 70; a++) {
        for (size_t b = a; b <= 70; b++) {
            ws_mask(got, src, a, key, 0);
            ws_mask(got + a, src + a, b - a, key, a);
            ws_mask(got + b, src + b, N - b, key, b);
            th_note("cuts at %zu and %zu", a, b);
            CHECK_BYTES(got, N, whole, N);
        }
    }
}

/* Masking twice gives the text back; a zero key changes nothing. */
static void test_involution(void)
{
    static uint8_t a[5000], b[5000];
    static const uint8_t zero[4] = {0, 0, 0, 0};
    fill(a, sizeof a, 99);
    memcpy(b, a, sizeof b);
    ws_mask(b, b, sizeof b, key, 3);
    CHECK(memcmp(a, b, sizeof a) != 0);
    ws_mask(b, b, sizeof b, key, 3);
    CHECK_BYTES(b, sizeof b, a, sizeof a);
    ws_mask(b, b, sizeof b, zero, 1);
    CHECK_BYTES(b, sizeof b, a, sizeof a);
    ws_mask(NULL, NULL, 0, key, 0);
}

/* ws_mask_ascii() (the unmask of text, lib/mask.c) writes what ws_mask()
 * writes and says whether it was all ASCII: no high byte, or one at each
 * position, through every kernel (scalar, SSE2, AVX2) and key phase. */
static void test_mask_ascii(void)
{
    static const size_t lens[] = {0,   1,   3,   4,   7,   8,   15,
                                  16,  17,  31,  32,  63,  64,  65,
                                  127, 128, 255, 256, 257, 300, 1000};
    static uint8_t src[1000], got[1000], want[1000];
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        size_t len = lens[i];
        for (uint64_t off = 0; off < 4; off++) {
            for (size_t hi = 0; hi <= len; hi += 1 + hi / 8) {
                /* plain text ASCII, with byte `hi` >= 0x80 (none when
                 * hi == len), masked as a client sends it */
                for (size_t j = 0; j < len; j++)
                    want[j] =
                        (uint8_t)(j == hi ? 0x80 + j % 128 : ' ' + j % 95);
                ref_mask(src, want, len, key, off);
                int ascii = ws_mask_ascii(got, src, len, key, off);
                th_note("len %zu offset %llu high byte at %zu", len,
                        (unsigned long long)off, hi);
                CHECK_BYTES(got, len, want, len);
                CHECK_INT(ascii, hi == len);
                memcpy(got, src, len);
                CHECK_INT(ws_mask_ascii(got, got, len, key, off), hi == len);
                CHECK_BYTES(got, len, want, len);
            }
        }
    }
}

/* ws_unmask_small() (conn.c's small-frame path, lib/simd_int.h) unmasks
 * p[0..len) in whole words reaching to ws_unmask_small_room(len): the
 * bytes past the payload must come out unchanged. */
static void test_unmask_small(void)
{
    uint8_t buf[160], want[160];
    for (size_t len = 0; len <= 125; len++) {
        for (size_t hi = 0; hi <= len; hi += 1 + hi / 4) {
            size_t room = ws_unmask_small_room(len);
            CHECK(room >= len && room < len + 16);
            for (size_t j = 0; j < sizeof want; j++)
                want[j] = (uint8_t)(j == hi ? 0xC3 : 'a' + j % 26);
            memcpy(buf, want, sizeof buf);
            ref_mask(buf, want, len, key, 0);
            for (size_t j = len; j < room; j++) /* the next frame's bytes */
                buf[j] = want[j] = (uint8_t)(0x81 + j);
            th_note("len %zu high byte at %zu", len, hi);
            CHECK_INT(ws_unmask_small(buf, len, key), hi == len);
            CHECK_BYTES(buf, room, want, room);
        }
    }
}

void suite_mask(void);
void suite_mask(void)
{
    RUN(test_rfc_hello);
    RUN(test_vs_reference);
    RUN(test_misaligned);
    RUN(test_pieces);
    RUN(test_involution);
    RUN(test_mask_ascii);
    RUN(test_unmask_small);
}
