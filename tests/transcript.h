/*
 * transcript.h — run a byte stream through a connection and describe the
 * events as text, one line each, so tests compare whole conversations and
 * can replay the same stream split at every point.
 *
 * DATA slices of one frame are merged into one line (slice boundaries
 * depend on the split; frames and their content must not). Payloads up to
 * 40 bytes print as hex, longer ones as length and FNV-1a hash.
 */
#ifndef WS_TEST_TRANSCRIPT_H
#define WS_TEST_TRANSCRIPT_H

#include "wsproto.h"

#include <stddef.h>
#include <stdint.h>

/* A random source that always yields the RFC 6455 §5.7 key 37 fa 21 3d,
 * so client output is byte-exact in tests. */
int tr_fixed_random(void *buf, size_t len, void *user);

/* Feed in[0..len) in chunks ending at cuts[0..ncuts) (ascending, each
 * < len) and then len; return the transcript (malloc'd), ending with
 * "state=<OPEN|CLOSING|CLOSED> closer=<NONE|LOCAL|PEER>". The input is
 * copied first (the engine unmasks in place). If c is not NULL the
 * connection is left initialised there for further checks; the caller
 * must ws_conn_destroy() it. */
char *tr_run(ws_role_t role, const ws_options_t *opts, const uint8_t *in,
             size_t len, const size_t *cuts, size_t ncuts, ws_conn_t *c);

/* Check that the stream gives `want` whole, split in two at every point
 * (or a sample of points for long streams), and one byte at a time.
 * Returns the number of split patterns tried. */
int tr_expect(ws_role_t role, const ws_options_t *opts, const uint8_t *in,
              size_t len, const char *want);

/* The transcript line of the close frame a server sends on failure: code
 * (0 = ws_error_close_code(err)) and ws_strerror() text, unmasked. The
 * string is static, overwritten by the next call. */
const char *tr_fail_send(int err, unsigned code);

/* Append the transcript line for one event to a growing string. Exposed
 * for tests that drive a connection by hand.
 *
 * Streaming mode (set `streaming`; tr_run does it from the options) has
 * two shapes for one message: START, DATA..., END, or, when the message
 * is one frame whole in one input, a single MESSAGE event. Both are
 * written as the first, so a stream's transcript is the same at every
 * split; tests that count events check the one-event shape. A START is
 * written only with what follows it: dropped before an ERROR, as the
 * valid bytes before a failure are (whether it came depends on the
 * split). */
typedef struct tr_buf {
    char *s;
    size_t len, cap;
    int streaming;
    int start_owed; /* a START not yet written */
    ws_opcode_t start_op;
    uint8_t start_rsv;
    /* merging state for DATA slices of one frame */
    int in_frame;
    unsigned frame_flags;
    uint64_t frame_len;
    ws_opcode_t opcode;
    uint8_t *frame_data;
    size_t frame_data_len, frame_data_cap;
} tr_buf_t;

void tr_init(tr_buf_t *b);
void tr_event(tr_buf_t *b, const ws_event_t *ev);
void tr_printf(tr_buf_t *b, const char *fmt, ...);
char *tr_finish(tr_buf_t *b); /* returns b->s, frees the rest */

#endif
