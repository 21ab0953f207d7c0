/*
 * test_conn_ext.c — the extension interface (lib/conn_ext.c and the
 * transform path of lib/send.c), proved with the real, small extensions
 * of ext_samples.h (nibble: reversible, RSV1; bomb: 1000-fold, RSV2).
 * Every stream goes through tr_expect(): whole, split at every point and
 * one byte at a time.
 */
static const char th_suite_name[] = "conn_ext";

#include "ext_samples.h"
#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- helpers */

static ws_options_t ext_opts(const ws_extension_t *x, void *state,
                             uint32_t flags, uint64_t max_message)
{
    ws_options_t o;
    ws_options_init(&o);
    o.flags = flags;
    o.max_message = max_message;
    o.random = tr_fixed_random;
    o.extension = x;
    o.extension_state = state;
    return o;
}

/* Nibble-encode s into out (no frame). */
static size_t nib(uint8_t *out, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        out[n++] = (uint8_t)(0x40 | (uint8_t)*s >> 4);
        out[n++] = (uint8_t)(0x40 | (*s & 0x0F));
    }
    return n;
}

/* Append a frame whose payload is the nibble form of s. */
static size_t nib_frame(uint8_t *out, unsigned b0, int masked, const char *s)
{
    uint8_t p[256];
    return th_frame(out, b0, masked, p, nib(p, s));
}

/* A stream exercising every receive rule: a one-frame encoded message, a
 * fragmented encoded one with a ping between its frames, a plain message
 * (no RSV bit: untouched by the extension), a close. */
static size_t mixed_stream(uint8_t *in, int masked)
{
    size_t n = nib_frame(in, 0xC1, masked, "Hi");
    n += th_frame(in + n, 0x41, masked, "DHF", 3); /* "H" and half an "i" */
    n += th_frame(in + n, 0x89, masked, "p", 1);
    n += th_frame(in + n, 0x00, masked, "I", 1);
    n += nib_frame(in + n, 0x80, masked, "!");
    n += th_frame(in + n, 0x81, masked, "ok", 2);
    n += th_frame(in + n, 0x88, masked, "\x03\xe8", 2);
    return n;
}

/* ---------------------------------------------------------- receive */

/* What mixed_stream() gives, streaming or whole, with the role's pong and
 * close reply. */
static const char *mixed_want(int whole, const char *pong, const char *close)
{
    static char w[1024];
    if (whole)
        snprintf(w, sizeof w,
                 "MESSAGE text frames=1 rsv=4 [48 69]\n"
                 "PING [70]\n"
                 "SEND [%s]\n"
                 "MESSAGE text frames=3 rsv=4 [48 69 21]\n"
                 "MESSAGE text frames=1 [6f 6b]\n"
                 "CLOSE 1000 ''\n"
                 "SEND [%s]\n"
                 "state=CLOSED closer=PEER",
                 pong, close);
    else
        snprintf(w, sizeof w,
                 "START text rsv=4\n"
                 "XDATA text rsv=4 FIN [48 69]\n"
                 "END text frames=1\n"
                 "START text rsv=4\n"
                 "PING [70]\n"
                 "SEND [%s]\n"
                 "XDATA text rsv=4 FIN [48 69 21]\n"
                 "END text frames=3\n"
                 "START text\n"
                 "DATA text frame=2 FS FE FIN [6f 6b]\n"
                 "END text frames=1\n"
                 "CLOSE 1000 ''\n"
                 "SEND [%s]\n"
                 "state=CLOSED closer=PEER",
                 pong, close);
    return w;
}

static void receive_both_roles_both_modes(void)
{
    nibble_t st = {0};
    uint8_t in[256];
    ws_options_t stream = ext_opts(&nibble_ext, &st, 0, 0);
    ws_options_t whole = ext_opts(&nibble_ext, &st, WS_OPT_REASSEMBLE, 0);
    static const char spong[] = "8a 01 70", sclose[] = "88 02 03 e8";
    static const char cpong[] = "8a 81 37 fa 21 3d 47",
                      cclose[] = "88 82 37 fa 21 3d 34 12";

    size_t n = mixed_stream(in, 1);
    tr_expect(WS_ROLE_SERVER, &stream, in, n, mixed_want(0, spong, sclose));
    tr_expect(WS_ROLE_SERVER, &whole, in, n, mixed_want(1, spong, sclose));
    /* The client reads unmasked frames and masks its replies. */
    n = mixed_stream(in, 0);
    tr_expect(WS_ROLE_CLIENT, &stream, in, n, mixed_want(0, cpong, cclose));
    tr_expect(WS_ROLE_CLIENT, &whole, in, n, mixed_want(1, cpong, cclose));
}

/* A decoded message bigger than one WS_EXT_CHUNK output slice, and an
 * empty one. */
static void receive_long_and_empty(void)
{
    nibble_t st = {0};
    enum { LEN = 3 * WS_EXT_CHUNK + 17 };
    char *text = malloc(LEN + 1);
    uint8_t *in = malloc(2 * LEN + 64);
    for (size_t i = 0; i < LEN; i++)
        text[i] = (char)('a' + i % 26);
    text[LEN] = 0;
    uint8_t *p = malloc(2 * LEN);
    size_t n = th_frame(in, 0xC2, 1, p, nib(p, text));
    n += th_frame(in + n, 0xC1, 1, "", 0);

    tr_buf_t want;
    tr_init(&want);
    ws_event_t ev = {.type = WS_EV_MESSAGE,
                     .opcode = WS_OP_BINARY,
                     .data = (uint8_t *)text,
                     .len = LEN,
                     .frames = 1,
                     .rsv = 4};
    tr_event(&want, &ev);
    tr_printf(&want, "MESSAGE text frames=1 rsv=4 []\n");
    tr_printf(&want, "state=OPEN closer=NONE");
    char *w = tr_finish(&want);
    ws_options_t whole = ext_opts(&nibble_ext, &st, WS_OPT_REASSEMBLE, 0);
    tr_expect(WS_ROLE_SERVER, &whole, in, n, w);
    free(w);

    tr_init(&want);
    tr_printf(&want, "START binary rsv=4\n");
    ev.type = WS_EV_DATA;
    ev.flags = WS_DATA_FIN;
    tr_event(&want, &ev);
    tr_printf(&want, "END binary frames=1\n"
                     "START text rsv=4\n"
                     "XDATA text rsv=4 FIN []\n"
                     "END text frames=1\n"
                     "state=OPEN closer=NONE");
    w = tr_finish(&want);
    ws_options_t stream = ext_opts(&nibble_ext, &st, 0, 0);
    tr_expect(WS_ROLE_SERVER, &stream, in, n, w);
    free(w);
    free(text);
    free(in);
    free(p);
}

/* RFC 6455 §5.2 with an extension: its bits on a message's first frame
 * only; any other bit still fails with 1002. */
static void rsv_rules(void)
{
    nibble_t st = {0};
    uint8_t in[64];
    char want[512];
    ws_options_t o = ext_opts(&nibble_ext, &st, 0, 0);
    snprintf(want, sizeof want,
             "ERROR ERSV 1002\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_ERSV, 0));
    /* RSV2, not claimed */
    size_t n = th_frame(in, 0xA1, 1, "a", 1);
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    /* RSV1 on a ping */
    n = th_frame(in, 0xC9, 1, "", 0);
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    /* RSV1 on a continuation */
    n = nib_frame(in, 0x41, 1, "a");
    n += nib_frame(in + n, 0xC0, 1, "b");
    snprintf(want, sizeof want,
             "ERROR ERSV 1002\n%s\n"
             "state=CLOSED closer=LOCAL",
             tr_fail_send(WS_ERSV, 0));
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    /* Without an extension RSV1 is refused as before. */
    n = nib_frame(in, 0xC1, 1, "a");
    snprintf(want, sizeof want,
             "ERROR ERSV 1002\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_ERSV, 0));
    tr_expect(WS_ROLE_SERVER, NULL, in, n, want);
}

/* The decoder's failures: its own (fail_code 1007), out of memory (1011),
 * a message ending inside a character of its code; and the OUTPUT is what
 * must be UTF-8. */
static void decode_failures(void)
{
    nibble_t st = {0};
    uint8_t in[64];
    char want[512];
    ws_options_t o = ext_opts(&nibble_ext, &st, WS_OPT_REASSEMBLE, 0);

    size_t n = th_frame(in, 0xC2, 1, "DHz", 3);
    snprintf(want, sizeof want,
             "ERROR EEXTENSION 1007\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_EEXTENSION, 1007));
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    n = th_frame(in, 0xC2, 1, "DHF", 3); /* ends on half a byte */
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);

    /* The wire bytes are ASCII; what they decode to (ff) is not UTF-8. */
    n = th_frame(in, 0xC1, 1, "OO", 2);
    snprintf(want, sizeof want,
             "ERROR EUTF8 1007\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_EUTF8, 0));
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    ws_options_t so = ext_opts(&nibble_ext, &st, 0, 0);
    snprintf(want, sizeof want,
             "ERROR EUTF8 1007\n%s\n"
             "state=CLOSED closer=LOCAL",
             tr_fail_send(WS_EUTF8, 0));
    tr_expect(WS_ROLE_SERVER, &so, in, n, want);

    st.fail = WS_ENOMEM;
    n = nib_frame(in, 0xC2, 1, "x");
    snprintf(want, sizeof want,
             "ERROR ENOMEM 1011\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_ENOMEM, 0));
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
}

/* max_message counts the decoded bytes: 20 wire bytes for a 10-byte limit
 * pass; a bomb stops at the limit with 1009, having delivered no more. */
static void limit_counts_output(void)
{
    nibble_t st = {0};
    uint8_t in[64];
    ws_options_t o = ext_opts(&nibble_ext, &st, WS_OPT_REASSEMBLE, 10);
    size_t n = nib_frame(in, 0xC2, 1, "0123456789");
    tr_expect(WS_ROLE_SERVER, &o, in, n,
              "MESSAGE binary frames=1 rsv=4 [30 31 32 33 34 35 36 37 38 "
              "39]\nstate=OPEN closer=NONE");
    o.max_message = 9;
    char want[512];
    snprintf(want, sizeof want,
             "ERROR ETOOBIG 1009\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_ETOOBIG, 0));
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
}

/* Drive a bomb of `count` input bytes through a connection in `flags`
 * mode with limit max; returns the bytes delivered; *err the error. */
static size_t detonate(uint32_t flags, uint64_t max, size_t count, int *err,
                       size_t *produced)
{
    bomb_t st = {0};
    ws_options_t o = ext_opts(&bomb_ext, &st, flags, max);
    uint8_t payload[64], in[128];
    ws_conn_t c;
    ws_event_t ev;
    size_t got = 0;
    memset(payload, 'B', sizeof payload);
    size_t n = th_frame(in, 0xA2, 1, payload, count);
    *err = 0;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_feed(&c, in, n), 0);
    while (ws_conn_next_event(&c, &ev) > 0) {
        if (ev.type == WS_EV_DATA || ev.type == WS_EV_MESSAGE)
            got += ev.len;
        if (ev.type == WS_EV_ERROR)
            *err = ev.error;
    }
    ws_conn_destroy(&c);
    *produced = st.produced;
    return got;
}

static void bomb_stops_at_limit(void)
{
    int err;
    size_t produced;
    /* 40 bytes would become 40,000. */
    CHECK_INT(detonate(WS_OPT_REASSEMBLE, 2500, 40, &err, &produced), 0);
    CHECK_INT(err, WS_ETOOBIG);
    CHECK(produced <= 2500 + 1); /* the limit, and the one-byte probe */
    CHECK_INT(detonate(0, 2500, 40, &err, &produced), 2500);
    CHECK_INT(err, WS_ETOOBIG);
    CHECK(produced <= 2500 + 1);
    /* Exactly at the limit is fine. */
    CHECK_INT(detonate(WS_OPT_REASSEMBLE, 40000, 40, &err, &produced), 40000);
    CHECK_INT(err, 0);
    CHECK_INT(detonate(0, 40000, 40, &err, &produced), 40000);
    CHECK_INT(err, 0);
    /* 64 bytes of 1000-fold against a 16 KiB limit: stopped at the
     * limit, more than one output chunk in. */
    CHECK_INT(detonate(WS_OPT_REASSEMBLE, 16384, 64, &err, &produced), 0);
    CHECK_INT(err, WS_ETOOBIG);
    CHECK(produced <= 16384 + 1);
}

/* -------------------------------------------------------------- send */

static void send_transformed(void)
{
    nibble_t st = {0};
    ws_options_t o = ext_opts(&nibble_ext, &st, 0, 0);
    ws_conn_t c;
    uint8_t out[512];
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(st.resets, 1);

    /* A bound, not the exact size: bound(2) = 8 payload bytes. */
    CHECK_INT(ws_conn_frame_size(&c, 2), 10);
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "Hi", 2, out, 9),
              WS_ENOBUFS);
    CHECK_INT(st.encodes, 0); /* refused before the hook ran */
    ptrdiff_t n = ws_conn_send_message(&c, WS_OP_TEXT, "Hi", 2, out, 10);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0),
                "\xc1\x04"
                "DHFI",
                6);

    /* len 62: the bound (128) would need the 16-bit form; 124 does not. */
    char text[63];
    memset(text, 'A', 62);
    text[62] = 0;
    uint8_t want[200] = {0xC2, 124};
    nib(want + 2, text);
    CHECK_INT(ws_conn_frame_size(&c, 62), 132);
    n = ws_conn_send_message(&c, WS_OP_BINARY, text, 62, out, 132);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), want, 126);

    /* The per-message opt-out, and bytes the caller transformed itself. */
    n = ws_conn_send_message_ex(&c, WS_OP_TEXT, 0, "Hi", 2, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x81\x02Hi", 4);
    n = ws_conn_send_message_ex(&c, WS_OP_TEXT, WS_RSV1, "\xff", 1, out,
                                sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\xc1\x01\xff", 3);
    CHECK_INT(ws_conn_send_message_ex(&c, WS_OP_TEXT, WS_RSV2, "a", 1, out,
                                      sizeof out),
              WS_EINVAL);
    /* The header alone: bits the extension claims mark bytes the caller
     * transformed (on the first frame only, RFC 7692 §6.1), 0 sends
     * them as they are; the transform itself needs the encoder. */
    n = ws_conn_send_header(&c, WS_OP_TEXT, WS_RSV1, 0, "\xff", 1, out,
                            sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x41\x01", 2);
    CHECK_INT(ws_conn_send_header(&c, WS_OP_CONTINUATION, WS_RSV1, 1, "\xfe", 1,
                                  out, sizeof out),
              2);
    CHECK_BYTES(out, 2, "\x80\x01", 2);
    n = ws_conn_send_header(&c, WS_OP_TEXT, 0, 1, "Hi", 2, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x81\x02", 2);
    CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, WS_RSV2, 1, "a", 1, out,
                                  sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_conn_send_header(&c, WS_OP_TEXT, WS_RSV_AUTO, 1, "a", 1, out,
                                  sizeof out),
              WS_EINVAL);
    CHECK_INT(st.encodes, 2); /* the two messages through the encoder */
    /* Text is validated before the transform. */
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "\xff", 1, out, sizeof out),
              WS_EUTF8);
    /* Control frames never go through it. */
    n = ws_conn_send_ping(&c, "Hi", 2, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x89\x02Hi", 4);
    st.enc_fail = -1;
    CHECK_INT(ws_conn_send_message(&c, WS_OP_TEXT, "a", 1, out, sizeof out),
              WS_EEXTENSION);
    st.enc_fail = 0;
    ws_conn_destroy(&c);
    ws_conn_destroy(&c);
    CHECK_INT(st.destroys, 1);
}

/* A message streamed through the encoder fragment by fragment, read back
 * by the other role at every split point, in both modes. */
static void send_fragments_round_trip(void)
{
    nibble_t tx = {0}, rx = {0};
    ws_options_t o = ext_opts(&nibble_ext, &tx, 0, 0);
    ws_conn_t c;
    uint8_t wire[512];
    size_t n = 0;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_CLIENT, &o), 0);
    ptrdiff_t r = ws_conn_send_fragment_ex(&c, WS_OP_TEXT, WS_RSV_AUTO, 0,
                                           "caf", 3, wire, sizeof wire);
    CHECK_BYTES(wire, (size_t)(r > 0 ? r : 0),
                "\x41\x86\x37\xfa\x21\x3d"
                "\x71\xb9\x67\x7c\x71\xbc",
                12);
    n += (size_t)(r > 0 ? r : 0);
    /* Mode and RSV bits belong to the message: later fragments 0. */
    CHECK_INT(ws_conn_send_fragment_ex(&c, WS_OP_CONTINUATION, WS_RSV1, 0, "x",
                                       1, wire + n, sizeof wire - n),
              WS_EINVAL);
    r = ws_conn_send_ping(&c, "p", 1, wire + n, sizeof wire - n);
    n += (size_t)(r > 0 ? r : 0);
    /* "é" split across fragments: validated across them, as plain text */
    r = ws_conn_send_fragment_ex(&c, WS_OP_CONTINUATION, 0, 0, "\xc3", 1,
                                 wire + n, sizeof wire - n);
    n += (size_t)(r > 0 ? r : 0);
    r = ws_conn_send_fragment_ex(&c, WS_OP_CONTINUATION, WS_RSV_AUTO, 1, "\xa9",
                                 1, wire + n, sizeof wire - n);
    CHECK(r > 0);
    n += (size_t)(r > 0 ? r : 0);
    ws_conn_destroy(&c);

    ws_options_t so = ext_opts(&nibble_ext, &rx, 0, 0);
    ws_options_t wo = ext_opts(&nibble_ext, &rx, WS_OPT_REASSEMBLE, 0);
    tr_expect(WS_ROLE_SERVER, &so, wire, n,
              "START text rsv=4\n"
              "PING [70]\n"
              "SEND [8a 01 70]\n"
              "XDATA text rsv=4 FIN [63 61 66 c3 a9]\n"
              "END text frames=3\n"
              "state=OPEN closer=NONE");
    tr_expect(WS_ROLE_SERVER, &wo, wire, n,
              "PING [70]\n"
              "SEND [8a 01 70]\n"
              "MESSAGE text frames=3 rsv=4 [63 61 66 c3 a9]\n"
              "state=OPEN closer=NONE");
}

/* A decoder that breaks the contract (returns "more" with input and room
 * left, or "done" before the message's end) fails the connection with its
 * fail_code rather than hanging or losing bytes. */
static int lazy_decode(void *state, ws_ext_io_t *io)
{
    (void)state;
    (void)io;
    return 0;
}

static int eager_decode(void *state, ws_ext_io_t *io)
{
    (void)state;
    io->in_len = 0;
    return 1;
}

static void contract_violations(void)
{
    ws_extension_t x = {.name = "x-broken",
                        .rsv = WS_RSV1,
                        .fail_code = 4000,
                        .decode = lazy_decode};
    uint8_t in[64];
    char want[512];
    ws_options_t o = ext_opts(&x, NULL, WS_OPT_REASSEMBLE, 0);
    snprintf(want, sizeof want,
             "ERROR EEXTENSION 4000\n%s\nstate=CLOSED "
             "closer=LOCAL",
             tr_fail_send(WS_EEXTENSION, 4000));
    size_t n = th_frame(in, 0xC2, 1, "abc", 3);
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    x.decode = eager_decode;
    n = th_frame(in, 0x42, 1, "abc", 3);
    n += th_frame(in + n, 0x80, 1, "d", 1);
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
}

static void bad_extension_tables(void)
{
    ws_conn_t c;
    ws_extension_t x = nibble_ext;
    nibble_t st = {0};
    ws_options_t o = ext_opts(&x, &st, 0, 0);
    x.rsv = 0x8;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    x.rsv = 0;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    x.rsv = WS_RSV1;
    x.encode_bound = NULL;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    x = nibble_ext;
    x.decode = NULL;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), WS_EINVAL);
    CHECK_INT(st.resets, 0);
}

void suite_conn_ext(void);
void suite_conn_ext(void)
{
    RUN(receive_both_roles_both_modes);
    RUN(receive_long_and_empty);
    RUN(rsv_rules);
    RUN(decode_failures);
    RUN(limit_counts_output);
    RUN(bomb_stops_at_limit);
    RUN(send_transformed);
    RUN(send_fragments_round_trip);
    RUN(contract_violations);
    RUN(bad_extension_tables);
}
