/*
 * wsx_int.h — what the files of examples/common share: the structs behind
 * the opaque types of wsx.h and the helpers between the layers.
 *
 * The layers, top to bottom (a file calls only the ones below it, and
 * upward only through the function tables endpoint and transport):
 *
 *   serve.c      a server program's life: process setup, loop, server
 *   loop.c       epoll rounds, signals, watchers, timers, shutdown
 *   server.c     listening, accepting, the server handshake  (endpoint
 *   client.c     connecting, the client handshake              ops)
 *   http.c       plain HTTP answers and static files
 *   broadcast.c  one frame queued on many connections
 *   conn.c       a connection: bytes in -> engine -> callbacks; sends
 *   deflate_ext.c  permessage-deflate: negotiation, per-connection state
 *   queue.c      the output queue: chunks, one writev per round
 *   frame.c      frames encoded once, reference-counted
 *   transport.c  the socket itself: read, writev, sendfile (plain TCP)
 *   tls.c        the same table over OpenSSL memory BIOs (wss, https)
 *   log.c        addresses, log lines, error strings
 *   limits.c     the memory budget and the progress rule: who is closed
 *   alloc.c      the engines' reassembly-buffer pool (counted per owner)
 *   options.c    wsx_opts_t defaults, command-line number parsing
 */
#ifndef WSX_INT_H
#define WSX_INT_H

#include "wsx.h"

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* What an epoll event's data.ptr points at: every such struct starts with
 * one of these kinds, so one byte tells them apart. */
enum { WSX_IO_CONN = 1, WSX_IO_LISTEN, WSX_IO_SIGNAL, WSX_IO_WATCH };

/* Connection states (wsx_conn.state). */
enum {
    WSX_ST_CONNECTING, /* client: non-blocking connect in progress */
    WSX_ST_HANDSHAKE,  /* reading a request or response head (and body) */
    WSX_ST_WS,         /* WebSocket: the engine decides, open or closing */
    WSX_ST_RAW,        /* plain TCP (wsx_opts_t.raw) */
    WSX_ST_DRAIN       /* flush what is queued, half-close, wait for EOF */
};

/* wsx_conn.flags */
#define WSX_F_OPENED 0x0001u    /* accepted and opened: on_close is owed */
#define WSX_F_NOTIFIED 0x0002u  /* on_close was called */
#define WSX_F_DEAD 0x0004u      /* to be freed at the end of the round */
#define WSX_F_DIRTY 0x0008u     /* on the loop's work list for the round */
#define WSX_F_OVER 0x0010u      /* queue went over high water: not reading */
#define WSX_F_PING_OUT 0x0020u  /* idle ping sent, nothing heard since */
#define WSX_F_SHUT 0x0040u      /* our sending side is shut down */
#define WSX_F_READY 0x0080u     /* on the loop's ready list (see pending) */
#define WSX_F_HTTP 0x0100u      /* a plain HTTP request is being answered */
#define WSX_F_HEAD 0x0200u      /* ... and it is a HEAD request */
#define WSX_F_ANSWERED 0x0400u  /* ... and the answer is queued */
#define WSX_F_FIRST 0x0800u     /* streaming: the next slice starts a message */
#define WSX_F_GOT_CLOSE 0x1000u /* the peer's close frame was read */
#define WSX_F_FRAGMENT 0x2000u  /* we are sending a fragmented message */
#define WSX_F_PARTIAL 0x4000u   /* a message or frame is partly received */

/* ------------------------------------------------------- transport.c */

/* wsx_transport.pending(): what the transport can do without waiting for
 * the socket to become ready. */
#define WSX_TR_READ 0x1u  /* it holds input: call read without readiness */
#define WSX_TR_WRITE 0x2u /* it holds output: call writev (even empty) */
#define WSX_TR_HANDSHAKE                                                       \
    0x4u /* its own handshake is under way (TLS):                              \
            queued output waits for it, so writability                         \
            is not asked for on the queue's behalf */

/*
 * The one place a connection's bytes meet the socket. Plain TCP is
 * wsx_tcp_transport; a TLS transport (memory BIOs) fills in the same
 * table and keeps its own buffers in c->tr_data. An endpoint's tr (set by
 * wsx_server_new and wsx_connect) is what its new connections get.
 *
 *   open      after accept/connect (NULL: nothing to set up). 0 or -1.
 *   read      the next input bytes: *data points at them, either into
 *             buf (the loop's shared read buffer, cap bytes: plain TCP
 *             reads there, zero copy) or into the transport's own buffer.
 *             They must stay valid until the next read of any connection.
 *             Returns > 0, 0 at EOF, or -1 with errno (EAGAIN: nothing).
 *   writev    take bytes from iov (iovcnt may be 0: push what is
 *             buffered). Returns the bytes taken, or -1 with errno.
 *   sendfile  NULL when the transport must see the bytes (TLS): file
 *             chunks are then read into memory and go through writev.
 *   shutdown  end our sending side (TCP: SHUT_WR; TLS: close_notify).
 *   close     free c->tr_data (NULL if open failed) and close c->fd.
 *   pending   NULL, or WSX_TR_* bits: input already buffered (the loop
 *             keeps reading without waiting for epoll: no stall on
 *             decrypted bytes), output not yet on the wire, a handshake
 *             of its own still going. A transport may produce output
 *             while reading (TLS handshake messages, alerts): it keeps
 *             it and says WSX_TR_WRITE, and the loop calls writev at the
 *             end of the round, so every write happens in writev.
 *   error     NULL, or why read/writev failed when errno cannot say it
 *             (TLS: the alert, the certificate check), else NULL.
 *   describe  NULL, or what protects the connection ("TLSv1.3 cipher")
 *             into buf, or NULL while there is nothing to say.
 */
typedef struct wsx_transport {
    const char *name;
    int (*open)(wsx_conn_t *c);
    ssize_t (*read)(wsx_conn_t *c, uint8_t *buf, size_t cap, uint8_t **data);
    ssize_t (*writev)(wsx_conn_t *c, struct iovec *iov, int iovcnt);
    ssize_t (*sendfile)(wsx_conn_t *c, int fd, off_t *off, size_t len);
    int (*shutdown)(wsx_conn_t *c);
    void (*close)(wsx_conn_t *c);
    unsigned (*pending)(const wsx_conn_t *c);
    const char *(*error)(const wsx_conn_t *c);
    const char *(*describe)(const wsx_conn_t *c, char *buf, size_t cap);
} wsx_transport_t;

extern const wsx_transport_t wsx_tcp_transport;

/* tls.c: the transport of an endpoint given a wsx_tls_t (its tr_ctx). */
const wsx_transport_t *wsx_tls_transport(const wsx_tls_t *t);

/* --------------------------------------------------------- queue.c */

enum { WSX_CH_MEM, WSX_CH_FILE, WSX_CH_FRAME };

/* A piece of the output queue: bytes [start, end) of data[] (MEM), of a
 * shared frame (FRAME), or of a file from offset off (FILE: static files
 * go out with sendfile and never sit in memory). */
typedef struct wsx_chunk {
    struct wsx_chunk *next;
    size_t start, end, cap;
    uint8_t kind;
    int fd;
    off_t off;
    wsx_frame_t *frame;
    unsigned char data[];
} wsx_chunk_t;

/* Free chunks kept for reuse, one pool per loop: 16 KiB memory chunks,
 * and the small ones that refer to a file or a shared frame (a broadcast
 * to N connections takes N of them). mem: what all the loop's queues hold
 * in memory (see wsx_queue_t), each shared frame counted once. */
typedef struct wsx_chunk_pool {
    wsx_chunk_t *free, *free_refs;
    unsigned nfree, nfree_refs;
    size_t mem;
} wsx_chunk_pool_t;

/* bytes: not yet written (files included: backpressure). mem: memory the
 * queue holds, the capacity of its memory chunks plus the whole size of
 * every shared frame it refers to (the budget's measure of a connection:
 * a slow reader is what keeps a shared frame alive). */
typedef struct wsx_queue {
    wsx_chunk_t *head, *tail;
    size_t bytes, mem;
} wsx_queue_t;

/* frame.c: a reference-counted, encoded frame. queued: how many queues
 * refer to it (the pool's mem counts it while that is nonzero). */
struct wsx_frame {
    unsigned refs, queued;
    size_t len;
    uint8_t bytes[];
};

/* Room for need contiguous bytes at the tail, then commit what was
 * written (or unreserve). NULL when out of memory. */
uint8_t *wsx_queue_reserve(wsx_queue_t *q, wsx_chunk_pool_t *p, size_t need);
void wsx_queue_commit(wsx_queue_t *q, size_t n);
void wsx_queue_unreserve(wsx_queue_t *q, wsx_chunk_pool_t *p);
int wsx_queue_file(wsx_queue_t *q, wsx_chunk_pool_t *p, int fd, off_t off,
                   size_t len);
int wsx_queue_frame(wsx_queue_t *q, wsx_chunk_pool_t *p,
                    wsx_frame_t *f); /* takes a reference */
void wsx_queue_clear(wsx_queue_t *q, wsx_chunk_pool_t *p);
/* Drop every chunk not yet begun; a head chunk partly written stays (a
 * chunk holds whole frames, so the queue still ends on a frame boundary). */
void wsx_queue_trim(wsx_queue_t *q, wsx_chunk_pool_t *p);
void wsx_chunk_pool_clear(wsx_chunk_pool_t *p);
/* Write as much as the transport takes (one writev, or one sendfile).
 * Returns the bytes written (>= 0), or -1 with errno. */
ssize_t wsx_queue_flush(wsx_queue_t *q, wsx_chunk_pool_t *p, wsx_conn_t *c);

/* ------------------------------------------------------ endpoint ops */

struct wsx_endpoint;

/*
 * What differs between the two ends of a connection (server.c and
 * client.c each define one table), so conn.c never asks which end it is.
 *   connected      CONNECTING and the socket is writable (or no address
 *                  could be tried): finish connecting (client only).
 *   handshake      head bytes (gathered: buf is the whole head so far).
 *   release        the connection is freed (a client frees its endpoint).
 *   closes_first   RFC 6455 §7.1.1: the server closes TCP first; the
 *                  client waits for the server's EOF.
 *   reports_early  failures before the WebSocket opened go to on_error
 *                  (a client asked to connect; a server's refused
 *                  requests are nobody's business but the log's).
 */
typedef struct wsx_endpoint_ops {
    ws_role_t role;
    void (*connected)(wsx_conn_t *c);
    void (*handshake)(wsx_conn_t *c, char *buf, size_t len);
    void (*release)(struct wsx_endpoint *ep);
    int closes_first;
    int reports_early;
} wsx_endpoint_ops_t;

/* The configuration connections share: a server's, or a client's own. */
typedef struct wsx_endpoint {
    wsx_loop_t *loop;
    const wsx_endpoint_ops_t *ops;
    const wsx_transport_t *tr; /* for new connections */
    void *tr_ctx;              /* what tr shares between them (a wsx_tls_t) */
    const char *host;          /* client: the URL's host (TLS: SNI, the
                                  name the certificate must carry) */
    wsx_handler_t h;
    wsx_opts_t o; /* defaults resolved */
    void *ctx;
    wsx_server_t *server;      /* NULL for a client */
    int static_fd;             /* directory of static files, or -1 */
    unsigned nconns;           /* connections in any state */
    size_t nopen;              /* between on_open and on_close */
    const ws_response_t *resp; /* a client's own, during on_open only */
} wsx_endpoint_t;

struct wsx_conn {
    uint8_t kind;        /* WSX_IO_CONN */
    uint8_t state;       /* WSX_ST_* */
    uint8_t evmask;      /* epoll events registered; 0 = not registered */
    uint16_t flags;      /* WSX_F_* */
    uint16_t prog_bytes; /* WSX_F_PARTIAL: data bytes in the window, up
                            to WSX_STALL_BYTES (enough to know) */
    int fd;
    uint32_t t0;             /* when the state's timer started (loop ms) */
    uint32_t hs_len;         /* bytes in hs */
    uint32_t prog_t0;        /* WSX_F_PARTIAL: when the progress window began */
    size_t rbuf_bytes;       /* the engine's reassembly memory (alloc.c) */
    char *hs;                /* partial head (and body) while incomplete */
    wsx_conn_t *prev, *next; /* every connection of the loop */
    wsx_conn_t *work_next;   /* the loop's work list (WSX_F_DIRTY) */
    wsx_conn_t *ready_next;  /* the loop's ready list (WSX_F_READY) */
    wsx_endpoint_t *ep;
    const wsx_transport_t *tr;
    void *tr_data; /* the transport's own state (TLS) */
    void *data;
    const char *protocol;
    struct wsx_deflate *deflate; /* permessage-deflate, when negotiated */
    wsx_queue_t out;
    ws_conn_t ws;
};

struct wsx_server {
    uint8_t kind; /* WSX_IO_LISTEN */
    int fd;
    int port;
    char addr[64];
    wsx_server_t *next;
    wsx_endpoint_t ep;
};

struct wsx_watch {
    uint8_t kind;         /* WSX_IO_WATCH */
    uint8_t dead, polled; /* polled: regular file, always ready */
    uint8_t events;       /* WSX_READABLE | WSX_WRITABLE wanted now */
    uint8_t resume;       /* events to restore on resume */
    int fd;
    wsx_loop_t *loop;
    wsx_watch_cb cb;
    void *user;
    wsx_watch_t *next;
};

struct wsx_timer {
    wsx_loop_t *loop;
    uint64_t due;
    int interval, repeat, dead;
    void (*cb)(wsx_timer_t *t, void *user);
    void *user;
    wsx_timer_t *next;
};

/* Large reassembly buffers kept for reuse by the loop (alloc.c). Every
 * engine is told (ws_options_t.rbuf_keep) to keep a buffer of up to
 * WSX_RBUF_KEEP bytes itself and to free a larger one after each message:
 * into this pool, which is what makes the two policies one. Every block
 * in use is charged to the connection whose engine asked for it
 * (loop->engine_conn while conn.c runs an engine), and to the loop's
 * rbuf_bytes: with chunks.mem that is what max_buffered bounds. */
#define WSX_POOL_BLOCKS 16
#define WSX_RBUF_KEEP (64u * 1024u)
struct wsx_block;

struct wsx_loop {
    int epfd, sigfd, reserve_fd;
    uint8_t sig_kind; /* WSX_IO_SIGNAL: the signalfd's epoll tag */
    int stop, shutting;
    unsigned signals;
    uint64_t start, now, next_sweep, shutdown_deadline;
    uint64_t (*clock)(void); /* ms, monotonic; a test may put its own */
    uint8_t *rbuf;           /* the one read buffer */
    wsx_conn_t *conns;
    wsx_conn_t *work;  /* connections to flush or free this round */
    wsx_conn_t *ready; /* connections whose transport holds input */
    wsx_server_t *servers;
    wsx_watch_t *watches;
    wsx_timer_t *timers;
    wsx_chunk_pool_t chunks;
    unsigned nservers, nconns, nwatches_active;
    ws_allocator_t allocator; /* the engines' reassembly buffers */
    struct wsx_block *pool[WSX_POOL_BLOCKS];
    unsigned npool;
    size_t pool_bytes;
    size_t rbuf_bytes;       /* reassembly blocks in use */
    size_t deflate_bytes;    /* permessage-deflate states (deflate_ext.c) */
    size_t max_buffered;     /* the budget; 0 = none (no server yet) */
    wsx_conn_t *engine_conn; /* whose engine is running (alloc.c) */
    void (*on_signal)(wsx_loop_t *loop, int signo, void *user);
    void *signal_user;
    void (*before_flush)(wsx_loop_t *loop, void *user);
    void *before_flush_user;
};

/* Loop time in ms since the loop started, wrapping (compare differences). */
static inline uint32_t wsx_now32(const wsx_loop_t *loop)
{
    return (uint32_t)(loop->now - loop->start);
}

/* Register ptr (a struct starting with its WSX_IO_* kind) with epoll. */
static inline int wsx_epoll_add(wsx_loop_t *loop, int fd, unsigned events,
                                void *ptr)
{
    struct epoll_event ev = {.events = events, .data.ptr = ptr};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ------------------------------------------------------------ log.c */
void wsx_log(const wsx_conn_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *wsx_format_addr(const struct sockaddr *sa, char *buf, size_t cap);

/* ----------------------------------------------------------- alloc.c */
void wsx_pool_init(wsx_loop_t *loop);  /* fills loop->allocator */
void wsx_pool_clear(wsx_loop_t *loop); /* frees the pooled blocks */

/* ---------------------------------------------------------- limits.c */
size_t wsx_budget(const wsx_loop_t *loop); /* max_buffered in effect */
void wsx_budget_adopt(wsx_loop_t *loop, size_t max); /* a server's */
/* Over the budget (within_round: by more than a quarter of it, since the
 * round's output is not flushed yet)? Then close the largest holders
 * until it is met again. Returns how many were closed. */
unsigned wsx_budget_enforce(wsx_loop_t *loop, int within_round);
/* The progress rule. After each feed of n bytes: ctl of them were
 * control frames, ended says whether the last message event ended a
 * message (1), began or continued one (0), or there was none (-1). */
void wsx_progress_fed(wsx_conn_t *c, size_t n, size_t ctl, int ended);
/* From the sweep: closes a stalled connection (1008) and returns 1. */
int wsx_progress_check(wsx_conn_t *c);

/* ------------------------------------------------------------ conn.c */
wsx_conn_t *wsx_conn_new(wsx_endpoint_t *ep, int fd, int state);
void wsx_conn_free(wsx_conn_t *c);
void wsx_conn_readable(wsx_conn_t *c);
void wsx_conn_writable(wsx_conn_t *c);
void wsx_conn_flush_round(wsx_conn_t *c); /* end of round: flush, events */
void wsx_conn_sweep(wsx_conn_t *c);       /* timers */
void wsx_conn_mark(wsx_conn_t *c);        /* put on the work list */
void wsx_conn_finish(wsx_conn_t *c);      /* flush, half-close, free */
void wsx_conn_kill(wsx_conn_t *c);        /* free at end of round */
void wsx_conn_lost(wsx_conn_t *c, int err, const char *msg);
/* Fail the WebSocket ourselves for a limit (RFC 6455 §7.1.7) and give
 * back its memory now: output not yet begun is dropped, the reassembly
 * buffer freed, a close with code queued, nothing more read. */
void wsx_conn_fail(wsx_conn_t *c, unsigned code, int err, const char *msg);
/* Give back the output queue and the reassembly buffer now (of a dead
 * connection; never while its engine is running: slices point there). */
void wsx_conn_release(wsx_conn_t *c);
void wsx_conn_update_events(wsx_conn_t *c);
void wsx_conn_dispatch(wsx_conn_t *c, uint8_t *buf, size_t len);
/* The WebSocket starts: engine set up, state WS, on_open (with resp for
 * a client), then the frames that came with the head. 0 or an error. */
int wsx_conn_open(wsx_conn_t *c, const ws_response_t *resp, uint8_t *rest,
                  size_t rest_len);
/* Keep an incomplete head in c->hs (no-op when it is already there);
 * free it once handled. */
void wsx_hs_keep(wsx_conn_t *c, const char *buf, size_t len);
void wsx_hs_done(wsx_conn_t *c);
/* The connection's output queue, with backpressure accounting. */
uint8_t *wsx_out_reserve(wsx_conn_t *c, size_t need);
void wsx_out_commit(wsx_conn_t *c, size_t n);
void wsx_out_unreserve(wsx_conn_t *c); /* drop an empty reserved chunk */
int wsx_out_append(wsx_conn_t *c, const void *data, size_t len);
int wsx_out_file(wsx_conn_t *c, int fd, off_t off, size_t len);
void wsx_out_account(wsx_conn_t *c, size_t n);

/* ----------------------------------------------------- deflate_ext.c */
/* Server, before the 101: 1 with the Sec-WebSocket-Extensions value in
 * ext and the state attached to c, or 0 (off, not offered, declined). */
int wsx_deflate_accept(wsx_conn_t *c, const ws_request_t *req, char *ext,
                       size_t cap);
/* Client: the offer for the request (its length; 0 when off), or an
 * error (WS_ENOBUFS, WS_EINVAL: bad wsx_opts_t.deflate). */
ptrdiff_t wsx_deflate_offer(const wsx_opts_t *o, char *out, size_t cap);
/* Client, on the 101: 0 (state attached when the server accepted), or
 * WS_EHS_EXTENSION (parameters break RFC 7692 §7.1), WS_ENOMEM. */
int wsx_deflate_check(wsx_conn_t *c, const ws_response_t *resp);
/* The engine's extension options, when negotiated. */
void wsx_deflate_options(const wsx_conn_t *c, ws_options_t *wo);
void wsx_deflate_free(wsx_conn_t *c); /* after ws_conn_destroy */

/* --------------------------------------------------------- options.c */
/* Defaults, for one end: the limits (stall_timeout, max_buffered) guard
 * a server against its many peers; a client has none unless asked. */
void wsx_opts_resolve(wsx_opts_t *o, const wsx_opts_t *in, ws_role_t role);

/* ---------------------------------------------------------- server.c */
void wsx_server_accept(wsx_server_t *s);

/* ------------------------------------------------------------ http.c */
void wsx_http_request(wsx_conn_t *c, const ws_request_t *req, const char *body,
                      size_t len);
void wsx_http_error(wsx_conn_t *c, int status);
/* A plain request's body length (0 without Content-Length): 0, or the
 * status to answer with (400 bad or repeated, 413 too long). */
int wsx_http_body_length(const ws_request_t *req, size_t *len);
/* The same, with a reason after the status in the body (NULL: none). */
void wsx_http_refuse(wsx_conn_t *c, int status, const char *reason);

#endif /* WSX_INT_H */
