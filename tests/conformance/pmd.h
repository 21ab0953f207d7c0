/*
 * pmd.h — the suite's own permessage-deflate (RFC 7692) client end, on
 * zlib: the independent oracle for the server's compression (the suite
 * still links nothing of libwsproto).
 *
 * What it checks by construction: the server's messages inflate with a
 * fresh stream each when server_no_context_takeover was agreed, with the
 * agreed server_max_window_bits as zlib's window, and, below 15 bits, one
 * output byte per inflate() call, so a match reaching further back than
 * the window fails ("invalid distance too far back") instead of being
 * served from zlib's output buffer.
 */
#ifndef CONF_PMD_H
#define CONF_PMD_H

#include "wire.h"

#include <zlib.h>

/* What the 101 agreed, from our (the client's) side. */
typedef struct pmd_params {
    int on;          /* permessage-deflate accepted */
    int client_bits; /* the window we compress with */
    int server_bits; /* the window the server compresses with */
    int client_nct;  /* we start each message afresh */
    int server_nct;  /* the server must start each message afresh */
} pmd_params_t;

typedef struct pmd_end {
    pmd_params_t p;
    z_stream def, inf;
    int def_ready, inf_ready;
} pmd_end_t;

/* Parse the 101's Sec-WebSocket-Extensions value against what we offered
 * (client_bits_offered: the client_max_window_bits value we sent, 15 when
 * bare, 0 when we did not offer it). 0, or -1 with why in err (a
 * response RFC 7692 §7.1 forbids: another extension, an unknown, repeated
 * or out-of-range parameter, a bare client_max_window_bits). */
int pmd_parse(pmd_params_t *p, const char *value, int client_bits_offered,
              char *err, size_t cap);

/* Set up the zlib streams for e->p. 0 or -1. */
int pmd_start(pmd_end_t *e);
void pmd_end(pmd_end_t *e);

/* One message compressed (RFC 7692 §7.2.1: the trailing 00 00 ff ff of
 * the sync flush removed), appended to out. 0 or -1. */
int pmd_compress(pmd_end_t *e, const uint8_t *in, size_t n, buf_t *out);

/* One compressed message from the server inflated (the tail put back,
 * §7.2.2), appended to out. 0, or -1 with zlib's reason in err. */
int pmd_inflate(pmd_end_t *e, const uint8_t *in, size_t n, buf_t *out,
                char *err, size_t cap);

#endif
