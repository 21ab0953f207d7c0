/* test_names.c — chat names (names.c): which strings are names, in every
 * covered script, why the others are not, and the case folding that
 * makes "Alice" and "ALICE" one name (CaseFolding.txt, C and S). */
#include "harness.h"
#include "names.h"

#include <stdio.h>
#include <string.h>

static const char th_suite_name[] = "chat_names";

static const char *check(const char *name, char *key)
{
    char why[96];
    static char copy[96];
    const char *r = chat_name_check(name, strlen(name), key, why, sizeof why);
    if (r == why) {
        snprintf(copy, sizeof copy, "%s", why);
        return copy;
    }
    return r;
}

/* name is a name and its key is want. */
static void expect_key(const char *name, const char *want)
{
    char key[CHAT_NAME_MAX];
    const char *why = check(name, key);
    if (why)
        th_note("%s refused: %s", name, why);
    CHECK(why == NULL);
    CHECK_STR(key, want);
}

static void same_name(const char *a, const char *b)
{
    char ka[CHAT_NAME_MAX], kb[CHAT_NAME_MAX];
    CHECK(check(a, ka) == NULL);
    CHECK(check(b, kb) == NULL);
    th_note("%s vs %s", a, b);
    CHECK_STR(ka, kb);
}

static void ascii(void)
{
    expect_key("alice", "alice");
    expect_key("Alice_B-2", "alice_b-2");
    expect_key("ZZ9", "zz9");
    expect_key("_", "_");
    expect_key("12345678901234567890123456789012", /* 32 characters */
               "12345678901234567890123456789012");
}

static void scripts(void)
{
    expect_key("Zoë", "zoë");
    expect_key("ÆØÅ", "æøå");
    expect_key("Łukasz", "łukasz");
    expect_key("ΣΩΚΡΑΤΗΣ", "σωκρατησ");
    expect_key("Ὀδυσσεύς", "ὀδυσσεύσ"); /* final sigma folds too */
    expect_key("Дмитрий", "дмитрий");
    expect_key("ЁЖИК", "ёжик");
    expect_key("Արամ", "արամ");
    expect_key("ნინო", "ნინო");
    expect_key("ᲜᲘᲜᲝ", "ნინო"); /* Mtavruli folds to Mkhedruli */
    expect_key("李小龍", "李小龍");
    expect_key("김민준", "김민준");
    expect_key("さくら", "さくら");
    expect_key("サクラ", "サクラ");
    expect_key("ｻｸﾗ", "ｻｸﾗ");
    expect_key("שרה", "שרה");
    expect_key("محمد٣", "محمد٣");
    expect_key("राम९", "राम९");
    expect_key("ＡＢＣ", "ａｂｃ");
    expect_key("𠀋𠀌", "𠀋𠀌"); /* Extension B, 4 bytes each */
}

static void folding(void)
{
    same_name("ALICE", "alice");
    same_name("ΣΊΣΥΦΟΣ", "σίσυφος");
    same_name("Σίσυφος", "σίσυφοσ"); /* final sigma folds to sigma */
    same_name("ǅemal", "ǆemal");     /* title case digraph */
    same_name("ǄEMAL", "ǆemal");
    same_name("ſam", "sam"); /* long s */
    same_name("Ÿves", "ÿves");
    same_name("ẞtraße", "ßtraße");
    same_name("ĲSSEL", "ĳssel");
    same_name("Ǝrik", "ǝrik");
    same_name("ȺȾ", "ⱥⱦ");
    same_name("Ⴀ", "ⴀ"); /* Asomtavruli to Nuskhuri */
    same_name("ӀӁ", "ӏӂ");
    same_name("µ", "μ"); /* micro sign is mu */
    CHECK_INT(chat_fold('A'), 'a');
    CHECK_INT(chat_fold('a'), 'a');
    CHECK_INT(chat_fold(0x0101), 0x0101); /* already lower */
    CHECK_INT(chat_fold(0x0100), 0x0101);
    CHECK_INT(chat_fold(0x0130), 0x0130); /* İ has only a full folding */
}

static void refused(void)
{
    char key[CHAT_NAME_MAX];
    CHECK_STR(check("", key), "empty");
    CHECK_STR(check("123456789012345678901234567890123", key),
              "longer than 32 characters");
    CHECK_STR(check("a b", key), "U+0020 is not a letter, digit, _ or -");
    CHECK_STR(check("al.ice", key),
              "'.' (U+002E) is not a letter, digit, _ or -");
    CHECK_STR(check("bob!", key),
              "'!' (U+0021) is not a letter, digit, _ or -");
    CHECK_STR(check("tab\there", key), "U+0009 is not a letter, digit, _ or -");
    CHECK(check("e\xcc\x81", key) != NULL);        /* combining acute */
    CHECK(check("\xf0\x9f\x98\x80", key) != NULL); /* an emoji */
    CHECK(check("a\xc2\xa0", key) != NULL);        /* no-break space */
    CHECK(check("×", key) != NULL);                /* U+00D7 is a symbol */
    CHECK(check("Привет!", key) != NULL);
    CHECK_STR(check("\xff", key), "not UTF-8");
    char nul[] = {'a', 0, 'b'};
    char why[96];
    CHECK(chat_name_check(nul, 3, key, why, sizeof why) != NULL);
}

static void reserved(void)
{
    char key[CHAT_NAME_MAX];
    CHECK(check("Server", key) == NULL);
    CHECK(chat_name_reserved(key));
    CHECK(check("SYSTEM", key) == NULL);
    CHECK(chat_name_reserved(key));
    CHECK(check("servers", key) == NULL);
    CHECK(!chat_name_reserved(key));
}

/* Every code point the tables call a letter must fold to one too (a
 * folding into a hole of the table would make a name unreachable). */
static void tables_agree(void)
{
    unsigned bad = 0;
    for (uint32_t cp = 0; cp < 0x30000; cp++)
        if (chat_is_alnum(cp) && !chat_is_alnum(chat_fold(cp)) && bad++ < 5)
            th_note("U+%04X folds to U+%04X, not in the table", (unsigned)cp,
                    (unsigned)chat_fold(cp));
    CHECK_INT(bad, 0);
    for (uint32_t cp = 0; cp < 0x30000; cp++)
        if (chat_fold(chat_fold(cp)) != chat_fold(cp) && bad++ < 5)
            th_note("folding U+%04X twice differs", (unsigned)cp);
    CHECK_INT(bad, 0);
}

void suite_chat_names(void);
void suite_chat_names(void)
{
    RUN(ascii);
    RUN(scripts);
    RUN(folding);
    RUN(refused);
    RUN(reserved);
    RUN(tables_agree);
}
