# tests/interop over TLS: `make interop-tls` — Python websockets, Node ws
# and headless Chromium against wsecho --tls-cert (wss://, the page over
# https://), and websockets and ws as wss:// servers against wscat; the
# certificates are made at test time (examples/tests/tlscerts.py).
.PHONY: interop-tls

interop-tls: deps examples $(INTEROP_MODULES)
	mkdir -p $(INTEROP_DIR)
	/usr/bin/python3 tests/interop/tls_interop.py \
	    --wsecho $(B)/examples/echo/wsecho --wscat $(B)/examples/wscat/wscat \
	    --workdir $(INTEROP_DIR)

CHECK_STEPS += interop-tls
