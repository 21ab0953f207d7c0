/*
 * handshake_ext.c — Sec-WebSocket-Extensions: the RFC 6455 §9.1 grammar
 *
 *   ext-list  = 1#extension
 *   extension = token *( ";" param )
 *   param     = token [ "=" ( token | quoted-string ) ]
 *
 * with RFC 7230's list rules (§7: empty elements are ignored; optional
 * whitespace around separators) and quoted-string (§3.2.6). Parsed in
 * place: names and values are slices of the head.
 */
#include "handshake_int.h"

#include <string.h>

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_ows(const char *p, size_t i, size_t end)
{
    while (i < end && is_ows(p[i]))
        i++;
    return i;
}

static size_t token_end(const char *p, size_t i, size_t end)
{
    while (i < end && ws_hs_is_tchar((unsigned char)p[i]))
        i++;
    return i;
}

/* RFC 7230 §3.2.6: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E /
 * obs-text; quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ). */
static int is_qdtext(unsigned char c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
           (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

static int is_pair_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}

/* The quoted-string starting at p[*i] == '"': its inside into *v and *i
 * past the closing quote. Returns 0 or WS_EHS_SYNTAX. */
static int quoted_string(const char *p, size_t *i, size_t end, ws_str_t *v)
{
    for (size_t j = *i + 1; j < end; j++) {
        unsigned char c = (unsigned char)p[j];
        if (c == '"') {
            v->ptr = p + *i + 1;
            v->len = j - *i - 1;
            *i = j + 1;
            return 0;
        }
        if (c == '\\') {
            if (j + 1 >= end || !is_pair_char((unsigned char)p[j + 1]))
                return WS_EHS_SYNTAX;
            j++;
        } else if (!is_qdtext(c)) {
            return WS_EHS_SYNTAX;
        }
    }
    return WS_EHS_SYNTAX; /* no closing quote */
}

/* param = token [ "=" ( token | quoted-string ) ], from p[*i]. */
static int param(const char *p, size_t *i, size_t end, ws_ext_param_t *prm)
{
    size_t s = *i, t = token_end(p, s, end);
    memset(prm, 0, sizeof *prm);
    if (t == s)
        return WS_EHS_SYNTAX; /* "ext;" or "ext;;": an empty parameter */
    prm->name.ptr = p + s;
    prm->name.len = t - s;
    size_t k = skip_ows(p, t, end);
    if (k == end || p[k] != '=') {
        *i = t;
        return 0;
    }
    k = skip_ows(p, k + 1, end);
    if (k < end && p[k] == '"') {
        prm->quoted = 1;
        *i = k;
        return quoted_string(p, i, end, &prm->value);
    }
    t = token_end(p, k, end);
    if (t == k)
        return WS_EHS_SYNTAX; /* "a=" with no value */
    prm->value.ptr = p + k;
    prm->value.len = t - k;
    *i = t;
    return 0;
}

int ws_hs_ext_list_next(const char *p, size_t *pos, size_t end,
                        ws_ext_offer_t *o)
{
    size_t i = *pos;
    while (i < end && (is_ows(p[i]) || p[i] == ','))
        i++;
    *pos = i;
    if (i == end)
        return 0;
    size_t t = token_end(p, i, end);
    if (t == i)
        return WS_EHS_SYNTAX;
    memset(o, 0, sizeof *o);
    o->name.ptr = p + i;
    o->name.len = t - i;
    for (i = t;;) {
        ws_ext_param_t prm;
        i = skip_ows(p, i, end);
        if (i == end || p[i] == ',')
            break;
        if (p[i] != ';')
            return WS_EHS_SYNTAX;
        i = skip_ows(p, i + 1, end);
        if (param(p, &i, end, &prm) != 0)
            return WS_EHS_SYNTAX;
        if (o->nparams < WS_EXT_MAX_PARAMS)
            o->params[o->nparams++] = prm;
        else
            o->truncated = 1;
    }
    *pos = i;
    return 1;
}

int ws_hs_ext_list_valid(const char *s)
{
    size_t pos = 0, end = strlen(s);
    ws_ext_offer_t o;
    int r, n = 0;
    while ((r = ws_hs_ext_list_next(s, &pos, end, &o)) > 0)
        n++;
    return r == 0 && n > 0;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int same_name(ws_str_t a, ws_str_t b)
{
    if (a.len != b.len)
        return 0;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i]))
            return 0;
    return 1;
}

static int listed(const char *s, ws_str_t name)
{
    size_t pos = 0, end = s ? strlen(s) : 0;
    ws_ext_offer_t o;
    while (ws_hs_ext_list_next(s, &pos, end, &o) > 0)
        if (same_name(o.name, name))
            return 1;
    return 0;
}

/* How many extensions called name the head's headers list (up to 2). */
static int times_listed(const char *head, size_t head_len, ws_str_t name)
{
    size_t iter = 0;
    ws_ext_offer_t o;
    int n = 0;
    while (n < 2 && ws_header_next_extension(head, head_len, &iter, &o) > 0)
        n += same_name(o.name, name);
    return n;
}

int ws_hs_ext_all_offered(const char *list, const char *head, size_t head_len)
{
    size_t pos = 0, end = strlen(list);
    ws_ext_offer_t o;
    int r;
    if (!ws_hs_ext_list_valid(list))
        return 0;
    while ((r = ws_hs_ext_list_next(list, &pos, end, &o)) > 0)
        if (times_listed(head, head_len, o.name) == 0)
            return 0;
    return 1;
}

int ws_hs_ext_check_response(const char *head, size_t head_len,
                             const char *offered)
{
    size_t iter = 0;
    ws_ext_offer_t o;
    int r;
    while ((r = ws_header_next_extension(head, head_len, &iter, &o)) > 0)
        if (!listed(offered, o.name) ||
            times_listed(head, head_len, o.name) > 1)
            return WS_EHS_EXTENSION;
    return r < 0 ? WS_EHS_EXTENSION : 0;
}

/*
 * *iter is 0 before the first call; afterwards it is the offset in head
 * just past the last extension returned, inside the value of a matching
 * header (so never 0), or head_len at the end.
 */
WS_API int ws_header_next_extension(const char *head, size_t head_len,
                                    size_t *iter, ws_ext_offer_t *offer)
{
    static const char name[] = "Sec-WebSocket-Extensions";
    size_t pos, end, next;
    int r = 0;

    if (!head || !iter || !offer || *iter >= head_len)
        return 0;
    if (*iter == 0) {
        next = ws_hs_first_field(head, head_len);
        if (!ws_hs_find_field(head, head_len, &next, name, sizeof name - 1,
                              &pos, &end))
            goto done;
    } else {
        pos = *iter;
        end = ws_hs_line_end(head, pos, head_len, &next);
    }
    for (;;) {
        r = ws_hs_ext_list_next(head, &pos, end, offer);
        if (r > 0) {
            *iter = pos;
            return 1;
        }
        if (r < 0)
            break;
        if (!ws_hs_find_field(head, head_len, &next, name, sizeof name - 1,
                              &pos, &end))
            break;
    }
done:
    *iter = head_len;
    memset(offer, 0, sizeof *offer);
    return r;
}

WS_API ptrdiff_t ws_ext_param_value(const ws_ext_param_t *p, char *out,
                                    size_t cap)
{
    size_t n = 0;
    if (!p || (!out && cap))
        return WS_EINVAL;
    for (size_t i = 0; i < p->value.len; i++, n++)
        if (p->quoted && p->value.ptr[i] == '\\')
            i++;
    if (n >= cap)
        return WS_ENOBUFS;
    n = 0;
    for (size_t i = 0; i < p->value.len; i++) {
        if (p->quoted && p->value.ptr[i] == '\\')
            i++;
        out[n++] = p->value.ptr[i];
    }
    out[n] = 0;
    return (ptrdiff_t)n;
}
