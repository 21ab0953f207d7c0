# tests/conformance — our own Autobahn-style suite, driving wsecho over
# real sockets with raw bytes. `make conformance` builds and runs it.
CONF_DIR    := $(B)/tests/conformance
CONF_SRCS   := $(sort $(wildcard tests/conformance/*.c))
CONF_BIN    := $(CONF_DIR)/conformance
CONF_WSECHO := $(B)/examples/echo/wsecho

.PHONY: conformance

# Independent of libwsproto on purpose: it links nothing of the library.
# zlib is the oracle of the permessage-deflate cases (cases_deflate.c).
$(CONF_BIN): $(CONF_SRCS) $(wildcard tests/conformance/*.h)
	mkdir -p $(CONF_DIR)
	$(CC) -D_GNU_SOURCE $(WARN) $(CFLAGS) $(CONF_SRCS) -lz -o $@

conformance: examples $(CONF_BIN)
	$(CONF_BIN) --wsecho $(CONF_WSECHO) --logdir $(CONF_DIR)

CHECK_STEPS += conformance
