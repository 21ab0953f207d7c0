/*
 * store.h — the messenger's message buffers: one FIFO of up to
 * STORE_CAPACITY messages per receiver ID, held in memory and made durable
 * in an append-only log (format in PROTOCOL.md). A record is written before
 * the call returns, so a caller that replies after store_push()/
 * store_take() (and, in batch mode, after store_sync()) never acknowledges
 * what a crash could lose.
 */
#ifndef MESSENGER_STORE_H
#define MESSENGER_STORE_H

#include "store_log.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_RECEIVERS 256
#define STORE_CAPACITY 100
#define STORE_MAX_PAYLOAD 254
#define STORE_LOG_NAME "messenger.log"

typedef enum store_fsync {
    STORE_FSYNC_ALWAYS, /* fdatasync after every record */
    STORE_FSYNC_BATCH,  /* fdatasync in store_sync(), once per loop round */
    STORE_FSYNC_NEVER   /* leave it to the kernel */
} store_fsync_t;

typedef struct store_msg {
    uint8_t sender;
    uint8_t len;
    uint8_t data[STORE_MAX_PAYLOAD];
} store_msg_t;

typedef struct store store_t;

/* Warnings (a damaged log, a failed compaction) go through this, one
 * line each. */
typedef void (*store_warn_fn)(void *ctx, const char *msg);

/* Open the log in dir (created if missing), replay it and compact it. A
 * damaged log is replayed around the damage (store_log.h); then a copy of
 * it is kept in dir (store_damaged_copy()) and a warning says what was
 * recovered and lost. Returns 0, or -errno with *msg describing the
 * failure: a file that is not a messenger log (left untouched), a damaged
 * log that cannot be copied, I/O errors. */
int store_open(store_t **out, const char *dir, store_fsync_t mode,
               store_warn_fn warn, void *warn_ctx, const char **msg);

/* Append a message to receiver's buffer. Returns 0, 1 when the buffer is
 * full (nothing stored), or -errno when the log cannot be written (nothing
 * stored either). len <= STORE_MAX_PAYLOAD. */
int store_push(store_t *s, uint8_t sender, uint8_t receiver, const void *data,
               size_t len);

/* Remove receiver's oldest message into *out. Returns 1, 0 when the buffer
 * is empty, or -errno (nothing removed). */
int store_take(store_t *s, uint8_t receiver, store_msg_t *out);

/* Batch mode: make every record so far durable. No-op in the other modes.
 * Returns 0 or -errno. */
int store_sync(store_t *s);

/* Messages buffered for receiver. */
size_t store_count(const store_t *s, uint8_t receiver);

/* Bytes in the log file now (for tests and compaction figures). */
uint64_t store_log_size(const store_t *s);

/* What the replay in store_open() found (version 0: there was no log). */
const log_replay_t *store_replay(const store_t *s);

/* The name (in dir) of the copy of a damaged log kept by store_open(), or
 * NULL when the log was whole. Valid until store_close(). */
const char *store_damaged_copy(const store_t *s);

void store_close(store_t *s);

#endif
