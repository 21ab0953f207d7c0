/* test_handshake.c — the server side of the opening handshake (RFC 6455
 * §4.2): request parsing and validation, header lookup, and the replies.
 * Every parse is also run on every prefix of its input, each copied to a
 * buffer of exactly that size so that a read past the end shows up under
 * ASan and valgrind. The client side is in test_handshake_client.c. */
static const char th_suite_name[] = "handshake";

#include "harness.h"
#include "rfc_samples.h"
#include "wsproto.h"

#include <stdlib.h>
#include <string.h>

void suite_handshake(void);

/* Building blocks for request variants. */
#define RL "GET /chat HTTP/1.1\r\n"
#define HOST "Host: server.example.com\r\n"
#define UPG "Upgrade: websocket\r\n"
#define CONN "Connection: Upgrade\r\n"
#define KEY "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
#define VER "Sec-WebSocket-Version: 13\r\n"
#define END "\r\n"

/* ------------------------------------------------------------ helpers */

static int parse_copy(const char *text, size_t len, size_t max_head)
{
    char *copy = malloc(len ? len : 1);
    ws_request_t req;
    int r;

    if (!copy)
        return 1000;
    memcpy(copy, text, len);
    r = ws_handshake_parse_request(copy, len, max_head, &req);
    free(copy);
    return r;
}

/* What any prefix of `len` bytes must give when the head is complete at
 * head_end bytes and the whole input gives `want`. */
static int prefix_result(size_t k, size_t head_end, size_t max_head, int want)
{
    size_t limit = max_head ? max_head : WS_DEFAULT_MAX_HEAD;
    if (k >= head_end)
        return want;
    return k > limit ? WS_EHS_TOOLARGE : WS_EAGAIN;
}

/* Feed text[0..k) for every k from 0 to len. */
static void request_splits(const char *text, size_t len, size_t max_head,
                           int want, size_t head_end)
{
    for (size_t k = 0; k <= len; k++) {
        th_note("request prefix of %zu / %zu bytes", k, len);
        CHECK_INT(parse_copy(text, k, max_head),
                  prefix_result(k, head_end, max_head, want));
    }
}

/* --------------------------------------------------- request parsing */

static void accept_key_rfc6455_example(void)
{
    char out[WS_ACCEPT_LEN + 1];
    memset(out, '#', sizeof out);
    ws_handshake_accept_key(SAMPLE_KEY, strlen(SAMPLE_KEY), out);
    CHECK_STR(out, SAMPLE_ACCEPT);
}

static void sample_request_fields(void)
{
    const char *text = SAMPLE_REQUEST;
    size_t len = strlen(text);
    ws_request_t req;

    CHECK_INT(ws_handshake_parse_request(text, len, 0, &req), (int)len);
    CHECK_INT(req.websocket, 1);
    CHECK_SLICE(req.method, "GET");
    CHECK_SLICE(req.target, "/chat");
    CHECK_SLICE(req.path, "/chat");
    CHECK(req.query.ptr == NULL && req.query.len == 0);
    CHECK_INT(req.http_minor, 1);
    CHECK_SLICE(req.host, "server.example.com");
    CHECK_SLICE(req.origin, "http://example.com");
    CHECK_SLICE(req.key, SAMPLE_KEY);
    CHECK(req.head == text);
    CHECK_INT(req.head_len, len);
    /* Slices point into the caller's buffer: zero copy. */
    CHECK(req.host.ptr > text && req.host.ptr < text + len);
    request_splits(text, len, 0, (int)len, len);
}

static void target_with_query(void)
{
    const char *text =
        "GET /chat/room?id=7&x HTTP/1.1\r\n" HOST UPG CONN KEY VER END;
    ws_request_t req;

    CHECK_INT(ws_handshake_parse_request(text, strlen(text), 0, &req),
              (int)strlen(text));
    CHECK_SLICE(req.target, "/chat/room?id=7&x");
    CHECK_SLICE(req.path, "/chat/room");
    CHECK_SLICE(req.query, "id=7&x");
    /* An empty query is present, not absent. */
    text = "GET /?  HTTP/1.1\r\n" HOST END;
    CHECK_INT(ws_handshake_parse_request(text, strlen(text), 0, &req),
              WS_EHS_SYNTAX);
    text = "GET /? HTTP/1.1\r\n" HOST END;
    CHECK_INT(ws_handshake_parse_request(text, strlen(text), 0, &req),
              (int)strlen(text));
    CHECK(req.query.ptr != NULL && req.query.len == 0);
    CHECK_SLICE(req.path, "/");
}

struct req_case {
    const char *what;
    const char *text;
    int want;
};

/* One thing wrong at a time (RFC 6455 §4.2.1, RFC 7230 §3). */
static const struct req_case bad_requests[] = {
    {"missing key", RL HOST UPG CONN VER END, WS_EHS_KEY},
    {"short key",
     RL HOST UPG CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZQ==\r\n" VER END,
     WS_EHS_KEY},
    {"17-byte key",
     RL HOST UPG CONN "Sec-WebSocket-Key: "
                      "dGhlIHNhbXBsZSBub25jZXM=\r\n" VER END,
     WS_EHS_KEY},
    {"unpadded key",
     RL HOST UPG CONN "Sec-WebSocket-Key: "
                      "dGhlIHNhbXBsZSBub25jZQ\r\n" VER END,
     WS_EHS_KEY},
    {"empty key", RL HOST UPG CONN "Sec-WebSocket-Key:\r\n" VER END,
     WS_EHS_KEY},
    {"two keys", RL HOST UPG CONN KEY VER KEY END, WS_EHS_KEY},
    {"version 8", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" END,
     WS_EHS_VERSION},
    {"missing version", RL HOST UPG CONN KEY END, WS_EHS_VERSION},
    {"two versions", RL HOST UPG CONN KEY VER VER END, WS_EHS_VERSION},
    {"version list",
     RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13, 8\r\n" END,
     WS_EHS_VERSION},
    {"POST", "POST /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_METHOD},
    {"lower-case get", "get /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_METHOD},
    {"HTTP/1.0", "GET /chat HTTP/1.0\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_HTTPVER},
    {"HTTP/2.0", "GET /chat HTTP/2.0\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_HTTPVER},
    {"missing Host", RL UPG CONN KEY VER END, WS_EHS_HOST},
    {"two Hosts", RL HOST UPG CONN KEY VER HOST END, WS_EHS_HOST},
    {"Upgrade: h2c with a key", RL HOST "Upgrade: h2c\r\n" CONN KEY VER END,
     WS_EHS_UPGRADE},
    {"no Upgrade with a key", RL HOST CONN KEY VER END, WS_EHS_UPGRADE},
    {"Upgrade: websocket/13",
     RL HOST "Upgrade: websocket/13\r\n" CONN KEY VER END, WS_EHS_UPGRADE},
    {"Connection: keep-alive only",
     RL HOST UPG "Connection: keep-alive\r\n" KEY VER END, WS_EHS_CONNECTION},
    {"no Connection", RL HOST UPG KEY VER END, WS_EHS_CONNECTION},
    {"Connection: upgraded", RL HOST UPG "Connection: upgraded\r\n" KEY VER END,
     WS_EHS_CONNECTION},
    /* Several faults: the first in RFC 6455 §4.2.1 order wins. */
    {"POST, HTTP/1.0, no Host", "POST / HTTP/1.0\r\n" UPG KEY END,
     WS_EHS_METHOD},
    {"HTTP/1.0, no Host, no key", "GET / HTTP/1.0\r\n" UPG END, WS_EHS_HTTPVER},
    {"no Connection, version 7",
     RL HOST UPG KEY "Sec-WebSocket-Version: 7\r\n" END, WS_EHS_CONNECTION},
    /* Only a version header: still an upgrade attempt. */
    {"version only", RL HOST VER END, WS_EHS_UPGRADE},
    /* RFC 7230 syntax. */
    {"space before colon",
     RL "Host : server.example.com\r\n" UPG CONN KEY VER END, WS_EHS_SYNTAX},
    {"obs-fold", RL HOST UPG CONN KEY VER "X-Long: a\r\n  b\r\n" END,
     WS_EHS_SYNTAX},
    {"tab fold", RL HOST UPG "Connection:\r\n\tUpgrade\r\n" KEY VER END,
     WS_EHS_SYNTAX},
    {"no colon", RL HOST UPG CONN KEY VER "Nonsense\r\n" END, WS_EHS_SYNTAX},
    {"empty name", RL HOST UPG CONN KEY VER ": x\r\n" END, WS_EHS_SYNTAX},
    {"bad name char", RL HOST UPG CONN KEY VER "X(y): z\r\n" END,
     WS_EHS_SYNTAX},
    {"bare CR in value", RL HOST UPG CONN KEY VER "X: a\rb\r\n" END,
     WS_EHS_SYNTAX},
    {"DEL in value", RL HOST UPG CONN KEY VER "X: a\x7f\r\n" END,
     WS_EHS_SYNTAX},
    {"ESC in value", RL HOST UPG CONN KEY VER "X: \x1b[1m\r\n" END,
     WS_EHS_SYNTAX},
    {"empty request line", "\r\n" RL HOST UPG CONN KEY VER END, WS_EHS_SYNTAX},
    {"no version", "GET /chat\r\n" HOST UPG CONN KEY VER END, WS_EHS_SYNTAX},
    {"two spaces", "GET  /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"space in target", "GET /ch at HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"trailing space", "GET /chat HTTP/1.1 \r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"lower-case http", "GET /chat http/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"two-digit minor", "GET /chat HTTP/1.10\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"bad method char", "G@T /chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     WS_EHS_SYNTAX},
    {"raw UTF-8 in target",
     "GET /\xc3\xa9 HTTP/1.1\r\n" HOST UPG CONN KEY VER END, WS_EHS_SYNTAX},
    /* Plain HTTP, but RFC 7230 §5.4 still applies. */
    {"plain, two Hosts", "GET / HTTP/1.1\r\n" HOST HOST END, WS_EHS_HOST},
    {"plain, no Host", "GET / HTTP/1.1\r\n" END, WS_EHS_HOST},
    {"plain, HTTP/3.0", "GET / HTTP/3.0\r\n" HOST END, WS_EHS_HTTPVER},
};

static void invalid_requests(void)
{
    for (size_t i = 0; i < sizeof bad_requests / sizeof bad_requests[0]; i++) {
        const struct req_case *c = &bad_requests[i];
        size_t len = strlen(c->text);
        ws_request_t req;

        th_note("%s", c->what);
        CHECK_INT(ws_handshake_parse_request(c->text, len, 0, &req), c->want);
        CHECK_INT(req.websocket, 0);
        request_splits(c->text, len, 0, c->want, len);
    }
}

/* The same requests, accepted in the spellings RFC 6455 and 7230 allow. */
static const struct req_case good_requests[] = {
    {"keep-alive, Upgrade",
     RL HOST UPG "Connection: keep-alive, Upgrade\r\n" KEY VER END, 0},
    {"Connection repeated",
     RL HOST UPG "Connection: keep-alive\r\n"
                 "Connection: upgrade\r\n" KEY VER END,
     0},
    {"Connection list with empties",
     RL HOST UPG "Connection: ,, keep-alive ,\tUPGRADE ,\r\n" KEY VER END, 0},
    {"lower-case names and values",
     RL "host: server.example.com\r\n"
        "upgrade: websocket\r\nconnection: upgrade\r\n"
        "sec-websocket-key: " SAMPLE_KEY
        "\r\nsec-websocket-version: 13\r\n" END,
     0},
    {"upper-case names and values",
     RL "HOST: server.example.com\r\n"
        "UPGRADE: WEBSOCKET\r\nCONNECTION: UPGRADE\r\n"
        "SEC-WEBSOCKET-KEY: " SAMPLE_KEY
        "\r\nSEC-WEBSOCKET-VERSION: 13\r\n" END,
     0},
    {"Upgrade list", RL HOST "Upgrade: foo/2, WebSocket\r\n" CONN KEY VER END,
     0},
    {"whitespace around values",
     RL "Host:server.example.com\r\n"
        "Upgrade: \twebsocket \t\r\n" CONN "Sec-WebSocket-Key:   " SAMPLE_KEY
        " \t\r\nSec-WebSocket-Version:13\r\n" END,
     0},
    {"bare LF line endings",
     "GET /chat HTTP/1.1\nHost: server.example.com\n"
     "Upgrade: websocket\nConnection: Upgrade\n"
     "Sec-WebSocket-Key: " SAMPLE_KEY "\nSec-WebSocket-Version: 13\n\n",
     0},
    {"LF then CRLF", RL HOST UPG CONN KEY "Sec-WebSocket-Version: 13\n" END, 0},
    {"HTTP/1.9", "GET /chat HTTP/1.9\r\n" HOST UPG CONN KEY VER END, 0},
    {"obs-text value", RL HOST UPG CONN KEY VER "X-Name: caf\xc3\xa9\r\n" END,
     0},
    {"empty value", RL HOST UPG CONN KEY VER "X-Empty:\r\n" END, 0},
    {"Origin twice: the first is reported",
     RL HOST UPG CONN KEY VER
     "Origin: http://example.com\r\nOrigin: http://evil.example\r\n" END,
     0},
    {"absolute-form target",
     "GET ws://server.example.com/chat HTTP/1.1\r\n" HOST UPG CONN KEY VER END,
     0},
};

static void valid_request_variants(void)
{
    for (size_t i = 0; i < sizeof good_requests / sizeof good_requests[0];
         i++) {
        const struct req_case *c = &good_requests[i];
        size_t len = strlen(c->text);
        ws_request_t req;

        th_note("%s", c->what);
        CHECK_INT(ws_handshake_parse_request(c->text, len, 0, &req), (int)len);
        CHECK_INT(req.websocket, 1);
        CHECK_SLICE(req.key, SAMPLE_KEY);
        CHECK_SLICE(req.host, "server.example.com");
        if (req.origin.ptr)
            CHECK_SLICE(req.origin, "http://example.com");
        request_splits(c->text, len, 0, (int)len, len);
    }
}

/* No Upgrade and no Sec-WebSocket-*: plain HTTP for the caller, any
 * method. */
static void plain_http_requests(void)
{
    static const char *const plain[] = {
        "GET /index.html?lang=en HTTP/1.1\r\nHost: a\r\n\r\n",
        "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n",
        ("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n"
         "Connection: Upgrade, HTTP2-Settings\r\n\r\n"),
        "GET / HTTP/1.0\r\n\r\n", /* HTTP/1.0 needs no Host */
        "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        size_t len = strlen(plain[i]);
        ws_request_t req;

        th_note("request %zu", i);
        CHECK_INT(ws_handshake_parse_request(plain[i], len, 0, &req), (int)len);
        CHECK_INT(req.websocket, 0);
        CHECK_INT(req.head_len, len);
        request_splits(plain[i], len, 0, (int)len, len);
    }
    {
        const char *text = plain[0];
        ws_request_t req;
        ws_handshake_parse_request(text, strlen(text), 0, &req);
        CHECK_SLICE(req.method, "GET");
        CHECK_SLICE(req.path, "/index.html");
        CHECK_SLICE(req.query, "lang=en");
        CHECK_SLICE(req.host, "a");
        CHECK(req.key.ptr == NULL && req.origin.ptr == NULL);
    }
}

/* The frame bytes after the head are not part of it: the head length is
 * exact, the rest is not read for the result and never written. */
static void bytes_after_head(void)
{
    static const char head[] = SAMPLE_REQUEST;
    static const char tails[][12] = {
        "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", /* RFC 6455 §5.7 */
        "\r\n\r\nGET / H",
        "\n\n\n\n\n\n\n\n\n\n\n",
    };
    const size_t hl = sizeof head - 1;

    for (size_t t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        char buf[sizeof head - 1 + sizeof tails[0]];
        ws_request_t req;

        memcpy(buf, head, hl);
        memcpy(buf + hl, tails[t], sizeof tails[0]);
        th_note("tail %zu", t);
        CHECK_INT(ws_handshake_parse_request(buf, sizeof buf, 0, &req),
                  (int)hl);
        CHECK_INT(req.websocket, 1);
        CHECK_INT(req.head_len, hl);
        CHECK_BYTES(buf + hl, sizeof tails[0], tails[t], sizeof tails[0]);
        request_splits(buf, sizeof buf, 0, (int)hl, hl);
    }
}

/* The 64 KiB header of a careless or hostile client. */
static void oversized_head(void)
{
    const char *start = "GET /chat HTTP/1.1\r\nHost: a\r\nX-Big: ";
    size_t slen = strlen(start), len = slen + 65536 + 4;
    char *buf = malloc(len);
    ws_request_t req;
    static const size_t points[] = {0, 1, 100, 8191, 8192, 8193, 8194, 30000};

    if (!CHECK(buf != NULL))
        return;
    memcpy(buf, start, slen);
    memset(buf + slen, 'a', 65536);
    memcpy(buf + slen + 65536, "\r\n\r\n", 4);
    CHECK_INT(ws_handshake_parse_request(buf, len, 0, &req), WS_EHS_TOOLARGE);
    for (size_t i = 0; i < sizeof points / sizeof points[0]; i++) {
        th_note("prefix of %zu bytes", points[i]);
        CHECK_INT(parse_copy(buf, points[i], 0), points[i] > WS_DEFAULT_MAX_HEAD
                                                     ? WS_EHS_TOOLARGE
                                                     : WS_EAGAIN);
    }
    /* A larger limit lets it through. */
    CHECK_INT(ws_handshake_parse_request(buf, len, len, &req), (int)len);
    CHECK_INT(ws_handshake_parse_request(buf, len, len - 1, &req),
              WS_EHS_TOOLARGE);
    free(buf);
}

/* The limit is on the head, not on what follows it. */
static void head_limit_exact(void)
{
    const char *text = SAMPLE_REQUEST;
    size_t len = strlen(text);
    char big[sizeof SAMPLE_REQUEST - 1 + 100];
    ws_request_t req;

    request_splits(text, len, len, (int)len, len);
    request_splits(text, len, len - 1, WS_EHS_TOOLARGE, len);
    memcpy(big, text, len);
    memset(big + len, 'x', sizeof big - len);
    CHECK_INT(ws_handshake_parse_request(big, sizeof big, len, &req), (int)len);
}

static void bad_arguments(void)
{
    ws_request_t req;

    CHECK_INT(ws_handshake_parse_request("GET", 3, 0, NULL), WS_EINVAL);
    CHECK_INT(ws_handshake_parse_request(NULL, 3, 0, &req), WS_EINVAL);
    CHECK_INT(ws_handshake_parse_request(NULL, 0, 0, &req), WS_EAGAIN);
}

/* ----------------------------------------------------- header lookup */

static void header_find(void)
{
    const char *head = "GET / HTTP/1.1\r\nHostname: no\r\nX-A:  one \r\n"
                       "x-a: two\r\nEmpty:\r\n\r\nX-B: after the head\r\n";
    size_t len = strlen(head);
    ws_str_t v;

    CHECK(ws_header_find(head, len, "x-A", &v));
    CHECK_SLICE(v, "one");
    CHECK(ws_header_find(head, len, "empty", &v));
    CHECK(v.len == 0 && v.ptr != NULL);
    CHECK(!ws_header_find(head, len, "Host", &v)); /* not a prefix match */
    CHECK(v.ptr == NULL && v.len == 0);
    CHECK(!ws_header_find(head, len, "X-B", &v)); /* past the empty line */
    CHECK(!ws_header_find(head, 0, "X-A", &v));
    CHECK(!ws_header_find(NULL, 10, "X-A", &v));
}

static void header_tokens(void)
{
    const char *head = "GET / HTTP/1.1\r\n"
                       "Sec-WebSocket-Protocol: , a ,, b c\t,\r\n"
                       "X: y, z\r\n"
                       "sec-websocket-protocol:d\r\n"
                       "Sec-WebSocket-Protocol: \r\n"
                       "SEC-WEBSOCKET-PROTOCOL: e,\r\n"
                       "\r\n";
    static const char *const want[] = {"a", "b c", "d", "e"};
    size_t len = strlen(head), iter = 0, n = 0;
    ws_str_t t;

    while (
        ws_header_next_token(head, len, "Sec-WebSocket-Protocol", &iter, &t)) {
        if (!CHECK(n < 4))
            break;
        th_note("token %zu", n);
        CHECK_SLICE(t, want[n]);
        n++;
    }
    CHECK_INT(n, 4);
    /* Finished stays finished. */
    CHECK(
        !ws_header_next_token(head, len, "Sec-WebSocket-Protocol", &iter, &t));
    iter = 0;
    CHECK(!ws_header_next_token(head, len, "Absent", &iter, &t));
    /* A nonsense iterator is refused, not followed out of the buffer. */
    iter = len + 5;
    CHECK(!ws_header_next_token(head, len, "X", &iter, &t));
}

static void select_protocol(void)
{
    const char *text = SAMPLE_REQUEST;
    static const char *const pref_super[] = {"superchat", "chat", NULL};
    static const char *const pref_chat[] = {"chat", "superchat", NULL};
    static const char *const other[] = {"Chat", "SUPERCHAT", "mqtt", NULL};
    static const char *const none[] = {NULL};
    static const char *const later[] = {"x", "c", NULL};
    ws_request_t req;

    ws_handshake_parse_request(text, strlen(text), 0, &req);
    CHECK_STR(ws_request_select_protocol(&req, pref_super), "superchat");
    CHECK_STR(ws_request_select_protocol(&req, pref_chat), "chat");
    CHECK(ws_request_select_protocol(&req, other) == NULL);
    CHECK(ws_request_select_protocol(&req, none) == NULL);
    CHECK(ws_request_select_protocol(&req, NULL) == NULL);

    text = RL HOST UPG CONN KEY VER "Sec-WebSocket-Protocol: a\r\n"
                                    "Sec-WebSocket-Protocol: b, c\r\n" END;
    CHECK_INT(ws_handshake_parse_request(text, strlen(text), 0, &req),
              (int)strlen(text));
    CHECK_STR(ws_request_select_protocol(&req, later), "c");

    text = RL HOST UPG CONN KEY VER END;
    ws_handshake_parse_request(text, strlen(text), 0, &req);
    CHECK(ws_request_select_protocol(&req, pref_chat) == NULL);
}

/* --------------------------------------------------- server replies */

static void response_sample_exact(void)
{
    const char *text = SAMPLE_REQUEST;
    const char *want = SAMPLE_RESPONSE;
    char out[256];
    ws_request_t req;
    ptrdiff_t n;

    ws_handshake_parse_request(text, strlen(text), 0, &req);
    n = ws_handshake_build_response(&req, "chat", NULL, out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)strlen(want));
    if (n > 0)
        CHECK_BYTES(out, (size_t)n, want, strlen(want));
}

static void response_variants(void)
{
    const char *text = SAMPLE_REQUEST;
    const char *want_plain = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                             "\r\n";
    const char *want_extra = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Upgrade: websocket\r\n"
                             "Connection: Upgrade\r\n"
                             "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                             "Sec-WebSocket-Protocol: superchat\r\n"
                             "Server: wsproto\r\nX-A: 1\r\n"
                             "\r\n";
    char out[256];
    ws_request_t req;
    ptrdiff_t n;

    ws_handshake_parse_request(text, strlen(text), 0, &req);
    n = ws_handshake_build_response(&req, NULL, NULL, out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)strlen(want_plain));
    if (n > 0)
        CHECK_BYTES(out, (size_t)n, want_plain, strlen(want_plain));
    n = ws_handshake_build_response(
        &req, "superchat", "Server: wsproto\r\nX-A: 1\r\n", out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)strlen(want_extra));
    if (n > 0)
        CHECK_BYTES(out, (size_t)n, want_extra, strlen(want_extra));
    n = ws_handshake_build_response(&req, NULL, "", out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)strlen(want_plain));
}

static void response_refused(void)
{
    static const char *const bad_extra[] = {
        "X: a\r\nY: b",                    /* incomplete line */
        "X: a\nY: b\r\n",                  /* bare LF */
        "X: a\rY: b\r\n",                  /* bare CR */
        "X: a\r\n\r\nHTTP/1.1 200 OK\r\n", /* empty line ends the head */
        "\r\n",                            /* empty line */
        "X a\r\n",                         /* no colon */
        " X: a\r\n",                       /* folded */
    };
    const char *text = SAMPLE_REQUEST;
    char out[256];
    ws_request_t req;

    ws_handshake_parse_request(text, strlen(text), 0, &req);
    CHECK_INT(
        ws_handshake_build_response(&req, "superchat2", NULL, out, sizeof out),
        WS_EINVAL);
    CHECK_INT(ws_handshake_build_response(&req, "Chat", NULL, out, sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_handshake_build_response(&req, "chat\r\nX: y", NULL, out,
                                          sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_handshake_build_response(&req, "", NULL, out, sizeof out),
              WS_EINVAL);
    for (size_t i = 0; i < sizeof bad_extra / sizeof bad_extra[0]; i++) {
        th_note("extra headers %zu", i);
        CHECK_INT(ws_handshake_build_response(&req, NULL, bad_extra[i], out,
                                              sizeof out),
                  WS_EINVAL);
    }
    CHECK_INT(ws_handshake_build_response(NULL, NULL, NULL, out, sizeof out),
              WS_EINVAL);
    text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    ws_handshake_parse_request(text, strlen(text), 0, &req);
    CHECK_INT(ws_handshake_build_response(&req, NULL, NULL, out, sizeof out),
              WS_EINVAL);
}

/* One byte short: WS_ENOBUFS and the buffer untouched. Exact: fits. */
static void response_capacity(void)
{
    const char *text = SAMPLE_REQUEST;
    size_t want = strlen(SAMPLE_RESPONSE);
    char out[256];
    ws_request_t req;

    ws_handshake_parse_request(text, strlen(text), 0, &req);
    memset(out, '#', sizeof out);
    CHECK_INT(ws_handshake_build_response(&req, "chat", NULL, out, want - 1),
              WS_ENOBUFS);
    for (size_t i = 0; i < sizeof out; i++)
        if (!CHECK(out[i] == '#'))
            break;
    CHECK_INT(ws_handshake_build_response(&req, "chat", NULL, out, want),
              (ptrdiff_t)want);
    CHECK_INT(ws_handshake_build_response(&req, "chat", NULL, NULL, 0),
              WS_ENOBUFS);
}

static void check_reject(int err, const char *want)
{
    char out[512];
    ptrdiff_t n;

    memset(out, '#', sizeof out);
    n = ws_handshake_build_reject(err, out, sizeof out);
    th_note("%s", ws_err_name(err));
    CHECK_INT(n, (ptrdiff_t)strlen(want));
    if (n > 0)
        CHECK_BYTES(out, (size_t)n, want, strlen(want));
    memset(out, '#', sizeof out);
    CHECK_INT(ws_handshake_build_reject(err, out, strlen(want) - 1),
              WS_ENOBUFS);
    CHECK(out[0] == '#');
}

static void reject_responses(void)
{
    /* RFC 6455 §4.2.2 (426 with our version), RFC 7230 §6.7 (426 names the
     * protocol in Upgrade), RFC 6585 §5 (431). */
    check_reject(WS_EHS_VERSION, "HTTP/1.1 426 Upgrade Required\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Upgrade: websocket\r\n"
                                 "Connection: Upgrade, close\r\n"
                                 "Content-Type: text/plain\r\n"
                                 "Content-Length: 34\r\n"
                                 "\r\n"
                                 "unsupported Sec-WebSocket-Version\n");
    check_reject(WS_EHS_KEY, "HTTP/1.1 400 Bad Request\r\n"
                             "Connection: close\r\n"
                             "Content-Type: text/plain\r\n"
                             "Content-Length: 26\r\n"
                             "\r\n"
                             "invalid Sec-WebSocket-Key\n");
    check_reject(WS_EHS_TOOLARGE, "HTTP/1.1 431 Request Header Fields Too "
                                  "Large\r\n"
                                  "Connection: close\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 25\r\n"
                                  "\r\n"
                                  "handshake head too large\n");
    for (int err = WS_EHS_EXTENSION; err <= WS_EHS_TOOLARGE; err++) {
        char out[512];
        th_note("%s", ws_err_name(err));
        CHECK(ws_handshake_build_reject(err, out, sizeof out) > 0);
    }
}

static void reject_not_handshake(void)
{
    char out[512];
    CHECK_INT(ws_handshake_build_reject(WS_OK, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_handshake_build_reject(WS_EINVAL, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_handshake_build_reject(WS_EUTF8, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_handshake_build_reject(-39, out, sizeof out), WS_EINVAL);
    CHECK_INT(ws_handshake_build_reject(-53, out, sizeof out), WS_EINVAL);
}

/* The version-8 request end to end: parsed, rejected with 426. */
static void version_8_end_to_end(void)
{
    const char *text = RL HOST UPG CONN KEY "Sec-WebSocket-Version: 8\r\n" END;
    ws_request_t req;
    int err = ws_handshake_parse_request(text, strlen(text), 0, &req);
    char out[512];
    ptrdiff_t n;

    CHECK_INT(err, WS_EHS_VERSION);
    n = ws_handshake_build_reject(err, out, sizeof out);
    CHECK(n > 30 && memcmp(out, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0);
}

void suite_handshake(void)
{
    RUN(accept_key_rfc6455_example);
    RUN(sample_request_fields);
    RUN(target_with_query);
    RUN(invalid_requests);
    RUN(valid_request_variants);
    RUN(plain_http_requests);
    RUN(bytes_after_head);
    RUN(oversized_head);
    RUN(head_limit_exact);
    RUN(bad_arguments);
    RUN(header_find);
    RUN(header_tokens);
    RUN(select_protocol);
    RUN(response_sample_exact);
    RUN(response_variants);
    RUN(response_refused);
    RUN(response_capacity);
    RUN(reject_responses);
    RUN(reject_not_handshake);
    RUN(version_8_end_to_end);
}
