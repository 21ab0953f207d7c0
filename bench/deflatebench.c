/*
 * deflatebench.c — our DEFLATE codec side by side with zlib (levels 1
 * and 6), single core, data in memory, window bits 15, raw deflate:
 *
 *   deflatebench [--smoke] [--small] [--msg BYTES] [--time S] [--runs N]
 *                [--size BYTES]
 *
 * Corpora (tests/deflate/corpus.h, generated, nothing downloaded):
 * English-like text, JSON records, structured binary, the repository's
 * own sources. For each: compressed size as a percentage of the input
 * (smaller is better), compression MB/s (of input) and decompression MB/s
 * (of output) of each codec on its own stream, and then both decoders on
 * the very same zlib -6 stream. A figure is the median of --runs (3) runs
 * of at least --time (0.3) seconds. --smoke: small inputs, one short run,
 * checks that every stream round-trips; no timing is meaningful.
 *
 * Then small messages as permessage-deflate sends them (64 B to 16 KiB
 * of JSON and of text; --small: only this table, --msg: only one size):
 * compress + decompress CPU time per message and the size as sent, with
 * context takeover and without, ours and zlib with the same settings.
 *
 * Every stream is decoded and compared with its input before it is timed.
 */
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "deflate.h"

#include <time.h>

static double opt_time = 0.3;
static int opt_runs = 3;
static int opt_smoke = 0;
static int opt_small = 0;  /* only the small-message table */
static size_t opt_msg = 0; /* --small: only this message size */
static size_t opt_size = 1u << 20;

static void die(const char *what)
{
    fprintf(stderr, "deflatebench: %s\n", what);
    exit(1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: per-message figures on a shared machine are
 * less disturbed by other processes than wall time would be. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ codecs */

struct job {
    const corpus_t *c;
    int ours, level;
    uint8_t *z; /* compressed */
    size_t zn, zcap;
    uint8_t *back; /* decompressed */
};

static ws_deflate_t dstate;
static uint16_t dmem[40000];
static ws_inflate_t istate;
static uint8_t iwindow[1u << 15];

static void ours_compress(struct job *j)
{
    size_t used, made;
    if (ws_deflate_init(&dstate, 15, j->level, dmem))
        die("ws_deflate_init");
    if (ws_deflate_run(&dstate, j->c->p, j->c->len, &used, j->z, j->zcap, &made,
                       WS_Z_SYNC) != WS_Z_DONE)
        die("our deflate did not finish");
    j->zn = made;
}

static void zlib_compress(struct job *j)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, j->level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY))
        die("deflateInit2");
    s.next_in = j->c->p;
    s.avail_in = (uInt)j->c->len;
    s.next_out = j->z;
    s.avail_out = (uInt)j->zcap;
    if (deflate(&s, Z_SYNC_FLUSH) != Z_OK)
        die("zlib deflate failed");
    j->zn = j->zcap - s.avail_out;
    deflateEnd(&s);
}

static void ours_decompress(const uint8_t *z, size_t zn, uint8_t *out, size_t n)
{
    size_t used, made;
    ws_inflate_init(&istate, 15, iwindow);
    int r = ws_inflate_run(&istate, z, zn, &used, out, n, &made);
    if (r != WS_Z_NEED_INPUT || made != n)
        die("our inflate failed");
}

static void zlib_decompress(const uint8_t *z, size_t zn, uint8_t *out, size_t n)
{
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -15))
        die("inflateInit2");
    s.next_in = (Bytef *)(uintptr_t)z;
    s.avail_in = (uInt)zn;
    s.next_out = out;
    s.avail_out = (uInt)n;
    int r = inflate(&s, Z_SYNC_FLUSH);
    if ((r != Z_OK && r != Z_BUF_ERROR) || s.total_out != n)
        die("zlib inflate failed");
    inflateEnd(&s);
}

/* ------------------------------------------------------------ timing */

typedef void (*pass_fn)(struct job *j, const uint8_t *z, size_t zn);

static void pass_compress(struct job *j, const uint8_t *z, size_t zn)
{
    (void)z;
    (void)zn;
    (j->ours ? ours_compress : zlib_compress)(j);
}

static void pass_decompress_ours(struct job *j, const uint8_t *z, size_t zn)
{
    ours_decompress(z, zn, j->back, j->c->len);
}

static void pass_decompress_zlib(struct job *j, const uint8_t *z, size_t zn)
{
    zlib_decompress(z, zn, j->back, j->c->len);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* MB/s of the corpus size: the median of opt_runs runs. */
static double measure(pass_fn fn, struct job *j, const uint8_t *z, size_t zn)
{
    double mbs[16];
    int runs = opt_runs < 16 ? opt_runs : 16;
    for (int r = 0; r < runs; r++) {
        long passes = 0;
        double t0 = now(), t;
        do {
            fn(j, z, zn);
            passes++;
            t = now() - t0;
        } while (t < opt_time);
        mbs[r] = (double)j->c->len * (double)passes / t / 1e6;
    }
    qsort(mbs, (size_t)runs, sizeof mbs[0], cmp_double);
    return mbs[runs / 2];
}

/* ------------------------------------------------------------ messages */

/*
 * Small messages, as permessage-deflate sends them (RFC 7692 §7.2.1):
 * one stream, each message compressed with a sync flush, its final
 * 00 00 ff ff dropped, and inflated with them put back; with context
 * takeover (the history carries over) and without (both ends reset per
 * message). The figure is compress + decompress time per message.
 */
#define MSG_POOL (1u << 20) /* bytes of distinct messages, cycled */

/* Enough distinct messages that a cycle is more than the 32 KiB window:
 * with context takeover no message finds its own earlier copy. */
static size_t msg_count(size_t len)
{
    size_t n = 2 * 32768 / len + 1;
    return n < 64 ? 64 : n;
}

struct msgs {
    const uint8_t *p; /* count messages of len bytes, back to back */
    size_t len, count;
    int ours, level, takeover;
    uint8_t z[20000], back[16384 + 64];
    size_t zbytes; /* compressed bytes of the last cycle */
    z_stream zd, zi;
};

static ws_deflate_t mdef;
static ws_inflate_t minf;
static uint8_t mwindow[1u << 15];

static void msgs_open(struct msgs *m)
{
    if (m->ours) {
        if (ws_deflate_init(&mdef, 15, m->level, dmem) ||
            ws_inflate_init(&minf, 15, mwindow))
            die("ws_deflate_init / ws_inflate_init");
        return;
    }
    memset(&m->zd, 0, sizeof m->zd);
    memset(&m->zi, 0, sizeof m->zi);
    if (deflateInit2(&m->zd, m->level, Z_DEFLATED, -15, 8,
                     Z_DEFAULT_STRATEGY) ||
        inflateInit2(&m->zi, -15))
        die("deflateInit2 / inflateInit2");
}

static void msgs_close(struct msgs *m)
{
    if (!m->ours) {
        deflateEnd(&m->zd);
        inflateEnd(&m->zi);
    }
}

static size_t ours_message(struct msgs *m, const uint8_t *msg)
{
    static const uint8_t tail[4] = {0, 0, 0xff, 0xff};
    size_t used, zn, got;
    if (ws_deflate_run(&mdef, msg, m->len, &used, m->z, sizeof m->z - 4, &zn,
                       WS_Z_MESSAGE) != WS_Z_DONE)
        die("our deflate did not finish a message");
    ws_deflate_reset(&mdef, m->takeover);
    memcpy(m->z + zn, tail, 4);
    ws_inflate_reset(&minf, m->takeover);
    if (ws_inflate_run(&minf, m->z, zn + 4, &used, m->back, sizeof m->back,
                       &got) != WS_Z_NEED_INPUT ||
        got != m->len)
        die("our inflate failed on a message");
    return zn;
}

static size_t zlib_message(struct msgs *m, const uint8_t *msg)
{
    z_stream *d = &m->zd, *i = &m->zi;
    d->next_in = (Bytef *)(uintptr_t)msg;
    d->avail_in = (uInt)m->len;
    d->next_out = m->z;
    d->avail_out = sizeof m->z;
    if (deflate(d, Z_SYNC_FLUSH) != Z_OK || d->avail_in)
        die("zlib deflate failed on a message");
    size_t zn = sizeof m->z - d->avail_out; /* ends with 00 00 ff ff */
    if (!m->takeover)
        deflateReset(d);
    i->next_in = m->z;
    i->avail_in = (uInt)zn;
    i->next_out = m->back;
    i->avail_out = sizeof m->back;
    int r = inflate(i, Z_SYNC_FLUSH);
    if (r != Z_OK || sizeof m->back - i->avail_out != m->len)
        die("zlib inflate failed on a message");
    if (!m->takeover)
        inflateReset(i);
    return zn - 4; /* as sent: without the 00 00 ff ff */
}

/* One cycle through the messages; checks each round trip. */
static void msgs_cycle(struct msgs *m)
{
    m->zbytes = 0;
    for (size_t k = 0; k < m->count; k++) {
        const uint8_t *msg = m->p + k * m->len;
        m->zbytes += m->ours ? ours_message(m, msg) : zlib_message(m, msg);
        if (memcmp(m->back, msg, m->len))
            die("a message did not round-trip");
    }
}

/* CPU microseconds per message: the median of opt_runs runs. */
static double msgs_measure(struct msgs *m)
{
    double us[16];
    int runs = opt_runs < 16 ? opt_runs : 16;
    msgs_open(m);
    msgs_cycle(m); /* warm up; with takeover the history fills */
    for (int r = 0; r < runs; r++) {
        long cycles = 0;
        double t0 = cpu_now(), t;
        do {
            msgs_cycle(m);
            cycles++;
            t = cpu_now() - t0;
        } while (t < opt_time);
        us[r] = t * 1e6 / ((double)cycles * (double)m->count);
    }
    msgs_close(m);
    qsort(us, (size_t)runs, sizeof us[0], cmp_double);
    return us[runs / 2];
}

static void bench_messages(const char *name, const corpus_t *c, size_t len)
{
    for (int takeover = 1; takeover >= 0; takeover--) {
        printf("| %-4s %5zu | %-7s |", name, len, takeover ? "on" : "off");
        for (int level = 1; level <= 6; level += 5) {
            for (int ours = 1; ours >= 0; ours--) {
                struct msgs *m = calloc(1, sizeof *m);
                if (!m)
                    die("out of memory");
                m->p = c->p;
                m->len = len;
                m->count = msg_count(len);
                m->ours = ours;
                m->level = level;
                m->takeover = takeover;
                double us = msgs_measure(m);
                printf(" %7.2f %5.1f%% |", us,
                       100.0 * (double)m->zbytes / (double)(len * m->count));
                free(m);
            }
        }
        printf("\n");
    }
}

static void bench_small(void)
{
    static const size_t sizes[] = {64, 256, 1024, 4096, 16384};
    size_t n = opt_smoke ? 2 : sizeof sizes / sizeof sizes[0];
    corpus_t json = corpus_json(MSG_POOL, 5);
    corpus_t text = corpus_text(MSG_POOL, 6);
    if (json.len < MSG_POOL || text.len < MSG_POOL)
        die("corpus shorter than asked");
    printf("\nSmall messages (64 or more distinct, cycled): compress + "
           "decompress CPU µs per message, and size as sent; raw deflate, "
           "window bits 15, sync flush per message; context takeover on "
           "or off.\n\n");
    printf("| msg  bytes | takeover | ours 1 µs   size | zlib 1 µs   size "
           "| ours 6 µs   size | zlib 6 µs   size |\n");
    printf("|------------|----------|------------------|----------------"
           "--|------------------|------------------|\n");
    for (size_t i = 0; i < n; i++)
        if (!opt_msg || opt_msg == sizes[i])
            bench_messages("json", &json, sizes[i]);
    for (size_t i = 0; i < n; i++)
        if (!opt_msg || opt_msg == sizes[i])
            bench_messages("text", &text, sizes[i]);
    free(json.p);
    free(text.p);
}

/* ------------------------------------------------------------ table */

static void bench_corpus(const corpus_t *c)
{
    static const struct {
        int ours, level;
    } rows[] = {{1, 1}, {0, 1}, {1, 6}, {0, 6}};
    struct job jobs[4];
    for (int i = 0; i < 4; i++) {
        struct job *j = &jobs[i];
        j->c = c;
        j->ours = rows[i].ours;
        j->level = rows[i].level;
        j->zcap = c->len + c->len / 8 + 4096;
        j->z = corpus_alloc(j->zcap);
        j->back = corpus_alloc(c->len);
        pass_compress(j, NULL, 0);
        /* Both decoders must return the input from every stream. */
        ours_decompress(j->z, j->zn, j->back, c->len);
        if (memcmp(j->back, c->p, c->len))
            die("round trip through our inflate differs");
        zlib_decompress(j->z, j->zn, j->back, c->len);
        if (memcmp(j->back, c->p, c->len))
            die("round trip through zlib inflate differs");
        double dmb = measure(pass_compress, j, NULL, 0);
        double imb =
            measure(j->ours ? pass_decompress_ours : pass_decompress_zlib, j,
                    j->z, j->zn);
        printf("| %-7s | %-6s %d | %6.2f %% | %9.1f | %9.1f |\n", c->name,
               j->ours ? "ours" : "zlib", j->level,
               100.0 * (double)j->zn / (double)c->len, dmb, imb);
    }
    /* The decoders on one and the same stream: zlib -6's. */
    double ours =
        measure(pass_decompress_ours, &jobs[3], jobs[3].z, jobs[3].zn);
    double zlib =
        measure(pass_decompress_zlib, &jobs[3], jobs[3].z, jobs[3].zn);
    printf("| %-7s | zlib-6 stream | inflate ours %.1f, zlib %.1f MB/s "
           "(%.2fx) | | |\n",
           c->name, ours, zlib, ours / zlib);
    for (int i = 0; i < 4; i++) {
        free(jobs[i].z);
        free(jobs[i].back);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: deflatebench [--smoke] [--small] [--time S] "
                    "[--runs N] [--size BYTES] [--msg BYTES]\n"
                    "  --small      only the small-message table\n"
                    "  --msg BYTES  only that message size (64 256 1024 "
                    "4096 16384)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            opt_smoke = 1;
        else if (!strcmp(argv[i], "--small"))
            opt_small = 1;
        else if (!strcmp(argv[i], "--msg") && i + 1 < argc)
            opt_msg = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--time") && i + 1 < argc)
            opt_time = atof(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            opt_runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            opt_size = (size_t)atol(argv[++i]);
        else
            usage();
    }
    if (opt_smoke) {
        opt_time = 0;
        opt_runs = 1;
        opt_size = 64 * 1024;
    }
    if (opt_runs < 1 || opt_size < 1)
        usage();
    if (opt_small) {
        bench_small();
        return 0;
    }
    corpus_t cs[4] = {corpus_text(opt_size, 1), corpus_json(opt_size, 2),
                      corpus_binary(opt_size, 3), corpus_source(opt_size)};
    printf("DEFLATE, window bits 15, one message of each corpus (%zu bytes; "
           "source: %zu), sync flush.\n",
           opt_size, cs[3].len);
    printf("Memory: our inflate %zu B + 32768 B window; our deflate "
           "%zu B + %zu B work area.\n\n",
           sizeof(ws_inflate_t), sizeof(ws_deflate_t), ws_deflate_mem_size(15));
    printf("| corpus  | codec  L | size      | deflate MB/s | inflate MB/s "
           "|\n");
    printf("|---------|----------|-----------|-----------|-----------|\n");
    for (int i = 0; i < 4; i++) {
        bench_corpus(&cs[i]);
        free(cs[i].p);
    }
    bench_small();
    if (opt_smoke)
        printf("deflatebench --smoke: every stream round-tripped\n");
    return 0;
}
