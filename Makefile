# lwip-wasm build: `make` fetches lwIP, builds the wasm, then the TypeScript.
#   make DEBUG=1   wasm with lwIP assertions and debug output
#   make wasm      only the wasm;  make ts  only the TypeScript
#   make clean     removes build output (keeps the fetched lwIP source)

LWIP_VERSION_DIR := $(shell sed -n 's/^dir=//p' lwip/VERSION)
LWIPDIR := lwip/$(LWIP_VERSION_DIR)/src
export NODE_PATH := /usr/share/nodejs

DEBUG ?= 0
ifeq ($(DEBUG),1)
  OPT := -O1 -g -DLWIP_WASM_DEBUG
else
  OPT := -O3 -flto
endif

LWIP_SRCS = $(wildcard $(LWIPDIR)/core/*.c) $(wildcard $(LWIPDIR)/core/ipv4/*.c) \
            $(wildcard $(LWIPDIR)/core/ipv6/*.c) $(LWIPDIR)/netif/ethernet.c
GLUE_SRCS = $(wildcard wasm/*.c)
GLUE_HDRS = $(wildcard wasm/*.h wasm/arch/*.h)
CFLAGS = $(OPT) -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration \
         -Iwasm -I$(LWIPDIR)/include
LDFLAGS = $(OPT) --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=1MB \
          -sMAXIMUM_MEMORY=2GB -sTOTAL_STACK=65536 -sERROR_ON_UNDEFINED_SYMBOLS=0 \
          -sEXPORTED_FUNCTIONS=_malloc,_free -sFILESYSTEM=0

WASM := build/lwip.wasm

.PHONY: all wasm ts gen test clean distclean fetch
all: wasm ts

fetch: lwip/$(LWIP_VERSION_DIR)/.fetched
lwip/$(LWIP_VERSION_DIR)/.fetched: lwip/VERSION lwip/fetch.sh
	bash lwip/fetch.sh

emcc-check:
	@command -v emcc >/dev/null || { echo "emcc missing: installing emscripten (Debian package)"; \
	  apt-get install -y emscripten >/dev/null || { echo "install emscripten: apt-get install emscripten" >&2; exit 1; }; }
.PHONY: emcc-check

gen: src/gen/constants.ts
src/gen/constants.ts: wasm/lw_const.h scripts/gen-constants.mjs
	node scripts/gen-constants.mjs

wasm: $(WASM)
build/.debug-$(DEBUG):
	@mkdir -p build && rm -f build/.debug-* && touch $@
$(WASM): lwip/$(LWIP_VERSION_DIR)/.fetched $(GLUE_SRCS) $(GLUE_HDRS) Makefile build/.debug-$(DEBUG) | emcc-check
	@mkdir -p build
	emcc $(CFLAGS) $(LDFLAGS) $(GLUE_SRCS) $(LWIP_SRCS) -o build/lwip.js
	rm -f build/lwip.js

ts: gen $(WASM)
	npx rollup -c --silent
	mkdir -p dist && cp $(WASM) dist/lwip.wasm

test: all
	npm test

clean:
	rm -rf build dist src/gen
distclean: clean
	rm -rf lwip/$(LWIP_VERSION_DIR) node_modules
