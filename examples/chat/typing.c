/*
 * typing.c — typing indications (typing.h): relayed to the direct
 * message peer, or to everyone else for the lobby; throttled per sender,
 * and ended by the server when the client goes quiet.
 */
#include "typing.h"

#include "events.h"
#include "session.h"

#include <string.h>

static const char *const states[] = {"done", "active", "paused"};

int typing_parse(const char *state)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(state, states[i]))
            return i;
    return -1;
}

static void relay(session_t *s, int state)
{
    typing_t *t = &s->typing;
    ev_t e;
    ev_begin(&e, "typing", 0);
    json_member_str(&e.w, "from", s->name);
    json_member_str(&e.w, "state", states[state]);
    if (*t->to)
        json_member_str(&e.w, "to", t->to);
    if (*t->key)
        ev_publish(s->srv, t->key, NULL, &e);
    else
        ev_publish(s->srv, NULL, s->key, &e);
    t->relayed_ms = wsx_loop_now(s->srv->loop);
}

static void stop_timer(typing_t *t)
{
    if (t->expiry)
        wsx_timer_stop(t->expiry);
    t->expiry = NULL;
}

static void expired(wsx_timer_t *timer, void *user)
{
    session_t *s = user;
    (void)timer;
    s->typing.expiry = NULL; /* a one-shot timer frees itself */
    s->typing.state = TYPING_DONE;
    relay(s, TYPING_DONE);
}

/* Done where it was, before typing somewhere else or stopping. */
static void finish(session_t *s)
{
    stop_timer(&s->typing);
    if (s->typing.state != TYPING_DONE) {
        s->typing.state = TYPING_DONE;
        relay(s, TYPING_DONE);
    }
}

int typing_update(session_t *s, int state, const char *to)
{
    typing_t *t = &s->typing;
    uint64_t now = wsx_loop_now(s->srv->loop);
    char key[CHAT_NAME_MAX] = "", why[96];

    if (*to && chat_name_check(to, strlen(to), key, why, sizeof why))
        return -1;
    if (strcmp(t->key, key)) {
        finish(s);
        snprintf(t->to, sizeof t->to, "%s", to);
        snprintf(t->key, sizeof t->key, "%s", key);
    }
    int changed = state != t->state;
    if (state == TYPING_DONE) {
        finish(s);
        return 0;
    }
    stop_timer(t);
    t->expiry = wsx_timer_start(s->srv->loop, TYPING_EXPIRE_MS, 0, expired, s);
    t->state = state;
    if (changed || now - t->relayed_ms >= TYPING_MIN_MS)
        relay(s, state);
    return 0;
}

void typing_sent(session_t *s, const char *key)
{
    if (s->typing.state != TYPING_DONE && !strcmp(s->typing.key, key))
        finish(s);
}

void typing_end(session_t *s)
{
    finish(s);
}
