/*
 * deflate.h — raw DEFLATE (RFC 1951), both directions, for
 * permessage-deflate (RFC 7692). Private to lib/; not installed.
 *
 * Both codecs are streaming state machines over caller-owned memory: they
 * never allocate. Each call takes an input slice and an output buffer,
 * reports how much of each it used, and returns what it needs next:
 *   WS_Z_DONE         inflate: the final block (BFINAL) has ended;
 *                     deflate: the requested flush is complete.
 *   WS_Z_NEED_INPUT   all the input was used; call again with more.
 *   WS_Z_NEED_OUTPUT  the output buffer is full; call again with room.
 *   WS_Z_E*  (< 0)    the compressed stream is corrupt (inflate only);
 *                     the state stays failed until ws_inflate_reset().
 * Any split of the input and any output size (even 1 byte) give the same
 * bytes as one call with everything.
 *
 * Memory (window bits w, 8..15):
 *   inflate: sizeof(ws_inflate_t) + 2^w window bytes
 *            (7,336 + 32,768 = 40,104 bytes at w = 15);
 *   deflate: sizeof(ws_deflate_t) + ws_deflate_mem_size(w)
 *            (14,320 + 77,832 = 92,152 bytes at w = 15; 27,384 at 8).
 *            Chain links for the newest 16 Ki positions (not all 32 Ki,
 *            as zlib has) keep level 6 within about 3 % of zlib's size
 *            for 40 % of its memory.
 */
#ifndef WS_DEFLATE_H
#define WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

enum {
    WS_Z_DONE = 0,
    WS_Z_NEED_INPUT = 1,
    WS_Z_NEED_OUTPUT = 2,
    /* Corrupt input, by the rule of RFC 1951 it breaks. */
    WS_Z_EBLOCK_TYPE = -1, /* BTYPE 11 (§3.2.3) */
    WS_Z_ESTORED_LEN = -2, /* NLEN is not the complement of LEN (§3.2.4) */
    WS_Z_ECOUNTS = -3,     /* HLIT > 29 or HDIST > 29 (§3.2.7) */
    WS_Z_ECODE = -4,       /* code lengths over-subscribed or incomplete */
    WS_Z_EREPEAT = -5,     /* code-length repeat with nothing to repeat,
                              or running past HLIT + HDIST (§3.2.7) */
    WS_Z_ENO_EOB = -6,     /* a literal/length code with no end-of-block */
    WS_Z_ESYMBOL = -7,     /* length code 286/287 or distance code 30/31,
                              or a code the table does not contain */
    WS_Z_EDISTANCE = -8,   /* distance beyond the window or the data seen */
};

#define WS_Z_MIN_WINDOW_BITS 8
#define WS_Z_MAX_WINDOW_BITS 15

/* ------------------------------------------------------------ tables */

/* RFC 1951 §3.2.5: base and extra bits of length codes 257..285 and of
 * distance codes 0..29; §3.2.7: the order code-length code lengths come
 * in. Shared by both directions (huffman.c). */
extern const uint16_t ws_z_len_base[29];
extern const uint8_t ws_z_len_extra[29];
extern const uint16_t ws_z_dist_base[30];
extern const uint8_t ws_z_dist_extra[30];
extern const uint8_t ws_z_cl_order[19];

/* RFC 1951 §3.2.6: the fixed literal/length code length of symbol s. */
static inline unsigned ws_z_fixed_litlen_len(unsigned s)
{
    return s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
}

/* Reverse the low n (1..16) bits of v (v < 2^n): Huffman codes are
 * defined MSB first but packed LSB first (RFC 1951 §3.1.1). Swapping
 * halves of ever smaller width reverses all 16 bits in four steps, where
 * a bit-by-bit loop took n; the table builders of both directions call
 * this once per code, per block. */
static inline unsigned ws_z_bit_reverse(unsigned v, unsigned n)
{
    v = (v >> 1 & 0x5555u) | (v & 0x5555u) << 1;
    v = (v >> 2 & 0x3333u) | (v & 0x3333u) << 2;
    v = (v >> 4 & 0x0F0Fu) | (v & 0x0F0Fu) << 4;
    v = (v >> 8 & 0x00FFu) | (v & 0x00FFu) << 8;
    return v >> (16 - n);
}

/* ------------------------------------------------------------ inflate */

/* Decode-table sizes: the most entries a 10-bit (literal/length) or
 * 8-bit (distance) first-level table plus its second-level tables can
 * need for any complete code of up to 15 bits, as counted by zlib's
 * `enough` program (enough 288 10 15, enough 32 8 15). */
#define WS_INFLATE_LITLEN_BITS 10
#define WS_INFLATE_DIST_BITS 8
#define WS_INFLATE_LITLEN_ENOUGH 1334
#define WS_INFLATE_DIST_ENOUGH 402

typedef struct ws_inflate {
    uint64_t bitbuf;              /* unread bits, LSB first */
    unsigned bitcnt;              /* how many of bitbuf's bits are valid */
    int mode;                     /* where the state machine stands */
    int last;                     /* the current block has BFINAL set */
    int fixed_loaded;             /* the tables hold the fixed code */
    unsigned nlen, ndist, ncl;    /* dynamic header counts (§3.2.7) */
    unsigned nread;               /* code lengths read so far */
    uint32_t copy_len;            /* bytes left of a match or stored block */
    uint32_t copy_dist;           /* the match's distance */
    uint8_t *window;              /* caller's 2^bits bytes: the last output */
    uint32_t wsize, wnext, whave; /* window size, write index, filled */
    uint8_t lens[288 + 32];
    uint32_t litlen[WS_INFLATE_LITLEN_ENOUGH];
    uint32_t dist[WS_INFLATE_DIST_ENOUGH];
} ws_inflate_t;

/* Start a stream whose matches may reach 2^window_bits bytes back,
 * keeping history in window (2^window_bits bytes, owned by the caller,
 * alive as long as z). Returns 0, or -1 if window_bits is not 8..15. */
int ws_inflate_init(ws_inflate_t *z, unsigned window_bits, uint8_t *window);

/* Start a new stream. keep_window: later matches may still refer to the
 * previous streams' output (RFC 7692 context takeover); otherwise the
 * history is forgotten. */
void ws_inflate_reset(ws_inflate_t *z, int keep_window);

/* Decode from in[0..in_len) into out[0..out_cap). Sets *in_used and
 * *out_made; returns WS_Z_DONE, WS_Z_NEED_INPUT, WS_Z_NEED_OUTPUT or a
 * WS_Z_E* error. After WS_Z_DONE the bytes past *in_used follow the
 * stream's end and were not read. */
int ws_inflate_run(ws_inflate_t *z, const uint8_t *in, size_t in_len,
                   size_t *in_used, uint8_t *out, size_t out_cap,
                   size_t *out_made);

/* ------------------------------------------------------------ deflate */

/* Flush modes for ws_deflate_run(). */
enum {
    WS_Z_NO_FLUSH = 0, /* more of the message follows */
    WS_Z_SYNC = 1,     /* end of message: everything out, then the empty
                          stored block 00 00 ff ff (RFC 7692 §7.2.1) */
    WS_Z_FINISH = 2,   /* end of stream: everything out, BFINAL set */
    WS_Z_MESSAGE = 3,  /* end of a permessage-deflate message: WS_Z_SYNC
                          without the final 00 00 ff ff, which RFC 7692
                          §7.2.1 removes */
};

#define WS_DEFLATE_SYMS 4096 /* symbols buffered per block */
#define WS_DEFLATE_LOOK 4096 /* input buffered beyond the window */
#define WS_DEFLATE_HASH_BITS 12
#define WS_DEFLATE_CHAIN 16384 /* most positions with a chain link */

typedef struct ws_deflate {
    /* Configuration. */
    unsigned level;
    uint32_t wsize; /* 2^window_bits: the farthest distance */
    uint32_t max_chain, nice, lazy, good; /* search effort (level) */
    /* History and lookahead (in the caller's memory). */
    uint8_t *win;         /* wsize + WS_DEFLATE_LOOK bytes (+ 8) */
    uint16_t *head;       /* newest position of each hash */
    uint16_t *prev;       /* previous position with the same hash */
    uint32_t win_cap;     /* wsize + WS_DEFLATE_LOOK */
    uint32_t chain_size;  /* entries in prev (a power of two) */
    uint32_t fill;        /* bytes held in win */
    uint32_t pos;         /* next byte to parse */
    uint32_t ins;         /* positions below this one are hashed */
    uint32_t block_start; /* first raw byte of the current block */
    uint32_t slid;        /* bytes slid off so far: prev is indexed
                             by position + slid, which sliding keeps */
    /* The block being gathered: symbols and their frequencies. */
    uint32_t nsyms;
    uint8_t sym_ll[WS_DEFLATE_SYMS];    /* literal, or length - 3 */
    uint16_t sym_dist[WS_DEFLATE_SYMS]; /* 0 for a literal */
    uint16_t freq_ll[286], freq_d[30];
    /* The block being written: its codes and how far it has got. */
    uint16_t code_ll[288], code_d[30]; /* 288: the fixed code's codes */
    uint8_t len_ll[288], len_d[30];    /* depend on 286 and 287 too */
    int phase;                         /* what is being written */
    int flush;                         /* the flush being carried out */
    int final_block;                   /* the block being written has BFINAL */
    uint32_t emit_i;     /* next symbol, stage byte or stored byte */
    uint32_t stored_len; /* a stored block's length */
    uint32_t stage_len;  /* header bytes staged */
    uint64_t bitbuf;     /* bits not yet written, LSB first */
    unsigned bitcnt;
    uint8_t stage[320]; /* a dynamic block's header */
} ws_deflate_t;

/* Bytes of the work area ws_deflate_init() needs for window_bits
 * (0 if window_bits is not 8..15). */
size_t ws_deflate_mem_size(unsigned window_bits);

/* Set up a compressor: level 1 (fastest) to 9 (smallest); 6 compresses
 * like zlib's default. mem: ws_deflate_mem_size(window_bits) bytes,
 * 2-byte aligned, owned by the caller, alive as long as z. The output
 * never refers more than 2^window_bits bytes back, so a peer with that
 * window can decode it. Returns 0, or -1 on a bad argument. */
int ws_deflate_init(ws_deflate_t *z, unsigned window_bits, int level,
                    void *mem);

/* After a completed flush: keep_window lets the next message refer to
 * this one's bytes (RFC 7692 context takeover); otherwise it is
 * compressed as if it were the first. */
void ws_deflate_reset(ws_deflate_t *z, int keep_window);

/* Compress in[0..in_len) into out[0..out_cap). flush: WS_Z_NO_FLUSH,
 * WS_Z_SYNC or WS_Z_FINISH. Sets *in_used and *out_made. Returns
 * WS_Z_NEED_INPUT (NO_FLUSH: all input taken), WS_Z_NEED_OUTPUT (call
 * again, with the rest of the input and the same flush) or WS_Z_DONE
 * (the flush is complete: every byte taken is in the output). */
int ws_deflate_run(ws_deflate_t *z, const uint8_t *in, size_t in_len,
                   size_t *in_used, uint8_t *out, size_t out_cap,
                   size_t *out_made, int flush);

#endif /* WS_DEFLATE_H */
