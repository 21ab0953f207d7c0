/*
 * udp.c — the two datagram ports of rooms-server (PROTOCOL.md, "Stage 1"
 * and "Room datagrams"): datagrams read in batches (recvmmsg), checked,
 * relayed in batches (sendmmsg).
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_FAILURES 3 /* sends in a row before a stage 1 client is gone */

/* ----------------------------------------------------------- sending */

/* struct iovec and struct msghdr take non-const pointers even for what
 * sendmmsg only reads. */
static void *unconst(const void *p)
{
    return (void *)(uintptr_t)p;
}

/* What was queued goes out in one call; a datagram the kernel refuses
 * is lost, as UDP may lose it anyway. */
void udp_flush(server_t *s)
{
    udp_batch_t *b = &s->out;
    unsigned done = 0;

    while (done < b->n) {
        int n = sendmmsg(b->fd, b->msg + done, b->n - done, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            done++; /* skip the one that failed */
        else
            done += (unsigned)n;
    }
    b->n = 0;
}

/* Queue data for `to` on fd. The bytes must stay as they are until the
 * next udp_flush (rooms.c flushes after each relay and notice). */
static void queue(server_t *s, int fd, const struct sockaddr_storage *to,
                  socklen_t len, const void *data, size_t n)
{
    udp_batch_t *b = &s->out;

    if (b->n && b->fd != fd)
        udp_flush(s);
    if (b->n == UDP_BATCH)
        udp_flush(s);
    b->fd = fd;
    b->iov[b->n] = (struct iovec){.iov_base = unconst(data), .iov_len = n};
    b->msg[b->n].msg_hdr = (struct msghdr){
        .msg_name = unconst(to),
        .msg_namelen = len,
        .msg_iov = &b->iov[b->n],
        .msg_iovlen = 1,
    };
    b->n++;
}

void udp_send(server_t *s, const rooms_addr_t *to, const void *data,
              size_t len)
{
    queue(s, s->udp_fd, &to->sa, to->len, data, len);
}

/* ------------------------------------------------------------ stage 1 */

static chat_client_t *find_client(server_t *s, const struct sockaddr *sa,
                                  socklen_t len)
{
    for (size_t i = 0; i < s->nclients; i++)
        if (s->clients[i].len == len && !memcmp(&s->clients[i].sa, sa, len))
            return &s->clients[i];
    return NULL;
}

static chat_client_t *add_client(server_t *s, const struct sockaddr *sa,
                                 socklen_t len)
{
    if (s->nclients == s->clients_cap) {
        size_t cap = s->clients_cap ? 2 * s->clients_cap : 16;
        chat_client_t *p = realloc(s->clients, cap * sizeof *p);
        if (!p)
            return NULL;
        s->clients = p;
        s->clients_cap = cap;
    }
    chat_client_t *c = &s->clients[s->nclients++];
    memset(c, 0, sizeof *c);
    memcpy(&c->sa, sa, len);
    c->len = len;
    server_info(s, "chat: a client joined (%zu now)", s->nclients);
    return c;
}

static void forget_client(server_t *s, size_t i, const char *why)
{
    s->clients[i] = s->clients[--s->nclients];
    server_info(s, "chat: a client %s (%zu left)", why, s->nclients);
}

/* The datagram, unchanged, to every other client, UDP_BATCH per call. A
 * send the kernel refuses for another reason than a full buffer counts
 * against its client (MAX_FAILURES in a row and it is forgotten). */
static void relay_chat(server_t *s, const chat_client_t *from,
                       const uint8_t *p, size_t len)
{
    struct mmsghdr msg[UDP_BATCH];
    struct iovec iov = {.iov_base = unconst(p), .iov_len = len};
    size_t who[UDP_BATCH];
    size_t i = 0;

    while (i < s->nclients) {
        unsigned n = 0, done = 0;
        for (; i < s->nclients && n < UDP_BATCH; i++) {
            chat_client_t *c = &s->clients[i];
            if (c == from)
                continue;
            who[n] = i;
            msg[n++].msg_hdr = (struct msghdr){.msg_name = &c->sa,
                                               .msg_namelen = c->len,
                                               .msg_iov = &iov,
                                               .msg_iovlen = 1};
        }
        while (done < n) {
            int r = sendmmsg(s->chat_fd, msg + done, n - done, MSG_DONTWAIT);
            if (r > 0) {
                done += (unsigned)r;
                continue;
            }
            if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
                s->clients[who[done]].failures++;
            if (errno != EINTR)
                done++;
        }
    }
}

static void on_chat_datagram(server_t *s, const uint8_t *p, size_t len,
                             const struct sockaddr *sa, socklen_t salen)
{
    chat_dgram_t d;
    int r = chat_dgram_parse(p, len, &d);

    if (r != 0) {
        server_drop(s, "chat", sa, dgram_strerror(r));
        return;
    }
    chat_client_t *c = find_client(s, sa, salen);
    if (!c && !(c = add_client(s, sa, salen)))
        return;
    c->last_seen = wsx_loop_now(s->loop);
    c->failures = 0;
    if (d.text_len) /* an empty message is a heartbeat */
        relay_chat(s, c, p, len);
}

/* ------------------------------------------------------------- rooms */

static void on_room_datagram(server_t *s, const uint8_t *p, size_t len,
                             const struct sockaddr *sa, socklen_t salen)
{
    room_dgram_t d;
    rooms_addr_t from = {.kind = ROOMS_ADDR_UDP, .len = salen};
    int r = room_dgram_parse(p, len, &d);

    if (r != 0) {
        server_drop(s, "room", sa, dgram_strerror(r));
        return;
    }
    memcpy(&from.sa, sa, salen);
    const char *why = rooms_datagram(
        &s->rooms, (const char *)d.room, d.room_len, (const char *)d.token,
        d.token_len, (const char *)d.text, d.text_len, &from,
        wsx_loop_now(s->loop));
    if (why)
        server_drop(s, "room", sa, why);
}

/* ----------------------------------------------------------- receiving */

typedef void (*datagram_fn)(server_t *s, const uint8_t *p, size_t len,
                            const struct sockaddr *sa, socklen_t salen);

/* Up to UDP_BATCH datagrams in one call, each handled in turn. */
static void receive(server_t *s, int fd, datagram_fn fn)
{
    struct mmsghdr msg[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage from[UDP_BATCH];

    for (unsigned i = 0; i < UDP_BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = s->rbuf[i], .iov_len = DGRAM_RBUF};
        msg[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
                                         .msg_namelen = sizeof from[i],
                                         .msg_iov = &iov[i],
                                         .msg_iovlen = 1};
    }
    int n = recvmmsg(fd, msg, UDP_BATCH, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++)
        fn(s, s->rbuf[i], msg[i].msg_len, (struct sockaddr *)&from[i],
           msg[i].msg_hdr.msg_namelen);
}

static void on_chat_readable(wsx_watch_t *w, int fd, unsigned ready,
                             void *user)
{
    (void)w, (void)ready;
    receive(user, fd, on_chat_datagram);
}

static void on_room_readable(wsx_watch_t *w, int fd, unsigned ready,
                             void *user)
{
    (void)w, (void)ready;
    receive(user, fd, on_room_datagram);
}

/* Stage 1 clients silent for the idle timeout are forgotten. */
void udp_sweep(server_t *s, uint64_t now)
{
    for (size_t i = s->nclients; i-- > 0;) {
        if (now - s->clients[i].last_seen > s->idle_ms)
            forget_client(s, i, "timed out");
        else if (s->clients[i].failures >= MAX_FAILURES)
            forget_client(s, i, "could not be reached");
    }
}

/* Room traffic comes in bursts (one datagram in, nine out): buffers of a
 * few MiB keep a burst from being dropped by the kernel. */
static void big_buffers(int fd)
{
    int size = 4 << 20;

    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

int udp_start(server_t *s)
{
    if (!(s->rbuf = malloc(UDP_BATCH * sizeof *s->rbuf)))
        return -1;
    s->chat_fd = server_bind(s->host, &s->chat_port, SOCK_DGRAM);
    if (s->chat_fd < 0)
        return -1;
    s->udp_fd = server_bind(s->host, &s->udp_port, SOCK_DGRAM);
    if (s->udp_fd < 0)
        return -1;
    big_buffers(s->chat_fd);
    big_buffers(s->udp_fd);
    s->chat_w = wsx_watch_start(s->loop, s->chat_fd, WSX_READABLE,
                                on_chat_readable, s);
    s->udp_w = wsx_watch_start(s->loop, s->udp_fd, WSX_READABLE,
                               on_room_readable, s);
    return s->chat_w && s->udp_w ? 0 : -1;
}

void udp_stop(server_t *s)
{
    udp_flush(s);
    if (s->chat_w)
        wsx_watch_stop(s->chat_w);
    if (s->udp_w)
        wsx_watch_stop(s->udp_w);
    s->chat_w = s->udp_w = NULL;
    if (s->chat_fd >= 0)
        close(s->chat_fd);
    if (s->udp_fd >= 0)
        close(s->udp_fd);
    s->chat_fd = s->udp_fd = -1;
    free(s->clients);
    s->clients = NULL;
    s->nclients = s->clients_cap = 0;
    free(s->rbuf);
    s->rbuf = NULL;
}
