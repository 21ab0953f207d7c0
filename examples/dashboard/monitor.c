/*
 * monitor.c — /events: what crossed the wire on every /ws connection, as
 * one JSON object per WebSocket text message:
 *
 *   hello      to a new subscriber: limits and the open connections
 *   open/close a /ws connection came or went
 *   frame      one frame parsed (in) or encoded (out)
 *   coalesced  frames beyond DASH_FRAME_RATE a second on one connection,
 *              folded into a count, a byte total and a few samples
 *   message    a complete message: size, frames, sizes, times, SHA-256
 *   stats      every second: totals, histograms, per-connection RTT
 *
 * Events are built during the loop round and sent at its end (frame infos
 * arrive from inside the engine, where nothing may be sent). A subscriber
 * that stops reading loses events (counted in stats) instead of growing
 * its queue without bound.
 */
#include "dashboard.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A subscriber queued this much is skipped until it catches up. */
#define SUB_BACKLOG (8u * 1024u * 1024u)

/* ------------------------------------------------------- event queue */

/* Each event: a 4-byte length, then its JSON. */
static void q_reserve(dash_queue_t *q, size_t n)
{
    if (q->failed || q->len + n <= q->cap)
        return;
    size_t cap = q->cap ? q->cap : 16384;
    while (cap < q->len + n)
        cap *= 2;
    char *p = realloc(q->buf, cap);
    if (!p) {
        q->failed = 1;
        return;
    }
    q->buf = p;
    q->cap = cap;
}

static void q_put(dash_queue_t *q, const void *s, size_t n)
{
    q_reserve(q, n);
    if (q->failed)
        return;
    memcpy(q->buf + q->len, s, n);
    q->len += n;
}

static void q_printf(dash_queue_t *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void q_printf(dash_queue_t *q, const char *fmt, ...)
{
    va_list ap;
    char tmp[512];

    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        q_put(q, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static size_t q_begin(dash_queue_t *q)
{
    size_t at = q->len;
    uint32_t zero = 0;
    q_put(q, &zero, sizeof zero);
    return at;
}

static void q_end(dash_queue_t *q, size_t at)
{
    if (q->failed)
        return;
    uint32_t n = (uint32_t)(q->len - at - sizeof n);
    memcpy(q->buf + at, &n, sizeof n);
    q->count++;
}

static void q_hex(dash_queue_t *q, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[2 * WS_MAX_HEADER_LEN + 2 * DASH_HEAD + 2];

    if (n > (sizeof tmp - 2) / 2)
        n = (sizeof tmp - 2) / 2;
    tmp[0] = '"';
    for (size_t i = 0; i < n; i++) {
        tmp[1 + 2 * i] = hex[p[i] >> 4];
        tmp[2 + 2 * i] = hex[p[i] & 15];
    }
    tmp[1 + 2 * n] = '"';
    q_put(q, tmp, 2 * n + 2);
}

/* A JSON string of valid UTF-8 (the engine checked it). */
static void q_string(dash_queue_t *q, const char *s, size_t n)
{
    q_put(q, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            q_printf(q, "\\%c", ch);
        else if (ch < 0x20)
            q_printf(q, "\\u%04x", ch);
        else
            q_put(q, s + i, 1);
    }
    q_put(q, "\"", 1);
}

/* -------------------------------------------------------------- names */

static const char *op_name(unsigned op)
{
    switch (op) {
    case WS_OP_CONTINUATION:
        return "continuation";
    case WS_OP_TEXT:
        return "text";
    case WS_OP_BINARY:
        return "binary";
    case WS_OP_CLOSE:
        return "close";
    case WS_OP_PING:
        return "ping";
    case WS_OP_PONG:
        return "pong";
    default:
        return "reserved";
    }
}

static const char *dir_name(unsigned dir)
{
    return dir == WS_TRACE_IN ? "in" : "out";
}

static int is_data(unsigned op)
{
    return op == WS_OP_CONTINUATION || op == WS_OP_TEXT || op == WS_OP_BINARY;
}

static unsigned hist_bucket(uint64_t len)
{
    unsigned k = 0;
    while (len && k < DASH_HIST - 1) {
        len >>= 1;
        k++;
    }
    return k;
}

static int listened(const dash_app_t *app)
{
    return app->subs != NULL;
}

/* ------------------------------------------------------------- frames */

static void put_frame_fields(dash_queue_t *q, const dash_ws_t *ws,
                             const dash_frame_t *fr)
{
    const ws_frame_info_t *f = &fr->info;

    q_printf(q,
             "\"conn\":%llu,\"dir\":\"%s\",\"t_us\":%llu,\"fin\":%s,"
             "\"rsv\":%u,\"opcode\":%u,\"opname\":\"%s\",\"masked\":%s,"
             "\"mask_key\":",
             (unsigned long long)ws->id, dir_name(f->dir),
             (unsigned long long)fr->t_us, f->fin ? "true" : "false", f->rsv,
             f->opcode, op_name(f->opcode), f->masked ? "true" : "false");
    if (f->masked)
        q_hex(q, f->mask_key, 4);
    else
        q_put(q, "null", 4);
    q_printf(q, ",\"len\":%llu,\"len_form\":%u,\"header\":",
             (unsigned long long)f->payload_len, f->len_form);
    q_hex(q, f->header, f->header_len);
    if (is_data(f->opcode))
        q_printf(q, ",\"offset\":%llu", (unsigned long long)fr->offset);
    else
        q_put(q, ",\"offset\":null", 14);
    q_put(q, ",\"head\":", 8);
    if (fr->has_head)
        q_hex(q, fr->head, fr->head_len);
    else
        q_put(q, "null", 4);
}

static void emit_frame(dash_ws_t *ws, const dash_frame_t *fr)
{
    dash_queue_t *q = &ws->app->q;
    size_t at = q_begin(q);

    q_put(q, "{\"ev\":\"frame\",", 14);
    put_frame_fields(q, ws, fr);
    q_put(q, "}", 1);
    q_end(q, at);
}

static void flush_coalesced(dash_ws_t *ws, unsigned dir)
{
    dash_coalesce_t *co = &ws->co[dir];
    dash_queue_t *q = &ws->app->q;

    if (!co->count)
        return;
    if (listened(ws->app)) {
        size_t at = q_begin(q);
        q_printf(q,
                 "{\"ev\":\"coalesced\",\"conn\":%llu,\"dir\":\"%s\","
                 "\"count\":%llu,\"bytes\":%llu,\"t_first_us\":%llu,"
                 "\"t_last_us\":%llu,\"samples\":[",
                 (unsigned long long)ws->id, dir_name(dir),
                 (unsigned long long)co->count, (unsigned long long)co->bytes,
                 (unsigned long long)co->first_t_us,
                 (unsigned long long)co->last_t_us);
        for (unsigned i = 0; i < co->nsamples; i++) {
            q_put(q, i ? ",{" : "{", i ? 2 : 1);
            put_frame_fields(q, ws, &co->samples[i]);
            q_put(q, "}", 1);
        }
        q_put(q, "]}", 2);
        q_end(q, at);
    }
    memset(co, 0, sizeof *co);
}

/* Counted always; reported one by one up to the rate, folded beyond. */
static void report_frame(dash_ws_t *ws, const dash_frame_t *fr)
{
    dash_app_t *app = ws->app;
    unsigned dir = fr->info.dir;
    uint64_t len = fr->info.payload_len;

    app->hist[dir][hist_bucket(len)]++;
    if (dir == WS_TRACE_IN) {
        app->frames_in++;
        app->bytes_in += len;
        ws->frames_in++;
        ws->bytes_in += len;
    } else {
        app->frames_out++;
        app->bytes_out += len;
        ws->frames_out++;
        ws->bytes_out += len;
    }
    if (!listened(app))
        return;
    if (ws->window_frames < DASH_FRAME_RATE) {
        ws->window_frames++;
        emit_frame(ws, fr);
        return;
    }
    dash_coalesce_t *co = &ws->co[dir];
    if (!co->count)
        co->first_t_us = fr->t_us;
    co->last_t_us = fr->t_us;
    co->count++;
    co->bytes += len;
    if (co->nsamples < DASH_SAMPLES)
        co->samples[co->nsamples++] = *fr;
    app->coalesced++;
}

/* ----------------------------------------------------------- messages */

static void msg_start(dash_msg_t *m, unsigned op, uint64_t t_us)
{
    memset(m, 0, sizeof *m);
    m->active = 1;
    m->opcode = (uint8_t)op;
    m->t_first_us = t_us;
    m->min = UINT64_MAX;
    wsx_sha256_init(&m->sha);
    ws_utf8_init(&m->utf8);
}

static void msg_frame(dash_msg_t *m, uint64_t len, uint64_t t_us)
{
    if (m->frames < DASH_SIZES_LIST)
        m->sizes[m->frames] = len;
    if (m->nruns && m->run_size[m->nruns - 1] == len)
        m->run_count[m->nruns - 1]++;
    else if (m->nruns < DASH_SIZES_RUNS) {
        m->run_size[m->nruns] = len;
        m->run_count[m->nruns++] = 1;
    } else
        m->runs_truncated = 1;
    m->min = len < m->min ? len : m->min;
    m->max = len > m->max ? len : m->max;
    m->frames++;
    m->size += len;
    m->t_last_us = t_us;
}

static void msg_bytes(dash_msg_t *m, const uint8_t *p, size_t n)
{
    wsx_sha256_update(&m->sha, p, n);
    ws_utf8_feed(&m->utf8, p, n);
    m->seen += n;
}

static void put_sizes(dash_queue_t *q, const dash_msg_t *m)
{
    if (m->frames <= DASH_SIZES_LIST) {
        q_put(q, "[", 1);
        for (uint32_t i = 0; i < m->frames; i++)
            q_printf(q, i ? ",%llu" : "%llu", (unsigned long long)m->sizes[i]);
        q_put(q, "]", 1);
        return;
    }
    /* Long: the same sizes as runs of [size, count]. */
    q_printf(q, "{\"count\":%lu,\"min\":%llu,\"max\":%llu,\"runs\":[",
             (unsigned long)m->frames, (unsigned long long)m->min,
             (unsigned long long)m->max);
    for (unsigned i = 0; i < m->nruns; i++)
        q_printf(q, i ? ",[%llu,%lu]" : "[%llu,%lu]",
                 (unsigned long long)m->run_size[i],
                 (unsigned long)m->run_count[i]);
    q_printf(q, "],\"truncated\":%s}", m->runs_truncated ? "true" : "false");
}

static void msg_end(dash_ws_t *ws, unsigned dir)
{
    dash_app_t *app = ws->app;
    dash_msg_t *m = dir == WS_TRACE_IN ? &ws->in : &ws->out;
    dash_queue_t *q = &app->q;

    if (dir == WS_TRACE_IN)
        app->messages_in++;
    else
        app->messages_out++;
    flush_coalesced(ws, dir);
    if (listened(app)) {
        size_t at = q_begin(q);
        q_printf(q,
                 "{\"ev\":\"message\",\"conn\":%llu,\"dir\":\"%s\","
                 "\"opcode\":%u,\"opname\":\"%s\",\"size\":%llu,"
                 "\"frames\":%lu,\"sizes\":",
                 (unsigned long long)ws->id, dir_name(dir), m->opcode,
                 op_name(m->opcode), (unsigned long long)m->size,
                 (unsigned long)m->frames);
        put_sizes(q, m);
        q_printf(q,
                 ",\"t_first_us\":%llu,\"t_last_us\":%llu,\"utf8_ok\":%s"
                 ",\"sha256\":",
                 (unsigned long long)m->t_first_us,
                 (unsigned long long)m->t_last_us,
                 ws_utf8_finish(&m->utf8) == 0 ? "true" : "false");
        if (m->seen == m->size) {
            uint8_t d[WSX_SHA256_LEN];
            char hex[65];
            wsx_sha256_final(&m->sha, d);
            wsx_sha256_hex(d, hex);
            q_printf(q, "\"%s\"}", hex);
        } else {
            q_put(q, "null}", 5); /* sent by someone else: not seen */
        }
        q_end(q, at);
    }
    m->active = 0;
}

/* ----------------------------------------------- frames from the engine */

static void take_pending(dash_ws_t *ws)
{
    if (ws->has_pending) {
        ws->has_pending = 0;
        report_frame(ws, &ws->pending);
    }
}

static void frame_in(dash_ws_t *ws, dash_frame_t *fr)
{
    const ws_frame_info_t *f = &fr->info;

    take_pending(ws);
    if (!is_data(f->opcode)) { /* its payload is the engine's business */
        report_frame(ws, fr);
        return;
    }
    if (f->opcode != WS_OP_CONTINUATION) {
        msg_start(&ws->in, f->opcode, fr->t_us);
        ws->next_offset_in = 0;
    }
    msg_frame(&ws->in, f->payload_len, fr->t_us);
    fr->offset = ws->next_offset_in;
    ws->next_offset_in += f->payload_len;
    fr->has_head = 1;
    if (f->payload_len == 0) {
        report_frame(ws, fr);
        return;
    }
    ws->pending = *fr; /* reported once its first bytes are here */
    ws->has_pending = 1;
}

static void frame_out(dash_ws_t *ws, dash_frame_t *fr, const uint8_t *p)
{
    const ws_frame_info_t *f = &fr->info;
    dash_msg_t *m = &ws->out;

    if (!is_data(f->opcode)) {
        report_frame(ws, fr);
        return;
    }
    if (f->opcode != WS_OP_CONTINUATION)
        msg_start(m, f->opcode, fr->t_us);
    fr->offset = m->size;
    msg_frame(m, f->payload_len, fr->t_us);
    if (p) {
        size_t n = (size_t)f->payload_len;
        fr->has_head = 1;
        fr->head_len = (uint8_t)(n < DASH_HEAD ? n : DASH_HEAD);
        memcpy(fr->head, p, fr->head_len);
        msg_bytes(m, p, n);
    }
    report_frame(ws, fr);
    if (f->fin)
        msg_end(ws, WS_TRACE_OUT);
}

void dash_monitor_frame(dash_ws_t *ws, const ws_frame_info_t *f,
                        const uint8_t *payload)
{
    dash_frame_t fr;

    memset(&fr, 0, sizeof fr);
    fr.info = *f;
    fr.t_us = dash_now_us(ws->app);
    if (f->dir == WS_TRACE_IN)
        frame_in(ws, &fr);
    else
        frame_out(ws, &fr, payload);
}

void dash_monitor_payload(dash_ws_t *ws, const uint8_t *data, size_t len,
                          int fin)
{
    if (ws->has_pending) {
        dash_frame_t *fr = &ws->pending;
        size_t want = fr->info.payload_len < DASH_HEAD
                          ? (size_t)fr->info.payload_len
                          : DASH_HEAD;
        size_t n = want - fr->head_len < len ? want - fr->head_len : len;
        memcpy(fr->head + fr->head_len, data, n);
        fr->head_len = (uint8_t)(fr->head_len + n);
        if (fr->head_len == want)
            take_pending(ws);
    }
    if (ws->in.active) {
        msg_bytes(&ws->in, data, len);
        if (fin) {
            take_pending(ws);
            msg_end(ws, WS_TRACE_IN);
        }
    }
}

void dash_monitor_pong(dash_ws_t *ws, const uint8_t *data, size_t len)
{
    uint64_t sent = 0;

    if (len != 8)
        return; /* not one of our pings */
    for (int i = 0; i < 8; i++)
        sent = sent << 8 | data[i];
    if (sent == ws->ping_sent_us)
        ws->rtt_us = dash_now_us(ws->app) - sent;
}

/* -------------------------------------------------- connections coming */

static void put_conn(dash_queue_t *q, const dash_ws_t *ws)
{
    char peer[64];

    q_printf(q,
             "{\"conn\":%llu,\"tag\":\"%s\",\"peer\":\"%s\","
             "\"fragment\":%llu,\"generate\":",
             (unsigned long long)ws->id, ws->p.tag,
             wsx_conn_peer(ws->c, peer, sizeof peer),
             (unsigned long long)ws->p.fragment);
    if (ws->p.has_generate)
        q_printf(q, "%llu", (unsigned long long)ws->p.generate);
    else
        q_put(q, "null", 4);
    q_printf(q, ",\"type\":\"%s\"}", op_name(ws->p.gen_op));
}

void dash_monitor_open(dash_ws_t *ws)
{
    dash_queue_t *q = &ws->app->q;

    if (!listened(ws->app))
        return;
    size_t at = q_begin(q);
    q_printf(q, "{\"ev\":\"open\",\"t_us\":%llu,\"conn\":",
             (unsigned long long)dash_now_us(ws->app));
    put_conn(q, ws);
    q_put(q, "}", 1);
    q_end(q, at);
}

void dash_monitor_close(dash_ws_t *ws, unsigned code, const char *reason,
                        size_t len)
{
    dash_queue_t *q = &ws->app->q;

    take_pending(ws);
    flush_coalesced(ws, WS_TRACE_IN);
    flush_coalesced(ws, WS_TRACE_OUT);
    if (!listened(ws->app))
        return;
    size_t at = q_begin(q);
    q_printf(q,
             "{\"ev\":\"close\",\"t_us\":%llu,\"conn\":%llu,\"code\":%u,"
             "\"reason\":",
             (unsigned long long)dash_now_us(ws->app),
             (unsigned long long)ws->id, code);
    q_string(q, reason ? reason : "", reason ? len : 0);
    q_put(q, "}", 1);
    q_end(q, at);
}

/* ------------------------------------------------------- subscribers */

static void send_queue(dash_app_t *app, const dash_queue_t *q, wsx_conn_t *only)
{
    for (dash_sub_t *s = app->subs; s; s = s->next) {
        if (only && s->c != only)
            continue;
        if (wsx_conn_queued(s->c) > SUB_BACKLOG) {
            app->dropped += q->count;
            continue;
        }
        for (size_t at = 0; at < q->len;) {
            uint32_t n;
            memcpy(&n, q->buf + at, sizeof n);
            wsx_conn_send_text(s->c, q->buf + at + sizeof n, n);
            at += sizeof n + n;
        }
        app->events += q->count;
    }
}

/* The hello: what a page needs before the first event makes sense. */
void dash_monitor_subscribe(dash_app_t *app, wsx_conn_t *c)
{
    dash_sub_t *s = calloc(1, sizeof *s);
    dash_queue_t hello = {0};

    if (!s) {
        wsx_conn_close(c, WS_CLOSE_INTERNAL_ERROR, "out of memory", 13);
        return;
    }
    s->kind = DASH_KIND_SUB;
    s->c = c;
    s->next = app->subs;
    if (app->subs)
        app->subs->prev = s;
    app->subs = s;
    wsx_conn_set_data(c, s);

    size_t at = q_begin(&hello);
    q_printf(&hello,
             "{\"ev\":\"hello\",\"server\":\"ws-dashboard\","
             "\"version\":\"%s\",\"t_us\":%llu,\"limits\":{\"fragment\":%u,"
             "\"generate\":%u,\"frame_rate\":%u,\"max_message\":%llu},"
             "\"conns\":[",
             ws_version(), (unsigned long long)dash_now_us(app),
             DASH_MAX_FRAGMENT, DASH_MAX_GENERATE, DASH_FRAME_RATE,
             (unsigned long long)app->max_message);
    for (dash_ws_t *ws = app->conns; ws; ws = ws->next) {
        if (ws != app->conns)
            q_put(&hello, ",", 1);
        put_conn(&hello, ws);
    }
    q_put(&hello, "]}", 2);
    q_end(&hello, at);
    send_queue(app, &hello, c);
    free(hello.buf);
}

void dash_monitor_unsubscribe(dash_app_t *app, wsx_conn_t *c)
{
    dash_sub_t *s = wsx_conn_data(c);

    if (!s)
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        app->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
    wsx_conn_set_data(c, NULL);
}

/* --------------------------------------------------------------- stats */

static void put_hist(dash_queue_t *q, const uint64_t *h)
{
    q_put(q, "[", 1);
    for (unsigned i = 0; i < DASH_HIST; i++)
        q_printf(q, i ? ",%llu" : "%llu", (unsigned long long)h[i]);
    q_put(q, "]", 1);
}

static void put_conn_stats(dash_queue_t *q, const dash_ws_t *ws)
{
    q_printf(q,
             "{\"conn\":%llu,\"tag\":\"%s\",\"frames_in\":%llu,"
             "\"frames_out\":%llu,\"bytes_in\":%llu,\"bytes_out\":%llu,"
             "\"queued\":%zu,\"rtt_us\":",
             (unsigned long long)ws->id, ws->p.tag,
             (unsigned long long)ws->frames_in,
             (unsigned long long)ws->frames_out,
             (unsigned long long)ws->bytes_in,
             (unsigned long long)ws->bytes_out, wsx_conn_queued(ws->c));
    if (ws->rtt_us)
        q_printf(q, "%llu}", (unsigned long long)ws->rtt_us);
    else
        q_put(q, "null}", 5);
}

static void emit_stats(dash_app_t *app)
{
    dash_queue_t *q = &app->q;
    size_t nconns = 0, nsubs = 0;

    for (dash_ws_t *ws = app->conns; ws; ws = ws->next)
        nconns++;
    for (dash_sub_t *s = app->subs; s; s = s->next)
        nsubs++;
    size_t at = q_begin(q);
    q_printf(q,
             "{\"ev\":\"stats\",\"t_us\":%llu,\"conns\":%zu,"
             "\"subscribers\":%zu,\"messages_in\":%llu,\"messages_out\":%llu,"
             "\"frames_in\":%llu,\"frames_out\":%llu,",
             (unsigned long long)dash_now_us(app), nconns, nsubs,
             (unsigned long long)app->messages_in,
             (unsigned long long)app->messages_out,
             (unsigned long long)app->frames_in,
             (unsigned long long)app->frames_out);
    q_printf(
        q,
        "\"bytes_in\":%llu,\"bytes_out\":%llu,\"events\":%llu,"
        "\"coalesced\":%llu,\"dropped\":%llu,\"hist_in\":",
        (unsigned long long)app->bytes_in, (unsigned long long)app->bytes_out,
        (unsigned long long)app->events, (unsigned long long)app->coalesced,
        (unsigned long long)app->dropped);
    put_hist(q, app->hist[WS_TRACE_IN]);
    q_put(q, ",\"hist_out\":", 12);
    put_hist(q, app->hist[WS_TRACE_OUT]);
    q_put(q, ",\"per_conn\":[", 13);
    for (dash_ws_t *ws = app->conns; ws; ws = ws->next) {
        if (ws != app->conns)
            q_put(q, ",", 1);
        put_conn_stats(q, ws);
    }
    q_put(q, "]}", 2);
    q_end(q, at);
}

/* A new second: coalesced frames are reported, the rates start again. */
void dash_monitor_tick(dash_app_t *app)
{
    for (dash_ws_t *ws = app->conns; ws; ws = ws->next) {
        flush_coalesced(ws, WS_TRACE_IN);
        flush_coalesced(ws, WS_TRACE_OUT);
        ws->window_frames = 0;
    }
    if (listened(app))
        emit_stats(app);
}

void dash_monitor_flush(dash_app_t *app)
{
    dash_queue_t *q = &app->q;

    if (q->failed)
        app->dropped += q->count + 1;
    else if (q->count)
        send_queue(app, q, NULL);
    q->len = q->count = 0;
    q->failed = 0;
}

void dash_monitor_free(dash_app_t *app)
{
    while (app->subs)
        dash_monitor_unsubscribe(app, app->subs->c);
    free(app->q.buf);
    app->q.buf = NULL;
    app->q.len = app->q.cap = app->q.count = 0;
}
