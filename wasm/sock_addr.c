/* Addresses and errors between the boundary's forms and lwIP's: lw_addr to ip_addr_t
 * and back (IPv4-mapped IPv6, zones), which addresses are ours, whether a destination
 * has a route, and lwIP's err_t as a Linux errno. */
#include <string.h>
#include "lwip/netif.h"
#include "lwip/err.h"
#include "lwip/ip4.h"
#include "lwip/nd6.h"
#include "lw.h"
#include "hooks.h"

int
lw_err_to_errno(err_t err)
{
  switch (err) {
    case ERR_OK: return 0;
    case ERR_MEM: return LW_ENOMEM;
    case ERR_BUF: return LW_ENOBUFS;
    case ERR_TIMEOUT: return LW_ETIMEDOUT;
    case ERR_RTE: return LW_ENETUNREACH;
    case ERR_INPROGRESS: return LW_EINPROGRESS;
    case ERR_VAL: return LW_EINVAL;
    case ERR_WOULDBLOCK: return LW_EAGAIN;
    case ERR_USE: return LW_EADDRINUSE;
    case ERR_ALREADY: return LW_EALREADY;
    case ERR_ISCONN: return LW_EISCONN;
    case ERR_CONN: return LW_ENOTCONN;
    case ERR_IF: return LW_ENETDOWN;
    case ERR_ABRT: return LW_ECONNABORTED;
    case ERR_RST: return LW_ECONNRESET;
    case ERR_CLSD: return LW_ENOTCONN;
    case ERR_ARG: return LW_EINVAL;
    default: return LW_EIO;
  }
}

/* Converts a boundary address into lwIP's form, checking it fits the socket. */
int
sock_addr_in(const struct lw_sock *s, const struct lw_addr *a, ip_addr_t *ip, u16_t *port)
{
  static const u8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (a->family != s->domain) {
    return -LW_EAFNOSUPPORT;
  }
  if (a->family == LW_AF_INET6 && memcmp(a->addr, v4mapped, 12) == 0) {
    /* ::ffff:a.b.c.d on an IPv6 socket is IPv4 underneath, unless IPV6_V6ONLY. */
    u32_t v;
    if (s->opt_flags & OF_V6ONLY) {
      return -LW_ENETUNREACH;
    }
    memcpy(&v, a->addr + 12, 4);
    ip_addr_set_ip4_u32_val(*ip, v);
    *port = a->port;
    return 0;
  }
  if (a->family == LW_AF_INET) {
    u32_t v;
    memcpy(&v, a->addr, 4);
    ip_addr_set_ip4_u32_val(*ip, v);
  } else {
    memcpy(ip_2_ip6(ip)->addr, a->addr, 16);
    IP_SET_TYPE_VAL(*ip, IPADDR_TYPE_V6);
    ip6_addr_clear_zone(ip_2_ip6(ip));
    if (ip6_addr_has_scope(ip_2_ip6(ip), IP6_UNKNOWN)) {
      /* Linux needs sin6_scope_id for a link-local address: EINVAL without one. */
      if (a->scope == 0) {
        return -LW_EINVAL;
      }
      if (a->scope > 255 || netif_get_by_index((u8_t)a->scope) == NULL) {
        return -LW_ENODEV;
      }
      ip6_addr_set_zone(ip_2_ip6(ip), (u8_t)a->scope);
    }
  }
  *port = a->port;
  return 0;
}

void
sock_addr_out_for(const struct lw_sock *s, struct lw_addr *a, const ip_addr_t *ip, u16_t port)
{
  sock_addr_out(a, ip, port);
  if (s->domain == LW_AF_INET6 && a->family == LW_AF_INET) {
    /* An IPv6 socket sees IPv4 peers as ::ffff:a.b.c.d, and its dual-stack wildcard as ::. */
    u8_t v4[4];
    memcpy(v4, a->addr, 4);
    memset(a->addr, 0, 16);
    if (!IP_IS_ANY_TYPE_VAL(*ip)) {
      a->addr[10] = 0xff;
      a->addr[11] = 0xff;
      memcpy(a->addr + 12, v4, 4);
    }
    a->family = LW_AF_INET6;
  }
}

void
sock_addr_out(struct lw_addr *a, const ip_addr_t *ip, u16_t port)
{
  memset(a, 0, sizeof(*a));
  a->port = port;
  if (IP_IS_V6(ip)) {
    a->family = LW_AF_INET6;
    memcpy(a->addr, ip_2_ip6(ip)->addr, 16);
    a->scope = ip6_addr_zone(ip_2_ip6(ip));
  } else {
    u32_t v = ip4_addr_get_u32(ip_2_ip4(ip));
    a->family = LW_AF_INET;
    memcpy(a->addr, &v, 4);
  }
}

/* Whether ip is the wildcard or one of this stack's own addresses (bind's rule). */
int
sock_addr_is_local(const ip_addr_t *ip)
{
  struct netif *n;
  if (ip_addr_isany(ip)) {
    return 1;
  }
  NETIF_FOREACH(n) {
    if (IP_IS_V6(ip)) {
      if (netif_get_ip6_addr_match(n, ip_2_ip6(ip)) >= 0) {
        return 1;
      }
    } else if (ip4_addr_cmp(ip_2_ip4(ip), netif_ip4_addr(n))) {
      return 1;
    }
  }
  return 0;
}

/* Whether dst can be reached: lwIP falls back to the default interface even with no
 * gateway, and then drops the packets silently; Linux fails at once with ENETUNREACH. */
int
sock_route_check(const ip_addr_t *dst)
{
  struct netif *n;
  if (ip_addr_isany(dst) || sock_addr_is_local(dst)) {
    return 0;
  }
  if (IP_IS_V4(dst)) {
    const ip4_addr_t *d = ip_2_ip4(dst);
    if (ip4_addr_isloopback(d) || ip4_addr_ismulticast(d) || ip4_addr_cmp(d, IP4_ADDR_BROADCAST)) {
      return 0;
    }
    n = ip4_route(d);
    if (n == NULL) {
      return -LW_ENETUNREACH;
    }
    /* on the link, or a next hop: a static route's gateway or the interface's (route.c) */
    if (!(n->flags & NETIF_FLAG_ETHARP) || ip4_addr_isbroadcast(d, n) || route_ip4_nexthop(n, d) != NULL) {
      return 0;
    }
    return -LW_ENETUNREACH;
  } else {
    const ip6_addr_t *d = ip_2_ip6(dst);
    if (ip6_addr_isloopback(d) || ip6_addr_ismulticast(d) || ip6_addr_islinklocal(d)) {
      return 0;
    }
    NETIF_FOREACH(n) {
      int i;
      for (i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
        if (ip6_addr_isvalid(netif_ip6_addr_state(n, i)) && !ip6_addr_islinklocal(netif_ip6_addr(n, i)) &&
            ip6_addr_netcmp(d, netif_ip6_addr(n, i))) {
          return 0;
        }
      }
    }
    return nd6_find_route(d) != NULL || route_ip6(NULL, d) != NULL ? 0 : -LW_ENETUNREACH;
  }
}
