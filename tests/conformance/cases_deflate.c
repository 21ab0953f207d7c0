/*
 * cases_deflate.c — permessage-deflate (RFC 7692), in the style of
 * Autobahn sections 12 (compressed echoes: corpora x sizes x the client's
 * auto-fragmentation) and 13 (the same under each parameter set the
 * client offers, and a list of offers to fall back through), plus the
 * failures: offers the server must decline, corrupt data (1007), a
 * decompression bomb (1009), RSV1 where it does not belong (1002).
 *
 * Our side compresses and inflates with zlib (pmd.c), the oracle; every
 * echo is inflated under the agreed parameters and compared by hash.
 */
#include "pmd.h"
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ corpora */

enum { C_ARTIFICIAL, C_TEXT, C_JSON, C_BINARY, C_RANDOM, C_COUNT };
static const char *const corpus_name[C_COUNT] = {
    "artificial", "English text", "JSON", "structured binary", "random"};
#define CORPUS_LEN (256u * 1024u)
static uint8_t *corpora[C_COUNT];

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void make_text(uint8_t *p, size_t n, uint32_t *s)
{
    static const char *const words[] = {
        "the",      "of",     "and",        "to",      "a",      "in",
        "that",     "is",     "was",        "he",      "for",    "it",
        "with",     "as",     "his",        "on",      "be",     "at",
        "by",       "I",      "Denmark",    "Hamlet",  "ghost",  "king",
        "queen",    "player", "sword",      "whether", "nobler", "suffer",
        "slings",   "arrows", "outrageous", "fortune", "sea",    "troubles",
        "opposing", "end",    "sleep",      "dream"};
    size_t i = 0;
    while (i < n) {
        const char *w = words[rnd(s) % (sizeof words / sizeof words[0])];
        for (; *w && i < n; w++)
            p[i++] = (uint8_t)*w;
        if (i < n)
            p[i++] = rnd(s) % 12 == 0 ? '\n' : rnd(s) % 9 == 0 ? ',' : ' ';
    }
}

static void make_json(uint8_t *p, size_t n, uint32_t *s)
{
    char rec[160];
    size_t i = 0;
    for (unsigned id = 0; i < n; id++) {
        int k =
            snprintf(rec, sizeof rec,
                     "{\"id\":%u,\"user\":\"user%u\",\"score\":%u.%02u,"
                     "\"active\":%s,\"tags\":[\"t%u\",\"t%u\"]},",
                     id, rnd(s) % 1000, rnd(s) % 10000, rnd(s) % 100,
                     rnd(s) & 1 ? "true" : "false", rnd(s) % 20, rnd(s) % 20);
        for (int j = 0; j < k && i < n; j++)
            p[i++] = (uint8_t)rec[j];
    }
}

static void make_corpora(void)
{
    uint32_t s = 2463534242u;
    for (int c = 0; c < C_COUNT; c++) {
        uint8_t *p = corpora[c] = malloc(CORPUS_LEN);
        for (size_t i = 0; i < CORPUS_LEN; i++) {
            if (c == C_ARTIFICIAL) /* Autobahn 12.1: a small alphabet */
                p[i] = (uint8_t)("*#*#-*-#"[(i / 3 + i / 97) & 7]);
            else if (c == C_BINARY) /* little-endian counters and flags */
                p[i] = (i & 7) < 4 ? (uint8_t)((i / 8) >> (8 * (i & 3)))
                                   : (uint8_t)((i / 64) & 3);
            else if (c == C_RANDOM)
                p[i] = (uint8_t)rnd(&s);
        }
        if (c == C_TEXT)
            make_text(p, CORPUS_LEN, &s);
        else if (c == C_JSON)
            make_json(p, CORPUS_LEN, &s);
    }
}

static int corpus_op(int c)
{
    return c == C_BINARY || c == C_RANDOM ? 0x2 : 0x1;
}

/* Message i of a case: a slice of its corpus that differs per message. */
static const uint8_t *message(int c, size_t size, long i)
{
    return corpora[c] + ((size_t)i * 7919u) % (CORPUS_LEN - size + 1);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* --------------------------------------------------- parameter sets */

/* An offer, what the 101 must say, and what it must not. */
typedef struct offer {
    const char *name;
    const char *header; /* Sec-WebSocket-Extensions we send */
    int client_bits;    /* our client_max_window_bits value (15: bare,
                           0: not offered) */
    const char *must;   /* substrings the response must contain, ';'-less */
    const char *must2;
} offer_t;

static const offer_t offers[] = {
    {"default", "permessage-deflate", 0, NULL, NULL},
    {"client_max_window_bits (as browsers)",
     "permessage-deflate; client_max_window_bits", 15, NULL, NULL},
    {"no context takeover, both",
     "permessage-deflate; client_no_context_takeover; "
     "server_no_context_takeover",
     15, "server_no_context_takeover", NULL},
    {"max window bits 9, both",
     "permessage-deflate; client_max_window_bits=9; "
     "server_max_window_bits=9",
     9, "server_max_window_bits=9", NULL},
    {"max window bits 15, both",
     "permessage-deflate; client_max_window_bits=15; "
     "server_max_window_bits=15",
     15, "server_max_window_bits=15", NULL},
    {"no context takeover and window bits 9, both",
     "permessage-deflate; client_no_context_takeover; "
     "server_no_context_takeover; client_max_window_bits=9; "
     "server_max_window_bits=9",
     9, "server_no_context_takeover", "server_max_window_bits=9"},
    /* Autobahn 13.7 style: the server falls back to the first offer it
     * can honour (RFC 7692 §7.1: 7 is out of range, x=1 unknown). */
    {"list of offers, third acceptable",
     "permessage-deflate; server_max_window_bits=7, "
     "permessage-deflate; x=1, "
     "permessage-deflate; server_no_context_takeover; "
     "server_max_window_bits=10, permessage-deflate",
     0, "server_no_context_takeover", "server_max_window_bits=10"},
};
#define NOFFERS (sizeof offers / sizeof offers[0])

/* Open with the offer; the 101 must accept permessage-deflate as the
 * offer demands. Sets up e. 0 or fail(). */
static int open_deflate(peer_t *t, const offer_t *o, pmd_end_t *e)
{
    char hdr[512], head[4096], v[512], err[256];

    snprintf(hdr, sizeof hdr, "Sec-WebSocket-Extensions: %s\r\n", o->header);
    memset(e, 0, sizeof *e);
    if (ws_open_with(t, case_port(), hdr, head, sizeof head) != 0)
        return -1;
    if (!header_value(head, "Sec-WebSocket-Extensions", v, sizeof v))
        return fail(t,
                    "offer '%s' not accepted (no Sec-WebSocket-Extensions"
                    " in the 101)",
                    o->header);
    if (pmd_parse(&e->p, v, o->client_bits, err, sizeof err) != 0)
        return fail(t, "%s", err);
    if ((o->must && !strstr(v, o->must)) || (o->must2 && !strstr(v, o->must2)))
        return fail(t, "101 agreed '%s', expected %s%s%s", v, o->must,
                    o->must2 ? " and " : "", o->must2 ? o->must2 : "");
    if (pmd_start(e) != 0)
        return fail(t, "zlib: cannot set up %d/%d-bit streams",
                    e->p.client_bits, e->p.server_bits);
    return 0;
}

/* ------------------------------------------------------- sending */

/* One message: compressed (RSV1 on the first frame) unless plain, its
 * payload cut into frames of frag bytes (0 = one frame), appended to out
 * (RFC 7692 §6.1: the bits go on the first frame only). */
static int put_message(pmd_end_t *e, buf_t *out, int op, const uint8_t *p,
                       size_t n, size_t frag, int plain)
{
    buf_t z = {0};
    const uint8_t *data = p;
    size_t len = n, off = 0;

    if (!plain) {
        if (pmd_compress(e, p, n, &z) != 0) {
            buf_free(&z);
            return -1;
        }
        data = z.p;
        len = z.len;
    }
    do {
        size_t k = frag && len - off > frag ? frag : len - off;
        frame_spec_t s = {.fin = off + k == len,
                          .op = off ? 0 : op,
                          .rsv = off || plain ? 0 : 4,
                          .masked = 1};
        frame_put(out, &s, data + off, k);
        off += k;
    } while (off < len);
    buf_free(&z);
    return 0;
}

/* ------------------------------------------------------- receiving */

/* The next echo: frames of one message, inflated when RSV1 was set on
 * its first frame. *compressed and *wire_len say how it came. */
static int recv_message(peer_t *t, pmd_end_t *e, int *op, buf_t *msg,
                        int *compressed, size_t *wire_len)
{
    buf_t z = {0};
    char err[256];
    int first = 1, r = 0;

    *compressed = 0;
    for (;;) {
        frame_t f;
        if (recv_frame(t, &f) < 0)
            return -1;
        if (f.op >= 8) {
            int bad = f.op != 0x9 && f.op != 0xA;
            frame_free(&f);
            if (bad)
                return fail(t, "a control frame (op %d) instead of the echo",
                            f.op);
            continue;
        }
        if (f.masked || (first ? f.op == 0 : f.op != 0) ||
            (f.rsv & ~(first ? 4 : 0))) {
            r = fail(t, "echo frame op %d rsv %d masked %d (%s frame)", f.op,
                     f.rsv, f.masked, first ? "first" : "continuation");
            frame_free(&f);
            break;
        }
        if (first) {
            *op = f.op;
            *compressed = (f.rsv & 4) != 0;
        }
        first = 0;
        buf_put(&z, f.payload.p, f.payload.len);
        int fin = f.fin;
        frame_free(&f);
        if (fin)
            break;
    }
    *wire_len = z.len;
    if (r == 0 && *compressed &&
        pmd_inflate(e, z.p, z.len, msg, err, sizeof err) != 0)
        r = fail(t, "echo does not inflate: %s", err);
    else if (r == 0 && !*compressed)
        buf_put(msg, z.p, z.len);
    buf_free(&z);
    return r;
}

/* ------------------------------------------------------------ cases */

#define BATCH 16

/* Messages per case: many small ones, fewer large ones (about 1 MiB). */
static long count_for(size_t size)
{
    long n = (long)((1u << 20) / size);
    return n > 100 ? 100 : n < 6 ? 6 : n;
}

/* a = corpus, b = size, c = auto-fragmentation; data = the offer.
 * Messages go in batches of BATCH; every 7th uncompressed (RFC 7692 §6:
 * a message may be sent either way; the context is not touched). */
static int c_echo_deflate(peer_t *t, const tcase_t *k)
{
    const offer_t *o = (const offer_t *)(const void *)k->data;
    size_t size = (size_t)k->b;
    long n = count_for(size);
    int corpus = (int)k->a, op = corpus_op(corpus), r;
    pmd_end_t e;

    if ((r = open_deflate(t, o, &e)) != 0)
        goto out;
    for (long i = 0; i < n && r == 0; i += BATCH) {
        long end = i + BATCH < n ? i + BATCH : n;
        buf_t wire = {0};
        for (long j = i; j < end && r == 0; j++)
            r = put_message(&e, &wire, op, message(corpus, size, j), size,
                            (size_t)k->c, j % 7 == 6);
        if (r == 0)
            r = send_buf(t, &wire);
        else
            fail(t, "zlib could not compress message %ld", i);
        buf_free(&wire);
        for (long j = i; j < end && r == 0; j++) {
            const uint8_t *want = message(corpus, size, j);
            buf_t got = {0};
            int gop = 0, comp;
            size_t wlen = 0;
            r = recv_message(t, &e, &gop, &got, &comp, &wlen);
            if (r == 0 && (gop != op || got.len != size ||
                           fnv1a(got.p, got.len) != fnv1a(want, size)))
                r = fail(t,
                         "echo %ld: op %d, %zu bytes, hash %016llx; "
                         "sent op %d, %zu bytes, hash %016llx",
                         j, gop, got.len,
                         (unsigned long long)fnv1a(got.p, got.len), op, size,
                         (unsigned long long)fnv1a(want, size));
            /* Compressible text is sent back compressed and smaller. */
            if (r == 0 && corpus != C_RANDOM && size >= 256 &&
                (!comp || wlen >= size))
                r = fail(t,
                         "echo %ld of %zu compressible bytes came %s "
                         "(%zu bytes on the wire)",
                         j, size, comp ? "no smaller" : "uncompressed", wlen);
            buf_free(&got);
        }
    }
    if (r == 0) {
        buf_t bye = {0};
        cclose(&bye, 1000, NULL, 0);
        r = send_buf(t, &bye) || expect_close(t, 1000) ? -1 : 0;
        buf_free(&bye);
    }
out:
    pmd_end(&e);
    return r;
}

/* An offer the server must decline (RFC 7692 §7.1): 101 without
 * extensions, and RSV1 is then a protocol error. data = the header. */
static int c_declined(peer_t *t, const tcase_t *k)
{
    char hdr[512], head[4096], v[512];
    buf_t out = {0};
    frame_spec_t s = {.fin = 1, .op = 1, .rsv = 4, .masked = 1};

    snprintf(hdr, sizeof hdr, "Sec-WebSocket-Extensions: %s\r\n",
             (const char *)k->data);
    if (ws_open_with(t, case_port(), hdr, head, sizeof head) != 0)
        return -1;
    if (header_value(head, "Sec-WebSocket-Extensions", v, sizeof v))
        return fail(t, "server accepted '%s' for an offer it must decline", v);
    frame_put(&out, &s, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    int r = send_buf(t, &out) || expect_close(t, 1002) ? -1 : 0;
    buf_free(&out);
    return r;
}

/* What must fail the connection once deflate is agreed: a = the close
 * code, data/len = the frames' payload, b = how it is framed. */
enum { F_CORRUPT, F_BOMB, F_RSV1_CONT, F_RSV1_PING, F_RSV2 };

static int c_deflate_fails(peer_t *t, const tcase_t *k)
{
    static const offer_t plain = {"default", "permessage-deflate", 0, NULL,
                                  NULL};
    pmd_end_t e;
    buf_t out = {0};
    int r = open_deflate(t, &plain, &e);

    if (r == 0) {
        frame_spec_t s = {.fin = 1, .op = 1, .rsv = 4, .masked = 1};
        if (k->b == F_BOMB) { /* 1 MiB of zeros, about 1 KiB compressed */
            uint8_t *zeros = calloc(1, 1u << 20);
            r = put_message(&e, &out, 0x2, zeros, 1u << 20, 0, 0);
            free(zeros);
        } else if (k->b == F_RSV1_CONT) {
            s.fin = 0;
            s.rsv = 0;
            frame_put(&out, &s, "ab", 2);
            s.fin = 1;
            s.op = 0;
            s.rsv = 4;
            frame_put(&out, &s, "cd", 2);
        } else {
            if (k->b == F_RSV1_PING)
                s.op = 0x9;
            if (k->b == F_RSV2)
                s.rsv = 2;
            frame_put(&out, &s, k->data, k->len);
        }
        r = r || send_buf(t, &out) || expect_close(t, (unsigned)k->a) ? -1 : 0;
    }
    buf_free(&out);
    pmd_end(&e);
    return r;
}

/* ---------------------------------------------------------- register */

static const size_t sizes[] = {16, 64, 256, 1024, 4096, 16384, 65536, 131072};
static const size_t frags[] = {0, 256, 1024, 4096, 32768};
#define NSIZES (sizeof sizes / sizeof sizes[0])
#define NFRAGS (sizeof frags / sizeof frags[0])

static void register_section12(void)
{
    static const char cat[] = "deflate-12";
    for (int c = 0; c < C_COUNT; c++)
        for (size_t f = 0; f < NFRAGS; f++)
            for (size_t s = 0; s < NSIZES; s++)
                add_case(cat, c_echo_deflate, c, (long)sizes[s], (long)frags[f],
                         &offers[0], 0, "%s, %zu B x %ld, auto-fragment %zu",
                         corpus_name[c], sizes[s], count_for(sizes[s]),
                         frags[f]);
    /* --stream: inflated as it arrives, each slice echoed as a fragment of
     * a message compressed as a stream. */
    for (size_t s = 0; s < NSIZES; s++)
        add_case(cat, c_echo_deflate, C_JSON, (long)sizes[s], 1024, &offers[0],
                 0,
                 "--stream: JSON, %zu B x %ld, auto-fragment "
                 "1024",
                 sizes[s], count_for(sizes[s]))
            ->srv = SRV_STREAM;
}

static void register_section13(void)
{
    static const char cat[] = "deflate-13";
    static const size_t frag13[] = {0, 4096};
    for (size_t o = 0; o < NOFFERS; o++)
        for (int c = C_TEXT; c <= C_JSON; c++)
            for (size_t f = 0; f < 2; f++)
                for (size_t s = 0; s < NSIZES; s++)
                    add_case(cat, c_echo_deflate, c, (long)sizes[s],
                             (long)frag13[f], &offers[o], 0,
                             "%s: %s, %zu B x %ld, auto-fragment %zu",
                             offers[o].name, corpus_name[c], sizes[s],
                             count_for(sizes[s]), frag13[f]);
}

static void register_failures(void)
{
    static const char cat[] = "deflate-fail";
    static const char *const declined[] = {
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=07",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits",
        ("permessage-deflate; server_no_context_takeover; "
         "server_no_context_takeover"),
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; unknown_parameter",
        "x-webkit-deflate-frame",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        add_case(cat, c_declined, 0, 0, 0, declined[i], 0,
                 "declined: '%s' -> 101 without it, RSV1 -> 1002", declined[i]);
    add_case(cat, c_deflate_fails, 1007, F_CORRUPT, 0, "\xff\xff\xff\xff", 4,
             "corrupt compressed data -> 1007");
    add_case(cat, c_deflate_fails, 1007, F_CORRUPT, 0, "\x06\x00", 2,
             "block type 3 (reserved, RFC 1951 §3.2.3) -> 1007");
    add_case(cat, c_deflate_fails, 1009, F_BOMB, 0, NULL, 0,
             "1 MiB of zeros compressed to 1 KiB, --max-message 1024 -> 1009")
        ->srv = SRV_SMALL;
    add_case(cat, c_deflate_fails, 1002, F_RSV1_CONT, 0, NULL, 0,
             "RSV1 on a continuation frame -> 1002");
    add_case(cat, c_deflate_fails, 1002, F_RSV1_PING, 0, "", 0,
             "RSV1 on a ping (control frames are never compressed) -> 1002");
    add_case(cat, c_deflate_fails, 1002, F_RSV2, 0,
             "\xf2\x48\xcd\xc9\xc9"
             "\x07\x00",
             7, "RSV2 with deflate agreed -> 1002");
}

void register_deflate(void)
{
    make_corpora();
    register_section12();
    register_section13();
    register_failures();
}
