/*
 * url_problem.c — why wsx_url_parse() refuses a URL, in words, so that a
 * program can say "the port must be a number from 1 to 65535" instead of
 * "not a ws[s]:// URL". It walks the URL in the order wsx_url_parse() does
 * and is asked only after that refused it.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <string.h>
#include <strings.h>

static const char *port_problem(const char *p, const char **end)
{
    unsigned long port = 0;
    const char *d = p;

    while (*d >= '0' && *d <= '9' && port <= 65535)
        port = port * 10 + (unsigned long)(*d++ - '0');
    *end = d;
    if (d == p || port < 1 || port > 65535 || !strchr("/?#", *d))
        return "the port must be a number from 1 to 65535";
    return NULL;
}

const char *wsx_url_problem(const char *url)
{
    wsx_url_t u;
    const char *p, *end, *why;

    if (wsx_url_parse(url, &u) == 0)
        return NULL;
    if (strncasecmp(url, "wss://", 6) == 0)
        p = url + 6;
    else if (strncasecmp(url, "ws://", 5) == 0)
        p = url + 5;
    else
        return "it does not start with ws:// or wss://";
    if (*p == '[') {
        if (!(end = strchr(p, ']')))
            return "an IPv6 address needs its closing ']'";
        end++;
    } else {
        end = p + strcspn(p, ":/?#");
    }
    if (end == p || (end - p == 2 && *p == '['))
        return "there is no host";
    if ((size_t)(end - p) >= sizeof u.host)
        return "the host is too long";
    if (*end == ':' && (why = port_problem(end + 1, &end)) != NULL)
        return why;
    if (*end != '\0' && *end != '/' && *end != '?' && *end != '#')
        return "unexpected characters after the host or port";
    if (strchr(end, '#'))
        return "a fragment (#...) is not allowed (RFC 6455 §3)";
    return "the path is too long";
}
