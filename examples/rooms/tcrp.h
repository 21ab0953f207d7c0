/*
 * tcrp.h — the TCP Chat Room Protocol's messages (PROTOCOL.md, "TCRP"),
 * taken apart and put together. No I/O and no allocation: the parser
 * returns pointers into the caller's bytes, the encoder writes into the
 * caller's buffer.
 *
 * A message is a 32-byte big-endian header, the room name, the payload:
 *
 *   byte 0      RoomNameSize (0-255)
 *   byte 1      Operation (1 create .. 6 list)
 *   byte 2      State (0 request, 1 response, 2 complete)
 *   bytes 3-31  OperationPayloadSize, a 29-byte unsigned integer
 */
#ifndef ROOMS_TCRP_H
#define ROOMS_TCRP_H

#include <stddef.h>
#include <stdint.h>

#define TCRP_HEADER_LEN 32
#define TCRP_SIZE_BYTES 29
#define TCRP_MAX_NAME 255

enum tcrp_op {
    TCRP_CREATE = 1,
    TCRP_JOIN = 2,
    TCRP_LEAVE = 3,
    TCRP_KICK = 4,
    TCRP_CLOSE = 5,
    TCRP_LIST = 6
};

enum tcrp_state { TCRP_REQUEST = 0, TCRP_RESPONSE = 1, TCRP_COMPLETE = 2 };

/* What tcrp_parse() returns when it consumed nothing. */
enum tcrp_error {
    TCRP_EBAD = -1,    /* operation or state out of range */
    TCRP_AGAIN = -2,   /* the message is not complete yet */
    TCRP_ETOOBIG = -3, /* the payload announced is over the cap */
    TCRP_EUTF8 = -4    /* the room name is not UTF-8 */
};

/* One message: slices of the parsed bytes. */
typedef struct tcrp_msg {
    uint8_t op, state;
    const uint8_t *name;
    size_t name_len;
    const uint8_t *payload;
    size_t payload_len;
} tcrp_msg_t;

/*
 * The announced payload size of the header at p, when it is at most cap;
 * otherwise (any of the 29 bytes past what a uint64_t holds, or simply
 * more than cap) UINT64_MAX.
 */
uint64_t tcrp_payload_size(const uint8_t p[TCRP_HEADER_LEN], uint64_t cap);

/*
 * A message at the start of buf[0..len): returns the bytes it takes (> 0)
 * and fills *m, or a negative tcrp_error. The header alone decides the
 * errors other than TCRP_EUTF8, so TCRP_EBAD and TCRP_ETOOBIG come as
 * soon as 32 bytes are there; a caller may re-run it from the start
 * whenever more bytes arrive.
 */
long tcrp_parse(const uint8_t *buf, size_t len, uint64_t cap, tcrp_msg_t *m);

/* The message (op, state, name, payload) into out[0..cap): its length, or
 * -1 when it does not fit or the name is over 255 bytes. */
long tcrp_encode(uint8_t *out, size_t cap, unsigned op, unsigned state,
                 const void *name, size_t name_len, const void *payload,
                 size_t payload_len);

/* A readable phrase for a tcrp_error (static string). */
const char *tcrp_strerror(int err);

#endif
