/*
 * session.h — what the two modes share about a connection's life: the
 * wsx handlers (session.c), logging in and out, and the mode handlers
 * they call (plain.c, proto.c, files.c).
 */
#ifndef CHAT_SESSION_H
#define CHAT_SESSION_H

#include "chat.h"

/* The wsx handlers of the chat (on_open, on_message, on_close). */
void session_handlers(wsx_handler_t *h);

/* s is now user key (display spelling name): registered, and everyone
 * else is told it joined unless it takes over (replaces) a session of
 * the same user. */
int session_login(session_t *s, const char *name, const char *key);

/* Take a token from s's rate limit: 1, or 0 after refusing (error
 * "rate_limited"; sustained abuse also closes with 1008). */
int session_rate(session_t *s, const char *ref);

/* old's user logged in again (here or on another process): old is told
 * ("replaced"), logged out without a leave, and closed with 4001. */
void session_replace(session_t *old);

/* Every logged-in session gets "server is shutting down". */
void session_notify_shutdown(chat_server_t *srv);

/* plain.c: the first message (the name) and every later line. */
void plain_login(session_t *s, const char *text, size_t len);
void plain_line(session_t *s, const char *text, size_t len);
/* The plain-text line for an event, into out (cap bytes); its length,
 * or 0 when plain clients are not shown this event. */
size_t plain_render(const char *json, size_t len, char *out, size_t cap);

/* proto.c: a JSON-mode text message (the first one included). */
void proto_message(session_t *s, const char *text, size_t len);
/* Send {"type": "error", ...}. */
void proto_error(session_t *s, const char *ref, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* files.c: a binary message (a file chunk) from a JSON session, and the
 * end of every transfer of a session that goes away. */
void files_chunk(session_t *s, const uint8_t *data, size_t len);
void files_session_gone(session_t *s);

#endif
