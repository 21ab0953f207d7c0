/*
 * keymap.c — the hash table of keymap.h.
 */
#include "keymap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary who benefits from collisions beyond
 * slowing their own lookups (names are limited to 32 characters). */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211u;
    return (size_t)h;
}

static size_t find(const keymap_t *m, const char *key)
{
    size_t mask = m->cap - 1, i = hash(key) & mask;
    while (m->slot[i].key && strcmp(m->slot[i].key, key))
        i = (i + 1) & mask;
    return i;
}

static int grow(keymap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    keymap_t bigger = {calloc(cap, sizeof(keymap_slot_t)), cap, 0};
    if (!bigger.slot)
        return -1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i].key)
            bigger.slot[find(&bigger, m->slot[i].key)] = m->slot[i];
    bigger.count = m->count;
    free(m->slot);
    *m = bigger;
    return 0;
}

void *keymap_get(const keymap_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    const keymap_slot_t *s = &m->slot[find(m, key)];
    return s->key ? s->value : NULL;
}

int keymap_put(keymap_t *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return -1;
    size_t i = find(m, key);
    if (!m->slot[i].key)
        m->count++;
    m->slot[i] = (keymap_slot_t){key, value};
    return 0;
}

void *keymap_del(keymap_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = find(m, key);
    void *value = m->slot[i].value;
    if (!m->slot[i].key)
        return NULL;
    m->slot[i] = (keymap_slot_t){NULL, NULL};
    m->count--;
    /* Backward shift: move up every later entry of the run that would
     * not be found past the hole. */
    for (size_t j = (i + 1) & mask; m->slot[j].key; j = (j + 1) & mask) {
        size_t home = hash(m->slot[j].key) & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slot[i] = m->slot[j];
            m->slot[j] = (keymap_slot_t){NULL, NULL};
            i = j;
        }
    }
    return value;
}

void *keymap_next(const keymap_t *m, size_t *pos)
{
    while (*pos < m->cap) {
        const keymap_slot_t *s = &m->slot[(*pos)++];
        if (s->key)
            return s->value;
    }
    return NULL;
}

void keymap_free(keymap_t *m)
{
    free(m->slot);
    *m = (keymap_t){NULL, 0, 0};
}
