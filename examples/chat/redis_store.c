/*
 * redis_store.c — what the chat keeps, in Redis (redis.h, chat_store.h).
 *
 * Keys (all under CHAT_REDIS_PREFIX "chat:"):
 *   seq            the message counter (INCR)
 *   names          hash: key -> display spelling of each claimed name
 *   tokens         hash: key -> SHA-256 of its token (32 bytes)
 *   contacts:KEY   set of KEY's contacts (keys)
 *   history        stream of lobby messages (seq, ts, from, text),
 *                  trimmed to about CHAT_HISTORY_KEEP (MAXLEN ~: never
 *                  fewer)
 *   pm:SEQ         hash: a direct message and its state; expires after
 *                  30 days
 *   inbox:KEY      stream of the seqs still offline for KEY, trimmed to
 *                  about CHAT_REDIS_INBOX_KEEP
 *   untold:KEY     set of the seqs of KEY's direct messages whose state
 *                  is past what KEY was told (it was offline then)
 *
 * Each change that reads before it writes is one Lua script, so two
 * instances never both win: a name is claimed once, a contact list does
 * not pass its limit, a direct message moves on to each state once (that
 * is what makes its delivery exactly once when several instances could
 * deliver it).
 *
 * Calls block for one round trip (hiredis's synchronous API, 1 s
 * timeout). When one fails the store is down: writes that need no
 * answer (messages, the counter) are queued as RESP commands, up to
 * CHAT_REDIS_QUEUE_MAX bytes, and replayed in order when Redis is back
 * (chat_store_redis_back, or the next call a second later unless the hub
 * said Redis is away: chat_store_redis_lost); everything else fails with
 * -EIO.
 */
#define _GNU_SOURCE
#include "redis.h"

#include <hiredis/hiredis.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P CHAT_REDIS_PREFIX
#define CHAT_REDIS_INBOX_KEEP 1000
#define PM_TTL_S (30 * 24 * 3600)
#define RETRY_MS 1000

typedef struct rstore {
    chat_store_t base;
    redis_addr_t a;
    redisContext *c; /* NULL while down */
    uint64_t retry_at;
    int hold;        /* the hub says Redis is away: do not try */
    uint64_t seq;    /* the largest seq given out or seen */
    char *queue;     /* RESP commands made while down */
    size_t queue_len, queue_n;
} rstore_t;

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------- connection */

static void store_down(rstore_t *s)
{
    if (s->c)
        redisFree(s->c);
    s->c = NULL;
    s->retry_at = now_ms() + RETRY_MS;
}

/* The queued writes, in order, pipelined: first the counter is raised
 * to the seqs given out while down, so none is given twice. */
static int replay(rstore_t *s)
{
    size_t n = s->queue_n + 1;
    redisReply *r;

    redisAppendCommand(s->c, "EVAL %s 1 " P "seq %llu",
                       "local v = tonumber(redis.call('GET', KEYS[1]) or 0)"
                       " if v < tonumber(ARGV[1]) then"
                       " redis.call('SET', KEYS[1], ARGV[1]) end",
                       (unsigned long long)s->seq);
    if (s->queue_len)
        redisAppendFormattedCommand(s->c, s->queue, s->queue_len);
    while (n--) {
        if (redisGetReply(s->c, (void **)&r) != REDIS_OK)
            return -1;
        freeReplyObject(r);
    }
    free(s->queue);
    s->queue = NULL;
    s->queue_len = s->queue_n = 0;
    return 0;
}

static int store_connect(rstore_t *s)
{
    struct timeval tv = {1, 0};
    redisReply *r;

    s->c = redisConnectWithTimeout(s->a.host, s->a.port, tv);
    if (!s->c || s->c->err)
        goto fail;
    redisSetTimeout(s->c, tv);
    r = redisCommand(s->c, "SELECT %d", s->a.db);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject(r);
        goto fail;
    }
    freeReplyObject(r);
    if (replay(s) != 0)
        goto fail;
    return 0;
fail:
    store_down(s);
    return -1;
}

/* Connected, or connecting again if the last attempt is a second old. */
static int store_up(rstore_t *s)
{
    if (s->c)
        return 1;
    if (s->hold || now_ms() < s->retry_at)
        return 0;
    return store_connect(s) == 0;
}

/* One command's reply, or NULL when Redis is not reachable (the store
 * is then down). An error reply is returned as it is. */
static redisReply *call(rstore_t *s, const char *fmt, ...)
{
    va_list ap;
    redisReply *r;

    if (!store_up(s))
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(s->c, fmt, ap);
    va_end(ap);
    if (!r)
        store_down(s);
    return r;
}

/* A write that needs no answer: sent now, or queued while down. 0,
 * -EIO (Redis refused it), -ENOBUFS (the queue is full). */
static int write_cmd(rstore_t *s, const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int len;

    if (store_up(s)) {
        va_start(ap, fmt);
        redisReply *r = redisvCommand(s->c, fmt, ap);
        va_end(ap);
        if (r) {
            int bad = r->type == REDIS_REPLY_ERROR;
            freeReplyObject(r);
            return bad ? -EIO : 0;
        }
        store_down(s); /* it may or may not have run: queue it again */
    }
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -ENOMEM;
    if (s->queue_len + (size_t)len > CHAT_REDIS_QUEUE_MAX) {
        free(cmd);
        return -ENOBUFS;
    }
    char *q = realloc(s->queue, s->queue_len + (size_t)len);
    if (!q) {
        free(cmd);
        return -ENOMEM;
    }
    memcpy(q + s->queue_len, cmd, (size_t)len);
    free(cmd);
    s->queue = q;
    s->queue_len += (size_t)len;
    s->queue_n++;
    return 0;
}

/* An integer reply's value, or -EIO for anything else (and frees r). */
static long long take_int(redisReply *r)
{
    long long v = -EIO;

    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r)
        freeReplyObject(r);
    return v;
}

static rstore_t *of(chat_store_t *st)
{
    return (rstore_t *)st;
}

/* ------------------------------------------------------------ names */

static int rs_claim(chat_store_t *st, const char *key, const char *display,
                    const uint8_t hash[CHAT_HASH_LEN])
{
    long long v = take_int(call(
        of(st),
        "EVAL %s 2 " P "names " P "tokens %s %s %b",
        "if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then"
        " return 0 end redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])"
        " return 1",
        key, display, hash, (size_t)CHAT_HASH_LEN));

    return v == 1 ? 0 : v == 0 ? -EEXIST : (int)v;
}

static int rs_lookup(chat_store_t *st, const char *key, char *display,
                     uint8_t *hash)
{
    redisReply *r = call(of(st), "EVAL %s 2 " P "names " P "tokens %s",
                         "return {redis.call('HGET', KEYS[1], ARGV[1]),"
                         " redis.call('HGET', KEYS[2], ARGV[1])}",
                         key);
    int found;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1) {
        if (r)
            freeReplyObject(r);
        return -EIO;
    }
    found = r->element[0]->type == REDIS_REPLY_STRING;
    if (found && display)
        snprintf(display, CHAT_NAME_MAX, "%s", r->element[0]->str);
    if (found && hash) {
        memset(hash, 0, CHAT_HASH_LEN);
        if (r->elements > 1 && r->element[1]->type == REDIS_REPLY_STRING &&
            r->element[1]->len == CHAT_HASH_LEN)
            memcpy(hash, r->element[1]->str, CHAT_HASH_LEN);
    }
    freeReplyObject(r);
    return found;
}

/* --------------------------------------------------------- contacts */

static int rs_contact_add(chat_store_t *st, const char *owner,
                          const char *key)
{
    long long v = take_int(call(
        of(st), "EVAL %s 1 " P "contacts:%s %s %d",
        "if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1"
        " end if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then"
        " return -1 end redis.call('SADD', KEYS[1], ARGV[1]) return 0",
        owner, key, CHAT_MAX_CONTACTS));

    return v == -1 ? -ERANGE : (int)v;
}

static int rs_contact_remove(chat_store_t *st, const char *owner,
                             const char *key)
{
    long long v = take_int(call(of(st), "SREM " P "contacts:%s %s", owner,
                                key));

    return v < 0 ? (int)v : v == 1 ? 0 : 1;
}

/* The contacts' keys sorted, then their display spellings in that order
 * (one script: SMEMBERS and HMGET). */
static int rs_contacts(chat_store_t *st, const char *owner, chat_name_fn fn,
                       void *ctx)
{
    redisReply *r = call(
        of(st), "EVAL %s 2 " P "contacts:%s " P "names",
        "local k = redis.call('SMEMBERS', KEYS[1]) table.sort(k)"
        " if #k == 0 then return {} end"
        " local d = redis.call('HMGET', KEYS[2], unpack(k))"
        " for i = 1, #k do if not d[i] then d[i] = k[i] end end return d",
        owner);
    int stop = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -EIO;
    }
    for (size_t i = 0; i < r->elements && !stop; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            stop = fn(ctx, r->element[i]->str);
    freeReplyObject(r);
    return stop;
}

/* ---------------------------------------------------------- history */

static uint64_t rs_next_seq(chat_store_t *st)
{
    rstore_t *s = of(st);
    long long v = take_int(call(s, "INCR " P "seq"));

    if (v > 0 && (uint64_t)v > s->seq)
        s->seq = (uint64_t)v;
    else
        s->seq++; /* down: replay() raises the counter past it */
    return s->seq;
}

static int rs_history_add(chat_store_t *st, const chat_msg_t *m)
{
    return write_cmd(of(st),
                     "XADD " P "history MAXLEN ~ %d * seq %llu ts %llu "
                     "from %s text %b",
                     CHAT_HISTORY_KEEP, (unsigned long long)m->seq,
                     (unsigned long long)m->ts, m->from, m->text,
                     m->text_len);
}

/* A stream entry's field, or NULL. */
static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (!strcmp(fields->element[i]->str, name))
            return fields->element[i + 1];
    return NULL;
}

static uint64_t field_u64(const redisReply *fields, const char *name)
{
    const redisReply *f = field(fields, name);

    return f && f->str ? strtoull(f->str, NULL, 10) : 0;
}

static const char *field_str(const redisReply *fields, const char *name,
                             size_t *len)
{
    const redisReply *f = field(fields, name);

    if (len)
        *len = f && f->str ? f->len : 0;
    return f && f->str ? f->str : "";
}

/* HGETALL replies by their seq field. */
static int cmp_hash_seq(const void *a, const void *b)
{
    uint64_t x = field_u64(*(const redisReply *const *)a, "seq");
    uint64_t y = field_u64(*(const redisReply *const *)b, "seq");

    return x < y ? -1 : x > y;
}

static int cmp_entry_seq(const void *a, const void *b)
{
    uint64_t x = field_u64((*(const redisReply *const *)a)->element[1], "seq");
    uint64_t y = field_u64((*(const redisReply *const *)b)->element[1], "seq");

    return x < y ? -1 : x > y;
}

/* The latest entries (a little more than asked when `before` is given:
 * instances append in the order their messages reach Redis, which is
 * nearly, not exactly, seq order), sorted by seq, the last `limit` of
 * those below `before` handed to fn. */
static int rs_history(chat_store_t *st, uint64_t before, size_t limit,
                      chat_msg_fn fn, void *ctx)
{
    size_t want = before ? CHAT_HISTORY_KEEP + 100 : limit + 16;
    redisReply *r = call(of(st), "XREVRANGE " P "history + - COUNT %llu",
                         (unsigned long long)want);
    const redisReply **e;
    size_t n = 0, first;
    int stop = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return r ? -EIO : 0; /* down: no history to show */
    }
    e = calloc(r->elements + 1, sizeof *e);
    if (!e) {
        freeReplyObject(r);
        return -ENOMEM;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *en = r->element[i];
        if (en->elements == 2 &&
            (!before || field_u64(en->element[1], "seq") < before))
            e[n++] = en;
    }
    qsort(e, n, sizeof *e, cmp_entry_seq);
    first = n > limit ? n - limit : 0;
    for (size_t i = first; i < n && !stop; i++) {
        const redisReply *f = e[i]->element[1];
        chat_msg_t m = {field_u64(f, "seq"), field_u64(f, "ts"),
                        field_str(f, "from", NULL), NULL, "", NULL, 0, 0};
        m.text = field_str(f, "text", &m.text_len);
        stop = fn(ctx, &m);
    }
    free(e);
    freeReplyObject(r);
    return stop;
}

/* -------------------------------------------------- direct messages */

static int rs_pm_add(chat_store_t *st, const chat_msg_t *m)
{
    char key[CHAT_NAME_MAX], from[CHAT_NAME_MAX], why[96];

    if (chat_name_check(m->to, strlen(m->to), key, why, sizeof why) ||
        chat_name_check(m->from, strlen(m->from), from, why, sizeof why))
        return -EINVAL;
    return write_cmd(
        of(st),
        "EVAL %s 2 " P "pm:%llu " P "inbox:%s %llu %llu %s %s %s %s %b %d %d "
        "%s",
        "local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[8],"
        " '*', 'seq', ARGV[1]) redis.call('HSET', KEYS[1], 'seq', ARGV[1],"
        " 'ts', ARGV[2], 'from', ARGV[3], 'to', ARGV[4], 'tokey', ARGV[5],"
        " 'ref', ARGV[6], 'text', ARGV[7], 'state', 1, 'inbox', id,"
        " 'fromkey', ARGV[10], 'told', 0)"
        " redis.call('EXPIRE', KEYS[1], ARGV[9]) return 1",
        (unsigned long long)m->seq, key, (unsigned long long)m->seq,
        (unsigned long long)m->ts, m->from, m->to, key,
        m->ref ? m->ref : "", m->text, m->text_len, CHAT_REDIS_INBOX_KEEP,
        PM_TTL_S, from);
}

/* A pm:SEQ hash (HGETALL's flat array) as a message for fn. */
static int pm_call(const redisReply *h, chat_msg_fn fn, void *ctx)
{
    chat_msg_t m = {field_u64(h, "seq"), field_u64(h, "ts"),
                    field_str(h, "from", NULL), field_str(h, "to", NULL),
                    field_str(h, "ref", NULL), NULL, 0,
                    (int)field_u64(h, "state")};

    m.text = field_str(h, "text", &m.text_len);
    return fn ? fn(ctx, &m) : 0;
}

static int rs_pm_mark(chat_store_t *st, uint64_t seq, const char *to,
                      int state, chat_msg_fn fn, void *ctx)
{
    redisReply *r = call(
        of(st), "EVAL %s 1 " P "pm:%llu %d %s %llu",
        "local h = redis.call('HMGET', KEYS[1], 'state', 'tokey', 'inbox')"
        " if not h[1] or (ARGV[2] ~= '' and ARGV[2] ~= h[2]) then"
        " return -1 end if tonumber(h[1]) >= tonumber(ARGV[1]) then"
        " return 0 end redis.call('HSET', KEYS[1], 'state', ARGV[1])"
        " redis.call('XDEL', '" P "inbox:' .. h[2], h[3])"
        " local f = redis.call('HGET', KEYS[1], 'fromkey') if f then"
        " redis.call('SADD', '" P "untold:' .. f, ARGV[3]) end"
        " return redis.call('HGETALL', KEYS[1])",
        (unsigned long long)seq, state, to ? to : "",
        (unsigned long long)seq);
    int v = -EIO;

    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer == -1 ? -ENOENT : 0;
    else if (r && r->type == REDIS_REPLY_ARRAY) {
        v = 1;
        pm_call(r, fn, ctx);
    }
    if (r)
        freeReplyObject(r);
    return v;
}

/* key's inbox, and each of its messages still offline, in one script. */
static int rs_pm_pending(chat_store_t *st, const char *key, chat_msg_fn fn,
                         void *ctx)
{
    redisReply *r = call(
        of(st), "EVAL %s 1 " P "inbox:%s",
        "local out = {} for _, e in ipairs(redis.call('XRANGE', KEYS[1],"
        " '-', '+')) do local h = redis.call('HGETALL', '" P "pm:' .."
        " e[2][2]) if #h > 0 then table.insert(out, h) end end return out",
        key);
    int stop = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return r ? -EIO : 0; /* down: they wait in Redis */
    }
    for (size_t i = 0; i < r->elements && !stop; i++)
        if (field_u64(r->element[i], "state") == CHAT_PM_OFFLINE)
            stop = pm_call(r->element[i], fn, ctx);
    freeReplyObject(r);
    return stop;
}

/* The statuses `from` missed: its messages in untold:FROM whose state is
 * past what it was told (gone or caught up ones leave the set), oldest
 * first. */
static int rs_pm_untold(chat_store_t *st, const char *from, chat_msg_fn fn,
                        void *ctx)
{
    redisReply *r = call(
        of(st), "EVAL %s 1 " P "untold:%s",
        "local out = {} for _, s in ipairs(redis.call('SMEMBERS', KEYS[1]))"
        " do local h = redis.call('HMGET', '" P "pm:' .. s, 'state', 'told')"
        " if h[1] and tonumber(h[1]) > tonumber(h[2] or 0) then"
        " table.insert(out, redis.call('HGETALL', '" P "pm:' .. s)) else"
        " redis.call('SREM', KEYS[1], s) end end return out",
        from);
    const redisReply **e;
    size_t n;
    int stop = 0;

    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return r ? -EIO : 0;
    }
    n = r->elements;
    e = calloc(n + 1, sizeof *e);
    for (size_t i = 0; e && i < n; i++)
        e[i] = r->element[i];
    if (e)
        qsort(e, n, sizeof *e, cmp_hash_seq);
    for (size_t i = 0; e && i < n && !stop; i++)
        stop = pm_call(e[i], fn, ctx);
    free(e);
    freeReplyObject(r);
    return e ? stop : -ENOMEM;
}

/* seq's sender knows it reached state: out of untold:FROM once caught
 * up. */
static int rs_pm_told(chat_store_t *st, uint64_t seq, int state)
{
    long long v = take_int(call(
        of(st), "EVAL %s 1 " P "pm:%llu %d %llu",
        "local h = redis.call('HMGET', KEYS[1], 'state', 'told', 'fromkey')"
        " if not h[1] then return 0 end local t = tonumber(ARGV[1])"
        " if t > tonumber(h[2] or 0) then"
        " redis.call('HSET', KEYS[1], 'told', t) else t = tonumber(h[2]) end"
        " if t >= tonumber(h[1]) and h[3] then"
        " redis.call('SREM', '" P "untold:' .. h[3], ARGV[2]) end return 1",
        (unsigned long long)seq, state, (unsigned long long)seq));

    return v < 0 ? (int)v : 0;
}

/* ------------------------------------------------------------- life */

/* Redis's own persistence (appendonly, its fsync policy) is what makes
 * an answered write durable: nothing to do per round here. */
static int rs_sync(chat_store_t *st)
{
    (void)st;
    return 0;
}

static void rs_close(chat_store_t *st)
{
    rstore_t *s = of(st);

    if (s->c && s->queue_len)
        replay(s);
    if (s->c)
        redisFree(s->c);
    free(s->queue);
    free(s);
}

static const chat_store_ops_t redis_store_ops = {
    rs_claim,   rs_lookup,     rs_contact_add, rs_contact_remove,
    rs_contacts, rs_next_seq,  rs_history_add, rs_history,
    rs_pm_add,  rs_pm_mark,    rs_pm_pending,  rs_sync,
    rs_close,   rs_pm_untold,  rs_pm_told,
};

int chat_store_open_redis(chat_store_t **out, const redis_addr_t *a,
                          const char **msg)
{
    rstore_t *s = calloc(1, sizeof *s);

    if (!s) {
        *msg = "out of memory";
        return -ENOMEM;
    }
    s->base.ops = &redis_store_ops;
    s->a = *a;
    if (store_connect(s) != 0) {
        free(s);
        *msg = "cannot reach Redis (is redis-server running there?)";
        return -ECONNREFUSED;
    }
    *out = &s->base;
    return 0;
}

void chat_store_redis_back(chat_store_t *st)
{
    rstore_t *s = of(st);

    s->hold = 0;
    if (!s->c)
        store_connect(s);
}

void chat_store_redis_lost(chat_store_t *st)
{
    rstore_t *s = of(st);

    store_down(s);
    s->hold = 1;
}

size_t chat_store_redis_queued(const chat_store_t *st, size_t *bytes)
{
    const rstore_t *s = (const rstore_t *)st;

    if (bytes)
        *bytes = s->queue_len;
    return s->queue_n;
}
