/*
 * rooms-server — the online chat messenger (PROTOCOL.md): stage 1 UDP
 * broadcast chat on the chat port, chat rooms whose tokens come from TCRP
 * on the TCP port and whose datagrams go to the UDP port, and the browser
 * GUI with its WebSocket on the HTTP port. One process, one event loop.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DROP_LINES_PER_S 10 /* log lines about dropped datagrams */

/* ------------------------------------------------------------- logging */

static void vlog(const char *fmt, va_list ap)
{
    char line[512];

    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, SERVER_NAME ": %s\n", line);
}

void server_log(const server_t *s, const char *fmt, ...)
{
    va_list ap;
    (void)s;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void server_info(const server_t *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->verbose)
        return;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void server_drop_text(server_t *s, const char *port, const char *peer,
                      const char *why)
{
    uint64_t now = wsx_loop_now(s->loop);

    s->dropped++;
    if (now - s->drop_log_at >= 1000) {
        s->drop_log_at = now;
        s->drop_lines = 0;
    }
    if (s->drop_lines >= DROP_LINES_PER_S) {
        s->drop_quiet++; /* told in the next line that is printed */
        return;
    }
    s->drop_lines++;
    server_log(s, "%s: dropped a datagram from %s: %s (%llu dropped%s)", port,
               peer, why, s->dropped, s->drop_quiet ? ", some not logged" : "");
    s->drop_quiet = 0;
}

void server_drop(server_t *s, const char *port, const struct sockaddr *from,
                 const char *why)
{
    char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
    char peer[NI_MAXHOST + NI_MAXSERV + 2];

    getnameinfo(from, from->sa_family == AF_INET6
                          ? sizeof(struct sockaddr_in6)
                          : sizeof(struct sockaddr_in),
                host, sizeof host, serv, sizeof serv,
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(peer, sizeof peer, "%s:%s", host, serv);
    server_drop_text(s, port, peer, why);
}

/* ------------------------------------------------------------- sockets */

int server_bind(const char *host, int *port, int type)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                             .ai_socktype = type},
                    *ai;
    char serv[8];
    int one = 1;

    snprintf(serv, sizeof serv, "%d", *port);
    if (getaddrinfo(host, serv, &hints, &ai) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        errno = e;
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET6
                      ? ((struct sockaddr_in6 *)&ss)->sin6_port
                      : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ------------------------------------------------------------- events */

/* rooms.c's delivery: a member's notice or chat, by its address. */
static void deliver(void *ctx, const member_t *to, const char *json,
                    size_t len)
{
    server_t *s = ctx;

    if (to->addr.kind == ROOMS_ADDR_UDP)
        udp_send(s, &to->addr, json, len);
    else if (to->addr.kind == ROOMS_ADDR_WS)
        ws_send(s, to->addr.ws, json, len);
}

static void deliver_flush(void *ctx)
{
    udp_flush(ctx);
}

static void on_sweep(wsx_timer_t *t, void *user)
{
    server_t *s = user;
    uint64_t now = wsx_loop_now(s->loop);
    (void)t;

    rooms_sweep(&s->rooms, now);
    udp_sweep(s, now);
    tcp_sweep(s, now);
}

/* SIGINT/SIGTERM: every room is closed with a notice, then the loop's
 * own shutdown closes the WebSockets (1001) once the notices are out. */
static void on_signal(wsx_loop_t *loop, int signo, void *user)
{
    server_t *s = user;

    if (!s->sweep) { /* a second signal: no more waiting */
        wsx_loop_stop(loop);
        return;
    }
    server_log(s, "%s: closing %zu room%s", strsignal(signo),
               s->rooms.nrooms, s->rooms.nrooms == 1 ? "" : "s");
    rooms_close_all(&s->rooms, "the server is shutting down");
    udp_stop(s);
    tcp_stop(s);
    wsx_timer_stop(s->sweep);
    s->sweep = NULL;
    wsx_loop_shutdown(loop, WS_CLOSE_GOING_AWAY, 2000);
}

/* -------------------------------------------------------------- setup */

static int start(server_t *s)
{
    rooms_io_t io = {.send = deliver, .flush = deliver_flush, .ctx = s};
    int every = (int)(s->idle_ms / 4);

    if (every > s->tx_timeout_ms / 4)
        every = s->tx_timeout_ms / 4;
    if (every > 1000)
        every = 1000;
    if (every < 20)
        every = 20;
    s->chat_fd = s->udp_fd = s->tcp_fd = -1;
    if (rooms_init(&s->rooms, &io, s->idle_ms) != 0)
        return -1;
    s->rooms.max_members = s->max_members;
    if (!(s->loop = wsx_loop_new()))
        return -1;
    if (udp_start(s) != 0) {
        s->failed = "the chat or UDP port";
        return -1;
    }
    if (tcp_start(s) != 0) {
        s->failed = "the TCP port";
        return -1;
    }
    if (ws_start(s) != 0) {
        s->failed = "the HTTP port";
        return -1;
    }
    if (!(s->sweep = wsx_timer_start(s->loop, every, 1, on_sweep, s)))
        return -1;
    wsx_loop_on_signal(s->loop, on_signal, s);
    return 0;
}

static void stop(server_t *s)
{
    udp_stop(s);
    tcp_stop(s);
    if (s->sweep)
        wsx_timer_stop(s->sweep);
    if (s->loop)
        wsx_loop_free(s->loop);
    rooms_free(&s->rooms);
    wsx_tls_free(s->http_opts.tls);
}

/* ------------------------------------------------------------- options */

static void usage(FILE *f)
{
    static const char text[] =
        "usage: rooms-server [options]\n"
        "\n"
        "The online chat messenger (examples/rooms/PROTOCOL.md):\n"
        "stage 1 UDP broadcast chat, chat rooms (TCRP over TCP for\n"
        "tokens, UDP datagrams in the rooms, hosts, passwords) and the\n"
        "browser GUI at http://HOST:HTTP-PORT/.\n"
        "\n"
        "  --host HOST        address of every port (default 127.0.0.1)\n"
        "  --chat-port PORT   stage 1 chat datagrams (default 9000)\n"
        "  --udp-port PORT    room datagrams (default 9001)\n"
        "  --tcp-port PORT    TCRP (default 9002)\n"
        "  --http-port PORT   the GUI and its WebSocket /ws (default 9080)\n"
        "                     (PORT 0 = any free port, for each of them)\n"
        "  --idle-timeout S   a member or chat client silent this long\n"
        "                     is removed (default 60; fractions allowed)\n"
        "  --max-payload N    the largest TCRP payload, suffix K or M\n"
        "                     (default 64K); larger ones get 400\n"
        "  --max-members N    members of all rooms at once (default\n"
        "                     100000); past it create and join get 503\n"
        "  --transaction-timeout S\n"
        "                     a TCRP request not complete in S seconds\n"
        "                     is answered 400 and closed (default 10)\n"
        "  --web DIR          the GUI's files (default: web/ next to\n"
        "                     this program)\n"
        "  --tls-cert FILE    serve https:// and wss:// on the HTTP port\n"
        "                     with this PEM certificate (chain)\n"
        "  --tls-key FILE     its PEM private key (SIGHUP reads both\n"
        "                     again)\n"
        "  --max-buffered N   memory the GUI's connections may hold in\n"
        "                     buffers (K, M, G; default 256M)\n"
        "  --stall-timeout S  a /ws message that has begun must bring 1 KiB\n"
        "                     every S seconds (default 10; 0 = never)\n"
        "  --verbose          log joins, answers and drops to stderr\n"
        "  --help             this text\n"
        "\n"
        "Once every port is bound it prints one line on stdout:\n"
        "  rooms-server listening chat=HOST:P udp=HOST:P tcp=HOST:P "
        "http=HOST:P\n"
        "Dropped datagrams are logged on stderr. SIGINT or SIGTERM\n"
        "closes every room with a notice to its members and exits 0.\n";

    fputs(text, f);
}

static int bad_usage(const char *fmt, const char *arg)
{
    return wsx_usage_error(SERVER_NAME, 1, fmt, arg);
}

static int parse_port(const char *arg, int *port)
{
    unsigned long long v;
    if (wsx_parse_uint(arg, 65535, &v) != 0)
        return -1;
    *port = (int)v;
    return 0;
}

/* One option into s; 0, or the exit status of a usage error. */
static int set_option(server_t *s, int opt, const char *arg,
                      const char **cert, const char **key)
{
    unsigned long long v;
    int ms;

    switch (opt) {
    case 'h':
        s->host = arg;
        return 0;
    case 'c': case 'u': case 't': case 'w': {
        int *port = opt == 'c'   ? &s->chat_port
                    : opt == 'u' ? &s->udp_port
                    : opt == 't' ? &s->tcp_port
                                 : &s->http_port;
        if (parse_port(arg, port) != 0)
            return bad_usage("bad port '%s': a number from 0 to 65535", arg);
        return 0;
    }
    case 'i':
        if (wsx_parse_seconds(arg, &ms) != 0 || ms == 0)
            return bad_usage("bad --idle-timeout '%s': seconds, over 0", arg);
        s->idle_ms = (uint64_t)ms;
        return 0;
    case 'M':
        if (wsx_parse_uint(arg, 100000000, &v) != 0 || v == 0)
            return bad_usage("bad --max-members '%s': a number from 1 to "
                             "100000000", arg);
        s->max_members = (size_t)v;
        return 0;
    case 'x':
        if (wsx_parse_seconds(arg, &ms) != 0 || ms == 0)
            return bad_usage("bad --transaction-timeout '%s': seconds, over 0",
                             arg);
        s->tx_timeout_ms = ms;
        return 0;
    case 'm':
        if (wsx_parse_size(arg, 64u << 20, &v) != 0 || v == 0)
            return bad_usage("bad --max-payload '%s': bytes (K, M), 1 to 64M",
                             arg);
        s->max_payload = v;
        return 0;
    case 'W':
        snprintf(s->web_dir, sizeof s->web_dir, "%s", arg);
        return 0;
    case 'C':
        *cert = arg;
        return 0;
    case 'K':
        *key = arg;
        return 0;
    case 'v':
        s->verbose = 1;
        return 0;
    default:
        return bad_usage(NULL, NULL); /* getopt said what */
    }
}

/* A --host that is no address of ours is said as such before any port
 * is tried (the bind would only say "Invalid argument"). */
static int check_host(const char *host)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE}, *ai;
    int e = getaddrinfo(host, NULL, &hints, &ai);

    if (e != 0) {
        fprintf(stderr, SERVER_NAME ": --host %s: %s (give an address, e.g."
                        " 127.0.0.1, ::1 or 0.0.0.0)\n", host, gai_strerror(e));
        return 1;
    }
    freeaddrinfo(ai);
    return 0;
}

static int parse_options(server_t *s, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"chat-port", required_argument, NULL, 'c'},
        {"udp-port", required_argument, NULL, 'u'},
        {"tcp-port", required_argument, NULL, 't'},
        {"http-port", required_argument, NULL, 'w'},
        {"idle-timeout", required_argument, NULL, 'i'},
        {"transaction-timeout", required_argument, NULL, 'x'},
        {"max-payload", required_argument, NULL, 'm'},
        {"max-members", required_argument, NULL, 'M'},
        {"web", required_argument, NULL, 'W'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"max-buffered", required_argument, NULL, 'L'},
        {"stall-timeout", required_argument, NULL, 'L'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    const char *cert = NULL, *key = NULL;
    int opt, r, li = 0;

    while ((opt = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        if (opt == 'H') {
            usage(stdout);
            exit(0);
        }
        if (opt == 'L') { /* the HTTP port's limits, parsed by wsx */
            if (wsx_opts_set(&s->http_opts, longopts[li].name, optarg) != 0) {
                fprintf(stderr, SERVER_NAME ": bad value for --%s: '%s'\n",
                        longopts[li].name, optarg);
                return bad_usage(NULL, NULL);
            }
            continue;
        }
        if ((r = set_option(s, opt, optarg, &cert, &key)) != 0)
            return r;
    }
    if (optind != argc)
        return bad_usage("unexpected argument '%s'", argv[optind]);
    if (check_host(s->host) != 0)
        return 1;
    if (wsx_http_check_static(SERVER_NAME, "--web", s->web_dir) != 0)
        return 1;
    return wsx_opts_tls_server(&s->http_opts, SERVER_NAME, cert, key) ? 1 : 0;
}

int main(int argc, char **argv)
{
    static server_t s = {.host = "127.0.0.1",
                         .chat_port = 9000,
                         .udp_port = 9001,
                         .tcp_port = 9002,
                         .http_port = 9080,
                         .idle_ms = 60000,
                         .tx_timeout_ms = 10000,
                         .max_payload = 64u << 10,
                         .max_members = 100000};
    int r;

    wsx_program_dir("web", s.web_dir, sizeof s.web_dir);
    if ((r = parse_options(&s, argc, argv)) != 0)
        return r;
    /* SIGHUP reads the TLS certificate again (the loop's signalfd sees
     * it only blocked), as wsx_serve does for the other servers. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    if (wsx_process_setup() != 0 || sigprocmask(SIG_BLOCK, &hup, NULL) != 0 ||
        start(&s) != 0) {
        fprintf(stderr, SERVER_NAME ": cannot listen on %s of %s: %s\n",
                s.failed ? s.failed : "any port", s.host, strerror(errno));
        stop(&s);
        return 1;
    }
    /* "[::1]:9000" for an IPv6 address, as wsx_server_address does. */
    char h[300];
    snprintf(h, sizeof h, strchr(s.host, ':') ? "[%s]" : "%s", s.host);
    printf(SERVER_NAME " listening chat=%s:%d udp=%s:%d tcp=%s:%d "
                       "http=%s:%d\n",
           h, s.chat_port, h, s.udp_port, h, s.tcp_port, h, s.http_port);
    fflush(stdout);
    r = wsx_loop_run(s.loop);
    stop(&s);
    return r == 0 ? 0 : 1;
}
