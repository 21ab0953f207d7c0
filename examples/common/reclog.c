/*
 * reclog.c — the record log's framing and replay (reclog.h).
 *
 * Why this format: replay must survive damage anywhere, not only a torn
 * tail. A record starts with a sync pair and carries its own length, a
 * sequence number and a CRC, so after a bad record the reader can look for
 * the next place where a whole valid record begins, and the sequence
 * numbers on either side of the gap say how many records fell into it.
 * A candidate is taken only if its successor (or the end of the log)
 * follows on from it, or if its number fits the gap: a record-shaped run
 * of bytes inside a damaged record's payload passes neither unless its
 * author knew its place and number in the log.
 */
#define _GNU_SOURCE
#include "reclog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SYNC0 0xFFu /* never in UTF-8 text, rare in payloads */
#define SYNC1 0xA5u

enum { REC_BAD = -1, REC_SHORT = 0, REC_OK = 1 };

/* CRC-32C, reflected polynomial 0x82F63B78, bit by bit: replay runs once
 * per start and appends are few per loop round, so a table buys little. */
uint32_t reclog_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

size_t reclog_frame(uint8_t *out, uint32_t seq, size_t len)
{
    out[0] = SYNC0;
    out[1] = SYNC1;
    out[2] = (uint8_t)len;
    out[3] = (uint8_t)(len >> 8);
    put_le32(out + 4, seq);
    put_le32(out + RECLOG_HEAD + len, reclog_crc32c(0, out, RECLOG_HEAD + len));
    return RECLOG_SIZE(len);
}

/* The record at p (left bytes to the end of the log): REC_OK with *rec
 * and *size, REC_SHORT when the bytes left are the start of a record that
 * the end of the log cut off, or REC_BAD. */
static int decode(const reclog_format_t *f, const uint8_t *p, size_t left,
                  reclog_rec_t *rec, size_t *size)
{
    if (left < 1 || p[0] != SYNC0)
        return left < 1 ? REC_SHORT : REC_BAD;
    if (left < 2 || p[1] != SYNC1)
        return left < 2 ? REC_SHORT : REC_BAD;
    if (left < 4)
        return REC_SHORT;
    size_t body = (size_t)p[2] | (size_t)p[3] << 8;
    if (body < f->min_body || body > f->max_body)
        return REC_BAD;
    *size = RECLOG_SIZE(body);
    if (left < *size)
        return REC_SHORT;
    if (get_le32(p + RECLOG_HEAD + body) !=
        reclog_crc32c(0, p, RECLOG_HEAD + body))
        return REC_BAD;
    rec->seq = get_le32(p + 4);
    rec->body = p + RECLOG_HEAD;
    rec->len = body;
    return !f->valid || f->valid(rec->body, body) ? REC_OK : REC_BAD;
}

static void add_range(reclog_replay_t *r, uint64_t start, uint64_t end)
{
    r->damaged += end - start;
    if (r->nranges && r->nranges <= RECLOG_RANGES &&
        r->range[r->nranges - 1].end == start) {
        r->range[r->nranges - 1].end = end;
        return;
    }
    if (r->nranges < RECLOG_RANGES)
        r->range[r->nranges] = (reclog_range_t){start, end};
    r->nranges++;
}

/* Does a whole record, or the end of the log, follow at p? */
static int chains(const reclog_format_t *f, const uint8_t *p, size_t left,
                  uint32_t seq)
{
    reclog_rec_t next;
    size_t size;
    if (left == 0)
        return 1;
    int d = decode(f, p, left, &next, &size);
    return d == REC_SHORT || (d == REC_OK && next.seq == seq + 1);
}

/* The first offset after a bad record at pos where replay may resume, or
 * n: a whole record numbered expect or later that either chains on, or
 * whose number fits the gap (each record lost in [pos, q) took at least
 * the smallest record's bytes of it) — the latter for damage close
 * behind. */
static size_t resync(const reclog_format_t *f, const uint8_t *p, size_t n,
                     size_t pos, uint32_t expect, reclog_rec_t *rec,
                     size_t *size)
{
    const size_t smallest = RECLOG_SIZE(f->min_body);
    for (size_t q = pos + 1; q < n; q++) {
        const uint8_t *s = memchr(p + q, SYNC0, n - q);
        if (!s)
            break;
        q = (size_t)(s - p);
        if (decode(f, s, n - q, rec, size) != REC_OK || rec->seq < expect)
            continue;
        if (rec->seq - expect <= (q - pos) / smallest ||
            chains(f, s + *size, n - q - *size, rec->seq))
            return q;
    }
    return n;
}

/* Damage that runs to the end: count the records whose headers still say
 * where they are, exact when they tile the damaged tail; otherwise the
 * rest could have held at most one record per smallest record's bytes. */
static void tail_damage(const reclog_format_t *f, reclog_replay_t *r,
                        const uint8_t *p, size_t n, size_t pos)
{
    size_t q = pos;
    uint64_t count = 0;
    while (n - q >= 4 && p[q] == SYNC0 && p[q + 1] == SYNC1) {
        size_t body = (size_t)p[q + 2] | (size_t)p[q + 3] << 8;
        if (body < f->min_body || body > f->max_body ||
            n - q < RECLOG_SIZE(body))
            break;
        q += RECLOG_SIZE(body);
        count++;
    }
    r->lost += count;
    r->tail_damaged = q != n || count == 0;
    r->lost_most = r->lost;
    if (r->tail_damaged)
        r->lost_most += 1 + (n - q) / RECLOG_SIZE(f->min_body);
    add_range(r, pos, n);
}

int reclog_replay_from(const reclog_format_t *f, const uint8_t *p, size_t n,
                       size_t pos, uint32_t expect, reclog_apply_fn apply,
                       void *ctx, reclog_replay_t *r)
{
    reclog_rec_t rec;
    size_t size;

    while (pos < n) {
        int d = decode(f, p + pos, n - pos, &rec, &size);
        if (d == REC_SHORT) { /* a write cut short by a crash */
            add_range(r, pos, n);
            r->lost++;
            r->torn = 1;
            return 0;
        }
        if (d == REC_BAD || rec.seq != expect) {
            size_t q = resync(f, p, n, pos, expect, &rec, &size);
            if (q == n) {
                tail_damage(f, r, p, n, pos);
                return 0;
            }
            add_range(r, pos, q);
            r->lost += rec.seq - expect;
            pos = q;
        }
        int e = apply(ctx, &rec);
        if (e < 0)
            return e;
        r->records++;
        expect = rec.seq + 1;
        pos += size;
    }
    return 0;
}

int reclog_replay(const reclog_format_t *f, const uint8_t *p, size_t n,
                  reclog_apply_fn apply, void *ctx, reclog_replay_t *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    out->version = f->version;
    if (n >= RECLOG_MAGIC_LEN && !memcmp(p, f->magic, RECLOG_MAGIC_LEN))
        return reclog_replay_from(f, p, n, RECLOG_MAGIC_LEN, 0, apply, ctx,
                                  out);
    /* A damaged header, or not a log at all: only a valid record says
     * which, and nothing is applied unless one is found. */
    reclog_rec_t rec;
    size_t size;
    size_t q = resync(f, p, n, 0, 0, &rec, &size);
    if (q == n)
        return -EINVAL;
    add_range(out, 0, q);
    out->lost = rec.seq;
    return reclog_replay_from(f, p, n, q, rec.seq, apply, ctx, out);
}

void reclog_replay_describe(const reclog_replay_t *r, char *buf, size_t cap)
{
    size_t k = 0;
    int w;

#define PUT(...)                                                               \
    do {                                                                       \
        w = snprintf(buf + k, cap - k, __VA_ARGS__);                           \
        k = w < 0 || (size_t)w >= cap - k ? cap - 1 : k + (size_t)w;           \
    } while (0)

    if (cap == 0)
        return;
    buf[0] = '\0';
    PUT("recovered %llu record%s, lost %llu", (unsigned long long)r->records,
        r->records == 1 ? "" : "s", (unsigned long long)r->lost);
    if (r->tail_damaged && r->lost_most > r->lost)
        PUT(" to %llu", (unsigned long long)r->lost_most);
    if (r->nranges) {
        PUT(" (damaged bytes at offsets");
        for (size_t i = 0; i < r->nranges && i < RECLOG_RANGES; i++)
            PUT("%s %llu-%llu", i ? "," : "",
                (unsigned long long)r->range[i].start,
                (unsigned long long)r->range[i].end - 1);
        if (r->nranges > RECLOG_RANGES)
            PUT(" and %zu more ranges", r->nranges - RECLOG_RANGES);
        PUT("; %llu bytes", (unsigned long long)r->damaged);
        if (r->torn)
            PUT("; the last record is cut short, as a crash while it was "
                "written leaves it");
        PUT(")");
    }
#undef PUT
}
