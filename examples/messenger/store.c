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
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COMPACT_MIN (64 * 1024)

typedef struct fifo {
    store_msg_t *msgs; /* ring of STORE_CAPACITY, allocated on first use */
    uint8_t head, count;
} fifo_t;

struct store {
    fifo_t fifo[STORE_RECEIVERS];
    int fd;
    int dir_fd;
    store_fsync_t mode;
    int unsynced;       /* batch mode: records written since the last sync */
    uint32_t next_seq;  /* sequence number of the next record */
    uint64_t log_size;  /* bytes in the log */
    uint64_t live_size; /* bytes the buffered messages take in a fresh log */
    uint64_t repaired;  /* replayed records that did not fit (see apply) */
    log_replay_t replay;
    char damaged_copy[96]; /* the copy's name in the directory, or "" */
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
    s->next_seq++;
    s->unsynced = s->mode == STORE_FSYNC_BATCH;
    return 0;
}

/* ---------------------------------------------------------- compaction */

/* Rewrite the log with only the buffered messages (sequence numbers from
 * 0 again): a temporary file, made durable, renamed over the log, the
 * directory synced so the rename itself survives a power loss. */
static int compact(store_t *s)
{
    static const char tmp_name[] = STORE_LOG_NAME ".tmp";
    int fd = openat(s->dir_fd, tmp_name,
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, (const uint8_t *)LOG_MAGIC, LOG_MAGIC_LEN);
    uint64_t size = LOG_MAGIC_LEN;
    uint32_t seq = 0;
    for (int id = 0; id < STORE_RECEIVERS && r == 0; id++) {
        fifo_t *f = &s->fifo[id];
        for (unsigned i = 0; i < f->count && r == 0; i++) {
            const store_msg_t *m = &f->msgs[(f->head + i) % STORE_CAPACITY];
            uint8_t rec[LOG_MAX_RECORD];
            size_t n = log_encode_push(rec, seq++, m->sender, (uint8_t)id,
                                       m->data, m->len);
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
    s->live_size = size - LOG_MAGIC_LEN;
    s->next_seq = seq;
    s->unsynced = 0;
    return 0;
}

static void maybe_compact(store_t *s)
{
    if (s->log_size < COMPACT_MIN ||
        s->log_size <= 2 * (s->live_size + LOG_MAGIC_LEN))
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

/* Keep the log as it was, bytes replay skipped and all, as
 * messenger.log.damaged-<UTC time>[.N], before compaction replaces it. */
static int keep_damaged(store_t *s, const uint8_t *p, size_t n)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int fd = -1;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int k = 1; fd < 0 && k < 100; k++) {
        if (k == 1)
            snprintf(s->damaged_copy, sizeof s->damaged_copy, "%s.damaged-%s",
                     STORE_LOG_NAME, stamp);
        else
            snprintf(s->damaged_copy, sizeof s->damaged_copy,
                     "%s.damaged-%s.%d", STORE_LOG_NAME, stamp, k);
        fd = openat(s->dir_fd, s->damaged_copy,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    int r = fd < 0 ? -errno : write_all(fd, p, n);
    if (r == 0 && fdatasync(fd) != 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        if (fd >= 0)
            unlinkat(s->dir_fd, s->damaged_copy, 0);
        s->damaged_copy[0] = '\0';
    }
    return r;
}

static void report_damage(store_t *s)
{
    char what[600];
    log_replay_describe(&s->replay, what, sizeof what);
    warnf(s, "damaged: %s; the damaged log is kept beside it as %s", what,
          s->damaged_copy);
    if (s->repaired)
        warnf(s,
              "%llu replayed records met a buffer changed by lost ones "
              "(a TAKE from an empty buffer or a PUSH into a full one); "
              "applied as PROTOCOL.md says",
              (unsigned long long)s->repaired);
}

static int replay(store_t *s, const char **msg)
{
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        *msg = "cannot read the log";
        return -errno;
    }
    size_t n = (size_t)st.st_size;
    if (n == 0)
        return 0;
    uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (p == MAP_FAILED) {
        *msg = "cannot read the log";
        return -errno;
    }
    int r = log_replay(p, n, apply, s, &s->replay);
    if (r == -EINVAL)
        *msg = "not a messenger log (no valid record in it); move it away "
               "to start with an empty log";
    else if (r < 0)
        *msg = "cannot replay the log";
    if (r == 0 && s->replay.nranges) {
        r = keep_damaged(s, p, n);
        if (r < 0)
            *msg = "the log is damaged and a copy of it cannot be kept";
        else
            report_damage(s);
    }
    munmap(p, n);
    return r;
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
    if (r == 0 &&
        (s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        r = -errno, *msg = "cannot open the data directory";
    if (r == 0 && (s->fd = openat(s->dir_fd, STORE_LOG_NAME,
                                  O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        r = -errno, *msg = "cannot open the log";
    if (r == 0)
        r = replay(s, msg);
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
    size_t n = log_encode_push(rec, s->next_seq, sender, receiver, data, len);
    int r = append(s, rec, n);
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
    int r = append(s, rec, log_encode_take(rec, s->next_seq, receiver));
    if (r < 0)
        return r;
    s->live_size -= LOG_PUSH_SIZE(f->msgs[f->head].len);
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

const log_replay_t *store_replay(const store_t *s)
{
    return &s->replay;
}

const char *store_damaged_copy(const store_t *s)
{
    return s->damaged_copy[0] ? s->damaged_copy : NULL;
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
