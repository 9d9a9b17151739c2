/* Static routes and IP forwarding, so a stack can be a router between its interfaces
 * (and a host can reach networks behind more than one router), as `ip route` and the
 * net.ipv4.ip_forward / net.ipv6.conf.all.forwarding sysctls do on Linux.
 *
 * - Forwarding is off until stack_set_config(LW_CONFIG_FORWARD, 1): lwIP is built with
 *   IP_FORWARD and LWIP_IPV6_FORWARD, and the can-forward hooks refuse every packet of
 *   a stack that is not a router (a host drops what is not for it, as Linux does).
 * - Routes are consulted only when no interface's own subnet holds the destination, so
 *   connected networks always win; among routes the longest prefix wins. A route names
 *   its interface, or lets the gateway's subnet pick it. With no route, lwIP falls back
 *   to the default interface and its gateway, as before.
 * - The next hop of a routed packet is the route's gateway (ARP or ND resolve it), or
 *   the destination itself for an on-link route. */
#include <string.h>
#include "lwip/netif.h"
#include "lwip/ip4.h"
#include "lwip/ip6.h"
#include "lwip/nd6.h"
#include "lwip/stats.h"
#include "lw.h"
#include "hooks.h"

#define ROUTE_MAX 64

struct lw_rt {
  u8_t used, family, prefix, ifindex;  /* ifindex 0: the interface holding gw */
  ip4_addr_t dst4, gw4;
  ip6_addr_t dst6, gw6;                /* gw6 carries its zone once resolved */
  u8_t has_gw;
};

static struct lw_rt routes[ROUTE_MAX];
static u8_t forwarding;

void
route_set_forwarding(int on)
{
  forwarding = on ? 1 : 0;
}

int
route_forwarding(void)
{
  return forwarding;
}

static u32_t
mask4(u8_t prefix)
{
  return prefix == 0 ? 0 : lwip_htonl(0xffffffffUL << (32 - prefix));
}

static int
match6(const ip6_addr_t *a, const ip6_addr_t *net, u8_t prefix)
{
  u8_t i;
  for (i = 0; i < 4 && prefix > 0; i++) {
    u32_t bits = prefix >= 32 ? 32 : prefix;
    u32_t m = bits == 32 ? 0xffffffffUL : ~(0xffffffffUL >> bits);
    if ((lwip_ntohl(a->addr[i]) & m) != (lwip_ntohl(net->addr[i]) & m)) {
      return 0;
    }
    prefix = (u8_t)(prefix - bits);
  }
  return 1;
}

static int
netif_usable(const struct netif *netif)
{
  return netif != NULL && netif_is_up(netif) && netif_is_link_up(netif);
}

/* The interface a route leaves by: its own, or the one whose subnet holds its gateway. */
static struct netif *
route_netif(const struct lw_rt *r)
{
  struct netif *netif;
  if (r->ifindex != 0) {
    netif = netif_get_by_index(r->ifindex);
    return netif_usable(netif) ? netif : NULL;
  }
  if (!r->has_gw) {
    return NULL;
  }
  NETIF_FOREACH(netif) {
    if (!netif_usable(netif)) {
      continue;
    }
    if (r->family == LW_AF_INET) {
      if (!ip4_addr_isany_val(*netif_ip4_addr(netif)) &&
          ip4_addr_netcmp(&r->gw4, netif_ip4_addr(netif), netif_ip4_netmask(netif))) {
        return netif;
      }
    } else {
      s8_t i;
      for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        if (ip6_addr_isvalid(netif_ip6_addr_state(netif, i)) &&
            ip6_addr_netcmp_zoneless(&r->gw6, netif_ip6_addr(netif, i))) {
          return netif;
        }
      }
    }
  }
  return NULL;
}

/* The longest-prefix route for dest that leaves by a usable interface (and by `via`,
 * when given), or NULL. */
static const struct lw_rt *
route_lookup(u8_t family, const void *dest, const struct netif *via, struct netif **out)
{
  const struct lw_rt *best = NULL;
  struct netif *best_if = NULL;
  int i;
  for (i = 0; i < ROUTE_MAX; i++) {
    const struct lw_rt *r = &routes[i];
    struct netif *netif;
    if (!r->used || r->family != family || (best != NULL && r->prefix <= best->prefix)) {
      continue;
    }
    if (family == LW_AF_INET
        ? !ip4_addr_netcmp((const ip4_addr_t *)dest, &r->dst4, &(ip4_addr_t){ mask4(r->prefix) })
        : !match6((const ip6_addr_t *)dest, &r->dst6, r->prefix)) {
      continue;
    }
    netif = route_netif(r);
    if (netif == NULL || (via != NULL && netif != via)) {
      continue;
    }
    best = r;
    best_if = netif;
  }
  if (out != NULL) {
    *out = best_if;
  }
  return best;
}

/* --- lwIP's hooks (lwipopts.h) ------------------------------------------------------ */

int
route_ip4_canforward(struct pbuf *p, u32_t dest_hostorder)
{
  LWIP_UNUSED_ARG(p);
  LWIP_UNUSED_ARG(dest_hostorder);
  if (!forwarding) {
    IP_STATS_INC(ip.drop);   /* counted as lwIP counts it with forwarding compiled out */
    return 0;
  }
  return -1;   /* lwIP's own checks decide */
}

int
route_ip6_canforward(struct pbuf *p, struct netif *inp)
{
  LWIP_UNUSED_ARG(p);
  LWIP_UNUSED_ARG(inp);
  return forwarding;
}

struct netif *
route_ip4(const ip4_addr_t *dest)
{
  struct netif *netif = NULL;
  route_lookup(LW_AF_INET, dest, NULL, &netif);
  return netif;
}

const ip4_addr_t *
route_ip4_gw(struct netif *netif, const ip4_addr_t *dest)
{
  const struct lw_rt *r = route_lookup(LW_AF_INET, dest, netif, NULL);
  if (r == NULL) {
    return NULL;
  }
  return r->has_gw ? &r->gw4 : dest;   /* an on-link route: the destination is the next hop */
}

struct netif *
route_ip6(const ip6_addr_t *src, const ip6_addr_t *dest)
{
  struct netif *netif;
  LWIP_UNUSED_ARG(src);
  /* lwIP asks before it matches its own subnets: an on-link destination is its call. */
  NETIF_FOREACH(netif) {
    s8_t i;
    if (!netif_usable(netif)) {
      continue;
    }
    for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
      if (ip6_addr_isvalid(netif_ip6_addr_state(netif, i)) &&
          ip6_addr_netcmp_zoneless(dest, netif_ip6_addr(netif, i))) {
        return NULL;
      }
    }
  }
  netif = NULL;
  route_lookup(LW_AF_INET6, dest, NULL, &netif);
  return netif;
}

const ip6_addr_t *
route_ip6_gw(struct netif *netif, const ip6_addr_t *dest)
{
  static ip6_addr_t gw;
  const struct lw_rt *r = route_lookup(LW_AF_INET6, dest, netif, NULL);
  if (r == NULL) {
    return NULL;
  }
  ip6_addr_copy(gw, r->has_gw ? r->gw6 : *dest);   /* on-link: the destination itself */
  ip6_addr_assign_zone(&gw, IP6_UNICAST, netif);
  return &gw;
}

/* The IPv4 next hop towards dest on netif (sock_tcp.c watches that it answers ARP). */
const ip4_addr_t *
route_ip4_nexthop(struct netif *netif, const ip4_addr_t *dest)
{
  const ip4_addr_t *gw;
  if (ip4_addr_netcmp(dest, netif_ip4_addr(netif), netif_ip4_netmask(netif))) {
    return dest;
  }
  gw = route_ip4_gw(netif, dest);
  if (gw != NULL) {
    return gw;
  }
  return ip4_addr_isany_val(*netif_ip4_gw(netif)) ? NULL : netif_ip4_gw(netif);
}

/* --- Exports ------------------------------------------------------------------------ */

/* Reads a route from JS. With check, also insists on what an added route needs: an
 * interface that exists, and a gateway or an interface to leave by. */
static int
route_read(const struct lw_route *in, struct lw_rt *r, int check)
{
  static const u8_t zero[16];
  memset(r, 0, sizeof(*r));
  if (in->family == LW_AF_INET) {
    if (in->prefix > 32) {
      return -LW_EINVAL;
    }
    memcpy(&r->dst4.addr, in->dst, 4);
    memcpy(&r->gw4.addr, in->gw, 4);
    r->dst4.addr &= mask4((u8_t)in->prefix);
    r->has_gw = memcmp(in->gw, zero, 4) != 0;
  } else if (in->family == LW_AF_INET6) {
    u8_t i, left = (u8_t)in->prefix;
    if (in->prefix > 128) {
      return -LW_EINVAL;
    }
    memcpy(r->dst6.addr, in->dst, 16);
    memcpy(r->gw6.addr, in->gw, 16);
    for (i = 0; i < 4; i++, left = left > 32 ? (u8_t)(left - 32) : 0) {
      r->dst6.addr[i] &= left >= 32 ? 0xffffffffUL : lwip_htonl(left == 0 ? 0 : ~(0xffffffffUL >> left));
    }
    ip6_addr_clear_zone(&r->dst6);
    ip6_addr_clear_zone(&r->gw6);
    r->has_gw = memcmp(in->gw, zero, 16) != 0;
  } else {
    return -LW_EAFNOSUPPORT;
  }
  if (check && (in->ifindex > 255 || (in->ifindex != 0 && netif_get_by_index((u8_t)in->ifindex) == NULL))) {
    return -LW_ENODEV;
  }
  if (check && in->ifindex == 0 && !r->has_gw) {
    return -LW_EINVAL;   /* an on-link route must name its interface */
  }
  r->family = (u8_t)in->family;
  r->prefix = (u8_t)in->prefix;
  r->ifindex = (u8_t)in->ifindex;
  r->used = 1;
  return 0;
}

static int
route_same(const struct lw_rt *a, const struct lw_rt *b)
{
  return a->used && a->family == b->family && a->prefix == b->prefix &&
         (a->family == LW_AF_INET ? ip4_addr_cmp(&a->dst4, &b->dst4) : ip6_addr_cmp_zoneless(&a->dst6, &b->dst6));
}

/* Adds a route; -EEXIST if one for the same prefix is there, -ENOBUFS if the table is full. */
LW_EXPORT int
route_add(const struct lw_route *in)
{
  struct lw_rt r;
  int i, free_slot = -1;
  int ret = route_read(in, &r, 1);
  if (ret < 0) {
    return ret;
  }
  for (i = 0; i < ROUTE_MAX; i++) {
    if (route_same(&routes[i], &r)) {
      return -LW_EEXIST;
    }
    if (!routes[i].used && free_slot < 0) {
      free_slot = i;
    }
  }
  if (free_slot < 0) {
    return -LW_ENOBUFS;
  }
  routes[free_slot] = r;
  nd6_clear_destination_cache();   /* IPv6 next hops are cached per destination */
  return 0;
}

/* Removes the route for in's prefix (its gateway and interface are not compared);
 * -ESRCH if there is none, as `ip route del` says. */
LW_EXPORT int
route_del(const struct lw_route *in)
{
  struct lw_rt r;
  int i;
  int ret = route_read(in, &r, 0);
  if (ret < 0) {
    return ret;
  }
  for (i = 0; i < ROUTE_MAX; i++) {
    if (route_same(&routes[i], &r)) {
      routes[i].used = 0;
      nd6_clear_destination_cache();
      return 0;
    }
  }
  return -LW_ESRCH;
}

/* The i-th route in table order: 1 and *out filled, 0 past the last. */
LW_EXPORT int
route_get(int i, struct lw_route *out)
{
  int n, k = -1;
  for (n = 0; n < ROUTE_MAX; n++) {
    const struct lw_rt *r = &routes[n];
    if (!r->used || ++k != i) {
      continue;
    }
    memset(out, 0, sizeof(*out));
    out->family = r->family;
    out->prefix = r->prefix;
    out->ifindex = r->ifindex;
    if (r->family == LW_AF_INET) {
      memcpy(out->dst, &r->dst4.addr, 4);
      if (r->has_gw) {
        memcpy(out->gw, &r->gw4.addr, 4);
      }
    } else {
      memcpy(out->dst, r->dst6.addr, 16);
      if (r->has_gw) {
        memcpy(out->gw, r->gw6.addr, 16);
      }
    }
    return 1;
  }
  return 0;
}
