/* test_store.c — the messenger's durable buffers (store.c): FIFO order,
 * capacity, replay after reopen, torn and corrupt tails, compaction, a
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

static void torn_tail(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    push_str(s, 1, 2, "kept one");
    push_str(s, 1, 2, "kept two");
    store_close(s);
    off_t good = file_size(log_path());

    /* Every way a PUSH record can be cut short by a crash. */
    static const uint8_t rec[] = {1, 1, 2, 4, 'l', 'o', 's', 't', 9, 9, 9, 9};
    for (size_t cut = 1; cut < sizeof rec; cut++) {
        append_bytes(rec, cut);
        warnings[0] = '\0';
        s = open_store(STORE_FSYNC_ALWAYS);
        th_note("cut after %zu bytes", cut);
        CHECK_INT(store_count(s, 2), 2);
        CHECK(strstr(warnings, "dropped") != NULL);
        store_close(s);
        CHECK_INT(file_size(log_path()), good); /* the tail is gone for good */
    }
    s = open_store(STORE_FSYNC_ALWAYS);
    expect_take(s, 2, 1, "kept one");
    expect_take(s, 2, 1, "kept two");
    store_close(s);
}

static void corrupt_tail(void)
{
    fresh_dir();
    store_t *s = open_store(STORE_FSYNC_ALWAYS);
    push_str(s, 1, 2, "good");
    push_str(s, 1, 2, "flipped");
    store_close(s);
    /* Flip one payload bit of the last record: its CRC no longer matches. */
    int fd = open(log_path(), O_RDWR);
    off_t at = file_size(log_path()) - 6;
    uint8_t b;
    CHECK_INT(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    CHECK_INT(pwrite(fd, &b, 1, at), 1);
    close(fd);
    s = open_store(STORE_FSYNC_ALWAYS);
    CHECK(strstr(warnings, "dropped 15 bytes") != NULL);
    CHECK_INT(store_count(s, 2), 1);
    expect_take(s, 2, 1, "good");
    store_close(s);

    /* A TAKE for an empty buffer cannot come from us: treated as corrupt. */
    static const uint8_t take_nothing[] = {2, 77, 0, 0, 0, 0};
    append_bytes(take_nothing, sizeof take_nothing);
    warnings[0] = '\0';
    s = open_store(STORE_FSYNC_ALWAYS);
    CHECK(strstr(warnings, "dropped 6 bytes") != NULL);
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
    CHECK_INT(store_open(&s, dir, STORE_FSYNC_ALWAYS, collect_warning, NULL, &msg), -EINVAL);
    CHECK_STR(msg, "not a messenger log");
    CHECK_INT(file_size(log_path()), 19); /* untouched */
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
    RUN(torn_tail);
    RUN(corrupt_tail);
    RUN(not_a_log);
    RUN(compaction);
    RUN(model_random);
    RUN(crash_recovery);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}
