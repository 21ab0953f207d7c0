/*
 * http.c — plain HTTP on the WebSocket port: the application's own
 * handler first, then static files (GET/HEAD, sanitised paths, index.html,
 * Content-Type by extension, sendfile), else 404. One request per
 * connection ("Connection: close"), which every client handles.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATH 1024

const char *wsx_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

/* Queue the head of an answer; the body (if any) follows it. */
static int put_head(wsx_conn_t *c, int status, const char *type,
                    const char *headers, size_t len)
{
    size_t extra = headers ? strlen(headers) : 0;
    size_t cap = 256 + strlen(type) + extra;
    uint8_t *p = wsx_out_reserve(c, cap);
    int n;

    if (!p)
        return WS_ENOMEM;
    n = snprintf((char *)p, cap,
                 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu"
                 "\r\nConnection: close\r\n%s\r\n",
                 status, wsx_http_reason(status), type, len,
                 headers ? headers : "");
    wsx_out_commit(c, n > 0 && (size_t)n < cap ? (size_t)n : 0);
    return n > 0 && (size_t)n < cap ? 0 : WS_EINVAL;
}

int wsx_http_respond(wsx_conn_t *c, int status, const char *content_type,
                     const char *headers, const void *body, size_t len)
{
    int r;

    if ((c->flags & (WSX_F_HTTP | WSX_F_ANSWERED | WSX_F_DEAD)) != WSX_F_HTTP)
        return WS_ESTATE;
    if (!content_type)
        content_type = "text/plain; charset=utf-8";
    r = put_head(c, status, content_type, headers, len);
    if (r == 0 && len && !(c->flags & WSX_F_HEAD))
        r = wsx_out_append(c, body, len);
    if (r != 0)
        return r;
    c->flags |= WSX_F_ANSWERED;
    wsx_log(c, 1, "answered %d", status);
    wsx_conn_finish(c);
    return 0;
}

/* The body is the status line's text, and why when there is a reason. */
static void respond_error(wsx_conn_t *c, int status, const char *headers,
                          const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s%s%s\n", status,
                     wsx_http_reason(status), why ? ": " : "", why ? why : "");

    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof body) { /* cut, but still one line */
        n = sizeof body - 1;
        body[n - 1] = '\n';
    }
    if (wsx_http_respond(c, status, NULL, headers, body, (size_t)n) != 0)
        wsx_conn_kill(c);
}

void wsx_http_error(wsx_conn_t *c, int status)
{
    wsx_http_refuse(c, status, NULL);
}

void wsx_http_refuse(wsx_conn_t *c, int status, const char *reason)
{
    c->flags |= WSX_F_HTTP;
    respond_error(c, status, status == 405 ? "Allow: GET, HEAD\r\n" : NULL,
                  reason);
}

/* ---------------------------------------------------------- static files */

static const char *content_type(const char *name)
{
    static const char *const types[][2] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"ico", "image/x-icon"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"map", "application/json"},
    };
    const char *dot = strrchr(name, '.');

    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i][0]) == 0)
                return types[i][1];
    return "application/octet-stream";
}

static int hex(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/*
 * The request path as a file name relative to the static directory:
 * percent-decoded, then split on '/', with empty and "." segments dropped.
 * A ".." segment anywhere is refused (403), encoded or not, so no name can
 * leave the directory; a NUL or a bad escape is 400. *dir is set when the
 * path ends with '/'. Returns 0 or the HTTP status to answer with.
 */
static int clean_path(ws_str_t path, char *out, size_t cap, int *dir)
{
    char dec[MAX_PATH];
    size_t n = 0, o = 0;

    if (path.len == 0 || path.ptr[0] != '/')
        return 400;
    for (size_t i = 0; i < path.len; i++) {
        int ch = (unsigned char)path.ptr[i];
        if (ch == '%') {
            int hi = i + 2 < path.len ? hex(path.ptr[i + 1]) : -1;
            int lo = hi >= 0 ? hex(path.ptr[i + 2]) : -1;
            if (lo < 0)
                return 400;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0)
            return 400;
        if (n == sizeof dec)
            return 414;
        dec[n++] = (char)ch;
    }
    *dir = dec[n - 1] == '/';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && dec[j] != '/')
            j++;
        size_t len = j - i;
        if (len == 2 && dec[i] == '.' && dec[i + 1] == '.')
            return 403;
        if (len > 0 && !(len == 1 && dec[i] == '.')) {
            if (o + len + 2 > cap)
                return 414;
            if (o)
                out[o++] = '/';
            memcpy(out + o, dec + i, len);
            o += len;
        }
        i = j + 1;
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
    return 0;
}

static void serve_static(wsx_conn_t *c, const ws_request_t *req)
{
    char rel[MAX_PATH];
    const char *name = rel;
    struct stat st;
    int dir = 0, fd, status;

    if (!(c->flags & WSX_F_HEAD) &&
        !(req->method.len == 3 && memcmp(req->method.ptr, "GET", 3) == 0)) {
        wsx_http_error(c, 405);
        return;
    }
    if ((status = clean_path(req->path, rel, sizeof rel, &dir)) != 0) {
        wsx_http_error(c, status);
        return;
    }
    /* O_NONBLOCK: opening a FIFO must not hang the loop. */
    fd = openat(c->ep->static_fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!dir) { /* "/docs" -> "/docs/", so relative links work */
            char loc[MAX_PATH + 16];
            snprintf(loc, sizeof loc, "Location: %.*s/\r\n",
                     (int)req->path.len, req->path.ptr);
            close(fd);
            respond_error(c, 301, loc, NULL);
            return;
        }
        int index = openat(fd, "index.html", O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        close(fd);
        fd = index;
        name = "index.html";
    }
    /* "/file.txt/" names a directory that is not there. */
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (dir && name == rel)) {
        status = fd < 0 && errno == EACCES ? 403 : 404;
        if (fd >= 0)
            close(fd);
        wsx_http_error(c, status);
        return;
    }
    if (put_head(c, 200, content_type(name), NULL, (size_t)st.st_size) != 0) {
        close(fd);
        wsx_conn_kill(c);
        return;
    }
    if (st.st_size == 0 || (c->flags & WSX_F_HEAD)) {
        close(fd);
    } else if (wsx_out_file(c, fd, 0, (size_t)st.st_size) != 0) {
        close(fd);
        wsx_conn_kill(c);
        return;
    }
    c->flags |= WSX_F_ANSWERED;
    wsx_log(c, 1, "%.*s %.*s 200 %lld bytes", (int)req->method.len,
            req->method.ptr, (int)req->path.len, req->path.ptr,
            (long long)st.st_size);
    wsx_conn_finish(c);
}

void wsx_http_request(wsx_conn_t *c, const ws_request_t *req,
                      const char *body, size_t len)
{
    const wsx_endpoint_t *ep = c->ep;

    c->flags |= WSX_F_HTTP;
    if (req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0)
        c->flags |= WSX_F_HEAD;
    wsx_log(c, 2, "%.*s %.*s", (int)req->method.len, req->method.ptr,
            (int)req->target.len, req->target.ptr);
    if (ep->h.on_http && ep->h.on_http(c, req, body, len)) {
        if (!(c->flags & (WSX_F_ANSWERED | WSX_F_DEAD)))
            wsx_http_error(c, 500); /* it said it answered, but did not */
        return;
    }
    if (c->flags & (WSX_F_ANSWERED | WSX_F_DEAD))
        return;
    if (ep->static_fd >= 0)
        serve_static(c, req);
    else
        wsx_http_error(c, 404);
}
