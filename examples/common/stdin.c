/*
 * stdin.c — reading an input descriptor (stdin) from the loop, whatever
 * it is: a terminal, a pipe, a socket, a regular file or /dev/null.
 *
 * epoll refuses descriptors that are always ready (EPERM: regular files,
 * /dev/null and other such devices), and a program given `</dev/null`
 * must still see its end of input. For those, a 1 ms repeating timer
 * stands in for readiness: the callback runs every round and reads, which
 * never blocks on such a descriptor. Only the public loop API is used.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <errno.h>
#include <stdlib.h>

struct wsx_input {
    wsx_loop_t *loop;
    int fd;
    wsx_watch_t *watch; /* when epoll watches fd */
    wsx_timer_t *timer; /* otherwise, while not paused */
    int paused;
    void (*cb)(wsx_input_t *in, int fd, void *user);
    void *user;
};

static void on_watch(wsx_watch_t *w, int fd, void *user)
{
    wsx_input_t *in = user;
    (void)w;
    in->cb(in, fd, in->user); /* in may be stopped (freed) by now */
}

static void on_tick(wsx_timer_t *t, void *user)
{
    wsx_input_t *in = user;
    (void)t;
    in->cb(in, in->fd, in->user);
}

static int start_ticking(wsx_input_t *in)
{
    in->timer = wsx_timer_start(in->loop, 1, 1, on_tick, in);
    return in->timer ? 0 : -1;
}

wsx_input_t *wsx_input_start(wsx_loop_t *loop, int fd,
                             void (*cb)(wsx_input_t *in, int fd, void *user),
                             void *user)
{
    wsx_input_t *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->loop = loop;
    in->fd = fd;
    in->cb = cb;
    in->user = user;
    in->watch = wsx_watch_start(loop, fd, on_watch, in);
    if (!in->watch && (errno != EPERM || start_ticking(in) != 0)) {
        int e = errno;
        free(in);
        errno = e;
        return NULL;
    }
    return in;
}

void wsx_input_pause(wsx_input_t *in)
{
    if (in->paused)
        return;
    in->paused = 1;
    if (in->watch) {
        wsx_watch_pause(in->watch);
    } else {
        wsx_timer_stop(in->timer); /* a paused input holds no loop open */
        in->timer = NULL;
    }
}

void wsx_input_resume(wsx_input_t *in)
{
    if (!in->paused)
        return;
    in->paused = 0;
    if (in->watch)
        wsx_watch_resume(in->watch);
    else if (start_ticking(in) != 0)
        in->paused = 1; /* out of memory: stays paused */
}

void wsx_input_stop(wsx_input_t *in)
{
    if (!in)
        return;
    if (in->watch)
        wsx_watch_stop(in->watch);
    else
        wsx_timer_stop(in->timer);
    free(in);
}
