/*
 * dgram.c — the datagram forms of PROTOCOL.md: the stage 1 chat datagram,
 * the room datagram a client sends, and the JSON bodies the server sends
 * to room members.
 */
#include "dgram.h"

#include "json.h"

#include <wsproto.h>

#include <string.h>

int chat_dgram_parse(const uint8_t *p, size_t len, chat_dgram_t *d)
{
    if (len > DGRAM_MAX)
        return DGRAM_ESIZE;
    if (len < 1)
        return DGRAM_ESHORT;
    if (p[0] == 0)
        return DGRAM_EZERO;
    if (p[0] > len - 1)
        return DGRAM_EOVERLONG;
    d->name = p + 1;
    d->name_len = p[0];
    d->text = d->name + d->name_len;
    d->text_len = len - 1 - d->name_len;
    if (ws_utf8_validate(d->name, d->name_len) != 0 ||
        ws_utf8_validate(d->text, d->text_len) != 0)
        return DGRAM_EUTF8;
    return 0;
}

/* Tokens are what the server hands out (secret.c): printable ASCII. */
static int printable(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return 0;
    return 1;
}

int room_dgram_parse(const uint8_t *p, size_t len, room_dgram_t *d)
{
    if (len > DGRAM_MAX)
        return DGRAM_ESIZE;
    if (len < 2)
        return DGRAM_ESHORT;
    if (p[0] == 0 || p[1] == 0)
        return DGRAM_EZERO;
    if ((size_t)p[0] + p[1] > len - 2)
        return DGRAM_EOVERLONG;
    d->room = p + 2;
    d->room_len = p[0];
    d->token = d->room + d->room_len;
    d->token_len = p[1];
    d->text = d->token + d->token_len;
    d->text_len = len - 2 - d->room_len - d->token_len;
    if (!printable(d->token, d->token_len))
        return DGRAM_ETOKEN;
    if (ws_utf8_validate(d->room, d->room_len) != 0 ||
        ws_utf8_validate(d->text, d->text_len) != 0)
        return DGRAM_EUTF8;
    return 0;
}

long chat_dgram_encode(uint8_t *out, size_t cap, const char *name,
                       size_t name_len, const char *text, size_t text_len)
{
    size_t total = 1 + name_len + text_len;

    if (name_len == 0 || name_len > 255 || total > cap || total > DGRAM_MAX)
        return -1;
    out[0] = (uint8_t)name_len;
    memcpy(out + 1, name, name_len);
    if (text_len)
        memcpy(out + 1 + name_len, text, text_len);
    return (long)total;
}

long room_dgram_encode(uint8_t *out, size_t cap, const char *room,
                       size_t room_len, const char *token, size_t token_len,
                       const char *text, size_t text_len)
{
    size_t total = 2 + room_len + token_len + text_len;

    if (room_len == 0 || room_len > 255 || token_len == 0 || token_len > 255 ||
        total > cap || total > DGRAM_MAX)
        return -1;
    out[0] = (uint8_t)room_len;
    out[1] = (uint8_t)token_len;
    memcpy(out + 2, room, room_len);
    memcpy(out + 2 + room_len, token, token_len);
    if (text_len)
        memcpy(out + 2 + room_len + token_len, text, text_len);
    return (long)total;
}

long room_chat_json(char *out, size_t cap, const char *from, size_t from_len,
                    const char *text, size_t text_len)
{
    json_writer_t w;

    json_writer_init(&w, out, cap);
    json_object_begin(&w);
    json_member_str(&w, "type", "chat");
    json_key(&w, "from");
    json_string_value(&w, from, from_len);
    json_key(&w, "text");
    json_string_value(&w, text, text_len);
    json_object_end(&w);
    return json_writer_end(&w);
}

long room_system_json(char *out, size_t cap, const char *event,
                      const char *user, size_t user_len, const char *text)
{
    json_writer_t w;

    json_writer_init(&w, out, cap);
    json_object_begin(&w);
    json_member_str(&w, "type", "system");
    json_member_str(&w, "text", text);
    json_member_str(&w, "event", event);
    if (user) {
        json_key(&w, "user");
        json_string_value(&w, user, user_len);
    }
    json_object_end(&w);
    return json_writer_end(&w);
}

const char *dgram_strerror(int err)
{
    switch (err) {
    case DGRAM_ESIZE:
        return "over 4096 bytes";
    case DGRAM_ESHORT:
        return "shorter than its length bytes";
    case DGRAM_EZERO:
        return "a length byte is zero";
    case DGRAM_EOVERLONG:
        return "the lengths announce more bytes than the datagram has";
    case DGRAM_EUTF8:
        return "not valid UTF-8";
    case DGRAM_ETOKEN:
        return "the token is not printable ASCII";
    default:
        return "unknown error";
    }
}
