/* test_base64.c — RFC 4648 base64: the §10 vectors both ways, and every
 * way strict decoding must refuse an input. */
static const char th_suite_name[] = "base64";

#include "harness.h"
#include "wsproto_int.h"

#include <string.h>

void suite_base64(void);

/* RFC 4648 §10. */
static const struct {
    const char *plain, *encoded;
} rfc4648_vectors[] = {
    {"", ""},
    {"f", "Zg=="},
    {"fo", "Zm8="},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="},
    {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};
#define NVECTORS (sizeof rfc4648_vectors / sizeof rfc4648_vectors[0])

static void rfc4648_encode(void)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        const char *plain = rfc4648_vectors[i].plain;
        const char *want = rfc4648_vectors[i].encoded;
        char out[16];
        size_t n;

        memset(out, '#', sizeof out);
        n = ws_base64_encode(out, plain, strlen(plain));
        th_note("vector \"%s\"", plain);
        CHECK_INT(n, WS_BASE64_ENCODED_LEN(strlen(plain)));
        CHECK_BYTES(out, n, want, strlen(want));
        CHECK(out[n] == '#'); /* no NUL, nothing past the end */
    }
}

static void rfc4648_decode(void)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        const char *want = rfc4648_vectors[i].plain;
        const char *in = rfc4648_vectors[i].encoded;
        uint8_t out[16];
        ptrdiff_t n;

        th_note("vector \"%s\"", in);
        n = ws_base64_decode(out, sizeof out, in, strlen(in));
        CHECK_INT(n, (ptrdiff_t)strlen(want));
        if (n >= 0)
            CHECK_BYTES(out, (size_t)n, want, strlen(want));
    }
}

/* A cap of exactly the decoded length works; one less is refused and the
 * byte past the cap is never touched. */
static void decode_cap(void)
{
    uint8_t out[8];

    for (size_t i = 1; i < NVECTORS; i++) {
        const char *in = rfc4648_vectors[i].encoded;
        size_t want = strlen(rfc4648_vectors[i].plain);

        th_note("vector \"%s\"", in);
        memset(out, 0xEE, sizeof out);
        CHECK_INT(ws_base64_decode(out, want, in, strlen(in)), (ptrdiff_t)want);
        CHECK_INT(out[want], 0xEE);
        memset(out, 0xEE, sizeof out);
        CHECK_INT(ws_base64_decode(out, want - 1, in, strlen(in)), -1);
        CHECK_INT(out[want - 1], 0xEE);
    }
}

static void decode_invalid(void)
{
    static const char *const bad[] = {
        "Zg",           /* padding missing */
        "Zg=",          /* wrong length */
        "Zm9vY",        /* wrong length */
        "Z===",         /* three pads */
        "====",         /* only padding */
        "=Zg=",         /* pad at the start */
        "Zm=v",         /* pad before a character */
        "Zg==Zg==",     /* padding in the middle */
        "Zh==",         /* non-zero trailing bits (4 of them) */
        "Zm9=",         /* non-zero trailing bits (2 of them) */
        "Zm9vYmF ",     /* space */
        "Zm9v\nYmE=",   /* newline (also the wrong length) */
        "Zm9v\r\nYg==", /* CRLF */
        "Zm9v-_8=",     /* base64url alphabet */
        "Zm9v.mFy",     /* bad character */
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        th_note("input \"%s\"", bad[i]);
        CHECK_INT(ws_base64_decode(out, sizeof out, bad[i], strlen(bad[i])),
                  -1);
    }
}

/* A NUL and bytes >= 0x80 are not in the alphabet. */
static void decode_invalid_bytes(void)
{
    char in[4] = {'Z', 'm', '9', 'v'};
    uint8_t out[3];

    for (int c = 0; c < 256; c++) {
        int valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '+' || c == '/';
        in[1] = (char)c;
        th_note("byte 0x%02x", c);
        CHECK_INT(ws_base64_decode(out, sizeof out, in, sizeof in),
                  valid ? 3 : -1);
    }
}

/* Assorted bytes, at every length 0..66 (all three tail cases, many
 * blocks), survive a round trip. */
static void round_trip(void)
{
    uint8_t data[66], back[66];
    char enc[WS_BASE64_ENCODED_LEN(66)];

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(255 - i * 13);
    for (size_t len = 0; len <= sizeof data; len++) {
        size_t n = ws_base64_encode(enc, data, len);
        th_note("length %zu", len);
        CHECK_INT(ws_base64_decode(back, sizeof back, enc, n), (ptrdiff_t)len);
        CHECK_BYTES(back, len, data, len);
    }
}

/* The 16-byte Sec-WebSocket-Key of RFC 6455 §1.3. */
static void websocket_key(void)
{
    uint8_t out[16];
    CHECK_INT(ws_base64_decode(out, sizeof out, "dGhlIHNhbXBsZSBub25jZQ==", 24),
              16);
    CHECK_BYTES(out, 16, "the sample nonce", 16);
}

void suite_base64(void)
{
    RUN(rfc4648_encode);
    RUN(rfc4648_decode);
    RUN(decode_cap);
    RUN(decode_invalid);
    RUN(decode_invalid_bytes);
    RUN(round_trip);
    RUN(websocket_key);
}
