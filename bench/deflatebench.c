/*
 * deflatebench.c — our DEFLATE codec side by side with zlib (levels 1
 * and 6), single core, data in memory, window bits 15, raw deflate:
 *
 *   deflatebench [--smoke] [--time S] [--runs N] [--size BYTES]
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
 * Every stream is decoded and compared with its input before it is timed.
 */
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "deflate.h"

#include <time.h>

static double opt_time = 0.3;
static int opt_runs = 3;
static int opt_smoke = 0;
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
    if (ws_deflate_run(&dstate, j->c->p, j->c->len, &used, j->z, j->zcap,
                       &made, WS_Z_SYNC) != WS_Z_DONE)
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

static void ours_decompress(const uint8_t *z, size_t zn, uint8_t *out,
                            size_t n)
{
    size_t used, made;
    ws_inflate_init(&istate, 15, iwindow);
    int r = ws_inflate_run(&istate, z, zn, &used, out, n, &made);
    if (r != WS_Z_NEED_INPUT || made != n)
        die("our inflate failed");
}

static void zlib_decompress(const uint8_t *z, size_t zn, uint8_t *out,
                            size_t n)
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
        double imb = measure(j->ours ? pass_decompress_ours
                                     : pass_decompress_zlib,
                             j, j->z, j->zn);
        printf("| %-7s | %-6s %d | %6.2f %% | %9.1f | %9.1f |\n", c->name,
               j->ours ? "ours" : "zlib", j->level,
               100.0 * (double)j->zn / (double)c->len, dmb, imb);
    }
    /* The decoders on one and the same stream: zlib -6's. */
    double ours = measure(pass_decompress_ours, &jobs[3], jobs[3].z,
                          jobs[3].zn);
    double zlib = measure(pass_decompress_zlib, &jobs[3], jobs[3].z,
                          jobs[3].zn);
    printf("| %-7s | zlib-6 stream | inflate ours %.1f, zlib %.1f MB/s "
           "(%.2fx) | | |\n", c->name, ours, zlib, ours / zlib);
    for (int i = 0; i < 4; i++) {
        free(jobs[i].z);
        free(jobs[i].back);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: deflatebench [--smoke] [--time S] [--runs N] "
                    "[--size BYTES]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            opt_smoke = 1;
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
    corpus_t cs[4] = {corpus_text(opt_size, 1), corpus_json(opt_size, 2),
                      corpus_binary(opt_size, 3), corpus_source(opt_size)};
    printf("DEFLATE, window bits 15, one message of each corpus (%zu bytes; "
           "source: %zu), sync flush.\n", opt_size, cs[3].len);
    printf("Memory: our inflate %zu B + 32768 B window; our deflate "
           "%zu B + %zu B work area.\n\n", sizeof(ws_inflate_t),
           sizeof(ws_deflate_t), ws_deflate_mem_size(15));
    printf("| corpus  | codec  L | size      | deflate MB/s | inflate MB/s "
           "|\n");
    printf("|---------|----------|-----------|-----------|-----------|\n");
    for (int i = 0; i < 4; i++) {
        bench_corpus(&cs[i]);
        free(cs[i].p);
    }
    if (opt_smoke)
        printf("deflatebench --smoke: every stream round-tripped\n");
    return 0;
}
