# libwsproto — one Makefile, no configure step.
#   make            libwsproto.a, libwsproto.so (soname libwsproto.so.0)
#   make check      every test (see the README)
#   make install    PREFIX=/usr/local DESTDIR= (pkg-config and CMake files too)
#   make uninstall
#   make bench / make fuzz / make fuzz-smoke / make examples

VERSION   := $(shell sed -n 's/^\#define WS_VERSION_STRING "\(.*\)"/\1/p' include/wsproto.h)
SOVERSION := $(shell sed -n 's/^\#define WS_VERSION_MAJOR \([0-9]*\)/\1/p' include/wsproto.h)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wcast-qual -Wpointer-arith
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
PCDIR   ?= $(LIBDIR)/pkgconfig
B       := build

LIB_SRCS  := $(sort $(wildcard lib/*.c))
LIB_OBJS  := $(LIB_SRCS:lib/%.c=$(B)/lib/%.o)
LIB_CPPFLAGS := -Iinclude -Ilib -DWS_BUILDING_LIBRARY
LIB_CFLAGS   := $(WARN) $(CFLAGS) -fPIC -fvisibility=hidden

STATIC   := $(B)/libwsproto.a
SHARED   := $(B)/libwsproto.so.$(VERSION)
SONAME   := libwsproto.so.$(SOVERSION)

.PHONY: all lib check unit unit-asan unit-valgrind install uninstall clean \
        install-test install-test-system readme-example demo deps
.DEFAULT_GOAL := all

all: lib readme-example

lib: $(STATIC) $(SHARED)

$(B)/lib/%.o: lib/%.c include/wsproto.h $(wildcard lib/*.h) | $(B)/lib
	$(CC) $(LIB_CPPFLAGS) $(LIB_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) $(LDFLAGS) -o $@ $^
	ln -sf libwsproto.so.$(VERSION) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libwsproto.so

$(B) $(B)/lib $(B)/tests $(B)/asan/lib $(B)/asan/tests:
	mkdir -p $@

# ------------------------------------------------------------------ tests
# Each tests/test_<name>.c holds suite_<name>(); suites.h lists them all.
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_HELPERS := tests/harness.c tests/transcript.c
TEST_DEPS := tests/harness.h tests/transcript.h tests/rfc_samples.h include/wsproto.h $(wildcard lib/*.h)

$(B)/tests/suites.h: $(TEST_SRCS) | $(B)/tests
	printf '%s\n' $(patsubst tests/test_%.c,'SUITE(%)',$(TEST_SRCS)) > $@

$(B)/tests/unit: $(TEST_SRCS) $(TEST_HELPERS) $(B)/tests/suites.h $(STATIC) $(TEST_DEPS)
	$(CC) -Iinclude -Ilib -Itests -I$(B)/tests $(WARN) $(CFLAGS) \
	    $(TEST_SRCS) $(TEST_HELPERS) $(STATIC) -o $@

# The same tests with AddressSanitizer and UndefinedBehaviorSanitizer, the
# library compiled in too so its code is instrumented.
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(B)/asan/tests/unit: $(TEST_SRCS) $(TEST_HELPERS) $(B)/tests/suites.h $(LIB_SRCS) $(TEST_DEPS) | $(B)/asan/tests
	$(CC) -Iinclude -Ilib -Itests -I$(B)/tests $(WARN) -O1 -g $(SAN) \
	    $(TEST_SRCS) $(TEST_HELPERS) $(LIB_SRCS) -o $@

unit: $(B)/tests/unit
	$(B)/tests/unit

unit-asan: $(B)/asan/tests/unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    $(B)/asan/tests/unit

# WS_TEST_QUICK shortens the 1 GiB streaming case to 64 MiB under valgrind.
unit-valgrind: $(B)/tests/unit
	WS_TEST_QUICK=1 valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=all \
	    $(B)/tests/unit

# The README's example program is extracted and compiled on every build.
$(B)/readme_example.c: README.md | $(B)
	awk '/<!-- example:begin -->/{f=1;next} /<!-- example:end -->/{f=0} f && !/^```/' $< > $@

$(B)/readme_example: $(B)/readme_example.c $(STATIC)
	$(CC) -Iinclude $(WARN) $(CFLAGS) $< $(STATIC) -o $@

readme-example: $(B)/readme_example

demo: $(B)/readme_example
	$(B)/readme_example

install-test: lib
	sh tests/install_test.sh

# The same into the default PREFIX for real, as root, then uninstalled:
# it changes the system, so it is not in make check
# (scripts/bare-debian-check.sh runs it in its throwaway root).
install-test-system: lib
	sh tests/install_test.sh --system

# What the tests need (compilers, sanitizer runtimes, valgrind, peers).
deps:
	bash scripts/install-deps.sh

# Ordered: the library's own steps, then those the fragments add.
check: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) unit-valgrind
	$(MAKE) install-test
	$(MAKE) demo
	@for step in $(CHECK_STEPS); do $(MAKE) $$step || exit 1; done
	@echo "make check: all passed"

# -------------------------------------------------------------- fragments
# Each part of the tree beyond the library brings its own fragment
# (examples/examples.mk, fuzz/fuzz.mk, bench/bench.mk, tests/<suite>/*.mk).
# A fragment defines its targets and appends its check steps to CHECK_STEPS.
CHECK_STEPS :=
include $(sort $(wildcard examples/*.mk examples/*/*.mk fuzz/*.mk bench/*.mk tests/*/*.mk))

# ---------------------------------------------------------------- install
# wsproto.pc and the CMake package files get the final paths (DESTDIR is
# only where they are staged). The CMake version file compares versions
# with the major and minor from the header and refuses a consumer of
# another pointer size.
CMAKEDIR  ?= $(LIBDIR)/cmake/wsproto
PTR_BYTES = $(shell $(CC) -dM -E - </dev/null | \
                    sed -n 's/^\#define __SIZEOF_POINTER__ //p')
SUBST_INSTALL_PATHS = sed -e 's|@PREFIX@|$(PREFIX)|g' \
    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCDIR@|$(INCDIR)|g' \
    -e 's|@VERSION@|$(VERSION)|g' \
    -e 's|@SOVERSION@|$(SOVERSION)|g' -e 's|@VERSION_MAJOR@|$(SOVERSION)|g' \
    -e 's|@VERSION_MINOR@|$(word 2,$(subst ., ,$(VERSION)))|g' \
    -e 's|@SIZEOF_VOID_P@|$(PTR_BYTES)|g'
INSTALLED_DATA := $(PCDIR)/wsproto.pc $(CMAKEDIR)/wsprotoConfig.cmake \
                  $(CMAKEDIR)/wsprotoConfigVersion.cmake

# Installing into this machine (no DESTDIR) refreshes the dynamic linker's
# cache when LIBDIR is one it searches, or says how to find the library
# when not: see scripts/refresh-ld-cache.sh.
install: lib
	install -d $(DESTDIR)$(INCDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(CMAKEDIR)
	install -m 644 include/wsproto.h $(DESTDIR)$(INCDIR)/wsproto.h
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/libwsproto.a
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/libwsproto.so.$(VERSION)
	ln -sf libwsproto.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libwsproto.so
	$(SUBST_INSTALL_PATHS) pkgconfig/wsproto.pc.in > $(DESTDIR)$(PCDIR)/wsproto.pc
	$(SUBST_INSTALL_PATHS) cmake/wsprotoConfig.cmake.in \
	    > $(DESTDIR)$(CMAKEDIR)/wsprotoConfig.cmake
	$(SUBST_INSTALL_PATHS) cmake/wsprotoConfigVersion.cmake.in \
	    > $(DESTDIR)$(CMAKEDIR)/wsprotoConfigVersion.cmake
	chmod 644 $(addprefix $(DESTDIR),$(INSTALLED_DATA))
	$(if $(DESTDIR),,sh scripts/refresh-ld-cache.sh install $(LIBDIR))

uninstall:
	rm -f $(DESTDIR)$(INCDIR)/wsproto.h $(DESTDIR)$(LIBDIR)/libwsproto.a \
	    $(DESTDIR)$(LIBDIR)/libwsproto.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libwsproto.so \
	    $(addprefix $(DESTDIR),$(INSTALLED_DATA))
	rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true
	$(if $(DESTDIR),,sh scripts/refresh-ld-cache.sh uninstall $(LIBDIR))

clean:
	rm -rf $(B)
