# examples/rooms/rooms.mk — the online chat messenger (issue 14).
#   make rooms        build/examples/rooms/{rooms-server, rooms-client,
#                     web/, test_rooms}
#   make rooms-test   the parsers' golden vectors and the model (unit, also
#                     under ASan+UBSan) and the end-to-end tests over real
#                     sockets; in make check
#   make rooms-test-asan  the end-to-end tests with both programs built
#                     with ASan+UBSan

ROOMS_B    := $(EX_B)/rooms
ROOMS_SRV  := $(ROOMS_B)/rooms-server
ROOMS_CLI  := $(ROOMS_B)/rooms-client
ROOMS_WEB  := $(patsubst examples/rooms/web/%,$(ROOMS_B)/web/%,\
                $(wildcard examples/rooms/web/*))
ROOMS_DEPS := $(WSX_LIB) $(STATIC) $(WSX_HDRS)

# The wire formats, pure (the unit test and fuzz/tcrp.c link them too).
ROOMS_WIRE := examples/rooms/tcrp.c examples/rooms/dgram.c
# The model: rooms, tokens and password hashes, the TCRP operations.
ROOMS_MODEL := examples/rooms/rooms.c examples/rooms/secret.c \
               examples/rooms/ops.c
ROOMS_NET  := examples/rooms/server.c examples/rooms/udp.c \
              examples/rooms/tcp.c examples/rooms/ws.c
ROOMS_HDRS := $(wildcard examples/rooms/*.h)

.PHONY: rooms rooms-test rooms-unit rooms-unit-asan

rooms: $(ROOMS_SRV) $(ROOMS_CLI) $(ROOMS_WEB)

$(ROOMS_B) $(ROOMS_B)/web $(ROOMS_B)/asan:
	mkdir -p $@

$(ROOMS_SRV): $(ROOMS_NET) $(ROOMS_MODEL) $(ROOMS_WIRE) $(ROOMS_HDRS) \
              $(ROOMS_DEPS) | $(ROOMS_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $(ROOMS_NET) $(ROOMS_MODEL) \
	    $(ROOMS_WIRE) $(WSX_LIB) $(STATIC) -o $@

$(ROOMS_CLI): examples/rooms/client.c $(ROOMS_WIRE) $(ROOMS_HDRS) \
              $(ROOMS_DEPS) | $(ROOMS_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) examples/rooms/client.c \
	    $(ROOMS_WIRE) $(WSX_LIB) $(STATIC) -o $@

# The GUI sits next to the server, where it looks by default.
$(ROOMS_B)/web/%: examples/rooms/web/% | $(ROOMS_B)/web
	cp $< $@

# The unit test: golden vectors (tests/fixtures/*.hex) byte for byte, on
# the library's test harness; run from the top directory.
$(ROOMS_B)/suites.h: | $(ROOMS_B)
	echo 'SUITE(rooms)' > $@

ROOMS_UNIT_SRCS := examples/rooms/test_rooms.c $(ROOMS_WIRE) $(ROOMS_MODEL) \
                   examples/common/json.c examples/common/sha256.c \
                   tests/harness.c $(LIB_SRCS)

$(ROOMS_B)/test_rooms: $(ROOMS_UNIT_SRCS) $(ROOMS_HDRS) $(ROOMS_B)/suites.h
	$(CC) -Iinclude -Iexamples/common -Iexamples/rooms -Itests -I$(ROOMS_B) \
	    $(WARN) $(CFLAGS) $(ROOMS_UNIT_SRCS) -o $@

$(ROOMS_B)/asan/test_rooms: $(ROOMS_UNIT_SRCS) $(ROOMS_HDRS) \
                            $(ROOMS_B)/suites.h | $(ROOMS_B)/asan
	$(CC) -Iinclude -Iexamples/common -Iexamples/rooms -Itests -I$(ROOMS_B) \
	    $(WARN) -O1 -g -fsanitize=address,undefined \
	    -fno-sanitize-recover=all $(ROOMS_UNIT_SRCS) -o $@

rooms-unit: $(ROOMS_B)/test_rooms
	$(ROOMS_B)/test_rooms

rooms-unit-asan: $(ROOMS_B)/asan/test_rooms
	$(ROOMS_B)/asan/test_rooms

rooms-test: rooms rooms-unit rooms-unit-asan
	$(EX_PYTHON) examples/rooms/tests/test_rooms.py \
	    --server $(ROOMS_SRV) --client $(ROOMS_CLI)

# The end-to-end tests against both programs built with ASan+UBSan (their
# own files instrumented; a report or a leak makes the exit status, and so
# the test, fail). Not in make check: ~40 s more.
ROOMS_ASAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all

$(ROOMS_B)/asan/rooms-server: $(ROOMS_NET) $(ROOMS_MODEL) $(ROOMS_WIRE) \
                              $(ROOMS_HDRS) $(ROOMS_DEPS) | $(ROOMS_B)/asan
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(ROOMS_ASAN) $(ROOMS_NET) $(ROOMS_MODEL) \
	    $(ROOMS_WIRE) $(WSX_LIB) $(STATIC) -o $@

$(ROOMS_B)/asan/rooms-client: examples/rooms/client.c $(ROOMS_WIRE) \
                              $(ROOMS_HDRS) $(ROOMS_DEPS) | $(ROOMS_B)/asan
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(ROOMS_ASAN) examples/rooms/client.c \
	    $(ROOMS_WIRE) $(WSX_LIB) $(STATIC) -o $@

.PHONY: rooms-test-asan
rooms-test-asan: $(ROOMS_B)/asan/rooms-server $(ROOMS_B)/asan/rooms-client
	$(EX_PYTHON) examples/rooms/tests/test_rooms.py \
	    --server $(ROOMS_B)/asan/rooms-server \
	    --client $(ROOMS_B)/asan/rooms-client

CHECK_STEPS += rooms-test

# fuzz/tcrp.c (a target of fuzz/fuzz.mk) links the wire formats, the
# model and the JSON reader, compiled with the target's instrumentation.
# Its seed corpus is the golden vectors: `make rooms-fuzz-corpus` writes
# fuzz/corpus/tcrp/ from tests/fixtures/*.hex (the result is committed).
ROOMS_FUZZ_SRCS := $(ROOMS_WIRE) $(ROOMS_MODEL) examples/common/json.c \
                   examples/common/sha256.c
FUZZ_LIBS_tcrp := -Iexamples/common -Iexamples/rooms $(ROOMS_FUZZ_SRCS)
$(B)/fuzz/tcrp: $(ROOMS_FUZZ_SRCS) $(ROOMS_HDRS)

.PHONY: rooms-fuzz-corpus
rooms-fuzz-corpus:
	mkdir -p fuzz/corpus/tcrp
	$(EX_PYTHON) examples/rooms/tests/hex2bin.py fuzz/corpus/tcrp \
	    examples/rooms/tests/fixtures/*.hex
