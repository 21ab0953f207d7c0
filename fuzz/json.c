/*
 * json.c — fuzz target: the examples' JSON reader and writer
 * (examples/common/json.c, RFC 8259).
 *
 * Input: a JSON text, as is (copied to the end of a heap block, so a read
 * past it is an ASan report).
 *
 * Checked on every input: json_parse returns 0 or -1 with a reason and an
 * offset inside the text; on success the token tree is consistent (every
 * span inside the text, a subtree's end after its children, counts equal
 * to the children walked, keys strings, json_index and json_find agree
 * with the walk, duplicate keys give the first), exactly ntok tokens are
 * enough and one fewer is "too many tokens"; every string decodes, to no
 * more bytes than its raw text, to valid UTF-8, and a short buffer gives
 * -2 with a prefix of it; json_int64 agrees with strtoll on integers; and
 * the document written again through the writer (strings unescaped and
 * re-escaped, numbers as they were) parses to the same tree, and writing
 * that again gives the same bytes.
 */
#include "fuzz_common.h"

#include "../examples/common/json.c"

#include <errno.h>

#define FZ_MAX_TOKENS 4096

/* Token i's decoded string, checked against its raw text. */
static FZ_NOCOV size_t check_string(const json_doc_t *doc, int i, char *out,
                                    size_t cap)
{
    const json_tok_t *t = &doc->tok[i];
    size_t len = 0;
    FZ_CHECK(json_string(doc, i, out, cap, &len) == 0,
             "string %d does not decode into %zu bytes", i, cap);
    FZ_CHECK(len <= t->len, "string %d: %zu bytes from %u raw", i, len,
             t->len);
    FZ_CHECK(out[len] == '\0', "string %d not NUL-terminated", i);
    FZ_CHECK(ws_utf8_validate(out, len) == 0, "string %d decodes to bad "
             "UTF-8", i);
    FZ_CHECK(t->escaped == (memchr(doc->src + t->start, '\\', t->len) != 0),
             "string %d: escaped flag %u", i, t->escaped);
    if (!t->escaped)
        FZ_CHECK(len == t->len && memcmp(out, doc->src + t->start, len) == 0,
                 "unescaped string %d changed", i);
    if (len > 0) {
        char small[8];
        size_t cut = len < sizeof small ? len : sizeof small;
        size_t full = 0;
        FZ_CHECK(json_string(doc, i, small, cut, &full) == -2,
                 "string %d fits %zu bytes", i, cut);
        FZ_CHECK(full == len, "string %d: short buffer length %zu", i, full);
        FZ_CHECK(memcmp(small, out, strlen(small)) == 0 &&
                     strlen(small) < cut,
                 "string %d: short buffer is not a prefix", i);
    }
    return len;
}

static FZ_NOCOV void check_number(const json_doc_t *doc, int i)
{
    const json_tok_t *t = &doc->tok[i];
    char text[64];
    int64_t v = 0;
    int r = json_int64(doc, i, &v);
    int integer = !memchr(doc->src + t->start, '.', t->len) &&
                  !memchr(doc->src + t->start, 'e', t->len) &&
                  !memchr(doc->src + t->start, 'E', t->len);
    if (!integer) {
        FZ_CHECK(r == -1, "json_int64 took a fraction or exponent");
        return;
    }
    if (t->len >= sizeof text) {
        FZ_CHECK(r == -1, "json_int64 took %u digits", t->len);
        return;
    }
    memcpy(text, doc->src + t->start, t->len);
    text[t->len] = '\0';
    errno = 0;
    long long ref = strtoll(text, NULL, 10);
    FZ_CHECK((r == 0) == (errno == 0), "json_int64 %d, strtoll errno %d on %s",
             r, errno, text);
    if (r == 0)
        FZ_CHECK(v == ref, "json_int64 %lld, strtoll %lld", (long long)v,
                 ref);
}

/* The subtree at i, checked; returns the index after it. */
static FZ_NOCOV size_t check_tree(const json_doc_t *doc, size_t i, char *sbuf,
                                  size_t scap)
{
    const json_tok_t *t = &doc->tok[i];
    FZ_CHECK(t->start <= doc->len && t->len <= doc->len - t->start,
             "token %zu span [%u, +%u) outside %zu bytes", i, t->start,
             t->len, doc->len);
    FZ_CHECK(t->end > i && t->end <= doc->ntok, "token %zu end %u", i,
             t->end);
    size_t k = i + 1;
    switch (t->type) {
    case JSON_STRING:
        check_string(doc, (int)i, sbuf, scap);
        break;
    case JSON_NUMBER:
        check_number(doc, (int)i);
        break;
    case JSON_ARRAY:
        for (uint32_t m = 0; m < t->count; m++) {
            FZ_CHECK(json_index(doc, (int)i, m) == (int)k, "json_index");
            k = check_tree(doc, k, sbuf, scap);
        }
        FZ_CHECK(json_index(doc, (int)i, t->count) == -1, "index past end");
        break;
    case JSON_OBJECT:
        for (uint32_t m = 0; m < t->count; m++) {
            FZ_CHECK(doc->tok[k].type == JSON_STRING, "key %zu", k);
            size_t n = check_string(doc, (int)k, sbuf, scap);
            int found = json_find(doc, (int)i, sbuf);
            /* A key holding a NUL cannot be asked for as a C string. */
            if (memchr(sbuf, 0, n) == NULL)
                FZ_CHECK(found > 0 && (size_t)found <= k + 1 &&
                             json_string_eq(doc, found - 1, sbuf),
                         "json_find key %zu: %d", k, found);
            k = check_tree(doc, k + 1, sbuf, scap);
        }
        break;
    default:
        FZ_CHECK(t->type <= JSON_TRUE, "type %u", t->type);
        FZ_CHECK(t->end == i + 1, "scalar with children");
    }
    FZ_CHECK(k == t->end, "token %zu: end %u, walked to %zu", i, t->end, k);
    return k;
}

/* The subtree at i through the writer; returns the index after it. */
static FZ_NOCOV size_t write_tree(const json_doc_t *doc, size_t i,
                                  json_writer_t *w, char *sbuf, size_t scap)
{
    const json_tok_t *t = &doc->tok[i];
    size_t k = i + 1, len = 0;
    switch (t->type) {
    case JSON_NULL:
        json_null(w);
        break;
    case JSON_FALSE:
    case JSON_TRUE:
        json_bool_value(w, t->type == JSON_TRUE);
        break;
    case JSON_NUMBER:
        json_raw(w, doc->src + t->start, t->len);
        break;
    case JSON_STRING:
        json_string(doc, (int)i, sbuf, scap, &len);
        json_string_value(w, sbuf, len);
        break;
    case JSON_ARRAY:
        json_array_begin(w);
        for (uint32_t m = 0; m < t->count; m++)
            k = write_tree(doc, k, w, sbuf, scap);
        json_array_end(w);
        break;
    default:
        json_object_begin(w);
        for (uint32_t m = 0; m < t->count; m++) {
            json_string(doc, (int)k, sbuf, scap, &len);
            json_key_len(w, sbuf, len);
            k = write_tree(doc, k + 1, w, sbuf, scap);
        }
        json_object_end(w);
    }
    return k;
}

/* Two documents with the same tree: types, counts, decoded strings and
 * number texts. */
static FZ_NOCOV void check_same(const json_doc_t *a, const json_doc_t *b,
                                char *s1, char *s2, size_t scap)
{
    FZ_CHECK(a->ntok == b->ntok, "%zu tokens, %zu after writing", a->ntok,
             b->ntok);
    for (size_t i = 0; i < a->ntok; i++) {
        const json_tok_t *x = &a->tok[i], *y = &b->tok[i];
        FZ_CHECK(x->type == y->type && x->count == y->count &&
                     x->end == y->end,
                 "token %zu differs after writing", i);
        size_t n1 = 0, n2 = 0;
        if (x->type == JSON_STRING) {
            json_string(a, (int)i, s1, scap, &n1);
            json_string(b, (int)i, s2, scap, &n2);
            FZ_CHECK(n1 == n2 && memcmp(s1, s2, n1) == 0,
                     "string %zu differs after writing", i);
        } else if (x->type == JSON_NUMBER) {
            FZ_CHECK(x->len == y->len && memcmp(a->src + x->start,
                                                b->src + y->start,
                                                x->len) == 0,
                     "number %zu differs after writing", i);
        }
    }
}

static FZ_NOCOV long write_doc(const json_doc_t *doc, char *out, size_t cap,
                               char *sbuf, size_t scap)
{
    json_writer_t w;
    json_writer_init(&w, out, cap);
    write_tree(doc, 0, &w, sbuf, scap);
    return json_writer_end(&w);
}

static json_tok_t toks[FZ_MAX_TOKENS], toks2[FZ_MAX_TOKENS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = (char *)fz_dup(data, size);
    json_doc_t doc, again;
    json_error_t err = {0, NULL};

    if (json_parse(&doc, src, size, toks, FZ_MAX_TOKENS, &err) != 0) {
        FZ_CHECK(err.what != NULL && err.offset <= size,
                 "failure without a reason, or at %zu of %zu", err.offset,
                 size);
        free(src);
        return 0;
    }
    FZ_CHECK(doc.ntok >= 1 && doc.tok[0].end == doc.ntok, "root end %u of %zu",
             doc.tok[0].end, doc.ntok);
    FZ_CHECK(json_parse(&again, src, size, toks2, doc.ntok, NULL) == 0,
             "%zu tokens not enough", doc.ntok);
    FZ_CHECK(json_parse(&again, src, size, toks2, doc.ntok - 1, &err) == -1 &&
                 strcmp(err.what, "too many tokens") == 0,
             "%zu tokens enough", doc.ntok - 1);

    size_t scap = size + 1;
    char *s1 = malloc(scap), *s2 = malloc(scap);
    /* Escaping grows a byte to at most 6 ("\u001f"). */
    size_t ocap = 6 * size + 16;
    char *o1 = malloc(ocap), *o2 = malloc(ocap);
    FZ_CHECK(s1 && s2 && o1 && o2, "out of memory in the harness");

    check_tree(&doc, 0, s1, scap);
    long n1 = write_doc(&doc, o1, ocap, s1, scap);
    FZ_CHECK(n1 > 0, "the writer failed on a parsed document");
    FZ_CHECK(json_parse(&again, o1, (size_t)n1, toks2, FZ_MAX_TOKENS,
                        &err) == 0,
             "the written text does not parse: %s at %zu: %.*s", err.what,
             err.offset, (int)n1, o1);
    check_same(&doc, &again, s1, s2, scap);
    long n2 = write_doc(&again, o2, ocap, s2, scap);
    FZ_CHECK(n2 == n1 && memcmp(o1, o2, (size_t)n1) == 0,
             "writing twice differs: %.*s / %.*s", (int)n1, o1,
             (int)(n2 > 0 ? n2 : 0), o2);
    free(s1);
    free(s2);
    free(o1);
    free(o2);
    free(src);
    return 0;
}
