/*
 * redis.h — chat-server's Redis backend (issue 15; SCALING.md): several
 * chat-server processes share one Redis and behave as one chat.
 *
 *   - redis_store.c: chat_store_ops_t in Redis (hashes and sets for names
 *     and contacts, streams of bounded length for history and the
 *     offline messages, a Lua script for each change that must be atomic
 *     across instances). Blocking hiredis calls with a short timeout:
 *     the store's interface is synchronous, and a round trip on a local
 *     network is tens of microseconds.
 *   - redis_hub.c: chat_hub_ops_t over pub/sub (a channel for everyone,
 *     one per user) with presence in Redis, expiring unless each
 *     instance's heartbeat refreshes it. Asynchronous, on the wsx loop
 *     (redis_wsx.h).
 *   - redis_backend.c: the --redis and --node-id options, and putting the
 *     two in place of the local store and hub.
 *
 * While Redis is unreachable, an instance serves its own users alone:
 * they are told so, lobby messages and direct messages are kept in a
 * bounded queue of writes replayed when Redis returns, and whatever
 * needs to read the shared state (claims, contacts) fails with a clear
 * error instead of guessing.
 */
#ifndef CHAT_REDIS_H
#define CHAT_REDIS_H

#include "chat.h"
#include "redis_wsx.h"

/* The keys' common prefix, and the presence defaults. */
#define CHAT_REDIS_PREFIX "chat:"
#define CHAT_REDIS_TTL_MS 10000       /* presence of a silent instance */
#define CHAT_REDIS_HEARTBEAT_MS 2000  /* each instance refreshes its own */
#define CHAT_REDIS_SNAPSHOT_MS 1000   /* and reads everyone's */
#define CHAT_REDIS_NODE_MAX 65        /* a node id and its NUL */
/* Writes kept while Redis is away, past which they fail (-ENOBUFS). */
#define CHAT_REDIS_QUEUE_MAX ((size_t)4 << 20)

/* The store in Redis at a. 0, or -errno with *msg saying what failed
 * (Redis unreachable at start: the server refuses to start rather than
 * run with an empty view of the shared state). */
int chat_store_open_redis(chat_store_t **out, const redis_addr_t *a,
                          const char **msg);

/* Redis is reachable again (the hub's link is up): reconnect now and
 * replay the writes queued while it was away. */
void chat_store_redis_back(chat_store_t *s);

/* The hub lost Redis: stop trying until chat_store_redis_back, so that
 * no message waits for a connect timeout while Redis is away. */
void chat_store_redis_lost(chat_store_t *s);

/* Writes queued while Redis was away: how many, and their bytes. */
size_t chat_store_redis_queued(const chat_store_t *s, size_t *bytes);

/* The hub of instance `node` over Redis at a; it uses srv->store (which
 * must be the Redis store) for exactly-once delivery of direct messages.
 * Nothing is connected before chat_hub_redis_start. NULL on ENOMEM. */
chat_hub_t *chat_hub_redis_new(chat_server_t *srv, const redis_addr_t *a,
                               const char *node, int ttl_ms);

/* Connect (on srv->loop, which must exist now) and start the heartbeat
 * and the presence snapshots. 0, or -1 on ENOMEM. */
int chat_hub_redis_start(chat_hub_t *h);

/* Shutting down, while the loop still exists: this instance's presence
 * is removed from Redis at once (one blocking round trip, so that the
 * others see its users leave within a snapshot rather than the TTL), and
 * the links, timers and watchers are let go. The hub then delivers
 * locally only; ops->free frees the rest, also after the loop is gone. */
void chat_hub_redis_stop(chat_hub_t *h);

#endif
