/*
 * alloc.c — the allocator the loop hands the engine (ws_allocator_t) for
 * its reassembly buffers: a few large blocks are kept per loop, not per
 * connection.
 *
 * The engine grows a message's buffer by doubling and, once it is larger
 * than WSX_RBUF_KEEP (the rbuf_keep option conn.c gives every engine),
 * frees it when the message has been delivered, so an idle connection
 * keeps at most that much. With malloc alone every large message then
 * pays for about its own size again in realloc copies (measured: at 1 MiB
 * messages a fifth of the echo server's time went to them). Here such a
 * block goes back to a small pool instead, and the next growth past
 * WSX_RBUF_KEEP takes the largest pooled block and keeps it while it is
 * big enough: later doublings cost nothing. The pool holds
 * at most POOL_BLOCKS blocks and POOL_BYTES bytes, memory that was
 * resident anyway; beyond that, blocks go back to malloc.
 */
#include "wsx_int.h"

#include <stdlib.h>
#include <string.h>

#define POOL_BYTES (16u * 1024u * 1024u)

/* Every block starts with this (16 bytes: the payload stays aligned as
 * malloc's is). size: what the engine asked for; cap: what fits. */
typedef struct wsx_block {
    size_t size, cap;
} block_t;

static block_t *head_of(void *p)
{
    return (block_t *)p - 1;
}

/* A pooled block of at least n bytes, or NULL: the largest there is, so
 * the doublings of a growing message that follow find it big enough and
 * cost no copy (the smallest that fits would be outgrown, and copied out
 * of, at the next doubling). */
static block_t *pool_take(wsx_loop_t *loop, size_t n)
{
    unsigned best = loop->npool;

    for (unsigned i = 0; i < loop->npool; i++)
        if (loop->pool[i]->cap >= n &&
            (best == loop->npool || loop->pool[i]->cap > loop->pool[best]->cap))
            best = i;
    if (best == loop->npool)
        return NULL;
    block_t *b = loop->pool[best];
    loop->pool[best] = loop->pool[--loop->npool];
    loop->pool_bytes -= b->cap;
    return b;
}

static void *block_get(wsx_loop_t *loop, size_t n)
{
    block_t *b = n > WSX_RBUF_KEEP ? pool_take(loop, n) : NULL;

    if (!b) {
        if (n > SIZE_MAX - sizeof *b || !(b = malloc(sizeof *b + n)))
            return NULL;
        b->cap = n;
    }
    b->size = n;
    return b + 1;
}

static void block_put(wsx_loop_t *loop, block_t *b)
{
    if (b->cap > WSX_RBUF_KEEP && loop->npool < WSX_POOL_BLOCKS &&
        b->cap <= POOL_BYTES - loop->pool_bytes) {
        loop->pool[loop->npool++] = b;
        loop->pool_bytes += b->cap;
    } else {
        free(b);
    }
}

static void *pool_malloc(size_t n, void *user)
{
    return block_get(user, n);
}

static void *pool_realloc(void *p, size_t n, void *user)
{
    block_t *b = head_of(p);
    void *q;

    if (n <= b->cap) {
        b->size = n;
        return p;
    }
    if (!(q = block_get(user, n)))
        return NULL;
    memcpy(q, p, b->size < n ? b->size : n);
    block_put(user, b);
    return q;
}

static void pool_free(void *p, void *user)
{
    if (p)
        block_put(user, head_of(p));
}

void wsx_pool_init(wsx_loop_t *loop)
{
    loop->allocator.malloc = pool_malloc;
    loop->allocator.realloc = pool_realloc;
    loop->allocator.free = pool_free;
    loop->allocator.user = loop;
}

void wsx_pool_clear(wsx_loop_t *loop)
{
    while (loop->npool)
        free(loop->pool[--loop->npool]);
    loop->pool_bytes = 0;
}
