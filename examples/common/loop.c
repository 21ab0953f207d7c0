/*
 * loop.c — the epoll loop: rounds, signals, watchers, timers, the
 * periodic timeout sweep and graceful shutdown.
 *
 * A round: wait for events; read once from each readable connection
 * (handling every event of that read before the next read, since all
 * reads share one buffer); run due timers and, every WSX_SWEEP_MS, check
 * every connection's timeouts and progress; then flush every connection
 * that queued output during the round (one writev each), hold what is
 * left to the memory budget (limits.c), and free the dead ones.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WSX_SWEEP_MS 250
#define WSX_MAX_EVENTS 256

static uint64_t clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --------------------------------------------------------------- setup */

wsx_loop_t *wsx_loop_new(void)
{
    wsx_loop_t *loop = calloc(1, sizeof *loop);
    sigset_t set;

    if (!loop)
        return NULL;
    loop->epfd = loop->sigfd = loop->reserve_fd = -1;
    loop->sig_kind = WSX_IO_SIGNAL;
    wsx_pool_init(loop);
    loop->rbuf = malloc(WSX_READ_BUF);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!loop->rbuf || loop->epfd < 0)
        goto fail;

    /* Kept open so that, out of descriptors, a connection can still be
     * accepted and closed instead of spinning on a full backlog. */
    loop->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    /* SIGINT/SIGTERM arrive here only while blocked (wsx_process_setup
     * blocks them); otherwise they keep their default action. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP); /* blocked by wsx_serve only: see reload */
    loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (loop->sigfd < 0 ||
        wsx_epoll_add(loop, loop->sigfd, EPOLLIN, &loop->sig_kind) != 0)
        goto fail;

    loop->clock = clock_ms;
    loop->start = loop->now = clock_ms();
    loop->next_sweep = loop->now + WSX_SWEEP_MS;
    return loop;
fail:
    wsx_loop_free(loop);
    return NULL;
}

void wsx_loop_free(wsx_loop_t *loop)
{
    if (!loop)
        return;
    while (loop->conns)
        wsx_conn_free(loop->conns);
    while (loop->servers) {
        wsx_server_t *s = loop->servers;
        loop->servers = s->next;
        wsx_server_close(s);
        if (s->ep.static_fd >= 0)
            close(s->ep.static_fd);
        free(s);
    }
    while (loop->watches) {
        wsx_watch_t *w = loop->watches;
        loop->watches = w->next;
        free(w);
    }
    while (loop->timers) {
        wsx_timer_t *t = loop->timers;
        loop->timers = t->next;
        free(t);
    }
    wsx_chunk_pool_clear(&loop->chunks);
    wsx_pool_clear(loop);
    if (loop->sigfd >= 0)
        close(loop->sigfd);
    if (loop->reserve_fd >= 0)
        close(loop->reserve_fd);
    if (loop->epfd >= 0)
        close(loop->epfd);
    free(loop->rbuf);
    free(loop);
}

uint64_t wsx_loop_now(const wsx_loop_t *loop)
{
    return loop->now;
}

void wsx_loop_stop(wsx_loop_t *loop)
{
    loop->stop = 1;
}

void wsx_loop_on_signal(wsx_loop_t *loop,
                        void (*cb)(wsx_loop_t *loop, int signo, void *user),
                        void *user)
{
    loop->on_signal = cb;
    loop->signal_user = user;
}

/* ------------------------------------------------------------ shutdown */

static void drop_all(wsx_loop_t *loop)
{
    for (wsx_conn_t *c = loop->conns; c; c = c->next)
        if (!(c->flags & WSX_F_DEAD))
            wsx_conn_lost(c, WSX_ETIMEOUT, "shutting down");
}

void wsx_loop_shutdown(wsx_loop_t *loop, unsigned code, int grace_ms)
{
    static const char reason[] = "server shutting down";

    loop->shutting = 1;
    loop->shutdown_deadline =
        loop->now + (uint64_t)(grace_ms > 0 ? grace_ms : 0);
    for (wsx_server_t *s = loop->servers; s; s = s->next)
        wsx_server_close(s);
    for (wsx_conn_t *c = loop->conns; c; c = c->next) {
        if (c->flags & WSX_F_DEAD)
            continue;
        switch (c->state) {
        case WSX_ST_WS:
            if (ws_conn_state(&c->ws) == WS_STATE_OPEN &&
                wsx_conn_close(c, code, reason, sizeof reason - 1) != 0)
                wsx_conn_lost(c, WSX_ETIMEOUT, "shutting down");
            break;
        case WSX_ST_RAW:
            wsx_conn_finish(c);
            break;
        case WSX_ST_DRAIN:
            break;
        default: /* no WebSocket yet: nothing to say goodbye to */
            wsx_conn_kill(c);
            break;
        }
    }
}

/* SIGHUP: every TLS server reads its certificate and key again (renewal)
 * without dropping a connection; a failure keeps the old ones. */
static void reload(wsx_loop_t *loop)
{
    char err[512];

    for (wsx_server_t *s = loop->servers; s; s = s->next) {
        wsx_tls_t *t = s->ep.tr_ctx;
        if (!t)
            continue;
        if (wsx_tls_reload(t, err, sizeof err) == 0)
            fprintf(stderr, "%s: SIGHUP: reloaded %s\n",
                    program_invocation_short_name, wsx_tls_files(t));
        else
            fprintf(stderr, "%s: SIGHUP: %s; the old certificate stays\n",
                    program_invocation_short_name, err);
    }
}

static void on_signal_fd(wsx_loop_t *loop)
{
    struct signalfd_siginfo si;

    while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            reload(loop);
            continue;
        }
        loop->signals++;
        if (loop->on_signal) {
            loop->on_signal(loop, (int)si.ssi_signo, loop->signal_user);
        } else if (loop->signals == 1) {
            wsx_loop_shutdown(loop, WS_CLOSE_GOING_AWAY, 2000);
        } else {
            drop_all(loop);
            loop->stop = 1;
        }
    }
}

/* ------------------------------------------------------------ watchers */

static unsigned epoll_bits(unsigned events)
{
    return ((events & WSX_READABLE) ? EPOLLIN : 0u) |
           ((events & WSX_WRITABLE) ? EPOLLOUT : 0u);
}

wsx_watch_t *wsx_watch_start(wsx_loop_t *loop, int fd, unsigned events,
                             wsx_watch_cb cb, void *user)
{
    wsx_watch_t *w = calloc(1, sizeof *w);
    struct stat st;

    if (!w)
        return NULL;
    w->kind = WSX_IO_WATCH;
    w->fd = fd;
    w->loop = loop;
    w->cb = cb;
    w->user = user;
    w->events = (uint8_t)(events & (WSX_READABLE | WSX_WRITABLE));
    w->resume = w->events;
    /* epoll refuses descriptors that are always ready (EPERM: regular
     * files, /dev/null): those are polled, i.e. called every round. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        w->polled = 1;
    } else if (wsx_epoll_add(loop, fd, epoll_bits(w->events), w) != 0) {
        if (errno != EPERM) {
            free(w);
            return NULL;
        }
        w->polled = 1;
    }
    w->next = loop->watches;
    loop->watches = w;
    if (w->events)
        loop->nwatches_active++;
    return w;
}

void wsx_watch_set(wsx_watch_t *w, unsigned events)
{
    struct epoll_event ev = {.data.ptr = w};

    events &= WSX_READABLE | WSX_WRITABLE;
    if (w->dead || w->events == events)
        return;
    if (!w->events)
        w->loop->nwatches_active++;
    else if (!events)
        w->loop->nwatches_active--;
    w->events = (uint8_t)events;
    ev.events = epoll_bits(events);
    if (!w->polled)
        epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void wsx_watch_pause(wsx_watch_t *w)
{
    if (w->events)
        w->resume = w->events;
    wsx_watch_set(w, 0);
}

void wsx_watch_resume(wsx_watch_t *w)
{
    if (!w->events) /* resuming what is not paused changes nothing */
        wsx_watch_set(w, w->resume);
}

void wsx_watch_stop(wsx_watch_t *w)
{
    if (!w || w->dead)
        return;
    if (w->events)
        w->loop->nwatches_active--;
    if (!w->polled)
        epoll_ctl(w->loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->dead = 1; /* freed at the end of the round */
}

static void run_watch(wsx_watch_t *w, unsigned ready)
{
    ready &= w->events;
    if (!w->dead && ready)
        w->cb(w, w->fd, ready, w->user);
}

static unsigned watch_ready(uint32_t ev)
{
    /* An error or hang-up is reported to whoever waits: the call that
     * follows (read, recvfrom, send) tells what happened. */
    unsigned fail = (ev & (EPOLLERR | EPOLLHUP)) ? ~0u : 0u;

    return ((ev & EPOLLIN) ? WSX_READABLE : 0u) |
           ((ev & EPOLLOUT) ? WSX_WRITABLE : 0u) |
           (fail & (WSX_READABLE | WSX_WRITABLE));
}

/* -------------------------------------------------------------- timers */

wsx_timer_t *wsx_timer_start(wsx_loop_t *loop, int interval_ms, int repeat,
                             void (*cb)(wsx_timer_t *t, void *user), void *user)
{
    wsx_timer_t *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->loop = loop;
    t->interval = interval_ms > 0 ? interval_ms : 1;
    t->due = loop->now + (uint64_t)t->interval;
    t->repeat = repeat;
    t->cb = cb;
    t->user = user;
    t->next = loop->timers;
    loop->timers = t;
    return t;
}

void wsx_timer_stop(wsx_timer_t *t)
{
    if (t)
        t->dead = 1; /* freed at the end of the round */
}

static void run_timers(wsx_loop_t *loop)
{
    for (wsx_timer_t *t = loop->timers; t; t = t->next) {
        if (t->dead || t->due > loop->now)
            continue;
        if (t->repeat)
            t->due = loop->now + (uint64_t)t->interval;
        else
            t->dead = 1;
        t->cb(t, t->user);
    }
}

/* ------------------------------------------------------------ the loop */

void wsx_loop_before_flush(wsx_loop_t *loop,
                           void (*cb)(wsx_loop_t *loop, void *user), void *user)
{
    loop->before_flush = cb;
    loop->before_flush_user = user;
}

/* Free what was stopped during the round. */
static void reap(wsx_loop_t *loop)
{
    for (wsx_timer_t **pt = &loop->timers; *pt;) {
        wsx_timer_t *t = *pt;
        if (t->dead) {
            *pt = t->next;
            free(t);
        } else {
            pt = &t->next;
        }
    }
    for (wsx_watch_t **pw = &loop->watches; *pw;) {
        wsx_watch_t *w = *pw;
        if (w->dead) {
            *pw = w->next;
            free(w);
        } else {
            pw = &w->next;
        }
    }
}

/* Flush connections with new output, free dead ones. Flushing can call
 * the application (on_drain, on_close), which can queue more work. */
static void flush_work(wsx_loop_t *loop)
{
    while (loop->work) {
        wsx_conn_t *c = loop->work;
        loop->work = c->work_next;
        c->work_next = NULL;
        c->flags &= (uint16_t)~WSX_F_DIRTY;
        if (c->flags & WSX_F_DEAD)
            wsx_conn_free(c);
        else
            wsx_conn_flush_round(c);
    }
}

static void flush_round(wsx_loop_t *loop)
{
    if (loop->before_flush && loop->work)
        loop->before_flush(loop, loop->before_flush_user);
    flush_work(loop);
}

/* The memory budget is judged after the flush, on what the kernel did not
 * take. The close frames of those it closes, and whatever their on_close
 * queued, go out in a second flush (before_flush first, again). */
static void end_round(wsx_loop_t *loop)
{
    flush_round(loop);
    if (wsx_budget_enforce(loop, 0))
        flush_round(loop);
    reap(loop);
}

static void sweep(wsx_loop_t *loop)
{
    loop->next_sweep = loop->now + WSX_SWEEP_MS;
    for (wsx_conn_t *c = loop->conns; c; c = c->next)
        if (!(c->flags & WSX_F_DEAD))
            wsx_conn_sweep(c);
}

static int wait_ms(const wsx_loop_t *loop)
{
    uint64_t next = loop->next_sweep;

    for (wsx_watch_t *w = loop->watches; w; w = w->next)
        if (w->polled && w->events && !w->dead)
            return 0;
    if (loop->ready)
        return 0;
    for (wsx_timer_t *t = loop->timers; t; t = t->next)
        if (!t->dead && t->due < next)
            next = t->due;
    if (loop->shutting && loop->shutdown_deadline < next)
        next = loop->shutdown_deadline;
    return next <= loop->now ? 0 : (int)(next - loop->now);
}

static int idle(const wsx_loop_t *loop)
{
    if (loop->shutting) /* timers and watchers do not hold a shutdown */
        return loop->nconns == 0;
    if (loop->nservers || loop->nconns || loop->nwatches_active)
        return 0;
    for (wsx_timer_t *t = loop->timers; t; t = t->next)
        if (!t->dead)
            return 0;
    return 1;
}

static void dispatch(wsx_loop_t *loop, const struct epoll_event *ev)
{
    uint8_t kind = *(const uint8_t *)ev->data.ptr;

    switch (kind) {
    case WSX_IO_CONN: {
        wsx_conn_t *c = ev->data.ptr;
        if (c->flags & WSX_F_DEAD)
            return;
        if (ev->events & (EPOLLOUT | EPOLLERR))
            wsx_conn_writable(c);
        if (!(c->flags & WSX_F_DEAD) &&
            (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
            wsx_conn_readable(c);
        break;
    }
    case WSX_IO_LISTEN:
        wsx_server_accept(ev->data.ptr);
        break;
    case WSX_IO_SIGNAL:
        on_signal_fd(loop);
        break;
    case WSX_IO_WATCH:
        run_watch(ev->data.ptr, watch_ready(ev->events));
        break;
    }
}

/* Connections whose transport holds input it already read: read again,
 * as if epoll had said readable. Taken as a list first, since reading may
 * put a connection back for the next round. */
static void run_ready(wsx_loop_t *loop)
{
    wsx_conn_t *c = loop->ready;

    loop->ready = NULL;
    while (c) {
        wsx_conn_t *next = c->ready_next;
        c->ready_next = NULL;
        c->flags &= (uint16_t)~WSX_F_READY;
        if (!(c->flags & WSX_F_DEAD))
            wsx_conn_readable(c);
        c = next;
    }
}

int wsx_loop_run_once(wsx_loop_t *loop, int timeout_ms)
{
    struct epoll_event evs[WSX_MAX_EVENTS];
    int wait = wait_ms(loop);

    if (timeout_ms >= 0 && timeout_ms < wait)
        wait = timeout_ms;
    int n = epoll_wait(loop->epfd, evs, WSX_MAX_EVENTS, wait);
    if (n < 0 && errno != EINTR)
        return -1;
    loop->now = loop->clock();
    run_ready(loop);
    for (int i = 0; i < n; i++)
        dispatch(loop, &evs[i]);
    for (wsx_watch_t *w = loop->watches; w; w = w->next)
        if (w->polled)
            run_watch(w, WSX_READABLE | WSX_WRITABLE);
    run_timers(loop);
    if (loop->now >= loop->next_sweep)
        sweep(loop);
    if (loop->shutting && loop->now >= loop->shutdown_deadline)
        drop_all(loop);
    end_round(loop);
    return idle(loop) ? 0 : 1;
}

int wsx_loop_run(wsx_loop_t *loop)
{
    loop->stop = 0;
    while (!loop->stop && !idle(loop))
        if (wsx_loop_run_once(loop, -1) < 0)
            return -1;
    return 0;
}
