/*
 * reclog.h — an append-only log of records with opaque bodies, and its
 * replay, which survives damage anywhere in the file, not only a torn
 * tail. The messenger's log (examples/messenger/store_log.h) and the
 * chat's (examples/chat/store.c) are both written in it.
 *
 * A file: an 8-byte magic naming the application's format, then records
 *
 *   sync FF A5 | body length N (LE16) | sequence number (LE32) |
 *   body[N] | CRC-32C (LE32) of every byte of the record before it
 *
 * Sequence numbers count up from 0 in each file, so a gap after damage
 * says exactly how many records were lost. A format bounds the body's
 * length and may check its first bytes: the tighter the rules, the fewer
 * record-shaped runs of bytes inside damage can pass for records.
 *
 * Part two: the file itself — opened and replayed (mmap), appended to,
 * synced per the fsync mode, rewritten whole (compaction) by a
 * temporary file renamed over it, and a damaged file kept aside.
 */
#ifndef WSX_RECLOG_H
#define WSX_RECLOG_H

#include <stddef.h>
#include <stdint.h>

#define RECLOG_MAGIC_LEN 8
#define RECLOG_HEAD 8 /* sync, body length, sequence number */
#define RECLOG_CRC 4
#define RECLOG_MAX_BODY 65535u
#define RECLOG_SIZE(body) (RECLOG_HEAD + (size_t)(body) + RECLOG_CRC)
#define RECLOG_RANGES 8 /* damaged ranges remembered for the report */

typedef struct reclog_format {
    const char *not_log;       /* what reclog_open says of a file that is not
                                  such a log: "not a messenger log (...)" */
    const char *magic;         /* RECLOG_MAGIC_LEN bytes */
    int version;               /* reported in reclog_replay_t.version */
    size_t min_body, max_body; /* 1 <= min_body <= max_body <= 65535 */
    /* Is this body one the application writes? NULL: any. */
    int (*valid)(const uint8_t *body, size_t len);
} reclog_format_t;

/* One record; body points into the log. */
typedef struct reclog_rec {
    uint32_t seq;
    const uint8_t *body;
    size_t len;
} reclog_rec_t;

/* A run of bytes that replay did not understand: [start, end). */
typedef struct reclog_range {
    uint64_t start, end;
} reclog_range_t;

/* What a replay found. */
typedef struct reclog_replay {
    int version;        /* the format's version (0: an empty file) */
    uint64_t records;   /* records applied */
    uint64_t lost;      /* records known to be lost */
    int tail_damaged;   /* damage runs to the end: more may be lost, */
    uint64_t lost_most; /* but no more than this in all */
    int torn;           /* the log ends inside a record: a crash while it
                           was written (so never acknowledged), or its
                           length field damaged */
    uint64_t damaged;   /* bytes not understood, in ranges */
    size_t nranges;     /* ranges found (range[] holds the first ones) */
    reclog_range_t range[RECLOG_RANGES];
} reclog_replay_t;

/* Called for each record in log order. Returns 0, or -errno to stop. */
typedef int (*reclog_apply_fn)(void *ctx, const reclog_rec_t *rec);

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t reclog_crc32c(uint32_t crc, const uint8_t *p, size_t n);

/* Frame the body already at out + RECLOG_HEAD (len bytes): the header
 * before it and the CRC after it. Returns the record's size. */
size_t reclog_frame(uint8_t *out, uint32_t seq, size_t len);

/* Replay the n bytes of a log, calling apply for every record
 * understood, and fill *out. A damaged run is skipped up to the next
 * record whose CRC holds, whose sequence number comes later and which
 * the next record (or the end of the log) follows on from. A log whose
 * magic is damaged is read from its first such record. Returns 0;
 * -EINVAL when n > 0 and not one record is found (not such a log:
 * nothing applied); or apply's error. */
int reclog_replay(const reclog_format_t *f, const uint8_t *p, size_t n,
                  reclog_apply_fn apply, void *ctx, reclog_replay_t *out);

/* The same from offset pos, the first record there numbered expect
 * (for a caller that read a header of its own). */
int reclog_replay_from(const reclog_format_t *f, const uint8_t *p, size_t n,
                       size_t pos, uint32_t expect, reclog_apply_fn apply,
                       void *ctx, reclog_replay_t *out);

/* "recovered N records, lost M (damaged bytes at offsets A-B, ...; K
 * bytes)" ("lost M to L" when the damage reaches the end) into buf. */
void reclog_replay_describe(const reclog_replay_t *r, char *buf, size_t cap);

/* ------------------------------------------------------------ the file */

typedef enum reclog_fsync {
    RECLOG_FSYNC_ALWAYS, /* fdatasync after every record */
    RECLOG_FSYNC_BATCH,  /* fdatasync in reclog_sync() */
    RECLOG_FSYNC_NEVER   /* leave it to the kernel */
} reclog_fsync_t;

typedef struct reclog_file {
    const reclog_format_t *format;
    const char *name; /* in the directory */
    int fd, dir_fd;
    reclog_fsync_t mode;
    int unsynced;      /* batch mode: records written since the last sync */
    uint32_t next_seq; /* sequence number of the next record */
    uint64_t size;     /* bytes in the file */
    reclog_replay_t replay;
    char damaged_copy[128]; /* the copy's name in the directory, or "" */
} reclog_file_t;

/* How a file's bytes are replayed: usually reclog_replay() with the
 * application's apply; an application with an older format of its own
 * reads that too. Returns what reclog_replay() does. */
typedef int (*reclog_replay_fn)(void *ctx, const uint8_t *p, size_t n,
                                reclog_replay_t *out);

/* Open dir/name (dir and file created if missing) and replay it. A
 * damaged log is kept as NAME.damaged-<UTC time>[.N] beside it first.
 * Then the caller rewrites it (reclog_rewrite). 0, or -errno with *msg
 * saying what failed (a static string: f->not_log, a damaged log that
 * cannot be copied, I/O errors); the file is then closed. */
int reclog_open(reclog_file_t *lf, const reclog_format_t *f, const char *dir,
                const char *name, reclog_fsync_t mode, reclog_replay_fn replay,
                void *ctx, const char **msg);

/* Append one record whose body was written at rec + RECLOG_HEAD (len
 * bytes, rec has room for RECLOG_SIZE(len)). On failure the file is cut
 * back to where it was. 0 or -errno. */
int reclog_append(reclog_file_t *lf, uint8_t *rec, size_t len);

/* Batch mode: make every record so far durable. 0 or -errno. */
int reclog_sync(reclog_file_t *lf);

/* Compaction: write a new file — the magic, then records that
 * emit(ctx, w) hands to reclog_writer_add — make it durable, rename it
 * over the log and keep appending to it (sequence numbers from 0). On
 * failure the old log stays as it was. 0 or -errno. */
typedef struct reclog_writer reclog_writer_t;
int reclog_rewrite(reclog_file_t *lf,
                   int (*emit)(void *ctx, reclog_writer_t *w), void *ctx);
/* One record of a rewrite, like reclog_append. 0 or -errno. */
int reclog_writer_add(reclog_writer_t *w, uint8_t *rec, size_t len);

void reclog_close(reclog_file_t *lf);

#endif
