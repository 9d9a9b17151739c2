/* Ethernet interfaces whose frames travel through JS links. lwIP's linkoutput copies
 * each outgoing frame into the outbox; JS drains it after every batch, so sending
 * costs no call across the boundary per frame. */
#include <stdlib.h>
#include <string.h>
#include "lwip/netif.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/nd6.h"
#include "lwip/dhcp.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"
#include "lw.h"
#include "hooks.h"

struct lw_netif_init {
  u8_t mac[6];
  u16_t mtu;
};

static err_t
netif_eth_linkoutput(struct netif *netif, struct pbuf *p)
{
  u32_t len = p->tot_len;
  u32_t seg_max = 0;
  u8_t *frame;
  if (netif->flags & LW_NETIF_FLAG_TSO) {
    seg_max = lw_tx_seg_max;
    if (seg_max == 0 && len > (u32_t)netif->mtu + 18u) {
      /* a segment over the MTU that waited for ARP or ND leaves after its tcp_output
       * returned: cut it at the MTU */
      seg_max = netif->mtu;
    }
  }
  frame = lw_outbox_reserve(netif_get_index(netif), len, seg_max);
  if (frame == NULL) {
    LINK_STATS_INC(link.memerr);
    return ERR_MEM;
  }
  pbuf_copy_partial(p, frame, (u16_t)len, 0);
  LINK_STATS_INC(link.xmit);
  return ERR_OK;
}

static err_t
netif_eth_init(struct netif *netif)
{
  const struct lw_netif_init *init = (const struct lw_netif_init *)netif->state;
  netif->name[0] = 'e';
  netif->name[1] = 'n';
  netif->output = etharp_output;
  netif->output_ip6 = ethip6_output;
  netif->linkoutput = netif_eth_linkoutput;
  netif->mtu = init->mtu;
  netif->hwaddr_len = ETH_HWADDR_LEN;
  memcpy(netif->hwaddr, init->mac, ETH_HWADDR_LEN);
  netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
                 NETIF_FLAG_LINK_UP | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
  netif->state = NULL;
  return ERR_OK;
}

/* Adds an ethernet interface; returns its index (>= 2; 1 is loopback). */
LW_EXPORT int
netif_add_eth(const u8_t *mac, u32_t mtu)
{
  struct lw_netif_init init;
  struct netif *netif;
  if (mtu < 576 || mtu > 65535 - 18) {
    return -LW_EINVAL;
  }
  netif = (struct netif *)calloc(1, sizeof(*netif));
  if (netif == NULL) {
    return -LW_ENOMEM;
  }
  memcpy(init.mac, mac, 6);
  init.mtu = (u16_t)mtu;
  if (netif_add(netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, &init, netif_eth_init,
                netif_input) == NULL) {
    free(netif);
    return -LW_ENOMEM;
  }
  netif_create_ip6_linklocal_address(netif, 1);
  netif_ip6_addr_set_state(netif, 0, IP6_ADDR_PREFERRED);
  if (netif_default == NULL) {
    netif_set_default(netif);
  }
  netif_set_up(netif);
  netif->rs_count = 0;   /* no router solicitations unless it configures itself (netif_set_autoconf) */
  return netif_get_index(netif);
}

static struct netif *
netif_lookup(int ifindex)
{
  return (ifindex > 0 && ifindex < 256) ? netif_get_by_index((u8_t)ifindex) : NULL;
}

/* Sets the IPv4 address, netmask and gateway. */
LW_EXPORT int
netif_set_ip4(int ifindex, const struct lw_ip4_config *cfg)
{
  struct netif *netif = netif_lookup(ifindex);
  ip4_addr_t a, m, g;
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  memcpy(&a.addr, cfg->addr, 4);
  memcpy(&m.addr, cfg->mask, 4);
  memcpy(&g.addr, cfg->gw, 4);
  netif_set_addr(netif, &a, &m, &g);
  return 0;
}

/* Adds a static IPv6 address (16 bytes), usable at once (no DAD). Returns its slot. */
LW_EXPORT int
netif_add_ip6(int ifindex, const u8_t *addr)
{
  struct netif *netif = netif_lookup(ifindex);
  ip6_addr_t a;
  s8_t slot;
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  memcpy(&a.addr, addr, 16);
  ip6_addr_clear_zone(&a);
  ip6_addr_assign_zone(&a, IP6_UNICAST, netif);
  if (netif_get_ip6_addr_match(netif, &a) >= 0) {
    return -LW_EEXIST;
  }
  if (netif_add_ip6_address(netif, &a, &slot) != ERR_OK) {
    return -LW_ENOBUFS;
  }
  netif_ip6_addr_set_state(netif, slot, IP6_ADDR_PREFERRED);
  return slot;
}

/* Copies the IPv6 address in slot i into out (16 bytes); -ENOENT if the slot is empty. */
LW_EXPORT int
netif_get_ip6(int ifindex, int i, u8_t *out)
{
  struct netif *netif = netif_lookup(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  if (i < 0 || i >= LWIP_IPV6_NUM_ADDRESSES || !ip6_addr_isvalid(netif_ip6_addr_state(netif, i))) {
    return -LW_ENOENT;
  }
  memcpy(out, netif_ip6_addr(netif, i)->addr, 16);
  return 0;
}

LW_EXPORT int
netif_set_default_index(int ifindex)
{
  struct netif *netif = netif_lookup(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  netif_set_default(netif);
  return 0;
}

/* Brings the link up (1) or down (0), as a cable would. */
LW_EXPORT int
netif_set_link(int ifindex, int up)
{
  struct netif *netif = netif_lookup(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  if (up) {
    netif_set_link_up(netif);
    if (!netif->ip6_autoconfig_enabled) {
      netif->rs_count = 0;
    }
  } else {
    netif_set_link_down(netif);
  }
  return 0;
}

/* IPv6 stateless autoconfiguration (SLAAC) on or off: with it, the interface asks for
 * router advertisements and takes addresses from their prefixes. */
LW_EXPORT int
netif_set_autoconf(int ifindex, int on)
{
  struct netif *netif = netif_lookup(ifindex);
  if (netif == NULL) {
    return -LW_ENODEV;
  }
  netif_set_ip6_autoconfig_enabled(netif, on ? 1 : 0);
  netif->rs_count = on ? LWIP_ND6_MAX_MULTICAST_SOLICIT : 0;
  return 0;
}

LW_EXPORT int
netif_remove_index(int ifindex)
{
  struct netif *netif = netif_lookup(ifindex);
  if (netif == NULL || netif->linkoutput != netif_eth_linkoutput) {
    return -LW_ENODEV;
  }
  intercept_netif_gone(ifindex);
  if (netif_dhcp_data(netif) != NULL) { /* the DHCP client goes with its interface */
    dhcp_release_and_stop(netif);
    dhcp_cleanup(netif);
  }
  netif_set_down(netif);
  netif_remove(netif);
  free(netif);
  return 0;
}

/* A permanent ARP entry (ip: 4 bytes), as `ip neigh add ... nud permanent`. */
LW_EXPORT int
netif_add_neighbor4(const u8_t *ip, const u8_t *mac)
{
  ip4_addr_t a;
  struct eth_addr eth;
  memcpy(&a.addr, ip, 4);
  memcpy(eth.addr, mac, ETH_HWADDR_LEN);
  switch (etharp_add_static_entry(&a, &eth)) {
    case ERR_OK: return 0;
    case ERR_RTE: return -LW_ENETUNREACH;
    default: return -LW_ENOMEM;
  }
}
