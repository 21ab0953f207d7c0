/* test_error.c — the error vocabulary (lib/error.c). */
#include "harness.h"
#include "wsproto.h"

#include <string.h>

static const char th_suite_name[] = "error";

static void every_code_described(void)
{
    for (int err = 0; err >= -60; err--) {
        const char *name = ws_err_name(err);
        th_note("err %d", err);
        if (strcmp(name, "UNKNOWN") == 0) {
            CHECK_STR(ws_strerror(err), "unknown error");
            continue;
        }
        CHECK(strlen(ws_strerror(err)) > 0);
        /* names are unique */
        for (int other = 0; other > err; other--)
            CHECK(strcmp(ws_err_name(other), name) != 0);
    }
    CHECK_STR(ws_err_name(WS_EUTF8), "EUTF8");
    CHECK_STR(ws_strerror(12345), "unknown error");
    CHECK_STR(ws_version(), WS_VERSION_STRING);
}

static void close_code_mapping(void)
{
    static const int protocol[] = {
        WS_ERSV,          WS_EOPCODE,         WS_EMASK,
        WS_ELENGTH,       WS_ECONTROL_LENGTH, WS_ECONTROL_FRAGMENT,
        WS_ECONTINUATION, WS_EINTERLEAVED,    WS_ECLOSE_PAYLOAD,
        WS_ECLOSE_CODE};
    for (size_t i = 0; i < sizeof protocol / sizeof protocol[0]; i++)
        CHECK_INT(ws_error_close_code(protocol[i]), 1002);
    CHECK_INT(ws_error_close_code(WS_EUTF8), 1007);
    CHECK_INT(ws_error_close_code(WS_ETOOBIG), 1009);
    CHECK_INT(ws_error_close_code(WS_ENOMEM), 1011);
    CHECK_INT(ws_error_close_code(WS_EINVAL), 0);
    CHECK_INT(ws_error_close_code(WS_EHS_KEY), 0);
    /* every close code produced is one that may go on the wire */
    for (int err = -1; err >= -60; err--)
        if (ws_error_close_code(err))
            CHECK(ws_close_code_is_valid(ws_error_close_code(err)));
}

static void http_status_mapping(void)
{
    CHECK_INT(ws_error_http_status(WS_EHS_VERSION), 426);
    CHECK_INT(ws_error_http_status(WS_EHS_TOOLARGE), 431);
    CHECK_INT(ws_error_http_status(WS_EHS_KEY), 400);
    CHECK_INT(ws_error_http_status(WS_EHS_METHOD), 400);
    CHECK_INT(ws_error_http_status(WS_EUTF8), 0);
    CHECK_INT(ws_error_http_status(WS_OK), 0);
}

void suite_error(void);
void suite_error(void)
{
    RUN(every_code_described);
    RUN(close_code_mapping);
    RUN(http_status_mapping);
}
