# tests/deflate — the DEFLATE codec (lib/inflate.c, lib/deflate.c) against
# zlib (Debian zlib1g-dev, scripts/deps/deflate.deb): `make deflate-diff`.
# zlib is the oracle here only; the library never links it.
ZDIFF_BIN := $(B)/tests/deflate/zdiff

.PHONY: deflate-diff

$(ZDIFF_BIN): tests/deflate/zdiff.c tests/deflate/corpus.h $(STATIC) lib/deflate.h
	mkdir -p $(dir $@)
	$(CC) -Ilib -Itests/deflate $(WARN) $(CFLAGS) $< $(STATIC) -lz -o $@

deflate-diff: $(ZDIFF_BIN)
	$(ZDIFF_BIN)

CHECK_STEPS += deflate-diff
