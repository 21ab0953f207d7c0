/*
 * rooms.h — the rooms and their members (PROTOCOL.md, "Room life"): who
 * is in which room with which token, who is the host, what each event
 * tells the room. No I/O: what a member must be told goes through the
 * rooms_io_t the server gives, and time comes in as arguments.
 */
#ifndef ROOMS_ROOMS_H
#define ROOMS_ROOMS_H

#include "dgram.h"
#include "secret.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ROOMS_MAX_NAME 255

/* Where a member's datagrams come from and where its notices go: nowhere
 * yet (a token fetched over TCP, before its first datagram), a UDP
 * address, or a WebSocket connection of the GUI. */
enum rooms_addr_kind { ROOMS_ADDR_NONE, ROOMS_ADDR_UDP, ROOMS_ADDR_WS };

typedef struct rooms_addr {
    uint8_t kind;
    socklen_t len;                /* UDP */
    struct sockaddr_storage sa;   /* UDP */
    void *ws;                     /* WS: the connection */
} rooms_addr_t;

typedef struct room room_t;
typedef struct member member_t;

/* A link of the hash tables (rooms by name, members by token). */
typedef struct rooms_hnode {
    struct rooms_hnode *next;
    uint32_t hash;
} rooms_hnode_t;

struct member {
    rooms_hnode_t by_token; /* first: the table's node is the member */
    room_t *room;
    member_t *next; /* in the room, in order of joining */
    char token[SECRET_TOKEN_LEN + 1];
    rooms_addr_t addr;
    uint64_t last_seen; /* ms: its last datagram, or its join */
    size_t name_len;
    char name[ROOMS_MAX_NAME + 1];
};

struct room {
    rooms_hnode_t by_name; /* first, likewise */
    room_t *prev, *next;   /* every room, in order of creation */
    member_t *members, *last;
    member_t *host;
    size_t nmembers;
    int has_password;
    uint8_t salt[SECRET_SALT_LEN];
    uint8_t hash[SECRET_HASH_LEN];
    size_t name_len;
    char name[ROOMS_MAX_NAME + 1];
};

typedef struct rooms_table {
    rooms_hnode_t **b;
    size_t cap, n; /* cap: a power of two */
} rooms_table_t;

/* What the rooms need from the server: deliver a JSON body to a member
 * that has an address. The bytes stay valid until flush, which comes at
 * the end of every relay and notice (so sends can go out in batches). */
typedef struct rooms_io {
    void (*send)(void *ctx, const member_t *to, const char *json, size_t len);
    void (*flush)(void *ctx);
    void *ctx;
} rooms_io_t;

typedef struct rooms {
    rooms_table_t names, tokens;
    room_t *first, *last;
    size_t nrooms, nmembers;
    rooms_io_t io;
    uint64_t idle_ms;
    unsigned iterations; /* of a password hash */
    size_t max_members;  /* members of all rooms at once; 0 = no limit */
    char json[ROOM_JSON_MAX]; /* a chat body being relayed */
} rooms_t;

/* 0, or -1 (ENOMEM). */
int rooms_init(rooms_t *r, const rooms_io_t *io, uint64_t idle_ms);
void rooms_free(rooms_t *r); /* no notices */

room_t *rooms_find(const rooms_t *r, const char *name, size_t len);
member_t *rooms_find_token(const rooms_t *r, const char *token, size_t len);
member_t *rooms_find_member(const room_t *room, const char *name, size_t len);

/*
 * The TCRP operations. Each returns an HTTP-like status (PROTOCOL.md,
 * "Status codes") and sets *why to a static phrase for the answer's
 * "message"; on 200, create and join set *out to the new member (its
 * token is ready to send; its address is `addr`, kind NONE for TCP).
 * Names are UTF-8 of 1-255 bytes without NUL (the caller checks).
 */
int rooms_create(rooms_t *r, const char *room, size_t room_len,
                 const char *user, size_t user_len, const char *pw,
                 size_t pw_len, const rooms_addr_t *addr, uint64_t now,
                 member_t **out, const char **why);
int rooms_join(rooms_t *r, const char *room, size_t room_len, const char *user,
               size_t user_len, const char *pw, size_t pw_len,
               const rooms_addr_t *addr, uint64_t now, member_t **out,
               const char **why);
/* A member's own request with its token (op 3, 4, 5): the room named in
 * the request must be the token's room. *m is the member or NULL. */
int rooms_authorize(rooms_t *r, const char *room, size_t room_len,
                    const char *token, size_t token_len, member_t **m,
                    const char **why);

/* The member leaves (a host leaving closes the room). */
void rooms_leave(rooms_t *r, member_t *m);
/* The host puts the member named out: 200, 403, 404 or 400 (itself). */
int rooms_kick(rooms_t *r, member_t *host, const char *user, size_t len,
               const char **why);
/* The room closes: every member is told why, every token revoked. */
void rooms_close(rooms_t *r, room_t *room, const char *why);
void rooms_close_all(rooms_t *r, const char *why);

/*
 * A room datagram, already parsed, from addr. Returns NULL when it was
 * taken (a heartbeat, or relayed to the room's other members), or why it
 * was dropped. The first datagram of a token binds it to addr.
 */
const char *rooms_datagram(rooms_t *r, const char *room, size_t room_len,
                           const char *token, size_t token_len,
                           const char *text, size_t text_len,
                           const rooms_addr_t *addr, uint64_t now);

/* Every member bound to WebSocket ws: seen now / gone (they leave). */
void rooms_touch_ws(rooms_t *r, const void *ws, uint64_t now);
void rooms_drop_ws(rooms_t *r, const void *ws);

/* Members silent longer than the idle timeout are removed (the room is
 * told; a host's room closes). */
void rooms_sweep(rooms_t *r, uint64_t now);

/* Two UDP addresses are the same (family, address, port). */
int rooms_addr_equal(const rooms_addr_t *a, const rooms_addr_t *b);

#endif
