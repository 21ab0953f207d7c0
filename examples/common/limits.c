/*
 * limits.c — what keeps peers from holding a server's memory and its
 * connections for nothing: a budget for the memory all of a loop's
 * connections hold, and a progress rule for a message under way.
 *
 * The budget (wsx_opts_t.max_buffered, WSX_DEFAULT_MAX_BUFFERED) bounds
 * wsx_loop_buffered(): the engines' reassembly blocks in use, at their
 * capacity (alloc.c), plus the output queues' memory (queue.c), where a
 * broadcast frame shared by many queues is counted once, as it is
 * allocated once. Whom to close is judged by what each connection holds:
 * its reassembly block and its queue's memory, there counting the whole
 * of every shared frame it still has to send (the slowest reader is the
 * one keeping a shared frame alive). Over the budget, the connection that
 * holds the most is failed, then the next, until the total is within the
 * budget again: with 1009 when most of what it holds is a message it is
 * sending us, 1008 when most is output it does not read. Its memory is
 * given back at once (wsx_conn_fail); everyone else carries on.
 *
 * When: at the end of every round, after the flush, so that what the
 * kernel took is held against no one; and after any read that takes the
 * total a quarter past the budget (one read can double a reassembly
 * buffer), so that a round cannot run away before its end.
 *
 * Progress: a message (or a frame) that has begun must bring at least
 * WSX_STALL_BYTES bytes of data in every stall_timeout, or be finished;
 * otherwise the peer is closed with 1008. The engine does not say whether
 * it is inside a frame, so conn.c reports what each read gave: a message
 * ended (not partial), one began or went on (partial), or no message
 * event at all, where bytes beyond the control frames' sizes are a header
 * or payload under way (partial) and control frames alone change nothing
 * (a ping does not keep a stalled message alive). A read that ends one
 * message and begins the next counts as ended: a peer trickling the next
 * one is caught from its following read. Time during which the loop does
 * not read the peer (backpressure) is not held against it.
 */
#include "wsx_int.h"

#include <stdio.h>

/* ------------------------------------------------------------- budget */

/* A loop without a server (a client program) has no budget. */
size_t wsx_budget(const wsx_loop_t *loop)
{
    return loop->max_buffered ? loop->max_buffered : SIZE_MAX;
}

void wsx_budget_adopt(wsx_loop_t *loop, size_t max)
{
    if (!loop->max_buffered || max < loop->max_buffered)
        loop->max_buffered = max;
}

size_t wsx_loop_buffered(const wsx_loop_t *loop)
{
    return loop->rbuf_bytes + loop->chunks.mem;
}

static size_t held(const wsx_conn_t *c)
{
    return c->rbuf_bytes + c->out.mem;
}

/* The live connection holding the most memory, or NULL if none holds any.
 * A scan: it runs only while the loop is over its budget. */
static wsx_conn_t *largest(wsx_loop_t *loop)
{
    wsx_conn_t *best = NULL;
    size_t most = 0;

    for (wsx_conn_t *c = loop->conns; c; c = c->next)
        if (!(c->flags & WSX_F_DEAD) && held(c) > most) {
            best = c;
            most = held(c);
        }
    return best;
}

static void evict(wsx_conn_t *c)
{
    static const char big[] = "message too big for the server's memory budget";
    static const char slow[] = "not reading: output over the server's memory "
                               "budget";

    /* RFC 6455 §7.4.1: 1009 for a message too big to process, 1008 for a
     * policy the peer broke (taking what it is sent). */
    if (c->rbuf_bytes > c->out.mem)
        wsx_conn_fail(c, WS_CLOSE_TOO_BIG, WSX_ELIMIT, big);
    else
        wsx_conn_fail(c, WS_CLOSE_POLICY, WSX_ELIMIT, slow);
}

unsigned wsx_budget_enforce(wsx_loop_t *loop, int within_round)
{
    size_t max = wsx_budget(loop);
    size_t slack = within_round ? max / 4 : 0;
    unsigned closed = 0;
    wsx_conn_t *c;

    if (wsx_loop_buffered(loop) <= max ||
        wsx_loop_buffered(loop) - max <= slack)
        return 0;
    /* The dead first: what they hold would go at the end of the round,
     * and no one alive should be closed for it. (No engine is running
     * here.) */
    for (c = loop->conns; c; c = c->next)
        if (c->flags & WSX_F_DEAD)
            wsx_conn_release(c);
    /* Each eviction frees what it can and leaves the connection draining
     * (a second one drops it), so this ends. */
    while (wsx_loop_buffered(loop) > max && (c = largest(loop))) {
        evict(c);
        closed++;
    }
    return closed;
}

/* ----------------------------------------------------------- progress */

_Static_assert(WSX_STALL_BYTES <= UINT16_MAX, "wsx_conn.prog_bytes holds it");

static void restart(wsx_conn_t *c)
{
    c->prog_t0 = wsx_now32(c->ep->loop);
    c->prog_bytes = 0;
}

void wsx_progress_fed(wsx_conn_t *c, size_t n, size_t ctl, int ended)
{
    size_t data = n > ctl ? n - ctl : 0;

    if (ended < 0 && data)
        ended = 0; /* bytes that gave no event: a header or payload */
    if (ended < 0)
        return;
    if (ended) {
        c->flags &= (uint16_t)~WSX_F_PARTIAL;
        return;
    }
    if (!(c->flags & WSX_F_PARTIAL)) {
        c->flags |= WSX_F_PARTIAL;
        restart(c);
    }
    if (data >= WSX_STALL_BYTES - c->prog_bytes)
        c->prog_bytes = WSX_STALL_BYTES;
    else
        c->prog_bytes = (uint16_t)(c->prog_bytes + data);
}

int wsx_progress_check(wsx_conn_t *c)
{
    int limit = c->ep->o.stall_timeout;
    uint32_t el = wsx_now32(c->ep->loop) - c->prog_t0;
    char why[112];

    if (limit <= 0 || !(c->flags & WSX_F_PARTIAL))
        return 0;
    if (c->flags & WSX_F_OVER) {
        restart(c); /* we are not reading it: not its fault */
        return 0;
    }
    if (el < (uint32_t)limit)
        return 0;
    if (c->prog_bytes >= WSX_STALL_BYTES) {
        restart(c); /* this window is met: the next one begins */
        return 0;
    }
    snprintf(why, sizeof why, "message stalled: under %u bytes in %.1f s (%u)",
             WSX_STALL_BYTES, el / 1000.0, (unsigned)c->prog_bytes);
    wsx_conn_fail(c, WS_CLOSE_POLICY, WSX_ELIMIT, why);
    return 1;
}
