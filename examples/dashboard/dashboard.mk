# examples/dashboard/dashboard.mk — the fragmentation dashboard.
#   make dashboard        build/examples/dashboard/{ws-dashboard,web/}
#   make dashboard-test   SHA-256 vectors, the /ws and /events protocol
#                         over loopback (Python), and the page in headless
#                         Chromium (screenshots in
#                         build/examples/dashboard/screenshots/); in
#                         make check
#   make dashboard-fuzz   the /ws query parser and SHA-256 under libFuzzer
#                         for DASH_FUZZ_TIME seconds (20; in dashboard-test)

# Read before examples/examples.mk (sorted includes): paths from it are
# spelt out here, its variables used only in recipes.
DASH_B    := $(B)/examples/dashboard
DASH_WSX  := $(B)/examples/libwsx.a
DASH_WSCAT := $(B)/examples/wscat/wscat
DASH_SRV  := $(DASH_B)/ws-dashboard
DASH_SRCS := $(addprefix examples/dashboard/,dashboard.c params.c echo.c \
                 monitor.c wire.c)
DASH_WEB  := $(patsubst examples/dashboard/web/%,$(DASH_B)/web/%,\
                 $(wildcard examples/dashboard/web/*))
DASH_DEPS := $(DASH_SRCS) examples/dashboard/dashboard.h $(DASH_WSX) \
             $(STATIC) $(wildcard examples/common/*.h) include/wsproto.h

.PHONY: dashboard dashboard-test dashboard-fuzz

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

# libFuzzer (clang, as fuzz/fuzz.mk): what the server parses from the
# network. New inputs go to a temporary directory; the seeds are only read.
DASH_FUZZ      := $(DASH_B)/fuzz_dashboard
DASH_FUZZ_TIME ?= 20
DASH_FUZZ_SRCS := examples/dashboard/tests/fuzz_dashboard.c \
                  examples/dashboard/params.c examples/common/sha256.c \
                  examples/common/options.c

$(DASH_FUZZ): $(DASH_FUZZ_SRCS) examples/dashboard/dashboard.h \
              examples/common/sha256.h examples/common/wsx.h | $(DASH_B)
	$(FUZZ_CC) $(WSX_CPPFLAGS) -Iexamples/dashboard $(WARN) -O1 -g \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    $(DASH_FUZZ_SRCS) -o $@

dashboard-fuzz: $(DASH_FUZZ)
	tmp=$$(mktemp -d) && \
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 $(DASH_FUZZ) \
	    -max_total_time=$(DASH_FUZZ_TIME) -timeout=5 -rss_limit_mb=1024 \
	    -artifact_prefix=$(DASH_B)/ -print_final_stats=1 \
	    $$tmp examples/dashboard/tests/corpus 2>&1 | tail -5; \
	rm -rf $$tmp; \
	test -z "$$(ls $(DASH_B)/crash-* $(DASH_B)/leak-* $(DASH_B)/timeout-* \
	    $(DASH_B)/oom-* 2>/dev/null)"

# The browser test uses tests/interop's playwright-core (rule in
# tests/interop/interop.mk, hence the literal path).
DASH_NODE_MODULES := tests/interop/node_modules/.installed

dashboard-test: dashboard $(DASH_WSCAT) $(DASH_B)/test_sha256 \
                $(DASH_NODE_MODULES)
	$(DASH_B)/test_sha256
	$(MAKE) dashboard-fuzz
	$(EX_PYTHON) examples/dashboard/tests/test_dashboard.py \
	    --server $(DASH_SRV) --wscat $(DASH_WSCAT) --workdir $(DASH_B) --no-skip

CHECK_STEPS += dashboard-test
