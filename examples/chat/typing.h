/*
 * typing.h — typing indications (PROTOCOL.md "Presence and typing"): at
 * most one relayed per sender per TYPING_MIN_MS unless the state
 * changes, and an active or paused state not refreshed for
 * TYPING_EXPIRE_MS ends as "done", relayed by the server.
 */
#ifndef CHAT_TYPING_H
#define CHAT_TYPING_H

#include "names.h"

#include <stdint.h>

#define TYPING_MIN_MS 3000
#define TYPING_EXPIRE_MS 6000

enum typing_state { TYPING_DONE, TYPING_ACTIVE, TYPING_PAUSED };

struct wsx_timer;

typedef struct typing {
    int state;                /* enum typing_state */
    char to[CHAT_NAME_MAX];   /* the audience as the client named it, or
                                 "" for the lobby */
    char key[CHAT_NAME_MAX];  /* its key, "" for the lobby */
    uint64_t relayed_ms;      /* when the last event was relayed */
    struct wsx_timer *expiry; /* while active or paused */
} typing_t;

struct session;

/* A typing request (state, audience: a name or "" for the lobby) from
 * s: relayed or not by the rules. 0, or -1 when `to` is not a name. */
int typing_update(struct session *s, int state, const char *to);

/* s sent a message to user key ("" lobby): its typing there is done. */
void typing_sent(struct session *s, const char *key);

/* s is going away: end its typing (relaying done) and free the timer. */
void typing_end(struct session *s);

/* "active" -> TYPING_ACTIVE ...; -1 when it is none of the three. */
int typing_parse(const char *state);

#endif
