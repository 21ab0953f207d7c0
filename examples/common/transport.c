/*
 * transport.c — plain TCP, the transport every connection uses today.
 * Reads go straight into the loop's shared buffer (zero copy: the engine
 * unmasks and parses them in place), writes are one sendmsg of the whole
 * queue, static files go out with sendfile. Nothing is buffered here, so
 * there is never input or output pending.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static ssize_t tcp_read(wsx_conn_t *c, uint8_t *buf, size_t cap, uint8_t **data)
{
    *data = buf;
    return read(c->fd, buf, cap);
}

static ssize_t tcp_writev(wsx_conn_t *c, struct iovec *iov, int iovcnt)
{
    /* MSG_NOSIGNAL: a peer gone away is EPIPE here, not a SIGPIPE. */
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};

    return iovcnt ? sendmsg(c->fd, &m, MSG_NOSIGNAL) : 0;
}

static ssize_t tcp_sendfile(wsx_conn_t *c, int fd, off_t *off, size_t len)
{
    return sendfile(c->fd, fd, off, len);
}

static int tcp_shutdown(wsx_conn_t *c)
{
    return shutdown(c->fd, SHUT_WR);
}

static void tcp_close(wsx_conn_t *c)
{
    close(c->fd);
}

const wsx_transport_t wsx_tcp_transport = {
    .name = "tcp",
    .read = tcp_read,
    .writev = tcp_writev,
    .sendfile = tcp_sendfile,
    .shutdown = tcp_shutdown,
    .close = tcp_close,
};
