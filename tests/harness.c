/* harness.c — counters and failure printing for the unit tests. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int cases_passed, cases_failed;
static int case_failures;
static const char *cur_suite, *cur_case;
static char note_buf[256];

void th_case_begin(const char *suite, const char *name)
{
    cur_suite = suite;
    cur_case = name;
    case_failures = 0;
    note_buf[0] = '\0';
}

void th_case_end(void)
{
    if (case_failures)
        cases_failed++;
    else
        cases_passed++;
}

void th_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note_buf, sizeof note_buf, fmt, ap);
    va_end(ap);
}

static void fail_header(const char *file, int line, const char *expr)
{
    /* Only the first few failures of a case are worth reading. */
    case_failures++;
    if (case_failures > 5)
        return;
    fprintf(stderr, "FAIL %s/%s  %s:%d  %s\n", cur_suite, cur_case, file, line,
            expr);
    if (note_buf[0])
        fprintf(stderr, "   at: %s\n", note_buf);
}

int th_check(int ok, const char *file, int line, const char *expr)
{
    if (!ok)
        fail_header(file, line, expr);
    return ok;
}

int th_check_int(long long got, long long want, const char *file, int line,
                 const char *expr)
{
    if (got == want)
        return 1;
    fail_header(file, line, expr);
    if (case_failures <= 5)
        fprintf(stderr, "   want %lld, got %lld\n", want, got);
    return 0;
}

static void print_hex(const char *label, const void *p, size_t len)
{
    const uint8_t *b = p;
    size_t shown = len < 64 ? len : 64;
    fprintf(stderr, "   %s (%zu):", label, len);
    for (size_t i = 0; i < shown; i++)
        fprintf(stderr, " %02x", b[i]);
    fprintf(stderr, "%s\n", shown < len ? " ..." : "");
}

int th_check_bytes(const void *got, size_t got_len, const void *want,
                   size_t want_len, const char *file, int line,
                   const char *expr)
{
    if (got_len == want_len &&
        (want_len == 0 || memcmp(got, want, want_len) == 0))
        return 1;
    fail_header(file, line, expr);
    if (case_failures <= 5) {
        print_hex("want", want, want_len);
        print_hex("got ", got, got_len);
    }
    return 0;
}

int th_check_str(const char *got, const char *want, const char *file, int line,
                 const char *expr)
{
    if (got && want && strcmp(got, want) == 0)
        return 1;
    fail_header(file, line, expr);
    if (case_failures <= 5)
        fprintf(stderr, "   want \"%s\"\n   got  \"%s\"\n",
                want ? want : "(null)", got ? got : "(null)");
    return 0;
}

size_t th_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        int v;
        if (*hex >= '0' && *hex <= '9')
            v = *hex - '0';
        else if (*hex >= 'a' && *hex <= 'f')
            v = *hex - 'a' + 10;
        else if (*hex >= 'A' && *hex <= 'F')
            v = *hex - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            if (n < cap)
                out[n] = (uint8_t)(hi << 4 | v);
            n++;
            hi = -1;
        }
    }
    return n;
}

size_t th_frame(uint8_t *out, unsigned b0, int masked, const void *payload,
                size_t len)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d}; /* §5.7 */
    const uint8_t *p = payload;
    size_t n = 0;
    out[n++] = (uint8_t)b0;
    uint8_t m = masked ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(m | len);
    } else if (len < 65536) {
        out[n++] = m | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    if (masked) {
        memcpy(out + n, key, 4);
        n += 4;
    }
    for (size_t i = 0; i < len; i++)
        out[n + i] = masked ? (uint8_t)(p[i] ^ key[i % 4]) : p[i];
    return n + len;
}

/* The runner: the generated suites.h holds one SUITE(name) per test file. */
#define SUITE(name) void suite_##name(void);
#include "suites.h"
#undef SUITE

int main(void)
{
#define SUITE(name) suite_##name();
#include "suites.h"
#undef SUITE
    printf("%d passed, %d failed\n", cases_passed, cases_failed);
    return cases_failed ? 1 : 0;
}
