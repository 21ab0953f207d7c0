/*
 * frame_stream.c — fuzz target: the receive side of a connection
 * (lib/conn.c) on arbitrary bytes, in either role and either delivery mode.
 *
 * Input: 6 bytes of configuration, then the stream.
 *   [0] flags  bit 0 client role        bit 4 WS_OPT_LENIENT_LENGTH
 *              bit 1 WS_OPT_REASSEMBLE  bit 5 the allocator fails at the
 *              bit 2 WS_OPT_NO_AUTO_PONG      (n+1)th call, n = [4] >> 4
 *              bit 3 WS_OPT_NO_AUTO_CLOSE bit 6 the random source fails
 *                                             on calls chosen by [5]
 *              bit 7 the split points come from the stream's own bytes
 *   [1] max_frame, [2] max_message: 0 = default, else small (see limit())
 *   [3] how to split the stream into chunks (bits 0-1, with a hash of
 *       the input); bit 2: the split run reads payload in place
 *       (ws_conn_recv_buf / ws_conn_recv_ack) whenever the engine asks
 *   [4] low nibble k: we send a close frame ourselves before any input
 *       (k = 1) or right after the (k-1)th event that is not DATA or
 *       MESSAGE_START
 *   [5] which random calls fail (bit i mod 8), with flags bit 6
 *
 * The stream is fed twice, on fresh connections: split into chunks, each
 * in its own heap block that ends where the chunk does (or read in place,
 * [3] bit 2), and whole. Every
 * event of both runs is checked against the contract in wsproto.h (see
 * check_event), and the two runs must give the same transcript, DATA
 * slices merged per frame (the contract: any split gives the same result).
 */
#include "conn_int.h"
#include "fuzz_common.h"
#include "wsproto.h"

typedef struct cfg {
    ws_role_t role;
    ws_options_t opts;
    unsigned local_close_at;
    unsigned alloc_fail_at; /* 0 = never, else the nth call fails */
    int rnd_fail;
    uint8_t rnd_mask;
    int split_from_bytes;
    uint8_t split_mode;
    int direct;
    uint64_t seed;
} cfg_t;

/* What the previous event obliges the next one to be. */
enum { AFTER_OTHER, AFTER_PING, AFTER_END, AFTER_FIN_DATA, AFTER_FINAL };

typedef struct run {
    const cfg_t *cfg;
    ws_conn_t c;
    ws_allocator_t alloc;
    /* random source */
    unsigned rnd_calls;
    int rnd_last_failed;
    /* allocator bookkeeping */
    unsigned alloc_calls;
    long live;
    uint64_t fed;
    int enomem;
    /* the chunk being consumed */
    const uint8_t *chunk;
    size_t chunk_len;
    /* transcript, DATA merged per frame */
    fz_buf_t tr, fdata;
    int tr_in_frame;
    unsigned tr_flags;
    int tr_op;
    uint64_t tr_frame_len;
    int tr_start_owed, tr_start_op;
    /* checker */
    int after;        /* AFTER_* */
    int ended;        /* ERROR or CLOSE seen */
    int sent_bit;     /* our close frame is out (as the engine sees it) */
    int local_sent;   /* we sent one with ws_conn_send_close */
    int peer_first;   /* the peer's close came before ours */
    unsigned nondata; /* events other than DATA so far */
    uint8_t ping[WS_MAX_CONTROL_PAYLOAD];
    size_t ping_len;
    uint16_t end_code; /* code the close frame after ERROR/CLOSE carries */
    int end_error;
    int msg_open, msg_op, frame_open;
    uint64_t frame_len, frame_got, msg_bytes;
    uint32_t msg_frames;
    fz_buf_t text; /* the text message so far (streaming mode) */
    ws_state_t state;
} run_t;

/* ------------------------------------------------------ hooks */

static int fz_random(void *buf, size_t len, void *user)
{
    run_t *r = user;
    unsigned i = r->rnd_calls++;
    r->rnd_last_failed =
        r->cfg->rnd_fail && ((r->cfg->rnd_mask >> (i % 8)) & 1);
    if (r->rnd_last_failed)
        return -1;
    /* Deterministic keys (the runs must agree), never all zero. */
    uint8_t *p = buf;
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)(0x5A + 37 * (i + k));
    return 0;
}

/* The reassembly buffer never outgrows the message limit, nor twice the
 * bytes received (RFC 6455 gives no bound on announced lengths; memory
 * must follow what actually arrived). */
static void check_alloc_size(run_t *r, size_t size)
{
    uint64_t max_msg = ws_impl(&r->c)->max_message;
    FZ_CHECK(size <= max_msg, "allocation of %zu over max_message %llu", size,
             (unsigned long long)max_msg);
    FZ_CHECK(size <= 256 || size <= 2 * r->fed,
             "allocation of %zu after only %llu bytes fed", size,
             (unsigned long long)r->fed);
}

static void *fz_malloc(size_t size, void *user)
{
    run_t *r = user;
    check_alloc_size(r, size);
    if (r->cfg->alloc_fail_at && ++r->alloc_calls >= r->cfg->alloc_fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        r->live++;
    return p;
}

static void *fz_realloc(void *ptr, size_t size, void *user)
{
    run_t *r = user;
    check_alloc_size(r, size);
    FZ_CHECK(ptr != NULL, "realloc(NULL) from the library");
    if (r->cfg->alloc_fail_at && ++r->alloc_calls >= r->cfg->alloc_fail_at)
        return NULL;
    return realloc(ptr, size);
}

static void fz_free(void *ptr, void *user)
{
    run_t *r = user;
    FZ_CHECK(ptr != NULL, "free(NULL) from the library");
    r->live--;
    free(ptr);
}

/* --------------------------------------------------- transcript */

/* A START is written with the first line that follows it, and dropped
 * before an ERROR: whether it came before a failing first frame depends
 * on the split. */
static void tr_put_start(run_t *r)
{
    if (!r->tr_start_owed)
        return;
    r->tr_start_owed = 0;
    fz_buf_printf(&r->tr, "START op=%d frames=0\n", r->tr_start_op);
}

static void tr_flush_frame(run_t *r, const char *how)
{
    tr_put_start(r);
    fz_buf_printf(&r->tr, "DATA%s op=%d frame_len=%llu flags=%u len=%zu ", how,
                  r->tr_op, (unsigned long long)r->tr_frame_len, r->tr_flags,
                  r->fdata.len);
    fz_buf_hex(&r->tr, r->fdata.p, r->fdata.len);
    fz_buf_put(&r->tr, "\n", 1);
    r->tr_in_frame = 0;
    r->fdata.len = 0;
}

static void tr_event(run_t *r, const ws_event_t *ev)
{
    fz_buf_t *b = &r->tr;
    switch (ev->type) {
    case WS_EV_DATA:
        if (!r->tr_in_frame) {
            r->tr_in_frame = 1;
            r->tr_flags = 0;
            r->tr_op = ev->opcode;
            r->tr_frame_len = ev->frame_len;
        }
        r->tr_flags |= ev->flags;
        fz_buf_put(&r->fdata, ev->data, ev->len);
        if (ev->flags & WS_DATA_FRAME_END)
            tr_flush_frame(r, "");
        return;
    case WS_EV_ERROR:
        /* Valid bytes before the bad one may or may not have been handed
         * out, depending on the split: only the failure is comparable. */
        r->tr_in_frame = 0;
        r->fdata.len = 0;
        r->tr_start_owed = 0;
        fz_buf_printf(b, "ERROR %s code=%u\n", ws_err_name(ev->error),
                      ev->code);
        return;
    case WS_EV_MESSAGE_START:
        r->tr_start_owed = 1;
        r->tr_start_op = ev->opcode;
        return;
    case WS_EV_MESSAGE_END:
        fz_buf_printf(b, "END op=%d frames=%u\n", ev->opcode, ev->frames);
        return;
    case WS_EV_MESSAGE:
        if (r->cfg->opts.flags & WS_OPT_REASSEMBLE)
            break;
        /* Streaming mode's one-event message, as its three events. */
        fz_buf_printf(b, "START op=%d frames=0\n", ev->opcode);
        r->tr_op = ev->opcode;
        r->tr_frame_len = ev->len;
        r->tr_flags = WS_DATA_FRAME_START | WS_DATA_FRAME_END | WS_DATA_FIN;
        fz_buf_put(&r->fdata, ev->data, ev->len);
        tr_flush_frame(r, "");
        fz_buf_printf(b, "END op=%d frames=1\n", ev->opcode);
        return;
    default:
        break;
    }
    tr_put_start(r);
    {
        fz_buf_printf(b, "EV%d op=%d frames=%u code=%u len=%zu ", ev->type,
                      ev->type == WS_EV_MESSAGE ? ev->opcode : 0, ev->frames,
                      ev->code, ev->len);
        fz_buf_hex(b, ev->data, ev->len);
        fz_buf_put(b, "\n", 1);
    }
}

/* ---------------------------------------------------- the checks */

static int within(const uint8_t *p, size_t n, const uint8_t *base,
                  size_t base_len)
{
    return base && p >= base && p <= base + base_len &&
           n <= (size_t)(base + base_len - p);
}

/* A control frame the engine produced: FIN, opcode, masked exactly in the
 * client role, payload as given. Written from RFC 6455 §5.2, not frame.c. */
static void check_control_frame(const run_t *r, const uint8_t *f, size_t n,
                                int op, const uint8_t *payload, size_t plen)
{
    int client = r->cfg->role == WS_ROLE_CLIENT;
    size_t h = client ? 6 : 2;
    FZ_CHECK(plen <= WS_MAX_CONTROL_PAYLOAD, "control payload %zu", plen);
    FZ_CHECK(n == h + plen, "control frame of %zu bytes for %zu payload", n,
             plen);
    FZ_CHECK(f[0] == (0x80 | op), "control frame byte 0 is %02x", f[0]);
    FZ_CHECK(f[1] == ((client ? 0x80 : 0) | plen), "byte 1 is %02x", f[1]);
    for (size_t i = 0; i < plen; i++) {
        uint8_t b = f[h + i] ^ (client ? f[2 + i % 4] : 0);
        FZ_CHECK(b == payload[i], "control payload byte %zu: %02x vs %02x", i,
                 b, payload[i]);
    }
}

static void check_data(run_t *r, const ws_event_t *ev)
{
    const ws_options_t *o = &r->cfg->opts;
    FZ_CHECK(!(o->flags & WS_OPT_REASSEMBLE), "DATA in reassembly mode");
    FZ_CHECK(r->msg_open, "DATA outside a message");
    FZ_CHECK((int)ev->opcode == r->msg_op, "DATA opcode %d in a %d message",
             ev->opcode, r->msg_op);
    int start = (ev->flags & WS_DATA_FRAME_START) != 0;
    FZ_CHECK(start == !r->frame_open, "FRAME_START=%d with frame_open=%d",
             start, r->frame_open);
    FZ_CHECK(!(ev->flags & ~7u), "unknown DATA flags %x", ev->flags);
    if (start) {
        r->frame_open = 1;
        r->frame_len = ev->frame_len;
        r->frame_got = 0;
        r->msg_frames++;
        if (o->max_frame)
            FZ_CHECK(ev->frame_len <= o->max_frame, "frame %llu > max %llu",
                     (unsigned long long)ev->frame_len,
                     (unsigned long long)o->max_frame);
        if (o->max_message)
            FZ_CHECK(r->msg_bytes + ev->frame_len <= o->max_message,
                     "message would pass max_message");
    }
    FZ_CHECK(ev->frame_len == r->frame_len, "frame_len changed mid-frame");
    FZ_CHECK(ev->len <= r->frame_len - r->frame_got, "slice past frame end");
    FZ_CHECK(ev->len > 0 || r->frame_len == 0,
             "empty slice of a %llu-byte frame",
             (unsigned long long)r->frame_len);
    r->frame_got += ev->len;
    r->msg_bytes += ev->len;
    int end = (ev->flags & WS_DATA_FRAME_END) != 0;
    FZ_CHECK(end == (r->frame_got == r->frame_len),
             "FRAME_END=%d with %llu of %llu bytes", end,
             (unsigned long long)r->frame_got,
             (unsigned long long)r->frame_len);
    if (end)
        r->frame_open = 0;
    int fin = (ev->flags & WS_DATA_FIN) != 0;
    FZ_CHECK(!fin || end, "FIN on a slice that does not end its frame");

    if (r->msg_op == WS_OP_TEXT) {
        /* Text handed out so far is valid UTF-8, or a prefix of it; the
         * whole message is, once FIN is seen (RFC 6455 §8.1). */
        fz_buf_put(&r->text, ev->data, ev->len);
        FZ_CHECK(ref_utf8_prefix_ok(r->text.p, r->text.len),
                 "invalid UTF-8 delivered in a text message");
        if (fin)
            FZ_CHECK(ref_utf8_valid(r->text.p, r->text.len),
                     "truncated UTF-8 at the end of a text message");
    }
    if (fin)
        r->after = AFTER_FIN_DATA;
}

static void check_end_send(run_t *r, const ws_event_t *ev)
{
    /* The close frame owed after a peer's close (echoing its code, RFC
     * 6455 §5.5.1) or after a failure (the error's code and text). */
    uint8_t body[2 + WS_MAX_CLOSE_REASON];
    size_t blen = 0;
    if (r->end_code != WS_CLOSE_NO_STATUS) {
        body[0] = (uint8_t)(r->end_code >> 8);
        body[1] = (uint8_t)r->end_code;
        blen = 2;
        if (r->end_error) {
            const char *why = ws_strerror(r->end_error);
            size_t n = strlen(why);
            if (n > WS_MAX_CLOSE_REASON)
                n = WS_MAX_CLOSE_REASON;
            memcpy(body + 2, why, n);
            blen += n;
        }
    }
    check_control_frame(r, ev->data, ev->len, WS_OP_CLOSE, body, blen);
}

static void check_event(run_t *r, int t, const ws_event_t *ev)
{
    const ws_options_t *o = &r->cfg->opts;
    int stream = !(o->flags & WS_OPT_REASSEMBLE);
    int auto_pong = !(o->flags & WS_OPT_NO_AUTO_PONG);
    int auto_close = !(o->flags & WS_OPT_NO_AUTO_CLOSE);
    int client = r->cfg->role == WS_ROLE_CLIENT;

    FZ_CHECK(t == (int)ev->type, "returned %d, event type %d", t, ev->type);
    FZ_CHECK(t >= WS_EV_MESSAGE_START && t <= WS_EV_ERROR, "event type %d", t);
    FZ_CHECK(r->after != AFTER_FINAL, "event %d after the final close frame",
             t);
    /* START is not counted: it may or may not come before a failing
     * first frame (depending on the split), and a message in streaming
     * mode may come as one event. */
    if (t != WS_EV_DATA && t != WS_EV_MESSAGE_START)
        r->nondata++;

    /* Payload slices lie in the chunk being consumed or in the
     * connection's own buffers. */
    if (t != WS_EV_MESSAGE_START && t != WS_EV_MESSAGE_END &&
        t != WS_EV_ERROR) {
        FZ_CHECK(ev->data != NULL, "event %d with NULL data", t);
        FZ_CHECK(within(ev->data, ev->len, r->chunk, r->chunk_len) ||
                     within(ev->data, ev->len, ws_impl(&r->c)->ctrl,
                            sizeof ws_impl(&r->c)->ctrl) ||
                     within(ev->data, ev->len, ws_impl(&r->c)->rbuf,
                            ws_impl(&r->c)->rbuf_cap),
                 "event %d slice of %zu bytes outside every buffer", t,
                 ev->len);
    }

    /* What the previous event owes. */
    switch (r->after) {
    case AFTER_PING:
        if (auto_pong && !r->sent_bit) {
            if (t == WS_EV_SEND) {
                check_control_frame(r, ev->data, ev->len, WS_OP_PONG, r->ping,
                                    r->ping_len);
                r->after = AFTER_OTHER;
                return;
            }
            FZ_CHECK(t == WS_EV_ERROR && ev->error == WS_ERANDOM && client &&
                         r->rnd_last_failed,
                     "event %d where the automatic pong was due", t);
        }
        break;
    case AFTER_END:
        FZ_CHECK(t == WS_EV_SEND, "event %d after ERROR/CLOSE", t);
        FZ_CHECK(auto_close && !r->sent_bit, "a close frame nobody owed");
        check_end_send(r, ev);
        r->sent_bit = 1;
        r->after = AFTER_FINAL;
        return;
    case AFTER_FIN_DATA:
        FZ_CHECK(t == WS_EV_MESSAGE_END, "event %d after the final DATA", t);
        FZ_CHECK((int)ev->opcode == r->msg_op, "MESSAGE_END opcode");
        FZ_CHECK(ev->frames == r->msg_frames, "MESSAGE_END frames %u, saw %u",
                 ev->frames, r->msg_frames);
        r->msg_open = 0;
        r->msg_bytes = 0;
        r->msg_frames = 0;
        r->text.len = 0;
        r->after = AFTER_OTHER;
        return;
    default:
        break;
    }
    FZ_CHECK(!r->ended, "event %d after the connection ended", t);
    FZ_CHECK(t != WS_EV_SEND, "SEND that no PING, CLOSE or ERROR asked for");
    FZ_CHECK(t != WS_EV_MESSAGE_END, "MESSAGE_END without a final DATA");
    r->after = AFTER_OTHER;

    switch (t) {
    case WS_EV_MESSAGE_START:
        FZ_CHECK(stream, "MESSAGE_START in reassembly mode");
        FZ_CHECK(!r->msg_open, "MESSAGE_START inside a message");
        FZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY,
                 "MESSAGE_START opcode %d", ev->opcode);
        r->msg_open = 1;
        r->msg_op = ev->opcode;
        r->frame_open = 0;
        break;
    case WS_EV_DATA:
        check_data(r, ev);
        break;
    case WS_EV_MESSAGE:
        /* Streaming mode: a one-frame message whole in the input, handed
         * out where it lies (streaming mode never allocates). */
        FZ_CHECK(!stream || (ev->frames == 1 && !r->msg_open &&
                             within(ev->data, ev->len, r->chunk, r->chunk_len)),
                 "MESSAGE in streaming mode: %u frames, in a message %d",
                 ev->frames, r->msg_open);
        FZ_CHECK(ev->opcode == WS_OP_TEXT || ev->opcode == WS_OP_BINARY,
                 "MESSAGE opcode %d", ev->opcode);
        FZ_CHECK(ev->frames >= 1, "MESSAGE of %u frames", ev->frames);
        FZ_CHECK(ev->len <= ws_impl(&r->c)->max_message,
                 "MESSAGE over max_message");
        if (ev->opcode == WS_OP_TEXT)
            FZ_CHECK(ref_utf8_valid(ev->data, ev->len),
                     "invalid UTF-8 in a text MESSAGE");
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        FZ_CHECK(ev->len <= WS_MAX_CONTROL_PAYLOAD, "control payload %zu",
                 ev->len);
        if (t == WS_EV_PING) {
            memcpy(r->ping, ev->data, ev->len);
            r->ping_len = ev->len;
            r->after = AFTER_PING;
        }
        break;
    case WS_EV_CLOSE:
        FZ_CHECK(ev->code == WS_CLOSE_NO_STATUS ||
                     ws_close_code_is_valid(ev->code),
                 "CLOSE with code %u", ev->code);
        FZ_CHECK(ev->code != WS_CLOSE_NO_STATUS || ev->len == 0,
                 "reason without a code");
        FZ_CHECK(ev->len <= WS_MAX_CLOSE_REASON, "reason of %zu", ev->len);
        FZ_CHECK(ref_utf8_valid(ev->data, ev->len), "reason not UTF-8");
        if (!r->sent_bit)
            r->peer_first = 1;
        r->ended = 1;
        r->end_code = ev->code;
        r->end_error = 0;
        r->after = AFTER_END;
        break;
    case WS_EV_ERROR:
        FZ_CHECK(ev->error <= WS_ERSV && ev->error >= WS_ETOOBIG ||
                     ev->error == WS_ENOMEM || ev->error == WS_ERANDOM,
                 "ERROR %d is not a connection failure", ev->error);
        FZ_CHECK(ev->code == ws_error_close_code(ev->error),
                 "ERROR code %u for %s", ev->code, ws_err_name(ev->error));
        FZ_CHECK(ev->error != WS_ERANDOM || (client && r->rnd_last_failed),
                 "ERANDOM with a working random source");
        if (ev->error == WS_ENOMEM) {
            FZ_CHECK(r->cfg->alloc_fail_at, "ENOMEM, allocator did not fail");
            r->enomem = 1;
        }
        r->ended = 1;
        r->end_code = ev->code;
        r->end_error = ev->error;
        r->after = AFTER_END;
        break;
    default:
        break;
    }
    (void)client;
}

/* next_event returned 0: was nothing owed? */
static void check_quiet(run_t *r)
{
    int auto_close = !(r->cfg->opts.flags & WS_OPT_NO_AUTO_CLOSE);
    if (r->after == AFTER_END && auto_close && !r->sent_bit) {
        /* Owed, but the client had no key to mask it with: the engine
         * counts it as sent and the transport just closes. */
        FZ_CHECK(r->cfg->role == WS_ROLE_CLIENT && r->rnd_last_failed,
                 "the close frame owed after ERROR/CLOSE never came");
        r->sent_bit = 1;
    }
    FZ_CHECK(r->after != AFTER_FIN_DATA, "no MESSAGE_END after final DATA");
    if (r->after == AFTER_PING &&
        (r->cfg->opts.flags & WS_OPT_NO_AUTO_PONG) == 0 && !r->sent_bit)
        FZ_CHECK(0, "the automatic pong never came");
    if (r->after == AFTER_END || r->after == AFTER_PING)
        r->after = r->ended ? AFTER_FINAL : AFTER_OTHER;
}

static void check_state(run_t *r)
{
    ws_state_t s = ws_conn_state(&r->c);
    FZ_CHECK(s >= r->state, "state went back from %d to %d", r->state, s);
    r->state = s;
    FZ_CHECK((s == WS_STATE_OPEN) == (!r->ended && !r->sent_bit),
             "state %d, ended=%d sent=%d", s, r->ended, r->sent_bit);
    FZ_CHECK((s == WS_STATE_CLOSED) == (r->ended && r->sent_bit),
             "state %d, ended=%d sent=%d", s, r->ended, r->sent_bit);
    ws_closer_t w = ws_conn_closer(&r->c);
    ws_closer_t want = r->peer_first ? WS_CLOSER_PEER
                       : r->sent_bit ? WS_CLOSER_LOCAL
                                     : WS_CLOSER_NONE;
    FZ_CHECK(w == want, "closer %d, expected %d", w, want);
}

/* We send our own close frame (RFC 6455 §7.1.2), at a point that does not
 * depend on the split: before the input, or after the nth event that is
 * not DATA. */
static void local_close(run_t *r)
{
    uint8_t out[WS_CONTROL_BUF_LEN];
    ptrdiff_t n = ws_conn_send_close(&r->c, WS_CLOSE_GOING_AWAY, "bye", 3, out,
                                     sizeof out);
    if (r->sent_bit) {
        FZ_CHECK(n == WS_ESTATE, "second close frame: %td", n);
        return;
    }
    if (n == WS_ERANDOM) {
        FZ_CHECK(r->cfg->role == WS_ROLE_CLIENT && r->rnd_last_failed,
                 "ERANDOM from a working source");
        return;
    }
    FZ_CHECK(n > 0, "ws_conn_send_close: %s", ws_err_name((int)n));
    const uint8_t body[] = {0x03, 0xE9, 'b', 'y', 'e'};
    check_control_frame(r, out, (size_t)n, WS_OP_CLOSE, body, sizeof body);
    r->sent_bit = 1;
    r->local_sent = 1;
    if (r->after == AFTER_PING)
        r->after = AFTER_OTHER; /* the pong is cancelled */
    if (r->after == AFTER_END)
        r->after = AFTER_FINAL; /* our frame is the reply */
}

/* Every event the last n bytes in cause. */
static void drain(run_t *r, size_t n)
{
    ws_event_t ev;
    size_t events = 0;
    int t;

    while ((t = ws_conn_next_event(&r->c, &ev)) != 0) {
        FZ_CHECK(t > 0, "ws_conn_next_event returned %d", t);
        /* Every event consumes input or is owed by one that did: a
         * 2-byte header gives at most 3 events (START, DATA, END). */
        FZ_CHECK(++events <= 2 * n + 4, "%zu events from %zu bytes", events, n);
        unsigned before = r->nondata, at = r->cfg->local_close_at - 1;
        check_event(r, t, &ev);
        tr_event(r, &ev);
        check_state(r);
        if (r->cfg->local_close_at > 1 && before < at && r->nondata >= at)
            local_close(r);
    }
    check_quiet(r);
    check_state(r);
    FZ_CHECK(ws_conn_next_event(&r->c, &ev) == 0, "next_event after 0");
}

static void feed_chunk(run_t *r, uint8_t *p, size_t n)
{
    r->chunk = p;
    r->chunk_len = n;
    r->fed += n;
    FZ_CHECK(ws_conn_feed(&r->c, p, n) == 0, "ws_conn_feed refused a chunk");
    drain(r, n);
}

/* Reading in place (ws_conn_recv_buf): up to k bytes of s straight into
 * the engine's buffer, when it asks for them. Returns how many. */
static size_t direct_read(run_t *r, const uint8_t *s, size_t k)
{
    ws_conn_impl_t *c = ws_impl(&r->c);
    void *p = &p;
    size_t room = 1;
    int got = ws_conn_recv_buf(&r->c, &p, &room);
    FZ_CHECK(got == 0 || got == 1, "ws_conn_recv_buf returned %d", got);
    if (got == 0) {
        FZ_CHECK(p == NULL && room == 0, "no offer, but a buffer");
        return 0;
    }
    FZ_CHECK(room >= 1 && room <= c->frame_left &&
                 within(p, room, c->rbuf, c->rbuf_cap),
             "offer of %zu bytes outside the buffer or past the frame", room);
    size_t m = k < room ? k : room;
    memcpy(p, s, m);
    r->fed += m;
    r->chunk = NULL; /* what is handed out now is in the engine's buffers */
    r->chunk_len = 0;
    FZ_CHECK(ws_conn_recv_ack(&r->c, m) == 0, "ws_conn_recv_ack refused");
    FZ_CHECK(ws_conn_recv_ack(&r->c, 1) == WS_ESTATE, "a second ack");
    drain(r, m);
    return m;
}

static void run_init(run_t *r, const cfg_t *cfg)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->alloc = (ws_allocator_t){fz_malloc, fz_realloc, fz_free, r};
    ws_options_t o = cfg->opts;
    o.random = fz_random;
    o.random_user = r;
    o.allocator = &r->alloc;
    FZ_CHECK(ws_conn_init(&r->c, cfg->role, &o) == 0, "ws_conn_init");
    if (cfg->local_close_at == 1)
        local_close(r);
}

static void run_finish(run_t *r)
{
    if (r->tr_in_frame)
        tr_flush_frame(r, "-PARTIAL");
    fz_buf_printf(&r->tr, "state=%d closer=%d\n", ws_conn_state(&r->c),
                  ws_conn_closer(&r->c));
    ws_conn_destroy(&r->c);
    ws_conn_destroy(&r->c); /* safe to call twice */
    FZ_CHECK(r->live == 0, "%ld allocations leaked", r->live);
    fz_buf_free(&r->fdata);
    fz_buf_free(&r->text);
}

/* Chunk sizes: a pure function of the input. */
static size_t next_chunk(const cfg_t *cfg, fz_rng_t *rng, const uint8_t *s,
                         size_t pos, size_t left)
{
    size_t k;
    if (left == 0)
        return 0;
    if (cfg->split_from_bytes)
        k = s[pos] % 24; /* the stream's own bytes say where to cut */
    else
        switch (cfg->split_mode & 3) {
        case 0:
            k = 1;
            break;
        case 1:
            k = fz_below(rng, 8);
            break;
        case 2:
            k = 1 + fz_below(rng, 64);
            break;
        default:
            k = fz_below(rng, left + 1);
            break;
        }
    return k < left ? k : left;
}

static uint64_t limit(uint8_t b)
{
    if (b == 0)
        return 0;
    return b < 128 ? b : (uint64_t)(b - 127) * 256;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    cfg_t cfg = {0};
    uint8_t f = data[0];
    cfg.role = (f & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    cfg.opts.flags = (f >> 1) & 0x0F; /* the four WS_OPT_* bits, in order */
    cfg.opts.max_frame = limit(data[1]);
    cfg.opts.max_message = limit(data[2]);
    cfg.split_mode = data[3];
    cfg.direct = (data[3] & 4) != 0;
    cfg.local_close_at = data[4] & 0x0F;
    cfg.alloc_fail_at = (f & 0x20) ? (data[4] >> 4) + 1u : 0;
    cfg.rnd_fail = (f & 0x40) != 0;
    cfg.rnd_mask = data[5];
    cfg.split_from_bytes = (f & 0x80) != 0;
    cfg.seed = fz_fnv(data, size);
    _Static_assert(WS_OPT_REASSEMBLE == 1 && WS_OPT_NO_AUTO_PONG == 2 &&
                       WS_OPT_NO_AUTO_CLOSE == 4 && WS_OPT_LENIENT_LENGTH == 8,
                   "flag bits as documented above");

    const uint8_t *s = data + 6;
    size_t n = size - 6;

    /* Split: each chunk at the end of its own heap block. */
    run_t *split = malloc(sizeof *split);
    run_init(split, &cfg);
    fz_rng_t rng = {cfg.seed};
    size_t pos = 0, chunks = 0;
    do {
        size_t k = next_chunk(&cfg, &rng, s, pos, n - pos);
        if (k == 0 && ++chunks > 2 * n + 2)
            k = n - pos; /* enough empty chunks */
        size_t m = 1, took = 0;
        while (cfg.direct && k && m) {
            m = direct_read(split, s + pos, k);
            pos += m;
            k -= m;
            took += m;
        }
        if (took && !k)
            continue; /* all of it read in place */
        uint8_t *chunk = fz_dup(s + pos, k);
        feed_chunk(split, k ? chunk : (fz_below(&rng, 2) ? NULL : chunk), k);
        free(chunk);
        pos += k;
    } while (pos < n);

    /* Whole. */
    run_t *whole = malloc(sizeof *whole);
    run_init(whole, &cfg);
    uint8_t *all = fz_dup(s, n);
    feed_chunk(whole, all, n);
    free(all);

    run_finish(split);
    run_finish(whole);
    /* An allocator that fails is the one thing allowed to tell the runs
     * apart: a one-frame message is delivered in place when it arrives in
     * one piece, and gathered in an allocated buffer otherwise. */
    if (!split->enomem && !whole->enomem &&
        (split->tr.len != whole->tr.len ||
         memcmp(split->tr.p, whole->tr.p, split->tr.len) != 0)) {
        fprintf(stderr, "--- split:\n%s--- whole:\n%s",
                split->tr.p ? (char *)split->tr.p : "",
                whole->tr.p ? (char *)whole->tr.p : "");
        FZ_CHECK(0, "split and whole feeding disagree");
    }
    fz_buf_free(&split->tr);
    fz_buf_free(&whole->tr);
    free(split);
    free(whole);
    return 0;
}
