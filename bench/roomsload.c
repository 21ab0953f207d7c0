/*
 * roomsload — a UDP load generator for chat relays in the wire formats
 * of examples/rooms/PROTOCOL.md (rooms-server, and the Python reference
 * bench/rooms_ref_relay.py): many members in this one process, one UDP
 * socket each (the relay knows a member by its address), datagrams sent
 * at a fixed rate with sendmmsg and read with recvmmsg.
 *
 *   roomsload --mode stage1 --chat-port P [--clients 100] ...
 *   roomsload --mode rooms --udp-port P --tcp-port P [--rooms 500]
 *             [--members 10] ...
 *   common: [--host 127.0.0.1] [--rate N] [--time SEC] [--warmup SEC]
 *           [--pid SERVER] [--cpu K] [--kv]
 *
 * stage1: each client's first datagram (usernamelen | name | "hello")
 * makes it known; then every datagram a client sends is relayed,
 * unchanged, to every other client. rooms: each room is made by a TCRP
 * create (operation 1, over TCP) of its first member, the host, and
 * joined by a TCRP join (operation 2) of each other member; each member
 * then sends an empty datagram (a heartbeat) with its token, which binds
 * its address, and every chat datagram (RoomNameSize | TokenSize | Room |
 * Token | Message) comes back to each other member of the room as
 * {"type": "chat", "from": ..., "text": ...}.
 *
 * --rate is datagrams in per second over all members (each relayed to
 * the members - 1 others), the members taking turns; a member due to
 * send several in one millisecond sends them in one sendmmsg. Each
 * message text is "SENDER SEQ T_NS": every relayed datagram is checked
 * (from a member of the receiver's room, not itself, each sender's
 * sequence in order) and timed. After --warmup and --time seconds the
 * sending stops and what is still on its way has a second to arrive;
 * loss is 1 - relayed / (sent x (members - 1)) over the whole run.
 *
 * Exit status: 0; 1 on bad usage or when the relay cannot be used; 2
 * when a datagram came to the wrong member, twice or out of order, or
 * none was relayed at all. Loss is reported, not an error (UDP may
 * drop).
 */
#define _GNU_SOURCE
#include "loadstat.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_DGRAM 4096
#define BATCH 64       /* datagrams per recvmmsg / sendmmsg */
#define SETTLE_MS 500  /* for the relay to learn every member */
#define DRAIN_MS 1000  /* for what is on its way at the end */
#define RCVBUF (4 << 20)

typedef struct member {
    int fd;
    uint32_t seq;        /* its next message's sequence number */
    uint8_t head[600];   /* what precedes the text in its datagrams */
    size_t head_len;
} member_t;

typedef struct opts {
    const char *host;
    int stage1, chat_port, udp_port, tcp_port;
    unsigned groups, size; /* rooms, members per room */
    double rate, time, warmup;
    long pid;
    int cpu, kv;
} opts_t;

static opts_t o = {.host = "127.0.0.1", .groups = 500, .size = 10,
                   .rate = 10000, .time = 3, .warmup = 0.5, .cpu = -1};
static member_t *mem;
static unsigned nmem;
static uint32_t *expect; /* expect[r * size + slot of s] */
static int epfd, measuring, sending;
static uint64_t sent, sent_measured, delivered, delivered_measured;
static uint64_t errors, notices, gaps;
static ls_hist_t hist;

static void die(const char *what)
{
    fprintf(stderr, "roomsload: %s%s%s\n", what, errno ? ": " : "",
            errno ? strerror(errno) : "");
    exit(1);
}

static void fail(unsigned who, const char *what)
{
    if (errors++ < 5)
        fprintf(stderr, "roomsload: member %u: %s\n", who, what);
}

/* ------------------------------------------------------------- TCRP */

static void put_header(uint8_t *h, size_t name, int op, int state,
                       size_t payload)
{
    memset(h, 0, 32);
    h[0] = (uint8_t)name;
    h[1] = (uint8_t)op;
    h[2] = (uint8_t)state;
    for (int i = 0; i < 8; i++) /* the low 8 of the 29 size bytes */
        h[31 - i] = (uint8_t)((uint64_t)payload >> (8 * i));
}

static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r, n -= (size_t)r;
    }
    return 0;
}

/* One TCRP message's payload (its room name skipped) into buf: its
 * state, or -1. */
static int read_message(int fd, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t h[32], skip[255];
    uint64_t n = 0;
    if (read_full(fd, h, 32) != 0 || read_full(fd, skip, h[0]) != 0)
        return -1;
    for (int i = 3; i < 32; i++) {
        if (i < 24 && h[i])
            return -1; /* beyond 64 bits: not ours */
        n = n << 8 | h[i];
    }
    if (n >= cap || read_full(fd, buf, (size_t)n) != 0)
        return -1;
    buf[n] = 0;
    *len = (size_t)n;
    return h[2];
}

/* A create (op 1) or join (op 2) of room by user; the token into m.
 * 0, or -1 with the answer on stderr. */
static int tcrp(int op, const char *room, const char *user, uint8_t *token,
                size_t *token_len)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)o.tcp_port)};
    uint8_t req[600], ans[1024];
    char body[128];
    size_t rn = strlen(room), len;
    int bn = snprintf(body, sizeof body, "{\"username\": \"%s\"}", user);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    inet_pton(AF_INET, o.host, &a.sin_addr);
    put_header(req, rn, op, 0, (size_t)bn);
    memcpy(req + 32, room, rn);
    memcpy(req + 32 + rn, body, (size_t)bn);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(fd, req, 32 + rn + (size_t)bn) != (ssize_t)(32 + rn + bn)) {
        perror("roomsload: TCRP over TCP");
        exit(1);
    }
    int ok = read_message(fd, ans, sizeof ans, &len) == 1 &&
             strstr((char *)ans, "\"status\"") &&
             strstr((char *)ans, "200") &&
             read_message(fd, token, 256, token_len) == 2;
    close(fd);
    if (!ok)
        fprintf(stderr, "roomsload: TCRP %s of %s by %s: %s\n",
                op == 1 ? "create" : "join", room, user, (char *)ans);
    return ok ? 0 : -1;
}

/* ---------------------------------------------------------- members */

static int udp_socket(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int buf = RCVBUF;

    inet_pton(AF_INET, o.host, &a.sin_addr);
    /* connect: datagrams from the relay's port only, sends need no
     * address. The buffer is capped by net.core.rmem_max. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf) ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("cannot open a UDP socket");
    return fd;
}

static void add_member(unsigned i)
{
    member_t *m = &mem[i];
    char room[32], user[32];
    struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};

    snprintf(user, sizeof user, o.stage1 ? "c%u" : "m%u", i);
    m->fd = udp_socket(o.stage1 ? o.chat_port : o.udp_port);
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, m->fd, &e) != 0)
        die("epoll");
    if (o.stage1) { /* usernamelen | username */
        m->head[0] = (uint8_t)strlen(user);
        memcpy(m->head + 1, user, m->head[0]);
        m->head_len = 1 + m->head[0];
        return;
    }
    uint8_t token[256];
    size_t tl;
    snprintf(room, sizeof room, "r%u", i / o.size);
    if (tcrp(i % o.size ? 2 : 1, room, user, token, &tl) != 0)
        exit(1);
    /* RoomNameSize | TokenSize | RoomName | Token */
    size_t rn = strlen(room);
    m->head[0] = (uint8_t)rn;
    m->head[1] = (uint8_t)tl;
    memcpy(m->head + 2, room, rn);
    memcpy(m->head + 2 + rn, token, tl);
    m->head_len = 2 + rn + tl;
}

/* The first datagram: "hello" (stage 1: known from now on) or empty (a
 * heartbeat: binds the token to this address). */
static void introduce(member_t *m)
{
    uint8_t d[sizeof m->head + 8];
    memcpy(d, m->head, m->head_len);
    memcpy(d + m->head_len, "hello", 5);
    if (send(m->fd, d, m->head_len + (o.stage1 ? 5 : 0), 0) < 0)
        die("send");
}

/* ------------------------------------------------------------ traffic */

/* The message text inside a relayed datagram, or NULL (a notice). */
static const char *text_of(const uint8_t *d, size_t n)
{
    if (o.stage1)
        return n > 1u + d[0] ? (const char *)d + 1 + d[0] : NULL;
    const char *t = strstr((const char *)d, "\"text\"");
    if (!t || !strstr((const char *)d, "\"chat\""))
        return NULL;
    t += 6;
    while (*t == ' ' || *t == ':')
        t++;
    return *t == '"' ? t + 1 : NULL;
}

static void on_datagram(unsigned r, uint8_t *d, size_t n, uint64_t now)
{
    unsigned s, seq;
    unsigned long long t;

    d[n] = 0;
    const char *text = text_of(d, n);
    if (!text || sscanf(text, "%u %u %llu", &s, &seq, &t) != 3) {
        notices++; /* stage 1 hellos, system notices */
        return;
    }
    if (s >= nmem || s == r || s / o.size != r / o.size) {
        fail(r, "a datagram from a member of another room, or its own");
        return;
    }
    uint32_t *want = &expect[(size_t)r * o.size + s % o.size];
    if (seq < *want) {
        fail(r, "a datagram came twice or out of order");
        return;
    }
    gaps += seq - *want;
    *want = seq + 1;
    delivered++;
    if (measuring) {
        delivered_measured++;
        ls_hist_add(&hist, now - t);
    }
}

static void receive(int ms)
{
    static uint8_t bufs[BATCH][MAX_DGRAM + 1];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    struct epoll_event ev[256];
    int k = epoll_wait(epfd, ev, 256, ms);
    uint64_t now = ls_clock_ns();

    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){bufs[i], MAX_DGRAM};
        msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    for (int e = 0; e < k; e++) {
        unsigned r = ev[e].data.u32;
        int got;
        while ((got = recvmmsg(mem[r].fd, msgs, BATCH, MSG_DONTWAIT, NULL)) >
               0) {
            for (int i = 0; i < got; i++)
                on_datagram(r, bufs[i], msgs[i].msg_len, now);
            if (got < BATCH)
                break;
        }
    }
}

/* count datagrams from member m, in one sendmmsg. */
static void send_from(member_t *m, unsigned idx, unsigned count)
{
    static uint8_t bufs[BATCH][sizeof m->head + 64];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    uint64_t now = ls_clock_ns();

    count = count < BATCH ? count : BATCH;
    for (unsigned i = 0; i < count; i++) {
        memcpy(bufs[i], m->head, m->head_len);
        int n = snprintf((char *)bufs[i] + m->head_len, 64, "%u %u %llu", idx,
                         (unsigned)(m->seq + i), (unsigned long long)now);
        iov[i] = (struct iovec){bufs[i], m->head_len + (size_t)n};
        msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    int done = sendmmsg(m->fd, msgs, count, 0);
    if (done < 0) {
        /* A full send buffer is the load generator's loss, not the
         * relay's: say so rather than count it. */
        if (errno != EAGAIN && errno != ENOBUFS)
            die("sendmmsg");
        done = 0;
    }
    m->seq += (unsigned)done;
    sent += (unsigned)done;
    if (measuring)
        sent_measured += (unsigned)done;
}

/* Datagrams due by now at --rate, from the next members in turn. */
static void pace(uint64_t t0, uint64_t now, unsigned *next)
{
    uint64_t due = (uint64_t)((double)(now - t0) * 1e-9 * o.rate);
    if (due <= sent)
        return;
    uint64_t d = due - sent;
    if (d > (uint64_t)nmem * BATCH)
        d = (uint64_t)nmem * BATCH; /* behind: do not flood in one go */
    uint64_t each = d / nmem, extra = d % nmem;
    for (unsigned k = 0; k < nmem && (each || k < extra); k++) {
        unsigned i = (*next + k) % nmem;
        send_from(&mem[i], i, (unsigned)(each + (k < extra)));
    }
    *next = (unsigned)((*next + extra) % nmem);
}

/* Receive (and send, while sending) until `until`; when not sending,
 * only until everything owed has come. */
static void run_for(uint64_t until, uint64_t t0, unsigned *next)
{
    uint64_t now;
    while ((now = ls_clock_ns()) < until) {
        if (!sending && t0 && delivered >= sent * (o.size - 1))
            return;
        if (sending)
            pace(t0, now, next);
        receive(1);
    }
}

/* ------------------------------------------------------------ options */

static void usage(FILE *to)
{
    fprintf(to,
        "usage: roomsload --mode stage1 --chat-port P [--clients 100]\n"
        "       roomsload --mode rooms --udp-port P --tcp-port P "
        "[--rooms 500] [--members 10]\n"
        "       common: [--host 127.0.0.1] [--rate 10000] [--time 3] "
        "[--warmup 0.5]\n"
        "               [--pid SERVER] [--cpu K] [--kv]\n"
        "  UDP datagrams at --rate per second (in), each relayed to the "
        "other members\n"
        "  (of the room); prints datagrams relayed per second, the "
        "loss and p50/p99\n"
        "  latency, and checks that none reached the wrong member, "
        "twice or out of order.\n");
}

static double num(const char *what, const char *s, double lo, double hi)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "roomsload: %s needs a number %g..%g\n", what, lo, hi);
        exit(1);
    }
    return v;
}

static void parse(int argc, char **argv)
{
    static const struct option lo[] = {
        {"mode", 1, NULL, 'm'},      {"host", 1, NULL, 'H'},
        {"chat-port", 1, NULL, 'c'}, {"udp-port", 1, NULL, 'u'},
        {"tcp-port", 1, NULL, 't'},  {"clients", 1, NULL, 'n'},
        {"rooms", 1, NULL, 'r'},     {"members", 1, NULL, 'M'},
        {"rate", 1, NULL, 'R'},      {"time", 1, NULL, 'T'},
        {"warmup", 1, NULL, 'W'},    {"pid", 1, NULL, 'P'},
        {"cpu", 1, NULL, 'C'},       {"kv", 0, NULL, 'k'},
        {"help", 0, NULL, 'h'},      {NULL, 0, NULL, 0}};
    int opt, mode = 0;
    unsigned clients = 100;

    while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (opt) {
        case 'm':
            mode = !strcmp(optarg, "stage1") ? 1 : !strcmp(optarg, "rooms") ? 2
                                                                           : 0;
            if (!mode) {
                fprintf(stderr, "roomsload: --mode is stage1 or rooms\n");
                exit(1);
            }
            break;
        case 'H': o.host = optarg; break;
        case 'c':
            o.chat_port = (int)num("--chat-port", optarg, 1, 65535);
            break;
        case 'u': o.udp_port = (int)num("--udp-port", optarg, 1, 65535); break;
        case 't': o.tcp_port = (int)num("--tcp-port", optarg, 1, 65535); break;
        case 'n': clients = (unsigned)num("--clients", optarg, 2, 10000); break;
        case 'r': o.groups = (unsigned)num("--rooms", optarg, 1, 10000); break;
        case 'M': o.size = (unsigned)num("--members", optarg, 2, 1000); break;
        case 'R': o.rate = num("--rate", optarg, 1, 1e7); break;
        case 'T': o.time = num("--time", optarg, 0.01, 3600); break;
        case 'W': o.warmup = num("--warmup", optarg, 0, 3600); break;
        case 'P': o.pid = (long)num("--pid", optarg, 1, 1 << 30); break;
        case 'C': o.cpu = (int)num("--cpu", optarg, 0, 1023); break;
        case 'k': o.kv = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(1);
        }
    }
    o.stage1 = mode == 1;
    if (optind != argc || !mode || (o.stage1 && !o.chat_port) ||
        (!o.stage1 && (!o.udp_port || !o.tcp_port))) {
        fprintf(stderr, "roomsload: --mode and its ports are required\n");
        usage(stderr);
        exit(1);
    }
    if (o.stage1)
        o.groups = 1, o.size = clients;
    nmem = o.groups * o.size;
}

/* ---------------------------------------------------------------- run */

static int report(double secs, double self, double server)
{
    uint64_t owed = sent * (o.size - 1);
    double loss = owed ? 100.0 * (double)(owed - delivered) / (double)owed : 0;
    double p50 = ls_hist_quantile(&hist, 0.50) / 1e3;
    double p99 = ls_hist_quantile(&hist, 0.99) / 1e3;

    if (!delivered) { /* a relay that relays nothing is not measured */
        errors++;
        fprintf(stderr, "roomsload: no datagram was relayed\n");
    }
    if (o.kv)
        printf("roomsload mode=%s rooms=%u members=%u rate=%.0f secs=%.3f "
               "sent=%llu in_s=%.0f relayed=%llu out_s=%.0f owed=%llu "
               "loss_pct=%.3f p50_us=%.1f p99_us=%.1f errors=%llu "
               "server_cpu=%.0f self_cpu=%.0f\n",
               o.stage1 ? "stage1" : "rooms", o.groups, o.size, o.rate, secs,
               (unsigned long long)sent, (double)sent_measured / secs,
               (unsigned long long)delivered,
               (double)delivered_measured / secs, (unsigned long long)owed,
               loss, p50, p99, (unsigned long long)errors, server, self);
    else
        printf("roomsload: %s, %u x %u members, %.0f datagrams/s offered: "
               "%.0f in/s, %.0f relayed/s, loss %.3f %%, latency p50 %.1f "
               "us, p99 %.1f us, %llu errors; CPU: relay %.0f%%, roomsload "
               "%.0f%%\n",
               o.stage1 ? "stage 1" : "rooms", o.groups, o.size, o.rate,
               (double)sent_measured / secs,
               (double)delivered_measured / secs, loss, p50, p99,
               (unsigned long long)errors, server, self);
    return errors ? 2 : 0;
}

int main(int argc, char **argv)
{
    unsigned next = 0;

    parse(argc, argv);
    if (ls_raise_nofile(nmem + 64) != 0) {
        fprintf(stderr, "roomsload: %u members need %u descriptors: raise "
                        "the limit (ulimit -n)\n", nmem, nmem + 64);
        return 1;
    }
    if (ls_pin_cpu(o.cpu) != 0)
        die("--cpu");
    mem = calloc(nmem, sizeof *mem);
    expect = calloc((size_t)nmem * o.size, sizeof *expect);
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || !mem || !expect)
        die("cannot start");
    for (unsigned i = 0; i < nmem; i++) {
        add_member(i);
        introduce(&mem[i]);
        receive(0);
    }
    run_for(ls_clock_ns() + SETTLE_MS * 1000000ull, 0, &next);

    uint64_t t0 = ls_clock_ns();
    sending = 1;
    run_for(t0 + (uint64_t)(o.warmup * 1e9), t0, &next);
    measuring = 1;
    uint64_t m0 = ls_clock_ns();
    double c0 = ls_cpu_self(), s0 = o.pid ? ls_cpu_of(o.pid) : -1;
    run_for(m0 + (uint64_t)(o.time * 1e9), t0, &next);
    double secs = (double)(ls_clock_ns() - m0) / 1e9;
    double c1 = ls_cpu_self(), s1 = o.pid ? ls_cpu_of(o.pid) : -1;
    measuring = sending = 0;
    run_for(ls_clock_ns() + DRAIN_MS * 1000000ull, t0, &next);
    return report(secs, 100 * (c1 - c0) / secs,
                  s0 >= 0 && s1 >= 0 ? 100 * (s1 - s0) / secs : -1);
}
