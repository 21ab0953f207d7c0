# tests/interop — real peers against wsecho and wscat: Python websockets
# (Debian python3-websockets, run by /usr/bin/python3), Node ws and headless
# Chromium (Debian chromium, driven by npm playwright-core). `make interop`
# installs what is missing (Debian packages through `make deps`, the npm
# packages pinned in package-lock.json through `npm ci`), then runs them.
INTEROP_DIR     := $(B)/tests/interop
INTEROP_MODULES := tests/interop/node_modules/.installed

.PHONY: interop

$(INTEROP_MODULES): tests/interop/package.json tests/interop/package-lock.json
	cd tests/interop && npm ci --no-audit --no-fund --loglevel=error
	touch $@

interop: deps examples $(INTEROP_MODULES)
	mkdir -p $(INTEROP_DIR)
	/usr/bin/python3 tests/interop/interop.py \
	    --wsecho $(B)/examples/echo/wsecho --wscat $(B)/examples/wscat/wscat \
	    --workdir $(INTEROP_DIR)

CHECK_STEPS += interop
