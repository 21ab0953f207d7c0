# examples/examples.mk — the example programs, included by the top Makefile.
#   make examples       build/examples/echo/wsecho, build/examples/wscat/wscat
#                       and the event loop they share, build/examples/libwsx.a
#   make examples-test  their tests over loopback (examples/tests/), in
#                       make check
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

.PHONY: examples examples-test

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

CHECK_STEPS += examples-test
