/*
 * wscat — a command-line WebSocket client on libwsproto and examples/common.
 *
 * Each line of stdin goes out as a text message; each message received is
 * printed (text as it is, binary as hex or into a file). EOF on stdin or
 * Ctrl-C starts a clean close (1000) and waits, bounded, for the reply.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    EXIT_OK = 0,      /* closing handshake with 1000, 1001 or no code */
    EXIT_USAGE = 1,   /* bad options or URL, unreadable file */
    EXIT_CONNECT = 2, /* cannot connect, or the handshake failed */
    EXIT_PROTOCOL = 3 /* protocol error, abnormal or error close */
};

static const char usage[] =
    "usage: wscat [options] ws[s]://host[:port][/path]\n"
    "\n"
    "A WebSocket (RFC 6455) client. Each line read from stdin is sent as a\n"
    "text message; each message received is printed on stdout, text as it\n"
    "is and binary as hex, one message per line. At EOF on stdin, or on\n"
    "Ctrl-C, it closes with 1000 and waits for the server's close reply;\n"
    "the close code and reason received are printed on stderr.\n"
    "\n"
    "The URL: host is a name, an IPv4 address or [IPv6]; port defaults to\n"
    "80 (443 for wss://) and path to /. wss:// is WebSocket over TLS 1.2 or\n"
    "later: the server's certificate must chain to the system's CA store\n"
    "(or --ca FILE) and name host; SNI and ALPN http/1.1 are sent.\n"
    "\n"
    "  --binary FILE           first send the contents of FILE as one binary\n"
    "                          message, then read stdin as usual\n"
    "  --output FILE           append binary messages received to FILE, raw,\n"
    "                          instead of printing them as hex\n"
    "  --fragment N            send every message in fragments of N bytes\n"
    "  --subprotocol P         offer subprotocol P (repeatable; the server's\n"
    "                          choice is printed with --verbose)\n"
    "  --deflate               offer permessage-deflate (RFC 7692): when the\n"
    "                          server accepts it, messages of 128 bytes or\n"
    "                          more go out compressed (with --fragment too)\n"
    "                          and compressed ones are received; --verbose\n"
    "                          prints what the server agreed to\n"
    "  --origin ORIGIN         send an Origin header\n"
    "  --header 'Name: value'  send an extra header (repeatable)\n"
    "  --ping[=PAYLOAD]        send a ping once connected (payload up to 125\n"
    "                          bytes, default empty) and report the pong on\n"
    "                          stderr with its round-trip time; '--ping\n"
    "                          PAYLOAD' works too\n"
    "  --max-message BYTES     largest message accepted (default 16777216)\n"
    "  --connect-timeout SEC   give up connecting and handshaking after SEC\n"
    "                          seconds (default 10)\n"
    "  --close-timeout SEC     wait at most SEC seconds for the close reply\n"
    "                          (default 5)\n"
    "  --ca FILE               wss://: trust the PEM certificates in FILE\n"
    "                          instead of the system's CA store\n"
    "  --insecure              wss://: do not check the server's certificate\n"
    "                          at all (testing only)\n"
    "  --verbose, -v           say when connected, and with what\n"
    "  --help, -h              show this help\n"
    "\n"
    "Exit status:\n"
    "  0  the connection closed cleanly with 1000 (normal), 1001 (going\n"
    "     away) or no code\n"
    "  1  bad usage: options, URL, an unreadable --binary file\n"
    "  2  could not connect, or the opening handshake failed (e.g. \"wscat:\n"
    "     handshake failed: server answered 404 Not Found\"), the TLS one\n"
    "     too (e.g. \"TLS handshake failed: certificate verify failed:\n"
    "     certificate has expired\")\n"
    "  3  protocol error, connection lost without a closing handshake, close\n"
    "     timeout, or a close with any other code\n";

typedef struct app {
    wsx_conn_t *conn;
    wsx_watch_t *in;
    char *line; /* the unfinished line from stdin */
    size_t line_len, line_cap;
    unsigned long lineno;
    size_t fragment; /* 0: whole messages */
    char *file;      /* --binary contents */
    size_t file_len;
    FILE *output; /* --output, or NULL */
    const char *ping;
    uint64_t ping_sent;
    int verbose, opened, failed, status;
} app_t;

static app_t app;

/* ------------------------------------------------------------- sending */

/* One message, whole or in --fragment pieces. */
static int send_message(ws_opcode_t op, const char *data, size_t len)
{
    size_t off = 0;

    if (!app.fragment)
        return wsx_conn_send(app.conn, op, data, len);
    for (;;) {
        size_t n = len - off < app.fragment ? len - off : app.fragment;
        int fin = off + n == len;
        int r = wsx_conn_send_fragment(app.conn, op, fin, data + off, n);
        if (r != 0 || fin)
            return r;
        off += n;
    }
}

static void send_line(char *line, size_t len)
{
    int r;

    app.lineno++;
    if (len && line[len - 1] == '\r')
        len--;
    r = send_message(WS_OP_TEXT, line, len);
    if (r == WS_EUTF8)
        fprintf(stderr, "wscat: line %lu is not valid UTF-8: not sent\n",
                app.lineno);
    else if (r != 0)
        fprintf(stderr, "wscat: cannot send line %lu: %s\n", app.lineno,
                wsx_strerror(r));
}

static void start_close(void)
{
    if (app.in) {
        wsx_watch_stop(app.in);
        app.in = NULL;
    }
    if (app.conn && wsx_conn_is_open(app.conn))
        wsx_conn_close(app.conn, WS_CLOSE_NORMAL, NULL, 0);
}

/* stdin is readable: one read (it may be a blocking terminal or file). */
static void on_stdin(wsx_watch_t *in, int fd, unsigned ready, void *user)
{
    (void)ready;
    char buf[64 * 1024];
    ssize_t n = read(fd, buf, sizeof buf);
    char *p = buf, *nl;

    (void)in;
    (void)user;
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) { /* EOF: the last line may lack its newline */
        if (app.line_len)
            send_line(app.line, app.line_len);
        app.line_len = 0;
        start_close();
        return;
    }
    while ((nl = memchr(p, '\n', (size_t)(buf + n - p))) != NULL) {
        size_t len = (size_t)(nl - p);
        if (app.line_len) { /* finish the line begun in an earlier read */
            if (app.line_len + len > app.line_cap) {
                app.line_cap = app.line_len + len;
                if (!(app.line = realloc(app.line, app.line_cap)))
                    exit(EXIT_PROTOCOL);
            }
            memcpy(app.line + app.line_len, p, len);
            send_line(app.line, app.line_len + len);
            app.line_len = 0;
        } else {
            send_line(p, len);
        }
        p = nl + 1;
    }
    if (p < buf + n) { /* keep the unfinished line */
        size_t len = (size_t)(buf + n - p);
        if (app.line_len + len > app.line_cap) {
            app.line_cap = (app.line_len + len) * 2;
            if (!(app.line = realloc(app.line, app.line_cap)))
                exit(EXIT_PROTOCOL);
        }
        memcpy(app.line + app.line_len, p, len);
        app.line_len += len;
    }
    /* Backpressure: stop reading stdin until the server takes our data. */
    if (wsx_conn_queued(app.conn) > 1024 * 1024)
        wsx_watch_pause(app.in);
}

static void on_drain(wsx_conn_t *c)
{
    (void)c;
    if (app.in)
        wsx_watch_resume(app.in);
}

/* ----------------------------------------------------------- receiving */

static void print_hex(const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char buf[4096];
    size_t k = 0;

    for (size_t i = 0; i < len; i++) {
        buf[k++] = digits[p[i] >> 4];
        buf[k++] = digits[p[i] & 15];
        if (k == sizeof buf) {
            fwrite(buf, 1, k, stdout);
            k = 0;
        }
    }
    fwrite(buf, 1, k, stdout);
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    (void)c;
    if (op == WS_OP_BINARY && app.output) {
        if (fwrite(data, 1, len, app.output) != len || fflush(app.output)) {
            fprintf(stderr, "wscat: cannot write --output: %s\n",
                    strerror(errno));
            exit(EXIT_USAGE);
        }
        return;
    }
    if (op == WS_OP_TEXT)
        fwrite(data, 1, len, stdout);
    else
        print_hex(data, len);
    putchar('\n');
    fflush(stdout);
}

static void on_pong(wsx_conn_t *c, const uint8_t *data, size_t len)
{
    double ms = (double)(wsx_loop_now(wsx_conn_loop(c)) - app.ping_sent);
    fprintf(stderr, "wscat: pong \"%.*s\" (%zu bytes) after %.0f ms\n",
            (int)len, (const char *)data, len, ms);
}

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    char tls[128];
    const char *sec = wsx_conn_tls(c, tls, sizeof tls);
    int ext = wsx_conn_deflate(c) != NULL;

    app.opened = 1;
    if (app.verbose)
        fprintf(stderr, "wscat: connected%s%s%s%s%s%.*s\n", sec ? ", " : "",
                sec ? sec : "", wsx_conn_protocol(c) ? ", subprotocol " : "",
                wsx_conn_protocol(c) ? wsx_conn_protocol(c) : "",
                ext ? ", extensions " : "", ext ? (int)resp->extensions.len : 0,
                ext ? resp->extensions.ptr : "");
    if (app.file) {
        int r = send_message(WS_OP_BINARY, app.file, app.file_len);
        if (r != 0)
            fprintf(stderr, "wscat: cannot send --binary: %s\n",
                    wsx_strerror(r));
        free(app.file);
        app.file = NULL;
    }
    if (app.ping) {
        app.ping_sent = wsx_loop_now(wsx_conn_loop(c));
        wsx_conn_ping(c, app.ping, strlen(app.ping));
    }
    app.in = wsx_watch_start(wsx_conn_loop(c), 0, WSX_READABLE, on_stdin, NULL);
    if (!app.in) {
        fprintf(stderr, "wscat: cannot read stdin: %s\n", strerror(errno));
        start_close();
    }
}

static void on_error(wsx_conn_t *c, int err, const char *msg)
{
    (void)c;
    (void)err;
    fprintf(stderr, "wscat: %s\n", msg);
    app.failed = 1;
    app.status = app.opened ? EXIT_PROTOCOL : EXIT_CONNECT;
    if (app.in) {
        wsx_watch_stop(app.in);
        app.in = NULL;
    }
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    (void)c;
    if (!app.failed) { /* a close frame came: say what it said */
        if (len)
            fprintf(stderr, "wscat: close %u \"%.*s\"\n", code, (int)len,
                    reason);
        else
            fprintf(stderr, "wscat: close %u\n", code);
        app.status = code == WS_CLOSE_NORMAL || code == WS_CLOSE_GOING_AWAY ||
                             code == WS_CLOSE_NO_STATUS
                         ? EXIT_OK
                         : EXIT_PROTOCOL;
    }
    if (app.in) {
        wsx_watch_stop(app.in);
        app.in = NULL;
    }
    app.conn = NULL;
}

/* Ctrl-C: the first one closes cleanly, a second one gives up. */
static void on_signal(wsx_loop_t *loop, int signo, void *user)
{
    static int count;
    (void)signo;
    (void)user;
    if (++count == 1 && app.conn && app.opened) {
        start_close();
        return;
    }
    if (!app.opened)
        fprintf(stderr, "wscat: interrupted before the connection opened\n");
    if (!app.failed)
        app.status = app.opened ? EXIT_PROTOCOL : EXIT_CONNECT;
    wsx_loop_stop(loop);
}

/* ------------------------------------------------------------- options */

static void die_usage(const char *fmt, const char *arg)
{
    fputs("wscat: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (try --help)\n", stderr);
    exit(EXIT_USAGE);
}

/* Would the library send this part of a request? The check wsx_connect()
 * makes, asked one option at a time so that the error can name it. */
static int request_part_ok(ws_client_request_t part)
{
    static const char key[] = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 §1.3 */
    part.host = "h";
    return ws_handshake_build_request(&part, key, NULL, 0) != WS_EINVAL;
}

static void die_file(const char *what, const char *path)
{
    fprintf(stderr, "wscat: %s '%s': %s\n", what, path, strerror(errno));
    exit(EXIT_USAGE);
}

static void bad_url(const char *url)
{
    fprintf(stderr, "wscat: bad URL '%s': %s (try --help)\n", url,
            wsx_url_problem(url));
    exit(EXIT_USAGE);
}

static char *read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    ssize_t r;

    if (fd < 0 || !buf) {
        free(buf);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    while ((r = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)r;
        if (n == cap) {
            char *p = realloc(buf, cap *= 2);
            if (!p) {
                r = -1;
                break;
            }
            buf = p;
        }
    }
    close(fd);
    if (r < 0) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* "a" + "b" -> "a, b" (Sec-WebSocket-Protocol) or "a\r\nb\r\n" (headers). */
static char *append(char *list, const char *item, const char *sep)
{
    size_t old = list ? strlen(list) : 0;
    char *p = realloc(list, old + strlen(sep) + strlen(item) + 3);
    if (!p)
        exit(EXIT_USAGE);
    if (!strcmp(sep, "\r\n"))
        sprintf(p + old, "%s\r\n", item);
    else
        sprintf(p + old, "%s%s", old ? sep : "", item);
    return p;
}

static int seconds(const char *s)
{
    int ms;
    if (wsx_parse_seconds(s, &ms) != 0 || ms == 0)
        die_usage("bad number of seconds '%s'", s);
    return ms;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"binary", required_argument, NULL, 'b'},
        {"output", required_argument, NULL, 'o'},
        {"fragment", required_argument, NULL, 'f'},
        {"subprotocol", required_argument, NULL, 'P'},
        {"deflate", no_argument, NULL, 'D'},
        {"origin", required_argument, NULL, 'O'},
        {"header", required_argument, NULL, 'H'},
        {"ping", optional_argument, NULL, 'p'},
        {"max-message", required_argument, NULL, 'm'},
        {"connect-timeout", required_argument, NULL, 't'},
        {"close-timeout", required_argument, NULL, 'T'},
        {"ca", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'I'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    wsx_client_req_t req = {0};
    static ws_pmd_config_t deflate;
    wsx_opts_t opts = {0};
    wsx_handler_t h = {.on_open = on_open,
                       .on_message = on_message,
                       .on_pong = on_pong,
                       .on_close = on_close,
                       .on_error = on_error,
                       .on_drain = on_drain};
    char *protocols = NULL, *headers = NULL;
    const char *ca = NULL;
    unsigned long long num;
    int opt, err, insecure = 0;

    while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (!(app.file = read_file(optarg, &app.file_len)))
                die_file("cannot read --binary file", optarg);
            break;
        case 'o':
            if (!(app.output = fopen(optarg, "ab")))
                die_file("cannot open --output file", optarg);
            break;
        case 'f':
            if (wsx_parse_uint(optarg, SIZE_MAX, &num) != 0 || num == 0)
                die_usage("bad --fragment size '%s'", optarg);
            app.fragment = (size_t)num;
            break;
        case 'P':
            if (!request_part_ok((ws_client_request_t){.protocols = optarg}))
                die_usage("bad --subprotocol '%s': it must be a token "
                          "(letters, digits and !#$%%&'*+-.^_`|~)",
                          optarg);
            protocols = append(protocols, optarg, ", ");
            break;
        case 'D':
            ws_pmd_config_init(&deflate);
            opts.deflate = &deflate;
            break;
        case 'O':
            if (!request_part_ok((ws_client_request_t){.origin = optarg}))
                die_usage("bad --origin '%s': printable characters only, "
                          "no spaces",
                          optarg);
            req.origin = optarg;
            break;
        case 'H':
            headers = append(headers, optarg, "\r\n");
            if (!request_part_ok(
                    (ws_client_request_t){.extra_headers = headers}))
                die_usage("bad --header '%s': it must be 'Name: value'",
                          optarg);
            break;
        case 'p':
            /* "--ping PAYLOAD": take the next word unless it is the URL */
            if (!optarg && optind < argc && argv[optind][0] != '-' &&
                strncasecmp(argv[optind], "ws://", 5) != 0 &&
                strncasecmp(argv[optind], "wss://", 6) != 0)
                optarg = argv[optind++];
            app.ping = optarg ? optarg : "";
            if (strlen(app.ping) > WS_MAX_CONTROL_PAYLOAD)
                die_usage("--ping payload '%s' is over 125 bytes", app.ping);
            break;
        case 'm':
            if (wsx_parse_uint(optarg, UINT64_MAX, &num) != 0 || num == 0)
                die_usage("bad --max-message '%s'", optarg);
            opts.max_message = num;
            break;
        case 't':
            opts.handshake_timeout = seconds(optarg);
            break;
        case 'T':
            opts.close_timeout = seconds(optarg);
            break;
        case 'A':
            ca = optarg;
            break;
        case 'I':
            insecure = 1;
            break;
        case 'v':
            app.verbose = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return EXIT_OK;
        default:
            fputs("try 'wscat --help'\n", stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1)
        die_usage("%s", optind < argc ? "give exactly one URL" : "no URL");
    req.protocols = protocols;
    req.extra_headers = headers;
    if (wsx_opts_tls_client(&opts, "wscat", argv[optind], ca, insecure) != 0)
        return EXIT_USAGE;

    wsx_loop_t *loop = wsx_process_setup() == 0 ? wsx_loop_new() : NULL;
    if (!loop) {
        fprintf(stderr, "wscat: cannot start: %s\n", strerror(errno));
        return EXIT_CONNECT;
    }
    wsx_loop_on_signal(loop, on_signal, NULL);
    app.conn = wsx_connect(loop, argv[optind], &req, &opts, &h, NULL, &err);
    if (!app.conn) {
        if (err == WSX_EURL)
            bad_url(argv[optind]);
        if (err == WS_EINVAL) /* the options were checked: the URL's path */
            die_usage("bad URL '%s': its path holds characters that cannot "
                      "be sent (spaces, controls)",
                      argv[optind]);
        fprintf(stderr, "wscat: cannot connect to %s: %s\n", argv[optind],
                wsx_strerror(err));
        return EXIT_CONNECT;
    }
    app.status = EXIT_PROTOCOL; /* until a close says otherwise */
    if (wsx_loop_run(loop) != 0)
        fprintf(stderr, "wscat: event loop failed: %s\n", strerror(errno));
    wsx_watch_stop(app.in);
    wsx_loop_free(loop);
    wsx_tls_free(opts.tls);
    free(protocols);
    free(headers);
    free(app.line);
    free(app.file);
    if (app.output)
        fclose(app.output);
    return app.status;
}
