/* test_sha1.c — SHA-1 against the RFC 3174 §7.3 test vectors, fed whole,
 * in uneven chunks, and split at every point. */
static const char th_suite_name[] = "sha1";

#include "harness.h"
#include "wsproto_int.h"

#include <string.h>

void suite_sha1(void);

/* RFC 3174 §7.3: TEST1..TEST4 and their digests. */
#define TEST1 "abc"
#define TEST2 "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define TEST4 "0123456701234567012345670123456701234567012345670123456701234567"

static void digest_of(const void *data, size_t len, uint8_t out[WS_SHA1_LEN])
{
    ws_sha1_t s;
    ws_sha1_init(&s);
    ws_sha1_update(&s, data, len);
    ws_sha1_final(&s, out);
}

static void check_digest(const void *data, size_t len, const char *hex)
{
    uint8_t want[WS_SHA1_LEN], got[WS_SHA1_LEN];
    th_hex(hex, want, sizeof want);
    digest_of(data, len, got);
    CHECK_BYTES(got, sizeof got, want, sizeof want);
}

static void rfc3174_test1_abc(void)
{
    check_digest(TEST1, strlen(TEST1),
                 "A9 99 3E 36 47 06 81 6A BA 3E 25 71 78 50 C2 6C 9C D0 D8 9D");
}

static void rfc3174_test2_448_bits(void)
{
    check_digest(TEST2, strlen(TEST2),
                 "84 98 3E 44 1C 3B D2 6E BA AE 4A A1 F9 51 29 E5 E5 46 70 F1");
}

/* TEST3: one million 'a', fed in chunks of 1, 2, ... 97 bytes so block
 * boundaries fall everywhere in the buffering code. */
static void rfc3174_test3_million_a_uneven(void)
{
    static char chunk[97];
    uint8_t want[WS_SHA1_LEN], got[WS_SHA1_LEN];
    ws_sha1_t s;
    size_t left = 1000000, n = 1;

    memset(chunk, 'a', sizeof chunk);
    th_hex("34 AA 97 3C D4 C4 DA A4 F6 1E EB 2B DB AD 27 31 65 34 01 6F", want,
           sizeof want);
    ws_sha1_init(&s);
    while (left > 0) {
        size_t k = n < left ? n : left;
        ws_sha1_update(&s, chunk, k);
        left -= k;
        n = n % sizeof chunk + 1;
    }
    ws_sha1_final(&s, got);
    CHECK_BYTES(got, sizeof got, want, sizeof want);
}

/* TEST4: the 64-byte string hashed ten times over. */
static void rfc3174_test4_repeated(void)
{
    uint8_t want[WS_SHA1_LEN], got[WS_SHA1_LEN];
    ws_sha1_t s;

    th_hex("DE A3 56 A2 CD DD 90 C7 A7 EC ED C5 EB B5 63 93 4F 46 04 52", want,
           sizeof want);
    ws_sha1_init(&s);
    for (int i = 0; i < 10; i++)
        ws_sha1_update(&s, TEST4, strlen(TEST4));
    ws_sha1_final(&s, got);
    CHECK_BYTES(got, sizeof got, want, sizeof want);
}

static void empty_string(void)
{
    check_digest("", 0,
                 "da 39 a3 ee 5e 6b 4b 0d 32 55 bf ef 95 60 18 90 af d8 07 09");
}

/* Lengths around the padding boundary (55, 56, 63, 64, 65 bytes) hashed in
 * two updates split at every point must match the one-shot digest. */
static void every_split_point(void)
{
    static const size_t lens[] = {55, 56, 63, 64, 65, 119, 128, 200};
    uint8_t data[200];

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        uint8_t whole[WS_SHA1_LEN], part[WS_SHA1_LEN];
        digest_of(data, lens[l], whole);
        for (size_t k = 0; k <= lens[l]; k++) {
            ws_sha1_t s;
            ws_sha1_init(&s);
            ws_sha1_update(&s, data, k);
            ws_sha1_update(&s, data + k, lens[l] - k);
            ws_sha1_final(&s, part);
            th_note("len %zu split at %zu", lens[l], k);
            CHECK_BYTES(part, sizeof part, whole, sizeof whole);
        }
    }
}

/* TEST2 split at every point: a known digest, not just self-consistency. */
static void test2_every_split(void)
{
    static const char test2[] = TEST2;
    uint8_t want[WS_SHA1_LEN], got[WS_SHA1_LEN];
    size_t len = sizeof test2 - 1;

    th_hex("84 98 3E 44 1C 3B D2 6E BA AE 4A A1 F9 51 29 E5 E5 46 70 F1", want,
           sizeof want);
    for (size_t k = 0; k <= len; k++) {
        ws_sha1_t s;
        ws_sha1_init(&s);
        ws_sha1_update(&s, test2, k);
        ws_sha1_update(&s, test2 + k, len - k);
        ws_sha1_final(&s, got);
        th_note("split at %zu", k);
        CHECK_BYTES(got, sizeof got, want, sizeof want);
    }
}

void suite_sha1(void)
{
    RUN(rfc3174_test1_abc);
    RUN(rfc3174_test2_448_bits);
    RUN(rfc3174_test3_million_a_uneven);
    RUN(rfc3174_test4_repeated);
    RUN(empty_string);
    RUN(every_split_point);
    RUN(test2_every_split);
}
