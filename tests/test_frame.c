/* test_frame.c — the stateless header codec (lib/frame.c), RFC 6455 §5.2. */
#include "harness.h"
#include "wsproto.h"

#include <string.h>

static const char th_suite_name[] = "frame";

static void parse_vectors(void)
{
    ws_frame_header_t h;
    /* §5.7 masked "Hello" */
    const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f};
    CHECK_INT(ws_frame_header_parse(masked, sizeof masked, &h, 1), 6);
    CHECK_INT(h.fin, 1);
    CHECK_INT(h.rsv, 0);
    CHECK_INT(h.opcode, WS_OP_TEXT);
    CHECK_INT(h.masked, 1);
    CHECK_BYTES(h.mask_key, 4, "\x37\xfa\x21\x3d", 4);
    CHECK_INT(h.payload_len, 5);
    /* §5.7 fragment "Hel": no FIN */
    CHECK_INT(ws_frame_header_parse("\x01\x03", 2, &h, 1), 2);
    CHECK_INT(h.fin, 0);
    CHECK_INT(h.masked, 0);
    CHECK_INT(h.payload_len, 3);
    /* 16- and 64-bit lengths */
    CHECK_INT(ws_frame_header_parse("\x82\x7e\x01\x00", 4, &h, 1), 4);
    CHECK_INT(h.payload_len, 256);
    CHECK_INT(ws_frame_header_parse("\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
                                    10, &h, 1),
              10);
    CHECK_INT(h.payload_len, 65536);
    CHECK_INT(ws_frame_header_parse(
                  "\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\x01\x02\x03\x04",
                  14, &h, 1),
              14);
    CHECK(h.payload_len == 0x7fffffffffffffffull);
    CHECK_BYTES(h.mask_key, 4, "\x01\x02\x03\x04", 4);
    /* RSV bits and reserved opcodes are reported, not judged, here */
    CHECK_INT(ws_frame_header_parse("\xf3\x00", 2, &h, 1), 2);
    CHECK_INT(h.rsv, 7);
    CHECK_INT(h.opcode, 3);
}

static void parse_incomplete(void)
{
    static const char *const vectors[] = {
        "\x81\x85\x37\xfa\x21\x3d", "\x82\x7e\x01\x00",
        "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00",
        "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04"};
    static const size_t lens[] = {6, 4, 10, 14};
    ws_frame_header_t h;
    for (size_t v = 0; v < 4; v++)
        for (size_t k = 0; k < lens[v]; k++) {
            th_note("vector %zu prefix %zu", v, k);
            CHECK_INT(ws_frame_header_parse(vectors[v], k, &h, 1), WS_EAGAIN);
        }
    CHECK_INT(ws_frame_header_parse(NULL, 0, &h, 1), WS_EAGAIN);
    CHECK_INT(ws_frame_header_parse(NULL, 4, &h, 1), WS_EINVAL);
    CHECK_INT(ws_frame_header_parse("\x81\x00", 2, NULL, 1), WS_EINVAL);
}

static void parse_length_rules(void)
{
    ws_frame_header_t h;
    /* §5.2: the most significant bit of a 64-bit length MUST be 0 */
    CHECK_INT(ws_frame_header_parse("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00",
                                    10, &h, 0),
              WS_ELENGTH);
    /* Minimal encoding: strict rejects, lenient accepts */
    CHECK_INT(ws_frame_header_parse("\x82\x7e\x00\x7d", 4, &h, 1), WS_ELENGTH);
    CHECK_INT(ws_frame_header_parse("\x82\x7e\x00\x7d", 4, &h, 0), 4);
    CHECK_INT(h.payload_len, 125);
    CHECK_INT(ws_frame_header_parse("\x82\x7e\x00\x7e", 4, &h, 1), 4);
    CHECK_INT(ws_frame_header_parse("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff",
                                    10, &h, 1),
              WS_ELENGTH);
    CHECK_INT(ws_frame_header_parse("\x82\x7f\x00\x00\x00\x00\x00\x00\xff\xff",
                                    10, &h, 0),
              10);
    CHECK_INT(h.payload_len, 65535);
}

static void encode_round_trip(void)
{
    static const uint64_t lens[] = {0,   1,     125,   126,
                                    127, 65535, 65536, 0x7fffffffffffffffull};
    static const size_t sizes[] = {2, 2, 2, 4, 4, 4, 10, 10};
    for (size_t i = 0; i < 8; i++)
        for (int masked = 0; masked < 2; masked++) {
            ws_frame_header_t h = {.fin = (uint8_t)(i & 1),
                                   .opcode = WS_OP_BINARY,
                                   .masked = (uint8_t)masked,
                                   .mask_key = {9, 8, 7, 6},
                                   .payload_len = lens[i]};
            ws_frame_header_t back;
            uint8_t out[WS_MAX_HEADER_LEN];
            size_t n = ws_frame_header_encode(out, &h);
            th_note("len %llu masked %d", (unsigned long long)lens[i], masked);
            CHECK_INT(n, sizes[i] + (masked ? 4 : 0));
            CHECK_INT(ws_frame_header_parse(out, n, &back, 1), (long long)n);
            CHECK(back.fin == h.fin && back.rsv == h.rsv &&
                  back.opcode == h.opcode && back.masked == h.masked &&
                  back.payload_len == h.payload_len);
            /* an unmasked header has no key: it reads back as zeros */
            CHECK_BYTES(back.mask_key, 4,
                        masked ? h.mask_key : (const uint8_t *)"\0\0\0\0", 4);
        }
    /* §5.7 header bytes */
    ws_frame_header_t h = {.fin = 1,
                           .opcode = WS_OP_TEXT,
                           .masked = 1,
                           .mask_key = {0x37, 0xfa, 0x21, 0x3d},
                           .payload_len = 5};
    uint8_t out[WS_MAX_HEADER_LEN];
    CHECK_BYTES(out, ws_frame_header_encode(out, &h),
                "\x81\x85\x37\xfa\x21\x3d", 6);
}

void suite_frame(void);
void suite_frame(void)
{
    RUN(parse_vectors);
    RUN(parse_incomplete);
    RUN(parse_length_rules);
    RUN(encode_round_trip);
}
