/*
 * wsx_int.h — what the files of examples/common share: the structs behind
 * the opaque types of wsx.h and the helpers between loop.c, conn.c,
 * server.c, client.c and http.c.
 */
#ifndef WSX_INT_H
#define WSX_INT_H

#include "wsx.h"

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

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
#define WSX_F_OPENED 0x0001u   /* on_open accepted: on_close is owed */
#define WSX_F_NOTIFIED 0x0002u /* on_close was called */
#define WSX_F_DEAD 0x0004u     /* to be freed at the end of the round */
#define WSX_F_DIRTY 0x0008u    /* on the loop's list of work for the round */
#define WSX_F_OVER 0x0010u     /* queue went over high water: not reading */
#define WSX_F_PING_OUT 0x0020u /* idle ping sent, nothing heard since */
#define WSX_F_SHUT 0x0040u     /* shutdown(SHUT_WR) done */
#define WSX_F_CLIENT 0x0080u   /* our side is the client */
#define WSX_F_HTTP 0x0100u     /* a plain HTTP request is being answered */
#define WSX_F_HEAD 0x0200u     /* ... and it is a HEAD request */
#define WSX_F_ANSWERED 0x0400u /* ... and the answer is queued */
#define WSX_F_FIRST 0x0800u    /* streaming: the next slice starts a message */
#define WSX_F_GOT_CLOSE 0x1000u /* the peer's close frame was read */

/* A piece of the output queue: bytes in data[start..end), or, when fd is
 * not -1, end - start bytes of a file from offset off (static files go out
 * with sendfile and never sit in memory). */
typedef struct wsx_chunk {
    struct wsx_chunk *next;
    size_t start, end, cap;
    int fd;
    off_t off;
    unsigned char data[];
} wsx_chunk_t;

/* The configuration connections share: a server's, or a client's own. */
typedef struct wsx_endpoint {
    wsx_loop_t *loop;
    wsx_handler_t h;
    wsx_opts_t o;         /* defaults resolved */
    void *ctx;
    wsx_server_t *server; /* NULL for a client */
    int static_fd;        /* directory of static files, or -1 */
    unsigned nconns;      /* connections in any state */
    size_t nopen;         /* between on_open and on_close */
} wsx_endpoint_t;

struct wsx_conn {
    uint8_t kind;          /* WSX_IO_CONN */
    uint8_t state;         /* WSX_ST_* */
    uint8_t evmask;        /* epoll events registered; 0 = not registered */
    uint16_t flags;        /* WSX_F_* */
    int fd;
    uint32_t t0;           /* when the state's timer started (loop ms) */
    uint32_t hs_len;       /* bytes in hs */
    char *hs;              /* partial head (and body) while incomplete */
    wsx_conn_t *prev, *next;   /* every connection of the loop */
    wsx_conn_t *work_next;     /* the loop's work list (WSX_F_DIRTY) */
    wsx_endpoint_t *ep;
    void *data;
    const char *protocol;
    wsx_chunk_t *out_head, *out_tail;
    size_t out_bytes;
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
    uint8_t kind; /* WSX_IO_WATCH */
    uint8_t paused, dead, polled; /* polled: regular file, always ready */
    int fd;
    wsx_loop_t *loop;
    void (*cb)(wsx_watch_t *w, int fd, void *user);
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

/* Large reassembly buffers kept for reuse by the loop (alloc.c). */
#define WSX_POOL_BLOCKS 16
struct wsx_block;

struct wsx_loop {
    int epfd, sigfd, reserve_fd;
    uint8_t sig_kind; /* WSX_IO_SIGNAL: the signalfd's epoll tag */
    int stop, shutting;
    unsigned signals;
    uint64_t start, now, next_sweep, shutdown_deadline;
    uint8_t *rbuf;    /* the one read buffer */
    wsx_conn_t *conns;
    wsx_conn_t *work; /* connections to flush or free this round */
    wsx_server_t *servers;
    wsx_watch_t *watches;
    wsx_timer_t *timers;
    wsx_chunk_t *free_chunks;
    unsigned nfree_chunks, nservers, nconns, nwatches_active;
    ws_allocator_t allocator; /* the engines' reassembly buffers */
    struct wsx_block *pool[WSX_POOL_BLOCKS];
    unsigned npool;
    size_t pool_bytes;
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

/* ------------------------------------------------------------ loop.c */
int wsx_loop_add(wsx_loop_t *loop, int fd, unsigned events, void *ptr);
void wsx_log(const wsx_conn_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ----------------------------------------------------------- alloc.c */
void wsx_pool_init(wsx_loop_t *loop);  /* fills loop->allocator */
void wsx_pool_clear(wsx_loop_t *loop); /* frees the pooled blocks */

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
void wsx_conn_update_events(wsx_conn_t *c);
void wsx_conn_dispatch(wsx_conn_t *c, uint8_t *buf, size_t len);
int wsx_ws_init(wsx_conn_t *c, ws_role_t role);
/* Keep an incomplete head in c->hs (no-op when it is already there);
 * free it once handled. */
void wsx_hs_keep(wsx_conn_t *c, const char *buf, size_t len);
void wsx_hs_done(wsx_conn_t *c);
const char *wsx_format_addr(const struct sockaddr *sa, char *buf, size_t cap);

/* ----------------------------------------------------------- queue.c */
uint8_t *wsx_out_reserve(wsx_conn_t *c, size_t need);
void wsx_out_commit(wsx_conn_t *c, size_t n);
void wsx_out_unreserve(wsx_conn_t *c); /* drop an empty reserved chunk */
int wsx_out_append(wsx_conn_t *c, const void *data, size_t len);
int wsx_out_file(wsx_conn_t *c, int fd, off_t off, size_t len);
int wsx_out_push_front(wsx_conn_t *c, const void *data, size_t len);
void wsx_out_clear(wsx_conn_t *c);
int wsx_out_flush(wsx_conn_t *c); /* 0, or -1 with errno */

/* ---------------------------------------------------------- server.c */
void wsx_opts_resolve(wsx_opts_t *o, const wsx_opts_t *in); /* defaults */
void wsx_server_accept(wsx_server_t *s);
void wsx_server_handshake(wsx_conn_t *c, char *buf, size_t len);

/* ---------------------------------------------------------- client.c */
void wsx_client_connected(wsx_conn_t *c);
void wsx_client_handshake(wsx_conn_t *c, char *buf, size_t len);
void wsx_client_free(wsx_endpoint_t *ep);

/* ------------------------------------------------------------ http.c */
void wsx_http_request(wsx_conn_t *c, const ws_request_t *req,
                      const char *body, size_t len);
void wsx_http_error(wsx_conn_t *c, int status);
/* A plain request's body length (0 without Content-Length): 0, or the
 * status to answer with (400 bad or repeated, 413 too long). */
int wsx_http_body_length(const ws_request_t *req, size_t *len);

#endif /* WSX_INT_H */
