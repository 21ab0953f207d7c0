/*
 * request.h — one JSON request taken apart, with field getters that
 * answer a missing or mistyped field with the error PROTOCOL.md names
 * ("missing_field", "wrong_type", "too_long"), so a handler only says
 * what it needs.
 */
#ifndef CHAT_REQUEST_H
#define CHAT_REQUEST_H

#include "chat.h"
#include "json.h"

#define REQ_TOKENS 512

typedef struct req {
    session_t *s;
    json_doc_t doc;
    char ref[CHAT_REF_MAX]; /* the request's id, or "" */
    json_tok_t tok[REQ_TOKENS];
} req_t;

enum { REQ_ABSENT = 0, REQ_OK = 1, REQ_BAD = -1 };

/* String field key into out (cap bytes, NUL-terminated; *len without
 * it): REQ_OK; REQ_ABSENT when optional and absent; REQ_BAD after the
 * error was sent (missing, not a string, longer than cap - 1). */
int req_str(req_t *r, const char *key, int required, char *out, size_t cap,
            size_t *len);

/* Integer field key in [min, max]: REQ_OK, REQ_ABSENT, REQ_BAD
 * ("bad_value" when out of range). */
int req_int(req_t *r, const char *key, int required, int64_t min, int64_t max,
            int64_t *out);

/* Boolean field key. */
int req_bool(req_t *r, const char *key, int required, int *out);

/* The request handlers, by file: login.c, contacts.c, files.c. */
void login_hello(req_t *r);
void contacts_list(req_t *r);
void contacts_add(req_t *r);
void contacts_remove(req_t *r);
void files_offer(req_t *r);
void files_answer(req_t *r); /* file_accept, file_refuse */
void files_cancel(req_t *r);
void files_result(req_t *r);

#endif
