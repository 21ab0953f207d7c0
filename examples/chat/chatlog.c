/*
 * chatlog.c — the --log file: one line per event, timestamped in UTC to
 * the millisecond, flushed at once so a crash loses no line.
 */
#define _GNU_SOURCE
#include "chat.h"

#include <stdarg.h>
#include <time.h>

uint64_t chat_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void chat_log(const chat_server_t *srv, const session_t *s, const char *fmt,
              ...)
{
    char stamp[40];
    struct tm tm;
    uint64_t now = chat_now_ms();
    time_t secs = (time_t)(now / 1000);
    va_list ap;

    if (!srv->log)
        return;
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(srv->log, "%s.%03uZ %s ", stamp, (unsigned)(now % 1000),
            s ? s->peer : "-");
    va_start(ap, fmt);
    vfprintf(srv->log, fmt, ap);
    va_end(ap);
    fputc('\n', srv->log);
    fflush(srv->log);
}
