/*
 * fdio.h — whole writes to a file descriptor, for the examples' files
 * (the record log, a file received by chat-client). Plain C + POSIX; no
 * part of the event loop, so a unit test or a fuzz target can take it
 * alone.
 */
#ifndef WSX_FDIO_H
#define WSX_FDIO_H

#include <stddef.h>

/* Write all n bytes of p to fd, again after a short write or EINTR.
 * 0, or -errno of the write that failed (errno is left as it set it);
 * how much of p reached the file is then unknown. */
int wsx_write_all(int fd, const void *p, size_t n);

#endif /* WSX_FDIO_H */
