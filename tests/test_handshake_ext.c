/*
 * test_handshake_ext.c — Sec-WebSocket-Extensions negotiation
 * (lib/handshake_ext.c): the RFC 6455 §9.1 grammar, offers across repeated
 * headers, the server's response header, the client's acceptance check.
 * Each list is rendered as text so a case states its whole outcome.
 */
static const char th_suite_name[] = "handshake_ext";

#include "harness.h"
#include "rfc_samples.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_HEAD                                                               \
    "GET /chat HTTP/1.1\r\n"                                                   \
    "Host: server.example.com\r\n"                                             \
    "Upgrade: websocket\r\n"                                                   \
    "Connection: Upgrade\r\n"                                                  \
    "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"                                    \
    "Sec-WebSocket-Version: 13\r\n"

/* The head with the given extension header lines, iterated: one line per
 * offer, "name" then " param" or " param=value" (quoted values shown
 * unescaped, in quotes), then the iterator's final result. */
static char *offers(const char *lines)
{
    char head[2048];
    snprintf(head, sizeof head, "%s%s\r\n", REQ_HEAD, lines);
    ws_request_t req;
    tr_buf_t b;
    tr_init(&b);
    int r = ws_handshake_parse_request(head, strlen(head), 0, &req);
    if (r <= 0 || !req.websocket) {
        tr_printf(&b, "request %s", ws_err_name(r));
        return tr_finish(&b);
    }
    size_t iter = 0;
    ws_ext_offer_t o;
    while ((r = ws_header_next_extension(req.head, req.head_len, &iter, &o)) >
           0) {
        tr_printf(&b, "%.*s", (int)o.name.len, o.name.ptr);
        for (size_t i = 0; i < o.nparams; i++) {
            const ws_ext_param_t *p = &o.params[i];
            char v[256];
            tr_printf(&b, " %.*s", (int)p->name.len, p->name.ptr);
            if (!p->value.ptr)
                continue;
            CHECK(ws_ext_param_value(p, v, sizeof v) >= 0);
            tr_printf(&b, p->quoted ? "=\"%s\"" : "=%s", v);
        }
        tr_printf(&b, "%s;", o.truncated ? " TRUNCATED" : "");
    }
    tr_printf(&b, "%s", r == 0 ? "end" : ws_err_name(r));
    /* The end is sticky. */
    CHECK_INT(ws_header_next_extension(req.head, req.head_len, &iter, &o), 0);
    return tr_finish(&b);
}

static void expect_offers(const char *lines, const char *want)
{
    char *got = offers(lines);
    th_note("%s", lines);
    CHECK_STR(got, want);
    free(got);
}

static void offers_grammar(void)
{
    /* RFC 7692 §5's example offers */
    expect_offers("Sec-WebSocket-Extensions: permessage-deflate; "
                  "client_max_window_bits\r\n",
                  "permessage-deflate client_max_window_bits;end");
    expect_offers("Sec-WebSocket-Extensions: permessage-deflate; "
                  "client_max_window_bits; server_max_window_bits=10, "
                  "permessage-deflate; client_max_window_bits\r\n",
                  "permessage-deflate client_max_window_bits "
                  "server_max_window_bits=10;permessage-deflate "
                  "client_max_window_bits;end");
    /* no header, an empty one, empty list elements */
    expect_offers("", "end");
    expect_offers("Sec-WebSocket-Extensions:\r\n", "end");
    expect_offers("Sec-WebSocket-Extensions: , ,foo,,bar ,\r\n", "foo;bar;end");
    /* across repeated headers, in order, other headers between */
    expect_offers("Sec-WebSocket-Extensions: a; x=1\r\n"
                  "Origin: http://example.com\r\n"
                  "sec-websocket-extensions: b, c;y\r\n",
                  "a x=1;b;c y;end");
    /* whitespace around every separator */
    expect_offers("Sec-WebSocket-Extensions: a ;\tx = 1 ; y\t,b\r\n",
                  "a x=1 y;b;end");
}

static void offers_quoted(void)
{
    expect_offers("Sec-WebSocket-Extensions: a; x=\"10\"\r\n",
                  "a x=\"10\";end");
    /* commas, semicolons and escapes inside quotes stay inside */
    expect_offers("Sec-WebSocket-Extensions: a; x=\"1,2;3\", b\r\n",
                  "a x=\"1,2;3\";b;end");
    expect_offers("Sec-WebSocket-Extensions: a; x=\"q\\\"\\\\z\"\r\n",
                  "a x=\"q\"\\z\";end");
    expect_offers("Sec-WebSocket-Extensions: a; x=\"\"\r\n", "a x=\"\";end");
}

static void offers_bad_syntax(void)
{
    expect_offers("Sec-WebSocket-Extensions: a;\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a;;b\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a; x=\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a; =1\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a; x=\"open\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a; x=\"bad\\\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a b\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: ;a\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a; x=1 2\r\n", "EHS_SYNTAX");
    expect_offers("Sec-WebSocket-Extensions: a@b\r\n", "EHS_SYNTAX");
    /* what came before the error was returned */
    expect_offers("Sec-WebSocket-Extensions: ok; p, bad;\r\n",
                  "ok p;EHS_SYNTAX");
}

static void offers_many(void)
{
    char lines[2048];
    char want[2048];
    size_t n = 0, w = 0;
    for (int h = 0; h < 4; h++) {
        n += (size_t)snprintf(lines + n, sizeof lines - n,
                              "Sec-WebSocket-Extensions: ");
        for (int i = 0; i < 10; i++) {
            n += (size_t)snprintf(lines + n, sizeof lines - n, "%sx%d;k=%d",
                                  i ? ", " : "", h * 10 + i, i);
            w += (size_t)snprintf(want + w, sizeof want - w, "x%d k=%d;",
                                  h * 10 + i, i);
        }
        n += (size_t)snprintf(lines + n, sizeof lines - n, "\r\n");
    }
    snprintf(want + w, sizeof want - w, "end");
    expect_offers(lines, want);
    /* more parameters than WS_EXT_MAX_PARAMS: the first ones, flagged */
    expect_offers("Sec-WebSocket-Extensions: a;p1;p2;p3;p4;p5;p6;p7;p8;p9, "
                  "b\r\n",
                  "a p1 p2 p3 p4 p5 p6 p7 p8 TRUNCATED;b;end");
}

static void param_value_buffer(void)
{
    ws_ext_param_t p = {{"x", 1}, {"a\\\"b", 4}, 1};
    char out[8] = "zzzzzzz";
    CHECK_INT(ws_ext_param_value(&p, out, 3), WS_ENOBUFS);
    CHECK_STR(out, "zzzzzzz");
    CHECK_INT(ws_ext_param_value(&p, out, 4), 3);
    CHECK_STR(out, "a\"b");
    p.quoted = 0;
    CHECK_INT(ws_ext_param_value(&p, out, sizeof out), 4);
    CHECK_STR(out, "a\\\"b");
    ws_ext_param_t none = {{"x", 1}, {NULL, 0}, 0};
    CHECK_INT(ws_ext_param_value(&none, out, 1), 0);
    CHECK_STR(out, "");
    CHECK_INT(ws_ext_param_value(NULL, out, 1), WS_EINVAL);
}

/* The server accepts an offered extension in its 101. */
static void server_response(void)
{
    const char *head = REQ_HEAD "Sec-WebSocket-Extensions: permessage-deflate; "
                                "client_max_window_bits, x-nibble\r\n\r\n";
    ws_request_t req;
    char out[512];
    CHECK(ws_handshake_parse_request(head, strlen(head), 0, &req) > 0);
    ptrdiff_t n = ws_handshake_build_response_ext(
        &req, NULL,
        "permessage-deflate; server_no_context_takeover; "
        "client_max_window_bits=\"15\"",
        NULL, out, sizeof out);
    const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; "
                       "server_no_context_takeover; "
                       "client_max_window_bits=\"15\"\r\n"
                       "\r\n";
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), want, strlen(want));
    /* names compare ignoring case; two accepted */
    CHECK(ws_handshake_build_response_ext(&req, NULL,
                                          "X-Nibble, "
                                          "permessage-deflate",
                                          NULL, out, sizeof out) > 0);
    /* not offered, malformed, or able to smuggle a header: refused */
    CHECK_INT(ws_handshake_build_response_ext(&req, NULL, "x-other", NULL, out,
                                              sizeof out),
              WS_EINVAL);
    CHECK_INT(ws_handshake_build_response_ext(&req, NULL, "x-nibble;", NULL,
                                              out, sizeof out),
              WS_EINVAL);
    CHECK_INT(
        ws_handshake_build_response_ext(&req, NULL, "", NULL, out, sizeof out),
        WS_EINVAL);
    CHECK_INT(ws_handshake_build_response_ext(&req, NULL, "x-nibble\r\nEvil: 1",
                                              NULL, out, sizeof out),
              WS_EINVAL);
    /* WS_ENOBUFS writes nothing */
    memset(out, 'z', sizeof out);
    CHECK_INT(
        ws_handshake_build_response_ext(&req, NULL, "x-nibble", NULL, out, 40),
        WS_ENOBUFS);
    CHECK(out[0] == 'z');
}

static int parse_resp(const char *ext_lines, const char *offered)
{
    char buf[1024];
    ws_response_t resp;
    snprintf(buf, sizeof buf,
             "HTTP/1.1 101 Switching Protocols\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n%s\r\n",
             ext_lines);
    int r = ws_handshake_parse_response_ext(buf, strlen(buf), 0, SAMPLE_KEY,
                                            NULL, offered, &resp);
    if (r > 0 && *ext_lines)
        CHECK(resp.extensions.ptr != NULL);
    return r > 0 ? 0 : r;
}

/* The client accepts what it offered, and only that (§4.1 item 5). */
static void client_accepts_offered(void)
{
    const char *offer = "permessage-deflate; client_max_window_bits, x-nibble";
    CHECK_INT(parse_resp("", offer), 0);
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: permessage-deflate; "
                         "client_max_window_bits=10\r\n",
                         offer),
              0);
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: x-nibble\r\n"
                         "Sec-WebSocket-Extensions: permessage-deflate\r\n",
                         offer),
              0);
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: x-other\r\n", offer),
              WS_EHS_EXTENSION);
    CHECK_INT(
        parse_resp("Sec-WebSocket-Extensions: x-nibble, x-nibble\r\n", offer),
        WS_EHS_EXTENSION);
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: x-nibble;\r\n", offer),
              WS_EHS_EXTENSION);
    /* offering nothing: every extension is unasked for, as in 0.1 */
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: x-nibble\r\n", NULL),
              WS_EHS_EXTENSION);
    CHECK_INT(parse_resp("Sec-WebSocket-Extensions: ,\r\n", NULL), 0);
}

static void client_request_offers(void)
{
    char key[] = SAMPLE_KEY, out[512];
    ws_client_request_t r = {.host = "server.example.com",
                             .path = "/chat",
                             .extensions = "permessage-deflate; "
                                           "client_max_window_bits"};
    ptrdiff_t n = ws_handshake_build_request(&r, key, out, sizeof out);
    const char *want = "GET /chat HTTP/1.1\r\n"
                       "Host: server.example.com\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
                       "Sec-WebSocket-Version: 13\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; "
                       "client_max_window_bits\r\n"
                       "\r\n";
    CHECK_BYTES(out, (size_t)(n > 0 ? n : 0), want, strlen(want));
    r.extensions = "bad;;";
    CHECK_INT(ws_handshake_build_request(&r, key, out, sizeof out), WS_EINVAL);
}

void suite_handshake_ext(void);
void suite_handshake_ext(void)
{
    RUN(offers_grammar);
    RUN(offers_quoted);
    RUN(offers_bad_syntax);
    RUN(offers_many);
    RUN(param_value_buffer);
    RUN(server_response);
    RUN(client_accepts_offered);
    RUN(client_request_offers);
}
