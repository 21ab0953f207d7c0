/*
 * api.c — fuzz target: every public function that takes a buffer and a
 * length (or a string) from the caller, with arbitrary arguments, and the
 * internal base64 and SHA-1 the handshake is built on.
 *
 * Input: [which] arguments... ; which % 11 picks the function family:
 *   0 ws_frame_header_parse / _encode    6 ws_conn_send_* with any arguments
 *                                          (ws_conn_send_header against the
 *                                          fragment encoder on a twin)
 *   1 ws_mask                            7 ws_handshake_build_request
 *   2 ws_handshake_accept_key, SHA-1     8 ws_handshake_build_response with
 *   3 ws_header_find / _next_token and     any extra_headers
 *     ws_request_select_protocol on      9 ws_conn_init options, NULL and
 *     bytes that are not a parsed head     out-of-order calls
 *   4 ws_close_code_is_valid, errors    10 ws_handshake_generate_key
 *   5 base64 encode / decode
 * Buffers handed to the library are heap blocks of exactly the size the
 * call is told, so a read or write past them is an AddressSanitizer report;
 * outputs are pre-filled to show that failed calls write nothing.
 */
#include "fuzz_common.h"
#include "wsproto.h"
#include "wsproto_int.h"

typedef struct in {
    const uint8_t *p;
    size_t n;
} in_t;

static FZ_NOCOV uint8_t take8(in_t *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static FZ_NOCOV uint64_t take64(in_t *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | take8(in);
    return v;
}

/* A NUL-terminated string: input bytes up to a 0 byte (or the end). */
static char *take_str(in_t *in)
{
    size_t n = 0;
    while (n < in->n && in->p[n] != 0)
        n++;
    char *s = malloc(n + 1);
    FZ_CHECK(s != NULL, "out of memory");
    memcpy(s, in->p, n);
    s[n] = 0;
    in->p += n < in->n ? n + 1 : n;
    in->n -= n < in->n ? n + 1 : n;
    return s;
}

static int untouched(const uint8_t *p, size_t n, uint8_t fill)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != fill)
            return 0;
    return 1;
}

/* ------------------------------------------------------ 0: headers */

static void fuzz_frame_header(in_t in)
{
    int strict = take8(&in) & 1;
    const uint8_t *b = in.p;
    size_t len = in.n;
    uint8_t *copy = fz_dup(b, len);
    ws_frame_header_t h;
    int r = ws_frame_header_parse(len ? copy : NULL, len, &h, strict);

    /* Reference, from RFC 6455 §5.2. */
    int want;
    uint64_t plen = 0;
    size_t hlen = 0;
    if (len < 2) {
        want = WS_EAGAIN;
    } else {
        unsigned l7 = b[1] & 0x7F;
        hlen = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (b[1] & 0x80 ? 4 : 0);
        if (len < hlen) {
            want = WS_EAGAIN;
        } else {
            plen = l7;
            if (l7 == 126)
                plen = (uint64_t)b[2] << 8 | b[3];
            if (l7 == 127)
                for (int i = 0; i < 8; i++)
                    plen = plen << 8 | b[2 + i];
            want = (int)hlen;
            if (l7 == 127 && (plen >> 63))
                want = WS_ELENGTH;
            else if (strict && ((l7 == 126 && plen < 126) ||
                                (l7 == 127 && plen <= 0xFFFF)))
                want = WS_ELENGTH;
        }
    }
    FZ_CHECK(r == want, "ws_frame_header_parse: %d, reference %d", r, want);
    if (r > 0) {
        FZ_CHECK(h.fin == b[0] >> 7 && h.rsv == ((b[0] >> 4) & 7) &&
                     h.opcode == (b[0] & 15) && h.masked == b[1] >> 7 &&
                     h.payload_len == plen,
                 "decoded fields");
        uint8_t key[4] = {0};
        if (h.masked)
            memcpy(key, b + hlen - 4, 4);
        FZ_CHECK(memcmp(h.mask_key, key, 4) == 0, "mask key");

        uint8_t out[WS_MAX_HEADER_LEN + 1];
        memset(out, 0xA5, sizeof out);
        size_t n = ws_frame_header_encode(out, &h);
        FZ_CHECK(n <= WS_MAX_HEADER_LEN && out[WS_MAX_HEADER_LEN] == 0xA5,
                 "encode wrote %zu bytes", n);
        /* The minimal encoding is the only one: strict input re-encodes
         * to itself. */
        if (strict)
            FZ_CHECK(n == hlen && memcmp(out, b, n) == 0,
                     "re-encoding differs");
    }
    FZ_CHECK(ws_frame_header_parse(copy, len, NULL, strict) == WS_EINVAL,
             "NULL header accepted");
    free(copy);

    /* Any header, encoded then decoded strictly, comes back (flags
     * normalised to 0/1, length below 2^63). */
    ws_frame_header_t e = {0}, d;
    in_t more = {b, len};
    e.fin = take8(&more);
    e.rsv = take8(&more);
    e.opcode = take8(&more);
    e.masked = take8(&more);
    for (int i = 0; i < 4; i++)
        e.mask_key[i] = take8(&more);
    e.payload_len = take64(&more) >> (take8(&more) & 63);
    e.payload_len &= ~(1ull << 63);
    uint8_t *enc = malloc(WS_MAX_HEADER_LEN);
    FZ_CHECK(enc != NULL, "out of memory");
    size_t n = ws_frame_header_encode(enc, &e);
    r = ws_frame_header_parse(enc, n, &d, 1);
    FZ_CHECK(r > 0 && (size_t)r == n, "own encoding parses as %d of %zu", r, n);
    FZ_CHECK(d.fin == !!e.fin && d.rsv == (e.rsv & 7) &&
                 d.opcode == (e.opcode & 15) && d.masked == !!e.masked &&
                 d.payload_len == e.payload_len &&
                 (!e.masked || memcmp(d.mask_key, e.mask_key, 4) == 0),
             "encode/parse round trip");
    free(enc);
}

/* ----------------------------------------------------------- 1: mask */

static void fuzz_mask(in_t in)
{
    uint8_t key[4];
    for (int i = 0; i < 4; i++)
        key[i] = take8(&in);
    uint64_t offset = take64(&in);
    size_t align = take8(&in) & 63, cut = take8(&in);
    size_t len = in.n;
    if (cut > len)
        cut = len;

    uint8_t *want = malloc(len ? len : 1);
    FZ_CHECK(want != NULL, "out of memory");
    for (size_t i = 0; i < len; i++)
        want[i] = in.p[i] ^ key[(offset + i) & 3];

    /* Copying, from and to arbitrary alignments, into exact blocks. */
    uint8_t *src = malloc(align + len + 1), *dst = malloc(len + 1);
    FZ_CHECK(src && dst, "out of memory");
    memcpy(src + align, in.p, len);
    dst[len] = 0xA5;
    ws_mask(dst, src + align, len, key, offset);
    FZ_CHECK(len == 0 || memcmp(dst, want, len) == 0, "ws_mask copy differs");
    FZ_CHECK(dst[len] == 0xA5, "ws_mask wrote past the end");
    FZ_CHECK(memcmp(src + align, in.p, len) == 0, "ws_mask changed src");

    /* In place, in two pieces: the second continues the key. */
    ws_mask(src + align, src + align, cut, key, offset);
    ws_mask(src + align + cut, src + align + cut, len - cut, key, offset + cut);
    FZ_CHECK(len == 0 || memcmp(src + align, want, len) == 0,
             "ws_mask in place, split at %zu, differs", cut);
    /* Its own inverse. */
    ws_mask(src + align, src + align, len, key, offset);
    FZ_CHECK(len == 0 || memcmp(src + align, in.p, len) == 0,
             "masking twice is not the identity");
    ws_mask(NULL, NULL, 0, key, offset);
    free(src);
    free(dst);
    free(want);
}

/* --------------------------------------------------- 2: accept, SHA-1 */

static void fuzz_accept(in_t in, fz_rng_t *rng)
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char out[WS_ACCEPT_LEN + 8], again[WS_ACCEPT_LEN + 1];
    char *key = (char *)fz_dup(in.p, in.n);

    memset(out, 0x5A, sizeof out);
    ws_handshake_accept_key(in.n ? key : NULL, in.n, out);
    FZ_CHECK(out[WS_ACCEPT_LEN] == 0 &&
                 untouched((uint8_t *)out + WS_ACCEPT_LEN + 1, 7, 0x5A),
             "accept key length");
    for (int i = 0; i < WS_ACCEPT_LEN - 1; i++)
        FZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789+/",
                        out[i]) != NULL &&
                     out[i] != 0,
                 "accept key character %d", i);
    FZ_CHECK(out[WS_ACCEPT_LEN - 1] == '=', "20 bytes end in one '='");
    ws_handshake_accept_key(in.n ? key : NULL, in.n, again);
    FZ_CHECK(memcmp(out, again, WS_ACCEPT_LEN + 1) == 0, "not deterministic");

    /* The same hash, fed in pieces: key and GUID as one stream. */
    size_t total = in.n + sizeof guid - 1, pos = 0;
    uint8_t *all = malloc(total);
    FZ_CHECK(all != NULL, "out of memory");
    memcpy(all, in.p, in.n);
    memcpy(all + in.n, guid, sizeof guid - 1);
    ws_sha1_t s;
    uint8_t digest[WS_SHA1_LEN], digest2[WS_SHA1_LEN];
    ws_sha1_init(&s);
    while (pos < total) {
        size_t k = fz_below(rng, 130);
        if (k > total - pos)
            k = total - pos;
        ws_sha1_update(&s, all + pos, k);
        pos += k;
    }
    ws_sha1_final(&s, digest);
    char b64[WS_ACCEPT_LEN];
    FZ_CHECK(ws_base64_encode(b64, digest, sizeof digest) == WS_ACCEPT_LEN &&
                 memcmp(b64, out, WS_ACCEPT_LEN) == 0,
             "SHA-1 in pieces differs from the accept key");
    /* A finished state is a fresh one: it hashes the empty string. */
    static const uint8_t empty[WS_SHA1_LEN] = {
        0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55,
        0xbf, 0xef, 0x95, 0x60, 0x18, 0x90, 0xaf, 0xd8, 0x07, 0x09};
    ws_sha1_final(&s, digest2);
    FZ_CHECK(memcmp(digest2, empty, sizeof empty) == 0,
             "state after final is not fresh");
    free(all);
    free(key);
}

/* ------------------------------------------- 3: lookup on any bytes */

static void check_str_in(ws_str_t v, const char *h, size_t n, const char *what)
{
    FZ_CHECK(!v.ptr || (v.ptr >= h && v.len <= (size_t)(h + n - v.ptr)),
             "%s outside the head", what);
    if (v.ptr && v.len) {
        FZ_CHECK(v.ptr[0] != ' ' && v.ptr[0] != '\t' &&
                     v.ptr[v.len - 1] != ' ' && v.ptr[v.len - 1] != '\t',
                 "%s not trimmed", what);
    }
}

static void fuzz_lookup(in_t in)
{
    char *name = take_str(&in);
    char *head = (char *)fz_dup(in.p, in.n);
    size_t n = in.n;
    ws_str_t v, t;

    int r = ws_header_find(n ? head : NULL, n, name, &v);
    FZ_CHECK(r == 0 || r == 1, "ws_header_find returned %d", r);
    FZ_CHECK(r || (!v.ptr && !v.len), "value set when not found");
    check_str_in(v, head, n, "ws_header_find value");

    size_t iter = 0, last = 0, count = 0;
    while (ws_header_next_token(head, n, name, &iter, &t)) {
        check_str_in(t, head, n, "token");
        FZ_CHECK(t.len > 0 && !memchr(t.ptr, ',', t.len), "token %.*s",
                 (int)t.len, t.ptr);
        FZ_CHECK(iter > last && iter <= n, "iterator %zu after %zu", iter,
                 last);
        last = iter;
        FZ_CHECK(++count <= n, "iteration does not end");
    }
    /* An iterator past the head is refused, not followed. */
    iter = n + 1;
    FZ_CHECK(ws_header_next_token(head, n, name, &iter, &t) == 0,
             "iterator past the end followed");
    FZ_CHECK(ws_header_find(head, n, NULL, &v) == 0 && !v.ptr, "NULL name");

    /* select_protocol on a request whose head is these bytes. */
    ws_request_t req;
    memset(&req, 0, sizeof req);
    req.head = head;
    req.head_len = n;
    const char *const sup[] = {name, "chat", "", NULL};
    const char *p = ws_request_select_protocol(&req, sup);
    FZ_CHECK(p == NULL || p == sup[0] || p == sup[1] || p == sup[2],
             "selected a protocol not in the list");
    free(head);
    free(name);
}

/* ---------------------------------------------- 4: codes and errors */

static int ref_close_code(uint64_t c)
{
    /* RFC 6455 §7.4.1-2 and the IANA registry (1012-1014). */
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) ||
           (c >= 3000 && c <= 4999);
}

static void fuzz_codes(in_t in)
{
    static int swept;
    if (!swept) {
        for (unsigned c = 0; c < 70000; c++)
            FZ_CHECK(ws_close_code_is_valid(c) == ref_close_code(c),
                     "ws_close_code_is_valid(%u)", c);
        swept = 1;
    }
    while (in.n >= 4) {
        unsigned c = (unsigned)(take64(&in) >> 32);
        FZ_CHECK(!!ws_close_code_is_valid(c) == ref_close_code(c),
                 "ws_close_code_is_valid(%u)", c);
        int e = (int)c;
        const char *s = ws_strerror(e), *nm = ws_err_name(e);
        FZ_CHECK(s && nm && *s && *nm, "error strings for %d", e);
        uint16_t cc = ws_error_close_code(e);
        FZ_CHECK(cc == 0 || cc == 1002 || cc == 1007 || cc == 1009 ||
                     cc == 1011,
                 "close code %u for %d", cc, e);
        FZ_CHECK(cc == 0 || ws_close_code_is_valid(cc), "invalid close code");
        int st = ws_error_http_status(e);
        FZ_CHECK(st == 0 || st == 400 || st == 426 || st == 431,
                 "HTTP status %d for %d", st, e);
        FZ_CHECK(!(cc && st), "both a close code and a status for %d", e);
        char out[512];
        ptrdiff_t n = ws_handshake_build_reject(e, out, sizeof out);
        FZ_CHECK((n > 0) == (st != 0) && (n > 0 || n == WS_EINVAL),
                 "reject for %d: %td", e, n);
    }
}

/* ------------------------------------------------------- 5: base64 */

static void fuzz_base64(in_t in)
{
    /* Encode, then decode: the same bytes. */
    size_t n = in.n, elen = WS_BASE64_ENCODED_LEN(n);
    char *enc = malloc(elen + 1);
    FZ_CHECK(enc != NULL, "out of memory");
    enc[elen] = 0x5A;
    FZ_CHECK(ws_base64_encode(enc, in.p, n) == elen && enc[elen] == 0x5A,
             "encoded length");
    uint8_t *dec = malloc(n ? n : 1);
    FZ_CHECK(dec != NULL, "out of memory");
    FZ_CHECK(ws_base64_decode(dec, n, enc, elen) == (ptrdiff_t)n &&
                 (n == 0 || memcmp(dec, in.p, n) == 0),
             "decode(encode(x)) != x");
    if (n)
        FZ_CHECK(ws_base64_decode(dec, n - 1, enc, elen) == -1,
                 "decoded into a buffer too small");
    free(dec);
    free(enc);

    /* Decode anything: the strict decoder accepts one spelling per byte
     * string, so whatever it accepts re-encodes to itself. */
    char *s = (char *)fz_dup(in.p, n);
    size_t cap = n / 4 * 3;
    dec = malloc(cap ? cap : 1);
    FZ_CHECK(dec != NULL, "out of memory");
    ptrdiff_t r = ws_base64_decode(dec, cap, s, n);
    FZ_CHECK(r >= -1 && r <= (ptrdiff_t)cap, "decode returned %td", r);
    if (r >= 0) {
        FZ_CHECK(n % 4 == 0, "accepted a length that is not a multiple of 4");
        char *back = malloc(WS_BASE64_ENCODED_LEN((size_t)r) + 1);
        FZ_CHECK(back != NULL, "out of memory");
        size_t bl = ws_base64_encode(back, dec, (size_t)r);
        FZ_CHECK(bl == n && memcmp(back, s, n) == 0,
                 "accepted a non-canonical spelling");
        free(back);
    }
    free(dec);
    free(s);
}

/* ------------------------------------------------------ 6: encoders */

static unsigned rnd_calls;
static uint8_t rnd_mask;

static int api_random(void *buf, size_t len, void *user)
{
    (void)user;
    unsigned i = rnd_calls++;
    if ((rnd_mask >> (i % 8)) & 1)
        return -1;
    memset(buf, (int)(0x11 * (i + 1)), len);
    return 0;
}

/* ws_conn_send_header on a twin of the connection the fragment r (out,
 * from state `before`) was encoded on: in the server role the same
 * outcome, the same header bytes and the same state as the encoder
 * (ENOBUFS aside: the header needs less room); in the client role
 * always WS_EINVAL, nothing written. */
static void check_header_only(const ws_conn_t *before, const ws_conn_t *after,
                              int op, int fin, const void *d, size_t len,
                              ptrdiff_t r, const uint8_t *out, ws_role_t role)
{
    ws_conn_t twin = *before;
    uint8_t hdr[WS_MAX_HEADER_LEN];
    memset(hdr, 0xA5, sizeof hdr);
    ptrdiff_t h = ws_conn_send_header(&twin, (ws_opcode_t)op, 0, fin, d, len,
                                      hdr, sizeof hdr);
    if (role == WS_ROLE_CLIENT || h < 0) {
        FZ_CHECK(role == WS_ROLE_SERVER || h == WS_EINVAL,
                 "header-only in the client role: %td", h);
        FZ_CHECK(h < 0 && untouched(hdr, sizeof hdr, 0xA5) &&
                     memcmp(&twin, before, sizeof twin) == 0,
                 "a failed header-only call wrote or changed state");
        FZ_CHECK(role == WS_ROLE_CLIENT || r == h || r == WS_ENOBUFS,
                 "header-only %td, encoder %td", h, r);
        return;
    }
    FZ_CHECK(r >= 0 || r == WS_ENOBUFS, "header-only ok, encoder %td", r);
    if (r < 0)
        return;
    FZ_CHECK((size_t)h + len == (size_t)r && memcmp(hdr, out, (size_t)h) == 0,
             "header-only bytes differ from the encoder's");
    FZ_CHECK(memcmp(&twin, after, sizeof twin) == 0,
             "header-only left another state than the encoder");
}

static void fuzz_send(in_t in)
{
    uint8_t cfg = take8(&in);
    ws_options_t o = {.random = api_random};
    ws_conn_t c;
    rnd_calls = 0;
    rnd_mask = (cfg & 0x80) ? take8(&in) : 0;
    ws_role_t role = (cfg & 1) ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
    FZ_CHECK(ws_conn_init(&c, role, &o) == 0, "ws_conn_init");

    /* frame_size saturates instead of wrapping. */
    FZ_CHECK(ws_conn_frame_size(&c, SIZE_MAX) == SIZE_MAX &&
                 ws_conn_frame_size(&c, SIZE_MAX - 3) == SIZE_MAX,
             "ws_conn_frame_size overflows");

    while (in.n >= 4) {
        uint8_t fn = take8(&in), opb = take8(&in), lb = take8(&in),
                cb = take8(&in);
        int op =
            (opb & 0x80) ? opb : opb & 0x0F; /* mostly near the real ones */
        int fin = opb & 0x40 ? 1 : (opb & 0x20 ? 7 : 0);
        size_t len = lb + (fn & 0x08 ? 126 : 0);
        size_t plen = len < in.n ? len : in.n;
        const uint8_t *src = in.p;
        in.p += plen;
        in.n -= plen;
        len = plen;
        uint8_t *data = fz_dup(src, len);
        unsigned code = (fn & 0x10) ? 1000 + (cb & 15) : (unsigned)cb * 20;
        size_t wire = (fn & 7) == 4 && code ? len + 2 : len;
        size_t need = ws_conn_frame_size(&c, wire);
        size_t cap = (fn & 0x20)   ? need
                     : (fn & 0x40) ? need - (cb & 3) /* need >= 2 */
                                   : (size_t)cb;
        if (cap > need + 64)
            cap = need + 64;
        int nulldata = (fn & 0x80) && (cb & 1);
        int nullout = (fn & 0x80) && (cb & 2);
        uint8_t *out = malloc(cap + 1);
        FZ_CHECK(out != NULL, "out of memory");
        memset(out, 0xA5, cap + 1);
        ws_conn_t before = c;
        const void *d = nulldata ? NULL : data;
        void *ob = nullout ? NULL : out;
        ptrdiff_t r;

        switch (fn & 7) {
        case 0:
            r = ws_conn_send_message(&c, (ws_opcode_t)op, d, len, ob, cap);
            break;
        case 1:
            r = ws_conn_send_fragment(&c, (ws_opcode_t)op, fin, d, len, ob,
                                      cap);
            break;
        case 2:
            r = ws_conn_send_ping(&c, d, len, ob, cap);
            break;
        case 3:
            r = ws_conn_send_pong(&c, d, len, ob, cap);
            break;
        case 4:
            r = ws_conn_send_close(&c, code, (const char *)d, len, ob, cap);
            break;
        case 5:
            r = ws_conn_send_message(NULL, WS_OP_BINARY, d, len, ob, cap);
            FZ_CHECK(r == WS_EINVAL, "NULL connection: %td", r);
            break;
        default:
            r = ws_conn_send_fragment(&c, WS_OP_CONTINUATION, fin, d, len, ob,
                                      cap);
        }
        FZ_CHECK(out[cap] == 0xA5, "wrote past cap");
        if ((fn & 7) == 1 && !nullout)
            check_header_only(&before, &c, op, fin, d, len, r, out, role);
        if (r < 0) {
            FZ_CHECK(r == WS_EINVAL || r == WS_ENOBUFS || r == WS_ESTATE ||
                         r == WS_EUTF8 || r == WS_ERANDOM,
                     "encoder returned %td", r);
            FZ_CHECK(untouched(out, cap, 0xA5), "a failed call wrote (%s)",
                     ws_err_name((int)r));
            FZ_CHECK(memcmp(&before, &c, sizeof c) == 0,
                     "a failed call changed the state (%s)",
                     ws_err_name((int)r));
            FZ_CHECK(r != WS_ENOBUFS || cap < need, "ENOBUFS with room");
            FZ_CHECK(r != WS_ERANDOM || role == WS_ROLE_CLIENT,
                     "ERANDOM in the server role");
            FZ_CHECK(!(nulldata && len) || r == WS_EINVAL || r == WS_ESTATE,
                     "NULL data of %zu bytes: %td", len, r);
        } else {
            FZ_CHECK(!nullout && !(nulldata && len), "NULL accepted");
            FZ_CHECK((size_t)r == need && need <= cap,
                     "wrote %td, frame size %zu, cap %zu", r, need, cap);
            ws_frame_header_t h;
            int hl = ws_frame_header_parse(out, (size_t)r, &h, 1);
            FZ_CHECK(hl > 0 && h.payload_len == (uint64_t)r - (uint64_t)hl,
                     "an encoder's frame does not parse");
            FZ_CHECK(h.masked == (role == WS_ROLE_CLIENT) && h.rsv == 0,
                     "masking or RSV");
            uint8_t *pl = out + hl;
            ws_mask(pl, pl, (size_t)h.payload_len, h.mask_key, 0);
            if ((fn & 7) == 4) {
                FZ_CHECK(h.opcode == WS_OP_CLOSE && h.fin, "close frame");
                if (code) {
                    FZ_CHECK(h.payload_len == len + 2 &&
                                 (pl[0] << 8 | pl[1]) == (int)code &&
                                 (len == 0 || memcmp(pl + 2, data, len) == 0),
                             "close payload");
                } else {
                    FZ_CHECK(h.payload_len == 0, "empty close");
                }
            } else {
                FZ_CHECK(h.payload_len == len &&
                             (len == 0 || memcmp(pl, data, len) == 0),
                         "payload differs");
            }
            if ((fn & 7) == 2 || (fn & 7) == 3)
                FZ_CHECK(h.opcode ==
                                 ((fn & 7) == 2 ? WS_OP_PING : WS_OP_PONG) &&
                             h.fin && len <= WS_MAX_CONTROL_PAYLOAD,
                         "control frame");
        }
        free(out);
        free(data);
    }
    ws_conn_destroy(&c);
}

/* ---------------------------------------------- 7: build a request */

static int is_vchars(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
            return 0;
    return 1;
}

static void fuzz_build_request(in_t in)
{
    uint8_t which = take8(&in);
    char *host = take_str(&in), *path = take_str(&in), *origin = take_str(&in),
         *protos = take_str(&in), *extra = take_str(&in),
         *rawkey = take_str(&in);
    const char *key = (which & 0x20) ? rawkey : "dGhlIHNhbXBsZSBub25jZQ==";
    ws_client_request_t r = {
        .host = host,
        .path = (which & 1) ? path : NULL,
        .origin = (which & 2) ? origin : NULL,
        .protocols = (which & 4) ? protos : NULL,
        .extra_headers = (which & 8) ? extra : NULL,
    };
    size_t cap = (which & 0x10) ? 4096 : in.n;
    char *out = malloc(cap + 1);
    FZ_CHECK(out != NULL, "out of memory");
    memset(out, 0x5A, cap + 1);
    ptrdiff_t n = ws_handshake_build_request(&r, key, out, cap);
    FZ_CHECK(out[cap] == 0x5A, "wrote past cap");

    int bad = !is_vchars(host) || (r.path && !is_vchars(r.path)) ||
              (r.origin && !is_vchars(r.origin));
    if (bad)
        FZ_CHECK(n == WS_EINVAL, "unusable host/path/origin accepted: %td", n);
    if (n < 0) {
        FZ_CHECK(n == WS_EINVAL || n == WS_ENOBUFS, "returned %td", n);
        FZ_CHECK(untouched((uint8_t *)out, cap, 0x5A), "failed call wrote");
    } else {
        /* What we build, we parse: a valid upgrade with the same fields. */
        ws_request_t req;
        char *copy = (char *)fz_dup(out, (size_t)n);
        int p = ws_handshake_parse_request(copy, (size_t)n, (size_t)n, &req);
        if (!r.extra_headers) {
            FZ_CHECK(p == n && req.websocket, "our own request parses as %s",
                     ws_err_name(p));
            const char *want_path = r.path ? r.path : "/";
            FZ_CHECK(req.host.len == strlen(host) &&
                         memcmp(req.host.ptr, host, req.host.len) == 0 &&
                         req.target.len == strlen(want_path) &&
                         memcmp(req.target.ptr, want_path, req.target.len) ==
                             0 &&
                         req.key.len == strlen(key) &&
                         memcmp(req.key.ptr, key, req.key.len) == 0,
                     "fields lost in the round trip");
        } else {
            /* Caller's extra lines may repeat Host and the like, but can
             * never break the syntax or end the head early. */
            FZ_CHECK(p == n || (p < 0 && p != WS_EHS_SYNTAX && p != WS_EAGAIN &&
                                p != WS_EHS_TOOLARGE),
                     "request with extra headers parses as %s", ws_err_name(p));
        }
        free(copy);
        if (n > 0) {
            memset(out, 0x5A, cap + 1);
            FZ_CHECK(ws_handshake_build_request(&r, key, out, (size_t)n - 1) ==
                             WS_ENOBUFS &&
                         untouched((uint8_t *)out, cap + 1, 0x5A),
                     "one byte short");
        }
    }
    free(out);
    free(host);
    free(path);
    free(origin);
    free(protos);
    free(extra);
    free(rawkey);
}

/* --------------------------------------- 8: response extra headers */

static int ref_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Zero or more "name: value" CRLF lines (RFC 7230 §3.2). */
static int ref_lines_ok(const char *s)
{
    while (*s) {
        size_t i = 0;
        while (ref_tchar((unsigned char)s[i]))
            i++;
        if (i == 0 || s[i] != ':')
            return 0;
        i++;
        while (s[i] == '\t' || ((unsigned char)s[i] >= 0x20 && s[i] != 0x7F))
            i++;
        if (s[i] != '\r' || s[i + 1] != '\n')
            return 0;
        s += i + 2;
    }
    return 1;
}

static void fuzz_build_response(in_t in)
{
    static const char request[] =
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: chat, superchat\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    uint8_t which = take8(&in);
    char *extra = take_str(&in);
    char *proto = take_str(&in);
    ws_request_t req;
    FZ_CHECK(ws_handshake_parse_request(request, sizeof request - 1, 0, &req) ==
                 (int)sizeof request - 1,
             "RFC 6455 §1.2 request refused");
    const char *use = (which & 1) ? "chat" : (which & 2) ? proto : NULL;
    size_t cap = 256 + strlen(extra) + strlen(proto);
    char *out = malloc(cap);
    FZ_CHECK(out != NULL, "out of memory");
    ptrdiff_t n = ws_handshake_build_response(&req, use, extra, out, cap);
    int offered = !use || !strcmp(use, "chat") || !strcmp(use, "superchat");
    FZ_CHECK((n > 0) == (ref_lines_ok(extra) && offered),
             "extra headers [%s] protocol [%s]: %td", extra, use ? use : "", n);
    if (n > 0) {
        char *copy = (char *)fz_dup(out, (size_t)n);
        ws_response_t resp;
        int p = ws_handshake_parse_response(
            copy, (size_t)n, (size_t)n,
            "dGhlIHNhbXBsZSBub25jZQ==", "chat, superchat", &resp);
        FZ_CHECK(p == n || (p < 0 && p != WS_EHS_SYNTAX && p != WS_EAGAIN &&
                            p != WS_EHS_TOOLARGE && p != WS_EHS_STATUS),
                 "our 101 with extra headers parses as %s", ws_err_name(p));
        free(copy);
    } else {
        FZ_CHECK(n == WS_EINVAL, "returned %td", n);
    }
    free(out);
    free(extra);
    free(proto);
}

/* ------------------------------------------- 9: options and misuse */

static void *bad_malloc(size_t n, void *u)
{
    (void)u;
    return malloc(n);
}

static void fuzz_init(in_t in)
{
    ws_options_t o = {0};
    ws_allocator_t a = {bad_malloc, NULL, NULL, NULL};
    uint8_t sel = take8(&in);
    int role = (int)take8(&in) - 1;
    o.flags = (unsigned)(take64(&in) >> 32);
    o.max_frame = take64(&in);
    o.max_message = take64(&in);
    if (sel & 1)
        o.allocator = &a;
    ws_conn_t c;
    int r = ws_conn_init(&c, (ws_role_t)role, &o);
    int want_ok = (role == 0 || role == 1) && !(o.flags & ~0x0Fu) && !(sel & 1);
    FZ_CHECK((r == 0) == want_ok && (r == 0 || r == WS_EINVAL),
             "ws_conn_init role %d flags %x: %d", role, o.flags, r);
    FZ_CHECK(ws_conn_init(NULL, WS_ROLE_SERVER, NULL) == WS_EINVAL, "NULL c");
    if (r != 0)
        return;

    ws_event_t ev;
    uint8_t *buf = fz_dup(in.p, in.n);
    FZ_CHECK(ws_conn_feed(NULL, buf, in.n) == WS_EINVAL, "feed NULL c");
    FZ_CHECK(ws_conn_feed(&c, NULL, 1) == WS_EINVAL, "feed NULL data");
    FZ_CHECK(ws_conn_feed(&c, in.n ? buf : NULL, in.n) == 0, "feed");
    if (in.n)
        FZ_CHECK(ws_conn_feed(&c, buf, 1) == WS_ESTATE,
                 "feed over unconsumed input");
    size_t events = 0;
    int t;
    while ((t = ws_conn_next_event(&c, &ev)) > 0)
        FZ_CHECK(++events <= 2 * in.n + 4, "events do not end");
    FZ_CHECK(t == 0, "next_event returned %d", t);
    FZ_CHECK(ws_conn_feed(&c, buf, 0) == 0, "feed after draining");
    ws_conn_destroy(&c);
    ws_conn_destroy(&c);
    ws_conn_destroy(NULL);
    free(buf);
}

/* -------------------------------------------------- 10: generate key */

static const uint8_t *nonce_src;

static int nonce_random(void *buf, size_t len, void *user)
{
    if (user)
        return 1;
    memcpy(buf, nonce_src, len);
    return 0;
}

static void fuzz_generate_key(in_t in)
{
    uint8_t n[16] = {0};
    int fail = take8(&in) & 1;
    for (int i = 0; i < 16; i++)
        n[i] = take8(&in);
    nonce_src = n;
    char key[WS_KEY_LEN + 2];
    memset(key, 0x5A, sizeof key);
    int r =
        ws_handshake_generate_key(nonce_random, fail ? (void *)1 : NULL, key);
    FZ_CHECK((uint8_t)key[WS_KEY_LEN + 1] == 0x5A, "wrote past the key");
    if (fail) {
        FZ_CHECK(r == WS_ERANDOM && key[0] == 0, "failing source: %d", r);
        return;
    }
    uint8_t back[16];
    FZ_CHECK(r == 0 && key[WS_KEY_LEN] == 0 &&
                 ws_base64_decode(back, 16, key, WS_KEY_LEN) == 16 &&
                 memcmp(back, n, 16) == 0,
             "key does not hold the nonce");
    FZ_CHECK(ws_handshake_generate_key(NULL, NULL, NULL) == WS_EINVAL,
             "NULL key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    in_t in = {data + 1, size - 1};
    fz_rng_t rng = {fz_fnv(data, size)};
    switch (data[0] % 11) {
    case 0:
        fuzz_frame_header(in);
        break;
    case 1:
        fuzz_mask(in);
        break;
    case 2:
        fuzz_accept(in, &rng);
        break;
    case 3:
        fuzz_lookup(in);
        break;
    case 4:
        fuzz_codes(in);
        break;
    case 5:
        fuzz_base64(in);
        break;
    case 6:
        fuzz_send(in);
        break;
    case 7:
        fuzz_build_request(in);
        break;
    case 8:
        fuzz_build_response(in);
        break;
    case 9:
        fuzz_init(in);
        break;
    default:
        fuzz_generate_key(in);
        break;
    }
    return 0;
}
