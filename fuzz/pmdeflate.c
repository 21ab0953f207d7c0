/*
 * pmdeflate.c — fuzz target: permessage-deflate (lib/pmdeflate.c) on
 * real connections, both ways.
 *
 * Input: [config] [seed] data...
 *   config bits 0-2  client's send window bits 8 + (bits & 7) (the
 *                    server receives with it); bits 3-5 the server's;
 *   config bit 6     no context takeover, both directions;
 *   config bit 7     level 1 (else 6);
 *   seed             picks the message cuts and feed splits.
 *
 * 1. Round trip: data cut into messages, each compressed by a client
 *    connection (threshold 1: all compressed), the frames fed to a server
 *    connection in random pieces: every message comes out as sent.
 * 2. Arbitrary compressed data: data sent as one message marked RSV1
 *    (already "compressed") to a fresh server with max_message 64 KiB:
 *    it must end as a message or as a failure with 1007 (corrupt) or 1009
 *    (too big, having delivered no more than the limit); never a crash.
 */
#include "fuzz_common.h"
#include "wsproto.h"

#define MAX_MESSAGE 65536

static uint8_t *make_state(const ws_pmd_params_t *p, int level)
{
    ws_pmd_config_t cfg;
    ws_pmd_config_init(&cfg);
    cfg.level = level;
    cfg.threshold = 1;
    size_t size = ws_pmd_state_size(p);
    uint8_t *mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    FZ_CHECK(mem != NULL, "out of memory");
    FZ_CHECK(ws_pmd_init(mem, size, p, &cfg) == 0, "ws_pmd_init");
    return mem;
}

static void open_conn(ws_conn_t *c, ws_role_t role, void *state, uint32_t flags,
                      uint64_t max)
{
    ws_options_t o;
    ws_options_init(&o);
    o.flags = flags;
    o.max_message = max;
    o.extension = ws_pmd_extension();
    o.extension_state = state;
    FZ_CHECK(ws_conn_init(c, role, &o) == 0, "ws_conn_init");
}

/* Feed frames[0..n) in random pieces; collect decoded messages (whole)
 * into got; returns the error event's code, or 0. */
static int feed(ws_conn_t *s, const uint8_t *frames, size_t n, fz_rng_t *rng,
                fz_buf_t *got, size_t *messages, uint64_t *delivered)
{
    size_t at = 0;
    int err = 0;
    while (at < n && !err) {
        size_t k = 1 + fz_below(rng, 3000);
        if (k > n - at)
            k = n - at;
        uint8_t *piece = fz_dup(frames + at, k);
        FZ_CHECK(ws_conn_feed(s, piece, k) == 0, "feed");
        ws_event_t ev;
        while (ws_conn_next_event(s, &ev) > 0) {
            if (ev.type == WS_EV_MESSAGE) {
                fz_buf_put(got, ev.data, ev.len);
                (*messages)++;
                *delivered += ev.len;
            } else if (ev.type == WS_EV_ERROR) {
                err = ev.error;
            }
        }
        free(piece);
        at += k;
    }
    return err;
}

static void round_trip(const uint8_t *p, size_t n, const ws_pmd_params_t *pc,
                       const ws_pmd_params_t *ps, int level, fz_rng_t *rng)
{
    uint8_t *cs = make_state(pc, level), *ss = make_state(ps, level);
    ws_conn_t c, s;
    fz_buf_t frames = {0}, got = {0};
    size_t sent = 0, messages = 0;
    uint64_t delivered = 0;
    open_conn(&c, WS_ROLE_CLIENT, cs, 0, 0);
    open_conn(&s, WS_ROLE_SERVER, ss, WS_OPT_REASSEMBLE, 0);
    for (size_t at = 0; at < n || sent == 0;) {
        size_t len = fz_below(rng, 2000);
        if (len > n - at)
            len = n - at;
        size_t cap = ws_conn_frame_size(&c, len);
        uint8_t *out = malloc(cap);
        FZ_CHECK(out != NULL, "out of memory");
        ptrdiff_t r =
            ws_conn_send_message(&c, WS_OP_BINARY, p + at, len, out, cap);
        FZ_CHECK(r > 0, "send_message of %zu bytes: %td", len, r);
        fz_buf_put(&frames, out, (size_t)r);
        free(out);
        at += len;
        sent++;
    }
    int err = feed(&s, frames.p, frames.len, rng, &got, &messages, &delivered);
    FZ_CHECK(err == 0, "the peer failed with %d", err);
    FZ_CHECK(messages == sent, "%zu messages sent, %zu received", sent,
             messages);
    FZ_CHECK(got.len == n && (n == 0 || memcmp(got.p, p, n) == 0),
             "messages differ (%zu bytes sent, %zu received)", n, got.len);
    ws_conn_destroy(&c);
    ws_conn_destroy(&s);
    fz_buf_free(&frames);
    fz_buf_free(&got);
    free(cs);
    free(ss);
}

static void arbitrary(const uint8_t *p, size_t n, const ws_pmd_params_t *pc,
                      const ws_pmd_params_t *ps, fz_rng_t *rng)
{
    uint8_t *cs = make_state(pc, 6), *ss = make_state(ps, 6);
    ws_conn_t c, s;
    fz_buf_t got = {0};
    size_t messages = 0;
    uint64_t delivered = 0;
    open_conn(&c, WS_ROLE_CLIENT, cs, 0, 0);
    open_conn(&s, WS_ROLE_SERVER, ss, WS_OPT_REASSEMBLE, MAX_MESSAGE);
    size_t cap = ws_conn_frame_size(&c, n);
    uint8_t *out = malloc(cap);
    FZ_CHECK(out != NULL, "out of memory");
    ptrdiff_t r =
        ws_conn_send_message_ex(&c, WS_OP_BINARY, WS_RSV1, p, n, out, cap);
    FZ_CHECK(r > 0, "send_message_ex: %td", r);
    int err = feed(&s, out, (size_t)r, rng, &got, &messages, &delivered);
    FZ_CHECK(err == 0 || err == WS_EEXTENSION || err == WS_ETOOBIG,
             "unexpected failure %d", err);
    FZ_CHECK(err != 0 || messages == 1, "no message and no failure");
    FZ_CHECK(delivered <= MAX_MESSAGE, "delivered %llu",
             (unsigned long long)delivered);
    ws_conn_destroy(&c);
    ws_conn_destroy(&s);
    fz_buf_free(&got);
    free(out);
    free(cs);
    free(ss);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned cfg = data[0], nct = (cfg >> 6) & 1u;
    ws_pmd_params_t pc = {8 + (cfg & 7u), 8 + ((cfg >> 3) & 7u), (int)nct,
                          (int)nct};
    ws_pmd_params_t ps = {pc.recv_window_bits, pc.send_window_bits, (int)nct,
                          (int)nct};
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    fz_rng_t rng = {fz_fnv(p, n) ^ data[1]};
    round_trip(p, n, &pc, &ps, (cfg & 0x80u) ? 1 : 6, &rng);
    arbitrary(p, n, &pc, &ps, &rng);
    return 0;
}
