/*
 * json.c — the JSON reader and writer of json.h (RFC 8259).
 *
 * The reader is a recursive descent over the grammar of RFC 8259 §2-§7,
 * bounded by JSON_MAX_DEPTH, writing tokens in document order; a
 * container's count and end are filled in when it closes. Strings are
 * checked once at parse time (escapes, surrogate pairs, UTF-8 through the
 * library's validator), so the lookups that decode them later can trust
 * the text.
 */
#include "json.h"

#include "wsproto.h"

#include <string.h>

/* ------------------------------------------------------------ reader */

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    json_tok_t *tok;
    size_t cap, n;
    const char *what; /* the first error, or NULL */
    size_t at;
} parser_t;

static int fail(parser_t *p, size_t at, const char *what)
{
    if (!p->what) {
        p->what = what;
        p->at = at;
    }
    return -1;
}

/* RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static void skip_ws(parser_t *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static json_tok_t *new_tok(parser_t *p, json_type_t type, size_t start)
{
    if (p->n == p->cap) {
        fail(p, start, "too many tokens");
        return NULL;
    }
    json_tok_t *t = &p->tok[p->n++];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->start = (uint32_t)start;
    return t;
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at s (trusted to be there); -1 if one is not hex. */
static long hex4(const unsigned char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(s[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A \u escape at p->pos (the backslash): one code unit, or a surrogate
 * pair (RFC 8259 §7: a character outside the BMP is a UTF-16 pair; a lone
 * surrogate encodes no character and is refused). */
static int check_u_escape(parser_t *p)
{
    size_t at = p->pos;
    if (p->len - p->pos < 6)
        return fail(p, at, "truncated \\u escape");
    long u = hex4(p->s + p->pos + 2);
    if (u < 0)
        return fail(p, at, "bad \\u escape");
    p->pos += 6;
    if (u >= 0xDC00 && u <= 0xDFFF)
        return fail(p, at, "lone low surrogate");
    if (u < 0xD800 || u > 0xDBFF)
        return 0;
    if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
        p->s[p->pos + 1] != 'u')
        return fail(p, at, "lone high surrogate");
    long lo = hex4(p->s + p->pos + 2);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail(p, at, "lone high surrogate");
    p->pos += 6;
    return 0;
}

/* RFC 8259 §7: the characters that must be escaped are the quote, the
 * backslash and the controls U+0000-U+001F; the escapes are \" \\ \/ \b
 * \f \n \r \t and \uXXXX. */
static int parse_string(parser_t *p)
{
    size_t open = p->pos++;
    json_tok_t *t = new_tok(p, JSON_STRING, p->pos);
    if (!t)
        return -1;
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            size_t n = p->pos - t->start;
            /* §8.1: a text exchanged between systems is UTF-8. Escapes are
             * ASCII and a quote never occurs inside a multi-byte sequence,
             * so the raw span is checked in one pass. */
            if (ws_utf8_validate(p->s + t->start, n) != 0)
                return fail(p, t->start, "invalid UTF-8 in string");
            t->len = (uint32_t)n;
            p->pos++;
            return 0;
        }
        if (c < 0x20)
            return fail(p, p->pos, "control character in string");
        if (c != '\\') {
            p->pos++;
            continue;
        }
        t->escaped = 1;
        if (p->pos + 1 >= p->len)
            break;
        c = p->s[p->pos + 1];
        if (c == 'u') {
            if (check_u_escape(p) != 0)
                return -1;
        } else if (strchr("\"\\/bfnrt", c) && c) {
            p->pos += 2;
        } else {
            return fail(p, p->pos, "bad escape");
        }
    }
    return fail(p, open, "unterminated string");
}

static size_t skip_digits(parser_t *p)
{
    size_t from = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++;
    return p->pos - from;
}

/* RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]
 * int = zero / ( digit1-9 *DIGIT ); frac = "." 1*DIGIT;
 * exp = ("e" / "E") [ "-" / "+" ] 1*DIGIT */
static int parse_number(parser_t *p)
{
    size_t start = p->pos;
    if (p->s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '0')
        p->pos++;
    else if (skip_digits(p) == 0)
        return fail(p, p->pos, "bad number");
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (skip_digits(p) == 0)
            return fail(p, p->pos, "bad number fraction");
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        if (skip_digits(p) == 0)
            return fail(p, p->pos, "bad number exponent");
    }
    json_tok_t *t = new_tok(p, JSON_NUMBER, start);
    if (!t)
        return -1;
    t->len = (uint32_t)(p->pos - start);
    return 0;
}

static int parse_literal(parser_t *p, const char *word, json_type_t type)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return fail(p, p->pos, "unexpected character");
    json_tok_t *t = new_tok(p, type, p->pos);
    if (!t)
        return -1;
    t->len = (uint32_t)n;
    p->pos += n;
    return 0;
}

static int parse_value(parser_t *p, unsigned depth);

/* An array or an object, the opening bracket at p->pos (RFC 8259 §4, §5):
 * values (or members: a string, a colon, a value) separated by commas. */
static int parse_container(parser_t *p, unsigned depth, int object)
{
    size_t self = p->n;
    json_tok_t *t =
        new_tok(p, object ? JSON_OBJECT : JSON_ARRAY, p->pos);
    if (!t)
        return -1;
    if (depth >= JSON_MAX_DEPTH)
        return fail(p, p->pos, "nested too deeply");
    char close = object ? '}' : ']';
    uint32_t count = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close)
        goto done;
    for (;;) {
        skip_ws(p);
        if (object) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, p->pos, "expected a string key");
            if (parse_string(p) != 0)
                return -1;
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return fail(p, p->pos, "expected ':'");
            p->pos++;
        }
        if (parse_value(p, depth + 1) != 0)
            return -1;
        count++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close)
            break;
        return fail(p, p->pos, object ? "expected ',' or '}'"
                                      : "expected ',' or ']'");
    }
done:
    p->pos++;
    t = &p->tok[self];
    t->count = count;
    t->len = (uint32_t)(p->pos - t->start);
    t->end = (uint32_t)p->n;
    return 0;
}

static int parse_value(parser_t *p, unsigned depth)
{
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, p->pos, "unexpected end of text");
    size_t self = p->n;
    int r;
    switch (p->s[p->pos]) {
    case '{':
        return parse_container(p, depth, 1);
    case '[':
        return parse_container(p, depth, 0);
    case '"':
        r = parse_string(p);
        break;
    case 't':
        r = parse_literal(p, "true", JSON_TRUE);
        break;
    case 'f':
        r = parse_literal(p, "false", JSON_FALSE);
        break;
    case 'n':
        r = parse_literal(p, "null", JSON_NULL);
        break;
    default:
        if (p->s[p->pos] == '-' ||
            (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            r = parse_number(p);
        else
            return fail(p, p->pos, "unexpected character");
    }
    if (r == 0)
        p->tok[self].end = (uint32_t)p->n;
    return r;
}

int json_parse(json_doc_t *doc, const char *src, size_t len, json_tok_t *toks,
               size_t cap, json_error_t *err)
{
    parser_t p = {(const unsigned char *)src, len, 0, toks, cap, 0, NULL, 0};

    /* Token offsets are 32-bit. */
    if (len > UINT32_MAX - 1)
        fail(&p, 0, "text too long");
    else if (parse_value(&p, 0) == 0) {
        skip_ws(&p);
        if (p.pos != len)
            fail(&p, p.pos, "trailing characters after the value");
    }
    if (p.what) {
        if (err) {
            err->offset = p.at;
            err->what = p.what;
        }
        return -1;
    }
    doc->src = src;
    doc->len = len;
    doc->tok = toks;
    doc->ntok = p.n;
    return 0;
}

/* ----------------------------------------------------------- lookups */

static const json_tok_t *tok_at(const json_doc_t *doc, int i)
{
    if (i < 0 || (size_t)i >= doc->ntok)
        return NULL;
    return &doc->tok[i];
}

json_type_t json_type(const json_doc_t *doc, int i)
{
    const json_tok_t *t = tok_at(doc, i);
    return t ? (json_type_t)t->type : JSON_NULL;
}

static size_t put_utf8(unsigned long cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The next decoded piece of the raw string s[*i..n) into out (1-4 bytes);
 * advances *i. The text was checked by json_parse. */
static size_t decode_next(const char *s, size_t *i, char out[4])
{
    const unsigned char *u = (const unsigned char *)s + *i;
    if (u[0] != '\\') {
        out[0] = (char)u[0];
        *i += 1;
        return 1;
    }
    *i += 2;
    switch (u[1]) {
    case 'b':
        out[0] = '\b';
        return 1;
    case 'f':
        out[0] = '\f';
        return 1;
    case 'n':
        out[0] = '\n';
        return 1;
    case 'r':
        out[0] = '\r';
        return 1;
    case 't':
        out[0] = '\t';
        return 1;
    case 'u':
        break;
    default: /* " \ / */
        out[0] = (char)u[1];
        return 1;
    }
    unsigned long cp = (unsigned long)hex4(u + 2);
    *i += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        unsigned long lo = (unsigned long)hex4(u + 8);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *i += 6;
    }
    return put_utf8(cp, out);
}

int json_string(const json_doc_t *doc, int i, char *out, size_t cap,
                size_t *len)
{
    const json_tok_t *t = tok_at(doc, i);
    if (!t || t->type != JSON_STRING)
        return -1;
    const char *s = doc->src + t->start;
    size_t at = 0, n = 0, fits = 1;
    while (at < t->len) {
        char piece[4];
        size_t k = decode_next(s, &at, piece);
        /* Whole characters only, and room kept for the NUL. */
        if (fits && n + k < cap)
            memcpy(out + n, piece, k);
        else if (fits) {
            fits = 0;
            if (cap > 0)
                out[n] = '\0';
        }
        n += k;
    }
    if (fits && cap > 0)
        out[n] = '\0';
    *len = n;
    return fits ? 0 : -2;
}

/* Raw string token t equals the n bytes of s after unescaping? */
static int tok_eq(const json_doc_t *doc, const json_tok_t *t, const char *s,
                  size_t n)
{
    const char *raw = doc->src + t->start;
    if (!t->escaped)
        return t->len == n && memcmp(raw, s, n) == 0;
    size_t at = 0, k = 0;
    while (at < t->len) {
        char piece[4];
        size_t m = decode_next(raw, &at, piece);
        if (m > n - k || memcmp(s + k, piece, m) != 0)
            return 0;
        k += m;
    }
    return k == n;
}

int json_string_eq(const json_doc_t *doc, int i, const char *s)
{
    const json_tok_t *t = tok_at(doc, i);
    return t && t->type == JSON_STRING && tok_eq(doc, t, s, strlen(s));
}

int json_find(const json_doc_t *doc, int obj, const char *key)
{
    const json_tok_t *t = tok_at(doc, obj);
    if (!t || t->type != JSON_OBJECT)
        return -1;
    size_t n = strlen(key), k = (size_t)obj + 1;
    for (uint32_t m = 0; m < t->count; m++) {
        if (tok_eq(doc, &doc->tok[k], key, n))
            return (int)k + 1;
        k = doc->tok[k + 1].end;
    }
    return -1;
}

int json_index(const json_doc_t *doc, int arr, size_t i)
{
    const json_tok_t *t = tok_at(doc, arr);
    if (!t || t->type != JSON_ARRAY || i >= t->count)
        return -1;
    size_t k = (size_t)arr + 1;
    while (i-- > 0)
        k = doc->tok[k].end;
    return (int)k;
}

int json_int64(const json_doc_t *doc, int i, int64_t *out)
{
    const json_tok_t *t = tok_at(doc, i);
    if (!t || t->type != JSON_NUMBER)
        return -1;
    const char *s = doc->src + t->start;
    size_t n = t->len, at = 0;
    int neg = s[0] == '-';
    at = (size_t)neg;
    /* The magnitude's limit: 2^63 - 1, or 2^63 for a negative number. */
    uint64_t limit = (uint64_t)INT64_MAX + (uint64_t)neg, v = 0;
    for (; at < n; at++) {
        unsigned d = (unsigned)(s[at] - '0');
        if (d > 9)
            return -1; /* '.', 'e' or 'E': not an integer */
        if (v > (limit - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

int json_bool(const json_doc_t *doc, int i, int *out)
{
    const json_tok_t *t = tok_at(doc, i);
    if (!t || (t->type != JSON_TRUE && t->type != JSON_FALSE))
        return -1;
    *out = t->type == JSON_TRUE;
    return 0;
}

/* ------------------------------------------------------------ writer */

enum { WRITER_OVERFLOW = 1, WRITER_MISUSE = 2 };

void json_writer_init(json_writer_t *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
}

static void misuse(json_writer_t *w)
{
    if (!w->error)
        w->error = WRITER_MISUSE;
}

static void put(json_writer_t *w, const char *s, size_t n)
{
    if (w->error)
        return;
    if (n > w->cap - w->len) {
        w->error = WRITER_OVERFLOW;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_char(json_writer_t *w, char c)
{
    put(w, &c, 1);
}

/* Before any value: where is it going? A value at the top is allowed once;
 * in an array it follows a comma unless it is the first; in an object it
 * must follow a key. Returns 0 when the value may be written. */
static int begin_value(json_writer_t *w)
{
    if (w->error)
        return -1;
    if (w->depth == 0) {
        if (w->len > 0)
            misuse(w); /* a second top-level value */
    } else if (w->in_object[w->depth - 1]) {
        if (!w->want_value)
            misuse(w); /* a value where a key belongs */
        w->want_value = 0;
    } else if (!w->first[w->depth - 1]) {
        put_char(w, ',');
    }
    if (w->depth > 0)
        w->first[w->depth - 1] = 0;
    return w->error ? -1 : 0;
}

static void open_container(json_writer_t *w, int object)
{
    if (begin_value(w) != 0)
        return;
    if (w->depth == JSON_MAX_DEPTH) {
        misuse(w);
        return;
    }
    put_char(w, object ? '{' : '[');
    w->first[w->depth] = 1;
    w->in_object[w->depth] = (uint8_t)object;
    w->depth++;
}

static void close_container(json_writer_t *w, int object)
{
    if (w->error)
        return;
    if (w->depth == 0 || w->in_object[w->depth - 1] != object ||
        w->want_value) {
        misuse(w);
        return;
    }
    w->depth--;
    put_char(w, object ? '}' : ']');
}

void json_object_begin(json_writer_t *w) { open_container(w, 1); }
void json_object_end(json_writer_t *w) { close_container(w, 1); }
void json_array_begin(json_writer_t *w) { open_container(w, 0); }
void json_array_end(json_writer_t *w) { close_container(w, 0); }

/* The quoted, escaped string (RFC 8259 §7). Runs that need no escape are
 * copied whole. U+2028 and U+2029 are legal in JSON but end a line in
 * JavaScript source, hence escaped too. */
static void put_quoted(json_writer_t *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0;

    if (ws_utf8_validate(s, len) != 0) {
        misuse(w);
        return;
    }
    put_char(w, '"');
    for (size_t i = 0; i < len; i++) {
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t n = 2, skip = 1;
        unsigned char c = u[i];
        if (c == '"' || c == '\\')
            esc[1] = (char)c;
        else if (c == '\n')
            esc[1] = 'n';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\b')
            esc[1] = 'b';
        else if (c == '\f')
            esc[1] = 'f';
        else if (c < 0x20) {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        } else if (c == 0xE2 && i + 2 < len && u[i + 1] == 0x80 &&
                   (u[i + 2] == 0xA8 || u[i + 2] == 0xA9)) {
            memcpy(esc + 1, u[i + 2] == 0xA8 ? "u2028" : "u2029", 5);
            n = 6;
            skip = 3;
        } else {
            continue;
        }
        put(w, s + run, i - run);
        put(w, esc, n);
        i += skip - 1;
        run = i + 1;
    }
    put(w, s + run, len - run);
    put_char(w, '"');
}

void json_key(json_writer_t *w, const char *key)
{
    if (w->error)
        return;
    if (w->depth == 0 || !w->in_object[w->depth - 1] || w->want_value) {
        misuse(w);
        return;
    }
    if (!w->first[w->depth - 1])
        put_char(w, ',');
    w->first[w->depth - 1] = 0;
    put_quoted(w, key, strlen(key));
    put_char(w, ':');
    w->want_value = 1;
}

void json_string_value(json_writer_t *w, const char *s, size_t len)
{
    if (begin_value(w) == 0)
        put_quoted(w, s, len);
}

void json_cstring(json_writer_t *w, const char *s)
{
    json_string_value(w, s, strlen(s));
}

void json_int(json_writer_t *w, int64_t v)
{
    char digits[24];
    size_t n = sizeof digits;
    /* The magnitude as unsigned: -INT64_MIN does not fit in int64_t. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[--n] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0)
        digits[--n] = '-';
    if (begin_value(w) == 0)
        put(w, digits + n, sizeof digits - n);
}

void json_bool_value(json_writer_t *w, int v)
{
    if (begin_value(w) == 0)
        put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null(json_writer_t *w)
{
    if (begin_value(w) == 0)
        put(w, "null", 4);
}

void json_raw(json_writer_t *w, const char *text, size_t len)
{
    if (len == 0) {
        misuse(w);
        return;
    }
    if (begin_value(w) == 0)
        put(w, text, len);
}

void json_member_str(json_writer_t *w, const char *key, const char *s)
{
    json_key(w, key);
    json_cstring(w, s);
}

void json_member_int(json_writer_t *w, const char *key, int64_t v)
{
    json_key(w, key);
    json_int(w, v);
}

void json_member_bool(json_writer_t *w, const char *key, int v)
{
    json_key(w, key);
    json_bool_value(w, v);
}

long json_writer_end(json_writer_t *w)
{
    if (w->error || w->depth != 0 || w->len == 0)
        return -1;
    if (w->len < w->cap)
        w->buf[w->len] = '\0';
    return (long)w->len;
}
