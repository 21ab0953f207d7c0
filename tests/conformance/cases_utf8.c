/*
 * cases_utf8.c — UTF-8 in text messages (Autobahn 6.x; RFC 6455 §8.1,
 * RFC 3629 §4). Vectors after Markus Kuhn's UTF-8 decoder stress test.
 */
#include "suite.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct vec {
    const char *name;
    const char *bytes;
    size_t len;
} vec_t;

#define V(name, lit)                                                           \
    {                                                                          \
        name, lit, sizeof lit - 1                                              \
    }

/* Well-formed: every one must be echoed byte for byte (noncharacters
 * included: they are valid UTF-8, RFC 3629 does not exclude them). */
static const vec_t valid[] = {
    V("Latin-1 text", "Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0"
                      "\xc3\xa1-UTF-8!!"),
    V("Greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
    V("CJK", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
    V("U+0000", "a\x00z"),
    V("U+007F (last 1-byte)", "\x7f"),
    V("U+0080 (first 2-byte)", "\xc2\x80"),
    V("U+07FF (last 2-byte)", "\xdf\xbf"),
    V("U+0800 (first 3-byte)", "\xe0\xa0\x80"),
    V("U+D7FF (before surrogates)", "\xed\x9f\xbf"),
    V("U+E000 (after surrogates)", "\xee\x80\x80"),
    V("U+FDD0 noncharacter", "\xef\xb7\x90"),
    V("U+FDEF noncharacter", "\xef\xb7\xaf"),
    V("U+FEFF BOM", "\xef\xbb\xbfx"),
    V("U+FFFD", "\xef\xbf\xbd"),
    V("U+FFFE noncharacter", "\xef\xbf\xbe"),
    V("U+FFFF noncharacter", "\xef\xbf\xbf"),
    V("U+10000 (first 4-byte)", "\xf0\x90\x80\x80"),
    V("U+1F600 emoji", "\xf0\x9f\x98\x80"),
    V("U+1FFFE noncharacter", "\xf0\x9f\xbf\xbe"),
    V("U+10FFFE noncharacter", "\xf4\x8f\xbf\xbe"),
    V("U+10FFFF (last code point)", "\xf4\x8f\xbf\xbf"),
    V("1-, 2-, 3-, 4-byte mix", "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"),
    V("4-byte run", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81\xf0\x9f\x98\x82"
                    "\xf0\x9f\x98\x83\xf4\x8f\xbf\xbf\xf0\x90\x80\x80"),
};

/* Ill-formed: each must fail the connection with 1007. */
static const vec_t invalid[] = {
    V("overlong '/' in 2 bytes", "\xc0\xaf"),
    V("overlong '/' in 3 bytes", "\xe0\x80\xaf"),
    V("overlong '/' in 4 bytes", "\xf0\x80\x80\xaf"),
    V("overlong U+007F max 2-byte", "\xc1\xbf"),
    V("overlong U+07FF max 3-byte", "\xe0\x9f\xbf"),
    V("overlong U+FFFF max 4-byte", "\xf0\x8f\xbf\xbf"),
    V("overlong NUL 2 bytes", "\xc0\x80"),
    V("overlong NUL 3 bytes", "\xe0\x80\x80"),
    V("5-byte sequence", "\xf8\x88\x80\x80\x80"),
    V("6-byte sequence", "\xfc\x84\x80\x80\x80\x80"),
    V("surrogate U+D800", "\xed\xa0\x80"),
    V("surrogate U+DB7F", "\xed\xad\xbf"),
    V("surrogate U+DB80", "\xed\xae\x80"),
    V("surrogate U+DBFF", "\xed\xaf\xbf"),
    V("surrogate U+DC00", "\xed\xb0\x80"),
    V("surrogate U+DF80", "\xed\xbe\x80"),
    V("surrogate U+DFFF", "\xed\xbf\xbf"),
    V("surrogate pair D800 DC00", "\xed\xa0\x80\xed\xb0\x80"),
    V("surrogate pair DBFF DFFF", "\xed\xaf\xbf\xed\xbf\xbf"),
    V("U+110000", "\xf4\x90\x80\x80"),
    V("U+1FFFFF", "\xf7\xbf\xbf\xbf"),
    V("F5 lead byte", "\xf5\x80\x80\x80"),
    V("truncated 2-byte at end", "a\xc2"),
    V("truncated 3-byte at end", "a\xe2\x82"),
    V("truncated 4-byte at end", "a\xf0\x9f\x98"),
    V("lone 4-byte lead at end", "edited\xf0"),
    V("stray continuation 80", "\x80"),
    V("stray continuation BF", "a\xbfz"),
    V("continuation run", "\x80\xbf\x80\xbf"),
    V("2-byte lead then space", "\xc2 z"),
    V("3-byte lead, 1 continuation, space", "\xe0\xa0 z"),
    V("byte FE", "\xfe"),
    V("byte FF", "a\xffz"),
    V("FE FE FF FF", "\xfe\xfe\xff\xff"),
    V("C0 alone", "Hello\xc0world"),
    V("kosme + surrogate + edited",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"
      "edited"),
    V("kosme + U+110000 + edited",
      "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"
      "edited"),
};

enum { MODE_FRAME, MODE_FRAGMENTS, MODE_WRITES, MODE_COUNT };
static const char *const mode_names[MODE_COUNT] = {
    "one frame", "1-byte fragments", "1-byte writes"};

/* --stream echoes each slice as it is validated, so the valid prefix of
 * a message may come back (as unfinished fragments) before the 1007. */
static int skip_partial_echo(peer_t *t, const tcase_t *k)
{
    while (k->srv == SRV_STREAM && need(t, 2) > 0) {
        const uint8_t *h = rxp(t);
        if ((h[0] & 0x80) || (h[0] & 0x0F) > 1)
            break;
        frame_t f;
        if (recv_frame(t, &f) < 0)
            return -1;
        frame_free(&f);
    }
    return 0;
}

/* data/len = the text, a = mode, b = 1 valid (echo) / 0 invalid (1007). */
static int c_utf8(peer_t *t, const tcase_t *k)
{
    buf_t out = {0};
    if (k->a == MODE_FRAGMENTS) {
        for (size_t i = 0; i < k->len; i++)
            cframe(&out, i + 1 == k->len, i ? 0 : 1, k->data + i, 1);
    } else {
        cframe(&out, 1, 1, k->data, k->len);
    }
    int r = open_ws(t) || send_chopped(t, &out, k->a == MODE_WRITES ? 1 : 0) ||
            (k->b ? expect_echo(t, k, 1, k->data, k->len)
                  : skip_partial_echo(t, k) || expect_close(t, 1007));
    buf_free(&out);
    return r ? -1 : 0;
}

/* A long text (b bytes of 2-, 3- and 4-byte characters) in fragments
 * of a bytes, cutting characters anywhere. */
static int c_utf8_long(peer_t *t, const tcase_t *k)
{
    static const char unit[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
                               "\xce\xba\xe6\x97\xa5";
    size_t n = (size_t)k->b, u = sizeof unit - 1;
    n -= n % u;
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)unit[i % u];
    buf_t out = {0};
    size_t piece = (size_t)k->a;
    for (size_t off = 0; off < n; off += piece) {
        size_t m = n - off < piece ? n - off : piece;
        cframe(&out, off + m == n, off ? 0 : 1, p + off, m);
    }
    int r = open_ws(t) || send_buf(t, &out) || expect_echo(t, k, 1, p, n);
    free(p);
    buf_free(&out);
    return r ? -1 : 0;
}

/* Fail fast (Autobahn 6.4): the server must answer 1007 as soon as the
 * bytes it has can no longer be valid, without the rest of the message.
 * The message is never completed, so any answer proves it. */
enum {
    FF_FIRST_FRAGMENT,  /* text (no FIN) with kosme + F4 90 80 80 */
    FF_SECOND_FRAGMENT, /* valid, then continuation with ED A0 80 */
    FF_SPLIT_CODEPOINT, /* kosme + F4 | 90 | (never) 80 80 edited */
    FF_INSIDE_FRAME,    /* 1 MiB frame announced, 20 bytes sent */
    FF_FIRST_BYTE,      /* text (no FIN) starting with 0xFF */
    FF_TRUNCATED_FINAL, /* F0 9F at the end of a final fragment */
    FF_COUNT
};
static const char *const ff_names[FF_COUNT] = {
    "first fragment invalid, message never finished -> 1007",
    "second fragment invalid, message never finished -> 1007",
    "code point split across fragments turns invalid -> 1007",
    "invalid inside an unfinished 1 MiB frame -> 1007",
    "unfinished fragment starting with FF -> 1007",
    "final fragment ends inside a character -> 1007",
};

static int c_fail_fast(peer_t *t, const tcase_t *k)
{
    static const char kosme[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    buf_t out = {0};
    int r = open_ws(t);
    switch (k->a) {
    case FF_FIRST_FRAGMENT:
        cframe(&out, 0, 1,
               "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
               "\xf4\x90\x80\x80"
               "edited",
               21);
        break;
    case FF_SECOND_FRAGMENT:
        cframe(&out, 0, 1, "Hello", 5);
        cframe(&out, 0, 0, "\xed\xa0\x80", 3);
        break;
    case FF_SPLIT_CODEPOINT:
        cframe(&out, 0, 1, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4",
               12);
        r = r || send_buf(t, &out);
        out.len = 0;
        usleep(50000);
        cframe(&out, 0, 0, "\x90", 1);
        break;
    case FF_INSIDE_FRAME: {
        frame_spec_t s = {.fin = 1, .op = 1, .masked = 1, .announce = 1u << 20};
        char p[20];
        memcpy(p, kosme, 11);
        memcpy(p + 11,
               "\xff"
               "abcdefgh",
               9);
        frame_put(&out, &s, p, sizeof p);
        break;
    }
    case FF_FIRST_BYTE:
        cframe(&out, 0, 1,
               "\xff"
               "abc",
               4);
        break;
    case FF_TRUNCATED_FINAL:
        cframe(&out, 0, 1, "ab", 2);
        cframe(&out, 1, 0, "cd\xf0\x9f", 4);
        break;
    }
    r = r || send_buf(t, &out) || skip_partial_echo(t, k) ||
        expect_close(t, 1007);
    buf_free(&out);
    return r ? -1 : 0;
}

void register_utf8(void)
{
    const char *cat = "utf8";
    for (int m = 0; m < MODE_COUNT; m++)
        for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
            add_case(cat, c_utf8, m, 1, 0, valid[i].bytes, valid[i].len,
                     "valid %s, %s -> echo", valid[i].name, mode_names[m]);
    for (int m = 0; m < MODE_COUNT; m++)
        for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
            add_case(cat, c_utf8, m, 0, 0, invalid[i].bytes, invalid[i].len,
                     "invalid %s, %s -> 1007", invalid[i].name, mode_names[m]);
    add_case(cat, c_utf8_long, 7, 700, 0, NULL, 0,
             "700 bytes of multi-byte text in 7-byte fragments");
    add_case(cat, c_utf8_long, 65536, 300000, 0, NULL, 0,
             "300 KB of multi-byte text in 64 KiB fragments");
    for (int i = 0; i < FF_COUNT; i++)
        add_case(cat, c_fail_fast, i, 0, 0, NULL, 0, "fail fast: %s",
                 ff_names[i])
            ->timeout_ms = 2000;
    /* --stream hands text out in slices that may end inside a character. */
    for (size_t i = 17; i < sizeof valid / sizeof valid[0]; i++)
        add_case(cat, c_utf8, MODE_WRITES, 1, 0, valid[i].bytes, valid[i].len,
                 "--stream: valid %s, 1-byte writes -> echo", valid[i].name)
            ->srv = SRV_STREAM;
    add_case(cat, c_utf8_long, 5, 1000, 0, NULL, 0,
             "--stream: 1000 bytes of multi-byte text, 5-byte fragments")
        ->srv = SRV_STREAM;
    for (size_t i = 10; i < 14; i++)
        add_case(cat, c_utf8, MODE_FRAGMENTS, 0, 0, invalid[i].bytes,
                 invalid[i].len, "--stream: invalid %s, 1-byte fragments",
                 invalid[i].name)
            ->srv = SRV_STREAM;
    add_case(cat, c_fail_fast, FF_FIRST_FRAGMENT, 0, 0, NULL, 0,
             "--stream: fail fast, first fragment invalid")
        ->srv = SRV_STREAM;
}
