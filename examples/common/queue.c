/*
 * queue.c — a connection's output queue: chunks of encoded frames (and
 * files, for static HTTP answers) written with one writev (or sendfile)
 * per loop round; the high-water mark that stops reading from the peer.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Output chunks: 16 KiB holds many small frames; bigger frames get a
 * chunk of their own size. A few free chunks are kept for reuse, so the
 * echo path does not allocate per message or per round. */
#define CHUNK_SIZE (16u * 1024u)
#define CHUNK_CAP (CHUNK_SIZE - sizeof(wsx_chunk_t))
#define MAX_FREE_CHUNKS 64
#define MAX_IOV 64

/* ------------------------------------------------------- output queue */

static wsx_chunk_t *chunk_new(wsx_loop_t *loop, size_t need)
{
    wsx_chunk_t *ch;
    size_t cap = CHUNK_CAP;

    if (need <= CHUNK_CAP && loop->free_chunks) {
        ch = loop->free_chunks;
        loop->free_chunks = ch->next;
        loop->nfree_chunks--;
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
    ch->fd = -1;
    ch->off = 0;
    return ch;
}

static void chunk_free(wsx_loop_t *loop, wsx_chunk_t *ch)
{
    if (ch->fd >= 0)
        close(ch->fd);
    if (ch->fd < 0 && ch->cap == CHUNK_CAP &&
        loop->nfree_chunks < MAX_FREE_CHUNKS) {
        ch->next = loop->free_chunks;
        loop->free_chunks = ch;
        loop->nfree_chunks++;
    } else {
        free(ch);
    }
}

static void link_tail(wsx_conn_t *c, wsx_chunk_t *ch)
{
    if (c->out_tail)
        c->out_tail->next = ch;
    else
        c->out_head = ch;
    c->out_tail = ch;
}

/* Room for `need` contiguous bytes at the end of the queue; the caller
 * then commits what it wrote (or nothing). NULL when out of memory. */
uint8_t *wsx_out_reserve(wsx_conn_t *c, size_t need)
{
    wsx_chunk_t *t = c->out_tail;

    if (t && t->fd < 0 && t->cap - t->end >= need)
        return t->data + t->end;
    t = chunk_new(c->ep->loop, need);
    if (!t)
        return NULL;
    link_tail(c, t);
    return t->data;
}

static void account(wsx_conn_t *c, size_t n)
{
    c->out_bytes += n;
    if (c->out_bytes > c->ep->o.high_water)
        c->flags |= WSX_F_OVER;
    wsx_conn_mark(c);
}

void wsx_out_commit(wsx_conn_t *c, size_t n)
{
    c->out_tail->end += n;
    account(c, n);
}

/* A reserve that was not committed leaves an empty chunk at the tail:
 * give it back rather than keep 16 KiB on an idle connection. */
void wsx_out_unreserve(wsx_conn_t *c)
{
    wsx_chunk_t *t = c->out_tail, *p;

    if (!t || t->end != t->start || t->fd >= 0)
        return;
    if (c->out_head == t) {
        c->out_head = c->out_tail = NULL;
    } else {
        for (p = c->out_head; p->next != t; p = p->next)
            ;
        p->next = NULL;
        c->out_tail = p;
    }
    chunk_free(c->ep->loop, t);
}

int wsx_out_append(wsx_conn_t *c, const void *data, size_t len)
{
    uint8_t *p = wsx_out_reserve(c, len);

    if (!p)
        return WS_ENOMEM;
    if (len)
        memcpy(p, data, len);
    wsx_out_commit(c, len);
    return 0;
}

int wsx_out_file(wsx_conn_t *c, int fd, off_t off, size_t len)
{
    wsx_chunk_t *ch = malloc(sizeof *ch);

    if (!ch)
        return WS_ENOMEM;
    ch->next = NULL;
    ch->start = 0;
    ch->end = len;
    ch->cap = 0;
    ch->fd = fd;
    ch->off = off;
    link_tail(c, ch);
    account(c, len);
    return 0;
}

/* Bytes that must go before anything queued (the 101 after on_open has
 * queued messages; a client's request). Written at once when nothing else
 * is waiting. */
int wsx_out_push_front(wsx_conn_t *c, const void *data, size_t len)
{
    const char *p = data;
    wsx_chunk_t *ch;

    if (!c->out_head) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
        if (len == 0)
            return 0;
    }
    ch = chunk_new(c->ep->loop, len);
    if (!ch)
        return WS_ENOMEM;
    memcpy(ch->data, p, len);
    ch->end = len;
    ch->next = c->out_head;
    c->out_head = ch;
    if (!c->out_tail)
        c->out_tail = ch;
    account(c, len);
    return 0;
}

void wsx_out_clear(wsx_conn_t *c)
{
    while (c->out_head) {
        wsx_chunk_t *ch = c->out_head;
        c->out_head = ch->next;
        chunk_free(c->ep->loop, ch);
    }
    c->out_tail = NULL;
    c->out_bytes = 0;
}

/* n bytes were written: release the chunks they emptied. */
static void consume(wsx_conn_t *c, size_t n)
{
    c->out_bytes -= n;
    while (c->out_head) {
        wsx_chunk_t *ch = c->out_head;
        size_t have = ch->end - ch->start;
        if (n < have) {
            ch->start += n;
            return;
        }
        n -= have;
        c->out_head = ch->next;
        if (!c->out_head)
            c->out_tail = NULL;
        chunk_free(c->ep->loop, ch);
    }
}

/* Write as much as the kernel takes: one writev of every memory chunk
 * (or one sendfile). Returns 0, or -1 with errno on a write error. */
int wsx_out_flush(wsx_conn_t *c)
{
    while (c->out_head) {
        wsx_chunk_t *ch = c->out_head;
        size_t want = 0;
        ssize_t n;

        if (ch->fd >= 0) {
            want = ch->end - ch->start;
            if (want > (1u << 20))
                want = 1u << 20;
            n = sendfile(c->fd, ch->fd, &ch->off, want);
            if (n == 0) {
                errno = EIO; /* the file shrank under us */
                return -1;
            }
        } else {
            struct iovec iov[MAX_IOV];
            struct msghdr m = {.msg_iov = iov};
            for (; ch && ch->fd < 0 && m.msg_iovlen < MAX_IOV; ch = ch->next) {
                if (ch->end == ch->start)
                    continue;
                iov[m.msg_iovlen].iov_base = ch->data + ch->start;
                iov[m.msg_iovlen].iov_len = ch->end - ch->start;
                want += ch->end - ch->start;
                m.msg_iovlen++;
            }
            n = want ? sendmsg(c->fd, &m, MSG_NOSIGNAL) : 0;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        consume(c, (size_t)n);
        /* Writes getting through to a peer we stopped reading prove it
         * alive (see the sweep). */
        if (n > 0 && (c->flags & WSX_F_OVER))
            c->t0 = wsx_now32(c->ep->loop);
        if ((size_t)n < want)
            return 0;
    }
    return 0;
}
