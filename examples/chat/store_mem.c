/*
 * store_mem.c — the chat store's memory (store_int.h): users with their
 * claims and sorted contacts, the ring of the last CHAT_HISTORY_KEEP lobby
 * messages, and the direct messages sorted by seq.
 */
#define _GNU_SOURCE
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ memory */

user_t *st_user_get(local_t *s, const char *key, int create)
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

int st_key_of(const char *display, char *key)
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
    st->to_key[0] = st->from_key[0] = '\0';
    st->told = 0;
    if (m->to && (st_key_of(m->to, st->to_key) != 0 ||
                  st_key_of(m->from, st->from_key) != 0)) {
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

int st_history_put(local_t *s, const chat_msg_t *m)
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

int st_pm_put(local_t *s, const chat_msg_t *m)
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

stored_t *st_pm_find(local_t *s, uint64_t seq)
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
size_t st_contact_pos(const user_t *u, const char *key, int *found)
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

int st_contact_insert(user_t *u, const char *key)
{
    int found;
    size_t i = st_contact_pos(u, key, &found);
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

int st_contact_delete(user_t *u, const char *key)
{
    int found;
    size_t i = st_contact_pos(u, key, &found);
    if (!found)
        return 1;
    free(u->contacts[i]);
    memmove(u->contacts + i, u->contacts + i + 1,
            (u->ncontacts - i - 1) * sizeof *u->contacts);
    u->ncontacts--;
    return 0;
}

void st_mem_free(local_t *s)
{
    size_t pos = 0;
    user_t *u;
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
}
