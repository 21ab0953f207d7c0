/*
 * login.c — {"type": "hello"} (PROTOCOL.md "Login"): the name checked,
 * claimed with a fresh token the first time, the token checked every
 * later time, then the welcome and the messages that waited.
 *
 * Only a SHA-256 of each token is stored: a copy of the data directory
 * does not let anyone log in as its users.
 */
#define _GNU_SOURCE
#include "events.h"
#include "messages.h"
#include "request.h"
#include "session.h"
#include "sha256.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_BYTES 16
#define TOKEN_HEX (TOKEN_BYTES * 2)

static int new_token(char hex[TOKEN_HEX + 1])
{
    uint8_t raw[TOKEN_BYTES];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n > 0)
            got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static void token_hash(const char *token, size_t len, uint8_t out[32])
{
    wsx_sha256_t h;
    wsx_sha256_init(&h);
    wsx_sha256_update(&h, token, len);
    wsx_sha256_final(&h, out);
}

/* Compared in constant time: how much of a guess matched must not show
 * in how long the answer takes. */
static int same_hash(const uint8_t *a, const uint8_t *b)
{
    unsigned diff = 0;
    for (int i = 0; i < CHAT_HASH_LEN; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

/* ------------------------------------------------------------ welcome */

static int add_name(void *ctx, const char *display)
{
    json_cstring(ctx, display);
    return 0;
}

static int add_contact(void *ctx, const char *display)
{
    session_t *s = ((void **)ctx)[1];
    json_writer_t *w = ((void **)ctx)[0];
    char key[CHAT_NAME_MAX], why[96];
    chat_name_check(display, strlen(display), key, why, sizeof why);
    json_object_begin(w);
    json_member_str(w, "name", display);
    json_member_bool(w, "online", s->srv->hub->ops->online(s->srv->hub, key));
    json_object_end(w);
    return 0;
}

static int add_msg(void *ctx, const chat_msg_t *m)
{
    ev_msg_value(ctx, m);
    return 0;
}

typedef struct welcome {
    req_t *r;
    const char *token;
} welcome_t;

static void fill_welcome(json_writer_t *w, void *ctx)
{
    const welcome_t *wl = ctx;
    session_t *s = wl->r->s;
    chat_server_t *srv = s->srv;
    ev_ref(w, wl->r->ref);
    json_member_str(w, "name", s->name);
    if (wl->token) {
        json_member_str(w, "token", wl->token);
        json_member_bool(w, "claimed", 1);
    }
    json_key(w, "users");
    json_array_begin(w);
    srv->hub->ops->users(srv->hub, add_name, w);
    json_array_end(w);
    json_key(w, "contacts");
    json_array_begin(w);
    void *pair[2] = {w, s};
    srv->store->ops->contacts(srv->store, s->key, add_contact, pair);
    json_array_end(w);
    json_key(w, "history");
    json_array_begin(w);
    srv->store->ops->history(srv->store, 0, CHAT_WELCOME_HISTORY, add_msg, w);
    json_array_end(w);
}

static void welcome(req_t *r, const char *token)
{
    welcome_t wl = {r, token};
    if (ev_send_built(r->s, "welcome", 16384, fill_welcome, &wl) != 0)
        chat_log(r->s->srv, r->s, "error: the welcome for %s not sent",
                 r->s->name);
}

/* ------------------------------------------------------------- hello */

/* May this hello have the name? 1 (and a new token in token when it
 * claims it), or 0 after the error was sent. */
static int may_log_in(req_t *r, const char *key, char *display,
                      char token[TOKEN_HEX + 1], int *claims)
{
    chat_server_t *srv = r->s->srv;
    uint8_t stored[CHAT_HASH_LEN], given[CHAT_HASH_LEN];
    char presented[TOKEN_HEX * 4];
    size_t n = 0;
    int has = req_str(r, "token", 0, presented, sizeof presented, &n);

    if (has == REQ_BAD)
        return 0;
    *claims = srv->store->ops->lookup(srv->store, key, display, stored) != 1;
    if (!*claims) {
        token_hash(presented, n, given);
        if (has == REQ_OK && same_hash(given, stored))
            return 1;
        /* Guessing tokens is no faster than chatting. */
        if (!session_rate(r->s, r->ref))
            return 0;
        chat_log(srv, r->s, "login as %s refused: %s token", display,
                 has == REQ_OK ? "wrong" : "no");
        proto_error(r->s, r->ref, "name_taken",
                    "%s is claimed; its token is %s", display,
                    has == REQ_OK ? "wrong" : "needed");
        return 0;
    }
    if (srv->hub->ops->online(srv->hub, key)) {
        proto_error(r->s, r->ref, "name_taken", "%s is online", display);
        return 0;
    }
    int e = new_token(token);
    if (e == 0)
        token_hash(token, TOKEN_HEX, stored);
    if (e == 0 &&
        (e = srv->store->ops->claim(srv->store, key, display, stored)) == 0)
        return 1;
    proto_error(r->s, r->ref, "internal", "cannot claim the name: %s",
                strerror(-e));
    return 0;
}

void login_hello(req_t *r)
{
    session_t *s = r->s;
    char name[CHAT_NAME_MAX * 2], key[CHAT_NAME_MAX], why[96];
    char token[TOKEN_HEX + 1];
    const char *bad;
    size_t len;
    int claims = 0;

    if (s->logged_in) {
        proto_error(s, r->ref, "already_logged_in", "you are %s already",
                    s->name);
        return;
    }
    if (req_str(r, "name", 1, name, sizeof name, &len) != REQ_OK)
        return;
    if ((bad = chat_name_check(name, len, key, why, sizeof why))) {
        proto_error(s, r->ref, "bad_name", "bad name: %s", bad);
        return;
    }
    if (chat_name_reserved(key)) {
        proto_error(s, r->ref, "reserved_name", "%s is reserved", name);
        return;
    }
    if (!may_log_in(r, key, name, token, &claims))
        return;
    if (session_login(s, name, key) != 0) {
        proto_error(s, r->ref, "internal", "out of memory");
        return;
    }
    welcome(r, claims ? token : NULL);
    msg_deliver_pending(s);
}
