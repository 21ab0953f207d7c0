/*
 * chat-server — the broadcast chat with direct messages, typing,
 * presence, contacts, files and history (PROTOCOL.md). Plain-text clients
 * (wscat) and JSON clients share one server; the browser client is
 * served on the same port. What it acknowledges is durable (store.c).
 */
#define _GNU_SOURCE
#include "chat.h"
#include "files.h"
#include "redis_backend.h"
#include "session.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "chat-server"

typedef struct config {
    const char *host, *cert, *key, *log_path;
    int port, web_given;
    wsx_opts_t o;
} config_t;

static const char usage_text[] =
    "usage: " PROG " [options]\n"
    "\n"
    "The chat of examples/chat/PROTOCOL.md: a lobby with history, direct\n"
    "messages with delivery status, presence, typing, contacts and files.\n"
    "Plain-text clients (wscat: the first line is the name) and JSON\n"
    "clients share the server; the browser client is at http://HOST:PORT/.\n"
    "\n"
    "  --host HOST         address to listen on (default 127.0.0.1;\n"
    "                      :: for IPv6)\n"
    "  --port PORT         port (default 8000; 0 = any free port)\n"
    "  --data-dir DIR      where names, contacts, history and waiting\n"
    "                      direct messages are kept (default ./chat-data)\n"
    "  --fsync MODE        when the log reaches the disk:\n"
    "                        batch   once per event-loop round, before any\n"
    "                                answer of the round is sent (default)\n"
    "                        always  after every record\n"
    "                        never   when the kernel decides (survives\n"
    "                                kill -9, not a power loss)\n"
    "  --log FILE          one timestamped line per connect, join, leave,\n"
    "                      direct message, file and error (appended)\n"
    "  --log-messages      also the text of messages in --log\n"
    "  --max-queue SIZE    a client whose unsent output passes SIZE\n"
    "                      (suffix K, M or G; default 4M) is closed (1008)\n"
    "  --rate-limit N      messages a second per user, bursts of 2N\n"
    "                      (default 20; 0 = no limit)\n"
    "  --ping-interval S   ping a client silent for S seconds, drop it when\n"
    "                      silent as long again (default 30; 0 = never)\n"
    "  --idle-timeout S    drop a silent client after S seconds (pinged at\n"
    "                      S/2: the same setting as --ping-interval S/2)\n"
    "  --web DIR           the browser client's files (default: web/ next\n"
    "                      to this program)\n"
    "  --tls-cert FILE     serve https:// and wss:// instead (TLS 1.2+)\n"
    "                      with this PEM certificate (chain); SIGHUP\n"
    "                      reads it again\n"
    "  --tls-key FILE      the certificate's PEM private key\n"
    "  --max-buffered SIZE memory all clients together may hold in message\n"
    "                      and output buffers (default 256M); past it the\n"
    "                      largest holders are closed (1009 / 1008)\n"
    "  --stall-timeout S   a message that has begun must bring 1 KiB every\n"
    "                      S seconds (default 10; 0 = no limit)\n";

/* After the options of redis_backend.h (chat_backend_help). */
static const char usage_tail[] =
    "  --help              this text\n"
    "\n"
    "Limits: text 4096 bytes (error, connection kept), a JSON message\n"
    "16 KiB, a text message 64 KiB and a binary one (a file chunk) 65540\n"
    "bytes (larger: close 1009). On start the log in DIR is replayed (a\n"
    "damaged log is replayed around the damage and kept as\n"
    "DIR/chat.log.damaged-<time>), then 'WebSocket server listening on\n"
    "HOST:PORT' is printed. SIGINT or SIGTERM tells every client the server\n"
    "is shutting down, closes it with 1001, syncs the log and exits 0.\n";

static int try_help(const char *unexpected)
{
    if (unexpected)
        fprintf(stderr, PROG ": unexpected argument '%s'\n", unexpected);
    fputs("try '" PROG " --help'\n", stderr);
    return 1;
}

static int bad_value(const char *opt, const char *value, const char *want)
{
    fprintf(stderr, PROG ": bad value for --%s: '%s' (%s)\n", opt, value, want);
    return try_help(NULL);
}

static int parse_fsync(const char *v, chat_fsync_t *mode)
{
    static const char *const names[] = {"always", "batch", "never"};
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, names[i])) {
            *mode = (chat_fsync_t)i;
            return 0;
        }
    return -1;
}

/* wsx pings a peer silent for ping_interval and drops it when silent as
 * long again: an idle timeout of S is a ping interval of S/2. */
static int set_ping(config_t *cf, const char *name, int ms)
{
    int interval = strcmp(name, "idle-timeout") ? ms : ms / 2;
    cf->o.ping_interval = ms && !interval ? 1 : interval;
    return 0;
}

/* One option's value; 0, or the exit status of a usage error. */
static int take_option(chat_server_t *srv, config_t *cf, const char *name,
                       const char *v)
{
    unsigned long long n;
    int ms;
    if (!strcmp(name, "host"))
        cf->host = v;
    else if (!strcmp(name, "port"))
        return wsx_parse_uint(v, 65535, &n) ? bad_value(name, v, "0 to 65535")
                                            : (cf->port = (int)n, 0);
    else if (!strcmp(name, "data-dir"))
        srv->data_dir = v;
    else if (!strcmp(name, "fsync"))
        return parse_fsync(v, &srv->fsync_mode)
                   ? bad_value(name, v, "always, batch or never")
                   : 0;
    else if (!strcmp(name, "log"))
        cf->log_path = v;
    else if (!strcmp(name, "max-queue"))
        return wsx_parse_size(v, SIZE_MAX, &n) || n == 0
                   ? bad_value(name, v, "a size such as 4M")
                   : (srv->max_queue = (size_t)n, 0);
    else if (!strcmp(name, "rate-limit"))
        return wsx_parse_uint(v, 1000000, &n)
                   ? bad_value(name, v, "messages a second, 0 = off")
                   : (srv->rate_per_s = (unsigned)n, 0);
    else if (!strcmp(name, "ping-interval") || !strcmp(name, "idle-timeout"))
        return wsx_parse_seconds(v, &ms) ? bad_value(name, v, "seconds")
                                         : set_ping(cf, name, ms);
    else if (!strcmp(name, "redis") || !strcmp(name, "node-id"))
        return chat_backend_option(srv, name, v);
    else if (!strcmp(name, "web"))
        cf->web_given =
            snprintf(srv->web_dir, sizeof srv->web_dir, "%s", v) >= 0;
    else if (!strcmp(name, "tls-cert"))
        cf->cert = v;
    else if (!strcmp(name, "tls-key"))
        cf->key = v;
    else if (wsx_opts_set(&cf->o, name, v) != 0)
        return bad_value(name, v, "see --help");
    return 0;
}

static int parse_args(chat_server_t *srv, config_t *cf, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 0},
        {"port", required_argument, NULL, 0},
        {"data-dir", required_argument, NULL, 0},
        {"fsync", required_argument, NULL, 0},
        {"log", required_argument, NULL, 0},
        {"log-messages", no_argument, NULL, 'm'},
        {"max-queue", required_argument, NULL, 0},
        {"rate-limit", required_argument, NULL, 0},
        {"ping-interval", required_argument, NULL, 0},
        {"idle-timeout", required_argument, NULL, 0},
        {"web", required_argument, NULL, 0},
        {"tls-cert", required_argument, NULL, 0},
        {"tls-key", required_argument, NULL, 0},
        {"max-buffered", required_argument, NULL, 0},
        {"stall-timeout", required_argument, NULL, 0},
        {"redis", required_argument, NULL, 0},
        {"node-id", required_argument, NULL, 0},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    int opt, li = 0, r;

    while ((opt = getopt_long(argc, argv, "", longopts, &li)) != -1) {
        if (opt == 'H') {
            fputs(usage_text, stdout);
            fputs(chat_backend_help, stdout);
            fputs(usage_tail, stdout);
            exit(0);
        }
        if (opt == 'm')
            srv->log_messages = 1;
        else if (opt != 0)
            return try_help(NULL); /* getopt said what */
        else if ((r = take_option(srv, cf, longopts[li].name, optarg)))
            return r;
    }
    return optind == argc ? 0 : try_help(argv[optind]);
}

/* ------------------------------------------------------------ running */

/* Group commit (--fsync batch): the round's records reach the disk
 * before any of the round's answers is written. */
static void before_flush(wsx_loop_t *loop, void *user)
{
    chat_server_t *srv = user;
    (void)loop;
    files_poll(srv);
    int r = srv->store->ops->sync(srv->store);
    if (r < 0) {
        /* Answers for records that may not be durable must not go out. */
        fprintf(stderr, PROG ": fsync failed: %s; exiting\n", strerror(-r));
        _exit(1);
    }
}

static void on_signal(wsx_loop_t *loop, int signo, void *user)
{
    chat_server_t *srv = user;
    if (srv->shutting) {
        wsx_loop_stop(loop);
        return;
    }
    srv->shutting = 1;
    chat_backend_stop(srv);
    chat_log(srv, NULL, "shutting down (signal %d)", signo);
    session_notify_shutdown(srv);
    wsx_loop_shutdown(loop, 1001, 2000);
}

static void setup(wsx_loop_t *loop, void *ctx)
{
    chat_server_t *srv = ctx;
    srv->loop = loop;
    chat_backend_start(srv);
    wsx_loop_before_flush(loop, before_flush, srv);
    wsx_loop_on_signal(loop, on_signal, srv);
}

static void store_warning(void *ctx, const char *msg)
{
    const chat_server_t *srv = ctx;
    fprintf(stderr, PROG ": warning: %s/%s: %s\n", srv->data_dir, CHAT_LOG_NAME,
            msg);
    chat_log(srv, NULL, "warning: %s", msg);
}

static int open_store(chat_server_t *srv)
{
    const char *why = NULL;
    char report[256];
    int r = chat_store_open_local(&srv->store, srv->data_dir, srv->fsync_mode,
                                  store_warning, srv, &why);
    if (r < 0) {
        fprintf(stderr, PROG ": %s: %s (%s)\n", srv->data_dir, why,
                strerror(-r));
        return -1;
    }
    chat_store_local_report(srv->store, report, sizeof report);
    if (*report)
        fprintf(stderr, PROG ": %s/%s: %s\n", srv->data_dir, CHAT_LOG_NAME,
                report);
    return 0;
}

static int open_log(chat_server_t *srv, const char *path)
{
    if (!path)
        return 0;
    if (!(srv->log = fopen(path, "a"))) {
        fprintf(stderr, PROG ": --log %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* --web must be a directory; without it, a build that has no web/ next
 * to the program serves WebSocket clients only, and says so. */
static int web_dir_check(chat_server_t *srv, const config_t *cf)
{
    struct stat st;
    if (cf->web_given)
        return wsx_http_check_static(PROG, "--web", srv->web_dir);
    if (stat(srv->web_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr,
                PROG ": no browser client in %s; serving WebSocket "
                     "clients only\n",
                srv->web_dir);
        srv->web_dir[0] = '\0';
    }
    return 0;
}

int main(int argc, char **argv)
{
    static chat_server_t srv;
    config_t cf = {
        .host = "127.0.0.1", .port = 8000, .o = {.ping_interval = 30000}};
    wsx_handler_t h = {0};
    int r;

    srv.data_dir = "./chat-data";
    srv.fsync_mode = CHAT_FSYNC_BATCH;
    srv.max_queue = CHAT_DEFAULT_MAX_QUEUE;
    srv.rate_per_s = RATE_PER_S;
    wsx_program_dir("web", srv.web_dir, sizeof srv.web_dir);
    if ((r = parse_args(&srv, &cf, argc, argv)))
        return r;
    if (web_dir_check(&srv, &cf) != 0 ||
        wsx_opts_tls_server(&cf.o, PROG, cf.cert, cf.key) != 0)
        return 1;
    if (open_log(&srv, cf.log_path) != 0 ||
        (r = chat_backend_open(&srv)) < 0 ||
        (r == 0 && (open_store(&srv) != 0 ||
                    !(srv.hub = chat_hub_local_new(&srv))))) {
        wsx_tls_free(cf.o.tls);
        return 1;
    }
    session_handlers(&h);
    cf.o.max_message = CHAT_FRAME_MAX;
    cf.o.static_dir = *srv.web_dir ? srv.web_dir : NULL;
    r = wsx_serve("WebSocket server", cf.host, cf.port, &cf.o, &h, &srv, setup);
    files_free_all(&srv);
    srv.store->ops->close(srv.store);
    srv.hub->ops->free(srv.hub);
    keymap_free(&srv.sessions);
    wsx_tls_free(cf.o.tls);
    if (srv.log)
        fclose(srv.log);
    return r;
}
