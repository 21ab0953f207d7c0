/*
 * test_trace.c — frame tracing (lib/trace.c): every header parsed, as soon
 * as it is complete and before its payload's events; every frame encoded.
 * The trace and the events go into one transcript, so their order is
 * checked too, for every way of splitting the input.
 */
static const char th_suite_name[] = "trace";

#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void trace_line(const ws_frame_info_t *f, void *user)
{
    tr_buf_t *b = user;
    tr_printf(b,
              "%s fin=%u rsv=%u op=%u masked=%u key=%02x%02x%02x%02x "
              "form=%u len=%llu hdr=",
              f->dir == WS_TRACE_IN ? "IN" : "OUT", f->fin, f->rsv, f->opcode,
              f->masked, f->mask_key[0], f->mask_key[1], f->mask_key[2],
              f->mask_key[3], f->len_form, (unsigned long long)f->payload_len);
    for (unsigned i = 0; i < f->header_len; i++)
        tr_printf(b, "%02x", f->header[i]);
    tr_printf(b, "\n");
}

/* in[0..len) fed in `chunk`-byte pieces; trace and events in one text. */
static char *traced_run(ws_role_t role, uint32_t flags, const uint8_t *src,
                        size_t len, size_t chunk)
{
    tr_buf_t b;
    ws_options_t o;
    ws_conn_t c;
    ws_event_t ev;
    uint8_t *in = malloc(len);
    memcpy(in, src, len);
    tr_init(&b);
    b.streaming = !(flags & WS_OPT_REASSEMBLE);
    ws_options_init(&o);
    o.flags = flags;
    o.trace = trace_line;
    o.trace_user = &b;
    o.random = tr_fixed_random;
    CHECK_INT(ws_conn_init(&c, role, &o), 0);
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        CHECK_INT(ws_conn_feed(&c, in + at, n), 0);
        while (ws_conn_next_event(&c, &ev) > 0)
            tr_event(&b, &ev);
    }
    ws_conn_destroy(&c);
    free(in);
    return tr_finish(&b);
}

static void expect_traced(ws_role_t role, uint32_t flags, const uint8_t *in,
                          size_t len, const char *want)
{
    for (size_t chunk = 1; chunk <= len; chunk++) {
        char *got = traced_run(role, flags, in, len, chunk);
        th_note("%zu-byte chunks", chunk);
        int ok = CHECK_STR(got, want);
        free(got);
        if (!ok)
            return;
    }
    th_note("%s", "");
}

/* Small frames (which otherwise take the small-frame path), a fragmented
 * message with a ping inside, the three length forms, and the automatic
 * pong and close replies (OUT). */
static void parsed_and_replied(void)
{
    static uint8_t in[70000 + 200];
    static uint8_t big[65536];
    size_t n = th_frame(in, 0x81, 1, "Hi", 2);
    n += th_frame(in + n, 0x02, 1, "ab", 2);
    n += th_frame(in + n, 0x89, 1, "p", 1);
    n += th_frame(in + n, 0x80, 1, big, 126);
    n += th_frame(in + n, 0x82, 1, big, 65536);
    n += th_frame(in + n, 0x88, 1, "\x03\xe8", 2);
    char *got = traced_run(WS_ROLE_SERVER, WS_OPT_REASSEMBLE, in, n, n);
    CHECK_STR(got,
              "IN fin=1 rsv=0 op=1 masked=1 key=37fa213d form=7 len=2 "
              "hdr=818237fa213d\n"
              "MESSAGE text frames=1 [48 69]\n"
              "IN fin=0 rsv=0 op=2 masked=1 key=37fa213d form=7 len=2 "
              "hdr=028237fa213d\n"
              "IN fin=1 rsv=0 op=9 masked=1 key=37fa213d form=7 len=1 "
              "hdr=898137fa213d\n"
              "PING [70]\n"
              "OUT fin=1 rsv=0 op=10 masked=0 key=00000000 form=7 len=1 "
              "hdr=8a01\n"
              "SEND [8a 01 70]\n"
              "IN fin=1 rsv=0 op=0 masked=1 key=37fa213d form=16 len=126 "
              "hdr=80fe007e37fa213d\n"
              "MESSAGE binary frames=2 len=128 fnv=fd2b4e3a\n"
              "IN fin=1 rsv=0 op=2 masked=1 key=37fa213d form=64 len=65536 "
              "hdr=82ff000000000001000037fa213d\n"
              "MESSAGE binary frames=1 len=65536 fnv=5e509dc5\n"
              "IN fin=1 rsv=0 op=8 masked=1 key=37fa213d form=7 len=2 "
              "hdr=888237fa213d\n"
              "CLOSE 1000 ''\n"
              "OUT fin=1 rsv=0 op=8 masked=0 key=00000000 form=7 len=2 "
              "hdr=8802\n"
              "SEND [88 02 03 e8]\n");
    free(got);
}

/* Before the payload's events, at every split; and a header that fails
 * the connection is traced before the error. */
static void order_at_every_split(void)
{
    uint8_t in[64];
    size_t n = th_frame(in, 0x81, 0, "Hi", 2);
    n += th_frame(in + n, 0xC1, 0, "x", 1);
    expect_traced(WS_ROLE_CLIENT, 0, in, n,
                  "IN fin=1 rsv=0 op=1 masked=0 key=00000000 form=7 len=2 "
                  "hdr=8102\n"
                  "START text\n"
                  "DATA text frame=2 FS FE FIN [48 69]\n"
                  "END text frames=1\n"
                  "IN fin=1 rsv=4 op=1 masked=0 key=00000000 form=7 len=1 "
                  "hdr=c101\n"
                  "ERROR ERSV 1002\n"
                  "OUT fin=1 rsv=0 op=8 masked=1 key=37fa213d form=7 len=19 "
                  "hdr=889337fa213d\n"
                  "SEND [88 93 37 fa 21 3d 34 10 53 58 44 9f 53 4b 52 9e 01 "
                  "5f 5e 8e 52 1d 44 9f 55]\n");
}

/* Every encoder reports its frame. */
static void encoded(void)
{
    tr_buf_t b;
    ws_options_t o;
    ws_conn_t c;
    uint8_t out[300];
    tr_init(&b);
    ws_options_init(&o);
    o.trace = trace_line;
    o.trace_user = &b;
    o.random = tr_fixed_random;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_CLIENT, &o), 0);
    CHECK(ws_conn_send_message(&c, WS_OP_TEXT, "Hi", 2, out, sizeof out) > 0);
    CHECK(ws_conn_send_fragment(&c, WS_OP_BINARY, 0, out, 200, out,
                                sizeof out) > 0);
    CHECK(ws_conn_send_pong(&c, NULL, 0, out, sizeof out) > 0);
    CHECK(ws_conn_send_close(&c, 1000, NULL, 0, out, sizeof out) > 0);
    CHECK_INT(ws_conn_send_ping(&c, NULL, 0, out, sizeof out), WS_ESTATE);
    ws_conn_destroy(&c);
    char *got = tr_finish(&b);
    CHECK_STR(got, "OUT fin=1 rsv=0 op=1 masked=1 key=37fa213d form=7 len=2 "
                   "hdr=818237fa213d\n"
                   "OUT fin=0 rsv=0 op=2 masked=1 key=37fa213d form=16 len=200 "
                   "hdr=02fe00c837fa213d\n"
                   "OUT fin=1 rsv=0 op=10 masked=1 key=37fa213d form=7 len=0 "
                   "hdr=8a8037fa213d\n"
                   "OUT fin=1 rsv=0 op=8 masked=1 key=37fa213d form=7 len=2 "
                   "hdr=888237fa213d\n");
    free(got);

    /* The header-only encoder (server role) reports its header too. */
    static uint8_t big[70000];
    tr_init(&b);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_send_header(&c, WS_OP_BINARY, 0, 1, big, sizeof big, out,
                                  sizeof out),
              10);
    ws_conn_destroy(&c);
    got = tr_finish(&b);
    CHECK_STR(got, "OUT fin=1 rsv=0 op=2 masked=0 key=00000000 form=64 "
                   "len=70000 hdr=827f0000000000011170\n");
    free(got);
}

void suite_trace(void);
void suite_trace(void)
{
    RUN(parsed_and_replied);
    RUN(order_at_every_split);
    RUN(encoded);
}
