/* test_rooms.c — rooms-server's pure parts: every wire format against its
 * golden vector in tests/fixtures (NAME.hex, PROTOCOL.md), byte for byte both
 * ways; every split point of a TCRP message; every reason a datagram is
 * dropped; HMAC-SHA256 and PBKDF2-HMAC-SHA256 against RFC 4231 and RFC
 * 7914 vectors; and the rooms model through the TCRP operations: 200,
 * 400, 401, 403, 404 and 409, the notices each event sends, hosts, kicks,
 * idle timeouts and token spoofing. Run from the top of the tree. */
#define _GNU_SOURCE
#include "dgram.h"
#include "harness.h"
#include "ops.h"
#include "rooms.h"
#include "secret.h"
#include "tcrp.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char th_suite_name[] = "rooms";

#define FIXTURES "examples/rooms/tests/fixtures/"
#define TOKEN "Tok3n-0f-32-printable-characters"

/* A fixture's bytes: hex pairs, with '#' comments and spaces ignored. */
static size_t fixture(const char *name, uint8_t *out, size_t cap)
{
    char path[256], line[1024], hex[8192] = "";
    snprintf(path, sizeof path, FIXTURES "%s.hex", name);
    FILE *f = fopen(path, "r");
    if (!CHECK(f != NULL)) {
        th_note("cannot open %s", path);
        return 0;
    }
    while (fgets(line, sizeof line, f))
        if (line[0] != '#')
            strncat(hex, line, sizeof hex - strlen(hex) - 1);
    fclose(f);
    for (char *p = hex; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return th_hex(hex, out, cap);
}

/* ---------------------------------------------------------- datagrams */

static void chat_datagrams(void)
{
    uint8_t want[256], got[256];
    chat_dgram_t d;
    size_t n = fixture("chat_dgram", want, sizeof want);

    CHECK_INT(chat_dgram_encode(got, sizeof got, "alice", 5, "hello", 5),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    CHECK_INT(chat_dgram_parse(want, n, &d), 0);
    CHECK_BYTES(d.name, d.name_len, "alice", 5);
    CHECK_BYTES(d.text, d.text_len, "hello", 5);
    n = fixture("chat_dgram_utf8", want, sizeof want);
    CHECK_INT(chat_dgram_parse(want, n, &d), 0);
    CHECK_BYTES(d.name, d.name_len, "zo\xc3\xab", 4);
    n = fixture("chat_bad_utf8", want, sizeof want);
    CHECK_INT(chat_dgram_parse(want, n, &d), DGRAM_EUTF8);
    n = fixture("chat_zero_name", want, sizeof want);
    CHECK_INT(chat_dgram_parse(want, n, &d), DGRAM_EZERO);
    n = fixture("chat_overlong_name", want, sizeof want);
    CHECK_INT(chat_dgram_parse(want, n, &d), DGRAM_EOVERLONG);
    CHECK_INT(chat_dgram_parse(want, 0, &d), DGRAM_ESHORT);
}

static void datagram_sizes(void)
{
    static uint8_t big[DGRAM_MAX + 1];
    chat_dgram_t c;
    room_dgram_t r;

    memset(big, 'a', sizeof big);
    big[0] = 1;
    CHECK_INT(chat_dgram_parse(big, DGRAM_MAX, &c), 0);
    CHECK_INT(chat_dgram_parse(big, DGRAM_MAX + 1, &c), DGRAM_ESIZE);
    big[1] = 1;
    CHECK_INT(room_dgram_parse(big, DGRAM_MAX, &r), 0);
    CHECK_INT(room_dgram_parse(big, DGRAM_MAX + 1, &r), DGRAM_ESIZE);
    CHECK_INT(chat_dgram_encode(big, sizeof big, "a", 1, (char *)big,
                                DGRAM_MAX - 1),
              -1);
    CHECK_INT(chat_dgram_encode(big, sizeof big, "", 0, "x", 1), -1);
}

static void room_datagrams(void)
{
    uint8_t want[256], got[256];
    room_dgram_t d;
    size_t n = fixture("room_dgram", want, sizeof want);

    CHECK_INT(room_dgram_encode(got, sizeof got, "lobby", 5, TOKEN, 32,
                                "hi all", 6),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    CHECK_INT(room_dgram_parse(want, n, &d), 0);
    CHECK_BYTES(d.room, d.room_len, "lobby", 5);
    CHECK_BYTES(d.token, d.token_len, TOKEN, 32);
    CHECK_BYTES(d.text, d.text_len, "hi all", 6);
    n = fixture("room_heartbeat", want, sizeof want);
    CHECK_INT(room_dgram_encode(got, sizeof got, "lobby", 5, TOKEN, 32, "", 0),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    CHECK_INT(room_dgram_parse(want, n, &d), 0);
    CHECK_INT(d.text_len, 0);
    n = fixture("room_bad_token", want, sizeof want);
    CHECK_INT(room_dgram_parse(want, n, &d), DGRAM_ETOKEN);
    n = fixture("room_overlong", want, sizeof want);
    CHECK_INT(room_dgram_parse(want, n, &d), DGRAM_EOVERLONG);
    uint8_t zero[] = {5, 0, 'l', 'o', 'b', 'b', 'y'};
    CHECK_INT(room_dgram_parse(zero, sizeof zero, &d), DGRAM_EZERO);
    CHECK_INT(room_dgram_parse(zero, 1, &d), DGRAM_ESHORT);
}

static void json_bodies(void)
{
    uint8_t want[256];
    char got[256];
    size_t n = fixture("json_chat", want, sizeof want);

    CHECK_INT(room_chat_json(got, sizeof got, "alice", 5, "hi \"all\"", 8),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    n = fixture("json_system", want, sizeof want);
    CHECK_INT(room_system_json(got, sizeof got, "join", "bob", 3, "bob joined"),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    CHECK_INT(room_chat_json(got, 10, "alice", 5, "hi", 2), -1);
}

/* --------------------------------------------------------------- TCRP */

static void tcrp_vectors(void)
{
    static const char *const names[] = {
        "tcrp_create_request", "tcrp_join_request", "tcrp_create_response",
        "tcrp_create_complete", "tcrp_join_404", "tcrp_list_request",
        "tcrp_list_response", "tcrp_leave_request", "tcrp_kick_request",
        "tcrp_close_request"};
    uint8_t want[512], got[512];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = fixture(names[i], want, sizeof want);
        tcrp_msg_t m;
        th_note("%s", names[i]);
        if (!CHECK_INT(tcrp_parse(want, n, 65536, &m), (long)n))
            continue;
        CHECK_INT(m.name_len, want[0]);
        long w = tcrp_encode(got, sizeof got, m.op, m.state, m.name,
                             m.name_len, m.payload, m.payload_len);
        CHECK_BYTES(got, (size_t)w, want, n);
    }
}

static void tcrp_fields(void)
{
    uint8_t want[256], got[256];
    tcrp_msg_t m;
    size_t n = fixture("tcrp_create_request", want, sizeof want);
    static const char json[] =
        "{\"username\":\"alice\",\"password\":\"s3cret\"}";

    CHECK_INT(tcrp_encode(got, sizeof got, TCRP_CREATE, TCRP_REQUEST, "lobby",
                          5, json, sizeof json - 1),
              (long)n);
    CHECK_BYTES(got, n, want, n);
    CHECK_INT(tcrp_parse(want, n, 65536, &m), (long)n);
    CHECK_INT(m.op, TCRP_CREATE);
    CHECK_INT(m.state, TCRP_REQUEST);
    CHECK_BYTES(m.name, m.name_len, "lobby", 5);
    CHECK_BYTES(m.payload, m.payload_len, json, sizeof json - 1);
    /* Every split point: incomplete until the last byte. */
    for (size_t k = 0; k < n; k++) {
        th_note("first %zu bytes", k);
        CHECK_INT(tcrp_parse(want, k, 65536, &m), TCRP_AGAIN);
    }
    /* More bytes than the message: it takes only its own. */
    CHECK_INT(tcrp_parse(want, n, 65536, &m), (long)n);
    CHECK_INT(tcrp_encode(got, 40, TCRP_CREATE, 0, "lobby", 5, json,
                          sizeof json - 1),
              -1);
}

static void tcrp_errors(void)
{
    uint8_t b[256];
    tcrp_msg_t m;
    size_t n = fixture("tcrp_size_beyond_cap", b, sizeof b);

    CHECK_INT(tcrp_parse(b, n, 65536, &m), TCRP_ETOOBIG);
    CHECK_INT(tcrp_payload_size(b, UINT64_MAX - 1), 1ull << 40);
    CHECK_INT(tcrp_parse(b, TCRP_HEADER_LEN, 65536, &m), TCRP_ETOOBIG);
    n = fixture("tcrp_size_huge", b, sizeof b);
    CHECK_INT(tcrp_parse(b, n, 65536, &m), TCRP_ETOOBIG);
    CHECK(tcrp_payload_size(b, UINT64_MAX - 1) == UINT64_MAX);
    n = fixture("tcrp_truncated_header", b, sizeof b);
    CHECK_INT(n, 20);
    CHECK_INT(tcrp_parse(b, n, 65536, &m), TCRP_AGAIN);
    n = fixture("tcrp_bad_op", b, sizeof b);
    CHECK_INT(tcrp_parse(b, n, 65536, &m), TCRP_EBAD);
    /* The cap itself is allowed, one more byte is not. */
    uint8_t h[TCRP_HEADER_LEN] = {0, 6, 0};
    h[31] = 100;
    CHECK_INT(tcrp_payload_size(h, 100), 100);
    CHECK(tcrp_payload_size(h, 99) == UINT64_MAX);
    uint8_t bad_name[TCRP_HEADER_LEN + 2] = {2, 1, 0};
    bad_name[32] = 0xc3, bad_name[33] = 0x28;
    CHECK_INT(tcrp_parse(bad_name, sizeof bad_name, 100, &m), TCRP_EUTF8);
}

/* ------------------------------------------------------------- secrets */

static void hmac_and_pbkdf2(void)
{
    uint8_t got[64], want[64];

    /* RFC 4231 §4.3, test case 2 */
    secret_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, got);
    th_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
           want, 32);
    CHECK_BYTES(got, 32, want, 32);
    /* RFC 4231 §4.8, test case 7: a key longer than a block */
    uint8_t key[131];
    memset(key, 0xaa, sizeof key);
    static const char msg[] =
        "This is a test using a larger than block-size key and a larger "
        "than block-size data. The key needs to be hashed before being "
        "used by the HMAC algorithm.";
    secret_hmac_sha256(key, sizeof key, msg, sizeof msg - 1, got);
    th_hex("9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
           want, 32);
    CHECK_BYTES(got, 32, want, 32);
    /* RFC 7914 §11: PBKDF2-HMAC-SHA256, two blocks of output */
    secret_pbkdf2("passwd", 6, "salt", 4, 1, got, 64);
    th_hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
           "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
           want, 64);
    CHECK_BYTES(got, 64, want, 64);
    secret_pbkdf2("Password", 8, "NaCl", 4, 80000, got, 64);
    th_hex("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
           "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
           want, 64);
    CHECK_BYTES(got, 64, want, 64);
}

static void tokens(void)
{
    char a[SECRET_TOKEN_LEN + 1], b[SECRET_TOKEN_LEN + 1];

    CHECK_INT(secret_token(a), 0);
    CHECK_INT(secret_token(b), 0);
    CHECK_INT(strlen(a), SECRET_TOKEN_LEN);
    CHECK(strcmp(a, b) != 0);
    for (size_t i = 0; i < SECRET_TOKEN_LEN; i++)
        CHECK(a[i] > 0x20 && a[i] < 0x7f);
    CHECK(secret_equal("abc", "abc", 3));
    CHECK(!secret_equal("abc", "abd", 3));
}

/* ---------------------------------------------------------- the model */

/* What the rooms told whom: "name<json>" lines. */
static char told[8192];

static void record(void *ctx, const member_t *to, const char *json, size_t len)
{
    size_t at = strlen(told);
    (void)ctx;
    snprintf(told + at, sizeof told - at, "%.*s<%.*s>\n", (int)to->name_len,
             to->name, (int)len, json);
}

static void no_flush(void *ctx)
{
    (void)ctx;
}

static const rooms_io_t recorder = {.send = record, .flush = no_flush};

/* One request through ops_handle: the status of its state 1 answer, its
 * JSON into json (if not NULL), a state 2 token into token. */
static int request(rooms_t *r, unsigned op, const char *room, const char *json,
                   const rooms_addr_t *from, char *answer, char *token)
{
    uint8_t req[1024];
    ops_out_t out = {0};
    tcrp_msg_t m, a;
    long n = tcrp_encode(req, sizeof req, op, TCRP_REQUEST, room, strlen(room),
                         json, strlen(json));
    int status = -1;

    if (!CHECK(n > 0) || !CHECK_INT(tcrp_parse(req, (size_t)n, 65536, &m), n))
        return -1;
    ops_handle(r, &m, from, 1000, &out);
    long at = tcrp_parse(out.buf, out.len, 1 << 20, &a);
    if (CHECK(at > 0) && CHECK_INT(a.state, TCRP_RESPONSE)) {
        CHECK_INT(a.op, op);
        const char *s = strstr((const char *)a.payload, "\"status\":");
        status = s ? atoi(s + 9) : -1;
        if (answer)
            snprintf(answer, 512, "%.*s", (int)a.payload_len,
                     (const char *)a.payload);
        if (status == 200 && (op == TCRP_CREATE || op == TCRP_JOIN) &&
            CHECK_INT(tcrp_parse(out.buf + at, out.len - (size_t)at, 1 << 20,
                                 &a),
                      (long)(out.len - (size_t)at)) &&
            CHECK_INT(a.state, TCRP_COMPLETE) &&
            CHECK_INT(a.payload_len, SECRET_TOKEN_LEN) && token)
            snprintf(token, SECRET_TOKEN_LEN + 1, "%.*s", SECRET_TOKEN_LEN,
                     (const char *)a.payload);
    }
    ops_out_free(&out);
    return status;
}

static rooms_addr_t udp_addr(unsigned port)
{
    rooms_addr_t a = {.kind = ROOMS_ADDR_UDP,
                      .len = sizeof(struct sockaddr_in)};
    struct sockaddr_in *in = (struct sockaddr_in *)&a.sa;
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    in->sin_addr.s_addr = htonl(0x7f000001);
    return a;
}

static const char *say(rooms_t *r, const char *room, const char *token,
                       const char *text, const rooms_addr_t *from,
                       uint64_t now)
{
    return rooms_datagram(r, room, strlen(room), token, strlen(token), text,
                          strlen(text), from, now);
}

static void create_and_join(void)
{
    rooms_t r;
    rooms_addr_t none = {.kind = ROOMS_ADDR_NONE};
    char answer[512], tok[SECRET_TOKEN_LEN + 1] = "";
    uint8_t want[512];

    CHECK_INT(rooms_init(&r, &recorder, 60000), 0);
    r.iterations = 16;
    CHECK_INT(request(&r, TCRP_CREATE, "lobby",
                      "{\"username\":\"alice\",\"password\":\"s3cret\"}",
                      &none, answer, tok),
              200);
    size_t n = fixture("tcrp_create_response", want, sizeof want);
    CHECK_BYTES(answer, strlen(answer), want + 37, n - 37);
    CHECK_INT(strlen(tok), SECRET_TOKEN_LEN);
    CHECK_INT(request(&r, TCRP_CREATE, "lobby", "{\"username\":\"carol\"}",
                      &none, NULL, NULL),
              409);
    CHECK_INT(request(&r, TCRP_JOIN, "nowhere", "{\"username\":\"bob\"}", &none,
                      answer, NULL),
              404);
    n = fixture("tcrp_join_404", want, sizeof want);
    CHECK_BYTES(answer, strlen(answer), want + 39, n - 39);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "{\"username\":\"bob\"}", &none,
                      NULL, NULL),
              401);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby",
                      "{\"username\":\"bob\",\"password\":\"wrong\"}", &none,
                      NULL, NULL),
              401);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby",
                      "{\"username\":\"alice\",\"password\":\"s3cret\"}", &none,
                      NULL, NULL),
              409);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby",
                      "{\"username\":\"bob\",\"password\":\"s3cret\"}", &none,
                      answer, NULL),
              200);
    CHECK(strstr(answer, "\"members\":[\"alice\",\"bob\"]") != NULL);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "{\"password\":1}", &none, NULL,
                      NULL),
              400);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "not json", &none, NULL, NULL),
              400);
    CHECK_INT(request(&r, TCRP_CREATE, "", "{\"username\":\"x\"}", &none, NULL,
                      NULL),
              400);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "{\"username\":\"\"}", &none,
                      NULL, NULL),
              400);
    CHECK_INT(request(&r, TCRP_LIST, "", "", &none, answer, NULL), 200);
    n = fixture("tcrp_list_response", want, sizeof want);
    CHECK_BYTES(answer, strlen(answer), want + 32, n - 32);
    CHECK_INT(request(&r, TCRP_LIST, "lobby", "", &none, NULL, NULL), 400);
    rooms_free(&r);
}

/* Alice hosts, bob and carol join over UDP; spoofing, kick, leave, idle
 * and the host leaving. */
static void room_life(void)
{
    rooms_t r;
    rooms_addr_t none = {.kind = ROOMS_ADDR_NONE};
    rooms_addr_t a = udp_addr(1001), b = udp_addr(1002), c = udp_addr(1003);
    char ta[40], tb[40], tc[40], to[40], answer[512], json[256];

    CHECK_INT(rooms_init(&r, &recorder, 5000), 0);
    CHECK_INT(request(&r, TCRP_CREATE, "lobby", "{\"username\":\"alice\"}",
                      &none, NULL, ta),
              200);
    CHECK_INT(request(&r, TCRP_CREATE, "other", "{\"username\":\"olga\"}",
                      &none, NULL, to),
              200);
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "{\"username\":\"bob\"}", &none,
                      NULL, tb),
              200);
    CHECK(say(&r, "lobby", ta, "", &a, 1000) == NULL); /* binds alice */
    told[0] = '\0';
    CHECK_INT(request(&r, TCRP_JOIN, "lobby", "{\"username\":\"carol\"}",
                      &none, NULL, tc),
              200);
    CHECK_STR(told, "alice<{\"type\":\"system\",\"text\":\"carol joined\","
                    "\"event\":\"join\",\"user\":\"carol\"}>\n");
    CHECK(say(&r, "lobby", tb, "", &b, 1000) == NULL);
    CHECK(say(&r, "lobby", tc, "", &c, 1000) == NULL);
    told[0] = '\0';
    CHECK(say(&r, "lobby", tb, "hi", &b, 1100) == NULL);
    CHECK_STR(told,
              "alice<{\"type\":\"chat\",\"from\":\"bob\",\"text\":\"hi\"}>\n"
              "carol<{\"type\":\"chat\",\"from\":\"bob\",\"text\":\"hi\"}>\n");
    /* Spoofing: bob's token from carol's address, olga's token in lobby. */
    told[0] = '\0';
    CHECK(say(&r, "lobby", tb, "evil", &c, 1100) != NULL);
    CHECK(say(&r, "lobby", to, "evil", &c, 1100) != NULL);
    CHECK(say(&r, "lobby", "nope", "evil", &c, 1100) != NULL);
    CHECK_STR(told, "");
    /* Only the host kicks; the kicked one hears it, then its token goes. */
    snprintf(json, sizeof json, "{\"token\":\"%s\",\"username\":\"carol\"}",
             tb);
    CHECK_INT(request(&r, TCRP_KICK, "lobby", json, &none, NULL, NULL), 403);
    snprintf(json, sizeof json, "{\"token\":\"%s\",\"username\":\"carol\"}",
             ta);
    CHECK_INT(request(&r, TCRP_KICK, "other", json, &none, NULL, NULL), 403);
    told[0] = '\0';
    CHECK_INT(request(&r, TCRP_KICK, "lobby", json, &none, NULL, NULL), 200);
    CHECK(strstr(told, "carol<{\"type\":\"system\",\"text\":\"carol was "
                       "kicked by the host\",\"event\":\"kick\"") != NULL);
    told[0] = '\0';
    CHECK(say(&r, "lobby", tc, "still here?", &c, 1200) != NULL);
    CHECK_STR(told, "");
    CHECK_INT(request(&r, TCRP_KICK, "lobby", json, &none, NULL, NULL), 404);
    /* Bob leaves; the room is told. */
    snprintf(json, sizeof json, "{\"token\":\"%s\"}", tb);
    told[0] = '\0';
    CHECK_INT(request(&r, TCRP_LEAVE, "lobby", json, &none, answer, NULL), 200);
    CHECK_STR(told, "alice<{\"type\":\"system\",\"text\":\"bob left\","
                    "\"event\":\"leave\",\"user\":\"bob\"}>\n");
    CHECK_INT(request(&r, TCRP_LEAVE, "lobby", json, &none, NULL, NULL), 403);
    /* Olga never sends: she times out, and her room with her. */
    rooms_sweep(&r, 1000 + 5001);
    CHECK(rooms_find(&r, "other", 5) == NULL);
    CHECK(rooms_find(&r, "lobby", 5) == NULL); /* alice too was idle */
    CHECK_INT(r.nmembers, 0);
    rooms_free(&r);
}

static void host_leaves(void)
{
    rooms_t r;
    rooms_addr_t none = {.kind = ROOMS_ADDR_NONE};
    rooms_addr_t a = udp_addr(2001), b = udp_addr(2002);
    char ta[40], tb[40], json[256];

    CHECK_INT(rooms_init(&r, &recorder, 5000), 0);
    request(&r, TCRP_CREATE, "lobby", "{\"username\":\"alice\"}", &none, NULL,
            ta);
    request(&r, TCRP_JOIN, "lobby", "{\"username\":\"bob\"}", &none, NULL, tb);
    say(&r, "lobby", ta, "", &a, 1000);
    say(&r, "lobby", tb, "", &b, 1000);
    /* bob stays active, alice does not: bob's sweep removes nobody before
     * the timeout, then the host's timeout closes the room. */
    rooms_sweep(&r, 5000);
    CHECK_INT(r.nmembers, 2);
    say(&r, "lobby", tb, "", &b, 5500);
    told[0] = '\0';
    rooms_sweep(&r, 6001);
    CHECK_STR(told, "alice<{\"type\":\"system\",\"text\":\"room closed: "
                    "the host timed out\",\"event\":\"close\"}>\n"
                    "bob<{\"type\":\"system\",\"text\":\"room closed: the "
                    "host timed out\",\"event\":\"close\"}>\n");
    CHECK_INT(r.nrooms, 0);
    /* Its tokens are revoked with it. */
    CHECK(say(&r, "lobby", tb, "hello?", &b, 6002) != NULL);
    /* A host's leave closes the room for everyone. */
    request(&r, TCRP_CREATE, "lobby", "{\"username\":\"alice\"}", &none, NULL,
            ta);
    request(&r, TCRP_JOIN, "lobby", "{\"username\":\"bob\"}", &none, NULL, tb);
    say(&r, "lobby", tb, "", &b, 1000);
    snprintf(json, sizeof json, "{\"token\":\"%s\"}", tb);
    CHECK_INT(request(&r, TCRP_CLOSE, "lobby", json, &none, NULL, NULL), 403);
    snprintf(json, sizeof json, "{\"token\":\"%s\"}", ta);
    told[0] = '\0';
    CHECK_INT(request(&r, TCRP_LEAVE, "lobby", json, &none, NULL, NULL), 200);
    CHECK_STR(told, "bob<{\"type\":\"system\",\"text\":\"room closed: the "
                    "host left\",\"event\":\"close\"}>\n");
    CHECK_INT(r.nrooms, 0);
    CHECK_INT(r.nmembers, 0);
    rooms_free(&r);
}

void suite_rooms(void);
void suite_rooms(void)
{
    RUN(chat_datagrams);
    RUN(datagram_sizes);
    RUN(room_datagrams);
    RUN(json_bodies);
    RUN(tcrp_vectors);
    RUN(tcrp_fields);
    RUN(tcrp_errors);
    RUN(hmac_and_pbkdf2);
    RUN(tokens);
    RUN(create_and_join);
    RUN(room_life);
    RUN(host_leaves);
}
