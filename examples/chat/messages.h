/*
 * messages.h — lobby and direct messages, for both modes: stored, sent
 * on, and the sender told their status (PROTOCOL.md "Messages").
 */
#ifndef CHAT_MESSAGES_H
#define CHAT_MESSAGES_H

#include "chat.h"

/* Check a text's length: 0, or -1 after an error to s ("empty",
 * "too_long"). */
int msg_check_text(session_t *s, size_t len, const char *ref);

/* The user named to[0..to_len), if it is a user at all (claimed, or
 * online): 0 with its display spelling and key (CHAT_NAME_MAX bytes
 * each), or -1 after the error "no_such_user" to s. */
int msg_find_user(session_t *s, const char *to, size_t to_len, char *display,
                  char *key, const char *ref);

/* A lobby message from s: stored in history, sent to everyone else; s
 * gets status "sent". ref: the request's id, or "". */
void msg_lobby(session_t *s, const char *text, size_t len, const char *ref);

/* A direct message from s to the name to[0..to_len): stored, delivered
 * now or at to's next login; s gets "sent", then "delivered" or
 * "offline". */
void msg_direct(session_t *s, const char *to, size_t to_len, const char *text,
                size_t len, const char *ref);

/* s's client read direct message seq: its sender gets "read". */
void msg_read(session_t *s, uint64_t seq, const char *ref);

/* Direct message seq to user key moves on to state, and its sender is
 * told through the hub (another process's hub calls this when one of
 * its PMs reached a user here). What pm_mark returns. */
int msg_mark(chat_server_t *srv, uint64_t seq, const char *key, int state);

/* After s logged in: the direct messages waiting for it, oldest first
 * (each sender gets "delivered"); then the statuses of its own direct
 * messages that moved on while it was away. */
void msg_deliver_pending(session_t *s);

#endif
