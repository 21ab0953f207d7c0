/* test_rate.c — the per-user token bucket (rate.c): a burst of twice the
 * rate, refills of one token per 1/rate s and never past the burst, and
 * abuse — more than RATE_ABUSE_COUNT refusals within RATE_ABUSE_MS —
 * told apart from an occasional excess. */
#include "harness.h"
#include "rate.h"

static const char th_suite_name[] = "chat_rate";

static void burst_then_refill(void)
{
    rate_t r = {0};
    uint64_t t = 1000000;
    for (int i = 0; i < 40; i++)
        CHECK_INT(rate_take(&r, t, 20), RATE_OK);
    CHECK_INT(rate_take(&r, t, 20), RATE_LIMITED);
    CHECK_INT(rate_take(&r, t + 49, 20), RATE_LIMITED); /* 0.98 token */
    CHECK_INT(rate_take(&r, t + 50, 20), RATE_OK);      /* one at 50 ms */
    CHECK_INT(rate_take(&r, t + 50, 20), RATE_LIMITED);
    /* An hour idle fills the bucket to the burst, not beyond. */
    t += 3600 * 1000;
    for (int i = 0; i < 40; i++)
        CHECK_INT(rate_take(&r, t, 20), RATE_OK);
    CHECK_INT(rate_take(&r, t, 20), RATE_LIMITED);
}

static void other_rates(void)
{
    rate_t r = {0};
    for (int i = 0; i < 2; i++)
        CHECK_INT(rate_take(&r, 5000, 1), RATE_OK);
    CHECK_INT(rate_take(&r, 5999, 1), RATE_LIMITED);
    CHECK_INT(rate_take(&r, 6000, 1), RATE_OK);
    rate_t big = {0};
    for (int i = 0; i < 2000; i++)
        CHECK_INT(rate_take(&big, 0, 1000), RATE_OK);
    CHECK_INT(rate_take(&big, 0, 1000), RATE_LIMITED);
}

static void abuse(void)
{
    rate_t r = {0};
    uint64_t t = 10;
    for (int i = 0; i < 40; i++)
        rate_take(&r, t, 20);
    int got = RATE_OK, n = 0;
    while (got != RATE_ABUSE && n < 1000)
        got = rate_take(&r, t, 20), n++;
    CHECK_INT(n, RATE_ABUSE_COUNT + 1); /* the 201st refusal */
    /* Refusals spread thinner than that are only refusals. */
    rate_t slow = {0};
    uint64_t u = 0;
    int abused = 0;
    for (int i = 0; i < 40; i++)
        rate_take(&slow, u, 20);
    for (int i = 0; i < 1000; i++) {
        u += RATE_ABUSE_MS / 100; /* 100 per window, refilling 2 tokens */
        for (int k = 0; k < 3; k++)
            abused |= rate_take(&slow, u, 20) == RATE_ABUSE;
    }
    CHECK(!abused);
}

void suite_chat_rate(void);
void suite_chat_rate(void)
{
    RUN(burst_then_refill);
    RUN(other_rates);
    RUN(abuse);
}
