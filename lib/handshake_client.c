/*
 * handshake_client.c — the client side of the opening handshake (RFC 6455
 * §4.1): the key, the upgrade request, and validation of the server's
 * response. Same stateless, zero-copy parsing as handshake.c.
 */
#include "handshake_int.h"

WS_API int ws_handshake_generate_key(ws_random_fn rnd, void *random_user,
                                     char key[WS_KEY_LEN + 1])
{
    /* RFC 6455 §4.1 item 7: a nonce of 16 random bytes, base64-encoded,
     * chosen freshly for each connection. */
    uint8_t nonce[16];

    if (!key)
        return WS_EINVAL;
    if (!rnd)
        rnd = ws_random_default;
    if (rnd(nonce, sizeof nonce, random_user) != 0) {
        key[0] = '\0';
        return WS_ERANDOM;
    }
    ws_base64_encode(key, nonce, sizeof nonce);
    key[WS_KEY_LEN] = '\0';
    return 0;
}

/* Non-empty visible ASCII: what fits in a request target or a Host or
 * Origin value without quoting (RFC 7230 §3.1.1, §5.4; RFC 6454 §6). */
static int is_vchars(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
            return 0;
    return 1;
}

/* RFC 6455 §4.1 item 10: subprotocols are tokens, separated by commas; we
 * are the sender, so no empty list items (RFC 7230 §7). */
static int is_token_list(const char *s)
{
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!ws_hs_is_tchar((unsigned char)*s))
            return 0;
        while (ws_hs_is_tchar((unsigned char)*s))
            s++;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            return 1;
        if (*s++ != ',')
            return 0;
    }
}

static int is_key(const char *key)
{
    uint8_t raw[16];
    size_t n = strlen(key);
    return n == WS_KEY_LEN && ws_base64_decode(raw, sizeof raw, key, n) == 16;
}

static void put_request(ws_hs_out_t *o, const ws_client_request_t *r,
                        const char *path, const char *key)
{
    /* RFC 6455 §4.1 items 1-9 (the order of the list there). */
    ws_hs_puts(o, "GET ");
    ws_hs_puts(o, path);
    ws_hs_puts(o, " HTTP/1.1\r\nHost: ");
    ws_hs_puts(o, r->host);
    ws_hs_puts(o, "\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\n"
                  "Sec-WebSocket-Key: ");
    ws_hs_puts(o, key);
    ws_hs_puts(o, "\r\nSec-WebSocket-Version: 13\r\n");
    if (r->origin) {
        ws_hs_puts(o, "Origin: ");
        ws_hs_puts(o, r->origin);
        ws_hs_puts(o, "\r\n");
    }
    if (r->protocols) {
        ws_hs_puts(o, "Sec-WebSocket-Protocol: ");
        ws_hs_puts(o, r->protocols);
        ws_hs_puts(o, "\r\n");
    }
    if (r->extensions) {
        ws_hs_puts(o, "Sec-WebSocket-Extensions: ");
        ws_hs_puts(o, r->extensions);
        ws_hs_puts(o, "\r\n");
    }
    if (r->extra_headers)
        ws_hs_puts(o, r->extra_headers);
    ws_hs_puts(o, "\r\n");
}

WS_API ptrdiff_t ws_handshake_build_request(const ws_client_request_t *r,
                                            const char *key, char *out,
                                            size_t cap)
{
    const char *path;
    ws_hs_out_t o = {NULL, 0};

    if (!r || !key || !r->host || (!out && cap > 0))
        return WS_EINVAL;
    path = r->path ? r->path : "/";
    /* Everything is checked, not just for CR and LF: a space in the path
     * would split the request line just as surely. */
    if (!is_key(key) || !is_vchars(path) || !is_vchars(r->host) ||
        (r->origin && !is_vchars(r->origin)) ||
        (r->protocols && !is_token_list(r->protocols)) ||
        (r->extensions && !ws_hs_ext_list_valid(r->extensions)) ||
        (r->extra_headers && !ws_hs_check_lines(r->extra_headers)))
        return WS_EINVAL;
    put_request(&o, r, path, key);
    if (o.len > cap)
        return WS_ENOBUFS;
    o.p = out;
    o.len = 0;
    put_request(&o, r, path, key);
    return (ptrdiff_t)o.len;
}

/* status-line = HTTP-version SP status-code SP reason-phrase (RFC 7230
 * §3.1.2). Servers that drop the reason together with its SP are accepted,
 * as picohttpparser does. */
static int parse_status_line(const char *p, size_t n, ws_response_t *resp,
                             int *major, int *minor)
{
    int status = 0;

    if (n < 12 || ws_hs_parse_version(p, 8, major, minor) < 0 || p[8] != ' ')
        return WS_EHS_SYNTAX;
    for (size_t i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return WS_EHS_SYNTAX;
        status = status * 10 + (p[i] - '0');
    }
    resp->status = status;
    if (n == 12)
        return 0;
    if (p[12] != ' ')
        return WS_EHS_SYNTAX;
    /* reason-phrase = *( HTAB / SP / VCHAR / obs-text ) */
    for (size_t i = 13; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c != '\t' && (c < 0x20 || c == 0x7F))
            return WS_EHS_SYNTAX;
    }
    resp->reason.ptr = p + 13;
    resp->reason.len = n - 13;
    return 0;
}

/* Whether item is one of the comma-separated names in offered (may be
 * NULL). Subprotocol names are case-sensitive (RFC 6455 §4.1). */
static int was_offered(const char *offered, ws_str_t item)
{
    size_t pos = 0, len = offered ? strlen(offered) : 0;
    ws_str_t t;

    while (ws_hs_list_next(offered, len, &pos, &t))
        if (t.len == item.len && memcmp(t.ptr, item.ptr, t.len) == 0)
            return 1;
    return 0;
}

/* RFC 6455 §4.1, the client's checks on a 101, in the order given there. */
static int check_response(const char *head, size_t head_len, const char *key,
                          const char *protocols, const char *extensions,
                          const ws_hs_scan_t *sc, ws_response_t *resp)
{
    char accept[WS_ACCEPT_LEN + 1];
    ws_str_t v;

    /* Item 2: the value must be "websocket" and nothing else. */
    if (sc->count[WS_HS_UPGRADE] != 1 ||
        !ws_hs_ieq(sc->value[WS_HS_UPGRADE].ptr, sc->value[WS_HS_UPGRADE].len,
                   "websocket"))
        return WS_EHS_UPGRADE;
    /* Item 3: a token of the list, as for the request. */
    if (!ws_hs_has_token(head, head_len, "Connection", "upgrade"))
        return WS_EHS_CONNECTION;
    /* Item 4: base64 is case-sensitive; compare bytes. */
    ws_handshake_accept_key(key, strlen(key), accept);
    v = sc->value[WS_HS_ACCEPT];
    if (sc->count[WS_HS_ACCEPT] != 1 || v.len != WS_ACCEPT_LEN ||
        memcmp(v.ptr, accept, WS_ACCEPT_LEN) != 0)
        return WS_EHS_ACCEPT;
    /* Item 5: only extensions we offered, each once. An empty header
     * lists none and passes. */
    if (ws_hs_ext_check_response(head, head_len, extensions) != 0)
        return WS_EHS_EXTENSION;
    resp->extensions = sc->value[WS_HS_EXTENSIONS];
    /* Item 6: one header naming exactly one of the offered subprotocols. */
    if (sc->count[WS_HS_PROTOCOL] > 0) {
        v = sc->value[WS_HS_PROTOCOL];
        if (sc->count[WS_HS_PROTOCOL] > 1 || v.len == 0 ||
            !was_offered(protocols, v))
            return WS_EHS_PROTOCOL;
        resp->protocol = v;
    }
    return 0;
}

WS_API int ws_handshake_parse_response(const char *buf, size_t len,
                                       size_t max_head, const char *key,
                                       const char *protocols,
                                       ws_response_t *resp)
{
    return ws_handshake_parse_response_ext(buf, len, max_head, key, protocols,
                                           NULL, resp);
}

WS_API int ws_handshake_parse_response_ext(const char *buf, size_t len,
                                           size_t max_head, const char *key,
                                           const char *protocols,
                                           const char *extensions,
                                           ws_response_t *resp)
{
    size_t head_len, next, end;
    ws_hs_scan_t sc;
    int r, major, minor;

    if (!resp || !key || (!buf && len > 0))
        return WS_EINVAL;
    memset(resp, 0, sizeof *resp);
    if (len == 0)
        return WS_EAGAIN;
    r = ws_hs_find_head(buf, len, max_head, &head_len);
    if (r < 0)
        return r;
    resp->head = buf;
    resp->head_len = head_len;
    end = ws_hs_line_end(buf, 0, head_len, &next);
    r = parse_status_line(buf, end, resp, &major, &minor);
    if (r == 0)
        r = ws_hs_scan_headers(buf, next, head_len, &sc);
    if (r < 0)
        return r;
    /* RFC 6455 §4.1: anything but 101 is handled as plain HTTP by the
     * caller (a redirect, an authentication challenge, ...): the whole
     * head is there for ws_header_find(). */
    if (resp->status != 101)
        return WS_EHS_STATUS;
    if (major != 1 || minor < 1)
        return WS_EHS_HTTPVER;
    r = check_response(buf, head_len, key, protocols, extensions, &sc, resp);
    return r < 0 ? r : (int)head_len;
}
