/*
 * names.h — chat user names (PROTOCOL.md, "Names"): which strings are
 * names, and the case-folded key under which a name is unique.
 *
 * A name is 1-32 code points, each a letter or a decimal digit of any
 * script covered by names.c's table, '_' or '-'. Two names are the same
 * when their simple case foldings (Unicode CaseFolding.txt, status C and
 * S) are equal. Covered as letters: Latin (ASCII, Latin-1, Extended-A to C,
 * IPA, Extended Additional, fullwidth), Greek and Greek
 * Extended, Cyrillic and its supplement, Armenian, Georgian (Mkhedruli,
 * Asomtavruli, Mtavruli, Nuskhuri), Hebrew, Arabic, Devanagari, Thai,
 * Hangul (syllables, jamo, compatibility jamo, halfwidth), Hiragana,
 * Katakana (and halfwidth), Bopomofo, CJK unified ideographs (the BMP
 * blocks and Extensions B-F) and compatibility ideographs. Digits: ASCII,
 * Arabic-Indic, extended Arabic-Indic, Devanagari, Thai and fullwidth.
 * Combining marks are not letters (except the vowel signs of Devanagari
 * and Thai): names are not normalised, and a name spelled with a
 * combining accent is refused rather than being a second spelling of a
 * precomposed one.
 */
#ifndef CHAT_NAMES_H
#define CHAT_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define CHAT_NAME_CHARS 32
/* Bytes of a name or key in UTF-8, with its NUL. */
#define CHAT_NAME_MAX (CHAT_NAME_CHARS * 4 + 1)

/* Is cp a letter or a digit in the table? */
int chat_is_alnum(uint32_t cp);

/* cp's simple case folding (cp itself when it has none). */
uint32_t chat_fold(uint32_t cp);

/* Check name[0..len) (UTF-8) and write its key (the folded spelling,
 * NUL-terminated, at most CHAT_NAME_MAX bytes) to key. Returns NULL, or
 * why the name is refused ("empty", "longer than 32 characters",
 * "'.' is not a letter, digit, _ or -"): a static string, or one in
 * why (cap bytes) naming the character. */
const char *chat_name_check(const char *name, size_t len, char *key, char *why,
                            size_t cap);

/* Is key (from chat_name_check) one of the reserved names "server" and
 * "system"? */
int chat_name_reserved(const char *key);

/* Decode one UTF-8 code point from p[0..n) (valid UTF-8 assumed: text
 * from wsx and the JSON reader is checked); returns its length, 0 at the
 * end or on a bad byte. */
size_t chat_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);

#endif
