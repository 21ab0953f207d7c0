/*
 * jsonunit — unit tests of the JSON reader and writer (examples/common/
 * json.c, RFC 8259): accept and reject vectors in the manner of
 * JSONTestSuite (y_ must parse, n_ must not), every truncation of a few
 * documents refused without a read past the end (each prefix is copied to
 * the end of a heap block, where ASan sees any overread), the lookups'
 * exact outcomes, and the writer's exact bytes, overflow and misuse.
 *
 * Ends with "N passed, N failed"; exit status 1 if any test failed.
 */
#include "json.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

typedef struct vec {
    const char *name;
    const char *text;
    size_t len;
} vec_t;

/* Length from sizeof, so a vector may hold NUL bytes. */
#define V(name, lit) {name, lit, sizeof lit - 1}

static const vec_t accept[] = {
    V("y_array_empty", "[]"),
    V("y_object_empty", "{}"),
    V("y_array_null", "[null]"),
    V("y_array_true_false", "[true,false]"),
    V("y_number_zero", "0"),
    V("y_number_minus_zero", "-0"),
    V("y_number_int", "123"),
    V("y_number_negative", "-123"),
    V("y_number_fraction", "1.5"),
    V("y_number_exp_fraction", "-1.5e10"),
    V("y_number_capital_E_plus", "1E+2"),
    V("y_number_exp_minus", "1e-2"),
    V("y_number_zero_fraction", "0.0"),
    V("y_number_huge_exp", "1E400"),
    V("y_number_big_int", "12345678901234567890123"),
    V("y_number_minus_zero_exp", "[-0.0e-0]"),
    V("y_string_simple", "\"x\""),
    V("y_string_empty", "\"\""),
    V("y_string_space", "\" \""),
    V("y_string_escaped_nul", "\"\\u0000\""),
    V("y_string_short_escapes", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
    V("y_string_surrogate_pair", "\"\\uD834\\uDD1E\""),
    V("y_string_pair_lowercase", "\"\\ud83c\\udc04\""),
    V("y_string_max_pair", "\"\\uDBFF\\uDFFF\""),
    V("y_string_u_FFFF", "\"\\uFFFF\""),
    V("y_string_u_escape_latin", "\"\\u00e9\""),
    V("y_string_utf8_2", "\"\xc3\xa9\""),
    V("y_string_utf8_3", "\"\xe2\x82\xac\""),
    V("y_string_utf8_4", "\"\xf0\x9f\x98\x80\""),
    V("y_string_utf8_max", "\"\xf4\x8f\xbf\xbf\""),
    V("y_string_raw_u2028", "\"\xe2\x80\xa8\""),
    V("y_string_del", "\"\x7f\""),
    V("y_string_escaped_slash", "\"\\/\""),
    V("y_array_numbers", "[1,2,3]"),
    V("y_array_strings", "[\"a\",\"b\"]"),
    V("y_object_one", "{\"a\":1}"),
    V("y_object_nested", "{\"a\":{\"b\":[]}}"),
    V("y_object_duplicate_keys", "{\"a\":1,\"a\":2}"),
    V("y_object_empty_key", "{\"\":0}"),
    V("y_object_deep_mix", "{\"k\":[{\"x\":null}]}"),
    V("y_whitespace_around", " [ ] "),
    V("y_whitespace_all_four", "\t\n\r [\n1 ,\t2\r]\r\n"),
    V("y_whitespace_in_object", "{ \"a\" : 1 , \"b\" : [ ] }"),
    V("y_array_negative", "[ -1 ]"),
    V("y_depth_32",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
};

static const vec_t reject[] = {
    V("n_empty", ""),
    V("n_only_whitespace", "  "),
    V("n_array_open", "["),
    V("n_array_close", "]"),
    V("n_array_trailing_comma", "[1,]"),
    V("n_array_leading_comma", "[,1]"),
    V("n_array_double_comma", "[1,,2]"),
    V("n_array_no_comma", "[1 2]"),
    V("n_array_extra_close", "[1]]"),
    V("n_object_comma_only", "{,}"),
    V("n_object_key_only", "{\"a\"}"),
    V("n_object_no_value", "{\"a\":}"),
    V("n_object_no_colon", "{\"a\" 1}"),
    V("n_object_number_key", "{1:2}"),
    V("n_object_trailing_comma", "{\"a\":1,}"),
    V("n_object_extra_close", "{}}"),
    V("n_single_quotes_key", "{'a':1}"),
    V("n_single_quotes", "['a']"),
    V("n_string_unterminated", "\"abc"),
    V("n_string_bad_escape", "\"\\x\""),
    V("n_string_escape_at_end", "\"\\"),
    V("n_string_u_truncated", "\"\\u12\""),
    V("n_string_u_empty", "\"\\u\""),
    V("n_string_u_not_hex", "\"\\u12G4\""),
    V("n_string_lone_high", "\"\\uD800\""),
    V("n_string_lone_low", "\"\\uDC00\""),
    V("n_string_high_then_bmp", "\"\\uD800\\u0041\""),
    V("n_string_high_then_char", "\"\\uD800x\""),
    V("n_string_two_highs", "\"\\uD800\\uD800\""),
    V("n_string_control", "\"\x01\""),
    V("n_string_raw_tab", "\"\t\""),
    V("n_string_raw_newline", "\"a\nb\""),
    V("n_string_raw_nul", "\"\0\""),
    V("n_utf8_overlong_2", "\"\xc0\x80\""),
    V("n_utf8_overlong_c1", "\"\xc1\xbf\""),
    V("n_utf8_overlong_3", "\"\xe0\x80\x80\""),
    V("n_utf8_overlong_4", "\"\xf0\x80\x80\x80\""),
    V("n_utf8_surrogate", "\"\xed\xa0\x80\""),
    V("n_utf8_over_10FFFF", "\"\xf4\x90\x80\x80\""),
    V("n_utf8_f5", "\"\xf5\x80\x80\x80\""),
    V("n_utf8_lone_continuation", "\"\x80\""),
    V("n_utf8_truncated", "\"\xe2\x82\""),
    V("n_utf8_ff", "\"\xff\""),
    V("n_number_leading_zero", "01"),
    V("n_number_minus_only", "-"),
    V("n_number_minus_leading_zero", "-01"),
    V("n_number_dot_end", "1."),
    V("n_number_dot_start", ".1"),
    V("n_number_exp_empty", "1e"),
    V("n_number_exp_sign_only", "1e+"),
    V("n_number_plus", "+1"),
    V("n_number_hex", "0x10"),
    V("n_number_dot_exp", "[1.e1]"),
    V("n_number_minus_in_array", "[-]"),
    V("n_number_infinity", "Infinity"),
    V("n_number_minus_infinity", "-Infinity"),
    V("n_number_nan", "NaN"),
    V("n_literal_truncated", "tru"),
    V("n_literal_null_truncated", "nul"),
    V("n_literal_capital", "True"),
    V("n_literal_longer", "truex"),
    V("n_trailing_garbage", "[1] x"),
    V("n_two_values", "1 2"),
    V("n_two_strings", "\"a\" \"b\""),
    V("n_trailing_nul", "1\0"),
    V("n_comment", "/* */ 1"),
    V("n_form_feed_whitespace", "[\f]"),
    V("n_nbsp_whitespace", "\xc2\xa0[]"),
    V("n_bom", "\xef\xbb\xbf[]"),
    V("n_depth_33",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
};

/* src copied to the very end of a heap block: a read past len is an ASan
 * report. */
static int parse_at_end(json_doc_t *doc, const char *src, size_t len,
                        json_tok_t *toks, size_t cap, json_error_t *err)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return -2;
    char *at = copy + (len ? 0 : 1);
    memcpy(at, src, len);
    int r = json_parse(doc, at, len, toks, cap, err);
    free(copy);
    return r;
}

static void test_accept(void)
{
    json_tok_t toks[128];
    json_doc_t doc;
    json_error_t err;

    for (size_t i = 0; i < sizeof accept / sizeof accept[0]; i++) {
        const vec_t *v = &accept[i];
        if (parse_at_end(&doc, v->text, v->len, toks, 128, &err) != 0)
            fail(__LINE__, "%s refused at %zu: %s", v->name, err.offset,
                 err.what);
    }
}

static void test_reject(void)
{
    json_tok_t toks[128];
    json_doc_t doc;
    json_error_t err;

    for (size_t i = 0; i < sizeof reject / sizeof reject[0]; i++) {
        const vec_t *v = &reject[i];
        err.what = NULL;
        if (parse_at_end(&doc, v->text, v->len, toks, 128, &err) != -1)
            fail(__LINE__, "%s accepted", v->name);
        else if (!err.what || err.offset > v->len)
            fail(__LINE__, "%s: no reason, or offset %zu past the end",
                 v->name, err.offset);
    }
}

/* Where and why, for a few: the offset is the byte that broke the rule. */
static void test_error_position(void)
{
    static const struct {
        const char *text;
        size_t offset;
        const char *what;
    } cases[] = {
        {"[1,]", 3, "unexpected character"},
        {"{\"a\" 1}", 5, "expected ':'"},
        {"[1] x", 4, "trailing characters after the value"},
        {"\"ab", 0, "unterminated string"},
        {"[\"\\uDC00\"]", 2, "lone low surrogate"},
        {"\"a\x01\"", 2, "control character in string"},
        {"[1.]", 3, "bad number fraction"},
        {"", 0, "unexpected end of text"},
    };
    json_tok_t toks[16];
    json_doc_t doc;
    json_error_t err;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ(json_parse(&doc, cases[i].text, strlen(cases[i].text), toks,
                            16, &err),
                 -1);
        CHECK_EQ(err.offset, cases[i].offset);
        if (strcmp(err.what, cases[i].what) != 0)
            fail(__LINE__, "%s: \"%s\", expected \"%s\"", cases[i].text,
                 err.what, cases[i].what);
    }
    /* Token storage: exactly enough, and one short. */
    const char *t = "[1,[2],{\"a\":3}]"; /* 7 tokens */
    CHECK_EQ(json_parse(&doc, t, strlen(t), toks, 7, NULL), 0);
    CHECK_EQ(doc.ntok, 7);
    CHECK_EQ(json_parse(&doc, t, strlen(t), toks, 6, &err), -1);
    CHECK(strcmp(err.what, "too many tokens") == 0);
    CHECK_EQ(json_parse(&doc, "1", 1, toks, 0, &err), -1);
}

static void test_truncations(void)
{
    static const char *docs[] = {
        "{\"a\":[1,2.5e3,\"x\\u00e9\\uD834\\uDD1E\"],\"b\":{\"c\":null,"
        "\"d\":true,\"e\":false}}",
        "[-0.5E-7,\"\xf0\x9f\x98\x80\\n\",{},[[]],\"\\\"\"]",
        "{\"type\":\"msg\",\"to\":\"bob\",\"text\":\"h\xc3\xa9llo\",\"id\":"
        "\"42\"}",
        "\"\\ud83d\\ude00 tail\"",
    };
    json_tok_t toks[64];
    json_doc_t doc;

    for (size_t d = 0; d < sizeof docs / sizeof docs[0]; d++) {
        size_t n = strlen(docs[d]);
        CHECK_EQ(parse_at_end(&doc, docs[d], n, toks, 64, NULL), 0);
        for (size_t k = 0; k < n; k++)
            if (parse_at_end(&doc, docs[d], k, toks, 64, NULL) != -1)
                fail(__LINE__, "document %zu: prefix of %zu bytes accepted",
                     d, k);
    }
}

static const char lookup_doc[] =
    "{\"name\":\"al\\u0069ce\",\"n\":42,\"min\":-9223372036854775808,"
    "\"max\":9223372036854775807,\"over\":9223372036854775808,"
    "\"under\":-9223372036854775809,\"z\":-0,\"e\":1e2,\"f\":1.0,"
    "\"t\":true,\"no\":false,\"nil\":null,"
    "\"arr\":[1,[2,3],{\"x\":4},5],\"dup\":1,\"dup\":2,"
    "\"k\\u00e9y\":\"v\",\"esc\":\"a\\\"b\\\\c\\nd\\u0000e\\uD834\\uDD1E\"}";

static void test_lookups(void)
{
    json_tok_t toks[64];
    json_doc_t doc;
    char buf[64];
    size_t len;
    int64_t v;
    int b;

    CHECK_EQ(json_parse(&doc, lookup_doc, sizeof lookup_doc - 1, toks, 64,
                        NULL),
             0);
    CHECK_EQ(json_type(&doc, 0), JSON_OBJECT);
    CHECK_EQ(doc.tok[0].count, 17);
    CHECK_EQ(doc.tok[0].end, doc.ntok);
    CHECK_EQ(doc.ntok, 43);

    int name = json_find(&doc, 0, "name");
    CHECK_EQ(json_type(&doc, name), JSON_STRING);
    CHECK(json_string_eq(&doc, name, "alice"));
    CHECK(!json_string_eq(&doc, name, "alic"));
    CHECK(!json_string_eq(&doc, name, "alicee"));
    CHECK_EQ(json_string(&doc, name, buf, sizeof buf, &len), 0);
    CHECK_BYTES(buf, len + 1, "alice", 6);
    /* Too small: -2, a NUL-terminated prefix, the full length. */
    CHECK_EQ(json_string(&doc, name, buf, 5, &len), -2);
    CHECK_BYTES(buf, strlen(buf), "alic", 4);
    CHECK_EQ(len, 5);
    CHECK_EQ(json_string(&doc, name, buf, 6, &len), 0);
    CHECK_EQ(json_string(&doc, json_find(&doc, 0, "n"), buf, 8, &len), -1);

    CHECK_EQ(json_find(&doc, 0, "missing"), -1);
    CHECK_EQ(json_find(&doc, 0, "nam"), -1);
    CHECK_EQ(json_find(&doc, name, "x"), -1);  /* not an object */
    CHECK_EQ(json_find(&doc, 999, "x"), -1);   /* out of range */
    CHECK_EQ(json_find(&doc, -1, "x"), -1);
    CHECK_EQ(json_type(&doc, 999), JSON_NULL);
    CHECK_EQ(json_type(&doc, -1), JSON_NULL);

    /* The first of duplicate keys; a key written with an escape. */
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "dup"), &v), 0);
    CHECK_EQ(v, 1);
    CHECK(json_string_eq(&doc, json_find(&doc, 0, "k\xc3\xa9y"), "v"));

    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "n"), &v), 0);
    CHECK_EQ(v, 42);
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "min"), &v), 0);
    CHECK(v == INT64_MIN);
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "max"), &v), 0);
    CHECK(v == INT64_MAX);
    v = 7;
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "over"), &v), -1);
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "under"), &v), -1);
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "e"), &v), -1);
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "f"), &v), -1);
    CHECK_EQ(json_int64(&doc, name, &v), -1);
    CHECK_EQ(v, 7); /* untouched on failure */
    CHECK_EQ(json_int64(&doc, json_find(&doc, 0, "z"), &v), 0);
    CHECK_EQ(v, 0);

    CHECK_EQ(json_bool(&doc, json_find(&doc, 0, "t"), &b), 0);
    CHECK_EQ(b, 1);
    CHECK_EQ(json_bool(&doc, json_find(&doc, 0, "no"), &b), 0);
    CHECK_EQ(b, 0);
    CHECK_EQ(json_bool(&doc, json_find(&doc, 0, "nil"), &b), -1);
    CHECK_EQ(json_type(&doc, json_find(&doc, 0, "nil")), JSON_NULL);

    int arr = json_find(&doc, 0, "arr");
    CHECK_EQ(json_type(&doc, arr), JSON_ARRAY);
    CHECK_EQ(doc.tok[arr].count, 4);
    CHECK_EQ(json_type(&doc, json_index(&doc, arr, 0)), JSON_NUMBER);
    int inner = json_index(&doc, arr, 1);
    CHECK_EQ(json_type(&doc, inner), JSON_ARRAY);
    CHECK_EQ(json_int64(&doc, json_index(&doc, inner, 1), &v), 0);
    CHECK_EQ(v, 3);
    int obj = json_index(&doc, arr, 2);
    CHECK_EQ(json_int64(&doc, json_find(&doc, obj, "x"), &v), 0);
    CHECK_EQ(v, 4);
    CHECK_EQ(json_int64(&doc, json_index(&doc, arr, 3), &v), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(json_index(&doc, arr, 4), -1);
    CHECK_EQ(json_index(&doc, 0, 0), -1); /* an object is not an array */
    CHECK_EQ(json_index(&doc, name, 0), -1);
    CHECK_BYTES(doc.src + doc.tok[arr].start, doc.tok[arr].len,
                "[1,[2,3],{\"x\":4},5]", 19);

    /* Every escape decoded; the NUL inside is kept. */
    int esc = json_find(&doc, 0, "esc");
    CHECK(doc.tok[esc].escaped);
    CHECK(!doc.tok[name - 1].escaped);
    CHECK_EQ(json_string(&doc, esc, buf, sizeof buf, &len), 0);
    CHECK_BYTES(buf, len, "a\"b\\c\nd\0e\xf0\x9d\x84\x9e", 13);
    /* Whole characters only: the 4-byte one does not fit in 12. */
    CHECK_EQ(json_string(&doc, esc, buf, 12, &len), -2);
    CHECK_EQ(len, 13);
    CHECK_BYTES(buf, 10, "a\"b\\c\nd\0e\0", 10);
}

/* A writer's whole output, compared with want. */
static void check_output(int line, json_writer_t *w, const char *want)
{
    long n = json_writer_end(w);
    if (n < 0) {
        fail(line, "json_writer_end: -1 (error %d, depth %u)", w->error,
             w->depth);
        return;
    }
    check_bytes(line, w->buf, (size_t)n, want, strlen(want));
    if ((size_t)n < w->cap && w->buf[n] != '\0')
        fail(line, "no NUL after the text");
}

static const char writer_want[] =
    "{\"type\":\"msg\",\"n\":-9223372036854775808,\"max\":"
    "9223372036854775807,\"zero\":0,\"ok\":true,\"no\":false,"
    "\"arr\":[1,\"x\",null,{},[],[[]],{\"raw\":[1, 2]}],"
    "\"s\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f"
    "\\u2028\\u2029\xe2\x80\xa7\xc3\xa9\xf0\x9f\x98\x80\","
    "\"k\\\"ey\":null}";

static void write_sample(json_writer_t *w)
{
    static const char s[] = "q\"b\\s/\b\f\n\r\t\0\x01\x1f\x7f"
                            "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xa7\xc3\xa9"
                            "\xf0\x9f\x98\x80";
    json_object_begin(w);
    json_member_str(w, "type", "msg");
    json_member_int(w, "n", INT64_MIN);
    json_member_int(w, "max", INT64_MAX);
    json_member_int(w, "zero", 0);
    json_member_bool(w, "ok", 1);
    json_member_bool(w, "no", 0);
    json_key(w, "arr");
    json_array_begin(w);
    json_int(w, 1);
    json_cstring(w, "x");
    json_null(w);
    json_object_begin(w);
    json_object_end(w);
    json_array_begin(w);
    json_array_end(w);
    json_array_begin(w);
    json_array_begin(w);
    json_array_end(w);
    json_array_end(w);
    json_object_begin(w);
    json_key(w, "raw");
    json_raw(w, "[1, 2]", 6);
    json_object_end(w);
    json_array_end(w);
    json_key(w, "s");
    json_string_value(w, s, sizeof s - 1);
    json_key(w, "k\"ey");
    json_null(w);
    json_object_end(w);
}

static void test_writer_bytes(void)
{
    char buf[512];
    json_writer_t w;
    json_tok_t toks[32];
    json_doc_t doc;
    size_t len;

    json_writer_init(&w, buf, sizeof buf);
    write_sample(&w);
    check_output(__LINE__, &w, writer_want);

    /* What it wrote reads back to the same string. */
    CHECK_EQ(json_parse(&doc, buf, strlen(buf), toks, 32, NULL), 0);
    char back[64];
    CHECK_EQ(json_string(&doc, json_find(&doc, 0, "s"), back, sizeof back,
                         &len),
             0);
    CHECK_BYTES(back, len,
                "q\"b\\s/\b\f\n\r\t\0\x01\x1f\x7f\xe2\x80\xa8\xe2\x80\xa9"
                "\xe2\x80\xa7\xc3\xa9\xf0\x9f\x98\x80",
                30);

    /* Top-level scalars. */
    json_writer_init(&w, buf, sizeof buf);
    json_cstring(&w, "");
    check_output(__LINE__, &w, "\"\"");
    json_writer_init(&w, buf, sizeof buf);
    json_int(&w, -7);
    check_output(__LINE__, &w, "-7");
}

/* Every capacity short of the text latches an overflow; the exact one
 * fits (without its NUL). */
static void test_writer_overflow(void)
{
    size_t need = sizeof writer_want - 1;
    char *buf = malloc(need + 1);
    json_writer_t w;

    if (!buf)
        return;
    for (size_t cap = 0; cap <= need + 1; cap++) {
        json_writer_init(&w, buf, cap);
        write_sample(&w);
        long n = json_writer_end(&w);
        if (cap < need && (n != -1 || w.error == 0 || w.len > cap))
            fail(__LINE__, "cap %zu: %ld, error %d, len %zu", cap, n,
                 w.error, w.len);
        if (cap >= need && n != (long)need)
            fail(__LINE__, "cap %zu: %ld, expected %zu", cap, n, need);
    }
    CHECK_BYTES(buf, need, writer_want, need);
    free(buf);
}

typedef void (*misuse_fn)(json_writer_t *w);

static void m_value_for_key(json_writer_t *w)
{
    json_object_begin(w);
    json_int(w, 1);
    json_object_end(w);
}

static void m_key_in_array(json_writer_t *w)
{
    json_array_begin(w);
    json_key(w, "a");
    json_int(w, 1);
    json_array_end(w);
}

static void m_key_at_top(json_writer_t *w)
{
    json_key(w, "a");
    json_int(w, 1);
}

static void m_key_twice(json_writer_t *w)
{
    json_object_begin(w);
    json_key(w, "a");
    json_key(w, "b");
    json_int(w, 1);
    json_object_end(w);
}

static void m_key_without_value(json_writer_t *w)
{
    json_object_begin(w);
    json_key(w, "a");
    json_object_end(w);
}

static void m_wrong_close(json_writer_t *w)
{
    json_array_begin(w);
    json_object_end(w);
}

static void m_close_nothing(json_writer_t *w)
{
    json_array_end(w);
}

static void m_two_top_values(json_writer_t *w)
{
    json_int(w, 1);
    json_int(w, 2);
}

static void m_unclosed(json_writer_t *w)
{
    json_object_begin(w);
    json_member_int(w, "a", 1);
}

static void m_bad_utf8(json_writer_t *w)
{
    json_array_begin(w);
    json_string_value(w, "\xc0\x80", 2);
    json_array_end(w);
}

static void m_bad_utf8_key(json_writer_t *w)
{
    json_object_begin(w);
    json_member_int(w, "\xed\xa0\x80", 1);
    json_object_end(w);
}

static void m_too_deep(json_writer_t *w)
{
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        json_array_begin(w);
    for (int i = 0; i <= JSON_MAX_DEPTH; i++)
        json_array_end(w);
}

static void m_empty_raw(json_writer_t *w)
{
    json_array_begin(w);
    json_raw(w, "", 0);
    json_array_end(w);
}

static void m_nothing(json_writer_t *w)
{
    (void)w;
}

static void test_writer_misuse(void)
{
    static const misuse_fn fns[] = {
        m_value_for_key,  m_key_in_array,  m_key_at_top,
        m_key_twice,      m_key_without_value, m_wrong_close,
        m_close_nothing,  m_two_top_values, m_unclosed,
        m_bad_utf8,       m_bad_utf8_key,  m_too_deep,
        m_empty_raw,      m_nothing,
    };
    char buf[256];
    json_writer_t w;

    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        json_writer_init(&w, buf, sizeof buf);
        fns[i](&w);
        if (json_writer_end(&w) != -1)
            fail(__LINE__, "misuse %zu: accepted as \"%.*s\"", i,
                 (int)w.len, buf);
    }
    /* Latched: nothing more is written after the first misuse. */
    json_writer_init(&w, buf, sizeof buf);
    json_array_begin(&w);
    json_key(&w, "a");
    size_t at = w.len;
    json_int(&w, 1);
    json_array_end(&w);
    CHECK_EQ(w.len, at);
    CHECK(w.error != 0);
    /* 32 levels is the limit, and allowed. */
    json_writer_init(&w, buf, sizeof buf);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_array_begin(&w);
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        json_array_end(&w);
    CHECK_EQ(json_writer_end(&w), 2 * JSON_MAX_DEPTH);
}

static const unit_test_t tests[] = {
    {"json: y_ vectors parse", test_accept},
    {"json: n_ vectors are refused with a reason", test_reject},
    {"json: error offsets and reasons, token storage", test_error_position},
    {"json: every truncation refused, no overread", test_truncations},
    {"json: find, index, string, int64, bool", test_lookups},
    {"json: writer's exact bytes and escapes", test_writer_bytes},
    {"json: writer overflow at every capacity", test_writer_overflow},
    {"json: writer misuse latches", test_writer_misuse},
};

int main(void)
{
    printf("%zu y_ and %zu n_ vectors\n", sizeof accept / sizeof accept[0],
           sizeof reject / sizeof reject[0]);
    return unit_run(tests, sizeof tests / sizeof tests[0]);
}
