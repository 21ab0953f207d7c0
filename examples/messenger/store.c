/*
 * store.c — durable per-receiver FIFOs for the messenger (see store.h;
 * the record format is store_log.c's, described in PROTOCOL.md).
 *
 * Memory holds the truth while running; the log exists so the truth
 * survives a crash. Every change is appended as one record before it is
 * applied in memory, so replaying the log rebuilds exactly what callers
 * were told. A crash can only leave an incomplete last record; other
 * damage (a bad sector, a zeroed page) costs only the records it touched,
 * and the bytes replay did not understand are kept in a copy of the log
 * before the startup compaction replaces it.
 */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPACT_MIN (64 * 1024)

typedef struct fifo {
    store_msg_t *msgs; /* ring of STORE_CAPACITY, allocated on first use */
    uint8_t head, count;
} fifo_t;

struct store {
    fifo_t fifo[STORE_RECEIVERS];
    reclog_file_t lf;
    uint64_t live_size; /* bytes the buffered messages take in a fresh log */
    uint64_t repaired;  /* replayed records that did not fit (see apply) */
    store_warn_fn warn;
    void *warn_ctx;
};

static void warnf(store_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warnf(store_t *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    if (!s->warn)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->warn(s->warn_ctx, line);
}

/* ------------------------------------------------------------ fifos */

static int fifo_add(fifo_t *f, uint8_t sender, const uint8_t *data, size_t len)
{
    if (f->count == STORE_CAPACITY)
        return 1;
    if (!f->msgs && !(f->msgs = malloc(STORE_CAPACITY * sizeof *f->msgs)))
        return -ENOMEM;
    store_msg_t *m = &f->msgs[(f->head + f->count) % STORE_CAPACITY];
    m->sender = sender;
    m->len = (uint8_t)len;
    if (len)
        memcpy(m->data, data, len);
    f->count++;
    return 0;
}

static void fifo_remove(fifo_t *f, store_msg_t *out)
{
    if (out)
        *out = f->msgs[f->head];
    f->head = (uint8_t)((f->head + 1) % STORE_CAPACITY);
    f->count--;
}

/* ---------------------------------------------------------- compaction */

/* log_encode_* frame a record with the number given; reclog frames it
 * again with the log's own, the same one for an append. */
#define BODY(rec, size) ((size)-LOG_HEAD - LOG_CRC)

static int emit_all(void *ctx, reclog_writer_t *w)
{
    store_t *s = ctx;
    int r = 0;
    for (int id = 0; id < STORE_RECEIVERS && r == 0; id++) {
        fifo_t *f = &s->fifo[id];
        for (unsigned i = 0; i < f->count && r == 0; i++) {
            const store_msg_t *m = &f->msgs[(f->head + i) % STORE_CAPACITY];
            uint8_t rec[LOG_MAX_RECORD];
            size_t n = log_encode_push(rec, 0, m->sender, (uint8_t)id, m->data,
                                       m->len);
            r = reclog_writer_add(w, rec, BODY(rec, n));
        }
    }
    return r;
}

/* Rewrite the log with only the buffered messages (sequence numbers from
 * 0 again), atomically (reclog_rewrite). */
static int compact(store_t *s)
{
    int r = reclog_rewrite(&s->lf, emit_all, s);
    if (r == 0)
        s->live_size = s->lf.size - LOG_MAGIC_LEN;
    return r;
}

static void maybe_compact(store_t *s)
{
    if (s->lf.size < COMPACT_MIN ||
        s->lf.size <= 2 * (s->live_size + LOG_MAGIC_LEN))
        return;
    int r = compact(s);
    if (r < 0)
        warnf(s, "log compaction failed (will retry): %s", strerror(-r));
}

/* ------------------------------------------------------------- replay */

/* One replayed record. The writer never logs a TAKE from an empty buffer
 * nor a PUSH into a full one, so meeting either means records were lost
 * before it: a lost PUSH leaves nothing to take, and a lost TAKE had
 * removed the oldest message (a TAKE always does), which is what is done
 * here before the PUSH. */
static int apply(void *ctx, const log_rec_t *rec)
{
    store_t *s = ctx;
    fifo_t *f = &s->fifo[rec->receiver];

    if (rec->type == LOG_TAKE) {
        if (f->count)
            fifo_remove(f, NULL);
        else
            s->repaired++;
        return 0;
    }
    if (f->count == STORE_CAPACITY) {
        fifo_remove(f, NULL);
        s->repaired++;
    }
    return fifo_add(f, rec->sender, rec->data, rec->len);
}

static void report_damage(store_t *s)
{
    char what[600];
    if (!s->lf.replay.nranges)
        return;
    log_replay_describe(&s->lf.replay, what, sizeof what);
    warnf(s, "damaged: %s; the damaged log is kept beside it as %s", what,
          s->lf.damaged_copy);
    if (s->repaired)
        warnf(s,
              "%llu replayed records met a buffer changed by lost ones "
              "(a TAKE from an empty buffer or a PUSH into a full one); "
              "applied as PROTOCOL.md says",
              (unsigned long long)s->repaired);
}

static int replay(void *ctx, const uint8_t *p, size_t n, log_replay_t *out)
{
    return log_replay(p, n, apply, ctx, out);
}

/* ---------------------------------------------------------------- API */

int store_open(store_t **out, const char *dir, store_fsync_t mode,
               store_warn_fn warn, void *warn_ctx, const char **msg)
{
    static const char *unused;
    store_t *s = calloc(1, sizeof *s);
    if (!msg)
        msg = &unused;
    *msg = NULL;
    if (!s)
        return -ENOMEM;
    s->warn = warn;
    s->warn_ctx = warn_ctx;

    int r = reclog_open(&s->lf, log_format(), dir, STORE_LOG_NAME,
                        (reclog_fsync_t)mode, replay, s, msg);
    if (r == 0)
        report_damage(s);
    /* Always start from a compact log in the current format: that also
     * migrates a version 1 log and leaves damage behind (in its copy). */
    if (r == 0 && (r = compact(s)) < 0)
        *msg = "cannot rewrite the log";
    if (r < 0) {
        store_close(s);
        return r;
    }
    *out = s;
    return 0;
}

int store_push(store_t *s, uint8_t sender, uint8_t receiver, const void *data,
               size_t len)
{
    uint8_t rec[LOG_MAX_RECORD];
    fifo_t *f = &s->fifo[receiver];

    if (len > STORE_MAX_PAYLOAD)
        return -EINVAL;
    if (f->count == STORE_CAPACITY)
        return 1;
    if (!f->msgs && !(f->msgs = malloc(STORE_CAPACITY * sizeof *f->msgs)))
        return -ENOMEM;
    size_t n =
        log_encode_push(rec, s->lf.next_seq, sender, receiver, data, len);
    int r = reclog_append(&s->lf, rec, BODY(rec, n));
    if (r < 0)
        return r;
    fifo_add(f, sender, data, len);
    s->live_size += n;
    return 0;
}

int store_take(store_t *s, uint8_t receiver, store_msg_t *out)
{
    uint8_t rec[LOG_TAKE_SIZE];
    fifo_t *f = &s->fifo[receiver];

    if (f->count == 0)
        return 0;
    size_t n = log_encode_take(rec, s->lf.next_seq, receiver);
    int r = reclog_append(&s->lf, rec, BODY(rec, n));
    if (r < 0)
        return r;
    s->live_size -= LOG_PUSH_SIZE(f->msgs[f->head].len);
    fifo_remove(f, out);
    maybe_compact(s);
    return 1;
}

int store_sync(store_t *s)
{
    return reclog_sync(&s->lf);
}

size_t store_count(const store_t *s, uint8_t receiver)
{
    return s->fifo[receiver].count;
}

uint64_t store_log_size(const store_t *s)
{
    return s->lf.size;
}

const log_replay_t *store_replay(const store_t *s)
{
    return &s->lf.replay;
}

const char *store_damaged_copy(const store_t *s)
{
    return s->lf.damaged_copy[0] ? s->lf.damaged_copy : NULL;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    reclog_close(&s->lf);
    for (int id = 0; id < STORE_RECEIVERS; id++)
        free(s->fifo[id].msgs);
    free(s);
}
