/*
 * rate.c — the token bucket of rate.h.
 */
#include "rate.h"

static void refill(rate_t *r, uint64_t now, unsigned per_s)
{
    const uint64_t full = (uint64_t)per_s * 2 * 1000;
    if (!r->started) {
        r->started = 1;
        r->tokens_ms = full;
        r->last_ms = r->window_ms = now;
        return;
    }
    if (now > r->last_ms) {
        /* 1000 units a token and per_s tokens a second are per_s
         * units a millisecond. */
        r->tokens_ms += (now - r->last_ms) * per_s;
        if (r->tokens_ms > full)
            r->tokens_ms = full;
        r->last_ms = now;
    }
}

int rate_take(rate_t *r, uint64_t now, unsigned per_s)
{
    refill(r, now, per_s);
    if (r->tokens_ms >= 1000) {
        r->tokens_ms -= 1000;
        return RATE_OK;
    }
    if (now - r->window_ms >= RATE_ABUSE_MS) {
        r->window_ms = now;
        r->refused = 0;
    }
    return ++r->refused > RATE_ABUSE_COUNT ? RATE_ABUSE : RATE_LIMITED;
}
