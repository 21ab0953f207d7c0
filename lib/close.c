/* close.c — close status codes and close frame payloads, RFC 6455 §5.5.1
 * and §7.4, with the codes IANA registered since (1012-1014). */
#include "wsproto_int.h"

WS_API int ws_close_code_is_valid(unsigned code)
{
    /* §7.4.2: 0-999 unused; 1004 reserved; 1005, 1006 and 1015 are for
     * reporting only and "MUST NOT be set as a status code in a Close
     * control frame"; 1016-2999 are reserved for future RFCs; 3000-3999
     * are IANA-registered for libraries and 4000-4999 private use. */
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

int ws_close_parse(const uint8_t *payload, size_t len, uint16_t *code)
{
    if (len == 0) {
        /* §7.1.5: no status code means "1005" to the application */
        *code = WS_CLOSE_NO_STATUS;
        return 0;
    }
    /* §5.5.1: if there is a body, its first two bytes are the code */
    if (len == 1)
        return WS_ECLOSE_PAYLOAD;
    uint16_t c = ws_load_be16(payload);
    if (!ws_close_code_is_valid(c))
        return WS_ECLOSE_CODE;
    /* §5.5.1: the reason is UTF-8 encoded */
    if (ws_utf8_validate(payload + 2, len - 2) != 0)
        return WS_EUTF8;
    *code = c;
    return 0;
}
