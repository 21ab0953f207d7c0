/* trace.c — frame tracing: a header, as it is on the wire, reported to
 * the tracer the caller set (ws_options_t.trace). Decoded here from the
 * raw bytes, so a header the parser rejects is described too. */
#include "conn_int.h"

#include <string.h>

void ws_conn_trace(const ws_conn_impl_t *c, unsigned dir, const uint8_t *hdr)
{
    ws_frame_info_t f;
    unsigned len7 = hdr[1] & 0x7Fu;
    size_t n = ws_frame_header_len(hdr[1]);

    memset(&f, 0, sizeof f);
    f.dir = (uint8_t)dir;
    f.fin = hdr[0] >> 7;
    f.rsv = (hdr[0] >> 4) & 7;
    f.opcode = hdr[0] & 0x0F;
    f.masked = hdr[1] >> 7;
    f.header_len = (uint8_t)n;
    memcpy(f.header, hdr, n);
    /* RFC 6455 §5.2: 126 selects a 16-bit length, 127 a 64-bit one. */
    if (len7 < 126) {
        f.len_form = 7;
        f.payload_len = len7;
    } else if (len7 == 126) {
        f.len_form = 16;
        f.payload_len = ws_load_be16(hdr + 2);
    } else {
        f.len_form = 64;
        f.payload_len = ws_load_be64(hdr + 2);
    }
    if (f.masked)
        memcpy(f.mask_key, hdr + n - 4, 4);
    c->trace(&f, c->trace_user);
}
