/*
 * dashboard.h — what the files of ws-dashboard share.
 *
 *   dashboard.c  options, the handlers, main
 *   params.c     the /ws query (?fragment=N&generate=SIZE&type=...)
 *   echo.c       /ws: the re-fragmenting echo and the generated message
 *   monitor.c    /events: frame, message, coalesced and stats events
 *   wire.c       where frame infos come from (the wsx trace hook)
 */
#ifndef DASHBOARD_H
#define DASHBOARD_H

#include "sha256.h"
#include "wsx.h"

#include <stddef.h>
#include <stdint.h>

/* Limits of the /ws query. A fragment or message beyond them is refused
 * with 400: they bound the memory one connection can make us hold. */
#define DASH_MAX_FRAGMENT (16u * 1024u * 1024u)
#define DASH_MAX_GENERATE (64u * 1024u * 1024u)
#define DASH_TAG_MAX 32

/* A connection's output queue is read from again below a quarter of this
 * (wsx's low-water mark); the generated message is sent as it drains. */
#define DASH_HIGH_WATER (1024u * 1024u)
/* What may arrive while the generated message is still going out: it is
 * echoed after it (a message cannot interleave another, RFC 6455 §5.4). */
#define DASH_HELD_MAX (1024u * 1024u)

/* Frame events per connection and second before they are coalesced. */
#define DASH_FRAME_RATE 200
/* Frame sizes listed one by one in a message event; beyond, runs. */
#define DASH_SIZES_LIST 64
#define DASH_SIZES_RUNS 32
/* Frames kept whole as samples in a coalesced event. */
#define DASH_SAMPLES 3
/* Payload bytes shown in a frame event's "head". */
#define DASH_HEAD 16
/* Frame-size histogram: bucket k holds lengths of bit length k. */
#define DASH_HIST 28

typedef struct dash_params {
    uint64_t fragment;  /* bytes per echoed frame; 0 = one frame */
    uint64_t generate;  /* bytes of the message sent on open; 0 = none */
    ws_opcode_t gen_op; /* its type: WS_OP_TEXT or WS_OP_BINARY */
    int has_generate;
    char tag[DASH_TAG_MAX + 1]; /* the client's name for itself, or "" */
} dash_params_t;

/* 0 with p filled, or -1 with the reason for a 400 in why[0..cap)
 * ("fragment: must not be negative"). */
int dash_params_parse(const char *query, size_t len, dash_params_t *p,
                      char *why, size_t cap);

/* One frame as the monitor reports it. */
typedef struct dash_frame {
    ws_frame_info_t info;
    uint64_t t_us;
    uint64_t offset; /* in its message (data frames) */
    uint8_t head[DASH_HEAD];
    uint8_t head_len;
    uint8_t has_head; /* 0: payload not seen (control frames in) */
} dash_frame_t;

/* A message under way in one direction. */
typedef struct dash_msg {
    int active;
    uint8_t opcode;
    uint32_t frames;
    uint64_t size; /* payload bytes of its frames so far */
    uint64_t seen; /* payload bytes hashed so far */
    uint64_t t_first_us, t_last_us;
    wsx_sha256_t sha;
    ws_utf8_t utf8;
    uint64_t sizes[DASH_SIZES_LIST];
    uint64_t run_size[DASH_SIZES_RUNS];
    uint32_t run_count[DASH_SIZES_RUNS];
    unsigned nruns;
    int runs_truncated;
    uint64_t min, max;
} dash_msg_t;

/* Frames folded into one coalesced event, per direction. */
typedef struct dash_coalesce {
    uint64_t count, bytes;
    uint64_t first_t_us, last_t_us;
    dash_frame_t samples[DASH_SAMPLES];
    unsigned nsamples;
} dash_coalesce_t;

typedef struct dash_app dash_app_t;

/* What wsx_conn_data() points at: both kinds start with this byte. */
enum { DASH_KIND_WS = 1, DASH_KIND_SUB = 2 };

/* A /ws connection. */
typedef struct dash_ws {
    uint8_t kind; /* DASH_KIND_WS */
    wsx_conn_t *c;
    dash_app_t *app;
    uint64_t id;
    dash_params_t p;
    struct dash_ws *prev, *next;
    /* echo.c: the frame being filled (fragment=0: the whole message) */
    uint8_t *fbuf;
    size_t flen, fcap;
    /* the generated message: one frame's buffer, how far it has got */
    uint8_t *gbuf;
    size_t gframe;
    uint64_t gen_off;
    int generating;
    /* slices that came meanwhile: [op][fin][len, 4 bytes][bytes]... */
    uint8_t *held;
    size_t held_len;
    /* monitor.c */
    dash_msg_t in, out;
    dash_frame_t pending; /* an incoming frame waiting for its head */
    int has_pending;
    uint64_t next_offset_in; /* payload before the next incoming frame */
    unsigned window_frames;  /* frame events this second */
    dash_coalesce_t co[2];   /* WS_TRACE_IN, WS_TRACE_OUT */
    uint64_t frames_in, frames_out, bytes_in, bytes_out;
    uint64_t ping_sent_us, rtt_us;
    /* wire.c: the payload of the frame our own send is encoding */
    const uint8_t *send_data;
    int sending;
} dash_ws_t;

/* A /events connection. */
typedef struct dash_sub {
    uint8_t kind; /* DASH_KIND_SUB */
    wsx_conn_t *c;
    struct dash_sub *prev, *next;
} dash_sub_t;

/* Events waiting for the end of the loop round, each a JSON text. */
typedef struct dash_queue {
    char *buf;
    size_t len, cap;
    size_t count;
    int failed; /* out of memory: the events were dropped */
} dash_queue_t;

struct dash_app {
    wsx_loop_t *loop;
    dash_ws_t *conns;
    dash_sub_t *subs;
    uint64_t next_id;
    uint64_t t0_us;
    uint64_t max_message; /* fragment=0 echoes hold this much */
    int ping_ms;          /* ping /ws clients this often; 0 = never */
    dash_queue_t q;
    char why[160]; /* a refused upgrade's reason, until answered */
    uint64_t messages_in, messages_out, frames_in, frames_out;
    uint64_t bytes_in, bytes_out, events, coalesced, dropped;
    uint64_t hist[2][DASH_HIST];
};

/* Microseconds since the server started (monotonic). */
uint64_t dash_now_us(const dash_app_t *app);

/* ------------------------------------------------------------ echo.c */
/* Right after the upgrade: start the generated message, if asked for. */
void dash_echo_open(dash_ws_t *ws);
/* The output queue drained (wsx on_drain): send more of it. */
void dash_echo_drain(dash_ws_t *ws);
/* A slice of an incoming message: echo it in frames of p.fragment. */
void dash_echo_data(dash_ws_t *ws, ws_opcode_t op, const uint8_t *data,
                    size_t len, int fin);
void dash_echo_free(dash_ws_t *ws);

/* --------------------------------------------------------- monitor.c */
void dash_monitor_open(dash_ws_t *ws);
void dash_monitor_close(dash_ws_t *ws, unsigned code, const char *reason,
                        size_t len);
/* A frame the engine parsed or encoded. payload: the whole payload of a
 * data frame we send ourselves (hashed, its head shown), else NULL. */
void dash_monitor_frame(dash_ws_t *ws, const ws_frame_info_t *f,
                        const uint8_t *payload);
/* Payload of incoming data frames, in order. fin: the message ends. */
void dash_monitor_payload(dash_ws_t *ws, const uint8_t *data, size_t len,
                          int fin);
void dash_monitor_pong(dash_ws_t *ws, const uint8_t *data, size_t len);
void dash_monitor_subscribe(dash_app_t *app, wsx_conn_t *c);
void dash_monitor_unsubscribe(dash_app_t *app, wsx_conn_t *c);
void dash_monitor_tick(dash_app_t *app);  /* every second */
void dash_monitor_flush(dash_app_t *app); /* end of round: send events */
void dash_monitor_free(dash_app_t *app);

/* ------------------------------------------------------------ wire.c */
/* The wsx option that routes every traced frame to the monitor. */
void dash_wire_install(wsx_opts_t *opts);
/* Send one data frame of ws's message, traced with its payload. */
int dash_wire_send(dash_ws_t *ws, ws_opcode_t op, int fin, const uint8_t *data,
                   size_t len);

#endif /* DASHBOARD_H */
