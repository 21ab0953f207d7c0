# fuzz/fuzz.mk — libFuzzer targets (see fuzz/README.md). Included by the
# top Makefile.
#   make fuzz                       build every target into build/fuzz/
#   make fuzz-smoke                 run each from its seed corpus for
#                                   FUZZ_SMOKE_TIME seconds (a check step)
#   make fuzz-run TARGET=t [FUZZ_TIME=s] [FUZZ_JOBS=n]
#                                   fuzz one target for longer
#   make fuzz-repro TARGET=t FILE=f replay one input (a crash file)

FUZZ_CC      ?= clang
FUZZ_TARGETS := frame_stream handshake utf8 roundtrip api ext_stream inflate \
                pmdeflate store_log json chat_log tcrp
FUZZ_B       := $(B)/fuzz
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_B)/%)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  ?= -O1 -g
FUZZ_FLAGS   := $(WARN) $(FUZZ_CFLAGS) $(FUZZ_SAN) -Iinclude -Ilib -Ifuzz
FUZZ_LIB_OBJS := $(LIB_SRCS:lib/%.c=$(FUZZ_B)/lib/%.o)

# Seconds per target for fuzz-smoke: 12 targets x 20 s, about 4 minutes.
FUZZ_SMOKE_TIME ?= 20
FUZZ_TIME ?= 600
FUZZ_JOBS ?= 1

.PHONY: fuzz fuzz-smoke fuzz-run fuzz-repro fuzz-corpus
CHECK_STEPS += fuzz-smoke

fuzz: $(FUZZ_BINS)

$(FUZZ_B) $(FUZZ_B)/lib:
	mkdir -p $@

# The library compiled with the targets' instrumentation (coverage and
# sanitizers); the fuzzer's own main() is linked only into the targets.
$(FUZZ_B)/lib/%.o: lib/%.c include/wsproto.h $(wildcard lib/*.h) | $(FUZZ_B)/lib
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -DWS_BUILDING_LIBRARY \
	    -c $< -o $@

# store_log includes examples/messenger/store_log.c (the messenger log's
# replay) and the record log under it, examples/common/reclog.c, rather
# than linking the library.
$(FUZZ_B)/store_log: examples/messenger/store_log.c examples/messenger/store_log.h \
                     examples/common/reclog.c examples/common/reclog.h
$(FUZZ_B)/store_log: FUZZ_FLAGS += -Iexamples/common
# json includes examples/common/json.c (the examples' JSON reader/writer).
$(FUZZ_B)/json: examples/common/json.c examples/common/json.h
# chat_log includes the chat store's replay (examples/chat/store_records.c
# and what it needs) the same way.
$(FUZZ_B)/chat_log: $(wildcard examples/chat/store*.[ch] examples/chat/names.[ch] \
                       examples/chat/keymap.[ch]) examples/chat/chat_store.h \
                    examples/common/reclog.c examples/common/reclog_file.c \
                    examples/common/reclog.h examples/common/fdio.[ch]
$(FUZZ_B)/chat_log: FUZZ_FLAGS += -Iexamples/common -Iexamples/chat
# The inflate target holds our decoder to zlib's (the oracle, -lz).
FUZZ_LIBS_inflate := -lz

$(FUZZ_BINS): $(FUZZ_B)/%: fuzz/%.c fuzz/fuzz_common.h tests/ext_samples.h $(FUZZ_LIB_OBJS) | $(FUZZ_B)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB_OBJS) $(FUZZ_LIBS_$*) -o $@

# Fails on any crash, leak, sanitizer report, timeout (-timeout seconds on
# one input) or out-of-memory (-rss_limit_mb). New inputs go to a temporary
# directory: the seed corpora in the tree are only read.
fuzz-smoke: fuzz
	sh fuzz/run.sh smoke $(FUZZ_SMOKE_TIME) $(FUZZ_TARGETS)

fuzz-run: fuzz
	@test -n "$(TARGET)" || { echo "usage: make fuzz-run TARGET=<$(FUZZ_TARGETS)>"; exit 2; }
	FUZZ_JOBS=$(FUZZ_JOBS) sh fuzz/run.sh long $(FUZZ_TIME) $(TARGET)

fuzz-repro: fuzz
	@test -n "$(TARGET)" -a -n "$(FILE)" || { echo "usage: make fuzz-repro TARGET=<target> FILE=<crash file>"; exit 2; }
	$(FUZZ_B)/$(TARGET) -runs=1 $(FILE)

# Regenerate the seed corpora (needs python3; the result is committed).
fuzz-corpus:
	python3 fuzz/gen_corpus.py
