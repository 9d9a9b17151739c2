/* Frames from the kernel through a TAP with offload, or from another stack through an
 * in-memory pair with offload, on a stack that forwards.
 *
 * With offload the kernel hands over TCP segments larger than the MTU (the size it
 * meant to cut them to rides along), and TCP and UDP checksums that may be partial:
 * only the pseudo-header's sum, as the kernel leaves them for a NIC to finish. A host
 * takes such frames as they are (lwIP does not mind either, and Linux does the same
 * with GRO). A router must not pass them on: the next link would see a packet over its
 * MTU, or a bad checksum. So on a stack that forwards, each such frame is first cut to
 * the intended size and every checksum completed, as Linux's software GSO does, and
 * the pieces are fed in order, whether they are for this stack or not. A pair's
 * segments carry complete checksums; they are computed again all the same, for each
 * piece. */
#include <string.h>
#include "lwip/inet_chksum.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lw.h"

#define GSO_TCP 6
#define GSO_UDP 17

/* Where a frame's headers are: l3 (IP), l4 (TCP or UDP), data (the payload), end (the
 * IP packet's end, which may be before the frame's: ethernet padding). */
struct gso_frame {
  u16_t l3, l4, data, end;
  u8_t v6, proto;
};

static u16_t
gso_be16(const u8_t *b)
{
  return (u16_t)((b[0] << 8) | b[1]);
}

static void
gso_put16(u8_t *b, u16_t v)
{
  b[0] = (u8_t)(v >> 8);
  b[1] = (u8_t)v;
}

/* Finds the headers of a TCP or UDP packet over IPv4 or IPv6 (no extension headers, not
 * a fragment: the kernel offloads neither). Returns 0, or -1 for anything else. */
static int
gso_parse(const u8_t *f, u16_t len, struct gso_frame *g)
{
  u16_t type, off = 14;
  if (len < 14) {
    return -1;
  }
  type = gso_be16(f + 12);
  if (type == 0x8100) {
    if (len < 18) {
      return -1;
    }
    type = gso_be16(f + 16);
    off = 18;
  }
  g->l3 = off;
  if (type == 0x0800) {
    u16_t ihl, tot;
    if (len < off + 20 || (f[off] >> 4) != 4) {
      return -1;
    }
    ihl = (u16_t)((f[off] & 0x0f) * 4);
    tot = gso_be16(f + off + 2);
    if (ihl < 20 || tot < ihl || (u32_t)off + tot > len || (gso_be16(f + off + 6) & 0x3fff) != 0) {
      return -1;
    }
    g->v6 = 0;
    g->proto = f[off + 9];
    g->l4 = (u16_t)(off + ihl);
    g->end = (u16_t)(off + tot);
  } else if (type == 0x86dd) {
    u32_t plen;
    if (len < off + 40 || (f[off] >> 4) != 6) {
      return -1;
    }
    plen = gso_be16(f + off + 4);
    if ((u32_t)off + 40 + plen > len) {
      return -1;
    }
    g->v6 = 1;
    g->proto = f[off + 6];
    g->l4 = (u16_t)(off + 40);
    g->end = (u16_t)(off + 40 + plen);
  } else {
    return -1;
  }
  if (g->proto == GSO_TCP) {
    u16_t doff;
    if (g->l4 + 20 > g->end) {
      return -1;
    }
    doff = (u16_t)((f[g->l4 + 12] >> 4) * 4);
    if (doff < 20 || g->l4 + doff > g->end) {
      return -1;
    }
    g->data = (u16_t)(g->l4 + doff);
  } else if (g->proto == GSO_UDP) {
    if (g->l4 + 8 > g->end) {
      return -1;
    }
    g->data = (u16_t)(g->l4 + 8);
  } else {
    return -1;
  }
  return 0;
}

/* The TCP or UDP checksum over q's transport part and its pseudo-header, taking the
 * checksum field as it stands: the value to store if the field is 0, or 0 if the field
 * is right. */
static u16_t
gso_l4_sum(struct pbuf *q, const struct gso_frame *g)
{
  const u8_t *f = (const u8_t *)q->payload;
  u16_t l4len = (u16_t)(q->tot_len - g->l4);
  u16_t sum;
  pbuf_remove_header(q, g->l4);
  if (g->v6) {
    ip6_addr_t src, dst;
    memset(&src, 0, sizeof src);
    memset(&dst, 0, sizeof dst);
    memcpy(src.addr, f + g->l3 + 8, 16);
    memcpy(dst.addr, f + g->l3 + 24, 16);
    sum = ip6_chksum_pseudo(q, g->proto, l4len, &src, &dst);
  } else {
    ip4_addr_t src, dst;
    memcpy(&src.addr, f + g->l3 + 12, 4);
    memcpy(&dst.addr, f + g->l3 + 16, 4);
    sum = inet_chksum_pseudo(q, g->proto, l4len, &src, &dst);
  }
  pbuf_add_header(q, g->l4);
  return sum;
}

/* Sets the length fields and every checksum of one complete packet in q (one pbuf). */
static void
gso_finish(struct pbuf *q, const struct gso_frame *g)
{
  u8_t *f = (u8_t *)q->payload;
  u16_t l4len = (u16_t)(q->tot_len - g->l4);
  u16_t at = (u16_t)(g->l4 + (g->proto == GSO_TCP ? 16 : 6));
  u16_t sum;
  if (g->v6) {
    gso_put16(f + g->l3 + 4, l4len);
  } else {
    gso_put16(f + g->l3 + 2, (u16_t)(q->tot_len - g->l3));
    f[g->l3 + 10] = f[g->l3 + 11] = 0;
    sum = inet_chksum(f + g->l3, (u16_t)(g->l4 - g->l3));
    memcpy(f + g->l3 + 10, &sum, 2);
  }
  if (g->proto == GSO_UDP) {
    gso_put16(f + g->l4 + 4, l4len);
  }
  f[at] = f[at + 1] = 0;
  sum = gso_l4_sum(q, g);
  if (g->proto == GSO_UDP && sum == 0) {
    sum = 0xffff;   /* 0 means "no checksum" in UDP */
  }
  memcpy(f + at, &sum, 2);
}

/* Whether the IP header and the TCP or UDP checksum of q (one pbuf, ending where the
 * IP packet ends) are right as they stand. */
static int
gso_valid(struct pbuf *q, const struct gso_frame *g)
{
  u8_t *f = (u8_t *)q->payload;
  if (!g->v6 && inet_chksum(f + g->l3, (u16_t)(g->l4 - g->l3)) != 0) {
    return 0;
  }
  if (g->proto == GSO_UDP && !g->v6 && f[g->l4 + 6] == 0 && f[g->l4 + 7] == 0) {
    return 1;   /* IPv4 UDP without a checksum */
  }
  return gso_l4_sum(q, g) == 0;
}

/* Cuts p (one pbuf, a whole frame) into packets of the size its lw_rx flags give (none:
 * one), completes them and feeds them to netif. Takes p. Returns the number fed. */
int
rx_gso_feed(struct netif *netif, struct pbuf *p, u32_t flags)
{
  struct gso_frame g;
  u8_t *f = (u8_t *)p->payload;
  u32_t total, off, seq = 0, mss = flags >> LW_RX_GSO_SHIFT;
  u16_t ipid = 0;
  int taken = 0, i;
  if (p->next != NULL || gso_parse(f, p->len, &g) != 0) {
    /* nothing a link offloads: its checksums are complete, so check them */
    return stack_rx_feed(netif, p, 1);
  }
  pbuf_realloc(p, g.end);   /* without ethernet padding */
  if ((flags & (LW_RX_TRUSTED | LW_RX_PARTIAL)) == 0 && !gso_valid(p, &g)) {
    /* nobody vouched for it (a segment some code sent on a pair itself): checked whole,
     * before its pieces get checksums of their own */
    pbuf_free(p);
    lw_input_drops++;
    LINK_STATS_INC(link.chkerr);
    return 0;
  }
  if (flags & LW_RX_SEG_IP) {
    /* the largest IP packet a piece may be: the payload is what the headers leave */
    u32_t hdrs = (u32_t)(g.data - g.l3);
    mss = mss > hdrs ? mss - hdrs : 0;
  }
  total = (u32_t)(g.end - g.data);
  if (g.proto != GSO_TCP || mss == 0 || total <= mss) {
    gso_finish(p, &g);
    return stack_rx_feed(netif, p, 0);
  }
  if (g.v6 == 0) {
    ipid = gso_be16(f + g.l3 + 4);
  }
  seq = ((u32_t)gso_be16(f + g.l4 + 4) << 16) | gso_be16(f + g.l4 + 6);
  for (off = 0, i = 0; off < total; off += mss, i++) {   /* total / mss pieces, at most 65535 */
    u16_t n = (u16_t)LWIP_MIN(mss, total - off);   /* mss < total <= 65535 */
    struct pbuf *q = pbuf_alloc(PBUF_RAW, (u16_t)(g.data + n), PBUF_RAM);
    u8_t *h;
    if (q == NULL) {
      lw_input_drops++;
      LINK_STATS_INC(link.memerr);
      continue;   /* a lost piece, as a full queue would lose it; TCP sends it again */
    }
    h = (u8_t *)q->payload;
    memcpy(h, f, g.data);
    memcpy(h + g.data, f + g.data + off, n);
    if (g.v6 == 0) {
      gso_put16(h + g.l3 + 4, (u16_t)(ipid + i));
    }
    gso_put16(h + g.l4 + 4, (u16_t)((seq + off) >> 16));
    gso_put16(h + g.l4 + 6, (u16_t)(seq + off));
    if (off + n < total) {
      h[g.l4 + 13] &= (u8_t)~0x09;   /* FIN and PSH only on the last piece */
    }
    if (off > 0) {
      h[g.l4 + 13] &= (u8_t)~0x80;   /* CWR only on the first */
    }
    gso_finish(q, &g);
    taken += stack_rx_feed(netif, q, 0);
  }
  pbuf_free(p);
  return taken;
}
