# examples/rooms/roomsweb.mk — the rooms GUI (examples/rooms/web/, copied
# next to rooms-server by the `rooms` target of rooms.mk) in headless
# Chromium.
#   make rooms-web-test   a real rooms-server on free ports, UDP members
#                         speaking the protocol from Node, one rooms-client
#                         and two pages (desktop and phone size), one more
#                         over https:// and wss://; the
#                         screenshots go to build/examples/rooms/screenshots/;
#                         in make check (about 20 s)

ROOMS_WEB_SHOTS := $(EX_B)/rooms/screenshots

.PHONY: rooms-web-test

# The stamp of tests/interop's npm ci (its rule is in interop.mk, read
# after this file, hence the literal path).
rooms-web-test: rooms tests/interop/node_modules/.installed
	mkdir -p $(ROOMS_WEB_SHOTS)
	node examples/rooms/tests/browser.js --server $(EX_B)/rooms/rooms-server \
	    --client $(EX_B)/rooms/rooms-client --shots $(ROOMS_WEB_SHOTS)

CHECK_STEPS += rooms-web-test
