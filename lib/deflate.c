/*
 * deflate.c — streaming raw DEFLATE compressor (RFC 1951): LZ77 over a
 * sliding window with hash chains, then each block written as whichever
 * of dynamic Huffman, fixed Huffman or stored is smallest.
 *
 * Memory is the caller's and bounded (see ws_deflate_mem_size()):
 *   win   the last wsize bytes (the history matches may reach) plus
 *         WS_DEFLATE_LOOK bytes of input not yet parsed; when it is full
 *         the history slides down to the start;
 *   head  the newest position of each hash of 3 (or, at the fast levels,
 *         4) bytes;
 *   prev  for the newest WS_DEFLATE_CHAIN positions, the previous one with
 *         the same hash. A chain can thus reach the whole window, but
 *         only through links of recent positions: 32 KiB instead of
 *         zlib's 64 KiB of chain links at 15 bits.
 * A block ends when its symbol buffer fills, when the history would slide
 * past its first byte, or at a flush. Writing a block can stop whenever
 * the output is full and resume on the next call (z->phase).
 */
#include "deflate.h"

#include <string.h>

#define MIN_MATCH 3
#define MAX_MATCH 258
/* Bytes past a position needed to search it and the next one (lazy
 * matching) for a full-length match, with room for a 4-byte hash read. */
#define LOOKAHEAD (MAX_MATCH + 1 + 4)
/* A 3-byte match this far back costs more than its literals (zlib's
 * TOO_FAR). */
#define TOO_FAR 4096
#define WIN_PAD 8 /* word reads past the data */

_Static_assert((1u << WS_Z_MAX_WINDOW_BITS) + WS_DEFLATE_LOOK <= 65535,
               "positions fit uint16_t; a block fits one stored block");

enum { PH_IDLE, PH_STAGE, PH_SYMS, PH_STORED, PH_BITS };

#define GO_ON 100 /* advance(): not a WS_Z_* result */

struct io {
    const uint8_t *in, *in_end;
    uint8_t *out, *out_end;
};

/* Search effort per level, after zlib's configuration table. */
static const struct level_cfg {
    uint16_t chain, nice, lazy, good;
} levels[10] = {
    {0, 0, 0, 0},         {2, 16, 0, 4},     {4, 32, 0, 8},
    {8, 64, 0, 16},       {16, 32, 4, 4},    {32, 64, 16, 8},
    {128, 128, 16, 8},    {256, 128, 32, 8}, {1024, 258, 128, 32},
    {4096, 258, 258, 32},
};

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void store64le(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

static inline unsigned floor_log2(uint32_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return 31u - (unsigned)__builtin_clz(v);
#else
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
#endif
}

/* RFC 1951 §3.2.5: the code of a length (3..258), 0-based from 257. */
static inline unsigned length_code(unsigned len)
{
    unsigned x = len - 3;
    if (x < 8)
        return x;
    if (x == 255)
        return 28;
    unsigned n = floor_log2(x);
    return 4 * (n - 1) + ((x >> (n - 2)) & 3);
}

/* RFC 1951 §3.2.5: the code of a distance (1..32768). */
static inline unsigned dist_code(unsigned dist)
{
    unsigned x = dist - 1;
    if (x < 4)
        return x;
    unsigned n = floor_log2(x);
    return 2 * n + ((x >> (n - 1)) & 1);
}

/* Length of the common prefix of a and b, at most limit. */
static inline uint32_t match_length(const uint8_t *a, const uint8_t *b,
                                    uint32_t limit)
{
    uint32_t n = 0;
#if (defined(__GNUC__) || defined(__clang__)) && defined(__BYTE_ORDER__) &&    \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (n + 8 <= limit) {
        uint64_t x, y;
        memcpy(&x, a + n, 8);
        memcpy(&y, b + n, 8);
        if (x != y)
            return n + (uint32_t)__builtin_ctzll(x ^ y) / 8;
        n += 8;
    }
#endif
    while (n < limit && a[n] == b[n])
        n++;
    return n;
}

/* ------------------------------------------------------------ matching */

static inline uint32_t hash_at(const ws_deflate_t *z, uint32_t p)
{
    uint32_t mask = z->level <= 3 ? 0xFFFFFFFFu : 0xFFFFFFu;
    return ((load32(z->win + p) & mask) * 0x9E3779B1u) >>
           (32 - WS_DEFLATE_HASH_BITS);
}

/* head and prev hold stream positions (window position + z->slid)
 * modulo 2^16, so sliding the window leaves them as they are; a stale
 * entry only names a candidate that the byte comparison then refutes. */
static inline uint32_t stream_pos(const ws_deflate_t *z, uint32_t p)
{
    return p + z->slid;
}

static inline uint32_t link_index(const ws_deflate_t *z, uint32_t p)
{
    return stream_pos(z, p) & (z->chain_size - 1);
}

/* How far back the entry e (a stream position mod 2^16) is from p. */
static inline uint32_t back_from(const ws_deflate_t *z, uint32_t p, uint16_t e)
{
    return (uint16_t)(stream_pos(z, p) - e);
}

/* Hash position p (z->ins == p); returns the entry of the previous newest
 * position with its hash. */
static inline uint16_t insert(ws_deflate_t *z, uint32_t p)
{
    uint32_t h = hash_at(z, p);
    uint16_t old = z->head[h];
    z->prev[link_index(z, p)] = old;
    z->head[h] = (uint16_t)stream_pos(z, p);
    z->ins = p + 1;
    return old;
}

/* Hash the positions from z->ins up to end (those with 4 bytes in). */
static void insert_upto(ws_deflate_t *z, uint32_t end)
{
    if (end + 4 > z->fill)
        end = z->fill >= 4 ? z->fill - 3 : 0;
    while (z->ins < end)
        insert(z, z->ins);
}

/*
 * The longest match for position p longer than `better`, by walking the
 * chain; inserts p. Returns its length (0 if none) and sets *dist.
 * Candidates must come strictly farther back at each step, within the
 * window and the data held; a link is followed only while its position
 * is among the newest chain_size (older slots hold newer links).
 */
static uint32_t find_match(ws_deflate_t *z, uint32_t p, uint32_t better,
                           uint32_t *dist)
{
    uint32_t limit = z->fill - p < MAX_MATCH ? z->fill - p : MAX_MATCH;
    if (limit < 4)
        return 0; /* hashed later, if more of the stream follows */
    uint16_t e;
    if (z->ins > p) {
        e = z->prev[link_index(z, p)]; /* p is hashed already */
    } else {
        insert_upto(z, p);
        e = insert(z, p);
    }
    uint32_t max_d = p < z->wsize ? p : z->wsize;
    uint32_t chain = better >= z->good ? z->max_chain >> 2 : z->max_chain;
    uint32_t best = better, mask = z->level <= 3 ? 0xFFFFFFFFu : 0xFFFFFFu;
    const uint8_t *s = z->win + p;
    uint32_t d = back_from(z, p, e);
    *dist = 0;
    if (best >= limit)
        return 0;
    while (d > 0 && d <= max_d && chain-- > 0) {
        const uint8_t *c = s - d;
        if (c[best] == s[best] && ((load32(c) ^ load32(s)) & mask) == 0) {
            uint32_t len = match_length(s, c, limit);
            if (len > best && (len > MIN_MATCH || d <= TOO_FAR)) {
                best = len;
                *dist = d;
                if (len >= z->nice || len >= limit)
                    break;
            }
        }
        if (d >= z->chain_size)
            break; /* its link was overwritten by a newer position */
        uint32_t next = back_from(z, p, z->prev[link_index(z, p - d)]);
        if (next <= d)
            break;
        d = next;
    }
    return *dist ? best : 0;
}

/* ------------------------------------------------------------ symbols */

static inline void record_literal(ws_deflate_t *z, uint8_t c)
{
    z->sym_ll[z->nsyms] = c;
    z->sym_dist[z->nsyms++] = 0;
    z->freq_ll[c]++;
}

static inline void record_match(ws_deflate_t *z, uint32_t len, uint32_t dist)
{
    z->sym_ll[z->nsyms] = (uint8_t)(len - MIN_MATCH);
    z->sym_dist[z->nsyms++] = (uint16_t)dist;
    z->freq_ll[257 + length_code(len)]++;
    z->freq_d[dist_code(dist)]++;
}

/* Greedy parse (levels 1-3): take the first good match; hash the
 * positions inside short matches only. */
static void parse_greedy(ws_deflate_t *z, uint32_t end)
{
    uint32_t p = z->pos;
    while (p < end && z->nsyms < WS_DEFLATE_SYMS) {
        uint32_t dist, len = find_match(z, p, MIN_MATCH, &dist);
        if (len) {
            record_match(z, len, dist);
            if (len <= z->lazy + 4u)
                insert_upto(z, p + len);
            else
                z->ins = p + len;
            p += len;
        } else {
            record_literal(z, z->win[p]);
            p++;
        }
    }
    z->pos = p;
}

/* Lazy parse (levels 4-9), as RFC 1951 §4 suggests: before taking a
 * match, look one byte further; if a longer match starts there, emit a
 * literal instead. */
static void parse_lazy(ws_deflate_t *z, uint32_t end)
{
    uint32_t p = z->pos, len = 0, dist = 0;
    int have = 0;
    while (p < end && z->nsyms < WS_DEFLATE_SYMS - 1) {
        if (!have)
            len = find_match(z, p, MIN_MATCH - 1, &dist);
        have = 0;
        if (len && len < z->lazy && p + 1 < end) {
            uint32_t d2, l2 = find_match(z, p + 1, len, &d2);
            if (l2) {
                record_literal(z, z->win[p]);
                p++;
                len = l2;
                dist = d2;
                have = 1;
                continue;
            }
        }
        if (len) {
            record_match(z, len, dist);
            insert_upto(z, p + len);
            p += len;
        } else {
            record_literal(z, z->win[p]);
            p++;
        }
    }
    z->pos = p;
}

static void parse(ws_deflate_t *z, int flushing)
{
    uint32_t end = flushing              ? z->fill
                   : z->fill > LOOKAHEAD ? z->fill - LOOKAHEAD
                                         : 0;
    if (z->pos >= end)
        return;
    if (z->lazy && z->level >= 4)
        parse_lazy(z, end);
    else
        parse_greedy(z, end);
}

/* Drop history older than wsize before pos to make room for input. */
static void slide(ws_deflate_t *z)
{
    uint32_t s = z->pos - z->wsize;
    memmove(z->win, z->win + s, z->fill - s);
    z->fill -= s;
    z->pos -= s;
    z->ins -= s;
    z->block_start -= s;
    z->slid += s;
}

/* ------------------------------------------------------------ Huffman */

/* Sort a[0..n) ascending (bottom-up merge sort, tmp as scratch): a
 * block's 286 symbols in a few thousand steps. */
static void sort_keys(uint32_t *a, uint32_t *tmp, unsigned n)
{
    uint32_t *src = a, *dst = tmp;
    for (unsigned w = 1; w < n; w *= 2) {
        for (unsigned lo = 0; lo < n; lo += 2 * w) {
            unsigned mid = lo + w < n ? lo + w : n;
            unsigned hi = lo + 2 * w < n ? lo + 2 * w : n;
            unsigned i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[i] <= src[j] ? src[i++] : src[j++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/*
 * Code lengths, at most `limit` bits, for the symbols 0..n-1 with the
 * given frequencies: a Huffman tree built with two queues (leaves sorted
 * by frequency, internal nodes made in order), its depths clamped to the
 * limit and then the counts per length evened out until the Kraft sum is
 * exactly 1, so the code is complete (decoders refuse others). At least
 * two symbols always get a code.
 */
static void build_lengths(const uint16_t *freq, unsigned n, unsigned limit,
                          uint8_t *lens)
{
    uint16_t sym[286], parent[2 * 286];
    uint32_t weight[2 * 286], key[286], tmp[286];
    uint16_t depth[2 * 286];
    unsigned m = 0, count[16] = {0};

    for (unsigned s = 0; s < n; s++) {
        lens[s] = 0;
        if (freq[s])
            key[m++] = (uint32_t)freq[s] << 9 | s; /* by frequency, then
                                                     symbol */
    }
    sort_keys(key, tmp, m);
    for (unsigned i = 0; i < m; i++)
        sym[i] = (uint16_t)(key[i] & 511u);
    if (m < 2) { /* a complete code needs two: give one a spare */
        unsigned a = m ? sym[0] : 0, b = a == 0 ? 1 : 0;
        lens[a] = lens[b] = 1;
        return;
    }
    for (unsigned i = 0; i < m; i++)
        weight[i] = freq[sym[i]];
    unsigned leaf = 0, node = m;
    for (unsigned k = m; k < 2 * m - 1; k++) {
        unsigned pick[2];
        for (int t = 0; t < 2; t++) {
            if (leaf < m && (node >= k || weight[leaf] <= weight[node]))
                pick[t] = leaf++;
            else
                pick[t] = node++;
        }
        weight[k] = weight[pick[0]] + weight[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)k;
    }
    depth[2 * m - 2] = 0;
    for (unsigned k = 2 * m - 2; k-- > 0;) {
        depth[k] = (uint16_t)(depth[parent[k]] + 1);
        if (k < m)
            count[depth[k] > limit ? limit : depth[k]]++;
    }
    uint32_t kraft = 0, full = 1u << limit;
    for (unsigned l = 1; l <= limit; l++)
        kraft += count[l] << (limit - l);
    while (kraft > full) { /* lengthen the longest code that can be */
        unsigned l = limit - 1;
        while (count[l] == 0)
            l--;
        count[l]--;
        count[l + 1]++;
        kraft -= 1u << (limit - l - 1);
    }
    while (kraft < full) { /* shorten the longest code */
        unsigned l = limit;
        while (count[l] == 0)
            l--;
        count[l]--;
        count[l - 1]++;
        kraft += 1u << (limit - l);
    }
    unsigned i = 0; /* the rarest symbols get the longest codes */
    for (unsigned l = limit; l >= 1; l--)
        for (unsigned c = 0; c < count[l]; c++)
            lens[sym[i++]] = (uint8_t)l;
}

/* Canonical codes for the lengths (RFC 1951 §3.2.2), bit-reversed for
 * LSB-first output. */
static void make_codes(const uint8_t *lens, unsigned n, uint16_t *codes)
{
    unsigned count[16] = {0}, next[16];
    for (unsigned s = 0; s < n; s++)
        count[lens[s]]++;
    count[0] = 0;
    next[1] = 0;
    for (unsigned l = 1; l < 15; l++)
        next[l + 1] = (next[l] + count[l]) << 1;
    for (unsigned s = 0; s < n; s++)
        if (lens[s])
            codes[s] = (uint16_t)ws_z_bit_reverse(next[lens[s]]++, lens[s]);
}

/* ------------------------------------------------------------ block header */

/* A dynamic block's code lengths, run-length coded (§3.2.7). */
struct cl_plan {
    unsigned hlit, hdist, hclen, nsym;
    uint8_t sym[286 + 30], extra[286 + 30];
    uint16_t freq[19];
    uint8_t lens[19];
    uint16_t codes[19];
};

static void cl_add(struct cl_plan *c, unsigned sym, unsigned extra)
{
    c->sym[c->nsym] = (uint8_t)sym;
    c->extra[c->nsym++] = (uint8_t)extra;
    c->freq[sym]++;
}

static void cl_runs(struct cl_plan *c, const uint8_t *all, unsigned total)
{
    for (unsigned i = 0; i < total;) {
        unsigned v = all[i], run = 1;
        while (i + run < total && all[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            for (; run >= 11; run -= run < 138 ? run : 138)
                cl_add(c, 18, (run < 138 ? run : 138) - 11);
            if (run >= 3) {
                cl_add(c, 17, run - 3);
                run = 0;
            }
        } else {
            cl_add(c, v, 0);
            run--;
            for (; run >= 3; run -= run < 6 ? run : 6)
                cl_add(c, 16, (run < 6 ? run : 6) - 3);
        }
        while (run--)
            cl_add(c, v, 0);
    }
}

/* Plan the header for the current lengths; returns its size in bits. */
static uint32_t plan_header(const uint8_t *len_ll, const uint8_t *len_d,
                            struct cl_plan *c)
{
    uint8_t all[286 + 30];
    memset(c, 0, sizeof *c);
    c->hlit = 286;
    while (c->hlit > 257 && len_ll[c->hlit - 1] == 0)
        c->hlit--;
    c->hdist = 30;
    while (c->hdist > 1 && len_d[c->hdist - 1] == 0)
        c->hdist--;
    memcpy(all, len_ll, c->hlit);
    memcpy(all + c->hlit, len_d, c->hdist);
    cl_runs(c, all, c->hlit + c->hdist);
    build_lengths(c->freq, 19, 7, c->lens);
    make_codes(c->lens, 19, c->codes);
    c->hclen = 19;
    while (c->hclen > 4 && c->lens[ws_z_cl_order[c->hclen - 1]] == 0)
        c->hclen--;
    uint32_t bits = 5 + 5 + 4 + 3 * c->hclen;
    for (unsigned i = 0; i < c->nsym; i++)
        bits += c->lens[c->sym[i]] + (c->sym[i] == 16   ? 2u
                                      : c->sym[i] == 17 ? 3u
                                      : c->sym[i] == 18 ? 7u
                                                        : 0u);
    return bits;
}

/* Bits writer into z->stage (the header may exceed the bit buffer). */
static void stage_bits(ws_deflate_t *z, uint32_t v, unsigned n)
{
    z->bitbuf |= (uint64_t)v << z->bitcnt;
    z->bitcnt += n;
    while (z->bitcnt >= 8) {
        z->stage[z->stage_len++] = (uint8_t)z->bitbuf;
        z->bitbuf >>= 8;
        z->bitcnt -= 8;
    }
}

static void stage_header(ws_deflate_t *z, const struct cl_plan *c)
{
    z->stage_len = 0;
    stage_bits(z, (uint32_t)z->final_block | 2u << 1, 3);
    stage_bits(z, c->hlit - 257, 5);
    stage_bits(z, c->hdist - 1, 5);
    stage_bits(z, c->hclen - 4, 4);
    for (unsigned i = 0; i < c->hclen; i++)
        stage_bits(z, c->lens[ws_z_cl_order[i]], 3);
    for (unsigned i = 0; i < c->nsym; i++) {
        unsigned s = c->sym[i];
        stage_bits(z, c->codes[s], c->lens[s]);
        if (s >= 16)
            stage_bits(z, c->extra[i], s == 16 ? 2 : s == 17 ? 3 : 7);
    }
}

/* ------------------------------------------------------------ block choice */

/* Extra bits of the block's lengths and distances (§3.2.5): the same
 * whichever code the block is written with. */
static uint32_t extra_bits(const ws_deflate_t *z)
{
    uint32_t bits = 0;
    for (unsigned s = 257 + 8; s < 285; s++) /* codes below: no extras */
        bits += (uint32_t)z->freq_ll[s] * ws_z_len_extra[s - 257];
    for (unsigned s = 4; s < 30; s++)
        bits += (uint32_t)z->freq_d[s] * ws_z_dist_extra[s];
    return bits;
}

/* Bits of n symbols' codes with the given lengths, extras aside. */
static uint32_t code_bits(const uint16_t *freq, const uint8_t *lens, unsigned n)
{
    uint32_t bits = 0;
    for (unsigned s = 0; s < n; s++)
        bits += (uint32_t)freq[s] * lens[s];
    return bits;
}

static uint32_t freq_sum(const uint16_t *freq, unsigned from, unsigned to)
{
    uint32_t n = 0;
    for (unsigned s = from; s < to; s++)
        n += freq[s];
    return n;
}

/* Bits of the symbols' codes in the fixed code (§3.2.6: literal/length
 * lengths 8, 9, 7, 8 by range; distances 5), extras aside: sums over the
 * ranges, where a table of 286 lengths per block cost more than the
 * rest of a small message. */
static uint32_t fixed_code_bits(const ws_deflate_t *z)
{
    return 8 * freq_sum(z->freq_ll, 0, 144) +
           9 * freq_sum(z->freq_ll, 144, 256) +
           7 * freq_sum(z->freq_ll, 256, 280) +
           8 * freq_sum(z->freq_ll, 280, 286) + 5 * freq_sum(z->freq_d, 0, 30);
}

/* Load the fixed code (§3.2.6) unless the last block left it loaded: a
 * dynamic block zeroes len_ll[287], the fixed code gives it 8. */
static void load_fixed_code(ws_deflate_t *z)
{
    if (z->len_ll[287] == 8)
        return;
    for (unsigned s = 0; s < 288; s++)
        z->len_ll[s] = (uint8_t)ws_z_fixed_litlen_len(s);
    memset(z->len_d, 5, 30);
    make_codes(z->len_ll, 288, z->code_ll);
    make_codes(z->len_d, 30, z->code_d);
}

/* Choose and start writing the block of the symbols gathered. */
static void begin_block(ws_deflate_t *z, int final)
{
    struct cl_plan plan;
    uint8_t ll[286], dl[30]; /* the dynamic code, until it is chosen */

    z->final_block = final;
    z->freq_ll[256]++; /* end-of-block */
    build_lengths(z->freq_ll, 286, 15, ll);
    build_lengths(z->freq_d, 30, 15, dl);
    uint32_t extra = extra_bits(z);
    uint32_t dyn = 3 + plan_header(ll, dl, &plan) + extra +
                   code_bits(z->freq_ll, ll, 286) +
                   code_bits(z->freq_d, dl, 30);
    uint32_t fix = 3 + fixed_code_bits(z) + extra;
    z->stored_len = z->pos - z->block_start;
    uint32_t stored =
        ((z->bitcnt + 3 + 7) & ~7u) - z->bitcnt + 32 + 8 * z->stored_len;
    z->emit_i = 0;
    if (stored <= dyn && stored <= fix) {
        z->bitbuf |= (uint64_t) final << z->bitcnt;
        z->bitcnt = (z->bitcnt + 3 + 7) & ~7u; /* §3.2.4: byte-aligned */
        z->bitbuf |=
            (uint64_t)(z->stored_len | (~z->stored_len & 0xFFFFu) << 16)
            << z->bitcnt;
        z->bitcnt += 32;
        z->phase = PH_STORED;
    } else if (fix <= dyn) {
        load_fixed_code(z);
        z->bitbuf |= (uint64_t)(final | 1u << 1) << z->bitcnt;
        z->bitcnt += 3;
        z->phase = PH_SYMS;
    } else {
        memcpy(z->len_ll, ll, 286);
        z->len_ll[286] = z->len_ll[287] = 0;
        memcpy(z->len_d, dl, 30);
        make_codes(z->len_ll, 286, z->code_ll);
        make_codes(z->len_d, 30, z->code_d);
        stage_header(z, &plan);
        z->phase = PH_STAGE;
    }
}

static void end_block(ws_deflate_t *z)
{
    z->nsyms = 0;
    memset(z->freq_ll, 0, sizeof z->freq_ll);
    memset(z->freq_d, 0, sizeof z->freq_d);
    z->block_start = z->pos;
    z->phase = PH_IDLE;
}

/* The empty stored block of a sync flush (for WS_Z_MESSAGE without its
 * 00 00 ff ff, as RFC 7692 §7.2.1 strips them), or the empty final
 * fixed block that ends a stream. */
static void begin_marker(ws_deflate_t *z, int flush)
{
    if (flush != WS_Z_FINISH) {
        z->bitcnt = (z->bitcnt + 3 + 7) & ~7u;
        if (flush == WS_Z_SYNC)
            z->bitbuf |= (uint64_t)0xFFFF0000u << z->bitcnt;
        z->bitcnt += flush == WS_Z_SYNC ? 32 : 0;
    } else {
        z->bitbuf |= (uint64_t)3u << z->bitcnt; /* BFINAL, fixed, EOB */
        z->bitcnt += 10;
    }
    z->phase = PH_BITS;
}

/* ------------------------------------------------------------ output */

/* Write whole bytes of the bit buffer (and the last partial one if
 * `all`); returns 0 if the output filled first. */
static int drain_bits(ws_deflate_t *z, struct io *io, int all)
{
    while (z->bitcnt >= (all ? 1u : 8u)) {
        if (io->out == io->out_end)
            return 0;
        *io->out++ = (uint8_t)z->bitbuf;
        z->bitbuf >>= 8;
        z->bitcnt = z->bitcnt >= 8 ? z->bitcnt - 8 : 0;
    }
    return 1;
}

static inline void put_symbol(ws_deflate_t *z, uint32_t i)
{
    uint64_t bb = z->bitbuf;
    unsigned bc = z->bitcnt, lit = z->sym_ll[i], dist = z->sym_dist[i];
    if (dist == 0) {
        bb |= (uint64_t)z->code_ll[lit] << bc;
        bc += z->len_ll[lit];
    } else {
        unsigned lc = length_code(lit + MIN_MATCH), dc = dist_code(dist);
        bb |= (uint64_t)z->code_ll[257 + lc] << bc;
        bc += z->len_ll[257 + lc];
        bb |= (uint64_t)(lit + MIN_MATCH - ws_z_len_base[lc]) << bc;
        bc += ws_z_len_extra[lc];
        bb |= (uint64_t)z->code_d[dc] << bc;
        bc += z->len_d[dc];
        bb |= (uint64_t)(dist - ws_z_dist_base[dc]) << bc;
        bc += ws_z_dist_extra[dc];
    }
    z->bitbuf = bb;
    z->bitcnt = bc;
}

/* Symbols then end-of-block: a word store per symbol while there is
 * room for one, byte by byte near the end of the output. */
static int write_symbols(ws_deflate_t *z, struct io *io)
{
    while (z->emit_i <= z->nsyms) {
        if (io->out_end - io->out >= 8) {
            store64le(io->out, z->bitbuf);
            io->out += z->bitcnt >> 3;
            z->bitbuf >>= z->bitcnt & ~7u;
            z->bitcnt &= 7;
        } else if (!drain_bits(z, io, 0) && z->bitcnt > 15) {
            return 0; /* a symbol is up to 48 bits: 15 + 48 < 64 */
        }
        if (z->emit_i == z->nsyms) {
            z->bitbuf |= (uint64_t)z->code_ll[256] << z->bitcnt;
            z->bitcnt += z->len_ll[256];
        } else {
            put_symbol(z, z->emit_i);
        }
        z->emit_i++;
    }
    return drain_bits(z, io, 0);
}

static int copy_out(struct io *io, const uint8_t *src, uint32_t len,
                    uint32_t *done)
{
    uint32_t n = len - *done, room = (uint32_t)(io->out_end - io->out);
    if (n > room)
        n = room;
    memcpy(io->out, src + *done, n);
    io->out += n;
    *done += n;
    return *done == len;
}

/* Carry on writing the current block or marker; 1 when it is done. */
static int emit(ws_deflate_t *z, struct io *io)
{
    switch (z->phase) {
    case PH_STAGE:
        if (!copy_out(io, z->stage, z->stage_len, &z->emit_i))
            return 0;
        z->emit_i = 0;
        z->phase = PH_SYMS;
        /* fall through */
    case PH_SYMS:
        if (!write_symbols(z, io))
            return 0;
        end_block(z);
        return 1;
    case PH_STORED:
        if (!drain_bits(z, io, 0) ||
            !copy_out(io, z->win + z->block_start, z->stored_len, &z->emit_i))
            return 0;
        end_block(z);
        return 1;
    case PH_BITS:
        if (!drain_bits(z, io, 1))
            return 0;
        z->phase = PH_IDLE;
        return 1;
    default:
        return 1;
    }
}

/* ------------------------------------------------------------ API */

static uint32_t chain_size(unsigned window_bits)
{
    uint32_t w = 1u << window_bits;
    return w < WS_DEFLATE_CHAIN ? w : WS_DEFLATE_CHAIN;
}

static size_t win_bytes(unsigned window_bits)
{
    return (((size_t)1 << window_bits) + WS_DEFLATE_LOOK + WIN_PAD + 1) & ~1u;
}

size_t ws_deflate_mem_size(unsigned window_bits)
{
    if (window_bits < WS_Z_MIN_WINDOW_BITS ||
        window_bits > WS_Z_MAX_WINDOW_BITS)
        return 0;
    return win_bytes(window_bits) + 2 * ((size_t)1 << WS_DEFLATE_HASH_BITS) +
           2 * (size_t)chain_size(window_bits);
}

int ws_deflate_init(ws_deflate_t *z, unsigned window_bits, int level, void *mem)
{
    if (!ws_deflate_mem_size(window_bits) || level < 1 || level > 9 || !mem ||
        ((uintptr_t)mem & 1))
        return -1;
    memset(z, 0, sizeof *z);
    z->level = (unsigned)level;
    z->max_chain = levels[level].chain;
    z->nice = levels[level].nice;
    z->lazy = levels[level].lazy;
    z->good = levels[level].good;
    z->wsize = 1u << window_bits;
    z->win_cap = z->wsize + WS_DEFLATE_LOOK;
    z->chain_size = chain_size(window_bits);
    z->win = mem;
    z->head = (uint16_t *)(void *)(z->win + win_bytes(window_bits));
    z->prev = z->head + ((size_t)1 << WS_DEFLATE_HASH_BITS);
    /* Defined bytes everywhere: word reads past the data stay harmless
     * (and quiet under valgrind). */
    memset(mem, 0, ws_deflate_mem_size(window_bits));
    return 0;
}

void ws_deflate_reset(ws_deflate_t *z, int keep_window)
{
    if (!keep_window) {
        z->fill = z->pos = z->ins = z->block_start = 0;
        memset(z->head, 0, 2 * ((size_t)1 << WS_DEFLATE_HASH_BITS));
    }
    z->nsyms = 0;
    memset(z->freq_ll, 0, sizeof z->freq_ll);
    memset(z->freq_d, 0, sizeof z->freq_d);
    z->block_start = z->pos;
    z->phase = PH_IDLE;
    z->flush = 0;
    z->bitbuf = 0;
    z->bitcnt = 0;
}

static void absorb(ws_deflate_t *z, struct io *io)
{
    size_t n = (size_t)(io->in_end - io->in);
    if (n > z->win_cap - z->fill)
        n = z->win_cap - z->fill;
    if (n) /* in may be NULL when in_len is 0 */
        memcpy(z->win + z->fill, io->in, n);
    z->fill += (uint32_t)n;
    io->in += n;
}

/* One step of the compressor: GO_ON, or the result to return. */
static int advance(ws_deflate_t *z, struct io *io, int flush)
{
    if (z->phase != PH_IDLE)
        return emit(z, io) ? GO_ON : WS_Z_NEED_OUTPUT;
    absorb(z, io);
    int flushing = flush != WS_Z_NO_FLUSH && io->in == io->in_end;
    parse(z, flushing);
    if (z->nsyms >= WS_DEFLATE_SYMS - 1) {
        begin_block(z, 0);
        return GO_ON;
    }
    if (io->in != io->in_end) { /* the window is full: slide it */
        if (z->block_start < z->pos - z->wsize)
            begin_block(z, 0);
        else
            slide(z);
        return GO_ON;
    }
    if (!flushing)
        return WS_Z_NEED_INPUT;
    if (z->nsyms) {
        /* FINISH: the last block is the final one, as zlib does it. */
        begin_block(z, flush == WS_Z_FINISH);
        if (flush == WS_Z_FINISH)
            z->flush = flush;
        return GO_ON;
    }
    if (!z->flush) {
        z->flush = flush;
        begin_marker(z, flush);
        return GO_ON;
    }
    if (z->bitcnt) { /* after a final block: its last partial byte */
        z->phase = PH_BITS;
        return GO_ON;
    }
    z->flush = 0;
    return WS_Z_DONE;
}

int ws_deflate_run(ws_deflate_t *z, const uint8_t *in, size_t in_len,
                   size_t *in_used, uint8_t *out, size_t out_cap,
                   size_t *out_made, int flush)
{
    struct io io = {in, in + in_len, out, out + out_cap};
    int r;
    while ((r = advance(z, &io, flush)) == GO_ON)
        ;
    *in_used = (size_t)(io.in - in);
    *out_made = (size_t)(io.out - out);
    return r;
}
