/*
 * roundtrip.c — fuzz target: whatever one connection encodes (lib/send.c),
 * a peer of the other role decodes (lib/conn.c) into exactly what was
 * sent, in order; the peer's automatic replies go back and are decoded too.
 *
 * Input: [config] [chunk seed] then a script of operations, each
 *   [op] [len] and, for payloads taken from the script, len more bytes:
 *   op & 7   0 send_message text     4 send_pong
 *            1 send_message binary   5 send_close (2 more bytes: code)
 *            2 send_fragment         6 send_message, generated payload of
 *            3 send_ping               around 126 bytes or (once per
 *                                      script) 64 KiB: the edges of the
 *                                      16- and 64-bit lengths
 *                                    7 ws_conn_send_* with a NULL buffer
 *   op bit 3   text payload built from code points (valid UTF-8, split
 *              anywhere by fragment sizes); else the bytes as given
 *   op bits 4-5 send_fragment's opcode: text, binary, continuation, and
 *              3 = an invalid opcode (0x3)
 *   op bit 6   send_fragment's FIN
 *   op bit 7   first try with a buffer one byte too small: WS_ENOBUFS,
 *              nothing written, state unchanged
 * config bit 0 sender is the client; bits 1-3 the receiver's
 *   WS_OPT_REASSEMBLE, NO_AUTO_PONG, NO_AUTO_CLOSE; bit 4 the sender's
 *   WS_OPT_REASSEMBLE (for the replies); bit 5 the sender's random source
 *   fails on every 5th call (WS_ERANDOM, nothing sent).
 *
 * Every encoder call is judged against a model of what the contract allows
 * (WS_ESTATE, WS_EINVAL, WS_EUTF8 by the reference validator); a failed
 * call must leave the connection and the output buffer untouched.
 */
#include "fuzz_common.h"
#include "wsproto.h"
#include "wsproto_int.h"

enum { REC_MESSAGE = 1, REC_PING, REC_PONG, REC_CLOSE };

/* What the receiver must report, in order. */
typedef struct rec {
    int kind;
    int opcode; /* REC_MESSAGE */
    uint32_t frames;
    uint16_t code; /* REC_CLOSE */
    fz_buf_t data;
} rec_t;

typedef struct recs {
    rec_t *v;
    size_t n, cap;
} recs_t;

static rec_t *rec_add(recs_t *l, int kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        FZ_CHECK(l->v != NULL, "out of memory");
    }
    rec_t *r = &l->v[l->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    return r;
}

static void recs_free(recs_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        fz_buf_free(&l->v[i].data);
    free(l->v);
}

static void recs_compare(const recs_t *want, const recs_t *got, const char *who)
{
    size_t n = want->n < got->n ? want->n : got->n;
    for (size_t i = 0; i < n; i++) {
        const rec_t *a = &want->v[i], *b = &got->v[i];
        FZ_CHECK(a->kind == b->kind, "%s record %zu: kind %d, expected %d", who,
                 i, b->kind, a->kind);
        FZ_CHECK(a->opcode == b->opcode && a->frames == b->frames,
                 "%s record %zu: opcode %d frames %u, expected %d %u", who, i,
                 b->opcode, b->frames, a->opcode, a->frames);
        FZ_CHECK(a->code == b->code, "%s record %zu: code %u, expected %u", who,
                 i, b->code, a->code);
        FZ_CHECK(a->data.len == b->data.len &&
                     (a->data.len == 0 ||
                      memcmp(a->data.p, b->data.p, a->data.len) == 0),
                 "%s record %zu (kind %d): %zu bytes differ from the %zu sent",
                 who, i, a->kind, b->data.len, a->data.len);
    }
    FZ_CHECK(want->n == got->n, "%s got %zu records, expected %zu", who, got->n,
             want->n);
}

/* ---------------------------------------------------------- a peer */

typedef struct peer {
    ws_conn_t c;
    ws_role_t role;
    unsigned flags;
    recs_t got;
    fz_buf_t msg; /* streaming: the message being assembled */
    int msg_op;
    uint32_t msg_frames;
    fz_buf_t replies; /* WS_EV_SEND bytes, in order */
    int rnd_fail;
    unsigned rnd_calls;
    int closed; /* CLOSE or ERROR seen */
} peer_t;

static int peer_random(void *buf, size_t len, void *user)
{
    peer_t *p = user;
    unsigned i = p->rnd_calls++;
    if (p->rnd_fail && i % 5 == 4)
        return -1;
    uint8_t *b = buf;
    for (size_t k = 0; k < len; k++)
        b[k] = (uint8_t)(i * 131 + k * 17 + 1);
    return 0;
}

static void peer_init(peer_t *p, ws_role_t role, unsigned flags, int rnd_fail)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    p->flags = flags;
    p->rnd_fail = rnd_fail;
    ws_options_t o = {.flags = flags, .random = peer_random, .random_user = p};
    FZ_CHECK(ws_conn_init(&p->c, role, &o) == 0, "ws_conn_init");
}

static void peer_free(peer_t *p)
{
    ws_conn_destroy(&p->c);
    recs_free(&p->got);
    fz_buf_free(&p->msg);
    fz_buf_free(&p->replies);
}

static void peer_event(peer_t *p, const ws_event_t *ev)
{
    rec_t *r;
    FZ_CHECK(!p->closed || ev->type == WS_EV_SEND, "event %d after CLOSE/ERROR",
             ev->type);
    switch (ev->type) {
    case WS_EV_MESSAGE_START:
        FZ_CHECK(p->msg_op == 0, "MESSAGE_START inside a message");
        p->msg_op = ev->opcode;
        p->msg.len = 0;
        p->msg_frames = 0;
        break;
    case WS_EV_DATA:
        FZ_CHECK(p->msg_op == (int)ev->opcode, "DATA opcode");
        if (ev->flags & WS_DATA_FRAME_START)
            p->msg_frames++;
        fz_buf_put(&p->msg, ev->data, ev->len);
        break;
    case WS_EV_MESSAGE_END:
        FZ_CHECK(p->msg_op == (int)ev->opcode, "MESSAGE_END opcode");
        FZ_CHECK(p->msg_frames == ev->frames, "MESSAGE_END frames");
        r = rec_add(&p->got, REC_MESSAGE);
        r->opcode = p->msg_op;
        r->frames = ev->frames;
        fz_buf_put(&r->data, p->msg.p, p->msg.len);
        p->msg_op = 0;
        break;
    case WS_EV_MESSAGE:
        r = rec_add(&p->got, REC_MESSAGE);
        r->opcode = ev->opcode;
        r->frames = ev->frames;
        fz_buf_put(&r->data, ev->data, ev->len);
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
        r = rec_add(&p->got, ev->type == WS_EV_PING ? REC_PING : REC_PONG);
        fz_buf_put(&r->data, ev->data, ev->len);
        break;
    case WS_EV_CLOSE:
        r = rec_add(&p->got, REC_CLOSE);
        r->code = ev->code;
        fz_buf_put(&r->data, ev->data, ev->len);
        p->closed = 1;
        break;
    case WS_EV_SEND:
        FZ_CHECK(ev->len <= WS_CONTROL_BUF_LEN, "SEND of %zu bytes", ev->len);
        fz_buf_put(&p->replies, ev->data, ev->len);
        break;
    case WS_EV_ERROR:
        /* Only the random source may fail here: the pong's mask key. */
        FZ_CHECK(ev->error == WS_ERANDOM && p->rnd_fail,
                 "ERROR %s on a stream a conforming peer wrote",
                 ws_err_name(ev->error));
        p->closed = 1;
        break;
    default:
        FZ_CHECK(0, "event type %d", ev->type);
    }
}

/* Feed wire[0..len) to p in chunks the rng chooses, each chunk in a heap
 * block of its own size. */
static void peer_feed(peer_t *p, const uint8_t *wire, size_t len, fz_rng_t *rng)
{
    size_t pos = 0;
    int mode = (int)fz_below(rng, 4);
    uint8_t *tail = malloc(len ? len : 1);
    FZ_CHECK(tail != NULL, "out of memory");
    if (mode == 0 && len > 4096)
        mode = 1; /* byte by byte only for short streams: speed */
    while (pos < len) {
        size_t k = mode == 0   ? 1
                   : mode == 1 ? 1 + fz_below(rng, 16)
                   : mode == 2 ? 1 + fz_below(rng, 1024)
                               : 1 + fz_below(rng, len - pos);
        if (k > len - pos)
            k = len - pos;
        /* The chunk ends where its heap block does. */
        uint8_t *chunk = fz_at_tail(tail, len, wire + pos, k);
        ws_event_t ev;
        int t, events = 0;
        FZ_CHECK(ws_conn_feed(&p->c, chunk, k) == 0, "ws_conn_feed");
        while ((t = ws_conn_next_event(&p->c, &ev)) > 0) {
            FZ_CHECK(++events <= (int)(2 * k + 4), "too many events");
            peer_event(p, &ev);
        }
        FZ_CHECK(t == 0, "next_event returned %d", t);
        pos += k;
    }
    free(tail);
}

/* ------------------------------------------------------- the sender */

typedef struct model {
    int send_op;  /* unfinished outgoing message: 0, TEXT, BINARY */
    fz_buf_t msg; /* its bytes so far */
    uint32_t frames;
    int close_sent;
} model_t;

/* Acceptable results of one call besides success. */
#define OK_EINVAL 1u
#define OK_ESTATE 2u
#define OK_EUTF8 4u

static const uint8_t *script_take(const uint8_t **s, size_t *left, size_t n,
                                  uint8_t *pad)
{
    /* Payload bytes from the script; past its end, a fixed pattern. */
    if (n <= *left) {
        const uint8_t *p = *s;
        *s += n;
        *left -= n;
        return p;
    }
    size_t have = *left;
    memcpy(pad, *s, have);
    for (size_t i = have; i < n; i++)
        pad[i] = (uint8_t)('a' + i % 26);
    *s += have;
    *left = 0;
    return pad;
}

/* len bytes of valid UTF-8 made from code points the seed bytes pick,
 * cut anywhere (a fragment may end inside a character; the message as a
 * whole is completed by later fragments, or fails as truncated). */
static void text_from_points(const uint8_t *seed, size_t n, fz_buf_t *out)
{
    uint8_t enc[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = 0;
        for (size_t k = 0; k < 3 && i + k < n; k++)
            v = v << 8 | seed[i + k];
        size_t m = ref_utf8_encode(ref_utf8_pick(v), enc);
        fz_buf_put(out, enc, m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t cfg = data[0];
    ws_role_t srole = (cfg & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    ws_role_t rrole = (cfg & 1) ? WS_ROLE_SERVER : WS_ROLE_CLIENT;
    unsigned rflags = (cfg >> 1) & 7;
    unsigned sflags = (cfg & 0x10) ? WS_OPT_REASSEMBLE : 0;
    fz_rng_t rng = {fz_fnv(data, size) ^ data[1]};

    peer_t *snd = malloc(sizeof *snd), *rcv = malloc(sizeof *rcv);
    FZ_CHECK(snd && rcv, "out of memory");
    peer_init(snd, srole, sflags, (cfg & 0x20) != 0);
    peer_init(rcv, rrole, rflags, 0);

    model_t m = {0};
    recs_t want = {0}, want_back = {0};
    fz_buf_t wire = {0};
    const uint8_t *s = data + 2;
    size_t left = size - 2;
    static uint8_t pad[65600];
    int big_done = 0;

    while (left >= 2) {
        uint8_t op = s[0], len = s[1];
        s += 2;
        left -= 2;
        int kind = op & 7;
        int points = (op >> 3) & 1;
        fz_buf_t payload = {0};
        unsigned code = 0;

        if (kind == 5) {
            /* Close codes: mostly from a list with the edges, else raw. */
            static const unsigned codes[] = {0,    1000, 1001, 1003, 1004,
                                             1005, 1006, 1007, 1011, 1014,
                                             1015, 2999, 3000, 4999, 5000};
            uint8_t cb[2];
            memcpy(cb, script_take(&s, &left, 2, pad), 2);
            code =
                cb[0] < 200 ? codes[cb[0] % 15] : (unsigned)cb[1] << 8 | cb[0];
            len %= 130; /* reasons up to 123 bytes, a few over */
        }
        if (kind == 6) {
            /* One frame of 64 KiB per script is enough, and keeps the
             * target fast. */
            size_t n = len < 250 || big_done ? 120 + (size_t)len * 4
                                             : 65530 + (size_t)(len - 250) * 2;
            big_done |= n > 65535;
            fz_fill(&rng, pad, n, points);
            fz_buf_put(&payload, pad, n);
        } else if (points) {
            text_from_points(script_take(&s, &left, len, pad), len, &payload);
        } else {
            fz_buf_put(&payload, script_take(&s, &left, len, pad), len);
        }
        const uint8_t *pd = payload.p ? payload.p : (const uint8_t *)"";
        size_t pl = payload.len;

        /* The call, and what the contract lets it return. */
        int opcode = WS_OP_BINARY, fin = 1;
        unsigned ok = 0;
        int data_frame = 0, control = 0;
        switch (kind) {
        case 0:
        case 6:
            opcode =
                kind == 0 ? WS_OP_TEXT : (points ? WS_OP_TEXT : WS_OP_BINARY);
            /* fall through */
        case 1:
            data_frame = 1;
            if (m.send_op || m.close_sent)
                ok |= OK_ESTATE;
            break;
        case 2: {
            static const int ops[] = {WS_OP_TEXT, WS_OP_BINARY,
                                      WS_OP_CONTINUATION, 0x3};
            opcode = ops[(op >> 4) & 3];
            fin = (op >> 6) & 1;
            data_frame = 1;
            if (opcode == 0x3)
                ok |= OK_EINVAL;
            if (m.close_sent || (!m.send_op && opcode == WS_OP_CONTINUATION) ||
                (m.send_op && opcode != WS_OP_CONTINUATION &&
                 opcode != m.send_op))
                ok |= OK_ESTATE;
            break;
        }
        case 3:
        case 4:
            control = 1;
            opcode = kind == 3 ? WS_OP_PING : WS_OP_PONG;
            if (pl > WS_MAX_CONTROL_PAYLOAD)
                ok |= OK_EINVAL;
            if (m.close_sent)
                ok |= OK_ESTATE;
            break;
        case 5:
            opcode = WS_OP_CLOSE;
            if (code == 0 ? pl != 0 : !ws_close_code_is_valid(code))
                ok |= OK_EINVAL;
            if (pl > WS_MAX_CLOSE_REASON)
                ok |= OK_EINVAL;
            if (m.close_sent)
                ok |= OK_ESTATE;
            if (!ref_utf8_valid(pd, pl))
                ok |= OK_EUTF8;
            break;
        default: /* 7: a NULL output buffer, refused whatever the call */
            ok |= OK_EINVAL;
            if (m.close_sent || (!(op & 0x10) && m.send_op))
                ok |= OK_ESTATE;
            break;
        }
        int msg_op = data_frame ? (m.send_op                      ? m.send_op
                                   : opcode == WS_OP_CONTINUATION ? 0
                                                                  : opcode)
                                : 0;
        if (data_frame && msg_op == WS_OP_TEXT &&
            !(ok & (OK_ESTATE | OK_EINVAL))) {
            fz_buf_t t = {0};
            fz_buf_put(&t, m.msg.p, m.msg.len);
            fz_buf_put(&t, pd, pl);
            if (!ref_utf8_prefix_ok(t.p, t.len) ||
                (fin && !ref_utf8_valid(t.p, t.len)))
                ok |= OK_EUTF8;
            fz_buf_free(&t);
        }

        /* A close frame's payload is the code and the reason. */
        size_t wl = kind == 5 && code ? pl + 2 : pl;
        size_t need = ws_conn_frame_size(&snd->c, wl);
        FZ_CHECK(need == wl +
                             (wl < 126       ? 2
                              : wl <= 0xFFFF ? 4
                                             : 10) +
                             (srole == WS_ROLE_CLIENT ? 4 : 0),
                 "ws_conn_frame_size(%zu) = %zu", wl, need);
        uint8_t *out = malloc(need + 1);
        FZ_CHECK(out != NULL, "out of memory");
        ws_conn_t before = snd->c;
        unsigned calls_before = snd->rnd_calls;
        ptrdiff_t n;

        for (int attempt = (op & 0x80) ? 0 : 1; attempt < 2; attempt++) {
            size_t cap = attempt == 0 ? need - 1 : need;
            memset(out, 0xA5, need + 1);
            if (kind == 7) {
                n = (op & 0x10) ? ws_conn_send_ping(&snd->c, pd, pl, NULL, cap)
                                : ws_conn_send_message(&snd->c, WS_OP_BINARY,
                                                       pd, pl, NULL, cap);
                FZ_CHECK(n < 0, "a NULL buffer accepted");
            } else if (kind == 2) {
                n = ws_conn_send_fragment(&snd->c, (ws_opcode_t)opcode, fin,
                                          pl ? pd : NULL, pl, out, cap);
            } else if (data_frame) {
                n = ws_conn_send_message(&snd->c, (ws_opcode_t)opcode,
                                         pl ? pd : NULL, pl, out, cap);
            } else if (kind == 3) {
                n = ws_conn_send_ping(&snd->c, pl ? pd : NULL, pl, out, cap);
            } else if (kind == 4) {
                n = ws_conn_send_pong(&snd->c, pl ? pd : NULL, pl, out, cap);
            } else {
                n = ws_conn_send_close(
                    &snd->c, code, pl ? (const char *)pd : NULL, pl, out, cap);
            }
            if (n < 0) {
                /* Nothing written, state unchanged (wsproto.h). */
                for (size_t i = 0; i <= need; i++)
                    FZ_CHECK(out[i] == 0xA5, "byte %zu written on error %s", i,
                             ws_err_name((int)n));
                FZ_CHECK(memcmp(&before, &snd->c, sizeof before) == 0,
                         "connection changed by a failed call (%s)",
                         ws_err_name((int)n));
                int allowed =
                    (n == WS_EINVAL && (ok & OK_EINVAL)) ||
                    (n == WS_ESTATE && (ok & OK_ESTATE)) ||
                    (n == WS_EUTF8 && (ok & OK_EUTF8)) ||
                    (n == WS_ENOBUFS && attempt == 0) ||
                    (n == WS_ERANDOM && snd->rnd_fail &&
                     srole == WS_ROLE_CLIENT && snd->rnd_calls != calls_before);
                FZ_CHECK(allowed, "op %d returned %s, allowed mask %x", kind,
                         ws_err_name((int)n), ok);
                if (n == WS_ENOBUFS && ok == 0)
                    continue; /* now with room */
                break;
            }
            FZ_CHECK(attempt == 1, "succeeded with a buffer too small");
            FZ_CHECK(ok == 0, "op %d succeeded, expected one of mask %x", kind,
                     ok);
            FZ_CHECK((size_t)n == need, "wrote %td bytes, frame size %zu", n,
                     need);
            FZ_CHECK(out[need] == 0xA5, "wrote past the frame");
            fz_buf_put(&wire, out, (size_t)n);
        }
        free(out);
        (void)control;

        if (n >= 0) {
            rec_t *r;
            switch (kind) {
            case 3:
            case 4:
                r = rec_add(&want, kind == 3 ? REC_PING : REC_PONG);
                fz_buf_put(&r->data, pd, pl);
                if (kind == 3 && !(rflags & WS_OPT_NO_AUTO_PONG)) {
                    r = rec_add(&want_back, REC_PONG);
                    fz_buf_put(&r->data, pd, pl);
                }
                break;
            case 5:
                r = rec_add(&want, REC_CLOSE);
                r->code = (uint16_t)(code ? code : WS_CLOSE_NO_STATUS);
                fz_buf_put(&r->data, pd, pl);
                m.close_sent = 1;
                if (!(rflags & WS_OPT_NO_AUTO_CLOSE)) {
                    /* The echo: the code, without the reason. */
                    r = rec_add(&want_back, REC_CLOSE);
                    r->code = (uint16_t)(code ? code : WS_CLOSE_NO_STATUS);
                }
                break;
            default: {
                int mop = msg_op;
                fz_buf_put(&m.msg, pd, pl);
                m.frames++;
                if (fin) {
                    r = rec_add(&want, REC_MESSAGE);
                    r->opcode = mop;
                    r->frames = m.frames;
                    fz_buf_put(&r->data, m.msg.p, m.msg.len);
                    m.send_op = 0;
                    m.msg.len = 0;
                    m.frames = 0;
                } else {
                    m.send_op = mop;
                }
            }
            }
        }
        fz_buf_free(&payload);
    }

    /* The receiver decodes the wire into exactly what was sent. */
    peer_feed(rcv, wire.p ? wire.p : (const uint8_t *)"", wire.len, &rng);
    recs_compare(&want, &rcv->got, "receiver");
    /* Its automatic replies go back: pongs, then the close echo. */
    peer_feed(snd, rcv->replies.p ? rcv->replies.p : (const uint8_t *)"",
              rcv->replies.len, &rng);
    recs_compare(&want_back, &snd->got, "sender");

    ws_state_t ss = ws_conn_state(&snd->c), rs = ws_conn_state(&rcv->c);
    if (!m.close_sent) {
        FZ_CHECK(ss == WS_STATE_OPEN && rs == WS_STATE_OPEN,
                 "states %d %d without a close", ss, rs);
    } else if (!(rflags & WS_OPT_NO_AUTO_CLOSE)) {
        FZ_CHECK(ss == WS_STATE_CLOSED && rs == WS_STATE_CLOSED,
                 "states %d %d after the closing handshake", ss, rs);
        FZ_CHECK(ws_conn_closer(&snd->c) == WS_CLOSER_LOCAL &&
                     ws_conn_closer(&rcv->c) == WS_CLOSER_PEER,
                 "closers %d %d", ws_conn_closer(&snd->c),
                 ws_conn_closer(&rcv->c));
    } else {
        FZ_CHECK(ss == WS_STATE_CLOSING && rs == WS_STATE_CLOSING,
                 "states %d %d with the reply not sent", ss, rs);
    }

    recs_free(&want);
    recs_free(&want_back);
    fz_buf_free(&m.msg);
    fz_buf_free(&wire);
    peer_free(snd);
    peer_free(rcv);
    free(snd);
    free(rcv);
    return 0;
}
