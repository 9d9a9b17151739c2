/* Frames in. JS asks for a pbuf per frame (stack_rx_alloc), copies each frame straight
 * into its pbuf's payload, and hands the pbufs to their interfaces (stack_rx_input):
 * one copy per byte between a link's buffer and lwIP. A pbuf may wait between the two
 * calls (an in-memory pair copies a frame into the receiving stack when it is sent and
 * delivers it a turn later), so JS names pbufs by slot, never by pointer: a stale or
 * forged slot is refused here, not followed. */
#include <stdlib.h>
#include <string.h>
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/stats.h"
#include "lw.h"
#include "tcp_guard.h"
#include "hooks.h"

/* A frame that may be a SYN ending a TIME_WAIT is kept this far, since lwIP turns the
 * TCP header to host order in place and the frame must be fed a second time. */
#define RX_KEEP 256
#define RX_CHECKS (NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP | NETIF_CHECKSUM_CHECK_TCP | \
                   NETIF_CHECKSUM_CHECK_ICMP | NETIF_CHECKSUM_CHECK_ICMP6)

u32_t lw_input_drops;
static struct lw_rx recs[LW_RX_BATCH];
static struct pbuf **slots;   /* slot i (from 1) holds an allocated, not yet fed pbuf */
static u32_t *slot_flags;     /* and the lw_rx flags it was allocated with */
static u32_t *free_slots;
static u32_t nslots, nfree;

/* The record area JS fills before stack_rx_alloc and stack_rx_input (LW_RX_BATCH
 * records; it never moves). */
LW_EXPORT struct lw_rx *
stack_rx_recs(void)
{
  return recs;
}

static struct netif *
rx_netif(u32_t ifindex)
{
  struct netif *netif = (ifindex > 0 && ifindex < 256) ? netif_get_by_index((u8_t)ifindex) : NULL;
  return netif != NULL && netif_is_up(netif) ? netif : NULL;
}

/* A frame's length fits the interface: a 14-byte header, an optional 802.1Q tag, and
 * at most one MTU; or, for a segment the kernel left for us to cut (a TAP with
 * offload), at most one IP packet. */
static int
rx_fits(const struct netif *netif, u32_t len, u32_t flags)
{
  u32_t most = (flags >> LW_RX_GSO_SHIFT) != 0 ? 0xffffu : (u32_t)netif->mtu + 18u;
  return len >= 14 && len <= most;
}

static u32_t
slot_take(struct pbuf *p, u32_t flags)
{
  u32_t i;
  if (nfree == 0) {
    /* the table doubles; each slot is a frame JS holds, which its links' high-water
     * marks bound */
    u32_t cap = nslots ? nslots * 2 : 256;
    struct pbuf **s;
    u32_t *f = (u32_t *)realloc(free_slots, cap * sizeof(*f));
    if (f == NULL) {
      return 0;
    }
    free_slots = f;
    s = (struct pbuf **)realloc(slots, (cap + 1) * sizeof(*s));
    if (s == NULL) {
      return 0;
    }
    slots = s;
    f = (u32_t *)realloc(slot_flags, (cap + 1) * sizeof(*f));
    if (f == NULL) {
      return 0;
    }
    slot_flags = f;
    for (i = cap; i > nslots; i--) {   /* bounded by cap - nslots */
      slots[i] = NULL;
      free_slots[nfree++] = i;
    }
    nslots = cap;
  }
  i = free_slots[--nfree];
  slots[i] = p;
  slot_flags[i] = flags;
  return i;
}

/* Takes the pbuf slot i holds back, and the flags it was allocated with. */
static struct pbuf *
slot_give(u32_t i, u32_t *flags)
{
  struct pbuf *p;
  if (i == 0 || i > nslots || slots[i] == NULL) {
    return NULL;
  }
  p = slots[i];
  *flags = slot_flags[i];
  slots[i] = NULL;
  free_slots[nfree++] = i;
  return p;
}

/* For each of the first n records (ifindex, len and flags set), allocates a pbuf and
 * fills in slot and payload (the slot keeps the flags); a frame no interface can take, or one memory cannot hold, gets
 * slot 0 and is counted as dropped. Returns n, or -EINVAL for a bad n. */
LW_EXPORT int
stack_rx_alloc(int n)
{
  int i;
  if (n < 0 || n > LW_RX_BATCH) {
    return -LW_EINVAL;
  }
  for (i = 0; i < n; i++) {
    struct lw_rx *r = &recs[i];
    struct netif *netif = rx_netif(r->ifindex);
    struct pbuf *p = NULL;
    r->slot = 0;
    r->payload = 0;
    if (netif == NULL || !rx_fits(netif, r->len, r->flags)) {
      lw_input_drops++;
      LINK_STATS_INC(link.drop);
      continue;
    }
    p = pbuf_alloc(PBUF_RAW, (u16_t)r->len, PBUF_RAM);
    if (p == NULL || (r->slot = slot_take(p, r->flags)) == 0) {
      if (p != NULL) {
        pbuf_free(p);
      }
      lw_input_drops++;
      LINK_STATS_INC(link.memerr);
      continue;
    }
    r->payload = (u32_t)(uintptr_t)p->payload;
  }
  return n;
}

/* Hands one filled pbuf to its interface. Returns 1 if lwIP took it. */
static int
rx_feed(struct netif *netif, struct pbuf *p)
{
  u8_t keep[RX_KEEP];
  u16_t len = p->tot_len;
  if (len <= RX_KEEP) {
    memcpy(keep, p->payload, len);
  }
  LINK_STATS_INC(link.recv);
  tcp_guard_retry = 0;
  if (netif->input(p, netif) != ERR_OK) {
    pbuf_free(p);
    LINK_STATS_INC(link.drop);
    return 0;
  }
  /* tcp_guard ended a TIME_WAIT for this SYN: the listener gets it now (once). */
  if (tcp_guard_retry && len <= RX_KEEP && netif_is_up(netif)) {
    struct pbuf *again = pbuf_alloc(PBUF_RAW, len, PBUF_RAM);
    tcp_guard_retry = 0;
    if (again != NULL) {
      memcpy(again->payload, keep, len);
      if (netif->input(again, netif) != ERR_OK) {
        pbuf_free(again);
      }
    }
  }
  tcp_guard_retry = 0;
  return 1;
}

/* rx_feed with the interface's checksum checks on, or off for a frame whose checksums
 * are known good (or, from the kernel, known valid though partial). */
int
stack_rx_feed(struct netif *netif, struct pbuf *p, int check)
{
  u16_t flags = netif->chksum_flags;
  int taken;
  if (check) {
    return rx_feed(netif, p);
  }
  NETIF_SET_CHECKSUM_CTRL(netif, flags & ~RX_CHECKS);
  taken = rx_feed(netif, p);
  NETIF_SET_CHECKSUM_CTRL(netif, flags);
  return taken;
}

/* Feeds the pbufs the first n records name (slot and ifindex; the frame's bytes
 * written into payload) to their interfaces, in order. A slot that names nothing is
 * skipped; a frame whose interface went away meanwhile is dropped and counted.
 * A trusted frame came from another stack's outbox untouched (an in-memory pair with
 * offload): its checksums are not checked again, as Linux trusts frames from
 * loopback and veth (checksum offload); they are still computed when sent, so a
 * capture shows them right. A partial one came from the kernel through a TAP with
 * offload. A host takes a partial one, or a segment over the MTU (TSO on the far side:
 * a TAP's kernel, or a pair's stack), as it is; a router cuts and completes it first
 * (rx_gso.c). The flags are those the slot was allocated with, not the record's.
 * Returns the number lwIP took. */
LW_EXPORT int
stack_rx_input(int n)
{
  int i, taken = 0;
  if (n < 0 || n > LW_RX_BATCH) {
    return -LW_EINVAL;
  }
  for (i = 0; i < n; i++) {
    u32_t flags;
    struct pbuf *p = slot_give(recs[i].slot, &flags);
    struct netif *netif;
    if (p == NULL) {
      continue;
    }
    netif = rx_netif(recs[i].ifindex);
    if (netif == NULL || !rx_fits(netif, p->tot_len, flags)) {
      pbuf_free(p);
      lw_input_drops++;
      LINK_STATS_INC(link.drop);
      continue;
    }
    if (((flags & LW_RX_PARTIAL) != 0 || (flags >> LW_RX_GSO_SHIFT) != 0) && route_forwarding()) {
      taken += rx_gso_feed(netif, p, flags);
    } else {
      taken += stack_rx_feed(netif, p, (flags & (LW_RX_TRUSTED | LW_RX_PARTIAL)) == 0);
    }
  }
  return taken;
}

/* Frees the pbufs the first n records name, unfed (a pair closed with frames in
 * flight). */
LW_EXPORT int
stack_rx_free(int n)
{
  int i;
  if (n < 0 || n > LW_RX_BATCH) {
    return -LW_EINVAL;
  }
  for (i = 0; i < n; i++) {
    u32_t flags;
    struct pbuf *p = slot_give(recs[i].slot, &flags);
    if (p != NULL) {
      pbuf_free(p);
    }
  }
  return 0;
}
