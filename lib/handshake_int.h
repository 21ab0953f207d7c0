/*
 * handshake_int.h — what handshake.c (HTTP head syntax, header lookup, the
 * server side) shares with handshake_client.c. Private to those two files.
 */
#ifndef WS_HANDSHAKE_INT_H
#define WS_HANDSHAKE_INT_H

#include "wsproto_int.h"

#include <string.h>

/* The headers the handshake judges, gathered in one pass over the head. */
enum ws_hs_header {
    WS_HS_HOST,
    WS_HS_ORIGIN,
    WS_HS_UPGRADE,
    WS_HS_CONNECTION,
    WS_HS_KEY,
    WS_HS_VERSION,
    WS_HS_ACCEPT,
    WS_HS_PROTOCOL,
    WS_HS_EXTENSIONS,
    WS_HS_NHEADERS
};

typedef struct ws_hs_scan {
    ws_str_t value[WS_HS_NHEADERS]; /* first occurrence, trimmed */
    unsigned count[WS_HS_NHEADERS]; /* 0, 1, or 2 meaning "more than one" */
} ws_hs_scan_t;

/* Locate the end of the head (the first empty line) in buf[0..len).
 * Returns 0 with *head_len set, WS_EAGAIN, or WS_EHS_TOOLARGE. The limit
 * max_head (0 = WS_DEFAULT_MAX_HEAD) is clamped to INT_MAX. */
int ws_hs_find_head(const char *buf, size_t len, size_t max_head,
                    size_t *head_len);

/* The line starting at pos: returns where its content ends (before CR LF
 * or LF, or len) and sets *next to the start of the following line. */
size_t ws_hs_line_end(const char *p, size_t pos, size_t len, size_t *next);

/* "HTTP/" DIGIT "." DIGIT, exactly n == 8 bytes (RFC 7230 §2.6).
 * Returns 0 with *major / *minor set, or WS_EHS_SYNTAX. */
int ws_hs_parse_version(const char *p, size_t n, int *major, int *minor);

/* Check the syntax of every header line from pos up to the empty line
 * that ends the head, recording the headers of enum ws_hs_header.
 * Returns 0 or WS_EHS_SYNTAX. */
int ws_hs_scan_headers(const char *head, size_t pos, size_t head_len,
                       ws_hs_scan_t *sc);

/* The next non-empty, trimmed item of the comma-separated list in
 * p[*pos..end). Returns 1 with *item set and *pos past it, or 0. */
int ws_hs_list_next(const char *p, size_t end, size_t *pos, ws_str_t *item);

/* Where the header lines start: after the request or status line. */
size_t ws_hs_first_field(const char *head, size_t len);

/* The next header called name (name_len bytes) from line *pos on: returns
 * 1 with its value at [*vs, *ve) (untrimmed) and *pos at the line after
 * it, or 0. */
int ws_hs_find_field(const char *head, size_t len, size_t *pos,
                     const char *name, size_t name_len, size_t *vs, size_t *ve);

/* handshake_ext.c: the next extension of the RFC 6455 §9.1 ext-list in
 * p[*pos..end), empty list elements skipped. Returns 1 with *o filled and
 * *pos past it, 0 at the end, or WS_EHS_SYNTAX. */
int ws_hs_ext_list_next(const char *p, size_t *pos, size_t end,
                        ws_ext_offer_t *o);

/* Whether the NUL-terminated s is a non-empty, well-formed ext-list. */
int ws_hs_ext_list_valid(const char *s);

/* Whether the ext-list `list` is valid and names only extensions the
 * head's Sec-WebSocket-Extensions headers offer (names ignore case). */
int ws_hs_ext_all_offered(const char *list, const char *head, size_t head_len);

/* RFC 6455 §4.1 item 5: a response may accept only extensions in the
 * ext-list `offered` (may be NULL), each once. 0 or WS_EHS_EXTENSION. */
int ws_hs_ext_check_response(const char *head, size_t head_len,
                             const char *offered);

/* Whether any header called name lists token (case-insensitive). */
int ws_hs_has_token(const char *head, size_t head_len, const char *name,
                    const char *token);

/* Whether s[0..n) equals the NUL-terminated t, ignoring ASCII case. */
int ws_hs_ieq(const char *s, size_t n, const char *t);

/* RFC 7230 §3.2.6 tchar. */
int ws_hs_is_tchar(unsigned char c);

/* Whether the NUL-terminated s is zero or more complete "Name: value\r\n"
 * lines that would parse as headers: caller-supplied extra headers, which
 * must not be able to end the head early or smuggle in a bare CR or LF. */
int ws_hs_check_lines(const char *s);

/*
 * Output is built in two passes over the same code: the first with p NULL
 * only measures, so an output buffer that is too small is left untouched
 * (WS_ENOBUFS promises nothing was written); the second writes.
 */
typedef struct ws_hs_out {
    char *p;
    size_t len;
} ws_hs_out_t;

static inline void ws_hs_put(ws_hs_out_t *o, const char *s, size_t n)
{
    if (o->p)
        memcpy(o->p + o->len, s, n);
    o->len += n;
}

static inline void ws_hs_puts(ws_hs_out_t *o, const char *s)
{
    ws_hs_put(o, s, strlen(s));
}

#endif /* WS_HANDSHAKE_INT_H */
