/* random.c — the default source of unpredictable bytes for masking keys
 * (RFC 6455 §5.3 requires keys an attacker cannot predict) and handshake
 * keys: the kernel's CSPRNG. */
#define _DEFAULT_SOURCE
#include "wsproto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/random.h>
#endif

static int read_urandom(uint8_t *p, size_t len)
{
    int fd;
    do {
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return WS_ERANDOM;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return WS_ERANDOM;
        }
        p += n;
        len -= (size_t)n;
    }
    close(fd);
    return 0;
}

WS_API int ws_random_default(void *buf, size_t len, void *user)
{
    uint8_t *p = buf;
    (void)user;
#if defined(__linux__)
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) /* ENOSYS on old kernels, or a seccomp filter */
            return read_urandom(p, len);
        p += n;
        len -= (size_t)n;
    }
    return 0;
#else
    return read_urandom(p, len);
#endif
}
