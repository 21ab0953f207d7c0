/*
 * rfc_samples.h — the RFC 6455 opening-handshake sample (§1.2, §1.3)
 * shared by the server- and client-side handshake tests, so both check
 * against one copy of the vectors.
 */
#ifndef WS_TEST_RFC_SAMPLES_H
#define WS_TEST_RFC_SAMPLES_H

#include <string.h>

/* A slice equals a C string literal. */
#define CHECK_SLICE(s, lit) CHECK_BYTES((s).ptr, (s).len, (lit), strlen(lit))

/* §1.2: the sample client handshake. */
#define SAMPLE_REQUEST                                                         \
    "GET /chat HTTP/1.1\r\n"                                                   \
    "Host: server.example.com\r\n"                                             \
    "Upgrade: websocket\r\n"                                                   \
    "Connection: Upgrade\r\n"                                                  \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"                          \
    "Origin: http://example.com\r\n"                                           \
    "Sec-WebSocket-Protocol: chat, superchat\r\n"                              \
    "Sec-WebSocket-Version: 13\r\n"                                            \
    "\r\n"

/* §1.3: the sample key and its accept value; §1.2: the server's answer,
 * which selects the "chat" subprotocol. */
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define SAMPLE_RESPONSE                                                        \
    "HTTP/1.1 101 Switching Protocols\r\n"                                     \
    "Upgrade: websocket\r\n"                                                   \
    "Connection: Upgrade\r\n"                                                  \
    "Sec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n"                              \
    "Sec-WebSocket-Protocol: chat\r\n"                                         \
    "\r\n"

#endif
