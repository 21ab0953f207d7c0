/*
 * messages.c — lobby and direct messages (messages.h).
 */
#include "messages.h"

#include "events.h"
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *status_name(int state)
{
    return state == CHAT_PM_OFFLINE     ? "offline"
           : state == CHAT_PM_DELIVERED ? "delivered"
           : state == CHAT_PM_READ      ? "read"
                                        : "sent";
}

/* {"type": "status", "ref", "seq", "to", "status"}: to the session, or
 * through the hub to the user `key` when s is NULL. */
static int status(chat_server_t *srv, session_t *s, const char *key,
                  const chat_msg_t *m, int state)
{
    ev_t e;
    ev_begin(&e, "status", 0);
    ev_ref(&e.w, m->ref);
    json_member_int(&e.w, "seq", (int64_t)m->seq);
    if (m->to)
        json_member_str(&e.w, "to", m->to);
    json_member_str(&e.w, "status", status_name(state));
    if (s)
        return ev_send(s, &e) == 0;
    return ev_publish(srv, key, NULL, &e);
}

/* The sender now knows that seq reached state (so that a sender who was
 * offline can be told at its next login what it missed). */
static void told(chat_server_t *srv, uint64_t seq, int state)
{
    if (srv->store->ops->pm_told)
        srv->store->ops->pm_told(srv->store, seq, state);
}

int msg_check_text(session_t *s, size_t len, const char *ref)
{
    if (len == 0)
        proto_error(s, ref, "empty", "a message needs some text");
    else if (len > CHAT_TEXT_MAX)
        proto_error(s, ref, "too_long",
                    "text is %zu bytes; at most %u are allowed", len,
                    CHAT_TEXT_MAX);
    else
        return 0;
    return -1;
}

static void storage_failed(session_t *s, const char *ref, int err)
{
    chat_log(s->srv, s, "error: cannot store a message: %s", strerror(-err));
    proto_error(s, ref, "internal", "the server could not store it: %s",
                strerror(-err));
}

void msg_lobby(session_t *s, const char *text, size_t len, const char *ref)
{
    chat_store_t *st = s->srv->store;
    chat_msg_t m = {
        st->ops->next_seq(st), chat_now_ms(), s->name, NULL, ref, text, len, 0};
    int r = st->ops->history_add(st, &m);
    if (r < 0) {
        storage_failed(s, ref, r);
        return;
    }
    typing_sent(s, "");
    if (s->srv->log_messages)
        chat_log(s->srv, s, "msg %s: %.*s", s->name, (int)len, text);
    ev_publish_msg(s->srv, NULL, s->key, &m);
    status(s->srv, s, NULL, &m, 0);
}

int msg_find_user(session_t *s, const char *to, size_t to_len, char *display,
                  char *key, const char *ref)
{
    chat_server_t *srv = s->srv;
    char why[96];
    if (!chat_name_check(to, to_len, key, why, sizeof why) &&
        srv->store->ops->lookup(srv->store, key, display, NULL) == 1)
        return 0;
    if (*key && srv->hub->ops->online(srv->hub, key)) {
        session_t *there = session_find(srv, key);
        snprintf(display, CHAT_NAME_MAX, "%s", there ? there->name : key);
        if (!there)
            memcpy(display, to, to_len), display[to_len] = '\0';
        return 0;
    }
    proto_error(s, ref, "no_such_user", "no such user: %.*s", (int)to_len, to);
    return -1;
}

void msg_direct(session_t *s, const char *to, size_t to_len, const char *text,
                size_t len, const char *ref)
{
    chat_server_t *srv = s->srv;
    chat_store_t *st = srv->store;
    char display[CHAT_NAME_MAX], key[CHAT_NAME_MAX];

    if (msg_find_user(s, to, to_len, display, key, ref) != 0)
        return;
    chat_msg_t m = {
        st->ops->next_seq(st), chat_now_ms(), s->name, display, ref, text, len,
        CHAT_PM_OFFLINE};
    int r = st->ops->pm_add(st, &m);
    if (r < 0) {
        storage_failed(s, ref, r);
        return;
    }
    typing_sent(s, key);
    chat_log(srv, s, "pm %s -> %s%s%.*s", s->name, display,
             srv->log_messages ? ": " : "", srv->log_messages ? (int)len : 0,
             text);
    status(srv, s, NULL, &m, 0);
    if (ev_publish_msg(srv, key, NULL, &m) > 0) {
        if (st->ops->pm_mark(st, m.seq, NULL, CHAT_PM_DELIVERED, NULL, NULL) >=
                0 &&
            status(srv, s, NULL, &m, CHAT_PM_DELIVERED) > 0)
            told(srv, m.seq, CHAT_PM_DELIVERED);
    } else if (!srv->hub->ops->online(srv->hub, key)) {
        status(srv, s, NULL, &m, CHAT_PM_OFFLINE);
    }
    /* Online elsewhere and not reached here: the process holding the
     * recipient marks it delivered (msg_mark) and tells the sender. */
}

/* What pm_mark moved, and whether its sender heard of it. */
typedef struct moved {
    chat_server_t *srv;
    int reached, state;
    uint64_t seq;
} moved_t;

/* pm_mark's callback: tell the message's sender where it is now. */
static int tell_sender(void *ctx, const chat_msg_t *m)
{
    moved_t *mv = ctx;
    char key[CHAT_NAME_MAX], why[96];
    if (!chat_name_check(m->from, strlen(m->from), key, why, sizeof why))
        mv->reached = status(mv->srv, NULL, key, m, m->state);
    mv->seq = m->seq;
    mv->state = m->state;
    return 0;
}

int msg_mark(chat_server_t *srv, uint64_t seq, const char *key, int state)
{
    moved_t mv = {srv, 0, 0, 0};
    int r =
        srv->store->ops->pm_mark(srv->store, seq, key, state, tell_sender, &mv);
    /* After the mark, not inside it: the store is not changed while it
     * calls back. */
    if (r == 1 && mv.reached > 0)
        told(srv, mv.seq, mv.state);
    return r;
}

void msg_read(session_t *s, uint64_t seq, const char *ref)
{
    int r = msg_mark(s->srv, seq, s->key, CHAT_PM_READ);
    if (r == -ENOENT)
        proto_error(s, ref, "no_such_message",
                    "no direct message %llu was sent to you",
                    (unsigned long long)seq);
    else if (r < 0)
        storage_failed(s, ref, r);
}

/* Messages walked in the store, remembered to be marked after the walk
 * (the store's walk must not change what it walks). */
typedef struct marks {
    session_t *s;
    struct mark {
        uint64_t seq;
        int state;
    } * v;
    size_t n, cap;
} marks_t;

static int remember(marks_t *p, const chat_msg_t *m)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct mark *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (struct mark){m->seq, m->state};
    return 0;
}

static int send_pending(void *ctx, const chat_msg_t *m)
{
    marks_t *p = ctx;
    return ev_send_msg(p->s, m) != 0 ? -1 : remember(p, m);
}

/* A status the sender missed while it was away. */
static int send_untold(void *ctx, const chat_msg_t *m)
{
    marks_t *p = ctx;
    return status(p->s->srv, p->s, NULL, m, m->state) > 0 ? remember(p, m) : -1;
}

void msg_deliver_pending(session_t *s)
{
    chat_store_t *st = s->srv->store;
    marks_t p = {s, NULL, 0, 0};
    st->ops->pm_pending(st, s->key, send_pending, &p);
    for (size_t i = 0; i < p.n; i++)
        msg_mark(s->srv, p.v[i].seq, s->key, CHAT_PM_DELIVERED);
    p.n = 0;
    if (st->ops->pm_untold)
        st->ops->pm_untold(st, s->key, send_untold, &p);
    for (size_t i = 0; i < p.n; i++)
        told(s->srv, p.v[i].seq, p.v[i].state);
    free(p.v);
}
