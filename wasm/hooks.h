/* The hooks lwIP calls into our glue (LWIP_HOOK_FILENAME in lwipopts.h). */
#ifndef LW_HOOKS_H
#define LW_HOOKS_H

#include "tcp_guard.h"

struct netif;

/* sock_icmp.c: drops an ICMPv6 error that hides behind extension headers (1: eaten). */
int icmp6_guard_input(struct pbuf *p, struct netif *inp);

/* intercept.c: an intercepting interface takes TCP and UDP for any address (patch 0020),
 * and its catch-all listener holds each SYN until JS gives a verdict. */
int intercept_accept4(struct pbuf *p, struct netif *inp);
int intercept_accept6(struct pbuf *p, struct netif *inp);
err_t intercept_tcp_input(struct tcp_pcb *lpcb, const struct tcp_hdr *hdr, u16_t optlen, u16_t opt1len,
                          const u8_t *opt2, const struct pbuf *p);
void intercept_netif_gone(int ifindex);

/* route.c: static routes, and forwarding only on a stack set to be a router. */
int route_ip4_canforward(struct pbuf *p, u32_t dest_hostorder);
int route_ip6_canforward(struct pbuf *p, struct netif *inp);
struct netif *route_ip4(const ip4_addr_t *dest);
const ip4_addr_t *route_ip4_gw(struct netif *netif, const ip4_addr_t *dest);
struct netif *route_ip6(const ip6_addr_t *src, const ip6_addr_t *dest);
const ip6_addr_t *route_ip6_gw(struct netif *netif, const ip6_addr_t *dest);
const ip4_addr_t *route_ip4_nexthop(struct netif *netif, const ip4_addr_t *dest);
void route_set_forwarding(int on);
int route_forwarding(void);

/* tcp_tso.c: segments of several MSS for an interface that cuts them itself (patch 0031). */
struct tcp_pcb;
struct tcp_seg;
u16_t tcp_tso_seg_size(const struct tcp_pcb *pcb);
void tcp_tso_fit(struct tcp_pcb *pcb, u32_t wnd);
void tcp_tso_seg_out(const struct tcp_pcb *pcb, const struct tcp_seg *seg);
int tcp_tso_no_frag(const struct netif *netif);
int tcp_tso_cut(struct tcp_pcb *pcb, struct tcp_seg *seg, u32_t room);

/* tcp_tw.c: TIME-WAIT connections by ports and addresses (patch 0032). */
void tcp_tw_add(struct tcp_pcb *pcb);
void tcp_tw_del(struct tcp_pcb *pcb);
struct tcp_pcb *tcp_tw_find(u16_t lport, u16_t rport, const ip_addr_t *rip, const ip_addr_t *lip, u8_t netif_idx);

#endif /* LW_HOOKS_H */
