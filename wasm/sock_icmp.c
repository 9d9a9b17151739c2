/* ICMP errors: which ones lwIP may act on, and which socket hears of them.
 *
 * A raw pcb sees every ICMP and ICMPv6 packet before lwIP's own handlers. For an error
 * message (IPv4 destination unreachable, time exceeded, parameter problem; ICMPv6 the
 * same four, with Packet Too Big) it reads the quoted header and looks for what the
 * quoted packet came from: a live TCP connection whose quoted sequence number lies in
 * SND.UNA..SND.NXT (RFC 5927 section 4.1, as Linux checks it), or a bound UDP socket. An
 * error that quotes nothing of ours is eaten here and counted as a drop (icmp.drop,
 * icmp6.drop), so a forged Packet Too Big cannot shrink a path MTU and a forged
 * unreachable cannot fail a connect. lwIP itself only uses Packet Too Big (0001 in
 * wasm/patches keeps the MTU at 1280 or more); lwIP tells no socket about the others, so
 * for a matched "destination unreachable" this file also does what Linux does: it fails a
 * TCP connect in progress, or flags a connected UDP socket. */
#include <string.h>
#include "lwip/raw.h"
#include "lwip/udp.h"
#include "lwip/ip.h"
#include "lwip/stats.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lw.h"
#include "hooks.h"

static struct raw_pcb *icmp4_pcb, *icmp6_pcb;

/* Linux's icmp_err_convert[]: errno, and whether the error ends a connect. */
static const struct { u8_t err; u8_t fatal; } icmp4_unreach[16] = {
  { LW_ENETUNREACH, 1 },  /* net unreachable */
  { LW_EHOSTUNREACH, 1 }, /* host unreachable */
  { LW_ENOPROTOOPT, 1 },  /* protocol unreachable */
  { LW_ECONNREFUSED, 1 }, /* port unreachable */
  { LW_EMSGSIZE, 0 },     /* fragmentation needed */
  { LW_EOPNOTSUPP, 0 },   /* source route failed */
  { LW_ENETUNREACH, 1 },  /* net unknown */
  { LW_EHOSTDOWN, 1 },    /* host unknown */
  { LW_ENONET, 1 },       /* host isolated */
  { LW_ENETUNREACH, 1 },  /* net prohibited */
  { LW_EHOSTUNREACH, 1 }, /* host prohibited */
  { LW_ENETUNREACH, 0 },  /* net unreachable for TOS */
  { LW_EHOSTUNREACH, 0 }, /* host unreachable for TOS */
  { LW_EHOSTUNREACH, 1 }, /* communication prohibited */
  { LW_EHOSTUNREACH, 1 }, /* host precedence violation */
  { LW_EHOSTUNREACH, 1 }, /* precedence cutoff */
};

/* Linux's icmpv6_err_convert for destination unreachable. */
static const struct { u8_t err; u8_t fatal; } icmp6_unreach[7] = {
  { LW_ENETUNREACH, 0 },  /* no route */
  { LW_EACCES, 1 },       /* administratively prohibited */
  { LW_EHOSTUNREACH, 0 }, /* beyond scope */
  { LW_EHOSTUNREACH, 0 }, /* address unreachable */
  { LW_ECONNREFUSED, 1 }, /* port unreachable */
  { LW_EACCES, 1 },       /* source address failed policy */
  { LW_EACCES, 1 },       /* reject route */
};

/* What an ICMP error quotes: the packet we sent, as far as the quote shows it. */
struct icmp_quote {
  u8_t proto;
  ip_addr_t src, dst;     /* src is ours if the quote is genuine */
  u16_t sport, dport;     /* host order */
  u32_t seq;              /* TCP only, host order */
};

/* The socket a genuine quote belongs to, or NULL. A TCP quote must name a live
 * connection and carry a sequence number it has sent and not yet had acknowledged; a UDP
 * quote must name a bound socket (and its peer, if the socket is connected). *matched
 * says whether anything did (a pcb may have no socket yet); *state gets the TCP state. */
static struct lw_sock *
icmp_quote_owner(const struct icmp_quote *q, int *matched, enum tcp_state *state)
{
  *matched = 0;
  if (q->proto == IP_PROTO_TCP) {
    struct tcp_pcb *pcb;
    /* bounded: one pass over the active list, which only our own connections fill */
    for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
      if (pcb->local_port == q->sport && pcb->remote_port == q->dport &&
          ip_addr_cmp_zoneless(&pcb->remote_ip, &q->dst) &&
          ip_addr_cmp_zoneless(&pcb->local_ip, &q->src)) {
        if (!TCP_SEQ_BETWEEN(q->seq, pcb->lastack, pcb->snd_nxt)) {
          return NULL;   /* off-path: it could not have seen what we sent */
        }
        *matched = 1;
        *state = pcb->state;
        return (struct lw_sock *)pcb->callback_arg;
      }
    }
  } else if (q->proto == IP_PROTO_UDP) {
    struct udp_pcb *pcb;
    /* bounded: one pass over the UDP list, which only our own sockets fill */
    for (pcb = udp_pcbs; pcb != NULL; pcb = pcb->next) {
      if (pcb->local_port != q->sport ||
          (!ip_addr_isany(&pcb->local_ip) && !ip_addr_cmp_zoneless(&pcb->local_ip, &q->src))) {
        continue;
      }
      if ((pcb->flags & UDP_FLAGS_CONNECTED) &&
          (pcb->remote_port != q->dport || !ip_addr_cmp_zoneless(&pcb->remote_ip, &q->dst))) {
        continue;
      }
      *matched = 1;
      return (struct lw_sock *)pcb->recv_arg;
    }
  }
  return NULL;
}

/* Tells the socket a matched destination-unreachable error, as Linux does: a connect in
 * progress fails; an established connection treats the error as soft and keeps retrying
 * until its own timeout; only a connected UDP socket hears of it (without IP_RECVERR). */
static void
icmp_sock_deliver(struct lw_sock *s, const struct icmp_quote *q, enum tcp_state state, int err, int fatal)
{
  if (s == NULL || !fatal) {
    return;
  }
  if (q->proto == IP_PROTO_TCP) {
    if (state == SYN_SENT) {
      tcp_sock_fail_connect(s, err);
    }
  } else if (s->flags & SF_UDP_CONN) {
    s->err = err;
    sock_refresh(s);
  }
}

/* Reads the transport ports (and TCP sequence) at t, if n bytes hold them. */
static int
icmp_quote_ports(struct icmp_quote *q, const u8_t *t, int n)
{
  u16_t v16;
  u32_t v32;
  if (n < (q->proto == IP_PROTO_TCP ? 8 : 4)) {
    return 0;
  }
  memcpy(&v16, t, 2);
  q->sport = lwip_ntohs(v16);
  memcpy(&v16, t + 2, 2);
  q->dport = lwip_ntohs(v16);
  if (q->proto == IP_PROTO_TCP) {
    memcpy(&v32, t + 4, 4);
    q->seq = lwip_ntohl(v32);
  }
  return 1;
}

/* Eats (frees, counts, returns 1) an error message whose quote matches nothing. */
static u8_t
icmp_drop(struct pbuf *p, int v6)
{
  pbuf_free(p);
  if (v6) {
    ICMP6_STATS_INC(icmp6.drop);
  } else {
    ICMP_STATS_INC(icmp.drop);
  }
  return 1;
}

static u8_t
icmp4_sock_on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  u8_t b[60 + 8 + 60 + 8];
  u16_t n = pbuf_copy_partial(p, b, sizeof(b), 0);
  u16_t ihl, iihl, frag;
  u8_t *icmp, *inner;
  struct icmp_quote q;
  struct lw_sock *s;
  enum tcp_state state = CLOSED;
  int matched;
  LWIP_UNUSED_ARG(arg);
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(addr);
  if (n < 20) {
    return 0;
  }
  ihl = (u16_t)((b[0] & 0x0f) * 4);
  if (ihl < 20 || n < ihl + 8) {
    return 0;   /* lwIP's own length checks drop it */
  }
  icmp = b + ihl;
  if (icmp[0] != 3 && icmp[0] != 11 && icmp[0] != 12) {
    return 0;   /* not an error message: echo and the rest are lwIP's */
  }
  inner = icmp + 8;
  if (n < ihl + 8 + 20) {
    return icmp_drop(p, 0);
  }
  iihl = (u16_t)((inner[0] & 0x0f) * 4);
  memcpy(&frag, inner + 6, 2);
  memset(&q, 0, sizeof(q));
  q.proto = inner[9];
  if ((inner[0] >> 4) != 4 || iihl < 20 || (lwip_ntohs(frag) & 0x1fff) != 0 ||
      !icmp_quote_ports(&q, inner + iihl, n - (ihl + 8 + iihl))) {
    return icmp_drop(p, 0);   /* not a first fragment's header we could have sent */
  }
  IP_SET_TYPE_VAL(q.src, IPADDR_TYPE_V4);
  IP_SET_TYPE_VAL(q.dst, IPADDR_TYPE_V4);
  memcpy(&ip_2_ip4(&q.src)->addr, inner + 12, 4);
  memcpy(&ip_2_ip4(&q.dst)->addr, inner + 16, 4);
  s = icmp_quote_owner(&q, &matched, &state);
  if (!matched) {
    return icmp_drop(p, 0);
  }
  if (icmp[0] == 3 && icmp[1] <= 15) {
    icmp_sock_deliver(s, &q, state, icmp4_unreach[icmp[1]].err, icmp4_unreach[icmp[1]].fatal);
  }
  return 0;   /* lwIP still sees the genuine ones */
}

/* The offset of the upper-layer header in a quoted IPv6 packet, walking its extension
 * headers, or -1 if the quote ends first or hides it behind a later fragment. *proto
 * gets its protocol. Bounded: every step moves at least 8 bytes into a quote of n. */
static int
icmp6_quote_upper(const u8_t *ip6, int n, u8_t *proto)
{
  int off = IP6_HLEN;
  u8_t next = ip6[6];
  for (;;) {
    switch (next) {
      case IP6_NEXTH_HOPBYHOP:
      case IP6_NEXTH_ROUTING:
      case IP6_NEXTH_DESTOPTS:
        if (off + 2 > n) {
          return -1;
        }
        next = ip6[off];
        off += (ip6[off + 1] + 1) * 8;
        break;
      case IP6_NEXTH_FRAGMENT:
        if (off + 8 > n || (((ip6[off + 2] << 8) | ip6[off + 3]) & 0xfff8) != 0) {
          return -1;
        }
        next = ip6[off];
        off += 8;
        break;
      default:
        *proto = next;
        return off <= n ? off : -1;
    }
  }
}

static u8_t
icmp6_sock_on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  u8_t b[8 + 256];
  u16_t hlen = ip_current_header_tot_len();   /* the outer IPv6 header and its extensions */
  u16_t n;
  u8_t *icmp, *inner;
  struct icmp_quote q;
  struct lw_sock *s;
  enum tcp_state state = CLOSED;
  int matched, off;
  LWIP_UNUSED_ARG(arg);
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(addr);
  n = pbuf_copy_partial(p, b, sizeof(b), hlen);
  if (n < 8) {
    return 0;
  }
  icmp = b;
  if (icmp[0] < 1 || icmp[0] > 4) {
    return 0;   /* informational messages (echo, ND, MLD) are lwIP's */
  }
  inner = icmp + 8;
  memset(&q, 0, sizeof(q));
  if (n < 8 + IP6_HLEN || (inner[0] >> 4) != 6 ||
      (off = icmp6_quote_upper(inner, n - 8, &q.proto)) < 0 ||
      !icmp_quote_ports(&q, inner + off, n - 8 - off)) {
    return icmp_drop(p, 1);
  }
  IP_SET_TYPE_VAL(q.src, IPADDR_TYPE_V6);
  IP_SET_TYPE_VAL(q.dst, IPADDR_TYPE_V6);
  memcpy(ip_2_ip6(&q.src)->addr, inner + 8, 16);
  memcpy(ip_2_ip6(&q.dst)->addr, inner + 24, 16);
  s = icmp_quote_owner(&q, &matched, &state);
  if (!matched) {
    return icmp_drop(p, 1);
  }
  if (icmp[0] == 1 && icmp[1] <= 6) {
    icmp_sock_deliver(s, &q, state, icmp6_unreach[icmp[1]].err, icmp6_unreach[icmp[1]].fatal);
  }
  return 0;
}

/* LWIP_HOOK_IP6_INPUT, before lwIP parses the packet. lwIP hands a raw pcb only packets
 * whose first next header is its protocol, so an ICMPv6 error behind extension headers
 * (a destination option, an atomic fragment) would skip every check above and still
 * reach nd6_input. Routers send errors without extension headers, so one that has them
 * is dropped and counted. Bounded: at most 16 headers, each at least 8 bytes, read in
 * place from the pbuf (a header may be up to 2 KiB). */
int
icmp6_guard_input(struct pbuf *p, struct netif *inp)
{
  int next = pbuf_try_get_at(p, 6), hops;
  u32_t off = IP6_HLEN;
  LWIP_UNUSED_ARG(inp);
  if (p->tot_len < IP6_HLEN || (pbuf_get_at(p, 0) >> 4) != 6 || next == IP6_NEXTH_ICMP6) {
    return 0;
  }
  for (hops = 0; hops < 16; hops++) {
    int h0 = pbuf_try_get_at(p, (u16_t)off), h1 = pbuf_try_get_at(p, (u16_t)(off + 1));
    if (off + 8 > p->tot_len || h0 < 0 || h1 < 0) {
      return 0;   /* cut short: lwIP drops it */
    }
    if (next == IP6_NEXTH_HOPBYHOP || next == IP6_NEXTH_ROUTING || next == IP6_NEXTH_DESTOPTS) {
      next = h0;
      off += ((u32_t)h1 + 1) * 8;
    } else if (next == IP6_NEXTH_FRAGMENT) {
      if (((pbuf_get_at(p, (u16_t)(off + 2)) << 8 | pbuf_get_at(p, (u16_t)(off + 3))) & 0xfff8) != 0) {
        return 0;   /* a later fragment: its first fragment decides */
      }
      next = h0;
      off += 8;
    } else {
      break;
    }
  }
  if (hops == 16) {
    pbuf_free(p);   /* no real packet has more than 16 extension headers */
    IP6_STATS_INC(ip6.drop);
    return 1;
  }
  if (next != IP6_NEXTH_ICMP6 || off >= p->tot_len) {
    return 0;
  }
  {
    int type = pbuf_try_get_at(p, (u16_t)off);
    if (type < 1 || type > 4) {
      return 0;   /* informational messages are lwIP's (ND has its own checks) */
    }
  }
  pbuf_free(p);
  ICMP6_STATS_INC(icmp6.drop);
  return 1;
}

int
icmp_sock_init(void)
{
  icmp4_pcb = raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
  icmp6_pcb = raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6);
  if (icmp4_pcb == NULL || icmp6_pcb == NULL) {
    return -LW_ENOMEM;
  }
  raw_recv(icmp4_pcb, icmp4_sock_on_recv, NULL);
  raw_recv(icmp6_pcb, icmp6_sock_on_recv, NULL);
  return 0;
}
