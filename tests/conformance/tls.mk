# tests/conformance over TLS: `make conformance-tls` runs the framing,
# utf8 and close categories once more against wsecho --tls-cert. The
# suite has no TLS of its own: tests/conformance/tls_relay.py stands in
# for wsecho, starts the real one with a certificate made at test time
# and relays each of the suite's plain connections into TLS to it.
CONF_TLS_DIR := $(B)/tests/conformance-tls

.PHONY: conformance-tls

conformance-tls: examples $(CONF_BIN)
	mkdir -p $(CONF_TLS_DIR)
	/usr/bin/python3 tests/conformance/tls_relay.py --conformance $(CONF_BIN) \
	    --wsecho $(CONF_WSECHO) --logdir $(CONF_TLS_DIR)

CHECK_STEPS += conformance-tls
