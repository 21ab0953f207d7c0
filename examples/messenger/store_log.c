/*
 * store_log.c — the messenger log's records (store_log.h, PROTOCOL.md).
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
#include "store_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SYNC0 0xFFu /* never in UTF-8 text, rare in payloads */
#define SYNC1 0xA5u
#define MIN_BODY 2
#define MAX_BODY (3 + LOG_MAX_PAYLOAD)
#define V1_PUSH_OVERHEAD 8 /* type, sender, receiver, length, CRC-32 */
#define V1_TAKE_SIZE 6     /* type, receiver, CRC-32 */

enum { REC_BAD = -1, REC_SHORT = 0, REC_OK = 1 };

/* CRC-32C, reflected polynomial 0x82F63B78, bit by bit: records are at
 * most 269 bytes and replay runs once per start, so a table buys nothing. */
uint32_t log_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

/* The version 1 CRC: CRC-32 of IEEE 802.3, polynomial 0xEDB88320. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
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

/* ------------------------------------------------------------ encoding */

static size_t finish_record(uint8_t *out, uint32_t seq, size_t body)
{
    out[0] = SYNC0;
    out[1] = SYNC1;
    out[2] = (uint8_t)body;
    out[3] = (uint8_t)(body >> 8);
    put_le32(out + 4, seq);
    put_le32(out + LOG_HEAD + body, log_crc32c(0, out, LOG_HEAD + body));
    return LOG_HEAD + body + LOG_CRC;
}

size_t log_encode_push(uint8_t *out, uint32_t seq, uint8_t sender,
                       uint8_t receiver, const void *data, size_t len)
{
    out[LOG_HEAD] = LOG_PUSH;
    out[LOG_HEAD + 1] = sender;
    out[LOG_HEAD + 2] = receiver;
    if (len)
        memcpy(out + LOG_HEAD + 3, data, len);
    return finish_record(out, seq, 3 + len);
}

size_t log_encode_take(uint8_t *out, uint32_t seq, uint8_t receiver)
{
    out[LOG_HEAD] = LOG_TAKE;
    out[LOG_HEAD + 1] = receiver;
    return finish_record(out, seq, 2);
}

/* ------------------------------------------------------------ decoding */

/* The record at p (left bytes to the end of the log): REC_OK with *rec
 * and *size, REC_SHORT when the bytes left are the start of a record that
 * the end of the log cut off, or REC_BAD. */
static int decode(const uint8_t *p, size_t left, log_rec_t *rec, size_t *size)
{
    if (left < 1 || p[0] != SYNC0)
        return left < 1 ? REC_SHORT : REC_BAD;
    if (left < 2 || p[1] != SYNC1)
        return left < 2 ? REC_SHORT : REC_BAD;
    if (left < 4)
        return REC_SHORT;
    size_t body = (size_t)p[2] | (size_t)p[3] << 8;
    if (body < MIN_BODY || body > MAX_BODY)
        return REC_BAD;
    *size = LOG_HEAD + body + LOG_CRC;
    if (left < *size)
        return REC_SHORT;
    if (get_le32(p + LOG_HEAD + body) != log_crc32c(0, p, LOG_HEAD + body))
        return REC_BAD;
    const uint8_t *b = p + LOG_HEAD;
    rec->seq = get_le32(p + 4);
    rec->type = b[0];
    if (b[0] == LOG_PUSH && body >= 3) {
        rec->sender = b[1];
        rec->receiver = b[2];
        rec->len = (uint8_t)(body - 3);
        rec->data = b + 3;
        return REC_OK;
    }
    if (b[0] == LOG_TAKE && body == 2) {
        rec->sender = rec->len = 0;
        rec->receiver = b[1];
        rec->data = NULL;
        return REC_OK;
    }
    return REC_BAD;
}

/* A version 1 record: the same answers as decode(). */
static int decode_v1(const uint8_t *p, size_t left, log_rec_t *rec,
                     size_t *size)
{
    if (left < 2)
        return left && (p[0] == LOG_PUSH || p[0] == LOG_TAKE) ? REC_SHORT
                                                              : REC_BAD;
    if (p[0] == LOG_TAKE) {
        *size = V1_TAKE_SIZE;
        rec->receiver = p[1];
        rec->sender = rec->len = 0;
        rec->data = NULL;
    } else if (p[0] == LOG_PUSH) {
        if (left < 4)
            return REC_SHORT;
        if (p[3] > LOG_MAX_PAYLOAD)
            return REC_BAD;
        *size = V1_PUSH_OVERHEAD + p[3];
        rec->sender = p[1];
        rec->receiver = p[2];
        rec->len = p[3];
        rec->data = p + 4;
    } else {
        return REC_BAD;
    }
    if (left < *size)
        return REC_SHORT;
    if (get_le32(p + *size - 4) != crc32_ieee(p, *size - 4))
        return REC_BAD;
    rec->type = p[0];
    return REC_OK;
}

/* ------------------------------------------------------------ replay */

static void add_range(log_replay_t *r, uint64_t start, uint64_t end)
{
    r->damaged += end - start;
    if (r->nranges && r->nranges <= LOG_RANGES &&
        r->range[r->nranges - 1].end == start) {
        r->range[r->nranges - 1].end = end;
        return;
    }
    if (r->nranges < LOG_RANGES)
        r->range[r->nranges] = (log_range_t){start, end};
    r->nranges++;
}

/* Does a whole record, or the end of the log, follow at p? */
static int chains(const uint8_t *p, size_t left, uint32_t seq)
{
    log_rec_t next;
    size_t size;
    if (left == 0)
        return 1;
    int d = decode(p, left, &next, &size);
    return d == REC_SHORT || (d == REC_OK && next.seq == seq + 1);
}

/* The first offset after a bad record at pos where replay may resume, or
 * n: a whole record numbered expect or later that either chains on, or
 * whose number fits the gap (each record lost in [pos, q) took at least
 * LOG_TAKE_SIZE bytes of it) — the latter for damage close behind. */
static size_t resync(const uint8_t *p, size_t n, size_t pos, uint32_t expect,
                     log_rec_t *rec, size_t *size)
{
    for (size_t q = pos + 1; q < n; q++) {
        const uint8_t *s = memchr(p + q, SYNC0, n - q);
        if (!s)
            break;
        q = (size_t)(s - p);
        if (decode(s, n - q, rec, size) != REC_OK || rec->seq < expect)
            continue;
        if (rec->seq - expect <= (q - pos) / LOG_TAKE_SIZE ||
            chains(s + *size, n - q - *size, rec->seq))
            return q;
    }
    return n;
}

/* Damage that runs to the end: count the records whose headers still say
 * where they are, exact when they tile the damaged tail; otherwise the
 * rest could have held at most one record per LOG_TAKE_SIZE bytes. */
static void tail_damage(log_replay_t *r, const uint8_t *p, size_t n, size_t pos)
{
    size_t q = pos;
    uint64_t count = 0;
    while (n - q >= 4 && p[q] == SYNC0 && p[q + 1] == SYNC1) {
        size_t body = (size_t)p[q + 2] | (size_t)p[q + 3] << 8;
        if (body < MIN_BODY || body > MAX_BODY ||
            n - q < LOG_HEAD + body + LOG_CRC)
            break;
        q += LOG_HEAD + body + LOG_CRC;
        count++;
    }
    r->lost += count;
    r->tail_damaged = q != n || count == 0;
    r->lost_most = r->lost;
    if (r->tail_damaged)
        r->lost_most += 1 + (n - q) / LOG_TAKE_SIZE;
    add_range(r, pos, n);
}

/* Records from pos on, the first of them numbered expect. */
static int replay_v2(const uint8_t *p, size_t n, size_t pos, uint32_t expect,
                     log_apply_fn apply, void *ctx, log_replay_t *r)
{
    log_rec_t rec;
    size_t size;

    while (pos < n) {
        int d = decode(p + pos, n - pos, &rec, &size);
        if (d == REC_SHORT) { /* a write cut short by a crash */
            add_range(r, pos, n);
            r->lost++;
            r->torn = 1;
            return 0;
        }
        if (d == REC_BAD || rec.seq != expect) {
            size_t q = resync(p, n, pos, expect, &rec, &size);
            if (q == n) {
                tail_damage(r, p, n, pos);
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

/* Version 1 has no sync marks: it is read up to its first bad record. */
static int replay_v1(const uint8_t *p, size_t n, log_apply_fn apply, void *ctx,
                     log_replay_t *r)
{
    size_t pos = LOG_MAGIC_LEN, size;
    log_rec_t rec;

    while (pos < n) {
        int d = decode_v1(p + pos, n - pos, &rec, &size);
        if (d != REC_OK) {
            r->lost = 1;
            r->torn = d == REC_SHORT;
            r->tail_damaged = d == REC_BAD;
            r->lost_most = r->tail_damaged ? 1 + (n - pos) / V1_TAKE_SIZE : 1;
            add_range(r, pos, n);
            return 0;
        }
        rec.seq = (uint32_t)r->records;
        int e = apply(ctx, &rec);
        if (e < 0)
            return e;
        r->records++;
        pos += size;
    }
    return 0;
}

int log_replay(const uint8_t *p, size_t n, log_apply_fn apply, void *ctx,
               log_replay_t *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    if (n >= LOG_MAGIC_LEN && !memcmp(p, LOG_MAGIC_V1, LOG_MAGIC_LEN)) {
        out->version = 1;
        return replay_v1(p, n, apply, ctx, out);
    }
    out->version = 2;
    if (n >= LOG_MAGIC_LEN && !memcmp(p, LOG_MAGIC, LOG_MAGIC_LEN))
        return replay_v2(p, n, LOG_MAGIC_LEN, 0, apply, ctx, out);
    /* A damaged header, or not a log at all: only a valid record says
     * which, and nothing is applied unless one is found. */
    log_rec_t rec;
    size_t size;
    size_t q = resync(p, n, 0, 0, &rec, &size);
    if (q == n)
        return -EINVAL;
    add_range(out, 0, q);
    out->lost = rec.seq;
    return replay_v2(p, n, q, rec.seq, apply, ctx, out);
}

void log_replay_describe(const log_replay_t *r, char *buf, size_t cap)
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
        for (size_t i = 0; i < r->nranges && i < LOG_RANGES; i++)
            PUT("%s %llu-%llu", i ? "," : "",
                (unsigned long long)r->range[i].start,
                (unsigned long long)r->range[i].end - 1);
        if (r->nranges > LOG_RANGES)
            PUT(" and %zu more ranges", r->nranges - LOG_RANGES);
        PUT("; %llu bytes", (unsigned long long)r->damaged);
        if (r->torn)
            PUT("; the last record is cut short, as a crash while it was "
                "written leaves it");
        PUT(")");
    }
#undef PUT
}
