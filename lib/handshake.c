/*
 * handshake.c — the server side of the opening handshake (RFC 6455 §4.2),
 * the HTTP/1.1 head syntax both sides share (RFC 7230 §3), and header
 * lookup. The client side is in handshake_client.c.
 *
 * Parsing follows picohttpparser: no state is kept between calls. The
 * caller passes the whole buffer received so far; nothing is judged until
 * the empty line ending the head has arrived, so the answer for any prefix
 * of a head is WS_EAGAIN (or WS_EHS_TOOLARGE past the limit) and the answer
 * for the complete head does not depend on how it was split. The price:
 * a peer sending garbage is refused at the size limit rather than at its
 * first bad byte, and each call rescans from the start; max_head (8 KiB by
 * default) bounds both. Returned slices point into the caller's buffer;
 * nothing is copied or allocated.
 */
#include "handshake_int.h"

#include <limits.h>

/* RFC 6455 §1.3: appended to the key before hashing. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* ---------------------------------------------------- characters */

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

int ws_hs_ieq(const char *s, size_t n, const char *t)
{
    for (size_t i = 0; i < n; i++, t++)
        if (*t == '\0' ||
            ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)*t))
            return 0;
    return *t == '\0';
}

int ws_hs_is_tchar(unsigned char c)
{
    unsigned char l = ascii_lower(c);

    if ((c >= '0' && c <= '9') || (l >= 'a' && l <= 'z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 7230 §3.2: field-value bytes are VCHAR, obs-text, SP and HTAB; every
 * other control character (CR, LF, NUL, DEL, ...) is refused. */
static int is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* --------------------------------------------------------- lines */

/*
 * Line endings: RFC 7230 §3 says CRLF, and §3.5 allows a recipient to take
 * a bare LF as a line terminator. Like picohttpparser we do, which costs
 * nothing; a bare CR anywhere else is a control character and is refused,
 * so CR and LF can never disagree about where a line ends. Empty lines
 * before the request line (§3.5 "SHOULD ignore") are not skipped: the
 * handshake is the first thing on a connection, so there is no previous
 * message for them to trail, and they are refused as a syntax error.
 */
int ws_hs_find_head(const char *buf, size_t len, size_t max_head,
                    size_t *head_len)
{
    const char *p = buf, *end;

    if (max_head == 0)
        max_head = WS_DEFAULT_MAX_HEAD;
    if (max_head > INT_MAX) /* the head length is returned as an int */
        max_head = INT_MAX;
    end = buf + (len < max_head ? len : max_head);
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if (p < end && *p == '\n') {
            *head_len = (size_t)(p + 1 - buf);
            return 0;
        }
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            *head_len = (size_t)(p + 2 - buf);
            return 0;
        }
    }
    /* Only the first max_head bytes were searched, so a head that ends
     * beyond the limit is refused as soon as the limit is crossed. */
    return len > max_head ? WS_EHS_TOOLARGE : WS_EAGAIN;
}

size_t ws_hs_line_end(const char *p, size_t pos, size_t len, size_t *next)
{
    const char *nl = pos < len ? memchr(p + pos, '\n', len - pos) : NULL;
    size_t e = nl ? (size_t)(nl - p) : len;

    *next = nl ? e + 1 : len;
    if (e > pos && p[e - 1] == '\r')
        e--;
    return e;
}

int ws_hs_parse_version(const char *p, size_t n, int *major, int *minor)
{
    /* RFC 7230 §2.6: HTTP-name is case-sensitive, one digit each side. */
    if (n != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
        p[5] > '9' || p[7] < '0' || p[7] > '9')
        return WS_EHS_SYNTAX;
    *major = p[5] - '0';
    *minor = p[7] - '0';
    return 0;
}

static ws_str_t trimmed(const char *p, size_t s, size_t e)
{
    ws_str_t v;
    while (s < e && is_ows(p[s]))
        s++;
    while (e > s && is_ows(p[e - 1]))
        e--;
    v.ptr = p + s;
    v.len = e - s;
    return v;
}

/* One header line, CR LF removed: field-name ":" OWS field-value OWS. */
static int parse_header_line(const char *p, size_t n, ws_str_t *name,
                             ws_str_t *value)
{
    size_t i = 0;

    /* RFC 7230 §3.2.4: a line starting with SP or HTAB is obs-fold, and
     * whitespace between the name and the colon must be answered with 400;
     * both fall out of requiring a non-empty token right before ':'. */
    while (i < n && ws_hs_is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ':')
        return -1;
    for (size_t j = i + 1; j < n; j++)
        if (!is_field_char((unsigned char)p[j]))
            return -1;
    name->ptr = p;
    name->len = i;
    *value = trimmed(p, i + 1, n);
    return 0;
}

int ws_hs_scan_headers(const char *head, size_t pos, size_t head_len,
                       ws_hs_scan_t *sc)
{
    static const char *const names[WS_HS_NHEADERS] = {
        "Host",
        "Origin",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Accept",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
    };

    memset(sc, 0, sizeof *sc);
    for (;;) {
        size_t next, end = ws_hs_line_end(head, pos, head_len, &next);
        ws_str_t name, value;

        if (end == pos) /* the empty line that ends the head */
            return 0;
        if (parse_header_line(head + pos, end - pos, &name, &value) < 0)
            return WS_EHS_SYNTAX;
        for (int h = 0; h < WS_HS_NHEADERS; h++) {
            if (!ws_hs_ieq(name.ptr, name.len, names[h]))
                continue;
            if (sc->count[h] == 0)
                sc->value[h] = value;
            if (sc->count[h] < 2)
                sc->count[h]++;
            break;
        }
        pos = next;
    }
}

int ws_hs_check_lines(const char *s)
{
    size_t pos = 0, len = strlen(s);

    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        size_t e;
        ws_str_t name, value;

        if (!nl)
            return 0;
        e = (size_t)(nl - s);
        /* Only CRLF here: we are the sender (RFC 7230 §3), and an empty
         * line would end our head early. */
        if (e == pos || s[e - 1] != '\r' || e - 1 == pos)
            return 0;
        if (parse_header_line(s + pos, e - 1 - pos, &name, &value) < 0)
            return 0;
        pos = e + 1;
    }
    return 1;
}

/* ------------------------------------------------- header lookup */

/* From the line starting at *pos, find the next header called name (of
 * name_len bytes) before the end of the head. Sets its untrimmed value
 * [*vs, *ve) and moves *pos to the line after it. */
int ws_hs_find_field(const char *head, size_t len, size_t *pos,
                     const char *name, size_t name_len, size_t *vs, size_t *ve)
{
    size_t p = *pos;

    for (;;) {
        size_t next, end = ws_hs_line_end(head, p, len, &next);
        const char *colon;

        if (end == p) /* the empty line, or the end of the buffer */
            return 0;
        colon = memchr(head + p, ':', end - p);
        if (colon && (size_t)(colon - (head + p)) == name_len &&
            ws_hs_ieq(head + p, name_len, name)) {
            *vs = (size_t)(colon - head) + 1;
            *ve = end;
            *pos = next;
            return 1;
        }
        p = next;
    }
}

/* Where the header lines start: after the request or status line. */
size_t ws_hs_first_field(const char *head, size_t len)
{
    size_t next;
    ws_hs_line_end(head, 0, len, &next);
    return next;
}

WS_API int ws_header_find(const char *head, size_t head_len, const char *name,
                          ws_str_t *value)
{
    size_t pos, vs, ve;

    if (!value)
        return 0;
    value->ptr = NULL;
    value->len = 0;
    if (!head || !name)
        return 0;
    pos = ws_hs_first_field(head, head_len);
    if (!ws_hs_find_field(head, head_len, &pos, name, strlen(name), &vs, &ve))
        return 0;
    *value = trimmed(head, vs, ve);
    return 1;
}

int ws_hs_list_next(const char *p, size_t end, size_t *pos, ws_str_t *item)
{
    size_t i = *pos;

    /* RFC 7230 §7: recipients accept and ignore empty list elements. */
    while (i < end && (is_ows(p[i]) || p[i] == ','))
        i++;
    if (i >= end) {
        *pos = end;
        return 0;
    }
    *pos = i;
    while (i < end && p[i] != ',')
        i++;
    *item = trimmed(p, *pos, i);
    *pos = i;
    return 1;
}

/*
 * *iter is 0 before the first call; afterwards it is the offset in head
 * just past the last token returned, which always lies inside the value of
 * a matching header (so never 0). The scan resumes there, then moves on to
 * the next header of the same name.
 */
WS_API int ws_header_next_token(const char *head, size_t head_len,
                                const char *name, size_t *iter, ws_str_t *token)
{
    size_t pos, end, next, name_len;

    if (!head || !name || !iter || !token || *iter > head_len)
        return 0;
    name_len = strlen(name);
    if (*iter == 0) {
        next = ws_hs_first_field(head, head_len);
        if (!ws_hs_find_field(head, head_len, &next, name, name_len, &pos,
                              &end))
            goto done;
    } else {
        pos = *iter;
        end = ws_hs_line_end(head, pos, head_len, &next);
    }
    for (;;) {
        if (ws_hs_list_next(head, end, &pos, token)) {
            *iter = pos;
            return 1;
        }
        if (!ws_hs_find_field(head, head_len, &next, name, name_len, &pos,
                              &end))
            break;
    }
done:
    *iter = head_len;
    token->ptr = NULL;
    token->len = 0;
    return 0;
}

int ws_hs_has_token(const char *head, size_t head_len, const char *name,
                    const char *token)
{
    size_t iter = 0;
    ws_str_t t;

    while (ws_header_next_token(head, head_len, name, &iter, &t))
        if (ws_hs_ieq(t.ptr, t.len, token))
            return 1;
    return 0;
}

WS_API const char *ws_request_select_protocol(const ws_request_t *req,
                                              const char *const *supported)
{
    if (!req || !req->head || !supported)
        return NULL;
    /* RFC 6455 §4.2.2: the server picks; its own order of preference
     * decides, not the client's. Names compare byte for byte (§4.1). */
    for (; *supported; supported++) {
        size_t iter = 0, n = strlen(*supported);
        ws_str_t t;
        while (ws_header_next_token(req->head, req->head_len,
                                    "Sec-WebSocket-Protocol", &iter, &t))
            if (t.len == n && memcmp(t.ptr, *supported, n) == 0)
                return *supported;
    }
    return NULL;
}

/* ------------------------------------------------- server: request */

/* request-line = method SP request-target SP HTTP-version (RFC 7230 §3.1.1).
 * The target must be visible ASCII: no spaces, controls or raw UTF-8. */
static int parse_request_line(const char *p, size_t n, ws_request_t *req,
                              int *major)
{
    size_t i = 0, t;
    const char *q;

    while (i < n && ws_hs_is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return WS_EHS_SYNTAX;
    req->method.ptr = p;
    req->method.len = i;
    t = ++i;
    while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7F)
        i++;
    if (i == t || i == n || p[i] != ' ')
        return WS_EHS_SYNTAX;
    req->target.ptr = p + t;
    req->target.len = i - t;
    q = memchr(req->target.ptr, '?', req->target.len);
    req->path.ptr = req->target.ptr;
    req->path.len = q ? (size_t)(q - req->target.ptr) : req->target.len;
    if (q) {
        req->query.ptr = q + 1;
        req->query.len = req->target.len - req->path.len - 1;
    }
    return ws_hs_parse_version(p + i + 1, n - i - 1, major, &req->http_minor);
}

static int str_is(ws_str_t s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* RFC 6455 §4.2.1, checked in the order of the list there. */
static int check_upgrade(const ws_request_t *req, int major,
                         const ws_hs_scan_t *sc)
{
    uint8_t raw[16];

    /* RFC 7230 §3.1.1: the method is case-sensitive. */
    if (!str_is(req->method, "GET"))
        return WS_EHS_METHOD;
    if (major != 1 || req->http_minor < 1)
        return WS_EHS_HTTPVER;
    if (sc->count[WS_HS_HOST] != 1)
        return WS_EHS_HOST;
    if (!ws_hs_has_token(req->head, req->head_len, "Upgrade", "websocket"))
        return WS_EHS_UPGRADE;
    /* Connection may be repeated and is a list: "keep-alive, Upgrade". */
    if (!ws_hs_has_token(req->head, req->head_len, "Connection", "upgrade"))
        return WS_EHS_CONNECTION;
    /* §4.2.2: any other version, or several, gets 426 with our version. */
    if (sc->count[WS_HS_VERSION] != 1 ||
        !str_is(sc->value[WS_HS_VERSION], "13"))
        return WS_EHS_VERSION;
    if (sc->count[WS_HS_KEY] != 1 ||
        ws_base64_decode(raw, sizeof raw, sc->value[WS_HS_KEY].ptr,
                         sc->value[WS_HS_KEY].len) != (ptrdiff_t)sizeof raw)
        return WS_EHS_KEY;
    return 0;
}

WS_API int ws_handshake_parse_request(const char *buf, size_t len,
                                      size_t max_head, ws_request_t *req)
{
    size_t head_len, next, end;
    ws_hs_scan_t sc;
    int r, major;

    if (!req || (!buf && len > 0))
        return WS_EINVAL;
    memset(req, 0, sizeof *req);
    if (len == 0)
        return WS_EAGAIN;
    r = ws_hs_find_head(buf, len, max_head, &head_len);
    if (r < 0)
        return r;
    req->head = buf;
    req->head_len = head_len;
    end = ws_hs_line_end(buf, 0, head_len, &next);
    r = parse_request_line(buf, end, req, &major);
    if (r == 0)
        r = ws_hs_scan_headers(buf, next, head_len, &sc);
    if (r < 0)
        return r;
    req->host = sc.value[WS_HS_HOST];
    req->origin = sc.value[WS_HS_ORIGIN];
    req->key = sc.value[WS_HS_KEY];

    /* An upgrade attempt is judged as one, so that a client that got the
     * handshake slightly wrong hears why instead of being served a page. */
    if (sc.count[WS_HS_KEY] > 0 || sc.count[WS_HS_VERSION] > 0 ||
        ws_hs_has_token(buf, head_len, "Upgrade", "websocket")) {
        r = check_upgrade(req, major, &sc);
        if (r < 0)
            return r;
        req->websocket = 1;
        return (int)head_len;
    }
    /* Plain HTTP, left to the caller, but a head we could not describe
     * faithfully is refused: another major version, or a Host that is
     * missing in HTTP/1.1 or repeated (RFC 7230 §5.4: MUST answer 400;
     * req->host could show only one of several). */
    if (major != 1)
        return WS_EHS_HTTPVER;
    if (sc.count[WS_HS_HOST] > 1 ||
        (sc.count[WS_HS_HOST] == 0 && req->http_minor >= 1))
        return WS_EHS_HOST;
    return (int)head_len;
}

/* ------------------------------------------------ server: replies */

WS_API void ws_handshake_accept_key(const char *key, size_t key_len,
                                    char out[WS_ACCEPT_LEN + 1])
{
    ws_sha1_t s;
    uint8_t digest[WS_SHA1_LEN];

    if (!out)
        return;
    /* RFC 6455 §4.2.2 item 5.4: base64(SHA-1(key || GUID)); the key is
     * hashed as sent (trimmed), not decoded. */
    ws_sha1_init(&s);
    if (key)
        ws_sha1_update(&s, key, key_len);
    ws_sha1_update(&s, ws_guid, sizeof ws_guid - 1);
    ws_sha1_final(&s, digest);
    ws_base64_encode(out, digest, sizeof digest);
    out[WS_ACCEPT_LEN] = '\0';
}

static void put_response(ws_hs_out_t *o, const char *accept,
                         const char *protocol, const char *extensions,
                         const char *extra_headers)
{
    /* RFC 6455 §4.2.2 item 5. */
    ws_hs_puts(o, "HTTP/1.1 101 Switching Protocols\r\n"
                  "Upgrade: websocket\r\n"
                  "Connection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: ");
    ws_hs_put(o, accept, WS_ACCEPT_LEN);
    ws_hs_puts(o, "\r\n");
    if (protocol) {
        ws_hs_puts(o, "Sec-WebSocket-Protocol: ");
        ws_hs_puts(o, protocol);
        ws_hs_puts(o, "\r\n");
    }
    if (extensions) {
        ws_hs_puts(o, "Sec-WebSocket-Extensions: ");
        ws_hs_puts(o, extensions);
        ws_hs_puts(o, "\r\n");
    }
    if (extra_headers)
        ws_hs_puts(o, extra_headers);
    ws_hs_puts(o, "\r\n");
}

WS_API ptrdiff_t ws_handshake_build_response_ext(const ws_request_t *req,
                                                 const char *protocol,
                                                 const char *extensions,
                                                 const char *extra_headers,
                                                 char *out, size_t cap)
{
    const char *offered[2] = {protocol, NULL};
    char accept[WS_ACCEPT_LEN + 1];
    ws_hs_out_t o = {NULL, 0};

    if (!req || !req->websocket || !req->key.ptr || (!out && cap > 0))
        return WS_EINVAL;
    /* RFC 6455 §4.2.2: the protocol must be one the client listed. Offered
     * names come from a checked head, so they hold no CR or LF. */
    if (protocol && !ws_request_select_protocol(req, offered))
        return WS_EINVAL;
    /* §9.1: only extensions the client offered; the grammar keeps CR and
     * LF out of the value. */
    if (extensions &&
        !ws_hs_ext_all_offered(extensions, req->head, req->head_len))
        return WS_EINVAL;
    if (extra_headers && !ws_hs_check_lines(extra_headers))
        return WS_EINVAL;
    ws_handshake_accept_key(req->key.ptr, req->key.len, accept);
    put_response(&o, accept, protocol, extensions, extra_headers);
    if (o.len > cap)
        return WS_ENOBUFS;
    o.p = out;
    o.len = 0;
    put_response(&o, accept, protocol, extensions, extra_headers);
    return (ptrdiff_t)o.len;
}

WS_API ptrdiff_t ws_handshake_build_response(const ws_request_t *req,
                                             const char *protocol,
                                             const char *extra_headers,
                                             char *out, size_t cap)
{
    return ws_handshake_build_response_ext(req, protocol, NULL, extra_headers,
                                           out, cap);
}

static void put_decimal(ws_hs_out_t *o, size_t v)
{
    char digits[24];
    size_t n = sizeof digits;

    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    ws_hs_put(o, digits + n, sizeof digits - n);
}

static void put_reject(ws_hs_out_t *o, int status, const char *reason,
                       const char *body)
{
    size_t body_len = strlen(body);

    ws_hs_puts(o, "HTTP/1.1 ");
    put_decimal(o, (size_t)status);
    ws_hs_puts(o, " ");
    ws_hs_puts(o, reason);
    ws_hs_puts(o, "\r\n");
    if (status == 426) {
        /* RFC 6455 §4.2.2: name the version we speak. RFC 7230 §6.7: a 426
         * MUST carry Upgrade, and Upgrade needs the "upgrade" option. */
        ws_hs_puts(o, "Sec-WebSocket-Version: 13\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade, close\r\n");
    } else {
        ws_hs_puts(o, "Connection: close\r\n");
    }
    ws_hs_puts(o, "Content-Type: text/plain\r\nContent-Length: ");
    put_decimal(o, body_len + 1);
    ws_hs_puts(o, "\r\n\r\n");
    ws_hs_put(o, body, body_len);
    ws_hs_puts(o, "\n");
}

WS_API ptrdiff_t ws_handshake_build_reject(int err, char *out, size_t cap)
{
    int status = ws_error_http_status(err);
    const char *reason;
    ws_hs_out_t o = {NULL, 0};

    switch (status) {
    case 400:
        reason = "Bad Request";
        break;
    case 426:
        reason = "Upgrade Required";
        break;
    case 431: /* RFC 6585 §5 */
        reason = "Request Header Fields Too Large";
        break;
    default: /* not a handshake error */
        return WS_EINVAL;
    }
    if (!out && cap > 0)
        return WS_EINVAL;
    put_reject(&o, status, reason, ws_strerror(err));
    if (o.len > cap)
        return WS_ENOBUFS;
    o.p = out;
    o.len = 0;
    put_reject(&o, status, reason, ws_strerror(err));
    return (ptrdiff_t)o.len;
}
