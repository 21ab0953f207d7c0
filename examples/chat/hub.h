/*
 * hub.h — who is online and how an event reaches them, behind an
 * interface: hub_local.c serves the users of this process; another
 * implementation (Redis, issue 15) can carry events between several
 * server processes and call chat_deliver_local() (session.h) on each.
 *
 * Every event crosses the hub as its PROTOCOL.md JSON text; each
 * process renders it for its own plain-text clients.
 */
#ifndef CHAT_HUB_H
#define CHAT_HUB_H

#include <stddef.h>

typedef struct chat_hub chat_hub_t;

typedef struct chat_hub_ops {
    /* Deliver json to user `to` (a key), or to every logged-in user when
     * to is NULL, except user `except` (a key, or NULL). Returns the
     * connections reached (0: to is not online), or -errno. */
    int (*publish)(chat_hub_t *h, const char *to, const char *except,
                   const char *json, size_t len);
    /* Is user key online anywhere? */
    int (*online)(chat_hub_t *h, const char *key);
    /* Presence changes of this process's users (the local hub learns
     * them from the session registry and needs no call). */
    void (*joined)(chat_hub_t *h, const char *key, const char *display);
    void (*left)(chat_hub_t *h, const char *key);
    /* Online users' display spellings, sorted case-insensitively by key;
     * fn may stop the walk by returning nonzero. */
    int (*users)(chat_hub_t *h, int (*fn)(void *ctx, const char *display),
                 void *ctx);
    void (*free)(chat_hub_t *h);
} chat_hub_ops_t;

struct chat_hub {
    const chat_hub_ops_t *ops;
};

struct chat_server;
/* The hub of one process: its sessions are everything. */
chat_hub_t *chat_hub_local_new(struct chat_server *srv);

#endif
