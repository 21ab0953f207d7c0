/*
 * harness.h — the unit-test harness: no framework, just counters.
 *
 * A suite is a function `void suite_<name>(void)` in tests/test_<name>.c;
 * the Makefile finds the files and generates the list the runner calls.
 * Each test file starts with `static const char th_suite_name[] = "<name>";`.
 * Inside a suite, each case is a `static void name(void)` run with
 * RUN(name). A case passes when none of its CHECKs failed. Failed checks
 * print the file, line, and expected and actual values (bytes in hex).
 */
#ifndef WS_TEST_HARNESS_H
#define WS_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

void th_case_begin(const char *suite, const char *name);
void th_case_end(void);
int th_check(int ok, const char *file, int line, const char *expr);
int th_check_int(long long got, long long want, const char *file, int line,
                 const char *expr);
int th_check_bytes(const void *got, size_t got_len, const void *want,
                   size_t want_len, const char *file, int line,
                   const char *expr);
int th_check_str(const char *got, const char *want, const char *file, int line,
                 const char *expr);

/* Print "   at: <fmt>" under the next failure of the current case, for
 * context such as the split point being tested. */
void th_note(const char *fmt, ...);

#define RUN(fn)                                                                \
    do {                                                                       \
        th_case_begin(th_suite_name, #fn);                                     \
        fn();                                                                  \
        th_case_end();                                                         \
    } while (0)

#define CHECK(cond) th_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_INT(got, want)                                                   \
    th_check_int((long long)(got), (long long)(want), __FILE__, __LINE__,      \
                 #got " == " #want)
#define CHECK_BYTES(got, got_len, want, want_len)                              \
    th_check_bytes((got), (got_len), (want), (want_len), __FILE__, __LINE__,   \
                   #got)
#define CHECK_STR(got, want)                                                   \
    th_check_str((got), (want), __FILE__, __LINE__, #got " == " #want)

/* Parse a hex string ("81 05 48 65", spaces ignored) into out; returns the
 * byte count. For writing RFC vectors as they are printed. */
size_t th_hex(const char *hex, uint8_t *out, size_t cap);

/* One frame into out: byte 0 as given (FIN, RSV, opcode), the minimal
 * length encoding, masked with the RFC 6455 §5.7 key 37 fa 21 3d when
 * `masked`. Returns its length. */
size_t th_frame(uint8_t *out, unsigned b0, int masked, const void *payload,
                size_t len);

#endif
