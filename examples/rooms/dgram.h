/*
 * dgram.h — the datagrams (PROTOCOL.md, "Stage 1" and "Room datagrams"):
 * checked, taken apart and put together. No I/O, no allocation; parsed
 * fields are slices of the caller's bytes.
 *
 *   stage 1 (both ways):  NameLen (1) | Name | Message
 *   room, client->server: RoomNameSize (1) | TokenSize (1) | RoomName |
 *                         Token | Message
 *   room, server->client: a JSON object, {"type": "chat", "from", "text"}
 *                         or {"type": "system", "text", "event", "user"}
 */
#ifndef ROOMS_DGRAM_H
#define ROOMS_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#define DGRAM_MAX 4096 /* bytes in a client's datagram, header included */

/* Why a datagram is dropped. */
enum dgram_error {
    DGRAM_ESIZE = -1,     /* over DGRAM_MAX bytes */
    DGRAM_ESHORT = -2,    /* shorter than its length bytes */
    DGRAM_EZERO = -3,     /* a length byte is zero */
    DGRAM_EOVERLONG = -4, /* the lengths announce more than there is */
    DGRAM_EUTF8 = -5,     /* a name or the message is not UTF-8 */
    DGRAM_ETOKEN = -6     /* the token is not printable ASCII */
};

typedef struct chat_dgram {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *text;
    size_t text_len;
} chat_dgram_t;

typedef struct room_dgram {
    const uint8_t *room;
    size_t room_len;
    const uint8_t *token;
    size_t token_len;
    const uint8_t *text; /* empty: a heartbeat */
    size_t text_len;
} room_dgram_t;

/* 0 and *d filled, or a negative dgram_error. */
int chat_dgram_parse(const uint8_t *p, size_t len, chat_dgram_t *d);
int room_dgram_parse(const uint8_t *p, size_t len, room_dgram_t *d);

/* Encoders for clients: the datagram's length, or -1 when a field is
 * empty or over 255 bytes, or it does not fit in cap or DGRAM_MAX. */
long chat_dgram_encode(uint8_t *out, size_t cap, const char *name,
                       size_t name_len, const char *text, size_t text_len);
long room_dgram_encode(uint8_t *out, size_t cap, const char *room,
                       size_t room_len, const char *token, size_t token_len,
                       const char *text, size_t text_len);

/* The server's JSON bodies, into out[0..cap): their length, or -1 when
 * they do not fit. Strings are UTF-8 (checked by the parsers above).
 * user may be NULL (no "user" member). */
long room_chat_json(char *out, size_t cap, const char *from, size_t from_len,
                    const char *text, size_t text_len);
long room_system_json(char *out, size_t cap, const char *event,
                      const char *user, size_t user_len, const char *text);

/* The worst case of room_chat_json for names and messages of datagrams:
 * every byte escaped as \u00XX. */
#define ROOM_JSON_MAX (6u * DGRAM_MAX + 64u)

/* A readable phrase for a dgram_error (static string). */
const char *dgram_strerror(int err);

#endif
