/*
 * chat_log.c — fuzz target: the chat server's log replay
 * (examples/chat/store_records.c on examples/common/reclog.c), which must
 * make sense of a chat.log damaged in any way and rebuild a consistent
 * store from whatever records it finds.
 *
 * Input: the bytes of a chat.log file, as is.
 *
 * Checked on every input: the replay returns 0 or -EINVAL; the history
 * holds at most CHAT_HISTORY_KEEP messages; direct messages are in seq
 * order, each with a valid recipient key and a state in range; the next
 * seq is above every seq seen; every user's contacts are sorted and
 * unique; the damage report fits any buffer; and everything is freed
 * (LeakSanitizer).
 */
#define _GNU_SOURCE /* the included files want it before any header */
#include "fuzz_common.h"

#include "../examples/chat/keymap.c"
#include "../examples/chat/names.c"
#include "../examples/chat/store_mem.c"
#include "../examples/chat/store_records.c"
#include "../examples/common/reclog.c"
#include "../examples/common/reclog_file.c"
#include "../examples/common/fdio.c"

static void check_store(local_t *s)
{
    FZ_CHECK(s->hist_count <= CHAT_HISTORY_KEEP, "history %zu", s->hist_count);
    for (size_t i = 0; i < s->hist_count; i++) {
        const stored_t *m = s->history[(s->hist_head + i) % CHAT_HISTORY_KEEP];
        FZ_CHECK(m->m.seq < s->next_seq, "history seq %llu, next %llu",
                 (unsigned long long)m->m.seq,
                 (unsigned long long)s->next_seq);
    }
    for (size_t i = 0; i < s->npms; i++) {
        const stored_t *m = s->pms[i];
        FZ_CHECK(i == 0 || s->pms[i - 1]->m.seq <= m->m.seq, "PM order");
        FZ_CHECK(m->m.state >= CHAT_PM_OFFLINE && m->m.state <= CHAT_PM_READ,
                 "PM state %d", m->m.state);
        FZ_CHECK(m->to_key[0] != '\0', "PM without a recipient key");
        FZ_CHECK(m->m.seq < s->next_seq, "PM seq");
    }
    size_t pos = 0;
    user_t *u;
    while ((u = keymap_next(&s->users, &pos)))
        for (size_t i = 1; i < u->ncontacts; i++)
            FZ_CHECK(strcmp(u->contacts[i - 1], u->contacts[i]) < 0,
                     "contacts of %s not sorted", u->key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static local_t s; /* REC_BUF is large: not on the stack */
    reclog_replay_t r;
    char what[64];

    memset(&s, 0, sizeof s);
    s.next_seq = 1;
    int e = replay_log(&s, data, size, &r);
    FZ_CHECK(e == 0 || e == -EINVAL, "replay returned %d", e);
    check_store(&s);
    reclog_replay_describe(&r, what, sizeof what);
    FZ_CHECK(strlen(what) < sizeof what, "description overflow");
    st_mem_free(&s);
    return 0;
}
