/* test_keymap.c — the hash table of keymap.c against a plain array doing
 * the same random puts, gets and deletes (deletion by backward shift is
 * where such tables go wrong: a key must stay findable, and a deleted
 * one must be gone, whatever was moved). */
#include "harness.h"
#include "keymap.h"

#include <stdio.h>
#include <string.h>

static const char th_suite_name[] = "chat_keymap";

#define KEYS 300

static void against_a_model(void)
{
    static char keys[KEYS][16];
    static int present[KEYS], value[KEYS];
    keymap_t m = {NULL, 0, 0};
    unsigned seed = 12345, bad = 0;
    for (int i = 0; i < KEYS; i++)
        snprintf(keys[i], sizeof keys[i], "k%d", i * 7919 % 1000);
    for (int step = 0; step < 200000; step++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % KEYS), op = (int)((seed >> 20) % 3);
        if (op == 0) {
            value[k] = step;
            present[k] = 1;
            CHECK_INT(keymap_put(&m, keys[k], &value[k]), 0);
        } else if (op == 1) {
            void *v = keymap_del(&m, keys[k]);
            bad += v != (present[k] ? &value[k] : NULL);
            present[k] = 0;
        } else {
            bad += keymap_get(&m, keys[k]) != (present[k] ? &value[k] : NULL);
        }
    }
    size_t count = 0, pos = 0;
    for (int k = 0; k < KEYS; k++) {
        count += (size_t)present[k];
        bad += keymap_get(&m, keys[k]) != (present[k] ? &value[k] : NULL);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(m.count, count);
    size_t walked = 0;
    while (keymap_next(&m, &pos))
        walked++;
    CHECK_INT(walked, count);
    keymap_free(&m);
    CHECK(keymap_get(&m, "k1") == NULL);
}

void suite_chat_keymap(void);
void suite_chat_keymap(void)
{
    RUN(against_a_model);
}
