/*
 * redis_wsx.c — hiredis's async API on the wsx loop: the event adapter,
 * redis:// URLs, and a link that reconnects (see redis_wsx.h).
 *
 * hiredis may free a context from inside redisAsyncHandleRead (the server
 * closed, a reply could not be parsed, a callback called redisAsyncFree);
 * its cleanup hook then runs while our watcher callback is still on the
 * stack. The adapter therefore defers freeing itself to the end of that
 * callback, and the link never trusts a context once it has let go of it:
 * it clears ac->data first, and every hiredis callback of the link starts
 * by checking that ac is still the link's current one.
 */
#include "redis_wsx.h"

#include <hiredis/sds.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ adapter */

struct redis_wsx_ev {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    wsx_watch_t *w;
    unsigned events;
    int in_cb;
};

static void ev_set(struct redis_wsx_ev *e, unsigned events)
{
    if (!e->ac || e->events == events)
        return;
    e->events = events;
    wsx_watch_set(e->w, events);
}

static void ev_add_read(void *p)
{
    struct redis_wsx_ev *e = p;

    ev_set(e, e->events | WSX_READABLE);
}

static void ev_del_read(void *p)
{
    struct redis_wsx_ev *e = p;

    ev_set(e, e->events & ~WSX_READABLE);
}

static void ev_add_write(void *p)
{
    struct redis_wsx_ev *e = p;

    ev_set(e, e->events | WSX_WRITABLE);
}

static void ev_del_write(void *p)
{
    struct redis_wsx_ev *e = p;

    ev_set(e, e->events & ~WSX_WRITABLE);
}

static void ev_cleanup(void *p)
{
    struct redis_wsx_ev *e = p;

    wsx_watch_stop(e->w); /* before hiredis closes the descriptor */
    e->ac = NULL;
    if (!e->in_cb)
        free(e);
}

static void ev_ready(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    struct redis_wsx_ev *e = user;

    (void)w;
    (void)fd;
    e->in_cb = 1;
    if (ready & WSX_READABLE)
        redisAsyncHandleRead(e->ac);
    /* Reading may have freed the context, or stopped wanting to write. */
    if (e->ac && (ready & e->events & WSX_WRITABLE))
        redisAsyncHandleWrite(e->ac);
    e->in_cb = 0;
    if (!e->ac)
        free(e);
}

int redis_wsx_attach(wsx_loop_t *loop, redisAsyncContext *ac)
{
    struct redis_wsx_ev *e;

    if (ac->ev.data)
        return REDIS_ERR;
    e = calloc(1, sizeof *e);
    if (!e)
        return REDIS_ERR;
    e->ac = ac;
    e->w = wsx_watch_start(loop, ac->c.fd, 0, ev_ready, e);
    if (!e->w) {
        free(e);
        return REDIS_ERR;
    }
    ac->ev.data = e;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    /* hiredis 0.14 learns that the connect finished only from a writable
     * event, and asks for one only when a command is queued. */
    ev_add_write(e);
    return REDIS_OK;
}

/* --------------------------------------------------------------- URLs */

static int parse_uint(const char **s, long max, long *out)
{
    long v = 0;

    if (**s < '0' || **s > '9')
        return -1;
    while (**s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        if (v > max)
            return -1;
        (*s)++;
    }
    *out = v;
    return 0;
}

static int parse_host(const char **s, redis_addr_t *a, const char **why)
{
    const char *p = *s, *end;
    size_t n;

    if (*p == '[') { /* [::1] */
        end = strchr(p, ']');
        if (!end) {
            *why = "an IPv6 address needs its closing ]";
            return -1;
        }
        p++;
        *s = end + 1;
    } else {
        end = p + strcspn(p, ":/@");
        *s = end;
    }
    n = (size_t)(end - p);
    if (n == 0 || n >= sizeof a->host) {
        *why = n ? "the host name is too long" : "the host is missing";
        return -1;
    }
    memcpy(a->host, p, n);
    a->host[n] = '\0';
    return 0;
}

int redis_url_parse(const char *url, redis_addr_t *a, const char **why)
{
    const char *s = url;
    long v;

    memset(a, 0, sizeof *a);
    a->port = 6379;
    if (strncmp(s, "redis://", 8) != 0) {
        *why = "it must start with redis://";
        return -1;
    }
    s += 8;
    if (strchr(s, '@')) {
        *why = "user names and passwords are not supported";
        return -1;
    }
    if (parse_host(&s, a, why) != 0)
        return -1;
    if (*s == ':') {
        s++;
        if (parse_uint(&s, 65535, &v) != 0 || v == 0) {
            *why = "the port must be 1..65535";
            return -1;
        }
        a->port = (int)v;
    }
    if (*s == '/' && s[1] != '\0') {
        s++;
        if (parse_uint(&s, 1000000, &v) != 0) {
            *why = "the database must be a number (redis://HOST:PORT/0)";
            return -1;
        }
        a->db = (int)v;
    } else if (*s == '/') {
        s++;
    }
    if (*s != '\0') {
        *why = "unexpected text after the host, port and database";
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------- link */

/* One line saying why: a host name (up to 255) and hiredis's error. */
#define LINE_MAX_LEN 400

struct redis_link {
    wsx_loop_t *loop;
    redis_addr_t a;
    redis_link_opts_t o;
    redis_link_cb_t cb;
    void *user;
    redisAsyncContext *ac; /* the attempt in progress, or the live one */
    int up;
    wsx_timer_t *timer;  /* the attempt's deadline, or the wait to retry */
    wsx_timer_t *pinger; /* while up, with ping_ms */
    uint64_t ping_sent;  /* when the unanswered PING left; 0: none */
    int backoff;         /* the next wait */
    unsigned failures;
    char err[LINE_MAX_LEN];
};

static void link_connect(redis_link_t *l);

static void link_timer_stop(wsx_timer_t **t)
{
    if (*t) {
        wsx_timer_stop(*t);
        *t = NULL;
    }
}

static void on_retry(wsx_timer_t *t, void *user)
{
    redis_link_t *l = user;

    (void)t;
    l->timer = NULL; /* a one-shot timer is freed after this call */
    link_connect(l);
}

/* The connection (or the attempt) is gone: tell, and try again later. */
static void link_lost(redis_link_t *l, const char *why)
{
    int was_up = l->up;

    l->up = 0;
    l->ping_sent = 0;
    link_timer_stop(&l->timer);
    link_timer_stop(&l->pinger);
    snprintf(l->err, sizeof l->err, "%s", why && *why ? why : "lost");
    if (!was_up)
        l->failures++;
    l->timer = wsx_timer_start(l->loop, l->backoff, 0, on_retry, l);
    l->backoff = l->backoff * 2 > l->o.backoff_max ? l->o.backoff_max
                                                    : l->backoff * 2;
    if (was_up && l->cb.on_down)
        l->cb.on_down(l, l->err, l->user);
}

/* Let go of the context: nothing of the link is reached through it any
 * more, whenever hiredis really frees it. */
static void link_release(redis_link_t *l)
{
    redisAsyncContext *ac = l->ac;

    l->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

void redis_link_drop(redis_link_t *l, const char *why)
{
    if (!l->ac)
        return;
    link_release(l);
    link_lost(l, why);
}

/* The link of a hiredis callback, if ac is still its current context. */
static redis_link_t *link_of(const redisAsyncContext *ac)
{
    redis_link_t *l = ac->data;

    return l && l->ac == ac ? l : NULL;
}

static void on_pong(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_link_t *l = link_of(ac);

    (void)priv;
    if (l && reply)
        l->ping_sent = 0;
}

static void on_ping_timer(wsx_timer_t *t, void *user)
{
    redis_link_t *l = user;
    uint64_t now = wsx_loop_now(l->loop);

    (void)t;
    if (!l->up)
        return;
    if (l->ping_sent) {
        if (now - l->ping_sent > (uint64_t)l->o.timeout_ms)
            redis_link_drop(l, "Redis did not answer a PING in time");
        return;
    }
    l->ping_sent = now ? now : 1;
    redisAsyncCommand(l->ac, on_pong, NULL, "PING");
}

static void on_select(redisAsyncContext *ac, void *reply, void *priv)
{
    redis_link_t *l = link_of(ac);
    redisReply *r = reply;
    char why[LINE_MAX_LEN];

    (void)priv;
    if (!l || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof why, "SELECT %d: %s", l->a.db, r->str);
        redis_link_drop(l, why);
        return;
    }
    link_timer_stop(&l->timer);
    l->up = 1;
    l->failures = 0;
    l->err[0] = '\0';
    l->backoff = l->o.backoff_min;
    if (l->o.ping_ms > 0)
        l->pinger = wsx_timer_start(l->loop, l->o.ping_ms, 1, on_ping_timer, l);
    if (l->cb.on_up)
        l->cb.on_up(l, ac, l->user);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redis_link_t *l = link_of(cac);
    redisAsyncContext *ac;

    if (!l)
        return;
    ac = l->ac;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns */
        l->ac = NULL;
        ac->data = NULL;
        link_lost(l, ac->c.errstr);
        return;
    }
    redisAsyncCommand(ac, on_select, NULL, "SELECT %d", l->a.db);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    redis_link_t *l = link_of(cac);

    (void)status;
    if (!l)
        return;
    l->ac = NULL;
    link_lost(l, cac->c.err ? cac->c.errstr : "Redis closed the connection");
}

static void on_deadline(wsx_timer_t *t, void *user)
{
    redis_link_t *l = user;
    char why[LINE_MAX_LEN];

    (void)t;
    l->timer = NULL;
    snprintf(why, sizeof why, "no answer from %s:%d within %d ms", l->a.host,
             l->a.port, l->o.timeout_ms);
    redis_link_drop(l, why);
}

static void link_connect(redis_link_t *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->a.host, l->a.port);
    char why[LINE_MAX_LEN];

    if (!ac || ac->err) {
        snprintf(why, sizeof why, "connect %s:%d: %s", l->a.host, l->a.port,
                 ac ? ac->c.errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        link_lost(l, why);
        return;
    }
    if (redis_wsx_attach(l->loop, ac) != REDIS_OK) {
        redisAsyncFree(ac);
        link_lost(l, "out of memory");
        return;
    }
    ac->data = l;
    l->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    l->timer = wsx_timer_start(l->loop, l->o.timeout_ms, 0, on_deadline, l);
}

redis_link_t *redis_link_new(wsx_loop_t *loop, const redis_addr_t *a,
                             const redis_link_opts_t *opts,
                             const redis_link_cb_t *cb, void *user)
{
    redis_link_t *l = calloc(1, sizeof *l);

    if (!l)
        return NULL;
    l->loop = loop;
    l->a = *a;
    if (opts)
        l->o = *opts;
    if (cb)
        l->cb = *cb;
    l->user = user;
    l->o.timeout_ms = l->o.timeout_ms > 0 ? l->o.timeout_ms : 2000;
    l->o.backoff_min = l->o.backoff_min > 0 ? l->o.backoff_min : 100;
    l->o.backoff_max = l->o.backoff_max > 0 ? l->o.backoff_max : 1000;
    if (l->o.backoff_max < l->o.backoff_min)
        l->o.backoff_max = l->o.backoff_min;
    l->o.max_out = l->o.max_out ? l->o.max_out : (size_t)8 << 20;
    l->backoff = l->o.backoff_min;
    link_connect(l);
    return l;
}

redisAsyncContext *redis_link_ctx(const redis_link_t *l)
{
    if (!l->up || sdslen(l->ac->c.obuf) > l->o.max_out)
        return NULL;
    return l->ac;
}

unsigned redis_link_failures(const redis_link_t *l)
{
    return l->failures;
}

const char *redis_link_error(const redis_link_t *l)
{
    return l->err;
}

void redis_link_free(redis_link_t *l)
{
    if (!l)
        return;
    link_timer_stop(&l->timer);
    link_timer_stop(&l->pinger);
    l->up = 0;
    link_release(l);
    free(l);
}
