/*
 * store.c — the chat's local store (chat_store.h) on a record log
 * (reclog.h): memory holds the truth while running, the log makes it
 * survive a crash. Every change is appended before it is applied, so a
 * replay rebuilds exactly what callers were told; the log is compacted
 * at every start and whenever it has grown to twice what it holds.
 *
 * Records (the body's first byte says which; integers little-endian):
 *   'S' next seq (8)                      first record of a compacted log
 *   'N' SHA-256 of the token (32) | name  a claim
 *   'A' / 'X' owner length (1) | owner key | contact key
 *                                         contact added / removed
 *   'H' seq (8) | ts (8) | from length (1) | from | text
 *                                         a lobby message
 *   'P' seq (8) | ts (8) | state (1) | from length (1) | from |
 *       to length (1) | to | ref length (1) | ref | text
 *                                         a direct message
 *   'M' seq (8) | state (1)               a direct message moved on
 */
#define _GNU_SOURCE
#include "chat_store.h"

#include "keymap.h"
#include "reclog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPACT_MIN (1024u * 1024u)
#define PM_KEEP_DELIVERED 1000 /* delivered, unread PMs kept for "read" */
#define REC_BUF RECLOG_SIZE(RECLOG_MAX_BODY)

typedef struct user {
    char key[CHAT_NAME_MAX];
    char display[CHAT_NAME_MAX];
    uint8_t hash[CHAT_HASH_LEN];
    int claimed;
    char **contacts; /* keys, sorted */
    size_t ncontacts, cap;
} user_t;

/* A stored message: the struct, then its strings (NUL-terminated). */
typedef struct stored {
    chat_msg_t m;
    char to_key[CHAT_NAME_MAX];
    char data[];
} stored_t;

typedef struct local {
    chat_store_t base;
    reclog_file_t lf;
    keymap_t users;
    stored_t *history[CHAT_HISTORY_KEEP];
    size_t hist_head, hist_count;
    stored_t **pms; /* sorted by seq */
    size_t npms, pm_cap;
    uint64_t next_seq;
    uint64_t live; /* bytes of the last compaction */
    chat_warn_fn warn;
    void *warn_ctx;
    uint8_t rec[REC_BUF];
} local_t;

/* ------------------------------------------------------------ bytes */

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* A body being written: bytes appended at b->p. */
typedef struct body {
    uint8_t *start, *p;
} body_t;

static body_t body_begin(local_t *s, uint8_t type)
{
    body_t b = {s->rec + RECLOG_HEAD, s->rec + RECLOG_HEAD};
    *b.p++ = type;
    return b;
}

static void body_put(body_t *b, const void *data, size_t n)
{
    memcpy(b->p, data, n);
    b->p += n;
}

static void body_str8(body_t *b, const char *s) /* length byte, bytes */
{
    size_t n = strlen(s);
    *b->p++ = (uint8_t)n;
    body_put(b, s, n);
}

static size_t body_len(const body_t *b)
{
    return (size_t)(b->p - b->start);
}

/* A body being read. */
typedef struct reader {
    const uint8_t *p, *end;
    int bad;
} reader_t;

static uint64_t read64(reader_t *r)
{
    if (r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    r->p += 8;
    return get64(r->p - 8);
}

static uint8_t read8(reader_t *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

/* A length-prefixed string into out (CHAT_NAME_MAX or CHAT_REF_MAX). */
static void read_str8(reader_t *r, char *out, size_t cap)
{
    size_t n = read8(r);
    if (r->bad || n >= cap || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        out[0] = '\0';
        return;
    }
    memcpy(out, r->p, n);
    out[n] = '\0';
    r->p += n;
}

/* ------------------------------------------------------------ memory */

static user_t *user_get(local_t *s, const char *key, int create)
{
    user_t *u = keymap_get(&s->users, key);
    if (u || !create)
        return u;
    if (!(u = calloc(1, sizeof *u)))
        return NULL;
    snprintf(u->key, sizeof u->key, "%s", key);
    snprintf(u->display, sizeof u->display, "%s", key);
    if (keymap_put(&s->users, u->key, u) != 0) {
        free(u);
        return NULL;
    }
    return u;
}

static int key_of(const char *display, char *key)
{
    char why[96];
    return chat_name_check(display, strlen(display), key, why, sizeof why)
               ? -EINVAL
               : 0;
}

static stored_t *stored_new(const chat_msg_t *m)
{
    size_t nf = strlen(m->from) + 1, nt = m->to ? strlen(m->to) + 1 : 0;
    size_t nr = m->to && m->ref ? strlen(m->ref) + 1 : 1;
    stored_t *st = malloc(sizeof *st + nf + nt + nr + m->text_len + 1);
    if (!st)
        return NULL;
    char *d = st->data;
    st->m = *m;
    st->m.from = memcpy(d, m->from, nf), d += nf;
    st->m.to = m->to ? memcpy(d, m->to, nt) : NULL, d += nt;
    st->m.ref = memcpy(d, m->to && m->ref ? m->ref : "", nr), d += nr;
    if (!m->to)
        st->m.ref = NULL; /* lobby messages have none */
    memcpy(d, m->text, m->text_len);
    d[m->text_len] = '\0';
    st->m.text = d;
    st->to_key[0] = '\0';
    if (m->to && key_of(m->to, st->to_key) != 0) {
        free(st);
        return NULL;
    }
    return st;
}

static void seen_seq(local_t *s, uint64_t seq)
{
    if (seq >= s->next_seq)
        s->next_seq = seq + 1;
}

static int history_put(local_t *s, const chat_msg_t *m)
{
    stored_t *st = stored_new(m);
    if (!st)
        return -ENOMEM;
    size_t i = (s->hist_head + s->hist_count) % CHAT_HISTORY_KEEP;
    if (s->hist_count == CHAT_HISTORY_KEEP) {
        free(s->history[s->hist_head]);
        s->hist_head = (s->hist_head + 1) % CHAT_HISTORY_KEEP;
    } else {
        s->hist_count++;
    }
    s->history[i] = st;
    seen_seq(s, m->seq);
    return 0;
}

static int pm_put(local_t *s, const chat_msg_t *m)
{
    if (s->npms == s->pm_cap) {
        size_t cap = s->pm_cap ? s->pm_cap * 2 : 64;
        stored_t **pms = realloc(s->pms, cap * sizeof *pms);
        if (!pms)
            return -ENOMEM;
        s->pms = pms;
        s->pm_cap = cap;
    }
    stored_t *st = stored_new(m);
    if (!st)
        return -ENOMEM;
    size_t i = s->npms;
    while (i > 0 && s->pms[i - 1]->m.seq > m->seq) /* replay may reorder */
        i--;
    memmove(s->pms + i + 1, s->pms + i, (s->npms - i) * sizeof *s->pms);
    s->pms[i] = st;
    s->npms++;
    seen_seq(s, m->seq);
    return 0;
}

static stored_t *pm_find(local_t *s, uint64_t seq)
{
    size_t lo = 0, hi = s->npms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->pms[mid]->m.seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->npms && s->pms[lo]->m.seq == seq ? s->pms[lo] : NULL;
}

/* Where key is or belongs in u's sorted contacts. */
static size_t contact_pos(const user_t *u, const char *key, int *found)
{
    size_t lo = 0, hi = u->ncontacts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(u->contacts[mid], key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int contact_insert(user_t *u, const char *key)
{
    int found;
    size_t i = contact_pos(u, key, &found);
    if (found)
        return 1;
    if (u->ncontacts == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 8;
        char **c = realloc(u->contacts, cap * sizeof *c);
        if (!c)
            return -ENOMEM;
        u->contacts = c;
        u->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return -ENOMEM;
    memmove(u->contacts + i + 1, u->contacts + i,
            (u->ncontacts - i) * sizeof *u->contacts);
    u->contacts[i] = copy;
    u->ncontacts++;
    return 0;
}

static int contact_delete(user_t *u, const char *key)
{
    int found;
    size_t i = contact_pos(u, key, &found);
    if (!found)
        return 1;
    free(u->contacts[i]);
    memmove(u->contacts + i, u->contacts + i + 1,
            (u->ncontacts - i - 1) * sizeof *u->contacts);
    u->ncontacts--;
    return 0;
}

/* ------------------------------------------------------------ records */

static void encode_claim(body_t *b, const char *display, const uint8_t *hash)
{
    body_put(b, hash, CHAT_HASH_LEN);
    body_put(b, display, strlen(display));
}

static void encode_contact(body_t *b, const char *owner, const char *key)
{
    body_str8(b, owner);
    body_put(b, key, strlen(key));
}

static void encode_msg(body_t *b, const chat_msg_t *m)
{
    uint8_t n[8];
    put64(n, m->seq);
    body_put(b, n, 8);
    put64(n, m->ts);
    body_put(b, n, 8);
    if (m->to)
        *b->p++ = (uint8_t)m->state;
    body_str8(b, m->from);
    if (m->to) {
        body_str8(b, m->to);
        body_str8(b, m->ref ? m->ref : "");
    }
    body_put(b, m->text, m->text_len);
}

static void encode_mark(body_t *b, uint64_t seq, int state)
{
    uint8_t n[8];
    put64(n, seq);
    body_put(b, n, 8);
    *b->p++ = (uint8_t)state;
}

static int append(local_t *s, const body_t *b)
{
    return reclog_append(&s->lf, s->rec, body_len(b));
}

/* ------------------------------------------------------------ replay */

static int apply_claim(local_t *s, reader_t *r)
{
    char display[CHAT_NAME_MAX], key[CHAT_NAME_MAX];
    size_t n = (size_t)(r->end - r->p);
    if (n < CHAT_HASH_LEN || n - CHAT_HASH_LEN >= CHAT_NAME_MAX)
        return 0;
    memcpy(display, r->p + CHAT_HASH_LEN, n - CHAT_HASH_LEN);
    display[n - CHAT_HASH_LEN] = '\0';
    if (key_of(display, key) != 0)
        return 0;
    user_t *u = user_get(s, key, 1);
    if (!u)
        return -ENOMEM;
    memcpy(u->hash, r->p, CHAT_HASH_LEN);
    snprintf(u->display, sizeof u->display, "%s", display);
    u->claimed = 1;
    return 0;
}

static int apply_contact(local_t *s, reader_t *r, int add)
{
    char owner[CHAT_NAME_MAX], key[CHAT_NAME_MAX];
    read_str8(r, owner, sizeof owner);
    size_t n = (size_t)(r->end - r->p);
    if (r->bad || n >= CHAT_NAME_MAX)
        return 0;
    memcpy(key, r->p, n);
    key[n] = '\0';
    user_t *u = user_get(s, owner, 1);
    if (!u)
        return -ENOMEM;
    int e = add ? contact_insert(u, key) : contact_delete(u, key);
    return e < 0 ? e : 0;
}

static int apply_msg(local_t *s, reader_t *r, int direct)
{
    char from[CHAT_NAME_MAX], to[CHAT_NAME_MAX], ref[CHAT_REF_MAX];
    chat_msg_t m = {0};
    m.seq = read64(r);
    m.ts = read64(r);
    if (direct)
        m.state = read8(r);
    read_str8(r, from, sizeof from);
    if (direct) {
        read_str8(r, to, sizeof to);
        read_str8(r, ref, sizeof ref);
    }
    if (r->bad)
        return 0;
    m.from = from;
    m.to = direct ? to : NULL;
    m.ref = direct ? ref : NULL;
    m.text = (const char *)r->p;
    m.text_len = (size_t)(r->end - r->p);
    if (!direct)
        return history_put(s, &m);
    return m.state >= CHAT_PM_OFFLINE && m.state <= CHAT_PM_READ
               ? pm_put(s, &m)
               : 0;
}

static int apply_mark(local_t *s, reader_t *r)
{
    uint64_t seq = read64(r);
    int state = read8(r);
    stored_t *st = r->bad ? NULL : pm_find(s, seq);
    if (st && state > st->m.state && state <= CHAT_PM_READ)
        st->m.state = state;
    return 0;
}

/* One replayed record. A record that does not make sense (its claim
 * lost to damage, say) is skipped rather than failing the start. */
static int apply(void *ctx, const reclog_rec_t *rec)
{
    local_t *s = ctx;
    reader_t r = {rec->body + 1, rec->body + rec->len, 0};
    switch (rec->body[0]) {
    case 'S': {
        uint64_t next = read64(&r);
        if (next > s->next_seq)
            s->next_seq = next;
        return 0;
    }
    case 'N':
        return apply_claim(s, &r);
    case 'A':
    case 'X':
        return apply_contact(s, &r, rec->body[0] == 'A');
    case 'H':
    case 'P':
        return apply_msg(s, &r, rec->body[0] == 'P');
    case 'M':
        return apply_mark(s, &r);
    }
    return 0;
}

/* The record types and the least each one's body holds. */
static int valid_body(const uint8_t *body, size_t len)
{
    static const char types[] = "SNAXHPM";
    static const uint8_t least[] = {9, 1 + CHAT_HASH_LEN + 1, 4, 4,
                                    1 + 16 + 2 + 1, 1 + 16 + 1 + 2 + 2 + 1 + 1,
                                    10};
    const char *t = memchr(types, body[0], sizeof types - 1);
    return t && len >= least[t - types];
}

static const reclog_format_t chat_format = {
    "not a chat log (no valid record in it); move it away to start with an "
    "empty log",
    "WSCHAT1\n", 1, 4, RECLOG_MAX_BODY, valid_body};

static int replay(void *ctx, const uint8_t *p, size_t n, reclog_replay_t *out)
{
    return reclog_replay(&chat_format, p, n, apply, ctx, out);
}

/* ------------------------------------------------------------ compaction */

static int emit_seq(local_t *s, reclog_writer_t *w)
{
    uint8_t n[8];
    body_t b = body_begin(s, 'S');
    put64(n, s->next_seq);
    body_put(&b, n, 8);
    return reclog_writer_add(w, s->rec, body_len(&b));
}

static int emit_users(local_t *s, reclog_writer_t *w)
{
    size_t pos = 0;
    user_t *u;
    int r = 0;
    while (r == 0 && (u = keymap_next(&s->users, &pos))) {
        body_t b = body_begin(s, 'N');
        encode_claim(&b, u->display, u->hash);
        if (u->claimed)
            r = reclog_writer_add(w, s->rec, body_len(&b));
        for (size_t i = 0; r == 0 && i < u->ncontacts; i++) {
            b = body_begin(s, 'A');
            encode_contact(&b, u->key, u->contacts[i]);
            r = reclog_writer_add(w, s->rec, body_len(&b));
        }
    }
    return r;
}

static int emit_history(local_t *s, reclog_writer_t *w)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < s->hist_count; i++) {
        const stored_t *st = s->history[(s->hist_head + i) % CHAT_HISTORY_KEEP];
        body_t b = body_begin(s, 'H');
        encode_msg(&b, &st->m);
        r = reclog_writer_add(w, s->rec, body_len(&b));
    }
    return r;
}

/* Is a direct message still worth keeping? Waiting ones always; of the
 * delivered and unread, the last PM_KEEP_DELIVERED (a "read" may still
 * come for them); read ones never. */
static int pm_keep(const stored_t *st, size_t *delivered_left)
{
    if (st->m.state == CHAT_PM_OFFLINE)
        return 1;
    if (st->m.state == CHAT_PM_DELIVERED && *delivered_left) {
        (*delivered_left)--;
        return 1;
    }
    return 0;
}

/* Drop from memory what a compaction leaves out. */
static void prune_pms(local_t *s)
{
    size_t left = PM_KEEP_DELIVERED, kept = 0;
    for (size_t i = s->npms; i-- > 0;)
        if (!pm_keep(s->pms[i], &left)) {
            free(s->pms[i]);
            s->pms[i] = NULL;
        }
    for (size_t i = 0; i < s->npms; i++)
        if (s->pms[i])
            s->pms[kept++] = s->pms[i];
    s->npms = kept;
}

static int emit_pms(local_t *s, reclog_writer_t *w)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < s->npms; i++) {
        body_t b = body_begin(s, 'P');
        encode_msg(&b, &s->pms[i]->m);
        r = reclog_writer_add(w, s->rec, body_len(&b));
    }
    return r;
}

static int emit_all(void *ctx, reclog_writer_t *w)
{
    local_t *s = ctx;
    int r = emit_seq(s, w);
    if (r == 0)
        r = emit_users(s, w);
    if (r == 0)
        r = emit_history(s, w);
    if (r == 0)
        r = emit_pms(s, w);
    return r;
}

static int compact(local_t *s)
{
    prune_pms(s);
    int r = reclog_rewrite(&s->lf, emit_all, s);
    if (r == 0)
        s->live = s->lf.size;
    return r;
}

static void maybe_compact(local_t *s)
{
    if (s->lf.size < COMPACT_MIN || s->lf.size <= 2 * s->live)
        return;
    int r = compact(s);
    if (r < 0 && s->warn) {
        char line[160];
        snprintf(line, sizeof line, "log compaction failed (will retry): %s",
                 strerror(-r));
        s->warn(s->warn_ctx, line);
    }
}

/* ------------------------------------------------------------ ops */

#define LOCAL(st) ((local_t *)(st))

static int op_claim(chat_store_t *st, const char *key, const char *display,
                    const uint8_t hash[CHAT_HASH_LEN])
{
    local_t *s = LOCAL(st);
    user_t *u = user_get(s, key, 1);
    if (!u)
        return -ENOMEM;
    body_t b = body_begin(s, 'N');
    encode_claim(&b, display, hash);
    int r = append(s, &b);
    if (r < 0)
        return r;
    memcpy(u->hash, hash, CHAT_HASH_LEN);
    snprintf(u->display, sizeof u->display, "%s", display);
    u->claimed = 1;
    maybe_compact(s);
    return 0;
}

static int op_lookup(chat_store_t *st, const char *key, char *display,
                     uint8_t *hash)
{
    user_t *u = user_get(LOCAL(st), key, 0);
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
    user_t *u = user_get(s, owner, 1);
    int found;
    if (!u)
        return -ENOMEM;
    contact_pos(u, key, &found);
    if (found == add)
        return 1;
    if (add && u->ncontacts >= CHAT_MAX_CONTACTS)
        return -ERANGE;
    body_t b = body_begin(s, add ? 'A' : 'X');
    encode_contact(&b, owner, key);
    int r = append(s, &b);
    if (r == 0)
        r = add ? contact_insert(u, key) : contact_delete(u, key);
    maybe_compact(s);
    return r < 0 ? r : 0;
}

static int op_contact_add(chat_store_t *st, const char *owner,
                          const char *key)
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
    user_t *u = user_get(s, owner, 0);
    int r = 0;
    for (size_t i = 0; u && r == 0 && i < u->ncontacts; i++) {
        user_t *c = user_get(s, u->contacts[i], 0);
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
    body_t b = body_begin(s, 'H');
    encode_msg(&b, &lobby);
    int r = append(s, &b);
    if (r == 0)
        r = history_put(s, &lobby);
    maybe_compact(s);
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
    body_t b = body_begin(s, 'P');
    encode_msg(&b, m);
    int r = append(s, &b);
    if (r == 0)
        r = pm_put(s, m);
    maybe_compact(s);
    return r;
}

static int op_pm_mark(chat_store_t *st, uint64_t seq, const char *to,
                      int state, chat_msg_fn fn, void *ctx)
{
    local_t *s = LOCAL(st);
    stored_t *pm = pm_find(s, seq);
    if (!pm || (to && strcmp(pm->to_key, to)))
        return -ENOENT;
    if (pm->m.state >= state)
        return 0;
    body_t b = body_begin(s, 'M');
    encode_mark(&b, seq, state);
    int r = append(s, &b);
    if (r < 0)
        return r;
    pm->m.state = state;
    if (fn)
        fn(ctx, &pm->m);
    maybe_compact(s);
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

static int op_sync(chat_store_t *st)
{
    return reclog_sync(&LOCAL(st)->lf);
}

static void op_close(chat_store_t *st)
{
    local_t *s = LOCAL(st);
    size_t pos = 0;
    user_t *u;
    if (!s)
        return;
    reclog_close(&s->lf);
    while ((u = keymap_next(&s->users, &pos))) {
        for (size_t i = 0; i < u->ncontacts; i++)
            free(u->contacts[i]);
        free(u->contacts);
        free(u);
    }
    keymap_free(&s->users);
    for (size_t i = 0; i < s->hist_count; i++)
        free(s->history[(s->hist_head + i) % CHAT_HISTORY_KEEP]);
    for (size_t i = 0; i < s->npms; i++)
        free(s->pms[i]);
    free(s->pms);
    free(s);
}

static const chat_store_ops_t local_ops = {
    op_claim,     op_lookup,      op_contact_add, op_contact_remove,
    op_contacts,  op_next_seq,    op_history_add, op_history,
    op_pm_add,    op_pm_mark,     op_pm_pending,  op_sync,
    op_close};

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
    int r = reclog_open(&s->lf, &chat_format, dir, CHAT_LOG_NAME,
                        (reclog_fsync_t)mode, replay, s, msg);
    if (r == 0) {
        report_damage(s);
        /* Always start from a compact log: that also leaves damage behind
         * (in its copy). */
        if ((r = compact(s)) < 0)
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
