/*
 * files.h — file transfers relayed by the server (PROTOCOL.md "Files"):
 * offer, accept or refuse, chunks as binary messages under a window the
 * server acknowledges as the receiver's connection drains, result or
 * cancel. The server holds at most FILE_WINDOW bytes of a transfer,
 * whatever the file's size. Both sides must be on this process.
 */
#ifndef CHAT_FILES_H
#define CHAT_FILES_H

#include "chat.h"

#define FILE_WINDOW (256u * 1024u)
#define FILE_CHUNK_MAX 65536u
#define FILE_PROGRESS_STEP (64u * 1024u) /* bytes between reports */
#define FILE_POLL_MS 5
#define FILE_NAME_MAX 255
#define FILE_SIZE_MAX 9007199254740992LL /* 2^53 */

typedef struct file_xfer {
    struct file_xfer *next;
    uint32_t id;
    session_t *from, *to;
    uint64_t size;
    uint64_t relayed;  /* data bytes queued to the receiver */
    uint64_t written;  /* of them, known to have left its queue */
    uint64_t reported; /* the last "bytes" of file_progress */
    int accepted;
    char name[FILE_NAME_MAX + 1];
} file_xfer_t;

/* Once per loop round (and on a short timer while a transfer waits for
 * its window): acknowledge what the receivers' connections drained. */
void files_poll(chat_server_t *srv);

/* Forget every transfer: the server has stopped (after its loop). */
void files_free_all(chat_server_t *srv);

#endif
