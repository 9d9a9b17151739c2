/* The Internet checksum for lwIP (LWIP_CHKSUM, LWIP_CHKSUM_COPY), 8 bytes at a time.
 * wasm has 64-bit integers and cheap unaligned loads, so one pass of 64-bit adds with
 * end-around carry replaces lwIP's portable 16-bit loop; the copying form sums while it
 * copies, so TCP's send path reads its data once (LWIP_CHECKSUM_ON_COPY).
 *
 * Both return the one's complement sum of the bytes taken as little-endian 16-bit words
 * (an odd last byte is the low byte), folded to 16 bits and not complemented, as
 * lwip_standard_chksum does.
 *
 * Built with SIMD (the Makefile gives this file -msimd128), the bulk of each buffer is
 * summed 64 bytes a step: each 16-byte vector's eight 16-bit words are added pairwise
 * into four 32-bit lanes. Any grouping of the words gives the same sum modulo 0xffff,
 * since 2^16 = 1 there, so the lanes simply join the 64-bit accumulator at the end. */
#include <stdint.h>
#include <string.h>
#include "lwip/opt.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

static u16_t
fold(uint64_t acc)
{
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffffffu) + (acc >> 32);
  acc = (acc & 0xffffu) + (acc >> 16);
  acc = (acc & 0xffffu) + (acc >> 16);
  return (u16_t)acc;
}

/* acc + w with the carry out of bit 63 added back in. */
#define ADDC(acc, w) do { uint64_t w_ = (w); (acc) += w_; (acc) += ((acc) < w_); } while (0)

static uint64_t
tail(uint64_t acc, const u8_t *p, int len)
{
  uint64_t w = 0;
  memcpy(&w, p, (size_t)len);   /* len < 8: the bytes land little-endian, as the words do */
  ADDC(acc, w);
  return acc;
}

#ifdef __wasm_simd128__
/* Lanes grow by at most 4 * 2 * 0xffff a step, so 4096 steps (256 KiB) cannot overflow
 * them; longer buffers are summed a block at a time. */
#define SIMD_BLOCK_STEPS 4096

static uint64_t
lanes_total(v128_t v)
{
  return (uint64_t)wasm_u32x4_extract_lane(v, 0) + wasm_u32x4_extract_lane(v, 1) +
         wasm_u32x4_extract_lane(v, 2) + wasm_u32x4_extract_lane(v, 3);
}

/* Sums (and, when d is not NULL, copies) the whole 64-byte steps of *len bytes. */
static uint64_t
simd_sum(const u8_t **s, u8_t **d, int *len)
{
  uint64_t acc = 0;
  /* bounded by *len (a packet's length): each pass of either loop takes 64 bytes */
  while (*len >= 64) {
    v128_t lanes = wasm_i32x4_splat(0);
    int steps = 0;
    while (*len >= 64 && steps < SIMD_BLOCK_STEPS) {
      v128_t a = wasm_v128_load(*s), b = wasm_v128_load(*s + 16);
      v128_t c = wasm_v128_load(*s + 32), e = wasm_v128_load(*s + 48);
      if (*d != NULL) {
        wasm_v128_store(*d, a);
        wasm_v128_store(*d + 16, b);
        wasm_v128_store(*d + 32, c);
        wasm_v128_store(*d + 48, e);
        *d += 64;
      }
      lanes = wasm_i32x4_add(lanes, wasm_i32x4_add(
        wasm_i32x4_add(wasm_u32x4_extadd_pairwise_u16x8(a), wasm_u32x4_extadd_pairwise_u16x8(b)),
        wasm_i32x4_add(wasm_u32x4_extadd_pairwise_u16x8(c), wasm_u32x4_extadd_pairwise_u16x8(e))));
      *s += 64;
      *len -= 64;
      steps++;
    }
    ADDC(acc, lanes_total(lanes));
  }
  return acc;
}
#endif

u16_t
lw_chksum(const void *dataptr, int len)
{
  const u8_t *p = (const u8_t *)dataptr;
  uint64_t acc = 0;
#ifdef __wasm_simd128__
  u8_t *none = NULL;
  acc = simd_sum(&p, &none, &len);
#endif
  /* bounded by len (a pbuf's 16-bit length): each pass takes 32, then 8 bytes */
  while (len >= 32) {
    uint64_t w[4];
    memcpy(w, p, 32);
    ADDC(acc, w[0]);
    ADDC(acc, w[1]);
    ADDC(acc, w[2]);
    ADDC(acc, w[3]);
    p += 32;
    len -= 32;
  }
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    ADDC(acc, w);
    p += 8;
    len -= 8;
  }
  if (len > 0) {
    acc = tail(acc, p, len);
  }
  return fold(acc);
}

u16_t
lw_chksum_copy(void *dst, const void *src, u16_t len)
{
  u8_t *d = (u8_t *)dst;
  const u8_t *s = (const u8_t *)src;
  int n = len;
  uint64_t acc = 0;
#ifdef __wasm_simd128__
  acc = simd_sum(&s, &d, &n);
#endif
  /* bounded by len (16-bit): each pass takes 8 bytes */
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, s, 8);
    memcpy(d, &w, 8);
    ADDC(acc, w);
    s += 8;
    d += 8;
    n -= 8;
  }
  if (n > 0) {
    memcpy(d, s, (size_t)n);
    acc = tail(acc, s, n);
  }
  return fold(acc);
}
