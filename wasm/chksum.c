/* The Internet checksum for lwIP (LWIP_CHKSUM, LWIP_CHKSUM_COPY), 8 bytes at a time.
 * wasm has 64-bit integers and cheap unaligned loads, so one pass of 64-bit adds with
 * end-around carry replaces lwIP's portable 16-bit loop; the copying form sums while it
 * copies, so TCP's send path reads its data once (LWIP_CHECKSUM_ON_COPY).
 *
 * Both return the one's complement sum of the bytes taken as little-endian 16-bit words
 * (an odd last byte is the low byte), folded to 16 bits and not complemented, as
 * lwip_standard_chksum does. */
#include <stdint.h>
#include <string.h>
#include "lwip/opt.h"

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

u16_t
lw_chksum(const void *dataptr, int len)
{
  const u8_t *p = (const u8_t *)dataptr;
  uint64_t acc = 0;
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
