/*
 * tcrp.c — TCRP messages: the 32-byte header (PROTOCOL.md, "TCRP"), its
 * 29-byte size, and the checks every message passes before its JSON is
 * read.
 */
#include "tcrp.h"

#include <wsproto.h>

#include <limits.h>
#include <string.h>

uint64_t tcrp_payload_size(const uint8_t p[TCRP_HEADER_LEN], uint64_t cap)
{
    const uint8_t *size = p + TCRP_HEADER_LEN - TCRP_SIZE_BYTES;
    uint64_t v = 0;

    /* Big-endian: the 21 leading bytes of the 29 must be zero for the
     * value to fit in 64 bits (and any cap we take is far below). */
    for (size_t i = 0; i < TCRP_SIZE_BYTES - 8; i++)
        if (size[i])
            return UINT64_MAX;
    for (size_t i = TCRP_SIZE_BYTES - 8; i < TCRP_SIZE_BYTES; i++)
        v = v << 8 | size[i];
    return v <= cap ? v : UINT64_MAX;
}

long tcrp_parse(const uint8_t *buf, size_t len, uint64_t cap, tcrp_msg_t *m)
{
    if (len < TCRP_HEADER_LEN)
        return TCRP_AGAIN;
    if (buf[1] < TCRP_CREATE || buf[1] > TCRP_LIST || buf[2] > TCRP_COMPLETE)
        return TCRP_EBAD;
    uint64_t size = tcrp_payload_size(buf, cap);
    if (size == UINT64_MAX)
        return TCRP_ETOOBIG;
    size_t name_len = buf[0];
    if (len - TCRP_HEADER_LEN < name_len ||
        len - TCRP_HEADER_LEN - name_len < size)
        return TCRP_AGAIN;
    const uint8_t *name = buf + TCRP_HEADER_LEN;
    if (ws_utf8_validate(name, name_len) != 0)
        return TCRP_EUTF8;
    m->op = buf[1];
    m->state = buf[2];
    m->name = name;
    m->name_len = name_len;
    m->payload = name + name_len;
    m->payload_len = (size_t)size;
    return (long)(TCRP_HEADER_LEN + name_len + size);
}

long tcrp_encode(uint8_t *out, size_t cap, unsigned op, unsigned state,
                 const void *name, size_t name_len, const void *payload,
                 size_t payload_len)
{
    size_t total = TCRP_HEADER_LEN + name_len + payload_len;
    uint64_t size = payload_len;

    if (name_len > TCRP_MAX_NAME || total > cap || total > (size_t)LONG_MAX)
        return -1;
    memset(out, 0, TCRP_HEADER_LEN);
    out[0] = (uint8_t)name_len;
    out[1] = (uint8_t)op;
    out[2] = (uint8_t)state;
    for (size_t i = 0; i < 8; i++)
        out[TCRP_HEADER_LEN - 1 - i] = (uint8_t)(size >> (8 * i));
    if (name_len)
        memcpy(out + TCRP_HEADER_LEN, name, name_len);
    if (payload_len)
        memcpy(out + TCRP_HEADER_LEN + name_len, payload, payload_len);
    return (long)total;
}

const char *tcrp_strerror(int err)
{
    switch (err) {
    case TCRP_EBAD:
        return "operation must be 1-6 and state 0-2";
    case TCRP_AGAIN:
        return "the message is incomplete";
    case TCRP_ETOOBIG:
        return "the payload announced is over the size limit";
    case TCRP_EUTF8:
        return "the room name is not valid UTF-8";
    default:
        return "unknown error";
    }
}
