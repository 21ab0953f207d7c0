/*
 * chat.h — the chat server's state, shared by its files: the server
 * (options, store, hub, the registry of logged-in sessions) and each
 * connection's session. PROTOCOL.md is the contract; session.c picks a
 * connection's mode, plain.c and proto.c speak the two modes.
 */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include "chat_store.h"
#include "hub.h"
#include "keymap.h"
#include "names.h"
#include "rate.h"
#include "typing.h"
#include "wsx.h"

#include <stdint.h>
#include <stdio.h>

#define CHAT_JSON_MAX (16u * 1024u)  /* a JSON request */
#define CHAT_FRAME_MAX (65536u + 4u) /* a file chunk and its header */
#define CHAT_TEXT_FRAME_MAX 65536u   /* any other message: more is 1009 */
#define CHAT_WELCOME_HISTORY 50
#define CHAT_DEFAULT_MAX_QUEUE (4u * 1024u * 1024u)

typedef struct chat_server {
    struct chat_backend *backend; /* --redis (redis_backend.c), or NULL */
    chat_store_t *store;
    chat_hub_t *hub;
    wsx_loop_t *loop;
    keymap_t sessions;       /* key -> the logged-in session_t */
    struct file_xfer *files; /* transfers in progress */
    uint32_t next_file;
    size_t max_queue;
    unsigned rate_per_s; /* --rate-limit; 0 = off */
    FILE *log;           /* --log, or NULL */
    int log_messages;    /* --log-messages */
    chat_fsync_t fsync_mode;
    int shutting; /* a signal began the shutdown */
    const char *data_dir;
    char web_dir[4096];
    wsx_timer_t *file_timer; /* while transfers wait for their window */
} chat_server_t;

enum session_mode { MODE_NEW, MODE_PLAIN, MODE_JSON };

typedef struct session {
    wsx_conn_t *c;
    chat_server_t *srv;
    int mode; /* enum session_mode */
    int logged_in;
    int closing;              /* a close was sent: nothing more to it */
    char name[CHAT_NAME_MAX]; /* display spelling */
    char key[CHAT_NAME_MAX];  /* names.h key */
    char peer[64];
    rate_t rate;
    typing_t typing;
} session_t;

/* ----------------------------------------------------- session.c */

/* Deliver an event (PROTOCOL.md JSON) to this process's logged-in
 * sessions of user `to` (NULL: all), except user `except` (NULL: none),
 * each in its mode. Returns the sessions that took it. The hubs call
 * this. */
int chat_deliver_local(chat_server_t *srv, const char *to, const char *except,
                       const char *json, size_t len);

/* Send an event to one session, in its mode (a plain session gets the
 * line, or nothing for events it does not show). 0, or -1 when the
 * session cannot take it (closing, or over --max-queue: then closed). */
int session_send(session_t *s, const char *json, size_t len);

/* Close a session with code and a reason. */
void session_close(session_t *s, unsigned code, const char *why);

/* The logged-in session of key in this process, or NULL. */
session_t *session_find(chat_server_t *srv, const char *key);

/* ------------------------------------------------------- chatlog.c */

/* One --log line: "2026-12-01T23:45:00.123Z <peer> <what>". */
void chat_log(const chat_server_t *srv, const session_t *s, const char *fmt,
              ...) __attribute__((format(printf, 3, 4)));

/* Milliseconds since the Unix epoch. */
uint64_t chat_now_ms(void);

#endif
