/*
 * store_records.c — the chat store's records in its log (store_int.h,
 * on reclog.h): encoding them, replaying them into memory, and
 * compaction, which writes what memory holds as a fresh log.
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
 *   'T' seq (8) | state (1)               its sender was told of state
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

body_t st_body_begin(local_t *s, uint8_t type)
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

size_t st_body_len(const body_t *b)
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

/* ------------------------------------------------------------ records */

void st_encode_claim(body_t *b, const char *display, const uint8_t *hash)
{
    body_put(b, hash, CHAT_HASH_LEN);
    body_put(b, display, strlen(display));
}

void st_encode_contact(body_t *b, const char *owner, const char *key)
{
    body_str8(b, owner);
    body_put(b, key, strlen(key));
}

void st_encode_msg(body_t *b, const chat_msg_t *m)
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

void st_encode_mark(body_t *b, uint64_t seq, int state)
{
    uint8_t n[8];
    put64(n, seq);
    body_put(b, n, 8);
    *b->p++ = (uint8_t)state;
}

int st_append(local_t *s, const body_t *b)
{
    return reclog_append(&s->lf, s->rec, st_body_len(b));
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
    if (st_key_of(display, key) != 0)
        return 0;
    user_t *u = st_user_get(s, key, 1);
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
    user_t *u = st_user_get(s, owner, 1);
    if (!u)
        return -ENOMEM;
    int e = add ? st_contact_insert(u, key) : st_contact_delete(u, key);
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
        return st_history_put(s, &m);
    return m.state >= CHAT_PM_OFFLINE && m.state <= CHAT_PM_READ
               ? st_pm_put(s, &m)
               : 0;
}

/* 'M' (told 0) or 'T' (told 1). */
static int apply_mark(local_t *s, reader_t *r, int told)
{
    uint64_t seq = read64(r);
    int state = read8(r);
    stored_t *st = r->bad ? NULL : st_pm_find(s, seq);
    if (!st || state > CHAT_PM_READ)
        return 0;
    if (told && state > st->told)
        st->told = state;
    else if (!told && state > st->m.state)
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
    case 'T':
        return apply_mark(s, &r, rec->body[0] == 'T');
    }
    return 0;
}

/* The record types and the least each one's body holds. */
static int valid_body(const uint8_t *body, size_t len)
{
    static const char types[] = "SNAXHPMT";
    static const uint8_t least[] = {9,
                                    1 + CHAT_HASH_LEN + 1,
                                    4,
                                    4,
                                    1 + 16 + 2 + 1,
                                    1 + 16 + 1 + 2 + 2 + 1 + 1,
                                    10,
                                    10};
    const char *t = memchr(types, body[0], sizeof types - 1);
    return t && len >= least[t - types];
}

static const reclog_format_t chat_format = {
    "not a chat log (no valid record in it); move it away to start with an "
    "empty log",
    "WSCHAT1\n",
    1,
    4,
    RECLOG_MAX_BODY,
    valid_body};

static int replay_log(void *ctx, const uint8_t *p, size_t n,
                      reclog_replay_t *out)
{
    return reclog_replay(&chat_format, p, n, apply, ctx, out);
}

/* ------------------------------------------------------------ compaction */

static int emit_seq(local_t *s, reclog_writer_t *w)
{
    uint8_t n[8];
    body_t b = st_body_begin(s, 'S');
    put64(n, s->next_seq);
    body_put(&b, n, 8);
    return reclog_writer_add(w, s->rec, st_body_len(&b));
}

static int emit_users(local_t *s, reclog_writer_t *w)
{
    size_t pos = 0;
    user_t *u;
    int r = 0;
    while (r == 0 && (u = keymap_next(&s->users, &pos))) {
        body_t b = st_body_begin(s, 'N');
        st_encode_claim(&b, u->display, u->hash);
        if (u->claimed)
            r = reclog_writer_add(w, s->rec, st_body_len(&b));
        for (size_t i = 0; r == 0 && i < u->ncontacts; i++) {
            b = st_body_begin(s, 'A');
            st_encode_contact(&b, u->key, u->contacts[i]);
            r = reclog_writer_add(w, s->rec, st_body_len(&b));
        }
    }
    return r;
}

static int emit_history(local_t *s, reclog_writer_t *w)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < s->hist_count; i++) {
        const stored_t *st = s->history[(s->hist_head + i) % CHAT_HISTORY_KEEP];
        body_t b = st_body_begin(s, 'H');
        st_encode_msg(&b, &st->m);
        r = reclog_writer_add(w, s->rec, st_body_len(&b));
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
    int useful = st->m.state == CHAT_PM_DELIVERED || st->told < st->m.state;
    if (useful && *delivered_left) {
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
        const stored_t *pm = s->pms[i];
        body_t b = st_body_begin(s, 'P');
        st_encode_msg(&b, &pm->m);
        r = reclog_writer_add(w, s->rec, st_body_len(&b));
        if (r == 0 && pm->told) {
            b = st_body_begin(s, 'T');
            st_encode_mark(&b, pm->m.seq, pm->told);
            r = reclog_writer_add(w, s->rec, st_body_len(&b));
        }
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

int st_compact(local_t *s)
{
    prune_pms(s);
    int r = reclog_rewrite(&s->lf, emit_all, s);
    if (r == 0)
        s->live = s->lf.size;
    return r;
}

void st_maybe_compact(local_t *s)
{
    if (s->lf.size < COMPACT_MIN || s->lf.size <= 2 * s->live)
        return;
    int r = st_compact(s);
    if (r < 0 && s->warn) {
        char line[160];
        snprintf(line, sizeof line, "log compaction failed (will retry): %s",
                 strerror(-r));
        s->warn(s->warn_ctx, line);
    }
}

int st_open_log(local_t *s, const char *dir, chat_fsync_t mode,
                const char **msg)
{
    return reclog_open(&s->lf, &chat_format, dir, CHAT_LOG_NAME,
                       (reclog_fsync_t)mode, replay_log, s, msg);
}
