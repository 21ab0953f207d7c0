/*
 * store_log.h — the messenger log's on-disk format (PROTOCOL.md, "Log
 * format"): encoding records, and replaying a whole log held in memory,
 * resynchronising after damage.
 *
 * Version 2 (written): the magic "WSMLOG2\n", then records
 *
 *   sync FF A5 | body length N (LE16) | sequence number (LE32) |
 *   body[N] | CRC-32C (LE32) of every byte of the record before it
 *
 * body: 01 Sender Receiver Payload (PUSH) or 02 Receiver (TAKE). Sequence
 * numbers count up from 0 in each file, so a gap after damage says exactly
 * how many records were lost. Version 1 ("WSMLOG1\n", no sync, no sequence
 * number) is still read, up to its first bad record, and then rewritten as
 * version 2 by the caller's compaction.
 *
 * Version 2 is a record log of examples/common/reclog.h (its framing,
 * replay and damage report); this file adds the two record types and
 * version 1.
 */
#ifndef MESSENGER_STORE_LOG_H
#define MESSENGER_STORE_LOG_H

#include "reclog.h"

#include <stddef.h>
#include <stdint.h>

#define LOG_MAGIC "WSMLOG2\n"
#define LOG_MAGIC_V1 "WSMLOG1\n"
#define LOG_MAGIC_LEN 8
#define LOG_PUSH 1
#define LOG_TAKE 2
#define LOG_HEAD RECLOG_HEAD /* sync, body length, sequence number */
#define LOG_CRC RECLOG_CRC
#define LOG_PUSH_SIZE(len) (LOG_HEAD + 3 + (size_t)(len) + LOG_CRC)
#define LOG_TAKE_SIZE (LOG_HEAD + 2 + LOG_CRC)
#define LOG_MAX_PAYLOAD 254
#define LOG_MAX_RECORD LOG_PUSH_SIZE(LOG_MAX_PAYLOAD)
#define LOG_RANGES RECLOG_RANGES /* damaged ranges kept for the report */

/* One decoded record; data points into the log. */
typedef struct log_rec {
    uint32_t seq;
    uint8_t type, sender, receiver, len;
    const uint8_t *data;
} log_rec_t;

/* A run of bytes that replay did not understand, and what a replay
 * found (version: 1 or 2, 0 for an empty file). */
typedef reclog_range_t log_range_t;
typedef reclog_replay_t log_replay_t;

/* Called for each record in log order. Returns 0, or -errno to stop. */
typedef int (*log_apply_fn)(void *ctx, const log_rec_t *rec);

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t log_crc32c(uint32_t crc, const uint8_t *p, size_t n);

/* Encode a record into out (LOG_PUSH_SIZE(len) or LOG_TAKE_SIZE bytes);
 * returns its size. len <= LOG_MAX_PAYLOAD. */
size_t log_encode_push(uint8_t *out, uint32_t seq, uint8_t sender,
                       uint8_t receiver, const void *data, size_t len);
size_t log_encode_take(uint8_t *out, uint32_t seq, uint8_t receiver);

/* Version 2's record log format (reclog.h), for opening the file. */
const reclog_format_t *log_format(void);

/* Replay the n bytes of a log (version 1 or 2), calling apply for every
 * record understood, and fill *out. A damaged run is skipped up to the
 * next record whose CRC holds, whose sequence number comes later and which
 * the next record (or the end of the log) follows on from. Returns 0;
 * -EINVAL when n > 0 and not one record is found (not a messenger log:
 * nothing applied); or apply's error. */
int log_replay(const uint8_t *p, size_t n, log_apply_fn apply, void *ctx,
               log_replay_t *out);

/* "recovered N records, lost M (damaged bytes at offsets A-B, ...; K
 * bytes)" ("lost M to L" when the damage reaches the end) into
 * buf: what the server says after a replay that skipped bytes. */
void log_replay_describe(const log_replay_t *r, char *buf, size_t cap);

#endif
