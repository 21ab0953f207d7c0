/*
 * chat_store.h — what the chat server keeps across restarts, behind an
 * interface: claimed names (with a SHA-256 of each one's token), contacts,
 * lobby history, and direct messages with their delivery state. store.c
 * is the local implementation (a log on reclog.h); another (Redis) can
 * sit beside it with the same operations.
 *
 * Contract for every implementation: a call that returns success has
 * made its change durable as the fsync mode promises by the time
 * sync() returns (the server calls sync() before any answer of the loop
 * round leaves), and a reader sees the change at once. Names are given
 * as keys (names.h: the case-folded spelling) where they identify a
 * user, and as display spellings where they are shown.
 */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include "names.h"

#include <stddef.h>
#include <stdint.h>

#define CHAT_TEXT_MAX 4096
#define CHAT_REF_MAX 65 /* a client's id: 64 bytes and a NUL */
#define CHAT_HASH_LEN 32
#define CHAT_HISTORY_KEEP 1000
#define CHAT_MAX_CONTACTS 1000

/* Delivery states of a direct message (PROTOCOL.md "Messages"). */
enum chat_pm_state {
    CHAT_PM_OFFLINE = 1, /* stored for its recipient */
    CHAT_PM_DELIVERED,   /* written to the recipient's connection */
    CHAT_PM_READ         /* the recipient's client said so */
};

/* A lobby message (to NULL) or a direct message. Pointers are valid
 * during the call that hands the message over. */
typedef struct chat_msg {
    uint64_t seq, ts;      /* server sequence number; ms since the epoch */
    const char *from, *to; /* display spellings */
    const char *ref;       /* direct message: the sender's id, or "" */
    const char *text;
    size_t text_len;
    int state; /* direct message: enum chat_pm_state */
} chat_msg_t;

typedef int (*chat_msg_fn)(void *ctx, const chat_msg_t *m);
typedef int (*chat_name_fn)(void *ctx, const char *display);

typedef enum chat_fsync {
    CHAT_FSYNC_ALWAYS, /* every record reaches the disk before the call
                          returns */
    CHAT_FSYNC_BATCH,  /* sync() makes the round's records durable */
    CHAT_FSYNC_NEVER   /* the kernel decides: survives kill -9, not a
                          power loss */
} chat_fsync_t;

typedef struct chat_store chat_store_t;

/* Negative returns are -errno. */
typedef struct chat_store_ops {
    /* Claim key for display with hash = SHA-256(token). 0. */
    int (*claim)(chat_store_t *s, const char *key, const char *display,
                 const uint8_t hash[CHAT_HASH_LEN]);
    /* 1 and the claim's display spelling (CHAT_NAME_MAX bytes) and hash
     * (either may be NULL), or 0 when key is not claimed. */
    int (*lookup)(chat_store_t *s, const char *key, char *display,
                  uint8_t *hash);
    /* 0; 1 when already a contact (add) or not one (remove); -ERANGE
     * past CHAT_MAX_CONTACTS. Both names are claimed keys. */
    int (*contact_add)(chat_store_t *s, const char *owner, const char *key);
    int (*contact_remove)(chat_store_t *s, const char *owner, const char *key);
    /* owner's contacts, display spellings sorted by key; fn may stop the
     * walk by returning nonzero (the walk then returns that). */
    int (*contacts)(chat_store_t *s, const char *owner, chat_name_fn fn,
                    void *ctx);
    /* A number for the next message: larger than every one given out
     * before, across restarts. */
    uint64_t (*next_seq)(chat_store_t *s);
    int (*history_add)(chat_store_t *s, const chat_msg_t *m);
    /* Up to limit lobby messages with seq < before (0: the latest),
     * oldest first. */
    int (*history)(chat_store_t *s, uint64_t before, size_t limit,
                   chat_msg_fn fn, void *ctx);
    int (*pm_add)(chat_store_t *s, const chat_msg_t *m);
    /* Move direct message seq, sent to user `to` (a key; NULL: anyone),
     * on to state (a state never goes back). Returns 1 and calls fn (if
     * not NULL) with the message as it now is; 0 when it is that far
     * already; -ENOENT when there is no such message to `to`. */
    int (*pm_mark)(chat_store_t *s, uint64_t seq, const char *to, int state,
                   chat_msg_fn fn, void *ctx);
    /* The direct messages to key still CHAT_PM_OFFLINE, oldest first. */
    int (*pm_pending)(chat_store_t *s, const char *key, chat_msg_fn fn,
                      void *ctx);
    int (*sync)(chat_store_t *s);
    void (*close)(chat_store_t *s);
    /* Statuses a sender missed (it was offline when its PM moved on):
     * the direct messages from user `from` (a key) whose state is past
     * what their sender was told, oldest first; and: the sender of seq
     * has been told of state. Both may be NULL in a store that does not
     * keep this (then a sender offline at the time never learns it). */
    int (*pm_untold)(chat_store_t *s, const char *from, chat_msg_fn fn,
                     void *ctx);
    int (*pm_told)(chat_store_t *s, uint64_t seq, int state);
} chat_store_ops_t;

struct chat_store {
    const chat_store_ops_t *ops;
};

/* Warnings (a damaged log, a failed compaction), one line each. */
typedef void (*chat_warn_fn)(void *ctx, const char *msg);

/* The local store: the log DIR/chat.log (created with DIR if missing),
 * replayed and compacted. A damaged log is replayed around the damage,
 * kept as DIR/chat.log.damaged-<time> and reported through warn. 0, or
 * -errno with *msg saying what failed. */
#define CHAT_LOG_NAME "chat.log"
int chat_store_open_local(chat_store_t **out, const char *dir,
                          chat_fsync_t mode, chat_warn_fn warn, void *ctx,
                          const char **msg);

/* What the local store's replay found, for the start-up report: records
 * recovered, and a description of damage ("" when none). */
void chat_store_local_report(const chat_store_t *s, char *buf, size_t cap);

#endif
