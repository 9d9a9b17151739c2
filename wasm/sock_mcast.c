/* Multicast memberships (IP_ADD_MEMBERSHIP, IPV6_JOIN_GROUP and their opposites):
 * each socket keeps its groups, at most Linux's IP_MAX_MEMBERSHIPS, and leaves them on
 * close, so lwIP's per-interface group counts stay right. */
#include <stdlib.h>
#include <string.h>
#include "lwip/igmp.h"
#include "lwip/mld6.h"
#include "lwip/netif.h"
#include "lw.h"

#define MAX_GROUPS  20               /* Linux's IP_MAX_MEMBERSHIPS */


static int
group_change(struct lw_sock *s, int join, const ip_addr_t *group, const ip4_addr_t *ifaddr, u32_t ifindex)
{
  struct lw_group **pp = &s->groups, *g;
  int count = 0;
  err_t err;
  for (; *pp != NULL; pp = &(*pp)->next, count++) {
    g = *pp;
    if (ip_addr_cmp(&g->group, group) &&
        (IP_IS_V6(group) ? g->ifindex == ifindex : ip4_addr_cmp(&g->ifaddr, ifaddr))) {
      break;
    }
  }
  if (join) {
    if (*pp != NULL) {
      return -LW_EADDRINUSE;   /* Linux: already a member */
    }
    if (count >= MAX_GROUPS) {
      return -LW_ENOBUFS;
    }
    if (IP_IS_V6(group)) {
      struct netif *n = ifindex ? netif_get_by_index((u8_t)ifindex) : NULL;
      if (ifindex && n == NULL) {
        return -LW_ENODEV;
      }
      err = n ? mld6_joingroup_netif(n, ip_2_ip6(group)) : mld6_joingroup(IP6_ADDR_ANY6, ip_2_ip6(group));
    } else {
      err = igmp_joingroup(ifaddr, ip_2_ip4(group));
    }
    if (err != ERR_OK) {
      return err == ERR_VAL ? -LW_EADDRNOTAVAIL : -LW_ENOBUFS;
    }
    g = (struct lw_group *)calloc(1, sizeof(*g));
    if (g == NULL) {
      return -LW_ENOMEM;
    }
    ip_addr_copy(g->group, *group);
    g->ifindex = ifindex;
    ip4_addr_copy(g->ifaddr, *ifaddr);
    *pp = g;
    return 0;
  }
  if (*pp == NULL) {
    return -LW_EADDRNOTAVAIL;   /* Linux: not a member */
  }
  g = *pp;
  *pp = g->next;
  if (IP_IS_V6(group)) {
    struct netif *n = ifindex ? netif_get_by_index((u8_t)ifindex) : NULL;
    if (n) {
      mld6_leavegroup_netif(n, ip_2_ip6(group));
    } else {
      mld6_leavegroup(IP6_ADDR_ANY6, ip_2_ip6(group));
    }
  } else {
    igmp_leavegroup(ifaddr, ip_2_ip4(group));
  }
  free(g);
  return 0;
}

/* A membership option: val is a struct lw_ip_mreq or lw_ipv6_mreq (abi.h). */
int
mcast_sock_membership(struct lw_sock *s, int name, const u8_t *val, u32_t len)
{
  ip_addr_t group;
  ip4_addr_t ifaddr;
  u32_t ifindex = 0;
  if (s->type != LW_SOCK_DGRAM) {
    return -LW_EPROTO;   /* Linux refuses memberships on TCP sockets with EPROTO */
  }
  memset(&group, 0, sizeof(group));
  ip4_addr_set_any(&ifaddr);
  if (name == LW_IP_ADD_MEMBERSHIP || name == LW_IP_DROP_MEMBERSHIP) {
    struct lw_ip_mreq m;
    u32_t g, i;
    if (len < sizeof(m)) {
      return -LW_EINVAL;
    }
    memcpy(&m, val, sizeof(m));
    memcpy(&g, m.multiaddr, 4);
    memcpy(&i, m.interface, 4);
    ip_addr_set_ip4_u32_val(group, g);
    ip4_addr_set_u32(&ifaddr, i);
    if (!ip4_addr_ismulticast(ip_2_ip4(&group))) {
      return -LW_EINVAL;
    }
    return group_change(s, name == LW_IP_ADD_MEMBERSHIP, &group, &ifaddr, 0);
  }
  {
    struct lw_ipv6_mreq m;
    if (len < sizeof(m)) {
      return -LW_EINVAL;
    }
    memcpy(&m, val, sizeof(m));
    IP_SET_TYPE_VAL(group, IPADDR_TYPE_V6);
    memcpy(ip_2_ip6(&group)->addr, m.multiaddr, 16);
    ip6_addr_clear_zone(ip_2_ip6(&group));
    ifindex = m.interface;
  }
  if (!ip6_addr_ismulticast(ip_2_ip6(&group))) {
    return -LW_EINVAL;
  }
  return group_change(s, name == LW_IPV6_JOIN_GROUP, &group, &ifaddr, ifindex);
}

/* The socket is closing: leave every group it joined. */
void
mcast_sock_leave_all(struct lw_sock *s)
{
  struct lw_group *g = s->groups;
  while (g != NULL) {
    struct lw_group *next = g->next;
    if (IP_IS_V6_VAL(g->group)) {
      struct netif *n = g->ifindex ? netif_get_by_index((u8_t)g->ifindex) : NULL;
      if (n != NULL) {
        mld6_leavegroup_netif(n, ip_2_ip6(&g->group));
      } else if (g->ifindex == 0) {
        mld6_leavegroup(IP6_ADDR_ANY6, ip_2_ip6(&g->group));
      }
    } else {
      igmp_leavegroup(&g->ifaddr, ip_2_ip4(&g->group));
    }
    free(g);
    g = next;
  }
  s->groups = NULL;
}
