# bench/bench.mk — the benchmarks, included by the top Makefile.
#   make bench        build and run them; prints the tables of
#                     bench/PERFORMANCE.md (three to four minutes)
#   make bench-smoke  build them and run each briefly (a couple of seconds)
#                     so they cannot rot; asserts no timing
# wslay (Debian libwslay-dev, scripts/deps/bench.deb) is the library we are
# compared with; without it the wslay columns print n/a.

BENCH_WSLAY := $(shell test -f /usr/include/wslay/wslay.h && echo yes)
BENCH_DEFS  := $(if $(BENCH_WSLAY),-DHAVE_WSLAY)
BENCH_LIBS  := $(if $(BENCH_WSLAY),-lwslay)

.PHONY: bench bench-smoke

$(B)/bench:
	mkdir -p $@

$(B)/bench/parsebench: bench/parsebench.c $(STATIC) include/wsproto.h | $(B)/bench
	$(CC) -Iinclude $(BENCH_DEFS) $(WARN) $(CFLAGS) $< $(STATIC) $(BENCH_LIBS) -o $@

bench: $(B)/bench/parsebench
	$(B)/bench/parsebench

bench-smoke: $(B)/bench/parsebench
	$(B)/bench/parsebench --smoke

CHECK_STEPS += bench-smoke
