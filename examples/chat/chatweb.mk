# examples/chat/chatweb.mk — the chat's browser client (examples/chat/web,
# copied next to chat-server by chat.mk and served at /).
#   make chat-web-test   two desktop pages and a phone-sized one chatting
#                        through a real chat-server in headless Chromium;
#                        screenshots in build/examples/chat/screenshots/;
#                        in make check

# Read before examples/examples.mk (sorted includes): paths spelt out.
CHATWEB_SRV   := $(B)/examples/chat/chat-server
CHATWEB_SHOTS := $(B)/examples/chat/screenshots
# The stamp of tests/interop's npm ci (its rule is in interop.mk).
CHATWEB_NODE_MODULES := tests/interop/node_modules/.installed

.PHONY: chat-web-test

chat-web-test: chat $(CHATWEB_NODE_MODULES)
	node examples/chat/tests/browser.js --server $(CHATWEB_SRV) \
	    --shots $(CHATWEB_SHOTS)

CHECK_STEPS += chat-web-test
