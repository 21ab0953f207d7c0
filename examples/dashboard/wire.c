/*
 * wire.c — where the dashboard's frame infos come from, in one place: the
 * wsx option that hands libwsproto's frame trace (ws_options_t.trace) of
 * every connection to us, with the wsx_conn_t as its user pointer. Only
 * /ws connections are reported; the /events stream itself is not traced.
 */
#include "dashboard.h"

/* Runs inside the engine: only notes what it saw (monitor.c sends it at
 * the end of the loop round). */
static void on_trace(const ws_frame_info_t *f, void *user)
{
    dash_ws_t *ws = wsx_conn_data(user);

    if (!ws || ws->kind != DASH_KIND_WS)
        return;
    if (f->dir == WS_TRACE_OUT && ws->sending)
        dash_monitor_frame(ws, f, ws->send_data);
    else
        dash_monitor_frame(ws, f, NULL);
}

void dash_wire_install(wsx_opts_t *opts)
{
    opts->trace = on_trace;
}

/* Our own data frames: the trace sees their payload too (hash, head). */
int dash_wire_send(dash_ws_t *ws, ws_opcode_t op, int fin, const uint8_t *data,
                   size_t len)
{
    ws->sending = 1;
    ws->send_data = data;
    int r = wsx_conn_send_fragment(ws->c, op, fin, data, len);
    ws->sending = 0;
    ws->send_data = NULL;
    return r;
}
