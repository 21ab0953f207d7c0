/*
 * plain.c — plain-text mode (PROTOCOL.md; seed broadcast-chat): the first
 * message is the name, every later one a line to everyone or a command,
 * and the server's notices are lines starting with "* ".
 */
#include "session.h"

#include "json.h"
#include "messages.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The line without its trailing "\n" or "\r\n". */
static size_t chomp(const char *text, size_t len)
{
    if (len && text[len - 1] == '\n')
        len--;
    if (len && text[len - 1] == '\r')
        len--;
    return len;
}

static void say(session_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(session_t *s, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && !s->closing)
        wsx_conn_send_text(
            s->c, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* ", "-separated online users into a line. */
typedef struct list {
    char *buf;
    size_t cap, len;
} list_t;

static int add_user(void *ctx, const char *display)
{
    list_t *l = ctx;
    int n = snprintf(l->buf + l->len, l->cap - l->len, "%s%s",
                     l->len ? ", " : "", display);
    if (n < 0 || (size_t)n >= l->cap - l->len)
        return 1; /* full: the line ends here */
    l->len += (size_t)n;
    return 0;
}

static void say_users(session_t *s, const char *prefix)
{
    char users[8192];
    list_t l = {users, sizeof users, 0};
    users[0] = '\0';
    s->srv->hub->ops->users(s->srv->hub, add_user, &l);
    say(s, "%s%s", prefix, users);
}

void plain_login(session_t *s, const char *text, size_t len)
{
    chat_server_t *srv = s->srv;
    char key[CHAT_NAME_MAX], why[96];
    const char *bad;

    len = chomp(text, len);
    if ((bad = chat_name_check(text, len, key, why, sizeof why)) ||
        (chat_name_reserved(key) && (bad = "reserved"))) {
        say(s, "* bad name: %s", bad);
        session_close(s, 1008, "bad name");
        return;
    }
    /* Plain logins never claim: a name in use or claimed is refused. */
    if (srv->hub->ops->online(srv->hub, key) ||
        srv->store->ops->lookup(srv->store, key, NULL, NULL) == 1) {
        say(s, "* name taken");
        session_close(s, 1008, "name taken");
        return;
    }
    char name[CHAT_NAME_MAX];
    memcpy(name, text, len);
    name[len] = '\0';
    if (session_login(s, name, key) != 0) {
        session_close(s, 1011, "out of memory");
        return;
    }
    char prefix[CHAT_NAME_MAX + 32];
    snprintf(prefix, sizeof prefix, "* welcome %s; online: ", name);
    say_users(s, prefix);
}

/* "/msg bob some text" */
static void command_msg(session_t *s, const char *args, size_t len)
{
    const char *sp = memchr(args, ' ', len);
    if (!sp || sp == args || sp + 1 == args + len) {
        say(s, "* error: usage: /msg <user> <text>");
        return;
    }
    size_t to_len = (size_t)(sp - args);
    const char *text = sp + 1;
    size_t text_len = len - to_len - 1;
    if (msg_check_text(s, text_len, "") == 0)
        msg_direct(s, args, to_len, text, text_len, "");
}

static int is_command(const char *line, size_t len, const char *cmd)
{
    size_t n = strlen(cmd);
    return len >= n && !memcmp(line, cmd, n) && (len == n || line[n] == ' ');
}

void plain_line(session_t *s, const char *text, size_t len)
{
    len = chomp(text, len);
    if (is_command(text, len, "/exit")) {
        session_close(s, 1000, "bye");
        return;
    }
    if (!session_rate(s, ""))
        return;
    if (is_command(text, len, "/users")) {
        say_users(s, "* online: ");
    } else if (is_command(text, len, "/msg")) {
        command_msg(s, text + 4 + (len > 4), len - 4 - (len > 4));
    } else if (len && text[0] == '/') {
        const char *sp = memchr(text, ' ', len);
        size_t n = sp ? (size_t)(sp - text) : len;
        say(s, "* error: unknown command %.*s", (int)(n < 64 ? n : 64), text);
    } else if (msg_check_text(s, len, "") == 0) {
        msg_lobby(s, text, len, "");
    }
}

/* ----------------------------------------------------------- render */

typedef struct event {
    json_doc_t doc;
    json_tok_t tok[64];
} event_t;

/* The string member key of the event, or "" (out holds cap bytes). */
static const char *member(const event_t *e, const char *key, char *out,
                          size_t cap, size_t *len)
{
    int i = json_find(&e->doc, 0, key);
    *len = 0;
    out[0] = '\0';
    if (i >= 0)
        json_string(&e->doc, i, out, cap, len);
    return out;
}

static size_t render_msg(const event_t *e, char *out, size_t cap)
{
    char from[CHAT_NAME_MAX], to[CHAT_NAME_MAX];
    size_t n, tl;
    member(e, "from", from, sizeof from, &n);
    member(e, "to", to, sizeof to, &tl);
    int k = snprintf(out, cap, "%s%s: ", from, tl ? " (private)" : "");
    if (k < 0 || (size_t)k >= cap)
        return 0;
    int t = json_find(&e->doc, 0, "text");
    if (t < 0 || json_string(&e->doc, t, out + k, cap - (size_t)k, &n) != 0)
        return 0;
    return (size_t)k + n;
}

static size_t render_status(const event_t *e, char *out, size_t cap)
{
    char st[16], to[CHAT_NAME_MAX];
    size_t n;
    member(e, "to", to, sizeof to, &n);
    member(e, "status", st, sizeof st, &n);
    if (!*to || !strcmp(st, "sent") || !strcmp(st, "read"))
        return 0;
    int k = snprintf(out, cap, "* to %s: %s", to,
                     strcmp(st, "offline") ? st : "offline, will be delivered");
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

static size_t render_notice(const event_t *e, const char *type, char *out,
                            size_t cap)
{
    char arg[CHAT_TEXT_MAX + 1], code[32];
    size_t n;
    int k = 0;
    if (!strcmp(type, "join") || !strcmp(type, "leave")) {
        member(e, "name", arg, sizeof arg, &n);
        k = snprintf(out, cap, "* %s %s the chat", arg,
                     type[0] == 'j' ? "joined" : "has left");
    } else if (!strcmp(type, "system")) {
        member(e, "text", arg, sizeof arg, &n);
        k = snprintf(out, cap, "* %s", arg);
    } else if (!strcmp(type, "error")) {
        member(e, "message", arg, sizeof arg, &n);
        member(e, "code", code, sizeof code, &n);
        k = snprintf(out, cap, "* %s%s",
                     strcmp(code, "no_such_user") ? "error: " : "", arg);
    }
    return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}

size_t plain_render(const char *json, size_t len, char *out, size_t cap)
{
    event_t e;
    char type[16];
    size_t n;
    if (json_parse(&e.doc, json, len, e.tok, 64, NULL) != 0)
        return 0;
    member(&e, "type", type, sizeof type, &n);
    if (!strcmp(type, "msg"))
        return render_msg(&e, out, cap);
    if (!strcmp(type, "status"))
        return render_status(&e, out, cap);
    return render_notice(&e, type, out, cap);
}
