# examples/chat/redis.mk — chat-server over Redis (issue 15), optional.
#   make chat-redis-test   the hiredis adapter's C tests (also under
#                          valgrind) and the multi-instance chat tests
#                          (examples/chat/tests/test_redis.py), against a
#                          redis-server the test starts on a free loopback
#                          port; in make check when hiredis and
#                          redis-server are installed (scripts/deps/redis.deb)
#   make chat-redis-bench  fan-out throughput and p50/p99 latency of 1
#                          instance without Redis, 1 and 3 instances over
#                          Redis (same clients), and Redis's round trip
#                          (examples/chat/tests/redis_bench.py, driving
#                          bench/chatload); in make bench, not in make
#                          check (~1.5 min)
#
# Read after chat.mk: $(CHAT_SRV) is chat-server.
#
# hiredis (Debian libhiredis-dev) is compiled in when its development
# files are there (pkg-config, or the header alone); `make` says which,
# and `make REDIS=off` leaves it out. chat.mk builds chat-server with
# $(CHAT_REDIS_DEFS), $(CHAT_REDIS_SRCS) and $(CHAT_REDIS_LIBS), which are
# empty without it.
#
# Read before examples/examples.mk (sorted includes): paths from it are
# spelt out here, its variables used only in recipes.

REDIS_B      := $(B)/examples/chat
REDIS_WSX    := $(B)/examples/libwsx.a
REDIS_SERVER := $(shell command -v redis-server 2>/dev/null)

HIREDIS_VERSION := $(if $(filter off,$(REDIS)),,$(shell \
                     pkg-config --exists hiredis 2>/dev/null && \
                     pkg-config --modversion hiredis))
ifeq ($(REDIS),off)
else ifneq ($(HIREDIS_VERSION),)
CHAT_REDIS_DEFS := -DCHAT_HAVE_HIREDIS $(shell pkg-config --cflags hiredis)
CHAT_REDIS_LIBS := $(shell pkg-config --libs hiredis)
else ifneq ($(wildcard /usr/include/hiredis/hiredis.h),)
HIREDIS_VERSION := $(shell sed -n \
                     's/^\#define HIREDIS_\(MAJOR\|MINOR\|PATCH\) //p' \
                     /usr/include/hiredis/hiredis.h | paste -sd .)
CHAT_REDIS_DEFS := -DCHAT_HAVE_HIREDIS
CHAT_REDIS_LIBS := -lhiredis
endif
ifneq ($(CHAT_REDIS_DEFS),)
$(info Redis: on (hiredis $(HIREDIS_VERSION)))
CHAT_REDIS_SRCS := $(addprefix examples/chat/,redis_wsx.c redis_store.c \
                     redis_hub.c)
else ifeq ($(REDIS),off)
$(info Redis: off (REDIS=off))
else
$(info Redis: off (install libhiredis-dev))
endif
CHAT_REDIS_HDRS := $(wildcard examples/chat/redis*.h)

# chat-server (chat.mk) is rebuilt when Redis is switched on or off.
$(REDIS_B)/redis.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CHAT_REDIS_DEFS)' | cmp -s - $@ || echo '$(CHAT_REDIS_DEFS)' > $@
$(CHAT_SRV): $(CHAT_REDIS_SRCS) $(CHAT_REDIS_HDRS) $(REDIS_B)/redis.stamp

.PHONY: chat-redis-test chat-redis-bench

REDIS_WSX_TEST := $(REDIS_B)/test_redis_wsx

# The harness's runner includes "suites.h": this test's own, in a
# directory of its own.
$(REDIS_B)/redis-suites/suites.h:
	mkdir -p $(dir $@)
	echo 'SUITE(redis_wsx)' > $@

$(REDIS_WSX_TEST): examples/chat/tests/test_redis_wsx.c \
                   examples/chat/redis_wsx.c $(CHAT_REDIS_HDRS) \
                   tests/harness.c $(REDIS_B)/redis-suites/suites.h \
                   $(REDIS_WSX) $(STATIC)
	$(CC) -Iinclude -Iexamples/common -Iexamples/chat -Itests \
	    -I$(REDIS_B)/redis-suites $(CHAT_REDIS_DEFS) $(WARN) \
	    $(CFLAGS) examples/chat/tests/test_redis_wsx.c \
	    examples/chat/redis_wsx.c tests/harness.c $(REDIS_WSX) $(STATIC) \
	    $(CHAT_REDIS_LIBS) -o $@

ifeq ($(REDIS),off)
chat-redis-test:
	@echo "chat-redis-test: skipped: chat-server is built without Redis" \
	      "(REDIS=off)"
else ifeq ($(CHAT_REDIS_DEFS),)
chat-redis-test:
	@echo "chat-redis-test: skipped: chat-server is built without Redis" \
	      "(install libhiredis-dev: scripts/install-deps.sh redis)"
else ifeq ($(REDIS_SERVER),)
chat-redis-test:
	@echo "chat-redis-test: skipped: no redis-server to test against" \
	      "(scripts/install-deps.sh redis)"
else
chat-redis-test: $(REDIS_WSX_TEST) $(CHAT_SRV)
	$(EX_PYTHON) examples/chat/tests/test_redis.py \
	    --redis-server $(REDIS_SERVER) --adapter-test $(REDIS_WSX_TEST) \
	    --chat-server $(CHAT_SRV)

CHECK_STEPS += chat-redis-test
endif

# The load generator is helper bench's chatload (bench/bench.mk builds it).
REDIS_CHATLOAD := $(B)/bench/chatload
ifeq ($(CHAT_REDIS_DEFS),)
chat-redis-bench:
	@echo "chat-redis-bench: skipped: chat-server is built without Redis"
else ifeq ($(REDIS_SERVER),)
chat-redis-bench:
	@echo "chat-redis-bench: skipped: no redis-server"
else ifeq ($(wildcard bench/chatload.c),)
chat-redis-bench:
	@echo "chat-redis-bench: skipped: it drives bench/chatload.c" \
	      "(make chat-bench's load generator), not in this tree"
else
chat-redis-bench: $(REDIS_CHATLOAD) $(CHAT_SRV)
	$(EX_PYTHON) examples/chat/tests/redis_bench.py \
	    --chatload $(REDIS_CHATLOAD) --chat-server $(CHAT_SRV) \
	    --redis-server $(REDIS_SERVER)
endif

bench: chat-redis-bench
