/*
 * wsproto.h — libwsproto, a sans-I/O WebSocket (RFC 6455) protocol engine.
 *
 * The library never performs I/O, never starts threads, keeps no global
 * mutable state and never calls abort() or exit(). The caller moves bytes
 * between the network and the engine:
 *
 *   - bytes that arrived go in with ws_conn_feed(); events come out of
 *     ws_conn_next_event() until it returns 0;
 *   - bytes to send are produced by the ws_conn_send_*() encoders into a
 *     buffer the caller owns, and by WS_EV_SEND events (automatic pong and
 *     close replies) which the caller appends to its output in order.
 *
 * The opening handshake is a separate, stateless set of functions
 * (ws_handshake_*): they parse or build HTTP/1.1 heads in caller buffers.
 *
 * Every function that can fail returns a negative WS_E* code; ws_strerror()
 * describes it and ws_error_close_code() / ws_error_http_status() say what
 * to send to the peer.  Read this file top to bottom: versions, errors,
 * enums, caller-allocated structs, then functions grouped by concern.
 */
#ifndef WSPROTO_H
#define WSPROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define WS_VERSION_MAJOR 0
#define WS_VERSION_MINOR 2
#define WS_VERSION_PATCH 0
#define WS_VERSION_STRING "0.2.0"
/* 0xMMmmpp, for #if comparisons. */
#define WS_VERSION_NUM                                                         \
    ((WS_VERSION_MAJOR << 16) | (WS_VERSION_MINOR << 8) | WS_VERSION_PATCH)

#if defined(WS_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define WS_API __attribute__((visibility("default")))
#else
#define WS_API
#endif

/* The version of the library actually linked (WS_VERSION_STRING is the one
 * compiled against). Returns a static string. */
WS_API const char *ws_version(void);

/* ----------------------------------------------------------------- errors */

/*
 * All errors are negative. The first group is the caller's doing; the second
 * is the peer's (the connection has failed and must be closed with the code
 * ws_error_close_code() gives); the third is the opening handshake's.
 */
enum ws_error {
    WS_OK = 0,

    /* Usage and resources. */
    WS_EINVAL = -1,  /* invalid argument */
    WS_ENOBUFS = -2, /* output buffer too small: nothing was written */
    WS_ESTATE = -3,  /* not allowed in the connection's current state */
    WS_ENOMEM = -4,  /* the allocator failed */
    WS_ERANDOM = -5, /* the random source failed */
    WS_EAGAIN = -6,  /* incomplete input: call again with more bytes */

    /* Protocol violations by the peer (RFC 6455 §5, §7). */
    WS_ERSV = -20,    /* RSV1-3 set without a negotiated extension */
    WS_EOPCODE = -21, /* reserved opcode */
    WS_EMASK = -22,   /* unmasked frame to a server, masked to a client */
    WS_ELENGTH = -23, /* 64-bit length with top bit set, or non-minimal */
    WS_ECONTROL_LENGTH = -24,   /* control frame payload over 125 bytes */
    WS_ECONTROL_FRAGMENT = -25, /* control frame without FIN */
    WS_ECONTINUATION = -26,     /* continuation frame with no message started */
    WS_EINTERLEAVED = -27,   /* new data frame while a message is unfinished */
    WS_ECLOSE_PAYLOAD = -28, /* close frame with a 1-byte payload */
    WS_ECLOSE_CODE = -29,    /* close code not allowed on the wire */
    WS_EUTF8 = -30,          /* invalid UTF-8 in a text message or reason */
    WS_ETOOBIG = -31,        /* frame or message over the configured limit */
    WS_EEXTENSION = -32,     /* the extension's transform failed: close with
                                the code the extension names (fail_code) */

    /* Opening handshake (server: request; client: response). */
    WS_EHS_TOOLARGE = -40,   /* head larger than the limit */
    WS_EHS_SYNTAX = -41,     /* not a well-formed HTTP/1.x head */
    WS_EHS_METHOD = -42,     /* upgrade request method is not GET */
    WS_EHS_HTTPVER = -43,    /* not HTTP/1.1 or later */
    WS_EHS_HOST = -44,       /* missing or repeated Host */
    WS_EHS_UPGRADE = -45,    /* Upgrade does not list "websocket" */
    WS_EHS_CONNECTION = -46, /* Connection does not list "Upgrade" */
    WS_EHS_VERSION = -47,    /* Sec-WebSocket-Version is not 13 */
    WS_EHS_KEY = -48,        /* key missing, repeated, or not 16 bytes */
    WS_EHS_STATUS = -49,     /* response status is not 101 */
    WS_EHS_ACCEPT = -50,     /* Sec-WebSocket-Accept missing or wrong */
    WS_EHS_PROTOCOL = -51,   /* subprotocol not one of those offered */
    WS_EHS_EXTENSION = -52   /* extension the client did not offer */
};

/* A short English description of err. Never NULL; unknown codes give
 * "unknown error". The string is static. */
WS_API const char *ws_strerror(int err);

/* The constant's name without the WS_ prefix ("EUTF8"). Static string. */
WS_API const char *ws_err_name(int err);

/* The close code to send the peer when err failed the connection: 1002 for
 * protocol violations, 1007 for WS_EUTF8, 1009 for WS_ETOOBIG, 1011 for
 * WS_ENOMEM / WS_ERANDOM and WS_EEXTENSION (the connection reports the
 * extension's own fail_code in its WS_EV_ERROR instead). 0 for errors that
 * are not a connection failure. */
WS_API uint16_t ws_error_close_code(int err);

/* The HTTP status to reject a handshake with: 426 for WS_EHS_VERSION, 431
 * for WS_EHS_TOOLARGE, 400 for the other handshake errors; 0 otherwise. */
WS_API int ws_error_http_status(int err);

/* ------------------------------------------------------- protocol values */

/* Frame opcodes, RFC 6455 §5.2. */
typedef enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
} ws_opcode_t;

/* Close status codes, RFC 6455 §7.4.1 and the IANA registry. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_UNSUPPORTED_DATA = 1003,
    WS_CLOSE_NO_STATUS = 1005, /* reported only: never on the wire */
    WS_CLOSE_ABNORMAL = 1006,  /* reported only: never on the wire */
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_MANDATORY_EXTENSION = 1010,
    WS_CLOSE_INTERNAL_ERROR = 1011,
    WS_CLOSE_SERVICE_RESTART = 1012,
    WS_CLOSE_TRY_AGAIN_LATER = 1013,
    WS_CLOSE_BAD_GATEWAY = 1014
};

/* Nonzero when code may appear in a close frame on the wire:
 * 1000-1003, 1007-1014 and 3000-4999 (RFC 6455 §7.4, IANA registry). */
WS_API int ws_close_code_is_valid(unsigned code);

/* Largest control frame payload (RFC 6455 §5.5) and close reason. */
#define WS_MAX_CONTROL_PAYLOAD 125
#define WS_MAX_CLOSE_REASON 123
/* Largest frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define WS_MAX_HEADER_LEN 14

/* ------------------------------------------------- frames (stateless) */

/*
 * The low-level layer the connection is built on, public for callers that
 * do their own framing. RFC 6455 §5.2.
 */
typedef struct ws_frame_header {
    uint8_t fin;    /* 1 = final fragment */
    uint8_t rsv;    /* RSV1..3 as bits 2..0 (RSV1 = 4) */
    uint8_t opcode; /* ws_opcode_t, or a reserved value when parsed */
    uint8_t masked; /* 1 = mask_key is present and applies */
    uint8_t mask_key[4];
    uint64_t payload_len;
} ws_frame_header_t;

/* Decode the header at the start of buf[0..len).
 * Returns the header length (2..14) on success, WS_EAGAIN when len is too
 * short to hold it, or WS_ELENGTH for a 64-bit length with its top bit set
 * (strict: also for a non-minimal length when strict_length is nonzero).
 * Does not judge opcode, RSV bits or masking: the connection does that. */
WS_API int ws_frame_header_parse(const void *buf, size_t len,
                                 ws_frame_header_t *h, int strict_length);

/* Encode h into out (WS_MAX_HEADER_LEN bytes are always enough), using the
 * minimal length encoding. Returns the header length. */
WS_API size_t ws_frame_header_encode(void *out, const ws_frame_header_t *h);

/* XOR-mask len bytes from src into dst with key, as if the first byte were
 * at payload offset `offset` (so a payload can be masked in pieces).
 * dst may equal src (in place); otherwise they must not overlap. Masking is
 * its own inverse. */
WS_API void ws_mask(void *dst, const void *src, size_t len,
                    const uint8_t key[4], uint64_t offset);

/* ----------------------------------------------------------------- UTF-8 */

/* Incremental UTF-8 validator (RFC 3629): feed a text in pieces split
 * anywhere. Zero-initialise, or call ws_utf8_init(). */
typedef struct ws_utf8 {
    uint32_t state; /* private */
} ws_utf8_t;

WS_API void ws_utf8_init(ws_utf8_t *v);

/* Validate the next piece. Returns 0 while everything so far can still be
 * the start of valid UTF-8, or WS_EUTF8 as soon as a byte makes that
 * impossible (overlong forms, surrogates, code points over U+10FFFF, stray
 * continuation bytes, 0xC0/0xC1/0xF5-0xFF). Once it has failed it stays
 * failed. */
WS_API int ws_utf8_feed(ws_utf8_t *v, const void *data, size_t len);

/* At the end of the text: 0 if it ended on a character boundary, else
 * WS_EUTF8 (truncated sequence). Does not change v. */
WS_API int ws_utf8_finish(const ws_utf8_t *v);

/* One-shot: 0 if data[0..len) is complete, valid UTF-8, else WS_EUTF8. */
WS_API int ws_utf8_validate(const void *data, size_t len);

/* ----------------------------------------------------- connection options */

/* Memory hooks for reassembly mode (the only place the library allocates).
 * Same contracts as malloc/realloc/free; `user` is passed through. */
typedef struct ws_allocator {
    void *(*malloc)(size_t size, void *user);
    void *(*realloc)(void *ptr, size_t size, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} ws_allocator_t;

/* Fill buf with len unpredictable bytes; return 0, or nonzero on failure.
 * Used for client masking keys and handshake keys. */
typedef int (*ws_random_fn)(void *buf, size_t len, void *user);

/* The default random source: getrandom(2), falling back to /dev/urandom.
 * `user` is ignored. Returns 0 or WS_ERANDOM. */
WS_API int ws_random_default(void *buf, size_t len, void *user);

/* ------------------------------------------------------- frame tracing */

/* ws_frame_info_t.dir */
#define WS_TRACE_IN 0  /* a header the engine parsed */
#define WS_TRACE_OUT 1 /* a frame the engine encoded */

/*
 * One frame header as it is on the wire, for debugging tools. IN: called
 * as soon as a header is complete, before any event for its payload and
 * before the engine judges it (so a header that fails the connection is
 * traced too). OUT: every frame ws_conn_send_*() encodes and every
 * automatic pong or close frame (WS_EV_SEND), when it is built.
 * len_form is 7, 16 or 64: which RFC 6455 §5.2 length encoding was used.
 * The pointer is valid only during the call.
 */
typedef struct ws_frame_info {
    uint8_t dir;                      /* WS_TRACE_IN or WS_TRACE_OUT */
    uint8_t fin, rsv, opcode, masked; /* rsv: RSV1..3 as bits 2..0 */
    uint8_t mask_key[4];
    uint8_t len_form;                  /* 7, 16 or 64 */
    uint8_t header_len;                /* 2..14 */
    uint8_t header[WS_MAX_HEADER_LEN]; /* the raw header bytes */
    uint64_t payload_len;
} ws_frame_info_t;

/*
 * Set as ws_options_t.trace (with .trace_user). It must not call back into
 * the connection. Off (NULL) it costs nothing; on, every frame takes the
 * general parser (the small-frame path is skipped). Example:
 *
 *   static void show(const ws_frame_info_t *f, void *user)
 *   {
 *       fprintf(user, "%s op=%u fin=%u rsv=%u len=%llu\n",
 *               f->dir == WS_TRACE_IN ? "<-" : "->", f->opcode, f->fin,
 *               f->rsv, (unsigned long long)f->payload_len);
 *   }
 *   ws_options_t o;
 *   ws_options_init(&o);
 *   o.trace = show;
 *   o.trace_user = stderr;
 *   ws_conn_init(&c, WS_ROLE_SERVER, &o);
 */
typedef void (*ws_trace_fn)(const ws_frame_info_t *f, void *user);

/* ------------------------------------------------------------ extensions */

/* RSV bits as in ws_frame_header_t.rsv and ws_event_t.rsv. */
#define WS_RSV1 0x4u
#define WS_RSV2 0x2u
#define WS_RSV3 0x1u

/* ws_ext_io_t.flags */
#define WS_EXT_BEGIN                                                           \
    0x1u                /* first call for this message: reset per-message      \
                           state */
#define WS_EXT_FIN 0x2u /* in[] holds the last input of the message */

/*
 * One step of a transform, like zlib's z_stream: the hook reads from in
 * (advancing in, decreasing in_len) and writes to out (advancing out,
 * decreasing out_len). The engine bounds out: on receive it offers at most
 * what max_message still allows (and never more than a chunk), on send
 * exactly the room of the caller's buffer.
 */
typedef struct ws_ext_io {
    const uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_len;
    unsigned flags; /* WS_EXT_BEGIN, WS_EXT_FIN */
    uint8_t opcode; /* WS_OP_TEXT or WS_OP_BINARY */
    uint8_t rsv;    /* receive: RSV bits of the message's first frame.
                       send: preset to the extension's rsv; the hook may
                       clear bits (e.g. to send a message untransformed,
                       copying it) but not set others */
} ws_ext_io_t;

/*
 * A per-message extension (RFC 6455 §9; permessage-deflate, RFC 7692, is
 * one): a constant table of hooks plus a state the caller provides
 * (ws_options_t.extension_state, or allocated by the caller with the
 * connection's allocator). Set ws_options_t.extension only after the
 * handshake negotiated it (ws_header_next_extension() on the server,
 * ws_handshake_parse_response_ext() on the client).
 *
 * Rules the engine applies, so an extension has no special case in it:
 *  - RSV bits: frames may carry the bits in `rsv`, on the first frame of
 *    a data message only (RFC 7692 §6.1 "per-message"); any other RSV bit,
 *    or one on a continuation or control frame, fails with 1002.
 *  - A message whose first frame carries any of the bits is decoded: its
 *    payload goes through decode() in pieces as it arrives; decode()'s
 *    OUTPUT is what the caller sees, what is validated as UTF-8 (text) and
 *    what counts against max_message (a decompression bomb stops at the
 *    limit with 1009, having delivered at most the limit). Messages
 *    without the bits, and control frames, never touch the extension.
 *  - decode() and encode() return 1 when the message is complete (only
 *    after a call with WS_EXT_FIN, when all input is consumed and all
 *    output written), 0 when they need more input or more room, or a
 *    negative value on failure: WS_ENOMEM fails the connection with 1011,
 *    anything else with fail_code (deflate: 1007). Returning 0 with both
 *    input and room left is a failure too.
 *  - encode_bound(state, len): the most bytes encode() can write for len
 *    bytes of input (whole message, or one fragment); it makes
 *    ws_conn_frame_size() a bound and lets WS_ENOBUFS promise that nothing
 *    was written and no state changed.
 *  - reset(state) is called by ws_conn_init(), destroy(state) by
 *    ws_conn_destroy(); either may be NULL. encode may be NULL for an
 *    extension that only receives.
 *
 * Example, a receive-side skeleton:
 *
 *   static int my_decode(void *st, ws_ext_io_t *io)
 *   {
 *       size_t n = io->in_len < io->out_len ? io->in_len : io->out_len;
 *       ...transform n bytes from io->in to io->out...
 *       io->in += n; io->in_len -= n; io->out += n; io->out_len -= n;
 *       return (io->flags & WS_EXT_FIN) && io->in_len == 0;
 *   }
 *   static const ws_extension_t my_ext = {
 *       .name = "x-my-ext", .rsv = WS_RSV1, .fail_code = 1007,
 *       .decode = my_decode, .encode = my_encode,
 *       .encode_bound = my_bound,
 *   };
 *   o.extension = &my_ext;
 *   o.extension_state = &my_state;
 */
typedef struct ws_extension {
    const char *name;   /* the token in Sec-WebSocket-Extensions */
    uint8_t rsv;        /* WS_RSV1 | WS_RSV2 | WS_RSV3 bits it claims */
    uint16_t fail_code; /* close code when decode/encode fail */
    int (*decode)(void *state, ws_ext_io_t *io);
    int (*encode)(void *state, ws_ext_io_t *io);
    size_t (*encode_bound)(const void *state, size_t len);
    void (*reset)(void *state);
    void (*destroy)(void *state);
} ws_extension_t;

/* -------------------------------------------------------------- options */

/* Option flags for ws_options_t.flags. */
#define WS_OPT_REASSEMBLE 0x01u     /* deliver whole messages: WS_EV_MESSAGE */
#define WS_OPT_NO_AUTO_PONG 0x02u   /* do not answer pings by itself */
#define WS_OPT_NO_AUTO_CLOSE 0x04u  /* do not send close replies by itself */
#define WS_OPT_LENIENT_LENGTH 0x08u /* accept non-minimal length encodings */

/* Default maximum message size in reassembly mode. */
#define WS_DEFAULT_MAX_MESSAGE (16u * 1024u * 1024u)
/* Default ws_options_t.rbuf_keep: reassembly buffers larger than this are
 * released after each message. */
#define WS_REASSEMBLY_KEEP (64u * 1024u)
/* rbuf_keep values: release the buffer after every message / never. */
#define WS_RBUF_KEEP_NONE ((size_t)1)
#define WS_RBUF_KEEP_ALL ((size_t)-1)
/* Decoded output of an extension, in streaming mode, comes in slices of
 * at most this many bytes (a buffer of this size is allocated once). */
#define WS_EXT_CHUNK (16u * 1024u)

/*
 * Connection options. Call ws_options_init() for the defaults, or
 * zero-initialise (a zero `size` means "this version's whole struct"):
 *   size        sizeof(ws_options_t) as compiled by the caller (set by
 *               ws_options_init). The library reads only the first `size`
 *               bytes; fields past them take their defaults, so a caller
 *               built against an older, shorter struct keeps working.
 *   flags       0 = streaming mode, automatic pong and close replies,
 *               minimal length encoding required (RFC 6455 §5.2 "MUST");
 *   max_frame   0 = no limit beyond RFC 6455's 2^63-1 bytes;
 *   max_message 0 = WS_DEFAULT_MAX_MESSAGE with WS_OPT_REASSEMBLE,
 *               no limit in streaming mode. With an extension it limits
 *               the decoded size;
 *   random      NULL = ws_random_default;
 *   allocator   NULL = malloc/realloc/free. When set, the ws_allocator_t
 *               must outlive the connection (it is referenced, not copied);
 *   rbuf_keep   reassembly buffers larger than this are released after the
 *               message in them was delivered (at the next call); smaller
 *               ones are kept for the next message. 0 = WS_REASSEMBLY_KEEP;
 *               WS_RBUF_KEEP_NONE = release always; WS_RBUF_KEEP_ALL =
 *               keep until ws_conn_destroy (or a close/failure);
 *   trace       frame tracer (see above), NULL = off; trace_user passed to it;
 *   extension   the negotiated extension (see above), NULL = none;
 *               extension_state is handed to its hooks and must outlive
 *               the connection;
 *   reserved    must be zero (room for later options).
 * ws_conn_init() copies the struct; it may be discarded afterwards.
 */
typedef struct ws_options {
    uint32_t size;
    uint32_t flags;
    uint64_t max_frame;
    uint64_t max_message;
    ws_random_fn random;
    void *random_user;
    const ws_allocator_t *allocator;
    size_t rbuf_keep;
    ws_trace_fn trace;
    void *trace_user;
    const ws_extension_t *extension;
    void *extension_state;
    void *reserved[4];
} ws_options_t;

/* Fill o with the defaults and set o->size. */
WS_API void ws_options_init(ws_options_t *o);

/* -------------------------------------------------------------- events */

/*
 * Streaming mode (the default) hands a message out as it arrives, in
 * place, and never allocates for it (only an extension's decoded output
 * has a buffer, WS_EXT_CHUNK bytes). A message comes in one of two shapes:
 *
 *   - WS_EV_MESSAGE alone, when it is one frame (FIN set, not decoded by
 *     an extension) and that frame is whole in the input fed: the same
 *     event as in reassembly mode (opcode, data/len in the fed buffer,
 *     frames = 1, flags 0). It says exactly what MESSAGE_START, one DATA
 *     (FRAME_START | FRAME_END | FIN) and MESSAGE_END would have said, in
 *     one event instead of three: small messages cost a third;
 *   - otherwise MESSAGE_START, one or more DATA, MESSAGE_END. Every data
 *     frame gives at least one DATA event, so empty frames are visible.
 *
 * Which shape a message takes depends on how the bytes were split into
 * feeds, so a streaming caller handles both:
 *
 *   case WS_EV_MESSAGE:       begin(op); append(data, len); finish(); break;
 *   case WS_EV_MESSAGE_START: begin(op); break;
 *   case WS_EV_DATA:          append(data, len); break;
 *   case WS_EV_MESSAGE_END:   finish(); break;
 *
 * Nothing else changes between the shapes: payload is validated the same
 * way before it is handed out, slices stay in place, the events of a
 * message are never interleaved with another message's.
 */
typedef enum ws_event_type {
    WS_EV_NONE = 0,
    /* Streaming mode, a message in pieces (see above). */
    WS_EV_MESSAGE_START = 1, /* opcode: WS_OP_TEXT or WS_OP_BINARY */
    WS_EV_DATA = 2,          /* data/len: a slice of payload; flags, rsv */
    WS_EV_MESSAGE_END = 3,   /* message complete; frames = its frame count */
    /* Reassembly mode (WS_OPT_REASSEMBLE): every message. Streaming mode:
     * a one-frame message whole in the input. */
    WS_EV_MESSAGE = 4, /* opcode, data/len: the whole message; frames */
    /* Both modes. Control frames arrive whole, even between fragments. */
    WS_EV_PING = 5,  /* data/len: ping payload (0..125 bytes) */
    WS_EV_PONG = 6,  /* data/len: pong payload */
    WS_EV_CLOSE = 7, /* code (1005 when none), data/len: reason */
    WS_EV_SEND = 8,  /* data/len: bytes the engine wants sent */
    WS_EV_ERROR = 9  /* error: WS_E*, code: close code to send */
} ws_event_type_t;

/* Flags on WS_EV_DATA. In a message decoded by an extension the slices
 * are its output, which has no frame boundaries: only WS_DATA_FIN is set
 * there (on a last slice that may be empty). */
#define WS_DATA_FRAME_START 0x1u /* first slice of a frame */
#define WS_DATA_FRAME_END 0x2u   /* last slice of a frame */
#define WS_DATA_FIN 0x4u         /* last slice of the message */

/*
 * One event. Pointers stay valid until the next call on the same
 * connection (ws_conn_feed, ws_conn_next_event, ws_conn_recv_buf,
 * ws_conn_recv_ack, ws_conn_destroy). They point
 * into the caller's fed buffer (payload unmasked in place) or into the
 * connection's own buffers. Text payload has been validated as UTF-8 before
 * it is delivered; a text DATA slice may end inside a character, which the
 * next slice completes.
 */
typedef struct ws_event {
    ws_event_type_t type;
    ws_opcode_t opcode; /* message type for MESSAGE_START/DATA/END/MESSAGE */
    uint8_t *data;
    size_t len;
    unsigned flags;     /* WS_DATA_*, for WS_EV_DATA */
    uint64_t frame_len; /* WS_EV_DATA: payload length of the current frame */
    uint32_t frames;    /* MESSAGE_END/MESSAGE: frames the message came in */
    uint16_t code;      /* WS_EV_CLOSE: received code; WS_EV_ERROR: to send */
    uint8_t rsv;        /* RSV bits (RSV1 = 4): MESSAGE_START and MESSAGE:
                           of the message's first frame; DATA: of the
                           frame the slice came in (first frame's for
                           a decoded message) */
    int error;          /* WS_EV_ERROR: the WS_E* reason */
} ws_event_t;

/* ---------------------------------------------------------- connection */

typedef enum ws_role { WS_ROLE_SERVER = 0, WS_ROLE_CLIENT = 1 } ws_role_t;

/* RFC 6455 §7: OPEN until a close frame is sent or received; CLOSING while
 * one close frame is outstanding; CLOSED when both have passed (or the
 * connection failed and its close frame was produced): close the transport.
 * RFC 6455 §7.1.1: the server closes the TCP connection first. */
typedef enum ws_state {
    WS_STATE_OPEN = 0,
    WS_STATE_CLOSING = 1,
    WS_STATE_CLOSED = 2
} ws_state_t;

/* Who sent the first close frame. */
typedef enum ws_closer {
    WS_CLOSER_NONE = 0,
    WS_CLOSER_LOCAL = 1,
    WS_CLOSER_PEER = 2
} ws_closer_t;

/* Room for a control frame: 2-byte header, 4-byte mask key, payload. */
#define WS_CONTROL_BUF_LEN (2 + 4 + WS_MAX_CONTROL_PAYLOAD)

/* sizeof(ws_conn_t), the same on every platform the library supports
 * (checked when the library is built); it includes spare room, so later
 * versions can grow the state without changing it. */
#define WS_CONN_SIZE 320

/*
 * The connection state. The caller allocates it (on the stack, inside its
 * own per-connection struct, ...), WS_CONN_SIZE bytes, pointer-aligned.
 * Its contents are private: use the functions below. The library lays
 * them out itself (lib/conn_int.h); nothing here may be read or written.
 */
typedef struct ws_conn {
    union {
        unsigned char bytes[WS_CONN_SIZE];
        uint64_t align_u64;
        void *align_ptr;
    } _private;
} ws_conn_t;

/* Prepare c for a new connection in `role` (after the opening handshake).
 * opts may be NULL for the defaults. Returns 0 or WS_EINVAL. */
WS_API int ws_conn_init(ws_conn_t *c, ws_role_t role, const ws_options_t *opts);

/* Release what the connection allocated (the reassembly buffer). c may be
 * initialised again afterwards. Safe to call twice. */
WS_API void ws_conn_destroy(ws_conn_t *c);

/*
 * Hand the engine `len` bytes exactly as they arrived, split anywhere. The
 * buffer stays the caller's, but the engine reads it, and unmasks payload
 * in place, until ws_conn_next_event() returns 0; it must stay valid and
 * unmodified until then. Bytes after a close frame, or after the
 * connection failed, are consumed and ignored.
 * Returns 0, WS_EINVAL (NULL data with len > 0), or WS_ESTATE if the
 * previous input has not been consumed yet.
 */
WS_API int ws_conn_feed(ws_conn_t *c, void *data, size_t len);

/*
 * Take the next event. Returns its type (> 0) with *ev filled in, or 0 when
 * all fed input is consumed and no event is owed. A protocol violation
 * gives one WS_EV_ERROR (then, unless WS_OPT_NO_AUTO_CLOSE, one WS_EV_SEND
 * holding the close frame); afterwards the connection is failed and further
 * input is ignored. Never returns a negative value: NULL c or ev returns 0
 * (no event), which also ends the caller's `while (ws_conn_next_event())`.
 */
WS_API int ws_conn_next_event(ws_conn_t *c, ws_event_t *ev);

/*
 * Reading large payloads in place (reassembly mode), like BearSSL's
 * recvrec_buf / recvrec_ack: instead of reading into its own buffer and
 * feeding it (the engine then copies the payload into the reassembly
 * buffer), the caller reads straight into the reassembly buffer, so a
 * large message costs one copy, the socket's, as in streaming mode.
 *
 * ws_conn_recv_buf() asks whether the engine wants payload bytes now:
 * it returns 1 with *ptr / *len set when a data frame with at least
 * WS_RECV_DIRECT_MIN payload bytes still to come is being reassembled,
 * at least that many bytes of its message have arrived (or a kept buffer
 * has the room) and all fed input was consumed (ws_conn_next_event()
 * returned 0). Read at
 * most *len bytes, exactly as they arrive from the peer (still masked),
 * into *ptr, then call ws_conn_recv_ack(c, n) with the number read and
 * take events with ws_conn_next_event() as usual (the message comes as
 * WS_EV_MESSAGE once its last byte is in). *len never goes past the
 * frame's end, so the next frame's header is read the usual way. It
 * returns 0 (*ptr NULL, *len 0) when the engine wants ordinary input:
 * a header, a control frame, a short rest of a frame, an extension's
 * message, streaming mode; read into your own buffer and ws_conn_feed().
 * WS_EINVAL for NULL arguments.
 *
 * Memory: the buffer grows geometrically with what has arrived (to at
 * most twice the message's bytes received so far; never past the end of
 * the message's last frame or max_message), so a peer announcing a huge
 * frame cannot make the engine allocate it before sending it. When the
 * allocator fails the function returns 0, and the usual path reports
 * WS_ENOMEM.
 *
 * *ptr is valid until the next call on the connection other than
 * ws_conn_recv_ack().
 * ws_conn_recv_ack() returns 0, WS_ESTATE (no buffer was offered, or
 * input was fed since), or WS_EINVAL (n larger than the *len offered).
 * n = 0 does nothing.
 *
 *   for (;;) {
 *       void *p; size_t room;
 *       if (ws_conn_recv_buf(&c, &p, &room) == 1) {
 *           ssize_t n = read(fd, p, room);      // error handling elided
 *           ws_conn_recv_ack(&c, (size_t)n);
 *       } else {
 *           ssize_t n = read(fd, buf, sizeof buf);
 *           ws_conn_feed(&c, buf, (size_t)n);
 *       }
 *       while (ws_conn_next_event(&c, &ev) > 0) ...
 *   }
 */
#define WS_RECV_DIRECT_MIN 4096u
WS_API int ws_conn_recv_buf(ws_conn_t *c, void **ptr, size_t *len);
WS_API int ws_conn_recv_ack(ws_conn_t *c, size_t n);

/* OPEN, CLOSING or CLOSED, as defined above. */
WS_API ws_state_t ws_conn_state(const ws_conn_t *c);

/* Who started the closing handshake (or WS_CLOSER_NONE). */
WS_API ws_closer_t ws_conn_closer(const ws_conn_t *c);

/* Bytes needed to encode a frame with a payload of len bytes in c's role.
 * When an extension with an encode hook is active this is an upper bound
 * (header and payload for encode_bound(len) bytes), enough for any send
 * of len bytes, transformed or not; the frame written may be shorter. */
WS_API size_t ws_conn_frame_size(const ws_conn_t *c, size_t len);

/*
 * Encoders. Each writes one complete frame into out[0..cap) and returns its
 * length, or a negative error with nothing written and the state unchanged:
 *   WS_ENOBUFS  cap < ws_conn_frame_size(c, len);
 *   WS_ESTATE   the call is not allowed now (data after a close frame was
 *               sent or received, a new message while a fragmented one is
 *               unfinished, a fragment with no message started, ...);
 *   WS_EUTF8    text that is not valid UTF-8 (checked incrementally across
 *               fragments, and in close reasons);
 *   WS_EINVAL   bad arguments (control payload > 125 bytes, bad opcode);
 *   WS_ERANDOM  client role: the random source failed.
 * In the client role every frame is masked with a fresh key from the
 * random source. data may be NULL when len is 0.
 */

/* A whole message in one frame. op is WS_OP_TEXT or WS_OP_BINARY. With
 * an active extension that has an encode hook, the message goes through
 * it (same as ws_conn_send_message_ex with WS_RSV_AUTO). */
WS_API ptrdiff_t ws_conn_send_message(ws_conn_t *c, ws_opcode_t op,
                                      const void *data, size_t len, void *out,
                                      size_t cap);

/* rsv argument of the _ex senders: run the extension's encode hook (when
 * there is one) and set the RSV bits it chooses. */
#define WS_RSV_AUTO 0x100u

/* A whole message with explicit RSV bits: rsv 0..7 sends data as given
 * (already transformed by the caller, or untransformed with 0: the
 * per-message opt-out), WS_RSV_AUTO transforms. Bits must be ones the
 * active extension claims (WS_EINVAL otherwise). A text message is
 * validated as UTF-8 only when it is not marked transformed. */
WS_API ptrdiff_t ws_conn_send_message_ex(ws_conn_t *c, ws_opcode_t op,
                                         unsigned rsv, const void *data,
                                         size_t len, void *out, size_t cap);

/* One fragment of a message the caller sizes. The first fragment gives op
 * (WS_OP_TEXT or WS_OP_BINARY); later ones pass WS_OP_CONTINUATION (or the
 * same op). fin = nonzero on the last fragment. Control frames may be sent
 * between fragments. Never transformed. */
WS_API ptrdiff_t ws_conn_send_fragment(ws_conn_t *c, ws_opcode_t op, int fin,
                                       const void *data, size_t len, void *out,
                                       size_t cap);

/* A fragment with RSV bits. rsv is given on the first fragment and applies
 * to the whole message (later fragments must pass the same value or 0;
 * the bits go on the first frame only, RFC 7692 §6.1). WS_RSV_AUTO
 * streams the message through the extension's encode hook, one fragment
 * at a time (WS_EXT_FIN with the last); the output of a fragment may be
 * empty. */
WS_API ptrdiff_t ws_conn_send_fragment_ex(ws_conn_t *c, ws_opcode_t op,
                                          unsigned rsv, int fin,
                                          const void *data, size_t len,
                                          void *out, size_t cap);

/*
 * The header alone, for a server that sends the payload from where it
 * lies (writev(header, payload): no copy of the payload). Server role
 * only: a client masks every payload (RFC 6455 §5.3), which is a copy,
 * so it uses the encoders above into a buffer of its own (WS_EINVAL
 * here). Otherwise exactly ws_conn_send_fragment_ex(c, op, rsv, fin,
 * data, len, ...) minus the payload: the same checks (data is read to
 * validate text, never copied) and the same state changes; fin = 1 with
 * op WS_OP_TEXT/BINARY is a whole message. rsv is 0..7 as given (the
 * payload is sent as it is: WS_RSV_AUTO is WS_EINVAL). Writes the header
 * (2..10 bytes; WS_MAX_HEADER_LEN is always enough) into out and returns
 * its length; the caller must then send exactly len bytes of data after
 * it, before any other frame.
 */
WS_API ptrdiff_t ws_conn_send_header(ws_conn_t *c, ws_opcode_t op, unsigned rsv,
                                     int fin, const void *data, size_t len,
                                     void *out, size_t cap);

/* Ping and pong, payload 0..125 bytes. */
WS_API ptrdiff_t ws_conn_send_ping(ws_conn_t *c, const void *data, size_t len,
                                   void *out, size_t cap);
WS_API ptrdiff_t ws_conn_send_pong(ws_conn_t *c, const void *data, size_t len,
                                   void *out, size_t cap);

/* Start (or answer) the closing handshake. code 0 sends an empty close
 * body; otherwise code must satisfy ws_close_code_is_valid() and the reason
 * (0..123 bytes, may be NULL when reason_len is 0) must be valid UTF-8.
 * Allowed once per connection. */
WS_API ptrdiff_t ws_conn_send_close(ws_conn_t *c, unsigned code,
                                    const char *reason, size_t reason_len,
                                    void *out, size_t cap);

/* ------------------------------------------------- opening handshake */

/* A slice of the caller's buffer: not NUL-terminated. */
typedef struct ws_str {
    const char *ptr;
    size_t len;
} ws_str_t;

/* Default limit on the size of a request or response head. */
#define WS_DEFAULT_MAX_HEAD 8192u
/* Length of a Sec-WebSocket-Key (24) and -Accept (28), without the NUL. */
#define WS_KEY_LEN 24
#define WS_ACCEPT_LEN 28

/*
 * A parsed request head. Every ws_str_t points into the buffer that was
 * parsed and is valid as long as that buffer is. Header values are trimmed
 * of surrounding spaces and tabs; absent headers have ptr NULL, len 0.
 */
typedef struct ws_request {
    ws_str_t method;
    ws_str_t target; /* as sent: path and query */
    ws_str_t path;   /* target up to '?' */
    ws_str_t query;  /* after '?', without it */
    int http_minor;  /* x in HTTP/1.x */
    int websocket;   /* 1: a valid WebSocket upgrade; 0: plain HTTP */
    ws_str_t host;
    ws_str_t origin;
    ws_str_t key;     /* Sec-WebSocket-Key */
    const char *head; /* the whole head, for ws_header_find() */
    size_t head_len;
} ws_request_t;

/*
 * Server side: parse the request head at the start of buf[0..len). Call it
 * again on the whole buffer when more bytes arrive (the result is the same
 * for any split). max_head limits the head (0 = WS_DEFAULT_MAX_HEAD).
 * Returns:
 *   > 0  the head length: bytes after it belong to the WebSocket stream;
 *        req->websocket says whether this is a valid upgrade (answer with
 *        ws_handshake_build_response) or a plain HTTP request (no Upgrade
 *        or Sec-WebSocket-* headers, any method: serve it yourself);
 *   WS_EAGAIN  the head is not complete yet (nothing is judged until the
 *              blank line that ends it has arrived);
 *   WS_EHS_*   a malformed head or an invalid upgrade request: answer with
 *              ws_handshake_build_reject() and close. Plain requests fail
 *              too when Host is missing or repeated (RFC 7230 §5.4) or the
 *              version is not HTTP/1.x.
 * Bare LF line endings are accepted (RFC 7230 §3.5); a bare CR is not.
 */
WS_API int ws_handshake_parse_request(const char *buf, size_t len,
                                      size_t max_head, ws_request_t *req);

/* Find the first header called name (case-insensitive) in a parsed head
 * (req->head / resp->head). Returns 1 and sets *value (trimmed), or 0. */
WS_API int ws_header_find(const char *head, size_t head_len, const char *name,
                          ws_str_t *value);

/* Iterate the comma-separated tokens of every header called name (e.g.
 * "Sec-WebSocket-Protocol"), across repeated headers, in a parsed head.
 * Start with *iter = 0. Returns 1 with *token set, or 0 at the end. Empty
 * list items are skipped; tokens are trimmed. */
WS_API int ws_header_next_token(const char *head, size_t head_len,
                                const char *name, size_t *iter,
                                ws_str_t *token);

/* The first of `supported` (a NULL-terminated list, in the server's order
 * of preference) that the client offered in Sec-WebSocket-Protocol, or NULL.
 * Subprotocol names compare case-sensitively (RFC 6455 §4.1). */
WS_API const char *ws_request_select_protocol(const ws_request_t *req,
                                              const char *const *supported);

/* Build the 101 response to a valid upgrade request. protocol (may be
 * NULL) must be one the client offered; extra_headers (may be NULL) is
 * appended verbatim and must be complete "Name: value\r\n" lines.
 * Returns the length written, WS_ENOBUFS, or WS_EINVAL. */
WS_API ptrdiff_t ws_handshake_build_response(const ws_request_t *req,
                                             const char *protocol,
                                             const char *extra_headers,
                                             char *out, size_t cap);

/* The same, accepting extensions: `extensions` (may be NULL) is the value
 * of the response's Sec-WebSocket-Extensions header, e.g.
 * "permessage-deflate; server_no_context_takeover". It must be a
 * well-formed ext-list (RFC 6455 §9.1) and name only extensions the
 * client offered (§9.1: the server MUST NOT choose others); WS_EINVAL
 * otherwise. */
WS_API ptrdiff_t ws_handshake_build_response_ext(const ws_request_t *req,
                                                 const char *protocol,
                                                 const char *extensions,
                                                 const char *extra_headers,
                                                 char *out, size_t cap);

/* ------------------------------------------- extension negotiation */

/* Parameters kept per extension; more make ws_ext_offer_t.truncated. */
#define WS_EXT_MAX_PARAMS 8

/* One parameter: `name` or `name=value`. value.ptr is NULL when there is
 * no value. A quoted-string value is given without its quotes and still
 * escaped (quoted = 1): ws_ext_param_value() unescapes it. */
typedef struct ws_ext_param {
    ws_str_t name;
    ws_str_t value;
    int quoted;
} ws_ext_param_t;

/* One extension of a Sec-WebSocket-Extensions list: an offer in a request,
 * or what the server accepted in a response. Slices point into the head. */
typedef struct ws_ext_offer {
    ws_str_t name;
    size_t nparams;
    ws_ext_param_t params[WS_EXT_MAX_PARAMS];
    int truncated; /* it had more than WS_EXT_MAX_PARAMS parameters (the
                      first ones are here): decline such an offer */
} ws_ext_offer_t;

/*
 * Iterate the extensions in every Sec-WebSocket-Extensions header of a
 * parsed head (req->head / resp->head), in order, across repeated headers
 * (RFC 6455 §9.1: ext-list = 1#extension; extension = token *(";" param);
 * param = token ["=" (token | quoted-string)], with optional whitespace
 * around the separators, empty list elements ignored). Start with
 * *iter = 0. Returns 1 with *offer set, 0 at the end, or WS_EHS_SYNTAX
 * for a malformed list (the iteration then ends; decline everything or
 * refuse the handshake). Several offers of one extension (alternatives
 * in the client's order of preference) come as several items.
 */
WS_API int ws_header_next_extension(const char *head, size_t head_len,
                                    size_t *iter, ws_ext_offer_t *offer);

/* The value of p, unescaped (RFC 7230 §3.2.6 quoted-pair), NUL-terminated
 * into out. Returns its length (0 when p has no value), or WS_ENOBUFS
 * when cap is not more than that (out is then left untouched). */
WS_API ptrdiff_t ws_ext_param_value(const ws_ext_param_t *p, char *out,
                                    size_t cap);

/* Build the rejection for a handshake error (status from
 * ws_error_http_status()) with a short text body. 400 and 431 carry
 * "Connection: close"; 426 carries "Sec-WebSocket-Version: 13",
 * "Upgrade: websocket" and "Connection: Upgrade, close" (RFC 7230 §6.7: a
 * 426 MUST say which upgrade it wants). Returns the length written,
 * WS_ENOBUFS, or WS_EINVAL when err is not a handshake error. */
WS_API ptrdiff_t ws_handshake_build_reject(int err, char *out, size_t cap);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), RFC 6455 §4.2.2.
 * Writes WS_ACCEPT_LEN characters and a NUL into out. */
WS_API void ws_handshake_accept_key(const char *key, size_t key_len,
                                    char out[WS_ACCEPT_LEN + 1]);

/* Client side: a fresh Sec-WebSocket-Key (16 random bytes, base64) and a
 * NUL into key. random NULL = ws_random_default. Returns 0, WS_ERANDOM, or
 * WS_EINVAL (key NULL). */
WS_API int ws_handshake_generate_key(ws_random_fn random, void *random_user,
                                     char key[WS_KEY_LEN + 1]);

/* What the client asks for. Strings are NUL-terminated; must not contain
 * CR or LF. */
typedef struct ws_client_request {
    const char *host;          /* Host header, e.g. "example.com:9001" */
    const char *path;          /* request target; NULL = "/" */
    const char *origin;        /* optional */
    const char *protocols;     /* optional, e.g. "chat, superchat" */
    const char *extra_headers; /* optional complete "Name: value\r\n" lines */
    const char *extensions;    /* optional Sec-WebSocket-Extensions offer,
                                  an ext-list, e.g. "permessage-deflate;
                                  client_max_window_bits" */
} ws_client_request_t;

/* Build the upgrade request with the given key (ws_handshake_generate_key).
 * Returns the length written, WS_ENOBUFS, or WS_EINVAL. */
WS_API ptrdiff_t ws_handshake_build_request(const ws_client_request_t *r,
                                            const char *key, char *out,
                                            size_t cap);

/* A parsed response head; slices point into the parsed buffer. */
typedef struct ws_response {
    int status;          /* e.g. 101, or 404 on WS_EHS_STATUS */
    ws_str_t reason;     /* reason phrase */
    ws_str_t protocol;   /* Sec-WebSocket-Protocol chosen by the server */
    ws_str_t extensions; /* first Sec-WebSocket-Extensions header's value;
                            read all with ws_header_next_extension() */
    const char *head;
    size_t head_len;
} ws_response_t;

/*
 * Client side: parse and validate the server's response to a request made
 * with key and offering `protocols` (the same string as in the request, or
 * NULL). Like ws_handshake_parse_request(), call it on the whole buffer as
 * bytes arrive. Returns the head length (> 0) for a valid 101 (bytes after
 * it are WebSocket frames), WS_EAGAIN, or a WS_EHS_* error (resp->status is
 * set, e.g. 404 with WS_EHS_STATUS, once the whole head has arrived).
 */
WS_API int ws_handshake_parse_response(const char *buf, size_t len,
                                       size_t max_head, const char *key,
                                       const char *protocols,
                                       ws_response_t *resp);

/* The same for a request that offered `extensions` (the ext-list sent in
 * Sec-WebSocket-Extensions, or NULL). The response may accept only
 * extensions named there, each at most once, in a well-formed list;
 * otherwise WS_EHS_EXTENSION (RFC 6455 §4.1 item 5). The caller then
 * reads the accepted parameters with ws_header_next_extension(). */
WS_API int ws_handshake_parse_response_ext(const char *buf, size_t len,
                                           size_t max_head, const char *key,
                                           const char *protocols,
                                           const char *extensions,
                                           ws_response_t *resp);

/* ------------------------------------------- permessage-deflate (RFC 7692) */

/*
 * permessage-deflate on the extension interface, with the library's own
 * DEFLATE codec (no zlib). Steps, server:
 *   ws_pmd_config_init(&cfg);
 *   r = ws_pmd_negotiate_server(&req, &cfg, &agreed, ext, sizeof ext);
 *   r == 1: answer with ws_handshake_build_response_ext(..., ext, ...);
 *   mem = an aligned block of ws_pmd_state_size(&agreed) bytes;
 *   ws_pmd_init(mem, size, &agreed, &cfg);
 *   o.extension = ws_pmd_extension(); o.extension_state = mem;
 * client: ws_pmd_offer() gives the Sec-WebSocket-Extensions offer for
 * ws_client_request_t.extensions; ws_pmd_negotiate_client() reads the
 * response; then the same ws_pmd_init() and options.
 *
 * Agreed parameters are stated from our side: what we send and what we
 * receive (server: send = server_*, recv = client_*; client: the other
 * way round).
 *
 * Memory per connection, ws_pmd_state_size() (bytes, send/recv window
 * bits): to decompress 7,336 + 2^recv (40,104 at 15); to compress 14,320
 * + 2^send + 4,104 + 8,192 + 2 * min(2^send, 16,384) (92,152 at 15);
 * all with 16-byte rounding: 132,296 at 15/15, 66,760 at 13/13, 35,016
 * at 8/8 (zlib needs about 7 KiB + 32 KiB and 256 KiB at 15). The window
 * is needed while a message is decoded even without context takeover
 * (its matches reach back within the message).
 */
#define WS_PMD_DEFAULT_THRESHOLD 128 /* bytes; see ws_pmd_config_t */

typedef struct ws_pmd_config {
    uint32_t size;                /* sizeof(ws_pmd_config_t) as compiled by the
                                     caller (set by ws_pmd_config_init; 0 = this
                                     version's): fields past it take defaults */
    int level;                    /* 1 (fastest) .. 9 (smallest); 0 = 6 */
    unsigned send_window_bits;    /* the most our compressor uses, 8..15
                                     (0 = 15); the peer may lower it */
    unsigned recv_window_bits;    /* the window we ask the peer to compress
                                     with, 8..15 (0 = 15): what we keep */
    int send_no_context_takeover; /* start each message we send afresh */
    int recv_no_context_takeover; /* ask the peer to do the same */
    size_t threshold;             /* messages shorter than this go out
                                     uncompressed (RSV1 clear); 0 = default,
                                     1 = compress everything */
} ws_pmd_config_t;

typedef struct ws_pmd_params {
    unsigned send_window_bits, recv_window_bits; /* 8..15 */
    int send_no_context_takeover, recv_no_context_takeover;
} ws_pmd_params_t;

/* The defaults: level 6, windows 15, context takeover, threshold 128;
 * sets cfg->size. */
WS_API void ws_pmd_config_init(ws_pmd_config_t *cfg);

/* Client: the offer for Sec-WebSocket-Extensions, NUL-terminated, e.g.
 * "permessage-deflate; client_max_window_bits". Returns its length,
 * WS_ENOBUFS or WS_EINVAL (bad cfg). */
WS_API ptrdiff_t ws_pmd_offer(const ws_pmd_config_t *cfg, char *out,
                              size_t cap);

/* Client: what the server's response (parsed with
 * ws_handshake_parse_response_ext and our offer) agreed. Returns 1 with
 * *agreed set, 0 when the server did not accept permessage-deflate, or
 * WS_EHS_EXTENSION when its parameters break RFC 7692 §7.1 (fail the
 * connection: §7.1 "MUST _Fail the WebSocket Connection_"). */
WS_API int ws_pmd_negotiate_client(const ws_response_t *resp,
                                   const ws_pmd_config_t *cfg,
                                   ws_pmd_params_t *agreed);

/* Server: pick the first permessage-deflate offer of the request we can
 * honour (RFC 7692 §7.1: offers with unknown, repeated or invalid
 * parameters are declined, the next one is tried). Returns 1 with
 * *agreed and the response's extension value (NUL-terminated, for
 * ws_handshake_build_response_ext) in out, 0 when there is none to
 * accept (answer without the extension), WS_ENOBUFS, or WS_EHS_SYNTAX
 * for a malformed Sec-WebSocket-Extensions header. */
WS_API int ws_pmd_negotiate_server(const ws_request_t *req,
                                   const ws_pmd_config_t *cfg,
                                   ws_pmd_params_t *agreed, char *out,
                                   size_t cap);

/* Bytes of state for these parameters (see the memory figures above). */
WS_API size_t ws_pmd_state_size(const ws_pmd_params_t *agreed);

/* Set up the state in mem (size bytes, 16-byte aligned, owned by the
 * caller, alive as long as the connection). Returns 0, or WS_EINVAL. */
WS_API int ws_pmd_init(void *mem, size_t size, const ws_pmd_params_t *agreed,
                       const ws_pmd_config_t *cfg);

/* The extension table to put in ws_options_t.extension (with the state
 * in extension_state). Corrupt compressed data fails with 1007. */
WS_API const ws_extension_t *ws_pmd_extension(void);

#ifdef __cplusplus
}
#endif

#endif /* WSPROTO_H */
