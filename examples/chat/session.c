/*
 * session.c — a connection's life: its mode, chosen by its first text
 * message (PROTOCOL.md), logging in and out, and getting events to it in
 * its mode.
 */
#define _GNU_SOURCE
#include "session.h"

#include "events.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define PLAIN_LINE_MAX (CHAT_TEXT_MAX + 2 * CHAT_NAME_MAX + 64)

/* ------------------------------------------------------------ sending */

static int over_queue(session_t *s)
{
    if (wsx_conn_queued(s->c) <= s->srv->max_queue)
        return 0;
    chat_log(s->srv, s, "dropped: output queue over --max-queue (%zu bytes)",
             wsx_conn_queued(s->c));
    session_close(s, 1008, "too slow: output queue over the limit");
    return 1;
}

int session_send(session_t *s, const char *json, size_t len)
{
    if (s->closing || over_queue(s))
        return -1;
    if (s->mode == MODE_JSON)
        return wsx_conn_send_text(s->c, json, len) == 0 ? 0 : -1;
    char line[PLAIN_LINE_MAX];
    size_t n = plain_render(json, len, line, sizeof line);
    if (n == 0)
        return 0;
    return wsx_conn_send_text(s->c, line, n) == 0 ? 0 : -1;
}

void session_close(session_t *s, unsigned code, const char *why)
{
    if (s->closing)
        return;
    s->closing = 1;
    wsx_conn_close(s->c, code, why, why ? strlen(why) : 0);
}

session_t *session_find(chat_server_t *srv, const char *key)
{
    return keymap_get(&srv->sessions, key);
}

/* One encoded frame per mode for all recipients (a broadcast frame is
 * shared by every queue that sends it). */
typedef struct fanout {
    wsx_frame_t *json, *plain;
    int plain_done;
    const char *text;
    size_t len;
} fanout_t;

static wsx_frame_t *frame_for(fanout_t *f, int mode)
{
    if (mode == MODE_JSON) {
        if (!f->json)
            f->json = wsx_frame_new(WS_OP_TEXT, f->text, f->len, NULL);
        return f->json;
    }
    if (!f->plain_done) {
        char line[PLAIN_LINE_MAX];
        size_t n = plain_render(f->text, f->len, line, sizeof line);
        f->plain_done = 1;
        if (n)
            f->plain = wsx_frame_new(WS_OP_TEXT, line, n, NULL);
    }
    return f->plain;
}

static int deliver_one(session_t *s, fanout_t *f)
{
    if (s->closing || over_queue(s))
        return 0;
    wsx_frame_t *frame = frame_for(f, s->mode);
    if (!frame)
        return s->mode == MODE_PLAIN; /* not shown: still reached */
    return wsx_conn_send_frame(s->c, frame) == 0;
}

int chat_deliver_local(chat_server_t *srv, const char *to, const char *except,
                       const char *json, size_t len)
{
    fanout_t f = {NULL, NULL, 0, json, len};
    int reached = 0;

    if (to) {
        session_t *s = session_find(srv, to);
        if (s && !(except && !strcmp(except, to)))
            reached = deliver_one(s, &f);
    } else {
        size_t pos = 0;
        session_t *s;
        while ((s = keymap_next(&srv->sessions, &pos)))
            if (!except || strcmp(except, s->key))
                reached += deliver_one(s, &f);
    }
    wsx_frame_release(f.json);
    wsx_frame_release(f.plain);
    return reached;
}

int session_rate(session_t *s, const char *ref)
{
    unsigned per_s = s->srv->rate_per_s;
    int r = per_s ? rate_take(&s->rate, wsx_loop_now(s->srv->loop), per_s)
                  : RATE_OK;
    if (r == RATE_OK)
        return 1;
    proto_error(s, ref, "rate_limited",
                "more than %u messages a second; slow down", per_s);
    if (r == RATE_ABUSE) {
        chat_log(s->srv, s, "closed: sustained rate abuse");
        session_close(s, 1008, "too many messages");
    }
    return 0;
}

/* ------------------------------------------------------ login, logout */

static void announce(session_t *s, const char *type)
{
    ev_t e;
    ev_begin(&e, type, 0);
    json_member_str(&e.w, "name", s->name);
    ev_publish(s->srv, NULL, s->key, &e);
}

void session_replace(session_t *old)
{
    proto_error(old, NULL, "replaced",
                "you logged in again on another connection");
    old->logged_in = 0;
    /* A login on another process leaves the entry to remove here. */
    if (session_find(old->srv, old->key) == old)
        keymap_del(&old->srv->sessions, old->key);
    chat_log(old->srv, old, "%s replaced by a new login", old->name);
    files_session_gone(old);
    typing_end(old);
    session_close(old, 4001, "replaced by a new login");
}

int session_login(session_t *s, const char *name, const char *key)
{
    chat_server_t *srv = s->srv;
    session_t *old = session_find(srv, key);

    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->key, sizeof s->key, "%s", key);
    if (keymap_put(&srv->sessions, s->key, s) != 0)
        return -1;
    s->logged_in = 1;
    chat_log(srv, s, "join %s (%s)", s->name,
             s->mode == MODE_JSON ? "json" : "plain");
    if (old) {
        session_replace(old);
        return 0;
    }
    srv->hub->ops->joined(srv->hub, s->key, s->name);
    announce(s, "join");
    return 0;
}

static void logout(session_t *s)
{
    chat_server_t *srv = s->srv;
    if (!s->logged_in)
        return;
    s->logged_in = 0;
    files_session_gone(s);
    typing_end(s);
    if (session_find(srv, s->key) == s)
        keymap_del(&srv->sessions, s->key);
    srv->hub->ops->left(srv->hub, s->key);
    chat_log(srv, s, "leave %s", s->name);
    announce(s, "leave");
}

void session_notify_shutdown(chat_server_t *srv)
{
    ev_t e;
    size_t len;
    ev_begin(&e, "system", 0);
    json_member_str(&e.w, "text", "server is shutting down");
    const char *text = ev_finish(&e, &len);
    if (text) /* to this process's clients only: it is the one stopping */
        chat_deliver_local(srv, NULL, NULL, text, len);
    ev_free(&e);
}

/* ------------------------------------------------------------ handlers */

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    chat_server_t *srv = wsx_conn_ctx(c);
    session_t *s = calloc(1, sizeof *s);
    (void)resp;
    if (!s) {
        wsx_conn_close(c, 1011, "out of memory", 13);
        return;
    }
    s->c = c;
    s->srv = srv;
    wsx_conn_peer(c, s->peer, sizeof s->peer);
    wsx_conn_set_data(c, s);
    chat_log(srv, s, "connect");
}

/* A first message that opens a JSON object means JSON mode for the
 * connection's life ("{" can never start a name). */
static int looks_like_json(const uint8_t *p, size_t len)
{
    while (len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++, len--;
    return len && *p == '{';
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    session_t *s = wsx_conn_data(c);
    if (!s || s->closing)
        return;
    if (op == WS_OP_BINARY) {
        if (s->mode == MODE_JSON && s->logged_in)
            files_chunk(s, data, len);
        else if (s->mode == MODE_JSON)
            proto_error(s, NULL, "not_logged_in",
                        "a binary message (file chunk) before hello");
        else
            session_close(s, 1003,
                          "binary messages are file chunks of "
                          "JSON clients");
        return;
    }
    if (len > CHAT_TEXT_FRAME_MAX) { /* only a file chunk may be larger */
        session_close(s, 1009, "a text message is at most 64 KiB");
        return;
    }
    if (s->mode == MODE_NEW)
        s->mode = looks_like_json(data, len) ? MODE_JSON : MODE_PLAIN;
    if (s->mode == MODE_JSON)
        proto_message(s, (const char *)data, len);
    else if (!s->logged_in)
        plain_login(s, (const char *)data, len);
    else
        plain_line(s, (const char *)data, len);
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    session_t *s = wsx_conn_data(c);
    if (!s)
        return;
    s->closing = 1;
    logout(s);
    chat_log(s->srv, s, "disconnect %u%s%.*s", code, len ? " " : "", (int)len,
             reason);
    wsx_conn_set_data(c, NULL);
    free(s);
}

void session_handlers(wsx_handler_t *h)
{
    h->on_open = on_open;
    h->on_message = on_message;
    h->on_close = on_close;
}
