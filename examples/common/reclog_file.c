/*
 * reclog_file.c — a record log on disk (reclog.h, part two).
 *
 * Every change is appended as one record before the caller applies it,
 * so replaying the file rebuilds exactly what callers were told. A crash
 * can only leave an incomplete last record; other damage (a bad sector,
 * a zeroed page) costs only the records it touched, and the bytes replay
 * did not understand are kept in a copy of the file before the caller's
 * compaction replaces it.
 */
#define _GNU_SOURCE
#include "reclog.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct reclog_writer {
    int fd;
    uint32_t seq;
    uint64_t size;
};

/* Keep the log as it was, bytes replay skipped and all, as
 * NAME.damaged-<UTC time>[.N], before compaction replaces it. */
static int keep_damaged(reclog_file_t *lf, const uint8_t *p, size_t n)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int fd = -1;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int k = 1; fd < 0 && k < 100; k++) {
        if (k == 1)
            snprintf(lf->damaged_copy, sizeof lf->damaged_copy, "%s.damaged-%s",
                     lf->name, stamp);
        else
            snprintf(lf->damaged_copy, sizeof lf->damaged_copy,
                     "%s.damaged-%s.%d", lf->name, stamp, k);
        fd = openat(lf->dir_fd, lf->damaged_copy,
                    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    int r = fd < 0 ? -errno : wsx_write_all(fd, p, n);
    if (r == 0 && fdatasync(fd) != 0)
        r = -errno;
    if (fd >= 0)
        close(fd);
    if (r < 0) {
        if (fd >= 0)
            unlinkat(lf->dir_fd, lf->damaged_copy, 0);
        lf->damaged_copy[0] = '\0';
    }
    return r;
}

static int replay(reclog_file_t *lf, reclog_replay_fn fn, void *ctx,
                  const char **msg)
{
    struct stat st;
    if (fstat(lf->fd, &st) != 0) {
        *msg = "cannot read the log";
        return -errno;
    }
    size_t n = (size_t)st.st_size;
    if (n == 0)
        return 0;
    uint8_t *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, lf->fd, 0);
    if (p == MAP_FAILED) {
        *msg = "cannot read the log";
        return -errno;
    }
    int r = fn(ctx, p, n, &lf->replay);
    if (r == -EINVAL)
        *msg = lf->format->not_log;
    else if (r < 0)
        *msg = "cannot replay the log";
    if (r == 0 && lf->replay.nranges && (r = keep_damaged(lf, p, n)) < 0)
        *msg = "the log is damaged and a copy of it cannot be kept";
    munmap(p, n);
    return r;
}

int reclog_open(reclog_file_t *lf, const reclog_format_t *f, const char *dir,
                const char *name, reclog_fsync_t mode, reclog_replay_fn fn,
                void *ctx, const char **msg)
{
    memset(lf, 0, sizeof *lf);
    lf->format = f;
    lf->name = name;
    lf->mode = mode;
    lf->fd = lf->dir_fd = -1;
    int r = 0;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        r = -errno, *msg = "cannot create the data directory";
    if (r == 0 &&
        (lf->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        r = -errno, *msg = "cannot open the data directory";
    if (r == 0 && (lf->fd = openat(lf->dir_fd, name,
                                   O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
        r = -errno, *msg = "cannot open the log";
    if (r == 0)
        r = replay(lf, fn, ctx, msg);
    if (r < 0)
        reclog_close(lf);
    return r;
}

/* On failure (the write, or in always mode the fdatasync) the log is cut
 * back to where it was: no partial record is left for the next append,
 * and the log never holds a record the caller was told had failed. */
int reclog_append(reclog_file_t *lf, uint8_t *rec, size_t len)
{
    size_t n = reclog_frame(rec, lf->next_seq, len);
    int r = wsx_write_all(lf->fd, rec, n);
    if (r == 0 && lf->mode == RECLOG_FSYNC_ALWAYS && fdatasync(lf->fd) != 0)
        r = -errno;
    if (r < 0) {
        if (ftruncate(lf->fd, (off_t)lf->size) != 0)
            r = -errno;
        return r;
    }
    lf->size += n;
    lf->next_seq++;
    lf->unsynced = lf->mode == RECLOG_FSYNC_BATCH;
    return 0;
}

int reclog_sync(reclog_file_t *lf)
{
    if (!lf->unsynced)
        return 0;
    lf->unsynced = 0;
    return fdatasync(lf->fd) == 0 ? 0 : -errno;
}

int reclog_writer_add(reclog_writer_t *w, uint8_t *rec, size_t len)
{
    size_t n = reclog_frame(rec, w->seq++, len);
    w->size += n;
    return wsx_write_all(w->fd, rec, n);
}

/* Written whole and durable before the rename, the directory synced so
 * the rename itself survives a power loss. */
int reclog_rewrite(reclog_file_t *lf,
                   int (*emit)(void *ctx, reclog_writer_t *w), void *ctx)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", lf->name);
    int fd =
        openat(lf->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    reclog_writer_t w = {fd, 0, RECLOG_MAGIC_LEN};
    int r = wsx_write_all(fd, lf->format->magic, RECLOG_MAGIC_LEN);
    if (r == 0)
        r = emit(ctx, &w);
    if (r == 0 && lf->mode != RECLOG_FSYNC_NEVER && fdatasync(fd) != 0)
        r = -errno;
    if (r == 0 && renameat(lf->dir_fd, tmp, lf->dir_fd, lf->name) != 0)
        r = -errno;
    if (r == 0 && lf->mode != RECLOG_FSYNC_NEVER && fsync(lf->dir_fd) != 0)
        r = -errno;
    if (r < 0) {
        close(fd);
        unlinkat(lf->dir_fd, tmp, 0);
        return r;
    }
    /* The new file is the log now; keep appending to it. */
    close(lf->fd);
    lf->fd = openat(lf->dir_fd, lf->name, O_WRONLY | O_APPEND | O_CLOEXEC);
    close(fd);
    if (lf->fd < 0)
        return -errno;
    lf->size = w.size;
    lf->next_seq = w.seq;
    lf->unsynced = 0;
    return 0;
}

void reclog_close(reclog_file_t *lf)
{
    if (lf->fd >= 0) {
        reclog_sync(lf);
        close(lf->fd);
    }
    if (lf->dir_fd >= 0)
        close(lf->dir_fd);
    lf->fd = lf->dir_fd = -1;
}
