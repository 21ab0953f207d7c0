/*
 * chat-client — the chat from a console (PROTOCOL.md, JSON mode).
 *
 *   chat-client [--url ws://127.0.0.1:8000/] [options] <username>
 *
 * Logs in with the token kept for that name (client_token.c), then reads
 * lines: text goes to the lobby, commands start with '/' (/help lists
 * them). At a terminal the line being typed stays at the bottom under a
 * "> " prompt while messages arrive above it (client_term.c); with stdin
 * a pipe or a file, lines in and lines out, for scripts. Own PMs show
 * their ticks as the server reports them (sent ✓, delivered ✓✓, read),
 * and PMs shown here are reported read. Files: client_file.c.
 */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { PM_SENT = 1, PM_OFFLINE, PM_DELIVERED, PM_READ };

enum { TYPING_NONE, TYPING_ACTIVE, TYPING_PAUSED };

#define TYPING_REFRESH_MS 3000 /* PROTOCOL.md: one relayed per 3 s */
#define TYPING_PAUSE_MS 4000   /* no key for this long: paused */

/* ------------------------------------------------------------ helpers */

const char *client_next_id(client_t *cl, char id[16])
{
    snprintf(id, 16, "c%u", ++cl->next_id);
    return id;
}

int client_send_json(client_t *cl, json_writer_t *w)
{
    long n = json_writer_end(w);
    if (n < 0) {
        term_print(&cl->term, "* error: request too long (at most %u bytes)",
                   CLIENT_JSON_OUT);
        return -1;
    }
    if (!cl->conn || wsx_conn_send_text(cl->conn, w->buf, (size_t)n) != 0) {
        term_print(&cl->term, "* error: not connected");
        return -1;
    }
    return 0;
}

void client_finish(client_t *cl, unsigned code, int exit_code)
{
    if (cl->exit_code == EXIT_OK)
        cl->exit_code = exit_code;
    term_stop(&cl->term);
    if (cl->conn && !cl->closing && wsx_conn_is_open(cl->conn)) {
        cl->closing = 1;
        wsx_conn_close(cl->conn, code, NULL, 0);
    } else if (!cl->conn || !wsx_conn_is_open(cl->conn)) {
        wsx_loop_stop(cl->loop);
    }
}

const char *client_str(const json_doc_t *d, int obj, const char *key,
                       char *out, size_t cap)
{
    size_t len;
    int i = json_find(d, obj, key);
    if (json_string(d, i, out, cap, &len) != 0 || memchr(out, 0, len)) {
        if (cap)
            out[0] = '\0';
        return NULL;
    }
    return out;
}

int64_t client_int(const json_doc_t *d, int obj, const char *key)
{
    int64_t v;
    return json_int64(d, json_find(d, obj, key), &v) == 0 ? v : -1;
}

/* A request with no field but its type (and an id), or one string field. */
static void send_simple(client_t *cl, const char *type, const char *key,
                        const char *value)
{
    char buf[512], id[16];
    json_writer_t w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_member_str(&w, "type", type);
    json_member_str(&w, "id", client_next_id(cl, id));
    if (key)
        json_member_str(&w, key, value);
    json_object_end(&w);
    client_send_json(cl, &w);
}

/* The start of text, cut on a character boundary, for the tick lines. */
static void excerpt(const char *text, char *out, size_t cap)
{
    size_t n = strlen(text);
    if (n < cap) {
        memcpy(out, text, n + 1);
        return;
    }
    n = cap - 4; /* room for "…" (3 bytes) and the NUL */
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, text, n);
    memcpy(out + n, "\xe2\x80\xa6", 4);
}

/* ------------------------------------------------------------- typing */

static void send_typing(client_t *cl, int state, const char *to)
{
    static const char *const names[] = {"done", "active", "paused"};
    char buf[256];
    json_writer_t w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_member_str(&w, "type", "typing");
    json_member_str(&w, "state", names[state]);
    if (to[0])
        json_member_str(&w, "to", to);
    json_object_end(&w);
    client_send_json(cl, &w);
    cl->typing_state = state;
    cl->typing_sent = wsx_loop_now(cl->loop);
}

/* Who the line being typed is for: "" the lobby, a user for "/msg user
 * text"; -1 for a command, or nothing typed yet. */
static int audience(const char *line, size_t len, char *to, size_t cap)
{
    to[0] = '\0';
    if (len == 0)
        return -1;
    if (line[0] != '/')
        return 0;
    if (len < 5 || strncmp(line, "/msg ", 5) != 0)
        return -1;
    const char *u = line + 5, *sp = memchr(u, ' ', len - 5);
    if (!sp || sp == u || sp + 1 == line + len || (size_t)(sp - u) >= cap)
        return -1;
    memcpy(to, u, (size_t)(sp - u));
    to[sp - u] = '\0';
    return 0;
}

static void on_edit(void *user, const char *line, size_t len)
{
    client_t *cl = user;
    char to[CLIENT_NAME_MAX];
    if (!cl->logged_in)
        return;
    int typing = audience(line, len, to, sizeof to) == 0;
    uint64_t now = wsx_loop_now(cl->loop);
    if (cl->typing_state != TYPING_NONE &&
        (!typing || strcmp(to, cl->typing_to) != 0))
        send_typing(cl, TYPING_NONE, cl->typing_to);
    cl->last_key = now;
    if (!typing)
        return;
    if (cl->typing_state != TYPING_ACTIVE ||
        now - cl->typing_sent >= TYPING_REFRESH_MS) {
        snprintf(cl->typing_to, sizeof cl->typing_to, "%s", to);
        send_typing(cl, TYPING_ACTIVE, to);
    }
}

static void on_typing_timer(wsx_timer_t *t, void *user)
{
    client_t *cl = user;
    (void)t;
    if (cl->typing_state == TYPING_ACTIVE &&
        wsx_loop_now(cl->loop) - cl->last_key >= TYPING_PAUSE_MS)
        send_typing(cl, TYPING_PAUSED, cl->typing_to);
}

/* ----------------------------------------------------------- commands */

static void send_msg(client_t *cl, const char *to, const char *text)
{
    char buf[CLIENT_JSON_OUT];
    size_t len = strlen(text);
    if (len > CLIENT_TEXT_MAX) {
        term_print(&cl->term, "* error: the message is %zu bytes; at most "
                              "%d fit", len, CLIENT_TEXT_MAX);
        return;
    }
    pm_sent_t *pm = &cl->pms[cl->pm_next++ % CLIENT_PMS];
    memset(pm, 0, sizeof *pm);
    client_next_id(cl, pm->id);
    snprintf(pm->to, sizeof pm->to, "%s", to ? to : "");
    excerpt(text, pm->text, sizeof pm->text);

    json_writer_t w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_member_str(&w, "type", "msg");
    json_member_str(&w, "id", pm->id);
    if (to)
        json_member_str(&w, "to", to);
    json_member_str(&w, "text", text);
    json_object_end(&w);
    if (client_send_json(cl, &w) == 0 && (!to || !strcmp(to, cl->typing_to)))
        cl->typing_state = TYPING_NONE; /* a msg ends typing (server) */
}

static void help(client_t *cl)
{
    static const char *const lines[] = {
        "* text             to everyone in the lobby (//text says /text)",
        "* /msg USER TEXT   a private message (✓ sent, ✓✓ delivered, read)",
        "* /users           who is online",
        "* /contacts        your contacts, online or not",
        "* /add USER        add a contact;  /remove USER  remove one",
        "* /send USER PATH  offer a file (USER accepts or refuses)",
        "* /accept          take the latest file offered to you",
        "* /refuse          refuse it",
        "* /history         the last 50 lobby messages",
        "* /help            this list;  /exit  leave (so do ^D and ^C)",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        term_print(&cl->term, "%s", lines[i]);
}

static void user_command(client_t *cl, const char *cmd, const char *user)
{
    if (!user)
        term_print(&cl->term, "* usage: %s USER", cmd);
    else
        send_simple(cl, !strcmp(cmd, "/add") ? "contact_add"
                                             : "contact_remove",
                    "name", user);
}

static void command(client_t *cl, char *line)
{
    char *rest = line, *cmd = wsx_next_word(&rest, " ");
    if (!strcmp(cmd, "/msg")) {
        char *to = wsx_next_word(&rest, " ");
        if (!to || !*rest)
            term_print(&cl->term, "* usage: /msg USER TEXT");
        else
            send_msg(cl, to, rest);
    } else if (!strcmp(cmd, "/users")) {
        send_simple(cl, "users", NULL, NULL);
    } else if (!strcmp(cmd, "/contacts")) {
        send_simple(cl, "contacts", NULL, NULL);
    } else if (!strcmp(cmd, "/add") || !strcmp(cmd, "/remove")) {
        user_command(cl, cmd, wsx_next_word(&rest, " "));
    } else if (!strcmp(cmd, "/send")) {
        char *to = wsx_next_word(&rest, " ");
        rest += strspn(rest, " ");
        if (!to || !*rest)
            term_print(&cl->term, "* usage: /send USER PATH");
        else
            files_send(cl, to, rest);
    } else if (!strcmp(cmd, "/accept") || !strcmp(cmd, "/refuse")) {
        files_answer(cl, !strcmp(cmd, "/accept"));
    } else if (!strcmp(cmd, "/history")) {
        send_simple(cl, "history", NULL, NULL);
    } else if (!strcmp(cmd, "/help")) {
        help(cl);
    } else if (!strcmp(cmd, "/exit") || !strcmp(cmd, "/quit")) {
        client_finish(cl, WS_CLOSE_NORMAL, EXIT_OK);
    } else {
        term_print(&cl->term, "* unknown command %s; /help lists them", cmd);
    }
}

static void on_line(void *user, char *line, size_t len)
{
    client_t *cl = user;
    if (len == 0 || cl->closing)
        return;
    if (memchr(line, 0, len) || ws_utf8_validate(line, len) != 0) {
        /* PROTOCOL.md: text is UTF-8 (and JSON strings hold no raw NUL
         * a C string could carry). */
        term_print(&cl->term, "* error: the line is not UTF-8 text, not "
                              "sent");
        return;
    }
    if (line[0] == '/' && line[1] == '/')
        send_msg(cl, NULL, line + 1); /* "//x" says "/x" to the lobby */
    else if (line[0] == '/')
        command(cl, line);
    else
        send_msg(cl, NULL, line);
    if (cl->typing_state != TYPING_NONE && line[0] == '/' &&
        strncmp(line, "/msg ", 5) != 0)
        send_typing(cl, TYPING_NONE, cl->typing_to);
}

/* End of input: leave once the transfers under way are done. Offers
 * made to us no longer hold us (nobody is left to answer them), and at a
 * terminal neither do our own offers (^D means leave, not wait for
 * someone's answer); a script's offers are waited for. */
static void maybe_leave(client_t *cl)
{
    if (cl->input_done && cl->logged_in && !cl->closing &&
        !files_active(cl, !cl->term.tty))
        client_finish(cl, WS_CLOSE_NORMAL, EXIT_OK);
}

static void on_eof(void *user)
{
    client_t *cl = user;
    cl->input_done = 1;
    term_stop(&cl->term);
    if (!cl->logged_in)
        client_finish(cl, WS_CLOSE_NORMAL, EXIT_OK);
    maybe_leave(cl);
}

static void on_interrupt(void *user)
{
    client_finish(user, WS_CLOSE_NORMAL, EXIT_OK);
}

/* ------------------------------------------------------------- events */

static void forget_typer(client_t *cl, const char *name)
{
    for (int i = 0; i < CLIENT_TYPERS; i++)
        if (!strcasecmp(cl->typers[i].name, name))
            cl->typers[i].name[0] = '\0';
}

/* A msg object (live, offline or from history). */
static void show_msg(client_t *cl, const json_doc_t *d, int m, int live)
{
    char from[CLIENT_NAME_MAX], to[CLIENT_NAME_MAX], text[CLIENT_TEXT_MAX + 1];
    client_str(d, m, "from", from, sizeof from);
    client_str(d, m, "text", text, sizeof text);
    if (!client_str(d, m, "to", to, sizeof to)) {
        term_print(&cl->term, "%s: %s", from, text);
    } else {
        term_print(&cl->term, "%s (private): %s", from, text);
        char buf[128];
        json_writer_t w;
        json_writer_init(&w, buf, sizeof buf);
        json_object_begin(&w);
        json_member_str(&w, "type", "read");
        json_member_int(&w, "seq", client_int(d, m, "seq"));
        json_object_end(&w);
        client_send_json(cl, &w);
    }
    if (live)
        forget_typer(cl, from);
}

static void show_names(client_t *cl, const json_doc_t *d, int arr,
                       const char *intro, const char *none)
{
    char line[4096], name[CLIENT_NAME_MAX];
    size_t n = (size_t)snprintf(line, sizeof line, "%s", intro);
    int count = json_type(d, arr) == JSON_ARRAY ? (int)d->tok[arr].count : 0;
    for (int i = 0; i < count && n < sizeof line; i++) {
        int e = json_index(d, arr, (size_t)i);
        size_t len;
        int online = 0;
        if (json_type(d, e) == JSON_OBJECT) { /* a contact */
            client_str(d, e, "name", name, sizeof name);
            json_bool(d, json_find(d, e, "online"), &online);
        } else if (json_string(d, e, name, sizeof name, &len) != 0) {
            continue;
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "%s%s%s",
                              i ? ", " : "", name,
                              json_type(d, e) != JSON_OBJECT ? ""
                              : online ? " (online)"
                                       : " (offline)");
    }
    term_print(&cl->term, "%s", count ? line : none);
}

static void on_welcome(client_t *cl, const json_doc_t *d)
{
    char token[128], name[CLIENT_NAME_MAX];
    int hist = json_find(d, 0, "history");
    int nhist = json_type(d, hist) == JSON_ARRAY ? (int)d->tok[hist].count : 0;
    if (client_str(d, 0, "name", name, sizeof name))
        snprintf(cl->name, sizeof cl->name, "%s", name);
    if (client_str(d, 0, "token", token, sizeof token) &&
        token_save(cl->url, cl->name, token) == 0) {
        char path[4200];
        token_path(path, sizeof path);
        term_print(&cl->term, "* %s is yours now; its token is kept in %s",
                   cl->name, path);
    }
    if (nhist == 1)
        term_print(&cl->term, "* the last message:");
    else if (nhist)
        term_print(&cl->term, "* the last %d messages:", nhist);
    for (int i = 0; i < nhist; i++)
        show_msg(cl, d, json_index(d, hist, (size_t)i), 0);
    char intro[256];
    snprintf(intro, sizeof intro, "* welcome %s; online: ", cl->name);
    show_names(cl, d, json_find(d, 0, "users"), intro, intro);
    cl->logged_in = 1;
    cl->typing_timer = wsx_timer_start(cl->loop, 1000, 1, on_typing_timer, cl);
    if (cl->term.watch)
        wsx_watch_resume(cl->term.watch);
    else
        maybe_leave(cl);
}

static pm_sent_t *find_pm(client_t *cl, const char *ref, int64_t seq)
{
    for (int i = 0; i < CLIENT_PMS; i++)
        if (seq > 0 && cl->pms[i].seq == (uint64_t)seq)
            return &cl->pms[i];
    for (int i = 0; i < CLIENT_PMS; i++)
        if (cl->pms[i].seq == 0 && cl->pms[i].id[0] &&
            !strcmp(cl->pms[i].id, ref))
            return &cl->pms[i];
    return NULL;
}

static void on_status(client_t *cl, const json_doc_t *d)
{
    static const char *const ticks[] = {
        "", "✓", "(offline: delivered at their next login)", "✓✓",
        "✓✓ read"};
    char ref[16], status[32];
    client_str(d, 0, "ref", ref, sizeof ref);
    client_str(d, 0, "status", status, sizeof status);
    int64_t seq = client_int(d, 0, "seq");
    int state = !strcmp(status, "sent")        ? PM_SENT
                : !strcmp(status, "offline")   ? PM_OFFLINE
                : !strcmp(status, "delivered") ? PM_DELIVERED
                : !strcmp(status, "read")      ? PM_READ
                                               : 0;
    pm_sent_t *pm = find_pm(cl, ref, seq);
    if (!pm || state <= pm->state)
        return; /* a message of an earlier session, or no news */
    pm->state = state;
    if (seq > 0)
        pm->seq = (uint64_t)seq;
    if (pm->to[0])
        term_print(&cl->term, "%s → %s: %s %s", cl->name, pm->to, pm->text,
                   ticks[state]);
    else
        term_print(&cl->term, "%s: %s ✓", cl->name, pm->text);
}

static void on_typing(client_t *cl, const json_doc_t *d)
{
    char from[CLIENT_NAME_MAX], state[16], to[CLIENT_NAME_MAX];
    client_str(d, 0, "from", from, sizeof from);
    client_str(d, 0, "state", state, sizeof state);
    int to_me = client_str(d, 0, "to", to, sizeof to) != NULL;
    typer_t *free_slot = NULL;
    for (int i = 0; i < CLIENT_TYPERS; i++) {
        typer_t *t = &cl->typers[i];
        if (!t->name[0]) {
            free_slot = free_slot ? free_slot : t;
        } else if (!strcasecmp(t->name, from) && t->to_me == to_me) {
            if (strcmp(state, "active") != 0)
                t->name[0] = '\0';
            return; /* already shown as typing */
        }
    }
    if (strcmp(state, "active") != 0 || !free_slot)
        return;
    snprintf(free_slot->name, sizeof free_slot->name, "%s", from);
    free_slot->to_me = to_me;
    term_print(&cl->term, "* %s is typing%s…", from, to_me ? " to you" : "");
}

static void on_error_event(client_t *cl, const json_doc_t *d)
{
    char code[32], msg[512];
    client_str(d, 0, "code", code, sizeof code);
    client_str(d, 0, "message", msg, sizeof msg);
    if (cl->logged_in) {
        char ref[16];
        term_print(&cl->term, "* error: %s", msg[0] ? msg : code);
        if (client_str(d, 0, "ref", ref, sizeof ref))
            files_refused(cl, ref);
        return;
    }
    /* A refused login: say why, and what to do, on stderr. */
    char path[4200] = "the tokens file";
    token_path(path, sizeof path);
    client_finish(cl, WS_CLOSE_NORMAL, EXIT_CONNECT);
    if (!strcmp(code, "name_taken"))
        fprintf(stderr,
                "chat-client: %s is claimed by someone else, or its "
                "token (kept in %s) is missing or wrong: pick another "
                "name\n",
                cl->name, path);
    else
        fprintf(stderr, "chat-client: cannot log in as %s: %s\n", cl->name,
                msg[0] ? msg : code);
}

static void on_event(client_t *cl, const json_doc_t *d, const char *type)
{
    char name[CLIENT_NAME_MAX], text[1024];
    if (!strcmp(type, "welcome")) {
        on_welcome(cl, d);
    } else if (!strcmp(type, "msg")) {
        show_msg(cl, d, 0, 1);
    } else if (!strcmp(type, "status")) {
        on_status(cl, d);
    } else if (!strcmp(type, "join") || !strcmp(type, "leave")) {
        client_str(d, 0, "name", name, sizeof name);
        if (type[0] == 'l')
            forget_typer(cl, name);
        term_print(&cl->term, "* %s %s the chat", name,
                   type[0] == 'j' ? "joined" : "has left");
    } else if (!strcmp(type, "users")) {
        show_names(cl, d, json_find(d, 0, "users"), "* online: ",
                   "* nobody online");
    } else if (!strcmp(type, "contacts")) {
        show_names(cl, d, json_find(d, 0, "contacts"), "* contacts: ",
                   "* no contacts yet (/add USER)");
    } else if (!strcmp(type, "history")) {
        int m = json_find(d, 0, "messages");
        int n = json_type(d, m) == JSON_ARRAY ? (int)d->tok[m].count : 0;
        term_print(&cl->term, "* history: %d message%s", n, n == 1 ? "" : "s");
        for (int i = 0; i < n; i++)
            show_msg(cl, d, json_index(d, m, (size_t)i), 0);
    } else if (!strcmp(type, "typing")) {
        on_typing(cl, d);
    } else if (!strcmp(type, "error")) {
        on_error_event(cl, d);
    } else if (!strcmp(type, "system")) {
        client_str(d, 0, "text", text, sizeof text);
        term_print(&cl->term, "* %s", text);
    } else if (!strncmp(type, "file_", 5)) {
        files_event(cl, d, type);
    }
}

/* --------------------------------------------------------- connection */

static void on_open(wsx_conn_t *c, const ws_response_t *resp)
{
    client_t *cl = wsx_conn_ctx(c);
    char buf[512];
    json_writer_t w;
    (void)resp;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_member_str(&w, "type", "hello");
    json_member_str(&w, "name", cl->name);
    if (cl->token[0])
        json_member_str(&w, "token", cl->token);
    json_member_str(&w, "id", "login");
    json_object_end(&w);
    client_send_json(cl, &w);
}

static void on_message(wsx_conn_t *c, ws_opcode_t op, uint8_t *data,
                       size_t len)
{
    client_t *cl = wsx_conn_ctx(c);
    json_doc_t d;
    json_error_t err;
    char type[32];

    if (op == WS_OP_BINARY) {
        files_chunk(cl, data, len);
    } else if (json_parse(&d, (const char *)data, len, cl->tok, CLIENT_TOKENS,
                          &err) != 0 ||
               json_type(&d, 0) != JSON_OBJECT ||
               !client_str(&d, 0, "type", type, sizeof type)) {
        term_print(&cl->term, "* the server sent a message that is not a "
                              "JSON event (%s at byte %zu), ignored",
                   err.what ? err.what : "no type", err.offset);
    } else {
        on_event(cl, &d, type);
    }
    maybe_leave(cl);
}

static void on_drain(wsx_conn_t *c)
{
    files_pump(wsx_conn_ctx(c));
}

static void on_error(wsx_conn_t *c, int err, const char *msg)
{
    client_t *cl = wsx_conn_ctx(c);
    term_stop(&cl->term); /* the prompt off the screen, then the error */
    fprintf(stderr, "chat-client: %s: %s\n", cl->url, msg);
    if (cl->exit_code == EXIT_OK)
        cl->exit_code = wsx_conn_is_open(c) || cl->logged_in ? EXIT_LOST
                                                             : EXIT_CONNECT;
    (void)err;
}

static void on_close(wsx_conn_t *c, unsigned code, const char *reason,
                     size_t len)
{
    client_t *cl = wsx_conn_ctx(c);
    if (!cl->closing) {
        term_print(&cl->term, "* connection closed by the server: %u %.*s",
                   code, (int)len, reason);
        if (cl->exit_code == EXIT_OK)
            cl->exit_code = EXIT_LOST;
    }
    cl->conn = NULL;
    term_close(&cl->term);
    wsx_loop_stop(cl->loop);
}

/* SIGINT, SIGTERM: leave as ^C does. */
static void on_signal(wsx_loop_t *loop, int signo, void *user)
{
    client_t *cl = user;
    (void)loop;
    (void)signo;
    if (cl->closing)
        wsx_loop_stop(cl->loop); /* a second one: do not wait */
    client_finish(cl, WS_CLOSE_GOING_AWAY, EXIT_OK);
}

/* --------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: chat-client [--url ws[s]://HOST:PORT/] [options] USERNAME\n"
        "\n"
        "The chat of chat-server from a console. Lines you type go to "
        "everyone;\n"
        "commands start with '/' (a line starting with '//' says '/...'):\n"
        "  /msg USER TEXT   private message; your line then shows its ticks:\n"
        "                   ✓ sent, ✓✓ delivered, ✓✓ read\n"
        "  /users           who is online      /contacts    your contacts\n"
        "  /add USER        add a contact      /remove USER remove one\n"
        "  /send USER PATH  offer a file, with a progress bar\n"
        "  /accept          take the latest file offered to you (saved in\n"
        "                   --download-dir as its name, or name.1, name.2 ...\n"
        "                   never over a file; its SHA-256 is checked)\n"
        "  /refuse          refuse it          /history     50 lobby messages\n"
        "  /help            the commands       /exit        leave (^D, ^C)\n"
        "\n"
        "At a terminal the line being typed stays under the messages, and the\n"
        "others see that you are typing; with stdin a pipe or a file, each\n"
        "line is a message or a command and the output is plain lines.\n"
        "\n"
        "The first login with a name claims it; its secret token is kept in\n"
        "$XDG_CONFIG_HOME/wsproto-chat/tokens (~/.config/... without it),\n"
        "mode 0600, and shown by the next logins (where it cannot be\n"
        "kept, a new name is not claimed).\n"
        "\n"
        "  --url URL           the server (default ws://127.0.0.1:8000/);\n"
        "                      wss:// is TLS, checked against the system CAs\n"
        "  --download-dir DIR  where accepted files go (default: here)\n"
        "  --ca FILE           wss://: trust the PEM certificates in FILE\n"
        "  --insecure          wss://: do not check the certificate (tests)\n"
        "  --help              this text\n"
        "\n"
        "Exit status: 0 after /exit, ^D, ^C or the end of input; 1 usage;\n"
        "2 cannot connect or log in; 3 the connection was lost or closed by\n"
        "the server.\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
    return wsx_usage_error("chat-client", EXIT_USAGE, fmt, arg);
}

static int parse_args(int argc, char **argv, client_t *cl, const char **ca,
                      int *insecure)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"download-dir", required_argument, NULL, 'd'},
        {"ca", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'u')
            cl->url = optarg;
        else if (opt == 'd')
            cl->download_dir = optarg;
        else if (opt == 'A')
            *ca = optarg;
        else if (opt == 'I')
            *insecure = 1;
        else if (opt == 'h') {
            usage(stdout);
            exit(EXIT_OK);
        } else
            return bad_usage(NULL, NULL);
    }
    if (optind == argc)
        return bad_usage("%s", "a USERNAME is required");
    if (optind + 1 != argc)
        return bad_usage("unexpected argument '%s'", argv[optind + 1]);
    if (strlen(argv[optind]) >= CLIENT_NAME_MAX || !argv[optind][0])
        return bad_usage("'%s' is not a name (1-32 letters, digits, _ or -)",
                         argv[optind]);
    snprintf(cl->name, sizeof cl->name, "%s", argv[optind]);
    if (access(cl->download_dir, W_OK) != 0)
        return bad_usage("--download-dir %s is not a writable directory",
                         cl->download_dir);
    return 0;
}

static int run(client_t *cl, wsx_opts_t *o)
{
    int err = 0;
    wsx_handler_t h = {.on_open = on_open,
                       .on_message = on_message,
                       .on_error = on_error,
                       .on_close = on_close,
                       .on_drain = on_drain};
    term_events_t ev = {on_line, on_eof, on_interrupt, on_edit};

    cl->conn = wsx_connect(cl->loop, cl->url, NULL, o, &h, cl, &err);
    if (!cl->conn && err == WSX_EURL) {
        fprintf(stderr, "chat-client: bad --url '%s': %s\n", cl->url,
                wsx_url_problem(cl->url));
        return bad_usage(NULL, NULL);
    }
    if (!cl->conn) {
        fprintf(stderr, "chat-client: %s: %s\n", cl->url, wsx_strerror(err));
        return EXIT_CONNECT;
    }
    /* Lines are read once logged in (welcome resumes the input). */
    if (term_open(&cl->term, cl->loop, &ev, cl) != 0) {
        perror("chat-client: stdin");
        return EXIT_USAGE;
    }
    wsx_watch_pause(cl->term.watch);
    wsx_loop_on_signal(cl->loop, on_signal, cl);
    wsx_loop_run(cl->loop);
    term_close(&cl->term);
    return cl->exit_code;
}

int main(int argc, char **argv)
{
    static client_t cl = {.url = "ws://127.0.0.1:8000/",
                          .download_dir = "."};
    wsx_opts_t o = {.max_message = 4u * 1024 * 1024};
    const char *ca = NULL;
    int insecure = 0, r;

    if ((r = parse_args(argc, argv, &cl, &ca, &insecure)) != 0)
        return r;
    setlocale(LC_CTYPE, ""); /* wcwidth: the columns of what is typed */
    if (wsx_opts_tls_client(&o, "chat-client", cl.url, ca, insecure) != 0)
        return EXIT_USAGE;
    if (token_load(cl.url, cl.name, cl.token, sizeof cl.token) != 0 &&
        token_check() != 0)
        return EXIT_CONNECT;
    cl.loop = wsx_process_setup() == 0 ? wsx_loop_new() : NULL;
    if (!cl.loop || files_init(&cl) != 0) {
        perror("chat-client");
        return EXIT_CONNECT;
    }
    r = run(&cl, &o);
    files_free(&cl);
    wsx_loop_free(cl.loop);
    wsx_tls_free(o.tls);
    return r;
}
