/*
 * events.c — the server's JSON events (events.h).
 */
#include "events.h"

#include <stdlib.h>

void ev_begin(ev_t *e, const char *type, size_t need)
{
    e->heap = need > EV_BUF ? malloc(need) : NULL;
    if (e->heap)
        json_writer_init(&e->w, e->heap, need);
    else
        json_writer_init(&e->w, e->small, need > EV_BUF ? 0 : EV_BUF);
    json_object_begin(&e->w);
    json_member_str(&e->w, "type", type);
}

const char *ev_finish(ev_t *e, size_t *len)
{
    json_member_int(&e->w, "ts", (int64_t)chat_now_ms());
    json_object_end(&e->w);
    long n = json_writer_end(&e->w);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return e->w.buf;
}

void ev_free(ev_t *e)
{
    free(e->heap);
    e->heap = NULL;
}

int ev_send(session_t *s, ev_t *e)
{
    size_t len;
    const char *text = ev_finish(e, &len);
    int r = text ? session_send(s, text, len) : -1;
    ev_free(e);
    return r;
}

int ev_send_built(session_t *s, const char *type, size_t hint, ev_fill_fn fill,
                  void *ctx)
{
    for (size_t cap = hint < EV_BUF ? EV_BUF : hint; cap <= EV_BUILT_MAX;
         cap *= 2) {
        ev_t e;
        size_t len;
        ev_begin(&e, type, cap);
        fill(&e.w, ctx);
        const char *text = ev_finish(&e, &len);
        int r = text ? session_send(s, text, len) : -1;
        int roomless = !text && (cap <= EV_BUF || e.heap);
        ev_free(&e);
        if (!roomless)
            return r;
    }
    return -1;
}

int ev_publish(chat_server_t *srv, const char *to, const char *except, ev_t *e)
{
    size_t len;
    const char *text = ev_finish(e, &len);
    int r = text ? srv->hub->ops->publish(srv->hub, to, except, text, len) : -1;
    ev_free(e);
    return r;
}

void ev_msg_value(json_writer_t *w, const chat_msg_t *m)
{
    json_object_begin(w);
    json_member_str(w, "type", "msg");
    json_member_int(w, "seq", (int64_t)m->seq);
    json_member_int(w, "ts", (int64_t)m->ts);
    json_member_str(w, "from", m->from);
    if (m->to)
        json_member_str(w, "to", m->to);
    json_key(w, "text");
    json_string_value(w, m->text, m->text_len);
    json_object_end(w);
}

void ev_ref(json_writer_t *w, const char *ref)
{
    if (ref && *ref)
        json_member_str(w, "ref", ref);
}

static const char *msg_text(ev_t *e, const chat_msg_t *m, size_t *len)
{
    json_writer_init(&e->w, e->small, sizeof e->small);
    ev_msg_value(&e->w, m);
    long n = json_writer_end(&e->w);
    *len = n < 0 ? 0 : (size_t)n;
    return n < 0 ? NULL : e->small;
}

int ev_send_msg(session_t *s, const chat_msg_t *m)
{
    ev_t e;
    size_t len;
    const char *text = msg_text(&e, m, &len);
    return text ? session_send(s, text, len) : -1;
}

int ev_publish_msg(chat_server_t *srv, const char *to, const char *except,
                   const chat_msg_t *m)
{
    ev_t e;
    size_t len;
    const char *text = msg_text(&e, m, &len);
    return text ? srv->hub->ops->publish(srv->hub, to, except, text, len) : -1;
}
