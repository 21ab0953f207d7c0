/*
 * tls.c — wss:// and https://: a transport (the table of wsx_int.h) that
 * runs OpenSSL over two memory BIOs, so TLS is bytes in, bytes out, like
 * libwsproto, and one epoll loop serves plain and TLS connections alike.
 *
 *   read     socket -> rbio (ciphertext) -> SSL_read -> the loop's read
 *            buffer (plaintext, as many records as fit). Records left in
 *            OpenSSL (the buffer filled first) are reported by pending()
 *            as WSX_TR_READ, and the loop reads again without waiting for
 *            epoll: the socket has nothing more to say about them.
 *   writev   SSL_write -> wbio -> send. At most WBIO_MAX bytes of
 *            ciphertext wait in wbio; beyond that the queue keeps the
 *            plaintext, so backpressure works as with plain TCP.
 *   handshake bytes OpenSSL wants to send while reading (ServerHello,
 *            Finished, tickets, alerts) wait in wbio; pending() says
 *            WSX_TR_WRITE and the loop pushes them at the end of the round.
 *            Until the handshake is done, pending() says WSX_TR_HANDSHAKE:
 *            queued output waits, and no writability is asked for it.
 *   shutdown close_notify, then SHUT_WR once it is on the wire.
 *   close    close_notify (best effort) and the socket.
 *
 * Policy (both ends): TLS 1.2 and up, no renegotiation, ALPN http/1.1.
 * A client sends SNI and checks the chain (system store or --ca) and the
 * host name, unless told not to (--insecure).
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef WSX_HAVE_OPENSSL

#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Ciphertext read from the socket per read(2), and the most that may wait
 * in wbio for the socket before the queue keeps the rest as plaintext. */
#define READ_CHUNK (32u * 1024u)
#define WBIO_MAX (64u * 1024u)
/* An emptied BIO whose buffer grew past this is replaced by a new one. */
#define BIO_KEEP (16u * 1024u)

/* RFC 7301 §3.1: the protocol list, each name prefixed by its length. */
static const unsigned char alpn_http11[] = "\x08http/1.1";

struct wsx_tls {
    SSL_CTX *ctx;
    int server;
    char *cert, *key; /* server: the files, read again by reload */
};

typedef struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* ciphertext from / to the peer */
    uint8_t done;     /* the handshake is over */
    uint8_t kick;     /* ... just now: queued output may go */
    uint8_t shut;     /* close_notify queued: SHUT_WR after it */
    uint8_t failed;   /* err says why */
    uint8_t closed;   /* the peer's close_notify arrived */
    char err[200];
} tls_conn_t;

/* ------------------------------------------------------------- errors */

/* OpenSSL's reason for the last failure, its queue emptied. */
static void take_ssl_error(char *buf, size_t cap, const char *what)
{
    unsigned long e = ERR_get_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    snprintf(buf, cap, "%s%s%s", what, r ? ": " : "", r ? r : "");
    ERR_clear_error();
}

/* A plain http:// or ws:// request on the TLS port: told so in its own
 * language (it could not read an alert), as web servers do. */
static void answer_plain_http(tls_conn_t *t)
{
    static const char resp[] = "HTTP/1.1 400 Bad Request\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 45\r\n"
                               "Connection: close\r\n\r\n"
                               "this port speaks TLS: use https:// or wss://\n";

    (void)BIO_reset(t->wbio);
    BIO_write(t->wbio, resp, (int)sizeof resp - 1);
}

/* A client's handshake answered by something that does not speak TLS
 * (a plain HTTP server's 400, say). */
static int not_tls(unsigned long e)
{
    int r = ERR_GET_REASON(e);

    return r == SSL_R_WRONG_VERSION_NUMBER ||
           r == SSL_R_PACKET_LENGTH_TOO_LONG ||
           r == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* A connection failed: remember why (once), for tls_error(). */
static void fail(wsx_conn_t *c, tls_conn_t *t)
{
    const char *what = t->done ? "TLS error" : "TLS handshake failed";
    long v = SSL_get_verify_result(t->ssl);

    if (t->failed)
        return;
    t->failed = 1;
    if (SSL_is_server(t->ssl) &&
        ERR_GET_REASON(ERR_peek_error()) == SSL_R_HTTP_REQUEST)
        answer_plain_http(t);
    if (v != X509_V_OK && !SSL_is_server(t->ssl) &&
        (SSL_get_verify_mode(t->ssl) & SSL_VERIFY_PEER)) {
        /* The certificate was refused: its reason says more than
         * "certificate verify failed". */
        snprintf(t->err, sizeof t->err, "%s: certificate verify failed: %s",
                 what, X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else if (!t->done && !SSL_is_server(t->ssl) &&
               not_tls(ERR_peek_error())) {
        take_ssl_error(t->err, sizeof t->err, what);
        strncat(t->err, " (not a TLS port?)",
                sizeof t->err - strlen(t->err) - 1);
    } else {
        take_ssl_error(t->err, sizeof t->err, what);
    }
    /* A server says so once for each such peer (a plain client on the
     * TLS port, an old TLS version); a client reports it by on_error. */
    if (SSL_is_server(t->ssl))
        wsx_log(c, 0, "%s", t->err);
}

/* ------------------------------------------------------------ context */

static SSL_CTX *ctx_new(int server, char *err, size_t cap)
{
    SSL_CTX *ctx =
        SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

    if (!ctx) {
        take_ssl_error(err, cap, "cannot create a TLS context");
        return NULL;
    }
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /* A renegotiation (TLS 1.2) is refused with an alert: it is a way to
     * make a server do handshakes for nothing, and we need none. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Record buffers are freed while a connection is idle: an idle TLS
     * connection keeps its SSL object, not 2 x 16 KiB of buffers. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

/* RFC 7301 §3.2: http/1.1 when offered; a client offering only other
 * protocols gets no_application_protocol. */
static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    unsigned char *sel;

    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, alpn_http11, sizeof alpn_http11 - 1,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The server's files into a new context: errors name the file. */
static SSL_CTX *server_ctx(const char *cert, const char *key, char *err,
                           size_t cap)
{
    SSL_CTX *ctx = ctx_new(1, err, cap);
    char what[600];

    if (!ctx)
        return NULL;
    snprintf(what, sizeof what, "cannot load certificate '%s'", cert);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        goto fail;
    snprintf(what, sizeof what, "cannot load private key '%s'", key);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            goto mismatch;
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
        goto mismatch;
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
mismatch:
    snprintf(what, sizeof what,
             "private key '%s' does not match certificate '%s'", key, cert);
fail:
    take_ssl_error(err, cap, what);
    SSL_CTX_free(ctx);
    return NULL;
}

wsx_tls_t *wsx_tls_server_new(const char *cert, const char *key, char *err,
                              size_t cap)
{
    wsx_tls_t *t = calloc(1, sizeof *t);

    if (!t || !(t->cert = strdup(cert)) || !(t->key = strdup(key))) {
        snprintf(err, cap, "out of memory");
        wsx_tls_free(t);
        return NULL;
    }
    t->server = 1;
    if (!(t->ctx = server_ctx(cert, key, err, cap))) {
        wsx_tls_free(t);
        return NULL;
    }
    return t;
}

wsx_tls_t *wsx_tls_client_new(const char *ca, int insecure, char *err,
                              size_t cap)
{
    wsx_tls_t *t = calloc(1, sizeof *t);

    if (!t) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (!(t->ctx = ctx_new(0, err, cap)))
        goto fail;
    if (!insecure) {
        char what[600];
        snprintf(what, sizeof what, "cannot load CA file '%s'", ca ? ca : "");
        if (ca ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1
               : SSL_CTX_set_default_verify_paths(t->ctx) != 1) {
            take_ssl_error(err, cap,
                           ca ? what : "cannot load the system CA store");
            goto fail;
        }
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    return t;
fail:
    wsx_tls_free(t);
    return NULL;
}

int wsx_tls_reload(wsx_tls_t *t, char *err, size_t cap)
{
    SSL_CTX *ctx;

    if (!t->server) {
        snprintf(err, cap, "a client context has nothing to reload");
        return -1;
    }
    if (!(ctx = server_ctx(t->cert, t->key, err, cap)))
        return -1; /* the old certificate stays */
    /* Connections hold their own reference to the old context. */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

void wsx_tls_free(wsx_tls_t *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert);
    free(t->key);
    free(t);
}

const char *wsx_tls_files(const wsx_tls_t *t)
{
    return t->cert ? t->cert : "";
}

int wsx_tls_available(void)
{
    return 1;
}

const char *wsx_tls_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

/* ------------------------------------------------------------ the peer */

/* Client: SNI (RFC 6066 §3: not for an address) and the name the
 * certificate must carry (RFC 6125; an address: RFC 5280 iPAddress). */
static int set_peer_name(SSL *ssl, const char *host)
{
    unsigned char addr[16];
    int ip = inet_pton(AF_INET, host, addr) == 1 ||
             inet_pton(AF_INET6, host, addr) == 1;

    if (ip)
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) == 1
                   ? 0
                   : -1;
    /* The macro casts away const; the function itself copies host. */
    if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 (void *)(uintptr_t)host) != 1)
        return -1;
    return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

static BIO *mem_bio(void)
{
    BIO *b = BIO_new(BIO_s_mem());

    /* Empty means "no more for now" (WANT_READ), not EOF. */
    if (b)
        BIO_set_mem_eof_return(b, -1);
    return b;
}

/* A memory BIO keeps the largest size it ever had; an idle connection
 * should not keep the buffers of its last big message. */
static int oversized(BIO *b)
{
    BUF_MEM *bm = NULL;

    return !BIO_ctrl_pending(b) && BIO_get_mem_ptr(b, &bm) > 0 && bm &&
           bm->max > BIO_KEEP;
}

static void trim(tls_conn_t *t)
{
    BIO *b;

    if (oversized(t->rbio) && (b = mem_bio())) {
        SSL_set0_rbio(t->ssl, b); /* frees the old one */
        t->rbio = b;
    }
    if (oversized(t->wbio) && (b = mem_bio())) {
        SSL_set0_wbio(t->ssl, b);
        t->wbio = b;
    }
}

static int tls_open(wsx_conn_t *c)
{
    wsx_tls_t *ctx = c->ep->tr_ctx;
    tls_conn_t *t = calloc(1, sizeof *t);

    if (!t)
        return -1;
    c->tr_data = t;
    t->ssl = SSL_new(ctx->ctx);
    t->rbio = mem_bio();
    t->wbio = mem_bio();
    if (!t->ssl || !t->rbio || !t->wbio)
        goto fail;
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    if (ctx->server) {
        SSL_set_accept_state(t->ssl);
        return 0;
    }
    SSL_set_connect_state(t->ssl);
    if (SSL_set_alpn_protos(t->ssl, alpn_http11, sizeof alpn_http11 - 1) ||
        (c->ep->host && set_peer_name(t->ssl, c->ep->host) != 0))
        return -1;
    /* The ClientHello goes into wbio; the end of the round sends it. */
    int r = SSL_do_handshake(t->ssl);
    return r == 1 || SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_READ ? 0 : -1;
fail: /* before SSL_set_bio: the BIOs are still ours (t->ssl is not) */
    BIO_free(t->rbio);
    BIO_free(t->wbio);
    return -1;
}

/* ------------------------------------------------------------- output */

/* Send what waits in wbio. 0 when it is empty, -1 with errno (EAGAIN:
 * some is left for the next writable event). */
static int push(wsx_conn_t *c, tls_conn_t *t)
{
    char *p;
    long len;

    while ((len = BIO_get_mem_data(t->wbio, &p)) > 0) {
        ssize_t n = send(c->fd, p, (size_t)len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EINTR ? push(c, t) : -1;
        if (n == len) {
            (void)BIO_reset(t->wbio); /* read-write mem BIO: emptied */
            break;
        }
        /* A partial send: drop what went (rare; the kernel took less). */
        char sink[4096];
        for (size_t left = (size_t)n; left;) {
            int k = BIO_read(t->wbio, sink,
                             (int)(left < sizeof sink ? left : sizeof sink));
            left -= (size_t)k;
        }
        errno = EAGAIN;
        return -1;
    }
    if (t->shut && !t->failed) {
        t->shut = 0;
        shutdown(c->fd, SHUT_WR);
    }
    return 0;
}

static ssize_t encrypt_iov(wsx_conn_t *c, tls_conn_t *t, struct iovec *iov,
                           int iovcnt)
{
    size_t taken = 0;

    for (int i = 0; i < iovcnt; i++) {
        const uint8_t *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (left) {
            size_t room = WBIO_MAX, n = left < room ? left : room, w;
            if (SSL_write_ex(t->ssl, p, n, &w) != 1) {
                fail(c, t);
                errno = EPROTO;
                return -1;
            }
            p += w;
            left -= w;
            taken += w;
            /* Full: send it, and stop while the socket will not take
             * more (the queue keeps the rest as plaintext). */
            if ((size_t)BIO_ctrl_pending(t->wbio) >= WBIO_MAX &&
                push(c, t) != 0)
                return errno == EAGAIN ? (ssize_t)taken : -1;
        }
    }
    return (ssize_t)taken;
}

static ssize_t tls_writev(wsx_conn_t *c, struct iovec *iov, int iovcnt)
{
    tls_conn_t *t = c->tr_data;
    ssize_t n;

    t->kick = 0;
    if (t->failed) {
        errno = EPROTO;
        return -1;
    }
    if (push(c, t) != 0)
        return -1;
    if (!t->done) {
        errno = EAGAIN; /* plaintext waits for the handshake */
        return -1;
    }
    if (iovcnt == 0)
        return 0;
    n = encrypt_iov(c, t, iov, iovcnt);
    if (n > 0 && push(c, t) != 0 && errno != EAGAIN)
        return -1;
    trim(t);
    return n;
}

static int tls_shutdown(wsx_conn_t *c)
{
    tls_conn_t *t = c->tr_data;

    /* RFC 8446 §6.1: close_notify before our side closes. */
    if (t->done && !t->failed)
        SSL_shutdown(t->ssl);
    t->shut = 1;
    return push(c, t) != 0 && errno != EAGAIN ? -1 : 0;
}

static void tls_close(wsx_conn_t *c)
{
    tls_conn_t *t = c->tr_data;

    if (t) {
        /* close_notify if the peer has not had it, or the alert of a
         * failure: best effort, the socket is going now. */
        if (t->done && !t->failed &&
            !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
            SSL_shutdown(t->ssl);
        t->shut = 0;
        if (t->ssl)
            (void)push(c, t);
        if (t->ssl)
            SSL_free(t->ssl); /* frees both BIOs */
        free(t);
        c->tr_data = NULL;
    }
    close(c->fd);
}

/* -------------------------------------------------------------- input */

/* Ciphertext from the socket into rbio: > 0, 0 at EOF, -1 with errno. */
static ssize_t fill(wsx_conn_t *c, tls_conn_t *t)
{
    uint8_t buf[READ_CHUNK];
    ssize_t n = read(c->fd, buf, sizeof buf);

    if (n > 0 && BIO_write(t->rbio, buf, (int)n) != (int)n) {
        errno = ENOMEM;
        return -1;
    }
    return n;
}

/* Plaintext into buf, as much as there is, up to cap. */
static ssize_t decrypt(wsx_conn_t *c, tls_conn_t *t, uint8_t *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        size_t n = 0;
        int r = SSL_read_ex(t->ssl, buf + got, cap - got, &n);
        if (!t->done && SSL_is_init_finished(t->ssl)) {
            t->done = 1;
            t->kick = 1; /* a client's request is queued */
        }
        if (r == 1) {
            got += n;
            continue;
        }
        switch (SSL_get_error(t->ssl, r)) {
        case SSL_ERROR_WANT_READ: {
            ssize_t k = fill(c, t);
            if (k > 0)
                continue;
            if (got)
                return (ssize_t)got; /* EOF or EAGAIN: the next read */
            if (k == 0 && !t->done && !SSL_is_server(t->ssl)) {
                t->failed = 1;
                snprintf(t->err, sizeof t->err,
                         "TLS handshake failed: the server closed the "
                         "connection (not a TLS port?)");
                errno = EPROTO;
                return -1;
            }
            return k;
        }
        case SSL_ERROR_ZERO_RETURN:
            /* close_notify: the peer's EOF, after the bytes before it
             * (pending() makes the loop come back for it: the socket
             * may have nothing more to say). */
            t->closed = 1;
            return got ? (ssize_t)got : 0;
        default:
            fail(c, t);
            if (got)
                return (ssize_t)got;
            errno = EPROTO;
            return -1;
        }
    }
    return (ssize_t)got;
}

static ssize_t tls_read(wsx_conn_t *c, uint8_t *buf, size_t cap, uint8_t **data)
{
    tls_conn_t *t = c->tr_data;
    ssize_t n;
    int e;

    *data = buf;
    if (t->failed) {
        errno = EPROTO;
        return -1;
    }
    if (t->closed)
        return 0;
    n = decrypt(c, t, buf, cap);
    e = errno;
    trim(t);
    errno = e;
    return n;
}

static unsigned tls_pending(const wsx_conn_t *c)
{
    const tls_conn_t *t = c->tr_data;
    unsigned p = 0;

    if (!t)
        return 0;
    if (!t->failed &&
        (t->closed || SSL_pending(t->ssl) > 0 || BIO_ctrl_pending(t->rbio)))
        p |= WSX_TR_READ;
    if (BIO_ctrl_pending(t->wbio) || t->kick || t->shut)
        p |= WSX_TR_WRITE;
    if (!t->done)
        p |= WSX_TR_HANDSHAKE;
    return p;
}

static const char *tls_error(const wsx_conn_t *c)
{
    const tls_conn_t *t = c->tr_data;

    return t && t->failed ? t->err : NULL;
}

static const char *tls_describe(const wsx_conn_t *c, char *buf, size_t cap)
{
    const tls_conn_t *t = c->tr_data;

    if (!t || !t->done)
        return NULL;
    snprintf(buf, cap, "%s %s", SSL_get_version(t->ssl),
             SSL_get_cipher_name(t->ssl));
    return buf;
}

static const wsx_transport_t tls_transport = {
    .name = "tls",
    .open = tls_open,
    .read = tls_read,
    .writev = tls_writev,
    .sendfile = NULL, /* file bytes must go through SSL_write */
    .shutdown = tls_shutdown,
    .close = tls_close,
    .pending = tls_pending,
    .error = tls_error,
    .describe = tls_describe,
};

const wsx_transport_t *wsx_tls_transport(const wsx_tls_t *t)
{
    (void)t;
    return &tls_transport;
}

#else /* !WSX_HAVE_OPENSSL: built without TLS, and saying so */

static const char no_tls[] =
    "built without TLS support (install libssl-dev and rebuild)";

wsx_tls_t *wsx_tls_server_new(const char *cert, const char *key, char *err,
                              size_t cap)
{
    (void)cert;
    (void)key;
    snprintf(err, cap, "%s", no_tls);
    return NULL;
}

wsx_tls_t *wsx_tls_client_new(const char *ca, int insecure, char *err,
                              size_t cap)
{
    (void)ca;
    (void)insecure;
    snprintf(err, cap, "%s", no_tls);
    return NULL;
}

int wsx_tls_reload(wsx_tls_t *t, char *err, size_t cap)
{
    (void)t;
    snprintf(err, cap, "%s", no_tls);
    return -1;
}

void wsx_tls_free(wsx_tls_t *t)
{
    (void)t;
}

const char *wsx_tls_files(const wsx_tls_t *t)
{
    (void)t;
    return "";
}

int wsx_tls_available(void)
{
    return 0;
}

const char *wsx_tls_version(void)
{
    return "none";
}

/* No wsx_tls_t can exist, so no endpoint asks for this. */
const wsx_transport_t *wsx_tls_transport(const wsx_tls_t *t)
{
    (void)t;
    return &wsx_tcp_transport;
}

#endif

const char *wsx_conn_tls(const wsx_conn_t *c, char *buf, size_t cap)
{
    return c->tr->describe && c->fd >= 0 ? c->tr->describe(c, buf, cap) : NULL;
}

/* ------------------------------------------------- command-line options */

int wsx_opts_tls_server(wsx_opts_t *o, const char *prog, const char *cert,
                        const char *key)
{
    char err[1024];

    if (!cert && !key)
        return 0;
    if (!cert || !key) {
        fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", prog);
        return -1;
    }
    if (!(o->tls = wsx_tls_server_new(cert, key, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}

int wsx_opts_tls_client(wsx_opts_t *o, const char *prog, const char *url,
                        const char *ca, int insecure)
{
    char err[1024];

    if (strncasecmp(url, "wss://", 6) != 0)
        return 0;
    if (!(o->tls = wsx_tls_client_new(ca, insecure, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}
