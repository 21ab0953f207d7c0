/*
 * client_token.c — the secret tokens of the names this user claimed
 * (PROTOCOL.md, Login), one line per server and name:
 *
 *     ws://127.0.0.1:8000/ alice 9f86d081884c7d659a2feaa0c55ad015
 *
 * in $XDG_CONFIG_HOME/wsproto-chat/tokens (or ~/.config/...). A token is
 * a password: the directory is made 0700 and the file 0600, and it is
 * replaced by a rename, so a crash leaves the old file or the new one.
 */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int config_dir(char *out, size_t cap)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    int n;
    /* XDG Base Directory: a relative XDG_CONFIG_HOME is to be ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/wsproto-chat", xdg);
    else if (home && home[0])
        n = snprintf(out, cap, "%s/.config/wsproto-chat", home);
    else
        return -1;
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int token_path(char *out, size_t cap)
{
    char dir[4096];
    if (config_dir(dir, sizeof dir) != 0)
        return -1;
    int n = snprintf(out, cap, "%s/tokens", dir);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* A line's three fields, split in place; 0, or -1 for a bad line. */
static int split(char *line, char **url, char **name, char **token)
{
    char *save = NULL;
    *url = strtok_r(line, " \t\n", &save);
    *name = strtok_r(NULL, " \t\n", &save);
    *token = strtok_r(NULL, " \t\n", &save);
    return *url && *name && *token ? 0 : -1;
}

/* Names are one name whatever their case (ASCII folded here; the server
 * folds the rest). */
static int same_entry(const char *url, const char *name, const char *u,
                      const char *n)
{
    return strcmp(url, u) == 0 && strcasecmp(name, n) == 0;
}

int token_load(const char *url, const char *name, char *out, size_t cap)
{
    char path[4200], line[1024];
    int found = -1;

    if (token_path(path, sizeof path) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char *u, *n, *tok;
        if (split(line, &u, &n, &tok) == 0 && same_entry(url, name, u, n) &&
            strlen(tok) < cap) {
            strcpy(out, tok);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

/* mkdir -p for the config directory, 0700 for what it makes. */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(dir, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

/* The old file's lines but the one for (url, name), then the new one. */
static int write_tokens(FILE *old, FILE *out, const char *url,
                        const char *name, const char *token)
{
    char line[1024], copy[1024];
    while (old && fgets(line, sizeof line, old)) {
        char *u, *n, *tok;
        memcpy(copy, line, sizeof copy);
        if (split(copy, &u, &n, &tok) == 0 && !same_entry(url, name, u, n))
            fprintf(out, "%s %s %s\n", u, n, tok);
    }
    fprintf(out, "%s %s %s\n", url, name, token);
    return fflush(out) == 0 && fsync(fileno(out)) == 0 ? 0 : -1;
}

int token_check(void)
{
    char dir[4096], tmp[4300];

    if (config_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "chat-client: nowhere to keep a new name's token: "
                        "set HOME or XDG_CONFIG_HOME\n");
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/tokens.%ld.tmp", dir, (long)getpid());
    int fd = make_dirs(dir) == 0
                 ? open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)
                 : -1;
    if (fd < 0) {
        fprintf(stderr, "chat-client: cannot keep a new name's token in %s: "
                        "%s; make it writable or set XDG_CONFIG_HOME\n",
                dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(tmp);
    return 0;
}

int token_save(const char *url, const char *name, const char *token)
{
    char dir[4096], path[4200], tmp[4300];

    if (config_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "chat-client: cannot keep the token: set HOME or "
                        "XDG_CONFIG_HOME\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/tokens", dir);
    snprintf(tmp, sizeof tmp, "%s/tokens.%ld.tmp", dir, (long)getpid());
    if (make_dirs(dir) != 0) {
        fprintf(stderr, "chat-client: cannot keep the token: %s: %s\n", dir,
                strerror(errno));
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        fprintf(stderr, "chat-client: cannot keep the token: %s: %s\n", tmp,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    FILE *old = fopen(path, "r");
    int r = write_tokens(old, out, url, name, token);
    if (old)
        fclose(old);
    if (fclose(out) != 0 || r != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "chat-client: cannot keep the token: %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
