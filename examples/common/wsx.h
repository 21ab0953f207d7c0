/*
 * wsx.h — the small event loop every libwsproto example is built on.
 *
 * One thread, one epoll loop, non-blocking sockets; libwsproto does the
 * protocol, this file the I/O around it:
 *
 *   - servers: listen (IPv4/IPv6, port 0 = any), accept up to a limit
 *     (503 beyond it), the opening handshake, plain HTTP on the same port
 *     (static files from a directory, or the app's own handler);
 *   - clients: ws://host:port/path, non-blocking connect and handshake;
 *   - TLS (tls.c, OpenSSL memory BIOs): wss:// clients, and servers that
 *     serve https:// and wss:// on one port (wsx_opts_t.tls);
 *   - per-connection output queues flushed with one writev per loop round,
 *     and backpressure: a peer whose queue is over the high-water mark is
 *     not read from until the queue drains below the low-water mark;
 *   - timers: handshake timeout, idle ping and dead-peer detection, close
 *     handshake timeout, stalled messages (one periodic sweep, O(1)
 *     memory per connection);
 *   - limits: a memory budget for all reassembly buffers and output
 *     queues of a loop, past which the largest holders are closed;
 *   - SIGINT/SIGTERM: graceful shutdown (close 1001 to every WebSocket,
 *     flush with a bounded wait, wsx_loop_run() returns 0);
 *   - other descriptors (stdin, UDP sockets: readable and writable
 *     watches) and application timers;
 *   - broadcast: one message encoded once, its bytes shared by every
 *     output queue that sends it.
 *
 * Memory: the loop owns ONE read buffer (WSX_READ_BUF bytes). Every read
 * goes there and all the events it causes are handled before the next
 * read, so slices handed to callbacks (message data, request fields) are
 * valid only during the callback. An idle connection costs one struct of
 * a few hundred bytes; output chunks, handshake buffers and the engine's
 * reassembly buffer exist only while they hold bytes.
 *
 * Errors are negative: libwsproto's WS_E* codes, or the WSX_E* below.
 */
#ifndef WSX_H
#define WSX_H

#include <wsproto.h>

#include <stddef.h>
#include <stdint.h>

#define WSX_READ_BUF (64u * 1024u)

/* Errors of the I/O layer (libwsproto's WS_E* are used as they are). */
enum wsx_error {
    WSX_ECONNECT = -200, /* could not resolve or connect */
    WSX_ETIMEOUT = -201, /* handshake, ping or close timeout */
    WSX_EIO = -202,      /* read or write failed; connection lost */
    WSX_EURL = -203,     /* not a ws:// URL we can use */
    WSX_ELIMIT = -204,   /* over the memory budget, or a stalled message */
    WSX_ETLS = -205      /* TLS failed (handshake, certificate, alert), or
                            wss:// in a build without TLS */
};

/* A description of a WS_E* or WSX_E* code. Static string. */
const char *wsx_strerror(int err);

typedef struct wsx_loop wsx_loop_t;
typedef struct wsx_server wsx_server_t;
typedef struct wsx_conn wsx_conn_t;
typedef struct wsx_watch wsx_watch_t;
typedef struct wsx_timer wsx_timer_t;
typedef struct wsx_frame wsx_frame_t;
typedef struct wsx_tls wsx_tls_t;

/* ------------------------------------------------------------ handlers */

/* Flags of on_data slices. */
#define WSX_FIRST 0x1u /* first slice of a message */
#define WSX_FIN 0x2u   /* last slice of a message */

/* What on_upgrade may change in the 101 it is about to be answered with.
 * Strings must outlive the connection (string literals, an entry of
 * wsx_opts_t.protocols, or memory freed after on_close). */
typedef struct wsx_accept {
    const char *protocol; /* the subprotocol: preset to the first of
                             wsx_opts_t.protocols the client offered (or
                             NULL); may be set to another one it offered,
                             or to NULL for none */
    const char *headers;  /* extra complete "Name: value\r\n" lines for
                             the 101, or NULL */
    const char *reason;   /* when refusing: one line saying why, for the
                             answer's text body after the status (e.g.
                             "fragment: must not be negative"), or NULL.
                             Copied as soon as on_upgrade returns */
} wsx_accept_t;

/*
 * What the application is told. Every callback is optional. Pointers are
 * valid only during the call. Inside any callback the application may
 * send on any connection, close or drop any connection, and start or stop
 * watchers and timers; connections are freed only between loop rounds.
 */
typedef struct wsx_handler {
    /* Server: a valid upgrade request arrived (req->path, req->origin,
     * ws_header_find(req->head, ...), ws_header_next_token(...,
     * "Sec-WebSocket-Protocol", ...)), and nothing has been answered yet.
     * Return 0 to accept, with acc as it is or changed, or an HTTP status
     * (400..599) to refuse with it: the peer gets that answer instead of a
     * 101, and neither on_open nor on_close follows (free what you
     * attached with wsx_conn_set_data). No sends yet: they belong in
     * on_open. Without on_upgrade every valid upgrade is accepted. */
    int (*on_upgrade)(wsx_conn_t *c, const ws_request_t *req,
                      wsx_accept_t *acc);

    /* The WebSocket is open; sends may be made right away. Server: the
     * 101 is queued (its frames follow it), resp is NULL. Client: the
     * server's 101 was checked; resp is it (status, reason, protocol,
     * ws_header_find(resp->head, resp->head_len, ...) for any other
     * header, e.g. Sec-WebSocket-Extensions), valid during the call. */
    void (*on_open)(wsx_conn_t *c, const ws_response_t *resp);

    /* A whole message (set this and not on_data: reassembly mode, up to
     * wsx_opts_t.max_message bytes). Text is valid UTF-8. */
    void (*on_message)(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                       size_t len);

    /* Streaming mode (set this instead of on_message): each message comes
     * as slices as they arrive, flags WSX_FIRST / WSX_FIN; a slice may be
     * empty and text may end inside a character that the next completes. */
    void (*on_data)(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len,
                    unsigned flags);

    /* A pong arrived (pings are answered by the engine by itself). */
    void (*on_pong)(wsx_conn_t *c, const uint8_t *data, size_t len);

    /* The WebSocket is over; called exactly once for every connection
     * that was opened (on_open was called). code/reason: the peer's close
     * frame (1005 when it had no code), or for a failure the close code
     * we sent (1002/1007/1009 ...; 1008/1009 for a limit, see
     * max_buffered and stall_timeout: the code we decided, even when the
     * peer reads nothing more) with the error's text, or 1006 when the
     * connection ended without a close frame (lost, timed out). The
     * connection must not be used after this returns. */
    void (*on_close)(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len);

    /* Something failed: a protocol error by the peer (WS_E*, followed by
     * on_close), a timeout, lost connection or limit (WSX_E*, followed by
     * on_close), or, for a client before on_open, a failed connect or
     * handshake (WSX_ECONNECT, WSX_ETIMEOUT, WS_EHS_*; no on_close
     * follows). msg is one readable line, e.g. "handshake failed: server
     * answered 404 Not Found". */
    void (*on_error)(wsx_conn_t *c, int err, const char *msg);

    /* Server: a plain HTTP request (not an upgrade). Answer it with
     * wsx_http_respond() and return 1, or return 0 to leave it to the
     * static files (wsx_opts_t.static_dir) or a 404. body holds the
     * request body (Content-Length, at most WSX_MAX_HTTP_BODY bytes). */
    int (*on_http)(wsx_conn_t *c, const ws_request_t *req, const char *body,
                   size_t len);

    /* The output queue drained below the low-water mark after having been
     * over the high-water mark: a producer may resume. */
    void (*on_drain)(wsx_conn_t *c);

    /* Raw mode only (wsx_opts_t.raw): bytes as they arrived. */
    void (*on_raw)(wsx_conn_t *c, uint8_t *data, size_t len);

    /* (The engine's frame-trace events reach tools through
     * wsx_opts_t.trace, called from inside the engine.) */
} wsx_handler_t;

/* ------------------------------------------------------------- options */

#define WSX_MAX_HTTP_BODY (64u * 1024u)
/* The default memory budget of a server's loop (wsx_opts_t.max_buffered). */
#define WSX_DEFAULT_MAX_BUFFERED ((size_t)256u * 1024u * 1024u)
/* What a message in progress must bring per stall_timeout. */
#define WSX_STALL_BYTES 1024u

/*
 * Options for a server or a client connection; zero-initialise for the
 * defaults. Times are in milliseconds.
 */
typedef struct wsx_opts {
    uint64_t max_message;  /* 0 = 16 MiB in reassembly mode, no limit in
                              streaming mode */
    int handshake_timeout; /* 0 = 10000; < 0 = none. Also connect time */
    int ping_interval;     /* 0 = no pings. A peer silent this long gets a
                              ping; silent as long again, it is dropped */
    int close_timeout;     /* 0 = 5000: wait for the peer's close reply,
                              and for the last bytes to flush */
    size_t high_water;     /* 0 = 1 MiB queued: stop reading the peer */
    size_t low_water;      /* 0 = high_water / 4: resume reading */
    int stall_timeout;     /* 0 = 10000 for a server, none for a client;
                              < 0 = none. A message (or frame) that has
                              begun must bring WSX_STALL_BYTES in every
                              stall_timeout, or be finished: a peer
                              trickling it is closed with 1008 */
    /* Server only. */
    unsigned max_connections;     /* 0 = 65536 (and the descriptor limit) */
    size_t max_buffered;          /* 0 = WSX_DEFAULT_MAX_BUFFERED: the budget of
                                     the server's loop for reassembly buffers
                                     and output queues of all its connections
                                     (clients on it too); past it the largest
                                     holders are closed (1009 / 1008). With
                                     several servers on one loop, the smallest
                                     applies; a loop without one has none */
    const char *static_dir;       /* serve GET/HEAD of files from here, or NULL;
                                   * symbolic links under it are not followed */
    const char *const *protocols; /* subprotocols we speak, preferred
                               first, NULL-terminated; NULL = none */
    int raw;                      /* plain TCP: no HTTP, no WebSocket, on_raw */
    /* TLS (wsx_tls_server_new / _client_new; not copied: it must outlive
     * the server or connection). Server: NULL = plain TCP; otherwise
     * every connection is TLS (https:// and wss:// on the same port).
     * Client: used for wss:// URLs; NULL = the system's CA store. */
    wsx_tls_t *tls;
    /* permessage-deflate (RFC 7692), NULL = off. A server accepts it when
     * a client offers it (the first offer it can honour); a client offers
     * it. Level, window bits, no-context-takeover and the threshold come
     * from here (ws_pmd_config_init for the defaults); it must outlive the
     * server or connection. State (ws_pmd_state_size: about 130 KiB at 15
     * window bits) is allocated only for connections that agreed on it. */
    const ws_pmd_config_t *deflate;
    int verbose; /* 1: log connections to stderr; 2: more */
    /* Frame tracing (libwsproto's ws_options_t.trace): called for every
     * frame each WebSocket connection parses or encodes, with user = the
     * wsx_conn_t. It runs inside the engine: it must not send, close or
     * drop any connection (note what it saw; act on it later, e.g. in
     * wsx_loop_before_flush). NULL = off, at no cost. */
    ws_trace_fn trace;
} wsx_opts_t;

/* ---------------------------------------------------------------- loop */

/*
 * What a server program wants of its process, done only when asked
 * (wsx_serve() asks; a program with its own main calls it first, before
 * any thread is started): SIGPIPE is ignored (sendfile of static files
 * to a vanished peer raises it), RLIMIT_NOFILE is raised to its hard
 * limit, SIGINT/SIGTERM are blocked so that loops read them from their
 * signalfd (see wsx_loop_on_signal), and (glibc) malloc keeps blocks up
 * to 4 MiB in the heap so message buffers are reused instead of mapped
 * anew each time. Returns 0, or -1 with errno set.
 */
int wsx_process_setup(void);

/* A new loop. No process-wide side effects: SIGINT/SIGTERM reach the
 * loop only while they are blocked (wsx_process_setup), otherwise they
 * keep their default action. Returns NULL with errno set on failure. */
wsx_loop_t *wsx_loop_new(void);

/* Run until wsx_loop_stop(), or until nothing is left to wait for (no
 * server, connection, active watcher or timer). Returns 0, or -1 with
 * errno set if epoll failed. */
int wsx_loop_run(wsx_loop_t *loop);

/* One round: wait at most timeout_ms (< 0: as long as the loop's own
 * timers allow) for events, handle them, flush. Returns 1 if there is
 * still something to wait for, 0 if not, -1 with errno if epoll failed.
 * For tests and for embedding the loop in another one. */
int wsx_loop_run_once(wsx_loop_t *loop, int timeout_ms);

/* Make wsx_loop_run() return after the current round. */
void wsx_loop_stop(wsx_loop_t *loop);

/* Graceful shutdown: stop listening, refuse pending handshakes, send a
 * close with `code` (e.g. 1001 Going Away) to every open WebSocket, let
 * the replies and queues flush for at most grace_ms, then drop whatever
 * is left. wsx_loop_run() returns when the last connection is gone, even
 * if timers or watchers are still active. */
void wsx_loop_shutdown(wsx_loop_t *loop, unsigned code, int grace_ms);

/* Called with the signal number on SIGINT or SIGTERM instead of the
 * default: the first signal is wsx_loop_shutdown(loop, 1001, 2000), a
 * second one drops everything and stops. */
void wsx_loop_on_signal(wsx_loop_t *loop,
                        void (*cb)(wsx_loop_t *loop, int signo, void *user),
                        void *user);

/* Call cb once per round, after every event of the round was handled and
 * before any output queued in the round is written (once more when the
 * memory budget closed connections after the flush: for what their
 * on_close callbacks queued). For group commit: an application that
 * acknowledges writes to a log makes the round's records durable here,
 * so no acknowledgement leaves before its record is safe.
 * (Output queued during a round goes out only at its end: a connection's
 * writable event is handled before its readable one. With a hook set, a
 * large message waits too, where it would otherwise be written at once.)
 * NULL cb removes it. */
void wsx_loop_before_flush(wsx_loop_t *loop,
                           void (*cb)(wsx_loop_t *loop, void *user),
                           void *user);

/* The bytes the loop's connections hold in memory for their peers: the
 * engines' reassembly buffers (their allocated size) and the output
 * queues' memory chunks, a broadcast frame counted once however many
 * queues share it. Files being sent, the loop's pool of spare buffers
 * and a transport's own buffers (TLS) are not counted. This is what
 * wsx_opts_t.max_buffered bounds. */
size_t wsx_loop_buffered(const wsx_loop_t *loop);

/* Milliseconds on a monotonic clock, as of the current loop round. */
uint64_t wsx_loop_now(const wsx_loop_t *loop);

/* Close everything and free the loop. */
void wsx_loop_free(wsx_loop_t *loop);

/* Events of a watched descriptor. */
#define WSX_READABLE 0x1u
#define WSX_WRITABLE 0x2u

typedef void (*wsx_watch_cb)(wsx_watch_t *w, int fd, unsigned ready,
                             void *user);

/* Watch any descriptor (stdin, a pipe, a UDP socket, ...) for events
 * (WSX_READABLE and/or WSX_WRITABLE, level-triggered): cb runs each round
 * in which fd is ready, with ready saying which of the watched events it
 * is (an error or hang-up reports both, so the next call on fd tells what
 * happened); it should read or write once. A regular file, /dev/null
 * or another descriptor epoll refuses (EPERM) counts as always ready. A watcher
 * with no events does not keep the loop running. Returns NULL with errno set on
 * failure. */
wsx_watch_t *wsx_watch_start(wsx_loop_t *loop, int fd, unsigned events,
                             wsx_watch_cb cb, void *user);
/* Change what is watched, e.g. WSX_WRITABLE only while there is output
 * waiting (a writable socket is ready almost always). 0 = nothing. */
void wsx_watch_set(wsx_watch_t *w, unsigned events);
/* Watch nothing for now / again what was watched before the pause. */
void wsx_watch_pause(wsx_watch_t *w);
void wsx_watch_resume(wsx_watch_t *w);
void wsx_watch_stop(wsx_watch_t *w); /* frees w; does not close fd */

/* A timer calling cb every interval_ms (once if !repeat; it is then freed
 * after the call). Resolution is the loop round. NULL on ENOMEM. */
wsx_timer_t *wsx_timer_start(wsx_loop_t *loop, int interval_ms, int repeat,
                             void (*cb)(wsx_timer_t *t, void *user),
                             void *user);
void wsx_timer_stop(wsx_timer_t *t); /* frees t */

/* -------------------------------------------------------------- server */

/*
 * Listen on host ("127.0.0.1", "::1", "0.0.0.0", "::", "localhost", or
 * "[::1]") and port (0 = any free port). opts and h are copied; ctx is
 * given back by wsx_conn_ctx(). Returns NULL with errno set on failure
 * (EADDRINUSE, EINVAL for a bad host, ...).
 */
wsx_server_t *wsx_server_new(wsx_loop_t *loop, const char *host, int port,
                             const wsx_opts_t *opts, const wsx_handler_t *h,
                             void *ctx);

/* The bound port, and "HOST:PORT" ("[::1]:PORT" for IPv6) into buf. */
int wsx_server_port(const wsx_server_t *s);
const char *wsx_server_address(const wsx_server_t *s, char *buf, size_t cap);

/*
 * The whole life of a server program after its options: a loop, a server
 * on host:port, setup(loop, ctx) if not NULL (to install hooks such as
 * wsx_loop_before_flush), the line "NAME listening on HOST:PORT" on stdout
 * (flushed: scripts wait for it to learn the port), then the loop until
 * SIGINT/SIGTERM end it gracefully; SIGHUP makes a TLS server (opts->tls)
 * read its certificate and key again (wsx_tls_reload). Failures are
 * reported on stderr, prefixed with name. Returns the exit status: 0, or 1.
 */
int wsx_serve(const char *name, const char *host, int port,
              const wsx_opts_t *opts, const wsx_handler_t *h, void *ctx,
              void (*setup)(wsx_loop_t *loop, void *ctx));

/* Open WebSocket connections (those between on_open and on_close). */
size_t wsx_server_count(const wsx_server_t *s);

/* Iterate the open WebSocket connections: start with prev NULL; returns
 * NULL at the end. Safe while sending and closing from the loop body. */
wsx_conn_t *wsx_server_next(wsx_server_t *s, wsx_conn_t *prev);

/* Stop listening and close the listening socket (connections stay). */
void wsx_server_close(wsx_server_t *s);

/* ------------------------------------------------------------ broadcast */

/*
 * One message for many connections, encoded once. A server's frames are
 * not masked (RFC 6455 §5.1), so every peer gets the same bytes: the frame
 * is built once (text checked as UTF-8 once), and every queue that sends
 * it holds a reference instead of a copy; it is freed when the last one
 * has written it. Each connection still counts the frame's bytes as its
 * own queued bytes (backpressure, wsx_conn_queued).
 */

/* A whole message (op WS_OP_TEXT or WS_OP_BINARY) as one server-role
 * frame, with one reference, the caller's. NULL with *err set (err may be
 * NULL): WS_EINVAL, WS_EUTF8, WS_ENOMEM. */
wsx_frame_t *wsx_frame_new(ws_opcode_t op, const void *data, size_t len,
                           int *err);

/* Queue f on c (takes its own reference). 0, WS_ESTATE (not open, a
 * close was sent or received, or inside a fragmented message being sent
 * with wsx_conn_send_fragment), WS_EINVAL (c is a client: its frames are
 * masked, each with its own key), WS_ENOMEM. */
int wsx_conn_send_frame(wsx_conn_t *c, wsx_frame_t *f);

/* Drop the caller's reference (NULL is fine). */
void wsx_frame_release(wsx_frame_t *f);

/* References held (the caller's and each queue's), and the encoded size. */
unsigned wsx_frame_refs(const wsx_frame_t *f);
size_t wsx_frame_size(const wsx_frame_t *f);

/* A frame built, sent to each of conns[0..n) that can take it, released.
 * Returns how many took it, or a wsx_frame_new() error. */
int wsx_broadcast(wsx_conn_t *const *conns, size_t n, ws_opcode_t op,
                  const void *data, size_t len);

/* The same to every open WebSocket connection of s. */
int wsx_server_broadcast(wsx_server_t *s, ws_opcode_t op, const void *data,
                         size_t len);

/* ---------------------------------------------------------------- client */

/* A ws:// or wss:// URL taken apart. host keeps IPv6 brackets off; path
 * includes the query. */
typedef struct wsx_url {
    char host[256];
    int port;        /* default 80, 443 for wss:// */
    int tls;         /* wss:// */
    char path[2048]; /* default "/" */
} wsx_url_t;

/* Returns 0 or WSX_EURL (not ws:// or wss://, bad port, too long). */
int wsx_url_parse(const char *url, wsx_url_t *u);

/* What the client sends besides the required headers. All optional. */
typedef struct wsx_client_req {
    const char *origin;
    const char *protocols;     /* "chat, superchat" */
    const char *extra_headers; /* complete "Name: value\r\n" lines */
} wsx_client_req_t;

/*
 * Connect to url (resolved now; every address is tried in turn) and do
 * the opening handshake, all without blocking. Events go to h; ctx is
 * wsx_conn_ctx(). Returns the connection, or NULL with *err set (WSX_EURL,
 * WS_EINVAL for a bad header or origin, WS_ENOMEM). A later failure is
 * reported by on_error, a name that does not resolve included
 * (WSX_ECONNECT, "cannot connect to HOST:PORT: the name did not resolve
 * (Name or service not known)").
 */
wsx_conn_t *wsx_connect(wsx_loop_t *loop, const char *url,
                        const wsx_client_req_t *req, const wsx_opts_t *opts,
                        const wsx_handler_t *h, void *ctx, int *err);

/* ----------------------------------------------------------- connection */

/*
 * Sending. Each call encodes one frame onto the connection's output
 * queue; the queue is written at the end of the loop round. Returns 0 or
 * a negative error: WS_ESTATE (not open, closing, or not allowed by RFC
 * 6455 now), WS_EUTF8 (text that is not valid UTF-8), WS_EINVAL,
 * WS_ENOMEM. Queued bytes are not limited here: check wsx_conn_queued()
 * or use on_drain to pace a producer.
 */
int wsx_conn_send(wsx_conn_t *c, ws_opcode_t op, const void *data, size_t len);
int wsx_conn_send_text(wsx_conn_t *c, const char *text, size_t len);
int wsx_conn_send_binary(wsx_conn_t *c, const void *data, size_t len);
/* One fragment: op is the message's opcode (WS_OP_TEXT or WS_OP_BINARY)
 * on every fragment; fin nonzero on the last. With permessage-deflate the
 * message is compressed as one stream over its fragments (a fragment's
 * frame may then be empty). */
int wsx_conn_send_fragment(wsx_conn_t *c, ws_opcode_t op, int fin,
                           const void *data, size_t len);
int wsx_conn_ping(wsx_conn_t *c, const void *data, size_t len);
/* A whole message sent as it is even when permessage-deflate was
 * negotiated (RSV1 clear; RFC 7692 §6: a message may go uncompressed),
 * e.g. for data already compressed. Same returns as wsx_conn_send. */
int wsx_conn_send_uncompressed(wsx_conn_t *c, ws_opcode_t op, const void *data,
                               size_t len);

/* Start the closing handshake (code 0 = no code; reason may be NULL).
 * The connection ends when the peer answers, or after close_timeout. */
int wsx_conn_close(wsx_conn_t *c, unsigned code, const char *reason,
                   size_t len);

/* Close the TCP connection without a closing handshake (on_close is
 * called with 1006 if the WebSocket was open). */
void wsx_conn_drop(wsx_conn_t *c);

/* Raw mode: queue bytes as they are. 0 or WS_ENOMEM / WS_ESTATE. */
int wsx_conn_write(wsx_conn_t *c, const void *data, size_t len);

/* Bytes queued and not yet accepted by the kernel. */
size_t wsx_conn_queued(const wsx_conn_t *c);

/* Nonzero between on_open and on_close, while sends are allowed. */
int wsx_conn_is_open(const wsx_conn_t *c);

/* The subprotocol chosen (server: by on_upgrade, by default from
 * wsx_opts_t.protocols; client: the server's answer), or NULL. */
const char *wsx_conn_protocol(const wsx_conn_t *c);

/* Client, during on_open: the server's response (as passed to on_open);
 * NULL otherwise. */
const ws_response_t *wsx_conn_response(const wsx_conn_t *c);

/* The permessage-deflate parameters agreed for c (from our side: what we
 * send and what we receive), or NULL when it is not in use; and the bytes
 * of state it holds for them (0 when not in use). */
const ws_pmd_params_t *wsx_conn_deflate(const wsx_conn_t *c);
size_t wsx_conn_deflate_bytes(const wsx_conn_t *c);

/* The peer's address as "IP:PORT" into buf; "?" if unknown. */
const char *wsx_conn_peer(const wsx_conn_t *c, char *buf, size_t cap);

/* Per-connection application data (NULL at first), and the ctx given to
 * wsx_server_new() / wsx_connect(). */
void wsx_conn_set_data(wsx_conn_t *c, void *data);
void *wsx_conn_data(const wsx_conn_t *c);
void *wsx_conn_ctx(const wsx_conn_t *c);
wsx_server_t *wsx_conn_server(const wsx_conn_t *c); /* NULL for clients */
wsx_loop_t *wsx_conn_loop(const wsx_conn_t *c);

/* ------------------------------------------------------------------- TLS */

/*
 * TLS (tls.c, over OpenSSL when the build found it): TLS 1.2 and up, no
 * renegotiation, ALPN http/1.1. Contexts are made by the program, given
 * in wsx_opts_t.tls, and freed by it after the loop. err/cap: a buffer
 * for one readable line saying what failed (naming the file).
 */

/* 1 when built with TLS, else 0; the TLS library's version text (e.g.
 * "OpenSSL 3.0.19 27 Jan 2026"), or "none". */
int wsx_tls_available(void);
const char *wsx_tls_version(void);

/* A server's: a PEM certificate chain and its PEM private key. NULL when
 * a file is missing or unreadable or the key does not match. */
wsx_tls_t *wsx_tls_server_new(const char *cert, const char *key, char *err,
                              size_t cap);

/* A client's: the server's chain is checked against ca (a PEM file) or,
 * NULL, the system store, and its name against the URL's host (SNI is
 * sent); insecure: no check at all (testing only). NULL on failure. */
wsx_tls_t *wsx_tls_client_new(const char *ca, int insecure, char *err,
                              size_t cap);

/* A server's files read again (certificate renewal): new connections get
 * the new certificate, open ones keep theirs. Servers do it on SIGHUP
 * (see wsx_serve). 0, or -1 with err set and the old one kept. */
int wsx_tls_reload(wsx_tls_t *t, char *err, size_t cap);

/* A server context's certificate file ("" for a client's), for logs. */
const char *wsx_tls_files(const wsx_tls_t *t);

void wsx_tls_free(wsx_tls_t *t); /* NULL is fine */

/* What every program's TLS options come to. A server's --tls-cert and
 * --tls-key (both or neither; NULL, NULL: plain TCP) into o->tls. A
 * client's --ca and --insecure into o->tls when url is wss://. On failure
 * the reason, naming the file, is printed on stderr after "prog: " and -1
 * returned. Free o->tls with wsx_tls_free after the loop. */
int wsx_opts_tls_server(wsx_opts_t *o, const char *prog, const char *cert,
                        const char *key);
int wsx_opts_tls_client(wsx_opts_t *o, const char *prog, const char *url,
                        const char *ca, int insecure);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" into buf once the TLS handshake is
 * done; NULL for plain TCP or before. */
const char *wsx_conn_tls(const wsx_conn_t *c, char *buf, size_t cap);

/* ------------------------------------------------------------------ HTTP */

/*
 * Answer a plain HTTP request (from on_http) and close the connection
 * once it is sent. headers: extra complete "Name: value\r\n" lines, or
 * NULL. A HEAD request gets the same head without the body. Returns 0 or
 * WS_ENOMEM / WS_ESTATE (already answered, or not an HTTP request).
 */
int wsx_http_respond(wsx_conn_t *c, int status, const char *content_type,
                     const char *headers, const void *body, size_t len);

/* The standard reason phrase for status ("Not Found"), or "Unknown". */
const char *wsx_http_reason(int status);

/* For a program's start, before it listens: 0 when dir is NULL or opens
 * as a directory; otherwise prints "PROG: WHAT DIR: reason" to stderr
 * (what names the option, e.g. "--static") and returns -1. */
int wsx_http_check_static(const char *prog, const char *what, const char *dir);

/* ----------------------------------------------------------- options */

/* A whole string that is a decimal number in [0, max]: no sign, no
 * spaces, nothing after it. 0, or -1 (and *out untouched). */
int wsx_parse_uint(const char *s, unsigned long long max,
                   unsigned long long *out);

/* Seconds, fractions allowed, in [0, 86400], into milliseconds (rounded).
 * 0, or -1. */
int wsx_parse_seconds(const char *s, int *ms);

/* ------------------------------------- URL messages (url_problem.c) */

/* Why wsx_url_parse() refuses url, as a phrase for an error message ("the
 * port must be a number from 1 to 65535"), or NULL if it does not. Static
 * string. */
const char *wsx_url_problem(const char *url);

/* The limits every server program takes on its command line, parsed
 * alike: name is "max-buffered" (a size as below, not 0: max_buffered)
 * or "stall-timeout" (seconds as above; 0 = no rule: stall_timeout).
 * 0, or -1 for a bad value or an unknown name (o untouched). */
int wsx_opts_set(wsx_opts_t *o, const char *name, const char *value);

/* A size in bytes: a decimal number, optionally followed by K, M or G
 * (KiB, MiB, GiB: "8M" is 8388608), in [0, max]. 0, or -1 (and *out
 * untouched). */
int wsx_parse_size(const char *s, unsigned long long max,
                   unsigned long long *out);

/* A command-line mistake, as every example program reports it: "PROG:
 * " and fmt (one %s: arg) on a line of stderr, unless fmt is NULL (getopt
 * already said what), then "try 'PROG --help'". Returns status, the exit
 * status the program gives a usage error. */
int wsx_usage_error(const char *prog, int status, const char *fmt,
                    const char *arg);

/* The next word of *s, a command a client's user typed: the run of bytes
 * up to one in sep (or the end), after any bytes of sep, NUL-terminated in
 * place; *s moves past it and the one separator after it. NULL when only
 * separators are left. */
char *wsx_next_word(char **s, const char *sep);

/* "DIR/sub" into out[0..cap), DIR being the running program's directory
 * (where a server's web/ files are installed next to it); just "sub"
 * when it cannot be found. */
void wsx_program_dir(const char *sub, char *out, size_t cap);

#endif /* WSX_H */
