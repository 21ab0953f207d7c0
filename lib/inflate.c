/*
 * inflate.c — streaming raw DEFLATE decoder (RFC 1951).
 *
 * Output goes straight into the caller's buffer; a match reaching back
 * before this call's output reads the window, which holds the last
 * 2^bits bytes of earlier calls and is brought up to date when a call
 * returns. Two decoders share the tables:
 *   - a fast loop, run while at least 8 input bytes and FAST_OUT bytes of
 *     output room remain: it refills a 64-bit bit buffer 8 bytes at a time
 *     (one refill always covers a whole length/distance pair, 48 bits)
 *     and copies matches a word at a time;
 *   - a resumable state machine for everything else (block headers, the
 *     ends of the buffers), which pulls input a byte at a time, only as
 *     the next item needs it, and can stop between any two bits.
 * Both follow zlib's rules on which streams to refuse (an incomplete code
 * is accepted only when it is a single 1-bit code), so that the fuzzer can
 * hold the two to the same answer on every input.
 */
#include "deflate.h"

#include <string.h>

/* Table entry: bits 0-3 code length, 4-7 extra bits (or, for a pointer
 * to a second-level table, its index bits), 8-11 kind, 16-31 value
 * (literal byte, length or distance base, table offset, symbol). An entry
 * with no kind bit is an invalid code. */
#define E_LIT 0x100u
#define E_LEN 0x200u /* a length, or in the distance table a distance */
#define E_EOB 0x400u
#define E_SUB 0x800u
#define E_LENGTH(e) ((e)&15u)
#define E_EXTRA(e) (((e) >> 4) & 15u)
#define E_VALUE(e) ((e) >> 16)

/* Longest match plus the slack of word-wide copies. */
#define FAST_OUT (258 + 16)

enum {
    M_HEADER,      /* BFINAL and BTYPE */
    M_STORED_LEN,  /* LEN and NLEN */
    M_STORED_COPY, /* copy_len bytes to pass through */
    M_COUNTS,      /* HLIT, HDIST, HCLEN */
    M_CL_LENS,     /* code-length code lengths */
    M_CODE_LENS,   /* literal/length and distance code lengths */
    M_BLOCK,       /* compressed data */
    M_COPY,        /* copy_len bytes of a match to write */
    M_DONE,        /* after the final block */
};

enum { T_LITLEN, T_DIST, T_CL };

struct io {
    const uint8_t *in, *in_end;
    uint8_t *out_start, *out, *out_end;
};

static uint64_t load64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------ tables */

static uint32_t symbol_entry(int type, unsigned sym)
{
    if (type == T_CL)
        return E_LIT | sym << 16;
    if (type == T_DIST)
        return sym < 30 ? E_LEN | (uint32_t)ws_z_dist_extra[sym] << 4 |
                              (uint32_t)ws_z_dist_base[sym] << 16
                        : 0;
    if (sym < 256)
        return E_LIT | sym << 16;
    if (sym == 256)
        return E_EOB;
    if (sym < 286)
        return E_LEN | (uint32_t)ws_z_len_extra[sym - 257] << 4 |
               (uint32_t)ws_z_len_base[sym - 257] << 16;
    return 0; /* 286, 287: in the fixed code, but invalid (§3.2.6) */
}

/* Size, in index bits, of the second-level table that starts with a code
 * of length len: deep enough for the codes still to place below the
 * same first-level entry (they come next, in canonical order). */
static unsigned subtable_bits(const unsigned *left_at, unsigned len,
                              unsigned root, unsigned max)
{
    unsigned sub = len - root;
    int room = 1 << sub;
    while (sub + root < max) {
        room -= (int)left_at[sub + root];
        if (room <= 0)
            break;
        sub++;
        room <<= 1;
    }
    return sub;
}

/* Validate the lengths by RFC 1951 §3.2.2's counting (and zlib's
 * tolerance of one lone 1-bit code). Returns the longest length, or -1. */
static int check_lengths(const unsigned *count, int type)
{
    int max = 15, room = 1;
    while (max > 0 && count[max] == 0)
        max--;
    for (int len = 1; len <= 15; len++) {
        room = 2 * room - (int)count[len];
        if (room < 0)
            return -1; /* over-subscribed */
    }
    if (max > 0 && room > 0 && (type == T_CL || max != 1))
        return -1; /* incomplete */
    return max;
}

/*
 * Build the decoding table of the canonical code (RFC 1951 §3.2.2) with
 * lengths lens[0..n): a first level indexed by `root` bits, codes longer
 * than that through second-level tables placed after it. Entries no code
 * reaches stay invalid, 1 bit long. An all-zero code-length code reads as
 * zeros, one bit each, as zlib does: the missing end-of-block then
 * refuses the stream at the same point. Returns 0 or WS_Z_ECODE.
 */
static int build_table(uint32_t *table, unsigned cap, unsigned root,
                       const uint8_t *lens, unsigned n, int type)
{
    unsigned count[16] = {0}, left_at[16], offs[16];
    uint16_t sorted[288];

    for (unsigned s = 0; s < n; s++)
        count[lens[s]]++;
    count[0] = 0;
    int max = check_lengths(count, type);
    if (max < 0)
        return WS_Z_ECODE;
    /* A complete code writes every first-level entry below, so only an
     * incomplete one (a lone code, or none) needs the invalid fill:
     * 2^root stores saved per dynamic block. */
    uint32_t kraft = 0;
    for (unsigned len = 1; len <= 15; len++)
        kraft += count[len] << (15 - len);
    if (kraft != 1u << 15) {
        uint32_t fill = (max == 0 && type == T_CL) ? (E_LIT | 1u) : 1u;
        for (unsigned i = 0; i < 1u << root; i++)
            table[i] = fill;
    }
    offs[1] = 0;
    for (int len = 1; len < 15; len++)
        offs[len + 1] = offs[len] + count[len];
    for (unsigned s = 0; s < n; s++)
        if (lens[s])
            sorted[offs[lens[s]]++] = (uint16_t)s;
    memcpy(left_at, count, sizeof left_at);

    unsigned code = 0, idx = 0, next = 1u << root;
    unsigned cur_low = ~0u, cur_off = 0, cur_bits = 0;
    for (unsigned len = 1; len <= (unsigned)max; len++, code <<= 1) {
        for (unsigned k = 0; k < count[len]; k++, code++) {
            unsigned rev = ws_z_bit_reverse(code, len);
            uint32_t e = symbol_entry(type, sorted[idx++]) | len;
            if (len <= root) {
                for (unsigned i = rev; i < 1u << root; i += 1u << len)
                    table[i] = e;
            } else {
                unsigned low = rev & ((1u << root) - 1);
                if (low != cur_low) {
                    cur_bits = subtable_bits(left_at, len, root, (unsigned)max);
                    if (next + (1u << cur_bits) > cap)
                        return WS_Z_ECODE; /* cannot happen: see ENOUGH */
                    table[low] = E_SUB | cur_bits << 4 | next << 16 | root;
                    cur_low = low;
                    cur_off = next;
                    next += 1u << cur_bits;
                }
                for (unsigned i = rev >> root; i < 1u << cur_bits;
                     i += 1u << (len - root))
                    table[cur_off + i] = e;
            }
            left_at[len]--;
        }
    }
    return 0;
}

/* The fixed code (RFC 1951 §3.2.6): built once, kept while no dynamic
 * block overwrites it. */
static void load_fixed(ws_inflate_t *z)
{
    uint8_t lens[288];
    for (unsigned s = 0; s < 288; s++)
        lens[s] = (uint8_t)ws_z_fixed_litlen_len(s);
    build_table(z->litlen, WS_INFLATE_LITLEN_ENOUGH, WS_INFLATE_LITLEN_BITS,
                lens, 288, T_LITLEN);
    memset(lens, 5, 32);
    build_table(z->dist, WS_INFLATE_DIST_ENOUGH, WS_INFLATE_DIST_BITS, lens, 32,
                T_DIST);
    z->fixed_loaded = 1;
}

/* The entry for the next code; follows a second-level pointer. */
static inline uint32_t lookup(const uint32_t *t, unsigned root, uint64_t bb)
{
    uint32_t e = t[bb & ((1u << root) - 1)];
    if (e & E_SUB)
        e = t[E_VALUE(e) + ((bb >> root) & ((1u << E_EXTRA(e)) - 1))];
    return e;
}

/* ------------------------------------------------------------ copies */

/* Write len bytes of a match dist back: first what lies in the window
 * (before this call's output), then from the output itself, byte by byte
 * where source and destination overlap closer than a word. `slack`: the
 * caller has room for 16 bytes past the match, so words may overrun. */
static inline uint8_t *copy_match(const ws_inflate_t *z, const struct io *io,
                                  uint8_t *out, uint32_t len, uint32_t dist,
                                  int slack)
{
    uint32_t produced = (uint32_t)(out - io->out_start);
    if (dist > produced) {
        uint32_t back = dist - produced; /* <= whave, checked */
        uint32_t from = (z->wnext + z->wsize - back) & (z->wsize - 1);
        uint32_t n = back < len ? back : len;
        uint32_t first = z->wsize - from < n ? z->wsize - from : n;
        memcpy(out, z->window + from, first);
        memcpy(out + first, z->window, n - first);
        out += n;
        len -= n;
    }
    const uint8_t *src = out - dist;
    if (slack && dist >= 8) {
        uint8_t *end = out + len;
        while (out < end) {
            memcpy(out, src, 8);
            out += 8;
            src += 8;
        }
        return end;
    }
    if (dist == 1 && len) {
        memset(out, *src, len);
        return out + len;
    }
    while (len--)
        *out++ = *src++;
    return out;
}

/* Refuse a distance reaching past the window or the history it holds. */
static inline int dist_ok(const ws_inflate_t *z, const struct io *io,
                          const uint8_t *out, uint32_t dist)
{
    return dist <= z->wsize &&
           dist <= (uint32_t)(out - io->out_start) + z->whave;
}

/* ------------------------------------------------------------ fast loop */

/* Decode while the buffers are roomy. Returns 0 to hand over to the
 * state machine (z->mode says where), or a WS_Z_E* error. */
static int fast_loop(ws_inflate_t *z, struct io *io)
{
    const uint8_t *in = io->in, *in_start = io->in;
    uint8_t *out = io->out;
    uint64_t bb = z->bitbuf;
    unsigned bc = z->bitcnt;
    int ret = 0;

    while (io->in_end - in >= 8 && io->out_end - out >= FAST_OUT) {
        /* Refill to 56..63 bits; the bits above bc already equal the
         * next input bits, so OR-ing the word in again is harmless. */
        bb |= load64le(in) << bc;
        in += (63 - bc) >> 3;
        bc |= 56;

        uint32_t e = lookup(z->litlen, WS_INFLATE_LITLEN_BITS, bb);
        /* Up to three literals per refill: 3 x 15 bits <= 56. */
        for (int k = 0; k < 3 && (e & E_LIT); k++) {
            bb >>= E_LENGTH(e);
            bc -= E_LENGTH(e);
            *out++ = (uint8_t)E_VALUE(e);
            e = lookup(z->litlen, WS_INFLATE_LITLEN_BITS, bb);
        }
        if (e & E_LIT)
            continue;
        if (bc < 48)
            continue; /* a match needs a fresh refill */
        if (!(e & E_LEN)) {
            if (e & E_EOB) {
                bb >>= E_LENGTH(e);
                bc -= E_LENGTH(e);
                z->mode = z->last ? M_DONE : M_HEADER;
            } else {
                ret = WS_Z_ESYMBOL;
            }
            break;
        }
        unsigned cl = E_LENGTH(e), x = E_EXTRA(e);
        uint32_t len = E_VALUE(e) + (uint32_t)((bb >> cl) & ((1u << x) - 1));
        bb >>= cl + x;
        bc -= cl + x;
        e = lookup(z->dist, WS_INFLATE_DIST_BITS, bb);
        if (!(e & E_LEN)) {
            ret = WS_Z_ESYMBOL;
            break;
        }
        cl = E_LENGTH(e);
        x = E_EXTRA(e);
        uint32_t dist = E_VALUE(e) + (uint32_t)((bb >> cl) & ((1u << x) - 1));
        bb >>= cl + x;
        bc -= cl + x;
        if (!dist_ok(z, io, out, dist)) {
            ret = WS_Z_EDISTANCE;
            break;
        }
        out = copy_match(z, io, out, len, dist, 1);
    }
    /* Give back whole bytes read ahead in this call. */
    unsigned back = bc >> 3;
    if (back > (unsigned)(in - in_start))
        back = (unsigned)(in - in_start);
    in -= back;
    bc -= back * 8;
    bb &= bc ? ~0ull >> (64 - bc) : 0;
    io->in = in;
    io->out = out;
    z->bitbuf = bb;
    z->bitcnt = bc;
    return ret;
}

/* ------------------------------------------------------------ state machine */

/* Make n <= 56 bits available, a byte at a time. 0 if input ran out. */
static int need(ws_inflate_t *z, struct io *io, unsigned n)
{
    while (z->bitcnt < n) {
        if (io->in == io->in_end)
            return 0;
        z->bitbuf |= (uint64_t)*io->in++ << z->bitcnt;
        z->bitcnt += 8;
    }
    return 1;
}

static inline uint32_t bits(const ws_inflate_t *z, unsigned n)
{
    return (uint32_t)(z->bitbuf & ((1ull << n) - 1));
}

static inline void drop(ws_inflate_t *z, unsigned n)
{
    z->bitbuf >>= n;
    z->bitcnt -= n;
}

/* The entry of the next code, once all its bits are in. 0 if input ran
 * out first. */
static int next_entry(ws_inflate_t *z, struct io *io, const uint32_t *t,
                      unsigned root, uint32_t *e)
{
    for (;;) {
        *e = lookup(t, root, z->bitbuf);
        if (E_LENGTH(*e) <= z->bitcnt)
            return 1;
        if (!need(z, io, z->bitcnt + 8))
            return 0;
    }
}

static int read_header(ws_inflate_t *z, struct io *io)
{
    if (!need(z, io, 3))
        return WS_Z_NEED_INPUT;
    z->last = (int)bits(z, 1);
    unsigned type = bits(z, 3) >> 1;
    drop(z, 3);
    if (type == 0) {
        drop(z, z->bitcnt & 7); /* §3.2.4: skip to a byte boundary */
        z->mode = M_STORED_LEN;
    } else if (type == 1) {
        if (!z->fixed_loaded)
            load_fixed(z);
        z->mode = M_BLOCK;
    } else if (type == 2) {
        z->mode = M_COUNTS;
    } else {
        return WS_Z_EBLOCK_TYPE;
    }
    return 0;
}

static int read_stored_len(ws_inflate_t *z, struct io *io)
{
    if (!need(z, io, 32))
        return WS_Z_NEED_INPUT;
    uint32_t len = bits(z, 16), nlen = bits(z, 32) >> 16;
    drop(z, 32);
    if (len != (~nlen & 0xFFFFu))
        return WS_Z_ESTORED_LEN;
    z->copy_len = len;
    z->mode = M_STORED_COPY;
    return 0;
}

static int copy_stored(ws_inflate_t *z, struct io *io)
{
    while (z->copy_len && z->bitcnt >= 8 && io->out < io->out_end) {
        *io->out++ = (uint8_t)bits(z, 8);
        drop(z, 8);
        z->copy_len--;
    }
    size_t n = z->copy_len;
    if (n > (size_t)(io->in_end - io->in))
        n = (size_t)(io->in_end - io->in);
    if (n > (size_t)(io->out_end - io->out))
        n = (size_t)(io->out_end - io->out);
    if (n) /* in may be NULL when in_len is 0 */
        memcpy(io->out, io->in, n);
    io->out += n;
    io->in += n;
    z->copy_len -= (uint32_t)n;
    if (z->copy_len == 0) {
        z->mode = z->last ? M_DONE : M_HEADER;
        return 0;
    }
    return io->out == io->out_end ? WS_Z_NEED_OUTPUT : WS_Z_NEED_INPUT;
}

static int read_counts(ws_inflate_t *z, struct io *io)
{
    if (!need(z, io, 14))
        return WS_Z_NEED_INPUT;
    z->nlen = bits(z, 5) + 257;
    z->ndist = (bits(z, 10) >> 5) + 1;
    z->ncl = (bits(z, 14) >> 10) + 4;
    drop(z, 14);
    if (z->nlen > 286 || z->ndist > 30)
        return WS_Z_ECOUNTS;
    memset(z->lens, 0, 19);
    z->nread = 0;
    z->mode = M_CL_LENS;
    return 0;
}

/* The code-length code is decoded from the literal/length table's space:
 * it is needed only until that table is built. */
static int read_cl_lens(ws_inflate_t *z, struct io *io)
{
    for (; z->nread < z->ncl; z->nread++) {
        if (!need(z, io, 3))
            return WS_Z_NEED_INPUT;
        z->lens[ws_z_cl_order[z->nread]] = (uint8_t)bits(z, 3);
        drop(z, 3);
    }
    z->fixed_loaded = 0;
    if (build_table(z->litlen, WS_INFLATE_LITLEN_ENOUGH, 7, z->lens, 19, T_CL))
        return WS_Z_ECODE;
    z->nread = 0;
    z->mode = M_CODE_LENS;
    return 0;
}

/* One code length, or a run of them (§3.2.7: 16 repeats the previous
 * length 3-6 times, 17 and 18 give 3-10 and 11-138 zeros). */
static int read_one_len(ws_inflate_t *z, struct io *io, unsigned total)
{
    static const uint8_t extra[3] = {2, 3, 7}, base[3] = {3, 3, 11};
    uint32_t e;
    if (!next_entry(z, io, z->litlen, 7, &e))
        return WS_Z_NEED_INPUT;
    unsigned sym = E_VALUE(e), cl = E_LENGTH(e);
    if (sym < 16) {
        drop(z, cl);
        z->lens[z->nread++] = (uint8_t)sym;
        return 0;
    }
    unsigned x = extra[sym - 16];
    if (!need(z, io, cl + x))
        return WS_Z_NEED_INPUT;
    unsigned run = base[sym - 16] + (bits(z, cl + x) >> cl);
    drop(z, cl + x);
    if (sym == 16 && z->nread == 0)
        return WS_Z_EREPEAT;
    if (z->nread + run > total)
        return WS_Z_EREPEAT;
    uint8_t v = sym == 16 ? z->lens[z->nread - 1] : 0;
    memset(z->lens + z->nread, v, run);
    z->nread += run;
    return 0;
}

static int read_code_lens(ws_inflate_t *z, struct io *io)
{
    unsigned total = z->nlen + z->ndist;
    while (z->nread < total) {
        int r = read_one_len(z, io, total);
        if (r)
            return r;
    }
    if (z->lens[256] == 0)
        return WS_Z_ENO_EOB;
    if (build_table(z->litlen, WS_INFLATE_LITLEN_ENOUGH, WS_INFLATE_LITLEN_BITS,
                    z->lens, z->nlen, T_LITLEN) ||
        build_table(z->dist, WS_INFLATE_DIST_ENOUGH, WS_INFLATE_DIST_BITS,
                    z->lens + z->nlen, z->ndist, T_DIST))
        return WS_Z_ECODE;
    z->mode = M_BLOCK;
    return 0;
}

/* One literal, end-of-block, or length/distance pair, all its bits in
 * before any is consumed. */
static int decode_symbol(ws_inflate_t *z, struct io *io)
{
    uint32_t e, d;
    if (!next_entry(z, io, z->litlen, WS_INFLATE_LITLEN_BITS, &e))
        return WS_Z_NEED_INPUT;
    unsigned cl = E_LENGTH(e), x = E_EXTRA(e);
    if (e & E_EOB) {
        drop(z, cl);
        z->mode = z->last ? M_DONE : M_HEADER;
        return 0;
    }
    if (io->out == io->out_end)
        return WS_Z_NEED_OUTPUT; /* decoded again when there is room */
    if (e & E_LIT) {
        drop(z, cl);
        *io->out++ = (uint8_t)E_VALUE(e);
        return 0;
    }
    if (!(e & E_LEN))
        return WS_Z_ESYMBOL;
    if (!need(z, io, cl + x))
        return WS_Z_NEED_INPUT;
    uint32_t len = E_VALUE(e) + (bits(z, cl + x) >> cl);
    unsigned used = cl + x;
    /* Peek at the distance code behind the length bits. */
    for (;;) {
        d = lookup(z->dist, WS_INFLATE_DIST_BITS, z->bitbuf >> used);
        if (used + E_LENGTH(d) <= z->bitcnt)
            break;
        if (!need(z, io, z->bitcnt + 8))
            return WS_Z_NEED_INPUT;
    }
    if (!(d & E_LEN))
        return WS_Z_ESYMBOL;
    unsigned dcl = E_LENGTH(d), dx = E_EXTRA(d);
    if (!need(z, io, used + dcl + dx))
        return WS_Z_NEED_INPUT;
    uint32_t dist =
        E_VALUE(d) + (uint32_t)((z->bitbuf >> (used + dcl)) & ((1u << dx) - 1));
    drop(z, used + dcl + dx);
    if (!dist_ok(z, io, io->out, dist))
        return WS_Z_EDISTANCE;
    z->copy_len = len;
    z->copy_dist = dist;
    z->mode = M_COPY;
    return 0;
}

static int copy_pending(ws_inflate_t *z, struct io *io)
{
    uint32_t room = (uint32_t)(io->out_end - io->out);
    uint32_t n = z->copy_len < room ? z->copy_len : room;
    io->out = copy_match(z, io, io->out, n, z->copy_dist, 0);
    z->copy_len -= n;
    if (z->copy_len)
        return WS_Z_NEED_OUTPUT;
    z->mode = M_BLOCK;
    return 0;
}

static int step(ws_inflate_t *z, struct io *io)
{
    switch (z->mode) {
    case M_HEADER:
        return read_header(z, io);
    case M_STORED_LEN:
        return read_stored_len(z, io);
    case M_STORED_COPY:
        return copy_stored(z, io);
    case M_COUNTS:
        return read_counts(z, io);
    case M_CL_LENS:
        return read_cl_lens(z, io);
    case M_CODE_LENS:
        return read_code_lens(z, io);
    case M_COPY:
        return copy_pending(z, io);
    case M_BLOCK:
        if (io->in_end - io->in >= 8 && io->out_end - io->out >= FAST_OUT) {
            int r = fast_loop(z, io);
            if (r || z->mode != M_BLOCK)
                return r;
        }
        return decode_symbol(z, io);
    case M_DONE:
        return WS_Z_DONE;
    default:
        return z->mode; /* a failed stream stays failed */
    }
}

/* ------------------------------------------------------------ window */

/* Keep the last wsize bytes of what this call wrote (zlib's scheme: the
 * copy is at most the window, however much was written). */
static void update_window(ws_inflate_t *z, const uint8_t *out, size_t n)
{
    if (n >= z->wsize) {
        memcpy(z->window, out + n - z->wsize, z->wsize);
        z->wnext = 0;
        z->whave = z->wsize;
        return;
    }
    uint32_t k = (uint32_t)n, first = z->wsize - z->wnext;
    if (first > k)
        first = k;
    memcpy(z->window + z->wnext, out, first);
    memcpy(z->window, out + first, k - first);
    z->wnext = (z->wnext + k) & (z->wsize - 1);
    z->whave = z->whave + k > z->wsize ? z->wsize : z->whave + k;
}

/* ------------------------------------------------------------ API */

int ws_inflate_init(ws_inflate_t *z, unsigned window_bits, uint8_t *window)
{
    if (window_bits < WS_Z_MIN_WINDOW_BITS ||
        window_bits > WS_Z_MAX_WINDOW_BITS || !window)
        return -1;
    memset(z, 0, sizeof *z);
    z->window = window;
    z->wsize = 1u << window_bits;
    ws_inflate_reset(z, 0);
    return 0;
}

void ws_inflate_reset(ws_inflate_t *z, int keep_window)
{
    z->bitbuf = 0;
    z->bitcnt = 0;
    z->mode = M_HEADER;
    z->last = 0;
    z->copy_len = 0;
    if (!keep_window) {
        z->wnext = 0;
        z->whave = 0;
    }
}

int ws_inflate_run(ws_inflate_t *z, const uint8_t *in, size_t in_len,
                   size_t *in_used, uint8_t *out, size_t out_cap,
                   size_t *out_made)
{
    struct io io = {in, in + in_len, out, out, out + out_cap};
    int r;
    do
        r = step(z, &io);
    while (r == 0 && z->mode != M_DONE);
    if (r == 0)
        r = WS_Z_DONE;
    if (r < 0)
        z->mode = r;
    if (r == WS_Z_DONE && z->bitcnt >= 8) {
        /* The final block ended inside bytes read by the fast loop. */
        unsigned back = z->bitcnt >> 3;
        if (back > (unsigned)(io.in - in))
            back = (unsigned)(io.in - in);
        io.in -= back;
        z->bitcnt -= back * 8;
    }
    z->bitbuf &= (1ull << z->bitcnt) - 1;
    update_window(z, out, (size_t)(io.out - out));
    *in_used = (size_t)(io.in - in);
    *out_made = (size_t)(io.out - out);
    return r;
}
