/*
 * events.h — building the server's JSON events (PROTOCOL.md) and sending
 * them: to one session, or through the hub to a user or to everyone.
 *
 *     ev_t e;
 *     ev_begin(&e, "join", 0);
 *     json_member_str(&e.w, "name", s->name);
 *     ev_publish(srv, NULL, s->key, &e);   // finishes and frees e
 *
 * An event fits EV_BUF bytes unless ev_begin is told it needs more.
 */
#ifndef CHAT_EVENTS_H
#define CHAT_EVENTS_H

#include "chat.h"
#include "json.h"

/* A text of CHAT_TEXT_MAX bytes escaped (\u00XX is 6 bytes for each
 * control byte), with room for every other field of a message. */
#define EV_MSG_MAX (CHAT_TEXT_MAX * 6 + 2048)
#define EV_BUF (EV_MSG_MAX + 1024)

typedef struct ev {
    json_writer_t w;
    char *heap;
    char small[EV_BUF];
} ev_t;

/* Start an event object {"type": type, ...}; need > EV_BUF: a buffer of
 * that size is allocated (ev_finish reports if that failed). */
void ev_begin(ev_t *e, const char *type, size_t need);

/* Add "ts", close the object; the text and its length, or NULL (an
 * overflow, or out of memory). */
const char *ev_finish(ev_t *e, size_t *len);

void ev_free(ev_t *e);

/* Finish e, send it to s (session_send), free it. 0 or -1. */
int ev_send(session_t *s, ev_t *e);

/* An event of unknown size (a welcome, a history, a list): fill writes
 * its members into w; it is built in a buffer of `hint` bytes, rebuilt
 * in one twice as large while it does not fit (up to EV_BUILT_MAX), and
 * sent to s. 0, or -1 (too large, out of memory, or s cannot take it). */
#define EV_BUILT_MAX ((size_t)64 << 20)
typedef void (*ev_fill_fn)(json_writer_t *w, void *ctx);
int ev_send_built(session_t *s, const char *type, size_t hint, ev_fill_fn fill,
                  void *ctx);

/* Finish e, publish it through the hub (hub.h publish), free it. Returns
 * what publish did. */
int ev_publish(chat_server_t *srv, const char *to, const char *except, ev_t *e);

/* A message as PROTOCOL.md's msg object: a whole value for w. */
void ev_msg_value(json_writer_t *w, const chat_msg_t *m);

/* A message event as it is stored (its own seq and ts), to one session
 * or through the hub. */
int ev_send_msg(session_t *s, const chat_msg_t *m);
int ev_publish_msg(chat_server_t *srv, const char *to, const char *except,
                   const chat_msg_t *m);

/* "ref": id when the request had one. */
void ev_ref(json_writer_t *w, const char *ref);

#endif
