/* transcript.c — see transcript.h. */
#include "transcript.h"
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tr_fixed_random(void *buf, size_t len, void *user)
{
    static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t *p = buf;
    (void)user;
    for (size_t i = 0; i < len; i++)
        p[i] = key[i % 4];
    return 0;
}

void tr_init(tr_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void tr_printf(tr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_payload(tr_buf_t *b, const uint8_t *p, size_t len)
{
    if (len > 40) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < len; i++)
            h = (h ^ p[i]) * 16777619u;
        tr_printf(b, " len=%zu fnv=%08x", len, h);
        return;
    }
    tr_printf(b, " [");
    for (size_t i = 0; i < len; i++)
        tr_printf(b, i ? " %02x" : "%02x", p[i]);
    tr_printf(b, "]");
}

const char *tr_fail_send(int err, unsigned code)
{
    static char line[512];
    uint8_t f[2 + 125];
    const char *reason = ws_strerror(err);
    size_t rlen = strlen(reason), len = 4 + rlen;
    tr_buf_t b;

    if (!code)
        code = ws_error_close_code(err);
    f[0] = 0x88;
    f[1] = (uint8_t)(rlen + 2);
    f[2] = (uint8_t)(code >> 8);
    f[3] = (uint8_t)code;
    memcpy(f + 4, reason, rlen);
    tr_init(&b);
    tr_printf(&b, "SEND");
    put_payload(&b, f, len);
    snprintf(line, sizeof line, "%s", b.s);
    free(tr_finish(&b));
    return line;
}

static const char *op_name(ws_opcode_t op)
{
    return op == WS_OP_TEXT ? "text" : op == WS_OP_BINARY ? "binary" : "?";
}

static void append_slice(tr_buf_t *b, const ws_event_t *ev)
{
    if (b->frame_data_len + ev->len > b->frame_data_cap) {
        b->frame_data_cap = (b->frame_data_len + ev->len) * 2 + 16;
        b->frame_data = realloc(b->frame_data, b->frame_data_cap);
    }
    if (ev->len)
        memcpy(b->frame_data + b->frame_data_len, ev->data, ev->len);
    b->frame_data_len += ev->len;
}

static void put_start(tr_buf_t *b)
{
    if (!b->start_owed)
        return;
    b->start_owed = 0;
    tr_printf(b, "START %s", op_name(b->start_op));
    if (b->start_rsv)
        tr_printf(b, " rsv=%u", b->start_rsv);
    tr_printf(b, "\n");
}

/* Slices of a message an extension decoded have no frame boundaries: they
 * are merged up to the message's end. */
static void decoded_slice(tr_buf_t *b, const ws_event_t *ev)
{
    append_slice(b, ev);
    b->in_frame = 1;
    if (ev->flags & (WS_DATA_FRAME_START | WS_DATA_FRAME_END))
        tr_printf(b, "FRAME-FLAGS-ON-DECODED\n");
    if (!(ev->flags & WS_DATA_FIN))
        return;
    b->in_frame = 0;
    put_start(b);
    tr_printf(b, "XDATA %s rsv=%u FIN", op_name(ev->opcode), ev->rsv);
    put_payload(b, b->frame_data, b->frame_data_len);
    b->frame_data_len = 0;
    tr_printf(b, "\n");
}

static void data_slice(tr_buf_t *b, const ws_event_t *ev)
{
    if (ev->rsv) {
        decoded_slice(b, ev);
        return;
    }
    if (!b->in_frame) {
        b->in_frame = 1;
        b->frame_flags = ev->flags & WS_DATA_FRAME_START;
        b->frame_len = ev->frame_len;
        b->opcode = ev->opcode;
        b->frame_data_len = 0;
    }
    append_slice(b, ev);
    if (ev->frame_len != b->frame_len || ev->opcode != b->opcode)
        tr_printf(b, "INCONSISTENT-SLICE\n");
    if (!(ev->flags & WS_DATA_FRAME_END))
        return;
    b->frame_flags |= ev->flags & (WS_DATA_FRAME_END | WS_DATA_FIN);
    b->in_frame = 0;
    put_start(b);
    tr_printf(b, "DATA %s frame=%llu%s%s%s", op_name(b->opcode),
              (unsigned long long)b->frame_len,
              (b->frame_flags & WS_DATA_FRAME_START) ? " FS" : "",
              (b->frame_flags & WS_DATA_FRAME_END) ? " FE" : "",
              (b->frame_flags & WS_DATA_FIN) ? " FIN" : "");
    put_payload(b, b->frame_data, b->frame_data_len);
    tr_printf(b, "\n");
}

/* Streaming mode's one-event message, written as its three-event form. */
static void streamed_message(tr_buf_t *b, const ws_event_t *ev)
{
    ws_event_t d = *ev;
    tr_printf(b, "START %s", op_name(ev->opcode));
    if (ev->rsv || ev->frames != 1 || ev->flags || ev->frame_len)
        tr_printf(b, " BAD-STREAMED-MESSAGE");
    tr_printf(b, "\n");
    d.type = WS_EV_DATA;
    d.frame_len = ev->len;
    d.flags = WS_DATA_FRAME_START | WS_DATA_FRAME_END | WS_DATA_FIN;
    data_slice(b, &d);
    tr_printf(b, "END %s frames=1\n", op_name(ev->opcode));
}

void tr_event(tr_buf_t *b, const ws_event_t *ev)
{
    if (!ev->data && ev->type != WS_EV_MESSAGE_START &&
        ev->type != WS_EV_MESSAGE_END && ev->type != WS_EV_ERROR)
        tr_printf(b, "NULL-DATA\n");
    if (ev->type == WS_EV_ERROR)
        b->start_owed = 0;
    else if (ev->type != WS_EV_MESSAGE_START && ev->type != WS_EV_DATA)
        put_start(b);
    switch (ev->type) {
    case WS_EV_MESSAGE_START:
        put_start(b);
        b->start_owed = 1;
        b->start_op = ev->opcode;
        b->start_rsv = ev->rsv;
        break;
    case WS_EV_DATA:
        data_slice(b, ev);
        break;
    case WS_EV_MESSAGE_END:
        tr_printf(b, "END %s frames=%u\n", op_name(ev->opcode), ev->frames);
        break;
    case WS_EV_MESSAGE:
        if (b->streaming) {
            streamed_message(b, ev);
            break;
        }
        tr_printf(b, "MESSAGE %s frames=%u", op_name(ev->opcode), ev->frames);
        if (ev->rsv)
            tr_printf(b, " rsv=%u", ev->rsv);
        put_payload(b, ev->data, ev->len);
        tr_printf(b, "\n");
        break;
    case WS_EV_PING:
    case WS_EV_PONG:
    case WS_EV_SEND:
        tr_printf(b, "%s",
                  ev->type == WS_EV_PING   ? "PING"
                  : ev->type == WS_EV_PONG ? "PONG"
                                           : "SEND");
        put_payload(b, ev->data, ev->len);
        tr_printf(b, "\n");
        break;
    case WS_EV_CLOSE:
        tr_printf(b, "CLOSE %u '%.*s'\n", ev->code, (int)ev->len,
                  (const char *)ev->data);
        break;
    case WS_EV_ERROR:
        /* Valid bytes before the bad one may or may not have been handed
         * out, depending on the split: only the failure is comparable. */
        b->in_frame = 0;
        b->frame_data_len = 0;
        tr_printf(b, "ERROR %s %u\n", ws_err_name(ev->error), ev->code);
        break;
    default:
        tr_printf(b, "BAD-EVENT %d\n", (int)ev->type);
    }
}

char *tr_finish(tr_buf_t *b)
{
    put_start(b);
    if (b->in_frame)
        tr_printf(b, "PARTIAL-FRAME\n");
    free(b->frame_data);
    if (!b->s)
        tr_printf(b, "%s", "");
    return b->s;
}

static const char *state_name(ws_state_t s)
{
    return s == WS_STATE_OPEN      ? "OPEN"
           : s == WS_STATE_CLOSING ? "CLOSING"
                                   : "CLOSED";
}

static const char *closer_name(ws_closer_t w)
{
    return w == WS_CLOSER_NONE    ? "NONE"
           : w == WS_CLOSER_LOCAL ? "LOCAL"
                                  : "PEER";
}

char *tr_run(ws_role_t role, const ws_options_t *opts, const uint8_t *in,
             size_t len, const size_t *cuts, size_t ncuts, ws_conn_t *keep)
{
    ws_conn_t local, *c = keep ? keep : &local;
    uint8_t *copy = malloc(len ? len : 1);
    tr_buf_t b;
    ws_event_t ev;
    size_t start = 0;

    if (len)
        memcpy(copy, in, len);
    tr_init(&b);
    b.streaming = !opts || !(opts->flags & WS_OPT_REASSEMBLE);
    if (ws_conn_init(c, role, opts) != 0) {
        free(copy);
        tr_printf(&b, "INIT-FAILED\n");
        return tr_finish(&b);
    }
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        int rc = ws_conn_feed(c, copy + start, end - start);
        if (rc != 0)
            tr_printf(&b, "FEED-FAILED %s\n", ws_err_name(rc));
        while (ws_conn_next_event(c, &ev) > 0)
            tr_event(&b, &ev);
        start = end;
    }
    tr_printf(&b, "state=%s closer=%s", state_name(ws_conn_state(c)),
              closer_name(ws_conn_closer(c)));
    if (!keep)
        ws_conn_destroy(c);
    free(copy);
    return tr_finish(&b);
}

static int expect_one(ws_role_t role, const ws_options_t *opts,
                      const uint8_t *in, size_t len, const size_t *cuts,
                      size_t ncuts, const char *want, const char *how)
{
    char *got = tr_run(role, opts, in, len, cuts, ncuts, NULL);
    th_note("%s", how);
    int ok = CHECK_STR(got, want);
    free(got);
    return ok;
}

int tr_expect(ws_role_t role, const ws_options_t *opts, const uint8_t *in,
              size_t len, const char *want)
{
    char how[64];
    int tried = 1;

    if (!expect_one(role, opts, in, len, NULL, 0, want, "whole"))
        return tried;
    /* Long streams: every split near the start and end (headers live
     * there) and a sample in between. */
    for (size_t k = 1; k < len; k++) {
        if (len > 2048 && k > 64 && k < len - 64 && k % 509 != 0)
            continue;
        snprintf(how, sizeof how, "split at %zu of %zu", k, len);
        tried++;
        if (!expect_one(role, opts, in, len, &k, 1, want, how))
            return tried;
    }
    if (len > 1 && len <= 200000) {
        size_t *cuts = malloc((len - 1) * sizeof *cuts);
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        tried++;
        expect_one(role, opts, in, len, cuts, len - 1, want, "1-byte chunks");
        free(cuts);
    }
    th_note("%s", "");
    return tried;
}
