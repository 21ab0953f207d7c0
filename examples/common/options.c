/*
 * options.c — the number parsing every program's command line needs, so
 * that "--port 12abc", "-5" or "1e3" are refused the same way everywhere.
 */
#include "wsx_int.h"

#include <errno.h>
#include <stdlib.h>

int wsx_parse_uint(const char *s, unsigned long long max,
                   unsigned long long *out)
{
    char *end;

    /* strtoull accepts leading spaces and a sign (and wraps "-1"). */
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return -1;
    *out = v;
    return 0;
}

int wsx_parse_seconds(const char *s, int *ms)
{
    char *end;

    if ((*s < '0' || *s > '9') && *s != '.')
        return -1;
    double v = strtod(s, &end);
    if (end == s || *end || !(v <= 86400))
        return -1;
    *ms = (int)(v * 1000 + 0.5);
    return 0;
}
