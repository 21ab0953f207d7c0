/* test_send.c — the encoders (lib/send.c): RFC 6455 §5.7 bytes exactly,
 * the send-side rules, and round trips into a peer connection. */
#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdlib.h>
#include <string.h>

static const char th_suite_name[] = "send";

static void init(ws_conn_t *c, ws_role_t role)
{
    ws_options_t o = {.random = tr_fixed_random};
    CHECK_INT(ws_conn_init(c, role, &o), 0);
}

static void rfc_vectors(void)
{
    ws_conn_t s, c;
    uint8_t out[70000];
    ptrdiff_t n;
    init(&s, WS_ROLE_SERVER);
    init(&c, WS_ROLE_CLIENT);

    /* §5.7: a single-frame unmasked text message */
    n = ws_conn_send_message(&s, WS_OP_TEXT, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x81\x05\x48\x65\x6c\x6c\x6f", 7);
    /* §5.7: a single-frame masked text message (key 37 fa 21 3d) */
    n = ws_conn_send_message(&c, WS_OP_TEXT, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
                11);
    /* §5.7: a fragmented unmasked text message */
    n = ws_conn_send_fragment(&s, WS_OP_TEXT, 0, "Hel", 3, out, sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x01\x03\x48\x65\x6c", 5);
    n = ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 1, "lo", 2, out,
                              sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x80\x02\x6c\x6f", 4);
    /* §5.7: unmasked ping, masked pong */
    n = ws_conn_send_ping(&s, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x89\x05\x48\x65\x6c\x6c\x6f", 7);
    n = ws_conn_send_pong(&c, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)n, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
                11);

    /* §5.7: 256 bytes and 64 KiB binary in a single unmasked frame */
    static uint8_t payload[65536];
    memset(payload, 0xab, sizeof payload);
    n = ws_conn_send_message(&s, WS_OP_BINARY, payload, 256, out, sizeof out);
    CHECK_INT(n, 4 + 256);
    CHECK_BYTES(out, 4, "\x82\x7e\x01\x00", 4);
    CHECK_BYTES(out + 4, 256, payload, 256);
    n = ws_conn_send_message(&s, WS_OP_BINARY, payload, 65536, out, sizeof out);
    CHECK_INT(n, 10 + 65536);
    CHECK_BYTES(out, 10, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK_BYTES(out + 10, 65536, payload, 65536);
}

static void frame_sizes(void)
{
    ws_conn_t s, c;
    static const size_t lens[] = {0, 125, 126, 65535, 65536};
    static const size_t hdr[] = {2, 2, 4, 4, 10};
    static uint8_t out[65536 + 14], payload[65536];
    init(&s, WS_ROLE_SERVER);
    init(&c, WS_ROLE_CLIENT);
    for (size_t i = 0; i < 5; i++) {
        th_note("len %zu", lens[i]);
        CHECK_INT(ws_conn_frame_size(&s, lens[i]), hdr[i] + lens[i]);
        CHECK_INT(ws_conn_frame_size(&c, lens[i]), hdr[i] + 4 + lens[i]);
        /* exactly enough room works; one byte less writes nothing */
        size_t need = ws_conn_frame_size(&c, lens[i]);
        memset(out, 0x5a, sizeof out);
        CHECK_INT(ws_conn_send_message(&c, WS_OP_BINARY, payload, lens[i], out,
                                       need - 1),
                  WS_ENOBUFS);
        CHECK_INT(out[0], 0x5a);
        CHECK_INT(
            ws_conn_send_message(&c, WS_OP_BINARY, payload, lens[i], out, need),
            (long long)need);
    }
}

static void fragment_rules(void)
{
    ws_conn_t s;
    uint8_t out[64];
    init(&s, WS_ROLE_SERVER);
    CHECK_INT(ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 1, "x", 1, out, 64),
              WS_ESTATE);
    CHECK(ws_conn_send_fragment(&s, WS_OP_BINARY, 0, "ab", 2, out, 64) == 4);
    CHECK_BYTES(out, 4,
                "\x02\x02"
                "ab",
                4);
    /* A new message while one is unfinished: refused, state kept. */
    CHECK_INT(ws_conn_send_message(&s, WS_OP_TEXT, "x", 1, out, 64), WS_ESTATE);
    CHECK_INT(ws_conn_send_fragment(&s, WS_OP_TEXT, 1, "x", 1, out, 64),
              WS_ESTATE);
    /* Control frames may go between fragments. */
    CHECK(ws_conn_send_ping(&s, "p", 1, out, 64) == 3);
    /* The same opcode again counts as a continuation. */
    CHECK(ws_conn_send_fragment(&s, WS_OP_BINARY, 0, "c", 1, out, 64) == 3);
    CHECK_BYTES(out, 3,
                "\x00\x01"
                "c",
                3);
    CHECK(ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 1, "", 0, out, 64) ==
          2);
    CHECK_BYTES(out, 2, "\x80\x00", 2);
    /* Finished: a new message may start. */
    CHECK(ws_conn_send_message(&s, WS_OP_TEXT, "", 0, out, 64) == 2);
    CHECK_BYTES(out, 2, "\x81\x00", 2);
    CHECK_INT(ws_conn_send_message(&s, WS_OP_CONTINUATION, "", 0, out, 64),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_message(&s, WS_OP_PING, "", 0, out, 64), WS_EINVAL);
    CHECK_INT(ws_conn_send_fragment(&s, WS_OP_CLOSE, 1, "", 0, out, 64),
              WS_EINVAL);
}

static void text_validation(void)
{
    ws_conn_t s;
    uint8_t out[64];
    init(&s, WS_ROLE_SERVER);
    CHECK_INT(ws_conn_send_message(&s, WS_OP_TEXT, "\xed\xa0\x80", 3, out, 64),
              WS_EUTF8);
    CHECK_INT(ws_conn_send_message(&s, WS_OP_TEXT, "ok\xe2\x82", 4, out, 64),
              WS_EUTF8);
    /* Binary is not validated. */
    CHECK(ws_conn_send_message(&s, WS_OP_BINARY, "\xed\xa0\x80", 3, out, 64) ==
          5);
    /* A character split across fragments is fine... */
    CHECK(ws_conn_send_fragment(&s, WS_OP_TEXT, 0, "\xe2\x82", 2, out, 64) ==
          4);
    /* ...but the message may not end inside it; nothing changes on error */
    CHECK_INT(ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 1, "", 0, out, 64),
              WS_EUTF8);
    CHECK_INT(
        ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 0, "\x41", 1, out, 64),
        WS_EUTF8);
    CHECK(ws_conn_send_fragment(&s, WS_OP_CONTINUATION, 1, "\xac", 1, out,
                                64) == 3);
    CHECK(ws_conn_send_message(&s, WS_OP_TEXT, "\xe2\x82\xac", 3, out, 64) ==
          5);
}

static void control_rules(void)
{
    ws_conn_t s;
    uint8_t big[126] = {0}, out[256];
    init(&s, WS_ROLE_SERVER);
    CHECK(ws_conn_send_ping(&s, big, 125, out, sizeof out) == 127);
    CHECK_INT(ws_conn_send_ping(&s, big, 126, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_conn_send_pong(&s, big, 126, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_conn_send_ping(&s, NULL, 1, out, sizeof out), WS_EINVAL);
    CHECK(ws_conn_send_ping(&s, NULL, 0, out, sizeof out) == 2);
    CHECK_INT(ws_conn_send_ping(NULL, "", 0, out, sizeof out), WS_EINVAL);
}

static void close_rules(void)
{
    ws_conn_t s;
    uint8_t out[256];
    char reason[124];
    memset(reason, 'r', sizeof reason);

    init(&s, WS_ROLE_SERVER);
    CHECK_INT(ws_conn_send_close(&s, 1005, NULL, 0, out, sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 999, NULL, 0, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 1015, NULL, 0, out, sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 5000, NULL, 0, out, sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 0, "x", 1, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 1000, reason, 124, out, sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_close(&s, 1000, "\xff", 1, out, sizeof out),
              WS_EUTF8);
    CHECK_INT(ws_conn_send_close(&s, 1000, reason, 123, out, 126), WS_ENOBUFS);
    CHECK_INT(ws_conn_state(&s), WS_STATE_OPEN);
    ptrdiff_t n = ws_conn_send_close(&s, 4999, reason, 123, out, sizeof out);
    CHECK_INT(n, 127);
    CHECK_BYTES(out, 4, "\x88\x7d\x13\x87", 4);
    CHECK_INT(ws_conn_state(&s), WS_STATE_CLOSING);

    init(&s, WS_ROLE_SERVER);
    CHECK(ws_conn_send_close(&s, 0, NULL, 0, out, sizeof out) == 2);
    CHECK_BYTES(out, 2, "\x88\x00", 2);
}

static int failing_random(void *buf, size_t len, void *user)
{
    (void)buf;
    (void)len;
    (void)user;
    return -1;
}

static void random_failure(void)
{
    ws_conn_t c;
    uint8_t out[64];
    ws_options_t o = {.random = failing_random};
    CHECK_INT(ws_conn_init(&c, WS_ROLE_CLIENT, &o), 0);
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "x", 1, out, 64),
              WS_ERANDOM);
    CHECK_INT(ws_conn_send_close(&c, 1000, NULL, 0, out, 64), WS_ERANDOM);
    CHECK_INT(ws_conn_state(&c), WS_STATE_OPEN);
    /* An automatic pong that cannot be masked fails the connection. */
    uint8_t in[2] = {0x89, 0x00};
    ws_event_t ev;
    CHECK_INT(ws_conn_feed(&c, in, 2), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_PING);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_ERROR);
    CHECK_INT(ev.error, WS_ERANDOM);
    CHECK_INT(ev.code, 1011);
}

/* Keys are fresh per frame with the default source: two encodings of the
 * same message differ (with overwhelming probability). */
static void fresh_keys(void)
{
    ws_conn_t c;
    uint8_t a[32], b[32];
    CHECK_INT(ws_conn_init(&c, WS_ROLE_CLIENT, NULL), 0);
    CHECK(ws_conn_send_message(&c, WS_OP_TEXT, "same text", 9, a, 32) == 15);
    CHECK(ws_conn_send_message(&c, WS_OP_TEXT, "same text", 9, b, 32) == 15);
    CHECK_INT(a[1], 0x89);
    CHECK(memcmp(a + 2, b + 2, 4) != 0);
}

/* What one role encodes, the other decodes to exactly what was sent. */
static void round_trip(void)
{
    static uint8_t wire[300000], big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 31);
    for (int role = 0; role < 2; role++) {
        ws_conn_t tx;
        size_t n = 0;
        CHECK_INT(ws_conn_init(&tx, (ws_role_t)role, NULL), 0);
        n += (size_t)ws_conn_send_message(&tx, WS_OP_TEXT, "h\xc3\xa9llo", 6,
                                          wire + n, sizeof wire - n);
        n += (size_t)ws_conn_send_fragment(&tx, WS_OP_BINARY, 0, big, 70000,
                                           wire + n, sizeof wire - n);
        n += (size_t)ws_conn_send_ping(&tx, "p", 1, wire + n, sizeof wire - n);
        n += (size_t)ws_conn_send_fragment(&tx, WS_OP_CONTINUATION, 1,
                                           big + 70000, 30000, wire + n,
                                           sizeof wire - n);
        n += (size_t)ws_conn_send_close(&tx, 1000, "bye", 3, wire + n,
                                        sizeof wire - n);

        ws_options_t whole = {.flags = WS_OPT_REASSEMBLE,
                              .random = tr_fixed_random};
        ws_conn_t rx;
        ws_event_t ev;
        CHECK_INT(
            ws_conn_init(&rx, role ? WS_ROLE_SERVER : WS_ROLE_CLIENT, &whole),
            0);
        CHECK_INT(ws_conn_feed(&rx, wire, n), 0);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_MESSAGE);
        CHECK_BYTES(ev.data, ev.len, "h\xc3\xa9llo", 6);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_PING);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_SEND);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_MESSAGE);
        CHECK_INT(ev.frames, 2);
        CHECK_BYTES(ev.data, ev.len, big, sizeof big);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_CLOSE);
        CHECK_INT(ev.code, 1000);
        CHECK_BYTES(ev.data, ev.len, "bye", 3);
        CHECK_INT(ws_conn_next_event(&rx, &ev), WS_EV_SEND);
        CHECK_INT(ws_conn_next_event(&rx, &ev), 0);
        CHECK_INT(ws_conn_state(&rx), WS_STATE_CLOSED);
        ws_conn_destroy(&rx);
    }
}

/* The header-only encoder: byte for byte the header ws_conn_send_* would
 * write in front of the payload (RFC 6455 §5.2 length forms, §5.7
 * vectors), the same rules and state, nothing written on failure. */
static void header_only(void)
{
    static uint8_t payload[65536], full[65546];
    static const size_t lens[] = {0, 5, 125, 126, 256, 65535, 65536};
    ws_conn_t s, t;
    uint8_t out[WS_MAX_HEADER_LEN];
    memset(payload, 'x', sizeof payload);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (int op = WS_OP_TEXT; op <= WS_OP_BINARY; op++) {
            size_t len = lens[i];
            init(&s, WS_ROLE_SERVER);
            init(&t, WS_ROLE_SERVER);
            ptrdiff_t h = ws_conn_send_header(&s, (ws_opcode_t)op, 0, 1,
                                              payload, len, out, sizeof out);
            ptrdiff_t f = ws_conn_send_message(&t, (ws_opcode_t)op, payload,
                                               len, full, sizeof full);
            th_note("len %zu op %d", len, op);
            CHECK_INT(h, f - (ptrdiff_t)len);
            CHECK_BYTES(out, (size_t)h, full, (size_t)(f - (ptrdiff_t)len));
        }
    }
    th_note("%s", "");
    init(&s, WS_ROLE_SERVER);
    /* §5.7 "Hello", fragmented: 01 03 "Hel", 80 02 "lo" */
    CHECK_INT(ws_conn_send_header(&s, WS_OP_TEXT, 0, 0, "Hel", 3, out, 2), 2);
    CHECK_BYTES(out, 2, "\x01\x03", 2);
    /* a control frame may come between fragments; a new message not */
    CHECK_INT(ws_conn_send_ping(&s, "", 0, full, sizeof full), 2);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_BINARY, 0, 1, "x", 1, out, sizeof out),
        WS_ESTATE);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_CONTINUATION, 0, 1, "lo", 2, out, 1),
        WS_ENOBUFS);
    CHECK_INT(ws_conn_send_header(&s, WS_OP_CONTINUATION, 0, 1, "lo", 2, out,
                                  sizeof out),
              2);
    CHECK_BYTES(out, 2, "\x80\x02", 2);
    CHECK_INT(ws_conn_send_header(&s, WS_OP_CONTINUATION, 0, 1, "", 0, out,
                                  sizeof out),
              WS_ESTATE);
    /* text is validated though not copied, across fragments */
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_TEXT, 0, 1, "\xc3", 1, out, sizeof out),
        WS_EUTF8);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_TEXT, 0, 0, "\xc3", 1, out, sizeof out),
        2);
    CHECK_INT(ws_conn_send_header(&s, WS_OP_CONTINUATION, 0, 1, "\xff", 1, out,
                                  sizeof out),
              WS_EUTF8);
    CHECK_INT(ws_conn_send_header(&s, WS_OP_CONTINUATION, 0, 1, "\xa9", 1, out,
                                  sizeof out),
              2);
    /* arguments: RSV bits nobody negotiated, AUTO, NULL data, opcodes */
    CHECK_INT(ws_conn_send_header(&s, WS_OP_BINARY, WS_RSV1, 1, "x", 1, out,
                                  sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_header(&s, WS_OP_BINARY, WS_RSV_AUTO, 1, "x", 1, out,
                                  sizeof out),
              WS_EINVAL);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_BINARY, 0, 1, NULL, 1, out, sizeof out),
        WS_EINVAL);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_PING, 0, 1, "x", 1, out, sizeof out),
        WS_EINVAL);
    CHECK_INT(
        ws_conn_send_header(NULL, WS_OP_BINARY, 0, 1, "x", 1, out, sizeof out),
        WS_EINVAL);
    /* after our close frame, no data frames */
    CHECK(ws_conn_send_close(&s, 1000, NULL, 0, full, sizeof full) > 0);
    CHECK_INT(
        ws_conn_send_header(&s, WS_OP_BINARY, 0, 1, "x", 1, out, sizeof out),
        WS_ESTATE);
    /* §5.3: a client masks, which is a copy: the encoders, not this */
    init(&t, WS_ROLE_CLIENT);
    CHECK_INT(
        ws_conn_send_header(&t, WS_OP_BINARY, 0, 1, "x", 1, out, sizeof out),
        WS_EINVAL);
    CHECK_INT(ws_conn_send_message(&t, WS_OP_BINARY, "x", 1, full, sizeof full),
              7);
}

void suite_send(void);
void suite_send(void)
{
    RUN(rfc_vectors);
    RUN(frame_sizes);
    RUN(fragment_rules);
    RUN(text_validation);
    RUN(control_rules);
    RUN(close_rules);
    RUN(random_failure);
    RUN(fresh_keys);
    RUN(round_trip);
    RUN(header_only);
}
