/*
 * pmd.c — the suite's permessage-deflate client end on zlib (see pmd.h).
 */
#include "pmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};

/* The next ';'-separated element of *s, trimmed, into out. 0 at the end. */
static int next_part(const char **s, char *out, size_t cap)
{
    const char *p = *s, *end;
    size_t n;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p)
        return 0;
    end = p + strcspn(p, ";");
    *s = *end ? end + 1 : end;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    n = (size_t)(end - p) < cap - 1 ? (size_t)(end - p) : cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 1;
}

/* A window-bits value: 1*DIGIT without a leading zero, optionally as a
 * quoted-string (RFC 7692 §7.1); -1 when it is not one. */
static int bits_of(const char *v)
{
    size_t n = strlen(v);
    int x = 0;

    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v++;
        n -= 2;
    }
    if (n < 1 || n > 2 || v[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

int pmd_parse(pmd_params_t *p, const char *value, int client_bits_offered,
              char *err, size_t cap)
{
    char part[128];
    const char *s = value;
    int seen_s = 0, seen_c = 0, first = 1;

    memset(p, 0, sizeof *p);
    p->client_bits = client_bits_offered ? client_bits_offered : 15;
    p->server_bits = 15;
    while (next_part(&s, part, sizeof part)) {
        char *eq = strchr(part, '=');
        int bits = eq ? bits_of(eq + 1) : 0;
        if (eq)
            *eq = '\0';
        if (first) {
            if (strcasecmp(part, "permessage-deflate") != 0 || eq ||
                strchr(value, ','))
                goto bad;
            first = 0;
            p->on = 1;
        } else if (!strcasecmp(part, "server_no_context_takeover") && !eq &&
                   !p->server_nct) {
            p->server_nct = 1;
        } else if (!strcasecmp(part, "client_no_context_takeover") && !eq &&
                   !p->client_nct) {
            p->client_nct = 1;
        } else if (!strcasecmp(part, "server_max_window_bits") && !seen_s &&
                   bits >= 8 && bits <= 15) {
            seen_s = 1;
            p->server_bits = bits;
        } else if (!strcasecmp(part, "client_max_window_bits") && !seen_c &&
                   bits >= 8 && bits <= client_bits_offered) {
            /* §7.1.2.2: only when offered, with a value (never bare), and
             * never above what the client offered. */
            seen_c = 1;
            p->client_bits = bits;
        } else {
            goto bad;
        }
    }
    if (p->client_bits < 9) { /* zlib cannot compress with 256 bytes */
        snprintf(err, cap, "client_max_window_bits=8: zlib cannot honour it");
        return -1;
    }
    return 0;
bad:
    snprintf(err, cap,
             "response Sec-WebSocket-Extensions '%s' breaks RFC "
             "7692 §7.1 (at '%s')",
             value, part);
    return -1;
}

int pmd_start(pmd_end_t *e)
{
    memset(&e->def, 0, sizeof e->def);
    memset(&e->inf, 0, sizeof e->inf);
    if (deflateInit2(&e->def, 6, Z_DEFLATED, -e->p.client_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    e->def_ready = 1;
    if (inflateInit2(&e->inf, -e->p.server_bits) != Z_OK)
        return -1;
    e->inf_ready = 1;
    return 0;
}

void pmd_end(pmd_end_t *e)
{
    if (e->def_ready)
        deflateEnd(&e->def);
    if (e->inf_ready)
        inflateEnd(&e->inf);
    e->def_ready = e->inf_ready = 0;
}

int pmd_compress(pmd_end_t *e, const uint8_t *in, size_t n, buf_t *out)
{
    size_t room = deflateBound(&e->def, (uLong)n) + 64, start = out->len;

    if (e->p.client_nct && deflateReset(&e->def) != Z_OK)
        return -1;
    if (out->cap - out->len < room) {
        uint8_t *np = realloc(out->p, out->len + room);
        if (!np)
            return -1;
        out->p = np;
        out->cap = out->len + room;
    }
    e->def.next_in = (Bytef *)(uintptr_t)in;
    e->def.avail_in = (uInt)n;
    e->def.next_out = out->p + out->len;
    e->def.avail_out = (uInt)room;
    if (deflate(&e->def, Z_SYNC_FLUSH) != Z_OK || e->def.avail_in)
        return -1;
    out->len += room - e->def.avail_out;
    if (out->len - start < 4 || memcmp(out->p + out->len - 4, tail, 4))
        return -1;
    out->len -= 4;
    return 0;
}

/* A final block (BFINAL) ended zlib's stream: start a new one that still
 * holds the window, as the next message may refer to it (RFC 7692
 * §7.2.3.4 allows BFINAL; the context goes on unless reset). */
static int restart_keeping_window(z_stream *z)
{
    uint8_t dict[32768];
    uInt n = sizeof dict;

    if (inflateGetDictionary(z, dict, &n) != Z_OK || inflateReset(z) != Z_OK)
        return -1;
    return inflateSetDictionary(z, dict, n) == Z_OK ? 0 : -1;
}

/* Inflate in[0..n) into out, `step` output bytes per call. 0 or -1. */
static int inflate_some(pmd_end_t *e, const uint8_t *in, size_t n, uInt step,
                        buf_t *out, char *err, size_t cap)
{
    uint8_t chunk[65536];

    e->inf.next_in = (Bytef *)(uintptr_t)in;
    e->inf.avail_in = (uInt)n;
    for (;;) {
        e->inf.next_out = chunk;
        e->inf.avail_out = step;
        int r = inflate(&e->inf, Z_SYNC_FLUSH);
        size_t got = step - e->inf.avail_out;
        buf_put(out, chunk, got);
        if (r == Z_STREAM_END) {
            e->inf.avail_in = 0; /* what follows a final block is ignored */
            return restart_keeping_window(&e->inf);
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            snprintf(err, cap, "zlib inflate: %s (window %d bits)",
                     e->inf.msg ? e->inf.msg : "error", e->p.server_bits);
            return -1;
        }
        if (!got && (r == Z_BUF_ERROR || !e->inf.avail_in))
            return 0; /* input used up and nothing held back */
    }
}

int pmd_inflate(pmd_end_t *e, const uint8_t *in, size_t n, buf_t *out,
                char *err, size_t cap)
{
    /* One byte per call below 15 bits: the window is then checked
     * exactly (see pmd.h). */
    uInt step = e->p.server_bits < 15 ? 1 : 65536;

    if (e->p.server_nct && inflateReset(&e->inf) != Z_OK)
        return -1;
    if (inflate_some(e, in, n, step, out, err, cap) != 0)
        return -1;
    return inflate_some(e, tail, sizeof tail, step, out, err, cap);
}
