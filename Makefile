# lwip-wasm build: `make` fetches lwIP, builds the wasm, then the TypeScript.
#   make setup     installs what the build and tests need from Debian (root, once)
#   make test      sets up, builds, then runs the whole test suite
#   make demo      sets up, builds, then runs the demo (two stacks talking HTTP over a pair)
#   make DEBUG=1   wasm with lwIP assertions and debug output
#   make wasm      only the wasm;  make ts  only the TypeScript
#   make clean     removes build output (keeps the fetched lwIP source)
#   make package   what `npm pack` needs (its prepack): everything, and the TAP addon's
#                  prebuild without fail

LWIP_VERSION_DIR := $(shell sed -n 's/^dir=//p' lwip/VERSION)
LWIPDIR := lwip/$(LWIP_VERSION_DIR)/src
MBEDTLS_DIR := mbedtls/$(shell sed -n 's/^dir=//p' mbedtls/VERSION)
LLHTTP_DIR := llhttp/$(shell sed -n 's/^dir=//p' llhttp/VERSION)
export NODE_PATH := /usr/share/nodejs

DEBUG ?= 0
ifeq ($(DEBUG),1)
  OPT := -O1 -g -DLWIP_WASM_DEBUG
else
  # -Os, not -O3: the wasm is 112 KB instead of 198 KB, and bench/ab.mjs measured
  # bulk, ping-pong, churn and UDP within noise of -O3 (ratios 0.98-1.22).
  OPT := -Os -flto
endif
# Bulk memory (wasm's memory.copy and memory.fill, in every engine since 2021): memcpy
# becomes one instruction instead of a byte loop; bulk TCP +10-20% (bench/ab.mjs).
OPT += -mbulk-memory

LWIP_SRCS = $(wildcard $(LWIPDIR)/core/*.c) $(wildcard $(LWIPDIR)/core/ipv4/*.c) \
            $(wildcard $(LWIPDIR)/core/ipv6/*.c) $(LWIPDIR)/netif/ethernet.c
# wasm/abi_layout.c is not glue: it is built alone, for the generator (below).
GLUE_SRCS = $(filter-out wasm/abi_layout.c,$(wildcard wasm/*.c))
GLUE_HDRS = $(wildcard wasm/*.h wasm/arch/*.h)
INCLUDES = -Iwasm -I$(LWIPDIR)/include
# Our glue is held to -Wall -Wextra; lwIP is a pinned dependency, so its warnings are muted.
GLUE_CFLAGS = $(OPT) -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror=implicit-function-declaration $(INCLUDES)
LWIP_CFLAGS = $(OPT) -std=c11 -w $(INCLUDES)
# Mbed TLS and llhttp are pinned dependencies too, so their warnings are muted, but not
# a call to an undeclared function: C89's implicit `int f()` links to a wasm signature
# that does not match (a trap at run time, or a pointer or 64-bit result cut to int).
# -w would silence even that error, hence -Wno-everything with the errors named after it.
DEP_CFLAGS = $(OPT) -std=c11 -Wno-everything -Werror=implicit-function-declaration -Werror=implicit-int $(INCLUDES)
LDFLAGS = $(OPT) --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=1MB \
          -sMAXIMUM_MEMORY=2GB -sTOTAL_STACK=65536 -sERROR_ON_UNDEFINED_SYMBOLS=1 \
          -sEXPORTED_FUNCTIONS=@build/exports.json -sFILESYSTEM=0 --js-library build/imports.js

OBJDIR := build/obj-$(DEBUG)
GLUE_OBJS = $(patsubst wasm/%.c,$(OBJDIR)/glue/%.o,$(GLUE_SRCS))
LWIP_OBJS = $(patsubst $(LWIPDIR)/%.c,$(OBJDIR)/lwip/%.o,$(LWIP_SRCS))
WASM := build/lwip.wasm

# lwip-tls.wasm: the same stack with Mbed TLS (wasm/tls/ and the fetched library), for
# Stack.create({ tls: true }); lwip.wasm links none of it. Every Mbed TLS source is
# compiled: wasm/tls/mbedtls_config.h leaves those it does not use empty.
TLS_WASM := build/lwip-tls.wasm
TLS_GLUE_SRCS = $(wildcard wasm/tls/*.c)
TLS_HDRS = $(wildcard wasm/tls/*.h)
MBEDTLS_SRCS = $(wildcard $(MBEDTLS_DIR)/library/*.c)
TLS_GLUE_OBJS = $(patsubst wasm/tls/%.c,$(OBJDIR)/tls/%.o,$(TLS_GLUE_SRCS))
MBEDTLS_OBJS = $(patsubst $(MBEDTLS_DIR)/library/%.c,$(OBJDIR)/mbedtls/%.o,$(MBEDTLS_SRCS))
TLS_INCLUDES = -Iwasm/tls -I$(MBEDTLS_DIR)/include -Ibuild -DMBEDTLS_CONFIG_FILE='"mbedtls_config.h"'
TLS_LDFLAGS = $(subst build/exports.json,build/exports-tls.json,$(LDFLAGS))

# llhttp.wasm: Node's HTTP/1.1 parser (Debian's generated C, with its own wasm glue in
# api.c), for stack.fetch. Tiny and separate: dist/llhttp.wasm, fetched on the first
# fetch (src/gen/llhttp-wasm.ts carries it for lwip-wasm/inline-fetch).
LLHTTP_WASM := build/llhttp.wasm
LLHTTP_EXPORTS := _malloc,_free,_llhttp_alloc,_llhttp_free,_llhttp_execute,_llhttp_reset,_llhttp_get_errno,\
  _llhttp_get_error_reason,_llhttp_get_error_pos,_llhttp_get_status_code,_llhttp_get_http_major,\
  _llhttp_get_http_minor,_llhttp_get_upgrade,_llhttp_finish,_llhttp_resume,_llhttp_message_needs_eof,\
  _llhttp_should_keep_alive,_llhttp_errno_name

.PHONY: all wasm ts gen test demo clean distclean fetch setup setup-build
all: wasm ts

# Everything that needs root or apt is here (scripts/setup.sh): the README's two
# commands call it; a plain `make` only checks, and says what to run.
setup:
	@bash scripts/setup.sh --test
setup-build:
	@bash scripts/setup.sh

# fetch.sh runs every time: it is a no-op while the tree's stamp (the tarball's digest and
# the patches' digests) is current, and otherwise unpacks a clean tree and re-applies
# wasm/patches/. A re-unpacked tree gets a new .fetched, which every object depends on
# (tar keeps the sources' old mtimes, so they alone would not trigger a rebuild).
fetch: | emcc-check
	@bash lwip/fetch.sh
	@bash scripts/fetch-dep.sh mbedtls
	@bash scripts/fetch-dep.sh llhttp

# Tools from Debian: emscripten builds the wasm; xz-utils unpacks the lwIP tarball.
emcc-check:
	@command -v emcc >/dev/null && command -v xz >/dev/null || { \
	  echo "emscripten or xz-utils is missing: run \`make setup\` (as root), or sudo apt-get install emscripten xz-utils" >&2; exit 1; }
.PHONY: emcc-check

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund


# The C/TS boundary (wasm/abi.h) as the compiler lays it out: build/abi-layout.wasm holds
# its records' offsets and sizes, its enums, exports and imports; scripts/gen-abi.mjs
# writes the TS side, the linker's export list and its import declarations from it.
# The generator rewrites a file only when its text changes, so the stamp stands for them.
ABI_OUT := src/gen/abi.ts src/gen/constants.ts build/exports.json build/exports-tls.json build/imports.js
gen: build/.abi-stamp
build/abi-layout.wasm: wasm/abi_layout.c $(GLUE_HDRS) Makefile lwip/$(LWIP_VERSION_DIR)/.fetched | emcc-check
	@mkdir -p build
	emcc -O0 -std=c11 -Wall -Wextra -Werror $(INCLUDES) --no-entry -sERROR_ON_UNDEFINED_SYMBOLS=1 \
	  -sEXPORTED_FUNCTIONS=_abi_rows,_abi_count,_abi_row_size $< -o $@
build/.abi-stamp: build/abi-layout.wasm scripts/gen-abi.mjs wasm/lw_const.h
	node scripts/gen-abi.mjs
	@touch $@
$(ABI_OUT): build/.abi-stamp ;
# The wasm as base64 for lwip-wasm/inline; rewritten only when the wasm changed.
src/gen/wasm-inline.ts: $(WASM) scripts/gen-inline.mjs
	node scripts/gen-inline.mjs
# The TLS wasm and the HTTP parser's wasm as base64, for lwip-wasm/inline-tls and
# lwip-wasm/inline-fetch (the other entries load the files beside them).
src/gen/tls-wasm-inline.ts: $(TLS_WASM) scripts/gen-inline.mjs
	node scripts/gen-inline.mjs $(TLS_WASM) src/gen/tls-wasm-inline.ts TLS_WASM_BASE64
src/gen/llhttp-wasm.ts: $(LLHTTP_WASM) scripts/gen-inline.mjs
	node scripts/gen-inline.mjs $(LLHTTP_WASM) src/gen/llhttp-wasm.ts LLHTTP_WASM_BASE64

# The lwIP file list is a wildcard, so it is read by a second make after the fetch.
wasm: fetch
	@$(MAKE) --no-print-directory $(WASM) $(TLS_WASM) $(LLHTTP_WASM)
build/.debug-$(DEBUG):
	@mkdir -p build && rm -f build/.debug-* && touch $@

$(OBJDIR)/glue/%.o: wasm/%.c $(GLUE_HDRS) Makefile lwip/$(LWIP_VERSION_DIR)/.fetched | emcc-check
	@mkdir -p $(dir $@)
	emcc $(GLUE_CFLAGS) -c $< -o $@
# The checksum is the one place worth SIMD by hand (wasm/chksum.c).
$(OBJDIR)/glue/chksum.o: GLUE_CFLAGS += -msimd128
$(OBJDIR)/lwip/%.o: $(LWIPDIR)/%.c $(GLUE_HDRS) Makefile lwip/$(LWIP_VERSION_DIR)/.fetched | emcc-check
	@mkdir -p $(dir $@)
	@emcc $(LWIP_CFLAGS) -c $< -o $@
$(LWIP_SRCS): lwip/$(LWIP_VERSION_DIR)/.fetched
$(OBJDIR)/tls/%.o: wasm/tls/%.c $(GLUE_HDRS) $(TLS_HDRS) Makefile $(MBEDTLS_DIR)/.fetched | emcc-check
	@mkdir -p $(dir $@)
	emcc $(GLUE_CFLAGS) $(TLS_INCLUDES) -c $< -o $@
$(OBJDIR)/tls/tls_roots.o: build/tls_roots.inc
$(OBJDIR)/mbedtls/%.o: $(MBEDTLS_DIR)/library/%.c $(TLS_HDRS) Makefile $(MBEDTLS_DIR)/.fetched | emcc-check
	@mkdir -p $(dir $@)
	@emcc $(DEP_CFLAGS) $(TLS_INCLUDES) -c $< -o $@
$(MBEDTLS_SRCS): $(MBEDTLS_DIR)/.fetched
# The default trust store, from the ca-certificates installed when this builds.
build/tls_roots.inc: scripts/gen-roots.mjs
	node scripts/gen-roots.mjs

$(WASM): $(GLUE_OBJS) $(LWIP_OBJS) build/.debug-$(DEBUG) build/exports.json build/imports.js
	@# emcc writes the .wasm before its last checks, so link to a temporary name and keep
	@# the result only if the whole link succeeded (a failed link must not leave a wasm).
	emcc $(LDFLAGS) $(GLUE_OBJS) $(LWIP_OBJS) -o build/lwip-link.js || { rm -f build/lwip-link.js build/lwip-link.wasm; exit 1; }
	mv build/lwip-link.wasm $(WASM)
	rm -f build/lwip-link.js

$(TLS_WASM): $(GLUE_OBJS) $(LWIP_OBJS) $(TLS_GLUE_OBJS) $(MBEDTLS_OBJS) build/.debug-$(DEBUG) build/exports-tls.json build/imports.js
	emcc $(TLS_LDFLAGS) $(GLUE_OBJS) $(LWIP_OBJS) $(TLS_GLUE_OBJS) $(MBEDTLS_OBJS) -o build/lwip-tls-link.js || { rm -f build/lwip-tls-link.*; exit 1; }
	mv build/lwip-tls-link.wasm $(TLS_WASM)
	rm -f build/lwip-tls-link.js

$(LLHTTP_WASM): $(LLHTTP_DIR)/.fetched Makefile | emcc-check
	emcc -Os -flto -mbulk-memory -Wno-everything -Werror=implicit-function-declaration -Werror=implicit-int -I$(LLHTTP_DIR) $(LLHTTP_DIR)/llhttp.c $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c \
	  --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=256KB -sTOTAL_STACK=32768 \
	  -sERROR_ON_UNDEFINED_SYMBOLS=0 -sWARN_ON_UNDEFINED_SYMBOLS=0 -sFILESYSTEM=0 \
	  -sEXPORTED_FUNCTIONS=$(subst $(space),,$(LLHTTP_EXPORTS)) -o build/llhttp-link.js || { rm -f build/llhttp-link.*; exit 1; }
	mv build/llhttp-link.wasm $@
	rm -f build/llhttp-link.js
space := $(empty) $(empty)

# Rollup runs only when a source, its config or the dependencies changed (dist/index.js
# stands for all its outputs); the wasm is copied only when it changed.
GEN_INLINE := src/gen/wasm-inline.ts src/gen/tls-wasm-inline.ts src/gen/llhttp-wasm.ts
TS_SRCS := $(shell find src -name '*.ts' -not -path 'src/gen/*') src/gen/abi.ts src/gen/constants.ts $(GEN_INLINE)
ts: gen wasm node_modules/.package-lock.json $(GEN_INLINE) dist/index.js
	@mkdir -p dist && { cmp -s $(WASM) dist/lwip.wasm || cp $(WASM) dist/lwip.wasm; }
	@{ cmp -s $(TLS_WASM) dist/lwip-tls.wasm || cp $(TLS_WASM) dist/lwip-tls.wasm; }
	@{ cmp -s $(LLHTTP_WASM) dist/llhttp.wasm || cp $(LLHTTP_WASM) dist/llhttp.wasm; }
# Shared chunks are named by content hash, so the last build's files go first (all but
# the wasm), or stale chunks would pile up and ship.
dist/index.js: $(TS_SRCS) rollup.config.mjs tsconfig.json package-lock.json | node_modules/.package-lock.json
	@rm -f $(wildcard dist/*.js dist/*.cjs dist/*.ts dist/*.cts dist/*.map)
	npx rollup -c --silent
	@touch $@

# The tests also use the DEBUG wasm (below) for the frame fuzzer.
test: setup all debug-wasm
	npm test

demo: setup-build all
	node examples/demo.mjs

clean:
	rm -rf build dist src/gen
distclean: clean
	rm -rf lwip/$(LWIP_VERSION_DIR) node_modules

# --- The optional TAP addon (native/tap, Linux, N-API) ---------------------------------
# Built here, never at install time: native/tap/build.mjs runs prebuildify, and the
# prebuild (prebuilds/<platform>-<arch>/tap.<libc>.node) ships in the tarball, where
# node-gyp-build finds it. A checkout that cannot compile it still builds everything
# else (the script says why); `make package`, which `npm pack` runs, insists on it.
ADDON_TUPLE := $(shell node -p 'process.platform + "-" + process.arch' 2>/dev/null)
ADDON_LIBC := $(if $(wildcard /etc/alpine-release),musl,glibc)
ADDON := native/tap/prebuilds/$(ADDON_TUPLE)/tap.$(ADDON_LIBC).node
ADDON_FLAGS :=
.PHONY: addon clean-addon package
all: addon
addon: $(ADDON)
$(ADDON): native/tap/tap.c native/tap/binding.gyp native/tap/build.mjs | node_modules/.package-lock.json
	@node native/tap/build.mjs $(ADDON_FLAGS)
clean: clean-addon
clean-addon:
	rm -rf native/tap/build native/tap/prebuilds

# What the tarball needs (package.json's prepack): everything built, and the addon's
# prebuild without fail, since installing the package compiles nothing.
package: ADDON_FLAGS := --strict
package: all

# A DEBUG wasm (lwIP's assertions on) beside the normal one lets the frame fuzzer run
# with every assertion armed. It has its own objects (build/obj-1) and folder;
# build/lwip.wasm is left alone.
DEBUG_WASM := build/debug/lwip.wasm
debug-wasm: fetch
	@$(MAKE) --no-print-directory DEBUG=1 $(DEBUG_WASM)
$(DEBUG_WASM): $(GLUE_OBJS) $(LWIP_OBJS) build/exports.json build/imports.js
	@mkdir -p $(dir $@)
	emcc $(LDFLAGS) $(GLUE_OBJS) $(LWIP_OBJS) -o build/debug/lwip-link.js || { rm -f build/debug/lwip-link.*; exit 1; }
	mv build/debug/lwip-link.wasm $@
	rm -f build/debug/lwip-link.js
.PHONY: debug-wasm
