/*
 * queue.c — an output queue: chunks of encoded frames, shared broadcast
 * frames and files (static HTTP answers), written through the
 * connection's transport with one writev (or one sendfile) per loop
 * round. It knows nothing of connections beyond handing one to the
 * transport: backpressure accounting is the caller's (conn.c). It counts
 * the memory it holds (q->mem, and p->mem for all of a loop's queues:
 * the budget of limits.c), from the moment a chunk is linked until it is
 * unlinked.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Output chunks: 16 KiB holds many small frames; bigger frames get a
 * chunk of their own size. A few free chunks are kept for reuse, so the
 * echo path does not allocate per message or per round. */
#define CHUNK_SIZE (16u * 1024u)
#define CHUNK_CAP (CHUNK_SIZE - sizeof(wsx_chunk_t))
#define MAX_FREE_CHUNKS 64
#define MAX_FREE_REFS 4096
#define MAX_IOV 64
/* A file chunk through a transport without sendfile: read this much. */
#define FILE_COPY (16u * 1024u)
#define SENDFILE_MAX (1u << 20)

static wsx_chunk_t *chunk_alloc(wsx_chunk_pool_t *p, size_t need)
{
    wsx_chunk_t *ch;
    size_t cap = CHUNK_CAP;

    if (need <= CHUNK_CAP && p->free) {
        ch = p->free;
        p->free = ch->next;
        p->nfree--;
    } else {
        if (need > CHUNK_CAP) {
            if (need > SIZE_MAX - sizeof *ch)
                return NULL;
            cap = need;
        }
        ch = malloc(sizeof *ch + cap);
        if (!ch)
            return NULL;
        ch->cap = cap;
    }
    ch->next = NULL;
    ch->start = ch->end = 0;
    ch->kind = WSX_CH_MEM;
    ch->fd = -1;
    ch->off = 0;
    ch->frame = NULL;
    return ch;
}

/* A chunk that holds no bytes of its own (a file or a shared frame). */
static wsx_chunk_t *chunk_ref(wsx_chunk_pool_t *p, uint8_t kind, size_t len)
{
    wsx_chunk_t *ch = p->free_refs;

    if (ch) {
        p->free_refs = ch->next;
        p->nfree_refs--;
    } else if (!(ch = malloc(sizeof *ch))) {
        return NULL;
    }
    memset(ch, 0, sizeof *ch);
    ch->kind = kind;
    ch->end = len;
    ch->fd = -1;
    return ch;
}

static int keep(wsx_chunk_t **list, unsigned *n, unsigned max, wsx_chunk_t *ch)
{
    if (*n >= max)
        return 0;
    ch->next = *list;
    *list = ch;
    ++*n;
    return 1;
}

static void chunk_free(wsx_chunk_pool_t *p, wsx_chunk_t *ch)
{
    int kept;

    if (ch->kind == WSX_CH_FILE)
        close(ch->fd);
    if (ch->kind == WSX_CH_FRAME)
        wsx_frame_release(ch->frame);
    if (ch->kind != WSX_CH_MEM)
        kept = keep(&p->free_refs, &p->nfree_refs, MAX_FREE_REFS, ch);
    else
        kept = ch->cap == CHUNK_CAP &&
               keep(&p->free, &p->nfree, MAX_FREE_CHUNKS, ch);
    if (!kept)
        free(ch);
}

static void free_list(wsx_chunk_t **list, unsigned *n)
{
    while (*list) {
        wsx_chunk_t *ch = *list;
        *list = ch->next;
        free(ch);
    }
    *n = 0;
}

void wsx_chunk_pool_clear(wsx_chunk_pool_t *p)
{
    free_list(&p->free, &p->nfree);
    free_list(&p->free_refs, &p->nfree_refs);
}

/* The memory a chunk stands for: a memory chunk's capacity, a shared
 * frame's size (the pool counts it once, while any queue holds it), none
 * for a file. */
static size_t chunk_mem(const wsx_chunk_t *ch)
{
    switch (ch->kind) {
    case WSX_CH_MEM:
        return ch->cap;
    case WSX_CH_FRAME:
        return ch->frame->len;
    default:
        return 0;
    }
}

static void hold(wsx_queue_t *q, wsx_chunk_pool_t *p, const wsx_chunk_t *ch)
{
    q->mem += chunk_mem(ch);
    if (ch->kind != WSX_CH_FRAME || ch->frame->queued++ == 0)
        p->mem += chunk_mem(ch);
}

/* An unlinked chunk goes: uncounted, then freed or kept for reuse. */
static void drop(wsx_queue_t *q, wsx_chunk_pool_t *p, wsx_chunk_t *ch)
{
    q->mem -= chunk_mem(ch);
    if (ch->kind != WSX_CH_FRAME || --ch->frame->queued == 0)
        p->mem -= chunk_mem(ch);
    chunk_free(p, ch);
}

static void link_tail(wsx_queue_t *q, wsx_chunk_pool_t *p, wsx_chunk_t *ch)
{
    if (q->tail)
        q->tail->next = ch;
    else
        q->head = ch;
    q->tail = ch;
    hold(q, p, ch);
}

uint8_t *wsx_queue_reserve(wsx_queue_t *q, wsx_chunk_pool_t *p, size_t need)
{
    wsx_chunk_t *t = q->tail;

    if (t && t->kind == WSX_CH_MEM && t->cap - t->end >= need)
        return t->data + t->end;
    t = chunk_alloc(p, need);
    if (!t)
        return NULL;
    link_tail(q, p, t);
    return t->data;
}

void wsx_queue_commit(wsx_queue_t *q, size_t n)
{
    q->tail->end += n;
    q->bytes += n;
}

/* A reserve that was not committed leaves an empty chunk at the tail:
 * give it back rather than keep 16 KiB on an idle connection. */
void wsx_queue_unreserve(wsx_queue_t *q, wsx_chunk_pool_t *p)
{
    wsx_chunk_t *t = q->tail, *prev;

    if (!t || t->end != t->start || t->kind != WSX_CH_MEM)
        return;
    if (q->head == t) {
        q->head = q->tail = NULL;
    } else {
        for (prev = q->head; prev->next != t; prev = prev->next)
            ;
        prev->next = NULL;
        q->tail = prev;
    }
    drop(q, p, t);
}

int wsx_queue_file(wsx_queue_t *q, wsx_chunk_pool_t *p, int fd, off_t off,
                   size_t len)
{
    wsx_chunk_t *ch = chunk_ref(p, WSX_CH_FILE, len);

    if (!ch)
        return WS_ENOMEM;
    ch->fd = fd;
    ch->off = off;
    link_tail(q, p, ch);
    q->bytes += len;
    return 0;
}

int wsx_queue_frame(wsx_queue_t *q, wsx_chunk_pool_t *p, wsx_frame_t *f)
{
    wsx_chunk_t *ch = chunk_ref(p, WSX_CH_FRAME, f->len);

    if (!ch)
        return WS_ENOMEM;
    ch->frame = f;
    f->refs++;
    link_tail(q, p, ch);
    q->bytes += f->len;
    return 0;
}

void wsx_queue_clear(wsx_queue_t *q, wsx_chunk_pool_t *p)
{
    while (q->head) {
        wsx_chunk_t *ch = q->head;
        q->head = ch->next;
        drop(q, p, ch);
    }
    q->tail = NULL;
    q->bytes = 0;
}

void wsx_queue_trim(wsx_queue_t *q, wsx_chunk_pool_t *p)
{
    wsx_chunk_t *keep = q->head;

    if (!keep || keep->start == 0) {
        wsx_queue_clear(q, p);
        return;
    }
    while (keep->next) {
        wsx_chunk_t *ch = keep->next;
        keep->next = ch->next;
        q->bytes -= ch->end - ch->start;
        drop(q, p, ch);
    }
    q->tail = keep;
}

/* n bytes were written: release the chunks they emptied. */
static void consume(wsx_queue_t *q, wsx_chunk_pool_t *p, size_t n)
{
    q->bytes -= n;
    while (q->head) {
        wsx_chunk_t *ch = q->head;
        size_t have = ch->end - ch->start;
        if (n < have) {
            ch->start += n;
            if (ch->kind == WSX_CH_FILE)
                ch->off += (off_t)n;
            return;
        }
        n -= have;
        q->head = ch->next;
        if (!q->head)
            q->tail = NULL;
        drop(q, p, ch);
    }
}

static uint8_t *chunk_bytes(wsx_chunk_t *ch)
{
    return ch->kind == WSX_CH_FRAME ? ch->frame->bytes + ch->start
                                    : ch->data + ch->start;
}

/* A file chunk: sendfile, or (a transport that must see the bytes) a
 * pread of the next piece written with writev. The chunk's offset moves
 * in consume(), by what was taken. */
static ssize_t write_file(wsx_chunk_t *ch, wsx_conn_t *c, size_t *want)
{
    size_t left = ch->end - ch->start;
    uint8_t buf[FILE_COPY];
    off_t off = ch->off;
    ssize_t n;

    if (c->tr->sendfile) {
        *want = left < SENDFILE_MAX ? left : SENDFILE_MAX;
        n = c->tr->sendfile(c, ch->fd, &off, *want);
    } else {
        *want = left < sizeof buf ? left : sizeof buf;
        n = pread(ch->fd, buf, *want, off);
        if (n > 0) {
            struct iovec iov = {.iov_base = buf, .iov_len = (size_t)n};
            *want = (size_t)n;
            n = c->tr->writev(c, &iov, 1);
        }
    }
    if (n == 0 && *want) {
        errno = EIO; /* the file shrank under us */
        return -1;
    }
    return n;
}

/* Every memory chunk up to the next file, in one writev. */
static ssize_t write_memory(wsx_chunk_t *ch, wsx_conn_t *c, size_t *want)
{
    struct iovec iov[MAX_IOV];
    int n = 0;

    *want = 0;
    for (; ch && ch->kind != WSX_CH_FILE && n < MAX_IOV; ch = ch->next) {
        if (ch->end == ch->start)
            continue;
        iov[n].iov_base = chunk_bytes(ch);
        iov[n].iov_len = ch->end - ch->start;
        *want += iov[n].iov_len;
        n++;
    }
    return c->tr->writev(c, iov, n);
}

ssize_t wsx_queue_flush(wsx_queue_t *q, wsx_chunk_pool_t *p, wsx_conn_t *c)
{
    size_t total = 0;

    if (!q->head && c->tr->pending && (c->tr->pending(c) & WSX_TR_WRITE))
        if (c->tr->writev(c, NULL, 0) < 0 && errno != EAGAIN &&
            errno != EWOULDBLOCK && errno != EINTR)
            return -1;
    while (q->head) {
        size_t want = 0;
        ssize_t n = q->head->kind == WSX_CH_FILE
                        ? write_file(q->head, c, &want)
                        : write_memory(q->head, c, &want);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            return -1;
        }
        consume(q, p, (size_t)n);
        total += (size_t)n;
        if ((size_t)n < want)
            break;
    }
    return (ssize_t)total;
}
