/*
 * store_int.h — the parts of the chat's local store (store.c: the
 * operations; store_mem.c: the memory; store_records.c: the records in
 * the log, replay and compaction). Not for the rest of the server,
 * which sees chat_store.h.
 */
#ifndef CHAT_STORE_INT_H
#define CHAT_STORE_INT_H

#include "chat_store.h"
#include "keymap.h"
#include "reclog.h"

#include <stddef.h>
#include <stdint.h>

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
    int told; /* direct message: the state its sender was told of */
    char from_key[CHAT_NAME_MAX], to_key[CHAT_NAME_MAX];
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

/* store_mem.c: the memory that holds the truth while running. */
user_t *st_user_get(local_t *s, const char *key, int create);
int st_key_of(const char *display, char *key);
int st_history_put(local_t *s, const chat_msg_t *m);
int st_pm_put(local_t *s, const chat_msg_t *m);
stored_t *st_pm_find(local_t *s, uint64_t seq);
size_t st_contact_pos(const user_t *u, const char *key, int *found);
int st_contact_insert(user_t *u, const char *key);
int st_contact_delete(user_t *u, const char *key);
void st_mem_free(local_t *s);

/* store_records.c: records (their bodies built in s->rec), replay and
 * compaction. */
typedef struct body {
    uint8_t *start, *p;
} body_t;

body_t st_body_begin(local_t *s, uint8_t type);
size_t st_body_len(const body_t *b);
void st_encode_claim(body_t *b, const char *display, const uint8_t *hash);
void st_encode_contact(body_t *b, const char *owner, const char *key);
void st_encode_msg(body_t *b, const chat_msg_t *m);
void st_encode_mark(body_t *b, uint64_t seq, int state);
/* Append the body b to the log: 0 or -errno. */
int st_append(local_t *s, const body_t *b);
/* Open the log in dir and replay it into memory (reclog_open). */
int st_open_log(local_t *s, const char *dir, chat_fsync_t mode,
                const char **msg);
/* Rewrite the log with what memory holds; the second only when the log
 * has grown to twice that (and warns when it fails). */
int st_compact(local_t *s);
void st_maybe_compact(local_t *s);

#endif
