# examples/examples.mk — the example programs, included by the top Makefile.
#   make examples       build/examples/echo/wsecho, build/examples/wscat/wscat
#                       and the event loop they share, build/examples/libwsx.a
#   make examples-test  their tests over loopback (examples/tests/), in
#                       make check
#   make wsx-unit       the loop's own unit tests (examples/tests/wsxunit.c),
#                       in make check; wsx-unit-asan: the same under
#                       ASan+UBSan, loop and library instrumented
#
# Other fragments build on the loop with $(WSX_CPPFLAGS) and by linking
# $(WSX_LIB) $(STATIC), depending on both.

EX_B         := $(B)/examples
WSX_SRCS     := $(sort $(wildcard examples/common/*.c))
WSX_OBJS     := $(WSX_SRCS:examples/common/%.c=$(EX_B)/common/%.o)
WSX_HDRS     := $(wildcard examples/common/*.h) include/wsproto.h
WSX_LIB      := $(EX_B)/libwsx.a
WSX_CPPFLAGS := -Iinclude -Iexamples/common
# Tests use only the system Python's standard library.
EX_PYTHON    := /usr/bin/python3

.PHONY: examples examples-test wsx-unit wsx-unit-asan

WSECHO       := $(EX_B)/echo/wsecho
WSCAT        := $(EX_B)/wscat/wscat

examples: $(WSECHO) $(WSCAT)

$(EX_B)/common $(EX_B)/echo $(EX_B)/wscat:
	mkdir -p $@

$(EX_B)/common/%.o: examples/common/%.c $(WSX_HDRS) | $(EX_B)/common
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) -c $< -o $@

$(WSX_LIB): $(WSX_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

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

WSX_UNIT      := $(EX_B)/tests/wsxunit
WSX_UNIT_ASAN := $(B)/asan/examples/wsxunit

$(WSX_UNIT): examples/tests/wsxunit.c $(WSX_LIB) $(STATIC) $(WSX_HDRS)
	mkdir -p $(EX_B)/tests
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

$(WSX_UNIT_ASAN): examples/tests/wsxunit.c $(WSX_SRCS) $(LIB_SRCS) \
                  $(WSX_HDRS) $(wildcard lib/*.h)
	mkdir -p $(dir $@)
	$(CC) $(WSX_CPPFLAGS) -Ilib $(WARN) -O1 -g $(SAN) $< $(WSX_SRCS) \
	    $(LIB_SRCS) -o $@

wsx-unit: $(WSX_UNIT)
	$(WSX_UNIT)

wsx-unit-asan: $(WSX_UNIT_ASAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 $(WSX_UNIT_ASAN)

CHECK_STEPS += wsx-unit wsx-unit-asan examples-test
