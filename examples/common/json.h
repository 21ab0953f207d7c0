/*
 * json.h — a small JSON reader and writer for the example programs
 * (RFC 8259), libc only, no allocation.
 *
 * Reader: json_parse() checks a whole text strictly (RFC 8259 grammar, one
 * value, UTF-8 validated, escapes and surrogate pairs checked, nesting at
 * most JSON_MAX_DEPTH) and records it as a flat array of tokens in
 * document order, in storage the caller gives. Nothing is copied: a token
 * is a span of the source. Lookups walk the array; strings are unescaped
 * on demand into a caller's buffer.
 *
 * Writer: json_writer_t appends to a caller's buffer and places commas and
 * colons itself; an overflow or a misuse (a value where a key belongs)
 * latches an error that json_writer_end() reports, so a caller checks once.
 */
#ifndef WSX_JSON_H
#define WSX_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

typedef enum json_type {
    JSON_NULL,
    JSON_FALSE,
    JSON_TRUE,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT
} json_type_t;

/* One value. For JSON_STRING, [start, start+len) is the raw text between
 * the quotes (escapes not yet decoded); for the others, the value's whole
 * text. An object's members are its key tokens (JSON_STRING), each
 * followed by its value's subtree. */
typedef struct json_tok {
    uint8_t type;   /* json_type_t */
    uint8_t escaped; /* JSON_STRING: the raw text holds a backslash */
    uint32_t start, len;
    uint32_t count; /* JSON_ARRAY: elements; JSON_OBJECT: members */
    uint32_t end;   /* index of the first token after this subtree */
} json_tok_t;

typedef struct json_doc {
    const char *src;
    size_t len;
    json_tok_t *tok;
    size_t ntok;
} json_doc_t;

/* Why a parse failed, and where (byte offset into the source). */
typedef struct json_error {
    size_t offset;
    const char *what; /* "unexpected character", "too many tokens", ... */
} json_error_t;

/* Parse src[0..len) into toks (cap of them). Returns 0 and fills *doc
 * (token 0 is the top value), or -1 and fills *err (err may be NULL).
 * Leading and trailing whitespace is allowed; anything else after the
 * value is an error. */
int json_parse(json_doc_t *doc, const char *src, size_t len, json_tok_t *toks,
               size_t cap, json_error_t *err);

/* The index of key's value in the object at index obj, or -1 (obj is not
 * an object, or has no such key). Keys are compared after unescaping; with
 * duplicate keys the first wins. */
int json_find(const json_doc_t *doc, int obj, const char *key);

/* The index of the i-th element of the array at index arr, or -1. */
int json_index(const json_doc_t *doc, int arr, size_t i);

/* The type of token i (JSON_NULL when i is out of range: callers test the
 * index from json_find first). */
json_type_t json_type(const json_doc_t *doc, int i);

/* Unescape string token i into out (cap bytes, always NUL-terminated when
 * cap > 0) and set *len to its length in bytes. Returns 0, -1 when token i
 * is not a string, or -2 when it does not fit (out holds the whole
 * characters that fit, *len the length it needs, without the NUL). A
 * decoded string may contain NUL ("\u0000"): callers that need C strings
 * check memchr(out, 0, *len). */
int json_string(const json_doc_t *doc, int i, char *out, size_t cap,
                size_t *len);

/* String token i equals s (after unescaping)? */
int json_string_eq(const json_doc_t *doc, int i, const char *s);

/* Number token i as an integer: returns 0, or -1 when it is not a number,
 * has a fraction or exponent, or does not fit in int64_t. */
int json_int64(const json_doc_t *doc, int i, int64_t *out);

/* Boolean token i: returns 0 and sets *out, or -1. */
int json_bool(const json_doc_t *doc, int i, int *out);

/* The writer. */
typedef struct json_writer {
    char *buf;
    size_t cap, len;
    int error;                       /* latched: overflow or misuse */
    unsigned depth;                  /* open arrays and objects */
    uint8_t first[JSON_MAX_DEPTH];   /* no element written yet at depth */
    uint8_t in_object[JSON_MAX_DEPTH];
    uint8_t want_value;              /* a key was written, its value next */
} json_writer_t;

void json_writer_init(json_writer_t *w, char *buf, size_t cap);
void json_object_begin(json_writer_t *w);
void json_object_end(json_writer_t *w);
void json_array_begin(json_writer_t *w);
void json_array_end(json_writer_t *w);
void json_key(json_writer_t *w, const char *key);
/* A key of len bytes (it may hold a NUL). */
void json_key_len(json_writer_t *w, const char *key, size_t len);
/* A string value of len bytes of UTF-8, escaped as RFC 8259 §7 requires
 * (", \, and controls; "\u2028"/"\u2029" escaped too, for script
 * embedding). Invalid UTF-8 is a misuse. */
void json_string_value(json_writer_t *w, const char *s, size_t len);
void json_cstring(json_writer_t *w, const char *s);
void json_int(json_writer_t *w, int64_t v);
void json_bool_value(json_writer_t *w, int v);
void json_null(json_writer_t *w);
/* Already-encoded JSON text (e.g. a stored message), written as one value;
 * the caller vouches for it. */
void json_raw(json_writer_t *w, const char *text, size_t len);
/* Shorthands for one member: key and value. */
void json_member_str(json_writer_t *w, const char *key, const char *s);
void json_member_int(json_writer_t *w, const char *key, int64_t v);
void json_member_bool(json_writer_t *w, const char *key, int v);

/* Finish: returns the text's length (buf is NUL-terminated when there is
 * room), or -1 after an overflow, a misuse, an unclosed container, or
 * when nothing was written. */
long json_writer_end(json_writer_t *w);

#endif
