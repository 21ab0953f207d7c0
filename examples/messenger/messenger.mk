# examples/messenger/messenger.mk — the binary-protocol messenger.
#   make messenger        build/examples/messenger/{messenger-server,
#                         messenger-client,web/}
#   make messenger-test   the store's unit tests and the end-to-end tests
#                         (protocol, durability, load, CLI, browser); in
#                         make check
#   make messenger-bench  PUSH and GET round trips per second; in make bench

MSG_B    := $(EX_B)/messenger
MSG_SRV  := $(MSG_B)/messenger-server
MSG_CLI  := $(MSG_B)/messenger-client
MSG_WEB  := $(patsubst examples/messenger/web/%,$(MSG_B)/web/%,$(wildcard examples/messenger/web/*))
MSG_DEPS := $(WSX_LIB) $(STATIC) $(WSX_HDRS)

.PHONY: messenger messenger-test messenger-bench

messenger: $(MSG_SRV) $(MSG_CLI) $(MSG_WEB)

$(MSG_B) $(MSG_B)/web:
	mkdir -p $@

# The durable store: the FIFOs and their log (store.c), the log's format
# (store_log.c) on the record log of examples/common (reclog.c, in libwsx
# for the server; compiled in for the unit tests).
MSG_STORE := examples/messenger/store.c examples/messenger/store_log.c
MSG_STORE_H := examples/messenger/store.h examples/messenger/store_log.h \
               examples/common/reclog.h
MSG_RECLOG := examples/common/reclog.c examples/common/reclog_file.c \
              examples/common/fdio.c

$(MSG_SRV): examples/messenger/server.c $(MSG_STORE) $(MSG_STORE_H) $(MSG_DEPS) | $(MSG_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) examples/messenger/server.c \
	    $(MSG_STORE) $(WSX_LIB) $(STATIC) -o $@

$(MSG_CLI): examples/messenger/client.c $(MSG_DEPS) | $(MSG_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

# The browser client sits next to the server, where it looks by default.
$(MSG_B)/web/%: examples/messenger/web/% | $(MSG_B)/web
	cp $< $@

# The store's unit tests, on the library's test harness.
$(MSG_B)/suites.h: | $(MSG_B)
	echo 'SUITE(store)' > $@

$(MSG_B)/test_store: examples/messenger/test_store.c $(MSG_STORE) $(MSG_STORE_H) \
                     $(MSG_RECLOG) tests/harness.c $(MSG_B)/suites.h
	$(CC) -Iexamples/messenger -Iexamples/common -Itests -I$(MSG_B) $(WARN) \
	    $(CFLAGS) examples/messenger/test_store.c $(MSG_STORE) $(MSG_RECLOG) \
	    tests/harness.c -o $@

$(MSG_B)/bench_messenger: examples/messenger/bench_messenger.c $(MSG_DEPS) | $(MSG_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

# The browser test drives Chromium with tests/interop's playwright-core:
# the stamp of its npm ci (the rule is in tests/interop/interop.mk, read
# after this file, hence the literal path), so it is installed once.
MSG_NODE_MODULES := tests/interop/node_modules/.installed

messenger-test: messenger $(MSG_B)/test_store $(MSG_NODE_MODULES)
	$(MSG_B)/test_store
	$(EX_PYTHON) examples/messenger/tests/test_messenger.py \
	    --server $(MSG_SRV) --client $(MSG_CLI) --no-skip

messenger-bench: messenger $(MSG_B)/bench_messenger
	sh examples/messenger/tests/bench.sh $(MSG_SRV) $(MSG_B)/bench_messenger

bench: messenger-bench

CHECK_STEPS += messenger-test
