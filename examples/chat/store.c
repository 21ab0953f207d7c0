/*
 * store.c — the chat's local store (chat_store.h) on a record log
 * (reclog.h): memory (store_mem.c) holds the truth while running, the
 * log (store_records.c) makes it survive a crash. Every change is
 * appended before it is applied, so a replay rebuilds exactly what
 * callers were told; the log is compacted at every start and whenever it
 * has grown to twice what it holds.
 */
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ ops */

#define LOCAL(st) ((local_t *)(st))

static int op_claim(chat_store_t *st, const char *key, const char *display,
                    const uint8_t hash[CHAT_HASH_LEN])
{
    local_t *s = LOCAL(st);
    user_t *u = st_user_get(s, key, 1);
    if (!u)
        return -ENOMEM;
    body_t b = st_body_begin(s, 'N');
    st_encode_claim(&b, display, hash);
    int r = st_append(s, &b);
    if (r < 0)
        return r;
    memcpy(u->hash, hash, CHAT_HASH_LEN);
    snprintf(u->display, sizeof u->display, "%s", display);
    u->claimed = 1;
    st_maybe_compact(s);
    return 0;
}

static int op_lookup(chat_store_t *st, const char *key, char *display,
                     uint8_t *hash)
{
    user_t *u = st_user_get(LOCAL(st), key, 0);
    if (!u || !u->claimed)
        return 0;
    if (display)
        snprintf(display, CHAT_NAME_MAX, "%s", u->display);
    if (hash)
        memcpy(hash, u->hash, CHAT_HASH_LEN);
    return 1;
}

static int change_contact(local_t *s, const char *owner, const char *key,
                          int add)
{
    user_t *u = st_user_get(s, owner, 1);
    int found;
    if (!u)
        return -ENOMEM;
    st_contact_pos(u, key, &found);
    if (found == add)
        return 1;
    if (add && u->ncontacts >= CHAT_MAX_CONTACTS)
        return -ERANGE;
    body_t b = st_body_begin(s, add ? 'A' : 'X');
    st_encode_contact(&b, owner, key);
    int r = st_append(s, &b);
    if (r == 0)
        r = add ? st_contact_insert(u, key) : st_contact_delete(u, key);
    st_maybe_compact(s);
    return r < 0 ? r : 0;
}

static int op_contact_add(chat_store_t *st, const char *owner, const char *key)
{
    return change_contact(LOCAL(st), owner, key, 1);
}

static int op_contact_remove(chat_store_t *st, const char *owner,
                             const char *key)
{
    return change_contact(LOCAL(st), owner, key, 0);
}

static int op_contacts(chat_store_t *st, const char *owner, chat_name_fn fn,
                       void *ctx)
{
    local_t *s = LOCAL(st);
    user_t *u = st_user_get(s, owner, 0);
    int r = 0;
    for (size_t i = 0; u && r == 0 && i < u->ncontacts; i++) {
        user_t *c = st_user_get(s, u->contacts[i], 0);
        r = fn(ctx, c ? c->display : u->contacts[i]);
    }
    return r;
}

static uint64_t op_next_seq(chat_store_t *st)
{
    return LOCAL(st)->next_seq++;
}

static int op_history_add(chat_store_t *st, const chat_msg_t *m)
{
    local_t *s = LOCAL(st);
    chat_msg_t lobby = *m;
    lobby.to = NULL;
    body_t b = st_body_begin(s, 'H');
    st_encode_msg(&b, &lobby);
    int r = st_append(s, &b);
    if (r == 0)
        r = st_history_put(s, &lobby);
    st_maybe_compact(s);
    return r;
}

static int op_history(chat_store_t *st, uint64_t before, size_t limit,
                      chat_msg_fn fn, void *ctx)
{
    local_t *s = LOCAL(st);
    size_t end = s->hist_count; /* messages [first, end) are sent */
    while (before && end > 0 &&
           s->history[(s->hist_head + end - 1) % CHAT_HISTORY_KEEP]->m.seq >=
               before)
        end--;
    size_t first = end > limit ? end - limit : 0;
    int r = 0;
    for (size_t i = first; r == 0 && i < end; i++)
        r = fn(ctx, &s->history[(s->hist_head + i) % CHAT_HISTORY_KEEP]->m);
    return r;
}

static int op_pm_add(chat_store_t *st, const chat_msg_t *m)
{
    local_t *s = LOCAL(st);
    if (!m->to)
        return -EINVAL;
    body_t b = st_body_begin(s, 'P');
    st_encode_msg(&b, m);
    int r = st_append(s, &b);
    if (r == 0)
        r = st_pm_put(s, m);
    st_maybe_compact(s);
    return r;
}

static int op_pm_mark(chat_store_t *st, uint64_t seq, const char *to, int state,
                      chat_msg_fn fn, void *ctx)
{
    local_t *s = LOCAL(st);
    stored_t *pm = st_pm_find(s, seq);
    if (!pm || (to && strcmp(pm->to_key, to)))
        return -ENOENT;
    if (pm->m.state >= state)
        return 0;
    body_t b = st_body_begin(s, 'M');
    st_encode_mark(&b, seq, state);
    int r = st_append(s, &b);
    if (r < 0)
        return r;
    pm->m.state = state;
    if (fn)
        fn(ctx, &pm->m);
    st_maybe_compact(s);
    return 1;
}

static int op_pm_pending(chat_store_t *st, const char *key, chat_msg_fn fn,
                         void *ctx)
{
    local_t *s = LOCAL(st);
    int r = 0;
    for (size_t i = 0; r == 0 && i < s->npms; i++)
        if (s->pms[i]->m.state == CHAT_PM_OFFLINE &&
            !strcmp(s->pms[i]->to_key, key))
            r = fn(ctx, &s->pms[i]->m);
    return r;
}

static int op_pm_untold(chat_store_t *st, const char *from, chat_msg_fn fn,
                        void *ctx)
{
    local_t *s = LOCAL(st);
    int r = 0;
    for (size_t i = 0; r == 0 && i < s->npms; i++) {
        const stored_t *pm = s->pms[i];
        if (pm->m.state > CHAT_PM_OFFLINE && pm->told < pm->m.state &&
            !strcmp(pm->from_key, from))
            r = fn(ctx, &pm->m);
    }
    return r;
}

static int op_pm_told(chat_store_t *st, uint64_t seq, int state)
{
    local_t *s = LOCAL(st);
    stored_t *pm = st_pm_find(s, seq);
    if (!pm)
        return -ENOENT;
    if (pm->told >= state)
        return 0;
    body_t b = st_body_begin(s, 'T');
    st_encode_mark(&b, seq, state);
    int r = st_append(s, &b);
    if (r < 0)
        return r;
    pm->told = state;
    st_maybe_compact(s);
    return 1;
}

static int op_sync(chat_store_t *st)
{
    return reclog_sync(&LOCAL(st)->lf);
}

static void op_close(chat_store_t *st)
{
    local_t *s = LOCAL(st);
    if (!s)
        return;
    reclog_close(&s->lf);
    st_mem_free(s);
    free(s);
}

static const chat_store_ops_t local_ops = {
    op_claim,    op_lookup,    op_contact_add, op_contact_remove,
    op_contacts, op_next_seq,  op_history_add, op_history,
    op_pm_add,   op_pm_mark,   op_pm_pending,  op_sync,
    op_close,    op_pm_untold, op_pm_told};

/* ------------------------------------------------------------ open */

static void report_damage(local_t *s)
{
    char what[600], line[800];
    if (!s->lf.replay.nranges || !s->warn)
        return;
    reclog_replay_describe(&s->lf.replay, what, sizeof what);
    snprintf(line, sizeof line,
             "damaged: %s; the damaged log is kept beside it as %s", what,
             s->lf.damaged_copy);
    s->warn(s->warn_ctx, line);
}

int chat_store_open_local(chat_store_t **out, const char *dir,
                          chat_fsync_t mode, chat_warn_fn warn, void *ctx,
                          const char **msg)
{
    static const char *unused;
    local_t *s = calloc(1, sizeof *s);
    if (!msg)
        msg = &unused;
    *msg = "out of memory";
    if (!s)
        return -ENOMEM;
    s->base.ops = &local_ops;
    s->next_seq = 1;
    s->warn = warn;
    s->warn_ctx = ctx;
    int r = st_open_log(s, dir, mode, msg);
    if (r == 0) {
        report_damage(s);
        /* Always start from a compact log: that also leaves damage behind
         * (in its copy). */
        if ((r = st_compact(s)) < 0)
            *msg = "cannot rewrite the log";
    }
    if (r < 0) {
        op_close(&s->base);
        return r;
    }
    *out = &s->base;
    return 0;
}

void chat_store_local_report(const chat_store_t *st, char *buf, size_t cap)
{
    const reclog_replay_t *r = &((const local_t *)st)->lf.replay;
    if (r->version == 0 || r->nranges)
        snprintf(buf, cap, "%s", ""); /* empty, or reported as damage */
    else
        snprintf(buf, cap, "recovered %llu record%s, lost 0",
                 (unsigned long long)r->records, r->records == 1 ? "" : "s");
}
