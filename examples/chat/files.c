/*
 * files.c — file transfers (files.h).
 *
 * The window is what keeps the server's memory flat: the sender may have
 * at most FILE_WINDOW bytes sent and not acknowledged, and the server
 * acknowledges only bytes that have left the receiver's output queue. A
 * slow receiver therefore slows the sender down instead of filling the
 * server, and a chunk beyond the window is a broken client.
 */
#include "files.h"

#include "events.h"
#include "request.h"
#include "session.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ table */

static file_xfer_t *find(chat_server_t *srv, uint32_t id)
{
    for (file_xfer_t *f = srv->files; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

static void unlink_xfer(chat_server_t *srv, file_xfer_t *x)
{
    for (file_xfer_t **p = &srv->files; *p; p = &(*p)->next)
        if (*p == x) {
            *p = x->next;
            free(x);
            return;
        }
}

/* ------------------------------------------------------------ events */

static void send_cancel(session_t *to, const file_xfer_t *x, const char *by,
                        const char *reason)
{
    ev_t e;
    ev_begin(&e, "file_cancel", 0);
    json_member_int(&e.w, "file", x->id);
    json_member_str(&e.w, "by", by);
    json_member_str(&e.w, "reason", reason);
    ev_send(to, &e);
}

/* End x, telling both sides (or the other side only, when by is one of
 * them) why. */
static void cancel(chat_server_t *srv, file_xfer_t *x, session_t *by,
                   const char *reason)
{
    const char *who = by ? by->name : "server";
    chat_log(srv, by, "file %u %s -> %s cancelled: %s", x->id, x->from->name,
             x->to->name, reason);
    if (by != x->from)
        send_cancel(x->from, x, who, reason);
    if (by != x->to)
        send_cancel(x->to, x, who, reason);
    unlink_xfer(srv, x);
}

static void progress(file_xfer_t *x)
{
    for (int side = 0; side < 2; side++) {
        ev_t e;
        ev_begin(&e, "file_progress", 0);
        json_member_int(&e.w, "file", x->id);
        json_member_int(&e.w, "bytes", (int64_t)x->written);
        ev_send(side ? x->to : x->from, &e);
    }
    x->reported = x->written;
}

static void file_status(req_t *r, uint32_t id, const char *status)
{
    ev_t e;
    ev_begin(&e, "file_status", 0);
    ev_ref(&e.w, r->ref);
    if (id)
        json_member_int(&e.w, "file", id);
    json_member_str(&e.w, "status", status);
    ev_send(r->s, &e);
}

/* ------------------------------------------------------------ window */

static void poll_timer(wsx_timer_t *t, void *user)
{
    (void)t;
    files_poll(user);
}

/* What left the receiver's queue: of the bytes relayed and not yet
 * known written, at most what the queue still holds can be in it. */
static void update_written(file_xfer_t *x)
{
    uint64_t unknown = x->relayed - x->written;
    uint64_t queued = wsx_conn_queued(x->to->c);
    if (queued < unknown)
        x->written = x->relayed - queued;
}

void files_poll(chat_server_t *srv)
{
    int waiting = 0;
    for (file_xfer_t *x = srv->files; x; x = x->next) {
        if (!x->accepted || x->reported == x->size)
            continue;
        update_written(x);
        if (x->written - x->reported >= FILE_PROGRESS_STEP ||
            (x->written == x->relayed && x->written > x->reported) ||
            x->written == x->size)
            progress(x);
        waiting |= x->written < x->relayed;
    }
    if (waiting && !srv->file_timer)
        srv->file_timer =
            wsx_timer_start(srv->loop, FILE_POLL_MS, 1, poll_timer, srv);
    else if (!waiting && srv->file_timer) {
        wsx_timer_stop(srv->file_timer);
        srv->file_timer = NULL;
    }
}

/* ------------------------------------------------------------ requests */

/* The transfer named by the request's "file", of which s is a side. */
static file_xfer_t *request_xfer(req_t *r)
{
    int64_t id;
    if (req_int(r, "file", 1, 1, UINT32_MAX, &id) != REQ_OK)
        return NULL;
    file_xfer_t *x = find(r->s->srv, (uint32_t)id);
    if (!x || (x->from != r->s && x->to != r->s)) {
        proto_error(r->s, r->ref, "no_such_file", "no transfer %lld is yours",
                    (long long)id);
        return NULL;
    }
    return x;
}

static int offer_fields(req_t *r, file_xfer_t *x, char *to, char *sha)
{
    int64_t size;
    size_t n;
    if (req_str(r, "to", 1, to, CHAT_NAME_MAX * 2, &n) != REQ_OK ||
        req_str(r, "name", 1, x->name, sizeof x->name, &n) != REQ_OK ||
        req_int(r, "size", 1, 0, FILE_SIZE_MAX, &size) != REQ_OK ||
        req_str(r, "sha256", 1, sha, 65, &n) != REQ_OK)
        return -1;
    x->size = (uint64_t)size;
    if (n != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64) {
        proto_error(r->s, r->ref, "bad_value",
                    "field 'sha256' must be 64 hex digits");
        return -1;
    }
    if (*x->name == '\0') {
        proto_error(r->s, r->ref, "empty", "field 'name' is empty");
        return -1;
    }
    return 0;
}

static void forward_offer(session_t *to, const file_xfer_t *x, const char *sha)
{
    ev_t e;
    ev_begin(&e, "file_offer", 0);
    json_member_int(&e.w, "file", x->id);
    json_member_str(&e.w, "from", x->from->name);
    json_member_str(&e.w, "name", x->name);
    json_member_int(&e.w, "size", (int64_t)x->size);
    json_member_str(&e.w, "sha256", sha);
    ev_send(to, &e);
}

void files_offer(req_t *r)
{
    chat_server_t *srv = r->s->srv;
    file_xfer_t proto = {0};
    char to[CHAT_NAME_MAX * 2], sha[65], key[CHAT_NAME_MAX], why[96];

    if (offer_fields(r, &proto, to, sha) != 0)
        return;
    int bad = chat_name_check(to, strlen(to), key, why, sizeof why) != NULL;
    session_t *peer = bad ? NULL : session_find(srv, key);
    if (!peer &&
        (bad || srv->store->ops->lookup(srv->store, key, NULL, NULL) != 1)) {
        proto_error(r->s, r->ref, "no_such_user", "no such user: %s", to);
        return;
    }
    if (!peer) { /* claimed, not here: nothing is stored for it */
        file_status(r, 0, "offline");
        return;
    }
    if (peer->mode != MODE_JSON) {
        file_status(r, 0, "unsupported");
        return;
    }
    file_xfer_t *x = malloc(sizeof *x);
    if (!x) {
        proto_error(r->s, r->ref, "internal", "out of memory");
        return;
    }
    *x = proto;
    x->id = ++srv->next_file ? srv->next_file : ++srv->next_file;
    x->from = r->s;
    x->to = peer;
    x->next = srv->files;
    srv->files = x;
    chat_log(srv, r->s, "file %u %s -> %s: %s, %llu bytes", x->id, r->s->name,
             peer->name, x->name, (unsigned long long)x->size);
    file_status(r, x->id, "offered");
    forward_offer(peer, x, sha);
}

void files_answer(req_t *r)
{
    file_xfer_t *x = request_xfer(r);
    if (!x)
        return;
    int accept =
        json_string_eq(&r->doc, json_find(&r->doc, 0, "type"), "file_accept");
    if (x->to != r->s || x->accepted) {
        proto_error(r->s, r->ref, "no_such_file",
                    "transfer %u is not offered to you", x->id);
        return;
    }
    ev_t e;
    ev_begin(&e, accept ? "file_accept" : "file_refuse", 0);
    json_member_int(&e.w, "file", x->id);
    if (accept)
        json_member_int(&e.w, "window", FILE_WINDOW);
    ev_send(x->from, &e);
    chat_log(r->s->srv, r->s, "file %u %s", x->id,
             accept ? "accepted" : "refused");
    if (!accept) {
        unlink_xfer(r->s->srv, x);
        return;
    }
    x->accepted = 1;
}

void files_cancel(req_t *r)
{
    file_xfer_t *x = request_xfer(r);
    if (x)
        cancel(r->s->srv, x, r->s, "cancelled");
}

void files_result(req_t *r)
{
    int ok;
    if (req_bool(r, "ok", 1, &ok) != REQ_OK)
        return;
    file_xfer_t *x = request_xfer(r);
    if (!x)
        return;
    if (x->to != r->s) {
        proto_error(r->s, r->ref, "no_such_file",
                    "only the receiver reports a result");
        return;
    }
    /* The receiver has what it got: the last progress goes out first. */
    x->written = x->relayed;
    if (x->accepted && x->reported < x->written)
        progress(x);
    ev_t e;
    ev_begin(&e, "file_result", 0);
    json_member_int(&e.w, "file", x->id);
    json_member_bool(&e.w, "ok", ok);
    json_member_str(&e.w, "from", r->s->name);
    ev_send(x->from, &e);
    chat_log(r->s->srv, r->s, "file %u done: %s", x->id,
             ok ? "SHA-256 matches" : "SHA-256 does NOT match");
    unlink_xfer(r->s->srv, x);
}

/* ------------------------------------------------------------ data */

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

void files_chunk(session_t *s, const uint8_t *data, size_t len)
{
    chat_server_t *srv = s->srv;
    if (len < 5) {
        proto_error(s, NULL, "bad_value",
                    "a file chunk is a 4-byte transfer number and 1 to "
                    "65536 bytes");
        return;
    }
    file_xfer_t *x = find(srv, get_be32(data));
    size_t n = len - 4;
    if (!x || x->from != s || !x->accepted) {
        proto_error(s, NULL, "no_such_file", "no accepted transfer %u of yours",
                    get_be32(data));
        return;
    }
    if (x->relayed + n > x->size)
        cancel(srv, x, NULL, "more data than the offered size");
    else if (x->relayed + n - x->reported > FILE_WINDOW)
        cancel(srv, x, NULL, "a chunk beyond the window");
    else if (wsx_conn_send_binary(x->to->c, data, len) != 0)
        cancel(srv, x, NULL, "the receiver's connection failed");
    else
        x->relayed += n;
    /* A large chunk may have gone to the socket at once, queueing
     * nothing and marking no work for the round: poll soon regardless. */
    if (!srv->file_timer)
        srv->file_timer =
            wsx_timer_start(srv->loop, FILE_POLL_MS, 1, poll_timer, srv);
}

void files_session_gone(session_t *s)
{
    chat_server_t *srv = s->srv;
    file_xfer_t *x = srv->files, *next;
    for (; x; x = next) {
        next = x->next;
        if (x->from == s || x->to == s)
            cancel(srv, x, s, "disconnected");
    }
}

void files_free_all(chat_server_t *srv)
{
    while (srv->files) {
        file_xfer_t *x = srv->files;
        srv->files = x->next;
        free(x);
    }
    srv->file_timer = NULL; /* the loop, gone by now, freed its timers */
}
