/*
 * reclog.c — the record log's framing and replay (reclog.h).
 *
 * Why this format: replay must survive damage anywhere, not only a torn
 * tail. A record starts with a sync pair and carries its own length, a
 * sequence number and a CRC, so after a bad record the reader can look for
 * the next place where a whole valid record begins, and the sequence
 * numbers on either side of the gap say how many records fell into it.
 * A candidate is taken only if its successor (or the end of the log)
 * follows on from it, or if its number fits the gap: a record-shaped run
 * of bytes inside a damaged record's payload passes neither unless its
 * author knew its place and number in the log.
 */
#define _GNU_SOURCE
#include "reclog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SYNC0 0xFFu /* never in UTF-8 text, rare in payloads */
#define SYNC1 0xA5u

enum { REC_BAD = -1, REC_SHORT = 0, REC_OK = 1 };

/* CRC-32C, reflected polynomial 0x82F63B78, a byte at a time. A constant
 * table (no state to initialise): every record appended is checksummed,
 * and bit by bit that was 15 % of chat-server's time at low load. Entry i
 * is the CRC register after shifting the byte i through eight steps. */
static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xF26B8303u, 0xE13B70F7u, 0x1350F3F4u, 0xC79A971Fu,
    0x35F1141Cu, 0x26A1E7E8u, 0xD4CA64EBu, 0x8AD958CFu, 0x78B2DBCCu,
    0x6BE22838u, 0x9989AB3Bu, 0x4D43CFD0u, 0xBF284CD3u, 0xAC78BF27u,
    0x5E133C24u, 0x105EC76Fu, 0xE235446Cu, 0xF165B798u, 0x030E349Bu,
    0xD7C45070u, 0x25AFD373u, 0x36FF2087u, 0xC494A384u, 0x9A879FA0u,
    0x68EC1CA3u, 0x7BBCEF57u, 0x89D76C54u, 0x5D1D08BFu, 0xAF768BBCu,
    0xBC267848u, 0x4E4DFB4Bu, 0x20BD8EDEu, 0xD2D60DDDu, 0xC186FE29u,
    0x33ED7D2Au, 0xE72719C1u, 0x154C9AC2u, 0x061C6936u, 0xF477EA35u,
    0xAA64D611u, 0x580F5512u, 0x4B5FA6E6u, 0xB93425E5u, 0x6DFE410Eu,
    0x9F95C20Du, 0x8CC531F9u, 0x7EAEB2FAu, 0x30E349B1u, 0xC288CAB2u,
    0xD1D83946u, 0x23B3BA45u, 0xF779DEAEu, 0x05125DADu, 0x1642AE59u,
    0xE4292D5Au, 0xBA3A117Eu, 0x4851927Du, 0x5B016189u, 0xA96AE28Au,
    0x7DA08661u, 0x8FCB0562u, 0x9C9BF696u, 0x6EF07595u, 0x417B1DBCu,
    0xB3109EBFu, 0xA0406D4Bu, 0x522BEE48u, 0x86E18AA3u, 0x748A09A0u,
    0x67DAFA54u, 0x95B17957u, 0xCBA24573u, 0x39C9C670u, 0x2A993584u,
    0xD8F2B687u, 0x0C38D26Cu, 0xFE53516Fu, 0xED03A29Bu, 0x1F682198u,
    0x5125DAD3u, 0xA34E59D0u, 0xB01EAA24u, 0x42752927u, 0x96BF4DCCu,
    0x64D4CECFu, 0x77843D3Bu, 0x85EFBE38u, 0xDBFC821Cu, 0x2997011Fu,
    0x3AC7F2EBu, 0xC8AC71E8u, 0x1C661503u, 0xEE0D9600u, 0xFD5D65F4u,
    0x0F36E6F7u, 0x61C69362u, 0x93AD1061u, 0x80FDE395u, 0x72966096u,
    0xA65C047Du, 0x5437877Eu, 0x4767748Au, 0xB50CF789u, 0xEB1FCBADu,
    0x197448AEu, 0x0A24BB5Au, 0xF84F3859u, 0x2C855CB2u, 0xDEEEDFB1u,
    0xCDBE2C45u, 0x3FD5AF46u, 0x7198540Du, 0x83F3D70Eu, 0x90A324FAu,
    0x62C8A7F9u, 0xB602C312u, 0x44694011u, 0x5739B3E5u, 0xA55230E6u,
    0xFB410CC2u, 0x092A8FC1u, 0x1A7A7C35u, 0xE811FF36u, 0x3CDB9BDDu,
    0xCEB018DEu, 0xDDE0EB2Au, 0x2F8B6829u, 0x82F63B78u, 0x709DB87Bu,
    0x63CD4B8Fu, 0x91A6C88Cu, 0x456CAC67u, 0xB7072F64u, 0xA457DC90u,
    0x563C5F93u, 0x082F63B7u, 0xFA44E0B4u, 0xE9141340u, 0x1B7F9043u,
    0xCFB5F4A8u, 0x3DDE77ABu, 0x2E8E845Fu, 0xDCE5075Cu, 0x92A8FC17u,
    0x60C37F14u, 0x73938CE0u, 0x81F80FE3u, 0x55326B08u, 0xA759E80Bu,
    0xB4091BFFu, 0x466298FCu, 0x1871A4D8u, 0xEA1A27DBu, 0xF94AD42Fu,
    0x0B21572Cu, 0xDFEB33C7u, 0x2D80B0C4u, 0x3ED04330u, 0xCCBBC033u,
    0xA24BB5A6u, 0x502036A5u, 0x4370C551u, 0xB11B4652u, 0x65D122B9u,
    0x97BAA1BAu, 0x84EA524Eu, 0x7681D14Du, 0x2892ED69u, 0xDAF96E6Au,
    0xC9A99D9Eu, 0x3BC21E9Du, 0xEF087A76u, 0x1D63F975u, 0x0E330A81u,
    0xFC588982u, 0xB21572C9u, 0x407EF1CAu, 0x532E023Eu, 0xA145813Du,
    0x758FE5D6u, 0x87E466D5u, 0x94B49521u, 0x66DF1622u, 0x38CC2A06u,
    0xCAA7A905u, 0xD9F75AF1u, 0x2B9CD9F2u, 0xFF56BD19u, 0x0D3D3E1Au,
    0x1E6DCDEEu, 0xEC064EEDu, 0xC38D26C4u, 0x31E6A5C7u, 0x22B65633u,
    0xD0DDD530u, 0x0417B1DBu, 0xF67C32D8u, 0xE52CC12Cu, 0x1747422Fu,
    0x49547E0Bu, 0xBB3FFD08u, 0xA86F0EFCu, 0x5A048DFFu, 0x8ECEE914u,
    0x7CA56A17u, 0x6FF599E3u, 0x9D9E1AE0u, 0xD3D3E1ABu, 0x21B862A8u,
    0x32E8915Cu, 0xC083125Fu, 0x144976B4u, 0xE622F5B7u, 0xF5720643u,
    0x07198540u, 0x590AB964u, 0xAB613A67u, 0xB831C993u, 0x4A5A4A90u,
    0x9E902E7Bu, 0x6CFBAD78u, 0x7FAB5E8Cu, 0x8DC0DD8Fu, 0xE330A81Au,
    0x115B2B19u, 0x020BD8EDu, 0xF0605BEEu, 0x24AA3F05u, 0xD6C1BC06u,
    0xC5914FF2u, 0x37FACCF1u, 0x69E9F0D5u, 0x9B8273D6u, 0x88D28022u,
    0x7AB90321u, 0xAE7367CAu, 0x5C18E4C9u, 0x4F48173Du, 0xBD23943Eu,
    0xF36E6F75u, 0x0105EC76u, 0x12551F82u, 0xE03E9C81u, 0x34F4F86Au,
    0xC69F7B69u, 0xD5CF889Du, 0x27A40B9Eu, 0x79B737BAu, 0x8BDCB4B9u,
    0x988C474Du, 0x6AE7C44Eu, 0xBE2DA0A5u, 0x4C4623A6u, 0x5F16D052u,
    0xAD7D5351u,
};

uint32_t reclog_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    uint32_t c = ~crc;
    for (size_t i = 0; i < n; i++)
        c = (c >> 8) ^ crc32c_table[(c ^ p[i]) & 0xFFu];
    return ~c;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

size_t reclog_frame(uint8_t *out, uint32_t seq, size_t len)
{
    out[0] = SYNC0;
    out[1] = SYNC1;
    out[2] = (uint8_t)len;
    out[3] = (uint8_t)(len >> 8);
    put_le32(out + 4, seq);
    put_le32(out + RECLOG_HEAD + len, reclog_crc32c(0, out, RECLOG_HEAD + len));
    return RECLOG_SIZE(len);
}

/* The record at p (left bytes to the end of the log): REC_OK with *rec
 * and *size, REC_SHORT when the bytes left are the start of a record that
 * the end of the log cut off, or REC_BAD. */
static int decode(const reclog_format_t *f, const uint8_t *p, size_t left,
                  reclog_rec_t *rec, size_t *size)
{
    if (left < 1 || p[0] != SYNC0)
        return left < 1 ? REC_SHORT : REC_BAD;
    if (left < 2 || p[1] != SYNC1)
        return left < 2 ? REC_SHORT : REC_BAD;
    if (left < 4)
        return REC_SHORT;
    size_t body = (size_t)p[2] | (size_t)p[3] << 8;
    if (body < f->min_body || body > f->max_body)
        return REC_BAD;
    *size = RECLOG_SIZE(body);
    if (left < *size)
        return REC_SHORT;
    if (get_le32(p + RECLOG_HEAD + body) !=
        reclog_crc32c(0, p, RECLOG_HEAD + body))
        return REC_BAD;
    rec->seq = get_le32(p + 4);
    rec->body = p + RECLOG_HEAD;
    rec->len = body;
    return !f->valid || f->valid(rec->body, body) ? REC_OK : REC_BAD;
}

static void add_range(reclog_replay_t *r, uint64_t start, uint64_t end)
{
    r->damaged += end - start;
    if (r->nranges && r->nranges <= RECLOG_RANGES &&
        r->range[r->nranges - 1].end == start) {
        r->range[r->nranges - 1].end = end;
        return;
    }
    if (r->nranges < RECLOG_RANGES)
        r->range[r->nranges] = (reclog_range_t){start, end};
    r->nranges++;
}

/* Does a whole record, or the end of the log, follow at p? */
static int chains(const reclog_format_t *f, const uint8_t *p, size_t left,
                  uint32_t seq)
{
    reclog_rec_t next;
    size_t size;
    if (left == 0)
        return 1;
    int d = decode(f, p, left, &next, &size);
    return d == REC_SHORT || (d == REC_OK && next.seq == seq + 1);
}

/* The first offset after a bad record at pos where replay may resume, or
 * n: a whole record numbered expect or later that either chains on, or
 * whose number fits the gap (each record lost in [pos, q) took at least
 * the smallest record's bytes of it) — the latter for damage close
 * behind. */
static size_t resync(const reclog_format_t *f, const uint8_t *p, size_t n,
                     size_t pos, uint32_t expect, reclog_rec_t *rec,
                     size_t *size)
{
    const size_t smallest = RECLOG_SIZE(f->min_body);
    for (size_t q = pos + 1; q < n; q++) {
        const uint8_t *s = memchr(p + q, SYNC0, n - q);
        if (!s)
            break;
        q = (size_t)(s - p);
        if (decode(f, s, n - q, rec, size) != REC_OK || rec->seq < expect)
            continue;
        if (rec->seq - expect <= (q - pos) / smallest ||
            chains(f, s + *size, n - q - *size, rec->seq))
            return q;
    }
    return n;
}

/* Damage that runs to the end: count the records whose headers still say
 * where they are, exact when they tile the damaged tail; otherwise the
 * rest could have held at most one record per smallest record's bytes. */
static void tail_damage(const reclog_format_t *f, reclog_replay_t *r,
                        const uint8_t *p, size_t n, size_t pos)
{
    size_t q = pos;
    uint64_t count = 0;
    while (n - q >= 4 && p[q] == SYNC0 && p[q + 1] == SYNC1) {
        size_t body = (size_t)p[q + 2] | (size_t)p[q + 3] << 8;
        if (body < f->min_body || body > f->max_body ||
            n - q < RECLOG_SIZE(body))
            break;
        q += RECLOG_SIZE(body);
        count++;
    }
    r->lost += count;
    r->tail_damaged = q != n || count == 0;
    r->lost_most = r->lost;
    if (r->tail_damaged)
        r->lost_most += 1 + (n - q) / RECLOG_SIZE(f->min_body);
    add_range(r, pos, n);
}

int reclog_replay_from(const reclog_format_t *f, const uint8_t *p, size_t n,
                       size_t pos, uint32_t expect, reclog_apply_fn apply,
                       void *ctx, reclog_replay_t *r)
{
    reclog_rec_t rec;
    size_t size;

    while (pos < n) {
        int d = decode(f, p + pos, n - pos, &rec, &size);
        if (d == REC_SHORT) { /* a write cut short by a crash */
            add_range(r, pos, n);
            r->lost++;
            r->torn = 1;
            return 0;
        }
        if (d == REC_BAD || rec.seq != expect) {
            size_t q = resync(f, p, n, pos, expect, &rec, &size);
            if (q == n) {
                tail_damage(f, r, p, n, pos);
                return 0;
            }
            add_range(r, pos, q);
            r->lost += rec.seq - expect;
            pos = q;
        }
        int e = apply(ctx, &rec);
        if (e < 0)
            return e;
        r->records++;
        expect = rec.seq + 1;
        pos += size;
    }
    return 0;
}

int reclog_replay(const reclog_format_t *f, const uint8_t *p, size_t n,
                  reclog_apply_fn apply, void *ctx, reclog_replay_t *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return 0;
    out->version = f->version;
    if (n >= RECLOG_MAGIC_LEN && !memcmp(p, f->magic, RECLOG_MAGIC_LEN))
        return reclog_replay_from(f, p, n, RECLOG_MAGIC_LEN, 0, apply, ctx,
                                  out);
    /* A damaged header, or not a log at all: only a valid record says
     * which, and nothing is applied unless one is found. */
    reclog_rec_t rec;
    size_t size;
    size_t q = resync(f, p, n, 0, 0, &rec, &size);
    if (q == n)
        return -EINVAL;
    add_range(out, 0, q);
    out->lost = rec.seq;
    return reclog_replay_from(f, p, n, q, rec.seq, apply, ctx, out);
}

void reclog_replay_describe(const reclog_replay_t *r, char *buf, size_t cap)
{
    size_t k = 0;
    int w;

#define PUT(...)                                                               \
    do {                                                                       \
        w = snprintf(buf + k, cap - k, __VA_ARGS__);                           \
        k = w < 0 || (size_t)w >= cap - k ? cap - 1 : k + (size_t)w;           \
    } while (0)

    if (cap == 0)
        return;
    buf[0] = '\0';
    PUT("recovered %llu record%s, lost %llu", (unsigned long long)r->records,
        r->records == 1 ? "" : "s", (unsigned long long)r->lost);
    if (r->tail_damaged && r->lost_most > r->lost)
        PUT(" to %llu", (unsigned long long)r->lost_most);
    if (r->nranges) {
        PUT(" (damaged bytes at offsets");
        for (size_t i = 0; i < r->nranges && i < RECLOG_RANGES; i++)
            PUT("%s %llu-%llu", i ? "," : "",
                (unsigned long long)r->range[i].start,
                (unsigned long long)r->range[i].end - 1);
        if (r->nranges > RECLOG_RANGES)
            PUT(" and %zu more ranges", r->nranges - RECLOG_RANGES);
        PUT("; %llu bytes", (unsigned long long)r->damaged);
        if (r->torn)
            PUT("; the last record is cut short, as a crash while it was "
                "written leaves it");
        PUT(")");
    }
#undef PUT
}
