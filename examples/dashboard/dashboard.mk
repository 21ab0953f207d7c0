# examples/dashboard/dashboard.mk — the fragmentation dashboard.
#   make dashboard        build/examples/dashboard/{ws-dashboard,web/}
#   make dashboard-test   SHA-256 vectors, the /ws and /events protocol
#                         over loopback (Python), and the page in headless
#                         Chromium (screenshots in
#                         build/examples/dashboard/screenshots/); in
#                         make check

# Read before examples/examples.mk (sorted includes): paths from it are
# spelt out here, its variables used only in recipes.
DASH_B    := $(B)/examples/dashboard
DASH_WSX  := $(B)/examples/libwsx.a
DASH_WSCAT := $(B)/examples/wscat/wscat
DASH_SRV  := $(DASH_B)/ws-dashboard
DASH_SRCS := $(addprefix examples/dashboard/,dashboard.c params.c echo.c \
                 monitor.c wire.c)
DASH_WEB  := $(patsubst examples/dashboard/web/%,$(DASH_B)/web/%,$(wildcard examples/dashboard/web/*))
DASH_DEPS := $(DASH_SRCS) examples/dashboard/dashboard.h $(DASH_WSX) \
             $(STATIC) $(wildcard examples/common/*.h) include/wsproto.h

.PHONY: dashboard dashboard-test

dashboard: $(DASH_SRV) $(DASH_WEB)

$(DASH_B) $(DASH_B)/web:
	mkdir -p $@

$(DASH_SRV): $(DASH_DEPS) | $(DASH_B)
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $(DASH_SRCS) $(WSX_LIB) \
	    $(STATIC) -o $@

# The page sits next to the server, where it looks by default.
$(DASH_B)/web/%: examples/dashboard/web/% | $(DASH_B)/web
	cp $< $@

$(DASH_B)/suites.h: | $(DASH_B)
	echo 'SUITE(sha256)' > $@

$(DASH_B)/test_sha256: examples/dashboard/tests/test_sha256.c \
                       examples/common/sha256.c examples/common/sha256.h \
                       tests/harness.c $(DASH_B)/suites.h
	$(CC) -Iexamples/common -Itests -I$(DASH_B) $(WARN) $(CFLAGS) \
	    examples/dashboard/tests/test_sha256.c examples/common/sha256.c \
	    tests/harness.c -o $@

# The browser test uses tests/interop's playwright-core (rule in
# tests/interop/interop.mk, hence the literal path).
DASH_NODE_MODULES := tests/interop/node_modules/.installed

dashboard-test: dashboard $(DASH_WSCAT) $(DASH_B)/test_sha256 $(DASH_NODE_MODULES)
	$(DASH_B)/test_sha256
	$(EX_PYTHON) examples/dashboard/tests/test_dashboard.py \
	    --server $(DASH_SRV) --wscat $(DASH_WSCAT) --workdir $(DASH_B) --no-skip

CHECK_STEPS += dashboard-test
