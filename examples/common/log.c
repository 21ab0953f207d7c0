/*
 * log.c — what every layer may call and that calls nothing back: peer
 * addresses, the one log line format, error strings.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>

const char *wsx_strerror(int err)
{
    switch (err) {
    case WSX_ECONNECT:
        return "could not connect";
    case WSX_ETIMEOUT:
        return "timed out";
    case WSX_EIO:
        return "connection lost";
    case WSX_EURL:
        return "not a ws[s]://host[:port][/path] URL";
    case WSX_ETLS:
        return wsx_tls_available() ? "TLS failed" : "built without TLS support";
    case WSX_ELIMIT:
        return "over the memory budget, or a message stalled";
    default:
        return ws_strerror(err);
    }
}

const char *wsx_format_addr(const struct sockaddr *sa, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(buf, cap, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(buf, cap, "%s:%u", host, ntohs(s4->sin_port));
    } else {
        snprintf(buf, cap, "?");
    }
    return buf;
}

const char *wsx_conn_peer(const wsx_conn_t *c, char *buf, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (c->fd < 0 || getpeername(c->fd, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(buf, cap, "?");
        return buf;
    }
    return wsx_format_addr((struct sockaddr *)&ss, buf, cap);
}

void wsx_log(const wsx_conn_t *c, int level, const char *fmt, ...)
{
    char peer[64], msg[512];
    va_list ap;

    if (c->ep->o.verbose < level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s %s\n", program_invocation_short_name,
            wsx_conn_peer(c, peer, sizeof peer), msg);
}
