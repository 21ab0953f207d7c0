/* test_conn.c — the receive side (lib/conn.c): RFC 6455 vectors, every
 * rule of §5 with the close code it maps to, the closing handshake, limits,
 * reassembly and streaming. Every stream is also replayed split at every
 * point and one byte at a time (tr_expect). */
#include "conn_int.h"
#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char th_suite_name[] = "conn";

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 §5.7 */

static const ws_options_t STREAM = {0};
static const ws_options_t WHOLE = {.flags = WS_OPT_REASSEMBLE};
static const ws_options_t CLIENT_STREAM = {.random = tr_fixed_random};
static const ws_options_t CLIENT_WHOLE = {.flags = WS_OPT_REASSEMBLE,
                                          .random = tr_fixed_random};

/* A frame written by the test itself (independent of lib/frame.c): masked
 * with the §5.7 key when `masked`. Returns its length. */
static size_t frame(uint8_t *out, int fin, int op, int masked,
                    const void *payload, size_t len)
{
    return th_frame(out, (unsigned)((fin ? 0x80 : 0) | op), masked, payload,
                    len);
}

static size_t cf(uint8_t *out, int fin, int op, const char *payload)
{
    return frame(out, fin, op, 1, payload, strlen(payload));
}

static void expect_hex(ws_role_t role, const ws_options_t *o, const char *hex,
                       const char *want)
{
    uint8_t buf[512];
    size_t n = th_hex(hex, buf, sizeof buf);
    tr_expect(role, o, buf, n, want);
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static char *fmt(const char *f, ...)
{
    static char bufs[4][4096];
    static int which;
    char *b = bufs[which++ % 4];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof bufs[0], f, ap);
    va_end(ap);
    return b;
}

/* ------------------------------------------------ RFC 6455 §5.7 vectors */

static void rfc_unmasked_hello(void)
{
    const char *in = "81 05 48 65 6c 6c 6f";
    expect_hex(WS_ROLE_CLIENT, &CLIENT_STREAM, in,
               "START text\n"
               "DATA text frame=5 FS FE FIN [48 65 6c 6c 6f]\n"
               "END text frames=1\n"
               "state=OPEN closer=NONE");
    expect_hex(WS_ROLE_CLIENT, &CLIENT_WHOLE, in,
               "MESSAGE text frames=1 [48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
    /* The same bytes to a server: unmasked, so the connection fails. */
    expect_hex(WS_ROLE_SERVER, &STREAM, in,
               fmt("ERROR EMASK 1002\n%s\nstate=CLOSED closer=LOCAL",
                   tr_fail_send(WS_EMASK, 0)));
}

static void rfc_masked_hello(void)
{
    const char *in = "81 85 37 fa 21 3d 7f 9f 4d 51 58";
    expect_hex(WS_ROLE_SERVER, &STREAM, in,
               "START text\n"
               "DATA text frame=5 FS FE FIN [48 65 6c 6c 6f]\n"
               "END text frames=1\n"
               "state=OPEN closer=NONE");
    expect_hex(WS_ROLE_SERVER, &WHOLE, in,
               "MESSAGE text frames=1 [48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
    /* §5.1: a client fails on a masked frame. Its close frame is masked
     * with the fixed test key: 88 80|len 37 fa 21 3d + masked payload. */
    char *got =
        tr_run(WS_ROLE_CLIENT, &CLIENT_STREAM,
               (const uint8_t *)"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
               11, NULL, 0, NULL);
    CHECK(strncmp(got, "ERROR EMASK 1002\nSEND [88 ", 26) == 0);
    CHECK(strstr(got, "state=CLOSED closer=LOCAL") != NULL);
    free(got);
}

static void rfc_fragmented_hello(void)
{
    const char *in = "01 03 48 65 6c 80 02 6c 6f";
    expect_hex(WS_ROLE_CLIENT, &CLIENT_STREAM, in,
               "START text\n"
               "DATA text frame=3 FS FE [48 65 6c]\n"
               "DATA text frame=2 FS FE FIN [6c 6f]\n"
               "END text frames=2\n"
               "state=OPEN closer=NONE");
    expect_hex(WS_ROLE_CLIENT, &CLIENT_WHOLE, in,
               "MESSAGE text frames=2 [48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
}

static void rfc_ping_pong(void)
{
    /* Unmasked ping to a client: the automatic pong is masked (fixed key). */
    expect_hex(WS_ROLE_CLIENT, &CLIENT_STREAM, "89 05 48 65 6c 6c 6f",
               "PING [48 65 6c 6c 6f]\n"
               "SEND [8a 85 37 fa 21 3d 7f 9f 4d 51 58]\n"
               "state=OPEN closer=NONE");
    /* Masked ping to a server: the pong goes back unmasked. */
    expect_hex(WS_ROLE_SERVER, &STREAM, "89 85 37 fa 21 3d 7f 9f 4d 51 58",
               "PING [48 65 6c 6c 6f]\n"
               "SEND [8a 05 48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
    /* §5.7 masked pong "Hello" to a server: delivered, nothing sent. */
    expect_hex(WS_ROLE_SERVER, &WHOLE, "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
               "PONG [48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
    ws_options_t quiet = {.flags = WS_OPT_NO_AUTO_PONG};
    expect_hex(WS_ROLE_SERVER, &quiet, "89 85 37 fa 21 3d 7f 9f 4d 51 58",
               "PING [48 65 6c 6c 6f]\n"
               "state=OPEN closer=NONE");
}

static void rfc_binary_256_and_64k(void)
{
    static uint8_t payload[65536], in[65536 + 14];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);

    /* §5.7: "82 7E 0100 [256 bytes of binary data]" */
    size_t n = frame(in, 1, 2, 0, payload, 256);
    CHECK_BYTES(in, 4, "\x82\x7e\x01\x00", 4);
    tr_expect(WS_ROLE_CLIENT, &CLIENT_WHOLE, in, n,
              fmt("MESSAGE binary frames=1 len=256 fnv=%08x\n"
                  "state=OPEN closer=NONE",
                  fnv(payload, 256)));

    /* §5.7: "82 7F 0000000000010000 [65536 bytes of binary data]" */
    n = frame(in, 1, 2, 0, payload, 65536);
    CHECK_BYTES(in, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    tr_expect(WS_ROLE_CLIENT, &CLIENT_STREAM, in, n,
              fmt("START binary\n"
                  "DATA binary frame=65536 FS FE FIN len=65536 fnv=%08x\n"
                  "END binary frames=1\nstate=OPEN closer=NONE",
                  fnv(payload, 65536)));
    /* The same, masked, to a server in reassembly mode. */
    n = frame(in, 1, 2, 1, payload, 65536);
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              fmt("MESSAGE binary frames=1 len=65536 fnv=%08x\n"
                  "state=OPEN closer=NONE",
                  fnv(payload, 65536)));
}

/* Every length-encoding boundary, masked, in both modes. */
static void length_boundaries(void)
{
    static const size_t lens[] = {0,   1,     125,   126,  127,
                                  128, 65535, 65536, 70000};
    static uint8_t payload[70000], in[70000 + 14];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i % 251);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = lens[i];
        size_t n = frame(in, 1, 2, 1, payload, len);
        char desc[64];
        if (len <= 40) {
            int k = snprintf(desc, sizeof desc, " [");
            for (size_t j = 0; j < len; j++)
                k += snprintf(desc + k, sizeof desc - (size_t)k,
                              j ? " %02x" : "%02x", payload[j]);
            snprintf(desc + k, sizeof desc - (size_t)k, "]");
        } else {
            snprintf(desc, sizeof desc, " len=%zu fnv=%08x", len,
                     fnv(payload, len));
        }
        tr_expect(
            WS_ROLE_SERVER, &WHOLE, in, n,
            fmt("MESSAGE binary frames=1%s\nstate=OPEN closer=NONE", desc));
        tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
                  fmt("START binary\nDATA binary frame=%zu FS FE FIN%s\n"
                      "END binary frames=1\nstate=OPEN closer=NONE",
                      len, desc));
    }
}

/* ------------------------------------------------------ framing errors */

static void expect_failure(ws_role_t role, const uint8_t *in, size_t len,
                           const char *before, int err)
{
    const ws_options_t *o = role == WS_ROLE_SERVER ? &STREAM : &CLIENT_STREAM;
    const char *name = ws_err_name(err);
    unsigned code = ws_error_close_code(err);
    if (role == WS_ROLE_SERVER) {
        tr_expect(role, o, in, len,
                  fmt("%sERROR %s %u\n%s\nstate=CLOSED closer=LOCAL", before,
                      name, code, tr_fail_send(err, 0)));
    } else {
        char *got = tr_run(role, o, in, len, NULL, 0, NULL);
        CHECK(strstr(got, fmt("ERROR %s %u\nSEND [88 ", name, code)) != NULL);
        free(got);
    }
}

static void reserved_bits(void)
{
    uint8_t in[32];
    for (int rsv = 1; rsv < 8; rsv++) {
        size_t n = cf(in, 1, 1, "Hi");
        in[0] |= (uint8_t)(rsv << 4);
        th_note("rsv=%d", rsv);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_ERSV);
    }
    /* RSV on a control frame and on a continuation, too. */
    size_t n = cf(in, 0, 1, "a");
    n += cf(in + n, 1, 0, "b");
    in[n - 1 - 4 - 2] |= 0x40;
    expect_failure(WS_ROLE_SERVER, in, n,
                   "START text\nDATA text frame=1 FS FE [61]\n", WS_ERSV);
    n = cf(in, 1, 9, "");
    in[0] |= 0x10;
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_ERSV);
}

static void reserved_opcodes(void)
{
    static const int ops[] = {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf};
    uint8_t in[32];
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = cf(in, 1, ops[i], "x");
        th_note("opcode %x", ops[i]);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_EOPCODE);
        n = frame(in, 1, ops[i], 0, "x", 1);
        expect_failure(WS_ROLE_CLIENT, in, n, "", WS_EOPCODE);
    }
}

static void masking_rules(void)
{
    uint8_t in[32];
    size_t n = frame(in, 1, 2, 0, "abc", 3);
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_EMASK);
    n = frame(in, 1, 2, 1, "abc", 3);
    expect_failure(WS_ROLE_CLIENT, in, n, "", WS_EMASK);
    n = frame(in, 1, 9, 0, "", 0); /* control frames too */
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_EMASK);
}

static void length_encoding(void)
{
    /* §5.2: 64-bit length with the most significant bit set. */
    expect_failure(WS_ROLE_CLIENT,
                   (const uint8_t *)"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",
                   10, "", WS_ELENGTH);
    expect_failure(WS_ROLE_SERVER,
                   (const uint8_t *)"\x82\xff\xff\xff\xff\xff\xff\xff\xff\xff"
                                    "\x37\xfa\x21\x3d",
                   14, "", WS_ELENGTH);
    /* Non-minimal encodings: 5 in 16 bits; 200 and 65535 in 64 bits. */
    static const char *nonminimal[] = {
        "82 fe 00 05 37 fa 21 3d 00 00 00 00 00", "82 fe 00 7d 37 fa 21 3d",
        "82 ff 00 00 00 00 00 00 00 c8 37 fa 21 3d",
        "82 ff 00 00 00 00 00 00 ff ff 37 fa 21 3d"};
    for (size_t i = 0; i < 4; i++) {
        uint8_t in[32];
        size_t n = th_hex(nonminimal[i], in, sizeof in);
        th_note("%s", nonminimal[i]);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_ELENGTH);
    }
    /* WS_OPT_LENIENT_LENGTH accepts the first one as a 5-byte message. */
    ws_options_t lenient = {.flags = WS_OPT_LENIENT_LENGTH | WS_OPT_REASSEMBLE};
    expect_hex(WS_ROLE_SERVER, &lenient, nonminimal[0],
               "MESSAGE binary frames=1 [37 fa 21 3d 37]\n"
               "state=OPEN closer=NONE");
}

static void control_frame_rules(void)
{
    static uint8_t payload[126];
    uint8_t in[256];
    memset(payload, 'p', sizeof payload);
    /* §5.5: 125 bytes is fine, 126 is not, for each control opcode. */
    size_t n = frame(in, 1, 9, 1, payload, 125);
    uint8_t pong[127] = {0x8a, 0x7d};
    memset(pong + 2, 'p', 125);
    tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
              fmt("PING len=125 fnv=%08x\nSEND len=127 fnv=%08x\n"
                  "state=OPEN closer=NONE",
                  fnv(payload, 125), fnv(pong, 127)));
    static const int ops[] = {8, 9, 10};
    for (int i = 0; i < 3; i++) {
        n = frame(in, 1, ops[i], 1, payload, 126);
        th_note("opcode %d, 126 bytes", ops[i]);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_ECONTROL_LENGTH);
        n = frame(in, 0, ops[i], 1, "", 0);
        th_note("opcode %d without FIN", ops[i]);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_ECONTROL_FRAGMENT);
    }
}

static void fragmentation_rules(void)
{
    uint8_t in[128];
    /* Continuation with no message started. */
    size_t n = cf(in, 1, 0, "lo");
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_ECONTINUATION);
    /* A message, finished, then a stray continuation. */
    n = cf(in, 1, 1, "ok");
    n += cf(in + n, 1, 0, "x");
    expect_failure(WS_ROLE_SERVER, in, n,
                   "START text\nDATA text frame=2 FS FE FIN [6f 6b]\n"
                   "END text frames=1\n",
                   WS_ECONTINUATION);
    /* A new text (or binary) frame while a message is unfinished. */
    for (int op = 1; op <= 2; op++) {
        n = cf(in, 0, 1, "Hel");
        n += cf(in + n, 1, op, "lo");
        expect_failure(WS_ROLE_SERVER, in, n,
                       "START text\nDATA text frame=3 FS FE [48 65 6c]\n",
                       WS_EINTERLEAVED);
    }
}

/* §5.4: control frames may come between fragments and are delivered at
 * once, with their automatic replies, without disturbing the message. */
static void interleaved_control(void)
{
    uint8_t in[128];
    size_t n = cf(in, 0, 1, "Hel");
    n += cf(in + n, 1, 9, "p1");
    n += cf(in + n, 0, 0, "");
    n += cf(in + n, 1, 10, "p2");
    n += cf(in + n, 1, 0, "lo");
    tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
              "START text\n"
              "DATA text frame=3 FS FE [48 65 6c]\n"
              "PING [70 31]\n"
              "SEND [8a 02 70 31]\n"
              "DATA text frame=0 FS FE []\n"
              "PONG [70 32]\n"
              "DATA text frame=2 FS FE FIN [6c 6f]\n"
              "END text frames=3\n"
              "state=OPEN closer=NONE");
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              "PING [70 31]\n"
              "SEND [8a 02 70 31]\n"
              "PONG [70 32]\n"
              "MESSAGE text frames=3 [48 65 6c 6c 6f]\n"
              "state=OPEN closer=NONE");
}

static void empty_messages(void)
{
    uint8_t in[64];
    size_t n = cf(in, 1, 1, "");
    n += cf(in + n, 0, 2, "");
    n += cf(in + n, 1, 0, "");
    tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
              "START text\nDATA text frame=0 FS FE FIN []\nEND text frames=1\n"
              "START binary\nDATA binary frame=0 FS FE []\n"
              "DATA binary frame=0 FS FE FIN []\nEND binary frames=2\n"
              "state=OPEN closer=NONE");
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              "MESSAGE text frames=1 []\nMESSAGE binary frames=2 []\n"
              "state=OPEN closer=NONE");
}

static void several_messages_one_buffer(void)
{
    uint8_t in[256];
    size_t n = cf(in, 1, 1, "one");
    n += cf(in + n, 1, 2, "two");
    n += cf(in + n, 0, 1, "thr");
    n += cf(in + n, 1, 0, "ee");
    n += cf(in + n, 1, 1, "four");
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              "MESSAGE text frames=1 [6f 6e 65]\n"
              "MESSAGE binary frames=1 [74 77 6f]\n"
              "MESSAGE text frames=2 [74 68 72 65 65]\n"
              "MESSAGE text frames=1 [66 6f 75 72]\n"
              "state=OPEN closer=NONE");
}

/* ---------------------------------------------------------------- UTF-8 */

static void utf8_valid_text(void)
{
    /* "κόσμε" split across three frames inside characters, plus a 4-byte
     * character and the noncharacter U+FFFF, which is valid. */
    static const char text[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
                               "\xf0\x9f\x98\x80\xef\xbf\xbf";
    uint8_t in[128];
    size_t n = frame(in, 0, 1, 1, text, 3);
    n += frame(in + n, 0, 0, 1, text + 3, 10);
    n += frame(in + n, 1, 0, 1, text + 13, sizeof text - 1 - 13);
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              "MESSAGE text frames=3 [ce ba e1 bd b9 cf 83 ce bc ce b5 f0 9f "
              "98 80 ef bf bf]\nstate=OPEN closer=NONE");
}

static void utf8_invalid_text(void)
{
    static const char *bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong 3-byte */
        "\xf0\x80\x80\xaf", /* overlong 4-byte */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\x80",             /* stray continuation */
        "\xfe",
        "\xff",
        "\xc1\xbf",
        "\xf5\x80\x80\x80",
    };
    uint8_t in[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = cf(in, 1, 1, bad[i]);
        th_note("sequence %zu", i);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_EUTF8);
    }
    /* Truncated at the end of the message: only the end can tell. */
    size_t n = cf(in, 0, 1, "ok\xe2\x82");
    n += cf(in + n, 1, 0, "");
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              fmt("ERROR EUTF8 1007\n%s\nstate=CLOSED closer=LOCAL",
                  tr_fail_send(WS_EUTF8, 0)));
    n = cf(in, 1, 1, "ok\xe2\x82");
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_EUTF8);
}

/* Fail fast: the connection fails as soon as the impossible prefix is in,
 * although the message (even the frame) never completes. */
static void utf8_fail_fast(void)
{
    static const char *prefixes[] = {"\xed\xa0", "\xf4\x90", "\xe0\x80",
                                     "\xc0"};
    uint8_t in[64];
    for (size_t i = 0; i < 4; i++) {
        /* frame 1 valid, frame 2 declares 20 bytes but only 4 arrive */
        size_t n = cf(in, 0, 1, "valid ");
        uint8_t tail[20];
        memset(tail, 'a', sizeof tail);
        memcpy(tail + 2, prefixes[i], strlen(prefixes[i]));
        n += frame(in + n, 0, 0, 1, tail, sizeof tail);
        n -= sizeof tail - 2 - strlen(prefixes[i]);
        th_note("prefix %zu", i);
        expect_failure(
            WS_ROLE_SERVER, in, n,
            "START text\nDATA text frame=6 FS FE [76 61 6c 69 64 20]\n",
            WS_EUTF8);
        ws_options_t whole = WHOLE;
        tr_expect(WS_ROLE_SERVER, &whole, in, n,
                  fmt("ERROR EUTF8 1007\n%s\nstate=CLOSED closer=LOCAL",
                      tr_fail_send(WS_EUTF8, 0)));
    }
}

/* ------------------------------------------------------------- closing */

static void close_codes(void)
{
    uint8_t in[64];
    for (unsigned code = 0; code < 5100; code++) {
        int valid = (code >= 1000 && code <= 1003) ||
                    (code >= 1007 && code <= 1014) ||
                    (code >= 3000 && code <= 4999);
        uint8_t body[2] = {(uint8_t)(code >> 8), (uint8_t)code};
        size_t n = frame(in, 1, 8, 1, body, 2);
        char *got = tr_run(WS_ROLE_SERVER, &STREAM, in, n, NULL, 0, NULL);
        const char *want =
            valid ? fmt("CLOSE %u ''\nSEND [88 02 %02x %02x]\n"
                        "state=CLOSED closer=PEER",
                        code, body[0], body[1])
                  : fmt("ERROR ECLOSE_CODE 1002\n%s\nstate=CLOSED closer=LOCAL",
                        tr_fail_send(WS_ECLOSE_CODE, 0));
        th_note("code %u", code);
        if (!CHECK_STR(got, want)) {
            free(got);
            break;
        }
        free(got);
    }
    /* Codes too large for the loop above. */
    uint8_t body[2] = {0xff, 0xff};
    size_t n = frame(in, 1, 8, 1, body, 2);
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_ECLOSE_CODE);
}

static void close_payloads(void)
{
    uint8_t in[200];
    /* Empty close: reported as 1005, answered with an empty close. */
    expect_hex(WS_ROLE_SERVER, &STREAM, "88 80 37 fa 21 3d",
               "CLOSE 1005 ''\nSEND [88 00]\nstate=CLOSED closer=PEER");
    /* 1-byte payload. */
    expect_hex(WS_ROLE_SERVER, &STREAM, "88 81 37 fa 21 3d 34",
               fmt("ERROR ECLOSE_PAYLOAD 1002\n%s\nstate=CLOSED closer=LOCAL",
                   tr_fail_send(WS_ECLOSE_PAYLOAD, 0)));
    /* Code and reason; the reply echoes the code only. */
    size_t n = frame(in, 1, 8, 1,
                     "\x03\xe8"
                     "bye",
                     5);
    tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
              "CLOSE 1000 'bye'\nSEND [88 02 03 e8]\nstate=CLOSED closer=PEER");
    /* Reason with valid multi-byte UTF-8, 123 bytes long (the maximum). */
    uint8_t body[125] = {0x0f, 0xa0};
    memset(body + 2, 'r', 123);
    memcpy(body + 2, "\xc3\xa9", 2);
    n = frame(in, 1, 8, 1, body, 125);
    char *got = tr_run(WS_ROLE_SERVER, &STREAM, in, n, NULL, 0, NULL);
    CHECK(strncmp(got, "CLOSE 4000 '\xc3\xa9rrr", 16) == 0);
    CHECK(strstr(got, "SEND [88 02 0f a0]\nstate=CLOSED closer=PEER") != NULL);
    free(got);
    /* Invalid UTF-8 in the reason: 1007. */
    n = frame(in, 1, 8, 1, "\x03\xe8\xce\xba\xed\xa0\x80", 7);
    expect_failure(WS_ROLE_SERVER, in, n, "", WS_EUTF8);
}

static void nothing_after_close(void)
{
    uint8_t in[128];
    size_t n = cf(in, 1, 8, "\x03\xe9");
    n += cf(in + n, 1, 1, "late");
    n += cf(in + n, 1, 9, "");
    n += 5; /* and garbage */
    memset(in + n - 5, 0xff, 5);
    tr_expect(WS_ROLE_SERVER, &STREAM, in, n,
              "CLOSE 1001 ''\nSEND [88 02 03 e9]\nstate=CLOSED closer=PEER");
}

/* Close in the middle of a fragmented message: the message is abandoned. */
static void close_mid_message(void)
{
    uint8_t in[64];
    size_t n = cf(in, 0, 2, "part");
    n += cf(in + n, 1, 8, "\x03\xe8");
    tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
              "CLOSE 1000 ''\nSEND [88 02 03 e8]\nstate=CLOSED closer=PEER");
}

static void locally_initiated_close(void)
{
    ws_conn_t c;
    uint8_t out[64], in[64];
    ws_event_t ev;

    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
    ptrdiff_t n = ws_conn_send_close(&c, 1000, "done", 4, out, sizeof out);
    CHECK_BYTES(out, (size_t)n,
                "\x88\x06\x03\xe8"
                "done",
                8);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSING);
    CHECK_INT(ws_conn_closer(&c), WS_CLOSER_LOCAL);
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "x", 1, out, sizeof out),
              WS_ESTATE);
    CHECK_INT(ws_conn_send_ping(&c, "", 0, out, sizeof out), WS_ESTATE);
    CHECK_INT(ws_conn_send_close(&c, 1000, NULL, 0, out, sizeof out),
              WS_ESTATE);

    /* The peer may still send data before its close; then it closes. A
     * ping in between gets no automatic pong: our close has gone. */
    size_t len = cf(in, 1, 1, "last");
    len += cf(in + len, 1, 9, "");
    len += cf(in + len, 1, 8, "\x03\xe8");
    ws_options_t whole = WHOLE;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &whole), 0);
    CHECK(ws_conn_send_close(&c, 1000, NULL, 0, out, sizeof out) == 4);
    CHECK_INT(ws_conn_feed(&c, in, len), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_BYTES(ev.data, ev.len, "last", 4);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_PING);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_CLOSE);
    CHECK_INT(ev.code, 1000);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
    CHECK_INT(ws_conn_closer(&c), WS_CLOSER_LOCAL);
    ws_conn_destroy(&c);
}

static void close_without_auto_reply(void)
{
    ws_options_t manual = {.flags = WS_OPT_NO_AUTO_CLOSE};
    ws_conn_t c;
    uint8_t in[32], out[32];
    ws_event_t ev;
    size_t len = cf(in, 1, 8, "\x0b\xb8"); /* 3000 */

    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &manual), 0);
    CHECK_INT(ws_conn_feed(&c, in, len), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_CLOSE);
    CHECK_INT(ev.code, 3000);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSING);
    CHECK_INT(ws_conn_closer(&c), WS_CLOSER_PEER);
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "x", 1, out, sizeof out),
              WS_ESTATE);
    CHECK_INT(ws_conn_send_close(&c, 3000, NULL, 0, out, sizeof out), 4);
    CHECK_BYTES(out, 4, "\x88\x02\x0b\xb8", 4);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);

    /* After a failure the application sends the close itself. */
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &manual), 0);
    len = frame(in, 1, 1, 0, "x", 1); /* unmasked */
    CHECK_INT(ws_conn_feed(&c, in, len), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_ERROR);
    CHECK_INT(ev.error, WS_EMASK);
    CHECK_INT(ev.code, 1002);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSING);
    CHECK_INT(ws_conn_send_close(&c, 1002, NULL, 0, out, sizeof out), 4);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
}

/* The application answers the close itself before taking the next event:
 * the automatic reply must not be sent twice. */
static void own_reply_cancels_auto_reply(void)
{
    ws_conn_t c;
    uint8_t in[32], out[32];
    ws_event_t ev;
    size_t len = cf(in, 1, 8, "\x03\xe8");
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_feed(&c, in, len), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_CLOSE);
    CHECK_INT(ws_conn_send_close(&c, 1000, NULL, 0, out, sizeof out), 4);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_state(&c), WS_STATE_CLOSED);
}

/* -------------------------------------------------------------- limits */

static void limits(void)
{
    uint8_t in[128];
    ws_options_t o = {.max_frame = 4};
    size_t n = cf(in, 1, 2, "12345");
    tr_expect(WS_ROLE_SERVER, &o, in, n,
              fmt("ERROR ETOOBIG 1009\n%s\nstate=CLOSED closer=LOCAL",
                  tr_fail_send(WS_ETOOBIG, 0)));
    n = cf(in, 1, 2, "1234");
    tr_expect(WS_ROLE_SERVER, &o, in, n,
              "START binary\nDATA binary frame=4 FS FE FIN [31 32 33 34]\n"
              "END binary frames=1\nstate=OPEN closer=NONE");

    /* max_message over fragments: fails at the header of the frame that
     * would exceed it, before any of its payload is read (none is sent). */
    ws_options_t m = {.max_message = 10, .flags = WS_OPT_REASSEMBLE};
    n = cf(in, 0, 1, "Hello");
    n += cf(in + n, 1, 0, "World!") - 6;
    tr_expect(WS_ROLE_SERVER, &m, in, n,
              fmt("ERROR ETOOBIG 1009\n%s\nstate=CLOSED closer=LOCAL",
                  tr_fail_send(WS_ETOOBIG, 0)));
    n = cf(in, 0, 1, "Hello");
    n += cf(in + n, 1, 0, "World");
    tr_expect(WS_ROLE_SERVER, &m, in, n,
              "MESSAGE text frames=2 [48 65 6c 6c 6f 57 6f 72 6c 64]\n"
              "state=OPEN closer=NONE");

    /* The default in reassembly mode is 16 MiB: a header announcing one
     * byte more fails at once; exactly 16 MiB is accepted. */
    uint8_t hdr[14];
    n = th_hex("82 ff 00 00 00 00 01 00 00 01 37 fa 21 3d", hdr, sizeof hdr);
    tr_expect(WS_ROLE_SERVER, &WHOLE, hdr, n,
              fmt("ERROR ETOOBIG 1009\n%s\nstate=CLOSED closer=LOCAL",
                  tr_fail_send(WS_ETOOBIG, 0)));
    n = th_hex("82 ff 00 00 00 00 01 00 00 00 37 fa 21 3d", hdr, sizeof hdr);
    tr_expect(WS_ROLE_SERVER, &WHOLE, hdr, n, "state=OPEN closer=NONE");
    /* Control frames are not subject to max_frame below 125. */
    n = cf(in, 1, 9, "123456");
    tr_expect(WS_ROLE_SERVER, &o, in, n,
              "PING [31 32 33 34 35 36]\nSEND [8a 06 31 32 33 34 35 36]\n"
              "state=OPEN closer=NONE");
}

/* ------------------------------------------------ allocation, streaming */

struct counting_alloc {
    size_t allocs, frees, live, peak, fail_after;
};

static void *ca_malloc(size_t n, void *u)
{
    struct counting_alloc *a = u;
    if (a->allocs >= a->fail_after)
        return NULL;
    a->allocs++;
    a->live++;
    size_t *p = malloc(n + sizeof(size_t) * 2);
    p[0] = n;
    if (n > a->peak)
        a->peak = n;
    return p + 2;
}

static void *ca_realloc(void *ptr, size_t n, void *u)
{
    struct counting_alloc *a = u;
    if (a->allocs >= a->fail_after)
        return NULL;
    a->allocs++;
    size_t *p = realloc((size_t *)ptr - 2, n + sizeof(size_t) * 2);
    p[0] = n;
    if (n > a->peak)
        a->peak = n;
    return p + 2;
}

static void ca_free(void *ptr, void *u)
{
    struct counting_alloc *a = u;
    if (!ptr)
        return;
    a->frees++;
    a->live--;
    free((size_t *)ptr - 2);
}

static void reassembly_allocator(void)
{
    struct counting_alloc ca = {.fail_after = (size_t)-1};
    ws_allocator_t al = {ca_malloc, ca_realloc, ca_free, &ca};
    ws_options_t o = {
        .flags = WS_OPT_REASSEMBLE, .allocator = &al, .max_message = 2u << 20};
    enum { MSG = 1 << 20, FRAG = 4096 };
    uint8_t *payload = malloc(MSG);
    uint8_t *in = malloc(MSG + (MSG / FRAG) * 8);
    for (size_t i = 0; i < MSG; i++)
        payload[i] = (uint8_t)(i ^ (i >> 9));
    size_t n = 0;
    for (size_t off = 0; off < MSG; off += FRAG)
        n += frame(in + n, off + FRAG == MSG, off ? 0 : 2, 1, payload + off,
                   FRAG);

    /* Whole, and in 1000-byte reads, as a server would see it. */
    size_t cuts[2000], nc = 0;
    for (size_t k = 1000; k < n && nc < 2000; k += 1000)
        cuts[nc++] = k;
    for (int pass = 0; pass < 2; pass++) {
        ws_conn_t c;
        char *got = tr_run(WS_ROLE_SERVER, &o, in, n, cuts, pass ? nc : 0, &c);
        CHECK_STR(got, fmt("MESSAGE binary frames=256 len=1048576 fnv=%08x\n"
                           "state=OPEN closer=NONE",
                           fnv(payload, MSG)));
        free(got);
        ws_conn_destroy(&c);
        CHECK_INT(ca.live, 0);
        /* Doubling growth: a handful of allocations, at most twice the
         * message (exactly the message when it arrives whole). */
        CHECK(ca.allocs <= 16);
        CHECK(ca.peak >= MSG && ca.peak <= 2 * MSG);
        CHECK(pass == 1 || ca.peak == MSG);
        ca.allocs = ca.frees = ca.peak = 0;
    }

    /* The allocator fails: the connection fails with 1011. */
    ca.fail_after = 3;
    char *got = tr_run(WS_ROLE_SERVER, &o, in, n, NULL, 0, NULL);
    CHECK(strncmp(got, "ERROR ENOMEM 1011\nSEND [88 0f 03 f3", 34) == 0);
    free(got);
    CHECK_INT(ca.live, 0);
    free(payload);
    free(in);
}

/* A 1 GiB message streams through a 64 KiB buffer with no allocation at
 * all, its payload unmasked in place, offsets carried across reads. */
static void gigabyte_stream(void)
{
    struct counting_alloc ca = {.fail_after = 0};
    ws_allocator_t al = {ca_malloc, ca_realloc, ca_free, &ca};
    ws_options_t o = {.allocator = &al};
    const char *quick = getenv("WS_TEST_QUICK");
    uint64_t total = quick ? (64u << 20) : (1u << 30);
    enum { CHUNK = 65536 - 3 }; /* odd size: the key phase keeps moving */
    static uint8_t buf[CHUNK];
    ws_conn_t c;
    ws_event_t ev;
    uint64_t pos = 0, delivered = 0;
    int bad = 0, ends = 0;

    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    uint8_t hdr[14] = {0x82, 0xff};
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (uint8_t)(total >> (56 - 8 * i));
    memcpy(hdr + 10, KEY, 4);
    CHECK_INT(ws_conn_feed(&c, hdr, sizeof hdr), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE_START);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);

    while (pos < total) {
        size_t n = total - pos < CHUNK ? (size_t)(total - pos) : CHUNK;
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)((pos + i) * 13) ^ KEY[(pos + i) % 4];
        CHECK_INT(ws_conn_feed(&c, buf, n), 0);
        while (ws_conn_next_event(&c, &ev) > 0) {
            if (ev.type == WS_EV_MESSAGE_END) {
                ends++;
                continue;
            }
            if (ev.type != WS_EV_DATA) {
                bad++;
                continue;
            }
            /* spot-check the first and last byte of each slice */
            if (ev.len && (ev.data[0] != (uint8_t)(delivered * 13) ||
                           ev.data[ev.len - 1] !=
                               (uint8_t)((delivered + ev.len - 1) * 13)))
                bad++;
            delivered += ev.len;
        }
        pos += n;
    }
    CHECK(delivered == total);
    CHECK_INT(bad, 0);
    CHECK_INT(ends, 1);
    CHECK_INT(ca.allocs, 0);
    ws_conn_destroy(&c);
}

/* In reassembly mode a single frame wholly in the input is delivered
 * where it lies, without a copy. */
static void zero_copy_delivery(void)
{
    uint8_t in[64];
    ws_conn_t c;
    ws_event_t ev;
    size_t n = cf(in, 1, 2, "payload");
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &WHOLE), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK(ev.data == in + 6);
    CHECK_BYTES(ev.data, ev.len, "payload", 7);
    CHECK(ws_impl(&c)->rbuf == NULL);
    ws_conn_destroy(&c);

    /* Streaming: slices point into the fed buffer too. */
    n = cf(in, 1, 2, "payload");
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_feed(&c, in, 7), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE_START);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_DATA);
    CHECK(ev.data == in + 6);
    CHECK_INT(ev.len, 1);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_feed(&c, in + 7, n - 7), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_DATA);
    CHECK(ev.data == in + 7);
    CHECK_INT(ev.flags, WS_DATA_FRAME_END | WS_DATA_FIN);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE_END);
    ws_conn_destroy(&c);
}

/* Streaming mode: a message that is one frame, whole in one input, is one
 * WS_EV_MESSAGE in place (what START, one DATA and END would have said);
 * split across inputs it is START, DATA..., END. Small frames (the fast
 * path) and large ones (the state machine), both roles, text and binary,
 * empty too; a fragmented message or one an extension decodes keeps the
 * three-event form (test_conn_ext.c). */
static void streaming_one_event(void)
{
    static uint8_t payload[70000], in[70100];
    size_t lens[] = {0, 1, 16, 125, 126, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)('a' + i % 26);
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        for (int role = 0; role < 2; role++) {
            for (int op = WS_OP_TEXT; op <= WS_OP_BINARY; op++) {
                ws_options_t o = {.random = tr_fixed_random};
                size_t len = lens[l];
                size_t n =
                    frame(in, 1, op, role == WS_ROLE_SERVER, payload, len);
                ws_conn_t c;
                ws_event_t ev;
                th_note("len %zu role %d op %d", len, role, op);
                CHECK_INT(ws_conn_init(&c, (ws_role_t)role, &o), 0);
                CHECK_INT(ws_conn_feed(&c, in, n), 0);
                CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
                CHECK_INT(ev.opcode, op);
                CHECK(ev.data == in + (n - len));
                CHECK_BYTES(ev.data, ev.len, payload, len);
                CHECK_INT(ev.frames, 1);
                CHECK_INT(ev.flags, 0);
                CHECK_INT(ev.rsv, 0);
                CHECK_INT(ws_conn_next_event(&c, &ev), 0);
                CHECK(ws_impl(&c)->rbuf == NULL); /* streaming: no buffer */
                ws_conn_destroy(&c);
            }
        }
    }
    th_note("%s", "");
    /* A fragmented message in one input keeps its three-event form. */
    size_t n = cf(in, 0, 1, "ab");
    n += cf(in + n, 1, 0, "c");
    tr_buf_t b;
    ws_conn_t c;
    ws_event_t ev;
    int types[8], k = 0;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    tr_init(&b);
    while (k < 8 && (types[k] = ws_conn_next_event(&c, &ev)) > 0) {
        tr_event(&b, &ev);
        k++;
    }
    CHECK_INT(k, 4);
    CHECK_INT(types[0], WS_EV_MESSAGE_START);
    CHECK_INT(types[3], WS_EV_MESSAGE_END);
    char *got = tr_finish(&b);
    CHECK_STR(got, "START text\nDATA text frame=2 FS FE [61 62]\n"
                   "DATA text frame=1 FS FE FIN [63]\nEND text frames=2\n");
    free(got);
    ws_conn_destroy(&c);
}

/* ------------------------------------------------ small-frame fast path */

/* The transcript lines of a one-frame message, built from its payload. */
static void expect_message(tr_buf_t *b, int whole, ws_opcode_t op, uint8_t *p,
                           size_t len)
{
    ws_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.opcode = op;
    if (whole) {
        ev.type = WS_EV_MESSAGE;
        ev.data = p;
        ev.len = len;
        ev.frames = 1;
        tr_event(b, &ev);
        return;
    }
    ev.type = WS_EV_MESSAGE_START;
    tr_event(b, &ev);
    ev.type = WS_EV_DATA;
    ev.data = p;
    ev.len = len;
    ev.frame_len = len;
    ev.flags = WS_DATA_FRAME_START | WS_DATA_FRAME_END | WS_DATA_FIN;
    tr_event(b, &ev);
    ev.type = WS_EV_MESSAGE_END;
    ev.data = NULL;
    ev.len = 0;
    ev.frames = 1;
    tr_event(b, &ev);
}

/* Between messages, a final text or binary frame of up to 125 bytes takes
 * a fast path (lib/conn.c, small_message) that unmasks whole 16-byte words
 * in place when the input goes on past the frame, and leaves the frame to
 * the state machine when it does not. Every length, ASCII text, other
 * text and binary, in both modes and roles: the same events as the
 * general path at every split, and the frames behind each one intact. */
static void small_frames(void)
{
    uint8_t ascii[125], bin[125], utf[125], in[3 * 140];
    for (size_t i = 0; i < 125; i++) {
        ascii[i] = (uint8_t)(' ' + i % 95);
        bin[i] = (uint8_t)(i * 37 + 0x80);
    }
    for (size_t len = 0; len <= 125; len++) {
        for (size_t i = 0; i + 1 < len; i += 2) { /* U+00E9, 'x' if odd */
            utf[i] = 0xc3;
            utf[i + 1] = 0xa9;
        }
        if (len % 2)
            utf[len - 1] = 'x';
        int every_split = len < 4 || len % 8 == 0 || len >= 124;
        for (int role = 0; role < 2; role++) {
            int masked = role == WS_ROLE_SERVER;
            size_t n = frame(in, 1, WS_OP_TEXT, masked, ascii, len);
            n += frame(in + n, 1, WS_OP_BINARY, masked, bin, 125 - len);
            n += frame(in + n, 1, WS_OP_TEXT, masked, utf, len);
            for (int whole = 0; whole < 2; whole++) {
                ws_options_t o = {.flags = whole ? WS_OPT_REASSEMBLE : 0,
                                  .random = tr_fixed_random};
                tr_buf_t b;
                tr_init(&b);
                expect_message(&b, whole, WS_OP_TEXT, ascii, len);
                expect_message(&b, whole, WS_OP_BINARY, bin, 125 - len);
                expect_message(&b, whole, WS_OP_TEXT, utf, len);
                tr_printf(&b, "state=OPEN closer=NONE");
                char *want = tr_finish(&b);
                if (every_split) {
                    tr_expect((ws_role_t)role, &o, in, n, want);
                } else {
                    char *got =
                        tr_run((ws_role_t)role, &o, in, n, NULL, 0, NULL);
                    th_note("len %zu role %d whole %d", len, role, whole);
                    CHECK_STR(got, want);
                    free(got);
                }
                free(want);
            }
        }
    }
}

/* Invalid text in a small frame with input behind it (the fast path)
 * fails as on the general path; so does a frame over a limit below 125,
 * which turns the fast path off. */
static void small_frames_failing(void)
{
    static const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "ok\xe2\x82",
                                "\x80", "sixteen ASCII by\xf4\x90\x80\x80"};
    uint8_t in[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = cf(in, 1, 1, bad[i]);
        n += cf(in + n, 1, 2, "the frame after the bad one");
        th_note("sequence %zu", i);
        expect_failure(WS_ROLE_SERVER, in, n, "", WS_EUTF8);
        tr_expect(WS_ROLE_SERVER, &WHOLE, in, n,
                  fmt("ERROR EUTF8 1007\n%s\nstate=CLOSED closer=LOCAL",
                      tr_fail_send(WS_EUTF8, 0)));
    }
    for (int whole = 0; whole < 2; whole++) {
        ws_options_t o = {.max_frame = 9,
                          .flags = whole ? WS_OPT_REASSEMBLE : 0};
        size_t n = cf(in, 1, 2, "0123456789");
        n += cf(in + n, 1, 2, "the frame after the big one");
        tr_expect(WS_ROLE_SERVER, &o, in, n,
                  fmt("ERROR ETOOBIG 1009\n%s\nstate=CLOSED closer=LOCAL",
                      tr_fail_send(WS_ETOOBIG, 0)));
        ws_options_t m = {.max_message = 124,
                          .flags = whole ? WS_OPT_REASSEMBLE : 0};
        uint8_t big[125];
        memset(big, 'b', sizeof big);
        n = frame(in, 1, 2, 1, big, 125);
        n += cf(in + n, 1, 2, "the frame after the big one");
        tr_expect(WS_ROLE_SERVER, &m, in, n,
                  fmt("ERROR ETOOBIG 1009\n%s\nstate=CLOSED closer=LOCAL",
                      tr_fail_send(WS_ETOOBIG, 0)));
    }
}

/* Differential: random streams of frames of at most 124 bytes (text that
 * is ASCII, UTF-8, or broken; binary; control frames; continuations, bad
 * opcodes and masking, truncation), fed in random pieces, give the same
 * transcript with the small-frame path on (no limits) as with it off
 * (max_frame 124, which changes nothing else for such frames). */
static uint64_t xs_state = 88172645463325252ull;
static uint64_t xs(void)
{
    xs_state ^= xs_state << 13;
    xs_state ^= xs_state >> 7;
    xs_state ^= xs_state << 17;
    return xs_state;
}

static size_t random_stream(uint8_t *in, int server)
{
    static const uint8_t b0s[] = {0x81, 0x82, 0x81, 0x82, 0x81, 0x80, 0x01,
                                  0x02, 0x00, 0x89, 0x8A, 0x88, 0xC1, 0x83};
    static const uint8_t utf[] = {0xc3, 0xa9, 0xe2, 0x82, 0xac,
                                  0xf0, 0x9f, 0x98, 0x80};
    size_t n = 0;
    int frames = 1 + (int)(xs() % 12);
    for (int f = 0; f < frames; f++) {
        uint8_t b0 = xs() % 50 ? b0s[xs() % sizeof b0s] : (uint8_t)xs();
        size_t len = xs() % 3 ? xs() % 40 : xs() % 125;
        int masked = xs() % 60 ? server : !server, kind = (int)(xs() % 4);
        uint64_t k = xs();
        uint8_t key[4];
        memcpy(key, &k, 4);
        in[n++] = b0;
        in[n++] = (uint8_t)((masked ? 0x80 : 0) | len);
        if (masked) {
            memcpy(in + n, key, 4);
            n += 4;
        }
        for (size_t i = 0; i < len; i++) {
            uint8_t c = kind == 0   ? (uint8_t)(' ' + xs() % 95)
                        : kind == 1 ? (uint8_t)xs()
                        : kind == 2 ? utf[(i + (size_t)f) % 9]
                                    : (uint8_t)(xs() % 2 ? 'a' : 0xc3);
            if (kind == 2 && xs() % 200 == 0)
                c = (uint8_t)xs();
            in[n + i] = masked ? (uint8_t)(c ^ key[i & 3]) : c;
        }
        n += len;
        if (xs() % 30 == 0)
            n -= (size_t)xs() % (n < 5 ? n : 5); /* cut a frame short */
    }
    return n;
}

static void small_frames_differential(void)
{
    long iters = getenv("WS_TEST_QUICK") ? 2000 : 20000, bad = 0;
    uint8_t in[12 * 131];
    for (long it = 0; it < iters; it++) {
        int server = xs() % 4 != 0;
        size_t n = random_stream(in, server), cuts[4], nc = 0;
        for (size_t i = 0, m = xs() % 4; i < m && n > 1; i++) {
            size_t k = 1 + (size_t)xs() % (n - 1);
            if (nc == 0 || k > cuts[nc - 1])
                cuts[nc++] = k;
        }
        ws_options_t on = {.flags = xs() % 2 ? WS_OPT_REASSEMBLE : 0,
                           .random = tr_fixed_random};
        if (xs() % 4 == 0)
            on.flags |= WS_OPT_NO_AUTO_PONG;
        ws_options_t off = on;
        off.max_frame = 124;
        ws_role_t role = server ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
        char *fast = tr_run(role, &on, in, n, cuts, nc, NULL);
        char *general = tr_run(role, &off, in, n, cuts, nc, NULL);
        /* a cut-short frame can make the next byte a 126/127 length */
        if (!strstr(general, "ETOOBIG") && strcmp(fast, general) != 0 &&
            bad++ == 0) {
            th_note("stream %ld", it);
            CHECK_STR(fast, general);
        }
        free(fast);
        free(general);
    }
    CHECK_INT(bad, 0);
}

/* A reassembly buffer over WS_REASSEMBLY_KEEP is released by the call
 * after the one that delivered its message, and the next small message
 * is delivered in place again. */
static void big_buffer_released(void)
{
    struct counting_alloc ca = {.fail_after = (size_t)-1};
    ws_allocator_t al = {ca_malloc, ca_realloc, ca_free, &ca};
    ws_options_t o = {.flags = WS_OPT_REASSEMBLE, .allocator = &al};
    enum { MSG = 3 * WS_REASSEMBLY_KEEP, FRAG = MSG / 3 };
    uint8_t *payload = malloc(MSG), *in = malloc(MSG + 128);
    ws_conn_t c;
    ws_event_t ev;
    memset(payload, 'p', MSG);
    size_t n = frame(in, 0, 2, 1, payload, FRAG);
    n += frame(in + n, 0, 0, 1, payload, FRAG);
    n += frame(in + n, 1, 0, 1, payload, FRAG);
    size_t small = n;
    n += cf(in + n, 1, 1, "small");
    n += cf(in + n, 1, 1, "and the frame after it");

    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ev.len, MSG);
    CHECK_INT(ev.frames, 3);
    CHECK_INT(ca.live, 1);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ca.live, 0);
    CHECK(ev.data == in + small + 6);
    CHECK_BYTES(ev.data, ev.len, "small", 5);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    ws_conn_destroy(&c);
    free(payload);
    free(in);
}

/* ws_options_t.rbuf_keep: the reassembly buffer's fate after a message. */
static size_t live_after_two(size_t keep, size_t frag)
{
    struct counting_alloc ca = {.fail_after = (size_t)-1};
    ws_allocator_t al = {ca_malloc, ca_realloc, ca_free, &ca};
    ws_options_t o;
    uint8_t *payload = calloc(1, frag), *in = malloc(2 * frag + 64);
    ws_conn_t c;
    ws_event_t ev;

    ws_options_init(&o);
    o.flags = WS_OPT_REASSEMBLE;
    o.allocator = &al;
    o.rbuf_keep = keep;
    size_t n = frame(in, 0, 2, 1, payload, frag);
    n += frame(in + n, 1, 0, 1, payload, frag);
    n += cf(in + n, 1, 1, "next");
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ev.len, 2 * frag);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_BYTES(ev.data, ev.len, "next", 4);
    size_t live = ca.live;
    ws_conn_destroy(&c);
    CHECK_INT(ca.live, 0);
    free(payload);
    free(in);
    return live;
}

static void rbuf_keep_option(void)
{
    CHECK_INT(live_after_two(0, 10), 1);                 /* default */
    CHECK_INT(live_after_two(0, WS_REASSEMBLY_KEEP), 0); /* > 64 KiB */
    CHECK_INT(live_after_two(WS_RBUF_KEEP_NONE, 10), 0);
    CHECK_INT(live_after_two(WS_RBUF_KEEP_ALL, WS_REASSEMBLY_KEEP), 1);
    CHECK_INT(live_after_two(1u << 20, WS_REASSEMBLY_KEEP), 1);
    CHECK_INT(live_after_two(300, 200), 0); /* 400 bytes: over 300 */
}

/* ws_options_t.size: 0 or ws_options_init's is this version's struct; a
 * shorter one (an older caller) has defaults past it; longer is refused. */
static void options_versioning(void)
{
    ws_options_t o;
    ws_conn_t c;
    ws_options_init(&o);
    CHECK_INT(o.size, sizeof o);
    CHECK_INT(o.flags, 0);
    CHECK(o.extension == NULL && o.trace == NULL && o.rbuf_keep == 0);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);

    /* Only the fields up to allocator were known: what follows is junk. */
    memset(&o, 0xA5, sizeof o);
    o.size = (uint32_t)offsetof(ws_options_t, rbuf_keep);
    o.flags = WS_OPT_REASSEMBLE;
    o.max_frame = 0;
    o.max_message = 8;
    o.random = NULL;
    o.allocator = NULL;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    uint8_t in[32];
    size_t n = cf(in, 1, 1, "123456789");
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    ws_event_t ev;
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_ERROR);
    CHECK_INT(ev.error, WS_ETOOBIG);
    ws_conn_destroy(&c);

    ws_options_init(&o);
    o.size = sizeof o + 8;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    ws_options_init(&o);
    o.reserved[3] = &o;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    /* flags is a full 32-bit field: an unknown high bit is refused, not
     * truncated away. */
    ws_options_t hi = {.flags = 0x10000u};
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &hi), WS_EINVAL);
    ws_options_t zero = {.flags = WS_OPT_REASSEMBLE, .max_message = 4};
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &zero), 0);
    ws_options_init(NULL);
}

/* ------------------------------------------------------------ API edges */

static void api_misuse(void)
{
    ws_conn_t c;
    ws_event_t ev;
    uint8_t in[16];
    ws_options_t bad_flags = {.flags = 0x100};
    ws_allocator_t half = {ca_malloc, NULL, ca_free, NULL};
    ws_options_t bad_alloc = {.allocator = &half};

    CHECK_INT(ws_conn_init(NULL, WS_ROLE_SERVER, NULL), WS_EINVAL);
    CHECK_INT(ws_conn_init(&c, (ws_role_t)7, NULL), WS_EINVAL);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &bad_flags), WS_EINVAL);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &bad_alloc), WS_EINVAL);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_feed(&c, NULL, 3), WS_EINVAL);
    CHECK_INT(ws_conn_feed(&c, NULL, 0), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_next_event(NULL, &ev), 0);
    CHECK_INT(ws_conn_next_event(&c, NULL), 0);
    size_t n = cf(in, 1, 1, "ab");
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), WS_ESTATE); /* not consumed yet */
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_feed(&c, in, 0), 0);
    ws_conn_destroy(&c);
    ws_conn_destroy(&c);
    ws_conn_destroy(NULL);
}

static void conn_size(void)
{
    /* The README states this; keep them in step. */
    CHECK_INT(sizeof(ws_conn_t), WS_CONN_SIZE);
    CHECK(WS_CONN_SIZE <= 320);
    CHECK(sizeof(ws_conn_impl_t) <= WS_CONN_SIZE);
}

void suite_conn(void);
void suite_conn(void)
{
    RUN(rfc_unmasked_hello);
    RUN(rfc_masked_hello);
    RUN(rfc_fragmented_hello);
    RUN(rfc_ping_pong);
    RUN(rfc_binary_256_and_64k);
    RUN(length_boundaries);
    RUN(reserved_bits);
    RUN(reserved_opcodes);
    RUN(masking_rules);
    RUN(length_encoding);
    RUN(control_frame_rules);
    RUN(fragmentation_rules);
    RUN(interleaved_control);
    RUN(empty_messages);
    RUN(several_messages_one_buffer);
    RUN(utf8_valid_text);
    RUN(utf8_invalid_text);
    RUN(utf8_fail_fast);
    RUN(close_codes);
    RUN(close_payloads);
    RUN(nothing_after_close);
    RUN(close_mid_message);
    RUN(locally_initiated_close);
    RUN(close_without_auto_reply);
    RUN(own_reply_cancels_auto_reply);
    RUN(limits);
    RUN(reassembly_allocator);
    RUN(gigabyte_stream);
    RUN(zero_copy_delivery);
    RUN(streaming_one_event);
    RUN(small_frames);
    RUN(small_frames_failing);
    RUN(small_frames_differential);
    RUN(big_buffer_released);
    RUN(rbuf_keep_option);
    RUN(options_versioning);
    RUN(api_misuse);
    RUN(conn_size);
}
