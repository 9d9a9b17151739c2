/* Interception: an interface that takes the TCP connections and UDP datagrams its peer
 * sends to any address, so a stack can be that peer's gateway (the relay's nat mode,
 * src/relay/nat/). Nothing here acts on its own: JS decides every flow.
 *
 * - A packet for an address the interface does not own is accepted (patch 0020's hook)
 *   if it is TCP or UDP (or an IPv6 fragment of one) to a unicast, non-loopback address.
 * - TCP: a listener bound to the interface and to port 0 takes every connection (patch
 *   0021), but a SYN reaches it only once JS has allowed it. The first SYN of a 4-tuple
 *   is held here (a copy, rebuilt in network order) and reported; retransmissions are
 *   dropped meanwhile. JS opens the real connection and gives a verdict: ALLOW feeds
 *   the held SYN back in, and lwIP answers SYN-ACK; RESET answers it with RST (the
 *   real host refused); the UNREACH and PROHIBITED verdicts with the ICMP error a router
 *   would send; DROP forgets it (the real host was silent: the client's next SYN asks
 *   again). So the client's connect mirrors the real one.
 * - UDP: a raw pcb sees every datagram on the interface after reassembly. One for an
 *   address the interface owns, and a port a socket is bound to (the relay's DHCP and
 *   DNS servers), goes on to that socket; every other is queued for JS, which sends
 *   replies back with the remote's address and port as their source.
 *
 * Everything a client can grow is bounded: held SYNs (HELD_MAX an interface) and queued
 * datagrams (UDP_QUEUE_MAX, UDP_QUEUE_BYTES); beyond, packets are dropped and counted. */
#include <stdlib.h>
#include <string.h>
#include "lwip/netif.h"
#include "lwip/raw.h"
#include "lwip/udp.h"
#include "lwip/ip.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/inet_chksum.h"
#include "lwip/stats.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lwip/prot/tcp.h"
#include "lwip/prot/udp.h"
#include "lw.h"
#include "hooks.h"

#define HELD_MAX        256
#define SYN_BYTES_MAX   (IP6_HLEN + 60 + 64)   /* IP header, TCP header with options, a little data */
#define UDP_QUEUE_MAX   512
#define UDP_QUEUE_BYTES (2u * 1024u * 1024u)

struct held_syn {
  struct held_syn *next;
  u32_t id;
  u8_t reported, allowed;
  ip_addr_t src, dst;     /* the client, and where its SYN went */
  u16_t sport, dport;     /* host order */
  u32_t seqno;            /* the client's ISN, host order */
  u16_t len;              /* bytes of pkt: a fresh IP header and the TCP segment */
  u8_t pkt[SYN_BYTES_MAX];
};

struct queued_dgram {
  struct queued_dgram *next;
  struct pbuf *p;         /* the UDP payload */
  ip_addr_t src, dst;
  u16_t sport, dport;
};

struct icept {
  struct lw_changer change;     /* id: the interface; events: LW_INTERCEPT_* */
  struct held_syn *held;
  u32_t nheld;
  struct raw_pcb *udp;
  struct queued_dgram *uq_head, *uq_tail;
  u32_t uq_len, uq_bytes;
};

static struct icept *iceptions[256];
static u32_t next_syn_id = 1;

static struct icept *
icept_get(int ifindex)
{
  return (ifindex > 0 && ifindex < 256) ? iceptions[ifindex] : NULL;
}

static void
icept_post(struct icept *ic)
{
  u32_t ev = 0;
  struct held_syn *h;
  /* bounded: HELD_MAX */
  for (h = ic->held; h != NULL; h = h->next) {
    if (!h->reported) {
      ev |= LW_INTERCEPT_SYN;
      break;
    }
  }
  if (ic->uq_head != NULL) {
    ev |= LW_INTERCEPT_UDP;
  }
  if (ev != 0) {
    change_post(&ic->change, ev);
  }
}

/* --- accepting packets for any address (patch 0020's hooks) -------------------------- */

int
intercept_accept4(struct pbuf *p, struct netif *inp)
{
  const struct ip_hdr *h = (const struct ip_hdr *)p->payload;
  ip4_addr_t dst;
  u8_t proto;
  if (icept_get(netif_get_index(inp)) == NULL || p->len < IP_HLEN) {
    return 0;
  }
  proto = IPH_PROTO(h);
  ip4_addr_copy(dst, h->dest);
  if (proto != IP_PROTO_TCP && proto != IP_PROTO_UDP) {
    return 0;   /* ICMP and the rest only to our own address: no pings answered for others */
  }
  if (ip4_addr_isany_val(dst) || ip4_addr_isloopback(&dst) || ip4_addr_ismulticast(&dst) ||
      ip4_addr_isbroadcast(&dst, inp) || (ip4_addr_get_u32(&dst) & PP_HTONL(0xff000000UL)) == 0) {
    return 0;   /* martians: nothing a gateway forwards */
  }
  return 1;
}

int
intercept_accept6(struct pbuf *p, struct netif *inp)
{
  const struct ip6_hdr *h = (const struct ip6_hdr *)p->payload;
  ip6_addr_t dst;
  u8_t next;
  if (icept_get(netif_get_index(inp)) == NULL || p->len < IP6_HLEN) {
    return 0;
  }
  next = IP6H_NEXTH(h);
  if (next == IP6_NEXTH_FRAGMENT) {
    /* Every fragment's header names the same upper protocol, so a later fragment is
     * judged as its first is. Other extension headers are refused outright. */
    if (p->len < IP6_HLEN + 8) {
      return 0;
    }
    next = ((const u8_t *)p->payload)[IP6_HLEN];
  }
  if (next != IP6_NEXTH_TCP && next != IP6_NEXTH_UDP) {
    return 0;
  }
  ip6_addr_copy_from_packed(dst, h->dest);
  if (ip6_addr_isany_val(dst) || ip6_addr_isloopback(&dst) || ip6_addr_ismulticast(&dst) ||
      ip6_addr_islinklocal(&dst) || ip6_addr_isipv4mappedipv6(&dst)) {
    return 0;
  }
  return 1;
}

/* --- TCP: holding SYNs until JS has a verdict --------------------------------------- */

/* Builds an IP header for a packet of plen payload bytes from src to dst at out;
 * returns its length. */
static u16_t
intercept_ip_header(u8_t *out, const ip_addr_t *src, const ip_addr_t *dst, u8_t proto, u16_t plen, u8_t ttl)
{
  if (IP_IS_V6(dst)) {
    struct ip6_hdr h;
    memset(&h, 0, sizeof(h));
    IP6H_VTCFL_SET(&h, 6, 0, 0);
    IP6H_PLEN_SET(&h, plen);
    IP6H_NEXTH_SET(&h, proto);
    IP6H_HOPLIM_SET(&h, ttl);
    ip6_addr_copy_to_packed(h.src, *ip_2_ip6(src));
    ip6_addr_copy_to_packed(h.dest, *ip_2_ip6(dst));
    memcpy(out, &h, IP6_HLEN);
    return IP6_HLEN;
  } else {
    struct ip_hdr h;
    memset(&h, 0, sizeof(h));
    IPH_VHL_SET(&h, 4, IP_HLEN / 4);
    IPH_LEN_SET(&h, lwip_htons((u16_t)(IP_HLEN + plen)));
    IPH_TTL_SET(&h, ttl);
    IPH_PROTO_SET(&h, proto);
    ip4_addr_copy(h.src, *ip_2_ip4(src));
    ip4_addr_copy(h.dest, *ip_2_ip4(dst));
    IPH_CHKSUM_SET(&h, inet_chksum(&h, IP_HLEN));
    memcpy(out, &h, IP_HLEN);
    return IP_HLEN;
  }
}

/* Keeps a copy of the SYN tcp_input is processing: a fresh IP header, the TCP header
 * turned back to network order (tcp_input turned it to host order in place), its
 * options and any data, with the checksum computed anew. */
static struct held_syn *
intercept_hold(struct icept *ic, const struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len, const u8_t *opt2,
               const struct pbuf *p)
{
  struct held_syn *h;
  struct tcp_hdr th;
  struct pbuf *q;
  u16_t tcplen = (u16_t)(TCP_HLEN + optlen + p->tot_len), iplen;
  const ip_addr_t *src = ip_current_src_addr(), *dst = ip_current_dest_addr();
  if (tcplen + IP6_HLEN > SYN_BYTES_MAX) {
    return NULL;   /* a SYN with this much data is not worth holding: drop it */
  }
  h = (struct held_syn *)calloc(1, sizeof(*h));
  if (h == NULL) {
    return NULL;
  }
  ip_addr_copy(h->src, *src);
  ip_addr_copy(h->dst, *dst);
  h->sport = hdr->src;
  h->dport = hdr->dest;
  h->seqno = hdr->seqno;
  iplen = intercept_ip_header(h->pkt, src, dst, IP_PROTO_TCP, tcplen,
                              IP_IS_V6(dst) ? IP6H_HOPLIM(ip6_current_header()) : IPH_TTL(ip4_current_header()));
  memcpy(&th, hdr, TCP_HLEN);
  th.src = lwip_htons(hdr->src);
  th.dest = lwip_htons(hdr->dest);
  th.seqno = lwip_htonl(hdr->seqno);
  th.ackno = lwip_htonl(hdr->ackno);
  th.wnd = lwip_htons(hdr->wnd);
  th.chksum = 0;
  memcpy(h->pkt + iplen, &th, TCP_HLEN);
  memcpy(h->pkt + iplen + TCP_HLEN, (const u8_t *)hdr + TCP_HLEN, opt1len);
  if (optlen > opt1len) {
    memcpy(h->pkt + iplen + TCP_HLEN + opt1len, opt2, (size_t)(optlen - opt1len));
  }
  pbuf_copy_partial(p, h->pkt + iplen + TCP_HLEN + optlen, p->tot_len, 0);
  h->len = (u16_t)(iplen + tcplen);
  /* The checksum over the rebuilt segment (a pbuf only to use lwIP's pseudo-header sum). */
  q = pbuf_alloc(PBUF_RAW, tcplen, PBUF_ROM);
  if (q != NULL) {
    u16_t sum;
    q->payload = h->pkt + iplen;
    sum = ip_chksum_pseudo(q, IP_PROTO_TCP, tcplen, src, dst);
    pbuf_free(q);
    memcpy(h->pkt + iplen + 16, &sum, 2);
  }
  h->id = next_syn_id;
  next_syn_id = next_syn_id >= 0x7fffffffu ? 1 : next_syn_id + 1;
  h->next = ic->held;
  ic->held = h;
  ic->nheld++;
  return h;
}

static struct held_syn *
intercept_find(struct icept *ic, const ip_addr_t *src, u16_t sport, const ip_addr_t *dst, u16_t dport)
{
  struct held_syn *h;
  /* bounded: HELD_MAX */
  for (h = ic->held; h != NULL; h = h->next) {
    if (h->sport == sport && h->dport == dport && ip_addr_cmp_zoneless(&h->src, src) &&
        ip_addr_cmp_zoneless(&h->dst, dst)) {
      return h;
    }
  }
  return NULL;
}

static void
intercept_unhold(struct icept *ic, struct held_syn *gone)
{
  struct held_syn **pp;
  /* bounded: HELD_MAX */
  for (pp = &ic->held; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == gone) {
      *pp = gone->next;
      ic->nheld--;
      free(gone);
      return;
    }
  }
}

/* LWIP_HOOK_TCP_INPACKET_PCB for a port-0 catch-all listener: a SYN goes on only once
 * JS has allowed it. Returns ERR_OK to let lwIP take the segment, ERR_ABRT to drop it. */
err_t
intercept_tcp_input(struct tcp_pcb *lpcb, const struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
                    const u8_t *opt2, const struct pbuf *p)
{
  struct icept *ic = icept_get(lpcb->netif_idx);
  struct held_syn *h;
  if (ic == NULL || (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN) {
    return ERR_OK;   /* an ACK for no connection gets lwIP's RST; an RST is ignored */
  }
  h = intercept_find(ic, ip_current_src_addr(), hdr->src, ip_current_dest_addr(), hdr->dest);
  if (h != NULL) {
    if (h->allowed) {
      intercept_unhold(ic, h);
      return ERR_OK;
    }
    return ERR_ABRT;   /* a retransmission while JS decides */
  }
  if (ic->nheld >= HELD_MAX || intercept_hold(ic, hdr, optlen, opt1len, opt2, p) == NULL) {
    TCP_STATS_INC(tcp.drop);
    return ERR_ABRT;
  }
  icept_post(ic);
  return ERR_ABRT;
}

/* --- ICMP errors a router sends ---------------------------------------------------- */

/* Sends the client an ICMP destination unreachable (code in the family's numbering)
 * quoting orig (an IP packet from the client, orig_len bytes), from the interface's own
 * address, as the gateway that could not deliver it. */
static void
intercept_icmp_error(struct netif *netif, const u8_t *orig, u16_t orig_len, const ip_addr_t *client, u8_t code)
{
  struct pbuf *p;
  if (IP_IS_V6(client)) {
    const ip_addr_t *src = ip6_select_source_address(netif, ip_2_ip6(client));
    u16_t quote = LWIP_MIN(orig_len, (u16_t)(IP6_MIN_MTU_LENGTH - IP6_HLEN - 8));
    if (src == NULL || (p = pbuf_alloc(PBUF_IP, (u16_t)(8 + quote), PBUF_RAM)) == NULL) {
      return;
    }
    memset(p->payload, 0, 8);
    ((u8_t *)p->payload)[0] = 1;   /* ICMP6_TYPE_DUR */
    ((u8_t *)p->payload)[1] = code;
    memcpy((u8_t *)p->payload + 8, orig, quote);
    {
      u16_t sum = ip6_chksum_pseudo(p, IP6_NEXTH_ICMP6, p->tot_len, ip_2_ip6(src), ip_2_ip6(client));
      memcpy((u8_t *)p->payload + 2, &sum, 2);
    }
    ip6_output_if(p, ip_2_ip6(src), ip_2_ip6(client), 64, 0, IP6_NEXTH_ICMP6, netif);
    ICMP6_STATS_INC(icmp6.xmit);
  } else {
    /* the IP header and the first 8 bytes of its payload, as RFC 792 asks */
    u16_t quote = LWIP_MIN(orig_len, (u16_t)(IP_HLEN + 8));
    if ((p = pbuf_alloc(PBUF_IP, (u16_t)(8 + quote), PBUF_RAM)) == NULL) {
      return;
    }
    memset(p->payload, 0, 8);
    ((u8_t *)p->payload)[0] = 3;   /* ICMP_DUR */
    ((u8_t *)p->payload)[1] = code;
    memcpy((u8_t *)p->payload + 8, orig, quote);
    {
      u16_t sum = inet_chksum(p->payload, p->len);
      memcpy((u8_t *)p->payload + 2, &sum, 2);
    }
    ip4_output_if(p, netif_ip4_addr(netif), ip_2_ip4(client), 64, 0, IP_PROTO_ICMP, netif);
    ICMP_STATS_INC(icmp.xmit);
  }
  pbuf_free(p);
}

/* The ICMP code a verdict means, in the client's family; -1 for none. */
static int
intercept_icmp_code(int verdict, int v6)
{
  switch (verdict) {
    case LW_VERDICT_NET_UNREACH: return v6 ? 0 : 0;    /* no route / net unreachable */
    case LW_VERDICT_HOST_UNREACH: return v6 ? 3 : 1;   /* address / host unreachable */
    case LW_VERDICT_PORT_UNREACH: return v6 ? 4 : 3;
    case LW_VERDICT_PROHIBITED: return v6 ? 1 : 13;    /* administratively prohibited */
    default: return -1;
  }
}

/* --- exports ------------------------------------------------------------------------ */

static void
intercept_udp_free_queue(struct icept *ic)
{
  while (ic->uq_head != NULL) {
    struct queued_dgram *d = ic->uq_head;
    ic->uq_head = d->next;
    pbuf_free(d->p);
    free(d);
  }
  ic->uq_tail = NULL;
  ic->uq_len = ic->uq_bytes = 0;
}

static int udp_port_bound(u16_t port);
static u8_t intercept_udp_recv_cb(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr);

/* Makes interface ifindex intercept, and returns the descriptor of its catch-all TCP
 * listener (accept() gives each allowed connection; getsockname() its destination). */
LW_EXPORT int
intercept_open(int ifindex)
{
  struct netif *netif = (ifindex > 1 && ifindex < 256) ? netif_get_by_index((u8_t)ifindex) : NULL;
  struct icept *ic;
  struct lw_sock *s;
  int r, fd;
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  if (iceptions[ifindex] != NULL) {
    return -LW_EALREADY;
  }
  ic = (struct icept *)calloc(1, sizeof(*ic));
  s = sock_alloc(LW_AF_INET6, LW_SOCK_STREAM);
  if (ic == NULL || s == NULL) {
    free(ic);
    if (s != NULL) {
      sock_free(s);
    }
    return -LW_ENOMEM;
  }
  change_init(&ic->change, LW_CHANGE_INTERCEPT, ifindex);
  /* A dual-stack listener bound to the interface and, on purpose, to port 0 (patch 0021). */
  if ((r = tcp_sock_open(s)) < 0) {
    goto fail;
  }
  tcp_bind_netif(s->pcb.tcp, netif);
  s->flags |= SF_BOUND;
  if ((r = tcp_sock_listen(s, 255)) < 0 || (fd = sock_assign_fd(s)) < 0) {
    r = r < 0 ? r : fd;
    tcp_sock_close(s);
    goto fail;
  }
  ic->udp = raw_new_ip_type(IPADDR_TYPE_ANY, IP_PROTO_UDP);
  if (ic->udp == NULL) {
    sock_close(fd);
    free(ic);
    return -LW_ENOMEM;
  }
  raw_bind_netif(ic->udp, netif);
  raw_recv(ic->udp, intercept_udp_recv_cb, ic);
  iceptions[ifindex] = ic;
  sock_refresh(s);
  return fd;
fail:
  sock_free(s);
  free(ic);
  return r;
}

/* Stops intercepting on ifindex: held SYNs and queued datagrams are dropped. The
 * listener stays open until JS closes it (connections to it then get RST). */
LW_EXPORT int
intercept_close(int ifindex)
{
  struct icept *ic = icept_get(ifindex);
  if (ic == NULL) {
    return -LW_ENOENT;
  }
  iceptions[ifindex] = NULL;
  while (ic->held != NULL) {
    struct held_syn *h = ic->held;
    ic->held = h->next;
    free(h);
  }
  intercept_udp_free_queue(ic);
  raw_remove(ic->udp);
  change_drop(&ic->change);
  free(ic);
  return 0;
}

/* Reports up to max SYNs held since the last call (client in src, destination in dst,
 * the id for intercept_verdict). */
LW_EXPORT int
intercept_syns(int ifindex, struct lw_flow *out, int max)
{
  struct icept *ic = icept_get(ifindex);
  struct held_syn *h;
  int n = 0;
  if (ic == NULL) {
    return -LW_ENOENT;
  }
  /* bounded: HELD_MAX */
  for (h = ic->held; h != NULL && n < max; h = h->next) {
    if (h->reported) {
      continue;
    }
    h->reported = 1;
    out[n].id = h->id;
    sock_addr_out(&out[n].src, &h->src, h->sport);
    sock_addr_out(&out[n].dst, &h->dst, h->dport);
    n++;
  }
  if (h != NULL) {
    icept_post(ic);   /* more than max: stay in the change stream */
  }
  return n;
}

/* What to do with held SYN id (LW_VERDICT_*). */
LW_EXPORT int
intercept_verdict(int ifindex, u32_t id, int verdict)
{
  struct icept *ic = icept_get(ifindex);
  struct netif *netif = ic ? netif_get_by_index((u8_t)ifindex) : NULL;
  struct held_syn *h;
  int code;
  if (ic == NULL || netif == NULL) {
    return -LW_ENOENT;
  }
  /* bounded: HELD_MAX */
  for (h = ic->held; h != NULL && h->id != id; h = h->next) {
  }
  if (h == NULL) {
    return -LW_ENOENT;
  }
  switch (verdict) {
    case LW_VERDICT_ALLOW: {
      /* Fed back in as if it just arrived; the hook lets it through this time. */
      struct pbuf *p = pbuf_alloc(PBUF_RAW, h->len, PBUF_RAM);
      if (p == NULL) {
        return -LW_ENOMEM;
      }
      memcpy(p->payload, h->pkt, h->len);
      h->allowed = 1;
      if (ip_input(p, netif) != ERR_OK) {
        pbuf_free(p);
      }
      /* The hook freed h if the SYN reached the listener; if it did not (a full
       * backlog), the client's next SYN finds it allowed. */
      return 0;
    }
    case LW_VERDICT_RESET:
      /* what the real host said: RST, acknowledging the SYN */
      tcp_rst(NULL, 0, h->seqno + 1, &h->dst, &h->src, h->dport, h->sport);
      break;
    case LW_VERDICT_DROP:
      break;
    default:
      code = intercept_icmp_code(verdict, IP_IS_V6(&h->src));
      if (code < 0) {
        return -LW_EINVAL;
      }
      intercept_icmp_error(netif, h->pkt, h->len, &h->src, (u8_t)code);
      break;
  }
  intercept_unhold(ic, h);
  return 0;
}

/* --- UDP ---------------------------------------------------------------------------- */

/* Whether a UDP socket is bound to port (the relay's own DHCP and DNS servers). */
static int
udp_port_bound(u16_t port)
{
  struct udp_pcb *pcb;
  /* bounded: the UDP list, which only our own sockets fill */
  for (pcb = udp_pcbs; pcb != NULL; pcb = pcb->next) {
    if (pcb->local_port == port) {
      return 1;
    }
  }
  return 0;
}

/* Every UDP datagram on the interface, reassembled, with p at its IP header. */
static u8_t
intercept_udp_recv_cb(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  struct icept *ic = (struct icept *)arg;
  struct queued_dgram *d;
  struct udp_hdr uh;
  const ip_addr_t *dst = ip_current_dest_addr();
  u16_t hlen = (u16_t)ip_current_header_tot_len(), ulen;
  LWIP_UNUSED_ARG(pcb);
  if (ip_addr_ismulticast(dst) || (IP_IS_V4(dst) && ip4_addr_isbroadcast(ip_2_ip4(dst), ip_current_input_netif()))) {
    return 0;   /* DHCP discovery and the like: lwIP's sockets */
  }
  if (pbuf_copy_partial(p, &uh, UDP_HLEN, hlen) != UDP_HLEN) {
    return 0;   /* too short: udp_input drops it */
  }
  if (ip_current_netif() != NULL && sock_addr_is_local(dst) && udp_port_bound(lwip_ntohs(uh.dest))) {
    return 0;   /* to the gateway itself, where a server listens */
  }
  ulen = lwip_ntohs(uh.len);
  if (ulen < UDP_HLEN || ulen > p->tot_len - hlen) {
    UDP_STATS_INC(udp.lenerr);
    pbuf_free(p);
    return 1;
  }
  if (uh.chksum != 0 || IP_IS_V6(dst)) {
    /* IPv6 requires the checksum; IPv4 may leave it out (0). */
    u16_t sum;
    pbuf_remove_header(p, hlen);
    sum = ip_chksum_pseudo(p, IP_PROTO_UDP, p->tot_len, addr, dst);
    pbuf_add_header_force(p, hlen);
    if (sum != 0) {
      UDP_STATS_INC(udp.chkerr);
      pbuf_free(p);
      return 1;
    }
  }
  UDP_STATS_INC(udp.recv);
  if (ic->uq_len >= UDP_QUEUE_MAX || ic->uq_bytes + ulen > UDP_QUEUE_BYTES ||
      (d = (struct queued_dgram *)calloc(1, sizeof(*d))) == NULL) {
    UDP_STATS_INC(udp.drop);   /* JS is not keeping up: drop, as a full socket does */
    pbuf_free(p);
    return 1;
  }
  pbuf_remove_header(p, (u16_t)(hlen + UDP_HLEN));
  pbuf_realloc(p, (u16_t)(ulen - UDP_HLEN));
  d->p = p;
  ip_addr_copy(d->src, *addr);
  ip_addr_copy(d->dst, *dst);
  d->sport = lwip_ntohs(uh.src);
  d->dport = lwip_ntohs(uh.dest);
  if (ic->uq_tail != NULL) {
    ic->uq_tail->next = d;
  } else {
    ic->uq_head = d;
  }
  ic->uq_tail = d;
  ic->uq_len++;
  ic->uq_bytes += ulen;
  icept_post(ic);
  return 1;
}

/* Takes the oldest queued datagram: its addresses into meta, up to cap bytes of its
 * payload into buf. Returns the payload's full length, or -EAGAIN if none is queued. */
LW_EXPORT int
intercept_udp_recv(int ifindex, struct lw_flow *meta, u8_t *buf, u32_t cap)
{
  struct icept *ic = icept_get(ifindex);
  struct queued_dgram *d;
  int len;
  if (ic == NULL) {
    return -LW_ENOENT;
  }
  d = ic->uq_head;
  if (d == NULL) {
    return -LW_EAGAIN;
  }
  ic->uq_head = d->next;
  if (ic->uq_head == NULL) {
    ic->uq_tail = NULL;
  }
  len = d->p->tot_len;
  ic->uq_len--;
  ic->uq_bytes -= (u32_t)len + UDP_HLEN;
  meta->id = 0;
  sock_addr_out(&meta->src, &d->src, d->sport);
  sock_addr_out(&meta->dst, &d->dst, d->dport);
  pbuf_copy_partial(d->p, buf, (u16_t)LWIP_MIN((u32_t)len, cap), 0);
  pbuf_free(d->p);
  free(d);
  return len;
}

/* Converts a boundary address for an interception (no socket to check it against). */
static int
intercept_addr_in(const struct lw_addr *a, ip_addr_t *ip)
{
  if (a->family == LW_AF_INET) {
    u32_t v;
    memcpy(&v, a->addr, 4);
    ip_addr_set_ip4_u32_val(*ip, v);
    return 0;
  }
  if (a->family == LW_AF_INET6) {
    memcpy(ip_2_ip6(ip)->addr, a->addr, 16);
    IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
    ip6_addr_clear_zone(ip_2_ip6(ip));
    return 0;
  }
  return -LW_EAFNOSUPPORT;
}

/* Sends the client a datagram from flow->src (the remote it answers for) to flow->dst
 * (the client's address and port). */
LW_EXPORT int
intercept_udp_send(int ifindex, const struct lw_flow *flow, const u8_t *buf, u32_t len)
{
  struct icept *ic = icept_get(ifindex);
  struct netif *netif = ic ? netif_get_by_index((u8_t)ifindex) : NULL;
  ip_addr_t src, dst;
  struct udp_hdr uh;
  struct pbuf *p;
  err_t err;
  if (ic == NULL || netif == NULL) {
    return -LW_ENOENT;
  }
  if (intercept_addr_in(&flow->src, &src) < 0 || intercept_addr_in(&flow->dst, &dst) < 0 ||
      IP_GET_TYPE(&src) != IP_GET_TYPE(&dst)) {
    return -LW_EINVAL;
  }
  if (len > 0xffffu - UDP_HLEN - (IP_IS_V6(&dst) ? IP6_HLEN : IP_HLEN)) {
    return -LW_EMSGSIZE;
  }
  p = pbuf_alloc(PBUF_IP, (u16_t)(UDP_HLEN + len), PBUF_RAM);
  if (p == NULL) {
    return -LW_ENOMEM;
  }
  uh.src = lwip_htons(flow->src.port);
  uh.dest = lwip_htons(flow->dst.port);
  uh.len = lwip_htons((u16_t)(UDP_HLEN + len));
  uh.chksum = 0;
  memcpy(p->payload, &uh, UDP_HLEN);
  memcpy((u8_t *)p->payload + UDP_HLEN, buf, len);
  uh.chksum = ip_chksum_pseudo(p, IP_PROTO_UDP, p->tot_len, &src, &dst);
  if (uh.chksum == 0) {
    uh.chksum = 0xffff;   /* 0 means "no checksum" on the wire */
  }
  memcpy((u8_t *)p->payload + 6, &uh.chksum, 2);
  err = raw_sendto_if_src(ic->udp, p, &dst, netif, &src);
  pbuf_free(p);
  if (err == ERR_OK) {
    UDP_STATS_INC(udp.xmit);
  }
  return err == ERR_OK ? 0 : -lw_err_to_errno(err);
}

/* Tells the client its datagram for flow (src: the client, dst: where it went) could not
 * be delivered: the ICMP error a verdict names, quoting the datagram's headers. */
LW_EXPORT int
intercept_udp_unreach(int ifindex, const struct lw_flow *flow, int verdict)
{
  struct icept *ic = icept_get(ifindex);
  struct netif *netif = ic ? netif_get_by_index((u8_t)ifindex) : NULL;
  ip_addr_t src, dst;
  u8_t pkt[IP6_HLEN + UDP_HLEN];
  struct udp_hdr uh;
  u16_t iplen;
  int code;
  if (ic == NULL || netif == NULL) {
    return -LW_ENOENT;
  }
  if (intercept_addr_in(&flow->src, &src) < 0 || intercept_addr_in(&flow->dst, &dst) < 0 ||
      IP_GET_TYPE(&src) != IP_GET_TYPE(&dst)) {
    return -LW_EINVAL;
  }
  code = intercept_icmp_code(verdict, IP_IS_V6(&src));
  if (code < 0) {
    return -LW_EINVAL;
  }
  iplen = intercept_ip_header(pkt, &src, &dst, IP_PROTO_UDP, UDP_HLEN, 64);
  uh.src = lwip_htons(flow->src.port);
  uh.dest = lwip_htons(flow->dst.port);
  uh.len = lwip_htons(UDP_HLEN);
  uh.chksum = 0;
  memcpy(pkt + iplen, &uh, UDP_HLEN);
  intercept_icmp_error(netif, pkt, (u16_t)(iplen + UDP_HLEN), &src, (u8_t)code);
  return 0;
}

/* The interface is going away (netif.c). */
void
intercept_netif_gone(int ifindex)
{
  if (icept_get(ifindex) != NULL) {
    intercept_close(ifindex);
  }
}
