/*
 * redis_wsx.h — hiredis's asynchronous client on the wsx event loop.
 *
 * Two layers, each usable alone:
 *
 *   - redis_wsx_attach(): the event-library adapter hiredis expects
 *     (redisAsyncContext.ev: addRead/delRead/addWrite/delWrite/cleanup)
 *     built on one wsx watcher, like hiredis's own adapters for ae,
 *     libevent or libuv;
 *   - redis_link_t: one connection that stays up. It connects, selects
 *     the database, says when it is ready, gives up on a connect (or a
 *     SELECT) that takes longer than the timeout, optionally pings to
 *     notice a server that stopped answering, and after every loss
 *     reconnects with a backoff that doubles up to a ceiling. While it is
 *     down no command is queued anywhere: callers see NULL and carry on,
 *     so memory stays bounded however long Redis is away.
 *
 * Everything runs on the loop's thread; callbacks are called from loop
 * events (watchers and timers), never from inside the caller's calls.
 */
#ifndef REDIS_WSX_H
#define REDIS_WSX_H

#include "wsx.h"

#include <hiredis/async.h>

/* Drive ac's socket from loop. Call once, right after redisAsyncConnect
 * succeeded (ac->err == 0). The adapter also asks for writability at
 * once, so that the non-blocking connect completes (and onConnect runs)
 * even before the first command. Returns REDIS_OK, or REDIS_ERR when
 * something is attached already or memory ran out. The adapter is freed
 * by hiredis (ev.cleanup) when ac is. */
int redis_wsx_attach(wsx_loop_t *loop, redisAsyncContext *ac);

/* Where a Redis is: redis://HOST[:PORT][/DB] (PORT 6379, DB 0). */
typedef struct redis_addr {
    char host[256];
    int port;
    int db;
} redis_addr_t;

/* Parse url into *a. Returns 0, or -1 with *why (a static string saying
 * what is wrong, e.g. "the port must be 1..65535"). */
int redis_url_parse(const char *url, redis_addr_t *a, const char **why);

typedef struct redis_link redis_link_t;

typedef struct redis_link_opts {
    int timeout_ms;  /* 0 = 2000: connect + SELECT, and a ping's answer */
    int ping_ms;     /* 0 = no pings (a subscriber connection must not);
                        > 0: a PING every ping_ms while up; one not
                        answered within timeout_ms drops the link */
    int backoff_min; /* 0 = 100 ms: the first wait after a loss */
    int backoff_max; /* 0 = 1000 ms: the longest wait between attempts */
    size_t max_out;  /* 0 = 8 MiB: commands not yet written to Redis past
                        which redis_link_ctx() answers NULL (a Redis that
                        stopped reading must not grow our memory) */
} redis_link_opts_t;

typedef struct redis_link_cb {
    /* Connected and the database selected: commands may be sent on ac
     * (valid until on_down). */
    void (*on_up)(redis_link_t *l, redisAsyncContext *ac, void *user);
    /* The link was up and is not any more (why: one line); callbacks of
     * commands still pending have been called with a NULL reply. A
     * reconnect is already scheduled. Not called for failed attempts. */
    void (*on_down)(redis_link_t *l, const char *why, void *user);
} redis_link_cb_t;

/* Start connecting to a (copied; opts may be NULL for the defaults).
 * Returns NULL on ENOMEM. */
redis_link_t *redis_link_new(wsx_loop_t *loop, const redis_addr_t *a,
                             const redis_link_opts_t *opts,
                             const redis_link_cb_t *cb, void *user);

/* The context to send commands on, or NULL while the link is down (or
 * its unsent output is over max_out). */
redisAsyncContext *redis_link_ctx(const redis_link_t *l);

/* Attempts since the last time it was up, and the line saying why the
 * last one failed ("" if none did). */
unsigned redis_link_failures(const redis_link_t *l);
const char *redis_link_error(const redis_link_t *l);

/* Drop the connection now (as a loss: on_down if it was up, then the
 * backoff). For tests and for a caller that saw a reply it cannot trust. */
void redis_link_drop(redis_link_t *l, const char *why);

/* Disconnect (pending callbacks get NULL replies, on_down is not called)
 * and free. NULL is fine. */
void redis_link_free(redis_link_t *l);

#endif
