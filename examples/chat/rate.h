/*
 * rate.h — the per-user message rate limit (PROTOCOL.md "Limits"): a
 * token bucket of per_s tokens a second (RATE_PER_S by default), holding
 * at most twice that, one token per request; and abuse, more than
 * RATE_ABUSE_COUNT refusals within RATE_ABUSE_MS, which ends the
 * connection.
 */
#ifndef CHAT_RATE_H
#define CHAT_RATE_H

#include <stdint.h>

#define RATE_PER_S 20
#define RATE_ABUSE_COUNT 200
#define RATE_ABUSE_MS 10000

typedef struct rate {
    uint64_t tokens_ms; /* tokens x 1000, to stay in integers */
    uint64_t last_ms;   /* when tokens_ms was last brought up to date */
    uint64_t window_ms; /* start of the current abuse window */
    unsigned refused;   /* refusals in that window */
    int started;
} rate_t;

enum { RATE_OK, RATE_LIMITED, RATE_ABUSE };

/* Take one token at time now_ms, per_s > 0: RATE_OK, RATE_LIMITED (refuse this
 * request), or RATE_ABUSE (refuse it and close the connection). */
int rate_take(rate_t *r, uint64_t now_ms, unsigned per_s);

#endif
