/* test_close.c — close codes and payloads (lib/close.c), RFC 6455 §7.4. */
#include "harness.h"
#include "wsproto_int.h"

static const char th_suite_name[] = "close";

/* Every code 0..65535 against the ranges written out from §7.4 and the
 * IANA registry. */
static void code_validity(void)
{
    static const struct {
        unsigned lo, hi;
        int valid;
    } ranges[] = {
        {0, 999, 0},     /* §7.4.2: not used */
        {1000, 1003, 1}, /* normal, going away, protocol error, unsupported */
        {1004, 1004, 0}, /* reserved */
        {1005, 1006, 0}, /* no status / abnormal: never on the wire */
        {1007, 1011,
         1}, /* invalid data, policy, too big, extension, internal */
        {1012, 1014,
         1}, /* IANA: service restart, try again later, bad gateway */
        {1015, 1015, 0}, /* TLS handshake: never on the wire */
        {1016, 2999, 0}, /* reserved for future RFCs */
        {3000, 4999, 1}, /* registered and private use */
        {5000, 65535, 0},
    };
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (unsigned code = ranges[r].lo; code <= ranges[r].hi; code++)
            if (ws_close_code_is_valid(code) != ranges[r].valid) {
                th_note("code %u", code);
                CHECK_INT(ws_close_code_is_valid(code), ranges[r].valid);
                return;
            }
    CHECK(!ws_close_code_is_valid(70000));
}

static void payload_parse(void)
{
    uint16_t code = 0;
    CHECK_INT(ws_close_parse((const uint8_t *)"", 0, &code), 0);
    CHECK_INT(code, WS_CLOSE_NO_STATUS);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x03", 1, &code),
              WS_ECLOSE_PAYLOAD);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x03\xe8", 2, &code), 0);
    CHECK_INT(code, 1000);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x03\xed", 2, &code),
              WS_ECLOSE_CODE);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x0f\xa0ok \xce\xba", 7, &code),
              0);
    CHECK_INT(code, 4000);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x03\xe8\xce", 3, &code),
              WS_EUTF8);
    CHECK_INT(ws_close_parse((const uint8_t *)"\x03\xe8\xed\xa0\x80", 5, &code),
              WS_EUTF8);
}

void suite_close(void);
void suite_close(void)
{
    RUN(code_validity);
    RUN(payload_parse);
}
