/*
 * client_file.c — the console client's file transfers (PROTOCOL.md,
 * Files): offers made (/send) and received (/accept, /refuse), the data
 * as binary messages of a 4-byte transfer number and up to 64 KiB, never
 * more than the window ahead of what the server acknowledged with
 * file_progress, and the SHA-256 checked by the receiver.
 *
 * A received file is created in the download directory under its offered
 * name, made safe (no directories, no dot files), and never over an
 * existing file: name, name.1, name.2, ... (O_EXCL). It is removed again
 * when the transfer is cancelled or its SHA-256 does not match.
 */
#define _GNU_SOURCE
#include "client.h"
#include "fdio.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_xfer {
    int used;
    int incoming;
    int accepted;
    int64_t file; /* the server's number; -1 until the offer is placed */
    char id[16];  /* our offer's id */
    char peer[CLIENT_NAME_MAX];
    char name[256];
    char path[4200];
    int fd;
    uint64_t size, done, acked, window;
    char sha[65];
    wsx_sha256_t hash;
    int shown; /* the last progress shown: percent (terminal), quarter */
    unsigned order; /* incoming: offers are answered latest first */
};

int files_init(client_t *cl)
{
    cl->files = calloc(2 * CLIENT_FILES, sizeof *cl->files);
    return cl->files ? 0 : -1;
}

static void xfer_end(file_xfer_t *x, int remove_file)
{
    if (x->fd >= 0)
        close(x->fd);
    if (remove_file && x->incoming && x->path[0])
        unlink(x->path);
    memset(x, 0, sizeof *x);
    x->fd = -1;
}

void files_free(client_t *cl)
{
    if (!cl->files)
        return;
    for (int i = 0; i < 2 * CLIENT_FILES; i++)
        if (cl->files[i].used)
            xfer_end(&cl->files[i], 1);
    free(cl->files);
    cl->files = NULL;
}

int files_active(const client_t *cl, int our_offers)
{
    int n = 0;
    for (int i = 0; i < 2 * CLIENT_FILES; i++) {
        const file_xfer_t *x = &cl->files[i];
        n += x->used && (x->accepted || (our_offers && !x->incoming));
    }
    return n;
}

static file_xfer_t *slot(client_t *cl, int incoming)
{
    file_xfer_t *x = cl->files + (incoming ? CLIENT_FILES : 0);
    for (int i = 0; i < CLIENT_FILES; i++)
        if (!x[i].used) {
            memset(&x[i], 0, sizeof x[i]);
            x[i].used = 1;
            x[i].incoming = incoming;
            x[i].fd = -1;
            x[i].file = -1;
            return &x[i];
        }
    return NULL;
}

static file_xfer_t *find(client_t *cl, int64_t file)
{
    for (int i = 0; i < 2 * CLIENT_FILES; i++)
        if (cl->files[i].used && cl->files[i].file == file && file >= 0)
            return &cl->files[i];
    return NULL;
}

/* "1.5 MiB" */
static const char *human(uint64_t n, char *buf, size_t cap)
{
    if (n < 1024)
        snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else if (n < 1024 * 1024)
        snprintf(buf, cap, "%.1f KiB", (double)n / 1024);
    else
        snprintf(buf, cap, "%.1f MiB", (double)n / (1024 * 1024));
    return buf;
}

/* The progress bar: on the terminal at each percent, in plain mode a line
 * at each quarter. */
static void progress(client_t *cl, file_xfer_t *x, uint64_t done)
{
    int pct = x->size ? (int)(done * 100 / x->size) : 100;
    int step = cl->term.tty ? pct : pct / 25;
    if (step == x->shown)
        return;
    x->shown = step;
    char bar[21], a[32], b[32], line[640];
    for (int i = 0; i < 20; i++)
        bar[i] = i < pct / 5 ? '#' : '.';
    bar[20] = '\0';
    snprintf(line, sizeof line, "[%s] %3d%% %s %s %s (%s of %s)", bar, pct,
             x->name, x->incoming ? "from" : "to", x->peer,
             human(done, a, sizeof a), human(x->size, b, sizeof b));
    term_status(&cl->term, line);
}

/* ------------------------------------------------------------ sending */

static void send_file_msg(client_t *cl, const char *type, int64_t file,
                          const char *bool_key, int value)
{
    char j[160];
    json_writer_t w;
    json_writer_init(&w, j, sizeof j);
    json_object_begin(&w);
    json_member_str(&w, "type", type);
    json_member_int(&w, "file", file);
    if (bool_key)
        json_member_bool(&w, bool_key, value);
    json_object_end(&w);
    client_send_json(cl, &w);
}


static int hash_file(int fd, uint64_t size, char hex[65])
{
    static uint8_t buf[CLIENT_CHUNK];
    wsx_sha256_t s;
    uint8_t digest[WSX_SHA256_LEN];
    uint64_t at = 0;

    wsx_sha256_init(&s);
    while (at < size) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        wsx_sha256_update(&s, buf, (size_t)n);
        at += (uint64_t)n;
    }
    wsx_sha256_final(&s, digest);
    wsx_sha256_hex(digest, hex);
    return 0;
}

void files_send(client_t *cl, const char *to, const char *path)
{
    struct stat st;
    file_xfer_t *x = slot(cl, 0);
    if (!x) {
        term_print(&cl->term, "* error: %d transfers already going out",
                   CLIENT_FILES);
        return;
    }
    x->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0 || fstat(x->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        term_print(&cl->term, "* error: cannot send %s: %s", path,
                   x->fd < 0 ? strerror(errno) : "not a regular file");
        xfer_end(x, 0);
        return;
    }
    x->size = (uint64_t)st.st_size;
    if (hash_file(x->fd, x->size, x->sha) != 0) {
        term_print(&cl->term, "* error: cannot read %s: %s", path,
                   strerror(errno));
        xfer_end(x, 0);
        return;
    }
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* PROTOCOL.md: a name of 1-255 bytes, cut on a character boundary. */
    size_t n = strlen(base);
    if (n >= sizeof x->name)
        for (n = sizeof x->name - 1; ((unsigned char)base[n] & 0xC0) == 0x80;)
            n--;
    memcpy(x->name, base, n);
    x->name[n] = '\0';
    snprintf(x->peer, sizeof x->peer, "%s", to);
    client_next_id(cl, x->id);

    char buf[1024];
    json_writer_t w;
    json_writer_init(&w, buf, sizeof buf);
    json_object_begin(&w);
    json_member_str(&w, "type", "file_offer");
    json_member_str(&w, "id", x->id);
    json_member_str(&w, "to", to);
    json_member_str(&w, "name", x->name);
    json_member_int(&w, "size", (int64_t)x->size);
    json_member_str(&w, "sha256", x->sha);
    json_object_end(&w);
    if (client_send_json(cl, &w) != 0) {
        xfer_end(x, 0);
        return;
    }
    char h[32];
    term_print(&cl->term, "* offering %s (%s) to %s", x->name,
               human(x->size, h, sizeof h), to);
}

/* As much of x as its window allows. */
static void pump_one(client_t *cl, file_xfer_t *x)
{
    static uint8_t buf[4 + CLIENT_CHUNK];
    while (x->done < x->size && x->done - x->acked < x->window) {
        uint64_t n = x->size - x->done, room = x->window - (x->done - x->acked);
        if (n > CLIENT_CHUNK)
            n = CLIENT_CHUNK;
        if (n > room)
            n = room;
        ssize_t got = pread(x->fd, buf + 4, (size_t)n, (off_t)x->done);
        if (got <= 0) {
            term_print(&cl->term, "* error: reading %s: %s", x->name,
                       got < 0 ? strerror(errno) : "the file got shorter");
            /* The server is told, so the receiver is too. */
            send_file_msg(cl, "file_cancel", x->file, NULL, 0);
            xfer_end(x, 0);
            return;
        }
        uint32_t f = (uint32_t)x->file;
        buf[0] = (uint8_t)(f >> 24);
        buf[1] = (uint8_t)(f >> 16);
        buf[2] = (uint8_t)(f >> 8);
        buf[3] = (uint8_t)f;
        if (wsx_conn_send_binary(cl->conn, buf, 4 + (size_t)got) != 0)
            return;
        x->done += (uint64_t)got;
    }
}

void files_pump(client_t *cl)
{
    for (int i = 0; i < CLIENT_FILES; i++)
        if (cl->files[i].used && cl->files[i].accepted)
            pump_one(cl, &cl->files[i]);
}

/* ---------------------------------------------------------- receiving */

/* The offered name as a file name here: its last component, no leading
 * dot, no control characters; "file" when nothing is left. */
static void safe_name(const char *offered, char *out, size_t cap)
{
    const char *base = strrchr(offered, '/');
    base = base ? base + 1 : offered;
    size_t n = 0;
    for (; *base && n + 1 < cap && n < 200; base++) {
        unsigned char c = (unsigned char)*base;
        out[n++] = (c < 0x20 || c == 0x7f || c == '\\') ? '_' : (char)c;
    }
    out[n] = '\0';
    if (n == 0 || !strcmp(out, ".") || !strcmp(out, ".."))
        snprintf(out, cap, "file");
    else if (out[0] == '.')
        out[0] = '_';
}

/* Create dir/name, or name.1, name.2, ...: never over an existing file. */
static int create_unique(const char *dir, const char *name, char *path,
                         size_t cap)
{
    for (unsigned i = 0; i < 10000; i++) {
        if (i == 0)
            snprintf(path, cap, "%s/%s", dir, name);
        else
            snprintf(path, cap, "%s/%s.%u", dir, name, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

static void receive_done(client_t *cl, file_xfer_t *x)
{
    uint8_t digest[WSX_SHA256_LEN];
    char hex[65], h[32];
    wsx_sha256_final(&x->hash, digest);
    wsx_sha256_hex(digest, hex);
    int ok = strcmp(hex, x->sha) == 0 && fsync(x->fd) == 0;
    send_file_msg(cl, "file_result", x->file, "ok", ok);
    term_status(&cl->term, "");
    if (ok)
        term_print(&cl->term, "* saved %s from %s as %s (%s, SHA-256 ok)",
                   x->name, x->peer, x->path, human(x->size, h, sizeof h));
    else
        term_print(&cl->term,
                   "* error: %s from %s does not match its SHA-256 "
                   "(got %s); removed",
                   x->name, x->peer, hex);
    xfer_end(x, !ok);
}

/* The latest offer not answered yet, or NULL. */
static file_xfer_t *latest_offer(client_t *cl)
{
    file_xfer_t *best = NULL;
    for (int i = CLIENT_FILES; i < 2 * CLIENT_FILES; i++) {
        file_xfer_t *x = &cl->files[i];
        if (x->used && !x->accepted && (!best || x->order > best->order))
            best = x;
    }
    return best;
}

void files_answer(client_t *cl, int accept)
{
    file_xfer_t *x = latest_offer(cl);
    if (!x) {
        term_print(&cl->term, "* error: no file offer waiting for an answer");
        return;
    }
    if (!accept) {
        send_file_msg(cl, "file_refuse", x->file, NULL, 0);
        term_print(&cl->term, "* refused %s from %s", x->name, x->peer);
        xfer_end(x, 0);
        return;
    }
    char name[256];
    safe_name(x->name, name, sizeof name);
    x->fd = create_unique(cl->download_dir, name, x->path, sizeof x->path);
    if (x->fd < 0) {
        term_print(&cl->term, "* error: cannot save %s in %s: %s; refused",
                   x->name, cl->download_dir, strerror(errno));
        x->path[0] = '\0';
        send_file_msg(cl, "file_refuse", x->file, NULL, 0);
        xfer_end(x, 0);
        return;
    }
    x->accepted = 1;
    wsx_sha256_init(&x->hash);
    send_file_msg(cl, "file_accept", x->file, NULL, 0);
    term_print(&cl->term, "* receiving %s from %s into %s", x->name, x->peer,
               x->path);
    if (x->size == 0)
        receive_done(cl, x);
}

void files_chunk(client_t *cl, const uint8_t *data, size_t len)
{
    if (len < 5)
        return;
    int64_t file = (int64_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                             (uint32_t)data[2] << 8 | data[3]);
    file_xfer_t *x = find(cl, file);
    if (!x || !x->incoming || !x->accepted)
        return; /* a chunk of a transfer already cancelled */
    const char *why = NULL;
    if (len - 4 > x->size - x->done)
        why = "more data than the offered size";
    else if (wsx_write_all(x->fd, data + 4, len - 4) != 0)
        why = strerror(errno);
    if (why) {
        term_print(&cl->term, "* error: receiving %s: %s; cancelled", x->name,
                   why);
        send_file_msg(cl, "file_cancel", x->file, NULL, 0);
        term_status(&cl->term, "");
        xfer_end(x, 1);
        return;
    }
    wsx_sha256_update(&x->hash, data + 4, len - 4);
    x->done += len - 4;
    progress(cl, x, x->done);
    if (x->done == x->size)
        receive_done(cl, x);
}

/* ------------------------------------------------------------- events */

static void on_offer(client_t *cl, const json_doc_t *d)
{
    char h[32];
    int64_t file = client_int(d, 0, "file"), size = client_int(d, 0, "size");
    file_xfer_t *x = slot(cl, 1);
    if (!x || file < 0 || size < 0) {
        if (file >= 0)
            send_file_msg(cl, "file_refuse", file, NULL, 0);
        term_print(&cl->term, "* a file offer was refused: %s",
                   x ? "it was malformed" : "too many transfers");
        if (x)
            xfer_end(x, 0);
        return;
    }
    x->file = file;
    x->size = (uint64_t)size;
    client_str(d, 0, "from", x->peer, sizeof x->peer);
    if (!client_str(d, 0, "name", x->name, sizeof x->name))
        snprintf(x->name, sizeof x->name, "file");
    client_str(d, 0, "sha256", x->sha, sizeof x->sha);
    x->order = ++cl->offers;
    term_print(&cl->term, "* %s offers %s (%s): /accept or /refuse", x->peer,
               x->name, human(x->size, h, sizeof h));
}

void files_refused(client_t *cl, const char *ref)
{
    for (int i = 0; i < CLIENT_FILES; i++)
        if (cl->files[i].used && cl->files[i].file < 0 &&
            !strcmp(cl->files[i].id, ref))
            xfer_end(&cl->files[i], 0);
}

/* file_status: the answer to our file_offer. */
static void on_status(client_t *cl, const json_doc_t *d)
{
    char ref[16], status[32];
    file_xfer_t *x = NULL;
    client_str(d, 0, "ref", ref, sizeof ref);
    for (int i = 0; i < CLIENT_FILES; i++)
        if (cl->files[i].used && !strcmp(cl->files[i].id, ref))
            x = &cl->files[i];
    if (!x || !client_str(d, 0, "status", status, sizeof status))
        return;
    if (!strcmp(status, "offered")) {
        x->file = client_int(d, 0, "file");
        term_print(&cl->term, "* %s has the offer of %s; waiting for an "
                              "answer", x->peer, x->name);
        return;
    }
    term_print(&cl->term, "* %s not sent: %s is %s", x->name, x->peer,
               !strcmp(status, "offline") ? "offline"
                                          : "a plain-text client");
    xfer_end(x, 0);
}

void files_event(client_t *cl, const json_doc_t *d, const char *type)
{
    if (!strcmp(type, "file_offer")) {
        on_offer(cl, d);
        return;
    }
    if (!strcmp(type, "file_status")) {
        on_status(cl, d);
        return;
    }
    file_xfer_t *x = find(cl, client_int(d, 0, "file"));
    if (!x)
        return;
    char who[CLIENT_NAME_MAX] = "", reason[256] = "";
    if (!strcmp(type, "file_accept") && !x->incoming) {
        int64_t win = client_int(d, 0, "window");
        x->window = win > 0 ? (uint64_t)win : CLIENT_CHUNK;
        x->accepted = 1;
        term_print(&cl->term, "* %s accepted %s; sending", x->peer, x->name);
        files_pump(cl);
    } else if (!strcmp(type, "file_refuse") && !x->incoming) {
        term_print(&cl->term, "* %s refused %s", x->peer, x->name);
        xfer_end(x, 0);
    } else if (!strcmp(type, "file_progress") && !x->incoming) {
        int64_t n = client_int(d, 0, "bytes");
        if (n >= 0 && (uint64_t)n <= x->done)
            x->acked = (uint64_t)n;
        progress(cl, x, x->acked); /* what reached the peer */
        files_pump(cl);
    } else if (!strcmp(type, "file_result") && !x->incoming) {
        int ok = 0;
        int r = json_bool(d, json_find(d, 0, "ok"), &ok);
        term_status(&cl->term, "");
        term_print(&cl->term, "* %s received %s: %s", x->peer, x->name,
                   r == 0 && ok ? "SHA-256 ok"
                                : "SHA-256 MISMATCH (the copy was removed)");
        xfer_end(x, 0);
    } else if (!strcmp(type, "file_cancel")) {
        client_str(d, 0, "by", who, sizeof who);
        client_str(d, 0, "reason", reason, sizeof reason);
        term_status(&cl->term, "");
        term_print(&cl->term, "* transfer of %s cancelled by %s%s%s", x->name,
                   who[0] ? who : "the server", reason[0] ? ": " : "",
                   reason);
        xfer_end(x, 1);
    }
}
