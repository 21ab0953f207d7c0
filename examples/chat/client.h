/*
 * client.h — what the console chat client's files share: the session
 * (client.c: options, login, events, commands), the terminal
 * (client_term.c: raw mode and the line editor, or plain lines), file
 * transfers (client_file.c) and the name tokens (client_token.c).
 * The protocol is examples/chat/PROTOCOL.md, JSON mode.
 */
#ifndef CHAT_CLIENT_H
#define CHAT_CLIENT_H

#include "json.h"
#include "wsx.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLIENT_NAME_MAX 132  /* 32 characters of up to 4 bytes, and a NUL */
#define CLIENT_TEXT_MAX 4096 /* PROTOCOL.md: text is 1-4096 bytes */
#define CLIENT_LINE_MAX 8192
#define CLIENT_JSON_OUT (16u * 1024u) /* a JSON request, at most */
#define CLIENT_TOKENS 16384
#define CLIENT_FILES 8   /* transfers at once, each way */
#define CLIENT_PMS 64    /* own PMs remembered for their ticks */
#define CLIENT_TYPERS 16 /* users shown as typing */
#define CLIENT_CHUNK 65536u

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_CONNECT = 2, /* cannot connect or log in */
    EXIT_LOST = 3     /* the connection was lost or closed by the server */
};

/* ------------------------------------------------------ client_term.c */

typedef struct term_events {
    void (*on_line)(void *user, char *line, size_t len);
    void (*on_eof)(void *user);       /* ^D on an empty line, end of input */
    void (*on_interrupt)(void *user); /* ^C */
    void (*on_edit)(void *user, const char *line, size_t len);
} term_events_t;

typedef struct term {
    wsx_loop_t *loop;
    wsx_watch_t *watch;
    term_events_t ev;
    void *user;
    int tty;      /* stdin is a terminal: raw mode and the editor */
    int raw;      /* raw mode is on (to restore) */
    int shown;    /* the prompt line is on the screen */
    char line[CLIENT_LINE_MAX];
    size_t len, cursor; /* bytes; the cursor is on a character boundary */
    size_t scroll;      /* the byte where the row starts (long lines) */
    int esc;            /* inside an escape sequence: its state */
    char esc_arg;
    char status[256]; /* a line drawn above the prompt (progress), or "" */
} term_t;

/* Read stdin through the loop: raw mode and the line editor when it is a
 * terminal, plain lines otherwise. 0, or -1 with errno. */
int term_open(term_t *t, wsx_loop_t *loop, const term_events_t *ev,
              void *user);
/* A line of output (no newline), above the line being typed. */
void term_print(term_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The transient status line above the prompt (terminal) or a printed
 * line (plain); "" removes it. */
void term_status(term_t *t, const char *text);
/* Stop reading stdin (the loop may still run). */
void term_stop(term_t *t);
/* Restore the terminal. Idempotent; also run at exit and on fatal
 * signals once term_open switched raw mode on. */
void term_close(term_t *t);

/* --------------------------------------------------------- client.c */

typedef struct pm_sent {
    char id[16];
    uint64_t seq;
    char to[CLIENT_NAME_MAX];
    char text[96]; /* the start of the text, for the tick lines */
    int state;     /* the last tick shown */
} pm_sent_t;

typedef struct typer {
    char name[CLIENT_NAME_MAX];
    int to_me; /* the PM audience, not the lobby */
} typer_t;

typedef struct file_xfer file_xfer_t;

typedef struct client {
    wsx_loop_t *loop;
    wsx_conn_t *conn;
    term_t term;
    const char *url;
    const char *download_dir;
    char name[CLIENT_NAME_MAX];
    char token[128];
    int logged_in;
    int closing;
    int input_done; /* end of input: close when the transfers are done */
    int exit_code;
    unsigned next_id;
    pm_sent_t pms[CLIENT_PMS];
    unsigned pm_next;
    typer_t typers[CLIENT_TYPERS];
    /* Our own typing (terminal mode): what was last sent, and when. */
    int typing_state; /* 0 none/done, 1 active, 2 paused */
    char typing_to[CLIENT_NAME_MAX];
    uint64_t typing_sent, last_key;
    wsx_timer_t *typing_timer;
    file_xfer_t *files; /* CLIENT_FILES outgoing, then CLIENT_FILES in */
    unsigned offers;    /* incoming offers so far */
    json_tok_t tok[CLIENT_TOKENS];
} client_t;

/* A new request id ("c1", "c2", ...) into id[16]. */
const char *client_next_id(client_t *cl, char id[16]);
/* Send a finished writer's text; a failure is printed. 0 or -1. */
int client_send_json(client_t *cl, json_writer_t *w);
/* Close with code (the session ends when the server answers). */
void client_finish(client_t *cl, unsigned code, int exit_code);
/* A string member of object obj into out (cap bytes), or NULL. */
const char *client_str(const json_doc_t *d, int obj, const char *key,
                       char *out, size_t cap);
/* An integer member, or -1 when missing or not one. */
int64_t client_int(const json_doc_t *d, int obj, const char *key);

/* ----------------------------------------------------- client_file.c */

/* The tables (CLIENT_FILES each way); -1 on ENOMEM. */
int files_init(client_t *cl);
void files_free(client_t *cl);
/* /send <user> <path>: hash the file, offer it. */
void files_send(client_t *cl, const char *to, const char *path);
/* /accept and /refuse: the latest offer. */
void files_answer(client_t *cl, int accept);
/* A file_* JSON event (type is its "type"). */
void files_event(client_t *cl, const json_doc_t *d, const char *type);
/* The server answered request ref with an error: if it was an offer,
 * it is over. */
void files_refused(client_t *cl, const char *ref);
/* A binary message: a chunk of an incoming file. */
void files_chunk(client_t *cl, const uint8_t *data, size_t len);
/* The connection can take more (pump the outgoing transfers). */
void files_pump(client_t *cl);
/* Transfers under way (accepted, either way), and with our_offers also
 * our offers still waiting for an answer. */
int files_active(const client_t *cl, int our_offers);

/* ---------------------------------------------------- client_token.c */

/* The token kept for name at server (url), into out; 0, or -1 when none.
 */
int token_load(const char *url, const char *name, char *out, size_t cap);
/* Keep it (the file created 0600, in a 0700 directory). 0, or -1 with a
 * message printed to stderr. */
int token_save(const char *url, const char *name, const char *token);
/* Whether a new name's token could be kept: the config directory made
 * and writable. 0, or -1 with a line on stderr saying what to do (before
 * a name is claimed: a claim whose token is lost is a name lost). */
int token_check(void);
/* The tokens file's path into out; 0, or -1 (no XDG_CONFIG_HOME, no HOME). */
int token_path(char *out, size_t cap);

#endif
