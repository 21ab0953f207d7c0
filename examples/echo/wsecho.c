/*
 * wsecho — a WebSocket echo server on libwsproto and examples/common.
 *
 * Every text and binary message comes back as it was received. By default
 * messages are reassembled and echoed whole (up to --max-message); with
 * --stream each slice is echoed as a fragment as soon as it arrives, so a
 * message of any size passes through a fixed amount of memory. Pings are
 * answered and closes replied to by the engine itself. With --static DIR
 * the same port serves files to browsers; with --tls-cert/--tls-key it is
 * all wss:// and https://.
 */
#define _GNU_SOURCE
#include "wsx.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: wsecho [options]\n"
    "\n"
    "A WebSocket (RFC 6455) echo server: every text and binary message is\n"
    "sent back as it was received; pings are answered; closes are replied\n"
    "to, and then the server closes the TCP connection.\n"
    "\n"
    "  --host HOST             address to listen on (default 127.0.0.1;\n"
    "                          ::1, 0.0.0.0, :: and localhost work too)\n"
    "  --port PORT             port (default 9001; 0 = any free port)\n"
    "  --max-message BYTES     largest message accepted; a bigger one closes\n"
    "                          the connection with 1009 (default 16777216 in\n"
    "                          whole-message mode, no limit with --stream)\n"
    "  --stream                echo each piece of a message as a fragment as\n"
    "                          soon as it arrives instead of reassembling the\n"
    "                          message first (default: whole messages); a\n"
    "                          message larger than memory then passes\n"
    "  --static DIR            also serve GET/HEAD of the files in DIR on the\n"
    "                          same port (\"/\" is DIR/index.html; symbolic\n"
    "                          links inside DIR are not followed)\n"
    "  --max-connections N     connections at once; more are refused with\n"
    "                          503 (default 65536, capped by the fd limit)\n"
    "  --handshake-timeout SEC close a connection that has not completed its\n"
    "                          opening handshake in SEC seconds (default 10)\n"
    "  --ping-interval SEC     ping a client silent for SEC seconds and drop\n"
    "                          it if it stays silent SEC more (default 30;\n"
    "                          0 = never)\n"
    "  --close-timeout SEC     wait at most SEC seconds for a close reply and\n"
    "                          the last bytes to flush (default 5)\n"
    "  --max-buffered BYTES    memory that all clients together may hold in\n"
    "                          message buffers and output queues (suffix K,\n"
    "                          M or G; default 256M); past it the largest\n"
    "                          holders are closed: 1009 if it is a message\n"
    "                          they are sending, 1008 if it is output they\n"
    "                          do not read\n"
    "  --stall-timeout SEC     a message that has begun must bring 1 KiB in\n"
    "                          every SEC seconds or end, or the client is\n"
    "                          closed with 1008 (default 10; 0 = never)\n"
    "  --subprotocol NAME      accept subprotocol NAME when a client offers it\n"
    "                          (repeatable, first given is preferred; by\n"
    "                          default none is chosen, which some clients that\n"
    "                          offer one refuse)\n";

/* Two strings: C11 promises no more than 4095 bytes in one literal. */
static const char usage_more[] =
    "  --tls-cert FILE         serve wss:// and https:// (TLS 1.2 or later)\n"
    "                          on the port instead of ws:// and http://, with\n"
    "                          this PEM certificate (chain); needs --tls-key.\n"
    "                          SIGHUP reads both files again (renewal) and\n"
    "                          keeps every connection open\n"
    "  --tls-key FILE          the certificate's PEM private key\n"
    "  --no-deflate            refuse permessage-deflate (RFC 7692); by\n"
    "                          default it is accepted when a client offers\n"
    "                          it, and echoes of 128 bytes or more go out\n"
    "                          compressed\n"
    "  --deflate-level N       compression level of the echoes, 1 (fastest)\n"
    "                          to 9 (smallest; default 6)\n"
    "  --deflate-window BITS   LZ77 window of 2^BITS bytes, 8..15 (default 15),\n"
    "                          both ways (the client is asked to keep to it\n"
    "                          when its offer allows): state per compressing\n"
    "                          connection about 129 KiB at 15, 34 KiB at 8\n"
    "  --verbose, -v           log connections to stderr (twice: more)\n"
    "  --help, -h              show this help\n"
    "\n"
    "At startup it prints one line to stdout, \"wsecho listening on HOST:PORT\"\n"
    "(the real port with --port 0); everything else goes to stderr.\n"
    "SIGINT or SIGTERM closes every client with 1001 (going away), waits up\n"
    "to 2 s for the replies and exits with status 0. Exit status 1: bad\n"
    "usage, cannot listen, or an unusable --tls-cert/--tls-key (the\n"
    "message names the file). With TLS, a client that fails its TLS\n"
    "handshake (a plain ws:// client, TLS 1.0/1.1) is logged in one line.\n";

/* ------------------------------------------------------------- echoing */

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len)
{
    wsx_conn_send(c, op, data, len);
}

/* Streaming: a slice in, a fragment out. Empty slices carry nothing
 * unless they end the message. The engine tracks whether a message is
 * under way, so every fragment can name the message's opcode. */
static void on_data(wsx_conn_t *c, ws_opcode_t op, uint8_t *data, size_t len,
                    unsigned flags)
{
    if (len || (flags & WSX_FIN))
        wsx_conn_send_fragment(c, op, (flags & WSX_FIN) != 0, data, len);
}

/* ------------------------------------------------------------- options */

static void bad(const char *opt, const char *arg)
{
    fprintf(stderr, "wsecho: bad value for %s%s: '%s' (try --help)\n",
            opt[0] == '-' ? "" : "--", opt, arg);
    exit(1);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"max-message", required_argument, NULL, 'm'},
        {"stream", no_argument, NULL, 's'},
        {"static", required_argument, NULL, 'd'},
        {"max-connections", required_argument, NULL, 'c'},
        {"handshake-timeout", required_argument, NULL, 't'},
        {"ping-interval", required_argument, NULL, 'i'},
        {"close-timeout", required_argument, NULL, 'T'},
        {"max-buffered", required_argument, NULL, 'L'},
        {"stall-timeout", required_argument, NULL, 'L'},
        {"subprotocol", required_argument, NULL, 'P'},
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"no-deflate", no_argument, NULL, 'D'},
        {"deflate-level", required_argument, NULL, 'Z'},
        {"deflate-window", required_argument, NULL, 'B'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static ws_pmd_config_t deflate;
    wsx_opts_t opts = {.ping_interval = 30000, .deflate = &deflate};
    wsx_handler_t handler = {.on_message = on_message};
    static const char *protocols[17];
    size_t nprotocols = 0;
    const char *host = "127.0.0.1", *cert = NULL, *key = NULL;
    unsigned long long v;
    int port = 9001, opt, li = 0;

    ws_pmd_config_init(&deflate);
    while ((opt = getopt_long(argc, argv, "vh", longopts, &li)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            if (wsx_parse_uint(optarg, 65535, &v) != 0)
                bad("--port", optarg);
            port = (int)v;
            break;
        case 'm':
            if (wsx_parse_uint(optarg, UINT64_MAX, &v) != 0 || v == 0)
                bad("--max-message", optarg);
            opts.max_message = v;
            break;
        case 's':
            handler.on_message = NULL;
            handler.on_data = on_data;
            break;
        case 'd':
            opts.static_dir = optarg;
            break;
        case 'c':
            if (wsx_parse_uint(optarg, 10000000, &v) != 0 || v == 0)
                bad("--max-connections", optarg);
            opts.max_connections = (unsigned)v;
            break;
        case 't':
            if (wsx_parse_seconds(optarg, &opts.handshake_timeout) != 0)
                bad("--handshake-timeout", optarg);
            if (opts.handshake_timeout == 0)
                opts.handshake_timeout = -1; /* 0 s: no timeout */
            break;
        case 'i':
            if (wsx_parse_seconds(optarg, &opts.ping_interval) != 0)
                bad("--ping-interval", optarg);
            break;
        case 'T':
            if (wsx_parse_seconds(optarg, &opts.close_timeout) != 0 ||
                opts.close_timeout == 0)
                bad("--close-timeout", optarg);
            break;
        case 'L': /* the loop's limits, parsed by the loop */
            if (wsx_opts_set(&opts, longopts[li].name, optarg) != 0)
                bad(longopts[li].name, optarg);
            break;
        case 'P':
            if (nprotocols == 16 || !*optarg)
                bad("--subprotocol", optarg);
            protocols[nprotocols++] = optarg;
            opts.protocols = protocols;
            break;
        case 'C':
            cert = optarg;
            break;
        case 'K':
            key = optarg;
            break;
        case 'D':
            opts.deflate = NULL;
            break;
        case 'Z':
            if (wsx_parse_uint(optarg, 9, &v) != 0 || v == 0)
                bad("--deflate-level", optarg);
            deflate.level = (int)v;
            break;
        case 'B':
            if (wsx_parse_uint(optarg, 15, &v) != 0 || v < 8)
                bad("--deflate-window", optarg);
            deflate.send_window_bits = deflate.recv_window_bits = (unsigned)v;
            break;
        case 'v':
            opts.verbose++;
            break;
        case 'h':
            fputs(usage, stdout);
            fputs(usage_more, stdout);
            return 0;
        default:
            fputs("try 'wsecho --help'\n", stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "wsecho: unexpected argument '%s' (try --help)\n",
                argv[optind]);
        return 1;
    }

    if (wsx_http_check_static("wsecho", "--static", opts.static_dir) != 0)
        return 1;

    if (wsx_opts_tls_server(&opts, "wsecho", cert, key) != 0)
        return 1;

    /* Until SIGINT/SIGTERM: the loop's default is the graceful shutdown. */
    int status = wsx_serve("wsecho", host, port, &opts, &handler, NULL, NULL);
    wsx_tls_free(opts.tls);
    return status;
}
