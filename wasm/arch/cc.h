/* Compiler and platform glue for lwIP on wasm32 (emscripten, clang). */
#ifndef LWIP_WASM_ARCH_CC_H
#define LWIP_WASM_ARCH_CC_H

#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>

#define LWIP_NO_INTTYPES_H 0
#define LWIP_RAND() ((u32_t)lw_rand())


/* Diagnostics go to JS through one import; an assert also traps, so JS sees a wasm
 * RuntimeError and fails the stack instead of continuing on corrupt state. */
void lw_diag(const char *fmt, ...);
void lw_assert_fail(const char *msg, int line, const char *file);
unsigned int lw_rand(void);

#define LWIP_PLATFORM_DIAG(x) do { lw_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { lw_assert_fail((x), __LINE__, __FILE__); } while (0)

#endif /* LWIP_WASM_ARCH_CC_H */
