/*
 * pmdeflate.c — permessage-deflate (RFC 7692): the negotiation of §7.1
 * in both roles, and the extension's hooks over our DEFLATE codec
 * (inflate.c, deflate.c) on the extension interface (conn_ext.c).
 *
 * Per message (§7.2): the sender compresses with a sync flush and drops
 * the final 00 00 ff ff (our WS_Z_MESSAGE flush never writes them); the
 * receiver feeds the payload and then those 4 bytes to the decoder. The
 * engine counts decode()'s output against max_message as it is made, so
 * a decompression bomb stops at the limit.
 */
#include "deflate.h"
#include "wsproto_int.h"

#include <string.h>

static const char pmd_name[] = "permessage-deflate";

/* The state in the caller's memory; windows follow it. */
struct pmd {
    ws_pmd_params_t p;
    size_t threshold;
    int copying;       /* the message being sent goes out uncompressed */
    int ended;         /* the message being received had BFINAL */
    unsigned tail_fed; /* bytes of 00 00 ff ff given to the decoder */
    ws_inflate_t inf;
    ws_deflate_t def;
};

#define PMD_ALIGN 16
#define ROUND_UP(n) (((n) + PMD_ALIGN - 1) & ~(size_t)(PMD_ALIGN - 1))

/* ------------------------------------------------------------ config */

void ws_pmd_config_init(ws_pmd_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->level = 6;
    cfg->send_window_bits = 15;
    cfg->recv_window_bits = 15;
    cfg->threshold = WS_PMD_DEFAULT_THRESHOLD;
}

static unsigned bits_or_15(unsigned b)
{
    return b ? b : 15;
}

/* The caller's config as this version's struct: a shorter one (an older
 * caller) gets the defaults for the fields it does not have. */
static ws_pmd_config_t config_of(const ws_pmd_config_t *in)
{
    ws_pmd_config_t c;
    ws_pmd_config_init(&c);
    size_t n = in->size && in->size < sizeof c ? in->size : sizeof c;
    memcpy(&c, in, n);
    c.size = sizeof c;
    return c;
}

static int config_ok(const ws_pmd_config_t *cfg)
{
    unsigned s = bits_or_15(cfg->send_window_bits);
    unsigned r = bits_or_15(cfg->recv_window_bits);
    return cfg->level >= 0 && cfg->level <= 9 && s >= 8 && s <= 15 && r >= 8 &&
           r <= 15;
}

/* ------------------------------------------------------------ parameters */

/* What one offer or response says (RFC 7692 §7.1). Window bits: 0 when
 * absent; client_max_window_bits without a value is -1. */
struct pmd_params {
    int server_nct, client_nct;
    int server_bits, client_bits;
};

static int name_is(ws_str_t s, const char *name)
{
    size_t n = strlen(name);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != name[i])
            return 0;
    }
    return 1;
}

/* §7.1.2: a window-bits value is a decimal integer 8..15 (no leading
 * zero, possibly quoted). Returns it, or -1. */
static int window_value(const ws_ext_param_t *p)
{
    char v[8];
    ptrdiff_t n = ws_ext_param_value(p, v, sizeof v);
    if (n == 1 && v[0] >= '8' && v[0] <= '9')
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + v[1] - '0';
    return -1;
}

/* Read the parameters of one permessage-deflate element; -1 when §7.1
 * says to decline it (offer) or fail (response): an unknown or repeated
 * parameter, a value where none belongs, a bad window value. A response
 * must give client_max_window_bits a value (§7.1.2.2). */
static int read_params(const ws_ext_offer_t *o, int response,
                       struct pmd_params *out)
{
    memset(out, 0, sizeof *out);
    if (o->truncated)
        return -1;
    for (size_t i = 0; i < o->nparams; i++) {
        const ws_ext_param_t *p = &o->params[i];
        int has_value = p->value.ptr != NULL;
        if (name_is(p->name, "server_no_context_takeover") && !has_value &&
            !out->server_nct) {
            out->server_nct = 1;
        } else if (name_is(p->name, "client_no_context_takeover") &&
                   !has_value && !out->client_nct) {
            out->client_nct = 1;
        } else if (name_is(p->name, "server_max_window_bits") && has_value &&
                   !out->server_bits) {
            out->server_bits = window_value(p);
            if (out->server_bits < 0)
                return -1;
        } else if (name_is(p->name, "client_max_window_bits") &&
                   !out->client_bits && (has_value || !response)) {
            out->client_bits = has_value ? window_value(p) : -1;
            if (has_value && out->client_bits < 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Append s to out[*len..cap), keeping a NUL; 0 if it does not fit. */
static int append(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > cap)
        return 0;
    memcpy(out + *len, s, n + 1);
    *len += n;
    return 1;
}

static int append_bits(char *out, size_t cap, size_t *len, const char *name,
                       unsigned bits)
{
    char num[4] = {(char)('0' + bits / 10), (char)('0' + bits % 10), 0, 0};
    return append(out, cap, len, "; ") && append(out, cap, len, name) &&
           append(out, cap, len, "=") &&
           append(out, cap, len, bits < 10 ? num + 1 : num);
}

/* The next permessage-deflate element of the head's extension lists:
 * 1, 0 at the end, or WS_EHS_SYNTAX. */
static int next_pmd(const char *head, size_t len, size_t *iter,
                    ws_ext_offer_t *o)
{
    int r;
    while ((r = ws_header_next_extension(head, len, iter, o)) == 1)
        if (name_is(o->name, pmd_name))
            return 1;
    return r;
}

/* ------------------------------------------------------------ client */

ptrdiff_t ws_pmd_offer(const ws_pmd_config_t *user_cfg, char *out, size_t cap)
{
    ws_pmd_config_t c = config_of(user_cfg);
    const ws_pmd_config_t *cfg = &c;
    size_t len = 0;
    unsigned recv = bits_or_15(cfg->recv_window_bits);
    if (!config_ok(cfg))
        return WS_EINVAL;
    /* §7.1.2.2: announce that the server may limit our window. */
    int ok = append(out, cap, &len, pmd_name) &&
             append(out, cap, &len, "; client_max_window_bits");
    if (ok && cfg->recv_no_context_takeover)
        ok = append(out, cap, &len, "; server_no_context_takeover");
    if (ok && cfg->send_no_context_takeover)
        ok = append(out, cap, &len, "; client_no_context_takeover");
    if (ok && recv < 15)
        ok = append_bits(out, cap, &len, "server_max_window_bits", recv);
    return ok ? (ptrdiff_t)len : WS_ENOBUFS;
}

int ws_pmd_negotiate_client(const ws_response_t *resp,
                            const ws_pmd_config_t *user_cfg,
                            ws_pmd_params_t *agreed)
{
    ws_pmd_config_t c = config_of(user_cfg);
    const ws_pmd_config_t *cfg = &c;
    ws_ext_offer_t o;
    struct pmd_params r;
    size_t iter = 0;
    if (!config_ok(cfg))
        return WS_EINVAL;
    int found = next_pmd(resp->head, resp->head_len, &iter, &o);
    if (found < 0)
        return WS_EHS_EXTENSION;
    if (found == 0)
        return 0;
    unsigned offered = bits_or_15(cfg->recv_window_bits);
    if (read_params(&o, 1, &r) || (unsigned)r.server_bits > offered)
        return WS_EHS_EXTENSION;
    unsigned send = bits_or_15(cfg->send_window_bits);
    agreed->send_window_bits =
        r.client_bits > 0 && (unsigned)r.client_bits < send
            ? (unsigned)r.client_bits
            : send;
    agreed->recv_window_bits = r.server_bits ? (unsigned)r.server_bits : 15;
    agreed->send_no_context_takeover =
        r.client_nct || cfg->send_no_context_takeover;
    agreed->recv_no_context_takeover = r.server_nct;
    return 1;
}

/* ------------------------------------------------------------ server */

/* Accept offer `a` (valid): fill *agreed and the response value. */
static int accept_offer(const struct pmd_params *a, const ws_pmd_config_t *cfg,
                        ws_pmd_params_t *agreed, char *out, size_t cap)
{
    size_t len = 0;
    unsigned send = bits_or_15(cfg->send_window_bits);
    unsigned recv = bits_or_15(cfg->recv_window_bits);
    if (a->server_bits && (unsigned)a->server_bits < send)
        send = (unsigned)a->server_bits;
    /* §7.1.2.2: client_max_window_bits only if the client offered it, at
     * most its value; without it the client may use 2^15. */
    if (a->client_bits == 0)
        recv = 15;
    else if (a->client_bits > 0 && (unsigned)a->client_bits < recv)
        recv = (unsigned)a->client_bits;
    agreed->send_window_bits = send;
    agreed->recv_window_bits = recv;
    agreed->send_no_context_takeover =
        a->server_nct || cfg->send_no_context_takeover;
    agreed->recv_no_context_takeover =
        a->client_nct || cfg->recv_no_context_takeover;
    int ok = append(out, cap, &len, pmd_name);
    if (ok && agreed->send_no_context_takeover)
        ok = append(out, cap, &len, "; server_no_context_takeover");
    if (ok && agreed->recv_no_context_takeover)
        ok = append(out, cap, &len, "; client_no_context_takeover");
    if (ok && (a->server_bits || send < 15))
        ok = append_bits(out, cap, &len, "server_max_window_bits", send);
    if (ok && a->client_bits && recv < 15)
        ok = append_bits(out, cap, &len, "client_max_window_bits", recv);
    return ok ? 1 : WS_ENOBUFS;
}

int ws_pmd_negotiate_server(const ws_request_t *req,
                            const ws_pmd_config_t *user_cfg,
                            ws_pmd_params_t *agreed, char *out, size_t cap)
{
    ws_pmd_config_t c = config_of(user_cfg);
    const ws_pmd_config_t *cfg = &c;
    ws_ext_offer_t o;
    struct pmd_params a;
    size_t iter = 0;
    int r;
    if (!config_ok(cfg))
        return WS_EINVAL;
    while ((r = next_pmd(req->head, req->head_len, &iter, &o)) == 1)
        if (read_params(&o, 0, &a) == 0)
            return accept_offer(&a, cfg, agreed, out, cap);
    return r; /* 0: nothing we can accept; or WS_EHS_SYNTAX */
}

/* ------------------------------------------------------------ state */

static int params_ok(const ws_pmd_params_t *p)
{
    return p->send_window_bits >= 8 && p->send_window_bits <= 15 &&
           p->recv_window_bits >= 8 && p->recv_window_bits <= 15;
}

size_t ws_pmd_state_size(const ws_pmd_params_t *agreed)
{
    if (!params_ok(agreed))
        return 0;
    return ROUND_UP(sizeof(struct pmd)) +
           ROUND_UP((size_t)1 << agreed->recv_window_bits) +
           ws_deflate_mem_size(agreed->send_window_bits);
}

int ws_pmd_init(void *mem, size_t size, const ws_pmd_params_t *agreed,
                const ws_pmd_config_t *user_cfg)
{
    ws_pmd_config_t c = config_of(user_cfg);
    const ws_pmd_config_t *cfg = &c;
    struct pmd *m = mem;
    if (!mem || ((uintptr_t)mem & (PMD_ALIGN - 1)) || !config_ok(cfg) ||
        !params_ok(agreed) || size < ws_pmd_state_size(agreed))
        return WS_EINVAL;
    memset(m, 0, sizeof *m);
    m->p = *agreed;
    m->threshold = cfg->threshold ? cfg->threshold : WS_PMD_DEFAULT_THRESHOLD;
    uint8_t *window = (uint8_t *)mem + ROUND_UP(sizeof *m);
    uint8_t *work = window + ROUND_UP((size_t)1 << agreed->recv_window_bits);
    if (ws_inflate_init(&m->inf, agreed->recv_window_bits, window) ||
        ws_deflate_init(&m->def, agreed->send_window_bits,
                        cfg->level ? cfg->level : 6, work))
        return WS_EINVAL;
    return 0;
}

/* ------------------------------------------------------------ hooks */

static void io_take(ws_ext_io_t *io, size_t used, size_t made)
{
    io->in += used;
    io->in_len -= used;
    io->out += made;
    io->out_len -= made;
}

/* §7.2.2: decompress the payload, then 00 00 ff ff. After a final block
 * (BFINAL, §7.2.3.4) the rest of the message is ignored. */
static int pmd_decode(void *state, ws_ext_io_t *io)
{
    static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
    struct pmd *m = state;
    int fin = (io->flags & WS_EXT_FIN) != 0;
    if (io->flags & WS_EXT_BEGIN) {
        ws_inflate_reset(&m->inf, !m->p.recv_no_context_takeover);
        m->ended = 0;
        m->tail_fed = 0;
    }
    while (!m->ended && (io->in_len || (fin && m->tail_fed < 4))) {
        int from_tail = io->in_len == 0;
        const uint8_t *src = from_tail ? tail + m->tail_fed : io->in;
        size_t n = from_tail ? 4 - m->tail_fed : io->in_len, used, made;
        int r =
            ws_inflate_run(&m->inf, src, n, &used, io->out, io->out_len, &made);
        if (from_tail) {
            m->tail_fed += (unsigned)used;
            io_take(io, 0, made);
        } else {
            io_take(io, used, made);
        }
        if (r < 0)
            return WS_EEXTENSION; /* corrupt: fail_code 1007 */
        if (r == WS_Z_DONE)
            m->ended = 1;
        else if (r == WS_Z_NEED_OUTPUT)
            return 0;
    }
    if (m->ended)
        io_take(io, io->in_len, 0);
    return fin && io->in_len == 0;
}

/* §7.2.1: compress, sync flush, without the final 00 00 ff ff. Short
 * whole messages go out as they are, RSV1 clear. */
static int pmd_encode(void *state, ws_ext_io_t *io)
{
    struct pmd *m = state;
    int fin = (io->flags & WS_EXT_FIN) != 0;
    if (io->flags & WS_EXT_BEGIN) {
        m->copying = fin && io->in_len < m->threshold;
        if (m->copying)
            io->rsv = (uint8_t)(io->rsv & ~WS_RSV1);
    }
    if (m->copying) {
        size_t n = io->in_len < io->out_len ? io->in_len : io->out_len;
        if (n)
            memcpy(io->out, io->in, n);
        io_take(io, n, n);
        return fin && io->in_len == 0;
    }
    size_t used, made;
    int r =
        ws_deflate_run(&m->def, io->in, io->in_len, &used, io->out, io->out_len,
                       &made, fin ? WS_Z_MESSAGE : WS_Z_NO_FLUSH);
    io_take(io, used, made);
    if (r != WS_Z_DONE)
        return 0;
    ws_deflate_reset(&m->def, !m->p.send_no_context_takeover);
    return 1;
}

/* Input held but not yet written (up to a window and a block), plus len,
 * as stored blocks (5 bytes each, one per 256 bytes at worst: a slide
 * ends a block at 8 window bits), the flush and the bits in between. */
static size_t pmd_encode_bound(const void *state, size_t len)
{
    const struct pmd *m = state;
    size_t pending = (size_t)(m->def.fill - m->def.block_start) + len;
    return pending + 5 * (pending / 256 + 3) + 8;
}

static void pmd_reset(void *state)
{
    struct pmd *m = state;
    ws_inflate_reset(&m->inf, 0);
    ws_deflate_reset(&m->def, 0);
    m->copying = m->ended = 0;
    m->tail_fed = 0;
}

static const ws_extension_t pmd_extension = {
    .name = pmd_name,
    .rsv = WS_RSV1, /* §6: RSV1 marks a compressed message */
    .fail_code = WS_CLOSE_INVALID_DATA, /* 1007 */
    .decode = pmd_decode,
    .encode = pmd_encode,
    .encode_bound = pmd_encode_bound,
    .reset = pmd_reset,
    .destroy = NULL,
};

const ws_extension_t *ws_pmd_extension(void)
{
    return &pmd_extension;
}
