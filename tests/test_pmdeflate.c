/*
 * test_pmdeflate.c — permessage-deflate (lib/pmdeflate.c): the
 * negotiation tables of RFC 7692 §7.1 in both roles, and the extension
 * on real connections: the §7.2.3 examples received at every split point,
 * exact compressed frames sent, corrupt data failing with 1007, a
 * decompression bomb stopping at max_message with 1009.
 */
static const char th_suite_name[] = "pmdeflate";

#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void suite_pmdeflate(void);

/* ------------------------------------------------- negotiation */

/* The server's answer to a request offering `offers` (NULL: no header). */
static int server_says(const ws_pmd_config_t *cfg, const char *offers,
                       ws_pmd_params_t *agreed, char *resp, size_t cap)
{
    char head[1024];
    ws_request_t req;
    int n = snprintf(head, sizeof head,
                     "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "%s%s%s\r\n",
                     offers ? "Sec-WebSocket-Extensions: " : "",
                     offers ? offers : "", offers ? "\r\n" : "");
    CHECK(ws_handshake_parse_request(head, (size_t)n, sizeof head, &req) > 0);
    resp[0] = 0;
    return ws_pmd_negotiate_server(&req, cfg, agreed, resp, cap);
}

static void expect_server(const ws_pmd_config_t *cfg, const char *offers,
                          const char *want, unsigned send, unsigned recv,
                          int send_nct, int recv_nct)
{
    ws_pmd_params_t a;
    char resp[256];
    th_note("offer \"%s\"", offers ? offers : "(none)");
    int r = server_says(cfg, offers, &a, resp, sizeof resp);
    CHECK_INT(r, want ? 1 : 0);
    if (!want || r != 1)
        return;
    CHECK_STR(resp, want);
    CHECK_INT(a.send_window_bits, send);
    CHECK_INT(a.recv_window_bits, recv);
    CHECK_INT(a.send_no_context_takeover, send_nct);
    CHECK_INT(a.recv_no_context_takeover, recv_nct);
}

static void server_negotiation(void)
{
    ws_pmd_config_t d, c;
    ws_pmd_config_init(&d);
    const char *P = "permessage-deflate";
    expect_server(&d, NULL, NULL, 0, 0, 0, 0);
    expect_server(&d, "x-other", NULL, 0, 0, 0, 0);
    expect_server(&d, P, P, 15, 15, 0, 0);
    /* §7.1.2.2: client_max_window_bits, without a value, says the client
     * can be limited; with the default config we do not: not in the
     * response (and never when it was not offered). */
    expect_server(&d, "permessage-deflate; client_max_window_bits", P, 15, 15,
                  0, 0);
    expect_server(&d, "permessage-deflate; client_max_window_bits=10",
                  "permessage-deflate; client_max_window_bits=10", 15, 10, 0,
                  0);
    expect_server(&d, "permessage-deflate; server_max_window_bits=9",
                  "permessage-deflate; server_max_window_bits=9", 9, 15, 0, 0);
    expect_server(&d, "permessage-deflate; server_max_window_bits=\"8\"",
                  "permessage-deflate; server_max_window_bits=8", 8, 15, 0, 0);
    expect_server(&d,
                  "permessage-deflate; server_no_context_takeover; "
                  "client_no_context_takeover",
                  "permessage-deflate; server_no_context_takeover; "
                  "client_no_context_takeover",
                  15, 15, 1, 1);
    expect_server(&d, "x-other, permessage-deflate", P, 15, 15, 0, 0);
    /* Offers §7.1 makes us decline, then a fallback we accept (Autobahn
     * 13.x style lists). */
    static const char *const bad[] = {
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=1a",
        "permessage-deflate; server_no_context_takeover=1",
        ("permessage-deflate; client_no_context_takeover; "
         "client_no_context_takeover"),
        ("permessage-deflate; server_max_window_bits=10; "
         "server_max_window_bits=10"),
        "permessage-deflate; x-unknown",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char list[256];
        expect_server(&d, bad[i], NULL, 0, 0, 0, 0);
        snprintf(list, sizeof list,
                 "%s, permessage-deflate; "
                 "client_max_window_bits=12, permessage-deflate",
                 bad[i]);
        expect_server(&d, list, "permessage-deflate; client_max_window_bits=12",
                      15, 12, 0, 0);
    }
    /* Our own limits: a smaller window for what we send (we may say so
     * unasked, §7.1.2.1), a smaller one for what we receive (only if the
     * client offered client_max_window_bits), no context takeover. */
    ws_pmd_config_init(&c);
    c.send_window_bits = 10;
    c.recv_window_bits = 9;
    c.send_no_context_takeover = 1;
    c.recv_no_context_takeover = 1;
    expect_server(&c, P,
                  "permessage-deflate; server_no_context_takeover; "
                  "client_no_context_takeover; server_max_window_bits=10",
                  10, 15, 1, 1);
    expect_server(&c,
                  "permessage-deflate; client_max_window_bits; "
                  "server_max_window_bits=12",
                  "permessage-deflate; server_no_context_takeover; "
                  "client_no_context_takeover; server_max_window_bits=10; "
                  "client_max_window_bits=9",
                  10, 9, 1, 1);
    ws_pmd_params_t a;
    char small[20];
    CHECK_INT(server_says(&d, "permessage-deflate; client_max_window_bits=10",
                          &a, small, sizeof small),
              WS_ENOBUFS);
}

/* The client's view of a response's Sec-WebSocket-Extensions value. */
static int client_reads(const ws_pmd_config_t *cfg, const char *ext,
                        ws_pmd_params_t *a)
{
    char head[512];
    ws_response_t resp;
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Sec-WebSocket-Extensions: %s\r\n\r\n",
                     ext);
    memset(&resp, 0, sizeof resp);
    resp.status = 101;
    resp.head = head;
    resp.head_len = (size_t)n;
    return ws_pmd_negotiate_client(&resp, cfg, a);
}

static void client_negotiation(void)
{
    ws_pmd_config_t d, c;
    ws_pmd_params_t a;
    char offer[256];
    ws_pmd_config_init(&d);
    CHECK_INT(ws_pmd_offer(&d, offer, sizeof offer), 42);
    CHECK_STR(offer, "permessage-deflate; client_max_window_bits");
    ws_pmd_config_init(&c);
    c.recv_window_bits = 10;
    c.recv_no_context_takeover = 1;
    c.send_no_context_takeover = 1;
    CHECK(ws_pmd_offer(&c, offer, sizeof offer) > 0);
    CHECK_STR(offer, "permessage-deflate; client_max_window_bits; "
                     "server_no_context_takeover; client_no_context_takeover; "
                     "server_max_window_bits=10");
    CHECK_INT(ws_pmd_offer(&d, offer, 10), WS_ENOBUFS);
    /* A caller built with a shorter struct: the fields it lacks take
     * their defaults, whatever the bytes past it hold. */
    c.size = (uint32_t)offsetof(ws_pmd_config_t, send_window_bits);
    CHECK(ws_pmd_offer(&c, offer, sizeof offer) > 0);
    CHECK_STR(offer, "permessage-deflate; client_max_window_bits");
    c.size = 0; /* 0: this version's whole struct */
    CHECK(ws_pmd_offer(&c, offer, sizeof offer) > 0);
    CHECK(strstr(offer, "server_max_window_bits=10") != NULL);

    CHECK_INT(client_reads(&d, "x-other", &a), 0);
    CHECK_INT(client_reads(&d, "permessage-deflate", &a), 1);
    CHECK_INT(a.send_window_bits, 15);
    CHECK_INT(a.recv_window_bits, 15);
    CHECK_INT(client_reads(&d,
                           "permessage-deflate; client_max_window_bits=8; "
                           "server_max_window_bits=11; "
                           "server_no_context_takeover",
                           &a),
              1);
    CHECK_INT(a.send_window_bits, 8); /* zlib could not; we can */
    CHECK_INT(a.recv_window_bits, 11);
    CHECK_INT(a.recv_no_context_takeover, 1);
    CHECK_INT(a.send_no_context_takeover, 0);
    CHECK_INT(
        client_reads(&d, "permessage-deflate; client_no_context_takeover", &a),
        1);
    CHECK_INT(a.send_no_context_takeover, 1);
    /* §7.1: a response we must fail the connection for. */
    static const char *const bad[] = {
        "permessage-deflate; client_max_window_bits", /* no value */
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; foo",
        "permessage-deflate; server_no_context_takeover=x",
        ("permessage-deflate; server_no_context_takeover; "
         "server_no_context_takeover"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        th_note("response \"%s\"", bad[i]);
        CHECK_INT(client_reads(&d, bad[i], &a), WS_EHS_EXTENSION);
    }
    /* More than the server_max_window_bits we asked for. */
    CHECK_INT(
        client_reads(&c, "permessage-deflate; server_max_window_bits=11", &a),
        WS_EHS_EXTENSION);
    CHECK_INT(
        client_reads(&c, "permessage-deflate; server_max_window_bits=9", &a),
        1);
    CHECK_INT(a.recv_window_bits, 9);
}

/* ------------------------------------------------- on a connection */

static uint8_t *state_for(const ws_pmd_params_t *a, const ws_pmd_config_t *cfg)
{
    size_t size = ws_pmd_state_size(a);
    void *mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    CHECK(size > 0 && mem != NULL);
    CHECK_INT(ws_pmd_init(mem, size, a, cfg), 0);
    return mem;
}

static ws_options_t pmd_opts(void *state, uint32_t flags, uint64_t max)
{
    ws_options_t o;
    ws_options_init(&o);
    o.flags = flags;
    o.max_message = max;
    o.random = tr_fixed_random;
    o.extension = ws_pmd_extension();
    o.extension_state = state;
    return o;
}

static const ws_pmd_params_t p15 = {15, 15, 0, 0};

/* RFC 7692 §7.2.3.1-5 as a client sends them (masked), to a server,
 * whole and at every split point. */
static void receive_rfc7692_examples(void)
{
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    uint8_t *st = state_for(&p15, &cfg);
    ws_options_t o = pmd_opts(st, WS_OPT_REASSEMBLE, 0);
    uint8_t in[256], p[32];
    size_t n = 0;
    n += th_frame(in + n, 0xC1, 1, p, th_hex("f2 48 cd c9 c9 07 00", p, 32));
    n += th_frame(in + n, 0xC1, 1, p, th_hex("f2 00 11 00 00", p, 32));
    n += th_frame(in + n, 0xC1, 1, p,
                  th_hex("00 05 00 fa ff 48 65 6c 6c 6f 00", p, 32));
    n += th_frame(in + n, 0xC1, 1, p, th_hex("f3 48 cd c9 c9 07 00 00", p, 32));
    n += th_frame(in + n, 0xC1, 1, p,
                  th_hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00", p, 32));
    /* The same message in two fragments, RSV1 on the first only. */
    n += th_frame(in + n, 0x41, 1, p, th_hex("f2 48 cd", p, 32));
    n += th_frame(in + n, 0x80, 1, p, th_hex("c9 c9 07 00", p, 32));
    /* Uncompressed (RSV1 clear): untouched by the extension. */
    n += th_frame(in + n, 0x81, 1, "Hello", 5);
    static const char want[] = "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=2 rsv=4 [48 65 6c 6c 6f]\n"
                               "MESSAGE text frames=1 [48 65 6c 6c 6f]\n"
                               "state=OPEN closer=NONE";
    tr_expect(WS_ROLE_SERVER, &o, in, n, want);
    free(st);
}

/* No context takeover on the receive side: the second example reaches
 * into the first message and must fail (1007), as corrupt data does. */
static void receive_failures(void)
{
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    ws_pmd_params_t nct = p15;
    nct.recv_no_context_takeover = 1;
    uint8_t *st = state_for(&nct, &cfg);
    ws_options_t o = pmd_opts(st, WS_OPT_REASSEMBLE, 0);
    uint8_t in[128], p[32];
    size_t n = th_frame(in, 0xC1, 1, p, th_hex("f2 48 cd c9 c9 07 00", p, 32));
    n += th_frame(in + n, 0xC1, 1, p, th_hex("f2 00 11 00 00", p, 32));
    char *got = tr_run(WS_ROLE_SERVER, &o, in, n, NULL, 0, NULL);
    th_note("transcript:\n%s", got);
    CHECK(strstr(got, "MESSAGE text frames=1 rsv=4 [48 65 6c 6c 6f]") != NULL);
    CHECK(strstr(got, "03 ef") != NULL); /* close 1007 */
    free(got);
    /* BTYPE 11. */
    n = th_frame(in, 0xC2, 1, "\x07", 1);
    got = tr_run(WS_ROLE_SERVER, &o, in, n, NULL, 0, NULL);
    th_note("transcript:\n%s", got);
    CHECK(strstr(got, "03 ef") != NULL);
    free(got);
    free(st);
}

/* 1 MiB of zeros in 1 KiB: with max_message 64 KiB the connection fails
 * with 1009, having delivered at most the limit. */
static void bomb_stops_at_limit(void)
{
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    uint8_t *tx = state_for(&p15, &cfg), *rx = state_for(&p15, &cfg);
    ws_options_t ot = pmd_opts(tx, 0, 0), orx = pmd_opts(rx, 0, 65536);
    ws_conn_t c, s;
    size_t big = 1u << 20;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_CLIENT, &ot), 0);
    CHECK_INT(ws_conn_init(&s, WS_ROLE_SERVER, &orx), 0);
    size_t cap = ws_conn_frame_size(&c, big);
    uint8_t *zeros = calloc(big, 1), *frame = malloc(cap);
    ptrdiff_t n =
        ws_conn_send_message(&c, WS_OP_BINARY, zeros, big, frame, cap);
    CHECK(n > 0 && n < 4096);
    CHECK_INT(ws_conn_feed(&s, frame, (size_t)(n > 0 ? n : 0)), 0);
    ws_event_t ev;
    uint64_t delivered = 0;
    int err = 0;
    while (ws_conn_next_event(&s, &ev) > 0) {
        if (ev.type == WS_EV_DATA)
            delivered += ev.len;
        if (ev.type == WS_EV_ERROR)
            err = ev.error;
    }
    CHECK_INT(err, WS_ETOOBIG);
    CHECK(delivered <= 65536);
    ws_conn_destroy(&c);
    ws_conn_destroy(&s);
    free(zeros);
    free(frame);
    free(tx);
    free(rx);
}

/* Sending: "Hello" is exactly the RFC's frame (threshold 1), a short
 * message under the threshold goes out plain, and messages of many sizes
 * and window settings come back through a peer. */
static void send_and_round_trip(void)
{
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    cfg.threshold = 1;
    uint8_t *st = state_for(&p15, &cfg);
    ws_options_t o = pmd_opts(st, 0, 0);
    ws_conn_t c;
    uint8_t out[64];
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    ptrdiff_t n =
        ws_conn_send_message(&c, WS_OP_TEXT, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0),
                "\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00", 9);
    /* Per-message opt-out. */
    n = ws_conn_send_message_ex(&c, WS_OP_TEXT, 0, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x81\x05Hello", 7);
    ws_conn_destroy(&c);
    free(st);

    ws_pmd_config_init(&cfg); /* threshold 128 */
    st = state_for(&p15, &cfg);
    o = pmd_opts(st, 0, 0);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    n = ws_conn_send_message(&c, WS_OP_TEXT, "Hello", 5, out, sizeof out);
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), "\x81\x05Hello", 7);
    ws_conn_destroy(&c);
    free(st);

    static const unsigned bits[][2] = {{15, 15}, {8, 9}, {12, 8}};
    for (size_t b = 0; b < 3; b++) {
        for (int nct = 0; nct < 2; nct++) {
            ws_pmd_params_t pc = {bits[b][0], bits[b][1], nct, nct};
            ws_pmd_params_t ps = {bits[b][1], bits[b][0], nct, nct};
            uint8_t *cs = state_for(&pc, &cfg), *ss = state_for(&ps, &cfg);
            ws_options_t oc = pmd_opts(cs, 0, 0);
            ws_options_t os = pmd_opts(ss, WS_OPT_REASSEMBLE, 0);
            ws_conn_t cl, sv;
            CHECK_INT(ws_conn_init(&cl, WS_ROLE_CLIENT, &oc), 0);
            CHECK_INT(ws_conn_init(&sv, WS_ROLE_SERVER, &os), 0);
            static char msg[70000];
            static uint8_t frame[80000];
            for (size_t len = 0; len <= 65536; len = len * 3 + 1) {
                for (size_t i = 0; i < len; i++)
                    msg[i] = "{\"id\":1,\"text\":\"hello\"} "[i % 25];
                th_note("bits %u/%u nct %d len %zu", bits[b][0], bits[b][1],
                        nct, len);
                n = ws_conn_send_message(&cl, WS_OP_TEXT, msg, len, frame,
                                         sizeof frame);
                CHECK(n > 0);
                CHECK_INT(ws_conn_feed(&sv, frame, (size_t)(n > 0 ? n : 0)), 0);
                ws_event_t ev;
                int got = 0;
                while (ws_conn_next_event(&sv, &ev) > 0) {
                    if (ev.type == WS_EV_MESSAGE) {
                        CHECK_BYTES(ev.data, ev.len, msg, len);
                        got = 1;
                    }
                }
                CHECK(got);
            }
            ws_conn_destroy(&cl);
            ws_conn_destroy(&sv);
            free(cs);
            free(ss);
        }
    }
}

static void state_sizes(void)
{
    ws_pmd_params_t a = p15, b = {8, 8, 0, 0}, bad = {7, 15, 0, 0};
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    CHECK_INT(ws_pmd_state_size(&a), 132296); /* as wsproto.h states */
    CHECK_INT(ws_pmd_state_size(&b), 35016);
    CHECK_INT(ws_pmd_state_size(&bad), 0);
    uint8_t *st = state_for(&a, &cfg);
    CHECK_INT(ws_pmd_init(st, ws_pmd_state_size(&a) - 1, &a, &cfg), WS_EINVAL);
    CHECK_INT(ws_pmd_init(st + 1, ws_pmd_state_size(&a) - 16, &b, &cfg),
              WS_EINVAL);
    cfg.level = 10;
    CHECK_INT(ws_pmd_init(st, ws_pmd_state_size(&a), &a, &cfg), WS_EINVAL);
    free(st);
}

void suite_pmdeflate(void)
{
    RUN(server_negotiation);
    RUN(client_negotiation);
    RUN(receive_rfc7692_examples);
    RUN(receive_failures);
    RUN(bomb_stops_at_limit);
    RUN(send_and_round_trip);
    RUN(state_sizes);
}
