/*
 * rooms-client — the command-line client of rooms-server (PROTOCOL.md):
 *
 *   rooms-client chat NAME             stage 1: broadcast chat
 *   rooms-client create ROOM NAME      stage 2: a new room, as its host
 *   rooms-client join ROOM NAME        stage 2: an existing room
 *
 * Lines typed (or piped) are sent; what arrives is printed, one line each:
 * "NAME: TEXT" for chat, "* TEXT" for notices. In a room, /leave, /kick
 * NAME, /close and /quit are commands; the end of input is /leave.
 */
#define _GNU_SOURCE
#include "dgram.h"
#include "json.h"
#include "tcrp.h"
#include "wsx.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROG "rooms-client"
#define TCRP_TIMEOUT_MS 5000
#define MAX_ANSWER (64u * 1024u)

typedef struct client {
    wsx_loop_t *loop;
    const char *host, *password;
    int chat_port, udp_port, tcp_port;
    int heartbeat_ms;
    int fd; /* the UDP socket: one address for the whole session */
    struct sockaddr_storage to;
    socklen_t to_len;
    const char *name, *room;
    char token[256];
    size_t token_len;
    int in_room;
    int status; /* the exit status */
    int done;   /* finished: no more lines are read */
    char entered[1024]; /* what enter_room() has to say */
    char line[DGRAM_MAX + 2];
    size_t line_len;
    uint8_t answers[MAX_ANSWER]; /* of the last TCRP transaction */
} client_t;

/* ------------------------------------------------------------- sockets */

/* A socket of `type` connected to host:port (UDP: its peer fixed, so that
 * every datagram leaves from one address). -1 with a message printed. */
static int open_socket(client_t *c, int port, int type)
{
    struct addrinfo hints = {.ai_socktype = type}, *ai;
    char serv[8];
    snprintf(serv, sizeof serv, "%d", port);
    int e = getaddrinfo(c->host, serv, &hints, &ai);
    if (e != 0) {
        fprintf(stderr, PROG ": %s: %s\n", c->host, gai_strerror(e));
        return -1;
    }
    int fd = socket(ai->ai_family, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, PROG ": cannot connect to %s port %d: %s\n", c->host,
                port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Read until the server closes (it does after its answers), at most
 * MAX_ANSWER bytes, within TCRP_TIMEOUT_MS. The length, or -1. */
static long read_all(int fd, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    while (len < cap) {
        if (poll(&p, 1, TCRP_TIMEOUT_MS) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    return (long)len;
}

/* One TCRP transaction over TCP: the request, the answers. The state 1
 * JSON into doc (its text in `text`), the token (state 2) into c->token.
 * Returns the status, or -1 with a message printed. */
static int transact(client_t *c, unsigned op, const char *payload,
                    json_doc_t *doc, json_tok_t *toks, size_t ntoks,
                    uint8_t *answers)
{
    uint8_t req[TCRP_HEADER_LEN + 255 + 2048];
    long n = tcrp_encode(req, sizeof req, op, TCRP_REQUEST, c->room,
                         c->room ? strlen(c->room) : 0, payload,
                         strlen(payload));
    int fd = open_socket(c, c->tcp_port, SOCK_STREAM);
    if (n < 0 || fd < 0) {
        if (n < 0)
            fprintf(stderr, PROG ": the room name is over 255 bytes\n");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    long got = send(fd, req, (size_t)n, MSG_NOSIGNAL) == n
                   ? read_all(fd, answers, MAX_ANSWER)
                   : -1;
    close(fd);
    tcrp_msg_t m;
    long at = got > 0 ? tcrp_parse(answers, (size_t)got, MAX_ANSWER, &m) : -1;
    int64_t status;
    if (at <= 0 || m.state != TCRP_RESPONSE ||
        json_parse(doc, (const char *)m.payload, m.payload_len, toks, ntoks,
                   NULL) != 0 ||
        json_int64(doc, json_find(doc, 0, "status"), &status) != 0) {
        fprintf(stderr, PROG ": no valid answer from %s port %d\n", c->host,
                c->tcp_port);
        return -1;
    }
    tcrp_msg_t t;
    if (status == 200 && (op == TCRP_CREATE || op == TCRP_JOIN) &&
        tcrp_parse(answers + at, (size_t)(got - at), MAX_ANSWER, &t) > 0 &&
        t.state == TCRP_COMPLETE && t.payload_len < sizeof c->token) {
        memcpy(c->token, t.payload, t.payload_len);
        c->token_len = t.payload_len;
    }
    return (int)status;
}

/* The request's JSON: {"username": .., "password": ..} and the like. */
static void request_json(char *out, size_t cap, const char *key1,
                         const char *v1, const char *key2, const char *v2)
{
    json_writer_t w;
    json_writer_init(&w, out, cap);
    json_object_begin(&w);
    if (v1)
        json_member_str(&w, key1, v1);
    if (v2)
        json_member_str(&w, key2, v2);
    json_object_end(&w);
    if (json_writer_end(&w) < 0)
        snprintf(out, cap, "{}");
}

/* An answer's "message" (or "?"), for a line. */
static const char *message_of(const json_doc_t *doc, char *buf, size_t cap)
{
    size_t len;
    if (json_string(doc, json_find(doc, 0, "message"), buf, cap, &len) != 0)
        snprintf(buf, cap, "?");
    return buf;
}

/* A room operation with the token (leave, kick, close): its answer told
 * as a notice. Returns the status. */
static int room_op(client_t *c, unsigned op, const char *user)
{
    char payload[1024], msg[512], tok[sizeof c->token];
    json_tok_t toks[64];
    json_doc_t doc;

    memcpy(tok, c->token, c->token_len);
    tok[c->token_len] = '\0';
    request_json(payload, sizeof payload, "token", tok, "username", user);
    int status = transact(c, op, payload, &doc, toks, 64, c->answers);
    if (status >= 0)
        printf("* %s: %d %s\n",
               op == TCRP_LEAVE ? "leave" : op == TCRP_KICK ? "kick" : "close",
               status, message_of(&doc, msg, sizeof msg));
    fflush(stdout);
    return status;
}

/* ------------------------------------------------------------ sending */

static void finish(client_t *c, int status);

/* A connected UDP socket learns from the ICMP "port unreachable" that
 * nothing listens there (ECONNREFUSED on the next send or recv): said
 * once, and the end, rather than talking on into the void. */
static int server_gone(client_t *c, int err)
{
    if (err != ECONNREFUSED)
        return 0;
    fprintf(stderr, PROG ": no server on %s port %d (connection refused)\n",
            c->host, c->in_room ? c->udp_port : c->chat_port);
    finish(c, 1);
    return 1;
}

static void send_text(client_t *c, const char *text, size_t len)
{
    uint8_t d[DGRAM_MAX];
    long n = c->in_room ? room_dgram_encode(d, sizeof d, c->room,
                                            strlen(c->room), c->token,
                                            c->token_len, text, len)
                        : chat_dgram_encode(d, sizeof d, c->name,
                                            strlen(c->name), text, len);
    if (n < 0) {
        fprintf(stderr, PROG ": message too long (a datagram is at most "
                        "%d bytes); not sent\n", DGRAM_MAX);
        return;
    }
    if (ws_utf8_validate(text, len) != 0) {
        fprintf(stderr, PROG ": the line is not UTF-8; not sent\n");
        return;
    }
    if (send(c->fd, d, (size_t)n, 0) < 0)
        server_gone(c, errno);
}

static void on_heartbeat(wsx_timer_t *t, void *user)
{
    (void)t;
    send_text(user, "", 0);
}

static void finish(client_t *c, int status)
{
    c->status = status;
    c->done = 1;
    wsx_loop_stop(c->loop);
}

/* A line starting with '/' that is no command: said, not sent, so that
 * a mistyped command never reaches the room as chat. */
static void unknown_command(client_t *c, const char *line)
{
    fprintf(stderr,
            PROG ": unknown command '%s': %s; '//' at the start sends "
                 "one '/'\n",
            line, c->in_room ? "/leave, /kick NAME, /close, /quit" : "/quit");
}

/* A line typed: a command, else a message ("//..." is "/..."). */
static void on_line(client_t *c, char *line, size_t len)
{
    if (line[0] == '/' && line[1] == '/') {
        send_text(c, line + 1, len - 1);
    } else if (c->in_room && !strcmp(line, "/leave")) {
        finish(c, room_op(c, TCRP_LEAVE, NULL) == 200 ? 0 : 1);
    } else if (c->in_room && !strcmp(line, "/close")) {
        if (room_op(c, TCRP_CLOSE, NULL) == 200)
            finish(c, 0);
    } else if (c->in_room && !strncmp(line, "/kick ", 6) && line[6]) {
        room_op(c, TCRP_KICK, line + 6);
    } else if (!strcmp(line, "/quit")) {
        finish(c, 0);
    } else if (line[0] == '/') {
        unknown_command(c, line);
    } else if (len) {
        send_text(c, line, len);
    }
}

static void on_stdin(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    client_t *c = user;
    char buf[4096];
    (void)ready;

    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) { /* the end of input: leave the room */
        wsx_watch_stop(w);
        if (c->in_room)
            finish(c, room_op(c, TCRP_LEAVE, NULL) == 200 ? 0 : 1);
        else
            finish(c, 0);
        return;
    }
    for (ssize_t i = 0; i < n && !c->done; i++) {
        if (buf[i] == '\n') {
            if (c->line_len && c->line[c->line_len - 1] == '\r')
                c->line_len--; /* a CRLF file's line */
            c->line[c->line_len] = '\0';
            on_line(c, c->line, c->line_len);
            c->line_len = 0;
        } else if (c->line_len < sizeof c->line - 1) {
            c->line[c->line_len++] = buf[i];
        }
    }
}

/* ----------------------------------------------------------- receiving */

/* Text from the network: C0 and C1 controls and DEL are shown as '?',
 * so that nobody's message can move our cursor, clear the screen or
 * retitle the terminal. */
static void put_text(const void *text, size_t len)
{
    const unsigned char *u = text;

    for (size_t i = 0; i < len; i++) {
        int c1 = u[i] == 0xC2 && i + 1 < len && u[i + 1] >= 0x80 &&
                 u[i + 1] <= 0x9F;
        putchar(u[i] < 0x20 || u[i] == 0x7f || c1 ? '?' : u[i]);
        i += (size_t)c1;
    }
}

/* "NAME: TEXT", or "* TEXT" for a notice (name NULL). */
static void show_line(const void *name, size_t name_len, const void *text,
                      size_t text_len)
{
    if (name) {
        put_text(name, name_len);
        fputs(": ", stdout);
    } else {
        fputs("* ", stdout);
    }
    put_text(text, text_len);
    putchar('\n');
    fflush(stdout);
}

/* A room's JSON body, as a line; the room closing, or our own kick or
 * timeout (our token is revoked then), ends us. */
static void show_room_body(client_t *c, const char *p, size_t len)
{
    json_tok_t toks[32];
    json_doc_t doc;
    char a[ROOM_JSON_MAX], b[ROOM_JSON_MAX];
    size_t al, bl;

    if (json_parse(&doc, p, len, toks, 32, NULL) != 0)
        return;
    if (json_string_eq(&doc, json_find(&doc, 0, "type"), "chat") &&
        json_string(&doc, json_find(&doc, 0, "from"), a, sizeof a, &al) == 0 &&
        json_string(&doc, json_find(&doc, 0, "text"), b, sizeof b, &bl) == 0) {
        show_line(a, al, b, bl);
    } else if (json_string(&doc, json_find(&doc, 0, "text"), b, sizeof b,
                           &bl) == 0) {
        show_line(NULL, 0, b, bl);
        int user = json_find(&doc, 0, "user"),
            event = json_find(&doc, 0, "event");
        int me = user >= 0 && json_string_eq(&doc, user, c->name);
        if (json_string_eq(&doc, event, "close") ||
            (me && (json_string_eq(&doc, event, "kick") ||
                    json_string_eq(&doc, event, "timeout"))))
            finish(c, 0);
    }
    fflush(stdout);
}

static void on_datagram(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    client_t *c = user;
    uint8_t d[65536];
    chat_dgram_t m;
    (void)w, (void)ready;

    ssize_t n = recv(fd, d, sizeof d - 1, MSG_DONTWAIT);
    if (n < 0)
        server_gone(c, errno);
    if (n <= 0)
        return;
    if (c->in_room) {
        show_room_body(c, (const char *)d, (size_t)n);
    } else if (chat_dgram_parse(d, (size_t)n, &m) == 0) {
        show_line(m.name, m.name_len, m.text, m.text_len);
    }
}

/* --------------------------------------------------------------- rooms */

/* Create or join: the answer told, the token kept. 0, or the exit code. */
static int enter_room(client_t *c, unsigned op)
{
    char payload[2048], msg[512], host[256];
    json_tok_t toks[1024];
    json_doc_t doc;
    size_t len;

    request_json(payload, sizeof payload, "username", c->name, "password",
                 c->password);
    int status = transact(c, op, payload, &doc, toks, 1024, c->answers);
    if (status < 0)
        return 1;
    if (status != 200 || !c->token_len) {
        fprintf(stderr, PROG ": %s '%s' failed: %d %s\n",
                op == TCRP_CREATE ? "create" : "join", c->room, status,
                message_of(&doc, msg, sizeof msg));
        return 1;
    }
    if (json_string(&doc, json_find(&doc, 0, "host"), host, sizeof host,
                    &len) != 0)
        snprintf(host, sizeof host, "?");
    int64_t idle;
    if (!c->heartbeat_ms &&
        json_int64(&doc, json_find(&doc, 0, "idle_timeout"), &idle) == 0)
        c->heartbeat_ms = idle > 0 ? (int)(idle * 1000 / 3) : 100;
    int members = json_find(&doc, 0, "members");
    unsigned count = members >= 0 ? doc.tok[members].count : 0;
    snprintf(c->entered, sizeof c->entered,
             "* %s room '%s' as %s (host: %s, %u member%s)",
             op == TCRP_CREATE ? "created" : "joined", c->room, c->name, host,
             count, count == 1 ? "" : "s");
    c->in_room = 1;
    return 0;
}

/* SIGINT, SIGTERM: as the end of input, so ^C leaves the room at once
 * (a host's ^C closes it) instead of leaving a ghost until the idle
 * timeout. */
static void on_signal(wsx_loop_t *loop, int signo, void *user)
{
    client_t *c = user;
    (void)loop, (void)signo;

    if (!c->done)
        finish(c, c->in_room && room_op(c, TCRP_LEAVE, NULL) != 200);
}

/* From here on SIGINT/SIGTERM come through the loop (on_signal). Not
 * before: ^C during the first TCRP exchange just ends us. */
static int catch_signals(client_t *c)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    wsx_loop_on_signal(c->loop, on_signal, c);
    return 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f)
{
    static const char text[] =
        "usage: rooms-client chat NAME [options]\n"
        "       rooms-client create ROOM NAME [--password P] [options]\n"
        "       rooms-client join ROOM NAME [--password P] [options]\n"
        "\n"
        "The command-line client of rooms-server\n"
        "(examples/rooms/PROTOCOL.md). chat: stage 1, every line goes\n"
        "to everyone on the chat port. create and join: a room's token\n"
        "over TCRP, then the room's chat over UDP. Lines read from stdin\n"
        "are sent; lines printed are 'NAME: TEXT' for chat and '* TEXT'\n"
        "for notices. In a room: /leave (also at the end of input),\n"
        "/kick NAME and /close (host only), /quit (just stop); ^C is\n"
        "/leave. Another line starting with '/' is refused; '//' at\n"
        "its start sends one '/'.\n"
        "\n"
        "  --host HOST        the server (default 127.0.0.1)\n"
        "  --chat-port PORT   its stage 1 port (default 9000)\n"
        "  --udp-port PORT    its room datagram port (default 9001)\n"
        "  --tcp-port PORT    its TCRP port (default 9002)\n"
        "  --password P       the room's password (create: sets it)\n"
        "  --heartbeat S      an empty datagram every S seconds keeps\n"
        "                     us in (default: a third of the room's idle\n"
        "                     timeout, from the server's answer; 20 for\n"
        "                     chat)\n"
        "  --help             this text\n"
        "\n"
        "Exit status: 0 after /leave, /close, /quit, ^C, the end of\n"
        "input, a room closed, a kick or our own timeout (a stopped\n"
        "client); 1 when the server refused or could not be reached\n"
        "(also later: its port refused); 2 for a usage error.\n";

    fputs(text, f);
}

static int bad_usage(const char *fmt, const char *arg)
{
    return wsx_usage_error(PROG, 2, fmt, arg);
}

static int set_port(int *port, const char *arg)
{
    unsigned long long v;
    if (wsx_parse_uint(arg, 65535, &v) != 0 || v == 0)
        return bad_usage("bad port '%s': a number from 1 to 65535", arg);
    *port = (int)v;
    return 0;
}

static int parse_options(client_t *c, int argc, char **argv, unsigned *op)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"chat-port", required_argument, NULL, 'c'},
        {"udp-port", required_argument, NULL, 'u'},
        {"tcp-port", required_argument, NULL, 't'},
        {"password", required_argument, NULL, 'p'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    int opt, r = 0;

    while (!r && (opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': c->host = optarg; break;
        case 'c': r = set_port(&c->chat_port, optarg); break;
        case 'u': r = set_port(&c->udp_port, optarg); break;
        case 't': r = set_port(&c->tcp_port, optarg); break;
        case 'p': c->password = optarg; break;
        case 'b':
            if (wsx_parse_seconds(optarg, &c->heartbeat_ms) != 0 ||
                c->heartbeat_ms == 0)
                r = bad_usage("bad --heartbeat '%s': seconds, over 0", optarg);
            break;
        case 'H': usage(stdout); exit(0);
        default: r = bad_usage(NULL, NULL);
        }
    }
    if (r)
        return r;
    char **arg = argv + optind;
    int n = argc - optind;
    if (n == 0)
        return bad_usage("a command is needed: chat, create or join%s", "");
    if (!strcmp(arg[0], "chat") && n == 2) {
        *op = 0, c->name = arg[1];
    } else if ((!strcmp(arg[0], "create") || !strcmp(arg[0], "join")) &&
               n == 3) {
        *op = arg[0][0] == 'c' ? TCRP_CREATE : TCRP_JOIN;
        c->room = arg[1], c->name = arg[2];
    } else if (strcmp(arg[0], "chat") && strcmp(arg[0], "create") &&
               strcmp(arg[0], "join")) {
        return bad_usage("unknown command '%s': chat, create or join", arg[0]);
    } else {
        return bad_usage("wrong number of arguments for '%s'", arg[0]);
    }
    size_t len = strlen(c->name);
    if (len == 0 || len > 255 || ws_utf8_validate(c->name, len) != 0)
        return bad_usage("the name must be 1-255 bytes of UTF-8: '%s'",
                         c->name);
    if (c->room && (!*c->room || strlen(c->room) > 255))
        return bad_usage("the room name must be 1-255 bytes: '%s'", c->room);
    if (c->password && *op == 0)
        return bad_usage("--password is for create and join%s", "");
    return 0;
}

int main(int argc, char **argv)
{
    static client_t c = {.host = "127.0.0.1",
                         .chat_port = 9000,
                         .udp_port = 9001,
                         .tcp_port = 9002};
    unsigned op = 0;
    int r = parse_options(&c, argc, argv, &op);

    if (r)
        return r;
    if (op && (r = enter_room(&c, op)) != 0)
        return r;
    if (!c.heartbeat_ms)
        c.heartbeat_ms = 20000;
    c.fd = open_socket(&c, op ? c.udp_port : c.chat_port, SOCK_DGRAM);
    if (c.fd < 0 || !(c.loop = wsx_loop_new()))
        return 1;
    if (catch_signals(&c) != 0) { /* before we say we are in */
        fprintf(stderr, PROG ": %s\n", strerror(errno));
        return 1;
    }
    send_text(&c, "", 0); /* the server learns our address at once */
    if (op) { /* said only now: from here on the room reaches us */
        puts(c.entered);
        fflush(stdout);
    }
    if (!wsx_watch_start(c.loop, 0, WSX_READABLE, on_stdin, &c) ||
        !wsx_watch_start(c.loop, c.fd, WSX_READABLE, on_datagram, &c) ||
        !wsx_timer_start(c.loop, c.heartbeat_ms, 1, on_heartbeat, &c)) {
        fprintf(stderr, PROG ": %s\n", strerror(errno));
        return 1;
    }
    wsx_loop_run(c.loop);
    wsx_loop_free(c.loop);
    close(c.fd);
    return c.status;
}
