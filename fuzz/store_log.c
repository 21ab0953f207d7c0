/*
 * store_log.c — fuzz target: the messenger log's replay
 * (examples/messenger/store_log.c), which must make sense of a log
 * damaged in any way: a torn tail, flipped bits, zeroed pages, garbage.
 *
 * Input: the bytes of a messenger.log file, as is.
 *
 * Checked on every input: log_replay() returns 0 or -EINVAL, and for
 * -EINVAL applies nothing; every record applied is a PUSH or a TAKE whose
 * payload lies inside the input, in increasing sequence numbers; the
 * counts and damaged ranges are consistent (ranges in order, inside the
 * input, their bytes summed); log_replay_describe() fits any buffer; and
 * the records applied, written again with log_encode_*(), replay to
 * exactly the same records with no damage.
 */
#include "fuzz_common.h"

#include "../examples/common/reclog.c"
#include "../examples/messenger/store_log.c"

typedef struct seen {
    const uint8_t *base;
    size_t size;
    log_rec_t rec[8192];
    size_t n;
} seen_t;

static int collect(void *ctx, const log_rec_t *r)
{
    seen_t *s = ctx;
    FZ_CHECK(r->type == LOG_PUSH || r->type == LOG_TAKE, "type %u", r->type);
    FZ_CHECK(r->len <= LOG_MAX_PAYLOAD, "len %u", r->len);
    if (r->type == LOG_PUSH && s->base) {
        FZ_CHECK(r->data >= s->base && r->data + r->len <= s->base + s->size,
                 "payload outside the input");
    }
    if (s->n)
        FZ_CHECK(r->seq > s->rec[s->n - 1].seq, "sequence %u after %u", r->seq,
                 s->rec[s->n - 1].seq);
    if (s->n < sizeof s->rec / sizeof s->rec[0])
        s->rec[s->n++] = *r;
    return 0;
}

static void check_ranges(const log_replay_t *r, size_t size)
{
    uint64_t sum = 0, last = 0;
    for (size_t i = 0; i < r->nranges && i < LOG_RANGES; i++) {
        FZ_CHECK(r->range[i].start >= last, "range %zu out of order", i);
        FZ_CHECK(r->range[i].start < r->range[i].end, "empty range %zu", i);
        FZ_CHECK(r->range[i].end <= size, "range %zu past the end", i);
        sum += r->range[i].end - r->range[i].start;
        last = r->range[i].end;
    }
    if (r->nranges <= LOG_RANGES)
        FZ_CHECK(sum == r->damaged, "ranges sum %llu, damaged %llu",
                 (unsigned long long)sum, (unsigned long long)r->damaged);
    FZ_CHECK(r->damaged <= size, "more damaged bytes than bytes");
    FZ_CHECK(!r->tail_damaged || r->lost_most >= r->lost, "lost range");
}

/* The records applied, written as a fresh log. */
static size_t rewrite(const seen_t *s, uint8_t *out)
{
    size_t n = LOG_MAGIC_LEN;
    memcpy(out, LOG_MAGIC, LOG_MAGIC_LEN);
    for (size_t i = 0; i < s->n; i++) {
        const log_rec_t *r = &s->rec[i];
        n += r->type == LOG_PUSH
                 ? log_encode_push(out + n, (uint32_t)i, r->sender, r->receiver,
                                   r->data, r->len)
                 : log_encode_take(out + n, (uint32_t)i, r->receiver);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static seen_t first, again;
    static uint8_t fresh[LOG_MAGIC_LEN + 8192 * LOG_MAX_RECORD];
    log_replay_t r, r2;
    char small[48], big[1024];

    if (size > 1 << 20)
        return 0;
    first.base = data;
    first.size = size;
    first.n = 0;
    int e = log_replay(data, size, collect, &first, &r);
    FZ_CHECK(e == 0 || e == -EINVAL, "log_replay returned %d", e);
    if (e == -EINVAL) {
        FZ_CHECK(first.n == 0, "records applied from a non-log");
        return 0;
    }
    FZ_CHECK(r.records == first.n || first.n == 8192, "records %llu, seen %zu",
             (unsigned long long)r.records, first.n);
    check_ranges(&r, size);
    log_replay_describe(&r, small, sizeof small);
    log_replay_describe(&r, big, sizeof big);
    FZ_CHECK(strlen(small) < sizeof small && strlen(big) < sizeof big,
             "description not terminated");
    FZ_CHECK(strncmp(small, big, sizeof small - 1) == 0, "truncation differs");
    if (first.n == 8192)
        return 0;

    size_t n = rewrite(&first, fresh);
    again.base = fresh;
    again.size = n;
    again.n = 0;
    FZ_CHECK(log_replay(fresh, n, collect, &again, &r2) == 0, "rewritten log");
    FZ_CHECK(r2.nranges == 0 && r2.lost == 0 && r2.version == 2,
             "rewritten log damaged: %zu ranges", r2.nranges);
    FZ_CHECK(again.n == first.n, "rewritten: %zu records, not %zu", again.n,
             first.n);
    for (size_t i = 0; i < first.n; i++) {
        const log_rec_t *a = &first.rec[i], *b = &again.rec[i];
        FZ_CHECK(a->type == b->type && a->sender == b->sender &&
                     a->receiver == b->receiver && a->len == b->len &&
                     (a->len == 0 || !memcmp(a->data, b->data, a->len)),
                 "record %zu differs after rewriting", i);
    }
    return 0;
}
