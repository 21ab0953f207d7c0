/* test_handshake_client.c — the client side of the opening handshake
 * (RFC 6455 §4.1): the key, the request, and the check of the server's
 * response, which is also run on every prefix of its input, each copied to
 * a buffer of exactly that size so that a read past the end shows up under
 * ASan and valgrind. */
static const char th_suite_name[] = "handshake_client";

#include "harness.h"
#include "rfc_samples.h"
#include "wsproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void suite_handshake_client(void);

#define END "\r\n"

/* ------------------------------------------------------------ helpers */

/* What a prefix of k bytes must give when the head is complete at head_end
 * bytes and the whole input gives `want`. */
static int prefix_result(size_t k, size_t head_end, size_t max_head, int want)
{
    size_t limit = max_head ? max_head : WS_DEFAULT_MAX_HEAD;
    if (k >= head_end)
        return want;
    return k > limit ? WS_EHS_TOOLARGE : WS_EAGAIN;
}

static int response_copy(const char *text, size_t len, const char *key,
                         const char *protocols)
{
    char *copy = malloc(len ? len : 1);
    ws_response_t resp;
    int r;

    if (!copy)
        return 1000;
    memcpy(copy, text, len);
    r = ws_handshake_parse_response(copy, len, 0, key, protocols, &resp);
    free(copy);
    return r;
}

static void response_splits(const char *text, const char *key,
                            const char *protocols, int want)
{
    size_t len = strlen(text);
    for (size_t k = 0; k <= len; k++) {
        th_note("response prefix of %zu / %zu bytes", k, len);
        CHECK_INT(response_copy(text, k, key, protocols),
                  prefix_result(k, len, 0, want));
    }
}

/* ------------------------------------------------------------- client */

static void bad_arguments(void)
{
    ws_response_t resp;

    CHECK_INT(ws_handshake_parse_response("H", 1, 0, NULL, NULL, &resp),
              WS_EINVAL);
    CHECK_INT(ws_handshake_parse_response(NULL, 1, 0, "k", NULL, &resp),
              WS_EINVAL);
    CHECK_INT(ws_handshake_parse_response(NULL, 0, 0, "k", NULL, &resp),
              WS_EAGAIN);
    CHECK_INT(ws_handshake_parse_response("H", 1, 0, "k", NULL, NULL),
              WS_EINVAL);
}

/* A fake random source: 00 01 02 ... so the key is predictable. */
static int counting_random(void *buf, size_t len, void *user)
{
    uint8_t *p = buf;
    (void)user;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)i;
    return 0;
}

static int failing_random(void *buf, size_t len, void *user)
{
    (void)buf;
    (void)len;
    *(int *)user += 1;
    return -1;
}

static void generate_key(void)
{
    char key[WS_KEY_LEN + 1];
    int calls = 0;
    ws_response_t resp;

    CHECK_INT(ws_handshake_generate_key(counting_random, NULL, key), 0);
    CHECK_STR(key, "AAECAwQFBgcICQoLDA0ODw==");
    CHECK_INT(ws_handshake_generate_key(failing_random, &calls, key),
              WS_ERANDOM);
    CHECK_INT(calls, 1);
    CHECK_STR(key, "");
    /* The default source: a well-formed key. */
    CHECK_INT(ws_handshake_generate_key(NULL, NULL, key), 0);
    CHECK_INT(strlen(key), WS_KEY_LEN);
    {
        char text[256];
        char accept[WS_ACCEPT_LEN + 1];
        ws_handshake_accept_key(key, WS_KEY_LEN, accept);
        snprintf(text, sizeof text,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
        CHECK_INT(ws_handshake_parse_response(text, strlen(text), 0, key, NULL,
                                              &resp),
                  (int)strlen(text));
    }
}

static void client_request_exact(void)
{
    const char *want = "GET /chat HTTP/1.1\r\n"
                       "Host: server.example.com\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODw==\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Origin: http://example.com\r\n"
                       "Sec-WebSocket-Protocol: chat, superchat\r\n"
                       "User-Agent: t\r\n"
                       "\r\n";
    ws_client_request_t r = {"server.example.com", "/chat",
                             "http://example.com", "chat, superchat",
                             "User-Agent: t\r\n",  NULL};
    char key[WS_KEY_LEN + 1], out[512];
    ws_request_t req;
    ptrdiff_t n;

    ws_handshake_generate_key(counting_random, NULL, key);
    n = ws_handshake_build_request(&r, key, out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)strlen(want));
    if (n <= 0)
        return;
    CHECK_BYTES(out, (size_t)n, want, strlen(want));
    /* Our own server side accepts it. */
    CHECK_INT(ws_handshake_parse_request(out, (size_t)n, 0, &req), (int)n);
    CHECK_INT(req.websocket, 1);
    CHECK_SLICE(req.key, "AAECAwQFBgcICQoLDA0ODw==");
}

static void client_request_minimal(void)
{
    const char *want = "GET / HTTP/1.1\r\n"
                       "Host: h:9001\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "\r\n";
    ws_client_request_t r = {"h:9001", NULL, NULL, NULL, NULL, NULL};
    char out[512];
    size_t len = strlen(want);
    ptrdiff_t n;

    n = ws_handshake_build_request(&r, SAMPLE_KEY, out, sizeof out);
    CHECK_INT(n, (ptrdiff_t)len);
    if (n > 0)
        CHECK_BYTES(out, (size_t)n, want, len);
    memset(out, '#', sizeof out);
    CHECK_INT(ws_handshake_build_request(&r, SAMPLE_KEY, out, len - 1),
              WS_ENOBUFS);
    CHECK(out[0] == '#');
    CHECK_INT(ws_handshake_build_request(&r, SAMPLE_KEY, out, len),
              (ptrdiff_t)len);
}

static void client_request_refused(void)
{
    static const ws_client_request_t bad[] = {
        {NULL, "/", NULL, NULL, NULL, NULL},
        {"", "/", NULL, NULL, NULL, NULL},
        {"h\r\nX: y", "/", NULL, NULL, NULL, NULL},
        {"h", "/a b", NULL, NULL, NULL, NULL},
        {"h", "/a\nb", NULL, NULL, NULL, NULL},
        {"h", "", NULL, NULL, NULL, NULL},
        {"h", "/", "http://o\r", NULL, NULL, NULL},
        {"h", "/", NULL, "chat\r\nX: y", NULL, NULL},
        {"h", "/", NULL, "a,,b", NULL, NULL},
        {"h", "/", NULL, "", NULL, NULL},
        {"h", "/", NULL, "a/b", NULL, NULL},
        {"h", "/", NULL, NULL, "X: y", NULL},
        {"h", "/", NULL, NULL, "X: y\n", NULL},
        {"h", "/", NULL, NULL, "X: y\r\n\r\n", NULL},
    };
    char out[512];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        th_note("request %zu", i);
        CHECK_INT(
            ws_handshake_build_request(&bad[i], SAMPLE_KEY, out, sizeof out),
            WS_EINVAL);
    }
    CHECK_INT(ws_handshake_build_request(&bad[3], NULL, out, sizeof out),
              WS_EINVAL);
    {
        ws_client_request_t ok = {"h", "/", NULL, "a, b", NULL, NULL};
        CHECK_INT(ws_handshake_build_request(&ok, "short", out, sizeof out),
                  WS_EINVAL);
        CHECK_INT(ws_handshake_build_request(&ok, "dGhlIHNhbXBsZSBub25jZQ", out,
                                             sizeof out),
                  WS_EINVAL);
        CHECK(ws_handshake_build_request(&ok, SAMPLE_KEY, out, sizeof out) > 0);
        CHECK_INT(ws_handshake_build_request(NULL, SAMPLE_KEY, out, sizeof out),
                  WS_EINVAL);
    }
}

#define R101 "HTTP/1.1 101 Switching Protocols\r\n"
#define RUPG "Upgrade: websocket\r\n"
#define RCONN "Connection: Upgrade\r\n"
#define RACC "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"

struct resp_case {
    const char *what;
    const char *text;
    const char *protocols;
    int want; /* 0: valid */
    int status;
    const char *protocol;
};

static const struct resp_case responses[] = {
    {"good", R101 RUPG RCONN RACC END, NULL, 0, 101, NULL},
    {"good, protocol chosen", SAMPLE_RESPONSE, "chat, superchat", 0, 101,
     "chat"},
    {"good, none chosen of those offered", R101 RUPG RCONN RACC END,
     "chat, superchat", 0, 101, NULL},
    {"good, case and spacing",
     "HTTP/1.1 101 Switching Protocols\n"
     "upgrade:WebSocket\nconnection: keep-alive, UPGRADE\n"
     "sec-websocket-accept:  " SAMPLE_ACCEPT "\t\n\n",
     NULL, 0, 101, NULL},
    {"good, no reason phrase", "HTTP/1.1 101\r\n" RUPG RCONN RACC END, NULL, 0,
     101, NULL},
    {"good, empty extensions",
     R101 RUPG RCONN RACC "Sec-WebSocket-Extensions: \r\n" END, NULL, 0, 101,
     NULL},
    {"wrong accept",
     R101 RUPG RCONN
     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n" END,
     NULL, WS_EHS_ACCEPT, 101, NULL},
    {"missing accept", R101 RUPG RCONN END, NULL, WS_EHS_ACCEPT, 101, NULL},
    {"two accepts", R101 RUPG RCONN RACC RACC END, NULL, WS_EHS_ACCEPT, 101,
     NULL},
    {"missing upgrade", R101 RCONN RACC END, NULL, WS_EHS_UPGRADE, 101, NULL},
    {"Upgrade: h2c", R101 "Upgrade: h2c\r\n" RCONN RACC END, NULL,
     WS_EHS_UPGRADE, 101, NULL},
    {"Upgrade list", R101 "Upgrade: websocket, h2c\r\n" RCONN RACC END, NULL,
     WS_EHS_UPGRADE, 101, NULL},
    {"Upgrade twice", R101 RUPG RUPG RCONN RACC END, NULL, WS_EHS_UPGRADE, 101,
     NULL},
    {"missing connection", R101 RUPG RACC END, NULL, WS_EHS_CONNECTION, 101,
     NULL},
    {"404", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", NULL,
     WS_EHS_STATUS, 404, NULL},
    {"200 with upgrade headers", "HTTP/1.1 200 OK\r\n" RUPG RCONN RACC END,
     NULL, WS_EHS_STATUS, 200, NULL},
    {"HTTP/1.0 101", "HTTP/1.0 101 Switching Protocols\r\n" RUPG RCONN RACC END,
     NULL, WS_EHS_HTTPVER, 101, NULL},
    {"protocol not offered", SAMPLE_RESPONSE, "superchat", WS_EHS_PROTOCOL, 101,
     NULL},
    {"protocol, none offered", SAMPLE_RESPONSE, NULL, WS_EHS_PROTOCOL, 101,
     NULL},
    {"protocol in other case",
     R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: Chat\r\n" END, "chat",
     WS_EHS_PROTOCOL, 101, NULL},
    {"protocol twice",
     R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: chat\r\n"
                          "Sec-WebSocket-Protocol: chat\r\n" END,
     "chat", WS_EHS_PROTOCOL, 101, NULL},
    {"protocol list",
     R101 RUPG RCONN RACC "Sec-WebSocket-Protocol: chat, superchat\r\n" END,
     "chat, superchat", WS_EHS_PROTOCOL, 101, NULL},
    {"empty protocol", R101 RUPG RCONN RACC "Sec-WebSocket-Protocol:\r\n" END,
     "chat", WS_EHS_PROTOCOL, 101, NULL},
    {"extension present",
     R101 RUPG RCONN RACC
     "Sec-WebSocket-Extensions: permessage-deflate\r\n" END,
     NULL, WS_EHS_EXTENSION, 101, NULL},
    {"extension before bad protocol",
     R101 RUPG RCONN RACC
     "Sec-WebSocket-Protocol: x\r\nSec-WebSocket-Extensions: a\r\n" END,
     NULL, WS_EHS_EXTENSION, 101, NULL},
    {"short status", "HTTP/1.1 10 Switching\r\n" RUPG RCONN RACC END, NULL,
     WS_EHS_SYNTAX, 0, NULL},
    {"no space after status", "HTTP/1.1 101Switching\r\n" RUPG RCONN RACC END,
     NULL, WS_EHS_SYNTAX, 101, NULL},
    {"status letters", "HTTP/1.1 1O1 Switching\r\n" RUPG RCONN RACC END, NULL,
     WS_EHS_SYNTAX, 0, NULL},
    {"folded header", R101 RUPG RCONN RACC " x\r\n" END, NULL, WS_EHS_SYNTAX,
     101, NULL},
    {"control in reason", "HTTP/1.1 101 Swi\x01tching\r\n" RUPG RCONN RACC END,
     NULL, WS_EHS_SYNTAX, 101, NULL},
};

static void response_validation(void)
{
    for (size_t i = 0; i < sizeof responses / sizeof responses[0]; i++) {
        const struct resp_case *c = &responses[i];
        size_t len = strlen(c->text);
        int want = c->want ? c->want : (int)len;
        ws_response_t resp;

        th_note("%s", c->what);
        CHECK_INT(ws_handshake_parse_response(c->text, len, 0, SAMPLE_KEY,
                                              c->protocols, &resp),
                  want);
        CHECK_INT(resp.status, c->status);
        if (c->protocol)
            CHECK_SLICE(resp.protocol, c->protocol);
        else
            CHECK(resp.protocol.ptr == NULL);
        response_splits(c->text, SAMPLE_KEY, c->protocols, want);
    }
}

static void response_fields_and_tail(void)
{
    static const char text[] = SAMPLE_RESPONSE "\x81\x05Hello";
    size_t hl = strlen(SAMPLE_RESPONSE);
    ws_response_t resp;
    ws_str_t v;

    CHECK_INT(ws_handshake_parse_response(text, sizeof text - 1, 0, SAMPLE_KEY,
                                          "chat", &resp),
              (int)hl);
    CHECK_INT(resp.status, 101);
    CHECK_SLICE(resp.reason, "Switching Protocols");
    CHECK_SLICE(resp.protocol, "chat");
    CHECK(resp.head == text);
    CHECK_INT(resp.head_len, hl);
    CHECK(ws_header_find(resp.head, resp.head_len, "sec-websocket-accept", &v));
    CHECK_SLICE(v, SAMPLE_ACCEPT);
    CHECK_INT(ws_handshake_parse_response(text, sizeof text - 1, hl - 1,
                                          SAMPLE_KEY, "chat", &resp),
              WS_EHS_TOOLARGE);
    /* A 3xx is left to the caller, who can read Location from the head. */
    {
        const char *redirect = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n"
                               "\r\n";
        CHECK_INT(ws_handshake_parse_response(redirect, strlen(redirect), 0,
                                              SAMPLE_KEY, NULL, &resp),
                  WS_EHS_STATUS);
        CHECK_INT(resp.status, 302);
        CHECK(ws_header_find(resp.head, resp.head_len, "Location", &v));
        CHECK_SLICE(v, "/elsewhere");
    }
}

void suite_handshake_client(void)
{
    RUN(generate_key);
    RUN(client_request_exact);
    RUN(client_request_minimal);
    RUN(client_request_refused);
    RUN(bad_arguments);
    RUN(response_validation);
    RUN(response_fields_and_tail);
}
