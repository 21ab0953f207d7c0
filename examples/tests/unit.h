/*
 * unit.h — what the examples' unit suites (wsxunit.c, jsonunit.c) share:
 * failure reports with the line, integer and byte comparisons that print
 * expected and actual values, and a runner that ends with
 * "N passed, N failed". Each suite is one translation unit.
 */
#ifndef WSX_TESTS_UNIT_H
#define WSX_TESTS_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

static int failures; /* in the current test */

static void fail(int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "  line %d: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    failures++;
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            fail(__LINE__, "%s", #cond);                                       \
    } while (0)

#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                    \
        if (a_ != b_)                                                          \
            fail(__LINE__, "%s == %s: %lld, expected %lld", #a, #b, a_, b_);   \
    } while (0)

/* Bytes compared exactly; the first difference is printed. */
static void check_bytes(int line, const void *got, size_t got_len,
                        const void *want, size_t want_len)
{
    const uint8_t *g = got, *w = want;
    size_t i = 0;

    while (i < got_len && i < want_len && g[i] == w[i])
        i++;
    if (i == got_len && i == want_len)
        return;
    fail(line,
         "bytes differ at %zu (got %zu bytes, expected %zu): "
         "got 0x%02x, expected 0x%02x",
         i, got_len, want_len, i < got_len ? g[i] : 0, i < want_len ? w[i] : 0);
}
#define CHECK_BYTES(g, gl, w, wl) check_bytes(__LINE__, g, gl, w, wl)

typedef struct unit_test {
    const char *name;
    void (*fn)(void);
} unit_test_t;

/* Run every test, print one line each and the totals; the exit status. */
static int unit_run(const unit_test_t *tests, size_t n)
{
    int passed = 0, failed = 0;

    for (size_t i = 0; i < n; i++) {
        failures = 0;
        tests[i].fn();
        printf("%s %s\n", failures ? "FAIL" : "ok  ", tests[i].name);
        if (failures)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif /* WSX_TESTS_UNIT_H */
