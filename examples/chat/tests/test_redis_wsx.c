/* test_redis_wsx.c — hiredis on the wsx loop (examples/chat/redis_wsx.c)
 * against a real redis-server: redis:// URLs, commands and their order,
 * pub/sub, a refused connect and its backoff, a connect that gets no
 * answer in time, a connection the server kills (pending callbacks get
 * NULL, the link comes back), a server that stops answering PINGs, and
 * freeing a link from inside its own reply callback.
 *
 * The server is the one test_redis.py starts: its port comes in
 * REDIS_PORT. Every wait is bounded (run_until). */
#define _GNU_SOURCE
#include "harness.h"
#include "redis_wsx.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char th_suite_name[] = "redis_wsx";

static int redis_port;

/* Run loop rounds until *flag is set or ms have passed; returns *flag. */
static int run_until(wsx_loop_t *loop, const int *flag, int ms)
{
    uint64_t end;

    wsx_loop_run_once(loop, 0);
    end = wsx_loop_now(loop) + (uint64_t)ms;
    while (!*flag && wsx_loop_now(loop) < end)
        wsx_loop_run_once(loop, 10);
    return *flag;
}

/* What a link's callbacks saw. */
struct seen {
    int ups, downs;
    char why[160];
    redisAsyncContext *ac;
};

static void seen_up(redis_link_t *l, redisAsyncContext *ac, void *user)
{
    struct seen *s = user;

    (void)l;
    s->ups++;
    s->ac = ac;
}

static void seen_down(redis_link_t *l, const char *why, void *user)
{
    struct seen *s = user;

    (void)l;
    s->downs++;
    s->ac = NULL;
    snprintf(s->why, sizeof s->why, "%s", why);
}

static const redis_link_cb_t seen_cb = {seen_up, seen_down};

static redis_link_t *link_to(wsx_loop_t *loop, int port,
                             const redis_link_opts_t *o, struct seen *s)
{
    redis_addr_t a = {"127.0.0.1", port, 0};

    memset(s, 0, sizeof *s);
    return redis_link_new(loop, &a, o, &seen_cb, s);
}

/* A port nothing listens on: bound, then released. */
static int closed_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t n = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &n);
    close(fd);
    return ntohs(sa.sin_port);
}

/* A listener that never accepts: connects complete (the backlog), no
 * byte is ever answered. Returns the socket; its port into *port. */
static int silent_listener(int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t n = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    listen(fd, 8);
    getsockname(fd, (struct sockaddr *)&sa, &n);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---------------------------------------------------------------- URLs */

static void url_ok(const char *url, const char *host, int port, int db)
{
    redis_addr_t a;
    const char *why = NULL;

    th_note("%s", url);
    CHECK_INT(redis_url_parse(url, &a, &why), 0);
    CHECK_STR(a.host, host);
    CHECK_INT(a.port, port);
    CHECK_INT(a.db, db);
}

static void url_bad(const char *url, const char *want_why)
{
    redis_addr_t a;
    const char *why = "";

    th_note("%s", url);
    CHECK_INT(redis_url_parse(url, &a, &why), -1);
    CHECK_STR(why, want_why);
}

static void urls(void)
{
    url_ok("redis://127.0.0.1:6379/0", "127.0.0.1", 6379, 0);
    url_ok("redis://localhost", "localhost", 6379, 0);
    url_ok("redis://localhost/", "localhost", 6379, 0);
    url_ok("redis://h:1/15", "h", 1, 15);
    url_ok("redis://[::1]:7000/2", "::1", 7000, 2);
    url_bad("http://h/", "it must start with redis://");
    url_bad("redis://", "the host is missing");
    url_bad("redis://:6379", "the host is missing");
    url_bad("redis://h:0", "the port must be 1..65535");
    url_bad("redis://h:65536", "the port must be 1..65535");
    url_bad("redis://h:x", "the port must be 1..65535");
    url_bad("redis://h/x", "the database must be a number "
                           "(redis://HOST:PORT/0)");
    url_bad("redis://h:1/0x", "unexpected text after the host, port "
                              "and database");
    url_bad("redis://:pw@h", "user names and passwords are not supported");
    url_bad("redis://[::1", "an IPv6 address needs its closing ]");
}

/* ------------------------------------------------------------ commands */

struct replies {
    int n, bad, done;
    long long last;
    char str[64];
};

static void on_int(redisAsyncContext *ac, void *reply, void *priv)
{
    struct replies *r = priv;
    redisReply *rep = reply;

    (void)ac;
    if (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer != r->last + 1)
        r->bad++;
    else
        r->last = rep->integer;
    r->n++;
}

static void on_str(redisAsyncContext *ac, void *reply, void *priv)
{
    struct replies *r = priv;
    redisReply *rep = reply;

    (void)ac;
    if (rep && rep->type == REDIS_REPLY_STRING)
        snprintf(r->str, sizeof r->str, "%s", rep->str);
    else
        r->bad++;
    r->done = 1;
}

/* 2000 INCRs pipelined in one round: every reply, in order. */
static void commands_in_order(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    struct seen s;
    redis_link_t *l = link_to(loop, redis_port, NULL, &s);
    struct replies r = {0};

    CHECK(run_until(loop, &s.ups, 3000));
    CHECK(redis_link_ctx(l) == s.ac);
    redisAsyncCommand(s.ac, NULL, NULL, "DEL t:counter");
    for (int i = 0; i < 2000; i++)
        redisAsyncCommand(s.ac, on_int, &r, "INCR t:counter");
    redisAsyncCommand(s.ac, NULL, NULL, "SET t:key %b", "v\0x", (size_t)3);
    redisAsyncCommand(s.ac, on_str, &r, "GET t:key");
    CHECK(run_until(loop, &r.done, 3000));
    CHECK_INT(r.n, 2000);
    CHECK_INT(r.bad, 0);
    CHECK_INT(r.last, 2000);
    CHECK_BYTES(r.str, strlen(r.str), "v", 1);
    CHECK_INT(s.downs, 0);
    redis_link_free(l);
    wsx_loop_free(loop);
}

struct sub {
    int subscribed, messages;
    char last[64];
};

static void on_message(redisAsyncContext *ac, void *reply, void *priv)
{
    struct sub *sb = priv;
    redisReply *r = reply;

    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    if (!strcmp(r->element[0]->str, "subscribe"))
        sb->subscribed = 1;
    if (!strcmp(r->element[0]->str, "message")) {
        sb->messages++;
        snprintf(sb->last, sizeof sb->last, "%s", r->element[2]->str);
    }
}

/* A subscriber link and a publisher link on one loop. */
static void pubsub(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    struct seen ps, ss;
    redis_link_t *pub = link_to(loop, redis_port, NULL, &ps);
    redis_link_t *sub = link_to(loop, redis_port, NULL, &ss);
    struct sub sb = {0};
    int got100 = 0;

    CHECK(run_until(loop, &ss.ups, 3000));
    redisAsyncCommand(ss.ac, on_message, &sb, "SUBSCRIBE t:chan");
    CHECK(run_until(loop, &sb.subscribed, 3000));
    CHECK(run_until(loop, &ps.ups, 3000));
    for (int i = 1; i <= 100; i++)
        redisAsyncCommand(ps.ac, NULL, NULL, "PUBLISH t:chan m%d", i);
    for (int i = 0; i < 300 && sb.messages < 100; i++)
        wsx_loop_run_once(loop, 10);
    got100 = sb.messages == 100;
    CHECK(got100);
    CHECK_STR(sb.last, "m100");
    redis_link_free(sub);
    redis_link_free(pub);
    wsx_loop_free(loop);
}

/* ------------------------------------------------------------- failures */

/* Nothing listens: no on_up, attempts after 100, 200, 400 ms ... */
static void refused_with_backoff(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    redis_link_opts_t o = {.backoff_min = 50, .backoff_max = 200};
    struct seen s;
    redis_link_t *l = link_to(loop, closed_port(), &o, &s);
    int never = 0;

    run_until(loop, &never, 1000);
    CHECK_INT(s.ups, 0);
    CHECK_INT(s.downs, 0); /* never up, so never down */
    CHECK(redis_link_ctx(l) == NULL);
    /* 50 + 100 + 200 + 200 + 200 ... ms: 6 attempts in 1 s; fewer on a
     * loaded machine (valgrind), never more (the backoff holds) */
    th_note("failures %u: %s", redis_link_failures(l), redis_link_error(l));
    CHECK(redis_link_failures(l) >= 2 && redis_link_failures(l) <= 7);
    CHECK(strstr(redis_link_error(l), "refused") != NULL);
    redis_link_free(l);
    wsx_loop_free(loop);
}

/* Connected, but SELECT is never answered: the attempt times out. */
static void connect_timeout(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    redis_link_opts_t o = {.timeout_ms = 200, .backoff_min = 1000};
    struct seen s;
    int port, fd = silent_listener(&port), never = 0;
    redis_link_t *l = link_to(loop, port, &o, &s);
    char want[96];

    run_until(loop, &never, 400);
    CHECK_INT(s.ups, 0);
    CHECK_INT(redis_link_failures(l), 1);
    snprintf(want, sizeof want, "no answer from 127.0.0.1:%d within 200 ms",
             port);
    CHECK_STR(redis_link_error(l), want);
    redis_link_free(l);
    close(fd);
    wsx_loop_free(loop);
}

static void on_id(redisAsyncContext *ac, void *reply, void *priv)
{
    struct replies *r = priv;
    redisReply *rep = reply;

    (void)ac;
    if (rep && rep->type == REDIS_REPLY_INTEGER)
        r->last = rep->integer;
    r->done = 1;
}

static void on_pending(redisAsyncContext *ac, void *reply, void *priv)
{
    struct replies *r = priv;

    (void)ac;
    r->n++;
    if (reply)
        r->bad++; /* BLPOP on an empty list cannot have answered */
}

/* CLIENT KILL from another connection: the pending BLPOP's callback gets
 * NULL, on_down says why, the link is up again after the backoff. */
static void killed_and_back(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    redis_link_opts_t o = {.backoff_min = 100};
    struct seen s, ks;
    redis_link_t *l = link_to(loop, redis_port, &o, &s);
    redis_link_t *killer = link_to(loop, redis_port, NULL, &ks);
    struct replies id = {0}, pend = {0};
    int two = 0;

    CHECK(run_until(loop, &s.ups, 3000) && run_until(loop, &ks.ups, 3000));
    redisAsyncCommand(s.ac, on_id, &id, "CLIENT ID");
    CHECK(run_until(loop, &id.done, 3000));
    redisAsyncCommand(s.ac, on_pending, &pend, "BLPOP t:empty 0");
    redisAsyncCommand(ks.ac, NULL, NULL, "CLIENT KILL ID %lld", id.last);
    CHECK(run_until(loop, &s.downs, 3000));
    CHECK_INT(pend.n, 1);
    CHECK_INT(pend.bad, 0);
    CHECK_STR(s.why, "Server closed the connection");
    CHECK(redis_link_ctx(l) == NULL);
    for (int i = 0; i < 300 && s.ups < 2; i++)
        wsx_loop_run_once(loop, 10);
    two = s.ups == 2;
    CHECK(two);
    CHECK(redis_link_ctx(l) != NULL);
    redis_link_free(killer);
    redis_link_free(l);
    wsx_loop_free(loop);
}

/* CLIENT PAUSE holds every command for 2 s: a link pinging every 100
 * ms with a 500 ms timeout drops itself, then comes back. */
static void ping_timeout(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    redis_link_opts_t o = {.timeout_ms = 500, .ping_ms = 100};
    struct seen s, ps;
    redis_link_t *l = link_to(loop, redis_port, &o, &s);
    redis_link_t *pauser = link_to(loop, redis_port, NULL, &ps);
    int never = 0, two = 0;

    CHECK(run_until(loop, &s.ups, 3000) && run_until(loop, &ps.ups, 3000));
    run_until(loop, &never, 200);
    CHECK_INT(s.downs, 0); /* answered pings keep it up */
    redisAsyncCommand(ps.ac, NULL, NULL, "CLIENT PAUSE 2000 ALL");
    CHECK(run_until(loop, &s.downs, 3000));
    CHECK_STR(s.why, "Redis did not answer a PING in time");
    for (int i = 0; i < 600 && s.ups < 2; i++)
        wsx_loop_run_once(loop, 10);
    two = s.ups == 2;
    CHECK(two);
    redis_link_free(pauser);
    redis_link_free(l);
    wsx_loop_free(loop);
}

struct self_free {
    redis_link_t *l;
    int done, pending_null;
};

static void free_from_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    struct self_free *f = priv;

    (void)ac;
    (void)reply;
    redis_link_free(f->l); /* hiredis frees the context after we return */
    f->done = 1;
}

static void pending_after_free(redisAsyncContext *ac, void *reply, void *priv)
{
    struct self_free *f = priv;

    (void)ac;
    if (!reply)
        f->pending_null++;
}

/* redis_link_free inside a reply callback: the queued command behind it
 * gets NULL; nothing is touched after (valgrind and ASan runs check). */
static void free_inside_callback(void)
{
    wsx_loop_t *loop = wsx_loop_new();
    struct seen s;
    struct self_free f = {0};
    int never = 0;

    f.l = link_to(loop, redis_port, NULL, &s);
    CHECK(run_until(loop, &s.ups, 3000));
    redisAsyncCommand(s.ac, free_from_reply, &f, "PING");
    redisAsyncCommand(s.ac, pending_after_free, &f, "PING");
    CHECK(run_until(loop, &f.done, 3000));
    run_until(loop, &never, 100);
    CHECK_INT(f.pending_null, 1);
    CHECK_INT(s.downs, 0);
    wsx_loop_free(loop);
}

void suite_redis_wsx(void);
void suite_redis_wsx(void)
{
    const char *p = getenv("REDIS_PORT");

    RUN(urls);
    if (!p) {
        fprintf(stderr, "REDIS_PORT is not set: only the URL cases ran "
                        "(test_redis.py starts a redis-server)\n");
        exit(1);
    }
    redis_port = atoi(p);
    RUN(commands_in_order);
    RUN(pubsub);
    RUN(refused_with_backoff);
    RUN(connect_timeout);
    RUN(killed_and_back);
    RUN(ping_timeout);
    RUN(free_inside_callback);
}
