/*
 * client_term.c — the console client's terminal: when stdin is a
 * terminal, raw mode and a one-line editor (insert, backspace, delete,
 * left, right, home, end, ^U, ^C, ^D) below the output, which is printed
 * above the line being typed and then the line is drawn again, so nothing
 * typed is garbled; otherwise plain lines in, plain lines out, for
 * scripts.
 *
 * Raw mode is undone on every way out: term_close, exit() (atexit), and
 * the fatal signals (a handler that restores the saved settings, which
 * tcsetattr may do in a handler, then dies of the signal as before).
 * SIGINT and SIGTERM reach the loop (wsx_process_setup blocks them), and
 * in raw mode ^C is a key, not a signal.
 */
#define _GNU_SOURCE
#include "client.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

/* The terminal's settings before raw mode: one per process, because the
 * signal handlers and atexit that restore them have no other way to
 * reach them. */
static struct termios saved_tio;
static volatile sig_atomic_t raw_on;

static void restore_tty(void)
{
    if (raw_on) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
        raw_on = 0;
    }
}

static void on_fatal(int sig)
{
    restore_tty();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int enter_raw(void)
{
    static const int fatal[] = {SIGHUP, SIGQUIT, SIGABRT, SIGSEGV,
                                SIGBUS, SIGFPE,  SIGILL,  SIGPIPE};
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return -1;
    raw = saved_tio;
    /* Bytes as typed: no echo, no line buffering, no signals from ^C/^Z,
     * no CR/NL translation on input; output post-processing stays on so
     * "\n" still returns the carriage. */
    raw.c_iflag &= ~(unsigned)(ICRNL | IXON | BRKINT | INPCK | ISTRIP);
    raw.c_lflag &= ~(unsigned)(ECHO | ICANON | ISIG | IEXTEN);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    atexit(restore_tty);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal;
        sigaction(fatal[i], &sa, NULL);
    }
    if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
        return -1;
    raw_on = 1;
    return 0;
}

static void out(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
}

static void outs(const char *s)
{
    out(s, strlen(s));
}

/* The code point at s[*i] (valid UTF-8: the editor holds what was typed,
 * and a partial character is never drawn), *i moved past it. */
static unsigned long next_cp(const char *s, size_t n, size_t *i)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned long cp = u[(*i)++];
    int more = cp >= 0xF0 ? 3 : cp >= 0xE0 ? 2 : cp >= 0xC0 ? 1 : 0;
    cp &= more ? 0x3Fu >> more : 0x7Fu;
    while (more-- > 0 && *i < n)
        cp = cp << 6 | (u[(*i)++] & 0x3Fu);
    return cp;
}

/* Terminal columns of s[0..n): wide characters take two, combining
 * ones none (wcwidth, in the locale's LC_CTYPE). */
static size_t width_of(const char *s, size_t n)
{
    size_t w = 0, i = 0;
    while (i < n) {
        int cw = wcwidth((wchar_t)next_cp(s, n, &i));
        w += cw < 0 ? 1 : (size_t)cw;
    }
    return w;
}

/* The longest prefix of s[0..n) that fits in cols columns, in bytes. */
static size_t fit(const char *s, size_t n, size_t cols)
{
    size_t i = 0, w = 0;
    while (i < n) {
        size_t j = i;
        int cw = wcwidth((wchar_t)next_cp(s, n, &j));
        size_t add = cw < 0 ? 1 : (size_t)cw;
        if (w + add > cols)
            break;
        w += add;
        i = j;
    }
    return i;
}

static size_t char_before(const term_t *t, size_t at)
{
    while (at > 0 && ((unsigned char)t->line[--at] & 0xC0) == 0x80)
        ;
    return at;
}

static size_t char_after(const term_t *t, size_t at)
{
    if (at < t->len)
        at++;
    while (at < t->len && ((unsigned char)t->line[at] & 0xC0) == 0x80)
        at++;
    return at;
}

/* Erase what draw() drew: the prompt line, and the status above it. */
static void erase(term_t *t)
{
    if (!t->shown)
        return;
    outs("\r\x1b[2K");
    if (t->status[0])
        outs("\x1b[1A\r\x1b[2K");
    t->shown = 0;
}

static size_t columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 8)
        return ws.ws_col;
    return 80;
}

/* The status line, then "> " and the part of the line that fits on one
 * row (scrolled sideways to keep the cursor in view: a line that wrapped
 * could not be erased in place), the cursor put back where it is. */
static void draw(term_t *t)
{
    if (!t->tty || !t->watch)
        return;
    size_t cols = columns(), width = cols - 3;
    if (t->status[0]) {
        out(t->status, fit(t->status, strlen(t->status), cols - 1));
        outs("\n"); /* ONLCR (output processing is on) adds the \r */
    }
    /* t->scroll: the byte where the row starts, a character boundary. */
    if (width_of(t->line, t->len) <= width || t->scroll > t->cursor)
        t->scroll = width_of(t->line, t->len) <= width ? 0 : t->cursor;
    while (width_of(t->line + t->scroll, t->cursor - t->scroll) > width)
        t->scroll = char_after(t, t->scroll);
    size_t to = t->scroll + fit(t->line + t->scroll, t->len - t->scroll,
                                width);
    outs("> ");
    out(t->line + t->scroll, to - t->scroll);
    size_t back = width_of(t->line + t->cursor, to - t->cursor);
    if (back)
        printf("\x1b[%zuD", back);
    t->shown = 1;
    fflush(stdout);
}

/* Text from the network shown as text: C0 and C1 controls and DEL
 * become '?' (a newline only if not kept), so a message cannot move the
 * cursor, clear the screen or retitle the terminal. In place (a C1
 * control's two bytes become "??"). */
static void clean(char *s, int keep_newline)
{
    unsigned char *u = (unsigned char *)s;
    for (; *u; u++) {
        if ((*u < 0x20 && !(*u == '\n' && keep_newline)) || *u == 0x7f)
            *u = '?';
        else if (*u == 0xC2 && u[1] >= 0x80 && u[1] <= 0x9F)
            u[0] = u[1] = '?';
    }
}

void term_print(term_t *t, const char *fmt, ...)
{
    va_list ap;

    char text[CLIENT_TEXT_MAX + 1024];

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    clean(text, 1);
    erase(t);
    outs(text);
    outs("\n");
    draw(t);
    fflush(stdout);
}

void term_status(term_t *t, const char *text)
{
    if (!t->tty) {
        if (text[0])
            term_print(t, "%s", text);
        return;
    }
    erase(t);
    snprintf(t->status, sizeof t->status, "%s", text);
    clean(t->status, 0);
    draw(t);
}

/* ------------------------------------------------------------- editor */

static void edited(term_t *t)
{
    erase(t);
    draw(t);
    if (t->ev.on_edit)
        t->ev.on_edit(t->user, t->line, t->len);
}

static void insert(term_t *t, char c)
{
    if (t->len + 1 >= sizeof t->line)
        return; /* full: the byte is dropped, as a terminal would beep */
    memmove(t->line + t->cursor + 1, t->line + t->cursor, t->len - t->cursor);
    t->line[t->cursor++] = c;
    t->len++;
    /* Redraw once a character is complete. */
    if (((unsigned char)c & 0xC0) != 0xC0 &&
        (t->cursor == t->len ||
         ((unsigned char)t->line[t->cursor] & 0xC0) != 0x80))
        edited(t);
}

static void delete_range(term_t *t, size_t from, size_t to)
{
    memmove(t->line + from, t->line + to, t->len - to);
    t->len -= to - from;
    t->cursor = from;
    edited(t);
}

static void move_to(term_t *t, size_t at)
{
    t->cursor = at;
    erase(t);
    draw(t);
}

static void enter(term_t *t)
{
    char line[CLIENT_LINE_MAX];
    size_t n = t->len;

    memcpy(line, t->line, n);
    line[n] = '\0';
    /* The line typed stays on the screen, as typed. */
    erase(t);
    outs("> ");
    out(line, n);
    outs("\n");
    t->len = t->cursor = 0;
    draw(t);
    t->ev.on_line(t->user, line, n);
}

/* ESC [ X, ESC O X, ESC [ n ~: the arrows, home, end, delete. */
static void escape(term_t *t, unsigned char c)
{
    if (t->esc == 1) {
        t->esc = (c == '[' || c == 'O') ? 2 : 0;
        return;
    }
    if (t->esc == 2 && c >= '0' && c <= '9') {
        t->esc_arg = (char)c;
        t->esc = 3;
        return;
    }
    if (t->esc == 3 && c != '~')
        return; /* more parameters: wait for the end */
    t->esc = 0;
    if (c == '~')
        c = t->esc_arg == '1' || t->esc_arg == '7'   ? 'H'
            : t->esc_arg == '4' || t->esc_arg == '8' ? 'F'
            : t->esc_arg == '3'                      ? 'd'
                                                     : 0;
    switch (c) {
    case 'C':
        move_to(t, char_after(t, t->cursor));
        break;
    case 'D':
        move_to(t, char_before(t, t->cursor));
        break;
    case 'H':
        move_to(t, 0);
        break;
    case 'F':
        move_to(t, t->len);
        break;
    case 'd':
        if (t->cursor < t->len)
            delete_range(t, t->cursor, char_after(t, t->cursor));
        break;
    default:
        break;
    }
}

static void key(term_t *t, unsigned char c)
{
    if (t->esc) {
        escape(t, c);
        return;
    }
    switch (c) {
    case 0x1b:
        t->esc = 1;
        break;
    case '\r':
    case '\n':
        enter(t);
        break;
    case 0x7f: /* Backspace */
    case 0x08:
        if (t->cursor > 0)
            delete_range(t, char_before(t, t->cursor), t->cursor);
        break;
    case 0x01: /* ^A */
        move_to(t, 0);
        break;
    case 0x05: /* ^E */
        move_to(t, t->len);
        break;
    case 0x15: /* ^U */
        if (t->cursor > 0)
            delete_range(t, 0, t->cursor);
        break;
    case 0x03: /* ^C */
        t->ev.on_interrupt(t->user);
        break;
    case 0x04: /* ^D */
        if (t->len == 0)
            t->ev.on_eof(t->user);
        else if (t->cursor < t->len)
            delete_range(t, t->cursor, char_after(t, t->cursor));
        break;
    default:
        if (c >= 0x20 || c == '\t')
            insert(t, c == '\t' ? ' ' : (char)c);
    }
}

/* ------------------------------------------------------------- input */

static void plain_lines(term_t *t, int eof)
{
    char *nl;
    while (t->watch && (nl = memchr(t->line, '\n', t->len)) != NULL) {
        size_t n = (size_t)(nl - t->line), used = n + 1;
        char line[CLIENT_LINE_MAX];
        memcpy(line, t->line, n);
        line[n] = '\0';
        memmove(t->line, t->line + used, t->len - used);
        t->len -= used;
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        t->ev.on_line(t->user, line, n);
    }
    if (eof && t->len) { /* a last line without its newline */
        t->line[t->len] = '\0';
        size_t n = t->len;
        t->len = 0;
        t->ev.on_line(t->user, t->line, n);
    }
    if (!eof && t->len == sizeof t->line - 1) {
        term_print(t, "* error: line longer than %zu bytes, ignored",
                   sizeof t->line - 1);
        t->len = 0;
    }
}

static void on_stdin(wsx_watch_t *w, int fd, unsigned ready, void *user)
{
    term_t *t = user;
    unsigned char buf[4096];
    (void)w;
    (void)ready;

    ssize_t n = t->tty ? read(fd, buf, sizeof buf)
                       : read(fd, t->line + t->len,
                              sizeof t->line - 1 - t->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        if (!t->tty)
            plain_lines(t, 1);
        term_stop(t);
        t->ev.on_eof(t->user);
        return;
    }
    if (!t->tty) {
        t->len += (size_t)n;
        plain_lines(t, 0);
        return;
    }
    for (ssize_t i = 0; i < n && t->watch; i++)
        key(t, buf[i]);
    fflush(stdout);
}

int term_open(term_t *t, wsx_loop_t *loop, const term_events_t *ev,
              void *user)
{
    memset(t, 0, sizeof *t);
    t->loop = loop;
    t->ev = *ev;
    t->user = user;
    t->tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (t->tty && enter_raw() != 0)
        return -1;
    t->raw = t->tty;
    t->watch = wsx_watch_start(loop, STDIN_FILENO, WSX_READABLE, on_stdin, t);
    if (!t->watch) {
        term_close(t);
        return -1;
    }
    draw(t);
    return 0;
}

void term_stop(term_t *t)
{
    if (t->watch) {
        erase(t);
        wsx_watch_stop(t->watch);
        t->watch = NULL;
        fflush(stdout);
    }
}

void term_close(term_t *t)
{
    term_stop(t);
    if (t->raw) {
        restore_tty();
        t->raw = 0;
    }
}
