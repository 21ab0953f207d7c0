# examples/examples.mk — the example programs, included by the top Makefile.
#   make examples       build/examples/echo/wsecho, build/examples/wscat/wscat
#                       and the event loop they share, build/examples/libwsx.a
#   make examples-test  their tests over loopback (examples/tests/), in
#                       make check
#   make wsx-unit       the loop's own unit tests (examples/tests/wsxunit.c)
#                       and the JSON reader/writer's (jsonunit.c), in make
#                       check; wsx-unit-asan: the same under ASan+UBSan,
#                       loop and library instrumented
#
# Other fragments build on the loop with $(WSX_CPPFLAGS) and by linking
# $(WSX_LIB) $(STATIC), depending on both.
#
# TLS (examples/common/tls.c: wss://, https://) is compiled in when
# OpenSSL's development files are there (Debian libssl-dev; pkg-config, or
# the header alone); `make` says which. The library never needs it. With
# TLS on, $(WSX_LIB) is a linker script (as glibc's libc.so is) naming the
# loop's archive and -lssl -lcrypto, so every program linking $(WSX_LIB)
# gets OpenSSL without knowing of it.

EX_B         := $(B)/examples
WSX_SRCS     := $(sort $(wildcard examples/common/*.c))
WSX_OBJS     := $(WSX_SRCS:examples/common/%.c=$(EX_B)/common/%.o)
WSX_HDRS     := $(wildcard examples/common/*.h) include/wsproto.h
WSX_LIB      := $(EX_B)/libwsx.a
WSX_CPPFLAGS := -Iinclude -Iexamples/common
# Tests use only the system Python's standard library.
EX_PYTHON    := /usr/bin/python3

# `make TLS=off` builds without TLS even where OpenSSL is installed.
WSX_TLS_VERSION := $(if $(filter off,$(TLS)),,$(shell \
                     pkg-config --exists openssl 2>/dev/null && \
                     pkg-config --modversion openssl))
ifeq ($(TLS),off)
else ifneq ($(WSX_TLS_VERSION),)
WSX_TLS_DEFS := -DWSX_HAVE_OPENSSL $(shell pkg-config --cflags openssl)
WSX_TLS_LIBS := $(shell pkg-config --libs openssl)
else ifneq ($(wildcard /usr/include/openssl/ssl.h),)
WSX_TLS_VERSION := $(shell sed -n 's/^\# *define OPENSSL_VERSION_STR "\(.*\)"/\1/p' \
                     /usr/include/openssl/opensslv.h)
WSX_TLS_DEFS := -DWSX_HAVE_OPENSSL
WSX_TLS_LIBS := -lssl -lcrypto
endif
ifneq ($(WSX_TLS_DEFS),)
$(info TLS: on (OpenSSL $(WSX_TLS_VERSION)))
else ifeq ($(TLS),off)
$(info TLS: off (TLS=off))
else
$(info TLS: off (install libssl-dev))
endif
WSX_ARCHIVE  := $(if $(WSX_TLS_DEFS),$(EX_B)/libwsx-objs.a,$(WSX_LIB))

.PHONY: examples examples-test wsx-unit wsx-unit-asan

WSECHO       := $(EX_B)/echo/wsecho
WSCAT        := $(EX_B)/wscat/wscat

examples: $(WSECHO) $(WSCAT)

$(EX_B)/common $(EX_B)/echo $(EX_B)/wscat:
	mkdir -p $@

$(EX_B)/common/%.o: examples/common/%.c $(WSX_HDRS) | $(EX_B)/common
	$(CC) $(WSX_CPPFLAGS) $(EX_DEFS) $(WARN) $(CFLAGS) -c $< -o $@

$(EX_B)/common/tls.o: EX_DEFS = $(WSX_TLS_DEFS)

# Rebuilt when TLS is switched on or off (libssl-dev installed/removed).
$(EX_B)/common/tls.stamp: FORCE | $(EX_B)/common
	@echo '$(WSX_TLS_DEFS)' | cmp -s - $@ || echo '$(WSX_TLS_DEFS)' > $@
$(EX_B)/common/tls.o: $(EX_B)/common/tls.stamp
$(WSX_LIB): $(EX_B)/common/tls.stamp

.PHONY: FORCE
FORCE:

$(WSX_ARCHIVE): $(WSX_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

ifneq ($(WSX_TLS_DEFS),)
$(WSX_LIB): $(WSX_ARCHIVE)
	echo 'INPUT($(abspath $(WSX_ARCHIVE)) $(WSX_TLS_LIBS))' > $@
endif

$(WSECHO): examples/echo/wsecho.c $(WSX_LIB) $(STATIC) $(WSX_HDRS) | $(EX_B)/echo
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

$(WSCAT): examples/wscat/wscat.c $(WSX_LIB) $(STATIC) $(WSX_HDRS) | $(EX_B)/wscat
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

# A server using what wsecho does not (on_http, broadcast, raw mode, ...).
$(EX_B)/tests/wsxtest: examples/tests/wsxtest.c $(WSX_LIB) $(STATIC) $(WSX_HDRS)
	mkdir -p $(EX_B)/tests
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

examples-test: examples $(EX_B)/tests/wsxtest
	$(EX_PYTHON) examples/tests/test_examples.py --wsecho $(WSECHO) \
	    --wscat $(WSCAT) --wsxtest $(EX_B)/tests/wsxtest

WSX_UNITS     := wsxunit jsonunit
WSX_UNIT      := $(WSX_UNITS:%=$(EX_B)/tests/%)
WSX_UNIT_ASAN := $(WSX_UNITS:%=$(B)/asan/examples/%)

$(WSX_UNIT): $(EX_B)/tests/%: examples/tests/%.c examples/tests/unit.h \
             $(WSX_LIB) $(STATIC) $(WSX_HDRS)
	mkdir -p $(EX_B)/tests
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

$(WSX_UNIT_ASAN): $(B)/asan/examples/%: examples/tests/%.c \
                  examples/tests/unit.h $(WSX_SRCS) $(LIB_SRCS) \
                  $(WSX_HDRS) $(wildcard lib/*.h)
	mkdir -p $(dir $@)
	$(CC) $(WSX_CPPFLAGS) -Ilib $(WSX_TLS_DEFS) $(WARN) -O1 -g $(SAN) $< \
	    $(WSX_SRCS) $(LIB_SRCS) $(WSX_TLS_LIBS) -o $@

wsx-unit: $(WSX_UNIT)
	for t in $(WSX_UNIT); do $$t || exit 1; done

wsx-unit-asan: $(WSX_UNIT_ASAN)
	for t in $(WSX_UNIT_ASAN); do \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 $$t || exit 1; done

# wss:// and https:// (examples/common/tls.c): wsecho and wscat against
# Python's ssl module and each other, the failures, SIGHUP reload, and a
# wsecho built with ASan+UBSan (loop, library and tls.c instrumented)
# across TLS connect/close cycles, then the plain one under valgrind.
WSECHO_ASAN := $(B)/asan/examples/wsecho

$(WSECHO_ASAN): examples/echo/wsecho.c $(WSX_SRCS) $(LIB_SRCS) $(WSX_HDRS) \
                $(wildcard lib/*.h)
	mkdir -p $(dir $@)
	$(CC) $(WSX_CPPFLAGS) -Ilib $(WSX_TLS_DEFS) $(WARN) -O1 -g $(SAN) $< \
	    $(WSX_SRCS) $(LIB_SRCS) $(WSX_TLS_LIBS) -o $@

.PHONY: tls-test
# The messenger's programs and ws-dashboard (messenger.mk, dashboard.mk,
# read after this file: hence the literal paths) are tested over wss://
# here too.
TLS_MSG := $(EX_B)/messenger/messenger-server $(EX_B)/messenger/messenger-client

tls-test: examples $(WSECHO_ASAN) messenger dashboard
	$(EX_PYTHON) examples/tests/test_tls.py --wsecho $(WSECHO) \
	    --wscat $(WSCAT) --wsecho-asan $(WSECHO_ASAN) \
	    --messenger-server $(word 1,$(TLS_MSG)) \
	    --messenger-client $(word 2,$(TLS_MSG)) \
	    --dashboard $(EX_B)/dashboard/ws-dashboard

CHECK_STEPS += wsx-unit wsx-unit-asan examples-test tls-test
