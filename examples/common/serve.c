/*
 * serve.c — the top of a server program: the process-wide setup a server
 * wants (and a library must not do behind its caller's back), then a
 * loop, a server, and the loop until a signal ends it.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* 10 000 connections need more descriptors than the usual soft limit. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int wsx_process_setup(void)
{
    sigset_t set;

    /* sendfile to a peer that is gone raises SIGPIPE (our sendmsg calls
     * pass MSG_NOSIGNAL; sendfile cannot). */
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
#ifdef __GLIBC__
    /* Big messages (reassembly buffers, their echo) would otherwise be
     * mmap'ed and unmapped each time, or trimmed off the heap, and every
     * message would pay for faulting in fresh pages: at 1 MiB messages
     * that halves throughput. Keep such memory in the heap for reuse. */
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
    /* The loops read SIGINT/SIGTERM from a signalfd, which sees only
     * blocked signals. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return sigprocmask(SIG_BLOCK, &set, NULL) == 0 ? 0 : -1;
}

/* Why wsx_server_new() failed, for a person: its EINVAL mostly means
 * that the host did not resolve, which getaddrinfo can explain. */
static const char *listen_error(const char *host, int err, char *buf,
                                size_t cap)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE}, *ai;
    int gai = err == EINVAL ? getaddrinfo(host, NULL, &hints, &ai) : 0;

    if (err == EINVAL && gai == 0)
        freeaddrinfo(ai);
    if (gai == 0)
        return strerror(err);
    snprintf(buf, cap, "the name did not resolve (%s)", gai_strerror(gai));
    return buf;
}

int wsx_serve(const char *name, const char *host, int port,
              const wsx_opts_t *opts, const wsx_handler_t *h, void *ctx,
              void (*setup)(wsx_loop_t *loop, void *ctx))
{
    char addr[sizeof((wsx_server_t *)0)->addr];
    wsx_loop_t *loop = NULL;

    sigset_t hup;

    if (opts &&
        wsx_http_check_static(name, "static directory", opts->static_dir) != 0)
        return 1;
    /* A server reloads its TLS certificate on SIGHUP (loop.c) instead of
     * dying of it. */
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    if (wsx_process_setup() != 0 || sigprocmask(SIG_BLOCK, &hup, NULL) ||
        !(loop = wsx_loop_new())) {
        fprintf(stderr, "%s: cannot start: %s\n", name, strerror(errno));
        return 1;
    }
    wsx_server_t *srv = wsx_server_new(loop, host, port, opts, h, ctx);
    if (!srv) {
        char why[128];
        fprintf(stderr, "%s: cannot listen on %s port %d: %s\n", name, host,
                port, listen_error(host, errno, why, sizeof why));
        wsx_loop_free(loop);
        return 1;
    }
    if (setup)
        setup(loop, ctx);
    printf("%s listening on %s\n", name,
           wsx_server_address(srv, addr, sizeof addr));
    fflush(stdout);

    int r = wsx_loop_run(loop);
    wsx_loop_free(loop);
    if (r != 0) {
        fprintf(stderr, "%s: event loop failed: %s\n", name, strerror(errno));
        return 1;
    }
    return 0;
}
