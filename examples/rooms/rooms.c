/*
 * rooms.c — the rooms model: rooms by name, members by token (two hash
 * tables), hosts, and what each event tells the room (PROTOCOL.md, "Room
 * life").
 */
#include "rooms.h"

#include "dgram.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ tables */

/* FNV-1a: short keys, no adversary gains from collisions of 32-byte
 * random tokens, and room names are few. */
static uint32_t hash_bytes(const void *p, size_t len)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static int table_init(rooms_table_t *t, size_t cap)
{
    t->b = calloc(cap, sizeof *t->b);
    t->cap = cap;
    t->n = 0;
    return t->b ? 0 : -1;
}

/* Twice the buckets when there are more nodes than buckets; if memory
 * runs out the table just stays as it is, slower. */
static void table_grow(rooms_table_t *t)
{
    size_t cap = t->cap * 2;
    rooms_hnode_t **b = calloc(cap, sizeof *b);

    if (!b)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        for (rooms_hnode_t *n = t->b[i], *next; n; n = next) {
            next = n->next;
            n->next = b[n->hash & (cap - 1)];
            b[n->hash & (cap - 1)] = n;
        }
    }
    free(t->b);
    t->b = b;
    t->cap = cap;
}

static void table_add(rooms_table_t *t, rooms_hnode_t *n, uint32_t hash)
{
    if (t->n >= t->cap)
        table_grow(t);
    n->hash = hash;
    n->next = t->b[hash & (t->cap - 1)];
    t->b[hash & (t->cap - 1)] = n;
    t->n++;
}

static void table_remove(rooms_table_t *t, rooms_hnode_t *n)
{
    for (rooms_hnode_t **p = &t->b[n->hash & (t->cap - 1)]; *p;
         p = &(*p)->next) {
        if (*p == n) {
            *p = n->next;
            t->n--;
            return;
        }
    }
}

int rooms_init(rooms_t *r, const rooms_io_t *io, uint64_t idle_ms)
{
    memset(r, 0, sizeof *r);
    if (table_init(&r->names, 256) != 0)
        return -1;
    if (table_init(&r->tokens, 1024) != 0) {
        free(r->names.b);
        return -1;
    }
    r->io = *io;
    r->idle_ms = idle_ms;
    r->iterations = SECRET_ITERATIONS;
    return 0;
}

room_t *rooms_find(const rooms_t *r, const char *name, size_t len)
{
    uint32_t h = hash_bytes(name, len);

    for (rooms_hnode_t *n = r->names.b[h & (r->names.cap - 1)]; n;
         n = n->next) {
        room_t *room = (room_t *)n;
        if (n->hash == h && room->name_len == len &&
            !memcmp(room->name, name, len))
            return room;
    }
    return NULL;
}

member_t *rooms_find_token(const rooms_t *r, const char *token, size_t len)
{
    uint32_t h = hash_bytes(token, len);

    if (len != SECRET_TOKEN_LEN)
        return NULL;
    for (rooms_hnode_t *n = r->tokens.b[h & (r->tokens.cap - 1)]; n;
         n = n->next) {
        member_t *m = (member_t *)n;
        if (n->hash == h && secret_equal(m->token, token, len))
            return m;
    }
    return NULL;
}

member_t *rooms_find_member(const room_t *room, const char *name, size_t len)
{
    for (member_t *m = room->members; m; m = m->next)
        if (m->name_len == len && !memcmp(m->name, name, len))
            return m;
    return NULL;
}

/* ----------------------------------------------------------- notices */

static void send_to(rooms_t *r, const member_t *m, const char *json, long n)
{
    if (n > 0 && m->addr.kind != ROOMS_ADDR_NONE)
        r->io.send(r->io.ctx, m, json, (size_t)n);
}

/* A system notice to every member with an address but `skip`. */
static void notify(rooms_t *r, room_t *room, const char *event,
                   const member_t *about, const member_t *skip,
                   const char *text)
{
    char json[2 * ROOMS_MAX_NAME * 6 + 256];
    long n = room_system_json(json, sizeof json, event,
                              about ? about->name : NULL,
                              about ? about->name_len : 0, text);

    for (member_t *m = room->members; m; m = m->next)
        if (m != skip)
            send_to(r, m, json, n);
    r->io.flush(r->io.ctx);
}

/* "alice joined" and the like; names are UTF-8 of at most 255 bytes. */
static void notify_about(rooms_t *r, room_t *room, const char *event,
                         const member_t *m, const char *what)
{
    char text[ROOMS_MAX_NAME + 64];

    snprintf(text, sizeof text, "%.*s %s", (int)m->name_len, m->name, what);
    /* One who joins learns the room from its answer, not from this. */
    notify(r, room, event, m, !strcmp(event, "join") ? m : NULL, text);
}

/* ----------------------------------------------------------- members */

static member_t *member_add(rooms_t *r, room_t *room, const char *user,
                            size_t len, const rooms_addr_t *addr, uint64_t now)
{
    member_t *m = calloc(1, sizeof *m);

    if (!m)
        return NULL;
    do {
        if (secret_token(m->token) != 0) {
            free(m);
            return NULL;
        }
    } while (rooms_find_token(r, m->token, SECRET_TOKEN_LEN));
    m->room = room;
    memcpy(m->name, user, len);
    m->name_len = len;
    m->addr = *addr;
    m->last_seen = now;
    if (room->last)
        room->last->next = m;
    else
        room->members = m;
    room->last = m;
    room->nmembers++;
    r->nmembers++;
    table_add(&r->tokens, &m->by_token,
              hash_bytes(m->token, SECRET_TOKEN_LEN));
    return m;
}

/* Out of the room and the token table: its token is revoked. */
static void member_remove(rooms_t *r, member_t *m)
{
    room_t *room = m->room;
    member_t *prev = NULL;

    for (member_t *p = room->members; p != m; p = p->next)
        prev = p;
    if (prev)
        prev->next = m->next;
    else
        room->members = m->next;
    if (room->last == m)
        room->last = prev;
    room->nmembers--;
    r->nmembers--;
    table_remove(&r->tokens, &m->by_token);
    free(m);
}

static int valid_user(const char *user, size_t len, const char **why)
{
    if (len == 0 || len > ROOMS_MAX_NAME || memchr(user, 0, len)) {
        *why = "the username must be 1-255 bytes";
        return 0;
    }
    return 1;
}

/* Every member costs memory (about 1 KiB with its room) until it leaves
 * or times out: past max_members, creates and joins wait their turn, so
 * a flood of them cannot make the server grow without bound. */
static int rooms_full(const rooms_t *r, const char **why)
{
    if (!r->max_members || r->nmembers < r->max_members)
        return 0;
    *why = "the server is full (--max-members): try again later";
    return 1;
}

int rooms_create(rooms_t *r, const char *name, size_t name_len,
                 const char *user, size_t user_len, const char *pw,
                 size_t pw_len, const rooms_addr_t *addr, uint64_t now,
                 member_t **out, const char **why)
{
    if (name_len == 0 || name_len > ROOMS_MAX_NAME ||
        memchr(name, 0, name_len)) {
        *why = "the room name must be 1-255 bytes";
        return 400;
    }
    if (!valid_user(user, user_len, why))
        return 400;
    if (rooms_find(r, name, name_len)) {
        *why = "the room exists already";
        return 409;
    }
    if (rooms_full(r, why))
        return 503;
    room_t *room = calloc(1, sizeof *room);
    if (!room) {
        *why = "out of memory";
        return 500;
    }
    memcpy(room->name, name, name_len);
    room->name_len = name_len;
    if (pw && pw_len) {
        if (secret_random(room->salt, sizeof room->salt) != 0) {
            free(room);
            *why = "no random numbers";
            return 500;
        }
        secret_pbkdf2(pw, pw_len, room->salt, sizeof room->salt,
                      r->iterations, room->hash, sizeof room->hash);
        room->has_password = 1;
    }
    if (!(room->host = member_add(r, room, user, user_len, addr, now))) {
        free(room);
        *why = "out of memory";
        return 500;
    }
    room->prev = r->last;
    if (r->last)
        r->last->next = room;
    else
        r->first = room;
    r->last = room;
    r->nrooms++;
    table_add(&r->names, &room->by_name, hash_bytes(name, name_len));
    *out = room->host;
    *why = "room created";
    return 200;
}

int rooms_join(rooms_t *r, const char *name, size_t name_len, const char *user,
               size_t user_len, const char *pw, size_t pw_len,
               const rooms_addr_t *addr, uint64_t now, member_t **out,
               const char **why)
{
    room_t *room = rooms_find(r, name, name_len);

    if (!valid_user(user, user_len, why))
        return 400;
    if (!room) {
        *why = "no such room";
        return 404;
    }
    if (rooms_full(r, why))
        return 503;
    if (room->has_password) {
        uint8_t h[SECRET_HASH_LEN];
        secret_pbkdf2(pw ? pw : "", pw ? pw_len : 0, room->salt,
                      sizeof room->salt, r->iterations, h, sizeof h);
        if (!pw || !secret_equal(h, room->hash, sizeof h)) {
            *why = pw ? "wrong password" : "the room needs a password";
            return 401;
        }
    }
    if (rooms_find_member(room, user, user_len)) {
        *why = "the username is taken in this room";
        return 409;
    }
    member_t *m = member_add(r, room, user, user_len, addr, now);
    if (!m) {
        *why = "out of memory";
        return 500;
    }
    notify_about(r, room, "join", m, "joined");
    *out = m;
    *why = "joined";
    return 200;
}

int rooms_authorize(rooms_t *r, const char *name, size_t name_len,
                    const char *token, size_t token_len, member_t **out,
                    const char **why)
{
    member_t *m = rooms_find_token(r, token, token_len);

    *out = NULL;
    if (!rooms_find(r, name, name_len)) {
        *why = "no such room";
        return 404;
    }
    if (!m || m->room->name_len != name_len ||
        memcmp(m->room->name, name, name_len)) {
        *why = "the token is not valid in this room";
        return 403;
    }
    *out = m;
    return 200;
}

void rooms_close(rooms_t *r, room_t *room, const char *why)
{
    char text[256];

    snprintf(text, sizeof text, "room closed: %s", why);
    notify(r, room, "close", NULL, NULL, text);
    while (room->members)
        member_remove(r, room->members);
    if (room->prev)
        room->prev->next = room->next;
    else
        r->first = room->next;
    if (room->next)
        room->next->prev = room->prev;
    else
        r->last = room->prev;
    r->nrooms--;
    table_remove(&r->names, &room->by_name);
    free(room);
}

void rooms_close_all(rooms_t *r, const char *why)
{
    while (r->first)
        rooms_close(r, r->first, why);
}

void rooms_leave(rooms_t *r, member_t *m)
{
    room_t *room = m->room;

    if (m == room->host) {
        rooms_close(r, room, "the host left");
        return;
    }
    char name[ROOMS_MAX_NAME + 1];
    size_t len = m->name_len;
    memcpy(name, m->name, len);
    member_remove(r, m);
    /* Told after: the one who left needs no notice. */
    member_t ghost = {.name_len = len};
    memcpy(ghost.name, name, len);
    notify_about(r, room, "leave", &ghost, "left");
}

int rooms_kick(rooms_t *r, member_t *host, const char *user, size_t len,
               const char **why)
{
    room_t *room = host->room;
    member_t *m;

    if (host != room->host) {
        *why = "only the host can kick";
        return 403;
    }
    if (!(m = rooms_find_member(room, user, len))) {
        *why = "no such member";
        return 404;
    }
    if (m == host) {
        *why = "the host cannot kick itself; close the room instead";
        return 400;
    }
    /* Everyone, the kicked one included, hears it before its token goes. */
    notify_about(r, room, "kick", m, "was kicked by the host");
    member_remove(r, m);
    *why = "kicked";
    return 200;
}

/* ---------------------------------------------------------- datagrams */

int rooms_addr_equal(const rooms_addr_t *a, const rooms_addr_t *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == ROOMS_ADDR_WS)
        return a->ws == b->ws;
    if (a->sa.ss_family != b->sa.ss_family)
        return 0;
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->sa;
        const struct sockaddr_in *y = (const void *)&b->sa;
        return x->sin_port == y->sin_port &&
               x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)&a->sa;
    const struct sockaddr_in6 *y = (const void *)&b->sa;
    return x->sin6_port == y->sin6_port &&
           !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
}

const char *rooms_datagram(rooms_t *r, const char *room, size_t room_len,
                           const char *token, size_t token_len,
                           const char *text, size_t text_len,
                           const rooms_addr_t *addr, uint64_t now)
{
    char *json = r->json;
    member_t *m = rooms_find_token(r, token, token_len);

    if (!m)
        return "unknown or revoked token";
    if (m->room->name_len != room_len || memcmp(m->room->name, room, room_len))
        return "the token belongs to another room";
    if (m->addr.kind == ROOMS_ADDR_NONE)
        m->addr = *addr; /* the address that first uses the token */
    else if (!rooms_addr_equal(&m->addr, addr))
        return "the token is used from another address";
    m->last_seen = now;
    if (text_len == 0)
        return NULL; /* a heartbeat */
    long n = room_chat_json(json, sizeof r->json, m->name, m->name_len, text,
                            text_len);
    for (member_t *o = m->room->members; o; o = o->next)
        if (o != m)
            send_to(r, o, json, n);
    r->io.flush(r->io.ctx);
    return NULL;
}

void rooms_touch_ws(rooms_t *r, const void *ws, uint64_t now)
{
    for (room_t *room = r->first; room; room = room->next)
        for (member_t *m = room->members; m; m = m->next)
            if (m->addr.kind == ROOMS_ADDR_WS && m->addr.ws == ws)
                m->last_seen = now;
}

/* One member matching, or NULL: the walks restart after each removal,
 * which may free a whole room. */
static member_t *find_ws(const rooms_t *r, const void *ws)
{
    for (room_t *room = r->first; room; room = room->next)
        for (member_t *m = room->members; m; m = m->next)
            if (m->addr.kind == ROOMS_ADDR_WS && m->addr.ws == ws)
                return m;
    return NULL;
}

void rooms_drop_ws(rooms_t *r, const void *ws)
{
    member_t *m;

    while ((m = find_ws(r, ws))) {
        m->addr.kind = ROOMS_ADDR_NONE; /* the socket is gone */
        rooms_leave(r, m);
    }
}

static member_t *find_idle(const rooms_t *r, uint64_t now)
{
    for (room_t *room = r->first; room; room = room->next)
        for (member_t *m = room->members; m; m = m->next)
            if (now - m->last_seen > r->idle_ms)
                return m;
    return NULL;
}

void rooms_sweep(rooms_t *r, uint64_t now)
{
    member_t *m;

    while ((m = find_idle(r, now))) {
        room_t *room = m->room;
        if (m == room->host) {
            rooms_close(r, room, "the host timed out");
            continue;
        }
        /* The one timed out hears it too (a client whose host slept
         * learns it is out), before its token goes, as for a kick. */
        notify_about(r, room, "timeout", m, "timed out");
        member_remove(r, m);
    }
}

void rooms_free(rooms_t *r)
{
    while (r->first) {
        room_t *room = r->first;
        while (room->members)
            member_remove(r, room->members);
        r->first = room->next;
        free(room);
    }
    free(r->names.b);
    free(r->tokens.b);
}
