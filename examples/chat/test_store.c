/* test_store.c — the chat's local store (store.c on reclog): names,
 * contacts, history and direct messages survive a reopen in every fsync
 * mode, once and in order; a log cut at every byte of a small log (a
 * torn tail) replays to exactly the records before the cut; damage in
 * the middle costs only the record it hit and leaves a copy; history is
 * trimmed to the last CHAT_HISTORY_KEEP by compaction; sequence numbers
 * grow across restarts; and a real kill -9 while writing loses nothing
 * that was acknowledged. */
#define _GNU_SOURCE
#include "chat_store.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char th_suite_name[] = "chat_store";

static char dir[256], dir2[256];
static char warnings[4096];

static void collect_warning(void *ctx, const char *msg)
{
    (void)ctx;
    strncat(warnings, msg, sizeof warnings - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static void rm_rf(const char *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", d);
    CHECK_INT(system(cmd), 0);
}

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/chat-store-%d", (int)getpid());
    snprintf(dir2, sizeof dir2, "/tmp/chat-store-%d-cut", (int)getpid());
    rm_rf(dir);
    warnings[0] = '\0';
}

static chat_store_t *open_in(const char *d, chat_fsync_t mode)
{
    chat_store_t *s = NULL;
    const char *msg = NULL;
    int r = chat_store_open_local(&s, d, mode, collect_warning, NULL, &msg);
    if (!CHECK_INT(r, 0))
        fprintf(stderr, "   open: %s\n", msg ? msg : "?");
    return s;
}

/* d's log path (two buffers, used in turn: two paths may be in use). */
static const char *log_in(const char *d)
{
    static char p[2][300];
    static int turn;
    turn ^= 1;
    snprintf(p[turn], sizeof p[turn], "%s/%s", d, CHAT_LOG_NAME);
    return p[turn];
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void hash_of(uint8_t h[CHAT_HASH_LEN], int v)
{
    memset(h, v, CHAT_HASH_LEN);
}

/* ------------------------------------------------------- operations */

static void claim(chat_store_t *s, const char *key, const char *display)
{
    uint8_t h[CHAT_HASH_LEN];
    hash_of(h, key[0]);
    CHECK_INT(s->ops->claim(s, key, display, h), 0);
}

static uint64_t lobby(chat_store_t *s, const char *from, const char *text)
{
    chat_msg_t m = {s->ops->next_seq(s), 1000, from, NULL, NULL, text,
                    strlen(text),        0};
    CHECK_INT(s->ops->history_add(s, &m), 0);
    return m.seq;
}

static uint64_t direct(chat_store_t *s, const char *from, const char *to,
                       const char *ref, const char *text)
{
    chat_msg_t m = {s->ops->next_seq(s), 2000,           from, to, ref, text,
                    strlen(text),        CHAT_PM_OFFLINE};
    CHECK_INT(s->ops->pm_add(s, &m), 0);
    return m.seq;
}

/* ------------------------------------------------------- the state */

typedef struct dump {
    char *buf;
    size_t cap, len;
} dump_t;

static void put(dump_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(dump_t *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->buf + d->len, d->cap - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len += (size_t)n < d->cap - d->len ? (size_t)n : 0;
}

static int put_name(void *ctx, const char *display)
{
    put(ctx, " %s", display);
    return 0;
}

static int put_msg(void *ctx, const chat_msg_t *m)
{
    put(ctx, " [%llu %s%s%s %s %.*s]", (unsigned long long)m->seq, m->from,
        m->to ? ">" : "", m->to ? m->to : "", m->ref ? m->ref : "-",
        (int)m->text_len, m->text);
    return 0;
}

/* Everything the store says about the users of these tests. */
static const char *state(chat_store_t *s)
{
    static char buf[65536];
    static const char *const keys[] = {"alice", "bob", "carol"};
    dump_t d = {buf, sizeof buf, 0};
    buf[0] = '\0';
    for (int i = 0; i < 3; i++) {
        char display[CHAT_NAME_MAX] = "";
        uint8_t h[CHAT_HASH_LEN] = {0};
        int c = s->ops->lookup(s, keys[i], display, h);
        put(&d, "%s: %s %d contacts", keys[i], c ? display : "-", h[0]);
        s->ops->contacts(s, keys[i], put_name, &d);
        put(&d, "; pending");
        s->ops->pm_pending(s, keys[i], put_msg, &d);
        put(&d, "\n");
    }
    put(&d, "history");
    s->ops->history(s, 0, CHAT_HISTORY_KEEP, put_msg, &d);
    return buf;
}

/* ------------------------------------------------------- cases */

/* A small session: every kind of record, the states after each. */
#define STEPS 12

static void run_steps(chat_store_t *s, int upto, char states[][4096],
                      off_t *ends)
{
    for (int i = 0; i < upto; i++) {
        switch (i) {
        case 0:
            claim(s, "alice", "Alice");
            break;
        case 1:
            claim(s, "bob", "bob");
            break;
        case 2:
            CHECK_INT(s->ops->contact_add(s, "alice", "bob"), 0);
            break;
        case 3:
            lobby(s, "Alice", "hello");
            break;
        case 4:
            direct(s, "Alice", "bob", "c1", "psst");
            break;
        case 5:
            claim(s, "carol", "Carol");
            break;
        case 6:
            CHECK_INT(s->ops->contact_add(s, "alice", "carol"), 0);
            break;
        case 7:
            direct(s, "bob", "Carol", "", "hi carol");
            break;
        case 8:
            lobby(s, "bob", "second");
            break;
        case 9: /* the direct message of step 4, seq 2 */
            CHECK_INT(
                s->ops->pm_mark(s, 2, "bob", CHAT_PM_DELIVERED, NULL, NULL), 1);
            break;
        case 10:
            CHECK_INT(s->ops->contact_remove(s, "alice", "bob"), 0);
            break;
        case 11:
            lobby(s, "Carol", "third, with \xe2\x82\xac");
            break;
        }
        if (states)
            snprintf(states[i], sizeof states[i], "%s", state(s));
        if (ends) {
            s->ops->sync(s);
            ends[i] = file_size(log_in(dir));
        }
    }
}

static void survives_reopen(void)
{
    static char before[STEPS][4096];
    for (int mode = 0; mode < 3; mode++) {
        fresh_dir();
        chat_store_t *s = open_in(dir, (chat_fsync_t)mode);
        run_steps(s, STEPS, before, NULL);
        s->ops->close(s);
        s = open_in(dir, (chat_fsync_t)mode);
        th_note("fsync mode %d", mode);
        CHECK_STR(state(s), before[STEPS - 1]);
        /* And again: compaction at the start rewrote it faithfully. */
        s->ops->close(s);
        s = open_in(dir, (chat_fsync_t)mode);
        CHECK_STR(state(s), before[STEPS - 1]);
        CHECK_STR(warnings, "");
        s->ops->close(s);
    }
}

static void answers(void)
{
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_NEVER);
    run_steps(s, STEPS, NULL, NULL);
    CHECK_INT(s->ops->contact_add(s, "alice", "carol"), 1);  /* already */
    CHECK_INT(s->ops->contact_remove(s, "alice", "bob"), 1); /* not one */
    CHECK_INT(s->ops->lookup(s, "dave", NULL, NULL), 0);
    CHECK_INT(s->ops->pm_mark(s, 2, "carol", CHAT_PM_READ, NULL, NULL),
              -ENOENT); /* not carol's */
    CHECK_INT(s->ops->pm_mark(s, 999, NULL, CHAT_PM_READ, NULL, NULL), -ENOENT);
    CHECK_INT(s->ops->pm_mark(s, 2, "bob", CHAT_PM_DELIVERED, NULL, NULL),
              0); /* that far already */
    CHECK_INT(s->ops->pm_mark(s, 2, "bob", CHAT_PM_READ, NULL, NULL), 1);
    CHECK_INT(s->ops->pm_mark(s, 2, "bob", CHAT_PM_DELIVERED, NULL, NULL),
              0); /* never back */
    static char got[4096];
    dump_t d = {got, sizeof got, 0};
    s->ops->history(s, 5, 1, put_msg, &d); /* the one before seq 5 */
    CHECK_STR(got, " [4 bob - second]");
    d.len = 0;
    s->ops->history(s, 0, 2, put_msg, &d);
    CHECK_STR(got, " [4 bob - second] [5 Carol - third, with \xe2\x82\xac]");
    for (int i = 0; i < CHAT_MAX_CONTACTS - 1; i++) {
        char key[16];
        snprintf(key, sizeof key, "u%d", i);
        CHECK_INT(s->ops->contact_add(s, "bob", key), 0);
    }
    CHECK_INT(s->ops->contact_add(s, "bob", "alice"), 0);
    CHECK_INT(s->ops->contact_add(s, "bob", "carol"), -ERANGE);
    s->ops->close(s);
}

static void seq_grows(void)
{
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_BATCH);
    uint64_t a = lobby(s, "x", "1");
    uint64_t b = direct(s, "x", "alice", "", "2");
    CHECK(b > a);
    CHECK_INT(s->ops->pm_mark(s, b, NULL, CHAT_PM_READ, NULL, NULL), 1);
    s->ops->close(s);
    /* The read PM is gone after compaction; its number is not reused. */
    s = open_in(dir, CHAT_FSYNC_BATCH);
    s->ops->close(s);
    s = open_in(dir, CHAT_FSYNC_BATCH);
    CHECK(s->ops->next_seq(s) > b);
    s->ops->close(s);
}

/* Copy the first n bytes of the log into dir2 and open that. */
static chat_store_t *open_cut(off_t n)
{
    char cmd[1200];
    rm_rf(dir2);
    snprintf(cmd, sizeof cmd, "mkdir -p %s && head -c %lld %s > %s", dir2,
             (long long)n, log_in(dir), log_in(dir2));
    CHECK_INT(system(cmd), 0);
    warnings[0] = '\0';
    return open_in(dir2, CHAT_FSYNC_NEVER);
}

static void every_cut_point(void)
{
    static char states[STEPS][4096];
    off_t ends[STEPS];
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_ALWAYS);
    off_t start = file_size(log_in(dir));
    static char empty[4096];
    snprintf(empty, sizeof empty, "%s", state(s));
    run_steps(s, STEPS, states, ends);
    s->ops->close(s);
    for (off_t cut = start; cut <= ends[STEPS - 1]; cut++) {
        chat_store_t *c = open_cut(cut);
        if (!c)
            break;
        int k = -1;
        while (k + 1 < STEPS && ends[k + 1] <= cut)
            k++;
        th_note("cut at byte %lld of %lld (after step %d)", (long long)cut,
                (long long)ends[STEPS - 1], k);
        CHECK_STR(state(c), k < 0 ? empty : states[k]);
        /* Cut inside a record: torn, reported, and a copy kept. */
        int torn = cut != start && (k < 0 || cut != ends[k]);
        CHECK_INT(strstr(warnings, "cut short") != NULL, torn);
        c->ops->close(c);
    }
    rm_rf(dir2);
}

static void damage_in_the_middle(void)
{
    static char states[STEPS][4096];
    off_t ends[STEPS];
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_ALWAYS);
    run_steps(s, STEPS, states, ends);
    s->ops->close(s);
    /* Flip a byte in the body of step 8's record (the lobby "second"). */
    int fd = open(log_in(dir), O_RDWR);
    off_t at = ends[7] + 12;
    uint8_t b;
    CHECK_INT(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    CHECK_INT(pwrite(fd, &b, 1, at), 1);
    close(fd);
    s = open_in(dir, CHAT_FSYNC_ALWAYS);
    const char *got = state(s);
    CHECK(strstr(got, "second") == NULL);
    CHECK(strstr(got, "third") != NULL);        /* after the damage */
    CHECK(strstr(got, "carol: Carol") != NULL); /* before it */
    th_note("warnings: %s", warnings);
    CHECK(strstr(warnings, "recovered 12 records, lost 1 (") != NULL);
    CHECK(strstr(warnings, "chat.log.damaged-") != NULL);
    s->ops->close(s);
    /* The damage is behind us: the next start is clean. */
    warnings[0] = '\0';
    s = open_in(dir, CHAT_FSYNC_ALWAYS);
    CHECK_STR(warnings, "");
    s->ops->close(s);
}

static void history_trimmed(void)
{
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_NEVER);
    char text[64];
    for (int i = 0; i < 3 * CHAT_HISTORY_KEEP; i++) {
        snprintf(text, sizeof text, "message number %d with some padding", i);
        lobby(s, "alice", text);
    }
    s->ops->close(s);
    s = open_in(dir, CHAT_FSYNC_NEVER);
    static char got[256];
    dump_t d = {got, sizeof got, 0};
    s->ops->history(s, 0, 1, put_msg, &d);
    snprintf(text, sizeof text, "number %d ", 3 * CHAT_HISTORY_KEEP - 1);
    CHECK(strstr(got, text) != NULL);
    size_t count = 0;
    const char *all = state(s);
    for (const char *p = all; (p = strstr(p, "[")); p++)
        count++;
    CHECK_INT(count, CHAT_HISTORY_KEEP);
    snprintf(text, sizeof text, "number %d ", 2 * CHAT_HISTORY_KEEP);
    CHECK(strstr(all, text) != NULL); /* the oldest kept, in order */
    CHECK(file_size(log_in(dir)) < 200 * CHAT_HISTORY_KEEP);
    s->ops->close(s);
}

static void not_a_log(void)
{
    fresh_dir();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && echo 'not a chat log' > %s", dir,
             log_in(dir));
    CHECK_INT(system(cmd), 0);
    chat_store_t *s = NULL;
    const char *msg = NULL;
    CHECK_INT(
        chat_store_open_local(&s, dir, CHAT_FSYNC_NEVER, NULL, NULL, &msg),
        -EINVAL);
    CHECK(msg && strstr(msg, "not a chat log (no valid record in it)"));
    CHECK_INT(file_size(log_in(dir)), 15); /* left alone */
}

/* A child stores direct messages and reports each acknowledged one on a
 * pipe; the parent kills it with SIGKILL mid-way and checks that every
 * reported one is in the reopened store, once and in order. */
static void killed_while_writing(void)
{
    for (int mode = 0; mode < 3; mode++) {
        fresh_dir();
        int fds[2];
        CHECK_INT(pipe(fds), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            chat_store_t *s = open_in(dir, (chat_fsync_t)mode);
            char text[32];
            for (int i = 0;; i++) {
                snprintf(text, sizeof text, "m%06d", i);
                direct(s, "alice", "bob", "", text);
                s->ops->sync(s); /* what the server does before it acks */
                if (write(fds[1], &i, sizeof i) != sizeof i)
                    _exit(1);
            }
        }
        close(fds[1]);
        int acked = -1, i;
        while (acked < 2000 && read(fds[0], &i, sizeof i) == sizeof i)
            acked = i;
        kill(pid, SIGKILL);
        while (read(fds[0], &i, sizeof i) == sizeof i)
            acked = i; /* acknowledged before it died */
        waitpid(pid, NULL, 0);
        close(fds[0]);
        chat_store_t *s = open_in(dir, (chat_fsync_t)mode);
        static char got[1 << 20];
        dump_t d = {got, sizeof got, 0};
        s->ops->pm_pending(s, "bob", put_msg, &d);
        int expect = 0, bad = 0;
        for (const char *p = got; (p = strstr(p, " m")); p++) {
            bad += atoi(p + 2) != expect;
            expect++;
        }
        th_note("fsync mode %d: %d acknowledged, %d replayed", mode, acked + 1,
                expect);
        CHECK_INT(bad, 0);
        CHECK(expect >= acked + 1 && expect <= acked + 2);
        s->ops->close(s);
    }
}

/* What a sender missed while offline: kept across a restart (and a
 * compaction) until it is told. */
static void untold_statuses(void)
{
    static char got[4096];
    fresh_dir();
    chat_store_t *s = open_in(dir, CHAT_FSYNC_BATCH);
    uint64_t a = direct(s, "Alice", "bob", "c1", "one");
    uint64_t b = direct(s, "Alice", "bob", "c2", "two");
    direct(s, "bob", "Alice", "", "back");
    CHECK_INT(s->ops->pm_mark(s, a, "bob", CHAT_PM_READ, NULL, NULL), 1);
    CHECK_INT(s->ops->pm_mark(s, b, "bob", CHAT_PM_DELIVERED, NULL, NULL), 1);
    CHECK_INT(s->ops->pm_told(s, b, CHAT_PM_DELIVERED), 1);
    CHECK_INT(s->ops->pm_told(s, b, CHAT_PM_DELIVERED), 0);
    s->ops->close(s);
    for (int round = 0; round < 2; round++) {
        s = open_in(dir, CHAT_FSYNC_BATCH);
        dump_t d = {got, sizeof got, 0};
        got[0] = '\0';
        s->ops->pm_untold(s, "alice", put_msg, &d);
        th_note("round %d", round);
        CHECK_STR(got, " [1 Alice>bob c1 one]"); /* b was told; bob's own */
        s->ops->close(s);                        /* is not alice's */
    }
    s = open_in(dir, CHAT_FSYNC_BATCH);
    CHECK_INT(s->ops->pm_told(s, a, CHAT_PM_READ), 1);
    s->ops->close(s);
    s = open_in(dir, CHAT_FSYNC_BATCH);
    dump_t d = {got, sizeof got, 0};
    got[0] = '\0';
    s->ops->pm_untold(s, "alice", put_msg, &d);
    CHECK_STR(got, "");
    s->ops->close(s);
}

void suite_chat_store(void);
void suite_chat_store(void)
{
    RUN(survives_reopen);
    RUN(answers);
    RUN(seq_grows);
    RUN(untold_statuses);
    RUN(every_cut_point);
    RUN(damage_in_the_middle);
    RUN(history_trimmed);
    RUN(not_a_log);
    RUN(killed_while_writing);
    rm_rf(dir);
}
