/*
 * redis_backend.c — chat-server --redis URL [--node-id NAME]
 * (redis_backend.h): the options, and the Redis store and hub in place
 * of the local ones. Built with or without hiredis (CHAT_HAVE_HIREDIS).
 */
#define _GNU_SOURCE
#include "redis_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "chat-server"

const char chat_backend_help[] =
    "  --redis URL         run as one of several instances sharing one chat\n"
    "                      through Redis (redis://HOST[:PORT][/DB]): events,\n"
    "                      presence, names, contacts, history and waiting\n"
    "                      direct messages live there instead of --data-dir"
#ifndef CHAT_HAVE_HIREDIS
    "\n                      (not in this build: install libhiredis-dev and\n"
    "                      rebuild)"
#endif
    "\n"
    "  --node-id NAME      this instance's name among them (letters, digits,\n"
    "                      . _ -; default HOSTNAME-PID)\n";

#ifndef CHAT_HAVE_HIREDIS

int chat_backend_option(chat_server_t *srv, const char *name,
                        const char *value)
{
    (void)srv;
    (void)value;
    fprintf(stderr,
            PROG ": --%s: this chat-server was built without Redis "
                 "(install libhiredis-dev, e.g. scripts/install-deps.sh "
                 "redis, and rebuild)\n",
            name);
    return 1;
}

int chat_backend_open(chat_server_t *srv)
{
    (void)srv;
    return 0;
}

void chat_backend_start(chat_server_t *srv)
{
    (void)srv;
}

void chat_backend_stop(chat_server_t *srv)
{
    (void)srv;
}

#else

#include "redis.h"

struct chat_backend {
    redis_addr_t addr;
    int have_url;
    char node[CHAT_REDIS_NODE_MAX];
};

static struct chat_backend *backend_of(chat_server_t *srv)
{
    if (!srv->backend)
        srv->backend = calloc(1, sizeof *srv->backend);
    return srv->backend;
}

static int node_ok(const char *v)
{
    size_t n = strlen(v);

    if (n == 0 || n >= CHAT_REDIS_NODE_MAX)
        return 0;
    for (; *v; v++)
        if (!(*v >= 'a' && *v <= 'z') && !(*v >= 'A' && *v <= 'Z') &&
            !(*v >= '0' && *v <= '9') && !strchr("._-", *v))
            return 0;
    return 1;
}

int chat_backend_option(chat_server_t *srv, const char *name,
                        const char *value)
{
    struct chat_backend *b = backend_of(srv);
    const char *why = NULL;

    if (!b) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    if (!strcmp(name, "redis")) {
        if (redis_url_parse(value, &b->addr, &why) != 0) {
            fprintf(stderr, PROG ": bad value for --redis: '%s' (%s)\n",
                    value, why);
            return 1;
        }
        b->have_url = 1;
        return 0;
    }
    if (!node_ok(value)) {
        fprintf(stderr,
                PROG ": bad value for --node-id: '%s' (1-64 letters, "
                     "digits, '.', '_' or '-')\n",
                value);
        return 1;
    }
    snprintf(b->node, sizeof b->node, "%s", value);
    return 0;
}

int chat_backend_open(chat_server_t *srv)
{
    struct chat_backend *b = srv->backend;
    const char *why = NULL;
    char host[40];

    if (!b)
        return 0;
    if (!b->have_url) {
        fprintf(stderr, PROG ": --node-id needs --redis\n");
        return -1;
    }
    if (!b->node[0]) {
        if (gethostname(host, sizeof host) != 0 || !node_ok(host))
            snprintf(host, sizeof host, "node");
        host[sizeof host - 1] = '\0';
        snprintf(b->node, sizeof b->node, "%s-%ld", host, (long)getpid());
    }
    if (chat_store_open_redis(&srv->store, &b->addr, &why) < 0) {
        fprintf(stderr, PROG ": --redis redis://%s:%d/%d: %s\n", b->addr.host,
                b->addr.port, b->addr.db, why);
        return -1;
    }
    srv->hub = chat_hub_redis_new(srv, &b->addr, b->node, 0);
    if (!srv->hub) {
        srv->store->ops->close(srv->store);
        fprintf(stderr, PROG ": out of memory\n");
        return -1;
    }
    chat_log(srv, NULL, "redis: redis://%s:%d/%d as node %s", b->addr.host,
             b->addr.port, b->addr.db, b->node);
    return 1;
}

void chat_backend_start(chat_server_t *srv)
{
    if (srv->backend && srv->hub && chat_hub_redis_start(srv->hub) != 0)
        fprintf(stderr, PROG ": warning: out of memory starting the Redis "
                        "links; this instance serves its own users only\n");
}

void chat_backend_stop(chat_server_t *srv)
{
    if (srv->backend && srv->hub)
        chat_hub_redis_stop(srv->hub);
}

#endif
