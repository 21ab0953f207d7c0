/*
 * ops.h — the TCRP operations (PROTOCOL.md, "Operations"): a request
 * (state 0) in, its answers out — state 1 with the JSON status, and for a
 * successful create or join state 2 with the token. The same for TCP and
 * for the GUI's WebSocket; only the requester's address differs.
 */
#ifndef ROOMS_OPS_H
#define ROOMS_OPS_H

#include "rooms.h"
#include "tcrp.h"

/* Answers, appended to a buffer that grows (malloc). */
typedef struct ops_out {
    uint8_t *buf;
    size_t len, cap;
    int failed; /* out of memory: what is there is incomplete */
} ops_out_t;

/* Answer the request m from addr (kind NONE for TCP: the token's address
 * comes with its first datagram). */
void ops_handle(rooms_t *r, const tcrp_msg_t *m, const rooms_addr_t *addr,
                uint64_t now, ops_out_t *out);

/* A state 1 answer {"status", "message"} to a request that could not be
 * read (too big, incomplete, timed out): op and name as far as known. */
void ops_error(ops_out_t *out, unsigned op, const void *name, size_t name_len,
               int status, const char *message);

void ops_out_free(ops_out_t *out);

#endif
