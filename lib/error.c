/* error.c — the library's error vocabulary: names, descriptions, and what
 * each failure means for the peer (close code) or the HTTP client (status). */
#include "wsproto_int.h"

WS_API const char *ws_version(void)
{
    return WS_VERSION_STRING;
}

struct error_info {
    int code;
    uint16_t close_code;
    uint16_t http_status;
    const char *name;
    const char *text;
};

/* RFC 6455 §7.4.1: 1002 for protocol errors, 1007 for data inconsistent
 * with the message type, 1009 for too big, 1011 for our own failures. */
static const struct error_info errors[] = {
    {WS_OK, 0, 0, "OK", "success"},
    {WS_EINVAL, 0, 0, "EINVAL", "invalid argument"},
    {WS_ENOBUFS, 0, 0, "ENOBUFS", "output buffer too small"},
    {WS_ESTATE, 0, 0, "ESTATE", "not allowed in the connection's state"},
    {WS_ENOMEM, 1011, 0, "ENOMEM", "out of memory"},
    {WS_ERANDOM, 1011, 0, "ERANDOM", "random source failed"},
    {WS_EAGAIN, 0, 0, "EAGAIN", "incomplete input"},
    {WS_ERSV, 1002, 0, "ERSV", "reserved bits set"},
    {WS_EOPCODE, 1002, 0, "EOPCODE", "reserved opcode"},
    {WS_EMASK, 1002, 0, "EMASK", "wrong masking for the role"},
    {WS_ELENGTH, 1002, 0, "ELENGTH", "invalid payload length encoding"},
    {WS_ECONTROL_LENGTH, 1002, 0, "ECONTROL_LENGTH",
     "control frame payload over 125 bytes"},
    {WS_ECONTROL_FRAGMENT, 1002, 0, "ECONTROL_FRAGMENT",
     "fragmented control frame"},
    {WS_ECONTINUATION, 1002, 0, "ECONTINUATION",
     "continuation frame without a message"},
    {WS_EINTERLEAVED, 1002, 0, "EINTERLEAVED",
     "new message before the previous one ended"},
    {WS_ECLOSE_PAYLOAD, 1002, 0, "ECLOSE_PAYLOAD", "1-byte close payload"},
    {WS_ECLOSE_CODE, 1002, 0, "ECLOSE_CODE", "invalid close code"},
    {WS_EUTF8, 1007, 0, "EUTF8", "invalid UTF-8"},
    {WS_ETOOBIG, 1009, 0, "ETOOBIG", "frame or message too big"},
    {WS_EEXTENSION, 1011, 0, "EEXTENSION", "extension transform failed"},
    {WS_EHS_TOOLARGE, 0, 431, "EHS_TOOLARGE", "handshake head too large"},
    {WS_EHS_SYNTAX, 0, 400, "EHS_SYNTAX", "malformed HTTP head"},
    {WS_EHS_METHOD, 0, 400, "EHS_METHOD", "upgrade method is not GET"},
    {WS_EHS_HTTPVER, 0, 400, "EHS_HTTPVER", "HTTP version is not 1.1"},
    {WS_EHS_HOST, 0, 400, "EHS_HOST", "missing or repeated Host header"},
    {WS_EHS_UPGRADE, 0, 400, "EHS_UPGRADE", "Upgrade is not websocket"},
    {WS_EHS_CONNECTION, 0, 400, "EHS_CONNECTION",
     "Connection does not contain Upgrade"},
    {WS_EHS_VERSION, 0, 426, "EHS_VERSION",
     "unsupported Sec-WebSocket-Version"},
    {WS_EHS_KEY, 0, 400, "EHS_KEY", "invalid Sec-WebSocket-Key"},
    {WS_EHS_STATUS, 0, 400, "EHS_STATUS", "handshake status is not 101"},
    {WS_EHS_ACCEPT, 0, 400, "EHS_ACCEPT", "wrong Sec-WebSocket-Accept"},
    {WS_EHS_PROTOCOL, 0, 400, "EHS_PROTOCOL", "subprotocol was not offered"},
    {WS_EHS_EXTENSION, 0, 400, "EHS_EXTENSION", "extension was not offered"},
};

static const struct error_info *lookup(int err)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == err)
            return &errors[i];
    return NULL;
}

WS_API const char *ws_strerror(int err)
{
    const struct error_info *e = lookup(err);
    return e ? e->text : "unknown error";
}

WS_API const char *ws_err_name(int err)
{
    const struct error_info *e = lookup(err);
    return e ? e->name : "UNKNOWN";
}

WS_API uint16_t ws_error_close_code(int err)
{
    const struct error_info *e = lookup(err);
    return e ? e->close_code : 0;
}

WS_API int ws_error_http_status(int err)
{
    const struct error_info *e = lookup(err);
    return e ? e->http_status : 0;
}
