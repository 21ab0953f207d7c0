/*
 * params.c — the query of a /ws upgrade: what the client wants echoed and
 * generated. Every value is checked whole; anything else is refused with
 * a reason the client can act on, before the connection opens.
 */
#include "dashboard.h"

#include <stdio.h>
#include <string.h>

/* The value of a query parameter, as a NUL-terminated copy. */
typedef struct param {
    char name[16];
    char value[64];
} param_t;

/* Split "a=1&b=2" at the next '&'. 0 at the end, 1 with *p filled, -1 for
 * a pair too long to be one of ours. */
static int next_pair(const char **s, const char *end, param_t *p)
{
    while (*s < end && **s == '&')
        (*s)++;
    if (*s >= end)
        return 0;
    const char *amp = memchr(*s, '&', (size_t)(end - *s));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(*s, '=', (size_t)(stop - *s));
    const char *vstart = eq ? eq + 1 : stop;
    size_t nlen = (size_t)((eq ? eq : stop) - *s);
    size_t vlen = (size_t)(stop - vstart);

    if (nlen >= sizeof p->name || vlen >= sizeof p->value)
        return -1;
    memcpy(p->name, *s, nlen);
    p->name[nlen] = '\0';
    memcpy(p->value, vstart, vlen);
    p->value[vlen] = '\0';
    *s = stop;
    return 1;
}

/* The reason for a refusal goes into why[0..cap); -1 then, else 0. */
static int parse_size(const char *v, unsigned long long max, const char *name,
                      uint64_t *out, char *why, size_t cap)
{
    unsigned long long n;

    if (*v == '-')
        snprintf(why, cap, "%s: must not be negative", name);
    else if (wsx_parse_uint(v, ~0ull, &n) != 0)
        snprintf(why, cap, "%s: '%.40s' is not a number of bytes", name, v);
    else if (n > max)
        snprintf(why, cap, "%s: %llu bytes is over the limit of %llu", name, n,
                 max);
    else {
        *out = n;
        return 0;
    }
    return -1;
}

static int refuse(const char *reason, char *why, size_t cap)
{
    snprintf(why, cap, "%s", reason);
    return -1;
}

static int parse_tag(const char *v, char *tag, char *why, size_t cap)
{
    size_t n = strlen(v);

    if (n > DASH_TAG_MAX)
        return refuse("tag: longer than 32 characters", why, cap);
    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return refuse("tag: only letters, digits, '-' and '_'", why, cap);
    }
    memcpy(tag, v, n + 1);
    return 0;
}

static int parse_one(const param_t *kv, dash_params_t *p, char *why, size_t cap)
{
    if (strcmp(kv->name, "fragment") == 0)
        return parse_size(kv->value, DASH_MAX_FRAGMENT, "fragment",
                          &p->fragment, why, cap);
    if (strcmp(kv->name, "generate") == 0) {
        p->has_generate = 1;
        return parse_size(kv->value, DASH_MAX_GENERATE, "generate",
                          &p->generate, why, cap);
    }
    if (strcmp(kv->name, "type") == 0) {
        if (strcmp(kv->value, "text") == 0)
            p->gen_op = WS_OP_TEXT;
        else if (strcmp(kv->value, "binary") == 0)
            p->gen_op = WS_OP_BINARY;
        else
            return refuse("type: must be 'text' or 'binary'", why, cap);
        return 0;
    }
    if (strcmp(kv->name, "tag") == 0)
        return parse_tag(kv->value, p->tag, why, cap);
    snprintf(why, cap,
             "unknown parameter '%.16s' (known: fragment, "
             "generate, type, tag)",
             kv->name);
    return -1;
}

int dash_params_parse(const char *query, size_t len, dash_params_t *p,
                      char *why, size_t cap)
{
    const char *s = query, *end = query + len;
    param_t kv;
    int r;

    memset(p, 0, sizeof *p);
    p->gen_op = WS_OP_TEXT;
    while ((r = next_pair(&s, end, &kv)) > 0)
        if (parse_one(&kv, p, why, cap) != 0)
            return -1;
    if (r < 0)
        return refuse("a query parameter is too long", why, cap);
    return 0;
}
