# examples/chat/chat.mk — the chat server of issue 17 (PROTOCOL.md).
#   make chat        build/examples/chat/chat-server and web/ next to it
#   make chat-test   the store's and names' unit tests, then the end-to-end
#                    tests (examples/chat/tests/test_chat.py); in make check

# Read before examples/examples.mk (sorted includes): paths from it are
# spelt out here, its variables used only in recipes.
CHAT_B    := $(B)/examples/chat
CHAT_SRV  := $(CHAT_B)/chat-server
CHAT_WSX  := $(B)/examples/libwsx.a
CHAT_WSCAT := $(B)/examples/wscat/wscat
CHAT_WEB  := $(patsubst examples/chat/web/%,$(CHAT_B)/web/%,$(wildcard examples/chat/web/*))

# The durable store (store.c on the record log of examples/common, which
# is in libwsx like json.c and sha256.c) and the names it keys by; shared
# by the server and the unit tests.
CHAT_STORE := $(addprefix examples/chat/, store.c store_mem.c \
              store_records.c names.c keymap.c)
CHAT_SRCS := $(CHAT_STORE) $(addprefix examples/chat/, server.c session.c \
              plain.c proto.c request.c login.c messages.c contacts.c \
              typing.c rate.c files.c events.c hub_local.c chatlog.c \
              redis_backend.c)
CHAT_HDRS := $(wildcard examples/chat/*.h) $(wildcard examples/common/*.h) \
             include/wsproto.h

.PHONY: chat chat-test

chat: $(CHAT_SRV) $(CHAT_WEB)

$(CHAT_B) $(CHAT_B)/web:
	mkdir -p $@

$(CHAT_SRV): $(CHAT_SRCS) $(CHAT_HDRS) $(CHAT_WSX) $(STATIC) | $(CHAT_B)
	$(CC) $(WSX_CPPFLAGS) -Iexamples/chat $(CHAT_REDIS_DEFS) $(WARN) \
	    $(CFLAGS) $(CHAT_SRCS) $(CHAT_REDIS_SRCS) $(WSX_LIB) $(STATIC) \
	    $(CHAT_REDIS_LIBS) -o $@

# The browser client sits next to the server, where it looks by default.
$(CHAT_B)/web/%: examples/chat/web/% | $(CHAT_B)/web
	cp $< $@

# Unit tests of the store, the names, the rate limit and the hash table, on
# the library's test harness.
$(CHAT_B)/suites.h: examples/chat/chat.mk | $(CHAT_B)
	printf 'SUITE(chat_keymap)\nSUITE(chat_names)\nSUITE(chat_rate)\nSUITE(chat_store)\n' > $@

CHAT_TESTS := $(addprefix examples/chat/, test_keymap.c test_names.c \
              test_rate.c test_store.c)

$(CHAT_B)/test_chat_store: $(CHAT_TESTS) $(CHAT_STORE) examples/chat/rate.c \
        $(CHAT_HDRS) \
        examples/common/reclog.c examples/common/reclog_file.c \
        examples/common/fdio.c tests/harness.c $(CHAT_B)/suites.h
	$(CC) -Iexamples/chat -Iexamples/common -Itests -I$(CHAT_B) $(WARN) \
	    $(CFLAGS) $(CHAT_TESTS) $(CHAT_STORE) examples/chat/rate.c \
	    examples/common/reclog.c examples/common/reclog_file.c \
	    examples/common/fdio.c tests/harness.c -o $@

chat-test: chat $(CHAT_B)/test_chat_store $(CHAT_WSCAT)
	$(CHAT_B)/test_chat_store
	if [ -f examples/chat/tests/test_chat.py ]; then \
	    $(EX_PYTHON) examples/chat/tests/test_chat.py \
	        --server $(CHAT_SRV) --wscat $(CHAT_WSCAT); \
	else echo "chat-test: examples/chat/tests/test_chat.py not there yet"; fi

CHECK_STEPS += chat-test
