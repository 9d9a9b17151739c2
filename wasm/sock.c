/* The socket layer: an fd table, readiness bits, the changed-socket list, address
 * conversion, and the exported socket calls that dispatch to TCP or UDP. */
#include <stdlib.h>
#include <string.h>
#include "lwip/netif.h"
#include "lwip/err.h"
#include "lwip/ip4.h"
#include "lwip/nd6.h"
#include "lw.h"

static struct lw_sock **fds;
static u32_t fd_cap;
static u32_t fd_hint = 3;      /* lowest fd that may be free; 0-2 are left unused, as on a host */
static u32_t nsocks;
static struct lw_sock *changed_head, *changed_tail;

u32_t
sock_count(void)
{
  return nsocks;
}

/* One past the highest descriptor the table can hold (for walks over every socket). */
u32_t
sock_fd_cap(void)
{
  return fd_cap;
}

struct lw_sock *
sock_get(int fd)
{
  return (fd >= 0 && (u32_t)fd < fd_cap) ? fds[fd] : NULL;
}

struct lw_sock *
sock_alloc(u8_t domain, u8_t type)
{
  struct lw_sock *s = (struct lw_sock *)calloc(1, sizeof(*s));
  if (s != NULL) {
    s->fd = -1;
    s->domain = domain;
    s->type = type;
    sock_opt_init(s);
    nsocks++;
  }
  return s;
}

/* Gives s the lowest free descriptor, as POSIX requires. */
int
sock_assign_fd(struct lw_sock *s)
{
  u32_t fd;
  for (fd = fd_hint; fd < fd_cap && fds[fd] != NULL; fd++) {
  }
  if (fd >= lw_cfg.max_fds) {
    return -LW_EMFILE;
  }
  if (fd >= fd_cap) {
    u32_t cap = fd_cap ? fd_cap * 2 : 64;
    struct lw_sock **n = (struct lw_sock **)realloc(fds, cap * sizeof(*n));
    if (n == NULL) {
      return -LW_ENOMEM;
    }
    memset(n + fd_cap, 0, (cap - fd_cap) * sizeof(*n));
    fds = n;
    fd_cap = cap;
  }
  fds[fd] = s;
  s->fd = (int)fd;
  fd_hint = fd + 1;
  return (int)fd;
}

void
sock_free(struct lw_sock *s)
{
  epoll_sock_gone(s);
  if (s->fd >= 0) {
    fds[s->fd] = NULL;
    if ((u32_t)s->fd < fd_hint) {
      fd_hint = (u32_t)s->fd;
    }
  }
  if (s->flags & SF_QUEUED) {
    /* unlink from the changed list */
    struct lw_sock **pp = &changed_head, *prev = NULL;
    /* bounded: each socket with a descriptor is on the list at most once (SF_QUEUED) */
    while (*pp != NULL && *pp != s) {
      prev = *pp;
      pp = &(*pp)->changed_next;
    }
    if (*pp == s) {
      *pp = s->changed_next;
      if (changed_tail == s) {
        changed_tail = prev;
      }
    }
  }
  nsocks--;
  free(s);
}

/* Recomputes readiness; a socket whose bits changed joins the changed list once. */
void
sock_refresh(struct lw_sock *s)
{
  u32_t ev = s->type == LW_SOCK_STREAM ? tcp_sock_events(s) : udp_sock_events(s);
  if (ev != s->events) {
    u32_t old = s->events;
    s->events = ev;
    epoll_sock_changed(s, old);
    if (s->fd >= 0 && !(s->flags & SF_QUEUED)) {
      s->flags |= SF_QUEUED;
      s->changed_next = NULL;
      if (changed_tail != NULL) {
        changed_tail->changed_next = s;
      } else {
        changed_head = s;
      }
      changed_tail = s;
    }
  }
}

/* Drains up to max descriptors whose readiness changed, in order of change. */
LW_EXPORT int
stack_changed(int *out, int max)
{
  int n = 0;
  /* bounded by max, and by the list: one entry a descriptor */
  while (changed_head != NULL && n < max) {
    struct lw_sock *s = changed_head;
    changed_head = s->changed_next;
    if (changed_head == NULL) {
      changed_tail = NULL;
    }
    s->flags &= (u8_t)~SF_QUEUED;
    out[n++] = s->fd;
  }
  return n;
}

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
static int
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
    if (!(n->flags & NETIF_FLAG_ETHARP) || ip4_addr_netcmp(d, netif_ip4_addr(n), netif_ip4_netmask(n)) ||
        ip4_addr_isbroadcast(d, n) || !ip4_addr_isany_val(*netif_ip4_gw(n))) {
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
    return nd6_find_route(d) != NULL ? 0 : -LW_ENETUNREACH;
  }
}

/* --- exported socket calls ---------------------------------------------------------- */

LW_EXPORT int
sock_socket(int domain, int type)
{
  struct lw_sock *s;
  int fd, r;
  if (domain != LW_AF_INET && domain != LW_AF_INET6) {
    return -LW_EAFNOSUPPORT;
  }
  if (type != LW_SOCK_STREAM && type != LW_SOCK_DGRAM) {
    return -LW_EPROTONOSUPPORT;
  }
  s = sock_alloc((u8_t)domain, (u8_t)type);
  if (s == NULL) {
    return -LW_ENOMEM;
  }
  r = type == LW_SOCK_STREAM ? tcp_sock_open(s) : udp_sock_open(s);
  if (r < 0) {
    sock_free(s);
    return r;
  }
  fd = sock_assign_fd(s);
  if (fd < 0) {
    if (type == LW_SOCK_STREAM) {
      tcp_sock_close(s);
    } else {
      udp_sock_close(s);
    }
    sock_free(s);
    return fd;
  }
  sock_refresh(s);
  return fd;
}

#define SOCK_OR_EBADF(s, fd) \
  struct lw_sock *s = sock_get(fd); \
  if (s == NULL) { \
    return -LW_EBADF; \
  }

LW_EXPORT int
sock_bind(int fd, const struct lw_addr *a)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if (!sock_addr_is_local(&ip)) {
    return -LW_EADDRNOTAVAIL;
  }
  if (s->flags & SF_BOUND) {
    return -LW_EINVAL;
  }
  if (s->domain == LW_AF_INET6 && IP_IS_V6(&ip) && ip_addr_isany(&ip) && !(s->opt_flags & OF_V6ONLY)) {
    ip_addr_copy(ip, *IP_ANY_TYPE);   /* "::" takes IPv4 too, as Linux's default */
  }
  r = s->type == LW_SOCK_STREAM ? tcp_sock_bind(s, &ip, port) : udp_sock_bind(s, &ip, port);
  if (r == 0) {
    s->flags |= SF_BOUND;
  }
  return r;
}

LW_EXPORT int
sock_listen(int fd, int backlog)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (s->type != LW_SOCK_STREAM) {
    return -LW_EOPNOTSUPP;
  }
  r = tcp_sock_listen(s, backlog);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_accept(int fd, struct lw_addr *peer)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (s->type != LW_SOCK_STREAM) {
    return -LW_EOPNOTSUPP;
  }
  r = tcp_sock_accept(s, peer);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_connect(int fd, const struct lw_addr *a, u32_t timeout_ms)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if ((r = sock_route_check(&ip)) < 0) {
    return r;
  }
  if (s->type == LW_SOCK_STREAM) {
    r = tcp_sock_connect(s, &ip, port, timeout_ms ? timeout_ms : lw_cfg.connect_timeout_ms);
  } else {
    r = udp_sock_connect(s, &ip, port);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_send(int fd, const u8_t *buf, u32_t len, int flags)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  if (s->type == LW_SOCK_STREAM) {
    r = tcp_sock_send(s, buf, len, flags);
  } else {
    if (!(s->flags & SF_UDP_CONN)) {
      return -LW_EDESTADDRREQ;
    }
    r = udp_sock_sendto(s, buf, len, NULL, 0);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_sendto(int fd, const u8_t *buf, u32_t len, int flags, const struct lw_addr *a)
{
  ip_addr_t ip;
  u16_t port;
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;
  }
  if (s->type == LW_SOCK_STREAM) {
    /* Linux ignores the address on a connected stream socket. */
    return sock_send(fd, buf, len, flags);
  }
  if ((r = sock_addr_in(s, a, &ip, &port)) < 0) {
    return r;
  }
  if (port == 0) {
    return -LW_EINVAL;
  }
  if ((r = sock_route_check(&ip)) < 0) {
    return r;
  }
  r = udp_sock_sendto(s, buf, len, &ip, port);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_recv(int fd, u8_t *buf, u32_t len, int flags)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  r = s->type == LW_SOCK_STREAM ? tcp_sock_recv(s, buf, len, flags)
                                : udp_sock_recvfrom(s, buf, len, flags, NULL);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_recvfrom(int fd, u8_t *buf, u32_t len, int flags, struct lw_addr *from)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (flags & LW_MSG_OOB) {
    return -LW_EOPNOTSUPP;   /* no urgent data */
  }
  if (s->type == LW_SOCK_STREAM) {
    r = tcp_sock_recv(s, buf, len, flags);
    if (r >= 0 && from != NULL) {
      memset(from, 0, sizeof(*from));   /* Linux leaves the address unset for TCP */
    }
  } else {
    r = udp_sock_recvfrom(s, buf, len, flags, from);
  }
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_shutdown(int fd, int how)
{
  int r;
  SOCK_OR_EBADF(s, fd);
  if (how != LW_SHUT_RD && how != LW_SHUT_WR && how != LW_SHUT_RDWR) {
    return -LW_EINVAL;
  }
  r = s->type == LW_SOCK_STREAM ? tcp_sock_shutdown(s, how) : udp_sock_shutdown(s, how);
  sock_refresh(s);
  return r;
}

LW_EXPORT int
sock_close(int fd)
{
  SOCK_OR_EBADF(s, fd);
  if (s->type == LW_SOCK_STREAM) {
    tcp_sock_close(s);
  } else {
    udp_sock_close(s);
  }
  sock_free(s);
  return 0;
}

/* Current readiness (POLL* bits); -EBADF for a closed descriptor. */
LW_EXPORT int
sock_events(int fd)
{
  SOCK_OR_EBADF(s, fd);
  return (int)s->events;
}

/* Returns and clears the pending error, as getsockopt(SO_ERROR) does. */
LW_EXPORT int
sock_take_error(int fd)
{
  int e;
  SOCK_OR_EBADF(s, fd);
  e = s->err;
  s->err = 0;
  sock_refresh(s);
  return e;
}

LW_EXPORT int
sock_getsockname(int fd, struct lw_addr *out)
{
  SOCK_OR_EBADF(s, fd);
  memset(out, 0, sizeof(*out));
  if (s->pcb.any == NULL) {
    out->family = s->domain;
    return 0;
  }
  if (s->type == LW_SOCK_STREAM) {
    sock_addr_out_for(s, out, &s->pcb.tcp->local_ip, s->pcb.tcp->local_port);
  } else {
    sock_addr_out_for(s, out, &s->pcb.udp->local_ip, s->pcb.udp->local_port);
  }
  return 0;
}

LW_EXPORT int
sock_getpeername(int fd, struct lw_addr *out)
{
  SOCK_OR_EBADF(s, fd);
  if (s->type == LW_SOCK_STREAM) {
    if (s->state != LS_CONNECTED || s->pcb.tcp == NULL) {
      return -LW_ENOTCONN;
    }
    sock_addr_out_for(s, out, &s->pcb.tcp->remote_ip, s->pcb.tcp->remote_port);
  } else {
    if (!(s->flags & SF_UDP_CONN)) {
      return -LW_ENOTCONN;
    }
    sock_addr_out_for(s, out, &s->pcb.udp->remote_ip, s->pcb.udp->remote_port);
  }
  return 0;
}

/* Bytes that recv() could return now (FIONREAD). */
LW_EXPORT int
sock_pending(int fd)
{
  SOCK_OR_EBADF(s, fd);
  if (s->type == LW_SOCK_STREAM) {
    return (int)s->rx_bytes;
  }
  return s->dg_head ? (int)s->dg_head->p->tot_len : 0;
}
