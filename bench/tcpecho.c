/*
 * tcpecho.c — a plain TCP echo server on the examples' event loop (wsx raw
 * mode): no HTTP, no WebSocket, every byte read is queued back and written
 * at the end of the loop round, exactly as wsecho's frames are. It is the
 * ceiling `make bench` measures wsecho against: the same loop, the same
 * reads, queue and writev, minus the protocol.
 *
 *   tcpecho [--host HOST] [--port PORT] [--max-connections N] [-v]
 *
 * Prints "tcpecho listening on HOST:PORT" on stdout (the real port with
 * --port 0) and runs until SIGINT/SIGTERM.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: tcpecho [options]\n"
    "\n"
    "A plain TCP echo server on the same event loop as wsecho (its raw\n"
    "mode): what comes in goes back out, with no protocol at all. The\n"
    "ceiling wsecho is measured against by bench/wsload.\n"
    "\n"
    "  --host HOST             address to listen on (default 127.0.0.1)\n"
    "  --port PORT             port (default 9002; 0 = any free port)\n"
    "  --max-connections N     connections at once (default 65536, capped by\n"
    "                          the fd limit)\n"
    "  --verbose, -v           log connections to stderr\n"
    "  --help, -h              show this help\n"
    "\n"
    "At startup it prints one line to stdout, \"tcpecho listening on\n"
    "HOST:PORT\"; SIGINT or SIGTERM ends it (status 0).\n";

static void on_raw(wsx_conn_t *c, uint8_t *data, size_t len)
{
    if (wsx_conn_write(c, data, len) != 0)
        wsx_conn_drop(c);
}

static unsigned parse_num(const char *opt, const char *s, unsigned max)
{
    unsigned long long v;
    if (wsx_parse_uint(s, max, &v) != 0) {
        fprintf(stderr, "tcpecho: bad value for %s: '%s' (try --help)\n", opt,
                s);
        exit(1);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"max-connections", required_argument, NULL, 'c'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    wsx_opts_t opts = {.raw = 1};
    wsx_handler_t handler = {.on_raw = on_raw};
    const char *host = "127.0.0.1";
    int port = 9002, opt;

    while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = (int)parse_num("--port", optarg, 65535);
            break;
        case 'c':
            opts.max_connections =
                parse_num("--max-connections", optarg, 10000000);
            break;
        case 'v':
            opts.verbose++;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs("try 'tcpecho --help'\n", stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tcpecho: unexpected argument '%s' (try --help)\n",
                argv[optind]);
        return 1;
    }

    return wsx_serve("tcpecho", host, port, &opts, &handler, NULL, NULL);
}
