/*
 * cases_handshake.c — the opening handshake (RFC 6455 §4.2.1-2, RFC 7230
 * §3): variations a server must accept, and requests it must refuse with
 * the right status before closing the connection.
 */
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define STD_HEADERS                                                            \
    "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"         \
    "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n"

/* Flags (b). */
#define HS_CHOP 1     /* request in 1-byte writes */
#define HS_PIPELINE 2 /* a frame right behind the request, same write */
#define HS_NO_EXT 4   /* no Sec-WebSocket-Extensions in the 101 */
#define HS_PROTO 8    /* Sec-WebSocket-Protocol absent or "chat" */
#define HS_BIG 16     /* data = a header line to repeat up to 64 KiB */
#define HS_HALF 32    /* send half the request, then shut down writing */

/* Any 4xx will do (a plain GET without --static). */
#define ANY_4XX (-4)

static int skip_body(peer_t *t, const char *head)
{
    char v[32];
    if (!header_value(head, "Content-Length", v, sizeof v))
        return 0;
    size_t n = (size_t)strtoul(v, NULL, 10);
    if (need(t, n) <= 0)
        return fail(t, "response body of %zu bytes cut short", n);
    take(t, n);
    return 0;
}

/* data = the request, a = expected status, b = flags. */
static int c_request(peer_t *t, const tcase_t *k)
{
    buf_t req = {0};
    char head[8192], v[256];
    if (k->b & HS_BIG) {
        buf_putstr(&req, "GET / HTTP/1.1\r\n" STD_HEADERS);
        while (req.len < 65536)
            buf_put(&req, k->data, k->len);
        buf_putstr(&req, "\r\n");
    } else {
        buf_put(&req, k->data, k->len);
    }
    if (k->b & HS_PIPELINE)
        cframe(&req, 1, 0x1, "pipelined", 9);
    int r = tcp_open(t, case_port());
    size_t n = (k->b & HS_HALF) ? req.len / 2 : req.len;
    r = r || send_bytes(t, req.p, n, (k->b & HS_CHOP) ? 1 : 0, 0);
    buf_free(&req);
    if (r)
        return -1;
    if (k->b & HS_HALF) {
        /* The client gave up mid-request: the server just closes (or
         * answers 400 first); either way it must not wait forever. */
        shutdown(t->fd, SHUT_WR);
        if (need(t, 1) > 0) {
            int st = http_response(t, head, sizeof head);
            if (st < 400 || st > 499)
                return fail(t, "status %d to a half request", st);
            if (skip_body(t, head))
                return -1;
        }
        return expect_eof(t);
    }
    int status = http_response(t, head, sizeof head);
    if (status < 0)
        return -1;
    if (k->a == ANY_4XX ? (status < 400 || status > 499) : status != k->a)
        return fail(t, "status %d, expected %s%ld", status,
                    k->a == ANY_4XX ? "4xx" : "", k->a == ANY_4XX ? 0 : k->a);
    if (status != 101) {
        if (status == 426 &&
            (!header_value(head, "Sec-WebSocket-Version", v, sizeof v) ||
             strcmp(v, "13") != 0))
            return fail(t, "426 without Sec-WebSocket-Version: 13");
        /* Refused: the server closes the connection after its answer. */
        return skip_body(t, head) || expect_eof(t) ? -1 : 0;
    }
    if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) ||
        strcmp(v, ACCEPT) != 0)
        return fail(t, "Sec-WebSocket-Accept '%s', expected " ACCEPT, v);
    if ((k->b & HS_NO_EXT) &&
        header_value(head, "Sec-WebSocket-Extensions", v, sizeof v))
        return fail(t, "server accepted extension '%s' (not offered)", v);
    if ((k->b & HS_PROTO) &&
        header_value(head, "Sec-WebSocket-Protocol", v, sizeof v) &&
        strcmp(v, "chat") != 0)
        return fail(t, "server chose subprotocol '%s', not offered", v);
    /* The connection works: the pipelined frame, or a fresh one. */
    if (!(k->b & HS_PIPELINE)) {
        buf_t out = {0};
        cframe(&out, 1, 0x1, "pipelined", 9);
        r = send_buf(t, &out);
        buf_free(&out);
    }
    return r || expect_echo(t, k, 1, "pipelined", 9) ? -1 : 0;
}

#define GET "GET /chat HTTP/1.1\r\n"

static const struct {
    const char *name;
    const char *req;
    int status;
    int flags;
} reqs[] = {
    {"RFC 6455 §1.3 sample request -> 101", GET STD_HEADERS "\r\n", 101, 0},
    {"lower-case header names -> 101",
     GET "host: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n"
         "sec-websocket-key: " KEY "\r\nsec-websocket-version: 13\r\n\r\n",
     101, 0},
    {"Upgrade: WebSocket, Connection: upgrade (any case) -> 101",
     GET "Host: 127.0.0.1\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     101, 0},
    {"Connection: keep-alive, Upgrade -> 101",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     101, 0},
    {"Connection repeated (keep-alive / Upgrade) -> 101",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Key: " KEY "\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     101, 0},
    {"spaces and tabs around values -> 101",
     GET "Host:127.0.0.1\r\nUpgrade: \t websocket \t\r\n"
         "Connection:  Upgrade  \r\nSec-WebSocket-Key:\t" KEY "\t\r\n"
         "Sec-WebSocket-Version: 13 \r\n\r\n",
     101, 0},
    {"Origin and unknown headers -> 101",
     GET STD_HEADERS "Origin: http://127.0.0.1\r\nUser-Agent: conformance\r\n"
                     "X-Custom: 1\r\nCookie: a=b\r\n\r\n",
     101, 0},
    {"unknown extension offered -> 101 without extensions",
     GET STD_HEADERS "Sec-WebSocket-Extensions: x-unknown-ext; "
                     "foo=bar, x-other\r\n\r\n",
     101, HS_NO_EXT},
    {"subprotocol chat offered -> 101, none or chat chosen",
     GET STD_HEADERS "Sec-WebSocket-Protocol: chat\r\n\r\n", 101, HS_PROTO},
    {"target with a query -> 101",
     "GET /chat?room=1&x=%20 HTTP/1.1\r\n" STD_HEADERS "\r\n", 101, 0},
    {"bare LF line endings -> 101",
     "GET / HTTP/1.1\nHost: 127.0.0.1\nUpgrade: websocket\n"
     "Connection: Upgrade\nSec-WebSocket-Key: " KEY "\n"
     "Sec-WebSocket-Version: 13\n\n",
     101, 0},
    {"request in 1-byte writes -> 101", GET STD_HEADERS "\r\n", 101, HS_CHOP},
    {"frame in the same write as the request -> 101, echoed",
     GET STD_HEADERS "\r\n", 101, HS_PIPELINE},
    {"request and frame in 1-byte writes -> 101, echoed",
     GET STD_HEADERS "\r\n", 101, HS_PIPELINE | HS_CHOP},
    {"missing Sec-WebSocket-Key -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"empty Sec-WebSocket-Key -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: \r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"key of 15 bytes -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"key of 17 bytes -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA=\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"key not base64 -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"two Sec-WebSocket-Key headers -> 400",
     GET STD_HEADERS "Sec-WebSocket-Key: " KEY "\r\n\r\n", 400, 0},
    {"Sec-WebSocket-Version: 8 -> 426",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
     426, 0},
    {"Sec-WebSocket-Version: 14 -> 426",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 14\r\n\r\n",
     426, 0},
    {"Sec-WebSocket-Version missing -> 426",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\n\r\n",
     426, 0},
    {"POST -> 400", "POST /chat HTTP/1.1\r\n" STD_HEADERS "\r\n", 400, 0},
    {"lower-case method get -> 400",
     "get /chat HTTP/1.1\r\n" STD_HEADERS "\r\n", 400, 0},
    {"HTTP/1.0 -> 400", "GET /chat HTTP/1.0\r\n" STD_HEADERS "\r\n", 400, 0},
    {"HTTP/2.0 request line -> 400",
     "GET /chat HTTP/2.0\r\n" STD_HEADERS "\r\n", 400, 0},
    {"missing Host -> 400",
     GET "Upgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"two Host headers -> 400", GET STD_HEADERS "Host: example.com\r\n\r\n",
     400, 0},
    {"missing Upgrade -> 400",
     GET "Host: 127.0.0.1\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"Upgrade: h2c -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"missing Connection -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"Connection: keep-alive only -> 400",
     GET "Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"garbage request line -> 400", "HELLO\r\n" STD_HEADERS "\r\n", 400, 0},
    {"bare CR inside a header -> 400", GET STD_HEADERS "X-Bad: a\rb\r\n\r\n",
     400, 0},
    {"obs-fold continuation line -> 400",
     GET STD_HEADERS "X-Folded: a\r\n  b\r\n\r\n", 400, 0},
    {"space before the colon -> 400",
     GET "Host : 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400, 0},
    {"empty line before the request line -> 400", "\r\n" GET STD_HEADERS "\r\n",
     400, 0},
    {"plain GET / (no --static) -> 4xx",
     "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ANY_4XX, 0},
    {"plain GET /missing.html -> 4xx",
     "GET /missing.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ANY_4XX, 0},
    {"plain GET /../../etc/passwd -> 4xx",
     "GET /../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ANY_4XX, 0},
    {"client leaves after half a request -> server closes",
     GET STD_HEADERS "\r\n", 0, HS_HALF},
};

static const char big_line[] = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
static char huge_line[65600];

void register_handshake(void)
{
    const char *cat = "handshake";
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
        add_case(cat, c_request, reqs[i].status, reqs[i].flags, 0, reqs[i].req,
                 strlen(reqs[i].req), "%s", reqs[i].name);
    add_case(cat, c_request, 431, HS_BIG, 0, big_line, sizeof big_line - 1,
             "64 KiB of headers -> 431");
    size_t n = (size_t)snprintf(huge_line, sizeof huge_line, "X-Huge: ");
    memset(huge_line + n, 'h', 65536);
    memcpy(huge_line + n + 65536, "\r\n", 2);
    add_case(cat, c_request, 431, HS_BIG, 0, huge_line, n + 65538,
             "one 64 KiB header line -> 431");
}
