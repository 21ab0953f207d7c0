/* test_store.c — the messenger's durable buffers (store.c, store_log.c):
 * FIFO order, capacity, replay after reopen, the record format byte for
 * byte, torn and corrupt tails, damage anywhere in a log of 300 messages
 * (flipped bytes, zeroed sectors and pages) with exact counts of what is
 * recovered, the copy of a damaged log, format 1 logs, compaction, a
 * model-based random test, and a real kill -9 in the middle of writing. */
#define _GNU_SOURCE
#include "harness.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char th_suite_name[] = "store";

static char dir[256];
static char warnings[4096];

static void collect_warning(void *ctx, const char *msg)
{
    (void)ctx;
    strncat(warnings, msg, sizeof warnings - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static void fresh_dir(void)
{
    char cmd[300];
    snprintf(dir, sizeof dir, "/tmp/wsm-store-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
    warnings[0] = '\0';
}

static store_t *open_store(store_fsync_t mode)
{
    store_t *s = NULL;
    const char *msg = NULL;
    int r = store_open(&s, dir, mode, collect_warning, NULL, &msg);
    if (!CHECK_INT(r, 0))
        fprintf(stderr, "   store_open: %s\n", msg ? msg : "?");
    return s;
}

static char *log_path(void)
{
    static char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, STORE_LOG_NAME);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void push_str(store_t *s, int from, int to, const char *text)
{
    CHECK_INT(store_push(s, (uint8_t)from, (uint8_t)to, text, strlen(text)), 0);
}

static void expect_take(store_t *s, int to, int from, const char *text)
{
    store_msg_t m;
    CHECK_INT(store_take(s, (uint8_t)to, &m), 1);
    CHECK_INT(m.sender, from);
    CHECK_BYTES(m.data, m.len, text, strlen(text));
}

static void fifo_order(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    store_msg_t m;
    CHECK_INT(store_take(s, 2, &m), 0);
    push_str(s, 1, 2, "first");
    push_str(s, 3, 2, "second");
    push_str(s, 1, 7, "other");
    push_str(s, 2, 2, "");
    CHECK_INT(store_count(s, 2), 3);
    expect_take(s, 2, 1, "first");
    expect_take(s, 2, 3, "second");
    expect_take(s, 2, 2, "");
    CHECK_INT(store_take(s, 2, &m), 0);
    expect_take(s, 7, 1, "other");
    uint8_t big[STORE_MAX_PAYLOAD + 1] = {0};
    CHECK_INT(store_push(s, 0, 0, big, sizeof big), -EINVAL);
    CHECK_INT(store_push(s, 0, 0, big, STORE_MAX_PAYLOAD), 0);
    CHECK_INT(store_take(s, 0, &m), 1);
    CHECK_INT(m.len, STORE_MAX_PAYLOAD);
    store_close(s);
}

static void capacity(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_NEVER);
    char text[16];
    for (int i = 0; i < STORE_CAPACITY; i++) {
        snprintf(text, sizeof text, "m%d", i);
        push_str(s, 9, 255, text);
    }
    off_t before = file_size(log_path());
    CHECK_INT(store_push(s, 9, 255, "overflow", 8), 1);
    CHECK_INT(file_size(log_path()), before); /* nothing logged */
    CHECK_INT(store_count(s, 255), STORE_CAPACITY);
    store_close(s);
    s = open_store(STORE_FSYNC_NEVER);
    CHECK_INT(store_count(s, 255), STORE_CAPACITY);
    for (int i = 0; i < STORE_CAPACITY; i++) {
        snprintf(text, sizeof text, "m%d", i);
        expect_take(s, 255, 9, text);
    }
    store_close(s);
}

static void survives_reopen(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_BATCH);
    push_str(s, 1, 2, "a");
    push_str(s, 1, 2, "b");
    push_str(s, 4, 5, "c");
    CHECK_INT(store_sync(s), 0);
    expect_take(s, 2, 1, "a");
    store_close(s);
    s = open_store(STORE_FSYNC_BATCH);
    CHECK_INT(store_count(s, 2), 1);
    expect_take(s, 2, 1, "b");
    expect_take(s, 5, 4, "c");
    CHECK(warnings[0] == '\0');
    store_close(s);
}

static void append_bytes(const void *p, size_t n)
{
    int fd = open(log_path(), O_WRONLY | O_APPEND);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, p, n), (long long)n);
    close(fd);
}

/* The whole log file into *out (malloc'ed); its size. */
static size_t read_log(uint8_t **out)
{
    off_t n = file_size(log_path());
    *out = malloc(n > 0 ? (size_t)n : 1);
    int fd = open(log_path(), O_RDONLY);
    CHECK(fd >= 0 && *out);
    CHECK_INT(read(fd, *out, (size_t)n), n);
    close(fd);
    return (size_t)n;
}

static void write_log(const uint8_t *p, size_t n)
{
    int fd = open(log_path(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, p, n), (long long)n);
    close(fd);
}

/* The copy store_open() kept of a damaged log holds exactly want[n]. */
static void check_copy(const store_t *s, const uint8_t *want, size_t n)
{
    const char *name = store_damaged_copy(s);
    char path[400];
    if (!CHECK(name != NULL))
        return;
    CHECK(strncmp(name, "messenger.log.damaged-", 22) == 0);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK_INT(file_size(path), (long long)n);
    uint8_t *got = malloc(n + 1);
    int fd = open(path, O_RDONLY);
    CHECK_INT(read(fd, got, n + 1), (long long)n);
    close(fd);
    CHECK_BYTES(got, n, want, n);
    free(got);
    CHECK_INT(unlink(path), 0);
}

/* CRC-32C check value (RFC 3720 §B.4 lists CRC-32C; "123456789" is the
 * usual check input) and records byte for byte as PROTOCOL.md shows. */
static void record_format(void)
{
    static const uint8_t digits[] = "123456789";
    uint8_t rec[LOG_MAX_RECORD], want[32];
    CHECK_INT(log_crc32c(0, digits, 9), 0xE3069283u);
    size_t n = log_encode_push(rec, 5, 1, 2, "hi", 2);
    CHECK_BYTES(rec, n, want,
                th_hex("ff a5 05 00 05 00 00 00 01 01 02 68 69 cc 1d 36 f6",
                       want, sizeof want));
    n = log_encode_take(rec, 6, 2);
    CHECK_BYTES(
        rec, n, want,
        th_hex("ff a5 02 00 06 00 00 00 02 02 52 5d af 51", want, sizeof want));
    CHECK_INT(LOG_PUSH_SIZE(254), 269);
}

static void torn_tail(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    push_str(s, 1, 2, "kept one");
    push_str(s, 1, 2, "kept two");
    store_close(s);
    uint8_t *good;
    size_t good_len = read_log(&good);

    /* Every way the next PUSH record can be cut short by a crash. */
    uint8_t rec[LOG_MAX_RECORD];
    size_t n = log_encode_push(rec, 2, 1, 2, "lost", 4);
    for (size_t cut = 1; cut < n; cut++) {
        write_log(good, good_len);
        append_bytes(rec, cut);
        warnings[0] = '\0';
        s = open_store(STORE_FSYNC_ALWAYS);
        th_note("cut after %zu bytes", cut);
        CHECK_INT(store_count(s, 2), 2);
        char want[200];
        snprintf(want, sizeof want,
                 "damaged: recovered 2 records, lost 1 (damaged bytes at "
                 "offsets %zu-%zu; %zu bytes; the last record is cut short, "
                 "as a crash while it was written leaves it)",
                 good_len, good_len + cut - 1, cut);
        CHECK(strstr(warnings, want) != NULL);
        CHECK_INT(store_replay(s)->tail_damaged, 0);
        CHECK_INT(store_replay(s)->torn, 1);
        store_close(s);
        CHECK_INT(file_size(log_path()), (long long)good_len);
        s = open_store(STORE_FSYNC_ALWAYS); /* the tail is gone for good */
        CHECK(store_damaged_copy(s) == NULL);
        store_close(s);
    }
    s = open_store(STORE_FSYNC_ALWAYS);
    expect_take(s, 2, 1, "kept one");
    expect_take(s, 2, 1, "kept two");
    CHECK(warnings[0] == '\0' || strstr(warnings, "lost 1") != NULL);
    store_close(s);
    free(good);
}

static void corrupt_tail(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    push_str(s, 1, 2, "good");
    push_str(s, 1, 2, "flipped");
    store_close(s);
    /* Flip one payload bit of the last record: its CRC no longer matches. */
    uint8_t *p;
    size_t n = read_log(&p);
    p[n - 6] ^= 0x10;
    write_log(p, n);
    s = open_store(STORE_FSYNC_ALWAYS);
    CHECK(strstr(warnings,
                 "damaged: recovered 1 record, lost 1 (damaged "
                 "bytes at offsets 27-48; 22 bytes); the damaged "
                 "log is kept beside it as messenger.log.damaged-") != NULL);
    CHECK_INT(store_count(s, 2), 1);
    check_copy(s, p, n);
    expect_take(s, 2, 1, "good");
    store_close(s);
    free(p);
}

/* A TAKE lost to damage: the PUSH that came after it into the then full
 * buffer still lands, and the oldest message (the one the lost TAKE had
 * removed) is gone, exactly as before the damage. */
static void lost_take_repaired(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_NEVER);
    char text[16];
    for (int i = 0; i < STORE_CAPACITY; i++) {
        snprintf(text, sizeof text, "m%d", i);
        push_str(s, 1, 9, text);
    }
    uint64_t take_at = store_log_size(s);
    expect_take(s, 9, 1, "m0");
    push_str(s, 1, 9, "m100");
    store_close(s);
    uint8_t *p;
    size_t n = read_log(&p);
    p[take_at + LOG_HEAD] ^= 0xFF; /* the TAKE's type byte */
    write_log(p, n);
    s = open_store(STORE_FSYNC_NEVER);
    CHECK(strstr(warnings, "recovered 101 records, lost 1") != NULL);
    CHECK(strstr(warnings, "1 replayed records met a buffer changed by lost "
                           "ones") != NULL);
    CHECK_INT(store_count(s, 9), STORE_CAPACITY);
    for (int i = 1; i <= STORE_CAPACITY; i++) {
        snprintf(text, sizeof text, "m%d", i);
        expect_take(s, 9, 1, text);
    }
    store_close(s);
    free(p);
}

/* ---------------------------------------------- 300 messages, damaged */

#define N_MSGS 300

typedef struct damage {
    const char *what;
    long start; /* < 0: from the end of the log */
    size_t len;
    int zero; /* zero the bytes; else flip the first one */
} damage_t;

static void msg_text(int i, char *text, size_t cap)
{
    int n = snprintf(text, cap, "message %03d ", i);
    memset(text + n, 'x', (size_t)(i * 7 % 40));
    text[n + i * 7 % 40] = '\0';
}

/* Fill a log with 300 messages (100 each to receivers 0, 1, 2); their
 * record offsets into off[] (off[N_MSGS] = the end). */
static size_t fill_300(uint8_t **log, size_t *off)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_NEVER);
    char text[64];
    off[0] = LOG_MAGIC_LEN;
    for (int i = 0; i < N_MSGS; i++) {
        msg_text(i, text, sizeof text);
        push_str(s, i, i % 3, text);
        off[i + 1] = off[i] + LOG_PUSH_SIZE(strlen(text));
    }
    store_close(s);
    size_t n = read_log(log);
    CHECK_INT(n, (long long)off[N_MSGS]);
    return n;
}

static void check_damage(const uint8_t *orig, size_t n, const size_t *off,
                         const damage_t *d)
{
    size_t a = d->start < 0 ? n - (size_t)-d->start : (size_t)d->start;
    size_t b = a + d->len > n ? n : a + d->len;
    uint8_t *p = malloc(n);
    memcpy(p, orig, n);
    if (d->zero)
        memset(p + a, 0, b - a);
    else
        p[a] ^= 0x5A;
    write_log(p, n);
    th_note("%s: bytes %zu-%zu", d->what, a, b - 1);

    /* Lost: exactly the records the damage touched. */
    int lost[N_MSGS], nlost = 0, first = -1, last = -1;
    for (int i = 0; i < N_MSGS; i++) {
        lost[i] = off[i] < b && off[i + 1] > a;
        if (lost[i]) {
            nlost++;
            last = i;
            if (first < 0)
                first = i;
        }
    }
    warnings[0] = '\0';
    store_t *s = open_store(STORE_FSYNC_NEVER);
    if (!s) {
        free(p);
        return;
    }
    const log_replay_t *r = store_replay(s);
    CHECK_INT(r->records, N_MSGS - nlost);
    CHECK_INT(r->nranges, 1);
    size_t from = a < LOG_MAGIC_LEN ? 0 : off[first];
    size_t to = last < 0 ? LOG_MAGIC_LEN : off[last + 1];
    CHECK_INT(r->range[0].start, (long long)from);
    CHECK_INT(r->range[0].end, (long long)to);
    if (to < n) { /* good records after the damage: the count is exact */
        char want[200];
        CHECK_INT(r->lost, nlost);
        snprintf(want, sizeof want,
                 "damaged: recovered %d records, lost %d "
                 "(damaged bytes at offsets %zu-%zu; %zu bytes)",
                 N_MSGS - nlost, nlost, from, to - 1, to - from);
        CHECK(strstr(warnings, want) != NULL);
    } else { /* the damage reaches the end: a bounded guess */
        CHECK(r->lost <= (uint64_t)nlost);
        CHECK(r->lost_most >= (uint64_t)nlost);
    }
    check_copy(s, p, n);
    char text[64];
    for (int i = 0; i < N_MSGS; i++) { /* the rest, in order */
        msg_text(i, text, sizeof text);
        if (!lost[i])
            expect_take(s, i % 3, i & 0xff, text);
    }
    for (int id = 0; id < 3; id++)
        CHECK_INT(store_count(s, (uint8_t)id), 0);
    store_close(s);
    free(p);
}

static void damage_anywhere(void)
{
    size_t off[N_MSGS + 1];
    uint8_t *orig;
    size_t n = fill_300(&orig, off);
    const damage_t cases[] = {
        {"the header", 3, 1, 0},
        {"the first record's sync", LOG_MAGIC_LEN, 1, 0},
        {"around offset 1075", 1075, 1, 0},
        {"a length field, mid-log", (long)off[150] + 2, 1, 0},
        {"a sequence number", (long)off[151] + 5, 1, 0},
        {"the last record's payload", -6, 1, 0},
        {"the last CRC byte", -1, 1, 0},
        {"a zeroed first 512-byte sector", 0, 512, 1},
        {"a zeroed 512-byte sector, mid-log", 4096, 512, 1},
        {"a zeroed 4 KiB page, mid-log", 4096, 4096, 1},
        {"a zeroed 512-byte tail", -512, 512, 1},
        {"a zeroed first 4 KiB page", 0, 4096, 1},
    };
    th_note("log of %zu bytes", n);
    CHECK(n > 3 * 4096);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Each case starts again from the undamaged log. */
        write_log(orig, n);
        check_damage(orig, n, off, &cases[i]);
    }
    free(orig);
}

/* Two damaged places in one log: two ranges, each counted. */
static void damage_twice(void)
{
    size_t off[N_MSGS + 1];
    uint8_t *p;
    size_t n = fill_300(&p, off);
    p[off[10] + 9] ^= 1;
    memset(p + 8192, 0, 512);
    write_log(p, n);
    store_t *s = open_store(STORE_FSYNC_NEVER);
    const log_replay_t *r = store_replay(s);
    int lost = 1;
    for (int i = 0; i < N_MSGS; i++)
        lost += off[i] < 8192 + 512 && off[i + 1] > 8192;
    CHECK_INT(r->nranges, 2);
    CHECK_INT(r->lost, lost);
    CHECK_INT(r->records, N_MSGS - lost);
    CHECK_INT(r->range[0].start, (long long)off[10]);
    CHECK_INT(r->range[0].end, (long long)off[11]);
    check_copy(s, p, n);
    store_close(s);
    free(p);
}

/* Damage two records apart: the one between them is kept, although the
 * record after it is damaged too. */
static void damage_close_behind(void)
{
    size_t off[N_MSGS + 1];
    uint8_t *p;
    size_t n = fill_300(&p, off);
    p[off[10] + 12] ^= 1;
    p[off[12] + 12] ^= 1;
    write_log(p, n);
    store_t *s = open_store(STORE_FSYNC_NEVER);
    const log_replay_t *r = store_replay(s);
    CHECK_INT(r->records, N_MSGS - 2);
    CHECK_INT(r->lost, 2);
    CHECK_INT(r->nranges, 2);
    check_copy(s, p, n);
    char text[64];
    msg_text(11, text, sizeof text);
    for (int i = 2; i < 11; i += 3) {
        char t[64];
        msg_text(i, t, sizeof t);
        expect_take(s, 2, i, t);
    }
    expect_take(s, 2, 11, text); /* record 11, between the two */
    store_close(s);
    free(p);
}

/* Random damage, 300 times: one to four places flipped, zeroed (up to
 * 4 KiB) or cut off at the end. Whatever replay makes of it, it must not
 * invent or reorder: each receiver gets a subsequence of what was sent to
 * it, every record not touched by the damage among it, and the counts add
 * up. */
static void damage_random(void)
{
    size_t off[N_MSGS + 1];
    uint8_t *orig;
    size_t n = fill_300(&orig, off);
    uint8_t *p = malloc(n);
    uint32_t seed = 2026;
    char text[64];

    for (int round = 0; round < 300; round++) {
        size_t len = n;
        int touched[N_MSGS] = {0};
        memcpy(p, orig, n);
        for (int k = 0, sites = 1 + round % 4; k < sites; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % n, run = 1 + (seed >> 4) % 4096;
            int how = (int)(seed >> 28) % 3;
            if (how == 2 && k == 0) { /* cut the end off */
                len = at;
                run = n - at;
            } else if (how == 1) {
                memset(p + at, 0, at + run > n ? n - at : run);
            } else {
                p[at] ^= (uint8_t)(1 + (seed >> 20) % 255);
                run = 1;
            }
            for (int i = 0; i < N_MSGS; i++)
                touched[i] |= off[i] < at + run && off[i + 1] > at;
        }
        write_log(p, len);
        warnings[0] = '\0';
        store_t *s = NULL;
        const char *msg = NULL;
        int r =
            store_open(&s, dir, STORE_FSYNC_NEVER, collect_warning, NULL, &msg);
        th_note("round %d", round);
        if (r == -EINVAL) { /* nothing valid left at all */
            for (int i = 0; i < N_MSGS; i++)
                CHECK(touched[i]);
            continue;
        }
        if (!CHECK_INT(r, 0))
            continue;
        const log_replay_t *rp = store_replay(s);
        CHECK(rp->records + rp->lost <= N_MSGS);
        CHECK(!rp->tail_damaged || rp->lost_most >= rp->lost);
        uint64_t got = 0;
        for (int id = 0; id < 3; id++) {
            store_msg_t m;
            int i = id;
            while (store_take(s, (uint8_t)id, &m) == 1) {
                got++;
                for (; i < N_MSGS; i += 3) { /* the next message that fits */
                    msg_text(i, text, sizeof text);
                    if (m.len == strlen(text) && !memcmp(m.data, text, m.len))
                        break;
                    CHECK(touched[i]); /* skipped: it must have been hit */
                }
                CHECK(i < N_MSGS);
                i += 3;
            }
            for (; i < N_MSGS; i += 3)
                CHECK(touched[i]);
        }
        CHECK_INT(got, rp->records);
        if (store_damaged_copy(s)) {
            char path[400];
            snprintf(path, sizeof path, "%s/%s", dir, store_damaged_copy(s));
            unlink(path);
        }
        store_close(s);
    }
    free(p);
    free(orig);
}

/* A log of the first format (PROTOCOL.md, "Format 1"): read, then
 * rewritten in the current one. CRCs are zlib's crc32. */
static void format1_migrated(void)
{
    uint8_t v1[64], *p;
    size_t n = th_hex("57 53 4d 4c 4f 47 31 0a"       /* WSMLOG1\n */
                      "01 01 02 02 68 69 00 7f 39 77" /* PUSH 1->2 hi */
                      "01 03 02 02 79 6f 45 aa 43 b7" /* PUSH 3->2 yo */
                      "02 02 51 11 e1 9d",            /* TAKE 2 */
                      v1, sizeof v1);
    fresh_dir();
    CHECK_INT(mkdir(dir, 0755), 0);
    write_log(v1, n);
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    CHECK_INT(store_replay(s)->version, 1);
    CHECK_INT(store_replay(s)->records, 3);
    CHECK(store_damaged_copy(s) == NULL);
    CHECK(warnings[0] == '\0');
    store_close(s);
    size_t m = read_log(&p);
    CHECK_BYTES(p, LOG_MAGIC_LEN, LOG_MAGIC, LOG_MAGIC_LEN);
    CHECK_INT(m, LOG_MAGIC_LEN + LOG_PUSH_SIZE(2));
    free(p);
    s = open_store(STORE_FSYNC_ALWAYS);
    CHECK_INT(store_replay(s)->version, 2);
    expect_take(s, 2, 3, "yo");
    store_close(s);

    /* Damage in a format 1 log: read up to it, the rest kept aside. */
    v1[20] ^= 1;
    write_log(v1, n);
    s = open_store(STORE_FSYNC_ALWAYS);
    CHECK(strstr(warnings,
                 "damaged: recovered 1 record, lost 1 to 3 "
                 "(damaged bytes at offsets 18-33; 16 bytes)") != NULL);
    check_copy(s, v1, n);
    expect_take(s, 2, 1, "hi");
    store_close(s);
}

static void not_a_log(void)
{
    fresh_dir();
    CHECK_INT(mkdir(dir, 0755), 0);
    int fd = open(log_path(), O_WRONLY | O_CREAT, 0644);
    CHECK_INT(write(fd, "precious user data\n", 19), 19);
    close(fd);
    store_t *s = NULL;
    const char *msg = NULL;
    CHECK_INT(
        store_open(&s, dir, STORE_FSYNC_ALWAYS, collect_warning, NULL, &msg),
        -EINVAL);
    CHECK_STR(msg, "not a messenger log (no valid record in it); move it "
                   "away to start with an empty log");
    CHECK_INT(file_size(log_path()), 19); /* untouched, and no copy made */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
    CHECK_INT(system(cmd), 0);
}

static void compaction(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_NEVER);
    char text[200];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    push_str(s, 1, 3, "survivor");
    uint64_t peak = 0;
    for (int i = 0; i < 5000; i++) {
        push_str(s, 1, 2, text);
        expect_take(s, 2, 1, text);
        if (store_log_size(s) > peak)
            peak = store_log_size(s);
    }
    /* 5000 rounds wrote ~1 MiB of records; the log never grew past the
     * compaction threshold plus one round. */
    CHECK(peak < 64 * 1024 + 2 * 256);
    CHECK_INT(store_log_size(s), (long long)file_size(log_path()));
    store_close(s);
    s = open_store(STORE_FSYNC_NEVER);
    expect_take(s, 3, 1, "survivor");
    CHECK_INT(store_count(s, 2), 0);
    store_close(s);
}

/* Random operations against a plain model, reopening now and then. */
static void model_random(void)
{
    static uint8_t model[STORE_RECEIVERS][STORE_CAPACITY][2]; /* sender, len */
    static int count[STORE_RECEIVERS], head[STORE_RECEIVERS];
    uint32_t seed = 12345;
    fresh_dir();
    memset(count, 0, sizeof count);
    memset(head, 0, sizeof head);
    store_t *s = open_store(STORE_FSYNC_NEVER);
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        int to = (int)(seed >> 16) % 4, from = (int)(seed >> 8) & 0xff;
        uint8_t len = (uint8_t)((seed >> 3) % 40);
        uint8_t data[40];
        memset(data, from ^ len, len);
        if ((seed >> 28) < 9) {
            int r = store_push(s, (uint8_t)from, (uint8_t)to, data, len);
            CHECK_INT(r, count[to] == STORE_CAPACITY ? 1 : 0);
            if (r == 0) {
                int slot = (head[to] + count[to]++) % STORE_CAPACITY;
                model[to][slot][0] = (uint8_t)from;
                model[to][slot][1] = len;
            }
        } else {
            store_msg_t m;
            int r = store_take(s, (uint8_t)to, &m);
            CHECK_INT(r, count[to] ? 1 : 0);
            if (r == 1) {
                uint8_t *e = model[to][head[to]];
                CHECK(m.sender == e[0] && m.len == e[1]);
                head[to] = (head[to] + 1) % STORE_CAPACITY;
                count[to]--;
            }
        }
        if (step % 2500 == 2499) {
            store_close(s);
            s = open_store(STORE_FSYNC_NEVER);
            for (int id = 0; id < 4; id++)
                CHECK_INT(store_count(s, (uint8_t)id), count[id]);
        }
    }
    store_close(s);
}

/* A child pushes numbered messages and reports each acknowledged one down
 * a pipe; it is killed with SIGKILL at a random moment. Every acknowledged
 * message must be there after reopening, in order, without gaps; at most
 * the one in flight may be there unacknowledged. */
static void crash_mid_write(store_fsync_t mode, unsigned delay_us)
{
    int pfd[2];
    fresh_dir();
    CHECK_INT(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        store_t *s = NULL;
        if (store_open(&s, dir, mode, NULL, NULL, NULL) != 0)
            _exit(2);
        for (uint32_t i = 0;; i++) {
            char text[32];
            int n = snprintf(text, sizeof text, "message %u", i);
            int r = store_push(s, 1, (uint8_t)(i % 200), text, (size_t)n);
            if (r == 1) /* every buffer full: wait for the kill */
                for (;;)
                    pause();
            if (r != 0)
                _exit(3);
            if (mode == STORE_FSYNC_BATCH && store_sync(s) != 0)
                _exit(4);
            if (write(pfd[1], &i, sizeof i) != sizeof i)
                _exit(5);
        }
    }
    close(pfd[1]);
    usleep(delay_us);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
    uint32_t acked = 0, v;
    int any = 0;
    while (read(pfd[0], &v, sizeof v) == sizeof v) {
        acked = v;
        any = 1;
    }
    close(pfd[0]);

    store_t *s = open_store(mode);
    uint32_t total = 0;
    for (int id = 0; id < 200; id++) {
        store_msg_t m;
        uint32_t expect = (uint32_t)id;
        while (store_take(s, (uint8_t)id, &m) == 1) {
            char text[32];
            int n = snprintf(text, sizeof text, "message %u", expect);
            if (!CHECK_BYTES(m.data, m.len, text, (size_t)n))
                break;
            expect += 200;
            total++;
        }
    }
    th_note("mode %d, %u acknowledged, %u recovered", (int)mode, acked, total);
    if (any)
        CHECK(total == acked + 1 || total == acked + 2);
    store_close(s);
}

static void crash_recovery(void)
{
    /* kill -9 at different moments, in every fsync mode (a process crash
     * loses nothing even without fsync: the page cache survives it). */
    unsigned delays[] = {3000, 20000, 60000};
    for (int mode = 0; mode < 3; mode++)
        for (int d = 0; d < 3; d++)
            crash_mid_write((store_fsync_t)mode, delays[d]);
}

void suite_store(void);
void suite_store(void)
{
    RUN(fifo_order);
    RUN(capacity);
    RUN(survives_reopen);
    RUN(record_format);
    RUN(torn_tail);
    RUN(corrupt_tail);
    RUN(lost_take_repaired);
    RUN(damage_anywhere);
    RUN(damage_twice);
    RUN(damage_close_behind);
    RUN(damage_random);
    RUN(format1_migrated);
    RUN(not_a_log);
    RUN(compaction);
    RUN(model_random);
    RUN(crash_recovery);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}
