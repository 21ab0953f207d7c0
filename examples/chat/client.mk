# examples/chat/client.mk — the console chat client.
#   make chat-client       build/examples/chat/chat-client
#   make chat-client-test  two chat-clients (one on a pseudo-terminal, one
#                          with piped stdin) against a real chat-server
#                          (target `chat`, chat.mk), then the same with a
#                          chat-client built with ASan+UBSan; in make check

# Read before examples/examples.mk (sorted includes): paths from it are
# spelt out here, its variables used only in recipes.
CHATC_B   := $(B)/examples/chat
CHATC     := $(CHATC_B)/chat-client
CHATC_SRC := examples/chat/client.c examples/chat/client_term.c \
             examples/chat/client_file.c examples/chat/client_token.c
CHATC_DEPS := examples/chat/client.h $(B)/examples/libwsx.a $(STATIC) \
              $(wildcard examples/common/*.h) include/wsproto.h

.PHONY: chat-client chat-client-test

chat-client: $(CHATC)

$(CHATC): $(CHATC_SRC) $(CHATC_DEPS)
	mkdir -p $(CHATC_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $(CHATC_SRC) $(WSX_LIB) \
	    $(STATIC) -o $@

# The client, the loop and the library instrumented.
CHATC_ASAN := $(B)/asan/examples/chat-client

$(CHATC_ASAN): $(CHATC_SRC) $(CHATC_DEPS) $(wildcard examples/common/*.c) \
               $(LIB_SRCS) $(wildcard lib/*.h)
	mkdir -p $(dir $@)
	$(CC) $(WSX_CPPFLAGS) -Ilib $(WSX_TLS_DEFS) $(WARN) -O1 -g $(SAN) \
	    $(CHATC_SRC) $(WSX_SRCS) $(LIB_SRCS) $(WSX_TLS_LIBS) -o $@

chat-client-test: chat-client $(CHATC_ASAN) chat
	$(EX_PYTHON) examples/chat/tests/test_client.py --client $(CHATC) \
	    --server $(CHATC_B)/chat-server
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(EX_PYTHON) examples/chat/tests/test_client.py \
	    --client $(CHATC_ASAN) --server $(CHATC_B)/chat-server

CHECK_STEPS += chat-client-test
