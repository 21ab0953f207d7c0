/*
 * redis_backend.h — chat-server's hooks for running over Redis (issue 15,
 * redis.h, SCALING.md): the --redis and --node-id options, and putting a
 * Redis store and hub in place of the local ones. Compiled in every
 * build: without hiredis, --redis is refused with a message saying how
 * to get it, and everything else behaves as if it did not exist.
 */
#ifndef CHAT_REDIS_BACKEND_H
#define CHAT_REDIS_BACKEND_H

#include "chat.h"

/* The options' lines for chat-server --help. */
extern const char chat_backend_help[];

/* --redis URL or --node-id NAME (name without the dashes). 0, or the
 * exit status after a message on stderr. */
int chat_backend_option(chat_server_t *srv, const char *name,
                        const char *value);

/* After the options: 0 when no --redis was given (open the local store
 * and hub as usual), 1 when srv->store and srv->hub are the Redis ones,
 * -1 after a message on stderr (Redis unreachable, --node-id without
 * --redis, ...). */
int chat_backend_open(chat_server_t *srv);

/* Once srv->loop exists (wsx_serve's setup): start the Redis links. */
void chat_backend_start(chat_server_t *srv);

/* The first SIGINT/SIGTERM, while the loop still runs: this instance
 * leaves the shared presence at once and lets go of its links. */
void chat_backend_stop(chat_server_t *srv);

#endif
