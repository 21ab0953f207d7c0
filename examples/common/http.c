/*
 * http.c — plain HTTP on the WebSocket port: the application's own
 * handler first, then static files (GET/HEAD, sanitised paths, no
 * symbolic links, index.html, Content-Type by extension, sendfile), else
 * 404. One request per connection ("Connection: close"), which every
 * client handles.
 */
#define _GNU_SOURCE
#include "wsx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATH 1024
/* "Location: " and the escaped path and query; longer is a 414. */
#define MAX_LOCATION 4096
/* Every static file is opened so: O_NONBLOCK, or a FIFO would hang the
 * loop; O_NOFOLLOW, see open_beneath(). */
#define FILE_FLAGS (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

const char *wsx_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
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
    respond_error(c, status,
                  status == 405   ? "Allow: GET, HEAD\r\n"
                  : status == 503 ? "Retry-After: 1\r\n"
                                  : NULL,
                  reason);
}

/* How many fields called name the head has. Its lines were checked by
 * ws_handshake_parse_request: after the request line each is
 * "token:value", so a field's name is the start of a line. */
static unsigned count_fields(const ws_request_t *req, const char *name)
{
    const char *p = req->head, *end = req->head + req->head_len;
    const char *nl = memchr(p, '\n', req->head_len);
    size_t n = strlen(name);
    unsigned count = 0;

    while (nl && (p = nl + 1) < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if ((size_t)(end - p) > n && p[n] == ':' &&
            strncasecmp(p, name, n) == 0)
            count++;
    }
    return count;
}

/*
 * RFC 7230 §3.3.3 (4): a recipient may accept a Content-Length repeated
 * with equal values; we do not. A second Content-Length field, or a list
 * ("5, 5"), is a 400 whatever the values, so that a proxy in front of us
 * can never take the body to end elsewhere (request smuggling). The value
 * is 1*DIGIT (§3.3.2).
 */
int wsx_http_body_length(const ws_request_t *req, size_t *len)
{
    ws_str_t v;
    size_t body = 0;

    *len = 0;
    if (!ws_header_find(req->head, req->head_len, "Content-Length", &v))
        return 0;
    if (v.len == 0 || count_fields(req, "Content-Length") != 1)
        return 400;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return 400;
        if (body > WSX_MAX_HTTP_BODY) /* before it could overflow */
            return 413;
        body = body * 10 + (size_t)(v.ptr[i] - '0');
    }
    if (body > WSX_MAX_HTTP_BODY)
        return 413;
    *len = body;
    return 0;
}

/* ---------------------------------------------------------- static files */

int wsx_http_check_static(const char *prog, const char *what, const char *dir)
{
    int fd;

    if (!dir)
        return 0;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: %s %s: %s\n", prog, what, dir, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

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

/*
 * Open rel (from clean_path: no "..", no empty segments) beneath the
 * directory root, refusing every symbolic link: each component is opened
 * relative to its parent's descriptor with O_NOFOLLOW, so a link ends the
 * walk with ELOOP or ENOTDIR whether it leads to /etc or next door.
 * Not realpath() and a prefix check: that resolves a name, then opens it
 * again, and a link swapped in between wins; the walk checks what it
 * opens. Not openat2(RESOLVE_BENEATH), which would let links that stay
 * inside work: it needs Linux 5.6, some container seccomp profiles refuse
 * it, and a fallback would make what is served depend on the kernel. One
 * rule everywhere is easier to predict and to test. Returns a descriptor,
 * or -1 with errno set.
 */
static int open_beneath(int root, const char *rel)
{
    char name[NAME_MAX + 1];
    int dir = root, fd = -1, err;

    for (;;) {
        size_t n = strcspn(rel, "/");
        if (n > NAME_MAX) {
            err = ENAMETOOLONG;
            break;
        }
        memcpy(name, rel, n);
        name[n] = '\0';
        /* O_PATH: directories on the way need search permission only. */
        fd = openat(dir, name,
                    rel[n] ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                           : FILE_FLAGS);
        err = errno;
        if (dir != root)
            close(dir);
        if (fd < 0 || !rel[n])
            break;
        dir = fd;
        rel += n + 1;
    }
    errno = err;
    return fd;
}

/* Why a file could not be opened, as the status to answer with. */
static int open_error_status(int err)
{
    switch (err) {
    case EACCES:
    case EPERM:
        return 403;
    /* Our limits, not the file's: the same request may work in a moment
     * (RFC 7231 §6.6.4). */
    case EMFILE:
    case ENFILE:
    case ENOMEM:
        return 503;
    default: /* ENOENT, ENOTDIR, ELOOP (a symbolic link), ... */
        return 404;
    }
}

/* RFC 3986 §3.3: the characters a path segment holds without escape. */
static int is_pchar(int ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || (ch && strchr("-._~!$&'()*+,;=:@", ch));
}

/* Append s[0..n) to out[*o..cap), percent-encoding every byte that is
 * neither a pchar nor in keep. 0, or -1 when it does not fit (with room
 * for a NUL). */
static int put_escaped(char *out, size_t cap, size_t *o, const char *s,
                       size_t n, const char *keep)
{
    static const char digits[] = "0123456789ABCDEF";

    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (*o + 3 >= cap)
            return -1;
        if (is_pchar(ch) || (ch && strchr(keep, ch))) {
            out[(*o)++] = (char)ch;
        } else {
            out[(*o)++] = '%';
            out[(*o)++] = digits[ch >> 4];
            out[(*o)++] = digits[ch & 15];
        }
    }
    return 0;
}

/*
 * "/docs" -> 301 "/docs/", so that relative links work. The Location is
 * built from the cleaned path, escaped again, never from the bytes as
 * sent: "//sub/" would be a network-path reference (RFC 3986 §4.2) that
 * takes the browser to the host "sub". The query is kept; its escapes are
 * the client's, so '%' stays. Too long for MAX_LOCATION: 414.
 */
static void redirect_to_dir(wsx_conn_t *c, const char *rel, ws_str_t query)
{
    char loc[MAX_LOCATION];
    size_t o = sizeof "Location: /" - 1;
    int ok = 1;

    memcpy(loc, "Location: /", o);
    if (strcmp(rel, ".") != 0)
        ok = put_escaped(loc, sizeof loc, &o, rel, strlen(rel), "/") == 0 &&
             put_escaped(loc, sizeof loc, &o, "/", 1, "/") == 0;
    if (ok && query.len)
        ok = put_escaped(loc, sizeof loc, &o, "?", 1, "?") == 0 &&
             put_escaped(loc, sizeof loc, &o, query.ptr, query.len, "/?%") == 0;
    if (!ok || o + 3 > sizeof loc) {
        wsx_http_error(c, 414);
        return;
    }
    memcpy(loc + o, "\r\n", 3);
    respond_error(c, 301, loc, NULL);
}

/* The 200 for an open regular file, which goes out with sendfile. */
static void send_file(wsx_conn_t *c, const ws_request_t *req, int fd,
                      const struct stat *st, const char *name)
{
    if (put_head(c, 200, content_type(name), NULL, (size_t)st->st_size)) {
        close(fd);
        wsx_conn_kill(c);
        return;
    }
    if (st->st_size == 0 || (c->flags & WSX_F_HEAD)) {
        close(fd);
    } else if (wsx_out_file(c, fd, 0, (size_t)st->st_size) != 0) {
        close(fd);
        wsx_conn_kill(c);
        return;
    }
    c->flags |= WSX_F_ANSWERED;
    wsx_log(c, 1, "%.*s %.*s 200 %lld bytes", (int)req->method.len,
            req->method.ptr, (int)req->path.len, req->path.ptr,
            (long long)st->st_size);
    wsx_conn_finish(c);
}

static void serve_static(wsx_conn_t *c, const ws_request_t *req)
{
    char rel[MAX_PATH];
    const char *name = rel;
    struct stat st;
    int dir = 0, fd, status, err;

    if (!(c->flags & WSX_F_HEAD) &&
        !(req->method.len == 3 && memcmp(req->method.ptr, "GET", 3) == 0)) {
        wsx_http_error(c, 405);
        return;
    }
    if ((status = clean_path(req->path, rel, sizeof rel, &dir)) != 0) {
        wsx_http_error(c, status);
        return;
    }
    fd = open_beneath(c->ep->static_fd, rel);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!dir) {
            close(fd);
            redirect_to_dir(c, rel, req->query);
            return;
        }
        int index = open_beneath(fd, "index.html");
        err = errno;
        close(fd);
        fd = index;
        errno = err;
        name = "index.html";
    }
    /* "/file.txt/" names a directory that is not there. */
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        (dir && name == rel)) {
        status = fd < 0 ? open_error_status(errno) : 404;
        if (fd >= 0)
            close(fd);
        wsx_http_error(c, status);
        return;
    }
    send_file(c, req, fd, &st, name);
}

void wsx_http_request(wsx_conn_t *c, const ws_request_t *req, const char *body,
                      size_t len)
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
