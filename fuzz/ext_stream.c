/*
 * ext_stream.c — libFuzzer target: the receive side of messages an
 * extension decodes (lib/conn_ext.c), and the encode path of lib/send.c.
 *
 * Input: byte 0 picks role, mode, extension (nibble or bomb, from
 * tests/ext_samples.h) and max_message; byte 1 the chunk size; the rest is
 * the byte stream, fed in chunks. Checked for every event: slices lie in
 * the fed chunk or the connection's buffers; a decoded message never
 * delivers more than max_message bytes; delivered text is valid UTF-8 (in
 * reassembly mode); after WS_EV_ERROR only its close frame. Then the
 * input, as a message, is sent through the nibble encoder and read back
 * by the other role: it must come out the same.
 */
#include "conn_int.h"
#include "fuzz_common.h"

#include "../tests/ext_samples.h"

#include <stdlib.h>
#include <string.h>

static int fixed_random(void *buf, size_t len, void *user)
{
    (void)user;
    memset(buf, 0x5a, len);
    return 0;
}

static void check_events(ws_conn_t *c, const uint8_t *chunk, size_t n,
                         uint64_t max, uint32_t flags, size_t *msg, int *failed)
{
    ws_event_t ev;
    int t;
    while ((t = ws_conn_next_event(c, &ev)) > 0) {
        ws_conn_impl_t *k = ws_impl(c);
        FZ_CHECK(!*failed || t == WS_EV_SEND, "event %d after an error", t);
        if (ev.data && ev.len)
            FZ_CHECK((ev.data >= chunk && ev.data + ev.len <= chunk + n) ||
                         (ev.data >= k->ctrl &&
                          ev.data + ev.len <= k->ctrl + sizeof k->ctrl) ||
                         (ev.data >= k->rbuf &&
                          ev.data + ev.len <= k->rbuf + k->rbuf_cap),
                     "slice outside every buffer");
        if (t == WS_EV_DATA || t == WS_EV_MESSAGE) {
            *msg += ev.len;
            FZ_CHECK(*msg <= max, "%zu bytes delivered, limit %llu", *msg,
                     (unsigned long long)max);
            if (t == WS_EV_MESSAGE && ev.opcode == WS_OP_TEXT)
                FZ_CHECK(ws_utf8_validate(ev.data, ev.len) == 0,
                         "invalid UTF-8 delivered");
        }
        if (t == WS_EV_MESSAGE || t == WS_EV_MESSAGE_END)
            *msg = 0;
        if (t == WS_EV_ERROR)
            *failed = 1;
    }
    (void)flags;
}

static void stream(const uint8_t *data, size_t size, unsigned sel, size_t chunk)
{
    nibble_t nst = {0};
    bomb_t bst = {0};
    static const uint64_t limits[4] = {0, 1, 100, 5000};
    ws_options_t o;
    ws_conn_t c;
    ws_options_init(&o);
    o.flags = (sel & 2) ? WS_OPT_REASSEMBLE : 0;
    o.max_message = limits[(sel >> 3) & 3];
    o.random = fixed_random;
    o.extension = (sel & 4) ? &bomb_ext : &nibble_ext;
    o.extension_state = (sel & 4) ? (void *)&bst : (void *)&nst;
    ws_role_t role = (sel & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    FZ_CHECK(ws_conn_init(&c, role, &o) == 0, "init");
    uint64_t max = ws_impl(&c)->max_message;

    uint8_t *copy = malloc(size ? size : 1);
    FZ_CHECK(copy != NULL, "out of memory");
    memcpy(copy, data, size);
    size_t msg = 0;
    int failed = 0;
    for (size_t at = 0; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        FZ_CHECK(ws_conn_feed(&c, copy + at, n) == 0, "feed");
        check_events(&c, copy + at, n, max, o.flags, &msg, &failed);
    }
    ws_conn_destroy(&c);
    free(copy);
}

/* data as one nibble-encoded binary message, client to server. */
static void round_trip(const uint8_t *data, size_t size, unsigned sel)
{
    nibble_t tx = {0}, rx = {0};
    ws_options_t o;
    ws_conn_t a, b;
    ws_event_t ev;
    ws_options_init(&o);
    o.random = fixed_random;
    o.extension = &nibble_ext;
    o.extension_state = &tx;
    FZ_CHECK(ws_conn_init(&a, WS_ROLE_CLIENT, &o) == 0, "init");
    o.extension_state = &rx;
    o.flags = (sel & 2) ? WS_OPT_REASSEMBLE : 0;
    FZ_CHECK(ws_conn_init(&b, WS_ROLE_SERVER, &o) == 0, "init");
    size_t cap = ws_conn_frame_size(&a, size);
    uint8_t *wire = malloc(cap);
    FZ_CHECK(wire != NULL, "out of memory");
    ptrdiff_t n = ws_conn_send_message(&a, WS_OP_BINARY, data, size, wire, cap);
    FZ_CHECK(n > 0 && (size_t)n <= cap, "send gave %td for %zu", n, size);
    fz_buf_t got = {0};
    FZ_CHECK(ws_conn_feed(&b, wire, (size_t)n) == 0, "feed");
    int t;
    while ((t = ws_conn_next_event(&b, &ev)) > 0) {
        FZ_CHECK(t != WS_EV_ERROR, "round trip failed: %s",
                 ws_err_name(ev.error));
        if (t == WS_EV_DATA || t == WS_EV_MESSAGE) {
            FZ_CHECK(ev.rsv == WS_RSV1, "rsv %u", ev.rsv);
            fz_buf_put(&got, ev.data, ev.len);
        }
    }
    FZ_CHECK(got.len == size && (size == 0 || memcmp(got.p, data, size) == 0),
             "round trip changed the message");
    free(got.p);
    free(wire);
    ws_conn_destroy(&a);
    ws_conn_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned sel = data[0];
    size_t chunk = data[1] ? data[1] : 4096;
    stream(data + 2, size - 2, sel, chunk);
    round_trip(data + 2, size - 2 < 4096 ? size - 2 : 4096, sel);
    return 0;
}
