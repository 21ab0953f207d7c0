/*
 * hub_local.c — the hub of one process (hub.h): this server's logged-in
 * sessions are everyone there is.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

typedef struct hub_local {
    chat_hub_t base;
    chat_server_t *srv;
} hub_local_t;

static int publish(chat_hub_t *h, const char *to, const char *except,
                   const char *json, size_t len)
{
    return chat_deliver_local(((hub_local_t *)h)->srv, to, except, json, len);
}

static int online(chat_hub_t *h, const char *key)
{
    return session_find(((hub_local_t *)h)->srv, key) != NULL;
}

static void joined(chat_hub_t *h, const char *key, const char *display)
{
    (void)h, (void)key, (void)display; /* the registry is the truth */
}

static void left(chat_hub_t *h, const char *key)
{
    (void)h, (void)key;
}

static int by_key(const void *a, const void *b)
{
    const session_t *x = *(session_t *const *)a, *y = *(session_t *const *)b;
    return strcmp(x->key, y->key);
}

static int users(chat_hub_t *h, int (*fn)(void *ctx, const char *display),
                 void *ctx)
{
    keymap_t *m = &((hub_local_t *)h)->srv->sessions;
    session_t **all = malloc((m->count + 1) * sizeof *all);
    size_t n = 0, pos = 0;
    session_t *s;
    int r = 0;
    if (!all)
        return -1;
    while ((s = keymap_next(m, &pos)))
        all[n++] = s;
    qsort(all, n, sizeof *all, by_key);
    for (size_t i = 0; i < n && r == 0; i++)
        r = fn(ctx, all[i]->name);
    free(all);
    return r;
}

static void hub_free(chat_hub_t *h)
{
    free(h);
}

static const chat_hub_ops_t local_ops = {publish, online, joined,
                                         left,    users,  hub_free};

chat_hub_t *chat_hub_local_new(chat_server_t *srv)
{
    hub_local_t *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->base.ops = &local_ops;
    h->srv = srv;
    return &h->base;
}
