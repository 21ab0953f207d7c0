/* test_conn_direct.c — reading payload straight into the reassembly
 * buffer (lib/conn.c: ws_conn_recv_buf / ws_conn_recv_ack): exact bytes,
 * the same events as feeding at every split point, the memory bound, and
 * misuse. */
#include "conn_int.h"
#include "harness.h"
#include "transcript.h"
#include "wsproto.h"

#include <stdlib.h>
#include <string.h>

static const char th_suite_name[] = "conn_direct";

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 §5.7 */

static size_t put(uint8_t *out, int fin, int op, int masked,
                  const uint8_t *payload, size_t len)
{
    return th_frame(out, (unsigned)((fin ? 0x80 : 0) | op), masked, payload,
                    len);
}

/* A peer's stream arriving through reads of at most `cap` bytes, never
 * across `cut`: whenever the engine offers its buffer the read goes
 * there, otherwise into the reader's own. The transcript of the events,
 * as tr_run writes it; *direct counts the bytes read in place. */
static char *direct_run(ws_role_t role, const uint8_t *in, size_t len,
                        size_t cut, size_t cap, size_t *direct)
{
    ws_options_t o = {.flags = WS_OPT_REASSEMBLE, .random = tr_fixed_random};
    uint8_t *own = malloc(cap);
    ws_conn_t c;
    ws_event_t ev;
    tr_buf_t b;
    size_t at = 0;

    *direct = 0;
    tr_init(&b);
    CHECK_INT(ws_conn_init(&c, role, &o), 0);
    while (at < len) {
        size_t avail = (at < cut ? cut : len) - at;
        void *p;
        size_t room, n = avail < cap ? avail : cap;
        if (ws_conn_recv_buf(&c, &p, &room) == 1) {
            CHECK(room >= WS_RECV_DIRECT_MIN ||
                  room == ws_impl(&c)->frame_left);
            n = n < room ? n : room;
            memcpy(p, in + at, n);
            CHECK_INT(ws_conn_recv_ack(&c, n), 0);
            *direct += n;
        } else {
            CHECK(p == NULL && room == 0);
            memcpy(own, in + at, n);
            CHECK_INT(ws_conn_feed(&c, own, n), 0);
        }
        at += n;
        while (ws_conn_next_event(&c, &ev) > 0)
            tr_event(&b, &ev);
    }
    tr_printf(&b, "state=%s",
              ws_conn_state(&c) == WS_STATE_CLOSED ? "CLOSED" : "OPEN");
    ws_conn_destroy(&c);
    free(own);
    return tr_finish(&b);
}

/* RFC 6455 §5.7's 64 KiB binary frame, masked with the §5.7 key: the
 * first read brings the header and 4 KiB, the engine then asks for the
 * rest in place; the message is handed out from that buffer, intact. */
static void exact_bytes(void)
{
    static uint8_t payload[65536], in[65536 + 14], *first;
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t n = put(in, 1, WS_OP_BINARY, 1, payload, sizeof payload);
    CHECK_BYTES(in, 10, "\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK_BYTES(in + 10, 4, KEY, 4);

    ws_options_t o = {.flags = WS_OPT_REASSEMBLE};
    ws_conn_t c;
    ws_event_t ev;
    void *p;
    size_t room, at = 14 + 4096;
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0); /* a header first */
    first = malloc(at);
    memcpy(first, in, at);
    CHECK_INT(ws_conn_feed(&c, first, at), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    free(first);
    while (at < n) {
        CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 1);
        CHECK(p == ws_impl(&c)->rbuf + (at - 14));
        CHECK(room <= n - at);
        /* twice what has arrived, at most */
        CHECK(ws_impl(&c)->rbuf_cap <= 2 * (at - 14));
        memcpy(p, in + at, room);
        CHECK_INT(ws_conn_recv_ack(&c, room), 0);
        at += room;
        if (at < n)
            CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    }
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_INT(ev.opcode, WS_OP_BINARY);
    CHECK_INT(ev.frames, 1);
    CHECK(ev.data == ws_impl(&c)->rbuf);
    CHECK_BYTES(ev.data, ev.len, payload, sizeof payload);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0); /* between messages */
    ws_conn_destroy(&c);
}

/* A stream of large and small messages: a 12000-byte binary frame, a
 * 10000-byte text frame of 2-, 3- and 4-byte characters (validated as
 * read, across reads that split characters), a binary message in two
 * 9000-byte fragments with a ping between, "ok", and a close. */
static size_t mixed_stream(uint8_t *in, int masked)
{
    static uint8_t bin[12000], text[10000];
    static const char *chars[] = {"\xc3\xa9", "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80", "a"};
    size_t n = 0, t = 0;
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i * 31 + 5);
    for (size_t i = 0; t < sizeof text; i++) {
        const char *ch = chars[i % 4];
        size_t k = strlen(ch);
        if (k > sizeof text - t)
            ch = "a", k = 1;
        memcpy(text + t, ch, k);
        t += k;
    }
    n += put(in + n, 1, WS_OP_BINARY, masked, bin, sizeof bin);
    n += put(in + n, 1, WS_OP_TEXT, masked, text, sizeof text);
    n += put(in + n, 0, WS_OP_BINARY, masked, bin, 9000);
    n += put(in + n, 1, WS_OP_PING, masked, (const uint8_t *)"p", 1);
    n += put(in + n, 1, WS_OP_CONTINUATION, masked, bin + 9000, 3000);
    n += put(in + n, 1, WS_OP_TEXT, masked, (const uint8_t *)"ok", 2);
    n += put(in + n, 1, WS_OP_CLOSE, masked, (const uint8_t *)"\x03\xe8", 2);
    return n;
}

/* Every split point, reads of 2500 bytes (and a sample with 64 KiB reads
 * and in the client role): the events of reading in place are exactly
 * those of feeding everything, and payload was read in place. */
static void every_split(void)
{
    static uint8_t in[40000];
    int quick = getenv("WS_TEST_QUICK") != NULL;
    for (int role = 0; role < 2; role++) {
        ws_options_t o = {.flags = WS_OPT_REASSEMBLE,
                          .random = tr_fixed_random};
        size_t n = mixed_stream(in, role == WS_ROLE_SERVER);
        char *want = tr_run((ws_role_t)role, &o, in, n, NULL, 0, NULL);
        CHECK(strstr(want, "MESSAGE text frames=1 len=10000") != NULL);
        /* the last line of tr_run is "state=... closer=...": ours stops
         * at the state */
        *strstr(want, " closer=") = 0;
        static const size_t caps[] = {2500, 65536};
        for (int k = 0; k < 2; k++) {
            size_t step = (role == 0 && k == 0 && !quick) ? 1
                          : quick                         ? 211
                                                          : 13;
            for (size_t cut = 1; cut < n; cut += step) {
                size_t direct;
                uint8_t copy[40000];
                memcpy(copy, in, n);
                char *got =
                    direct_run((ws_role_t)role, copy, n, cut, caps[k], &direct);
                th_note("role %d, reads of %zu, split at %zu", role, caps[k],
                        cut);
                int ok = CHECK_STR(got, want);
                if (caps[k] == 2500)
                    ok &= CHECK(direct >= 4096);
                free(got);
                if (!ok)
                    break;
            }
        }
        free(want);
    }
    th_note("%s", "");
}

/* Invalid UTF-8 read in place fails the connection as fed input would,
 * with the same close frame. */
static void invalid_text_in_place(void)
{
    static uint8_t text[9000], in[9100];
    memset(text, 'a', sizeof text);
    text[7000] = 0xc0; /* overlong, RFC 3629 */
    size_t n = put(in, 1, WS_OP_TEXT, 1, text, sizeof text);
    size_t direct;
    char *got = direct_run(WS_ROLE_SERVER, in, n, 0, 4200, &direct);
    CHECK(direct > 0);
    CHECK_STR(got, "ERROR EUTF8 1007\n"
                   "SEND [88 0f 03 ef 69 6e 76 61 6c 69 64 20 55 54 46 2d 38]\n"
                   "state=CLOSED");
    free(got);
}

/* The memory bound: a peer announces a 16 MiB frame and sends it slowly;
 * the buffer follows what arrived (at most twice), never the announced
 * length. */
static void bounded_growth(void)
{
    ws_options_t o = {.flags = WS_OPT_REASSEMBLE, .max_message = 32u << 20};
    uint8_t head[14] = {0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0};
    static uint8_t chunk[8192];
    ws_conn_t c;
    ws_event_t ev;
    void *p;
    size_t room, arrived = 0;
    memcpy(head + 10, KEY, 4);
    memset(chunk, 0x55, sizeof chunk);
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &o), 0);
    CHECK_INT(ws_conn_feed(&c, head, sizeof head), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    /* nothing of the message has arrived: nothing is offered */
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0);
    CHECK(ws_impl(&c)->rbuf_cap == 0);
    CHECK_INT(ws_conn_feed(&c, chunk, sizeof chunk), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    arrived = sizeof chunk;
    for (int i = 0; i < 12; i++) {
        CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 1);
        CHECK(ws_impl(&c)->rbuf_cap <= 2 * arrived);
        size_t m = room < 3000 ? room : 3000; /* a short read */
        memset(p, 0x55, m);
        CHECK_INT(ws_conn_recv_ack(&c, m), 0);
        arrived += m;
        CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    }
    CHECK(ws_impl(&c)->rbuf_cap <= 2 * arrived);
    CHECK(ws_impl(&c)->rbuf_cap < (1u << 20));
    ws_conn_destroy(&c);
}

/* What is refused, and when nothing is offered. */
static void misuse(void)
{
    static uint8_t payload[10000], in[10100];
    ws_options_t whole = {.flags = WS_OPT_REASSEMBLE};
    ws_conn_t c;
    ws_event_t ev;
    void *p;
    size_t room;

    CHECK_INT(ws_conn_recv_buf(NULL, &p, &room), WS_EINVAL);
    CHECK_INT(ws_conn_recv_ack(NULL, 1), WS_EINVAL);
    size_t n = put(in, 1, WS_OP_BINARY, 1, payload, sizeof payload);
    /* streaming mode never offers (it has no buffer) */
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, NULL), 0);
    CHECK_INT(ws_conn_feed(&c, in, 5000), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE_START);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_DATA);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0);
    CHECK_INT(ws_conn_recv_ack(&c, 1), WS_ESTATE);
    ws_conn_destroy(&c);

    n = put(in, 1, WS_OP_BINARY, 1, payload, sizeof payload); /* afresh */
    CHECK_INT(ws_conn_init(&c, WS_ROLE_SERVER, &whole), 0);
    CHECK_INT(ws_conn_recv_buf(&c, NULL, &room), WS_EINVAL);
    CHECK_INT(ws_conn_recv_ack(&c, 1), WS_ESTATE); /* nothing offered */
    CHECK_INT(ws_conn_recv_ack(&c, 0), 0);
    CHECK_INT(ws_conn_feed(&c, in, 5000), 0);
    /* input not consumed yet: read the usual way */
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 1);
    CHECK_INT(room, 5000 - 8); /* as much again as has arrived */
    CHECK_INT(ws_conn_recv_ack(&c, room + 1), WS_EINVAL);
    memcpy(p, in + 5000, 100);
    CHECK_INT(ws_conn_recv_ack(&c, 100), 0);
    /* acked bytes not taken yet: no second offer, no second ack */
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0);
    CHECK_INT(ws_conn_recv_ack(&c, 1), WS_ESTATE);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    /* fed input after an ack comes after the acked bytes */
    CHECK_INT(ws_conn_feed(&c, in + 5100, n - 5100), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), WS_EV_MESSAGE);
    CHECK_BYTES(ev.data, ev.len, payload, sizeof payload);
    /* a short rest of a frame is read the usual way */
    n = put(in, 1, WS_OP_BINARY, 1, payload, 8000);
    CHECK_INT(ws_conn_feed(&c, in, 4500), 0);
    CHECK_INT(ws_conn_next_event(&c, &ev), 0);
    CHECK_INT(ws_conn_recv_buf(&c, &p, &room), 0); /* 3506 left */
    ws_conn_destroy(&c);
}

void suite_conn_direct(void);
void suite_conn_direct(void)
{
    RUN(exact_bytes);
    RUN(every_split);
    RUN(invalid_text_in_place);
    RUN(bounded_growth);
    RUN(misuse);
}
