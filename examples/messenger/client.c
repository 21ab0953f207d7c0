/*
 * messenger-client — the messenger from the command line (PROTOCOL.md).
 * Associates with --id, then reads commands from stdin, one per line, so
 * it works at a terminal and in scripts alike:
 *
 *   send <to> <text>   push a message to client <to>
 *   get                fetch the oldest message waiting for us
 *   getall             fetch until the buffer is empty
 *   quit               close and exit (so does end of input)
 *
 * Results are plain lines on stdout; errors go to stderr. Commands run one
 * at a time: the next is read when the server has answered the last.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER 5
#define MAX_PAYLOAD 254
#define LINE_MAX_LEN 4096

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_CONNECT = 2,
    EXIT_LOST = 3,
    EXIT_FAILED = 4 /* the session ran, but some command failed */
};

typedef struct client {
    wsx_loop_t *loop;
    wsx_conn_t *conn;
    wsx_watch_t *input;
    int id;
    int verbose;
    int associated;
    int waiting;    /* a request is out: do not read the next command */
    int getall;     /* inside a getall: messages fetched so far, + 1 */
    int quit;       /* "quit" read: close when nothing is waiting */
    int input_done; /* end of input: close once every line has run */
    int exit_code;
    unsigned failed; /* commands that failed, here or at the server */
    char line[LINE_MAX_LEN];
    size_t line_len;
    int line_too_long;
} client_t;

static void trace(const client_t *cl, const char *dir, const uint8_t *p,
                  size_t n)
{
    if (!cl->verbose)
        return;
    fprintf(stderr, "%s", dir);
    for (size_t i = 0; i < n && i < 32; i++)
        fprintf(stderr, " %02x", p[i]);
    fprintf(stderr, "%s\n", n > 32 ? " ..." : "");
}

static void send_packet(client_t *cl, int type, int code, int receiver,
                        const void *payload, size_t len)
{
    uint8_t p[HEADER + MAX_PAYLOAD] = {(uint8_t)type, (uint8_t)code,
                                       (uint8_t)cl->id, (uint8_t)receiver,
                                       (uint8_t)len};
    if (len)
        memcpy(p + HEADER, payload, len);
    trace(cl, "->", p, HEADER + len);
    cl->waiting = 1;
    if (cl->input)
        wsx_watch_pause(cl->input);
    wsx_conn_send_binary(cl->conn, p, HEADER + len);
}

static void finish(client_t *cl, int code)
{
    if (cl->exit_code == EXIT_OK)
        cl->exit_code = code;
    if (wsx_conn_is_open(cl->conn))
        wsx_conn_close(cl->conn, WS_CLOSE_NORMAL, NULL, 0);
    if (cl->input) {
        wsx_watch_stop(cl->input);
        cl->input = NULL;
    }
}

/* ---------------------------------------------------------------- commands */

/* A command that failed: "error: ..." on stderr, and a non-zero exit. */
static void command_failed(client_t *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void command_failed(client_t *cl, const char *fmt, ...)
{
    va_list ap;
    cl->failed++;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int parse_id(const char *s, int *id)
{
    unsigned long long v;
    if (wsx_parse_uint(s, 255, &v) != 0)
        return -1;
    *id = (int)v;
    return 0;
}

static void command(client_t *cl, char *line)
{
    char *rest = line, *cmd = wsx_next_word(&rest, " \t");
    if (!cmd)
        return; /* blank line */
    if (!strcmp(cmd, "send")) {
        char *to_s = wsx_next_word(&rest, " \t");
        size_t len = strlen(rest); /* the text: the rest of the line */
        int to;
        if (!to_s)
            command_failed(cl, "usage: send <to 0-255> <text>");
        else if (parse_id(to_s, &to) != 0)
            command_failed(cl,
                           "the receiver must be a number from 0 to "
                           "255, not '%s'",
                           to_s);
        else if (len == 0)
            command_failed(cl,
                           "nothing to send to %d: send <to> <text> "
                           "(the text cannot be empty)",
                           to);
        else if (len > MAX_PAYLOAD)
            command_failed(cl, "the message is %zu bytes; at most %d fit", len,
                           MAX_PAYLOAD);
        else
            send_packet(cl, 2, 1, to, rest, len);
    } else if (!strcmp(cmd, "get")) {
        send_packet(cl, 1, 0, 0, NULL, 0);
    } else if (!strcmp(cmd, "getall")) {
        cl->getall = 1;
        send_packet(cl, 1, 0, 0, NULL, 0);
    } else if (!strcmp(cmd, "quit")) {
        cl->quit = 1;
    } else {
        command_failed(cl, "unknown command '%s' (send, get, getall, quit)",
                       cmd);
    }
}

/* Run buffered commands until one is waiting for its answer. */
static void run_commands(client_t *cl)
{
    while (!cl->waiting && !cl->quit) {
        char *nl = memchr(cl->line, '\n', cl->line_len);
        if (!nl)
            break;
        size_t n = (size_t)(nl - cl->line);
        *nl = '\0';
        if (n && cl->line[n - 1] == '\r')
            cl->line[n - 1] = '\0';
        if (cl->line_too_long)
            command_failed(cl, "line too long, ignored");
        else
            command(cl, cl->line);
        cl->line_too_long = 0;
        memmove(cl->line, nl + 1, cl->line_len - n - 1);
        cl->line_len -= n + 1;
    }
    if (cl->waiting)
        return;
    if (cl->quit || (cl->input_done && !memchr(cl->line, '\n', cl->line_len)))
        finish(cl, EXIT_OK);
    else if (cl->input && cl->associated)
        wsx_watch_resume(cl->input);
}

static void on_stdin(wsx_watch_t *in, int fd, unsigned ready, void *user)
{
    (void)ready;
    client_t *cl = user;
    (void)in;
    if (cl->line_len == sizeof cl->line) { /* a line longer than the buffer */
        cl->line_too_long = 1;
        cl->line_len = 0;
    }
    ssize_t n =
        read(fd, cl->line + cl->line_len, sizeof cl->line - cl->line_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        /* A last line without its newline still counts. */
        if (cl->line_len && cl->line_len < sizeof cl->line)
            cl->line[cl->line_len++] = '\n';
        wsx_watch_stop(cl->input);
        cl->input = NULL;
        cl->input_done = 1;
        if (cl->associated)
            run_commands(cl);
        return;
    }
    cl->line_len += (size_t)n;
    run_commands(cl);
}

/* ---------------------------------------------------------------- replies */

static void on_reply(client_t *cl, const uint8_t *p, size_t n)
{
    int type = p[0], code = p[1];
    if (type == 0 && code == 1) {
        cl->associated = 1;
        printf("associated as %d\n", p[3]);
    } else if (type == 0 && code == 2) {
        fprintf(stderr,
                "messenger-client: cannot associate as %d: the ID is in use\n",
                p[3]);
        finish(cl, EXIT_CONNECT);
        return;
    } else if (type == 0 && code == 3) {
        cl->failed++;
        printf("error: the server answered UNKNOWNERROR\n");
    } else if (type == 1 && code == 2) {
        printf("sent\n");
    } else if (type == 1 && code == 3) {
        cl->failed++;
        printf("not sent: the receiver's buffer is full\n");
    } else if (type == 2 && code == 0) {
        printf("from %d: %.*s\n", p[2], (int)(n - HEADER),
               (const char *)p + HEADER);
        if (cl->getall) {
            cl->getall++;
            fflush(stdout);
            send_packet(cl, 1, 0, 0, NULL, 0);
            return;
        }
    } else if (type == 1 && code == 1) {
        if (cl->getall)
            printf("%d message%s\n", cl->getall - 1,
                   cl->getall == 2 ? "" : "s");
        else
            printf("buffer empty\n");
        cl->getall = 0;
    } else {
        cl->failed++;
        printf("error: unexpected packet %d/%d from the server\n", type, code);
    }
    fflush(stdout);
    cl->waiting = 0;
    run_commands(cl);
}

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    client_t *cl = wsx_conn_ctx(c);
    if (cl->verbose && wsx_conn_deflate(c))
        fprintf(stderr, "messenger-client: permessage-deflate: %.*s\n",
                (int)resp->extensions.len, resp->extensions.ptr);
    send_packet(cl, 0, 0, 0, NULL, 0); /* ASSOCIATE as cl->id */
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    client_t *cl = wsx_conn_ctx(c);
    trace(cl, "<-", data, len);
    if (op != WS_OP_BINARY || len < HEADER || data[4] != len - HEADER) {
        fprintf(
            stderr,
            "messenger-client: the server sent something that is not a packet\n");
        finish(cl, EXIT_LOST);
        return;
    }
    on_reply(cl, data, len);
}

static void on_error(wsx_conn_t *c, int err, const char *msg)
{
    client_t *cl = wsx_conn_ctx(c);
    (void)err;
    fprintf(stderr, "messenger-client: %s\n", msg);
    if (cl->exit_code == EXIT_OK)
        cl->exit_code =
            wsx_conn_is_open(c) || cl->associated ? EXIT_LOST : EXIT_CONNECT;
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    client_t *cl = wsx_conn_ctx(c);
    if (code != WS_CLOSE_NORMAL && cl->exit_code == EXIT_OK) {
        fprintf(stderr, "messenger-client: connection closed: %u %.*s\n", code,
                (int)len, reason);
        cl->exit_code = EXIT_LOST;
    }
    if (cl->input) {
        wsx_watch_stop(cl->input);
        cl->input = NULL;
    }
    wsx_loop_stop(cl->loop);
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: messenger-client [--url ws[s]://HOST:PORT/] --id N [options]\n"
        "\n"
        "Associates with the messenger server as client N (0-255), then reads\n"
        "commands from stdin, one per line:\n"
        "  send <to> <text>   push <text> (UTF-8, 1 to 254 bytes) to client <to>\n"
        "  get                fetch the oldest message waiting for you\n"
        "  getall             fetch messages until the buffer is empty\n"
        "  quit               close and exit (end of input does the same)\n"
        "\n"
        "Prints one line per result: 'associated as N', 'sent', 'not sent: the\n"
        "receiver's buffer is full', 'from S: text', 'buffer empty', 'K messages'.\n"
        "\n"
        "  --url URL    the server (default ws://127.0.0.1:12345/); wss:// is TLS,\n"
        "               the certificate checked against the system's CA store\n"
        "  --id N       the client ID to associate as (required)\n"
        "  --ca FILE    wss://: trust the PEM certificates in FILE instead\n"
        "  --insecure   wss://: do not check the certificate (testing only)\n"
        "  --deflate    offer permessage-deflate (RFC 7692); packets of 128 bytes\n"
        "               or more then go out compressed if the server agrees\n"
        "  --verbose    print every packet sent (->) and received (<-) to stderr\n"
        "  --help       this text\n"
        "\n"
        "Exit status: 0 every command done, 1 usage, 2 cannot connect or\n"
        "associate, 3 connection lost or closed by the server, 4 some command\n"
        "failed (a bad command, BUFFERFULL, UNKNOWNERROR; each said on stderr or\n"
        "stdout as it happened).\n");
}

/* One line, then where to find more. */
static int bad_usage(const char *fmt, const char *arg)
{
    return wsx_usage_error("messenger-client", EXIT_USAGE, fmt, arg);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"id", required_argument, NULL, 'i'},
        {"ca", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'I'},
        {"deflate", no_argument, NULL, 'D'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static client_t cl = {.id = -1};
    static ws_pmd_config_t deflate;
    wsx_opts_t o = {.max_message = 64 * 1024};
    const char *url = "ws://127.0.0.1:12345/", *ca = NULL;
    int opt, err = 0, insecure = 0;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            url = optarg;
            break;
        case 'i':
            if (parse_id(optarg, &cl.id) != 0)
                return bad_usage("--id is a number from 0 to 255, not '%s'",
                                 optarg);
            break;
        case 'D':
            ws_pmd_config_init(&deflate);
            o.deflate = &deflate;
            break;
        case 'A':
            ca = optarg;
            break;
        case 'I':
            insecure = 1;
            break;
        case 'v':
            cl.verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return bad_usage(NULL, NULL); /* getopt said what */
        }
    }
    if (optind != argc)
        return bad_usage("unexpected argument '%s'", argv[optind]);
    if (cl.id < 0)
        return bad_usage("%s", "--id N is required");

    if (wsx_opts_tls_client(&o, "messenger-client", url, ca, insecure) != 0)
        return EXIT_USAGE;

    cl.loop = wsx_process_setup() == 0 ? wsx_loop_new() : NULL;
    if (!cl.loop) {
        perror("messenger-client");
        return EXIT_CONNECT;
    }
    wsx_handler_t h = {.on_open = on_open,
                       .on_message = on_message,
                       .on_error = on_error,
                       .on_close = on_close};
    cl.conn = wsx_connect(cl.loop, url, NULL, &o, &h, &cl, &err);
    if (!cl.conn && err == WSX_EURL) {
        fprintf(stderr, "messenger-client: bad --url '%s': %s\n", url,
                wsx_url_problem(url));
        return bad_usage(NULL, NULL);
    }
    if (!cl.conn) {
        fprintf(stderr, "messenger-client: %s: %s\n", url, wsx_strerror(err));
        return EXIT_CONNECT;
    }
    /* Commands are read once associated (the input starts paused by the
     * ASSOCIATE in flight). */
    cl.input =
        wsx_watch_start(cl.loop, STDIN_FILENO, WSX_READABLE, on_stdin, &cl);
    if (!cl.input) {
        perror("messenger-client: stdin");
        return EXIT_USAGE;
    }
    wsx_watch_pause(cl.input);
    wsx_loop_run(cl.loop);
    wsx_watch_stop(cl.input);
    wsx_loop_free(cl.loop);
    wsx_tls_free(o.tls);
    if (cl.exit_code == EXIT_OK && cl.failed)
        return EXIT_FAILED;
    return cl.exit_code;
}
