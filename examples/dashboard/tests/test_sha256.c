/* test_sha256.c — examples/common/sha256.c against the FIPS 180-2 / NIST
 * example vectors (Appendix B, and "abc" / the 448-bit / million-'a'
 * messages of the SHA-256 examples), fed whole, at every split point and
 * a byte at a time, plus the padding edge cases 55, 56, 63 and 64 bytes. */
#include "harness.h"
#include "sha256.h"

#include <string.h>

static const char th_suite_name[] = "sha256";

static void digest_hex(const void *data, size_t len, char hex[65])
{
    wsx_sha256_t s;
    uint8_t d[WSX_SHA256_LEN];

    wsx_sha256_init(&s);
    wsx_sha256_update(&s, data, len);
    wsx_sha256_final(&s, d);
    wsx_sha256_hex(d, hex);
}

static void empty(void)
{
    char hex[65];
    digest_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                   "27ae41e4649b934ca495991b7852b855");
}

/* FIPS 180-2 Appendix B.1: one block. */
static void abc(void)
{
    char hex[65];
    digest_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad");
}

static const char two_blocks[] =
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char two_blocks_hex[] = "248d6a61d20638b8e5c026930c3e6039"
                                     "a33ce45964ff2167f6ecedd419db06c1";

/* FIPS 180-2 Appendix B.2: 448 bits, the padding takes a second block. */
static void two_block_message(void)
{
    char hex[65];
    digest_hex(two_blocks, strlen(two_blocks), hex);
    CHECK_STR(hex, two_blocks_hex);
}

/* The same message split at every point, and a byte at a time. */
static void every_split_point(void)
{
    size_t n = strlen(two_blocks);
    uint8_t d[WSX_SHA256_LEN];
    char hex[65];
    wsx_sha256_t s;

    for (size_t cut = 0; cut <= n; cut++) {
        wsx_sha256_init(&s);
        wsx_sha256_update(&s, two_blocks, cut);
        wsx_sha256_update(&s, two_blocks + cut, n - cut);
        wsx_sha256_final(&s, d);
        wsx_sha256_hex(d, hex);
        th_note("split at %zu", cut);
        CHECK_STR(hex, two_blocks_hex);
    }
    wsx_sha256_init(&s);
    for (size_t i = 0; i < n; i++)
        wsx_sha256_update(&s, two_blocks + i, 1);
    wsx_sha256_final(&s, d);
    wsx_sha256_hex(d, hex);
    CHECK_STR(hex, two_blocks_hex);
}

/* FIPS 180-2 Appendix B.3: one million 'a', fed in uneven pieces. */
static void million_a(void)
{
    static uint8_t a[1000];
    uint8_t d[WSX_SHA256_LEN];
    char hex[65];
    wsx_sha256_t s;
    size_t left = 1000000, piece = 1;

    memset(a, 'a', sizeof a);
    wsx_sha256_init(&s);
    while (left) {
        size_t n = piece < left ? piece : left;
        wsx_sha256_update(&s, a, n);
        left -= n;
        piece = piece * 7 % 997 + 1;
    }
    wsx_sha256_final(&s, d);
    wsx_sha256_hex(d, hex);
    CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
                   "f1809a48a497200e046d39ccc7112cd0");
}

/* Lengths where the 0x80 pad and the 8-byte length meet the block edge
 * (digests from sha256sum of that many 'a'). */
static void padding_edges(void)
{
    static const struct {
        size_t len;
        const char *hex;
    } v[] = {
        {55, "9f4390f8d30c2dd92ec9f095b65e2b9a"
             "e9b0a925a5258e241c9f1e910f734318"},
        {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f"
             "590ce20f1bde7090ef7970686ec6738a"},
        {63, "7d3e74a05d7db15bce4ad9ec0658ea98"
             "e3f06eeecf16b4c6fff2da457ddc2f34"},
        {64, "ffe054fe7ae0cb6dc65c3af9b61d5209"
             "f439851db43d0ba5997337df154668eb"},
    };
    uint8_t a[64];
    char hex[65];

    memset(a, 'a', sizeof a);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        digest_hex(a, v[i].len, hex);
        th_note("%zu bytes", v[i].len);
        CHECK_STR(hex, v[i].hex);
    }
}

void suite_sha256(void);
void suite_sha256(void)
{
    RUN(empty);
    RUN(abc);
    RUN(two_block_message);
    RUN(every_split_point);
    RUN(million_a);
    RUN(padding_edges);
}
