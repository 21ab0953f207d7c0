/*
 * suite.h — how conformance cases are declared and run.
 *
 * A case is a function and a few parameters, registered under a category.
 * The runner gives every case a fresh peer_t (no connection yet) with a
 * deadline, a wsecho instance to talk to (case_port()), and counts the
 * case failed when the function returns -1 or the server died meanwhile.
 */
#ifndef CONF_SUITE_H
#define CONF_SUITE_H

#include "wire.h"

/* The wsecho instances the suite starts. */
enum {
    SRV_DEFAULT, /* whole-message mode, 16 MiB limit */
    SRV_SMALL,   /* --max-message 1024 */
    SRV_STREAM,  /* --stream */
    SRV_COUNT
};

typedef struct tcase tcase_t;
typedef int (*case_fn)(peer_t *t, const tcase_t *c);

struct tcase {
    const char *cat;
    char name[96];
    case_fn fn;
    int srv;
    int timeout_ms;
    long a, b, c;        /* parameters, meaning up to fn */
    const uint8_t *data; /* constant bytes, borrowed */
    size_t len;
};

#define CASE_TIMEOUT_MS 5000

/* Register a case; returns it so the caller can adjust srv/timeout. */
tcase_t *add_case(const char *cat, case_fn fn, long a, long b, long c,
                  const void *data, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* The port of the instance the running case talks to. */
int case_port(void);
/* The path of the wsecho binary and the directory for its logs (for
 * cases that start their own instance). */
const char *wsecho_path(void);
const char *log_dir(void);
/* Open a WebSocket to the case's instance. */
int open_ws(peer_t *t);

/* Deterministic payloads: printable ASCII for text, every byte value
 * for binary. */
void fill(uint8_t *p, size_t n, int op);

/* The next bytes are the echo of one message: for the default and small
 * instances exactly one unmasked final frame (they echo whole messages);
 * for --stream any fragmentation of it, checked message by message. */
int expect_echo(peer_t *t, const tcase_t *k, int op, const void *p, size_t n);

/* Send bytes (chop as in send_bytes, no pause). */
int send_chopped(peer_t *t, const buf_t *b, size_t chop);

/* The categories, in table order. */
void register_handshake(void);
void register_framing(void);
void register_control(void);
void register_reserved(void);
void register_fragmentation(void);
void register_utf8(void);
void register_close(void);
void register_limits(void);
void register_server(void);
void register_deflate(void);

/* -------------------------------------------------------- the servers */

typedef struct server {
    int pid;
    int port;
    int out_fd; /* its stdout (the one "listening" line) */
    const char *extra[4];
    char log[256]; /* its stderr goes here */
} server_t;

/* Start wsecho with --host 127.0.0.1 --port 0 and s->extra; read the
 * port from its one stdout line. 0, or -1 with a message in err. */
int server_start(server_t *s, const char *bin, char *err, size_t cap);
/* 0 when running; else fills why (exit status or signal) and returns -1. */
int server_check(server_t *s, char *why, size_t cap);
/* SIGTERM, wait up to ms for it to exit; its wait status, or -1 (then it
 * was killed with SIGKILL). */
int server_stop(server_t *s, int ms);

#endif
