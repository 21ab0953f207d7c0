/*
 * server.c — listening, accepting up to a limit, and the server side of
 * the opening handshake: an upgrade is decided (on_upgrade) and, accepted,
 * answered with the 101 and opened; a plain request goes to the HTTP side
 * (http.c); a bad head gets its 400/426/431. The server's endpoint ops
 * (server_ops) are how conn.c reaches the handshake here.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ACCEPTS_PER_ROUND 64

static const wsx_endpoint_ops_t server_ops;

/* ------------------------------------------------------------ listening */

static int listen_on(const char *host, int port, int *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai, *a;
    char name[256], service[16];
    size_t n = strlen(host);
    int fd = -1, one = 1;

    /* "[::1]" as in URLs */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof name) {
        memcpy(name, host + 1, n - 2);
        name[n - 2] = '\0';
        host = name;
    }
    snprintf(service, sizeof service, "%d", port);
    if (port < 0 || port > 65535 || getaddrinfo(host, service, &hints, &ai)) {
        *err = EINVAL;
        return -1;
    }
    *err = EADDRNOTAVAIL;
    for (a = ai; a; a = a->ai_next) {
        fd =
            socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            *err = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        *err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

wsx_server_t *wsx_server_new(wsx_loop_t *loop, const char *host, int port,
                             const wsx_opts_t *opts, const wsx_handler_t *h,
                             void *ctx)
{
    static const wsx_handler_t no_handler;
    wsx_server_t *s = calloc(1, sizeof *s);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int err = 0;

    if (!s)
        return NULL;
    s->kind = WSX_IO_LISTEN;
    s->fd = -1;
    s->ep.loop = loop;
    s->ep.ops = &server_ops;
    s->ep.h = h ? *h : no_handler;
    wsx_opts_resolve(&s->ep.o, opts, WS_ROLE_SERVER);
    wsx_budget_adopt(loop, s->ep.o.max_buffered);
    s->ep.tr = &wsx_tcp_transport;
    if (s->ep.o.tls && !s->ep.o.raw) { /* https:// and wss:// */
        s->ep.tr = wsx_tls_transport(s->ep.o.tls);
        s->ep.tr_ctx = s->ep.o.tls;
    }
    s->ep.ctx = ctx;
    s->ep.server = s;
    s->ep.static_fd = -1;
    if (s->ep.o.static_dir) {
        s->ep.static_fd =
            open(s->ep.o.static_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->ep.static_fd < 0) {
            err = errno;
            goto fail;
        }
    }
    s->fd = listen_on(host, port, &err);
    if (s->fd < 0)
        goto fail;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0) {
        wsx_format_addr((struct sockaddr *)&ss, s->addr, sizeof s->addr);
        s->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
    }
    if (wsx_epoll_add(loop, s->fd, EPOLLIN, s) != 0) {
        err = errno;
        goto fail;
    }
    s->next = loop->servers;
    loop->servers = s;
    loop->nservers++;
    return s;
fail:
    if (s->fd >= 0)
        close(s->fd);
    if (s->ep.static_fd >= 0)
        close(s->ep.static_fd);
    free(s);
    errno = err;
    return NULL;
}

int wsx_server_port(const wsx_server_t *s)
{
    return s->port;
}

const char *wsx_server_address(const wsx_server_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", s->addr);
    return buf;
}

size_t wsx_server_count(const wsx_server_t *s)
{
    return s->ep.nopen;
}

wsx_conn_t *wsx_server_next(wsx_server_t *s, wsx_conn_t *prev)
{
    wsx_conn_t *c = prev ? prev->next : s->ep.loop->conns;

    while (c && !(c->ep == &s->ep && wsx_conn_is_open(c)))
        c = c->next;
    return c;
}

void wsx_server_close(wsx_server_t *s)
{
    if (s->fd < 0)
        return;
    epoll_ctl(s->ep.loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    s->ep.loop->nservers--;
}

/* ------------------------------------------------------------ accepting */

/* Over the connection limit: say so and close. The request is read (and
 * dropped) first when it is already there, so the close is not a reset
 * that could destroy the answer before the client reads it. */
static void refuse_busy(wsx_server_t *s, int fd)
{
    static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
                               "Connection: close\r\n"
                               "Retry-After: 1\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 21\r\n\r\n"
                               "too many connections\n";

    /* Written before there is a connection, so only in the clear: a
     * transport with its own handshake (TLS) just gets the close. */
    if (!s->ep.o.raw && s->ep.tr == &wsx_tcp_transport &&
        send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL) > 0) {
        shutdown(fd, SHUT_WR);
        if (recv(fd, s->ep.loop->rbuf, WSX_READ_BUF, MSG_DONTWAIT) < 0) {
            (void)0; /* nothing arrived yet: the close cannot reset it */
        }
    }
    close(fd);
    if (s->ep.o.verbose)
        fprintf(stderr, "%s: refused a connection: limit of %u reached\n",
                program_invocation_short_name, s->ep.o.max_connections);
}

/* Out of descriptors: accept with the spare one and close at once, so the
 * backlog does not keep the listener readable forever. */
static void refuse_no_fd(wsx_server_t *s)
{
    wsx_loop_t *loop = s->ep.loop;
    int fd;

    if (loop->reserve_fd < 0)
        return;
    close(loop->reserve_fd);
    fd = accept(s->fd, NULL, NULL);
    if (fd >= 0)
        close(fd);
    loop->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    fprintf(stderr, "%s: out of file descriptors: refused a connection\n",
            program_invocation_short_name);
}

void wsx_server_accept(wsx_server_t *s)
{
    wsx_endpoint_t *ep = &s->ep;
    int one = 1;

    for (int i = 0; i < ACCEPTS_PER_ROUND && s->fd >= 0; i++) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                refuse_no_fd(s);
            return;
        }
        if (ep->nconns >= ep->o.max_connections) {
            refuse_busy(s, fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        wsx_conn_t *c =
            wsx_conn_new(ep, fd, ep->o.raw ? WSX_ST_RAW : WSX_ST_HANDSHAKE);
        if (!c) {
            close(fd);
            continue;
        }
        if (c->tr->open && c->tr->open(c) != 0) {
            wsx_conn_kill(c);
            continue;
        }
        wsx_conn_update_events(c);
        wsx_log(c, 2, "connected");
        if (ep->o.raw) {
            c->flags |= WSX_F_OPENED;
            ep->nopen++;
            if (ep->h.on_open)
                ep->h.on_open(c, NULL);
        }
    }
}

/* ------------------------------------------------------------ handshake */

static void reject(wsx_conn_t *c, int err)
{
    char out[512];
    ptrdiff_t n = ws_handshake_build_reject(err, out, sizeof out);

    wsx_log(c, 1, "rejected: %d %s", ws_error_http_status(err),
            ws_strerror(err));
    if (n > 0)
        wsx_out_append(c, out, (size_t)n);
    wsx_conn_finish(c);
}

/* Decide before acting: the application sees the request (and the
 * subprotocol we would pick) before anything is queued; only an accepted
 * upgrade gets its 101, then on_open, whose sends follow the 101. */
static void upgrade(wsx_conn_t *c, const ws_request_t *req, char *rest,
                    size_t rest_len)
{
    wsx_endpoint_t *ep = c->ep;
    wsx_accept_t acc = {.protocol = NULL, .headers = NULL, .reason = NULL};
    char resp[2048], ext[256];
    ptrdiff_t n;
    int status = 0;

    if (ep->o.protocols)
        acc.protocol = ws_request_select_protocol(req, ep->o.protocols);
    if (ep->h.on_upgrade)
        status = ep->h.on_upgrade(c, req, &acc);
    if (c->flags & WSX_F_DEAD)
        return;
    if (status) {
        wsx_log(c, 1, "upgrade to %.*s refused: %d", (int)req->path.len,
                req->path.ptr, status);
        wsx_http_refuse(c, status >= 400 && status <= 599 ? status : 403,
                        acc.reason);
        return;
    }
    c->protocol = acc.protocol;
    n = ws_handshake_build_response_ext(
        req, c->protocol,
        wsx_deflate_accept(c, req, ext, sizeof ext) ? ext : NULL, acc.headers,
        resp, sizeof resp);
    if (n < 0 || wsx_out_append(c, resp, (size_t)n) != 0) {
        wsx_conn_lost(c, WS_ENOMEM, "cannot answer the handshake");
        return;
    }
    wsx_log(c, 1, "open %.*s%s%s%s", (int)req->path.len, req->path.ptr,
            c->protocol ? " protocol " : "", c->protocol ? c->protocol : "",
            c->deflate ? " permessage-deflate" : "");
    if (wsx_conn_open(c, NULL, (uint8_t *)rest, rest_len) != 0)
        wsx_conn_lost(c, WS_EINVAL, "bad options");
}

/* A plain request is handled once its body (Content-Length) is here. */
static void plain(wsx_conn_t *c, const ws_request_t *req, char *buf, size_t len,
                  size_t head_len)
{
    ws_str_t v;
    size_t body;
    int status;

    if (ws_header_find(req->head, req->head_len, "Transfer-Encoding", &v)) {
        wsx_http_error(c, 501);
        return;
    }
    if ((status = wsx_http_body_length(req, &body)) != 0) {
        wsx_http_error(c, status);
        return;
    }
    if (len - head_len < body) {
        wsx_hs_keep(c, buf, len);
        return;
    }
    wsx_http_request(c, req, buf + head_len, body);
}

/* RFC 8446 §5.1: a TLS record starts with its content type, 22 for a
 * handshake; no HTTP method does. A wss:// or https:// client on a plain
 * port gets its 400 at once (which its TLS stack reads as a failure),
 * not after the handshake timeout, and the log says what happened. */
#define TLS_HANDSHAKE_RECORD 0x16

static void server_handshake(wsx_conn_t *c, char *buf, size_t len)
{
    ws_request_t req;
    int r;

    if (len && (unsigned char)buf[0] == TLS_HANDSHAKE_RECORD &&
        c->tr == &wsx_tcp_transport) {
        wsx_log(c, 0, "TLS handshake on a plain port (no --tls-cert): 400");
        wsx_hs_done(c);
        wsx_http_error(c, 400);
        return;
    }
    r = ws_handshake_parse_request(buf, len, 0, &req);

    if (r == WS_EAGAIN) {
        wsx_hs_keep(c, buf, len);
        return;
    }
    if (r < 0)
        reject(c, r);
    else if (!req.websocket)
        plain(c, &req, buf, len, (size_t)r);
    else
        upgrade(c, &req, buf + r, len - (size_t)r);
    /* Still waiting for a body: the bytes were kept. */
    if (c->state != WSX_ST_HANDSHAKE || (c->flags & WSX_F_DEAD) ||
        (c->flags & WSX_F_ANSWERED))
        wsx_hs_done(c);
}

static const wsx_endpoint_ops_t server_ops = {
    .role = WS_ROLE_SERVER,
    .handshake = server_handshake,
    .closes_first = 1,
};
