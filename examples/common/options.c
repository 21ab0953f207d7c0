/*
 * options.c — the defaults of wsx_opts_t, and the number parsing every
 * program's command line needs, so that "--port 12abc", "-5" or "1e3" are
 * refused the same way everywhere.
 */
#include "wsx_int.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/resource.h>

#define DEFAULT_MAX_CONNECTIONS 65536u

void wsx_opts_resolve(wsx_opts_t *o, const wsx_opts_t *in)
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
    if (o->max_connections == 0)
        o->max_connections = DEFAULT_MAX_CONNECTIONS;
    /* Past the descriptor limit accept() fails: refuse with 503 before. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > 64 && o->max_connections > rl.rlim_cur - 32)
        o->max_connections = (unsigned)(rl.rlim_cur - 32);
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
