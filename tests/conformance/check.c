/*
 * check.c — helpers the case files share.
 */
#include "suite.h"

#include <string.h>

void fill(uint8_t *p, size_t n, int op)
{
    for (size_t i = 0; i < n; i++)
        p[i] = op == 0x1 ? (uint8_t)(' ' + (i * 7 + i / 95) % 95)
                         : (uint8_t)(i * 131 + i / 256);
}

int send_chopped(peer_t *t, const buf_t *b, size_t chop)
{
    return send_bytes(t, b->p, b->len, chop, 0);
}

/* --stream: the echo may come in any number of fragments. */
static int expect_message(peer_t *t, int op, const uint8_t *p, size_t n)
{
    size_t got = 0;
    int first = 1;
    for (;;) {
        frame_t f;
        if (recv_frame(t, &f) < 0)
            return fail(t, "echo of a %zu-byte message: %zu bytes arrived", n,
                        got);
        int want = first ? op : 0;
        int bad = 0;
        if (f.op != want || f.rsv || f.masked)
            bad = fail(t,
                       "echo fragment %s: op %d rsv %d masked %d, "
                       "expected op %d",
                       first ? "first" : "later", f.op, f.rsv, f.masked, want);
        else if (f.len > n - got || memcmp(f.payload.p, p + got, f.len) != 0)
            bad = fail(t, "echo differs from what was sent near byte %zu", got);
        got += (size_t)f.len;
        int fin = f.fin;
        frame_free(&f);
        if (bad)
            return -1;
        first = 0;
        if (fin)
            break;
    }
    if (got != n)
        return fail(t, "echo has %zu bytes, sent %zu", got, n);
    return 0;
}

int expect_echo(peer_t *t, const tcase_t *k, int op, const void *p, size_t n)
{
    if (k->srv == SRV_STREAM)
        return expect_message(t, op, p, n);
    buf_t e = {0};
    sframe(&e, 1, op, p, n);
    int r = expect_buf(t, &e, op == 1 ? "text echo" : "binary echo");
    buf_free(&e);
    return r;
}
