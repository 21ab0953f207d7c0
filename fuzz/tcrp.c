/*
 * tcrp.c — fuzz target: rooms-server's parsers of untrusted bytes
 * (examples/rooms/tcrp.c, dgram.c) and what it does with what they
 * accept (ops.c and rooms.c: the request's JSON, the rooms model).
 *
 * Input: a stream of TCRP messages, as a client would send them over TCP
 * or /ws, also read whole as a stage 1 and as a room datagram.
 *
 * Checked on every input: a datagram either side accepts lies inside the
 * input and encodes back to exactly the input; every TCRP message the
 * parser takes lies inside the input, encodes back to its own bytes, and
 * is incomplete one byte shorter; every request is answered with one
 * state 1 message whose JSON parses and has a known status, followed by
 * one state 2 message of a printable token exactly when a create or join
 * succeeded; room and member counts agree with the tables after every
 * operation, chat and idle sweep. Requests 3-5 run with the token the
 * last create or join issued (no fuzzer could guess one), and each
 * successful create or join chats its payload into the room.
 */
#include "fuzz_common.h"

#include "../examples/rooms/dgram.h"
#include "../examples/rooms/ops.h"
#include "json.h"

#include <wsproto.h>

#define CAP 4096

static size_t sent; /* notices and chats delivered */

static void count_send(void *ctx, const member_t *to, const char *json,
                       size_t len)
{
    json_tok_t toks[16];
    json_doc_t doc;
    (void)ctx, (void)to;
    FZ_CHECK(json_parse(&doc, json, len, toks, 16, NULL) == 0,
             "the server sent invalid JSON: %.*s", (int)len, json);
    sent++;
}

static void no_flush(void *ctx)
{
    (void)ctx;
}

FZ_NOCOV static void check_datagrams(const uint8_t *data, size_t size)
{
    static uint8_t out[DGRAM_MAX + 1];
    chat_dgram_t c;
    room_dgram_t r;

    if (chat_dgram_parse(data, size, &c) == 0) {
        FZ_CHECK(c.name >= data && c.text + c.text_len == data + size,
                 "chat slices outside the input");
        long n = chat_dgram_encode(out, sizeof out, (const char *)c.name,
                                   c.name_len, (const char *)c.text,
                                   c.text_len);
        FZ_CHECK(n == (long)size && !memcmp(out, data, size),
                 "chat datagram does not encode back");
    }
    if (room_dgram_parse(data, size, &r) == 0) {
        FZ_CHECK(r.room >= data && r.text + r.text_len == data + size,
                 "room slices outside the input");
        long n = room_dgram_encode(out, sizeof out, (const char *)r.room,
                                   r.room_len, (const char *)r.token,
                                   r.token_len, (const char *)r.text,
                                   r.text_len);
        FZ_CHECK(n == (long)size && !memcmp(out, data, size),
                 "room datagram does not encode back");
    }
}

FZ_NOCOV static void check_model(const rooms_t *r)
{
    size_t members = 0, rooms = 0;

    for (const room_t *room = r->first; room; room = room->next) {
        size_t n = 0;
        rooms++;
        FZ_CHECK(room->host && room->host->room == room, "a room's host");
        for (const member_t *m = room->members; m; m = m->next, n++)
            FZ_CHECK(m->room == room, "a member's room");
        FZ_CHECK(n == room->nmembers && n > 0, "members %zu", n);
        members += n;
    }
    FZ_CHECK(rooms == r->nrooms && rooms == r->names.n, "rooms %zu", rooms);
    FZ_CHECK(members == r->nmembers && members == r->tokens.n, "members %zu",
             members);
}

/* The answers of one request: state 1, then a token on success. Returns
 * the token's member, or NULL. */
FZ_NOCOV static member_t *check_answers(rooms_t *r, const tcrp_msg_t *m,
                                        const ops_out_t *out)
{
    tcrp_msg_t a, t;
    json_tok_t toks[64];
    json_doc_t doc;
    int64_t status;

    FZ_CHECK(!out->failed, "out of memory");
    long n = tcrp_parse(out->buf, out->len, UINT64_MAX - 1, &a);
    FZ_CHECK(n > 0 && a.state == TCRP_RESPONSE && a.op == m->op,
             "no state 1 answer");
    FZ_CHECK(json_parse(&doc, (const char *)a.payload, a.payload_len, toks, 64,
                        NULL) == 0 || a.payload_len > 1000,
             "answer JSON");
    if (a.payload_len > 1000)
        return NULL; /* a long list: too many tokens for this check */
    FZ_CHECK(json_int64(&doc, json_find(&doc, 0, "status"), &status) == 0,
             "no status");
    FZ_CHECK(status == 200 || status == 400 || status == 401 ||
                 status == 403 || status == 404 || status == 409,
             "status %lld", (long long)status);
    int token = status == 200 && (m->op == TCRP_CREATE || m->op == TCRP_JOIN);
    if (!token) {
        FZ_CHECK((size_t)n == out->len, "a second answer");
        return NULL;
    }
    FZ_CHECK(tcrp_parse(out->buf + n, out->len - (size_t)n, 1024, &t) ==
                     (long)(out->len - (size_t)n) &&
                 t.state == TCRP_COMPLETE && t.payload_len == SECRET_TOKEN_LEN,
             "no token");
    member_t *me = rooms_find_token(r, (const char *)t.payload, t.payload_len);
    FZ_CHECK(me != NULL, "the token is unknown");
    return me;
}

/* Requests 3-5 get the last token in place of theirs, and the message's
 * payload (if UTF-8) as the username for a kick. */
FZ_NOCOV static void with_token(rooms_t *r, const tcrp_msg_t *m,
                                const char *token, uint64_t now)
{
    char payload[1024];
    json_writer_t w;
    tcrp_msg_t q = *m;
    ops_out_t out = {0};

    json_writer_init(&w, payload, sizeof payload);
    json_object_begin(&w);
    json_member_str(&w, "token", token);
    if (m->payload_len < 256 && !memchr(m->payload, 0, m->payload_len) &&
        ws_utf8_validate(m->payload, m->payload_len) == 0) {
        json_key(&w, "username");
        json_string_value(&w, (const char *)m->payload, m->payload_len);
    }
    json_object_end(&w);
    long n = json_writer_end(&w);
    FZ_CHECK(n > 0, "request JSON");
    q.payload = (const uint8_t *)payload;
    q.payload_len = (size_t)n;
    rooms_addr_t none = {.kind = ROOMS_ADDR_NONE};
    ops_handle(r, &q, &none, now, &out);
    check_answers(r, &q, &out);
    ops_out_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rooms_io_t io = {.send = count_send, .flush = no_flush};
    rooms_t r;
    char last[SECRET_TOKEN_LEN + 1] = ""; /* the last token issued */
    uint64_t now = 1000;

    check_datagrams(data, size);
    if (rooms_init(&r, &io, 5000) != 0)
        return 0;
    r.iterations = 1; /* the hash is tested in test_rooms.c, not here */
    for (size_t at = 0; at < size;) {
        tcrp_msg_t m;
        long n = tcrp_parse(data + at, size - at, CAP, &m);
        if (n <= 0)
            break;
        FZ_CHECK(m.payload + m.payload_len <= data + size, "outside");
        uint8_t *copy = malloc((size_t)n);
        FZ_CHECK(copy && tcrp_encode(copy, (size_t)n, m.op, m.state, m.name,
                                     m.name_len, m.payload,
                                     m.payload_len) == n &&
                     !memcmp(copy, data + at, (size_t)n),
                 "TCRP does not encode back");
        free(copy);
        tcrp_msg_t shorter;
        FZ_CHECK(tcrp_parse(data + at, (size_t)n - 1, CAP, &shorter) ==
                     TCRP_AGAIN,
                 "complete one byte short");
        /* Four "sockets" (never dereferenced: count_send only counts). */
        rooms_addr_t from = {.kind = ROOMS_ADDR_WS,
                             .ws = (void *)(uintptr_t)(at & 3)};
        if (m.op >= TCRP_LEAVE && m.op <= TCRP_CLOSE && last[0] &&
            m.state == TCRP_REQUEST) {
            with_token(&r, &m, last, now);
        } else {
            ops_out_t out = {0};
            ops_handle(&r, &m, &from, now, &out);
            member_t *me = check_answers(&r, &m, &out);
            ops_out_free(&out);
            if (me) {
                memcpy(last, me->token, sizeof last);
                rooms_datagram(&r, me->room->name, me->room->name_len,
                               me->token, SECRET_TOKEN_LEN,
                               (const char *)m.payload,
                               ws_utf8_validate(m.payload, m.payload_len)
                                   ? 0
                                   : m.payload_len,
                               &from, now);
            }
        }
        check_model(&r);
        now += m.name_len * 100u; /* the room name's length ages everyone */
        rooms_sweep(&r, now);
        check_model(&r);
        at += (size_t)n;
    }
    rooms_close_all(&r, "the end");
    check_model(&r);
    rooms_free(&r);
    return 0;
}
