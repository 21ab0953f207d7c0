/*
 * server.h — what the parts of rooms-server share: one server_t, and the
 * entry points of each transport (udp.c, tcp.c, ws.c) for server.c.
 */
#ifndef ROOMS_SERVER_H
#define ROOMS_SERVER_H

#include "dgram.h"
#include "ops.h"
#include "rooms.h"
#include "wsx.h"

#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#define SERVER_NAME "rooms-server"

/* A stage 1 client: its address and when it was last heard. */
typedef struct chat_client {
    struct sockaddr_storage sa;
    socklen_t len;
    uint64_t last_seen;
    unsigned failures; /* sends in a row that failed */
} chat_client_t;

typedef struct tcrp_conn tcrp_conn_t;

/* A datagram buffer: one byte more than the largest valid datagram, so
 * that a longer one shows (it is cut to this length). */
#define DGRAM_RBUF (DGRAM_MAX + 1)

/* Datagrams received and sent per watch callback (recvmmsg/sendmmsg). */
#define UDP_BATCH 64

typedef struct udp_batch {
    struct mmsghdr msg[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    unsigned n;
    int fd;
} udp_batch_t;

typedef struct server {
    wsx_loop_t *loop;
    rooms_t rooms;
    /* options */
    const char *host;
    int chat_port, udp_port, tcp_port, http_port;
    uint64_t idle_ms;
    int tx_timeout_ms;
    uint64_t max_payload;
    size_t max_members;
    int verbose;
    const char *failed; /* what start() could not open */
    char web_dir[PATH_MAX];
    wsx_opts_t http_opts;
    /* sockets */
    int chat_fd, udp_fd, tcp_fd;
    wsx_watch_t *chat_w, *udp_w, *tcp_w;
    wsx_server_t *http;
    wsx_timer_t *sweep;
    /* stage 1 */
    chat_client_t *clients;
    size_t nclients, clients_cap;
    /* TCRP over TCP */
    tcrp_conn_t *tcrp;
    size_t ntcrp;
    unsigned long tcrp_evicted; /* connections closed to make room */
    unsigned long long ws_behind; /* datagrams not sent to slow pages */
    /* datagrams */
    udp_batch_t out;
    uint8_t (*rbuf)[DGRAM_RBUF];
    uint8_t ws_msg[1 + ROOM_JSON_MAX]; /* kind 2 + a JSON body, for /ws */
    unsigned long long dropped;
    uint64_t drop_log_at;
    unsigned drop_lines;
    unsigned long long drop_quiet;
} server_t;

/* A log line on stderr: "rooms-server: ..."; info only with --verbose. */
void server_log(const server_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void server_info(const server_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A dropped datagram: counted, logged at most a few lines a second. */
void server_drop(server_t *s, const char *port, const struct sockaddr *from,
                 const char *why);
void server_drop_text(server_t *s, const char *port, const char *peer,
                      const char *why);

/* udp.c: the chat and room ports, and delivery to UDP members. */
int udp_start(server_t *s);
void udp_stop(server_t *s);
void udp_send(server_t *s, const rooms_addr_t *to, const void *data,
              size_t len);
void udp_flush(server_t *s);
void udp_sweep(server_t *s, uint64_t now);

/* tcp.c: TCRP over TCP. */
int tcp_start(server_t *s);
void tcp_stop(server_t *s);
void tcp_sweep(server_t *s, uint64_t now);

/* ws.c: the GUI's page and its WebSocket /ws. */
int ws_start(server_t *s);
void ws_send(server_t *s, void *ws, const void *json, size_t len);

/* A socket of type (SOCK_DGRAM, SOCK_STREAM) bound to host:port,
 * non-blocking; *port becomes the bound port. -1 with errno. */
int server_bind(const char *host, int *port, int type);

#endif
