# bench/bench.mk — the benchmarks, included by the top Makefile.
#   make bench        build and run them; prints the tables of
#                     bench/PERFORMANCE.md (about sixteen minutes: parsing
#                     four, the load tables three, DEFLATE and fan-out
#                     one each, chat-bench four, rooms-bench three)
#   make chat-bench   only the broadcast chat table; rooms-bench only the
#                     UDP relay table
#   make bench-smoke  build them and run each briefly (a couple of seconds)
#                     so they cannot rot; asserts no timing
# wslay (Debian libwslay-dev, scripts/deps/bench.deb) is the library we are
# compared with; without it the wslay columns print n/a. Node ws (npm, in
# tests/interop) is the fan-out's and chat-bench's reference; without it
# its rows say n/a, as chat-bench's Python websockets (python3-websockets)
# and rooms-bench's Python relay (/usr/bin/python3) columns do.

BENCH_WSLAY := $(shell test -f /usr/include/wslay/wslay.h && echo yes)
BENCH_DEFS  := $(if $(BENCH_WSLAY),-DHAVE_WSLAY)
BENCH_LIBS  := $(if $(BENCH_WSLAY),-lwslay)

.PHONY: bench bench-smoke

# What the load generators share (clock, /proc CPU, latency histogram).
BENCH_LOADSTAT := bench/loadstat.c bench/loadstat.h

$(B)/bench:
	mkdir -p $@

# The DEFLATE codec against zlib (levels 1 and 6; zlib1g-dev,
# scripts/deps/deflate.deb). It reaches the codec's private header.
$(B)/bench/deflatebench: bench/deflatebench.c tests/deflate/corpus.h lib/deflate.h $(STATIC) | $(B)/bench
	$(CC) -Ilib -Itests/deflate $(WARN) $(CFLAGS) $< $(STATIC) -lz -o $@

$(B)/bench/parsebench: bench/parsebench.c $(STATIC) include/wsproto.h | $(B)/bench
	$(CC) -Iinclude $(BENCH_DEFS) $(WARN) $(CFLAGS) $< $(STATIC) $(BENCH_LIBS) -o $@

# The load table: wsecho against tcpecho (the same event loop, raw mode),
# both driven by wsload, then wsecho with permessage-deflate against
# without on JSON echoes (wsload --json [--deflate]). bench/run_load.sh
# starts and stops the servers.
# Fragments are included in sorted order, bench/ before examples/, so the
# names examples/examples.mk defines are empty when these prerequisites
# are read: its outputs are named here (recipes expand later, so
# $(WSX_CPPFLAGS) and $(WSX_LIB) are fine in them).
BENCH_WSX_LIB := $(B)/examples/libwsx.a
BENCH_WSECHO  := $(B)/examples/echo/wsecho
BENCH_WSX_HDRS := $(wildcard examples/common/*.h) include/wsproto.h

$(B)/bench/tcpecho: bench/tcpecho.c $(BENCH_WSX_LIB) $(STATIC) $(BENCH_WSX_HDRS) | $(B)/bench
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

$(B)/bench/wsload: bench/wsload.c $(BENCH_LOADSTAT) $(STATIC) include/wsproto.h | $(B)/bench
	$(CC) -Iinclude -Ibench $(WARN) $(CFLAGS) $< bench/loadstat.c $(STATIC) -o $@

BENCH_LOAD := $(B)/bench/wsload $(B)/bench/tcpecho $(BENCH_WSECHO)
RUN_LOAD   := sh bench/run_load.sh --wsload $(B)/bench/wsload \
              --tcpecho $(B)/bench/tcpecho --wsecho $(BENCH_WSECHO)

# Fan-out: one 1 KiB message to 100, 1000 and 10 000 connections, encoded
# per connection, as one shared frame (wsx_server_broadcast), and by Node
# ws (bench/fanout_ws.js).
$(B)/bench/fanout: bench/fanout.c $(BENCH_WSX_LIB) $(STATIC) $(BENCH_WSX_HDRS) | $(B)/bench
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

# wss:// against ws:// (bench/run_tls.sh): the same echo workloads and
# the handshake rate, wsecho with and without --tls-cert, driven by
# tlsbench (a wsx client, so both ends pay for TLS in the wss:// runs).
$(B)/bench/tlsbench: bench/tlsbench.c $(BENCH_WSX_LIB) $(STATIC) $(BENCH_WSX_HDRS) | $(B)/bench
	$(CC) $(WSX_CPPFLAGS) $(WARN) $(CFLAGS) $< $(WSX_LIB) $(STATIC) -o $@

RUN_TLS := sh bench/run_tls.sh --tlsbench $(B)/bench/tlsbench --wsecho $(BENCH_WSECHO)

bench: bench-tls
bench-smoke: bench-tls-smoke

.PHONY: bench-tls bench-tls-smoke
bench-tls: $(B)/bench/tlsbench $(BENCH_WSECHO)
	@echo
	$(RUN_TLS)

bench-tls-smoke: $(B)/bench/tlsbench $(BENCH_WSECHO)
	$(RUN_TLS) --smoke


# Node ws, the fan-out's reference, is tests/interop's pinned npm package
# (interop.mk's rule installs it; named here, as fragments are read in
# order).
BENCH_NODE_WS := tests/interop/node_modules/.installed

bench: $(B)/bench/parsebench $(B)/bench/deflatebench $(BENCH_LOAD) $(B)/bench/fanout $(BENCH_NODE_WS)
	$(B)/bench/parsebench
	@echo
	$(B)/bench/deflatebench
	@echo
	$(RUN_LOAD)
	@echo
	$(B)/bench/fanout --node-dir tests/interop

bench-smoke: $(B)/bench/parsebench $(B)/bench/deflatebench $(BENCH_LOAD) $(B)/bench/fanout
	$(B)/bench/parsebench --smoke
	$(B)/bench/deflatebench --smoke
	$(RUN_LOAD) --smoke
	$(B)/bench/fanout --smoke --node-dir tests/interop

CHECK_STEPS += bench-smoke
# The Node references run in the smoke too (so they cannot rot): the npm
# stamp's rule is in tests/interop/interop.mk, read after this file.
bench-smoke: tests/interop/node_modules/.installed


# Broadcast chat (bench/chat_bench.sh): chat-server's plain-text mode
# against two reference servers, Node ws (bench/chat_ref_node.js) and
# Python websockets (bench/chat_ref_py.py), driven by chatload (wsx
# clients, one process) with 10, 100 and 1000 clients.
$(B)/bench/chatload: bench/chatload.c $(BENCH_LOADSTAT) $(BENCH_WSX_LIB) $(STATIC) $(BENCH_WSX_HDRS) | $(B)/bench
	$(CC) $(WSX_CPPFLAGS) -Ibench $(WARN) $(CFLAGS) $< bench/loadstat.c $(WSX_LIB) $(STATIC) -o $@

# chat-server comes from examples/chat/chat.mk (read after this file: its
# name is spelled out here); Node ws is tests/interop's (BENCH_NODE_WS).
BENCH_CHAT_SRV := $(B)/examples/chat/chat-server
RUN_CHAT := sh bench/chat_bench.sh --chatload $(B)/bench/chatload \
            --chat-server $(BENCH_CHAT_SRV)

.PHONY: chat-bench chat-bench-smoke
chat-bench: $(B)/bench/chatload $(BENCH_CHAT_SRV) $(BENCH_NODE_WS)
	@echo
	$(RUN_CHAT)

chat-bench-smoke: $(B)/bench/chatload $(BENCH_CHAT_SRV)
	$(RUN_CHAT) --smoke

bench: chat-bench
bench-smoke: chat-bench-smoke

# Rooms (bench/rooms_bench.sh): rooms-server's UDP relaying, stage 1 and
# rooms provisioned over TCRP, against a Python asyncio relay doing the
# same work (bench/rooms_ref_relay.py), driven by roomsload.
$(B)/bench/roomsload: bench/roomsload.c $(BENCH_LOADSTAT) | $(B)/bench
	$(CC) -Ibench $(WARN) $(CFLAGS) $< bench/loadstat.c -o $@
# rooms-server comes from examples/rooms/rooms.mk (read after this file:
# its name is spelled out here).
BENCH_ROOMS_SRV := $(B)/examples/rooms/rooms-server
RUN_ROOMS := sh bench/rooms_bench.sh --roomsload $(B)/bench/roomsload \
             --rooms-server $(BENCH_ROOMS_SRV)

.PHONY: rooms-bench rooms-bench-smoke
rooms-bench: $(B)/bench/roomsload $(BENCH_ROOMS_SRV)
	@echo
	$(RUN_ROOMS)

rooms-bench-smoke: $(B)/bench/roomsload $(BENCH_ROOMS_SRV)
	$(RUN_ROOMS) --smoke

bench: rooms-bench
bench-smoke: rooms-bench-smoke
