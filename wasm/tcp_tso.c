/* TCP segmentation offload (patch 0031) on an interface that cuts segments itself: a
 * TAP device with offload, whose kernel takes one TCP segment of up to 64 KiB and the
 * size to cut it to, as a NIC with TSO does; or an in-memory pair with offload, whose
 * far stack takes the segment whole (and a router cuts it, rx_gso.c). tcp_write builds segments of several MSS
 * for such an interface; tcp_output cuts the first unsent one down to the whole MSS the
 * windows allow now; and while a segment longer than one MSS is sent, the outbox record
 * carries the largest IP packet the link may cut it into (lw_tx_seg_max). pcb->mss
 * stays the MSS, so congestion control counts as before. */
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lw.h"
#include "hooks.h"
#include "tcp_loss.h"

/* Payload bytes in one segment at most, so its frame (with IPv6, TCP options and an
 * 802.1Q tag) stays under the 65535 bytes a pbuf and an IP length can hold. */
#define TSO_PAYLOAD_MAX 64000u

u32_t lw_tx_seg_max;
/* Set once any interface has had TSO: stacks without one skip the route lookup below. */
static u8_t tso_seen;

/* LWIP_TCP_OPT_LENGTH is a bare sum: `mss - LWIP_TCP_OPT_LENGTH(f)` would add the
 * options instead of taking them off. */
#define TSO_OPTLEN(flags) ((u16_t)(LWIP_TCP_OPT_LENGTH(flags)))

static struct netif *
tso_route(const struct tcp_pcb *pcb)
{
  if (pcb->netif_idx != NETIF_NO_INDEX) {
    return netif_get_by_index(pcb->netif_idx);
  }
  return ip_route(&pcb->local_ip, &pcb->remote_ip);
}

/* The largest segment tcp_write builds, options included: a whole number of MSS-sized
 * payloads on an interface with TSO, one MSS elsewhere. */
u16_t
tcp_tso_seg_size(const struct tcp_pcb *pcb)
{
  struct netif *netif;
  /* the options tcp_write puts in every data segment */
  u16_t opt = (pcb->flags & TF_TIMESTAMP) ? TSO_OPTLEN(TF_SEG_OPTS_TS) : 0;
  u16_t pm;
  if (!tso_seen) {
    return pcb->mss;
  }
  netif = tso_route(pcb);
  if (netif == NULL || !(netif->flags & LW_NETIF_FLAG_TSO) || pcb->mss <= opt) {
    return pcb->mss;
  }
  pm = (u16_t)(pcb->mss - opt);
  if (pm > TSO_PAYLOAD_MAX / 2) {
    return pcb->mss;   /* a jumbo MSS: two would not fit one segment */
  }
  return (u16_t)((TSO_PAYLOAD_MAX / pm) * pm + opt);
}

/* Cuts the first unsent segment to the whole MSS that fit both windows now, if it is
 * larger; nothing when not even one fits (tcp_output then waits, or probes, as for any
 * segment). */
void
tcp_tso_fit(struct tcp_pcb *pcb, u32_t wnd)
{
  struct tcp_seg *seg = pcb->unsent;
  u32_t pm, used, room;
  if (!tso_seen || seg == NULL || pcb->mss <= TSO_OPTLEN(seg->flags)) {
    return;
  }
  pm = pcb->mss - TSO_OPTLEN(seg->flags);
  if (seg->len <= pm) {
    return;
  }
  used = lwip_ntohl(seg->tcphdr->seqno) - pcb->lastack;
  room = wnd > used ? wnd - used : 0;
  if (!(pcb->loss.flags & TCP_LOSS_F_PROBE)) {
    u32_t flight = tcp_loss_in_flight(pcb);
    u32_t cwroom = pcb->cwnd > flight ? pcb->cwnd - flight : 0;
    room = LWIP_MIN(room, cwroom);
  }
  if (room >= pm) {
    tcp_tso_cut(pcb, seg, room);   /* on ERR_MEM it stays whole, and waits */
  }
}

/* Cuts seg, a segment of several MSS (the first unsent, or a sent one in pcb->unacked),
 * to the whole MSS that fit room (one at least, so it can go once one fits); the rest
 * follows it as a segment of its own with the same marks. A lost segment is so resent in the pieces the congestion
 * window allows, as Linux's tcp_fragment does; whole, it might never fit (cwnd is one
 * MSS after a timeout). Returns 1 if seg now fits room. */
int
tcp_tso_cut(struct tcp_pcb *pcb, struct tcp_seg *seg, u32_t room)
{
  struct tcp_seg *unsent = pcb->unsent;
  u32_t pm, fit;
  err_t err;
  if (pcb->mss <= TSO_OPTLEN(seg->flags)) {
    return 0;
  }
  pm = pcb->mss - TSO_OPTLEN(seg->flags);
  fit = LWIP_MAX(room - room % pm, pm);
  if (seg->len <= fit) {
    return TCP_TCPLEN(seg) <= room;
  }
  /* tcp_split_unsent_seg cuts the head of pcb->unsent and links the rest right after
   * it (for a sent segment, into pcb->unacked) */
  pcb->unsent = seg;
  err = tcp_split_unsent_seg(pcb, (u16_t)fit);
  pcb->unsent = unsent;
  if (err != ERR_OK || seg->next == NULL) {
    return 0;
  }
  seg->next->loss = seg->loss;
  return TCP_TCPLEN(seg) <= room;
}

/* Around tcp_output_segment's ip_output_if: a segment longer than one MSS on an
 * interface with TSO gets the largest IP packet it may be cut into (the MSS plus the
 * fixed headers it was computed from); anything else, 0. */
void
tcp_tso_seg_out(const struct tcp_pcb *pcb, const struct tcp_seg *seg)
{
  lw_tx_seg_max = 0;
  if (pcb != NULL && seg != NULL && seg->len + TSO_OPTLEN(seg->flags) > pcb->mss) {
    lw_tx_seg_max = (u32_t)pcb->mss + (IP_IS_V6(&pcb->remote_ip) ? 60u : 40u);
  }
}

/* ip4_output_if and ip6_output_if leave a packet over the MTU whole for the interface
 * to cut: only a TCP segment being sent, on an interface with TSO. */
int
tcp_tso_no_frag(const struct netif *netif)
{
  return lw_tx_seg_max != 0 && (netif->flags & LW_NETIF_FLAG_TSO) != 0;
}

/* Turns segmentation offload on or off for an interface (a TAP or a pair with offload). */
LW_EXPORT int
netif_set_tso(int ifindex, int on)
{
  struct netif *netif = (ifindex > 0 && ifindex < 256) ? netif_get_by_index((u8_t)ifindex) : NULL;
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  if (on) {
    netif->flags |= LW_NETIF_FLAG_TSO;
    tso_seen = 1;
  } else {
    netif->flags &= (u8_t)~LW_NETIF_FLAG_TSO;
  }
  return 0;
}
