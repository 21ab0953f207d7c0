/*
 * server.c — start, watch and stop the wsecho instances under test.
 */
#include "suite.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int server_start(server_t *s, const char *bin, char *err, size_t cap)
{
    int out[2];
    char line[256];
    size_t n = 0;

    if (pipe2(out, O_CLOEXEC) != 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    s->pid = fork();
    if (s->pid < 0) {
        snprintf(err, cap, "fork: %s", strerror(errno));
        return -1;
    }
    if (s->pid == 0) {
        /* exec wants char *const[]: copies, in the child, are simplest. */
        char *argv[12] = {strdup(bin), strdup("--host"), strdup("127.0.0.1"),
                          strdup("--port"), strdup("0")};
        int k = 5;
        for (int i = 0; i < 4 && s->extra[i]; i++)
            argv[k++] = strdup(s->extra[i]);
        dup2(out[1], 1);
        int log = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (log >= 0)
            dup2(log, 2);
        execv(bin, argv);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    close(out[1]);
    s->out_fd = out[0];

    /* "wsecho listening on HOST:PORT\n", within 5 s. */
    while (n < sizeof line - 1) {
        struct pollfd pf = {s->out_fd, POLLIN, 0};
        if (poll(&pf, 1, 5000) <= 0)
            break;
        ssize_t r = read(s->out_fd, line + n, 1);
        if (r <= 0)
            break;
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "wsecho listening on ", 20) != 0 || !colon ||
        (s->port = atoi(colon + 1)) <= 0) {
        snprintf(err, cap,
                 "%s did not print 'wsecho listening on HOST:PORT' "
                 "(got '%s'); see %s",
                 bin, line, s->log);
        server_stop(s, 1000);
        return -1;
    }
    return 0;
}

int server_check(server_t *s, char *why, size_t cap)
{
    int st;
    if (s->pid <= 0) {
        snprintf(why, cap, "not running");
        return -1;
    }
    if (waitpid(s->pid, &st, WNOHANG) != s->pid)
        return 0;
    if (WIFSIGNALED(st))
        snprintf(why, cap, "wsecho died of signal %d (%s); see %s",
                 WTERMSIG(st), strsignal(WTERMSIG(st)), s->log);
    else
        snprintf(why, cap, "wsecho exited with status %d; see %s",
                 WEXITSTATUS(st), s->log);
    s->pid = 0;
    close(s->out_fd);
    return -1;
}

int server_stop(server_t *s, int ms)
{
    int st = -1;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    for (int waited = 0; waited < ms; waited += 10) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid)
            goto done;
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    st = -1;
done:
    s->pid = 0;
    close(s->out_fd);
    return st;
}
