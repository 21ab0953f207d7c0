/*
 * proto.c — JSON mode (PROTOCOL.md "JSON mode"): each text message is a
 * request, checked and dispatched by its type; the simple requests
 * (msg, read, users, history, typing) are answered here.
 */
#include "session.h"

#include "events.h"
#include "messages.h"
#include "request.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define HISTORY_LIMIT_MAX 200

void proto_error(session_t *s, const char *ref, const char *code,
                 const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    chat_log(s->srv, s, "error %s: %s", code, message);
    ev_t e;
    ev_begin(&e, "error", 0);
    json_member_str(&e.w, "code", code);
    json_member_str(&e.w, "message", message);
    ev_ref(&e.w, ref);
    ev_send(s, &e);
}

static void do_msg(req_t *r)
{
    char text[CHAT_TEXT_MAX + 1];
    char to[CHAT_NAME_MAX * 2];
    size_t len, to_len = 0;
    int has_to = req_str(r, "to", 0, to, sizeof to, &to_len);
    if (has_to == REQ_BAD ||
        req_str(r, "text", 1, text, sizeof text, &len) != REQ_OK)
        return;
    if (msg_check_text(r->s, len, r->ref) != 0)
        return;
    if (has_to == REQ_OK)
        msg_direct(r->s, to, to_len, text, len, r->ref);
    else
        msg_lobby(r->s, text, len, r->ref);
}

static void do_read(req_t *r)
{
    int64_t seq;
    if (req_int(r, "seq", 1, 1, INT64_MAX, &seq) == REQ_OK)
        msg_read(r->s, (uint64_t)seq, r->ref);
}

static int add_name(void *ctx, const char *display)
{
    json_cstring(ctx, display);
    return 0;
}

static void fill_users(json_writer_t *w, void *ctx)
{
    req_t *r = ctx;
    chat_hub_t *hub = r->s->srv->hub;
    ev_ref(w, r->ref);
    json_key(w, "users");
    json_array_begin(w);
    hub->ops->users(hub, add_name, w);
    json_array_end(w);
}

static void do_users(req_t *r)
{
    ev_send_built(r->s, "users", 4096, fill_users, r);
}

static int add_msg(void *ctx, const chat_msg_t *m)
{
    ev_msg_value(ctx, m);
    return 0;
}

typedef struct history_req {
    req_t *r;
    uint64_t before;
    size_t limit;
} history_req_t;

static void fill_history(json_writer_t *w, void *ctx)
{
    history_req_t *h = ctx;
    chat_store_t *st = h->r->s->srv->store;
    ev_ref(w, h->r->ref);
    json_key(w, "messages");
    json_array_begin(w);
    st->ops->history(st, h->before, h->limit, add_msg, w);
    json_array_end(w);
}

static void do_history(req_t *r)
{
    int64_t before = 0, limit = CHAT_WELCOME_HISTORY;
    if (req_int(r, "before", 0, 1, INT64_MAX, &before) == REQ_BAD ||
        req_int(r, "limit", 0, 1, HISTORY_LIMIT_MAX, &limit) == REQ_BAD)
        return;
    history_req_t h = {r, (uint64_t)before, (size_t)limit};
    ev_send_built(r->s, "history", 16384, fill_history, &h);
}

static void do_typing(req_t *r)
{
    char state[16], to[CHAT_NAME_MAX * 2] = "";
    char display[CHAT_NAME_MAX], key[CHAT_NAME_MAX];
    size_t n, to_len = 0;
    if (req_str(r, "state", 1, state, sizeof state, &n) != REQ_OK ||
        req_str(r, "to", 0, to, sizeof to, &to_len) == REQ_BAD)
        return;
    int st = typing_parse(state);
    if (st < 0)
        proto_error(r->s, r->ref, "bad_value",
                    "field 'state' must be active, paused or done");
    else if (!to_len ||
             msg_find_user(r->s, to, to_len, display, key, r->ref) == 0)
        typing_update(r->s, st, to_len ? display : "");
}

typedef struct handler {
    const char *type;
    void (*fn)(req_t *r);
    int counted; /* by the rate limit */
} handler_t;

static const handler_t handlers[] = {
    {"hello", login_hello, 0}, /* a refused one counts: login.c */
    {"msg", do_msg, 1},
    {"read", do_read, 1},
    {"users", do_users, 1},
    {"history", do_history, 1},
    {"typing", do_typing, 0},
    {"contacts", contacts_list, 1},
    {"contact_add", contacts_add, 1},
    {"contact_remove", contacts_remove, 1},
    {"file_offer", files_offer, 1},
    {"file_accept", files_answer, 0},
    {"file_refuse", files_answer, 0},
    {"file_cancel", files_cancel, 0},
    {"file_result", files_result, 0},
};

static const handler_t *find_handler(req_t *r, int type)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (json_string_eq(&r->doc, type, handlers[i].type))
            return &handlers[i];
    return NULL;
}

/* The request's "id", echoed as "ref". 0, or -1 after an error. */
static int take_id(req_t *r)
{
    size_t n;
    char id[CHAT_REF_MAX];
    int i = json_find(&r->doc, 0, "id");
    if (i < 0)
        return 0;
    if (req_str(r, "id", 1, id, sizeof id, &n) != REQ_OK)
        return -1;
    memcpy(r->ref, id, n + 1);
    return 0;
}

static int parse(req_t *r, const char *text, size_t len)
{
    json_error_t err;
    if (len > CHAT_JSON_MAX) {
        proto_error(r->s, NULL, "too_long",
                    "a JSON message is %zu bytes; at most %u are allowed", len,
                    CHAT_JSON_MAX);
        return -1;
    }
    if (json_parse(&r->doc, text, len, r->tok, REQ_TOKENS, &err) != 0) {
        proto_error(r->s, NULL, "bad_json", "not JSON: %s at byte %zu",
                    err.what, err.offset);
        return -1;
    }
    if (json_type(&r->doc, 0) != JSON_OBJECT) {
        proto_error(r->s, NULL, "not_object",
                    "a request is a JSON object with a \"type\"");
        return -1;
    }
    return take_id(r);
}

static void dispatch(req_t *r)
{
    int type = json_find(&r->doc, 0, "type");
    if (type < 0) {
        proto_error(r->s, r->ref, "missing_field", "missing field 'type'");
        return;
    }
    if (json_type(&r->doc, type) != JSON_STRING) {
        proto_error(r->s, r->ref, "wrong_type",
                    "field 'type' must be a string");
        return;
    }
    const handler_t *h = find_handler(r, type);
    char name[32];
    size_t n;
    if (!h && json_string(&r->doc, type, name, sizeof name, &n) == 0)
        proto_error(r->s, r->ref, "unknown_type", "unknown type '%s'", name);
    else if (!h)
        proto_error(r->s, r->ref, "unknown_type", "unknown type");
    else if (!r->s->logged_in && h->fn != login_hello)
        proto_error(r->s, r->ref, "not_logged_in",
                    "send {\"type\": \"hello\", \"name\": ...} first");
    else if (!h->counted || !r->s->logged_in || session_rate(r->s, r->ref))
        h->fn(r);
}

void proto_message(session_t *s, const char *text, size_t len)
{
    req_t r;
    r.s = s;
    r.ref[0] = '\0';
    if (parse(&r, text, len) == 0)
        dispatch(&r);
}
