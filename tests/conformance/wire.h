/*
 * wire.h — the conformance suite's own view of the wire.
 *
 * Written independently of libwsproto (it includes nothing from it), so
 * the suite is a second opinion on RFC 6455 rather than the library
 * checking itself: a frame encoder that can also produce every malformed
 * frame a case needs, a frame decoder for what the server sends back, a
 * UTF-8 validator, and deadline-bounded socket I/O.
 *
 * Every read and write is bounded by the case's deadline, so a server that
 * hangs makes a case fail, never the suite stall. Writes drain whatever the
 * server sends meanwhile into the receive buffer, so a server echoing a
 * large message while we are still sending it cannot deadlock us.
 */
#ifndef CONF_WIRE_H
#define CONF_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer. */
typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf_t;

void buf_put(buf_t *b, const void *p, size_t n);
void buf_putc(buf_t *b, uint8_t c);
void buf_putstr(buf_t *b, const char *s);
void buf_free(buf_t *b);

/* ------------------------------------------------------------- frames */

/* Forced length encodings, to build non-minimal headers. */
enum { LEN_MINIMAL = 0, LEN_16 = 2, LEN_64 = 8 };

/* A frame as the encoder is asked to build it. rsv holds RSV1..3 as bits
 * 2..0; op may be any 4-bit value. With masked, key is used (the default
 * key when key_set is 0). announce, when nonzero, is written as the length
 * instead of len (to lie about it); only len bytes of payload follow. */
typedef struct frame_spec {
    int fin, rsv, op, masked;
    int key_set;
    uint8_t key[4];
    int len_form;
    uint64_t announce;
} frame_spec_t;

/* Append one frame to out: header, mask key, payload masked when asked. */
void frame_put(buf_t *out, const frame_spec_t *s, const void *payload,
               size_t len);

/* Shorthands: a masked client frame (what the suite sends) and an
 * unmasked server frame (what the suite expects back). */
void cframe(buf_t *out, int fin, int op, const void *payload, size_t len);
void sframe(buf_t *out, int fin, int op, const void *payload, size_t len);
/* A masked client close frame: code 0 = empty body. */
void cclose(buf_t *out, unsigned code, const char *reason, size_t rlen);

/* A decoded frame (payload unmasked, owned by the frame). */
typedef struct frame {
    int fin, rsv, op, masked;
    uint64_t len;
    buf_t payload;
} frame_t;

/* ------------------------------------------------------------- UTF-8 */

/* 1 when p[0..n) is complete, valid UTF-8 (RFC 3629), else 0. */
int utf8_valid(const uint8_t *p, size_t n);

/* --------------------------------------------------------- a session */

#define MSG_MAX 512

/* One case's connection. */
typedef struct peer {
    int fd;
    int eof;          /* the server closed (FIN or RST) */
    int reset;        /* ... with a RST */
    int64_t deadline; /* monotonic ms */
    buf_t rx;         /* received, not yet taken */
    size_t rx_off;
    char msg[MSG_MAX]; /* why the case failed */
} peer_t;

int64_t now_ms(void);

/* Record why the case failed (first failure wins) and return -1. */
int fail(peer_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* TCP connect to 127.0.0.1:port with TCP_NODELAY. 0 or fail(). */
int tcp_open(peer_t *t, int port);
void peer_close(peer_t *t);

/* Write n bytes in pieces of `chop` bytes (0 = all at once), sleeping
 * pause_us between pieces, draining incoming bytes meanwhile. A write
 * refused because the server closed is not an error here: the case then
 * looks at what the server said. 0 or fail() on timeout. */
int send_bytes(peer_t *t, const void *p, size_t n, size_t chop, int pause_us);
int send_buf(peer_t *t, const buf_t *b);

/* Wait until at least n bytes are buffered. 1 when they are, 0 on EOF
 * first, -1 on timeout (nothing recorded: callers describe the failure). */
int need(peer_t *t, size_t n);
size_t avail(const peer_t *t);
const uint8_t *rxp(const peer_t *t);
void take(peer_t *t, size_t n);

/* The next frame from the server (decoded by our own decoder). 1 ok, or
 * fail() on EOF, timeout or an undecodable header. */
int recv_frame(peer_t *t, frame_t *f);
void frame_free(frame_t *f);

/* The next bytes must be exactly exp[0..n); on a mismatch the message
 * shows the first differing offset and bytes around it. */
int expect_bytes(peer_t *t, const void *exp, size_t n, const char *what);
int expect_buf(peer_t *t, const buf_t *exp, const char *what);

/* The next frame is an unmasked, final close frame with `code` (0 = an
 * empty body) whose reason is valid UTF-8; then the server closes TCP with
 * nothing more sent. */
int expect_close(peer_t *t, unsigned code);

/* The server closes the TCP connection with nothing more sent. */
int expect_eof(peer_t *t);

/* The opening handshake as RFC 6455 §1.3's example client: sends the
 * request and checks the 101 and Sec-WebSocket-Accept. 0 or fail(). */
int ws_open(peer_t *t, int port);
/* The same with extra request header lines (complete "Name: value\r\n"
 * lines, or NULL); the 101's head (NUL-terminated) is left in head. */
int ws_open_with(peer_t *t, int port, const char *headers, char *head,
                 size_t cap);

/* Read an HTTP response head; returns the status code (>0) and leaves the
 * head (NUL-terminated) in head, or fail(). */
int http_response(peer_t *t, char *head, size_t cap);

/* Case-insensitive lookup of a header's value in a NUL-terminated head.
 * Copies the trimmed value into val; 1 if found. */
int header_value(const char *head, const char *name, char *val, size_t cap);

/* Bytes as hex, for messages: up to max bytes. */
void hexdump(char *out, size_t cap, const uint8_t *p, size_t n, size_t max);

#endif
