/*
 * options.c — the defaults of wsx_opts_t, and the number parsing every
 * program's command line needs, so that "--port 12abc", "-5", "1e3" or
 * "8MB" are refused the same way everywhere; and where a program's own
 * files are.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_MAX_CONNECTIONS 65536u

void wsx_opts_resolve(wsx_opts_t *o, const wsx_opts_t *in, ws_role_t role)
{
    static const wsx_opts_t defaults;
    struct rlimit rl;

    *o = in ? *in : defaults;
    if (o->handshake_timeout == 0)
        o->handshake_timeout = 10000;
    if (o->close_timeout <= 0)
        o->close_timeout = 5000;
    if (o->ping_interval < 0)
        o->ping_interval = 0;
    if (o->high_water == 0)
        o->high_water = 1024u * 1024u;
    if (o->low_water == 0 || o->low_water >= o->high_water)
        o->low_water = o->high_water / 4;
    if (o->stall_timeout == 0)
        o->stall_timeout = role == WS_ROLE_SERVER ? 10000 : -1;
    if (o->max_buffered == 0)
        o->max_buffered = WSX_DEFAULT_MAX_BUFFERED;
    if (o->max_connections == 0)
        o->max_connections = DEFAULT_MAX_CONNECTIONS;
    /* Past the descriptor limit accept() fails: refuse with 503 before. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > 64 && o->max_connections > rl.rlim_cur - 32)
        o->max_connections = (unsigned)(rl.rlim_cur - 32);
}

char *wsx_next_word(char **s, const char *sep)
{
    char *p = *s + strspn(*s, sep);
    if (!*p)
        return NULL;
    char *end = p + strcspn(p, sep);
    *s = *end ? end + 1 : end;
    *end = '\0';
    return p;
}

int wsx_usage_error(const char *prog, int status, const char *fmt,
                    const char *arg)
{
    if (fmt) {
        fprintf(stderr, "%s: ", prog);
        fprintf(stderr, fmt, arg);
        fputc('\n', stderr);
    }
    fprintf(stderr, "try '%s --help'\n", prog);
    return status;
}

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

int wsx_parse_size(const char *s, unsigned long long max,
                   unsigned long long *out)
{
    static const char units[] = "KMG";
    unsigned long long v;
    char num[24];
    size_t n = strlen(s);
    const char *u = n ? strchr(units, s[n - 1]) : NULL;
    unsigned shift = u ? 10u * (unsigned)(u - units + 1) : 0;

    if (u)
        n--; /* the number before the unit */
    if (n == 0 || n >= sizeof num)
        return -1;
    memcpy(num, s, n);
    num[n] = '\0';
    if (wsx_parse_uint(num, max >> shift, &v) != 0)
        return -1;
    *out = v << shift;
    return 0;
}

int wsx_opts_set(wsx_opts_t *o, const char *name, const char *value)
{
    unsigned long long v;
    int ms;

    if (!strcmp(name, "max-buffered")) {
        if (wsx_parse_size(value, SIZE_MAX, &v) != 0 || v == 0)
            return -1;
        o->max_buffered = (size_t)v;
    } else if (!strcmp(name, "stall-timeout")) {
        if (wsx_parse_seconds(value, &ms) != 0)
            return -1;
        o->stall_timeout = ms ? ms : -1; /* 0 s: no rule */
    } else {
        return -1;
    }
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

void wsx_program_dir(const char *sub, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

    if (n <= 0) {
        snprintf(out, cap, "%s", sub);
        return;
    }
    exe[n] = '\0';
    snprintf(out, cap, "%s/%s", dirname(exe), sub);
}
