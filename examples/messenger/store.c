/*
 * store.c — durable per-receiver FIFOs for the messenger (see store.h and
 * PROTOCOL.md for the log format).
 *
 * Memory holds the truth while running; the log exists so the truth
 * survives a crash. Every change is appended as one record (with a CRC)
 * before it is applied in memory, so replaying the log rebuilds exactly
 * what callers were told. A crash can only ever leave an incomplete last
 * record, which replay detects and cuts off.
 */
#define _GNU_SOURCE
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_PUSH 1
#define REC_TAKE 2
#define PUSH_OVERHEAD 8 /* type, sender, receiver, length, CRC32 */
#define TAKE_LEN 6      /* type, receiver, CRC32 */
#define COMPACT_MIN (64 * 1024)

static const char MAGIC[8] = "WSMLOG1\n";

typedef struct fifo {
    store_msg_t *msgs; /* ring of STORE_CAPACITY, allocated on first use */
    uint8_t head, count;
} fifo_t;

struct store {
    fifo_t fifo[STORE_RECEIVERS];
    int fd;
    int dir_fd;
    store_fsync_t mode;
    int unsynced;        /* batch mode: records written since the last sync */
    uint64_t log_size;   /* bytes in the log */
    uint64_t live_size;  /* bytes the buffered messages take in a fresh log */
    store_warn_fn warn;
    void *warn_ctx;
};

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bit by bit:
 * records are at most 262 bytes, so a table would buy nothing. */
static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put_crc(uint8_t *rec, size_t n)
{
    uint32_t c = crc32(rec, n);
    for (int i = 0; i < 4; i++)
        rec[n + (size_t)i] = (uint8_t)(c >> (8 * i));
}

static int crc_ok(const uint8_t *rec, size_t n)
{
    uint32_t c = crc32(rec, n);
    for (int i = 0; i < 4; i++)
        if (rec[n + (size_t)i] != (uint8_t)(c >> (8 * i)))
            return 0;
    return 1;
}

static void warnf(store_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warnf(store_t *s, const char *fmt, ...)
{
    char line[256];
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

/* ------------------------------------------------------------ writing */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Append one record. On failure (the write, or in always mode the
 * fdatasync) the log is cut back to where it was: no partial record is
 * left for the next append, and the log never holds a record the caller
 * was told had failed. */
static int append(store_t *s, const uint8_t *rec, size_t n)
{
    int r = write_all(s->fd, rec, n);
    if (r == 0 && s->mode == STORE_FSYNC_ALWAYS && fdatasync(s->fd) != 0)
        r = -errno;
    if (r < 0) {
        if (ftruncate(s->fd, (off_t)s->log_size) != 0)
            warnf(s, "cannot cut back the log after a failed write: %s",
                  strerror(errno));
        return r;
    }
    s->log_size += n;
    s->unsynced = s->mode == STORE_FSYNC_BATCH;
    return 0;
}

static size_t push_record(uint8_t *rec, uint8_t sender, uint8_t receiver,
                          const void *data, size_t len)
{
    rec[0] = REC_PUSH;
    rec[1] = sender;
    rec[2] = receiver;
    rec[3] = (uint8_t)len;
    memcpy(rec + 4, data, len);
    put_crc(rec, 4 + len);
    return PUSH_OVERHEAD + len;
}

/* ---------------------------------------------------------- compaction */

/* Rewrite the log with only the buffered messages: a temporary file,
 * made durable, renamed over the log, the directory synced so the rename
 * itself survives a power loss. */
static int compact(store_t *s)
{
    static const char tmp_name[] = STORE_LOG_NAME ".tmp";
    int fd = openat(s->dir_fd, tmp_name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, (const uint8_t *)MAGIC, sizeof MAGIC);
    uint64_t size = sizeof MAGIC;
    for (int id = 0; id < STORE_RECEIVERS && r == 0; id++) {
        fifo_t *f = &s->fifo[id];
        for (unsigned i = 0; i < f->count && r == 0; i++) {
            const store_msg_t *m = &f->msgs[(f->head + i) % STORE_CAPACITY];
            uint8_t rec[PUSH_OVERHEAD + STORE_MAX_PAYLOAD];
            size_t n = push_record(rec, m->sender, (uint8_t)id, m->data, m->len);
            r = write_all(fd, rec, n);
            size += n;
        }
    }
    if (r == 0 && s->mode != STORE_FSYNC_NEVER && fdatasync(fd) != 0)
        r = -errno;
    if (r == 0 && renameat(s->dir_fd, tmp_name, s->dir_fd, STORE_LOG_NAME) != 0)
        r = -errno;
    if (r == 0 && s->mode != STORE_FSYNC_NEVER && fsync(s->dir_fd) != 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        unlinkat(s->dir_fd, tmp_name, 0);
        return r;
    }
    /* The new file is the log now; keep appending to it. */
    close(s->fd);
    s->fd = openat(s->dir_fd, STORE_LOG_NAME, O_WRONLY | O_APPEND | O_CLOEXEC);
    close(fd);
    if (s->fd < 0)
        return -errno;
    s->log_size = size;
    s->live_size = size - sizeof MAGIC;
    s->unsynced = 0;
    return 0;
}

static void maybe_compact(store_t *s)
{
    if (s->log_size < COMPACT_MIN || s->log_size <= 2 * (s->live_size + sizeof MAGIC))
        return;
    int r = compact(s);
    if (r < 0)
        warnf(s, "log compaction failed (will retry): %s", strerror(-r));
}

/* ------------------------------------------------------------- replay */

typedef struct reader {
    int fd;
    uint8_t buf[65536];
    size_t len, pos;
} reader_t;

/* Make n bytes available at r->buf + r->pos. Returns 1, or 0 at end of
 * file (fewer than n bytes left), or -errno. */
static int reader_need(reader_t *r, size_t n)
{
    if (r->len - r->pos >= n)
        return 1;
    memmove(r->buf, r->buf + r->pos, r->len - r->pos);
    r->len -= r->pos;
    r->pos = 0;
    while (r->len < n) {
        ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return 0;
        r->len += (size_t)got;
    }
    return 1;
}

/* Apply one record at the reader's position. Returns its length, 0 when
 * the rest of the file is not a valid record (torn or corrupt), or -errno. */
static long replay_one(store_t *s, reader_t *r)
{
    int ok = reader_need(r, 2);
    if (ok <= 0)
        return ok;
    const uint8_t *p = r->buf + r->pos;
    if (p[0] == REC_TAKE) {
        if ((ok = reader_need(r, TAKE_LEN)) <= 0)
            return ok;
        p = r->buf + r->pos;
        if (!crc_ok(p, 2) || s->fifo[p[1]].count == 0)
            return 0;
        fifo_remove(&s->fifo[p[1]], NULL);
        return TAKE_LEN;
    }
    if (p[0] != REC_PUSH)
        return 0;
    if ((ok = reader_need(r, 4)) <= 0)
        return ok;
    p = r->buf + r->pos;
    size_t n = PUSH_OVERHEAD + p[3];
    if (p[3] > STORE_MAX_PAYLOAD || (ok = reader_need(r, n)) <= 0)
        return p[3] > STORE_MAX_PAYLOAD ? 0 : ok;
    p = r->buf + r->pos;
    if (!crc_ok(p, 4 + (size_t)p[3]))
        return 0;
    int added = fifo_add(&s->fifo[p[2]], p[1], p + 4, p[3]);
    if (added < 0)
        return added;
    return added == 0 ? (long)n : 0; /* a 101st message: not ours */
}

static int replay(store_t *s, const char **msg)
{
    reader_t *r = malloc(sizeof *r);
    if (!r)
        return -ENOMEM;
    r->fd = s->fd;
    r->len = r->pos = 0;

    int ok = reader_need(r, sizeof MAGIC);
    uint64_t good = 0;
    if (ok < 0 || (ok == 1 && memcmp(r->buf, MAGIC, sizeof MAGIC) != 0)) {
        free(r);
        *msg = ok < 0 ? "cannot read the log" : "not a messenger log";
        return ok < 0 ? ok : -EINVAL;
    }
    if (ok == 1) {
        r->pos = sizeof MAGIC;
        good = sizeof MAGIC;
        long n;
        while ((n = replay_one(s, r)) > 0) {
            r->pos += (size_t)n;
            good += (uint64_t)n;
        }
        if (n < 0) {
            free(r);
            *msg = "cannot replay the log";
            return (int)n;
        }
    }
    free(r);

    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return -errno;
    if ((uint64_t)st.st_size != good) {
        warnf(s, "log %s: dropped %llu bytes of torn or corrupt records at "
                 "offset %llu", good ? "tail" : "header",
              (unsigned long long)((uint64_t)st.st_size - good),
              (unsigned long long)good);
    }
    s->log_size = good;
    return 0;
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
    s->mode = mode;
    s->warn = warn;
    s->warn_ctx = warn_ctx;
    s->fd = -1;
    s->dir_fd = -1;

    int r = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        r = -errno, *msg = "cannot create the data directory";
    if (r == 0 && (s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        r = -errno, *msg = "cannot open the data directory";
    if (r == 0 && (s->fd = openat(s->dir_fd, STORE_LOG_NAME,
                                  O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        r = -errno, *msg = "cannot open the log";
    if (r == 0)
        r = replay(s, msg);
    /* Live size from what was replayed; then always start from a compact
     * log, which also removes any torn tail for good. */
    for (int id = 0; r == 0 && id < STORE_RECEIVERS; id++)
        for (unsigned i = 0; i < s->fifo[id].count; i++)
            s->live_size += PUSH_OVERHEAD +
                s->fifo[id].msgs[(s->fifo[id].head + i) % STORE_CAPACITY].len;
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
    uint8_t rec[PUSH_OVERHEAD + STORE_MAX_PAYLOAD];
    fifo_t *f = &s->fifo[receiver];

    if (len > STORE_MAX_PAYLOAD)
        return -EINVAL;
    if (f->count == STORE_CAPACITY)
        return 1;
    if (!f->msgs && !(f->msgs = malloc(STORE_CAPACITY * sizeof *f->msgs)))
        return -ENOMEM;
    size_t n = push_record(rec, sender, receiver, data, len);
    int r = append(s, rec, n);
    if (r < 0)
        return r;
    fifo_add(f, sender, data, len);
    s->live_size += n;
    return 0;
}

int store_take(store_t *s, uint8_t receiver, store_msg_t *out)
{
    uint8_t rec[TAKE_LEN] = {REC_TAKE, receiver};
    fifo_t *f = &s->fifo[receiver];

    if (f->count == 0)
        return 0;
    put_crc(rec, 2);
    int r = append(s, rec, sizeof rec);
    if (r < 0)
        return r;
    s->live_size -= PUSH_OVERHEAD + f->msgs[f->head].len;
    fifo_remove(f, out);
    maybe_compact(s);
    return 1;
}

int store_sync(store_t *s)
{
    if (!s->unsynced)
        return 0;
    s->unsynced = 0;
    return fdatasync(s->fd) == 0 ? 0 : -errno;
}

size_t store_count(const store_t *s, uint8_t receiver)
{
    return s->fifo[receiver].count;
}

uint64_t store_log_size(const store_t *s)
{
    return s->log_size;
}

void store_close(store_t *s)
{
    if (!s)
        return;
    if (s->fd >= 0) {
        store_sync(s);
        close(s->fd);
    }
    if (s->dir_fd >= 0)
        close(s->dir_fd);
    for (int id = 0; id < STORE_RECEIVERS; id++)
        free(s->fifo[id].msgs);
    free(s);
}
