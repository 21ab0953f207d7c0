/*
 * client.c — ws:// and wss:// URLs, non-blocking connect (every resolved
 * address in turn) and the client side of the opening handshake (RFC 6455
 * §4.1); a wss:// connection gets the TLS transport (tls.c).
 * The client's endpoint ops (client_ops) are how conn.c reaches it.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* A client connection's own endpoint, with what the handshake needs. */
typedef struct wsx_client {
    wsx_endpoint_t ep; /* first: wsx_conn.ep points here */
    struct addrinfo *ai, *ai_next;
    char *request;
    size_t request_len;
    char *protocols; /* offered, to check the answer against */
    char *protocol;  /* the server's choice */
    char offer[128]; /* Sec-WebSocket-Extensions we sent, or "" */
    char key[WS_KEY_LEN + 1];
    char target[280];   /* "host:port", for messages */
    char host[256];     /* the URL's, for TLS (ep.host) */
    wsx_tls_t *own_tls; /* wss:// without opts.tls: the system store */
    int err;            /* the last connect error */
    int gai_err;        /* why the name did not resolve (getaddrinfo) */
} wsx_client_t;

static const wsx_endpoint_ops_t client_ops;

/* ------------------------------------------------------------------ URL */

int wsx_url_parse(const char *url, wsx_url_t *u)
{
    const char *p, *end;
    size_t n;

    memset(u, 0, sizeof *u);
    if (strncasecmp(url, "wss://", 6) == 0)
        u->tls = 1;
    else if (strncasecmp(url, "ws://", 5) != 0)
        return WSX_EURL;
    p = url + 5 + u->tls;
    if (*p == '[') { /* IPv6 literal */
        end = strchr(p, ']');
        if (!end)
            return WSX_EURL;
        n = (size_t)(end - p - 1);
        p++;
        end++;
    } else {
        end = p + strcspn(p, ":/?#");
        n = (size_t)(end - p);
    }
    if (n == 0 || n >= sizeof u->host)
        return WSX_EURL;
    memcpy(u->host, p, n);
    u->port = u->tls ? 443 : 80; /* RFC 6455 §3 */
    if (*end == ':') {
        char *stop;
        long port = strtol(end + 1, &stop, 10);
        if (stop == end + 1 || port < 1 || port > 65535)
            return WSX_EURL;
        u->port = (int)port;
        end = stop;
    }
    if (*end != '\0' && *end != '/' && *end != '?')
        return WSX_EURL; /* RFC 6455 §3: no fragment; junk after the port */
    if (strchr(end, '#'))
        return WSX_EURL;
    if (snprintf(u->path, sizeof u->path, "%s%s", *end == '/' ? "" : "/",
                 end) >= (int)sizeof u->path)
        return WSX_EURL;
    return 0;
}

/* -------------------------------------------------------------- connect */

static void client_release(wsx_endpoint_t *ep)
{
    wsx_client_t *cl = (wsx_client_t *)ep;

    if (cl->ai)
        freeaddrinfo(cl->ai);
    free(cl->request);
    free(cl->protocols);
    free(cl->protocol);
    wsx_tls_free(cl->own_tls);
    free(cl);
}

/* wss://: the TLS transport, with the caller's context or one of our own
 * that trusts the system store. 0 or WSX_ETLS. */
static int use_tls(wsx_client_t *cl, const wsx_url_t *u)
{
    char err[256];
    wsx_tls_t *t = cl->ep.o.tls;

    if (!t && !(t = cl->own_tls = wsx_tls_client_new(NULL, 0, err, sizeof err)))
        return WSX_ETLS;
    snprintf(cl->host, sizeof cl->host, "%s", u->host);
    cl->ep.host = cl->host;
    cl->ep.tr = wsx_tls_transport(t);
    cl->ep.tr_ctx = t;
    return 0;
}

/* Start connecting to the next address. 0, or -1 when none is left. */
static int try_connect(wsx_conn_t *c)
{
    wsx_client_t *cl = (wsx_client_t *)c->ep;

    while (cl->ai_next) {
        struct addrinfo *a = cl->ai_next;
        cl->ai_next = a->ai_next;
        int fd =
            socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            cl->err = errno;
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
            errno == EINPROGRESS) {
            c->fd = fd;
            c->evmask = 0;
            wsx_conn_update_events(c); /* writable when connected */
            return 0;
        }
        cl->err = errno;
        close(fd);
    }
    return -1;
}

static int build_request(wsx_client_t *cl, const wsx_url_t *u,
                         const wsx_client_req_t *req)
{
    char host[272];
    ws_client_request_t r = {.host = host, .path = u->path};
    size_t cap = 512 + sizeof host + sizeof cl->offer + strlen(u->path);
    ptrdiff_t n;

    /* RFC 6455 §4.1 item 4 / RFC 7230 §5.4: the port unless it is the
     * scheme's default. */
    size_t n0 = (size_t)snprintf(host, sizeof host - 8,
                                 strchr(u->host, ':') ? "[%s]" : "%s", u->host);
    snprintf(cl->target, sizeof cl->target, "%s:%d", host, u->port);
    if (u->port != (u->tls ? 443 : 80))
        snprintf(host + n0, sizeof host - n0, ":%d", u->port);
    if (req) {
        r.origin = req->origin;
        r.protocols = req->protocols;
        r.extra_headers = req->extra_headers;
        cap += (req->origin ? strlen(req->origin) : 0) +
               (req->protocols ? strlen(req->protocols) : 0) +
               (req->extra_headers ? strlen(req->extra_headers) : 0);
        if (req->protocols && !(cl->protocols = strdup(req->protocols)))
            return WS_ENOMEM;
    }
    n = wsx_deflate_offer(&cl->ep.o, cl->offer, sizeof cl->offer);
    if (n < 0)
        return (int)n;
    if (n > 0)
        r.extensions = cl->offer;
    if (ws_handshake_generate_key(NULL, NULL, cl->key) != 0)
        return WS_ERANDOM;
    if (!(cl->request = malloc(cap)))
        return WS_ENOMEM;
    n = ws_handshake_build_request(&r, cl->key, cl->request, cap);
    if (n < 0)
        return (int)n;
    cl->request_len = (size_t)n;
    return 0;
}

wsx_conn_t *wsx_connect(wsx_loop_t *loop, const char *url,
                        const wsx_client_req_t *req, const wsx_opts_t *opts,
                        const wsx_handler_t *h, void *ctx, int *err)
{
    static const wsx_handler_t no_handler;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    wsx_client_t *cl;
    wsx_conn_t *c;
    wsx_url_t u;
    char port[16];
    int r, dummy;

    if (!err)
        err = &dummy;
    if ((r = wsx_url_parse(url, &u)) != 0) {
        *err = r;
        return NULL;
    }
    if (!(cl = calloc(1, sizeof *cl))) {
        *err = WS_ENOMEM;
        return NULL;
    }
    cl->ep.loop = loop;
    cl->ep.ops = &client_ops;
    cl->ep.tr = &wsx_tcp_transport;
    cl->ep.h = h ? *h : no_handler;
    wsx_opts_resolve(&cl->ep.o, opts, WS_ROLE_CLIENT);
    cl->ep.ctx = ctx;
    cl->ep.static_fd = -1;
    if ((r = build_request(cl, &u, req)) != 0 ||
        (u.tls && (r = use_tls(cl, &u)) != 0))
        goto fail;
    snprintf(port, sizeof port, "%d", u.port);
    /* A name that does not resolve is reported by on_error, with the
     * reason, like an address that refuses. */
    if ((cl->gai_err = getaddrinfo(u.host, port, &hints, &cl->ai)) != 0)
        cl->ai = NULL;
    cl->ai_next = cl->ai;
    if (!(c = wsx_conn_new(&cl->ep, -1, WSX_ST_CONNECTING))) {
        r = WS_ENOMEM;
        goto fail;
    }
    if (try_connect(c) != 0)
        wsx_conn_mark(c); /* reported by on_error in this round */
    return c;
fail:
    client_release(&cl->ep);
    *err = r;
    return NULL;
}

/* The socket became writable (or no address could even be tried). */
static void client_connected(wsx_conn_t *c)
{
    wsx_client_t *cl = (wsx_client_t *)c->ep;
    char msg[400];
    int e = 0, one = 1;
    socklen_t len = sizeof e;

    while (c->fd >= 0) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
            e = errno;
        if (e == 0) {
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            freeaddrinfo(cl->ai);
            cl->ai = cl->ai_next = NULL;
            c->state = WSX_ST_HANDSHAKE;
            if ((c->tr->open && c->tr->open(c) != 0) ||
                wsx_out_append(c, cl->request, cl->request_len) != 0) {
                wsx_conn_lost(c, WS_ENOMEM, "out of memory");
                return;
            }
            free(cl->request);
            cl->request = NULL;
            return; /* the request goes at the end of the round */
        }
        cl->err = e;
        close(c->fd);
        c->fd = -1;
        if (try_connect(c) == 0)
            return;
    }
    if (cl->gai_err)
        snprintf(msg, sizeof msg,
                 "cannot connect to %s: the name did not resolve (%s)",
                 cl->target, gai_strerror(cl->gai_err));
    else
        snprintf(msg, sizeof msg, "cannot connect to %s: %s", cl->target,
                 strerror(cl->err ? cl->err : ECONNREFUSED));
    wsx_conn_lost(c, WSX_ECONNECT, msg);
}

/* ------------------------------------------------------------ handshake */

static void client_handshake(wsx_conn_t *c, char *buf, size_t len)
{
    wsx_client_t *cl = (wsx_client_t *)c->ep;
    ws_response_t resp;
    char msg[256];
    int r2, r = ws_handshake_parse_response_ext(
                buf, len, 0, cl->key, cl->protocols,
                cl->offer[0] ? cl->offer : NULL, &resp);

    if (r == WS_EAGAIN) {
        wsx_hs_keep(c, buf, len);
        return;
    }
    if (r > 0 && (r2 = wsx_deflate_check(c, &resp)) != 0)
        r = r2;
    if (r < 0) {
        if (r == WS_EHS_STATUS)
            snprintf(msg, sizeof msg,
                     "handshake failed: server answered %d %.*s", resp.status,
                     (int)resp.reason.len, resp.reason.ptr);
        else
            snprintf(msg, sizeof msg, "handshake failed: %s", ws_strerror(r));
        wsx_hs_done(c);
        wsx_conn_lost(c, r, msg);
        return;
    }
    if (resp.protocol.ptr &&
        !(cl->protocol = strndup(resp.protocol.ptr, resp.protocol.len))) {
        wsx_hs_done(c);
        wsx_conn_lost(c, WS_ENOMEM, "out of memory");
        return;
    }
    c->protocol = cl->protocol;
    /* on_open sees the response: its slices point into buf, kept until
     * the frames after the head are dispatched. */
    if (wsx_conn_open(c, &resp, (uint8_t *)buf + r, len - (size_t)r) != 0)
        wsx_conn_lost(c, WS_EINVAL, "bad options");
    wsx_hs_done(c);
}

static const wsx_endpoint_ops_t client_ops = {
    .role = WS_ROLE_CLIENT,
    .connected = client_connected,
    .handshake = client_handshake,
    .release = client_release,
    .reports_early = 1,
};
