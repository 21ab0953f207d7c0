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
 * WSX_RBUF_KEEP takes the largest pooled block and keeps it while it
 * is big enough: later doublings cost nothing. The pool holds
 * at most WSX_POOL_BLOCKS blocks and POOL_BYTES bytes (a quarter of the
 * loop's memory budget when that is smaller), memory that was resident
 * anyway; beyond that, blocks go back to malloc.
 *
 * Every block in use is counted, at its capacity, against the connection
 * whose engine asked for it (loop->engine_conn, set by conn.c while it
 * runs an engine; the block remembers it, so a later free or realloc is
 * charged right wherever it happens) and against the loop: the numbers
 * limits.c weighs. Pooled blocks belong to no one and are not counted.
 */
#include "wsx_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BYTES (16u * 1024u * 1024u)

/* Every block starts with this (32 bytes on LP64, 16 on ILP32: the
 * payload stays aligned as malloc's is). size: what the engine asked for;
 * cap: what fits; owner: whom it is charged to (NULL: only the loop). */
typedef struct wsx_block {
    size_t size, cap;
    wsx_conn_t *owner;
    void *spare;
} block_t;

_Static_assert(sizeof(block_t) % _Alignof(max_align_t) == 0,
               "a block's payload is aligned as malloc's");

static void charge(wsx_loop_t *loop, block_t *b)
{
    loop->rbuf_bytes += b->cap;
    if (b->owner)
        b->owner->rbuf_bytes += b->cap;
}

static void uncharge(wsx_loop_t *loop, const block_t *b)
{
    loop->rbuf_bytes -= b->cap;
    if (b->owner)
        b->owner->rbuf_bytes -= b->cap;
}

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

static void *block_get(wsx_loop_t *loop, size_t n, wsx_conn_t *owner)
{
    block_t *b = n > WSX_RBUF_KEEP ? pool_take(loop, n) : NULL;

    if (!b) {
        if (n > SIZE_MAX - sizeof *b || !(b = malloc(sizeof *b + n)))
            return NULL;
        b->cap = n;
    }
    b->size = n;
    b->owner = owner;
    charge(loop, b);
    return b + 1;
}

static size_t pool_limit(const wsx_loop_t *loop)
{
    size_t quarter = wsx_budget(loop) / 4;

    return quarter < POOL_BYTES ? quarter : POOL_BYTES;
}

static void block_put(wsx_loop_t *loop, block_t *b)
{
    size_t limit = pool_limit(loop);

    uncharge(loop, b);
    if (b->cap > WSX_RBUF_KEEP && loop->npool < WSX_POOL_BLOCKS &&
        loop->pool_bytes <= limit && b->cap <= limit - loop->pool_bytes) {
        loop->pool[loop->npool++] = b;
        loop->pool_bytes += b->cap;
    } else {
        free(b);
    }
}

static void *pool_malloc(size_t n, void *user)
{
    wsx_loop_t *loop = user;

    return block_get(loop, n, loop->engine_conn);
}

static void *pool_realloc(void *p, size_t n, void *user)
{
    block_t *b = head_of(p);
    void *q;

    if (n <= b->cap) {
        b->size = n;
        return p;
    }
    if (!(q = block_get(user, n, b->owner)))
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
