/*
 * redis_hub.c — several chat-server instances as one chat: events over
 * Redis pub/sub, presence in Redis (redis.h, hub.h).
 *
 * Channels: chat:all (events for everyone), chat:u:KEY (events for one
 * user, subscribed by the instance that holds KEY's session),
 * chat:replace ("KEY MS": KEY logged in on the sending instance at MS,
 * wall clock: whoever else holds an older session of KEY replaces it, as
 * a login on the same instance would; a newer one stays, for the
 * message may have been overtaken by that login).
 * Each payload is "NODE\nEXCEPT\nJSON": the instance it came from (which
 * delivered it to its own users already and ignores its own echo), the
 * user not to send it to, and the event.
 *
 * Exactly once per recipient connection: an instance delivers each event
 * to its own sessions itself, and every other instance receives it once
 * on the one subscriber connection it has. Per-sender order: a sender's
 * events leave its instance in order on one connection, and Redis sends
 * each subscriber a channel's messages in the order they were published.
 * A direct message that reaches a user on another instance is marked
 * delivered there by the store's atomic pm_mark, which only one caller
 * can win: the same message fetched at a login is not delivered twice.
 *
 * Presence: chat:presence:NODE (hash key -> display) of each instance's
 * users, and chat:alive:NODE, which expires CHAT_REDIS_TTL_MS after the
 * instance's last heartbeat. Every instance reads all of them once a
 * second (one Lua script, which also removes dead instances) and keeps a
 * mirror of the users online elsewhere; join and leave events update it
 * at once in between. A change the mirror learns only from a snapshot (an
 * instance died, Redis came back) becomes a join or leave event for the
 * local users, so they see the same presence as everyone else.
 */
#define _GNU_SOURCE
#include "redis.h"

#include "events.h"
#include "json.h"
#include "messages.h"
#include "session.h"

#include <hiredis/hiredis.h>

#include <stdlib.h>
#include <string.h>

#define P CHAT_REDIS_PREFIX
/* After Redis comes back, instances re-register within their backoff
 * and a heartbeat: until then a snapshot adds users, never removes. */
#define SETTLE_MS (CHAT_REDIS_HEARTBEAT_MS + 1500)

static const char local_only_text[] =
    "the chat is running locally only: Redis is unreachable, so messages "
    "reach the users of this server only";
static const char back_text[] =
    "the chat is connected again: messages reach every server";

typedef struct remote {
    char key[CHAT_NAME_MAX], display[CHAT_NAME_MAX];
    char node[CHAT_REDIS_NODE_MAX];
    uint64_t since; /* loop time it was added or moved */
    int seen;       /* in the snapshot being applied */
} remote_t;

typedef struct gone {
    char key[CHAT_NAME_MAX];
    uint64_t at;
} gone_t;

typedef struct login {
    char key[CHAT_NAME_MAX];
    uint64_t ms; /* chat_now_ms() of the login */
} login_t;

typedef struct rhub {
    chat_hub_t base;
    chat_server_t *srv;
    char node[CHAT_REDIS_NODE_MAX];
    int ttl_ms;
    redis_addr_t a;
    redis_link_t *cmd, *sub;
    redisAsyncContext *cmd_ac, *sub_ac; /* while each is up */
    keymap_t remote; /* key -> remote_t: users online on other instances */
    keymap_t gone;   /* key -> gone_t: left lately (stale snapshots) */
    keymap_t logins; /* key -> login_t: when our sessions logged in */
    wsx_timer_t *beat, *snap;
    uint64_t snap_sent, settle_until;
    int local_only; /* the users were told Redis is away */
    int was_up;     /* connected before: this is a reconnect */
} rhub_t;

static rhub_t *of(chat_hub_t *h)
{
    return (rhub_t *)h;
}

static uint64_t now(const rhub_t *h)
{
    return wsx_loop_now(h->srv->loop);
}

/* A system or presence event for this instance's users only. */
static void tell_local(rhub_t *h, const char *type, const char *member,
                       const char *value, const char *except)
{
    ev_t e;
    size_t len;
    const char *text;

    ev_begin(&e, type, 0);
    json_member_str(&e.w, member, value);
    text = ev_finish(&e, &len);
    if (text)
        chat_deliver_local(h->srv, NULL, except, text, len);
    ev_free(&e);
}

/* ----------------------------------------------------------- mirror */

static void remote_drop(rhub_t *h, remote_t *r, int announce)
{
    keymap_del(&h->remote, r->key);
    if (announce && !session_find(h->srv, r->key))
        tell_local(h, "leave", "name", r->display, NULL);
    free(r);
}

/* key is online on node: 1 when the mirror did not know it yet. */
static int remote_put(rhub_t *h, const char *key, const char *display,
                      const char *node)
{
    remote_t *r = keymap_get(&h->remote, key);
    int fresh = !r;

    if (!r && !(r = calloc(1, sizeof *r)))
        return 0;
    snprintf(r->key, sizeof r->key, "%s", key);
    snprintf(r->display, sizeof r->display, "%s", display);
    if (fresh || strcmp(r->node, node))
        r->since = now(h);
    snprintf(r->node, sizeof r->node, "%s", node);
    r->seen = 1;
    if (fresh && keymap_put(&h->remote, r->key, r) != 0) {
        free(r);
        return 0;
    }
    free(keymap_del(&h->gone, key));
    return fresh;
}

static void gone_put(rhub_t *h, const char *key)
{
    gone_t *g = keymap_get(&h->gone, key);

    if (!g && (g = calloc(1, sizeof *g))) {
        snprintf(g->key, sizeof g->key, "%s", key);
        if (keymap_put(&h->gone, g->key, g) != 0) {
            free(g);
            return;
        }
    }
    if (g)
        g->at = now(h);
}

/* Forget tombstones older than any snapshot still in flight. */
static void gone_sweep(rhub_t *h)
{
    size_t pos = 0;
    gone_t *g, *old[64];
    size_t n = 0;

    while ((g = keymap_next(&h->gone, &pos)) && n < 64)
        if (now(h) - g->at > 10u * CHAT_REDIS_SNAPSHOT_MS)
            old[n++] = g;
    for (size_t i = 0; i < n; i++)
        free(keymap_del(&h->gone, old[i]->key));
}

/* --------------------------------------------------------- incoming */

/* The string member `name` of the event into out, or "". */
static void event_str(const json_doc_t *d, const char *name, char *out,
                      size_t cap)
{
    size_t len;
    int i = json_find(d, 0, name);

    if (i < 0 || json_string(d, i, out, cap, &len) != 0)
        out[0] = '\0';
}

static void remote_join(rhub_t *h, const json_doc_t *d, const char *node,
                        const char *json, size_t len)
{
    char name[CHAT_NAME_MAX], key[CHAT_NAME_MAX], why[96];

    event_str(d, "name", name, sizeof name);
    if (chat_name_check(name, strlen(name), key, why, sizeof why))
        return;
    /* A user who moved between instances is not announced again. */
    if (remote_put(h, key, name, node))
        chat_deliver_local(h->srv, NULL, key, json, len);
}

static void remote_leave(rhub_t *h, const json_doc_t *d, const char *node,
                         const char *json, size_t len)
{
    char name[CHAT_NAME_MAX], key[CHAT_NAME_MAX], why[96];
    remote_t *r;

    event_str(d, "name", name, sizeof name);
    if (chat_name_check(name, strlen(name), key, why, sizeof why))
        return;
    r = keymap_get(&h->remote, key);
    if (!r || strcmp(r->node, node))
        return; /* it left an instance it had already moved away from */
    remote_drop(h, r, 0);
    gone_put(h, key);
    chat_deliver_local(h->srv, NULL, key, json, len);
}

/* A direct message from another instance for `key`, here: delivered
 * once (the store's pm_mark decides, msg_mark tells its sender). */
static void remote_pm(rhub_t *h, const json_doc_t *d, const char *key,
                      const char *json, size_t len)
{
    session_t *s = session_find(h->srv, key);
    int64_t seq;
    int r;

    if (!s || s->closing || json_int64(d, json_find(d, 0, "seq"), &seq))
        return; /* not here (any more): it waits in the store */
    r = msg_mark(h->srv, (uint64_t)seq, key, CHAT_PM_DELIVERED);
    if (r == 1 || r < 0)
        chat_deliver_local(h->srv, key, NULL, json, len);
}

/* A status from another instance for `key`, here: once it is written
 * to key's connection, key has been told (so its next login does not
 * tell it again). */
static void remote_status(rhub_t *h, const json_doc_t *d, const char *key,
                          const char *json, size_t len)
{
    static const char *const names[] = {"offline", "delivered", "read"};
    chat_store_t *st = h->srv->store;
    int i = json_find(d, 0, "status");
    int64_t seq;

    if (chat_deliver_local(h->srv, key, NULL, json, len) <= 0 ||
        !st->ops->pm_told || json_int64(d, json_find(d, 0, "seq"), &seq))
        return;
    for (int k = 0; k < 3; k++)
        if (json_string_eq(d, i, names[k]))
            st->ops->pm_told(st, (uint64_t)seq, CHAT_PM_OFFLINE + k);
}

static void remote_event(rhub_t *h, const char *to, const char *node,
                         const char *except, const char *json, size_t len)
{
    json_tok_t tok[256];
    json_doc_t d;
    int t;

    if (json_parse(&d, json, len, tok, 256, NULL) != 0 ||
        (t = json_find(&d, 0, "type")) < 0)
        return;
    if (!to && json_string_eq(&d, t, "join"))
        remote_join(h, &d, node, json, len);
    else if (!to && json_string_eq(&d, t, "leave"))
        remote_leave(h, &d, node, json, len);
    else if (to && json_string_eq(&d, t, "msg") && json_find(&d, 0, "to") >= 0)
        remote_pm(h, &d, to, json, len);
    else if (to && json_string_eq(&d, t, "status"))
        remote_status(h, &d, to, json, len);
    else
        chat_deliver_local(h->srv, to, *except ? except : NULL, json, len);
}

static void subscribe_user(rhub_t *h, const char *verb, const char *key);

/* Another instance took over KEY with a login at MS ("KEY MS"): no leave
 * for it, as when a login replaces a session on the same instance. */
static void replaced_elsewhere(rhub_t *h, char *msg)
{
    char *sp = strrchr(msg, ' '), *key = msg;
    session_t *s;
    login_t *mine;

    if (!sp)
        return;
    *sp = '\0';
    s = session_find(h->srv, key);
    mine = keymap_get(&h->logins, key);
    if (!s || (mine && mine->ms > strtoull(sp + 1, NULL, 10)))
        return;
    free(keymap_del(&h->logins, key));
    session_replace(s);
    subscribe_user(h, "UNSUBSCRIBE", key);
    if (h->cmd_ac)
        redisAsyncCommand(h->cmd_ac, NULL, NULL, "HDEL " P "presence:%s %s",
                          h->node, key);
}

/* Split "NODE\nEXCEPT\nJSON" in place; 0 or -1. */
static int envelope(char *p, size_t len, char **node, char **except,
                    char **json, size_t *json_len)
{
    char *a = memchr(p, '\n', len), *b;

    if (!a || !(b = memchr(a + 1, '\n', len - (size_t)(a + 1 - p))))
        return -1;
    *a = *b = '\0';
    *node = p;
    *except = a + 1;
    *json = b + 1;
    *json_len = len - (size_t)(b + 1 - p);
    return 0;
}

static void on_sub_message(redisAsyncContext *ac, void *reply, void *priv)
{
    rhub_t *h = priv;
    redisReply *r = reply;
    char *node, *except, *json;
    const char *ch;
    size_t n;

    (void)ac;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        strcmp(r->element[0]->str, "message") ||
        envelope(r->element[2]->str, r->element[2]->len, &node, &except,
                 &json, &n) != 0 ||
        !strcmp(node, h->node))
        return;
    ch = r->element[1]->str + strlen(P);
    if (!strcmp(ch, "all"))
        remote_event(h, NULL, node, except, json, n);
    else if (!strncmp(ch, "u:", 2))
        remote_event(h, ch + 2, node, except, json, n);
    else if (!strcmp(ch, "replace"))
        replaced_elsewhere(h, json);
}

/* ----------------------------------------------------------- presence */

/* Every node alive and its users; dead nodes removed on the way. */
static const char snapshot_lua[] =
    "local out = {} for _, n in ipairs(redis.call('SMEMBERS', KEYS[1])) do"
    " if redis.call('EXISTS', '" P "alive:' .. n) == 1 then"
    " table.insert(out, n) table.insert(out, redis.call('HGETALL', '" P
    "presence:' .. n)) else redis.call('SREM', KEYS[1], n)"
    " redis.call('DEL', '" P "presence:' .. n) end end return out";

static void snapshot_node(rhub_t *h, const char *node, const redisReply *kv,
                          uint64_t asked)
{
    for (size_t j = 0; j + 1 < kv->elements; j += 2) {
        const char *key = kv->element[j]->str;
        const char *display = kv->element[j + 1]->str;
        gone_t *g = keymap_get(&h->gone, key);
        remote_t *r = keymap_get(&h->remote, key);

        if (r)
            r->seen = 1;
        if (session_find(h->srv, key) || (!r && g && g->at >= asked))
            continue;
        if (remote_put(h, key, display, node))
            tell_local(h, "join", "name", display, key);
    }
}

static void on_snapshot(redisAsyncContext *ac, void *reply, void *priv)
{
    rhub_t *h = priv;
    redisReply *r = reply;
    uint64_t asked = h->snap_sent;
    remote_t *rm, *drop[256];
    size_t pos = 0, n;

    (void)ac;
    h->snap_sent = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return;
    while ((rm = keymap_next(&h->remote, &pos)))
        rm->seen = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (strcmp(r->element[i]->str, h->node))
            snapshot_node(h, r->element[i]->str, r->element[i + 1], asked);
    if (now(h) < h->settle_until)
        return;
    do { /* removed in batches: the table must not change during a walk */
        pos = n = 0;
        while ((rm = keymap_next(&h->remote, &pos)) && n < 256)
            if (!rm->seen && rm->since < asked)
                drop[n++] = rm;
        for (size_t i = 0; i < n; i++)
            remote_drop(h, drop[i], 1);
    } while (n == 256);
    gone_sweep(h);
}

static void on_snap_timer(wsx_timer_t *t, void *user)
{
    rhub_t *h = user;

    (void)t;
    if (!h->cmd_ac || h->snap_sent)
        return;
    h->snap_sent = now(h);
    redisAsyncCommand(h->cmd_ac, on_snapshot, h, "EVAL %s 1 " P "nodes",
                      snapshot_lua);
}

static void heartbeat(rhub_t *h)
{
    redisAsyncCommand(h->cmd_ac, NULL, NULL, "SET " P "alive:%s 1 PX %d",
                      h->node, h->ttl_ms);
    redisAsyncCommand(h->cmd_ac, NULL, NULL, "SADD " P "nodes %s", h->node);
}

static void on_beat_timer(wsx_timer_t *t, void *user)
{
    rhub_t *h = user;

    (void)t;
    if (h->cmd_ac)
        heartbeat(h);
}

/* Our users, written anew (Redis may have restarted empty). */
static void register_users(rhub_t *h)
{
    size_t pos = 0;
    session_t *s;

    redisAsyncCommand(h->cmd_ac, NULL, NULL, "DEL " P "presence:%s", h->node);
    while ((s = keymap_next(&h->srv->sessions, &pos)))
        redisAsyncCommand(h->cmd_ac, NULL, NULL,
                          "HSET " P "presence:%s %s %s", h->node, s->key,
                          s->name);
    heartbeat(h);
}

/* -------------------------------------------------------------- links */

static void cmd_up(redis_link_t *l, redisAsyncContext *ac, void *user)
{
    rhub_t *h = user;

    (void)l;
    h->cmd_ac = ac;
    h->snap_sent = 0;
    /* On a reconnect the mirror holds users that others are about to
     * register again; the first time it is empty, nothing to protect. */
    if (h->was_up)
        h->settle_until = now(h) + SETTLE_MS;
    h->was_up = 1;
    register_users(h);
    chat_store_redis_back(h->srv->store);
    if (h->local_only) {
        h->local_only = 0;
        tell_local(h, "system", "text", back_text, NULL);
        chat_log(h->srv, NULL, "redis: connected again");
    }
    on_snap_timer(NULL, h);
}

static void cmd_down(redis_link_t *l, const char *why, void *user)
{
    rhub_t *h = user;

    (void)l;
    h->cmd_ac = NULL;
    h->snap_sent = 0;
    chat_store_redis_lost(h->srv->store);
    if (!h->local_only) {
        h->local_only = 1;
        tell_local(h, "system", "text", local_only_text, NULL);
        chat_log(h->srv, NULL, "redis: lost (%s): serving local users only",
                 why);
    }
}

static void subscribe_user(rhub_t *h, const char *verb, const char *key)
{
    if (h->sub_ac)
        redisAsyncCommand(h->sub_ac, on_sub_message, h, "%s " P "u:%s", verb,
                          key);
}

static void sub_up(redis_link_t *l, redisAsyncContext *ac, void *user)
{
    rhub_t *h = user;
    size_t pos = 0;
    session_t *s;

    (void)l;
    h->sub_ac = ac;
    redisAsyncCommand(ac, on_sub_message, h,
                      "SUBSCRIBE " P "all " P "replace");
    while ((s = keymap_next(&h->srv->sessions, &pos)))
        subscribe_user(h, "SUBSCRIBE", s->key);
}

static void sub_down(redis_link_t *l, const char *why, void *user)
{
    rhub_t *h = user;

    (void)l;
    (void)why;
    h->sub_ac = NULL;
}

/* ---------------------------------------------------------------- ops */

static int publish_payload(rhub_t *h, const char *channel_fmt,
                           const char *arg, const char *except,
                           const char *json, size_t len)
{
    char channel[CHAT_NAME_MAX + 32];
    char *p;
    size_t nl = strlen(h->node), el = except ? strlen(except) : 0;

    if (!h->cmd_ac || !redis_link_ctx(h->cmd))
        return 0; /* away, or too far behind: local delivery only */
    p = malloc(nl + el + len + 2);
    if (!p)
        return 0;
    memcpy(p, h->node, nl);
    p[nl] = '\n';
    memcpy(p + nl + 1, except ? except : "", el);
    p[nl + 1 + el] = '\n';
    memcpy(p + nl + el + 2, json, len);
    snprintf(channel, sizeof channel, channel_fmt, arg);
    redisAsyncCommand(h->cmd_ac, NULL, NULL, "PUBLISH %s %b", channel, p,
                      nl + el + 2 + len);
    free(p);
    return 1;
}

static int rh_publish(chat_hub_t *hub, const char *to, const char *except,
                      const char *json, size_t len)
{
    rhub_t *h = of(hub);
    int n = chat_deliver_local(h->srv, to, except, json, len);

    if (!to)
        publish_payload(h, P "all%s", "", except, json, len);
    else if (n == 0 && h->cmd_ac && keymap_get(&h->remote, to))
        publish_payload(h, P "u:%s", to, except, json, len);
    return n;
}

static int rh_online(chat_hub_t *hub, const char *key)
{
    rhub_t *h = of(hub);

    return session_find(h->srv, key) ||
           (h->cmd_ac && keymap_get(&h->remote, key));
}

static void rh_joined(chat_hub_t *hub, const char *key, const char *display)
{
    rhub_t *h = of(hub);
    remote_t *r = keymap_get(&h->remote, key);
    login_t *l = keymap_get(&h->logins, key);
    char msg[CHAT_NAME_MAX + 24];

    if (!l && (l = calloc(1, sizeof *l))) {
        snprintf(l->key, sizeof l->key, "%s", key);
        if (keymap_put(&h->logins, l->key, l) != 0) {
            free(l);
            l = NULL;
        }
    }
    if (l)
        l->ms = chat_now_ms();
    /* Told to every instance, not only to the one the mirror names: it
     * may not have heard of the other login yet. */
    snprintf(msg, sizeof msg, "%s %llu", key,
             (unsigned long long)chat_now_ms());
    publish_payload(h, P "replace%s", "", NULL, msg, strlen(msg));
    if (r)
        remote_drop(h, r, 0);
    subscribe_user(h, "SUBSCRIBE", key);
    if (h->cmd_ac)
        redisAsyncCommand(h->cmd_ac, NULL, NULL, "HSET " P "presence:%s %s %s",
                          h->node, key, display);
}

static void rh_left(chat_hub_t *hub, const char *key)
{
    rhub_t *h = of(hub);

    free(keymap_del(&h->logins, key));
    subscribe_user(h, "UNSUBSCRIBE", key);
    if (h->cmd_ac)
        redisAsyncCommand(h->cmd_ac, NULL, NULL, "HDEL " P "presence:%s %s",
                          h->node, key);
}

typedef struct who {
    const char *key, *display;
} who_t;

static int cmp_who(const void *a, const void *b)
{
    return strcmp(((const who_t *)a)->key, ((const who_t *)b)->key);
}

static int rh_users(chat_hub_t *hub, int (*fn)(void *ctx, const char *d),
                    void *ctx)
{
    rhub_t *h = of(hub);
    size_t n = 0, pos = 0;
    who_t *w = malloc((h->srv->sessions.count + h->remote.count + 1) *
                      sizeof *w);
    session_t *s;
    remote_t *r;
    int stop = 0;

    if (!w)
        return -1;
    while ((s = keymap_next(&h->srv->sessions, &pos)))
        w[n++] = (who_t){s->key, s->name};
    pos = 0;
    while (h->cmd_ac && (r = keymap_next(&h->remote, &pos)))
        if (!session_find(h->srv, r->key))
            w[n++] = (who_t){r->key, r->display};
    qsort(w, n, sizeof *w, cmp_who);
    for (size_t i = 0; i < n && !stop; i++)
        stop = fn(ctx, w[i].display);
    free(w);
    return stop;
}

void chat_hub_redis_stop(chat_hub_t *hub)
{
    rhub_t *h = of(hub);
    struct timeval tv = {0, 500000};
    redisContext *c;

    if (!h->cmd)
        return;
    c = redisConnectWithTimeout(h->a.host, h->a.port, tv);
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        freeReplyObject(redisCommand(c, "SELECT %d", h->a.db));
        freeReplyObject(redisCommand(c, "DEL " P "alive:%s " P "presence:%s",
                                     h->node, h->node));
    }
    if (c)
        redisFree(c);
    wsx_timer_stop(h->beat);
    wsx_timer_stop(h->snap);
    redis_link_free(h->sub);
    redis_link_free(h->cmd);
    h->beat = h->snap = NULL;
    h->sub = h->cmd = NULL;
    h->cmd_ac = h->sub_ac = NULL;
}

static void free_all(keymap_t *m)
{
    size_t pos = 0;
    void *v;

    while ((v = keymap_next(m, &pos)))
        free(v);
    keymap_free(m);
}

static void rh_free(chat_hub_t *hub)
{
    rhub_t *h = of(hub);

    free_all(&h->remote);
    free_all(&h->gone);
    free_all(&h->logins);
    free(h);
}

static const chat_hub_ops_t redis_hub_ops = {
    rh_publish, rh_online, rh_joined, rh_left, rh_users, rh_free,
};

chat_hub_t *chat_hub_redis_new(chat_server_t *srv, const redis_addr_t *a,
                               const char *node, int ttl_ms)
{
    rhub_t *h = calloc(1, sizeof *h);

    if (!h)
        return NULL;
    h->base.ops = &redis_hub_ops;
    h->srv = srv;
    h->a = *a;
    snprintf(h->node, sizeof h->node, "%s", node);
    h->ttl_ms = ttl_ms > 0 ? ttl_ms : CHAT_REDIS_TTL_MS;
    return &h->base;
}

int chat_hub_redis_start(chat_hub_t *hub)
{
    static const redis_link_cb_t cmd_cb = {cmd_up, cmd_down};
    static const redis_link_cb_t sub_cb = {sub_up, sub_down};
    redis_link_opts_t cmd_o = {.ping_ms = 1000};
    rhub_t *h = of(hub);
    wsx_loop_t *loop = h->srv->loop;

    h->cmd = redis_link_new(loop, &h->a, &cmd_o, &cmd_cb, h);
    h->sub = redis_link_new(loop, &h->a, NULL, &sub_cb, h);
    h->beat = wsx_timer_start(loop, CHAT_REDIS_HEARTBEAT_MS, 1, on_beat_timer,
                              h);
    h->snap = wsx_timer_start(loop, CHAT_REDIS_SNAPSHOT_MS, 1, on_snap_timer,
                              h);
    return h->cmd && h->sub && h->beat && h->snap ? 0 : -1;
}
