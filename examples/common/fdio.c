/*
 * fdio.c — whole writes to a file descriptor (fdio.h).
 */
#include "fdio.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

int wsx_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *at = p;
    while (n > 0) {
        ssize_t w = write(fd, at, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        at += w;
        n -= (size_t)w;
    }
    return 0;
}
