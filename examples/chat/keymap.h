/*
 * keymap.h — a string-keyed hash table (open addressing, linear probing,
 * deletion by backward shift: no tombstones, so a table that sees many
 * joins and leaves never slows down). Keys are not copied: each entry's
 * key must live as long as the entry (it is usually inside the value).
 */
#ifndef CHAT_KEYMAP_H
#define CHAT_KEYMAP_H

#include <stddef.h>

typedef struct keymap_slot {
    const char *key;
    void *value;
} keymap_slot_t;

typedef struct keymap {
    keymap_slot_t *slot;
    size_t cap, count; /* cap: a power of two, or 0 */
} keymap_t;

/* The value under key, or NULL. */
void *keymap_get(const keymap_t *m, const char *key);

/* Set key's value (replacing any). 0, or -1 when out of memory. */
int keymap_put(keymap_t *m, const char *key, void *value);

/* Remove key; returns its value, or NULL when it was not there. */
void *keymap_del(keymap_t *m, const char *key);

/* Entries in no particular order: start with *pos = 0; NULL at the end.
 * The table must not change during the walk. */
void *keymap_next(const keymap_t *m, size_t *pos);

void keymap_free(keymap_t *m);

#endif
