/* ICMP errors for sockets, as Linux delivers them. lwIP answers echo requests itself but
 * tells no socket about "destination unreachable"; a raw pcb sees every ICMP packet first
 * (and always lets lwIP go on with it), finds the socket the quoted header belongs to,
 * and fails a TCP connect or flags a connected UDP socket. */
#include <string.h>
#include "lwip/raw.h"
#include "lwip/udp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ip4.h"
#include "lwip/prot/ip6.h"
#include "lw.h"

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

/* Delivers err to the socket whose packet (proto, local port, remote ip:port) bounced. */
static void
icmp_sock_deliver(u8_t proto, u16_t lport, const ip_addr_t *rip, u16_t rport, int err, int fatal)
{
  if (proto == IP_PROTO_TCP) {
    struct tcp_pcb *pcb;
    for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next) {
      if (pcb->local_port == lport && pcb->remote_port == rport && ip_addr_cmp(&pcb->remote_ip, rip)) {
        /* Linux aborts only a connect in progress; an established connection keeps
         * retrying (the error is soft) until its own timeout. */
        if (fatal && pcb->state == SYN_SENT && pcb->callback_arg != NULL) {
          tcp_sock_fail_connect((struct lw_sock *)pcb->callback_arg, err);
        }
        return;
      }
    }
  } else if (proto == IP_PROTO_UDP) {
    struct udp_pcb *pcb;
    for (pcb = udp_pcbs; pcb != NULL; pcb = pcb->next) {
      struct lw_sock *s = (struct lw_sock *)pcb->recv_arg;
      if (pcb->local_port == lport && pcb->remote_port == rport && ip_addr_cmp(&pcb->remote_ip, rip) &&
          s != NULL && (s->flags & SF_UDP_CONN)) {
        /* Linux reports ICMP errors only on connected UDP sockets (without IP_RECVERR). */
        if (fatal) {
          s->err = err;
          sock_refresh(s);
        }
        return;
      }
    }
  }
}

static u8_t
icmp4_sock_on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  u8_t b[60 + 8 + 60 + 8];
  u16_t n = pbuf_copy_partial(p, b, sizeof(b), 0);
  u16_t ihl, iihl, sport, dport;
  u8_t *icmp, *inner;
  ip_addr_t dst;
  LWIP_UNUSED_ARG(arg);
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(addr);
  if (n < 20) {
    return 0;
  }
  ihl = (u16_t)((b[0] & 0x0f) * 4);
  if (ihl < 20 || n < ihl + 8 + 20) {
    return 0;
  }
  icmp = b + ihl;
  if (icmp[0] != 3 /* destination unreachable */ || icmp[1] > 15) {
    return 0;
  }
  inner = icmp + 8;
  iihl = (u16_t)((inner[0] & 0x0f) * 4);
  if ((inner[0] >> 4) != 4 || iihl < 20 || n < ihl + 8 + iihl + 4) {
    return 0;
  }
  memcpy(&sport, inner + iihl, 2);
  memcpy(&dport, inner + iihl + 2, 2);
  IP_SET_TYPE_VAL(dst, IPADDR_TYPE_V4);
  memcpy(&ip_2_ip4(&dst)->addr, inner + 16, 4);
  icmp_sock_deliver(inner[9], lwip_ntohs(sport), &dst, lwip_ntohs(dport),
                    icmp4_unreach[icmp[1]].err, icmp4_unreach[icmp[1]].fatal);
  return 0;   /* lwIP still sees the packet */
}

static u8_t
icmp6_sock_on_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr)
{
  u8_t b[40 + 8 + 40 + 4];
  u16_t n = pbuf_copy_partial(p, b, sizeof(b), 0);
  u8_t *icmp, *inner;
  u16_t sport, dport;
  ip_addr_t dst;
  LWIP_UNUSED_ARG(arg);
  LWIP_UNUSED_ARG(pcb);
  LWIP_UNUSED_ARG(addr);
  if (n < sizeof(b) || b[6] != IP6_NEXTH_ICMP6) {
    return 0;
  }
  icmp = b + 40;
  if (icmp[0] != 1 /* destination unreachable */ || icmp[1] > 6) {
    return 0;
  }
  inner = icmp + 8;
  memcpy(&sport, inner + 40, 2);
  memcpy(&dport, inner + 42, 2);
  memset(&dst, 0, sizeof(dst));
  IP_SET_TYPE_VAL(dst, IPADDR_TYPE_V6);
  memcpy(ip_2_ip6(&dst)->addr, inner + 24, 16);
  icmp_sock_deliver(inner[6], lwip_ntohs(sport), &dst, lwip_ntohs(dport),
                    icmp6_unreach[icmp[1]].err, icmp6_unreach[icmp[1]].fatal);
  return 0;
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
