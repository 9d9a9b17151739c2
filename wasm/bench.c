/* A plain memory copy inside the module, for the benchmark's "copies per byte": the
 * stack's throughput is reported against the rate at which this same wasm copies. */
#include <string.h>
#include "lw.h"

/* Copies len bytes from src to dst reps times; returns the last byte copied, so the
 * copies cannot be optimised away. */
LW_EXPORT u32_t
bench_memcpy(u8_t *dst, const u8_t *src, u32_t len, u32_t reps)
{
  u32_t i;
  if (len == 0) {
    return 0;
  }
  for (i = 0; i < reps; i++) {
    memcpy(dst, src, len);
  }
  return dst[len - 1];
}
