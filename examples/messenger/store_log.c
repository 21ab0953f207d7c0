/*
 * store_log.c — the messenger log's records (store_log.h, PROTOCOL.md).
 *
 * Version 2 is framed, replayed and described by the record log of
 * examples/common/reclog.c; what is the messenger's own is the body of
 * its two records (PUSH, TAKE) — the tighter those rules, the less a
 * record-shaped run of damaged bytes can pass for one — and version 1,
 * which has no sync marks and is read up to its first bad record.
 */
#define _GNU_SOURCE
#include "store_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define V1_PUSH_OVERHEAD 8 /* type, sender, receiver, length, CRC-32 */
#define V1_TAKE_SIZE 6     /* type, receiver, CRC-32 */

enum { V1_BAD = -1, V1_SHORT = 0, V1_OK = 1 };

uint32_t log_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    return reclog_crc32c(crc, p, n);
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

static uint32_t v1_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

/* ------------------------------------------------------------ version 2 */

/* A PUSH is 01 Sender Receiver Payload, a TAKE exactly 02 Receiver. */
static int valid_body(const uint8_t *b, size_t len)
{
    return (b[0] == LOG_PUSH && len >= 3) || (b[0] == LOG_TAKE && len == 2);
}

static const reclog_format_t messenger_format = {
    "not a messenger log (no valid record in it); move it away to start "
    "with an empty log",
    LOG_MAGIC,
    2,
    2,
    3 + LOG_MAX_PAYLOAD,
    valid_body};

const reclog_format_t *log_format(void)
{
    return &messenger_format;
}

size_t log_encode_push(uint8_t *out, uint32_t seq, uint8_t sender,
                       uint8_t receiver, const void *data, size_t len)
{
    out[LOG_HEAD] = LOG_PUSH;
    out[LOG_HEAD + 1] = sender;
    out[LOG_HEAD + 2] = receiver;
    if (len)
        memcpy(out + LOG_HEAD + 3, data, len);
    return reclog_frame(out, seq, 3 + len);
}

size_t log_encode_take(uint8_t *out, uint32_t seq, uint8_t receiver)
{
    out[LOG_HEAD] = LOG_TAKE;
    out[LOG_HEAD + 1] = receiver;
    return reclog_frame(out, seq, 2);
}

/* The caller's apply, for reclog's records. */
typedef struct adapter {
    log_apply_fn apply;
    void *ctx;
} adapter_t;

static int apply_body(void *ctx, const reclog_rec_t *r)
{
    const adapter_t *a = ctx;
    log_rec_t rec = {r->seq, r->body[0], 0, r->body[1], 0, NULL};
    if (rec.type == LOG_PUSH) {
        rec.sender = r->body[1];
        rec.receiver = r->body[2];
        rec.len = (uint8_t)(r->len - 3);
        rec.data = r->body + 3;
    }
    return a->apply(a->ctx, &rec);
}

/* ------------------------------------------------------------ version 1 */

/* A version 1 record: V1_OK with *rec and *size, V1_SHORT when the end
 * of the log cuts it off, or V1_BAD. */
static int decode_v1(const uint8_t *p, size_t left, log_rec_t *rec,
                     size_t *size)
{
    if (left < 2)
        return left && (p[0] == LOG_PUSH || p[0] == LOG_TAKE) ? V1_SHORT
                                                              : V1_BAD;
    if (p[0] == LOG_TAKE) {
        *size = V1_TAKE_SIZE;
        rec->receiver = p[1];
        rec->sender = rec->len = 0;
        rec->data = NULL;
    } else if (p[0] == LOG_PUSH) {
        if (left < 4)
            return V1_SHORT;
        if (p[3] > LOG_MAX_PAYLOAD)
            return V1_BAD;
        *size = V1_PUSH_OVERHEAD + p[3];
        rec->sender = p[1];
        rec->receiver = p[2];
        rec->len = p[3];
        rec->data = p + 4;
    } else {
        return V1_BAD;
    }
    if (left < *size)
        return V1_SHORT;
    if (v1_le32(p + *size - 4) != crc32_ieee(p, *size - 4))
        return V1_BAD;
    rec->type = p[0];
    return V1_OK;
}

/* Version 1 has no sync marks: it is read up to its first bad record. */
static int replay_v1(const uint8_t *p, size_t n, log_apply_fn apply, void *ctx,
                     log_replay_t *r)
{
    size_t pos = LOG_MAGIC_LEN, size;
    log_rec_t rec;

    while (pos < n) {
        int d = decode_v1(p + pos, n - pos, &rec, &size);
        if (d != V1_OK) {
            r->lost = 1;
            r->torn = d == V1_SHORT;
            r->tail_damaged = d == V1_BAD;
            r->lost_most = r->tail_damaged ? 1 + (n - pos) / V1_TAKE_SIZE : 1;
            r->damaged = n - pos;
            r->range[0] = (log_range_t){pos, n};
            r->nranges = 1;
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

/* ------------------------------------------------------------ replay */

int log_replay(const uint8_t *p, size_t n, log_apply_fn apply, void *ctx,
               log_replay_t *out)
{
    if (n >= LOG_MAGIC_LEN && !memcmp(p, LOG_MAGIC_V1, LOG_MAGIC_LEN)) {
        memset(out, 0, sizeof *out);
        out->version = 1;
        return replay_v1(p, n, apply, ctx, out);
    }
    adapter_t a = {apply, ctx};
    return reclog_replay(&messenger_format, p, n, apply_body, &a, out);
}

void log_replay_describe(const log_replay_t *r, char *buf, size_t cap)
{
    reclog_replay_describe(r, buf, cap);
}
