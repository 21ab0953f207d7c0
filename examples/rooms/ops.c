/*
 * ops.c — what each TCRP operation does to the rooms and answers
 * (PROTOCOL.md, "Operations"): the request's JSON read, the rooms model
 * asked, the answers' JSON written.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "ops.h"

#include "json.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 64 /* a request has a handful of members */

/* The fields a request may carry, as slices of decoded strings. */
typedef struct request {
    char user[ROOMS_MAX_NAME + 1], pw[1024], token[256];
    size_t user_len, pw_len, token_len;
    int has_user, has_pw, has_token;
} request_t;

/* What an answer's JSON holds besides status and message. */
typedef struct answer {
    int status;
    const char *message;
    const member_t *member; /* create/join 200: host, members */
    const rooms_t *list;    /* list: every room */
    uint64_t idle_ms;
} answer_t;

/* ------------------------------------------------------------- output */

static int out_reserve(ops_out_t *out, size_t n)
{
    if (out->failed)
        return -1;
    if (out->cap - out->len >= n)
        return 0;
    size_t cap = out->cap ? out->cap : 1024;
    while (cap - out->len < n)
        cap *= 2;
    uint8_t *p = realloc(out->buf, cap);
    if (!p) {
        out->failed = 1;
        return -1;
    }
    out->buf = p;
    out->cap = cap;
    return 0;
}

static void out_message(ops_out_t *out, unsigned op, unsigned state,
                        const void *name, size_t name_len, const void *payload,
                        size_t len)
{
    size_t n = TCRP_HEADER_LEN + name_len + len;

    if (out_reserve(out, n) != 0)
        return;
    long w = tcrp_encode(out->buf + out->len, n, op, state, name, name_len,
                         payload, len);
    if (w > 0)
        out->len += (size_t)w;
}

void ops_out_free(ops_out_t *out)
{
    free(out->buf);
    memset(out, 0, sizeof *out);
}

/* -------------------------------------------------------------- JSON */

static void write_members(json_writer_t *w, const room_t *room)
{
    json_key(w, "host");
    json_string_value(w, room->host->name, room->host->name_len);
    json_key(w, "members");
    json_array_begin(w);
    for (const member_t *m = room->members; m; m = m->next)
        json_string_value(w, m->name, m->name_len);
    json_array_end(w);
}

static void write_rooms(json_writer_t *w, const rooms_t *r)
{
    json_key(w, "rooms");
    json_array_begin(w);
    for (const room_t *room = r->first; room; room = room->next) {
        json_object_begin(w);
        json_key(w, "name");
        json_string_value(w, room->name, room->name_len);
        json_member_int(w, "members", (int64_t)room->nmembers);
        json_member_bool(w, "password", room->has_password);
        json_object_end(w);
    }
    json_array_end(w);
}

static long write_answer(char *buf, size_t cap, const answer_t *a)
{
    json_writer_t w;

    json_writer_init(&w, buf, cap);
    json_object_begin(&w);
    json_member_int(&w, "status", a->status);
    json_member_str(&w, "message", a->message);
    if (a->member) {
        write_members(&w, a->member->room);
        json_member_bool(&w, "password", a->member->room->has_password);
        json_member_int(&w, "idle_timeout", (int64_t)(a->idle_ms / 1000));
    }
    if (a->list)
        write_rooms(&w, a->list);
    json_object_end(&w);
    return json_writer_end(&w);
}

/* The state 1 answer; its JSON grows its buffer until it fits. */
static void out_answer(ops_out_t *out, unsigned op, const void *name,
                       size_t name_len, const answer_t *a)
{
    size_t cap = 512;

    for (;;) {
        char *buf = malloc(cap);
        if (!buf) {
            out->failed = 1;
            return;
        }
        long n = write_answer(buf, cap, a);
        if (n >= 0) {
            out_message(out, op, TCRP_RESPONSE, name, name_len, buf,
                        (size_t)n);
            free(buf);
            return;
        }
        free(buf);
        if (cap > (64u << 20)) { /* not an overflow: cannot happen */
            out->failed = 1;
            return;
        }
        cap *= 2;
    }
}

void ops_error(ops_out_t *out, unsigned op, const void *name, size_t name_len,
               int status, const char *message)
{
    answer_t a = {.status = status, .message = message};

    out_answer(out, op, name, name_len, &a);
}

/* One optional string member into out; 0, or -1 when it is there but not
 * a string without NUL that fits. */
static int get_string(const json_doc_t *doc, const char *key, char *out,
                      size_t cap, size_t *len, int *has)
{
    int i = json_find(doc, 0, key);

    *has = 0;
    if (i < 0 || json_type(doc, i) == JSON_NULL)
        return 0;
    if (json_string(doc, i, out, cap, len) != 0 || memchr(out, 0, *len))
        return -1;
    *has = 1;
    return 0;
}

/* The request's JSON: an object (or nothing at all). NULL, or why not. */
static const char *read_request(const tcrp_msg_t *m, request_t *q)
{
    json_tok_t toks[MAX_TOKENS];
    json_doc_t doc;

    memset(q, 0, sizeof *q);
    if (m->payload_len == 0)
        return NULL;
    if (json_parse(&doc, (const char *)m->payload, m->payload_len, toks,
                   MAX_TOKENS, NULL) != 0)
        return "the payload is not valid JSON";
    if (json_type(&doc, 0) != JSON_OBJECT)
        return "the payload must be a JSON object";
    if (get_string(&doc, "username", q->user, sizeof q->user, &q->user_len,
                   &q->has_user) != 0)
        return "\"username\" must be a string of 1-255 bytes";
    if (get_string(&doc, "password", q->pw, sizeof q->pw, &q->pw_len,
                   &q->has_pw) != 0)
        return "\"password\" must be a string of at most 1023 bytes";
    if (get_string(&doc, "token", q->token, sizeof q->token, &q->token_len,
                   &q->has_token) != 0)
        return "\"token\" must be a string";
    return NULL;
}

/* ------------------------------------------------------------ answers */

static void enter(rooms_t *r, const tcrp_msg_t *m, const request_t *q,
                  const rooms_addr_t *addr, uint64_t now, ops_out_t *out)
{
    answer_t a = {.idle_ms = r->idle_ms};
    member_t *me = NULL;
    const char *name = (const char *)m->name;

    if (!q->has_user) {
        ops_error(out, m->op, m->name, m->name_len, 400,
                  "\"username\" is required");
        return;
    }
    if (m->op == TCRP_CREATE)
        a.status = rooms_create(r, name, m->name_len, q->user, q->user_len,
                                q->has_pw ? q->pw : NULL, q->pw_len, addr,
                                now, &me, &a.message);
    else
        a.status = rooms_join(r, name, m->name_len, q->user, q->user_len,
                              q->has_pw ? q->pw : NULL, q->pw_len, addr, now,
                              &me, &a.message);
    a.member = a.status == 200 ? me : NULL;
    out_answer(out, m->op, m->name, m->name_len, &a);
    if (a.status == 200)
        out_message(out, m->op, TCRP_COMPLETE, m->name, m->name_len,
                    me->token, SECRET_TOKEN_LEN);
}

static void act(rooms_t *r, const tcrp_msg_t *m, const request_t *q,
                ops_out_t *out)
{
    answer_t a = {0};
    member_t *me;

    if (!q->has_token) {
        ops_error(out, m->op, m->name, m->name_len, 400,
                  "\"token\" is required");
        return;
    }
    a.status = rooms_authorize(r, (const char *)m->name, m->name_len, q->token,
                               q->token_len, &me, &a.message);
    if (a.status == 200 && m->op == TCRP_LEAVE) {
        a.message = me == me->room->host ? "left; the room is closed" : "left";
    } else if (a.status == 200 && m->op == TCRP_CLOSE) {
        a.status = me == me->room->host ? 200 : 403;
        a.message = a.status == 200 ? "room closed" : "only the host can close";
    } else if (a.status == 200 && m->op == TCRP_KICK) {
        /* kick: "username" is the member to put out */
        if (!q->has_user)
            a.status = 400, a.message = "\"username\" is required";
        else
            a.status = rooms_kick(r, me, q->user, q->user_len, &a.message);
    }
    /* The answer first: a closing room's notices may reach the GUI's
     * socket in the same round, after it. */
    out_answer(out, m->op, m->name, m->name_len, &a);
    if (a.status != 200)
        return;
    if (m->op == TCRP_LEAVE)
        rooms_leave(r, me);
    else if (m->op == TCRP_CLOSE)
        rooms_close(r, me->room, "closed by the host");
}

void ops_handle(rooms_t *r, const tcrp_msg_t *m, const rooms_addr_t *addr,
                uint64_t now, ops_out_t *out)
{
    request_t q;
    const char *bad = read_request(m, &q);

    if (m->state != TCRP_REQUEST)
        bad = "a request has state 0";
    if (bad) {
        ops_error(out, m->op, m->name, m->name_len, 400, bad);
        return;
    }
    switch (m->op) {
    case TCRP_CREATE:
    case TCRP_JOIN:
        enter(r, m, &q, addr, now, out);
        /* The password is kept only as its hash (rooms.c): its text goes
         * now, not whenever this stack is reused. */
        explicit_bzero(q.pw, sizeof q.pw);
        break;
    case TCRP_LIST: {
        answer_t a = {.status = 200, .message = "rooms", .list = r};
        if (m->name_len || m->payload_len) {
            ops_error(out, m->op, m->name, m->name_len, 400,
                      "list takes no room name and no payload");
            return;
        }
        out_answer(out, m->op, NULL, 0, &a);
        break;
    }
    default:
        act(r, m, &q, out);
        break;
    }
}
