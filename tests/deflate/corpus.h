/*
 * corpus.h — deterministic test corpora for the DEFLATE codec, shared by
 * the zlib differential test (tests/deflate/zdiff.c) and the benchmark
 * (bench/deflatebench.c): nothing is downloaded, every byte comes from a
 * seeded generator or from the repository's own files.
 *
 *   text        English-like prose (a fixed vocabulary, Zipf-ish word
 *               choice, punctuation and line breaks)
 *   json        an array of records as a web API would send them
 *   binary      structured binary: little-endian counters, small deltas,
 *               fixed-layout records with a few random fields
 *   random      uniformly random bytes (incompressible)
 *   compressed  zlib output of the text corpus (already compressed)
 *   source      the repository's C sources and README.md, concatenated
 *
 * Everything here is static: each program is one translation unit.
 */
#ifndef WS_TEST_CORPUS_H
#define WS_TEST_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct corpus {
    const char *name;
    uint8_t *p;
    size_t len;
} corpus_t;

static inline uint64_t corpus_rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint8_t *corpus_alloc(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "corpus: out of memory\n");
        exit(1);
    }
    return p;
}

/* Append at most what fits; returns the new length. */
static inline size_t corpus_put(uint8_t *p, size_t len, size_t cap,
                                const char *s)
{
    size_t n = strlen(s);
    if (n > cap - len)
        n = cap - len;
    memcpy(p + len, s, n);
    return len + n;
}

static const char *const corpus_words[] = {
    "the",       "of",         "and",         "to",          "a",
    "in",        "is",         "that",        "for",         "it",
    "as",        "was",        "with",        "be",          "by",
    "on",        "not",        "he",          "this",        "are",
    "or",        "his",        "from",        "at",          "which",
    "but",       "have",       "an",          "had",         "they",
    "you",       "were",       "their",       "one",         "all",
    "we",        "can",        "her",         "has",         "there",
    "been",      "if",         "more",        "when",        "will",
    "would",     "who",        "so",          "no",          "message",
    "server",    "connection", "window",      "compression", "frame",
    "protocol",  "browser",    "library",     "extension",   "negotiated",
    "history",   "between",    "through",     "without",     "because",
    "however",   "although",   "perhaps",     "morning",     "evening",
    "garden",    "river",      "mountain",    "question",    "answer",
    "people",    "little",     "another",     "different",   "important",
    "following", "government", "development",
};

static inline corpus_t corpus_text(size_t cap, uint64_t seed)
{
    const size_t nw = sizeof corpus_words / sizeof corpus_words[0];
    corpus_t c = {"text", corpus_alloc(cap), 0};
    int start = 1, col = 0;
    while (c.len < cap) {
        /* Squaring a uniform variate favours the common words. */
        uint64_t r = corpus_rng(&seed), u = r & 0xFFFF;
        size_t i = (size_t)(((u * u) >> 16) * nw >> 16);
        char w[32];
        snprintf(w, sizeof w, "%s", corpus_words[i]);
        if (start)
            w[0] = (char)(w[0] - 32);
        start = 0;
        c.len = corpus_put(c.p, c.len, cap, w);
        col += (int)strlen(w) + 1;
        unsigned p = (unsigned)(r >> 40) % 16;
        const char *sep = p == 0 ? ". " : p == 1 ? ", " : " ";
        if (p == 0)
            start = 1;
        if (col > 70) {
            sep = p == 0 ? ".\n" : "\n";
            col = 0;
        }
        c.len = corpus_put(c.p, c.len, cap, sep);
    }
    return c;
}

static inline corpus_t corpus_json(size_t cap, uint64_t seed)
{
    static const char *const names[] = {"alice", "bob",   "carol", "dave",
                                        "erin",  "frank", "grace", "heidi"};
    static const char *const kinds[] = {"chat", "presence", "typing", "ack"};
    corpus_t c = {"json", corpus_alloc(cap), 0};
    c.len = corpus_put(c.p, c.len, cap, "[");
    for (unsigned id = 1000; c.len < cap; id++) {
        uint64_t r = corpus_rng(&seed);
        char rec[256];
        snprintf(rec, sizeof rec,
                 "{\"id\":%u,\"user\":\"%s\",\"type\":\"%s\",\"ts\":%llu,"
                 "\"room\":\"room-%u\",\"score\":%u.%02u,\"read\":%s},\n",
                 id, names[r % 8], kinds[(r >> 3) % 4],
                 1700000000000ull + id * 37ull + (r >> 50),
                 (unsigned)(r >> 8) % 20, (unsigned)(r >> 16) % 1000,
                 (unsigned)(r >> 26) % 100, (r >> 33) & 1 ? "true" : "false");
        c.len = corpus_put(c.p, c.len, cap, rec);
    }
    return c;
}

static inline corpus_t corpus_binary(size_t cap, uint64_t seed)
{
    corpus_t c = {"binary", corpus_alloc(cap), 0};
    uint32_t counter = 0x10000, value = 5000;
    while (c.len + 16 <= cap) {
        uint64_t r = corpus_rng(&seed);
        uint8_t rec[16];
        counter += 1 + (uint32_t)(r & 3);
        value += (uint32_t)((r >> 8) % 64) - 32;
        for (int i = 0; i < 4; i++) {
            rec[i] = (uint8_t)(counter >> (8 * i));
            rec[4 + i] = (uint8_t)(value >> (8 * i));
        }
        rec[8] = 0x01;
        rec[9] = (uint8_t)((r >> 20) % 4);
        rec[10] = rec[11] = 0;
        for (int i = 0; i < 4; i++)
            rec[12 + i] = (r >> 60) == 0 ? (uint8_t)(r >> (24 + 8 * i)) : 0;
        memcpy(c.p + c.len, rec, 16);
        c.len += 16;
    }
    while (c.len < cap)
        c.p[c.len++] = 0;
    return c;
}

static inline corpus_t corpus_random(size_t cap, uint64_t seed)
{
    corpus_t c = {"random", corpus_alloc(cap), cap};
    for (size_t i = 0; i < cap; i++)
        c.p[i] = (uint8_t)corpus_rng(&seed);
    return c;
}

/* zlib's level-6 output of English-like text, cut to cap bytes. */
static inline corpus_t corpus_compressed(size_t cap, uint64_t seed)
{
    corpus_t t = corpus_text(cap * 3 + 1024, seed);
    corpus_t c = {"compressed", corpus_alloc(cap), 0};
    uLongf n = compressBound((uLong)t.len);
    uint8_t *z = corpus_alloc(n);
    if (compress2(z, &n, t.p, (uLong)t.len, 6) != Z_OK) {
        fprintf(stderr, "corpus: compress2 failed\n");
        exit(1);
    }
    c.len = n < cap ? n : cap;
    memcpy(c.p, z, c.len);
    free(z);
    free(t.p);
    return c;
}

/* The named files of the repository, concatenated (missing ones are
 * skipped); runs from the top of the tree. */
static inline corpus_t corpus_source(size_t cap)
{
    static const char *const files[] = {
        "README.md",     "lib/conn.c", "lib/handshake.c",   "lib/inflate.c",
        "lib/deflate.c", "lib/utf8.c", "lib/frame.c",       "lib/send.c",
        "lib/mask.c",    "lib/sha1.c", "include/wsproto.h",
    };
    corpus_t c = {"source", corpus_alloc(cap), 0};
    for (size_t i = 0; i < sizeof files / sizeof files[0] && c.len < cap; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f)
            continue;
        c.len += fread(c.p + c.len, 1, cap - c.len, f);
        fclose(f);
    }
    return c;
}

#endif /* WS_TEST_CORPUS_H */
