/*
 * handshake.c — fuzz target: the opening handshake parsers
 * (lib/handshake.c, lib/handshake_client.c) and what is built from their
 * results.
 *
 * Input: [mode] [max_head] head...
 *   mode bits 0-1  the subprotocols the client offered (for the response
 *                  parser): none, "chat", "chat, superchat", "superchat, x"
 *   mode bits 2-3  which offered subprotocol the server picks (0 = none)
 *   mode bits 4-7  with a hash of the input, which prefixes are tried
 *   max_head       0 = the default; else a small limit (see max_head())
 *
 * The same bytes go to ws_handshake_parse_request (server) and to
 * ws_handshake_parse_response (client, key "dGhlIHNhbXBsZSBub25jZQ==" of
 * RFC 6455 §1.3). For each:
 *   - the result agrees with an independent search for the empty line that
 *     ends the head (WS_EAGAIN before it, WS_EHS_TOOLARGE past the limit);
 *   - every prefix gives WS_EAGAIN (or WS_EHS_TOOLARGE) or, once it holds
 *     the whole head, exactly the result of the whole buffer;
 *   - returned slices lie inside the head;
 *   - a valid upgrade request gets a 101 (ws_handshake_build_response) that
 *     the client parser accepts, with the chosen subprotocol;
 *   - every handshake error gets a rejection (ws_handshake_build_reject)
 *     that parses as an HTTP response with that status and body length;
 *   - ws_header_find and ws_header_next_token agree with a line-by-line
 *     reference on every header name in the head.
 * Each parse reads its own heap copy that ends where its length does.
 */
#include "fuzz_common.h"
#include "wsproto.h"
#include "wsproto_int.h"

#include <limits.h>
#include <strings.h>

static const char RFC_KEY[] = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 §1.3 */
static const char *const OFFERS[4] = {NULL, "chat", "chat, superchat",
                                      "superchat, x"};

static size_t max_head_of(uint8_t b)
{
    if (b == 0)
        return 0;
    return b < 128 ? b : (size_t)(b - 127) * 64;
}

/* --------------------------------------------------- references */

static FZ_NOCOV int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static FZ_NOCOV int ieq(const char *a, size_t n, const char *b, size_t m)
{
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

/* Where the head ends: just past the first LF that is followed by LF or
 * CR LF, searched in buf[0..lim). 0 if there is none. */
static FZ_NOCOV size_t ref_head_end(const char *buf, size_t lim)
{
    for (size_t i = 0; i < lim; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < lim && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < lim && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* The header lines of a head: each as [s, e) without its line ending;
 * calls fn for each, up to the empty line. */
typedef struct ref_line {
    size_t s, colon, e;
} ref_line_t;

static FZ_NOCOV size_t ref_lines(const char *h, size_t len, ref_line_t *out,
                                 size_t cap)
{
    size_t pos = 0, n = 0;
    const char *nl = memchr(h, '\n', len);
    if (!nl)
        return 0;
    pos = (size_t)(nl - h) + 1; /* skip the request or status line */
    while (pos < len && n < cap) {
        nl = memchr(h + pos, '\n', len - pos);
        size_t e = nl ? (size_t)(nl - h) : len;
        size_t next = nl ? e + 1 : len;
        if (e > pos && h[e - 1] == '\r')
            e--;
        if (e == pos)
            break;
        const char *c = memchr(h + pos, ':', e - pos);
        out[n].s = pos;
        out[n].colon = c ? (size_t)(c - h) : e;
        out[n].e = e;
        n++;
        pos = next;
    }
    return n;
}

static FZ_NOCOV ws_str_t ref_trim(const char *h, size_t s, size_t e)
{
    while (s < e && is_ows(h[s]))
        s++;
    while (e > s && is_ows(h[e - 1]))
        e--;
    return (ws_str_t){h + s, e - s};
}

/* ---------------------------------------------------- the checks */

static int str_in(ws_str_t v, const char *base, size_t len)
{
    if (!v.ptr)
        return v.len == 0;
    return v.ptr >= base && v.ptr <= base + len &&
           v.len <= (size_t)(base + len - v.ptr);
}

static int str_same(ws_str_t a, const char *abase, ws_str_t b,
                    const char *bbase)
{
    if (!a.ptr || !b.ptr)
        return !a.ptr && !b.ptr && a.len == b.len;
    return a.ptr - abase == b.ptr - bbase && a.len == b.len;
}

static int str_eq(ws_str_t a, const char *lit)
{
    return a.ptr && a.len == strlen(lit) && memcmp(a.ptr, lit, a.len) == 0;
}

static void check_request_same(const ws_request_t *a, const char *abase,
                               const ws_request_t *b, const char *bbase)
{
    FZ_CHECK(
        str_same(a->method, abase, b->method, bbase) &&
            str_same(a->target, abase, b->target, bbase) &&
            str_same(a->path, abase, b->path, bbase) &&
            str_same(a->query, abase, b->query, bbase) &&
            str_same(a->host, abase, b->host, bbase) &&
            str_same(a->origin, abase, b->origin, bbase) &&
            str_same(a->key, abase, b->key, bbase) &&
            a->http_minor == b->http_minor && a->websocket == b->websocket &&
            a->head - abase == b->head - bbase && a->head_len == b->head_len,
        "a prefix holding the whole head parsed differently");
}

/* ws_header_find and ws_header_next_token on every name in the head,
 * against the line-by-line reference. */
static void check_header_lookup(const char *head, size_t len)
{
    static const char *const fixed[] = {"Host",       "Upgrade",
                                        "Connection", "Sec-WebSocket-Protocol",
                                        "X-None",     ""};
    size_t cap = len / 2 + 1;
    ref_line_t *lines = malloc(cap * sizeof *lines);
    FZ_CHECK(lines != NULL, "out of memory");
    size_t nl = ref_lines(head, len, lines, cap);
    /* The names of the first 10 lines and the last one, and a few fixed
     * ones (present or not): enough without going quadratic. */
    size_t named = nl < 11 ? nl : 11;
    char name[128];

    for (size_t q = 0; q < named + 6; q++) {
        if (q < named) {
            size_t l = q == 10 ? nl - 1 : q;
            size_t n = lines[l].colon - lines[l].s;
            if (n >= sizeof name)
                continue;
            memcpy(name, head + lines[l].s, n);
            name[n] = 0;
            if (strlen(name) != n)
                continue; /* a NUL in the name: not a C string */
        } else {
            strcpy(name, fixed[q - named]);
        }
        size_t nlen = strlen(name);

        /* The first header of that name, trimmed. */
        ws_str_t v, want = {NULL, 0};
        int found = 0;
        for (size_t i = 0; i < nl && !found; i++)
            if (lines[i].colon < lines[i].e &&
                ieq(head + lines[i].s, lines[i].colon - lines[i].s, name,
                    nlen)) {
                want = ref_trim(head, lines[i].colon + 1, lines[i].e);
                found = 1;
            }
        int r = ws_header_find(head, len, name, &v);
        FZ_CHECK(r == found, "ws_header_find(%s) = %d, reference %d", name, r,
                 found);
        FZ_CHECK(str_same(v, head, want, head),
                 "ws_header_find(%s): another value", name);

        /* Its tokens, across every header of that name. */
        size_t iter = 0, last = 0, count = 0;
        ws_str_t tok;
        size_t li = 0, vs = 0, ve = 0, p = 0;
        int have = 0;
        for (;;) {
            int got = ws_header_next_token(head, len, name, &iter, &tok);
            /* The reference's next token. */
            ws_str_t rt = {NULL, 0};
            int rgot = 0;
            while (!rgot) {
                if (!have) {
                    while (li < nl &&
                           !(lines[li].colon < lines[li].e &&
                             ieq(head + lines[li].s,
                                 lines[li].colon - lines[li].s, name, nlen)))
                        li++;
                    if (li >= nl)
                        break;
                    vs = lines[li].colon + 1;
                    ve = lines[li].e;
                    p = vs;
                    have = 1;
                    li++;
                }
                if (p >= ve) {
                    have = 0;
                    continue;
                }
                const char *c = memchr(head + p, ',', ve - p);
                size_t e = c ? (size_t)(c - head) : ve;
                rt = ref_trim(head, p, e);
                p = c ? e + 1 : ve;
                if (rt.len)
                    rgot = 1;
            }
            FZ_CHECK(got == rgot, "ws_header_next_token(%s) #%zu: %d vs %d",
                     name, count, got, rgot);
            if (!got)
                break;
            FZ_CHECK(str_same(tok, head, rt, head),
                     "ws_header_next_token(%s) #%zu: another token", name,
                     count);
            FZ_CHECK(iter > last && iter <= len,
                     "iterator went from %zu to %zu", last, iter);
            last = iter;
            FZ_CHECK(++count <= len, "ws_header_next_token does not end");
        }
        /* Exhausted stays exhausted. */
        FZ_CHECK(ws_header_next_token(head, len, name, &iter, &tok) == 0,
                 "a token after the end");
    }
    free(lines);
}

/* The rejection for a handshake error parses as a response with the
 * status ws_error_http_status gives and a body of Content-Length bytes. */
static void check_reject(int err)
{
    char out[1024];
    ptrdiff_t n = ws_handshake_build_reject(err, out, sizeof out);
    FZ_CHECK(n > 0, "no rejection for %s", ws_err_name(err));
    char *copy = (char *)fz_dup(out, (size_t)n);
    ws_response_t resp;
    int r = ws_handshake_parse_response(copy, (size_t)n, (size_t)n, RFC_KEY,
                                        NULL, &resp);
    FZ_CHECK(r == WS_EHS_STATUS, "rejection for %s parses as %s",
             ws_err_name(err), ws_err_name(r));
    FZ_CHECK(resp.status == ws_error_http_status(err), "status %d for %s",
             resp.status, ws_err_name(err));
    ws_str_t cl;
    FZ_CHECK(ws_header_find(resp.head, resp.head_len, "Content-Length", &cl),
             "no Content-Length");
    char want[24];
    snprintf(want, sizeof want, "%zu", (size_t)n - resp.head_len);
    FZ_CHECK(str_eq(cl, want), "Content-Length %.*s, body %s", (int)cl.len,
             cl.ptr, want);
    free(copy);
    /* Too small by one: WS_ENOBUFS, nothing written. */
    char small[1024];
    memset(small, 0x5A, sizeof small);
    FZ_CHECK(ws_handshake_build_reject(err, small, (size_t)n - 1) == WS_ENOBUFS,
             "reject into %td-1 bytes", n);
    for (size_t i = 0; i < sizeof small; i++)
        FZ_CHECK(small[i] == 0x5A, "ENOBUFS wrote byte %zu", i);
}

/* A valid upgrade: the 101 built for it is accepted by the client side
 * with the same key and the chosen subprotocol. */
static void check_response_for(const ws_request_t *req, unsigned pick)
{
    char proto[256] = "", key[WS_KEY_LEN + 1];
    static const char decoy[] = "not-offered";
    const char *use = NULL;
    size_t iter = 0;
    int decoy_offered = 0;
    ws_str_t tok;

    /* The pick-th offered subprotocol, if there is one that short; and
     * whether the input offers the decoy too (the fuzzer finds its name in
     * this file), which the server then prefers, being first in its list. */
    for (unsigned i = 0;
         pick && ws_header_next_token(req->head, req->head_len,
                                      "Sec-WebSocket-Protocol", &iter, &tok);
         i++) {
        if (i + 1 == pick && tok.len < sizeof proto &&
            memchr(tok.ptr, 0, tok.len) == NULL) {
            memcpy(proto, tok.ptr, tok.len);
            proto[tok.len] = 0;
            use = proto;
        }
        decoy_offered |=
            tok.len == sizeof decoy - 1 && memcmp(tok.ptr, decoy, tok.len) == 0;
    }
    if (use) {
        const char *const sup[] = {decoy, use, NULL};
        const char *want = decoy_offered ? decoy : use;
        FZ_CHECK(ws_request_select_protocol(req, sup) == want,
                 "offered subprotocol %s not selected", want);
    }
    FZ_CHECK(req->key.len == WS_KEY_LEN, "key of %zu bytes", req->key.len);
    memcpy(key, req->key.ptr, WS_KEY_LEN);
    key[WS_KEY_LEN] = 0;

    FZ_CHECK(ws_handshake_build_response(req, use, NULL, NULL, 0) == WS_ENOBUFS,
             "response into 0 bytes");
    size_t cap = 512 + strlen(proto);
    char *out = malloc(cap);
    FZ_CHECK(out != NULL, "out of memory");
    ptrdiff_t n = ws_handshake_build_response(req, use, NULL, out, cap);
    FZ_CHECK(n > 0, "no 101 for a valid upgrade: %s", ws_err_name((int)n));
    memset(out, 0x5A, cap);
    FZ_CHECK(ws_handshake_build_response(req, use, NULL, out, (size_t)n - 1) ==
                 WS_ENOBUFS,
             "101 into %td-1 bytes", n);
    for (size_t i = 0; i < cap; i++)
        FZ_CHECK(out[i] == 0x5A, "ENOBUFS wrote byte %zu", i);
    FZ_CHECK(ws_handshake_build_response(req, use, NULL, out, (size_t)n) == n,
             "101 into exactly %td bytes", n);

    char *copy = (char *)fz_dup(out, (size_t)n);
    ws_response_t resp;
    int r = ws_handshake_parse_response(copy, (size_t)n, (size_t)n, key, use,
                                        &resp);
    FZ_CHECK(r == n, "our own 101 is refused by the client side: %s",
             ws_err_name(r));
    FZ_CHECK(resp.status == 101, "status %d", resp.status);
    if (use)
        FZ_CHECK(str_eq(resp.protocol, use), "subprotocol lost");
    else
        FZ_CHECK(resp.protocol.ptr == NULL, "a subprotocol nobody chose");
    free(copy);
    free(out);
}

/* A copy of buf[0..len) at the very end of a heap block (*tail, to be
 * freed), so that a parser reading one byte too far is caught by ASan. */
static const char *at_heap_tail(const char *buf, size_t len, uint8_t **tail)
{
    *tail = malloc(len ? len : 1);
    FZ_CHECK(*tail != NULL, "out of memory");
    return (const char *)fz_at_tail(*tail, len ? len : 1, buf, len);
}

/* RFC 7230 §3.2.6 token. */
static int is_token(ws_str_t t)
{
    static const char tspecials[] = "()<>@,;:\\\"/[]?={} \t";
    if (t.len == 0)
        return 0;
    for (size_t i = 0; i < t.len; i++) {
        unsigned char c = (unsigned char)t.ptr[i];
        if (c <= 0x20 || c >= 0x7F || strchr(tspecials, c))
            return 0;
    }
    return 1;
}

/* Every extension ws_header_next_extension() finds: slices inside the
 * head, names and unquoted values tokens, quoted values unescaped to no
 * more than their escaped length. Returns the first offer's name (or an
 * empty slice); *syntax says whether the list ended in WS_EHS_SYNTAX. */
static ws_str_t check_extensions(const char *head, size_t len, int *syntax)
{
    size_t iter = 0, prev = 0, n = 0;
    ws_ext_offer_t o;
    ws_str_t first = {NULL, 0};
    char v[512];
    int r;
    while ((r = ws_header_next_extension(head, len, &iter, &o)) > 0) {
        FZ_CHECK(iter > prev && iter <= len, "the iterator did not advance");
        prev = iter;
        FZ_CHECK(++n <= len, "more extensions than bytes");
        FZ_CHECK(str_in(o.name, head, len) && is_token(o.name),
                 "extension name not a token of the head");
        FZ_CHECK(o.nparams <= WS_EXT_MAX_PARAMS, "nparams %zu", o.nparams);
        for (size_t i = 0; i < o.nparams; i++) {
            const ws_ext_param_t *p = &o.params[i];
            FZ_CHECK(str_in(p->name, head, len) && is_token(p->name) &&
                         str_in(p->value, head, len),
                     "parameter slice");
            if (p->value.ptr && !p->quoted)
                FZ_CHECK(is_token(p->value), "unquoted value not a token");
            ptrdiff_t m = ws_ext_param_value(p, v, sizeof v);
            FZ_CHECK(m == WS_ENOBUFS || (m >= 0 && (size_t)m <= p->value.len &&
                                         strlen(v) <= (size_t)m),
                     "unescaped value of %td bytes", m);
        }
        if (!first.ptr)
            first = o.name;
    }
    *syntax = r == WS_EHS_SYNTAX;
    FZ_CHECK(r == 0 || r == WS_EHS_SYNTAX, "iteration ended with %d", r);
    FZ_CHECK(ws_header_next_extension(head, len, &iter, &o) == 0,
             "the end is not sticky");
    return first;
}

/* A server accepting the first offer: the 101 carries it, and a client
 * that offered it accepts the 101. */
static void check_accept_extension(const ws_request_t *req)
{
    int syntax;
    ws_str_t first = check_extensions(req->head, req->head_len, &syntax);
    char name[128], out[1024];
    if (!first.ptr || first.len >= sizeof name)
        return;
    memcpy(name, first.ptr, first.len);
    name[first.len] = 0;
    ptrdiff_t n =
        ws_handshake_build_response_ext(req, NULL, name, NULL, out, sizeof out);
    if (n == WS_ENOBUFS)
        return;
    FZ_CHECK(n > 0, "accepting the offered %s gave %td", name, n);
    char key[WS_KEY_LEN + 1];
    memcpy(key, req->key.ptr,
           req->key.len < WS_KEY_LEN ? req->key.len : WS_KEY_LEN);
    key[WS_KEY_LEN] = 0;
    ws_response_t resp;
    int r = ws_handshake_parse_response_ext(out, (size_t)n, 0, key, NULL, name,
                                            &resp);
    FZ_CHECK(r == (int)n, "our own 101 accepting %s was refused: %s", name,
             ws_err_name(r));
    r = ws_handshake_parse_response_ext(out, (size_t)n, 0, key, NULL,
                                        "x-other-extension", &resp);
    FZ_CHECK(r == WS_EHS_EXTENSION ||
                 (r > 0 && strcasecmp(name, "x-other-extension") == 0),
             "an unoffered extension passed");
}

static void check_request(const char *buf, size_t len, size_t max_head,
                          unsigned mode, fz_rng_t *rng)
{
    ws_request_t req;
    size_t eff = max_head ? max_head : WS_DEFAULT_MAX_HEAD;
    size_t end = ref_head_end(buf, eff < len ? eff : len);
    uint8_t *tail;
    const char *whole = at_heap_tail(buf, len, &tail);

    int r = ws_handshake_parse_request(whole, len, max_head, &req);
    if (end == 0) {
        FZ_CHECK(r == (len > eff ? WS_EHS_TOOLARGE : WS_EAGAIN),
                 "no head end yet, but %s", ws_err_name(r));
    } else if (r > 0) {
        FZ_CHECK((size_t)r == end, "head of %d bytes, reference %zu", r, end);
    } else {
        FZ_CHECK(r == WS_EHS_SYNTAX || r == WS_EHS_METHOD ||
                     r == WS_EHS_HTTPVER || r == WS_EHS_HOST ||
                     r == WS_EHS_UPGRADE || r == WS_EHS_CONNECTION ||
                     r == WS_EHS_VERSION || r == WS_EHS_KEY,
                 "a complete head gave %s", ws_err_name(r));
    }

    ws_request_t keep = req;
    if (r > 0) {
        size_t h = (size_t)r;
        FZ_CHECK(req.head == whole && req.head_len == h, "head slice");
        FZ_CHECK(str_in(req.method, whole, h) && str_in(req.target, whole, h) &&
                     str_in(req.path, whole, h) &&
                     str_in(req.query, whole, h) &&
                     str_in(req.host, whole, h) &&
                     str_in(req.origin, whole, h) && str_in(req.key, whole, h),
                 "a request slice outside the head");
        FZ_CHECK(req.method.len > 0 && req.target.len > 0, "empty method");
        FZ_CHECK(req.path.ptr == req.target.ptr &&
                     req.path.len <= req.target.len,
                 "path is not the start of the target");
        if (req.query.ptr)
            FZ_CHECK(req.query.ptr == req.target.ptr + req.path.len + 1 &&
                         req.path.len + 1 + req.query.len == req.target.len &&
                         req.target.ptr[req.path.len] == '?',
                     "query is not what follows '?'");
        else
            FZ_CHECK(req.path.len == req.target.len, "path cut short");
        if (req.websocket) {
            FZ_CHECK(str_eq(req.method, "GET"), "upgrade by another method");
            FZ_CHECK(req.http_minor >= 1, "upgrade in HTTP/1.0");
            FZ_CHECK(req.host.ptr != NULL, "upgrade without Host");
            check_response_for(&req, (mode >> 2) & 3);
            check_accept_extension(&req);
        } else {
            int syntax;
            check_extensions(whole, h, &syntax);
        }
        check_header_lookup(whole, h);
    } else if (r != WS_EAGAIN) {
        check_reject(r);
    }

    /* Prefixes: each in a block that ends where it does. */
    unsigned tries = len <= 256 ? (unsigned)len : 48;
    for (unsigned i = 0; i < tries + 3; i++) {
        size_t k;
        if (i < tries)
            k = len <= 256 ? i : fz_below(rng, len);
        else
            k = end ? end - 1 + (i - tries) : len; /* around the end */
        if (k > len)
            continue;
        const char *pre = (const char *)fz_at_tail(tail, len ? len : 1, buf, k);
        int rk = ws_handshake_parse_request(pre, k, max_head, &req);
        if (end && k >= end) {
            FZ_CHECK(rk == r, "prefix %zu of %zu: %s, whole: %s", k, len,
                     ws_err_name(rk), ws_err_name(r));
            if (r > 0)
                check_request_same(&req, pre, &keep, whole);
        } else {
            FZ_CHECK(rk == (k > eff ? WS_EHS_TOOLARGE : WS_EAGAIN),
                     "prefix %zu of %zu (head %zu): %s", k, len, end,
                     ws_err_name(rk));
        }
    }
    free(tail);
}

static void check_response(const char *buf, size_t len, size_t max_head,
                           unsigned mode, fz_rng_t *rng)
{
    ws_response_t resp, keep;
    const char *offer = OFFERS[mode & 3];
    size_t eff = max_head ? max_head : WS_DEFAULT_MAX_HEAD;
    size_t end = ref_head_end(buf, eff < len ? eff : len);
    uint8_t *tail;
    const char *whole = at_heap_tail(buf, len, &tail);

    int r = ws_handshake_parse_response(whole, len, max_head, RFC_KEY, offer,
                                        &resp);
    if (end == 0) {
        FZ_CHECK(r == (len > eff ? WS_EHS_TOOLARGE : WS_EAGAIN),
                 "no head end yet, but %s", ws_err_name(r));
    } else if (r > 0) {
        FZ_CHECK((size_t)r == end, "head of %d bytes, reference %zu", r, end);
        FZ_CHECK(resp.status == 101, "accepted status %d", resp.status);
        int syntax;
        FZ_CHECK(check_extensions(whole, end, &syntax).ptr == NULL && !syntax,
                 "a 101 accepted with unoffered extensions");
        FZ_CHECK(resp.head == whole && resp.head_len == end, "head slice");
        FZ_CHECK(str_in(resp.reason, whole, end) &&
                     str_in(resp.protocol, whole, end),
                 "a response slice outside the head");
        ws_str_t acc;
        FZ_CHECK(ws_header_find(whole, end, "Sec-WebSocket-Accept", &acc) &&
                     str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
                 "accepted without the right Sec-WebSocket-Accept");
        if (resp.protocol.ptr) {
            /* One of the offered names, byte for byte. */
            int offered = 0;
            const char *o = offer;
            while (o && *o && !offered) {
                while (*o == ' ' || *o == ',')
                    o++;
                size_t n = strcspn(o, ", ");
                offered = n && n == resp.protocol.len &&
                          memcmp(o, resp.protocol.ptr, n) == 0;
                o += n;
            }
            FZ_CHECK(offered, "accepted a subprotocol nobody offered");
        }
        check_header_lookup(whole, end);
    } else {
        FZ_CHECK(r == WS_EHS_SYNTAX || r == WS_EHS_STATUS ||
                     r == WS_EHS_HTTPVER || r == WS_EHS_UPGRADE ||
                     r == WS_EHS_CONNECTION || r == WS_EHS_ACCEPT ||
                     r == WS_EHS_PROTOCOL || r == WS_EHS_EXTENSION,
                 "a complete response head gave %s", ws_err_name(r));
        if (r == WS_EHS_STATUS) {
            FZ_CHECK(resp.status != 101 && resp.status >= 0 &&
                         resp.status <= 999,
                     "WS_EHS_STATUS with status %d", resp.status);
            check_header_lookup(whole, end);
        }
        check_reject(r);
    }

    keep = resp;
    unsigned tries = len <= 256 ? (unsigned)len : 48;
    for (unsigned i = 0; i < tries + 3; i++) {
        size_t k;
        if (i < tries)
            k = len <= 256 ? i : fz_below(rng, len);
        else
            k = end ? end - 1 + (i - tries) : len;
        if (k > len)
            continue;
        const char *pre = (const char *)fz_at_tail(tail, len ? len : 1, buf, k);
        int rk = ws_handshake_parse_response(pre, k, max_head, RFC_KEY, offer,
                                             &resp);
        if (end && k >= end) {
            FZ_CHECK(rk == r, "prefix %zu of %zu: %s, whole: %s", k, len,
                     ws_err_name(rk), ws_err_name(r));
            FZ_CHECK(resp.status == keep.status, "status differs");
            if (r > 0)
                FZ_CHECK(str_same(resp.protocol, pre, keep.protocol, whole) &&
                             str_same(resp.reason, pre, keep.reason, whole),
                         "a prefix holding the whole head parsed differently");
        } else {
            FZ_CHECK(rk == (k > eff ? WS_EHS_TOOLARGE : WS_EAGAIN),
                     "prefix %zu of %zu (head %zu): %s", k, len, end,
                     ws_err_name(rk));
        }
    }
    free(tail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned mode = data[0];
    size_t max_head = max_head_of(data[1]);
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;
    fz_rng_t rng = {fz_fnv(data, size)};

    check_request(buf, len, max_head, mode, &rng);
    check_response(buf, len, max_head, mode, &rng);
    return 0;
}
